package rules_test

import "testing"

var captureOffloadCases = fixtureCases([]fixtureCase{
	{file: "rules/capture-checksum-offload.pcap", want: []string{"capture-offload info"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("capture-offload")[0], "in 1 TCP flow(s) the data segments 198.51.100.20 sent carry wrong checksums", "checksum offload")
	}},
})

func TestCaptureOffloadFixtures(t *testing.T) { runCases(t, captureOffloadCases) }

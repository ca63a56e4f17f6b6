package rules_test

import "testing"

var captureEmptyCases = fixtureCases([]fixtureCase{
	{file: "bad/header-only.pcap", want: []string{"capture-empty warning"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("capture-empty")[0], "header-only.pcap holds no packets")
		if r.res.Capture.Packets != 0 || len(r.res.Capture.Warnings) != 0 {
			t.Errorf("%d packets, warnings %q: want a clean, empty capture", r.res.Capture.Packets, r.res.Capture.Warnings)
		}
	}},
})

func TestCaptureEmptyFixtures(t *testing.T) { runCases(t, captureEmptyCases) }

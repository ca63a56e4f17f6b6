package rules_test

import "testing"

var captureTruncatedCases = fixtureCases([]fixtureCase{
	{file: "format/snaplen-96.pcap", want: []string{"capture-truncated warning"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("capture-truncated")[0], "2 of 9 frames (22.2%) were cut short by the capture's snapshot length")
	}},
})

func TestCaptureTruncatedFixtures(t *testing.T) { runCases(t, captureTruncatedCases) }

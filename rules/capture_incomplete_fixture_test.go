package rules_test

import (
	"strings"
	"testing"
)

var captureIncompleteCases = fixtureCases([]fixtureCase{
	{file: "rules/capture-incomplete.pcap", want: []string{"capture-incomplete warning"}, check: func(t *testing.T, r *fixtureRun) {
		f := r.find("capture-incomplete")[0]
		wantIn(t, f, "129 IP fragments given up past the defragmenter's bounds")
		if r.res.Findings[0].Rule != "capture-incomplete" || f.Count != 129 || strings.Contains(f.Message, "--memory") {
			t.Errorf("capture-incomplete: first %s, count %d, message %q", r.res.Findings[0].Rule, f.Count, f.Message)
		}
	}},
})

func TestCaptureIncompleteFixtures(t *testing.T) { runCases(t, captureIncompleteCases) }

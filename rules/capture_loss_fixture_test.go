package rules_test

import "testing"

// captureLossCases also show capture-midstream (capture_midstream.go): one
// capture of poor quality makes both findings, and they come first.
var captureLossCases = fixtureCases([]fixtureCase{
	{file: "rules/capture-quality.pcap", want: []string{"capture-loss warning", "capture-midstream info"}, check: func(t *testing.T, r *fixtureRun) {
		// Capture quality comes first, whatever the severities.
		if r.res.Findings[0].Rule != "capture-loss" || r.res.Findings[1].Rule != "capture-midstream" {
			t.Errorf("the capture-quality findings are not first: %s, %s", r.res.Findings[0].Rule, r.res.Findings[1].Rule)
		}
		wantIn(t, r.find("capture-loss")[0], "missed about 7.2% of the TCP data the hosts acknowledged (7240 of 100089 bytes, in 1 flow(s)", "192.0.2.10:51010 → 198.51.100.20:80")
		wantIn(t, r.find("capture-midstream")[0], "6 of 7 TCP connections (86%) were already open")
	}},
})

func TestCaptureLossFixtures(t *testing.T) { runCases(t, captureLossCases) }

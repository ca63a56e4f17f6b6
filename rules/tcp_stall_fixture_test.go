package rules_test

import "testing"

var tcpStallCases = fixtureCases([]fixtureCase{
	{file: "rules/tcp-stall.pcap", want: []string{"tcp-stall error", "tcp-zero-window warning"}, check: func(t *testing.T, r *fixtureRun) {
		f := r.find("tcp-stall")[0]
		wantIn(t, f, "192.0.2.10:51000 → 198.51.100.20:80: the server's data waited 3.0 s", "sending data again 5 times", "then the transfer went on")
		if f.Flow == nil || f.Flow.SrcPort != 51000 {
			t.Errorf("the stall names flow %+v, want the first download", f.Flow)
		}
	}},
})

func TestTCPStallFixtures(t *testing.T) { runCases(t, tcpStallCases) }

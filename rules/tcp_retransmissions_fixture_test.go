package rules_test

import (
	"strings"
	"testing"
)

var tcpRetransmissionsCases = fixtureCases([]fixtureCase{
	{file: "rules/tcp-retransmissions-many.pcap", want: []string{"tcp-retransmissions warning"}, check: checkRetransmissionsMany},
})

func TestTCPRetransmissionsFixtures(t *testing.T) { runCases(t, tcpRetransmissionsCases) }

func checkRetransmissionsMany(t *testing.T, r *fixtureRun) {
	const file = "rules/tcp-retransmissions-many.pcap"
	f := r.find("tcp-retransmissions")[0]
	retx := wiresharkFrames(t, file, "retransmission")
	if f.Count != 5 || len(retx) != 5 {
		t.Errorf("count %d, Wireshark flags %d retransmissions; the fixture has 5", f.Count, len(retx))
	}
	for _, s := range []string{"5 of 26 segments retransmitted", "1 fast", "0 spurious", "captured at the server"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	ev := evidenceFrames(f)
	if len(ev) != 5 {
		t.Errorf("evidence %v: want the 5 retransmissions", ev)
	}
	for _, n := range ev {
		if !retx[n] {
			t.Errorf("evidence frame %d is not a retransmission", n)
		}
	}
	if !strings.HasSuffix(f.Filter, " && tcp.analysis.retransmission") {
		t.Errorf("filter %q", f.Filter)
	}
}

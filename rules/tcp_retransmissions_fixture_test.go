package rules_test

import (
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

var tcpRetransmissionsCases = fixtureCases([]fixtureCase{
	{file: "rules/tcp-retransmissions-many.pcap", want: []string{"tcp-retransmissions warning"}, check: checkRetransmissionsMany},
	// A connection the capture holds twice: no finding, and the flow with
	// the one real retransmission is the only one with trouble.
	{file: "rules/tcp-capture-copies.pcap", want: nil, check: checkCaptureCopies},
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

// checkCaptureCopies: every copy Wireshark flags (9 retransmissions, 3
// duplicate ACKs in stream 0) is counted as a copy, the TCP totals say so,
// and the reports rank stream 0 as a flow without trouble while stream 1's
// real retransmission keeps it in the list.
func checkCaptureCopies(t *testing.T, r *fixtureRun) {
	const file = "rules/tcp-capture-copies.pcap"
	retx, dups := wiresharkFrames(t, file, "retransmission"), wiresharkFrames(t, file, "duplicate_ack")
	if len(retx) != 10 || len(dups) != 3 {
		t.Fatalf("Wireshark flags %d retransmissions and %d duplicate ACKs; the fixture has 10 and 3", len(retx), len(dups))
	}
	var copied, resent *flows.Record
	for _, f := range r.flows {
		switch f.Stream {
		case 0:
			copied = f
		case 1:
			resent = f
		}
	}
	if copied == nil || resent == nil {
		t.Fatalf("want streams 0 and 1, have %d flows", len(r.flows))
	}
	if copied.Retransmissions != 9 || copied.RetransmissionCopies != 9 || copied.DuplicateAcks != 3 || copied.DuplicateAckCopies != 3 {
		t.Errorf("stream 0: %d retransmissions (%d copies), %d duplicate ACKs (%d copies); want 9 (9), 3 (3)",
			copied.Retransmissions, copied.RetransmissionCopies, copied.DuplicateAcks, copied.DuplicateAckCopies)
	}
	if resent.Retransmissions != 1 || resent.RetransmissionCopies != 0 {
		t.Errorf("stream 1: %d retransmissions (%d copies); want 1 (0)", resent.Retransmissions, resent.RetransmissionCopies)
	}
	if tc := r.res.TCP; tc.Retransmissions != 10 || tc.RetransmissionCopies != 9 || tc.DuplicateAckCopies != 3 {
		t.Errorf("TCP totals: %d retransmissions, %d copies, %d duplicate ACK copies; want 10, 9, 3", tc.Retransmissions, tc.RetransmissionCopies, tc.DuplicateAckCopies)
	}
	if w := r.res.WorstFlows; len(w) != 1 || w[0].Stream != 1 {
		t.Errorf("flows with the most trouble: %d, want stream 1 alone", len(w))
	}
	if n := r.res.Lists.Limits.ProblemFlows; n != 1 {
		t.Errorf("%d flows with trouble, want 1", n)
	}
	for _, f := range r.res.Lists.Flows {
		if f.Stream == 0 && (strings.Contains(f.Why, "problems") || f.RetransmissionCopies != 9 || f.DuplicateAckCopies != 3) {
			t.Errorf("stream 0's row: why %q, copies %d and %d", f.Why, f.RetransmissionCopies, f.DuplicateAckCopies)
		}
	}
}

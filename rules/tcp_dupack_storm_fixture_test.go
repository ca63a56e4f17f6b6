package rules_test

import (
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

var tcpDupackStormCases = fixtureCases([]fixtureCase{
	{file: "rules/tcp-dupack-storm.pcap", want: []string{"tcp-duplicate-ack-storm warning"}, check: checkDupAckStorm},
})

func TestTCPDupAckStormFixtures(t *testing.T) { runCases(t, tcpDupackStormCases) }

func checkDupAckStorm(t *testing.T, r *fixtureRun) {
	const file = "rules/tcp-dupack-storm.pcap"
	f := r.find("tcp-duplicate-ack-storm")[0]
	dup := wiresharkFrames(t, file, "duplicate_ack")
	if len(dup) != 122 || f.Count != 122 {
		t.Errorf("count %d, Wireshark flags %d duplicate ACKs; the fixture has 122", f.Count, len(dup))
	}
	for _, s := range []string{"192.0.2.10:51000 → 198.51.100.20:80", "122 duplicate ACKs", "SACK negotiated", "1 retransmissions"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	ev := evidenceFrames(f)
	if len(ev) == 0 {
		t.Error("no evidence frames")
	}
	for _, n := range ev {
		if !dup[n] || r.flags[n]&flows.ADuplicateAck == 0 {
			t.Errorf("evidence frame %d is not a duplicate ACK (Wireshark: %v, pcapx: %v)", n, dup[n], r.flags[n])
		}
	}
	if !strings.HasSuffix(f.Filter, " && tcp.analysis.duplicate_ack") || !strings.Contains(f.Filter, "tcp.port == 51000") {
		t.Errorf("filter %q does not select the flow's duplicate ACKs", f.Filter)
	}
	if f.Flow == nil {
		t.Error("no flow reference")
	}
}

package rules_test

import (
	"testing"

	"github.com/pcapx/pcapx/flows"
)

var tcpPortReuseCases = fixtureCases([]fixtureCase{
	{file: "rules/tcp-port-reuse.pcap", want: []string{"tcp-port-reuse warning", "slow-connect warning"}, check: func(t *testing.T, r *fixtureRun) {
		f := r.find("tcp-port-reuse")[0]
		wantIn(t, f, "3 SYN(s) to 198.51.100.20:80", "(2 in the server's TIME-WAIT (it closed first, less than 60 s before), 1 never closed)",
			"3.0 s–10 s after the old connection's last packet", "from 192.0.2.11, 192.0.2.10, 192.0.2.12", "2 above, 1 below", // in the order their connections end
			"the server answered 1 with a SYN-ACK, 2 with an ACK for the old connection (challenge ACK)", "connect took up to 1002 ms",
			"192.0.2.10:51000 → 198.51.100.20:80, 3.0 s after tcp.stream 0 closed (by the server first), ISN below its next sequence number, answered with an ACK for the old connection (challenge ACK), connected after 1002 ms",
			"192.0.2.11:51000 → 198.51.100.20:80, 5.0 s after tcp.stream 2 closed (by the server first), ISN above its next sequence number, answered with a SYN-ACK",
			"192.0.2.12:51000 → 198.51.100.20:80, 10 s after the last packet of a connection never closed (tcp.stream 4)")
		// The evidence is the new SYNs, each flagged reused_ports as in
		// Wireshark (the filter shows them).
		// The connects the challenge ACKs delayed are told as that, not as loss.
		wantIn(t, r.find("slow-connect")[0], "met an earlier connection the server still held on the same ports (a challenge ACK: see tcp-port-reuse)")
		reused := wiresharkFrames(t, "rules/tcp-port-reuse.pcap", "reused_ports")
		for _, n := range evidenceFrames(f) {
			if !reused[n] || r.flags[n]&flows.AReusedPorts == 0 {
				t.Errorf("evidence frame %d is not a reused-ports SYN", n)
			}
		}
		if len(f.Evidence) != 3 || f.Filter != "tcp.analysis.reused_ports && ip.addr == 198.51.100.20 && tcp.port == 80" {
			t.Errorf("evidence %v, filter %q", f.Evidence, f.Filter)
		}
	}},
	// After TIME-WAIT, the client's own TIME-WAIT, after a reset.
	{file: "rules/tcp-port-reuse-negative.pcap"},
})

func TestTCPPortReuseFixtures(t *testing.T) { runCases(t, tcpPortReuseCases) }

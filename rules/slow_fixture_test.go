package rules_test

import (
	"strings"
	"testing"
)

var slowCases = fixtureCases([]fixtureCase{
	{file: "app/slow-phases.pcap", want: []string{"slow-dns warning", "slow-connect warning", "slow-tls-handshake warning"}, check: checkSlowPhases},
})

func TestSlowFixtures(t *testing.T) { runCases(t, slowCases) }

func checkSlowPhases(t *testing.T, r *fixtureRun) {
	// Each finding names the slow server, the cause that dominated with its
	// numbers, and the path RTT; the second, merely far connection
	// (port 51001) is in none of them.
	for id, want := range map[string][]string{
		"slow-dns":           {"192.0.2.53", "mostly the query sent again (1 retransmission(s), 1000 ms waited", "path RTT 2.0 ms", "mtr -u -P 53"},
		"slow-connect":       {"1 TCP handshake(s) with 203.0.113.90:443", "mostly the SYN or SYN-ACK sent again (1 retransmission(s), 1000 ms waited", "path RTT 150 ms", "mtr -T -P 443"},
		"slow-tls-handshake": {"1 TLS handshake(s) with 203.0.113.90:443 (shop.example.com)", "mostly the server taking 350 ms on average beyond the round trip", "path RTT 150 ms", "openssl s_client"},
	} {
		fs := r.find(id)
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings, want 1", id, len(fs))
		}
		for _, s := range want {
			if !strings.Contains(fs[0].Message, s) {
				t.Errorf("%s: message %q does not say %q", id, fs[0].Message, s)
			}
		}
		if fs[0].Flow != nil && fs[0].Flow.SrcPort == 51001 {
			t.Errorf("%s names the far but healthy connection", id)
		}
	}
}

package analyze_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/rules"
)

// TestChurnAndReuseOnRealCaptures: tcp-connection-churn and tcp-port-reuse
// on real captures in ../shared/pcaps whose story is known.
func TestChurnAndReuseOnRealCaptures(t *testing.T) {
	if _, err := os.Stat(realPcaps); err != nil {
		t.Skipf("real captures not available (%v): CI has ../shared beside the repo", err)
	}
	run := func(t *testing.T, file string) []rules.Finding {
		res, err := analyze.Run(analyze.Config{Inputs: []string{filepath.Join(realPcaps, file)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return res.Findings
	}
	for _, c := range []struct{ file, why string }{
		{"zeek__zeek/testing__btest__Traces__echo-connections.pcap.gz",
			"500 connections to 127.0.0.1:7000 opened within 130 ms, all open at once, each echoing for 2-6 s (median 2.8 s): a burst of long connections (a load test), not churn"},
		{"ntop__nDPI/tests__cfgs__default__pcap__KakaoTalk_chat.pcap",
			"a SYN-ACK sent again with another ISN (Wireshark: reused ports), no earlier connection on the 4-tuple"},
		{"ntop__nDPI/tests__cfgs__default__pcap__rtsp.pcap", "a refused connection's SYN-ACK with another ISN (reused ports)"},
		{"gopacket__gopacket/layers__testdata__cip.pcap", "resets and SYN-ACKs with other ISNs on one 4-tuple (reused ports), nothing held"},
		{"chrissanders__packets/synscan.pcapng", "an nmap SYN scan: many short attempts, none of them answered connections"},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			for _, f := range run(t, c.file) {
				if f.Rule == rules.TCPConnectionChurn.ID || f.Rule == rules.TCPPortReuse.ID {
					t.Errorf("%s fired (%s): %s", f.Rule, c.why, f.Message)
				}
			}
		})
	}

	// A client (a Windows VM: SYNs sent again after 3 s, behind a NAT one
	// hop away) reuses source ports of connections older than the capture:
	// nine SYNs to six server endpoints are answered with a bare ACK for the old
	// connection, the client resets it and connects 3 s later (13 s for one
	// whose SYNs were lost again).
	t.Run("tls-subjectaltname", func(t *testing.T) {
		var got []rules.Finding
		n := int64(0)
		for _, f := range run(t, "OISF__suricata-verify/tests__tls__tls-subjectaltname__input.pcap") {
			if f.Rule == rules.TCPPortReuse.ID {
				got = append(got, f)
				n += f.Count
				wantIn(t, f, "older than the capture", "from 192.168.100.206", "with an ACK for the old connection (challenge ACK)")
			}
		}
		if len(got) != 6 || n != 9 {
			t.Fatalf("%d findings for %d SYNs, want 6 server endpoints and 9 SYNs", len(got), n)
		}
		wantIn(t, got[0], "4 SYN(s) to 138.201.208.22:443", "3 above, 1 below", "the server answered 4 with an ACK for the old connection (challenge ACK)",
			"connect took up to 13.1 s", "192.168.100.206:59622 → 138.201.208.22:443, its previous connection older than the capture")
		for _, f := range got {
			if !strings.Contains(f.Filter, "tcp.analysis.reused_ports") {
				t.Errorf("filter %q", f.Filter)
			}
		}
	})
}

// wantIn checks that a finding's message says each of want.
func wantIn(t *testing.T, f rules.Finding, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(f.Message, s) {
			t.Errorf("%s: message %q does not say %q", f.Rule, f.Message, s)
		}
	}
}

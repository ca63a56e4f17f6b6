package analyze_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/rules"
)

// realPcaps is ../shared/pcaps seen from this package.
const realPcaps = "../../shared/pcaps"

// TestPrecisionOnRealCaptures runs pcapx over real captures in
// ../shared/pcaps whose story is known, and checks the findings a network
// engineer would trust: healthy traffic over long paths gets no timing
// finding (distance is not trouble), and real trouble gets a finding that
// names its cause. Each row says why the capture was chosen.
func TestPrecisionOnRealCaptures(t *testing.T) {
	if _, err := os.Stat(realPcaps); err != nil {
		t.Skipf("real captures not available (%v): CI has ../shared beside the repo", err)
	}
	timing := []string{"slow-dns", "slow-connect", "slow-tls-handshake", "slow-first-byte"}
	for _, c := range []struct {
		file, why string
		quiet     []string // rules that must not fire
		want      []string // rule: substrings its one finding must hold
		noWarning bool     // nothing at warning or above: a healthy capture
	}{
		{
			file: "ntop__nDPI/tests__cfgs__default__pcap__sites.pcapng",
			why: "browsing to 60 servers worldwide, healthy: handshakes of 10-100 ms that are one round trip " +
				"(52.73.71.226: every RTT 98-100 ms), TLS 1.2 in two round trips (presence.fuze.com, 205 ms)",
			quiet:     timing,
			noWarning: true,
		},
		{
			file:  "zeek__zeek/testing__btest__Traces__postgresql__psql-aws-ssl-preferred.pcap",
			why:   "a TLS 1.2 handshake of 229 ms to a database in another region: two round trips of ~110 ms",
			quiet: timing,
		},
		{
			file:  "zeek__zeek/testing__btest__Traces__tls__ssl.v3.pcap",
			why:   "three connections to a server 181 ms away; the SSLv3 handshakes take two round trips (385 ms)",
			quiet: timing,
		},
		{
			file:  "zeek__zeek/testing__btest__Traces__smtp.pcap",
			why:   "SMTP over a 347 ms path and an iCloud TLS handshake of 434 ms (3 round trips of ~145 ms, under 3x)",
			quiet: timing,
		},
		{
			file:  "chrissanders__packets/http_espn.pcapng",
			why:   "a public resolver (4.2.2.1) 65 ms away: far, not slow",
			quiet: []string{"slow-dns"},
		},
		{
			file:  "zeek__zeek/testing__btest__Traces__http__m57-long-49583-80.pcap",
			why:   "every SYN and SYN-ACK captured twice 1 µs apart: duplicates in the capture, not retransmissions",
			quiet: []string{"slow-connect"},
		},
		{
			file: "ntop__nDPI/tests__cfgs__default__pcap__KakaoTalk_chat.pcap",
			why:  "a 1,045 ms connect to 173.252.97.2:443: the client's SYN was lost and sent again after 1 s, on a 42-49 ms path (the phone takes 7 ms to ACK)",
			want: []string{"slow-connect", "173.252.97.2:443", "mostly the SYN or SYN-ACK sent again", "path RTT 49 ms"},
		},
		{
			file: "ntop__nDPI/tests__cfgs__default__pcap__heuristic_tcp_ack_payload.pcap",
			why: "the IP total length of every pure ACK counts 2 or 6 zero bytes of padding: the peer never acknowledges " +
				"them and the next data, up to a minute later, reuses their sequence numbers (tshark: retransmissions). " +
				"Idle TLS connections, not transfers waiting for an ACK; and the server's padding, at the sequence number its " +
				"ServerHello starts at, is not the start of the TLS stream (every handshake has its ServerHello)",
			quiet: []string{"tcp-stall", "tls-handshake-rejected"},
		},
		{
			file: "zeek__zeek/testing__btest__Traces__http__206_example_b.pcap",
			why: "tcp.stream 0: the client's window is zero for ~20 ms and opens again without acknowledging anything; " +
				"the server then sends its segment again for 80 s, never acknowledged, and resets",
			want: []string{"tcp-stall", "the server's data waited 81 s", "abandoned with a reset", "opened its zero window again"},
		},
		{
			file: "zeek__zeek/testing__btest__Traces__tunnels__gre-aruba.pcap",
			why: "a mirror of the client's direction only: every client ACKs and sends its request after its one SYN, " +
				"so the SYN-ACKs came, out of the capture's sight",
			quiet: []string{"tcp-syn-unanswered"},
		},
		{
			file:  "seladb__PcapPlusPlus/Tests__Pcap++Test__PcapExamples__raw_ip.pcap",
			why:   "the IPv4 connections to 82.102.152.19 and 23.221.143.117 are captured one way: one SYN, then the client's ACKs and requests",
			quiet: []string{"tcp-syn-unanswered"},
		},
		{
			file: "OISF__suricata-verify/tests__smtp-to-comma__10.7.29.101_49898-178.63.41.150_25.pcap",
			why: "the SMTP server answers the SYN 208 ms late while the data's ACKs show a path of 0.03 ms: " +
				"server time (a tarpitting MTA), not distance",
			want: []string{"slow-connect", "mostly the server answering the SYN 208 ms", "path RTT 0.03 ms"},
		},
		{
			file:  "lab-sample/loss.pcap",
			why:   "5% loss on the path upstream of a client capture: every hole is filled by a retransmission the capture saw, so the capture itself lost nothing",
			quiet: []string{"capture-loss", "pmtu-black-hole"},
		},
		{
			file: "OISF__suricata-verify/tests__ssh-hassh-incomplete__input.pcap",
			why: "the manifest's PMTU black-hole signature: a 1440-byte segment sent 8 times over 75 s, never acknowledged, " +
				"after a 41-byte one was, and no ICMP",
			want: []string{"pmtu-black-hole", "186.64.207.189 (the client, sending the large segments) and 192.168.178.254", "a 1440-byte segment (the receiver's MSS is 1460) was sent 7 more times"},
		},
		{
			file: "zeek__zeek/testing__btest__Traces__smtp.pcap",
			why:  "a working PMTU discovery: 4 ICMP frag-needed (MTU 1492) and the 1452-byte resends",
			want: []string{"pmtu-frag-needed", "192.168.1.1 reported a path MTU of 1492 bytes", "PMTU discovery worked: 10.10.1.4:1470 → 74.53.140.153:25"},
		},
		{
			file:  "chrissanders__packets/synscan.pcapng",
			why:   "an nmap SYN scan of 1,000 ports of one host: one scan finding, not a finding per port",
			quiet: []string{"tcp-syn-unanswered", "tcp-connection-refused"},
			want:  []string{"tcp-port-scan", "172.16.0.8 scanned 1000 ports of 64.13.134.52", "3 answered, 5 refused, 1986 silent", "open: 22, 53, 80"},
		},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			res, err := analyze.Run(analyze.Config{Inputs: []string{filepath.Join(realPcaps, c.file)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range res.Findings {
				if c.noWarning && f.Severity >= rules.Warning {
					t.Errorf("%s %s on a healthy capture (%s): %s", f.Severity, f.Rule, c.why, f.Message)
				}
				for _, q := range c.quiet {
					if f.Rule == q {
						t.Errorf("%s fired (%s): %s", q, c.why, f.Message)
					}
				}
			}
			if len(c.want) == 0 {
				return
			}
			var got []rules.Finding
			for _, f := range res.Findings {
				if f.Rule == c.want[0] {
					got = append(got, f)
				}
			}
			if len(got) != 1 {
				t.Fatalf("%d %s findings, want 1 (%s)", len(got), c.want[0], c.why)
			}
			for _, s := range c.want[1:] {
				if !strings.Contains(got[0].Message, s) {
					t.Errorf("%s: message %q does not say %q (%s)", c.want[0], got[0].Message, s, c.why)
				}
			}
		})
	}
}

package analyze_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/rules"
)

// writeCapture writes a generated capture to a temporary pcap file.
func writeCapture(t *testing.T, script func(w capgen.FrameWriter)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gen.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	script(pw)
	if err := pw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func findingsOf(t *testing.T, path, rule string) []rules.Finding {
	t.Helper()
	res, err := analyze.Run(analyze.Config{Inputs: []string{path}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []rules.Finding
	for _, f := range res.Findings {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

// TestConnectSplit generates handshakes with chosen round trips, losses and
// server delays, at either end of the path, and checks that slow-connect
// fires exactly when the connect is slow for a cause, and names the cause
// that dominated with its numbers.
func TestConnectSplit(t *testing.T) {
	const ms = time.Millisecond
	cli := netip.MustParseAddrPort("192.0.2.10:40000")
	srv := netip.MustParseAddrPort("198.51.100.20:443")
	for _, c := range []struct {
		name      string
		vantage   capgen.Vantage
		rtt       time.Duration
		lostSYNs  int           // SYNs lost before the one answered (1 s, 2 s, ... back-off)
		synAckLag time.Duration // the server's delay before its SYN-ACK
		dataRTT   bool          // the client sends data, ACKed one round trip later
		want      []string      // substrings of the one finding; nil: no finding
	}{
		{name: "far path, no loss", vantage: capgen.NearClient, rtt: 300 * ms},
		{name: "far path near the server", vantage: capgen.NearServer, rtt: 300 * ms},
		{name: "LAN, no loss", vantage: capgen.NearClient, rtt: 1 * ms},
		{name: "lost SYN on a LAN", vantage: capgen.NearClient, rtt: 1 * ms, lostSYNs: 1,
			want: []string{"mean 1001 ms", "mostly the SYN or SYN-ACK sent again (1 retransmission(s), 1000 ms waited", "path RTT 1.0 ms", "mtr -T -P 443"}},
		{name: "two lost SYNs on a far path", vantage: capgen.NearClient, rtt: 200 * ms, lostSYNs: 2,
			want: []string{"mean 3200 ms", "(2 retransmission(s), 3000 ms waited", "path RTT 200 ms"}},
		{name: "slow SYN-ACK, data ACKs show the path", vantage: capgen.NearClient, rtt: 20 * ms, synAckLag: 400 * ms, dataRTT: true,
			want: []string{"mean 420 ms", "mostly the server answering the SYN 400 ms", "path RTT 20 ms", "ss -lnt"}},
		{name: "slow SYN-ACK under the margin", vantage: capgen.NearClient, rtt: 20 * ms, synAckLag: 150 * ms, dataRTT: true},
		// Without data the handshake is the only round trip known: a far
		// server and a slow one look the same, and pcapx stays quiet.
		{name: "slow SYN-ACK, nothing shows the path", vantage: capgen.NearClient, rtt: 20 * ms, synAckLag: 400 * ms},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeCapture(t, func(w capgen.FrameWriter) {
				tc := capgen.NewTCPConn(w, cli, srv, &capgen.TCPOptions{Vantage: c.vantage})
				if c.lostSYNs > 0 && c.vantage != capgen.NearClient {
					t.Fatal("a lost SYN is only seen near the client (the server never sees it)")
				}
				{
					for i := range c.lostSYNs {
						tc.Syn()
						tc.Sleep(time.Second << i)
					}
				}
				tc.Syn()
				if c.vantage == capgen.NearServer {
					tc.Sleep(c.synAckLag)
					tc.SynAck()
					tc.Sleep(c.rtt)
				} else {
					tc.Sleep(c.rtt + c.synAckLag)
					tc.SynAck()
				}
				tc.Ack(capgen.Client)
				if c.dataRTT {
					tc.SendData(capgen.Client, []byte("hello"))
					tc.Sleep(c.rtt)
					tc.Ack(capgen.Server)
				}
				tc.Sleep(10 * ms)
				tc.Close(capgen.Client)
			})
			fs := findingsOf(t, path, "slow-connect")
			if c.want == nil {
				if len(fs) != 0 {
					t.Fatalf("slow-connect fired: %s", fs[0].Message)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("%d slow-connect findings, want 1", len(fs))
			}
			for _, s := range c.want {
				if !strings.Contains(fs[0].Message, s) {
					t.Errorf("message %q does not say %q", fs[0].Message, s)
				}
			}
		})
	}
}

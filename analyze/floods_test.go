package analyze

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// flood writes a raw-IP pcap of the packets gen makes (one call per
// packet index until it returns nil) and returns its path.
func flood(t testing.TB, name string, gen func(i int) []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := capgen.WritePcapFile(path, capgen.PcapOptions{LinkType: capgen.LinkTypeRaw, Nanosecond: true}, func(w capgen.FrameWriter) error {
		for i := 0; ; i++ {
			p := gen(i)
			if p == nil {
				return nil
			}
			if err := w.WriteFrame(capgen.Frame{Time: start.Add(time.Duration(i) * time.Millisecond), Data: p}); err != nil {
				return err
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func addr4(base byte, i int) netip.Addr {
	return netip.AddrFrom4([4]byte{base, byte(i >> 16), byte(i >> 8), byte(i)})
}

// TestFloodsCounted: floods of failures with many distinct causes (names,
// servers, clients) end as findings a person can read, and every
// occurrence is counted — in a finding's count or in findings_omitted.
func TestFloodsCounted(t *testing.T) {
	const n = 12_000 // past the rules' 10,000 groups and 500 findings
	cli := netip.MustParseAddr("10.1.0.1")
	syn := func(src, dst netip.Addr, sport, dport uint16, i int) []byte {
		ip := capgen.IP{Src: src, Dst: dst}
		return ip.TCP(capgen.TCP{SrcPort: sport, DstPort: dport, Seq: uint32(i), Flags: capgen.TCPFlags(0x02), Window: 1024}, nil)
	}
	query := func(src, dst netip.Addr, i int) []byte {
		ip := capgen.IP{Src: src, Dst: dst}
		return ip.UDP(uint16(10000+i%50000), 53, capgen.DNSQuery(uint16(i), fmt.Sprintf("n%d.example.com", i), capgen.DNSTypeA))
	}
	cases := []struct {
		name        string
		rule        string
		gen         func(i int) []byte
		maxFindings int // readable: at most this many findings of the rule
	}{
		{"dns-one-server", "dns-unanswered", func(i int) []byte { return query(cli, netip.MustParseAddr("10.1.0.53"), i) }, 1},
		// One client, a resolver each: one finding for the client (and
		// one for what the 10,000 groups could not hold).
		{"dns-many-servers", "dns-unanswered", func(i int) []byte { return query(cli, addr4(11, i), i) }, 2},
		{"dns-many-clients", "dns-unanswered", func(i int) []byte { return query(addr4(15, i), addr4(16, i%3000), i) }, rules.MaxFindingsPerRule},
		{"syn-flood-spoofed", "tcp-syn-unanswered", func(i int) []byte {
			return syn(addr4(12, i), netip.MustParseAddr("10.9.9.9"), uint16(1024+i%60000), 80, i)
		}, 1},
		{"syn-many-servers", "tcp-syn-unanswered", func(i int) []byte {
			return syn(addr4(13, i%5000), addr4(14, i), uint16(1024+i%60000), uint16(1+i%3), i)
		}, rules.MaxFindingsPerRule},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// After the n failures, 6 s of other traffic (a packet a
			// millisecond): a DNS query the capture ends within its 5 s
			// timeout of is not counted unanswered (capture_ended).
			tail := capgen.IP{Src: netip.MustParseAddr("10.2.0.1"), Dst: netip.MustParseAddr("10.2.0.2")}.UDP(7000, 9, []byte("x"))
			path := flood(t, tc.name+".pcap", func(i int) []byte {
				switch {
				case i < n:
					return tc.gen(i)
				case i < n+6000:
					return tail
				}
				return nil
			})
			res, err := Run(Config{Inputs: []string{path}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			found, occ, omitted := counted(res, tc.rule)
			if omitted > 0 && found != rules.MaxFindingsPerRule {
				t.Errorf("%d findings listed and %d omitted: the cap is %d", found, omitted, rules.MaxFindingsPerRule)
			}
			if res.Suppressed[tc.rule] != omitted {
				t.Errorf("suppressed %d, omitted %d", res.Suppressed[tc.rule], omitted)
			}
			if occ != n {
				t.Errorf("%s: %d occurrences counted in findings and findings_omitted, want %d", tc.rule, occ, n)
			}
			if found == 0 || found > int64(tc.maxFindings) {
				t.Errorf("%s: %d findings, want 1..%d", tc.rule, found, tc.maxFindings)
			}
		})
	}
}

// connFlood writes a pcap of n TCP connections, each scripted by conn.
func connFlood(t testing.TB, name string, n int, conn func(i int, c *capgen.TCPConn)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet, Nanosecond: true})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		cli := netip.AddrPortFrom(addr4(17, i%200), uint16(20000+i%40000))
		srv := netip.AddrPortFrom(addr4(18, i), 80)
		c := capgen.NewTCPConn(w, cli, srv, &capgen.TCPOptions{Start: start.Add(time.Duration(i) * time.Millisecond)})
		c.Handshake(time.Millisecond)
		conn(i, c)
		if err := c.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAppFloodsCounted: the same accounting for HTTP errors and rejected
// TLS handshakes, each from a server of its own.
func TestAppFloodsCounted(t *testing.T) {
	const n = 11_000
	cases := []struct {
		name, rule string
		conn       func(i int, c *capgen.TCPConn)
	}{
		{"http-5xx", "http-server-error", func(i int, c *capgen.TCPConn) {
			c.SendData(capgen.Client, capgen.HTTPRequest("GET", fmt.Sprintf("h%d.example", i), "/x"))
			c.SendData(capgen.Server, capgen.HTTPResponse(503, nil))
			c.Close(capgen.Client)
		}},
		{"tls-rejected", "tls-handshake-rejected", func(i int, c *capgen.TCPConn) {
			c.SendData(capgen.Client, capgen.TLSClientHello(capgen.ClientHello{SNI: fmt.Sprintf("s%d.example", i)}))
			c.Rst(capgen.Server)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(Config{Inputs: []string{connFlood(t, tc.name+".pcap", n, tc.conn)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			found, occ, _ := counted(res, tc.rule)
			if found == 0 || occ != n {
				t.Errorf("%s: %d findings, %d occurrences counted, want %d", tc.rule, found, occ, n)
			}
		})
	}
}

// counted is what a run says of one rule: the findings it listed, the
// occurrences they and findings_omitted count, and the findings omitted.
func counted(res *run.Result, rule string) (found, occ, omitted int64) {
	for _, f := range res.Findings {
		if f.Rule == rule {
			found++
			occ += f.Count
		}
	}
	for _, o := range res.Omitted {
		if o.Rule == rule {
			occ += o.Occurrences
			omitted += o.Findings
		}
	}
	return found, occ, omitted
}

// TestForgottenClosedConnections: closed connections' tombstones are
// bounded like the flow table, and those dropped early are said in the
// capture's warnings (they are shed state); a full table ends closed
// connections first without counting them as evicted.
func TestForgottenClosedConnections(t *testing.T) {
	const n = 200 // 4 packets each, 1 ms apart: all within 2 minutes
	cli, srv := netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("192.0.2.80")
	seg := func(i int, fromCli bool, flags byte, seq, ack uint32) []byte {
		sport := uint16(20000 + i)
		if fromCli {
			ip := capgen.IP{Src: cli, Dst: srv}
			return ip.TCP(capgen.TCP{SrcPort: sport, DstPort: 80, Seq: seq, Ack: ack, Flags: capgen.TCPFlags(flags), Window: 1024}, nil)
		}
		ip := capgen.IP{Src: srv, Dst: cli}
		return ip.TCP(capgen.TCP{SrcPort: 80, DstPort: sport, Seq: seq, Ack: ack, Flags: capgen.TCPFlags(flags), Window: 1024}, nil)
	}
	const syn, ack, fin, synack = 0x02, 0x10, 0x11, 0x12
	path := flood(t, "closed.pcap", func(i int) []byte {
		c := i / 6
		if c >= n {
			return nil
		}
		switch i % 6 {
		case 0:
			return seg(c, true, syn, 100, 0)
		case 1:
			return seg(c, false, synack, 500, 101)
		case 2:
			return seg(c, true, ack, 101, 501)
		case 3:
			return seg(c, true, fin, 101, 501)
		case 4:
			return seg(c, false, fin, 501, 102)
		}
		return seg(c, true, ack, 102, 502)
	})
	for _, workers := range []int{1, 2} {
		res, err := Run(Config{Inputs: []string{path}, Workers: workers, Flows: flows.Config{MaxFlows: 50}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := res.Capture
		if c.Evicted != 0 || res.TCP.Streams != n {
			t.Errorf("workers %d: %d evicted, %d streams", workers, c.Evicted, res.TCP.Streams)
		}
		if res.Table.Forgotten == 0 || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], fmt.Sprintf("%d closed connections were forgotten", res.Table.Forgotten)) {
			t.Errorf("workers %d: forgotten %d, warnings %q", workers, res.Table.Forgotten, c.Warnings)
		}
	}
}

// TestLatePacketsNotParsed: a request sent again 10 s after its
// connection closed continues the connection's stream but is not a second
// HTTP exchange, and the rules do not count the late packets' flow as a
// connection.
func TestLatePacketsNotParsed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "late.pcap")
	err := capgen.WritePcapFile(path, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet}, func(w capgen.FrameWriter) error {
		c := capgen.NewTCPConn(w, netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("192.0.2.80:80"), &capgen.TCPOptions{Start: capgen.Epoch, Step: time.Millisecond})
		c.Handshake(time.Millisecond)
		req := capgen.HTTPRequest("GET", "www.example.com", "/")
		seq := c.NextSeq(capgen.Client)
		c.SendData(capgen.Client, req)
		c.SendData(capgen.Server, capgen.HTTPResponse(500, []byte("no")))
		ack := c.NextSeq(capgen.Server)
		c.Close(capgen.Client)
		c.Sleep(10 * time.Second)
		c.Raw(capgen.Client, capgen.TCPFlags(0x18), seq, ack, req)
		return c.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(Config{Inputs: []string{path}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.TCP.Streams != 1 || res.Capture.Flows != 2 || res.App.HTTPRequests != 1 {
		t.Errorf("streams %d, flows %d, HTTP requests %d", res.TCP.Streams, res.Capture.Flows, res.App.HTTPRequests)
	}
	for _, fd := range res.Findings {
		if fd.Rule == "http-server-error" && fd.Count != 1 {
			t.Errorf("http-server-error counts %d", fd.Count)
		}
	}
}

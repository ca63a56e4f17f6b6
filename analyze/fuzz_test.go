package analyze_test

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/run"
)

// FuzzAnalyze runs the whole analysis (flow table, TCP analysis, closed
// connections, reassembly, parsers, rules, the JSON document) over packet
// sequences. The input is a program for a small packet generator
// (fuzzProgram), not a capture: each step of stepLen bytes is one packet
// (or its IP fragments, or the same frame twice) on one of a few fixed
// connections, with sequence and acknowledgement numbers near where the
// connection is, so that the fuzzer explores what packets do to the state
// rather than the decoder's rejections. The capture is written with
// capgen's pcap writer. (The target is in the external test package: it
// writes the JSON document with report, which imports analyze.)
//
// Each capture is analysed four times: with one worker and with two (in
// rounds of 5 packets, ending 2 flows a round at the end), whose JSON
// documents must be byte-identical, and with a flow table of a few flows
// (one worker, bounded by count; two workers, bounded by bytes), which
// must not fail. No run may return an error (a panic in a worker or the
// merger is one), and no document a negative time.
func FuzzAnalyze(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(fuzzCheck)
}

// fuzzCheck runs the program prog and checks the runs (FuzzAnalyze).
func fuzzCheck(t *testing.T, prog []byte) {
	path := filepath.Join(t.TempDir(), "prog.pcap")
	if err := capgen.WritePcapFile(path, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet}, func(w capgen.FrameWriter) error {
		return fuzzProgram(w, prog)
	}); err != nil {
		t.Fatal(err)
	}
	one, res := fuzzRun(t, path, 1, analyze.Config{})
	restoreRound, restoreBatch := analyze.SetRoundPackets(5), analyze.SetFlushBatch(2)
	two, _ := fuzzRun(t, path, 2, analyze.Config{})
	restoreRound()
	restoreBatch()
	if res.Table.Evicted == 0 && res.Table.Forgotten == 0 && !bytes.Equal(one, two) {
		t.Errorf("--workers 2 differs from --workers 1:\n%s", firstDiff(one, two))
	}
	// Bounds reached: a table of 3 flows, or of the bytes of 3 TCP
	// connections that carried data; one connection parsed at a time per
	// worker, and few pages stored ahead of holes.
	small := streams.Config{MaxParsers: 1, MaxPagesPerConn: 2, MaxPagesTotal: 3}
	fuzzRun(t, path, 1, analyze.Config{Flows: flows.Config{MaxFlows: 3}, Streams: small})
	fuzzRun(t, path, 2, analyze.Config{Flows: flows.Config{MaxBytes: 3 * (flows.CostFlow + flows.CostTCP + flows.CostTransfer)}, Streams: small})
}

// fuzzRun analyses path with n workers and the bounds of cfg, and
// returns the JSON document and the result; it fails the test on an
// error.
func fuzzRun(t *testing.T, path string, n int, cfg analyze.Config) ([]byte, *run.Result) {
	t.Helper()
	var out bytes.Buffer
	js, err := report.NewJSON(&out)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Inputs, cfg.Workers = []string{path}, n
	res, err := analyze.Run(cfg, js)
	if err != nil {
		t.Fatalf("%s: %v", fuzzRunName(n, &cfg), err)
	}
	if err := js.Finish(res); err != nil {
		t.Fatal(err)
	}
	if err := report.Text(io.Discard, res); err != nil {
		t.Fatal(err)
	}
	// Times are never negative, however the capture's timestamps jump,
	// but a DNS latency, which is tshark's dns.time: a response stamped
	// before its query says the clocks of merged captures disagree.
	for _, m := range negativeMS.FindAllSubmatch(out.Bytes(), -1) {
		if string(m[1]) != "latency_ms" {
			t.Fatalf("%s: %s", fuzzRunName(n, &cfg), m[0])
		}
	}
	return out.Bytes(), res
}

var negativeMS = regexp.MustCompile(`"([a-z_]+_ms|duration_s)": ?-[0-9.]+`)

// fuzzRunName names a run by its workers and bounds.
func fuzzRunName(n int, cfg *analyze.Config) string {
	return fmt.Sprintf("workers %d, max flows %d, max bytes %d, streams %+v", n, cfg.Flows.MaxFlows, cfg.Flows.MaxBytes, cfg.Streams)
}

// The program's steps. A step is stepLen bytes (a shorter tail is
// ignored); at most maxSteps are run.
const (
	stepLen  = 10
	maxSteps = 300
)

// A step's bytes:
//
//	0  bits 0-1 the endpoint pair (fuzzPairs), bit 2 the direction (0:
//	   client to server), bits 3-5 the kind (0-4 a TCP segment, 5 a
//	   UDP datagram to or from port 53, a DNS query or response unless
//	   byte 6 says otherwise, 6 an ICMP frag-needed or
//	   packet-too-big quoting the pair's TCP connection, 7 a TCP segment
//	   with TCP options), bit 6 the same frame written twice, bit 7 a
//	   client port other than the pair's (bits 0-1 of byte 9 choose it)
//	1  the TCP flags (FIN SYN RST PSH ACK URG ECE CWR)
//	2  the sequence number: the direction's next one plus this as int8;
//	   -128 jumps by byte 8 << 20 + 12345 (a new ISN)
//	3  the acknowledgement: the other direction's next sequence number
//	   plus this as int8; -128 jumps as byte 2 does
//	4  the window: this byte in both bytes of the field (0: zero window)
//	5  the payload's length: below 128 itself; 255 the prefix's (byte 6)
//	   length; else (b-128)*12; at most 1500
//	6  bits 0-3 what the payload starts with (fuzzPrefixes: zeros, DNS
//	   query or response, HTTP request or response head, TLS ClientHello
//	   or ServerHello, ...; 7 and 15 the program's own bytes from this
//	   step on); bits 4-7 times 8 bytes of it skipped
//	7  the time since the previous packet: bits 6-7 the unit (100 µs,
//	   10 ms, 1 s), bits 0-5 the count; unit 3: below 31, count × 10 s;
//	   31, 25 hours (a capture's gap); else (count-32) × 100 ms backwards
//	8  the IPv4 identification's low byte; the DNS id; the ICMP MTU / 8;
//	   the jump of bytes 2 and 3; the TCP options' values
//	9  bits 0-1 the other client port (byte 0 bit 7); bit 2: a TCP
//	   segment goes in IP fragments (2 + bit 4), a UDP datagram from port
//	   53 rather than to it; bit 3: the frame is cut short (a snapshot
//	   length) after 54 + 48 × bits 4-7 bytes
//
// The sequence numbers are tracked per connection (pair and client port)
// and direction: a segment's sequence number plus its length (and SYN
// and FIN) is the direction's next one, so that a program of zero deltas
// is a well-formed conversation.
type fuzzPair struct {
	cli, srv netip.AddrPort
	router   netip.Addr // the sender of ICMP errors
}

var fuzzPairs = [4]fuzzPair{
	{netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("10.0.0.2:80"), netip.MustParseAddr("10.0.0.254")},
	{netip.MustParseAddrPort("10.0.0.1:40001"), netip.MustParseAddrPort("10.0.0.3:443"), netip.MustParseAddr("10.0.0.254")},
	{netip.MustParseAddrPort("[2001:db8::1]:40002"), netip.MustParseAddrPort("[2001:db8::2]:80"), netip.MustParseAddr("2001:db8::fe")},
	{netip.MustParseAddrPort("10.0.0.4:53000"), netip.MustParseAddrPort("10.0.0.2:53"), netip.MustParseAddr("10.0.0.254")},
}

// fuzzPrefixes are what a payload may start with (indexes 7 and 15 are
// the program's own bytes).
var fuzzPrefixes = [16][]byte{
	0: nil,
	1: capgen.DNSOverTCP(capgen.DNSQuery(0x1234, "www.example.com", capgen.DNSTypeA)),
	2: capgen.DNSOverTCP(capgen.DNSResponse(0x1234, "www.example.com", capgen.DNSTypeA, capgen.RcodeNoError,
		capgen.DNSAddr("www.example.com", 60, netip.MustParseAddr("192.0.2.1")))),
	3:  capgen.HTTPRequest("GET", "www.example.com", "/index.html", "User-Agent: fuzz"),
	4:  capgen.HTTPResponseHead(200, 100, "Content-Type: text/plain"),
	5:  capgen.TLSClientHello(capgen.ClientHello{SNI: "www.example.com"}),
	6:  capgen.TLSServerHello(capgen.ServerHello{ALPN: "h2", Seed: "fuzz"}),
	8:  append(capgen.HTTPRequest("POST", "www.example.com", "/upload", "Content-Length: 11"), "hello world"...),
	9:  []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n"),
	10: append(capgen.TLSChangeCipherSpec(), capgen.TLSApplicationData(make([]byte, 40))...),
	11: capgen.TLSServerHello(capgen.ServerHello{Version: capgen.TLS12, Seed: "fuzz"}),
	12: capgen.SSLv2ClientHello(capgen.TLS10, []uint32{0x010080, 0x00002f}, "fuzz"),
	13: capgen.TLSAlert(2, 40),
	14: capgen.TLSClientHello(capgen.ClientHello{SNI: "other.example", Versions: []uint16{capgen.TLS12}, GREASE: true}),
}

// fuzzProgram writes the packets of prog to w.
func fuzzProgram(w capgen.FrameWriter, prog []byte) error {
	type conn struct{ next [2]uint32 }
	var conns [4 * 5]conn // pair × client port (the pair's, or 4 others)
	for i := range conns {
		conns[i].next = [2]uint32{uint32(1000 * (i + 1)), uint32(7_000_000 * (i + 1))}
	}
	eth := [2]capgen.Link{capgen.DefaultEthernet, capgen.DefaultEthernet.Reverse()}
	now := capgen.Epoch
	var frame []byte
	for s := 0; s < maxSteps && (s+1)*stepLen <= len(prog); s++ {
		b := prog[s*stepLen : (s+1)*stepLen]
		pair := fuzzPairs[b[0]&3]
		dir := int(b[0] >> 2 & 1)
		kind := b[0] >> 3 & 7
		twice := b[0]&0x40 != 0
		cport, ci := pair.cli.Port(), int(b[0]&3)*5
		if b[0]&0x80 != 0 {
			cport += 100 + uint16(b[9]&3)
			ci += 1 + int(b[9]&3)
		}
		c := &conns[ci]
		cli, srv := netip.AddrPortFrom(pair.cli.Addr(), cport), pair.srv

		// The time.
		count := time.Duration(b[7] & 63)
		switch b[7] >> 6 {
		case 0:
			now = now.Add(count * 100 * time.Microsecond)
		case 1:
			now = now.Add(count * 10 * time.Millisecond)
		case 2:
			now = now.Add(count * time.Second)
		case 3:
			switch {
			case count < 31:
				now = now.Add(count * 10 * time.Second)
			case count == 31:
				now = now.Add(25 * time.Hour)
			default:
				now = now.Add(-(count - 32) * 100 * time.Millisecond)
			}
		}

		// The payload.
		var prefix []byte
		if k := b[6] & 15; k&7 == 7 {
			prefix = prog[s*stepLen:]
		} else {
			prefix = fuzzPrefixes[k]
		}
		prefix = prefix[min(int(b[6]>>4)*8, len(prefix)):]
		n := int(b[5])
		switch {
		case n == 255:
			n = min(len(prefix), 1500)
		case n >= 128:
			n = min((n-128)*12, 1500)
		}
		payload := make([]byte, n)
		copy(payload, prefix)

		src, dst := cli, srv
		if dir == 1 {
			src, dst = srv, cli
		}
		var pkt []byte
		switch kind {
		case 5: // UDP, DNS by default
			sport, dport := 50000+cport%100, uint16(53)
			if b[9]&4 != 0 {
				sport, dport = 53, 50000+cport%100
			}
			ip := capgen.IP{Src: cli.Addr(), Dst: srv.Addr(), ID: uint16(s)<<8 | uint16(b[8])}
			if dir == 1 {
				ip.Src, ip.Dst = ip.Dst, ip.Src
				sport, dport = dport, sport
			}
			if b[6]&15 == 0 {
				id := uint16(b[8])
				if dir == 0 {
					payload = capgen.DNSQuery(id, "www.example.com", capgen.DNSTypeA)
				} else {
					payload = capgen.DNSResponse(id, "www.example.com", capgen.DNSTypeA, capgen.RcodeNoError)
				}
			} else if len(payload) > 2 {
				payload = payload[2:] // without the TCP length
			}
			pkt = ip.UDP(sport, dport, payload)
		case 6: // an ICMP error quoting a segment the connection sent
			seq := c.next[dir] + uint32(int32(int8(b[2])))
			q := capgen.IP{Src: src.Addr(), Dst: dst.Addr(), ID: uint16(b[8]), DF: true}
			quoted := q.TCP(capgen.TCP{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: c.next[1-dir], Flags: capgen.ACK, Window: 1024}, payload)
			mtu := uint16(b[8]) * 8
			ip := capgen.IP{Src: pair.router, Dst: src.Addr()}
			if ip.Is6() {
				pkt = ip.ICMP(capgen.ICMPv6PacketTooBig(uint32(mtu), capgen.Quote(quoted, 1232)))
			} else {
				pkt = ip.ICMP(capgen.ICMPv4FragNeeded(mtu, capgen.Quote(quoted, 548)))
			}
		default: // TCP
			flags := capgen.TCPFlags(b[1])
			seq := c.next[dir] + uint32(int32(int8(b[2])))
			if b[2] == 0x80 {
				seq = c.next[dir] + uint32(b[8])<<20 + 12345
			}
			ack := c.next[1-dir] + uint32(int32(int8(b[3])))
			if b[3] == 0x80 {
				ack = c.next[1-dir] + uint32(b[8])<<20 + 12345
			}
			t := capgen.TCP{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: flags, Window: uint16(b[4])<<8 | uint16(b[4])}
			if kind == 7 {
				if flags&capgen.SYN != 0 {
					t.Options = []capgen.TCPOption{capgen.OptMSS(uint16(b[8]) * 8), capgen.OptWScale(b[8] & 15), capgen.OptSACKPermitted(), capgen.OptTimestamps(uint32(s), 0)}
				} else {
					l := uint32(b[8]) * 16
					t.Options = []capgen.TCPOption{capgen.OptTimestamps(uint32(s), uint32(s/2)), capgen.OptSACK([2]uint32{ack + l, ack + l + uint32(n) + 1})}
				}
			}
			ip := capgen.IP{Src: src.Addr(), Dst: dst.Addr(), ID: uint16(s)<<8 | uint16(b[8])}
			pkt = ip.TCP(t, payload)
			next := seq + uint32(n)
			if flags&capgen.SYN != 0 {
				next++
			}
			if flags&capgen.FIN != 0 {
				next++
			}
			c.next[dir] = next
		}
		pkts := [][]byte{pkt}
		// Each fragment carries 8 bytes at least: the TCP header of 20
		// splits in two.
		if n := 2 + int(b[9]>>4&1); b[9]&4 != 0 && kind != 5 && kind != 6 && 20+len(payload) >= 8*n {
			if pair.cli.Addr().Is4() {
				pkts = capgen.FragmentIPv4(pkt, n)
			} else {
				pkts = capgen.FragmentIPv6(pkt, n, uint32(s))
			}
		}
		for _, pkt := range pkts {
			frame = eth[dir].AppendFrame(frame[:0], pkt)
			fr := capgen.Frame{Time: now, Data: frame}
			if cut := 54 + 48*int(b[9]>>4); b[9]&8 != 0 && cut < len(frame) {
				fr.Data, fr.OrigLen = frame[:cut], len(frame)
			}
			if err := w.WriteFrame(fr); err != nil {
				return err
			}
			if twice {
				if err := w.WriteFrame(fr); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fuzzStep is one step of a seed program, by field.
type fuzzStep struct {
	pair, dir, kind byte
	twice           bool
	flags           capgen.TCPFlags
	dseq, dack      int8
	win             byte
	n               byte // the length byte (see stepLen's comment)
	prefix          byte
	dt              byte
	x, y            byte // bytes 8 and 9
}

func (s fuzzStep) bytes() []byte {
	b := make([]byte, stepLen)
	b[0] = s.pair | s.dir<<2 | s.kind<<3
	if s.twice {
		b[0] |= 0x40
	}
	b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9] = byte(s.flags), byte(s.dseq), byte(s.dack), s.win, s.n, s.prefix, s.dt, s.x, s.y
	return b
}

func fuzzProgramOf(steps ...fuzzStep) []byte {
	var p []byte
	for _, s := range steps {
		p = append(p, s.bytes()...)
	}
	return p
}

// fuzzSeeds are programs of meaningful conversations.
func fuzzSeeds() [][]byte {
	const (
		syn, synack, ack = capgen.SYN, capgen.SYN | capgen.ACK, capgen.ACK
		pshack, finack   = capgen.PSH | capgen.ACK, capgen.FIN | capgen.ACK
		rst, rstack      = capgen.RST, capgen.RST | capgen.ACK
		ms               = 1<<6 | 1 // 10 ms
	)
	handshake := func(pair byte) []fuzzStep {
		return []fuzzStep{
			{pair: pair, flags: syn, dack: -128, win: 0xff, dt: ms},
			{pair: pair, dir: 1, flags: synack, win: 0xff, dt: ms},
			{pair: pair, flags: ack, win: 0xff, dt: ms},
		}
	}
	closeBoth := func(pair byte) []fuzzStep {
		return []fuzzStep{
			{pair: pair, flags: finack, win: 0xff, dt: ms},
			{pair: pair, dir: 1, flags: finack, win: 0xff, dt: ms},
			{pair: pair, flags: ack, win: 0xff, dt: ms},
		}
	}
	cat := func(parts ...[]fuzzStep) []byte {
		var all []fuzzStep
		for _, p := range parts {
			all = append(all, p...)
		}
		return fuzzProgramOf(all...)
	}
	var seeds [][]byte
	// HTTP: handshake, request, response, close.
	seeds = append(seeds, cat(handshake(0), []fuzzStep{
		{flags: pshack, win: 0xff, n: 255, prefix: 3, dt: ms},
		{dir: 1, flags: ack, win: 0xff, dt: ms},
		{dir: 1, flags: pshack, win: 0xff, n: 255, prefix: 4, dt: ms},
		{dir: 1, flags: pshack, win: 0xff, n: 100, dt: ms},
		{flags: ack, win: 0xff, dt: ms},
	}, closeBoth(0)))
	// TLS over IPv4 and HTTP over IPv6, interleaved, each reset.
	seeds = append(seeds, cat(handshake(1), handshake(2), []fuzzStep{
		{pair: 1, flags: pshack, win: 0xff, n: 255, prefix: 5, dt: ms},
		{pair: 2, flags: pshack, win: 0xff, n: 100, prefix: 3, dt: ms},
		{pair: 1, dir: 1, flags: pshack, win: 0xff, n: 255, prefix: 6, dt: ms},
		{pair: 1, flags: rstack, win: 0, dt: ms},
		{pair: 2, dir: 1, flags: rst, dt: 2<<6 | 3},
	}))
	// A zero window: the server's window closes, the client probes, it
	// opens after a while; a frag-needed in between.
	seeds = append(seeds, cat(handshake(0), []fuzzStep{
		{flags: pshack, win: 0xff, n: 128 + 100, prefix: 3, dt: ms},
		{dir: 1, flags: ack, win: 0, dt: ms},
		{kind: 6, x: 1400 / 8, n: 128 + 125, dt: ms},
		{flags: ack, dseq: -1, win: 0xff, n: 1, dt: 2<<6 | 1},
		{dir: 1, flags: ack, win: 0, dt: ms},
		{flags: ack, dseq: -1, win: 0xff, n: 1, dt: 2<<6 | 3},
		{dir: 1, flags: ack, win: 0x80, dt: 2<<6 | 5},
		{flags: pshack, win: 0xff, n: 128 + 100, dt: ms},
		{dir: 1, flags: ack, win: 0x80, dt: ms},
	}, closeBoth(0)))
	// Port reuse: a connection closed, then a SYN with a new ISN on the
	// same 4-tuple a minute later; a late ACK of the old one; DNS over
	// UDP and TCP beside.
	seeds = append(seeds, cat(handshake(0), closeBoth(0), []fuzzStep{
		{pair: 3, kind: 5, x: 7, dt: ms},
		{pair: 3, kind: 5, dir: 1, x: 7, dt: ms},
		{flags: ack, win: 0xff, dt: 2<<6 | 30},
		{flags: syn, dseq: -128, x: 3, win: 0xff, dt: 2<<6 | 30},
		{dir: 1, flags: synack, win: 0xff, dt: ms},
		{flags: ack, win: 0xff, dt: ms},
	}, handshake(3), []fuzzStep{
		{pair: 3, flags: pshack, win: 0xff, n: 40, prefix: 1, dt: ms},
		{pair: 3, dir: 1, flags: pshack, win: 0xff, n: 70, prefix: 2, dt: ms},
	}, closeBoth(3)))
	// Duplicates, retransmissions and SACK on IPv6, a jump of the clock.
	seeds = append(seeds, cat(handshake(2), []fuzzStep{
		{pair: 2, kind: 7, flags: pshack, win: 0xff, n: 128 + 100, twice: true, dt: ms},
		{pair: 2, kind: 7, flags: pshack, win: 0xff, n: 128 + 100, dt: ms},
		{pair: 2, kind: 7, dir: 1, flags: ack, dack: -128, x: 0, win: 0xff, dt: ms},
		{pair: 2, kind: 7, flags: pshack, dseq: -128, x: 0, win: 0xff, n: 10, dt: ms},
		{pair: 2, kind: 6, x: 1280 / 8, n: 128 + 125, dt: ms},
		{pair: 2, dir: 1, flags: ack, win: 0xff, dt: 3<<6 | 31},
		{pair: 2, dir: 1, flags: ack, win: 0xff, dt: 3<<6 | 40},
	}))
	// A TLS 1.2 handshake to the end, a POST and a chunked response on
	// IPv6, an alert.
	seeds = append(seeds, cat(handshake(1), handshake(2), []fuzzStep{
		{pair: 1, flags: pshack, win: 0xff, n: 255, prefix: 14, dt: ms},
		{pair: 1, dir: 1, flags: pshack, win: 0xff, n: 255, prefix: 11, dt: ms},
		{pair: 1, flags: pshack, win: 0xff, n: 255, prefix: 10, dt: ms},
		{pair: 1, dir: 1, flags: pshack, win: 0xff, n: 255, prefix: 10, dt: ms},
		{pair: 2, flags: pshack, win: 0xff, n: 255, prefix: 8, dt: ms},
		{pair: 2, dir: 1, flags: pshack, win: 0xff, n: 255, prefix: 9, dt: ms},
		{pair: 1, dir: 1, flags: pshack, win: 0xff, n: 255, prefix: 13, dt: ms},
	}, closeBoth(1), closeBoth(2)))
	// A request in IP fragments, a response the snapshot length cut, a
	// day's gap in the capture, and the connection going on after it.
	seeds = append(seeds, cat(handshake(0), []fuzzStep{
		{flags: pshack, win: 0xff, n: 128 + 50, prefix: 3, y: 4 | 16, dt: ms},
		{dir: 1, flags: pshack, win: 0xff, n: 128 + 60, prefix: 4, y: 8 | 3<<4, dt: ms},
		{dir: 1, flags: pshack, win: 0xff, n: 128 + 60, dt: ms},
		{flags: ack, win: 0xff, dt: 3<<6 | 31},
		{dir: 1, flags: pshack, win: 0xff, n: 100, dt: ms},
		{dir: 1, flags: pshack, win: 0xff, n: 100, dt: ms},
		{dir: 1, flags: pshack, win: 0xff, n: 100, dt: ms},
		{flags: ack, win: 0xff, dt: ms},
	}, closeBoth(0)))
	return seeds
}

// TestFuzzAnalyzeSeeds: the seed programs make what they say (a check of
// the generator, not of the analysis).
func TestFuzzAnalyzeSeeds(t *testing.T) {
	seeds := fuzzSeeds()
	path := filepath.Join(t.TempDir(), "seed.pcap")
	if err := capgen.WritePcapFile(path, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet}, func(w capgen.FrameWriter) error {
		return fuzzProgram(w, seeds[0])
	}); err != nil {
		t.Fatal(err)
	}
	doc, _ := fuzzRun(t, path, 1, analyze.Config{})
	for _, want := range []string{`"method":"GET"`, `"status":200`, `"state":"SF"`} {
		if !strings.Contains(strings.ReplaceAll(string(doc), " ", ""), want) {
			t.Errorf("the HTTP seed's document lacks %s:\n%s", want, doc)
		}
	}
}

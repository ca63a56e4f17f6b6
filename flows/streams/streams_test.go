package streams_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/internal/capgen"
)

// result is what a run of the Tracker over some frames produced.
type result struct {
	dns   []flows.DNSRecord
	http  []flows.HTTPRecord
	tls   []flows.TLSRecord
	flows []flows.Record
	stats streams.Stats
}

// run decodes the frames (Ethernet) and drives a flow table and a Tracker
// the way analyze.Run does: each packet goes to the table, then to the
// Tracker; flows end through the table's OnEnd, and Finish comes last.
func run(t *testing.T, frames capgen.Frames) *result {
	t.Helper()
	res := &result{}
	tr := streams.New(streams.Config{}, streams.Sinks{
		DNS:  func(r *flows.DNSRecord) { res.dns = append(res.dns, *r) },
		HTTP: func(r *flows.HTTPRecord) { res.http = append(res.http, *r) },
		TLS:  func(r *flows.TLSRecord) { res.tls = append(res.tls, *r) },
	})
	table := flows.NewTable(flows.Config{OnEnd: func(f *flows.Flow) {
		res.flows = append(res.flows, f.Record(tr.FlowEnd(f)))
	}})
	dec := flows.NewDecoder()
	var p flows.Packet
	for i, fr := range frames {
		p.Timestamp, p.File, p.Frame = fr.Time.UnixNano(), 0, int64(i+1)
		p.WireLen = fr.OrigLen
		if p.WireLen == 0 {
			p.WireLen = len(fr.Data)
		}
		switch kind := dec.Decode(uint16(capgen.LinkTypeEthernet), fr.Data, &p); kind {
		case flows.KindTCP:
			f, dir, _ := table.Process(&p)
			tr.Packet(&p, f, dir)
		case flows.KindUDP:
			f, dir, _ := table.Process(&p)
			tr.Packet(&p, f, dir)
		case flows.KindICMP, flows.KindIP:
			table.Process(&p)
		default:
			t.Fatalf("frame %d: decoded as %v", i+1, kind)
		}
	}
	table.Flush()
	tr.Finish()
	res.stats = tr.Stats
	return res
}

var (
	cli = netip.MustParseAddrPort("192.0.2.10:51000")
	srv = netip.MustParseAddrPort("198.51.100.20:443")
	web = netip.MustParseAddrPort("198.51.100.20:80")
	ns  = netip.MustParseAddrPort("198.51.100.53:53")
)

// clientHelloConn starts a connection whose client has the ClientHello for
// sni queued.
func clientHelloConn(frames *capgen.Frames, sni string) *capgen.TCPConn {
	c := capgen.NewTCPConn(frames, cli, srv, nil)
	c.Handshake(20 * time.Millisecond)
	c.Write(capgen.Client, capgen.TLSClientHello(capgen.ClientHello{SNI: sni}))
	return c
}

func oneTLS(t *testing.T, r *result) flows.TLSRecord {
	t.Helper()
	if len(r.tls) != 1 {
		t.Fatalf("%d TLS records, want 1: %+v", len(r.tls), r.tls)
	}
	return r.tls[0]
}

func TestClientHelloInThreeSegments(t *testing.T) {
	for _, order := range []string{"in order", "middle segment late"} {
		t.Run(order, func(t *testing.T) {
			var frames capgen.Frames
			c := clientHelloConn(&frames, "split.example.com")
			n := c.Queued(capgen.Client)
			a, b := n/3, n/3
			if order == "in order" {
				c.Send(capgen.Client, a)
				c.Send(capgen.Client, b)
			} else {
				c.Send(capgen.Client, a)
				i := c.Drop(capgen.Client, b)
				c.Send(capgen.Client, n-a-b)
				c.Retransmit(capgen.Client, i)
				n = 0
			}
			if n > 0 {
				c.Send(capgen.Client, n-a-b)
			}
			c.Sleep(20 * time.Millisecond)
			c.SendData(capgen.Server, capgen.TLSServerHello(capgen.ServerHello{Seed: "split"}))
			c.Close(capgen.Client)
			r := run(t, frames)
			h := oneTLS(t, r)
			if h.SNI != "split.example.com" || !strings.HasPrefix(h.JA4, "t13d") || h.JA3Hash == "" {
				t.Errorf("SNI %q JA4 %q JA3 %q; want the split hello decoded", h.SNI, h.JA4, h.JA3Hash)
			}
			if !h.ServerHello || h.Version != "TLS 1.3" {
				t.Errorf("server hello %v version %q", h.ServerHello, h.Version)
			}
			if r.stats.ClientHellos != 1 {
				t.Errorf("ClientHellos = %d", r.stats.ClientHellos)
			}
		})
	}
}

func TestResetAfterServerHelloIsNotRejection(t *testing.T) {
	var frames capgen.Frames
	c := clientHelloConn(&frames, "late-reset.example.com")
	c.Send(capgen.Client, c.Queued(capgen.Client))
	c.Sleep(20 * time.Millisecond)
	c.SendData(capgen.Server, capgen.TLSServerHello(capgen.ServerHello{Version: capgen.TLS12, Seed: "late"}))
	c.Sleep(time.Millisecond)
	c.Rst(capgen.Server)
	h := oneTLS(t, run(t, frames))
	if strings.HasPrefix(h.Outcome, "rejected") || h.Outcome != "reset-after-server-hello" || h.ResetBy != "server" {
		t.Errorf("outcome %q reset_by %q after a ServerHello; want reset-after-server-hello by the server, not a rejection", h.Outcome, h.ResetBy)
	}
	if !h.ServerHello {
		t.Error("ServerHello not seen")
	}
}

func TestResetAfterClientHelloIsRejection(t *testing.T) {
	var frames capgen.Frames
	c := clientHelloConn(&frames, "blocked.example.com")
	c.Send(capgen.Client, c.Queued(capgen.Client))
	c.Sleep(time.Millisecond)
	c.Rst(capgen.Server)
	h := oneTLS(t, run(t, frames))
	if h.Outcome != "rejected-reset" || h.ResetBy != "server" {
		t.Errorf("outcome %q reset_by %q; want rejected-reset by server", h.Outcome, h.ResetBy)
	}
	if h.SNI != "blocked.example.com" || h.EndFrame.Frame == 0 {
		t.Errorf("SNI %q end frame %d", h.SNI, h.EndFrame.Frame)
	}
}

// TestPaddingBeforeServerHello: nDPI's heuristic_tcp_ack_payload capture,
// where the IP total length of every pure ACK counts the frame's padding.
// The server's ACK of the ClientHello carries 6 zero bytes at the sequence
// number its ServerHello then starts at; delivered first, they shifted the
// ServerHello and the handshake read as rejected before any ServerHello.
func TestPaddingBeforeServerHello(t *testing.T) {
	var frames capgen.Frames
	c := capgen.NewTCPConn(&frames, cli, srv, &capgen.TCPOptions{NoTimestamps: true})
	c.Handshake(20 * time.Millisecond)
	c.SendData(capgen.Client, capgen.TLSClientHello(capgen.ClientHello{SNI: "padded.example.com"}))
	c.Sleep(10 * time.Millisecond)
	c.Raw(capgen.Server, capgen.ACK, c.NextSeq(capgen.Server), c.NextSeq(capgen.Client), make([]byte, 6))
	c.SendData(capgen.Server, capgen.TLSServerHello(capgen.ServerHello{Version: capgen.TLS12, Seed: "padded"}))
	c.Sleep(10 * time.Millisecond)
	c.Close(capgen.Client)
	h := oneTLS(t, run(t, frames))
	if !h.ServerHello || strings.HasPrefix(h.Outcome, "rejected") {
		t.Errorf("server hello %v, outcome %q: the padding was read as the server's first bytes", h.ServerHello, h.Outcome)
	}
}

// TestTLSAfterSSLRequest: PostgreSQL's SSLRequest comes first, so the
// first payload is not TLS; the ClientHello two segments later is.
func TestTLSAfterSSLRequest(t *testing.T) {
	var frames capgen.Frames
	c := capgen.NewTCPConn(&frames, cli, netip.MustParseAddrPort("198.51.100.20:5432"), nil)
	c.Handshake(time.Millisecond)
	c.SendData(capgen.Client, []byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f})
	c.SendData(capgen.Server, []byte("S"))
	c.SendData(capgen.Client, capgen.TLSClientHello(capgen.ClientHello{SNI: "db.example.com"}))
	c.SendData(capgen.Server, capgen.TLSServerHello(capgen.ServerHello{Seed: "db"}))
	c.Close(capgen.Client)
	h := oneTLS(t, run(t, frames))
	if h.SNI != "db.example.com" || !h.ServerHello {
		t.Errorf("SNI %q server hello %v", h.SNI, h.ServerHello)
	}
}

func TestPipelinedHTTP(t *testing.T) {
	var frames capgen.Frames
	c := capgen.NewTCPConn(&frames, cli, web, nil)
	c.Handshake(10 * time.Millisecond)
	// Three requests in two segments, the responses in segments that do
	// not follow message boundaries.
	reqs := append(capgen.HTTPRequest("GET", "www.example.com", "/a"), capgen.HTTPRequest("GET", "www.example.com", "/b")...)
	c.SendData(capgen.Client, reqs)
	c.SendData(capgen.Client, capgen.HTTPRequest("HEAD", "www.example.com", "/c"))
	c.Sleep(10 * time.Millisecond)
	c.Write(capgen.Server, capgen.HTTPResponse(200, []byte("first body")))
	c.Write(capgen.Server, capgen.HTTPResponse(404, []byte("not here")))
	c.Write(capgen.Server, capgen.HTTPResponseHead(204, 0))
	c.Send(capgen.Server, 30)
	c.Send(capgen.Server, c.Queued(capgen.Server))
	c.Close(capgen.Client)
	r := run(t, frames)
	want := []struct {
		target string
		status int
	}{{"/a", 200}, {"/b", 404}, {"/c", 204}}
	if len(r.http) != len(want) {
		t.Fatalf("%d HTTP records, want %d: %+v", len(r.http), len(want), r.http)
	}
	for i, w := range want {
		h := r.http[i]
		if h.Target != w.target || h.Status != w.status || !h.Complete {
			t.Errorf("record %d: %s %d complete %v; want %s %d", i, h.Target, h.Status, h.Complete, w.target, w.status)
		}
	}
	if r.stats.HTTPStatus[2] != 2 || r.stats.HTTPStatus[4] != 1 {
		t.Errorf("status counts %v", r.stats.HTTPStatus)
	}
	if len(r.flows) != 1 || r.flows[0].App != "http" || r.flows[0].HTTPHost != "www.example.com" {
		t.Errorf("flow record %+v", r.flows)
	}
}

// TestHTTPAfterLostSegment: a response segment the capture never shows
// leaves a hole that nothing fills; what follows it must still reach the
// parser (with the hole reported) when the flow ends.
func TestHTTPAfterLostSegment(t *testing.T) {
	var frames capgen.Frames
	c := capgen.NewTCPConn(&frames, cli, web, nil)
	c.Handshake(10 * time.Millisecond)
	c.SendData(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", "/big"))
	c.SendData(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", "/next"))
	c.Write(capgen.Server, capgen.HTTPResponse(200, make([]byte, 3000)))
	c.Write(capgen.Server, capgen.HTTPResponse(503, nil))
	c.Send(capgen.Server, 1000)
	c.Miss(capgen.Server, 1000)
	c.Send(capgen.Server, c.Queued(capgen.Server))
	c.Close(capgen.Client)
	r := run(t, frames)
	if len(r.http) != 2 || r.http[0].Status != 200 || r.http[1].Status != 503 {
		t.Fatalf("records %+v; want 200 then 503", r.http)
	}
	if r.stats.Gaps != 1 || r.stats.GapBytes != 1000 {
		t.Errorf("gaps %d (%d bytes), want 1 (1000)", r.stats.Gaps, r.stats.GapBytes)
	}
	// The hole is in the first response's body: that record says so, the
	// next one (whole) does not.
	if !r.http[0].Gap || r.http[1].Gap {
		t.Errorf("gap flags %v, %v; want true, false", r.http[0].Gap, r.http[1].Gap)
	}
}

// TestHTTPSnaplenCut: a segment cut by the snapshot length does not hold
// back what follows it.
func TestHTTPSnaplenCut(t *testing.T) {
	var frames capgen.Frames
	c := capgen.NewTCPConn(&frames, cli, web, nil)
	c.Handshake(10 * time.Millisecond)
	c.SendData(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", "/a"))
	c.SendData(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", "/b"))
	c.Write(capgen.Server, capgen.HTTPResponse(200, make([]byte, 1400)))
	c.Write(capgen.Server, capgen.HTTPResponse(302, nil))
	c.Send(capgen.Server, 200)
	cut := len(frames)
	c.Send(capgen.Server, 1000)
	c.Send(capgen.Server, c.Queued(capgen.Server))
	c.Close(capgen.Client)
	// Keep only the first 100 payload bytes of the 1000-byte segment.
	f := &frames[cut]
	f.OrigLen = len(f.Data)
	f.Data = f.Data[:len(f.Data)-900]
	r := run(t, frames)
	if len(r.http) != 2 || r.http[0].Status != 200 || r.http[1].Status != 302 {
		t.Fatalf("records %+v; want 200 then 302", r.http)
	}
	if r.stats.Gaps != 1 || r.stats.GapBytes != 900 {
		t.Errorf("gaps %d (%d bytes), want 1 (900)", r.stats.Gaps, r.stats.GapBytes)
	}
	if !r.http[0].Gap || r.http[1].Gap {
		t.Errorf("gap flags %v, %v; want true, false", r.http[0].Gap, r.http[1].Gap)
	}
}

func dnsFrames(t *testing.T, queries, responses bool) capgen.Frames {
	t.Helper()
	var frames capgen.Frames
	client := capgen.IP{Src: cli.Addr(), Dst: ns.Addr()}
	server := capgen.IP{Src: ns.Addr(), Dst: cli.Addr()}
	now := capgen.Epoch
	add := func(ip capgen.IP, l capgen.Link, sport, dport uint16, msg []byte) {
		frames.WriteFrame(capgen.Frame{Time: now, Data: l.AppendFrame(nil, ip.UDP(sport, dport, msg))})
		now = now.Add(15 * time.Millisecond)
	}
	if queries {
		add(client, capgen.DefaultEthernet, 40000, 53, capgen.DNSQuery(0x1234, "www.example.com", capgen.DNSTypeA))
	}
	if responses {
		add(server, capgen.DefaultEthernet.Reverse(), 53, 40000, capgen.DNSResponse(0x1234, "www.example.com", capgen.DNSTypeA, capgen.RcodeNoError,
			capgen.DNSAddr("www.example.com", 300, netip.MustParseAddr("203.0.113.7"))))
	}
	return frames
}

func TestDNSOverUDP(t *testing.T) {
	r := run(t, dnsFrames(t, true, true))
	if len(r.dns) != 1 {
		t.Fatalf("%d DNS records: %+v", len(r.dns), r.dns)
	}
	d := r.dns[0]
	if d.Transport != "udp" || d.QName != "www.example.com" || d.QType != "A" || d.Rcode != 0 || d.Unanswered ||
		len(d.AnswerAddrs) != 1 || d.AnswerAddrs[0] != "203.0.113.7" || d.LatencyMS != 15 {
		t.Errorf("record %+v", d)
	}
	if d.QueryFrame.Frame != 1 || d.ResponseFrame.Frame != 2 {
		t.Errorf("frames %d, %d", d.QueryFrame.Frame, d.ResponseFrame.Frame)
	}
	if r.stats.DNSResponses[0] != 1 || r.stats.DNSMessages != 2 {
		t.Errorf("stats %+v", r.stats)
	}
}

func TestDNSUnanswered(t *testing.T) {
	r := run(t, dnsFrames(t, true, false))
	if len(r.dns) != 1 || !r.dns[0].Unanswered || r.dns[0].Rcode != -1 || r.dns[0].QName != "www.example.com" {
		t.Fatalf("records %+v; want one unanswered query", r.dns)
	}
}

func TestDNSOverTCP(t *testing.T) {
	var frames capgen.Frames
	c := capgen.NewTCPConn(&frames, cli, ns, nil)
	c.Handshake(time.Millisecond)
	c.SendData(capgen.Client, capgen.DNSOverTCP(capgen.DNSQuery(7, "example.org", capgen.DNSTypeAAAA)))
	c.Sleep(5 * time.Millisecond)
	resp := capgen.DNSOverTCP(capgen.DNSResponse(7, "example.org", capgen.DNSTypeAAAA, capgen.RcodeNXDomain))
	c.SendData(capgen.Server, resp[:5]) // the length prefix and part of the header
	c.SendData(capgen.Server, resp[5:])
	c.Close(capgen.Client)
	r := run(t, frames)
	if len(r.dns) != 1 {
		t.Fatalf("%d DNS records: %+v", len(r.dns), r.dns)
	}
	d := r.dns[0]
	if d.Transport != "tcp" || d.QName != "example.org" || d.QType != "AAAA" || d.RcodeName != "NXDOMAIN" || d.Unanswered {
		t.Errorf("record %+v", d)
	}
	if r.stats.DNSResponses[3] != 1 {
		t.Errorf("responses by rcode %v", r.stats.DNSResponses)
	}
}

// TestDNSDamagedTail: a response whose answer is cut short still pairs
// with its query (its header and question are intact).
func TestDNSDamagedTail(t *testing.T) {
	frames := dnsFrames(t, true, true)
	f := &frames[1]
	// Drop the last 2 bytes of the A record's address: the UDP and IP
	// lengths shrink with it, so the message itself is short.
	resp := capgen.DNSResponse(0x1234, "www.example.com", capgen.DNSTypeA, capgen.RcodeNoError,
		capgen.DNSAddr("www.example.com", 300, netip.MustParseAddr("203.0.113.7")))
	ip := capgen.IP{Src: ns.Addr(), Dst: cli.Addr()}
	f.Data = capgen.DefaultEthernet.Reverse().AppendFrame(nil, ip.UDP(53, 40000, resp[:len(resp)-2]))
	r := run(t, frames)
	if len(r.dns) != 1 || r.dns[0].Unanswered || r.dns[0].Rcode != 0 {
		t.Fatalf("records %+v; want the query answered", r.dns)
	}
	if r.stats.DNSMalformed != 1 || r.stats.DNSMessages != 2 {
		t.Errorf("malformed %d, messages %d", r.stats.DNSMalformed, r.stats.DNSMessages)
	}
}

// TestMDNSAnnouncement: a multicast answer with no query makes no record
// but is counted.
func TestMDNSAnnouncement(t *testing.T) {
	ip := capgen.IP{Src: netip.MustParseAddr("192.0.2.33"), Dst: netip.MustParseAddr("224.0.0.251")}
	msg := capgen.DNSResponse(0, "printer.local", capgen.DNSTypeA, capgen.RcodeNoError,
		capgen.DNSAddr("printer.local", 120, netip.MustParseAddr("192.0.2.33")))
	var frames capgen.Frames
	frames.WriteFrame(capgen.Frame{Time: capgen.Epoch, Data: capgen.DefaultEthernet.AppendFrame(nil, ip.UDP(5353, 5353, msg))})
	r := run(t, frames)
	if len(r.dns) != 0 {
		t.Errorf("records %+v; want none for an announcement", r.dns)
	}
	if r.stats.DNSResponses[0] != 1 {
		t.Errorf("responses %v; want it counted", r.stats.DNSResponses)
	}
}

// TestHTTPResponseFirstSegmentLate: the server's first segment arrives
// after its second; the response head in it must not be lost.
func TestHTTPResponseFirstSegmentLate(t *testing.T) {
	var frames capgen.Frames
	c := capgen.NewTCPConn(&frames, cli, web, nil)
	c.Handshake(10 * time.Millisecond)
	c.SendData(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", "/late"))
	c.Write(capgen.Server, capgen.HTTPResponse(200, make([]byte, 2000)))
	i := c.Drop(capgen.Server, 1000)
	c.Send(capgen.Server, c.Queued(capgen.Server))
	c.Retransmit(capgen.Server, i)
	c.Close(capgen.Client)
	r := run(t, frames)
	if len(r.http) != 1 || r.http[0].Status != 200 || !r.http[0].Complete || r.stats.Gaps != 0 {
		t.Fatalf("records %+v, %d gaps; want one complete 200 and no gap", r.http, r.stats.Gaps)
	}
}

// TestSameTupleInTwoTunnels: two connections with the same inner 5-tuple
// in two GRE tunnels, packet for packet interleaved, are two flows and
// must not share reassembly.
func TestSameTupleInTwoTunnels(t *testing.T) {
	var a, b capgen.Frames
	for i, w := range []*capgen.Frames{&a, &b} {
		gre := capgen.GRE{Src: netip.MustParseAddr("203.0.113.1"), Dst: netip.MustParseAddr("203.0.113.2"), Key: uint32(i + 1), HasKey: true}
		c := capgen.NewTCPConn(w, cli, web, &capgen.TCPOptions{Link: gre})
		c.Handshake(10 * time.Millisecond)
		c.SendData(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", []string{"/one", "/two"}[i]))
		c.SendData(capgen.Server, capgen.HTTPResponse(200+i, []byte("body")))
		c.Close(capgen.Client)
	}
	var frames capgen.Frames
	for i := range a {
		frames = append(frames, a[i], b[i])
	}
	r := run(t, frames)
	if len(r.http) != 2 {
		t.Fatalf("records %+v; want two", r.http)
	}
	for _, h := range r.http {
		if want := map[string]int{"/one": 200, "/two": 201}[h.Target]; h.Status != want || !h.Complete {
			t.Errorf("%s: status %d complete %v, want %d", h.Target, h.Status, h.Complete, want)
		}
	}
}

// TestHTTPReordered: pipelined exchanges cut into segments of random sizes,
// some held back and sent late, some sent twice: every exchange must come
// out whole and in order, with no gap reported.
func TestHTTPReordered(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 100 {
		var frames capgen.Frames
		c := capgen.NewTCPConn(&frames, cli, web, nil)
		c.Handshake(time.Millisecond)
		n := 1 + rng.IntN(4)
		for i := range n {
			c.Write(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", fmt.Sprintf("/%d", i)))
		}
		for i := range n {
			c.Write(capgen.Server, capgen.HTTPResponse(200+i, make([]byte, rng.IntN(5000))))
		}
		for _, side := range []capgen.Side{capgen.Client, capgen.Server} {
			var late []int
			for c.Queued(side) > 0 {
				k := min(c.Queued(side), 1+rng.IntN(1400))
				switch rng.IntN(6) {
				case 0:
					late = append(late, c.Drop(side, k))
				case 1:
					c.Retransmit(side, c.Send(side, k))
				default:
					c.Send(side, k)
				}
				if len(late) > 0 && rng.IntN(3) == 0 {
					c.Retransmit(side, late[0])
					late = late[1:]
				}
			}
			for _, i := range late {
				c.Retransmit(side, i)
			}
		}
		c.Close(capgen.Client)
		r := run(t, frames)
		if len(r.http) != n || r.stats.Gaps != 0 {
			t.Fatalf("iteration %d: %d records (want %d), %d gaps", iter, len(r.http), n, r.stats.Gaps)
		}
		for i, h := range r.http {
			if h.Target != fmt.Sprintf("/%d", i) || h.Status != 200+i || !h.Complete {
				t.Fatalf("iteration %d, record %d: %s %d complete %v", iter, i, h.Target, h.Status, h.Complete)
			}
		}
	}
}

// TestMDNSQuery: a query to a multicast group is answered from other
// flows, so it is not reported as unanswered.
func TestMDNSQuery(t *testing.T) {
	ip := capgen.IP{Src: netip.MustParseAddr("192.0.2.33"), Dst: netip.MustParseAddr("224.0.0.251")}
	var frames capgen.Frames
	frames.WriteFrame(capgen.Frame{Time: capgen.Epoch, Data: capgen.DefaultEthernet.AppendFrame(nil,
		ip.UDP(5353, 5353, capgen.DNSQuery(0, "_ipp._tcp.local", 12)))})
	if r := run(t, frames); len(r.dns) != 0 {
		t.Errorf("records %+v; want none for a multicast query", r.dns)
	}
}

// An SSLv2-compatible ClientHello makes the connection TLS and a TLS record:
// the version it offers, no SNI or fingerprints, and the outcome as for any
// hello — here the server answers in TLS 1.0 and both sides encrypt, or
// resets at once.
func TestSSLv2ClientHello(t *testing.T) {
	specs := []uint32{0x000039, 0x000035, 0x010080, 0x00000a, 0x0000ff}
	for _, c := range []struct {
		name    string
		reset   bool
		outcome string
	}{{"answered", false, "established"}, {"reset", true, "rejected-reset"}} {
		t.Run(c.name, func(t *testing.T) {
			var frames capgen.Frames
			conn := capgen.NewTCPConn(&frames, cli, srv, nil)
			conn.Handshake(20 * time.Millisecond)
			conn.SendData(capgen.Client, capgen.SSLv2ClientHello(capgen.TLS10, specs, c.name))
			conn.Sleep(20 * time.Millisecond)
			if c.reset {
				conn.Rst(capgen.Server)
			} else {
				conn.SendData(capgen.Server, capgen.TLSServerHello(capgen.ServerHello{Version: capgen.TLS10, CipherSuite: 0x0035, Seed: "v2"}))
				conn.SendData(capgen.Client, capgen.TLSChangeCipherSpec())
				conn.SendData(capgen.Server, capgen.TLSChangeCipherSpec())
				conn.SendData(capgen.Client, capgen.TLSApplicationData(make([]byte, 64)))
				conn.Close(capgen.Client)
			}
			r := run(t, frames)
			h := oneTLS(t, r)
			if h.Outcome != c.outcome || !slices.Equal(h.OfferedVersions, []string{"TLS 1.0"}) || h.SNI != "" {
				t.Errorf("outcome %q offered %v SNI %q; want %s, TLS 1.0, no SNI", h.Outcome, h.OfferedVersions, h.SNI, c.outcome)
			}
			if h.JA3 != "" || h.JA3Hash != "" || h.JA4 != "" {
				t.Errorf("fingerprints %q %q %q for an SSLv2 hello", h.JA3, h.JA3Hash, h.JA4)
			}
			if h.ClientHelloFrame.Frame != 4 {
				t.Errorf("ClientHello frame %d, want 4", h.ClientHelloFrame.Frame)
			}
			if !c.reset && (h.Version != "TLS 1.0" || h.Cipher == "") {
				t.Errorf("negotiated %q %q", h.Version, h.Cipher)
			}
			if r.stats.ClientHellos != 1 {
				t.Errorf("ClientHellos = %d", r.stats.ClientHellos)
			}
		})
	}
}

// TestStatsAdd: Add sums every counter (a field added to Stats and
// forgotten in Add would drop a worker's counts).
func TestStatsAdd(t *testing.T) {
	var o streams.Stats
	v := reflect.ValueOf(&o).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Int64:
			f.SetInt(1)
		case reflect.Array:
			for j := range f.Len() {
				f.Index(j).SetInt(1)
			}
		default:
			t.Fatalf("TestStatsAdd does not know field %s", v.Type().Field(i).Name)
		}
	}
	var s streams.Stats
	s.Add(&o)
	s.Add(&o)
	sv := reflect.ValueOf(s)
	for i := range sv.NumField() {
		f := sv.Field(i)
		if f.Kind() == reflect.Array {
			f = f.Index(f.Len() - 1)
		}
		if f.Int() != 2 {
			t.Errorf("Stats.Add does not add %s", sv.Type().Field(i).Name)
		}
	}
}

package main

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

// pmtuFixture starts a fixture of the path-MTU rules (pmtu-black-hole,
// pmtu-frag-needed): both ends of a black hole and of a working PMTU
// discovery, and the look-alikes that must not be called a black hole.
// Their per-frame TCP analysis is not part of the documented table: what
// matters is the diagnosis (rules/pmtu_fixture_test.go).
func (g *generator) pmtuFixture(path, desc string) *capture {
	fx := g.add(&fixture{Path: path, Group: "Path MTU", Desc: desc})
	return pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
}

func (g *generator) pmtuScenarios() {
	// smallThenLarge opens a connection, has one small exchange go through
	// (a GET and a 300-byte response), and asks for a large response: the
	// script shared by every fixture here.
	smallThenLarge := func(c *capture, cli, srv netip.AddrPort, o capgen.TCPOptions) *capgen.TCPConn {
		t := capgen.NewTCPConn(c, cli, srv, &o)
		t.Handshake(40 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/small", "User-Agent: curl/8.5.0"))
		t.Sleep(1 * ms)
		t.SendData(S, httpResponseOf(300))
		t.Sleep(40 * ms)
		t.Ack(C)
		t.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/large", "User-Agent: curl/8.5.0"))
		t.Sleep(1 * ms)
		return t
	}

	// The receiver's end of a black hole, IPv4 and IPv6.
	{
		c := g.pmtuFixture("rules/pmtu-black-hole-client.pcap", `
A PMTU black hole seen from the client (the receiver), over IPv4 and then IPv6:
a GET and its 300-byte response go through; of the next response (3,000 bytes)
the two full-size segments (1,448 bytes; the server's MSS is 1,460) never
arrive — a link with a smaller MTU drops them and its ICMP error is lost — and
only the 104-byte tail does ("previous segment not captured"); the client
repeats its ACK for the hole. The server's retransmissions are dropped too.
5 s later the client gives up with RST. Expected: pmtu-black-hole for each
address family, naming the server as the sender of the large segments.`)
		start := capgen.Epoch
		for _, ep := range [][2]netip.AddrPort{{cliEP, srvEP}, {cli6EP, srv6EP}} {
			t := smallThenLarge(c, ep[0], ep[1], capgen.TCPOptions{Vantage: capgen.NearClient, Start: start})
			t.Write(S, httpResponseOf(3000))
			t.Drop(S, 1448)
			t.Drop(S, 1448)
			t.Send(S, 104)
			t.Ack(C)
			t.Sleep(5 * time.Second)
			t.Rst(C)
			start = t.Now().Add(time.Second)
		}
		c.done()
	}

	// Both ends of a working PMTU discovery.
	for _, v := range []struct {
		path, desc string
		vantage    capgen.Vantage
	}{
		{"rules/pmtu-discovery-server.pcap", `
A working PMTU discovery seen at the server (the sender): after a small
exchange, the server sends a 5,500-byte response as full-size segments
(1,448 bytes); a router's 1,400-byte link drops them and the router
(203.0.113.254) answers the first with ICMP fragmentation needed (next-hop MTU
1,400). The server sends the lost 4,344 bytes again as four segments of at
most 1,348 bytes (kernel count: 4 retransmitted segments), then the rest of
the response in segments of 1,348 bytes; the client acknowledges everything.
Expected: pmtu-frag-needed (info) naming the MTU, the router and the flow that
re-segmented; no black hole; exactly 4 retransmissions, all PMTU discovery's
(no tcp-retransmissions finding).`, capgen.NearServer},
		{"rules/pmtu-discovery-client.pcap", `
The same working PMTU discovery seen at the client: the full-size segments
and the ICMP error never reach it; the re-segmented data arrives and is
acknowledged. Expected: no PMTU finding (nothing at the client shows one).`, capgen.NearClient},
	} {
		c := g.pmtuFixture(v.path, v.desc)
		t := smallThenLarge(c, cliEP, srvEP, capgen.TCPOptions{Vantage: v.vantage})
		t.Write(S, httpResponseOf(5500))
		var big []int
		var pkts [][]byte
		for range 3 {
			if v.vantage == capgen.NearServer {
				big = append(big, t.SendLost(S, 1448))
				pkts = append(pkts, t.LastPacket())
			} else {
				big = append(big, t.Drop(S, 1448))
			}
		}
		t.Sleep(5 * ms)
		if v.vantage == capgen.NearServer {
			router := capgen.IP{Src: netip.MustParseAddr("203.0.113.254"), Dst: srvEP.Addr(), ID: 0x600, TTL: 254}
			gw := capgen.Ethernet{Src: capgen.MAC{0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe}, Dst: capgen.ServerMAC}
			must(c.WriteFrame(capgen.Frame{Time: t.Now(), Data: gw.AppendFrame(nil, router.ICMP(capgen.ICMPv4FragNeeded(1400, capgen.Quote(pkts[0], 548))))}))
			t.Sleep(50 * us)
		}
		// 4,344 bytes again in segments of at most 1,348 bytes.
		t.RetransmitRange(S, big[0], 0, 1348)
		t.RetransmitRange(S, big[0], 1348, 100)
		t.RetransmitRange(S, big[1], 0, 1348)
		t.RetransmitRange(S, big[1], 1348, 100)
		t.Sleep(40 * ms)
		t.Ack(C)
		for t.Queued(S) > 0 {
			t.Send(S, min(1348, t.Queued(S)))
		}
		t.Sleep(40 * ms)
		t.Ack(C)
		t.Close(C)
		c.done()
	}

	// Look-alikes: none of them is a black hole.
	{
		c := g.pmtuFixture("rules/pmtu-negative-random-loss.pcap", `
Random loss seen at the server, twice. First a full-size segment is lost
twice and the third copy is acknowledged: the transfer recovers. Then a
connection loses a full-size segment and, in the same burst, the 104-byte
tail: both are sent again with back-off, neither is acknowledged, and the
client gives up with RST — small segments are lost as well as large ones, so
this is loss, not a size limit. Expected: no pmtu-black-hole.`)
		t := smallThenLarge(c, cliEP, srvEP, capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Write(S, httpResponseOf(3000))
		b := t.SendLost(S, 1448)
		t.Send(S, 1448)
		t.Send(S, 104)
		t.Sleep(40 * ms)
		t.Ack(C)
		t.Sleep(160 * ms)
		t.RetransmitLost(S, b)
		t.Sleep(400 * ms)
		t.Retransmit(S, b)
		t.Sleep(40 * ms)
		t.Ack(C)
		t.Close(C)

		t = smallThenLarge(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+1), srvEP, capgen.TCPOptions{Vantage: capgen.NearServer, Start: t.Now().Add(time.Second)})
		t.Write(S, httpResponseOf(1552))
		b = t.SendLost(S, 1448)
		tail := t.SendLost(S, 104)
		for _, d := range []time.Duration{200, 400, 800, 1600} {
			t.Sleep(d * ms)
			t.RetransmitLost(S, b)
			t.RetransmitLost(S, tail)
		}
		t.Sleep(2 * time.Second)
		t.Rst(C)
		c.done()
	}
	{
		c := g.pmtuFixture("rules/pmtu-negative-midstream.pcap", `
A capture that starts in the middle of a transfer: no handshake, so neither
the MSS nor the first segment sizes are known. A full-size segment is sent
again with back-off and never acknowledged until the capture ends. Expected:
no pmtu-black-hole (nothing shows that smaller segments would pass).`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Established()
		t.SendData(S, httpResponseOf(300))
		t.Sleep(40 * ms)
		t.Ack(C)
		t.Write(S, filler(1448, "midstream"))
		b := t.SendLost(S, 1448)
		for _, d := range []time.Duration{200, 400, 800, 1600} {
			t.Sleep(d * ms)
			t.RetransmitLost(S, b)
		}
		t.Sleep(2 * time.Second)
		c.done()
	}
	{
		c := g.pmtuFixture("rules/pmtu-negative-outage.pcap", `
An outage seen at the server: after a small exchange the path goes down, and
every packet is lost whatever its size — the two full-size segments of the
next response and its 104-byte tail; the server sends both the head and the
tail again with back-off, and the client's side falls silent. Expected: no
pmtu-black-hole (the small tail vanishes too).`)
		t := smallThenLarge(c, cliEP, srvEP, capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Write(S, httpResponseOf(3000))
		b := t.SendLost(S, 1448)
		t.SendLost(S, 1448)
		tail := t.SendLost(S, 104)
		t.Sleep(200 * ms)
		t.RetransmitLost(S, tail) // a tail loss probe
		for _, d := range []time.Duration{200, 400, 800, 1600} {
			t.Sleep(d * ms)
			t.RetransmitLost(S, b)
		}
		t.Sleep(3 * time.Second)
		c.done()
	}
	{
		c := g.pmtuFixture("rules/pmtu-negative-offload.pcap", `
A capture at a server whose NIC segments for it (TSO): the capture holds the
"segments" the stack handed down, 2,896 bytes each, twice the 1,460-byte MSS.
The client vanishes mid-transfer: the head is sent again with back-off and
never acknowledged. Expected: no pmtu-black-hole (segments larger than the MSS
are offload artefacts, not packets on the wire).`)
		t := smallThenLarge(c, cliEP, srvEP, capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Write(S, filler(3*2896, "tso"))
		b := t.SendLost(S, 2896)
		t.SendLost(S, 2896)
		t.SendLost(S, 2896)
		for _, d := range []time.Duration{200, 400, 800, 1600} {
			t.Sleep(d * ms)
			t.RetransmitLost(S, b)
		}
		t.Sleep(2 * time.Second)
		c.done()
	}
}

// healthScenarios are the fixtures of tcp-stall, tcp-reset-midstream,
// http-incomplete-response and tls-alert.
func (g *generator) healthScenarios() {
	{
		c := g.pmtuFixture("rules/tcp-stall.pcap", `
Three downloads captured at the server. In the first, the path drops
everything for 3 s: the server's next segment is sent again with back-off
(0.2, 0.4, 0.8, 1.6 s) and the client's ACK finally comes after the last
copy; the transfer then completes. In the second, the client stops reading and
advertises a zero window for 3 s while the server probes: the receiver said it
was full, so that wait is tcp-zero-window's, not a stall. In the third, the
client's ACK of the last segment is not in the capture and its next request,
2 s later, acknowledges it: no retransmission shows the server stuck, so no
stall either. Expected: one tcp-stall (error) for the first download, naming
the server as the side waiting, 3.0 s, and the retransmissions.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Handshake(20 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/a.bin", "User-Agent: curl/8.5.0"))
		t.Write(S, httpResponseOf(4000))
		t.Send(S, 1448)
		t.Sleep(20 * ms)
		t.Ack(C)
		b := t.SendLost(S, 1448)
		for _, d := range []time.Duration{200, 400, 800, 1600} {
			t.Sleep(d * ms)
			t.RetransmitLost(S, b)
		}
		t.Sleep(20 * ms)
		t.Retransmit(S, b)
		t.Sleep(20 * ms)
		t.Ack(C)
		for t.Queued(S) > 0 {
			t.Send(S, min(1448, t.Queued(S)))
		}
		t.Sleep(20 * ms)
		t.Ack(C)
		t.Close(C)

		t = capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+1), srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer, Start: t.Now().Add(time.Second)})
		t.Handshake(20 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/b.bin", "User-Agent: curl/8.5.0"))
		t.Write(S, httpResponseOf(4000))
		t.Send(S, 1448)
		t.Sleep(20 * ms)
		t.ZeroWindow(C)
		for range 3 {
			t.Sleep(time.Second)
			t.ZeroWindowProbeLinux(S)
			t.Sleep(20 * ms)
			t.Ack(C)
		}
		t.WindowUpdate(C, 64256)
		for t.Queued(S) > 0 {
			t.Send(S, min(1448, t.Queued(S)))
		}
		t.Sleep(20 * ms)
		t.Ack(C)
		t.Close(C)

		t = capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+2), srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer, Start: t.Now().Add(time.Second)})
		t.Handshake(20 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/c.txt", "User-Agent: curl/8.5.0"))
		t.SendData(S, httpResponseOf(900))
		t.Sleep(2 * time.Second)
		t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/d.txt", "User-Agent: curl/8.5.0"))
		t.SendData(S, httpResponseOf(900))
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}
	{
		c := g.pmtuFixture("rules/http-incomplete-response.pcap", `
Three HTTP responses captured at the client. The first announces
Content-Length: 20000, and after four segments (5,688 bytes of body) that the
client acknowledges the server resets the connection: a truncated download.
The second is complete. The third is still arriving when the capture ends (it
announced 20,000 bytes, 2,792 came): the capture's end is not the transfer's.
Expected: one http-incomplete-response (error) naming the request, 5688 of
20000 bytes and the server's reset; no tcp-reset-midstream (nothing was in
flight when the reset came).`)
		start := capgen.Epoch
		for i, v := range []struct {
			path string
			sent int
			end  string
		}{{"/big.iso", 4, "reset"}, {"/ok.txt", -1, "close"}, {"/late.iso", 2, "capture"}} {
			t := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+uint16(i)), srvEP, &capgen.TCPOptions{Start: start})
			t.Handshake(20 * ms)
			t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", v.path, "User-Agent: curl/8.5.0"))
			t.Sleep(20 * ms)
			if v.sent < 0 {
				sendAll(t, S, httpResponseOf(1200))
			} else {
				head := capgen.HTTPResponseHead(200, 20000, "Server: nginx/1.24.0", "Content-Type: application/octet-stream")
				t.Write(S, append(head, filler(20000, "body"+v.path)...))
				for range v.sent {
					t.Send(S, 1448)
				}
			}
			t.Ack(C)
			t.Sleep(50 * ms)
			switch v.end {
			case "reset":
				t.Rst(S)
			case "close":
				t.Close(C)
			}
			start = t.Now().Add(500 * ms)
		}
		c.done()
	}
	{
		c := g.pmtuFixture("rules/tls-alert.pcap", `
A TLS 1.2 handshake that fails after the ServerHello: the server answers the
ClientHello (SNI intranet.example.com), and the client, which does not trust
the certificate's issuer, sends a fatal unknown_ca alert (level 2, description
48) and closes. Then a handshake that completes (not reported). Expected: one
tls-alert (error) naming the server, the SNI, the alert and that the client
sent it; no tls-handshake-rejected (the server did answer).`)
		t := capgen.NewTCPConn(c, cliEP, tlsEP, nil)
		t.Handshake(12 * ms)
		t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: "intranet.example.com", Versions: []uint16{capgen.TLS12}}))
		t.Sleep(12 * ms)
		sendAll(t, S, capgen.TLSServerHello(capgen.ServerHello{Version: capgen.TLS12, Seed: "intranet"}))
		t.Ack(C)
		t.SendData(C, capgen.TLSAlert(capgen.AlertLevelFatal, 48))
		t.Fin(C)
		t.Sleep(12 * ms)
		t.Ack(S)
		t.Fin(S)
		t.Ack(C)

		t = capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+1), tlsEP, &capgen.TCPOptions{Start: t.Now().Add(time.Second)})
		t.Handshake(12 * ms)
		t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: "www.example.com"}))
		t.Sleep(12 * ms)
		sendAll(t, S, append(capgen.TLSServerHello(capgen.ServerHello{Seed: "www"}), capgen.TLSApplicationData(filler(2400, "cert"))...))
		t.Ack(C)
		t.SendData(C, append(capgen.TLSChangeCipherSpec(), capgen.TLSApplicationData(filler(53, "fin"))...))
		t.Sleep(12 * ms)
		t.SendData(S, capgen.TLSApplicationData(filler(300, "data")))
		t.Ack(C)
		t.Close(C)
		c.done()
	}
}

// qualityScenarios are the fixtures of the capture-quality rules.
func (g *generator) qualityScenarios() {
	c := g.pmtuFixture("rules/capture-quality.pcap", `
A capture whose own quality limits what it shows, captured at the client. Six
HTTP downloads were already under way when it started (no handshakes), and in
a seventh, a 100 KB download, the capturing host dropped 5 of the server's
segments that the client did receive and acknowledge (7,240 bytes, about 7%).
Expected: capture-loss (warning) with the share and the flow, and
capture-midstream (info), both listed before any other finding.`)
	start := capgen.Epoch
	for i := range 6 {
		t := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+uint16(i)), srvEP, &capgen.TCPOptions{Start: start})
		t.Established()
		t.Write(S, filler(4000, "mid"))
		for t.Queued(S) > 0 {
			t.Send(S, min(1448, t.Queued(S)))
		}
		t.Sleep(20 * ms)
		t.Ack(C)
		t.Close(C)
		start = t.Now().Add(10 * ms)
	}
	t := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+10), srvEP, &capgen.TCPOptions{Start: start})
	t.Handshake(20 * ms)
	t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/100k.bin", "User-Agent: curl/8.5.0"))
	t.Sleep(20 * ms)
	t.Write(S, httpResponseOf(100_000))
	for i := 0; t.Queued(S) > 0; i++ {
		if i%14 == 7 && i < 70 {
			t.Miss(S, 1448) // reached the client, not the capture
		} else {
			t.Send(S, min(1448, t.Queued(S)))
		}
		if i%2 == 1 {
			t.Ack(C)
		}
	}
	t.Ack(C)
	t.Close(C)
	c.done()
}

// incompleteScenario is the fixture of capture-incomplete: what a run
// shed for its bounds, here an IP datagram in more pieces than the
// defragmenter holds for one.
func (g *generator) incompleteScenario() {
	c := g.pmtuFixture("rules/capture-incomplete.pcap", `
One HTTP download, then a UDP datagram sent in 130 IPv4 fragments of 8 bytes:
more pieces than pcapx (like Linux) keeps for one datagram, 128, so the
defragmenter gives it up. Expected: capture-incomplete (warning) naming the
fragments given up, listed before any other finding.`)
	t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Start: capgen.Epoch})
	t.Handshake(20 * ms)
	t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/a.txt"))
	t.SendData(S, capgen.HTTPResponse(200, filler(600, "body")))
	t.Close(C)
	must(capgen.WriteFragFlood(c, capgen.FragFlood{Fragments: 130, PerDatagram: 130, Start: t.Now().Add(10 * ms)}))
	c.done()
}

// nicChecksums leaves the TCP checksum of the server's IPv4 segments to the
// NIC, as a capture on that host shows them: zero, not filled in.
type nicChecksums struct{ w capgen.FrameWriter }

func (n nicChecksums) WriteFrame(f capgen.Frame) error {
	d := append([]byte(nil), f.Data...)
	// Ethernet from the server's MAC, IPv4 without options, TCP.
	if len(d) >= 54 && bytes.Equal(d[6:12], capgen.ServerMAC[:]) && d[12] == 0x08 && d[13] == 0x00 && d[14] == 0x45 && d[23] == 6 {
		d[50], d[51] = 0, 0
	}
	f.Data = d
	return n.w.WriteFrame(f)
}

func (g *generator) checksumScenario() {
	c := g.pmtuFixture("rules/capture-checksum-offload.pcap", `
An HTTP download (a 1,200-byte response in three segments) captured on the
server, whose NIC computes the TCP checksums of what it sends: in the capture
every segment from 198.51.100.20 carries a zero checksum, every one from the
client a correct one. Expected:
capture-offload (info) naming the server as the host with checksum offload.`)
	t := capgen.NewTCPConn(nicChecksums{c}, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
	t.Handshake(20 * ms)
	t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/a.txt", "User-Agent: curl/8.5.0"))
	t.Write(S, httpResponseOf(1200))
	for range 3 {
		t.Send(S, 400)
	}
	t.Sleep(20 * ms)
	t.Ack(C)
	t.Close(C)
	c.done()
}

package main

import (
	"net/netip"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

const (
	ms = time.Millisecond
	us = time.Microsecond
)

var (
	cliEP = netip.MustParseAddrPort("192.0.2.10:51000")
	srvEP = netip.MustParseAddrPort("198.51.100.20:80")
	tlsEP = netip.MustParseAddrPort("198.51.100.20:443")
)

const (
	C = capgen.Client
	S = capgen.Server
)

// tcpFixture starts a TCP-analysis fixture: little-endian µs pcap over
// Ethernet.
func (g *generator) tcpFixture(path, desc string) *capture {
	fx := g.add(&fixture{Path: path, Group: "TCP analysis (Wireshark semantics)", Desc: desc, Analysis: true})
	return pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
}

var (
	httpGET = capgen.HTTPRequest("GET", "www.example.com", "/index.html",
		"User-Agent: curl/8.5.0", "Accept: */*")
	httpBody = func() []byte {
		b := []byte("<!doctype html>\n<html><head><title>capgen</title></head><body>\n")
		for len(b) < 3800 {
			b = append(b, "<p>The quick brown fox jumps over the lazy dog.</p>\n"...)
		}
		return append(b, "</body></html>\n"...)
	}()
	httpOK = capgen.HTTPResponse(200, httpBody, "Server: nginx/1.24.0",
		"Content-Type: text/html; charset=utf-8")
)

// httpResponseOf returns a 200 response of exactly n bytes, head included.
func httpResponseOf(n int) []byte {
	hdrs := []string{"Server: nginx/1.24.0", "Content-Type: text/plain"}
	bl := n
	for {
		h := capgen.HTTPResponseHead(200, bl, hdrs...)
		if len(h)+bl == n {
			body := make([]byte, bl)
			for i := range body {
				body[i] = "0123456789abcdefghijklmnopqrstuvwxyz\n"[i%37]
			}
			return append(h, body...)
		}
		bl = n - len(h)
	}
}

// sendAll sends p from side s in full-sized segments and returns the
// segment indexes.
func sendAll(t *capgen.TCPConn, s capgen.Side, p []byte) []int {
	var idx []int
	for len(p) > 0 {
		n := min(len(p), t.SegmentSize())
		idx = append(idx, t.SendData(s, p[:n]))
		p = p[n:]
	}
	return idx
}

func (g *generator) tcpScenarios() {
	// Clean exchange.
	{
		c := g.tcpFixture("tcp/clean-http.pcap", `
A clean HTTP/1.1 exchange captured near the client: handshake (20 ms RTT), GET,
a 4 KB response in three segments with ACKs, and a FIN close started by the
server (HTTP/1.1 with Connection: close semantics). Nothing for TCP analysis to
flag. Handshake RTT 20 ms (SYN→SYN-ACK), SYN-ACK→ACK 10 µs.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Sleep(22 * ms)
		seg := sendAll(t, S, httpOK)
		_ = seg
		t.Ack(C)
		t.Sleep(50 * ms)
		t.Fin(S)
		t.Fin(C)
		t.Sleep(20 * ms)
		t.Ack(S)
		c.done()
	}

	// Retransmission by RTO, sender side.
	{
		c := g.tcpFixture("tcp/retransmission-rto.pcap", `
Captured at the server (sender). The second of three response segments is lost
after the capture point; the client's ACKs stop at it (one duplicate ACK with a
SACK block for the third segment), and 250 ms later, well after the 30 ms
handshake RTT and with too few duplicate ACKs for a fast retransmit, the server
retransmits it on timeout.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Handshake(30 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(4344))
		t.Sleep(1 * ms)
		t.Delay(S, true)
		t.ServerSend(1448)
		lost := t.SendLost(S, 1448)
		t.ServerSend(1448)
		t.Sleep(30 * ms)
		t.Arrive(S, 1)
		t.Ack(C)
		t.Arrive(S, 1)
		t.Ack(C)
		c.expect(fDupAck)
		t.Delay(S, false)
		t.Sleep(250 * ms)
		t.Retransmit(S, lost)
		c.expect(fRetrans)
		t.Sleep(30 * ms)
		t.Ack(C)
		t.Close(C)
		c.done()
	}

	// Fast retransmission, sender side.
	{
		c := g.tcpFixture("tcp/fast-retransmission.pcap", `
Captured at the server (sender), handshake RTT 10 ms. Of a burst of five
segments the second is lost after the capture point. 25 ms later (queueing
inflated the RTT) the ACK of the first segment arrives, then three duplicate
ACKs with growing SACK blocks, one per segment that arrived after the hole;
1 ms after the third the server retransmits the missing segment: a fast
retransmission (≥ 2 duplicate ACKs, their ACK number equals the segment's
sequence number, < 20 ms since the last one). It is not out-of-order because
the last new data went out 25 ms before, more than the 10 ms handshake RTT.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Handshake(10 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(7240))
		t.Sleep(1 * ms)
		t.Delay(S, true)
		t.ServerSend(1448)
		lost := t.SendLost(S, 1448)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.Delay(S, false)
		t.Sleep(25 * ms)
		t.Arrive(S, 1)
		t.Ack(C)
		for range 3 {
			t.Arrive(S, 1)
			t.Ack(C)
			c.expect(fDupAck)
		}
		t.Sleep(1 * ms)
		t.Retransmit(S, lost)
		c.expect(fFast, fRetrans)
		t.Sleep(25 * ms)
		t.Ack(C)
		t.Close(C)
		c.done()
	}

	// Spurious retransmission, receiver side.
	{
		c := g.tcpFixture("tcp/spurious-retransmission.pcap", `
Captured near the client (receiver). The client acknowledges both response
segments at once, but the ACK is lost on its way to the server, which
retransmits the first segment 250 ms later: every byte of it was already
acknowledged (seq + len ≤ the client's last ACK), so it is a spurious
retransmission. The client answers with a duplicate ACK carrying a D-SACK
block.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(2896))
		t.Sleep(21 * ms)
		first := t.ServerSend(1448)
		t.ServerSend(1448)
		t.Ack(C)
		t.Sleep(250 * ms)
		t.Retransmit(S, first)
		c.expect(fSpurious, fRetrans)
		t.Ack(C)
		c.expect(fDupAck)
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}

	// Out-of-order.
	{
		c := g.tcpFixture("tcp/out-of-order.pcap", `
Captured near the client. The second response segment is delayed on the path and
arrives 2 ms after the third: the third shows a gap ("previous segment not
captured"), the client ACKs up to the hole with a SACK block, and the late
segment fills it within the 20 ms handshake RTT, so Wireshark calls it
out-of-order rather than a retransmission.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(4344))
		t.Sleep(21 * ms)
		t.ServerSend(1448)
		late := t.Drop(S, 1448)
		t.ServerSend(1448)
		c.expect(fLost)
		t.Ack(C)
		t.Sleep(2 * ms)
		t.Retransmit(S, late)
		c.expect(fOOO)
		t.Ack(C)
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}

	// Previous segment not captured: lost upstream, retransmitted later.
	{
		c := g.tcpFixture("tcp/previous-segment-not-captured.pcap", `
Captured near the client. A response segment is lost upstream of the capture
point, so the next one shows a gap ("previous segment not captured"). The client
keeps acknowledging the start of the hole (a duplicate ACK), and the server
retransmits the segment on timeout 300 ms later (a retransmission, not
out-of-order: more than the 20 ms handshake RTT after the last new data). No
ACK acknowledges data the capture did not see.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(3696))
		t.Sleep(21 * ms)
		t.ServerSend(1448)
		t.Ack(C)
		lost := t.Drop(S, 1448)
		t.ServerSend(800)
		c.expect(fLost)
		t.Ack(C)
		c.expect(fDupAck)
		t.Sleep(300 * ms)
		t.Retransmit(S, lost)
		c.expect(fRetrans)
		t.Ack(C)
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}

	// ACKed unseen segment: capture loss.
	{
		c := g.tcpFixture("tcp/acked-unseen-segment.pcap", `
Capture loss: the capture misses the client's second request segment, which the
server did receive. The server's response acknowledges it, so Wireshark flags
"ACKed segment that wasn't captured" on the server's first response segment;
the client's next packet (its ACK) then shows the gap in the client's sequence
numbers ("previous segment not captured"). Nothing was retransmitted: the loss
is in the capture, not the network. Wireshark flags the server's FIN-ACK as
ACKing unseen data again, because its "max seq to be acked" for the client
only advances on contiguous segments and the client's ACK in between reset its
duplicate-ACK counter.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, capgen.HTTPRequest("POST", "www.example.com", "/upload", "Content-Length: 600", "Content-Type: text/plain"))
		t.Miss(C, 600)
		t.Sleep(21 * ms)
		t.SendData(S, capgen.HTTPResponse(201, []byte("created\n")))
		c.expect(fAckLost)
		t.Ack(C)
		c.expect(fLost)
		t.Sleep(20 * ms)
		t.Fin(C)
		t.Fin(S)
		c.expect(fAckLost) // Wireshark flags it again: see below
		t.Ack(C)
		c.done()
	}

	// Duplicate ACKs.
	{
		c := g.tcpFixture("tcp/duplicate-acks.pcap", `
Captured near the client, which downloads. One segment is lost upstream; each of
the four segments that follow makes the client repeat its ACK (duplicate ACKs
#1–#4, with growing SACK blocks). The server retransmits the hole on timeout
(200 ms later, not within 20 ms of the last duplicate ACK, so not "fast"), and
the client acknowledges everything.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(10 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(8688))
		t.Sleep(11 * ms)
		t.ServerSend(1448)
		t.Ack(C)
		lost := t.Drop(S, 1448)
		for i := range 4 {
			t.ServerSend(1448)
			if i == 0 {
				c.expect(fLost)
			}
			t.Ack(C)
			c.expect(fDupAck)
		}
		t.Sleep(200 * ms)
		t.Retransmit(S, lost)
		c.expect(fRetrans)
		t.Ack(C)
		t.Sleep(10 * ms)
		t.Close(C)
		c.done()
	}

	// Zero window and window update.
	{
		c := g.tcpFixture("tcp/zero-window.pcap", `
Captured near the client, whose application stops reading: its ACKs advertise a
shrinking window and then a zero window (the server stops sending). 500 ms later
the application reads again and the client sends a window update (same ACK
number, window opens); the server resumes.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(7940))
		t.Sleep(21 * ms)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.SetWindow(C, 16384)
		t.Ack(C)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.ZeroWindow(C)
		c.expect(fZeroWin)
		t.Sleep(500 * ms)
		t.WindowUpdate(C, 64256)
		c.expect(fWinUpdate)
		t.Sleep(20 * ms)
		t.ServerSend(1448)
		t.ServerSend(700)
		t.Ack(C)
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}

	// Zero-window probes, 1-byte (BSD/Windows style).
	{
		c := g.tcpFixture("tcp/zero-window-probe.pcap", `
Captured near the client, which advertises a zero window. The server probes
with one byte at the next sequence number (zero-window probe) at 200 ms and 400
ms; the client answers each with an ACK that still advertises zero
(zero-window-probe ACK, and zero window). Probes do not advance the sequence
space. The client then opens its window and the server resumes with the byte it
had probed with.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(4344))
		t.Sleep(21 * ms)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.ZeroWindow(C)
		c.expect(fZeroWin)
		for _, d := range []time.Duration{200 * ms, 400 * ms} {
			t.Sleep(d)
			t.ZeroWindowProbe(S)
			c.expect(fZWP)
			t.Sleep(20 * ms)
			t.Ack(C)
			c.expect(fZeroWin, fZWPAck)
		}
		t.Sleep(300 * ms)
		t.WindowUpdate(C, 64256)
		c.expect(fWinUpdate)
		t.Sleep(20 * ms)
		t.ServerSend(1448)
		t.Ack(C)
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}

	// Zero-window probes, Linux style.
	{
		c := g.tcpFixture("tcp/zero-window-probe-linux.pcap", `
As zero-window-probe.pcap, but the server probes the Linux way: a segment with
no data whose sequence number is one below the oldest unacknowledged byte
(snd_una − 1). Wireshark 4.0 has no special case for it and calls it a
keep-alive; the client's replies advertise a zero window (not keep-alive ACKs,
which need a non-zero window).`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(4344))
		t.Sleep(21 * ms)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.ZeroWindow(C)
		c.expect(fZeroWin)
		for _, d := range []time.Duration{200 * ms, 400 * ms, 800 * ms} {
			t.Sleep(d)
			t.ZeroWindowProbeLinux(S)
			c.expect(fKeepAlive)
			t.Sleep(20 * ms)
			t.Ack(C)
			c.expect(fZeroWin)
		}
		t.Sleep(100 * ms)
		t.WindowUpdate(C, 64256)
		c.expect(fWinUpdate)
		t.Sleep(20 * ms)
		t.ServerSend(1448)
		t.Ack(C)
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}

	// Window full.
	{
		c := g.tcpFixture("tcp/window-full.pcap", `
Captured near the server (sender). The client advertises a receive window of
only 4096 bytes (window field 32, scale 7). The server's third segment of each
flight ends exactly at the right edge of that window (seq + len = the client's
last ACK + window): window full. The client acknowledges each flight.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer, ClientWindow: 4096})
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(8692))
		t.Sleep(1 * ms)
		for range 2 {
			t.ServerSend(1448)
			t.ServerSend(1448)
			t.ServerSend(1200)
			c.expect(fWinFull)
			t.Sleep(20 * ms)
			t.Ack(C)
		}
		t.Sleep(1 * ms)
		t.ServerSend(500)
		t.Sleep(20 * ms)
		t.Ack(C)
		t.Close(C)
		c.done()
	}

	// Keep-alive.
	{
		c := g.tcpFixture("tcp/keep-alive.pcap", `
An idle connection kept alive by the client: after the exchange it sends a
keep-alive (no data, sequence number one below the next) 45 s later and again
45 s after that, this time with one garbage byte (Windows style); the server
answers each with a keep-alive ACK. Then the client closes.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Sleep(21 * ms)
		t.SendData(S, capgen.HTTPResponse(204, nil))
		t.Ack(C)
		t.Sleep(45 * time.Second)
		t.KeepAlive(C)
		c.expect(fKeepAlive)
		t.Sleep(20 * ms)
		t.Ack(S)
		c.expect(fKeepAck)
		t.Sleep(45 * time.Second)
		t.KeepAliveByte(C)
		c.expect(fKeepAlive)
		t.Sleep(20 * ms)
		t.Ack(S)
		c.expect(fKeepAck)
		t.Sleep(5 * time.Second)
		t.Close(C)
		c.done()
	}

	// Reused ports.
	{
		c := g.tcpFixture("tcp/reused-ports.pcap", `
Two connections on the same 4-tuple: the first completes an exchange and closes
with FINs; 2 s later the client opens a new connection from the same source
port with another ISN. Wireshark marks the new SYN "TCP port numbers reused" and
starts a new stream (tcp.stream 1).`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Sleep(21 * ms)
		t.SendData(S, capgen.HTTPResponse(200, []byte("first\n")))
		t.Ack(C)
		t.Close(C)
		t.Sleep(2 * time.Second)
		t2 := t.Reuse()
		t2.Syn()
		c.expect(fReusedPort)
		t2.Sleep(20 * ms)
		t2.SynAck()
		t2.Ack(C)
		t2.SendData(C, httpGET)
		t2.Sleep(21 * ms)
		t2.SendData(S, capgen.HTTPResponse(200, []byte("second\n")))
		t2.Ack(C)
		t2.Close(C)
		c.done()
	}

	// Connection refused.
	{
		c := g.tcpFixture("tcp/rst-to-syn.pcap", `
Connection refused: the server answers the SYN with RST-ACK (sequence number 0,
ACK = client ISN + 1), as a host with no listener on the port does. The client
tries once more 1 s later from another port and is refused again. Wireshark sets
no analysis flag; Zeek calls each connection REJ.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Syn()
		t.Sleep(20 * ms)
		t.Rst(S)
		t2 := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+1), srvEP, &capgen.TCPOptions{Start: t.Now().Add(time.Second)})
		t2.Syn()
		t2.Sleep(20 * ms)
		t2.Rst(S)
		c.done()
	}

	// SYN never answered.
	{
		c := g.tcpFixture("tcp/syn-unanswered.pcap", `
A SYN that is never answered (a firewall drops it): the client retransmits it
after 1 s and again after 2 s more (Linux back-off). The retransmitted SYNs are
retransmissions; Zeek calls the connection S0.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Syn()
		t.Sleep(time.Second)
		t.Syn()
		c.expect(fRetrans)
		t.Sleep(2 * time.Second)
		t.Syn()
		c.expect(fRetrans)
		c.done()
	}

	// Midstream.
	{
		c := g.tcpFixture("tcp/midstream.pcap", `
A capture that starts in the middle of a TLS connection (port 443): no
handshake, the first packet is server data at a sequence number far from any
ISN. Relative sequence numbers start at 1 in each direction; the window scale
is unknown. Nothing should be flagged (in particular no "previous segment not
captured" or "ACKed unseen segment" for the data before the capture). Zeek
calls it OTH; the client must be guessed (the ephemeral port 51000).`)
		t := capgen.NewTCPConn(c, cliEP, tlsEP, nil)
		t.Established()
		t.Miss(C, 517)
		t.Miss(S, 4000)
		t.Miss(C, 80)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.Ack(C)
		t.Sleep(30 * ms)
		t.ClientSend(120)
		t.Sleep(20 * ms)
		t.ServerSend(900)
		t.Ack(C)
		t.Sleep(5 * time.Second)
		t.Close(C)
		c.done()
	}

	// Sender-side capture with RTO retransmissions that look out-of-order.
	{
		c := g.tcpFixture("tcp/sender-side-rto.pcap", `
Captured on the server (the sender) of a long path: the SYN→SYN-ACK gap is tiny
(10 µs) and SYN-ACK→ACK is the full 300 ms RTT, so Wireshark's handshake RTT,
which it uses as the out-of-order threshold, is 300 ms. The three response
segments are lost after the capture point and never acknowledged. The server
retransmits the first one on timeout after 200 ms — less than the 300 ms
threshold since the last new data, so Wireshark calls it out-of-order although
it is a retransmission by RTO — then with back-off after 400 ms and 800 ms
(retransmissions). The last try gets through; the client's ACK covers only that
segment, and the server retransmits the other two (retransmissions) before the
client acknowledges all and closes.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Handshake(300 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(4344))
		t.Sleep(1 * ms)
		s0 := t.SendLost(S, 1448)
		s1 := t.SendLost(S, 1448)
		s2 := t.SendLost(S, 1448)
		t.Sleep(200 * ms)
		t.RetransmitLost(S, s0)
		c.expect(fOOO)
		t.Sleep(400 * ms)
		t.RetransmitLost(S, s0)
		c.expect(fRetrans)
		t.Sleep(800 * ms)
		t.Retransmit(S, s0)
		c.expect(fRetrans)
		t.Sleep(300 * ms)
		t.Ack(C)
		t.Retransmit(S, s1)
		c.expect(fRetrans)
		t.Retransmit(S, s2)
		c.expect(fRetrans)
		t.Sleep(300 * ms)
		t.Ack(C)
		t.Close(C)
		c.done()
	}

	// Sequence number wrap.
	{
		c := g.tcpFixture("tcp/seq-wrap.pcap", `
A clean 12 KB download whose server ISN is 0xfffff000, so the server's sequence
numbers wrap through zero after 4 KB (and the client's ISN is 0xffffff00, so
its wrap is right after the request). Relative numbers are unaffected; nothing
is flagged. Reassembly must handle the wrap.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{ServerISN: 0xfffff000, ClientISN: 0xffffff00})
		t.Handshake(20 * ms)
		t.SendData(C, httpGET)
		t.Sleep(21 * ms)
		body := make([]byte, 12000)
		for i := range body {
			body[i] = "abcdefghijklmnopqrstuvwxyz\n"[i%27]
		}
		resp := capgen.HTTPResponse(200, body, "Content-Type: text/plain")
		for i, p := 0, resp; len(p) > 0; i++ {
			n := min(len(p), t.SegmentSize())
			t.SendData(S, p[:n])
			p = p[n:]
			if i%2 == 1 {
				t.Ack(C)
			}
		}
		t.Ack(C)
		t.Sleep(20 * ms)
		t.Close(C)
		c.done()
	}
}

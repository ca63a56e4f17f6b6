package main

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

// churnScenarios writes the fixtures of tcp-connection-churn and
// tcp-port-reuse: each rule's diagnosis and its look-alikes.
func (g *generator) churnScenarios() {
	g.churnFixtures()
	g.portReuseFixtures()
}

// manyConnsFixture starts a rule fixture of many connections: its frames
// are too many for the README's table or the TCP-analysis table (nothing
// in them but handshakes, one exchange and closes).
func (g *generator) manyConnsFixture(path, desc string) *capture {
	fx := g.add(&fixture{Path: path, Group: "Rule fixtures", Desc: desc})
	return pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
}

var (
	redisPING = []byte("*1\r\n$4\r\nPING\r\n")
	redisPONG = []byte("+PONG\r\n")
)

// writeMerged writes connections scripted on their own clocks in time
// order.
func writeMerged(c *capture, parts []*capgen.Frames) {
	lists := make([]capgen.Frames, len(parts))
	for i, p := range parts {
		lists[i] = *p
	}
	for _, f := range mergeFrames(lists...) {
		must(c.WriteFrame(f))
	}
	c.done()
}

func (g *generator) churnFixtures() {
	redis := netip.MustParseAddrPort("198.51.100.20:6379")
	// ping opens one connection at start, sends PING, gets PONG, waits
	// hold, pings again when hold > 0, and closes from the client.
	ping := func(w capgen.FrameWriter, cli, srv netip.AddrPort, start time.Time, hold time.Duration) {
		t := capgen.NewTCPConn(w, cli, srv, &capgen.TCPOptions{Start: start})
		t.Handshake(300 * us)
		t.SendData(C, redisPING)
		t.Sleep(200 * us)
		t.SendData(S, redisPONG)
		if hold > 0 {
			t.Sleep(hold)
			t.SendData(C, redisPING)
			t.Sleep(200 * us)
			t.SendData(S, redisPONG)
		}
		t.Sleep(50 * us)
		t.Close(C)
	}
	{
		const n, every = 120, 20 * ms
		c := g.manyConnsFixture("rules/tcp-connection-churn.pcap", fmt.Sprintf(`
Connection churn: the client 192.0.2.10 opens a new connection to the Redis
server 198.51.100.20:6379 for every command, %d connections %d ms apart
(50 per second) from ports 45120, 45122, ... 45358, as a cache client without a
connection pool does. Each is a handshake (300 µs round trip, captured at the
client), PING, +PONG and a close the client starts: every connection leaves its
port in TIME-WAIT on the client, about 3,000 ports at this rate. Expected: one
tcp-connection-churn finding naming the client, the server, %d connections in
2.4 s at 50/s, the median duration (under 1 ms), the port range with %d
distinct ports, and %d closed by the client first.`, n, every/ms, n, n, n))
		for i := range n {
			ping(c, netip.AddrPortFrom(cliEP.Addr(), uint16(45120+2*i)), redis, capgen.Epoch.Add(time.Duration(i)*every), 0)
		}
		c.done()
	}
	{
		c := g.manyConnsFixture("rules/tcp-connection-churn-negative.pcap", `
Three clients that open 100 connections each (tcp-connection-churn's minimum),
none of them churn. A pool: 192.0.2.21 opens 100 connections to
198.51.100.20:6379 10 ms apart (100 per second), each pings, stays open 2.5 s
and pings again before the client closes it: fast, but long-lived (the median
duration is over max_duration_ms), like a connection pool filling up or a load
test of concurrent connections. A crawler: 192.0.2.22 opens 100 short
connections 20 ms apart, each to another server (203.0.113.1-100, port 80).
A slow poller: 192.0.2.23 opens 100 short connections to 198.51.100.30:6379
200 ms apart, 5 per second, below min_rate. Expected: no finding.`)
		var parts []*capgen.Frames
		part := func() *capgen.Frames {
			parts = append(parts, new(capgen.Frames))
			return parts[len(parts)-1]
		}
		for i := range 100 {
			ping(part(), netip.MustParseAddrPort(fmt.Sprintf("192.0.2.21:%d", 40000+i)), redis, capgen.Epoch.Add(time.Duration(i)*10*ms), 2500*ms)
			t := capgen.NewTCPConn(part(), netip.MustParseAddrPort(fmt.Sprintf("192.0.2.22:%d", 41000+i)),
				netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i)}), 80), &capgen.TCPOptions{Start: capgen.Epoch.Add(time.Duration(i) * 20 * ms)})
			t.Handshake(5 * ms)
			t.Sleep(1 * ms)
			t.Close(C)
			ping(part(), netip.MustParseAddrPort(fmt.Sprintf("192.0.2.23:%d", 42000+i)), netip.MustParseAddrPort("198.51.100.30:6379"), capgen.Epoch.Add(time.Duration(i)*200*ms), 0)
		}
		writeMerged(c, parts)
	}
}

func (g *generator) portReuseFixtures() {
	// exchange writes a GET and its response on an established connection.
	exchange := func(t *capgen.TCPConn) {
		t.SendData(C, httpGET)
		t.Sleep(2 * ms)
		t.SendData(S, capgen.HTTPResponse(200, []byte("ok\n")))
		t.Ack(C)
	}
	// old writes a connection from cli to srvEP at start: handshake,
	// exchange, and a close by closer (or none, or a reset by the client).
	old := func(w capgen.FrameWriter, cli netip.AddrPort, start time.Time, closer string) *capgen.TCPConn {
		t := capgen.NewTCPConn(w, cli, srvEP, &capgen.TCPOptions{Start: start})
		t.Handshake(1 * ms)
		exchange(t)
		t.Sleep(1 * ms)
		switch closer {
		case "server":
			t.Close(S)
		case "client":
			t.Close(C)
		case "reset":
			t.Rst(C)
		}
		return t
	}
	// challenged writes the new connection's SYN, the server's ACK for
	// the old connection, the client's reset, and the SYN sent again 1 s
	// later, answered. The ACK acknowledges what the new SYN has not sent
	// (Wireshark: "ACKed segment that wasn't captured") when the new ISN is
	// below the old connection's next sequence number.
	challenged := func(c *capture, o, t *capgen.TCPConn, below bool) {
		t.Syn()
		c.expect(fReusedPort)
		t.Sleep(1 * ms)
		t.Raw(S, capgen.ACK, o.NextSeq(S), o.NextSeq(C), nil)
		if below {
			c.expect(fAckLost)
		}
		t.Sleep(20 * us)
		t.Raw(C, capgen.RST, o.NextSeq(C), 0, nil)
		t.Sleep(time.Second)
		t.Syn()
		c.expect(fRetrans)
		t.Sleep(1 * ms)
		// Wireshark took the challenge ACK's sequence number as the
		// server's base: the SYN-ACK's new ISN is a reuse and a jump
		// ahead, and the client's ACK of it acknowledges "unseen" data.
		t.SynAck()
		c.expect(fReusedPort, fLost)
		t.Ack(C)
		c.expect(fAckLost)
		exchange(t)
		t.Close(C)
	}
	{
		c := g.ruleFixture("rules/tcp-port-reuse.pcap", `
Three clients of 198.51.100.20:80 reuse a 4-tuple the server still holds.
192.0.2.10:51000's first connection is closed by the server first (HTTP
"Connection: close" style), so the server keeps it in TIME-WAIT; 3 s later the
client connects again from the same port with an ISN below the old
connection's last sequence number (and older TCP timestamps): the server
answers with an ACK for the old connection (a challenge ACK), the client resets
it and its SYN, sent again 1 s later, is answered. 192.0.2.11:51000's old
connection is also closed by the server first; its new SYN 5 s later has a
higher ISN and newer timestamps, and the server accepts it with a SYN-ACK at
once. 192.0.2.12:51000's old connection is never closed (the client restarted);
10 s later a new SYN, with a higher ISN, still meets the open connection:
challenge ACK, reset, SYN again 1 s later, answered. Expected: one
tcp-port-reuse finding for 198.51.100.20:80 with the three clients, 2 within
TIME-WAIT and 1 never closed, the ISN relations (2 above, 1 below), the
answers (1 SYN-ACK, 2 challenge ACKs) and the 1 s connects; slow-connect for
the two connects the challenge ACK delayed.`)
		o := old(c, netip.MustParseAddrPort("192.0.2.10:51000"), capgen.Epoch, "server")
		o.Sleep(3 * time.Second)
		t := capgen.NewTCPConn(c, netip.MustParseAddrPort("192.0.2.10:51000"), srvEP, &capgen.TCPOptions{Start: o.Now(), ClientISN: o.ISN(C) - 1_000_000, ServerISN: o.ISN(S) + 0x1a2b3c4d})
		challenged(c, o, t, true)

		o = old(c, netip.MustParseAddrPort("192.0.2.11:51000"), t.Now().Add(10*ms), "server")
		o.Sleep(5 * time.Second)
		t = o.Reuse()
		t.Syn()
		c.expect(fReusedPort)
		t.Sleep(1 * ms)
		t.SynAck()
		t.Ack(C)
		exchange(t)
		t.Close(C)

		o = old(c, netip.MustParseAddrPort("192.0.2.12:51000"), t.Now().Add(10*ms), "")
		o.Sleep(10 * time.Second)
		t = capgen.NewTCPConn(c, netip.MustParseAddrPort("192.0.2.12:51000"), srvEP, &capgen.TCPOptions{Start: o.Now(), ClientISN: o.ISN(C) + 0x10000000, ServerISN: o.ISN(S) + 0x1a2b3c4d})
		challenged(c, o, t, false)
		c.done()
	}
	{
		c := g.ruleFixture("rules/tcp-port-reuse-negative.pcap", `
Reuses of a 4-tuple that meet nothing at the server. 192.0.2.10:51010's first
connection is closed by the server first; the client connects again from the
same port 90 s later, after the server's TIME-WAIT (60 s, time_wait_s), and is
answered at once. 192.0.2.10:51011 closes its first connection itself and
reuses the port 2 s later: the TIME-WAIT is the client's own (as
net.ipv4.tcp_tw_reuse allows); the server holds nothing. 192.0.2.10:51012
resets its first connection and reconnects 1 s later: a reset leaves no
TIME-WAIT. Wireshark marks every new SYN "TCP port numbers reused"; expected:
no finding.`)
		tm := capgen.Epoch
		for _, s := range []struct {
			port   uint16
			closer string
			gap    time.Duration
		}{{51011, "client", 2 * time.Second}, {51012, "reset", time.Second}, {51010, "server", 90 * time.Second}} {
			o := old(c, netip.AddrPortFrom(cliEP.Addr(), s.port), tm, s.closer)
			o.Sleep(s.gap)
			t := o.Reuse()
			t.Syn()
			c.expect(fReusedPort)
			t.Sleep(1 * ms)
			t.SynAck()
			t.Ack(C)
			exchange(t)
			t.Close(C)
			tm = t.Now().Add(10 * ms)
		}
		c.done()
	}
}

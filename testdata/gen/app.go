package main

import (
	"net/netip"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

// appFixture starts an application-layer fixture (pcap, Ethernet) whose
// TCP analysis is documented and checked too.
func (g *generator) appFixture(path, desc string) *capture {
	fx := g.add(&fixture{Path: path, Group: "Application layer and detectors", Desc: desc, Analysis: true})
	return pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
}

// filler returns n deterministic pseudo-random bytes (what ciphertext
// looks like).
func filler(n int, seed string) []byte {
	b := make([]byte, n)
	h := uint32(2166136261)
	for i := range len(seed) {
		h = (h ^ uint32(seed[i])) * 16777619
	}
	for i := range b {
		h ^= h << 13
		h ^= h >> 17
		h ^= h << 5
		b[i] = byte(h)
	}
	return b
}

func (g *generator) appScenarios() {
	// RST right after the ClientHello.
	{
		c := g.appFixture("app/tls-rst-after-clienthello.pcap", `
A TLS handshake rejected by a middlebox or a server policy: after the TCP
handshake the client sends a ClientHello (SNI blocked.example.com, TLS 1.3 and
1.2 offered) and 12 ms later the server side answers with RST-ACK, no
ServerHello. The "RST right after ClientHello" detector must fire; Zeek calls
it RSTR.`)
		t := capgen.NewTCPConn(c, cliEP, tlsEP, nil)
		t.Handshake(12 * ms)
		t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: "blocked.example.com"}))
		t.Sleep(12 * ms)
		t.Rst(S)
		c.done()
	}

	// TLS alert.
	{
		c := g.appFixture("app/tls-alert.pcap", `
A TLS handshake the server refuses with an alert: the ClientHello offers only
TLS 1.2 (no supported_versions extension) and the server answers with a fatal
protocol_version alert (level 2, description 70) and closes with FIN.`)
		t := capgen.NewTCPConn(c, cliEP, tlsEP, nil)
		t.Handshake(12 * ms)
		t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: "legacy.example.com", Versions: []uint16{capgen.TLS12}, ALPN: []string{"http/1.1"}}))
		t.Sleep(12 * ms)
		t.SendData(S, capgen.TLSAlert(capgen.AlertLevelFatal, capgen.AlertProtocolVersion))
		t.Fin(S)
		t.Ack(C)
		t.Fin(C)
		t.Sleep(12 * ms)
		t.Ack(S)
		c.done()
	}

	// A complete TLS 1.3 session.
	{
		c := g.appFixture("app/tls13-ok.pcap", `
A complete TLS 1.3 session to www.example.com:443: ClientHello (SNI
www.example.com, ALPN h2 and http/1.1, GREASE values), ServerHello (TLS 1.3
via supported_versions, TLS_AES_128_GCM_SHA256, x25519) with ChangeCipherSpec
and 2400 bytes of encrypted handshake, the client's ChangeCipherSpec and
Finished, then application data both ways and a close_notify-sized record
before FIN. Handshake complete; JA3/JA4 computable from the ClientHello.`)
		t := capgen.NewTCPConn(c, cliEP, tlsEP, nil)
		t.Handshake(20 * ms)
		t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: "www.example.com", GREASE: true}))
		t.Sleep(20 * ms)
		sendAll(t, S, append(capgen.TLSServerHello(capgen.ServerHello{Seed: "www"}), capgen.TLSApplicationData(filler(2400, "cert"))...))
		t.Ack(C)
		t.SendData(C, append(capgen.TLSChangeCipherSpec(), capgen.TLSApplicationData(filler(53, "fin"))...))
		t.SendData(C, capgen.TLSApplicationData(filler(120, "req")))
		t.Sleep(25 * ms)
		sendAll(t, S, capgen.TLSApplicationData(filler(3000, "resp")))
		t.Ack(C)
		t.Sleep(50 * ms)
		t.SendData(C, capgen.TLSApplicationData(filler(19, "close")))
		t.Close(C)
		c.done()
	}

	// DNS errors.
	{
		fx := g.add(&fixture{Path: "app/dns-errors.pcap", Group: "Application layer and detectors", Desc: `
DNS transactions from 192.0.2.10 to the resolver 192.0.2.53 over UDP, each from
its own source port: A www.example.com → NOERROR (2 ms); A
nosuchhost.example.com → NXDOMAIN; A broken.example.com → SERVFAIL after 1.5 s;
A internal.example.com → REFUSED; A slow.example.com answered after 180 ms
(a cache miss: within the resolver's 2 ms round trip + 300 ms, so not slow;
the 1.5 s SERVFAIL is); A lost.example.com never answered, retried after 1 s with
the same id and never answered (unanswered ×2); AAAA www.example.com →
NOERROR with a CNAME and an AAAA. Then, 6 s later (past lost.example.com's 5 s
timeout, so that the capture shows it unanswered), the same name over TCP port
53 (a full TCP connection with 2-byte length prefixes).`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		eth := capgen.DefaultEthernet
		tm := capgen.Epoch
		port := uint16(53100)
		id := uint16(0x1000)
		qa := func(name string, qt uint16, delay time.Duration, rcode uint8, answer bool, ans ...capgen.DNSRecord) {
			q := capgen.IP{Src: cliEP.Addr(), Dst: resolver, ID: id}
			must(c.WriteFrame(capgen.Frame{Time: tm, Data: eth.AppendFrame(nil, q.UDP(port, 53, capgen.DNSQuery(id, name, qt)))}))
			if answer {
				r := capgen.IP{Src: resolver, Dst: cliEP.Addr(), ID: id + 0x4000}
				must(c.WriteFrame(capgen.Frame{Time: tm.Add(delay), Data: eth.Reverse().AppendFrame(nil, r.UDP(53, port, capgen.DNSResponse(id, name, qt, rcode, ans...)))}))
			}
			tm = tm.Add(delay + 200*ms)
			id++
			port++
		}
		www := netip.MustParseAddr("203.0.113.80")
		qa("www.example.com", capgen.DNSTypeA, 2*ms, capgen.RcodeNoError, true, capgen.DNSAddr("www.example.com", 300, www))
		qa("nosuchhost.example.com", capgen.DNSTypeA, 3*ms, capgen.RcodeNXDomain, true)
		qa("broken.example.com", capgen.DNSTypeA, 1500*ms, capgen.RcodeServFail, true)
		qa("internal.example.com", capgen.DNSTypeA, 2*ms, capgen.RcodeRefused, true)
		qa("slow.example.com", capgen.DNSTypeA, 180*ms, capgen.RcodeNoError, true, capgen.DNSAddr("slow.example.com", 60, netip.MustParseAddr("203.0.113.81")))
		// Unanswered, retried with the same id and port.
		id0, port0 := id, port
		qa("lost.example.com", capgen.DNSTypeA, time.Second, 0, false)
		id, port = id0, port0
		qa("lost.example.com", capgen.DNSTypeA, time.Second, 0, false)
		qa("www.example.com", capgen.DNSTypeAAAA, 4*ms, capgen.RcodeNoError, true,
			capgen.DNSCNAME("www.example.com", 300, "web.example.com"), capgen.DNSAddr("web.example.com", 300, netip.MustParseAddr("2001:db8:80::1")))
		// Over TCP, after lost.example.com's timeout.
		t := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), 53200), netip.AddrPortFrom(resolver, 53), &capgen.TCPOptions{Start: tm.Add(6 * time.Second)})
		t.Handshake(2 * ms)
		t.SendData(C, capgen.DNSOverTCP(capgen.DNSQuery(0x2000, "www.example.com", capgen.DNSTypeA)))
		t.Sleep(2 * ms)
		t.SendData(S, capgen.DNSOverTCP(capgen.DNSResponse(0x2000, "www.example.com", capgen.DNSTypeA, capgen.RcodeNoError, capgen.DNSAddr("www.example.com", 300, www))))
		t.Ack(C)
		t.Close(C)
		c.done()
	}

	// DNS errors that are not failed lookups.
	{
		fx := g.add(&fixture{Path: "app/dns-not-lookups.pcap", Group: "Application layer and detectors", Desc: `
DNS messages answered REFUSED that are not a client's failed lookup, and one
that is: the client 192.0.2.10 asks the resolver 192.0.2.53 for A
internal.example.com (a recursive query, RD set) → REFUSED; the DHCP server
192.0.2.20 sends a dynamic update (opcode UPDATE) of the zone corp.example to
192.0.2.53 → REFUSED, twice; the primary 192.0.2.30 sends a NOTIFY for
corp.example to 192.0.2.53 → REFUSED; the resolver 192.0.2.53 asks
198.51.100.53 for A www.lame.example without recursion (RD clear) → REFUSED
(a lame delegation). Each exchange from its own source port, 2 ms apart.`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		eth := capgen.DefaultEthernet
		tm := capgen.Epoch
		port := uint16(54100)
		id := uint16(0x3000)
		ask := func(from, to netip.Addr, name string, qt uint16, opcode uint8, rd bool) {
			q := capgen.IP{Src: from, Dst: to, ID: id}
			must(c.WriteFrame(capgen.Frame{Time: tm, Data: eth.AppendFrame(nil, q.UDP(port, 53, capgen.DNSWithOpcode(capgen.DNSQuery(id, name, qt), opcode, rd)))}))
			r := capgen.IP{Src: to, Dst: from, ID: id + 0x4000}
			resp := capgen.DNSWithOpcode(capgen.DNSResponse(id, name, qt, capgen.RcodeRefused), opcode, rd)
			must(c.WriteFrame(capgen.Frame{Time: tm.Add(2 * ms), Data: eth.Reverse().AppendFrame(nil, r.UDP(53, port, resp))}))
			tm = tm.Add(200 * ms)
			id++
			port++
		}
		const opQuery, opNotify, opUpdate = 0, 4, 5
		dhcp, primary, auth := netip.MustParseAddr("192.0.2.20"), netip.MustParseAddr("192.0.2.30"), netip.MustParseAddr("198.51.100.53")
		ask(cliEP.Addr(), resolver, "internal.example.com", capgen.DNSTypeA, opQuery, true)
		ask(dhcp, resolver, "corp.example", capgen.DNSTypeSOA, opUpdate, false)
		ask(dhcp, resolver, "corp.example", capgen.DNSTypeSOA, opUpdate, false)
		ask(primary, resolver, "corp.example", capgen.DNSTypeSOA, opNotify, false)
		ask(resolver, auth, "www.lame.example", capgen.DNSTypeA, opQuery, false)
		c.done()
	}

	// HTTP 5xx.
	{
		c := g.appFixture("app/http-5xx.pcap", `
One keep-alive HTTP/1.1 connection to api.example.com carrying four
request/response pairs: GET /health → 200, GET /v1/items → 503 Service
Unavailable (Retry-After), POST /v1/items (with a JSON body) → 500 Internal
Server Error, GET /v1/items/7 → 502 Bad Gateway. Time to first byte 30, 250,
1200 and 45 ms.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(10 * ms)
		ua := "User-Agent: capgen-client/1.0"
		for _, x := range []struct {
			req    []byte
			status int
			ttfb   time.Duration
			hdr    []string
		}{
			{capgen.HTTPRequest("GET", "api.example.com", "/health", ua), 200, 30 * ms, nil},
			{capgen.HTTPRequest("GET", "api.example.com", "/v1/items", ua, "Accept: application/json"), 503, 250 * ms, []string{"Retry-After: 30"}},
			{append(capgen.HTTPRequest("POST", "api.example.com", "/v1/items", ua, "Content-Type: application/json", "Content-Length: 17"), `{"name":"widget"}`...), 500, 1200 * ms, nil},
			{capgen.HTTPRequest("GET", "api.example.com", "/v1/items/7", ua), 502, 45 * ms, nil},
		} {
			t.SendData(C, x.req)
			t.Sleep(x.ttfb)
			body := []byte(`{"status":"` + capgenStatus(x.status) + `"}` + "\n")
			t.SendData(S, capgen.HTTPResponse(x.status, body, append([]string{"Content-Type: application/json"}, x.hdr...)...))
			t.Sleep(1 * ms)
			t.Ack(C)
			t.Sleep(100 * ms)
		}
		t.Close(C)
		c.done()
	}

	// Through a forward proxy.
	{
		c := g.appFixture("app/http-proxy.pcap", `
A client using the forward proxy 192.0.2.3:3128 (requests in absolute form,
"GET http://HOST/PATH"): GET http://www.example.com/ → 200 after 20 ms; GET
http://slow.example.net/report → 503 Service Unavailable from the proxy after
2.5 s (its own fetch of slow.example.net, out of the capture's sight, got no
answer). Path round trip 10 ms.`)
		proxy := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.3"), 3128)
		t := capgen.NewTCPConn(c, cliEP, proxy, nil)
		t.Handshake(10 * ms)
		for _, x := range []struct {
			host, target string
			status       int
			ttfb         time.Duration
		}{
			{"www.example.com", "http://www.example.com/", 200, 20 * ms},
			{"slow.example.net", "http://slow.example.net/report", 503, 2500 * ms},
		} {
			t.SendData(C, capgen.HTTPRequest("GET", x.host, x.target, "User-Agent: capgen-client/1.0"))
			t.Sleep(x.ttfb)
			t.SendData(S, capgen.HTTPResponse(x.status, []byte(capgenStatus(x.status)+"\n"), "Content-Type: text/plain"))
			t.Sleep(1 * ms)
			t.Ack(C)
			t.Sleep(100 * ms)
		}
		t.Close(C)
		c.done()
	}

	// PMTU black hole.
	{
		c := g.appFixture("app/pmtu-blackhole.pcap", `
A PMTU black hole, captured at the server: small exchanges work (the GET and a
300-byte response), but every full-sized segment (1448 bytes, DF) of the next
response is dropped by a link with a smaller MTU whose "fragmentation needed"
ICMP never arrives. Only the 104-byte tail of the response gets through: the
client acknowledges nothing new and reports the tail in a SACK block (a
duplicate ACK). The server retransmits the first big segment with exponential
back-off (0.2, 0.4, 0.8, 1.6 s), never acknowledged, and 2 s after the last try
the client gives up with RST. The first timeout retransmission is flagged
out-of-order by Wireshark's timing rule (it comes within the 200 ms handshake
RTT of the last new data).`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Handshake(200 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/small", "User-Agent: curl/8.5.0"))
		t.Sleep(1 * ms)
		t.SendData(S, httpResponseOf(300))
		t.Sleep(200 * ms)
		t.Ack(C)
		t.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/large", "User-Agent: curl/8.5.0"))
		t.Sleep(1 * ms)
		t.Write(S, httpResponseOf(3000))
		big := t.SendLost(S, 1448)
		t.SendLost(S, 1448)
		t.Send(S, 104)
		for i, d := range []time.Duration{200, 400, 800, 1600} {
			t.Sleep(d * ms)
			t.RetransmitLost(S, big)
			if i == 0 {
				c.expect(fOOO)
			} else {
				c.expect(fRetrans)
			}
			if i == 0 {
				t.Sleep(10 * ms)
				t.Ack(C)
				c.expect(fDupAck)
			}
		}
		t.Sleep(2 * time.Second)
		t.Rst(C)
		c.done()
	}

	// Hostile strings.
	{
		c := g.appFixture("app/hostile-strings.pcap", `
Strings from the capture that must be escaped in every report: a DNS query for
the name "<script>alert(1)</script>.example.com" (the label holds the markup
bytes), an HTTP request whose Host is "<img src=x onerror=alert(2)>" and whose
User-Agent and target carry quotes, ampersands and a javascript: URL, and a
TLS ClientHello whose SNI is "\"><svg onload=alert(3)>.example.com". Opening
the HTML report must run no script.`)
		eth := capgen.DefaultEthernet
		q := capgen.IP{Src: cliEP.Addr(), Dst: resolver, ID: 1}
		name := "<script>alert(1)</script>.example.com"
		must(c.WriteFrame(capgen.Frame{Time: capgen.Epoch, Data: eth.AppendFrame(nil, q.UDP(53300, 53, capgen.DNSQuery(0x3131, name, capgen.DNSTypeA)))}))
		r := capgen.IP{Src: resolver, Dst: cliEP.Addr(), ID: 2}
		must(c.WriteFrame(capgen.Frame{Time: capgen.Epoch.Add(2 * ms), Data: eth.Reverse().AppendFrame(nil, r.UDP(53, 53300, capgen.DNSResponse(0x3131, name, capgen.DNSTypeA, capgen.RcodeNXDomain)))}))
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Start: capgen.Epoch.Add(100 * ms)})
		t.Handshake(10 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "<img src=x onerror=alert(2)>", `/search?q="><b>&amp;x=javascript:alert(4)`,
			`User-Agent: Mozilla/5.0 "><script>alert(5)</script>`, "Referer: javascript:alert(6)"))
		t.Sleep(10 * ms)
		t.SendData(S, capgen.HTTPResponse(400, []byte("<html><script>alert(7)</script></html>"), "Content-Type: text/html"))
		t.Ack(C)
		t.Close(C)
		t2 := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), 51001), tlsEP, &capgen.TCPOptions{Start: t.Now().Add(100 * ms)})
		t2.Handshake(10 * ms)
		t2.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: `"><svg onload=alert(3)>.example.com`}))
		t2.Sleep(10 * ms)
		t2.Rst(S)
		c.done()
	}

	// Hostile names: the display filters must still match.
	{
		c := g.appFixture("app/hostile-names.pcap", `
Names whose bytes a display filter must quote the way Wireshark reads them.
DNS queries from 192.0.2.10 to the resolver 192.0.2.53, each answered
NXDOMAIN, for names with a space, "(", ";", quotes, a backslash, UTF-8
(café), a '.' inside a label, a tab, bytes that are not UTF-8 (ff fe) and a
right-to-left override; one SERVFAIL for "übel (1).example" and one query,
for "lost; name.example", never answered (sent first; the rest come 6 s later,
past its timeout, so that the capture shows it unanswered). HTTP requests to 198.51.100.20:80
whose Host is "my host" (503), q"uote\back (404), café.example (503) and
bytes that are not UTF-8 (503), and one, to "paren(1);x", that gets no
response; their targets hold "(", ";", quotes and UTF-8. TLS ClientHellos
whose SNI is "my sni.example", "q\"(x);\\.example", café.example and
non-UTF-8 bytes, each reset by the server.`)
		eth := capgen.DefaultEthernet
		tm := capgen.Epoch
		id := uint16(0x5000)
		port := uint16(53500)
		query := func(labels []string, rcode uint8, answer bool) {
			q := capgen.IP{Src: cliEP.Addr(), Dst: resolver, ID: id}
			must(c.WriteFrame(capgen.Frame{Time: tm, Data: eth.AppendFrame(nil, q.UDP(port, 53, capgen.DNSQueryLabels(id, labels, capgen.DNSTypeA)))}))
			if answer {
				r := capgen.IP{Src: resolver, Dst: cliEP.Addr(), ID: id ^ 0x5555}
				must(c.WriteFrame(capgen.Frame{Time: tm.Add(2 * ms), Data: eth.Reverse().AppendFrame(nil, r.UDP(53, port, capgen.DNSResponseLabels(id, labels, capgen.DNSTypeA, rcode)))}))
			}
			tm = tm.Add(20 * ms)
			id++
			port++
		}
		query([]string{"lost; name", "example"}, 0, false)
		tm = tm.Add(6 * time.Second)
		for _, l := range [][]string{
			{"my printer", "local"}, {"printer(2)", "local"}, {"a;b", "example"}, {`say"hi"`, "example"},
			{`back\slash`, "example"}, {"café", "example"}, {"dot.in", "label", "example"}, {"tab\there", "example"},
			{"\xff\xfe", "example"}, {"\u202egnp.exe", "example"},
		} {
			query(l, capgen.RcodeNXDomain, true)
		}
		query([]string{"übel (1)", "example"}, capgen.RcodeServFail, true)
		cport := uint16(52000)
		conn := func(srv netip.AddrPort) *capgen.TCPConn {
			t := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), cport), srv, &capgen.TCPOptions{Start: tm})
			cport++
			t.Handshake(10 * ms)
			return t
		}
		for _, h := range []struct {
			host, target string
			status       int
		}{
			{"my host", "/a(b);c", 503},
			{`q"uote\back`, `/say"hi"`, 404},
			{"café.example", "/bücher?q=1;2", 503},
			{"bad\xffhost", "/x", 503},
			{"paren(1);x", "/(y)", 0},
		} {
			t := conn(srvEP)
			t.SendData(C, capgen.HTTPRequest("GET", h.host, h.target, "User-Agent: capgen-client/1.0"))
			t.Sleep(10 * ms)
			if h.status != 0 {
				t.SendData(S, capgen.HTTPResponse(h.status, []byte("no\n"), "Content-Type: text/plain"))
				t.Ack(C)
			}
			t.Close(C)
			tm = t.Now().Add(50 * ms)
		}
		for _, sni := range []string{"my sni.example", `q"(x);\.example`, "café.example", "\xff\xfe.example"} {
			t := conn(tlsEP)
			t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: sni}))
			t.Sleep(10 * ms)
			t.Rst(S)
			tm = t.Now().Add(50 * ms)
		}
		c.done()
	}

	// Slow phases, curl -w style.
	{
		c := g.appFixture("app/slow-phases.pcap", `
Two HTTPS requests to shop.example.com over a 150 ms path, captured at the
client. The first is slow in every phase, each for a cause: its DNS query is
lost and sent again 1 s later (the resolver, 2 ms away as its answer for
www.example.com shows, then answers in 2 ms); its first SYN is lost and sent
again 1 s later, so the connect takes 1,150 ms; and the server sends its
ServerHello 500 ms after the ClientHello, 350 ms beyond the round trip. The
second request is as fast as the path allows: connect in one round trip (150
ms), TLS 1.3 in one (about 150 ms), first byte one round trip after the
request. It is far, not slow: no finding may name it. Expected: slow-dns
(retransmission wait), slow-connect (the lost SYN), slow-tls-handshake (the
server's time), each saying so.`)
		shop := netip.MustParseAddr("203.0.113.90")
		rtt := 150 * ms
		tm := dnsPair(c, capgen.DefaultEthernet, 0, capgen.Epoch, netip.AddrPortFrom(cliEP.Addr(), 53399), resolver, 0x4443, "www.example.com", netip.MustParseAddr("203.0.113.80"), 2*ms)
		// The lost query: sent, sent again after 1 s, answered 2 ms later.
		q := capgen.IP{Src: cliEP.Addr(), Dst: resolver, ID: 0x4444}
		query := q.UDP(53400, 53, capgen.DNSQuery(0x4444, "shop.example.com", capgen.DNSTypeA))
		tm = tm.Add(10 * ms)
		must(c.WriteFrame(capgen.Frame{Time: tm, Data: capgen.DefaultEthernet.AppendFrame(nil, query)}))
		tm = tm.Add(1000 * ms)
		must(c.WriteFrame(capgen.Frame{Time: tm, Data: capgen.DefaultEthernet.AppendFrame(nil, query)}))
		tm = tm.Add(2 * ms)
		r := capgen.IP{Src: resolver, Dst: cliEP.Addr(), ID: 0x1444}
		must(c.WriteFrame(capgen.Frame{Time: tm, Data: capgen.DefaultEthernet.Reverse().AppendFrame(nil,
			r.UDP(53, 53400, capgen.DNSResponse(0x4444, "shop.example.com", capgen.DNSTypeA, capgen.RcodeNoError, capgen.DNSAddr("shop.example.com", 300, shop))))}))
		// serverHelloAfter is the server's time before its ServerHello.
		conn := func(port uint16, start time.Time, lostSYN bool, serverHelloAfter time.Duration) time.Time {
			t := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), port), netip.AddrPortFrom(shop, 443), &capgen.TCPOptions{Start: start})
			if lostSYN {
				t.Syn()
				t.Sleep(1000 * ms)
				t.Syn()
				c.expect(fRetrans)
				t.Sleep(rtt)
				t.SynAck()
				t.Ack(C)
			} else {
				t.Handshake(rtt)
			}
			t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: "shop.example.com"}))
			t.Sleep(rtt + serverHelloAfter)
			sendAll(t, S, append(capgen.TLSServerHello(capgen.ServerHello{Seed: "shop"}), capgen.TLSApplicationData(filler(2400, "shopcert"))...))
			t.Ack(C)
			t.Sleep(2 * ms)
			t.SendData(C, append(capgen.TLSChangeCipherSpec(), capgen.TLSApplicationData(filler(53, "shopfin"))...))
			t.Sleep(rtt)
			t.SendData(S, append(capgen.TLSChangeCipherSpec(), capgen.TLSApplicationData(filler(53, "shopsfin"))...))
			t.Sleep(1 * ms)
			t.SendData(C, capgen.TLSApplicationData(filler(150, "shopreq")))
			t.Sleep(rtt + 20*ms)
			sendAll(t, S, capgen.TLSApplicationData(filler(5000, "shopresp")))
			t.Ack(C)
			t.Sleep(30 * ms)
			t.Close(C)
			return t.Now()
		}
		end := conn(51000, tm.Add(1*ms), true, 350*ms)
		conn(51001, end.Add(100*ms), false, 0)
		c.done()
	}
}

func capgenStatus(code int) string {
	switch code {
	case 200:
		return "ok"
	case 503:
		return "unavailable"
	case 500:
		return "error"
	}
	return "bad gateway"
}

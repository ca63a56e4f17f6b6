package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/pcapx/pcapx/internal/capgen"
)

// ruleFixture starts a fixture made for the rules' fixture tests
// (rules/*_fixture_test.go, each beside its rule): each shows one diagnosis,
// or the absence of one, and its TCP analysis is documented and checked too.
func (g *generator) ruleFixture(path, desc string) *capture {
	fx := g.add(&fixture{Path: path, Group: "Rule fixtures", Desc: desc, Analysis: true})
	return pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
}

func (g *generator) ruleScenarios() {
	// Duplicate-ACK storm.
	{
		const before, after = 6, 122
		c := g.ruleFixture("rules/tcp-dupack-storm.pcap", fmt.Sprintf(`
A bulk download over a lossy path, captured near the client, which advertises a
2 MiB receive window (window field 16384, scale 7). The first %d response
segments arrive in order (ACKed every second segment). The next one is lost
upstream of the capture point, and the %d that follow it arrive 1 ms apart
(the SACK clock keeps the server sending new data): each makes the client
repeat its ACK at once with a growing SACK block, %d duplicate ACKs in all
(the first segment after the hole is "previous segment not captured"). The
loss is sustained: the server's fast retransmission of the hole is lost
upstream too (not captured), and only its retransmission on timeout, 100 ms
after the last duplicate ACK, fills the hole; the client then acknowledges the
whole response and closes. tcp-duplicate-ack-storm must fire (≥ 100 duplicate
ACKs); one retransmission is below tcp-retransmissions' minimum.`, before, after, after))
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{ClientWindow: 2 << 20})
		t.Handshake(20 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "files.example.com", "/archive/access-2026-01-01.log",
			"User-Agent: curl/8.5.0", "Accept: */*"))
		t.Write(S, httpResponseOf((before+1+after)*1448))
		t.Sleep(21 * ms)
		for i := range before {
			t.ServerSend(1448)
			if i%2 == 1 {
				t.Ack(C)
			}
		}
		hole := t.Drop(S, 1448)
		for i := range after {
			if i > 0 {
				t.Sleep(1 * ms)
			}
			// The README's table shows the first three and the last two
			// segment/duplicate-ACK pairs.
			switch i {
			case 3:
				c.fx.Elide.From = c.n + 1
			case after - 2:
				c.fx.Elide.To = c.n
				c.fx.Elide.Note = fmt.Sprintf("%d more pairs like frames %d–%d: a full segment, then the client's duplicate ACK with a growing SACK block, 1 ms apart",
					(c.fx.Elide.To-c.fx.Elide.From+1)/2, c.fx.Elide.From-2, c.fx.Elide.From-1)
			}
			t.ServerSend(1448)
			if i == 0 {
				c.expect(fLost)
			}
			t.Ack(C)
			c.expect(fDupAck)
		}
		t.Sleep(100 * ms)
		t.Retransmit(S, hole)
		c.expect(fRetrans)
		t.Ack(C)
		t.Sleep(1 * ms)
		t.Close(C)
		c.done()
	}

	// Many retransmissions.
	{
		c := g.ruleFixture("rules/tcp-retransmissions-many.pcap", `
A download from a server whose client sits behind a lossy link, captured at
the server (SYN-ACK answered in 10 µs, the client's ACK 30 ms later). Of a
first flight of four response segments the second is lost after the capture
point; two duplicate ACKs come back and the server fast-retransmits it 1 ms
later, but that copy is lost too, and so is its retransmission on timeout
200 ms later; the third try, 400 ms after that, gets through. In the second
flight the middle segment is lost: one duplicate ACK (no fast retransmit), a
retransmission on timeout 250 ms later that is lost again, and one that gets
through 500 ms after that. Five retransmissions (one fast) in a 26-packet
connection: tcp-retransmissions must fire as an error (≥ 10% of the packets).
The timeout retransmissions come much later than the 30 ms handshake RTT after
the last new data, so none is out-of-order.`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Handshake(30 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/reports/2025-q4.csv",
			"User-Agent: Mozilla/5.0 (Android 14; Mobile)", "Accept: text/csv"))
		t.Write(S, httpResponseOf(6*1448+600))
		t.Sleep(1 * ms)

		// First flight: the second segment is lost three times.
		t.Delay(S, true)
		t.ServerSend(1448)
		lost := t.SendLost(S, 1448)
		t.ServerSend(1448)
		t.ServerSend(1448)
		t.Delay(S, false)
		t.Sleep(30 * ms)
		t.Arrive(S, 1)
		t.Ack(C)
		for range 2 {
			t.Arrive(S, 1)
			t.Ack(C)
			c.expect(fDupAck)
		}
		t.Sleep(1 * ms)
		t.RetransmitLost(S, lost)
		c.expect(fFast, fRetrans)
		t.Sleep(200 * ms)
		t.RetransmitLost(S, lost)
		c.expect(fRetrans)
		t.Sleep(400 * ms)
		t.Retransmit(S, lost)
		c.expect(fRetrans)
		t.Sleep(30 * ms)
		t.Ack(C)

		// Second flight: the middle segment is lost twice.
		t.Sleep(1 * ms)
		t.Delay(S, true)
		t.ServerSend(1448)
		lost = t.SendLost(S, 1448)
		t.ServerSend(600)
		t.Delay(S, false)
		t.Sleep(30 * ms)
		t.Arrive(S, 1)
		t.Ack(C)
		t.Arrive(S, 1)
		t.Ack(C)
		c.expect(fDupAck)
		t.Sleep(250 * ms)
		t.RetransmitLost(S, lost)
		c.expect(fRetrans)
		t.Sleep(500 * ms)
		t.Retransmit(S, lost)
		c.expect(fRetrans)
		t.Sleep(30 * ms)
		t.Ack(C)
		t.Sleep(5 * ms)
		t.Close(C)
		c.done()
	}

	// A connection the capture holds twice, beside one with a real loss.
	{
		fx := g.add(&fixture{Path: "rules/tcp-capture-copies.pcap", Group: "Rule fixtures", Analysis: true, Desc: `
Two downloads captured on a switch's mirror (SPAN) port that copies both the
ingress and the egress of the server's port, so that every packet of the first
connection is in the capture twice, the copy 3 µs after the packet with the
same IP identification: the handshake (20 ms RTT), a GET, a 4-segment
response, the client's ACK and a FIN close. Wireshark flags each copy of a
SYN, data segment or FIN as a retransmission and each copy of a pure ACK as a
duplicate ACK; no packet was sent twice. The second connection, 100 ms later
from the next client port and copied once (as a mirror of one direction
only would), loses the second of its three response segments after the
capture point and the server resends it on timeout 200 ms later: one real
retransmission. Neither tcp-retransmissions nor tcp-duplicate-ack-storm may
count the copies, and the second connection is the one flow with trouble.`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		mirror := &twice{c: c, gap: 3 * time.Microsecond}
		t := capgen.NewTCPConn(mirror, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer})
		t.Handshake(20 * ms)
		t.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/assets/app.js", "Accept: */*"))
		t.Sleep(5 * ms)
		t.Write(S, httpResponseOf(3*1448+400))
		for t.Queued(S) > 0 {
			t.ServerSend(1448)
		}
		t.Sleep(20 * ms)
		t.Ack(C)
		t.Sleep(1 * ms)
		t.Close(C)

		cli2 := netip.AddrPortFrom(cliEP.Addr(), cliEP.Port()+1)
		u := capgen.NewTCPConn(c, cli2, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer, Start: t.Now().Add(100 * ms)})
		u.Handshake(20 * ms)
		u.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/assets/app.css", "Accept: text/css"))
		u.Sleep(5 * ms)
		u.Write(S, httpResponseOf(2*1448+400))
		u.ServerSend(1448)
		lost := u.SendLost(S, 1448)
		u.ServerSend(1448)
		u.Sleep(20 * ms)
		u.Ack(C)
		u.Sleep(200 * ms)
		u.Retransmit(S, lost)
		c.expect(fRetrans)
		u.Sleep(20 * ms)
		u.Ack(C)
		u.Sleep(1 * ms)
		u.Close(C)
		c.done()
	}

	// RST after the ServerHello: not a rejection.
	{
		c := g.ruleFixture("rules/tls-rst-after-serverhello.pcap", `
A TLS 1.2 handshake cut short after the server's first flight, captured near
the client: the ClientHello (SNI intranet.example.com, TLS 1.2 only, ALPN
http/1.1) is answered 16 ms later by plaintext records: ServerHello
(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ALPN http/1.1), Certificate (an
Ed25519 leaf for intranet.example.com and its issuing CA, real DER),
ServerKeyExchange (x25519, Ed25519 signature) and ServerHelloDone. The client
acknowledges them, and 2 ms later an RST-ACK comes from the server side (as a
firewall that filters on the server's certificate, or an aborting server,
sends it). The server did answer the ClientHello, so this is not a rejected
handshake: no tls-handshake-rejected finding (the handshake never completes).`)
		t := capgen.NewTCPConn(c, cliEP, tlsEP, nil)
		t.Handshake(15 * ms)
		hello := capgen.TLSClientHello(capgen.ClientHello{SNI: "intranet.example.com", Versions: []uint16{capgen.TLS12}, ALPN: []string{"http/1.1"},
			CipherSuites: []uint16{0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}})
		t.SendData(C, hello)
		t.Sleep(16 * ms)
		sendAll(t, S, tls12ServerFlight(hello, "intranet.example.com"))
		t.Ack(C)
		t.Sleep(2 * ms)
		t.Rst(S)
		c.done()
	}

	// ClientHello in three segments.
	{
		const sni = "news.example.com"
		hello := capgen.TLSClientHello(capgen.ClientHello{SNI: sni})
		cut1 := 3
		cut2 := bytes.Index(hello, []byte(sni)) + len(sni)/2
		c := g.ruleFixture("rules/tls-clienthello-3-segments.pcap", fmt.Sprintf(`
A TLS 1.3 session whose ClientHello (%d bytes, SNI %s) the client
writes in three TCP segments, as DPI-evasion tools (and some TLS stacks with
small write buffers) do: %d bytes (part of the record header), %d bytes (the
rest of the record header up to the middle of the SNI, "%s"), then the
remaining %d bytes. The server answers once the hello is complete and the
handshake completes normally in 20 ms round trips (ServerHello,
ChangeCipherSpec, encrypted handshake; the client's ChangeCipherSpec and
Finished), then a request, a response and a FIN close. A reassembling parser
sees one ClientHello with its SNI; no finding.`, len(hello), sni, cut1, cut2-cut1, sni[:len(sni)/2], len(hello)-cut2))
		t := capgen.NewTCPConn(c, cliEP, netip.AddrPortFrom(netip.MustParseAddr("203.0.113.40"), 443), nil)
		t.Handshake(20 * ms)
		t.SendData(C, hello[:cut1])
		t.SendData(C, hello[cut1:cut2])
		t.SendData(C, hello[cut2:])
		t.Sleep(20 * ms)
		sendAll(t, S, append(capgen.TLSServerHello(capgen.ServerHello{Seed: "news"}), capgen.TLSApplicationData(filler(2200, "newscert"))...))
		t.Ack(C)
		t.SendData(C, append(capgen.TLSChangeCipherSpec(), capgen.TLSApplicationData(filler(53, "newsfin"))...))
		t.SendData(C, capgen.TLSApplicationData(filler(180, "newsreq")))
		t.Sleep(40 * ms)
		sendAll(t, S, capgen.TLSApplicationData(filler(2000, "newsresp")))
		t.Ack(C)
		t.Sleep(30 * ms)
		t.SendData(C, capgen.TLSApplicationData(filler(19, "newsclose")))
		t.Close(C)
		c.done()
	}

	// Pipelined HTTP requests.
	{
		c := g.ruleFixture("rules/http-pipelined.pcap", `
HTTP/1.1 pipelining on one keep-alive connection to api.example.com, behind a
reverse proxy: the client writes three GET requests (/v1/items/1, /v1/items/2,
/v1/items/3) at once, in one segment, before any response. The responses come
in request order, each in its own segment: 200 (JSON) after 20 ms, 502 Bad
Gateway (the proxy's HTML page: item 2's upstream is down) 8 ms later, and 200
(JSON) 12 ms after that. The client acknowledges them and closes with FIN.
http-server-error must report exactly the one 502 (for GET /v1/items/2).`)
		t := capgen.NewTCPConn(c, cliEP, srvEP, nil)
		t.Handshake(15 * ms)
		ua := "User-Agent: pcapx-fixture-client/1.0"
		var reqs []byte
		for i := 1; i <= 3; i++ {
			reqs = append(reqs, capgen.HTTPRequest("GET", "api.example.com", fmt.Sprintf("/v1/items/%d", i), ua, "Accept: application/json")...)
		}
		t.SendData(C, reqs)
		t.Sleep(20 * ms)
		t.SendData(S, capgen.HTTPResponse(200, []byte(`{"id":1,"name":"widget","price":"9.99"}`+"\n"),
			"Server: nginx/1.24.0", "Content-Type: application/json"))
		t.Sleep(8 * ms)
		t.SendData(S, capgen.HTTPResponse(502, []byte("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n</body>\r\n</html>\r\n"),
			"Server: nginx/1.24.0", "Content-Type: text/html"))
		t.Sleep(12 * ms)
		t.SendData(S, capgen.HTTPResponse(200, []byte(`{"id":3,"name":"gadget","price":"24.50"}`+"\n"),
			"Server: nginx/1.24.0", "Content-Type: application/json"))
		t.Ack(C)
		t.Sleep(50 * ms)
		t.Close(C)
		c.done()
	}

	// A clean capture.
	{
		c := g.ruleFixture("rules/clean.pcap", `
Nothing wrong, for the rules to stay silent: a monitoring probe on 192.0.2.10
resolves www.example.com (A 203.0.113.80, answered in 3 ms), fetches
http://www.example.com/healthz (TCP connect 18 ms, 200 OK after 25 ms, FIN
close), then https://www.example.com/ from port 51001: TLS 1.3 (SNI
www.example.com) established in one 18 ms round trip, a request, a 4 KB
response 30 ms later, a close_notify-sized record and a FIN close. Every
phase is well under the slow-* thresholds and TCP analysis flags nothing: no
finding at all.`)
		www := netip.MustParseAddr("203.0.113.80")
		tm := dnsPair(c, capgen.DefaultEthernet, 0, capgen.Epoch, netip.AddrPortFrom(cliEP.Addr(), 53500), resolver, 0x5151, "www.example.com", www, 3*ms)

		h := capgen.NewTCPConn(c, cliEP, netip.AddrPortFrom(www, 80), &capgen.TCPOptions{Start: tm.Add(1 * ms)})
		h.Handshake(18 * ms)
		h.SendData(C, capgen.HTTPRequest("GET", "www.example.com", "/healthz", "User-Agent: probe/2.1", "Accept: */*"))
		h.Sleep(25 * ms)
		h.SendData(S, capgen.HTTPResponse(200, []byte(`{"status":"ok"}`+"\n"), "Server: nginx/1.24.0", "Content-Type: application/json"))
		h.Ack(C)
		h.Sleep(1 * ms)
		h.Close(C)

		t := capgen.NewTCPConn(c, netip.AddrPortFrom(cliEP.Addr(), 51001), netip.AddrPortFrom(www, 443), &capgen.TCPOptions{Start: h.Now().Add(5 * ms)})
		t.Handshake(18 * ms)
		t.SendData(C, capgen.TLSClientHello(capgen.ClientHello{SNI: "www.example.com"}))
		t.Sleep(18 * ms)
		sendAll(t, S, append(capgen.TLSServerHello(capgen.ServerHello{Seed: "probe"}), capgen.TLSApplicationData(filler(2400, "probecert"))...))
		t.Ack(C)
		t.SendData(C, append(capgen.TLSChangeCipherSpec(), capgen.TLSApplicationData(filler(53, "probefin"))...))
		t.SendData(C, capgen.TLSApplicationData(filler(110, "probereq")))
		t.Sleep(30 * ms)
		sendAll(t, S, capgen.TLSApplicationData(filler(4000, "proberesp")))
		t.Ack(C)
		t.Sleep(2 * ms)
		t.SendData(C, capgen.TLSApplicationData(filler(19, "probeclose")))
		t.Close(C)
		c.done()
	}
}

// tlsHandshakeRecord returns a TLS 1.2 handshake record holding one
// message.
func tlsHandshakeRecord(typ byte, body []byte) []byte {
	b := []byte{22, 3, 3, 0, 0, typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	binary.BigEndian.PutUint16(b[3:], uint16(4+len(body)))
	return append(b, body...)
}

// seedReader is a deterministic io.Reader for x509 (Ed25519 signing does
// not read it, but nothing here may depend on real randomness).
type seedReader struct {
	n int
	b []byte
}

func (r *seedReader) Read(p []byte) (int, error) {
	for i := range p {
		if len(r.b) == 0 {
			r.n++
			r.b = filler(256, fmt.Sprint("x509:", r.n))
		}
		p[i], r.b = r.b[0], r.b[1:]
	}
	return len(p), nil
}

// tls12ServerFlight returns the plaintext records a TLS 1.2 server sends in
// answer to hello (a TLSClientHello record): ServerHello, Certificate (a
// leaf for name and its CA, Ed25519, real DER), ServerKeyExchange (x25519,
// signed over both randoms as RFC 8422 says) and ServerHelloDone.
func tls12ServerFlight(hello []byte, name string) []byte {
	caKey := ed25519.NewKeyFromSeed(filler(ed25519.SeedSize, "ca:"+name))
	leafKey := ed25519.NewKeyFromSeed(filler(ed25519.SeedSize, "leaf:"+name))
	notBefore := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(0x0ca1),
		Subject:               pkix.Name{Organization: []string{"Example Corp"}, CommonName: "Example Corp Internal CA"},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Given, so that x509 does not derive it (how changed in Go 1.24)
		// and the bytes stay the same from one Go release to the next.
		SubjectKeyId: filler(20, "skid:ca:"+name),
	}
	caDER, err := x509.CreateCertificate(&seedReader{}, ca, ca, caKey.Public(), caKey)
	must(err)
	ca, err = x509.ParseCertificate(caDER)
	must(err)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(0x1eaf),
		Subject:      pkix.Name{Organization: []string{"Example Corp"}, CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(0, 3, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		SubjectKeyId: filler(20, "skid:leaf:"+name),
	}
	leafDER, err := x509.CreateCertificate(&seedReader{}, leaf, ca, leafKey.Public(), caKey)
	must(err)

	sh := capgen.TLSServerHello(capgen.ServerHello{Version: capgen.TLS12, CipherSuite: 0xc02b, ALPN: "http/1.1",
		SessionID: filler(32, "sid:"+name), Seed: name})
	// Record header 5, handshake header 4, version 2: the random follows.
	clientRandom, serverRandom := hello[11:43], sh[11:43]

	var certs []byte
	for _, der := range [][]byte{leafDER, caDER} {
		certs = append(certs, byte(len(der)>>16), byte(len(der)>>8), byte(len(der)))
		certs = append(certs, der...)
	}
	certMsg := append([]byte{byte(len(certs) >> 16), byte(len(certs) >> 8), byte(len(certs))}, certs...)

	params := []byte{3, 0x00, 0x1d, 32} // named_curve x25519, a 32-byte point
	params = append(params, filler(32, "ecdhe:"+name)...)
	signed := append(append(append([]byte(nil), clientRandom...), serverRandom...), params...)
	sig := ed25519.Sign(leafKey, signed)
	ske := append(params, 0x08, 0x07) // ed25519
	ske = binary.BigEndian.AppendUint16(ske, uint16(len(sig)))
	ske = append(ske, sig...)

	out := append([]byte(nil), sh...)
	out = append(out, tlsHandshakeRecord(11, certMsg)...)
	out = append(out, tlsHandshakeRecord(12, ske)...)
	return append(out, tlsHandshakeRecord(14, nil)...)
}

// scanScenarios are the fixtures of tcp-port-scan and tcp-sweep: many
// attempts that are one finding, beside a single failed attempt that is
// still reported on its own.
func (g *generator) scanScenarios() {
	// attempt writes one connection attempt and what became of it.
	attempt := func(c *capture, cli, srv netip.AddrPort, start time.Time, fate string) time.Time {
		t := capgen.NewTCPConn(c, cli, srv, &capgen.TCPOptions{Start: start})
		t.Syn()
		t.Sleep(2 * ms)
		switch fate {
		case "open": // SYN-ACK, and the scanner's kernel resets
			t.SynAck()
			t.Sleep(50 * us)
			t.Rst(C)
		case "closed":
			t.Rst(S)
		}
		return t.Now().Add(1 * ms)
	}
	{
		c := g.ruleFixture("rules/tcp-port-scan.pcap", `
A SYN scan (nmap -sS style) from 192.0.2.66 of 30 ports of 198.51.100.20, one
probe every 3 ms: ports 22 and 80 answer with a SYN-ACK (the scanner's kernel
resets them), 25 and 113 are refused with a reset, the other 26 stay silent.
Meanwhile the client 192.0.2.10 tries 198.51.100.30:8080 three times (1 s,
then 2 s apart) and gets no answer. Expected: one tcp-port-scan finding naming
the scanner, the target, 30 ports, 2 answered, 2 refused, 26 silent and the
open ports; tcp-syn-unanswered only for 198.51.100.30:8080, and no
tcp-connection-refused (the refusals belong to the scan).`)
		scanner := netip.MustParseAddr("192.0.2.66")
		target := netip.MustParseAddr("198.51.100.20")
		tm := capgen.Epoch
		for i, port := range []uint16{21, 22, 23, 25, 53, 80, 110, 111, 113, 135, 139, 143, 199, 256, 443, 445, 554, 587, 993, 995,
			1025, 1723, 3306, 3389, 5900, 6000, 8080, 8443, 8888, 9200} {
			fate := "filtered"
			switch port {
			case 22, 80:
				fate = "open"
			case 25, 113:
				fate = "closed"
			}
			tm = attempt(c, netip.AddrPortFrom(scanner, 40000+uint16(i)), netip.AddrPortFrom(target, port), tm, fate)
		}
		t := capgen.NewTCPConn(c, cliEP, netip.MustParseAddrPort("198.51.100.30:8080"), &capgen.TCPOptions{Start: capgen.Epoch.Add(5 * ms)})
		t.Syn()
		t.Sleep(time.Second)
		t.Syn()
		c.expect(fRetrans)
		t.Sleep(2 * time.Second)
		t.Syn()
		c.expect(fRetrans)
		c.done()
	}
	{
		c := g.ruleFixture("rules/tcp-sweep.pcap", `
A sweep from 192.0.2.77 of port 445 on the 20 hosts 10.20.0.1-20, one probe
every 3 ms: 10.20.0.5 answers with a SYN-ACK (the sweeper's kernel resets
it), 10.20.0.6 and 10.20.0.7 refuse with a reset, the other 17 stay silent.
Expected: one tcp-sweep finding naming the source, port 445, 20 hosts, 1
answered, 2 refused, 17 silent; no tcp-syn-unanswered or
tcp-connection-refused finding.`)
		src := netip.MustParseAddr("192.0.2.77")
		tm := capgen.Epoch
		for i := 1; i <= 20; i++ {
			fate := "filtered"
			switch i {
			case 5:
				fate = "open"
			case 6, 7:
				fate = "closed"
			}
			dst := netip.AddrFrom4([4]byte{10, 20, 0, byte(i)})
			tm = attempt(c, netip.AddrPortFrom(src, 50000+uint16(i)), netip.AddrPortFrom(dst, 445), tm, fate)
		}
		c.done()
	}
}

// twice writes every frame to c a second time, gap later (a mirror port
// that copies both directions of a switch port: the capture holds each
// packet twice).
type twice struct {
	c   *capture
	gap time.Duration
}

func (w *twice) WriteFrame(f capgen.Frame) error {
	if err := w.c.WriteFrame(f); err != nil {
		return err
	}
	f.Time = f.Time.Add(w.gap)
	if err := w.c.WriteFrame(f); err != nil {
		return err
	}
	// Wireshark takes the copy of a pure ACK for a duplicate ACK, and the
	// copy of anything else (SYN, data, FIN) for a retransmission.
	if pureACK(f.Data) {
		w.c.expect(fDupAck)
	} else {
		w.c.expect(fRetrans)
	}
	return nil
}

// pureACK says whether an Ethernet frame holds a TCP segment with ACK
// alone and no payload.
func pureACK(frame []byte) bool {
	p := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.Default)
	t, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	return t != nil && t.ACK && !t.SYN && !t.FIN && !t.RST && !t.PSH && !t.URG && len(t.Payload) == 0
}

package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// The slow-* rules follow the phases of a request the way curl -w reports
// them: name lookup, TCP connect, TLS handshake, time to first byte. Each
// groups slow occurrences by the server that was slow.

// SlowDNS reports slow DNS answers.
var SlowDNS = &Rule{
	ID:    "slow-dns",
	Title: "Slow DNS responses",
	Doc: `DNS answers took longer than the threshold. Every new connection waits for its
lookup, so slow DNS adds directly to page and API latency.

Likely causes: a distant or overloaded resolver, cache misses that recurse to
slow authoritative servers, retries after lost packets, DNSSEC validation.

Next: "dig NAME @SERVER" a few times (cached vs uncached), compare resolvers,
check the resolver's load and upstream latency.`,
	Severity:   Warning,
	Thresholds: []Threshold{{Name: "max_ms", Default: 50, Unit: "ms", Doc: "a response slower than this is slow"}},
	Events:     []EventKind{EventDNS},
	New:        func(p Params) Checker { return &slowDNS{p: p} },
}

type slowDNS struct {
	p Params
	g groups
}

func (c *slowDNS) Event(ev *Event, _ func(Finding)) {
	d := ev.DNS
	if d.Unanswered || d.LatencyMS <= c.p.T("max_ms") {
		return
	}
	if e := c.g.add(d.DstAddr, d.QueryNS, d.QueryFrame, d.FlowRef); e != nil {
		e.measure(d.LatencyMS)
		e.example(d.QName)
		e.data = d.DstAddr
	}
}

func (c *slowDNS) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		msg := fmt.Sprintf("%d DNS response(s) from %s slower than %.0f ms (mean %.0f ms, worst %.0f ms), e.g. %s",
			e.count, e.data, c.p.T("max_ms"), e.sum/float64(e.count), e.worst, strings.Join(e.examples, ", "))
		report(e.finding(SlowDNS, c.p.Severity, msg, fmt.Sprintf("dns.time > %g && %s", c.p.T("max_ms")/1000, hostFilter(e.data.(string)))))
	}
}

// SlowConnect reports slow TCP handshakes.
var SlowConnect = &Rule{
	ID:    "slow-connect",
	Title: "Slow TCP connection setup",
	Doc: `The TCP handshake (SYN to the handshake's final ACK: one round trip, plus any SYN
retransmission timeouts) took longer than the threshold.

Likely causes: a long path (distance), a lost SYN or SYN-ACK (the client waits
1 s, then 2 s, ... before retrying), a server whose accept queue overflows (SYN
drops under load), a firewall or SYN proxy in the way.

Next: look for retransmitted SYNs in the flow; "ss -ltn" on the server (Recv-Q of
listening sockets) and "netstat -s | grep -i listen" for accept-queue overflows;
"mtr HOST" for the path's latency.`,
	Severity:   Warning,
	Thresholds: []Threshold{{Name: "max_ms", Default: 100, Unit: "ms", Doc: "a handshake slower than this is slow"}},
	Events:     []EventKind{EventFlow},
	New:        func(p Params) Checker { return &slowConnect{p: p} },
}

type slowConnect struct {
	p Params
	g groups
}

func (c *slowConnect) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	if f.Proto != "tcp" || f.HandshakeRTT <= c.p.T("max_ms") {
		return
	}
	key := fmt.Sprintf("%s:%d", f.DstAddr, f.DstPort)
	if e := c.g.add(key, f.FirstNS, flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame}, f.Ref()); e != nil {
		e.measure(f.HandshakeRTT)
		e.data = f.DstAddr
		e.example(key)
	}
}

func (c *slowConnect) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		msg := fmt.Sprintf("%d TCP handshake(s) with %s took longer than %.0f ms (mean %.0f ms, worst %.0f ms)",
			e.count, e.key, c.p.T("max_ms"), e.sum/float64(e.count), e.worst)
		report(e.finding(SlowConnect, c.p.Severity, msg, fmt.Sprintf("tcp.flags.syn == 1 && %s", hostFilter(e.data.(string)))))
	}
}

// SlowTLSHandshake reports slow TLS handshakes.
var SlowTLSHandshake = &Rule{
	ID:    "slow-tls-handshake",
	Title: "Slow TLS handshakes",
	Doc: `The TLS handshake (ClientHello until both sides switched to encrypted records)
took longer than the threshold. TLS 1.2 costs two round trips, TLS 1.3 one, plus
the server's key exchange and certificate work.

Likely causes: a long path, a server short of CPU (RSA key exchange, no session
resumption), a large certificate chain with loss (several segments), OCSP or
client-certificate checks on the server, TLS-inspecting middleboxes.

Next: "openssl s_client -connect HOST:PORT -servername SNI" and "curl -w
'%{time_appconnect}'" from the client; check that session resumption and TLS 1.3
are enabled; the server's CPU.`,
	Severity:   Warning,
	Thresholds: []Threshold{{Name: "max_ms", Default: 200, Unit: "ms", Doc: "a handshake slower than this is slow"}},
	Events:     []EventKind{EventTLS},
	New:        func(p Params) Checker { return &slowTLS{p: p} },
}

type slowTLS struct {
	p Params
	g groups
}

func (c *slowTLS) Event(ev *Event, _ func(Finding)) {
	t := ev.TLS
	if !t.Established || t.HandshakeMS <= c.p.T("max_ms") {
		return
	}
	key := fmt.Sprintf("%s:%d %s", t.DstAddr, t.DstPort, t.SNI)
	if e := c.g.add(key, t.ClientHelloNS, t.ClientHelloFrame, t.FlowRef); e != nil {
		e.measure(t.HandshakeMS)
		e.data = t.DstAddr
	}
}

func (c *slowTLS) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		msg := fmt.Sprintf("%d TLS handshake(s) with %s took longer than %.0f ms (mean %.0f ms, worst %.0f ms)",
			e.count, e.key, c.p.T("max_ms"), e.sum/float64(e.count), e.worst)
		report(e.finding(SlowTLSHandshake, c.p.Severity, msg, fmt.Sprintf("tls.handshake.type == 1 && %s", hostFilter(e.data.(string)))))
	}
}

// SlowFirstByte reports slow HTTP responses.
var SlowFirstByte = &Rule{
	ID:    "slow-first-byte",
	Title: "Slow time to first byte (HTTP)",
	Doc: `The server took longer than the threshold between the request and the first byte
of its response. The network part of that is one round trip; the rest is the
server (or a proxy and its upstream) working on the request.

Likely causes: slow application code or database queries, an overloaded server,
a proxy waiting on its upstream, cold caches.

Next: the application's request log and traces for these URLs and times;
"curl -w '%{time_starttransfer}'" to reproduce; compare with the connection's
handshake RTT to separate network from server time.`,
	Severity:   Warning,
	Thresholds: []Threshold{{Name: "max_ms", Default: 500, Unit: "ms", Doc: "a first byte later than this is slow"}},
	Events:     []EventKind{EventHTTP},
	New:        func(p Params) Checker { return &slowTTFB{p: p} },
}

type slowTTFB struct {
	p Params
	g groups
}

func (c *slowTTFB) Event(ev *Event, _ func(Finding)) {
	h := ev.HTTP
	if h.Status == 0 || h.TTFBMS <= c.p.T("max_ms") {
		return
	}
	key := fmt.Sprintf("%s (%s:%d)", h.Host, h.DstAddr, h.DstPort)
	if e := c.g.add(key, h.RequestNS, h.RequestFrame, h.FlowRef); e != nil {
		e.measure(h.TTFBMS)
		e.example(h.Method + " " + h.Target)
		e.data = h.DstAddr
	}
}

func (c *slowTTFB) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		msg := fmt.Sprintf("%d HTTP response(s) from %s started after more than %.0f ms (mean %.0f ms, worst %.0f ms), e.g. %s",
			e.count, e.key, c.p.T("max_ms"), e.sum/float64(e.count), e.worst, strings.Join(e.examples, "; "))
		report(e.finding(SlowFirstByte, c.p.Severity, msg, fmt.Sprintf("http.time > %g && %s", c.p.T("max_ms")/1000, hostFilter(e.data.(string)))))
	}
}

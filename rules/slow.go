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
	New:        func(p Params) Checker { return &slowPhase{p: p, max: p.T("max_ms"), kind: phaseDNS} },
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
	New:        func(p Params) Checker { return &slowPhase{p: p, max: p.T("max_ms"), kind: phaseConnect} },
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
	New:        func(p Params) Checker { return &slowPhase{p: p, max: p.T("max_ms"), kind: phaseTLS} },
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
	New:        func(p Params) Checker { return &slowPhase{p: p, max: p.T("max_ms"), kind: phaseTTFB} },
}

// phase names which slow-* rule a slowPhase checker is.
type phase int

const (
	phaseDNS phase = iota
	phaseConnect
	phaseTLS
	phaseTTFB
)

// sample is one measured phase of one event, and what to group it by.
type sample struct {
	ms      float64
	key     string // the slow server, as the message names it
	host    string // its address, for the display filter
	ts      int64
	frame   flows.FrameRef
	ref     flows.FlowRef
	example string // "" for none
}

// measure takes the phase's measurement from an event of the kind the rule
// consumes; ok is false when the event has none (unanswered, no handshake).
// It is called for every event, so it only reads numbers; sample builds
// the strings, for the few events over the threshold.
func (k phase) measure(ev *Event) (ms float64, ok bool) {
	switch k {
	case phaseDNS:
		return ev.DNS.LatencyMS, !ev.DNS.Unanswered
	case phaseConnect:
		return ev.Flow.HandshakeRTT, ev.Flow.Proto == "tcp"
	case phaseTLS:
		return ev.TLS.HandshakeMS, ev.TLS.Established
	default:
		return ev.HTTP.TTFBMS, ev.HTTP.Status != 0
	}
}

// sample describes a slow event: what to group it by, and its evidence.
func (k phase) sample(ev *Event, ms float64) sample {
	switch k {
	case phaseDNS:
		d := ev.DNS
		return sample{ms: ms, key: d.DstAddr, host: d.DstAddr, ts: d.QueryNS, frame: d.QueryFrame, ref: d.FlowRef, example: d.QName}
	case phaseConnect:
		f := ev.Flow
		key := fmt.Sprintf("%s:%d", f.DstAddr, f.DstPort)
		return sample{ms: ms, key: key, host: f.DstAddr, ts: f.FirstNS, frame: flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame}, ref: f.Ref()}
	case phaseTLS:
		t := ev.TLS
		return sample{ms: ms, key: fmt.Sprintf("%s:%d %s", t.DstAddr, t.DstPort, t.SNI), host: t.DstAddr, ts: t.ClientHelloNS, frame: t.ClientHelloFrame, ref: t.FlowRef}
	default:
		h := ev.HTTP
		return sample{ms: ms, key: fmt.Sprintf("%s (%s:%d)", h.Host, h.DstAddr, h.DstPort), host: h.DstAddr, ts: h.RequestNS, frame: h.RequestFrame, ref: h.FlowRef, example: h.Method + " " + h.Target}
	}
}

// finding words a group of slow samples.
func (k phase) finding(e *group, p Params) Finding {
	max := p.T("max_ms")
	mean := e.sum / float64(e.count)
	host := hostFilter(e.data.(string))
	var r *Rule
	var msg, filter string
	switch k {
	case phaseDNS:
		r = SlowDNS
		msg = fmt.Sprintf("%d DNS response(s) from %s slower than %.0f ms (mean %.0f ms, worst %.0f ms), e.g. %s",
			e.count, e.key, max, mean, e.worst, strings.Join(e.examples, ", "))
		filter = fmt.Sprintf("dns.time > %g && %s", max/1000, host)
	case phaseConnect:
		r = SlowConnect
		msg = fmt.Sprintf("%d TCP handshake(s) with %s took longer than %.0f ms (mean %.0f ms, worst %.0f ms)", e.count, e.key, max, mean, e.worst)
		filter = "tcp.flags.syn == 1 && " + host
	case phaseTLS:
		r = SlowTLSHandshake
		msg = fmt.Sprintf("%d TLS handshake(s) with %s took longer than %.0f ms (mean %.0f ms, worst %.0f ms)", e.count, e.key, max, mean, e.worst)
		filter = "tls.handshake.type == 1 && " + host
	default:
		r = SlowFirstByte
		msg = fmt.Sprintf("%d HTTP response(s) from %s started after more than %.0f ms (mean %.0f ms, worst %.0f ms), e.g. %s",
			e.count, e.key, max, mean, e.worst, strings.Join(e.examples, "; "))
		filter = fmt.Sprintf("http.time > %g && %s", max/1000, host)
	}
	return e.finding(r, p.Severity, msg, filter)
}

// slowPhase is the checker of every slow-* rule: samples above max_ms are
// grouped by the server that was slow.
type slowPhase struct {
	p    Params
	max  float64 // max_ms, looked up once
	kind phase
	g    groups
}

func (c *slowPhase) Event(ev *Event, _ func(Finding)) {
	ms, ok := c.kind.measure(ev)
	if !ok || ms <= c.max {
		return
	}
	s := c.kind.sample(ev, ms)
	if e := c.g.add(s.key, s.ts, s.frame, s.ref); e != nil {
		e.measure(s.ms)
		e.data = s.host
		if s.example != "" {
			e.example(s.example)
		}
	}
}

func (c *slowPhase) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		report(c.kind.finding(e, c.p))
	}
}

package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// The slow-* rules follow the phases of a request the way curl -w reports
// them: name lookup, TCP connect, TLS handshake, time to first byte. A phase
// that is slow only because the path is long is not a finding: each rule
// knows the path round trip (RTT) of the connection — the handshake and the
// ACK round trips of its data, else the same server's other connections, or
// for DNS the resolver's fastest answer — and calls a phase slow when it took
// more than max(rtt_factor × the round trips it needs, those round trips +
// margin_ms), or when its opening packet had to be sent again. With no RTT
// known at all, only max_ms makes a phase slow. A slow phase is split into
// its causes (docs/rules.md): the waits for retransmission timeouts, the
// server's time beyond the round trip, and the round trips themselves; the
// finding names the cause that dominated and the next step that fits it.

func pathThresholds(margin float64) []Threshold {
	return []Threshold{
		{Name: "rtt_factor", Default: 3, Unit: "×", Doc: "slow beyond this many times the round trips the phase needs"},
		{Name: "margin_ms", Default: margin, Unit: "ms", Doc: "... and beyond those round trips plus this"},
		{Name: "max_ms", Default: 1000, Unit: "ms", Doc: "slow beyond this when the path RTT is unknown"},
	}
}

// SlowDNS reports slow DNS answers.
var SlowDNS = &Rule{
	ID:    "slow-dns",
	Title: "Slow DNS responses",
	Doc: `DNS answers took much longer than the resolver's round trip. Every new
connection waits for its lookup, so slow DNS adds directly to page and API
latency. The resolver's round trip is its fastest answer in the capture (a
cache hit costs one round trip): a far resolver that answers in one round trip
is not slow, and a resolver that never answered faster is judged by max_ms. Multicast lookups (mDNS, LLMNR) are no client/server exchange and
are left out. The finding splits the time into the client's waits before it
sent the query again (lost queries or answers) and the resolver's own time
(recursion, cache misses, slow upstream or DNSSEC validation).

Next: for retransmission waits, "mtr -u -P 53 SERVER" for loss and the
resolver's rate limits; for resolver time, "dig NAME @SERVER" twice (uncached,
then cached) and the resolver's upstream latency and load.`,
	Severity:   Warning,
	Thresholds: pathThresholds(300),
	Events:     []EventKind{EventDNS},
	New:        func(p Params) Checker { return newSlowPhase(p, phaseDNS) },
}

// SlowConnect reports slow TCP handshakes.
var SlowConnect = &Rule{
	ID:    "slow-connect",
	Title: "Slow TCP connection setup",
	Doc: `The TCP handshake (the first SYN to the client's ACK) took much longer than the
path's round trip, or a SYN or SYN-ACK had to be sent again. A handshake that
costs one round trip of a long path is not slow, only far.

The finding splits the time: the waits for retransmission timeouts (a lost SYN
or SYN-ACK: the client waits 1 s, then 2 s, ...), the server's time beyond the
round trip until its SYN-ACK (a SYN backlog or accept queue under pressure, a SYN
proxy), the client's time to acknowledge the SYN-ACK beyond the round trip (a
busy or paused client), and the round trip itself.

Next: for retransmission waits, "mtr -T -P PORT HOST" for loss on the path,
and on the server "nstat -az TcpExtListenDrops TcpExtListenOverflows" (a full
accept queue drops SYNs too); for server time, "ss -lnt" on the server (Recv-Q
against Send-Q of the listener) and the SYN proxy or firewall in the way.`,
	Severity:   Warning,
	Thresholds: pathThresholds(200),
	Events:     []EventKind{EventFlow},
	New:        func(p Params) Checker { return newSlowPhase(p, phaseConnect) },
}

// SlowTLSHandshake reports slow TLS handshakes.
var SlowTLSHandshake = &Rule{
	ID:    "slow-tls-handshake",
	Title: "Slow TLS handshakes",
	Doc: `The TLS handshake (ClientHello until both sides switched to encrypted records)
took much longer than the round trips it needs — one for TLS 1.3, two for TLS
1.2 and older — on the connection's path, or the ClientHello had to be sent
again.

The finding splits the time: the waits for the ClientHello's retransmission,
the server's time beyond the round trip before its ServerHello (TLS
termination: key exchange, certificate work, an overloaded terminator or
HSM), the time after the ServerHello beyond the round trips (the client
checking the certificate chain, OCSP, client certificates, later flights lost),
and the round trips.

Next: for server time, "openssl s_client -connect HOST:PORT -servername SNI"
and "curl -w '%{time_appconnect}'" from the client, the terminator's CPU,
session resumption and TLS 1.3; for retransmission waits, "mtr -T -P PORT
HOST"; for time after the ServerHello, the client's certificate validation
(OCSP and CRL fetches).`,
	Severity:   Warning,
	Thresholds: pathThresholds(200),
	Events:     []EventKind{EventTLS},
	New:        func(p Params) Checker { return newSlowPhase(p, phaseTLS) },
}

// SlowFirstByte reports slow HTTP responses.
var SlowFirstByte = &Rule{
	ID:    "slow-first-byte",
	Title: "Slow time to first byte (HTTP)",
	Doc: `The server took much longer than the connection's round trip between the request
and the first byte of its response. The network part of that is one round
trip; the rest is the server (or a proxy and its upstream) working on the
request: application think time.

Likely causes: slow application code or database queries, an overloaded server,
a proxy waiting on its upstream, cold caches.

Next: the application's request log and traces for these URLs and times;
"curl -w '%{time_starttransfer}'" to reproduce.`,
	Severity:   Warning,
	Thresholds: pathThresholds(500),
	Events:     []EventKind{EventHTTP},
	New:        func(p Params) Checker { return newSlowPhase(p, phaseTTFB) },
}

// phase names which slow-* rule a slowPhase checker is.
type phase int

const (
	phaseDNS phase = iota
	phaseConnect
	phaseTLS
	phaseTTFB
)

// maxPending bounds the measurements a slow-* rule keeps until the end of
// the run (when every server's fastest round trip is known); past it, a
// measurement is judged against the round trips seen so far.
const maxPending = 20_000

// minTimeout is the shortest wait before a resend that counts as a
// retransmission timeout: no TCP stack resends sooner (Linux's minimum RTO
// is 200 ms, a SYN's first is 1 s) and neither do DNS clients. A copy sent
// sooner, or within one round trip, is a duplicate in the capture (the same
// frame seen twice), not a loss.
const minTimeout = 100.0

// maxServers bounds the servers whose fastest round trip a rule tracks.
const maxServers = 65_536

// sample is one measured phase: what it took, the parts known from the
// record, and what to group it by.
type sample struct {
	total   float64 // ms, the phase
	rtt     float64 // ms, the connection's path round trip; 0 unknown
	trips   float64 // round trips the phase needs
	retx    int     // opening packets sent again
	wait    float64 // ms waited for retransmission timeouts
	toReply float64 // ms from the opening packet to the server's reply (SYN-ACK, ServerHello, first byte, answer)
	held    bool    // connect: the SYN met an earlier connection the server still held (a challenge ACK)

	server  string // the server's address: the RTT fallback and the filter
	port    uint16 // the server's port (0 for DNS)
	key     string // the group: the slow server as the message names it
	name    string // the TLS SNI or HTTP Host the group is about, for the finding's Key
	ts      int64
	frame   flows.FrameRef
	ref     flows.FlowRef
	example string // "" for none
	proxy   bool   // HTTP: the server is a forward proxy
}

// measure takes the phase's measurement from an event of the kind the rule
// consumes; ok is false when the event has none (unanswered, no handshake)
// or the phase means nothing (multicast DNS). It only reads numbers; the
// strings are built in describe, for the few candidates.
func (k phase) measure(ev *Event) (s sample, ok bool) {
	switch k {
	case phaseDNS:
		d := ev.DNS
		if d.Unanswered || d.LatencyMS <= 0 || discovery(d.DstAddr, d.DstPort) {
			return s, false
		}
		return sample{total: d.LatencyMS, trips: 1, retx: d.Retransmissions, wait: d.RetransmitWaitMS, toReply: d.LatencyMS, server: d.DstAddr}, true
	case phaseConnect:
		f := ev.Flow
		if f.Proto != "tcp" || f.HandshakeRTT <= 0 {
			return s, false
		}
		// The server's part ends with its SYN-ACK; what the client took
		// to acknowledge it is the client's (split's other).
		return sample{total: f.HandshakeRTT, rtt: f.RTTMS, trips: 1, retx: int(f.SYNRetransmissions + f.SYNACKRetransmissions),
			wait: f.HandshakeWaitMS, toReply: f.SYNToSYNACK, server: f.DstAddr, port: f.DstPort,
			held: f.Reuse != nil && f.Reuse.Reply == "challenge-ack"}, true
	case phaseTLS:
		t := ev.TLS
		if !t.Established || t.HandshakeMS <= 0 {
			return s, false
		}
		trips := 2.0
		if t.Version == "TLS 1.3" {
			trips = 1
		}
		return sample{total: t.HandshakeMS, rtt: t.RTTMS, trips: trips, retx: t.HelloRetransmissions, wait: t.HelloWaitMS, toReply: t.ServerHelloMS,
			server: t.DstAddr, port: t.DstPort}, true
	default:
		h := ev.HTTP
		if h.Status == 0 || h.TTFBMS <= 0 {
			return s, false
		}
		return sample{total: h.TTFBMS, rtt: h.RTTMS, trips: 1, toReply: h.TTFBMS, server: h.DstAddr, port: h.DstPort}, true
	}
}

// describe adds what to group a candidate by and its evidence.
func (k phase) describe(ev *Event, s *sample) {
	switch k {
	case phaseDNS:
		d := ev.DNS
		s.key, s.ts, s.frame, s.ref, s.example = d.DstAddr, d.QueryNS, d.QueryFrame, d.FlowRef, d.QName
	case phaseConnect:
		f := ev.Flow
		s.key, s.ts, s.frame, s.ref = endpoint(f.DstAddr, f.DstPort), f.FirstNS, flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame}, f.Ref()
	case phaseTLS:
		t := ev.TLS
		s.ts, s.frame, s.ref = t.ClientHelloNS, t.ClientHelloFrame, t.FlowRef
		s.key, s.name = endpoint(t.DstAddr, t.DstPort), t.SNI
		if t.SNI != "" {
			s.key += " (" + t.SNI + ")"
		}
	default:
		h := ev.HTTP
		s.ts, s.frame, s.ref, s.example = h.RequestNS, h.RequestFrame, h.FlowRef, h.Method+" "+h.Target
		s.key, s.name, s.proxy = httpServer(h), h.Host, proxied(h)
	}
}

// ownRTT is the round trip a measurement brings for its server: the
// connection's path RTT, or for DNS an answer that needed no retransmission.
func (k phase) ownRTT(s *sample) float64 {
	if k == phaseDNS {
		if s.retx == 0 {
			return s.total
		}
		return 0
	}
	return s.rtt
}

// endpoint writes addr:port, with brackets for IPv6.
func endpoint(addr string, port uint16) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// discovery says whether a DNS server address and port are multicast or
// link-local name discovery (mDNS 5353, LLMNR 5355, or any multicast
// group), where no resolver answers and latency means nothing.
func discovery(addr string, port uint16) bool {
	if port == 5353 || port == 5355 {
		return true
	}
	a, err := netip.ParseAddr(addr)
	return err == nil && a.IsMulticast()
}

// split is a slow measurement cut into its causes, in ms.
type split struct {
	rtt      float64 // the path round trip used
	expected float64 // the round trips the phase needs
	wait     float64 // retransmission timeouts
	server   float64 // the server beyond the round trip, before its reply
	other    float64 // the rest (TLS: after the ServerHello, beyond its round trip)
}

func (s *sample) split(rtt float64) split {
	sp := split{rtt: rtt, expected: rtt * s.trips, wait: s.wait}
	sp.server = max(s.toReply-s.wait-rtt, 0)
	sp.other = max(s.total-sp.wait-sp.server-sp.expected, 0)
	return sp
}

// slowPhase is the checker of every slow-* rule.
type slowPhase struct {
	p                    Params
	kind                 phase
	factor, margin, maxU float64

	fastest map[string]float64 // server address → fastest round trip seen
	pending []sample           // candidates, judged at the end
	g       groups
}

func newSlowPhase(p Params, k phase) *slowPhase {
	return &slowPhase{p: p, kind: k, factor: p.T("rtt_factor"), margin: p.T("margin_ms"), maxU: p.T("max_ms"), fastest: map[string]float64{}}
}

func (c *slowPhase) Event(ev *Event, _ func(Finding)) {
	s, ok := c.kind.measure(ev)
	if !ok {
		return
	}
	// Only a measurement above the margin, above max_ms or with a
	// retransmission can be slow whatever the round trip turns out to be;
	// the rest only teach the server's round trip.
	if rtt := c.kind.ownRTT(&s); rtt > 0 {
		if f, seen := c.fastest[s.server]; seen && rtt < f || !seen && len(c.fastest) < maxServers {
			c.fastest[s.server] = rtt
		}
	}
	if !(s.retx > 0 || s.total > min(c.margin, c.maxU)) {
		return
	}
	c.kind.describe(ev, &s)
	if len(c.pending) < maxPending {
		c.pending = append(c.pending, s)
		return
	}
	c.judge(&s)
}

// rttOf is the round trip a measurement is judged against: its connection's
// own, else the server's fastest in the run.
func (c *slowPhase) rttOf(s *sample) float64 {
	if c.kind != phaseDNS && s.rtt > 0 {
		return s.rtt
	}
	return c.fastest[s.server]
}

// slow says whether a measurement is slow against the round trip rtt.
func (c *slowPhase) slow(s *sample, rtt float64) bool {
	need := rtt * s.trips
	if s.retx > 0 && s.wait >= max(need, minTimeout) {
		return true
	}
	if rtt <= 0 {
		return s.total > c.maxU
	}
	return s.total > max(c.factor*need, need+c.margin)
}

// slowAcc sums the causes of a group's slow measurements.
type slowAcc struct {
	server                  string
	port                    uint16
	name                    string // sample.name
	wait, srv, other, trips float64
	retx                    int
	held                    int     // connects whose SYN met a connection the server still held
	heldWait                float64 // ms those connects waited
	rttMin, rttMax          float64
	fastest                 float64 // the shortest slow measurement: the filter's bound
	proxy                   bool    // sample.proxy
}

func (c *slowPhase) judge(s *sample) {
	rtt := c.rttOf(s)
	if c.kind == phaseDNS && rtt >= s.total {
		// The resolver never answered faster: its round trip is not known
		// apart from this answer, so only max_ms can call it slow.
		rtt = 0
	}
	if !c.slow(s, rtt) {
		return
	}
	sp := s.split(rtt)
	e := c.g.add(s.key, s.ts, s.frame, s.ref)
	if e == nil {
		return
	}
	e.measure(s.total)
	if s.example != "" {
		e.example(s.example)
	}
	a, _ := e.data.(*slowAcc)
	if a == nil {
		a = &slowAcc{server: s.server, port: s.port, name: s.name, rttMin: rtt, rttMax: rtt, fastest: s.total, proxy: s.proxy}
		e.data = a
	}
	a.wait += sp.wait
	a.srv += sp.server
	a.other += sp.other
	a.trips += sp.expected
	a.retx += s.retx
	if s.held {
		a.held++
		a.heldWait += sp.wait
	}
	a.rttMin, a.rttMax = min(a.rttMin, rtt), max(a.rttMax, rtt)
	a.fastest = min(a.fastest, s.total)
}

func (c *slowPhase) Finish(report func(Finding)) {
	for i := range c.pending {
		c.judge(&c.pending[i])
	}
	c.pending = nil
	for _, e := range c.g.sorted() {
		report(c.kind.finding(e, c.p))
	}
	if c.g.overflow > 0 {
		r := c.kind.rule()
		report(Finding{Rule: r.ID, Severity: c.p.Severity, Title: r.Title, Count: c.g.overflow, Evidence: []Evidence{},
			Message: fmt.Sprintf("%d more slow %s with servers beyond the first %d", c.g.overflow, c.kind.noun(), maxGroups)})
	}
}

func (k phase) rule() *Rule {
	return [...]*Rule{SlowDNS, SlowConnect, SlowTLSHandshake, SlowFirstByte}[k]
}

func (k phase) noun() string {
	return [...]string{"DNS responses", "TCP handshakes", "TLS handshakes", "HTTP responses"}[k]
}

// cause names what dominated a group's slow time, in words and numbers,
// with the next step that fits it.
func (k phase) cause(e *group, a *slowAcc) string {
	port := fmt.Sprint(a.port)
	n := float64(e.count)
	parts := []struct {
		ms   float64
		text string
	}{
		{a.wait, k.waitText(a)},
		{a.srv, k.serverText(a.srv/n, a.proxy)},
		{a.other, k.otherText(a.other / n)},
		{a.trips, fmt.Sprintf("the path itself: %s of round trips", msText(a.trips/n))},
	}
	best := 0
	for i, p := range parts {
		if p.ms > parts[best].ms {
			best = i
		}
	}
	next := ""
	switch {
	case best == 0 && k == phaseDNS:
		next = "mtr -u -P 53 " + a.server + " for loss; the resolver's rate limits"
	case best == 0:
		next = "mtr -T -P " + port + " " + a.server + " for loss on the path"
		if k == phaseConnect {
			next += `; on the server, "nstat -az TcpExtListenDrops TcpExtListenOverflows" (a full accept queue drops SYNs too)`
		}
	case best == 1 && k == phaseDNS:
		next = `"dig NAME @` + a.server + `" uncached then cached; the resolver's upstream latency and load`
	case best == 1 && k == phaseConnect:
		next = `"ss -lnt" on the server (Recv-Q against Send-Q of the listener); a SYN proxy or firewall in the way`
	case best == 1 && k == phaseTLS:
		next = `"openssl s_client -connect ` + a.server + ":" + port + `"; the TLS terminator's CPU, session resumption, TLS 1.3`
	case best == 1 && a.proxy:
		next = "the proxy's access log for these requests (its time to connect to and hear from the server it forwards to) and that connection's own trouble (stalls, resets, slow connects)"
	case best == 1:
		next = "the server's request logs and traces for these requests (slow queries, upstream calls)"
	case best == 2 && k == phaseConnect:
		next = "the client host (its load, a paused VM or process) and loss between the server and the client"
	case best == 2:
		next = "the client's certificate validation (OCSP, CRL fetches) and loss on the path"
	default:
		next = "compare with the path's round trip from other hosts (mtr " + a.server + ")"
	}
	if best == 0 && a.heldWait > a.wait/2 {
		// The client waited because its SYN met the previous connection
		// on the same 4-tuple, which the server (or a NAT) still held: not
		// loss on the path.
		parts[0].text = fmt.Sprintf("waiting to retry after %d SYN(s) met an earlier connection the server still held on the same ports (a challenge ACK: see tcp-port-reuse), %s of the %s waited", a.held, msText(a.heldWait), msText(a.wait))
		next = "tcp-port-reuse's advice: the client's port reuse against the server's (or a NAT's) TIME-WAIT"
	}
	return fmt.Sprintf("mostly %s; path RTT %s. Next: %s", parts[best].text, rttText(a), next)
}

func (k phase) waitText(a *slowAcc) string {
	what := [...]string{"the query sent again", "the SYN or SYN-ACK sent again", "the ClientHello sent again", "the request sent again"}[k]
	return fmt.Sprintf("%s (%d retransmission(s), %s waited for timeouts in all)", what, a.retx, msText(a.wait))
}

// otherText is the part of a slow phase after the server's reply, beyond
// its round trip: the client's turn.
func (k phase) otherText(ms float64) string {
	if k == phaseConnect {
		return fmt.Sprintf("the client acknowledging the SYN-ACK %s on average after the round trip (a busy or paused client, or its ACK lost)", msText(ms))
	}
	return fmt.Sprintf("%s on average after the ServerHello beyond its round trip (the client's certificate checks, lost later flights)", msText(ms))
}

func (k phase) serverText(ms float64, proxy bool) string {
	switch k {
	case phaseDNS:
		return fmt.Sprintf("the resolver's own time, %s on average beyond its fastest answer (recursion, cache misses, upstream)", msText(ms))
	case phaseConnect:
		return fmt.Sprintf("the server answering the SYN %s on average after the round trip (SYN backlog, accept queue, SYN proxy)", msText(ms))
	case phaseTLS:
		return fmt.Sprintf("the server taking %s on average beyond the round trip to send its ServerHello (TLS termination)", msText(ms))
	}
	if proxy {
		return fmt.Sprintf("the proxy and the server it forwards to, %s on average beyond the round trip to the proxy", msText(ms))
	}
	return fmt.Sprintf("application think time, %s on average beyond the round trip", msText(ms))
}

func msText(ms float64) string {
	switch {
	case ms >= 10_000:
		return fmt.Sprintf("%.1f s", ms/1000)
	case ms < 1:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

func rttText(a *slowAcc) string {
	switch {
	case a.rttMax <= 0:
		return "unknown"
	case a.rttMin <= 0:
		return "up to " + msText(a.rttMax)
	case a.rttMax < 1.1*a.rttMin:
		return msText(a.rttMax)
	}
	return msText(a.rttMin) + "–" + msText(a.rttMax)
}

// finding words a group of slow measurements.
func (k phase) finding(e *group, p Params) Finding {
	a := e.data.(*slowAcc)
	mean := e.sum / float64(e.count)
	host := hostFilter(a.server)
	var head, filter string
	switch k {
	case phaseDNS:
		head = fmt.Sprintf("%d DNS response(s) from %s slow (mean %s, worst %s), e.g. %s", e.count, e.key, msText(mean), msText(e.worst), strings.Join(e.examples, ", "))
		filter = fmt.Sprintf("dns.time >= %g && %s", a.fastest/1000, host)
	case phaseConnect:
		head = fmt.Sprintf("%d TCP handshake(s) with %s slow (mean %s, worst %s)", e.count, e.key, msText(mean), msText(e.worst))
		filter = fmt.Sprintf("tcp.flags.syn == 1 && %s && tcp.port == %d", host, a.port)
	case phaseTLS:
		head = fmt.Sprintf("%d TLS handshake(s) with %s slow (mean %s, worst %s)", e.count, e.key, msText(mean), msText(e.worst))
		filter = "tls.handshake.type == 1 && " + host
	default:
		head = fmt.Sprintf("%d HTTP response(s) from %s slow to start (mean %s, worst %s), e.g. %s", e.count, e.key, msText(mean), msText(e.worst), strings.Join(e.examples, "; "))
		filter = fmt.Sprintf("http.time >= %g && %s", a.fastest/1000, host)
	}
	f := e.finding(k.rule(), p.Severity, head+": "+k.cause(e, a), filter)
	switch k {
	case phaseDNS:
		return f.keyed("server", a.server)
	case phaseConnect:
		return f.keyed("server", endpoint(a.server, a.port))
	case phaseTLS:
		return f.keyed("server", endpoint(a.server, a.port), "sni", a.name)
	}
	return f.keyed("host", a.name, "server", endpoint(a.server, a.port))
}

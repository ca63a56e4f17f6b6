package rules

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// TCPConnectionChurn reports a client opening many short connections to
// one server port: a new connection per request.
var TCPConnectionChurn = &Rule{
	ID:    "tcp-connection-churn",
	Title: "Many short TCP connections from one client to one server port",
	Doc: `One client opened many short connections per second to the same server port —
a new connection per request instead of reusing one. Each costs a handshake
round trip (and a TLS handshake), and each the client closes first keeps its
local port in TIME-WAIT for 60 s (Linux): at 500 connections/s that is 30,000
ports, more than Linux's default ephemeral range (32768-60999, 28,232 ports)
holds, and connect() starts failing with "cannot assign requested address"
(EADDRNOTAVAIL) — ephemeral-port exhaustion. Behind a NAT the NAT's ports run
out first.

The finding names the client, the server and port, how many connections over
what time at what rate, their median duration, the client ports used (lowest to
highest, and how many distinct), and how the connections closed: by the client
first (TIME-WAIT on the client, from the order of the FINs in Zeek's history),
by the server first (TIME-WAIT on the server), or with a reset (no TIME-WAIT).
Connections are counted from the client's SYN answered by a SYN-ACK; many long
connections opened at once (a pool filling up, a load test) are not churn: most
must end within max_duration_ms.

Likely causes: an HTTP client without keep-alive (a new client or transport per
request, "Connection: close", HTTP/1.0), a database or cache client without a
connection pool, a health check or a script in a tight loop, a proxy that does
not pool its upstream connections.

Next: on the client, "ss -tan state time-wait | wc -l" (ports held in
TIME-WAIT), "sysctl net.ipv4.ip_local_port_range" (how many it has), "ss -s"
(totals by state). Reuse connections: HTTP keep-alive, connection pooling; or
widen net.ipv4.ip_local_port_range / enable net.ipv4.tcp_tw_reuse on the
client.`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "min_connections", Default: 100, Unit: "count", Doc: "connections from one client to one server port"},
		{Name: "min_rate", Default: 10, Unit: "per s", Doc: "connections per second over the time from the first to the last one's start"},
		{Name: "max_duration_ms", Default: 1000, Unit: "ms", Doc: "more than half of the connections (the median) last less than this"},
	},
	Events: []EventKind{EventFlow},
	New: func(p Params) Checker {
		return &churnCheck{p: p, byKey: map[churnKey]*group{}, first: map[uint64]churnFirst{}}
	},
}

// churnCheck groups answered connection attempts by client → server:port.
// Memory is bounded by maxGroups groups; a group keeps counts, the port
// range, a set of the ports used (a list up to 64 ports, then a 65,536-bit
// bitmap: 8 KiB) and the durations (the first 64 exactly, then a histogram
// of 136 buckets, 4 per doubling, with their counts and sums: 1.6 KiB), from
// which the median is read exactly up to 64 connections and to within a
// bucket's width past them. Whether most connections are short is counted
// exactly. A group of a few connections costs a few hundred bytes; one past
// 64 about 10 KiB, so 10,000 such groups (640,000 connections and more)
// stay under 100 MiB.
type churnCheck struct {
	p     Params
	g     groups
	byKey map[churnKey]*group
	// first is keyed by pairHash: up to maxChurnFirst entries, so neither
	// a key of two strings nor the strings are kept for each.
	first map[uint64]churnFirst
	// unevaluated counts connections past the bounds (with g.overflow).
	unevaluated int64
}

// churnData is what a group keeps of its connections.
type churnData struct {
	src, dst         string
	port             uint16
	short            int64 // lasted less than max_duration_ms
	minPort, maxPort uint16
	ports            portSet
	clientFirst      int64 // closed with the client's FIN first: TIME-WAIT on the client
	serverFirst      int64 // closed with the server's FIN first
	reset            int64 // ended by a reset: no TIME-WAIT
	durations        durationHist
}

// churnKey names a group: a client, a server and its port.
type churnKey struct {
	src, dst string
	port     uint16
}

// churnFirst is what a group's first connection leaves until a second
// one makes the group: most clients open one connection per server, and a
// group each would cost more than the rest of the run's rule state.
// It keeps of the connection's FlowRef what the key does not say.
type churnFirst struct {
	ns     int64
	frame  flows.FrameRef
	cid    string
	stream int64
	ms     float64
	closed string // closedBy
	sport  uint16
}

// maxChurnFirst bounds the first connections kept.
const maxChurnFirst = 100_000

// pairSeed seeds pairHash.
var pairSeed = maphash.MakeSeed()

// pairHash is the key of a client → server pair's first connection (two
// pairs whose hashes collide, one chance in 2^64 per pair of pairs, would
// make one group).
func pairHash(k churnKey) uint64 { return maphash.Comparable(pairSeed, k) }

func (c *churnCheck) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	if f.Proto != "tcp" || !strings.HasPrefix(f.History, "S") || !strings.ContainsRune(f.History, 'h') {
		return // not a connection the capture saw the client open and the server accept
	}
	k := churnKey{f.SrcAddr, f.DstAddr, f.DstPort}
	frame := flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame}
	e := c.byKey[k]
	if e == nil {
		hk := pairHash(k)
		first, seen := c.first[hk]
		if !seen {
			if len(c.first) < maxChurnFirst {
				c.first[hk] = churnFirst{ns: f.FirstNS, frame: frame, cid: f.CommunityID, stream: f.Stream, sport: f.SrcPort, ms: f.Duration * 1000, closed: closedBy(f.History)}
			} else {
				c.unevaluated++
			}
			return
		}
		delete(c.first, hk)
		ref := flows.FlowRef{CommunityID: first.cid, Proto: f.Proto, SrcAddr: f.SrcAddr, SrcPort: first.sport, DstAddr: f.DstAddr, DstPort: f.DstPort, Stream: first.stream}
		if e = c.g.add(f.SrcAddr+"|"+endpoint(f.DstAddr, f.DstPort), first.ns, first.frame, ref); e == nil {
			c.unevaluated++ // the first; g counted this one in its overflow
			return
		}
		e.data = &churnData{src: f.SrcAddr, dst: f.DstAddr, port: f.DstPort, minPort: first.sport, maxPort: first.sport}
		c.count(e.data.(*churnData), first.sport, first.ms, first.closed)
		c.byKey[k] = e
	}
	e.again(f.FirstNS, frame, f.Ref())
	c.count(e.data.(*churnData), f.SrcPort, f.Duration*1000, closedBy(f.History))
}

// Warnings says how many connections the rule could not weigh: churn is
// judged per client → server pair, and the pairs it tracks are bounded.
func (c *churnCheck) Warnings() []string {
	if c.unevaluated == 0 && c.g.overflow == 0 {
		return nil
	}
	return []string{fmt.Sprintf("%s: %d connection(s) of client → server pairs beyond the first %d were not checked for churn",
		TCPConnectionChurn.ID, c.unevaluated+c.g.overflow, maxGroups)}
}

// count adds one connection's port, duration and close (closedBy) to a
// group.
func (c *churnCheck) count(d *churnData, sport uint16, ms float64, closed string) {
	if ms < c.p.T("max_duration_ms") {
		d.short++
	}
	d.durations.add(ms)
	d.minPort, d.maxPort = min(d.minPort, sport), max(d.maxPort, sport)
	d.ports.add(sport)
	switch closed {
	case "client":
		d.clientFirst++
	case "server":
		d.serverFirst++
	case "reset":
		d.reset++
	}
}

// closedBy says how a connection closed, from Zeek's history letters: with a
// reset ("reset": nobody stays in TIME-WAIT), or with FINs both ways, the
// client's first ("client") or the server's ("server"); "" when it did not
// close within the capture.
func closedBy(h string) string {
	if strings.ContainsAny(h, "RrIi") {
		return "reset"
	}
	c, s := strings.IndexByte(h, 'F'), strings.IndexByte(h, 'f')
	switch {
	case c < 0 || s < 0:
		return ""
	case c < s:
		return "client"
	}
	return "server"
}

// churnRate is a group's connections per second from the first one's
// start to the last one's: n connections n-1 intervals apart. Infinite when
// they all started at once.
func churnRate(n int64, span int64) float64 {
	if span <= 0 {
		return math.Inf(1)
	}
	return float64(n-1) / (float64(span) / 1e9)
}

func (c *churnCheck) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*churnData)
		rate := churnRate(e.count, e.last-e.first)
		if float64(e.count) < c.p.T("min_connections") || rate < c.p.T("min_rate") || 2*d.short <= e.count {
			continue
		}
		report(e.finding(TCPConnectionChurn, c.p.Severity, c.message(e, d, rate),
			fmt.Sprintf("tcp.flags.syn == 1 && tcp.flags.ack == 0 && %s && %s && tcp.dstport == %d", srcFilter(d.src), dstFilter(d.dst), d.port)).
			keyed("client", d.src, "server", endpoint(d.dst, d.port)))
	}
}

func (c *churnCheck) message(e *group, d *churnData, rate float64) string {
	span := float64(e.last-e.first) / 1e9
	var b strings.Builder
	if math.IsInf(rate, 1) {
		fmt.Fprintf(&b, "%s opened %d connections to %s at once", d.src, e.count, endpoint(d.dst, d.port))
	} else {
		fmt.Fprintf(&b, "%s opened %d connections to %s in %s (%s/s)", d.src, e.count, endpoint(d.dst, d.port), durText(span), rateText(rate))
	}
	fmt.Fprintf(&b, ", median duration about %s (%d under %g ms); client ports %d–%d (%d distinct)",
		msText(d.durations.median()), d.short, c.p.T("max_duration_ms"), d.minPort, d.maxPort, d.ports.n)
	fmt.Fprintf(&b, "; %d closed by the client first (TIME-WAIT on the client), %d by the server first, %d with a reset, %d not closed in the capture",
		d.clientFirst, d.serverFirst, d.reset, e.count-d.clientFirst-d.serverFirst-d.reset)
	if d.clientFirst > 0 && span >= 1 {
		// Only a rate sustained for a while says how many ports a
		// steady client holds; a burst holds no more than it opened.
		held := rate * 60 * float64(d.clientFirst) / float64(e.count)
		fmt.Fprintf(&b, "; at this rate about %.0f client ports stay in TIME-WAIT (60 s on Linux; its default range has 28,232)", held)
	}
	b.WriteString(". Reuse connections: HTTP keep-alive, connection pooling; or widen net.ipv4.ip_local_port_range / enable tcp_tw_reuse on the client")
	return b.String()
}

func rateText(r float64) string {
	if r < 10 {
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.0f", r)
}

// portSet counts distinct ports: a short list, then a bitmap of all 65,536.
type portSet struct {
	few  []uint16
	bits *[1024]uint64
	n    int
}

func (s *portSet) add(p uint16) {
	if s.bits == nil {
		for _, q := range s.few {
			if q == p {
				return
			}
		}
		if len(s.few) < 64 {
			s.few = append(s.few, p)
			s.n++
			return
		}
		s.bits = new([1024]uint64)
		for _, q := range s.few {
			s.bits[q>>6] |= 1 << (q & 63)
		}
		s.few = nil
	}
	w, m := &s.bits[p>>6], uint64(1)<<(p&63)
	if *w&m == 0 {
		*w |= m
		s.n++
	}
}

// durationHist keeps durations in ms: the first 64 exactly, then a
// histogram with 4 buckets per doubling from 0.01 ms (bucket 0 holds
// everything shorter) to about 4 days (the last bucket everything longer),
// each bucket with its count and sum.
type durationHist struct {
	exact []float64
	hist  *[136]struct {
		n   uint32
		sum float64
	}
	n uint32
}

func durationBucket(ms float64) int {
	if ms <= 0.01 {
		return 0
	}
	i := int(math.Log2(ms/0.01) * 4)
	return min(max(i, 0), 135)
}

func (h *durationHist) add(ms float64) {
	h.n++
	if h.hist == nil && len(h.exact) < 64 {
		h.exact = append(h.exact, ms)
		return
	}
	if h.hist == nil {
		h.hist = new([136]struct {
			n   uint32
			sum float64
		})
		for _, v := range h.exact {
			h.put(v)
		}
		h.exact = nil
	}
	h.put(ms)
}

func (h *durationHist) put(ms float64) {
	b := &h.hist[durationBucket(ms)]
	b.n++
	b.sum += ms
}

// median is exact up to 64 durations; past them, the mean of the bucket
// holding the median (within 19 % of it, the bucket's width).
func (h *durationHist) median() float64 {
	if h.hist == nil {
		if len(h.exact) == 0 {
			return 0
		}
		s := slices.Clone(h.exact)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	half, seen := (h.n+1)/2, uint32(0)
	for _, b := range h.hist {
		seen += b.n
		if seen >= half && b.n > 0 {
			return b.sum / float64(b.n)
		}
	}
	return 0
}

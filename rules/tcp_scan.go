package rules

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// TCPPortScan reports one source trying many ports of one host.
var TCPPortScan = &Rule{
	ID:    "tcp-port-scan",
	Title: "TCP port scan",
	Doc: `One source sent SYNs to many ports of one host, and most got no answer or a
reset: a port scan (nmap -sS and the like), a vulnerability scanner, or a
misconfigured client cycling through ports. The attempts are one finding here,
not one "unanswered" or "refused" finding per port: tcp-syn-unanswered and
tcp-connection-refused leave them out.

The finding names the scanner, the target, how many ports were tried and how
many answered (open: a SYN-ACK, and no data after it), refused (closed: RST) or
stayed silent (filtered), over what time and at what rate.

Next: whether the scanner is yours (an inventory or security scanner) or not;
"ss -ltn" on the target for what the open ports are; firewall logs on the path
for the source; rate-limit or block it ("nft add rule ... ip saddr SRC drop").`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "min_ports", Default: 10, Unit: "ports", Doc: "distinct ports of one host that got no answer or a reset"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &scanCheck{p: p, sweep: false} },
}

// TCPSweep reports one source trying one port on many hosts.
var TCPSweep = &Rule{
	ID:    "tcp-sweep",
	Title: "TCP sweep of many hosts on one port",
	Doc: `One source sent SYNs to the same port on many hosts, and most got no answer or a
reset: a sweep looking for a service (a worm, a scanner, a monitoring system
whose targets are gone), or a client working through a stale list of servers.
The attempts are one finding here, not one "unanswered" or "refused" finding
per host: tcp-syn-unanswered and tcp-connection-refused leave them out.

The finding names the source, the port, how many hosts were tried and how many
answered, refused or stayed silent, over what time and at what rate.

Next: whether the source is yours; its process ("ss -tnp" on it) and its
configuration (a stale server list); firewall logs; block or rate-limit it.`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "min_hosts", Default: 10, Unit: "hosts", Doc: "distinct hosts that got no answer or a reset on one port"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &scanCheck{p: p, sweep: true} },
}

// outcome is what became of one connection attempt.
type outcome uint8

const (
	answered outcome = 1 << iota // SYN-ACK: the port is open
	refused                      // RST to the SYN: closed
	silent                       // nothing: filtered
)

// attemptOf classifies a flow as a connection attempt; ok is false for a
// flow that did not start with the client's SYN (mid-stream, UDP).
func attemptOf(f *flows.Record) (o outcome, ok bool) {
	if f.Proto != "tcp" || !strings.HasPrefix(f.History, "S") {
		return 0, false
	}
	switch {
	case answeredOutOfSight(f):
		return answered, true // the SYN-ACK is only missing from the capture
	case f.State == "S0":
		return silent, true
	case f.State == "REJ":
		return refused, true
	case strings.ContainsRune(f.History, 'h'):
		return answered, true
	}
	return 0, false // SYN then the client's own reset, or other odd endings
}

// scanTally counts the attempts from one source to one host (a port scan)
// or to one port (a sweep), by distinct target. Answered attempts are
// counted; their targets are kept only once the tally has a failed one
// (most tallies are a client's ordinary connections to a server, and a
// map each would cost more than the rest of the run's rule state).
type scanTally struct {
	src, dst        string // dst "" for a sweep
	port            uint16 // 0 for a port scan
	targets         map[string]outcome
	ports           map[uint16]outcome
	answered        int64
	refused, silent int64 // attempts
	first, last     int64
	evidence        []flows.FrameRef
	openBefore      []uint16 // a port scan's answered ports seen before its first failure, a few
	openHostsBefore []string // a sweep's
}

// failedTargets counts the distinct targets (ports or hosts) that never
// answered.
func (t *scanTally) failedTargets() int {
	n := 0
	for _, o := range t.ports {
		if o&answered == 0 {
			n++
		}
	}
	for _, o := range t.targets {
		if o&answered == 0 {
			n++
		}
	}
	return n
}

// maxScanTargets bounds the distinct targets one tally remembers (a port
// scan has at most 65,535); past it, attempts are still counted.
const maxScanTargets = 1 << 16

type pairKey struct{ src, dst string }

type sweepKey struct {
	src  string
	port uint16
}

// scanBook tallies every connection attempt by (source, host) and by
// (source, port), bounded like the groups. One book serves the run's scan
// rules and the per-port rules that leave scans to them: the engine feeds
// it once per flow (Params.scans).
type scanBook struct {
	pairs  map[pairKey]*scanTally
	sweeps map[sweepKey]*scanTally
	order  []*scanTally
	found  *scans // the scans, worked out once at the end
	budget int    // targets the book may still remember, all tallies together
}

// maxScanEntries bounds the targets the scan book remembers in all: a
// million (about 70 MB); a sweep of a /16 on many ports counts its attempts
// past that, but names no new target.
const maxScanEntries = 1 << 20

func newScanBook() *scanBook {
	return &scanBook{pairs: map[pairKey]*scanTally{}, sweeps: map[sweepKey]*scanTally{}, budget: maxScanEntries}
}

// addFlow tallies a flow if it is a connection attempt. An answered one
// counts only if no data followed (a probe: the scanner resets or drops
// it): a client's ordinary connections are not tallied at all, which keeps
// the book small on a capture of real traffic.
func (b *scanBook) addFlow(f *flows.Record) {
	o, ok := attemptOf(f)
	if !ok || o == answered && f.OrigPayload+f.RespPayload > 0 {
		return
	}
	pk := pairKey{f.SrcAddr, f.DstAddr}
	t := b.pairs[pk]
	if t == nil && len(b.pairs) < maxGroups {
		t = &scanTally{src: f.SrcAddr, dst: f.DstAddr, first: f.FirstNS}
		b.pairs[pk] = t
		b.order = append(b.order, t)
	}
	if t != nil {
		t.count(f, o)
		mark(&t.ports, &t.openBefore, f.DstPort, o, &b.budget)
	}
	sk := sweepKey{f.SrcAddr, f.DstPort}
	w := b.sweeps[sk]
	if w == nil && len(b.sweeps) < maxGroups {
		w = &scanTally{src: f.SrcAddr, port: f.DstPort, first: f.FirstNS}
		b.sweeps[sk] = w
		b.order = append(b.order, w)
	}
	if w != nil {
		w.count(f, o)
		mark(&w.targets, &w.openHostsBefore, f.DstAddr, o, &b.budget)
	}
}

// mark records a target's outcome in a tally's map of targets (ports of a
// port scan, hosts of a sweep). The map is made at the first failed
// attempt; the few answered targets seen before it wait in before.
// budget is what the whole book may still remember of targets: past it,
// attempts are counted and no new target is kept.
func mark[K comparable](m *map[K]outcome, before *[]K, k K, o outcome, budget *int) {
	switch {
	case *m != nil || o != answered:
		if *m == nil {
			*m = map[K]outcome{}
			for _, b := range *before {
				(*m)[b] |= answered
			}
			*before = nil
		}
		if _, ok := (*m)[k]; ok {
			(*m)[k] |= o
		} else if len(*m) < maxScanTargets && *budget > 0 {
			(*m)[k] = o
			*budget--
		}
	case len(*before) < 16:
		*before = append(*before, k)
	}
}

func (t *scanTally) count(f *flows.Record, o outcome) {
	switch o {
	case answered:
		t.answered++
	case refused:
		t.refused++
	default:
		t.silent++
	}
	t.first, t.last = min(t.first, f.FirstNS), max(t.last, f.FirstNS)
	if len(t.evidence) < 5 && o != answered && f.FirstFrame > 0 {
		t.evidence = append(t.evidence, flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame})
	}
}

// scans are the attempts that belong to a port scan or a sweep, as the
// scan rules (when enabled, with their thresholds) see them.
type scans struct {
	pairs  map[pairKey]bool
	sweeps map[sweepKey]bool
}

// scansOf finds the scans in a book, with the thresholds of the scan rules
// enabled in p's run (worked out once: every rule of the run has the same).
func (b *scanBook) scansOf(p Params) scans {
	if b.found != nil {
		return *b.found
	}
	s := scans{pairs: map[pairKey]bool{}, sweeps: map[sweepKey]bool{}}
	if sp, ok := p.Enabled(TCPPortScan.ID); ok {
		for k, t := range b.pairs {
			if t.ports != nil && float64(t.failedTargets()) >= sp.T("min_ports") {
				s.pairs[k] = true
			}
		}
	}
	if sp, ok := p.Enabled(TCPSweep.ID); ok {
		for k, t := range b.sweeps {
			if t.targets != nil && float64(t.failedTargets()) >= sp.T("min_hosts") {
				s.sweeps[k] = true
			}
		}
	}
	b.found = &s
	return s
}

// covers says whether a failed attempt belongs to a reported scan.
func (s scans) covers(src, dst string, port uint16) bool {
	return s.pairs[pairKey{src, dst}] || s.sweeps[sweepKey{src, port}]
}

// scanCheck is the checker of tcp-port-scan and tcp-sweep; the engine
// feeds the run's scanBook.
type scanCheck struct {
	p     Params
	sweep bool
}

func (c *scanCheck) Event(*Event, func(Finding)) {}

func (c *scanCheck) Finish(report func(Finding)) {
	book := c.p.scans
	found := book.scansOf(c.p)
	var list []*scanTally
	for _, t := range book.order {
		if c.sweep && t.dst == "" && found.sweeps[sweepKey{t.src, t.port}] ||
			!c.sweep && t.dst != "" && found.pairs[pairKey{t.src, t.dst}] {
			list = append(list, t)
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		return len(list[i].ports)+len(list[i].targets) > len(list[j].ports)+len(list[j].targets)
	})
	for _, t := range list {
		report(c.finding(t))
	}
}

func (c *scanCheck) finding(t *scanTally) Finding {
	n := t.answered + t.refused + t.silent
	dur := float64(t.last-t.first) / 1e9
	rate := ""
	if dur > 0 {
		rate = fmt.Sprintf(", %.0f attempts/s", float64(n)/dur)
	}
	counts := fmt.Sprintf("%d attempts: %d answered, %d refused, %d silent; over %s%s", n, t.answered, t.refused, t.silent, durText(dur), rate)
	var r *Rule
	var msg, filter string
	var key []string
	if c.sweep {
		key = []string{"scanner", t.src, "port", fmt.Sprint(t.port)}
		r = TCPSweep
		open := first(answeredTargets(t.targets), 10)
		msg = fmt.Sprintf("%s tried port %d on %d hosts (%s)", t.src, t.port, len(t.targets), counts)
		if len(open) > 0 {
			msg += "; answered on " + strings.Join(open, ", ")
		}
		filter = fmt.Sprintf("tcp.flags.syn == 1 && tcp.flags.ack == 0 && %s && tcp.dstport == %d", srcFilter(t.src), t.port)
	} else {
		r = TCPPortScan
		key = []string{"scanner", t.src, "target", t.dst}
		var open []string
		for _, port := range answeredTargets(t.ports) {
			open = append(open, fmt.Sprint(port))
		}
		msg = fmt.Sprintf("%s scanned %d ports of %s (%s)", t.src, len(t.ports), t.dst, counts)
		if len(open) > 0 {
			msg += "; open: " + strings.Join(first(open, 20), ", ")
		}
		filter = fmt.Sprintf("tcp.flags.syn == 1 && tcp.flags.ack == 0 && %s && %s", srcFilter(t.src), dstFilter(t.dst))
	}
	sort.Slice(t.evidence, func(i, j int) bool {
		a, b := t.evidence[i], t.evidence[j]
		return a.File < b.File || a.File == b.File && a.Frame < b.Frame
	})
	return Finding{
		Rule: r.ID, Severity: c.p.Severity, Title: r.Title, Message: msg,
		First: flows.FormatTime(t.first), Last: flows.FormatTime(t.last), FirstNS: t.first, LastNS: t.last,
		Count: n, Evidence: evidence(t.evidence...), Filter: filter,
	}.keyed(key...)
}

// answeredTargets are a tally's targets that answered, in order.
func answeredTargets[K cmp.Ordered](m map[K]outcome) []K {
	var out []K
	for k, o := range m {
		if o&answered != 0 {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}

func durText(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}

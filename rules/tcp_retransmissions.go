package rules

import (
	"fmt"
	"sort"

	"github.com/pcapx/pcapx/flows"
)

// TCPRetransmissions reports connections that had to send data again.
var TCPRetransmissions = &Rule{
	ID:    "tcp-retransmissions",
	Title: "TCP segments retransmitted",
	Doc: `A connection sent segments again: the first copy was lost (or its ACK was), or
the sender gave up waiting (a retransmission timeout). Every retransmission costs
at least a round trip, and timeouts cost 200 ms to seconds, so even a few percent
makes a transfer slow. Several flows with retransmissions to one server are one
finding with their totals and the worst flow. A segment the capture holds twice
(the same data segment, FIN or SYN with the same IP identification within
100 ms, or within 1 ms without one: a SPAN port copying both sides of a router,
a mirrored VLAN and its trunk) is no resend: it is left out of the counts and
said apart, although Wireshark flags it as a retransmission. Nor is data sent
again in smaller segments after an ICMP error lowered the path MTU: that is
PMTU discovery working, which pmtu-frag-needed reports. The resends of a wait
tcp-stall reports are that finding's evidence and are not counted here either,
nor is new data that Wireshark flags because some host's ACKs carried a few zero
bytes of padding counted as payload, whose sequence numbers the data reuses, nor
a FIN without data sent again (the close, after the transfer).

Likely causes: packet loss on the path (a congested or faulty link, a full queue,
a policer), a duplex mismatch, a flapping route; fast retransmissions point at
loss the receiver noticed, timeouts at loss of the tail or of ACKs; spurious ones
at delay spikes, not loss.

Next: see where the loss happens — "previous segment not captured" means before
the capture point. On the hosts: "netstat -s | grep -i retrans", "ss -ti dst HOST"
(retrans, rto); on the path: interface error and drop counters, "mtr HOST".`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "min_count", Default: 3, Unit: "segments", Doc: "report a flow with at least this many retransmissions"},
		{Name: "min_percent", Default: 1, Unit: "percent", Doc: "... that are at least this share of its packets"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &tcpRetx{p: p, servers: map[string]*retxServer{}} },
}

// tcpRetx keeps each server's flows with retransmissions: one flow is
// reported as itself, several as one finding for the server (seven
// connections of one client to one server are one path's loss).
type tcpRetx struct {
	p       Params
	servers map[string]*retxServer
	order   []*retxServer
	over    int64 // flows past maxGroups servers
}

// retxServer is what tcp-retransmissions keeps of one server endpoint.
type retxServer struct {
	key            string // server:port
	addr           string
	port           uint16
	one            Finding // the first flow's own finding
	flows          int64
	retx, pkts     int64
	fast, spurious int64
	worst          float64 // the worst flow's share, percent
	worstFlow      string
	first, last    int64
	evidence       []Evidence
}

func (c *tcpRetx) Event(ev *Event, report func(Finding)) {
	f := ev.Flow
	// Segments the capture holds twice are not loss (flows/copies.go):
	// they count neither as resends nor as segments. Nor is data sent
	// again in smaller segments after an ICMP error lowered the path MTU
	// (PMTU discovery, which pmtu-frag-needed reports), nor the resends
	// of a wait tcp-stall reports: those count as segments, not as
	// resends here.
	// And a segment of new data that Wireshark flags only because zero
	// bytes of padding on ACKs took its sequence numbers first
	// (flows.IsPadding) resends nothing.
	// Nor is a FIN without data sent again: the close, which does not slow
	// the transfer.
	resent := max(f.Resends()-f.NotResent-f.FINResends, 0)
	var pmtuResends int64
	if p := f.PMTU; p != nil && p.Reported != nil {
		pmtuResends = min(p.Reported.Resends, resent)
	}
	stall := min(stallResends(c.p, f), resent-pmtuResends)
	retx := resent - pmtuResends - stall
	if f.Proto != "tcp" || float64(retx) < c.p.T("min_count") {
		return
	}
	if blackHoleExplains(c.p, f) {
		return // pmtu-black-hole reports these retransmissions with their cause
	}
	if f.OrigPayload+f.RespPayload == 0 {
		// Only SYNs, SYN-ACKs or FINs were sent again: a connection
		// attempt, which tcp-syn-unanswered, slow-connect and the scan
		// rules report with its cause.
		return
	}
	pkts := f.OrigPackets + f.RespPackets - f.RetransmissionCopies
	pct := 100 * float64(retx) / float64(max(pkts, 1))
	if pct < c.p.T("min_percent") {
		return
	}
	fast, spurious := min(f.FastRetransmissions, retx), min(f.SpuriousRetransmissions, retx)
	sev := c.p.Severity
	msg := fmt.Sprintf("%s:%d → %s:%d: %d of %d segments retransmitted (%.1f%%; %d fast, %d spurious)",
		f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort, retx, pkts, pct, fast, spurious)
	if n := int(f.RetransmissionCopies); n > 0 {
		msg += fmt.Sprintf("; %d more %s the capture holds twice (not counted; Wireshark flags %s)",
			n, plural(n, "was a segment", "were segments"), plural(n, "it as a retransmission", "them as retransmissions"))
	}
	if n := int(f.NotResent); n > 0 {
		msg += fmt.Sprintf("; %d more sent nothing again: zero bytes of padding on ACKs, or new data on the sequence numbers the padding took (not counted; Wireshark flags %s)",
			n, plural(n, "it as a retransmission", "them as retransmissions"))
	}
	if n := int(f.FINResends); n > 0 {
		msg += fmt.Sprintf("; %d more %s the close (not counted)", n, plural(n, "was a FIN sent again:", "were FINs sent again:"))
	}
	if stall > 0 {
		msg += fmt.Sprintf("; %d more %s the stall tcp-stall reports (not counted)", stall, plural(int(stall), "was a resend during", "were resends during"))
	}
	if f.LostSegments > 0 {
		msg += fmt.Sprintf("; %d segments were lost before the capture point", f.LostSegments)
	}
	if p := f.PMTU; p != nil && p.Reported != nil {
		msg += fmt.Sprintf("; an ICMP error from %s lowered the path MTU to %d bytes", p.Reported.Router, p.Reported.MTU)
		if pmtuResends > 0 {
			msg += fmt.Sprintf(" and %d more were data sent before it sent again to fit (PMTU discovery at work, pmtu-frag-needed; not counted)", pmtuResends)
		}
	}
	if f.CaptureSide == "client" || f.CaptureSide == "server" {
		msg += fmt.Sprintf(" (captured at the %s)", f.CaptureSide)
	}
	fd := flowFinding(TCPRetransmissions, sev, f, retx, msg, "tcp.analysis.retransmission", f.Evidence, func(e *flows.TCPEvidence) flows.FrameRefs { return e.Retransmissions })
	key := endpoint(f.DstAddr, f.DstPort)
	g := c.servers[key]
	if g == nil {
		if len(c.servers) >= maxGroups {
			c.over++
			return
		}
		g = &retxServer{key: key, addr: f.DstAddr, port: f.DstPort, one: fd, first: fd.FirstNS, last: fd.LastNS}
		c.servers[key] = g
		c.order = append(c.order, g)
	}
	g.flows++
	g.retx += retx
	g.pkts += pkts
	g.fast += fast
	g.spurious += spurious
	if pct > g.worst {
		g.worst, g.worstFlow = pct, fmt.Sprintf("%s:%d → %s:%d", f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort)
	}
	g.first, g.last = min(g.first, fd.FirstNS), max(g.last, fd.LastNS)
	for _, e := range fd.Evidence {
		if len(g.evidence) < 5 {
			g.evidence = append(g.evidence, e)
		}
	}
}

func (c *tcpRetx) Finish(report func(Finding)) {
	sort.SliceStable(c.order, func(i, j int) bool { return c.order[i].retx > c.order[j].retx })
	for _, g := range c.order {
		if g.flows == 1 {
			report(g.one)
			continue
		}
		msg := fmt.Sprintf("%d connections with %s: %d of %d segments retransmitted (%.1f%%; %d fast, %d spurious), the worst %s at %.1f%%",
			g.flows, g.key, g.retx, g.pkts, 100*float64(g.retx)/float64(max(g.pkts, 1)), g.fast, g.spurious, g.worstFlow, g.worst)
		report(Finding{Rule: TCPRetransmissions.ID, Severity: c.p.Severity, Title: TCPRetransmissions.Title, Message: msg, Count: g.retx,
			First: flows.FormatTime(g.first), Last: flows.FormatTime(g.last), FirstNS: g.first, LastNS: g.last, Evidence: g.evidence,
			Filter: fmt.Sprintf("%s && tcp.port == %d && tcp.analysis.retransmission", hostFilter(g.addr), g.port)}.keyed("server", g.key))
	}
	if c.over > 0 {
		report(Finding{Rule: TCPRetransmissions.ID, Severity: c.p.Severity, Title: TCPRetransmissions.Title, Count: c.over, Evidence: []Evidence{},
			Message: fmt.Sprintf("%d more flows with retransmissions to servers beyond the first %d", c.over, maxGroups), Filter: "tcp.analysis.retransmission"})
	}
}

// flowFinding builds a finding about one TCP flow, with the flow's evidence
// frames of one kind and a display filter narrowed to that flow.
func flowFinding(r *Rule, sev Severity, f *flows.Record, count int64, msg, expert string, ev *flows.TCPEvidence, pick func(*flows.TCPEvidence) flows.FrameRefs) Finding {
	ref := f.Ref()
	fd := Finding{
		Rule: r.ID, Severity: sev, Title: r.Title, Message: msg, Count: count, Flow: &ref,
		First: f.First.String(), Last: f.Last.String(), FirstNS: f.FirstNS, LastNS: f.LastNS,
		Filter:   ref.DisplayFilter(),
		Evidence: []Evidence{},
		// One finding per flow, but the flow's client port changes with
		// every capture: the server endpoint is what identifies it.
		Key: map[string]string{"server": endpoint(f.DstAddr, f.DstPort)},
	}
	if expert != "" {
		fd.Filter += " && " + expert
	}
	if ev != nil {
		fd.Evidence = evidence(pick(ev)...)
		fd.First, fd.FirstNS = flows.FormatTime(ev.FirstProblem), ev.FirstProblem
		fd.Last, fd.LastNS = flows.FormatTime(ev.LastProblem), ev.LastProblem
	}
	return fd
}

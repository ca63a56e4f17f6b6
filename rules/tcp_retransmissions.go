package rules

import (
	"fmt"

	"github.com/pcapx/pcapx/flows"
)

// TCPRetransmissions reports connections that had to send data again.
var TCPRetransmissions = &Rule{
	ID:    "tcp-retransmissions",
	Title: "TCP segments retransmitted",
	Doc: `A connection sent segments again: the first copy was lost (or its ACK was), or
the sender gave up waiting (a retransmission timeout). Every retransmission costs
at least a round trip, and timeouts cost 200 ms to seconds, so even a few percent
makes a transfer slow.

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
	New:    func(p Params) Checker { return &tcpRetx{p: p} },
}

type tcpRetx struct{ p Params }

func (c *tcpRetx) Event(ev *Event, report func(Finding)) {
	f := ev.Flow
	if f.Proto != "tcp" || float64(f.Retransmissions) < c.p.T("min_count") {
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
	pkts := f.OrigPackets + f.RespPackets
	pct := 100 * float64(f.Retransmissions) / float64(max(pkts, 1))
	if pct < c.p.T("min_percent") {
		return
	}
	sev := c.p.Severity
	msg := fmt.Sprintf("%s:%d → %s:%d: %d of %d segments retransmitted (%.1f%%; %d fast, %d spurious)",
		f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort, f.Retransmissions, pkts, pct, f.FastRetransmissions, f.SpuriousRetransmissions)
	if f.LostSegments > 0 {
		msg += fmt.Sprintf("; %d segments were lost before the capture point", f.LostSegments)
	}
	if p := f.PMTU; p != nil && p.Reported != nil {
		msg += fmt.Sprintf("; an ICMP error from %s lowered the path MTU to %d bytes, so resends after it are PMTU discovery at work (pmtu-frag-needed)", p.Reported.Router, p.Reported.MTU)
	}
	if f.CaptureSide == "client" || f.CaptureSide == "server" {
		msg += fmt.Sprintf(" (captured at the %s)", f.CaptureSide)
	}
	report(flowFinding(TCPRetransmissions, sev, f, f.Retransmissions, msg, "tcp.analysis.retransmission", f.Evidence, func(e *flows.TCPEvidence) flows.FrameRefs { return e.Retransmissions }))
}

func (c *tcpRetx) Finish(func(Finding)) {}

// flowFinding builds a finding about one TCP flow, with the flow's evidence
// frames of one kind and a display filter narrowed to that flow.
func flowFinding(r *Rule, sev Severity, f *flows.Record, count int64, msg, expert string, ev *flows.TCPEvidence, pick func(*flows.TCPEvidence) flows.FrameRefs) Finding {
	ref := f.Ref()
	fd := Finding{
		Rule: r.ID, Severity: sev, Title: r.Title, Message: msg, Count: count, Flow: &ref,
		First: f.First.String(), Last: f.Last.String(), FirstNS: f.FirstNS, LastNS: f.LastNS,
		Filter:   ref.DisplayFilter(),
		Evidence: []Evidence{},
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

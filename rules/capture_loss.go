package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// CaptureLoss reports data the hosts acknowledged that the capture missed.
var CaptureLoss = &Rule{
	ID:    "capture-loss",
	Title: "Capture quality: the capture missed packets",
	Doc: `The hosts acknowledged TCP data that is not in the capture ("ACKed unseen
segment"): the capturing host, its buffer or the mirror port dropped packets
that did reach their destination. The measure is Zeek's capture_loss: the share
of acknowledged bytes never seen. Findings about loss on the path (retransmissions,
lost segments, stalls) may then partly be the capture's own loss, and byte
counts are low.

Next: the capture tool's own drop counters ("packets dropped by kernel" at the
end of tcpdump, "dumpcap -S"), a bigger capture buffer ("tcpdump -B 65536"),
a capture filter that keeps less, capturing on the host rather than a busy
mirror port (SPAN oversubscription), or a TAP.`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "min_percent", Default: 1, Unit: "percent", Doc: "report from this share of acknowledged bytes missing"},
		{Name: "min_acked_kb", Default: 64, Unit: "KiB", Doc: "... when the hosts acknowledged at least this much (a tiny capture says little)"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &captureLoss{p: p} },
}

type captureLoss struct {
	p             Params
	run           RunInfo
	acked, unseen int64
	flows         int64
	worst         []string // the flows that missed the most, a few
	worstN        []int64
}

func (c *captureLoss) Run(info RunInfo) { c.run = info }

func (c *captureLoss) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	c.acked += f.AckedBytes
	if f.UnseenBytes <= 0 {
		return
	}
	c.unseen += f.UnseenBytes
	c.flows++
	name := fmt.Sprintf("%s:%d → %s:%d (%d bytes)", f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort, f.UnseenBytes)
	// Keep the three flows that missed the most.
	i := len(c.worstN)
	for i > 0 && c.worstN[i-1] < f.UnseenBytes {
		i--
	}
	if i < 3 {
		c.worst = append(c.worst[:i], append([]string{name}, c.worst[i:]...)...)
		c.worstN = append(c.worstN[:i], append([]int64{f.UnseenBytes}, c.worstN[i:]...)...)
		if len(c.worst) > 3 {
			c.worst, c.worstN = c.worst[:3], c.worstN[:3]
		}
	}
}

func (c *captureLoss) Finish(report func(Finding)) {
	if c.acked < int64(c.p.T("min_acked_kb")*1024) || c.unseen == 0 {
		return
	}
	pct := 100 * float64(c.unseen) / float64(c.acked)
	if pct < c.p.T("min_percent") {
		return
	}
	msg := fmt.Sprintf("the capture missed about %.1f%% of the TCP data the hosts acknowledged (%d of %d bytes, in %d flow(s); most in %s): "+
		"loss findings (retransmissions, lost segments, stalls) may partly be the capture's own, and byte counts are low",
		pct, c.unseen, c.acked, c.flows, strings.Join(c.worst, ", "))
	report(runFinding(CaptureLoss, c.p.Severity, c.run, c.flows, msg, "tcp.analysis.ack_lost_segment"))
}

// runFinding is a finding about the whole capture: no flow, no frames,
// the capture's time span.
func runFinding(r *Rule, sev Severity, run RunInfo, count int64, msg, filter string) Finding {
	return Finding{
		Rule: r.ID, Severity: sev, Title: r.Title, Message: msg, Count: count,
		First: flows.FormatTime(run.FirstNS), Last: flows.FormatTime(run.LastNS), FirstNS: run.FirstNS, LastNS: run.LastNS,
		Evidence: []Evidence{}, Filter: filter,
	}
}

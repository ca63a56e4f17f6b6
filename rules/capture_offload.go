package rules

import (
	"fmt"
	"strings"
)

// CaptureOffload reports segments larger than the MSS: the capture point
// sat above segmentation offload.
var CaptureOffload = &Rule{
	ID:    "capture-offload",
	Title: "Capture quality: segmentation offload (segments larger than the MSS)",
	Doc: `Some TCP segments in the capture are larger than the MSS their receiver
advertised: the capture was taken on a host whose network card segments for the
stack (TSO/GSO when sending, GRO/LRO when receiving). The capture shows the
stack's super-segments, not the packets on the wire: packet counts, sizes and
fine timings differ from the wire's, and Wireshark shows the same artefacts.
pcapx's path-MTU diagnosis leaves such flows out.

Next: capture with offload switched off ("ethtool -K IFACE tso off gso off gro
off lro off", and back on after) or on the wire (a mirror port or a TAP);
"ethtool -k IFACE" shows the offloads.`,
	Severity: Info,
	Events:   []EventKind{EventFlow},
	New:      func(p Params) Checker { return &captureOffload{p: p} },
}

type captureOffload struct {
	p       Params
	run     RunInfo
	n       int64
	largest int
	hosts   []string
}

func (c *captureOffload) Run(info RunInfo) { c.run = info }

func (c *captureOffload) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	if f.OffloadSeg == 0 {
		return
	}
	c.n++
	c.largest = max(c.largest, f.OffloadSeg)
	for _, h := range []string{f.SrcAddr, f.DstAddr} {
		if len(c.hosts) < 4 && !contains(c.hosts, h) {
			c.hosts = append(c.hosts, h)
		}
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func (c *captureOffload) Finish(report func(Finding)) {
	if c.n == 0 {
		return
	}
	msg := fmt.Sprintf("%d TCP flow(s) carry segments larger than the MSS (up to %d bytes), between %s: the capture shows segmentation offload's super-segments, not wire packets; sizes and packet counts are the stack's",
		c.n, c.largest, strings.Join(c.hosts, ", "))
	report(runFinding(CaptureOffload, c.p.Severity, c.run, c.n, msg, "tcp.len > 1460"))
}

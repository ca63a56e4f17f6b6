package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// CaptureOffload reports segments larger than the MSS: the capture point
// sat above segmentation offload.
var CaptureOffload = &Rule{
	ID:    "capture-offload",
	Title: "Capture quality: segmentation offload (segments larger than the MSS)",
	Doc: `Some TCP segments in the capture are larger than the MSS their receiver
advertised: the capture was taken on a host whose network card segments for the
stack (TSO/GSO when sending, GRO/LRO when receiving). Or one host's data
segments all carry wrong TCP checksums while its peer's are right (the first
few of each flow are checked): its card fills them in after the capture point
(checksum offload) — harmless, though Wireshark flags every one. The capture shows the
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
	minMSS  int              // the smallest MSS a super-segment passed
	frames  []flows.FrameRef // the largest super-segment of the first flows
	hosts   []string
	more    bool     // hosts beyond those kept
	sums    int64    // flows whose one side's checksums are all left to the NIC
	sumFrom []string // those sides' addresses, a few
}

func (c *captureOffload) Run(info RunInfo) { c.run = info }

func (c *captureOffload) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	if f.ChecksumOffload != "" {
		c.sums++
		h := f.SrcAddr
		if f.ChecksumOffload == "server" {
			h = f.DstAddr
		}
		if len(c.sumFrom) < 4 && !slices.Contains(c.sumFrom, h) {
			c.sumFrom = append(c.sumFrom, h)
		}
	}
	if f.OffloadSeg == 0 {
		return
	}
	c.n++
	c.largest = max(c.largest, f.OffloadSeg)
	if c.minMSS == 0 || f.OffloadMSS < c.minMSS { // OffloadSeg > 0 comes with its MSS
		c.minMSS = f.OffloadMSS
	}
	if len(c.frames) < maxOffloadEvidence {
		c.frames = append(c.frames, f.OffloadFrame)
	}
	for _, h := range []string{f.SrcAddr, f.DstAddr} {
		switch {
		case slices.Contains(c.hosts, h):
		case len(c.hosts) < 4:
			c.hosts = append(c.hosts, h)
		default:
			c.more = true
		}
	}
}

// maxOffloadEvidence is how many flows' super-segments are evidence.
const maxOffloadEvidence = 5

func (c *captureOffload) Finish(report func(Finding)) {
	if c.n == 0 && c.sums == 0 {
		return
	}
	var parts []string
	if c.n > 0 {
		hosts := strings.Join(c.hosts, ", ")
		if c.more {
			hosts += ", …"
		}
		parts = append(parts, fmt.Sprintf("%d TCP flow(s) carry segments larger than the MSS (up to %d bytes), between %s: the capture shows segmentation offload's super-segments, not wire packets; sizes and packet counts are the stack's",
			c.n, c.largest, hosts))
	}
	if c.sums > 0 {
		parts = append(parts, fmt.Sprintf("in %d TCP flow(s) the data segments %s sent carry wrong checksums (the first %d checked of each) while its peers' are right: checksum offload, the capture taken before the NIC fills them in (harmless; Wireshark calls them bad checksums)",
			c.sums, strings.Join(c.sumFrom, ", "), flows.ChecksumSamples))
	}
	var filter string
	if c.n > 0 {
		// Segments above the smallest MSS passed, between the hosts when
		// they are all named.
		filter = fmt.Sprintf("tcp.len > %d", c.minMSS)
		if !c.more {
			filter += " && " + hostsFilter(c.hosts)
		}
	} else {
		filter = "tcp.checksum.status == \"Bad\""
	}
	fd := runFinding(CaptureOffload, c.p.Severity, c.run, c.n+c.sums, strings.Join(parts, "; "), filter)
	slices.SortFunc(c.frames, func(a, b flows.FrameRef) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Frame, b.Frame))
	})
	fd.Evidence = evidence(c.frames...)
	report(fd)
}

package rules

import "fmt"

// CaptureMidstream reports a capture that started after many of its
// connections.
var CaptureMidstream = &Rule{
	ID:    "capture-midstream",
	Title: "Capture quality: connections already open when the capture started",
	Doc: `A large share of the TCP connections began before the capture did: their
handshakes are missing, so their round-trip times, MSS, window scaling and
capture side are unknown, and the rules that need those (slow-connect, the
path RTT of the other timing rules, pmtu-black-hole, sender-side retransmission
counts) skip or judge them less precisely. Findings about these flows are still
right about what the capture shows.

Next: start the capture before the traffic of interest (before the client
connects, or restart the client's connections), or capture longer.`,
	Severity: Info,
	Thresholds: []Threshold{
		{Name: "min_percent", Default: 20, Unit: "percent", Doc: "report from this share of TCP connections without a captured handshake"},
		{Name: "min_flows", Default: 5, Unit: "flows", Doc: "... when at least this many"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &captureMidstream{p: p} },
}

type captureMidstream struct {
	p        Params
	run      RunInfo
	tcp, mid int64
}

func (c *captureMidstream) Run(info RunInfo) { c.run = info }

func (c *captureMidstream) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	if f.Proto != "tcp" {
		return
	}
	c.tcp++
	if f.MidStream {
		c.mid++
	}
}

func (c *captureMidstream) Finish(report func(Finding)) {
	if c.tcp == 0 || float64(c.mid) < c.p.T("min_flows") {
		return
	}
	pct := 100 * float64(c.mid) / float64(c.tcp)
	if pct < c.p.T("min_percent") {
		return
	}
	msg := fmt.Sprintf("%d of %d TCP connections (%.0f%%) were already open when the capture started: their handshake timings, MSS and capture side are unknown, so the timing and path-MTU rules skip or judge them less precisely",
		c.mid, c.tcp, pct)
	report(runFinding(CaptureMidstream, c.p.Severity, c.run, c.mid, msg, "tcp && !tcp.analysis.initial_rtt"))
}

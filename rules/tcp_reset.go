package rules

import (
	"fmt"
	"strings"
)

// TCPResetMidstream reports connections reset while data was in flight.
var TCPResetMidstream = &Rule{
	ID:    "tcp-reset-midstream",
	Title: "TCP connections reset with data in flight",
	Doc: `An established connection was reset (RST) while one side had sent data the other
had not acknowledged: a transfer was cut off, not closed. The finding says which
side reset and how much was in flight each way. A reset after everything was
acknowledged, or with only a few bytes in flight (a browser closing a finished
TLS connection while the server's close_notify is on its way), is not reported.

Likely causes: the application aborted (a crash, a timeout, a client that gave
up), a load balancer or proxy killing the connection (idle or request timeout,
a backend gone), a firewall or IPS injecting resets, a NAT that lost the
connection's state.

Next: the logs of the side that reset, at that time; load balancer and proxy
timeouts; whether the RST's TTL differs from the host's other packets (an
injected reset); "conntrack -L" on NATs and firewalls on the path.`,
	Severity:   Warning,
	Thresholds: []Threshold{{Name: "min_bytes", Default: 1460, Unit: "bytes", Doc: "data in flight (both ways) at the reset: at least a full segment; less is a TLS close_notify or a ticket a closing client discards"}},
	Events:     []EventKind{EventFlow},
	New:        func(p Params) Checker { return &tcpReset{p: p} },
}

type tcpReset struct {
	p Params
	g groups
}

type resetData struct {
	by                 string
	dst                string
	port               uint16
	inFlight, fromPeer uint64 // bytes the resetter / its peer had outstanding, summed
}

func (c *tcpReset) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	r := f.Reset
	if f.Proto != "tcp" || r == nil || !r.Established {
		return
	}
	if blackHoleExplains(c.p, f) {
		return // the transfer a black hole stalled, abandoned: pmtu-black-hole says so
	}
	own, peer := r.Outstanding[r.Dir], r.Outstanding[1-r.Dir]
	if float64(own)+float64(peer) < c.p.T("min_bytes") {
		return
	}
	by := r.Dir.Side()
	e := c.g.add(endpoint(f.DstAddr, f.DstPort)+"|"+by, r.At, r.Frame, f.Ref())
	if e == nil {
		return
	}
	d, _ := e.data.(*resetData)
	if d == nil {
		d = &resetData{by: by, dst: f.DstAddr, port: f.DstPort}
		e.data = d
	}
	d.inFlight += uint64(own)
	d.fromPeer += uint64(peer)
	e.example(fmt.Sprintf("%s:%d", f.SrcAddr, f.SrcPort))
}

func (c *tcpReset) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*resetData)
		other := "client"
		if d.by == "client" {
			other = "server"
		}
		msg := fmt.Sprintf("%d connection(s) with %s reset by the %s with data in flight: %d bytes of the %s's own not yet acknowledged, %d bytes of the %s's unacknowledged; clients %s",
			e.count, endpoint(d.dst, d.port), d.by, d.inFlight, d.by, d.fromPeer, other, strings.Join(e.examples, ", "))
		filter := fmt.Sprintf("tcp.flags.reset == 1 && %s && tcp.port == %d", hostFilter(d.dst), d.port)
		report(e.finding(TCPResetMidstream, c.p.Severity, msg, filter).keyed("server", endpoint(d.dst, d.port), "reset_by", d.by))
	}
	c.g.reportOverflow(report, TCPResetMidstream, c.p.Severity, "mid-stream resets", "tcp.flags.reset == 1")
}

package rules

import "fmt"

// CaptureTruncated reports frames the snapshot length cut short.
var CaptureTruncated = &Rule{
	ID:    "capture-truncated",
	Title: "Capture quality: frames cut by the snapshot length",
	Doc: `The capture was taken with a snapshot length shorter than the packets (tcpdump -s
N, or a capture tool's default on some systems): the frames hold only their
first bytes. Flows, sizes and TCP analysis are complete (they come from the
headers), but payloads are not: HTTP heads, TLS handshakes and DNS messages that
straddle the cut are missing, so the records and findings built from them are
incomplete.

Next: capture again with the whole packet ("tcpdump -s 0", dumpcap's default),
or at least enough for the headers you need (-s 512 keeps most HTTP heads and
ClientHellos); "capinfos FILE" shows the snapshot length.`,
	Severity: Warning,
	Events:   []EventKind{EventFlow},
	New:      func(p Params) Checker { return &captureTruncated{p: p} },
}

type captureTruncated struct {
	p   Params
	run RunInfo
}

func (c *captureTruncated) Event(*Event, func(Finding)) {}
func (c *captureTruncated) Run(info RunInfo)            { c.run = info }

func (c *captureTruncated) Finish(report func(Finding)) {
	n := c.run.TruncatedFrames
	if n == 0 {
		return
	}
	report(runFinding(CaptureTruncated, c.p.Severity, c.run, n,
		fmt.Sprintf("%d of %d frames (%.1f%%) were cut short by the capture's snapshot length: payloads beyond the cut are missing, so HTTP, TLS and DNS records (and their findings) may be incomplete",
			n, c.run.Packets, 100*float64(n)/float64(max(c.run.Packets, 1))),
		"frame.len > frame.cap_len"))
}

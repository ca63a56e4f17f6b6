package rules

import (
	"fmt"
	"strings"
)

// CaptureIncomplete reports what the run shed to stay within its memory
// budget: the results it makes incomplete.
var CaptureIncomplete = &Rule{
	ID:    "capture-incomplete",
	Title: "Capture quality: state shed to stay within the memory budget",
	Doc: `pcapx bounds what it holds: by its memory budget (--memory, default 256MB) the
flow table, the connections parsed at once and the bytes held ahead of holes in
TCP streams; by fixed bounds the pending DNS queries and the IP fragments waiting
for the rest of their datagram (128 pieces and 4 MiB, as Linux). When a bound was reached it shed state, oldest
first, and counted it. What each kind costs the results:

  - flows evicted before they ended: each became two flow records (the part
    before and the part after), and its TCP analysis restarted mid-stream;
  - holes the reassembly stopped waiting for: the application bytes in and
    after them were not parsed (HTTP, TLS, DNS records of those streams may be
    missing or incomplete);
  - connections whose parsing stopped: past the bound on connections parsed
    at once, the one that started longest ago is handed over as if it had
    closed, and its later requests, responses or handshake are not parsed;
  - DNS queries dropped from a full pending list: their answers, if any, are
    unmatched and the queries uncounted;
  - IP fragments given up past the defragmenter's bounds: their datagrams were
    not analysed.

A flood (a SYN flood, a scan, slowloris connections) is the usual cause; the
flood itself is in the other findings.

Next: analyse again with a larger budget ("pcapx analyze --memory 1GB"), or cut
the capture into time windows (--since, --until) or by host ("tcpdump -r FILE
-w OUT host A").`,
	Severity: Warning,
	Events:   []EventKind{EventFlow},
	New:      func(p Params) Checker { return &captureIncomplete{p: p} },
}

type captureIncomplete struct {
	p   Params
	run RunInfo
}

func (c *captureIncomplete) Event(*Event, func(Finding)) {}
func (c *captureIncomplete) Run(info RunInfo)            { c.run = info }

func (c *captureIncomplete) Finish(report func(Finding)) {
	s := c.run.Shed
	if !s.Any() {
		return
	}
	var parts []string
	add := func(n int64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.EvictedFlows, "flows evicted from the full flow table before they ended (their records are split)")
	add(s.ReassemblySkips, "holes in TCP streams no longer waited for (the bytes around them were not parsed)")
	add(s.ParsersStopped, "connections whose HTTP/TLS/DNS parsing stopped early (their later requests, responses and handshakes are not in the records)")
	add(s.DNSQueriesDropped, "DNS queries dropped from a full pending list")
	add(s.FragmentsOverLimit, "IP fragments given up past the defragmenter's bounds")
	n := s.EvictedFlows + s.ReassemblySkips + s.ParsersStopped + s.DNSQueriesDropped + s.FragmentsOverLimit
	msg := "to stay within its bounds the analysis shed state: " + strings.Join(parts, "; ") + "; the results that depend on them are incomplete"
	if s.EvictedFlows+s.ReassemblySkips+s.ParsersStopped > 0 {
		msg += " (raise --memory)" // the bounds the budget sets; the others are fixed
	}
	filter := ""
	if n == s.FragmentsOverLimit {
		filter = "ip.flags.mf == 1 || ip.frag_offset > 0"
	}
	report(runFinding(CaptureIncomplete, c.p.Severity, c.run, n, msg, filter))
}

package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// HTTPIncompleteResponse reports responses cut off before their end.
var HTTPIncompleteResponse = &Rule{
	ID:    "http-incomplete-response",
	Title: "HTTP responses cut off before their end",
	Doc: `A response announced its length (Content-Length, or chunked encoding) and the
connection ended before that much arrived: the client got a truncated body (a
broken download, a half-rendered page, a JSON parse error). The finding says how
many bytes arrived of how many, and how the connection ended (closed, reset by
the client or the server, idle). Responses whose bytes the capture missed, and
those still running when the capture ended, are not reported.

Likely causes: the server or an upstream crashed or timed out mid-response, a
proxy or load balancer with a response-size or time limit, a client that gave
up (reset by the client), a middlebox killing long transfers.

Next: the server's and the proxy's error logs for these requests (upstream
prematurely closed, timeouts); "curl -v -o /dev/null URL" to reproduce; proxy
buffer and timeout settings (proxy_read_timeout, idle timeouts).`,
	Severity: Error,
	Events:   []EventKind{EventHTTP},
	New:      func(p Params) Checker { return &httpIncomplete{p: p} },
}

type httpIncomplete struct {
	p Params
	g groups
}

type incompleteData struct {
	h        flows.HTTPRecord
	received int64
	expected int64
	ends     []string
}

func (c *httpIncomplete) Event(ev *Event, _ func(Finding)) {
	h := ev.HTTP
	if h.Status == 0 || h.Complete || h.Gap || h.ConnEnd == "" || h.ConnEnd == "capture-end" || h.ConnEnd == "evicted" {
		// The capture's end, or pcapx dropping a flow from a full table,
		// is not the connection's.
		return
	}
	if !h.Chunked && h.ContentLength <= h.ResponseBytes {
		return // no announced length to fall short of (a body read until the close)
	}
	e := c.g.add(h.Host+"|"+endpoint(h.DstAddr, h.DstPort), h.RequestNS, h.ResponseFrame, h.FlowRef)
	if e == nil {
		return
	}
	d, _ := e.data.(*incompleteData)
	if d == nil {
		d = &incompleteData{h: *h}
		e.data = d
	}
	d.received += h.ResponseBytes
	if h.ContentLength > 0 {
		d.expected += h.ContentLength
	}
	end := h.ConnEnd
	found := false
	for _, x := range d.ends {
		found = found || x == end
	}
	if !found && len(d.ends) < 3 {
		d.ends = append(d.ends, end)
	}
	what := fmt.Sprintf("%s %s: %d", h.Method, h.Target, h.ResponseBytes)
	if h.Chunked {
		what += " bytes of a chunked body without its last chunk"
	} else {
		what += fmt.Sprintf(" of %d bytes", h.ContentLength)
	}
	e.example(what)
}

func (c *httpIncomplete) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*incompleteData)
		msg := fmt.Sprintf("%d HTTP response(s) from %s cut off before their end, e.g. %s; the connection was %s",
			e.count, httpServer(&d.h), strings.Join(e.examples, "; "), strings.Join(d.ends, ", then "))
		filter := fmt.Sprintf("http.response && %s && tcp.port == %d", hostFilter(d.h.DstAddr), d.h.DstPort)
		report(e.finding(HTTPIncompleteResponse, c.p.Severity, msg, filter).keyed("host", d.h.Host, "server", endpoint(d.h.DstAddr, d.h.DstPort)))
	}
	c.g.reportOverflow(report, HTTPIncompleteResponse, c.p.Severity, "incomplete HTTP responses", "")
}

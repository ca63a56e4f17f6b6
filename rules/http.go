package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// HTTPServerError reports HTTP 5xx responses.
var HTTPServerError = &Rule{
	ID:    "http-server-error",
	Title: "HTTP server errors (5xx)",
	Doc: `Servers answered requests with a 5xx status: the request reached an HTTP server
(or a proxy / load balancer in front of it) that failed to serve it. 500: an
application error; 502/504: a proxy could not reach or did not hear back from
its upstream in time; 503: overloaded, in maintenance, or no healthy backend.

Next: the server's (or proxy's) error log at the times below; for 502/504 check
the upstream's health and the proxy's timeouts; for 503 the load balancer's
backend pool.`,
	Severity: Error,
	Events:   []EventKind{EventHTTP},
	New:      func(p Params) Checker { return &httpServerError{p: p} },
}

type httpServerError struct {
	p Params
	g groups
}

// proxied says whether a request went to a forward proxy: its target is
// in absolute form ("GET http://host/path", RFC 9112 3.2.2) or it is a
// CONNECT. The connection's server is then the proxy, not the Host.
func proxied(h *flows.HTTPRecord) bool {
	t := h.Target
	return h.Method == "CONNECT" || len(t) >= 7 && strings.EqualFold(t[:7], "http://") || len(t) >= 8 && strings.EqualFold(t[:8], "https://")
}

// httpServer names the server of an exchange: "HOST (ADDR:PORT)", or for
// a forward proxy "the proxy ADDR:PORT for HOST".
func httpServer(h *flows.HTTPRecord) string {
	host := h.Host
	if host == "" {
		host = "(no Host header)"
	}
	if proxied(h) {
		return fmt.Sprintf("the proxy %s for %s", endpoint(h.DstAddr, h.DstPort), host)
	}
	return fmt.Sprintf("%s (%s)", host, endpoint(h.DstAddr, h.DstPort))
}

func (c *httpServerError) Event(ev *Event, _ func(Finding)) {
	h := ev.HTTP
	if h.Status < 500 || h.Status > 599 {
		return
	}
	e := c.g.add(fmt.Sprintf("%s|%s|%d", h.Host, h.DstAddr, h.Status), h.RequestNS, h.ResponseFrame, h.FlowRef)
	if e != nil {
		e.example(h.Method + " " + h.Target)
		if e.data == nil {
			hh := *h
			e.data = &hh
		}
	}
}

func (c *httpServerError) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		h := e.data.(*flows.HTTPRecord)
		msg := fmt.Sprintf("%d response(s) %d %s from %s, e.g. %s", e.count, h.Status, h.Reason, httpServer(h), strings.Join(e.examples, "; "))
		if proxied(h) && (h.Status == 502 || h.Status == 503 || h.Status == 504) {
			msg += ": a proxy's 502-504 usually means it got no answer from the server it forwards to; look for that connection's own trouble (its stalls, resets, slow connects)"
		}
		filter := fmt.Sprintf("http.response.code == %d && %s", h.Status, hostFilter(h.DstAddr))
		report(e.finding(HTTPServerError, c.p.Severity, msg, filter).keyed("host", h.Host, "server", h.DstAddr, "status_class", statusClass(h.Status)))
	}
	c.g.reportOverflow(report, HTTPServerError, c.p.Severity, "HTTP 5xx responses", "http.response.code >= 500")
}

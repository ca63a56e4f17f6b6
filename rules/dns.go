package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// DNSError reports DNS responses with an error rcode.
var DNSError = &Rule{
	ID:    "dns-error",
	Title: "DNS queries answered with an error",
	Doc: `DNS servers answered queries with an error code instead of an answer. NXDOMAIN:
the name does not exist (a typo, a stale configuration, a search-domain
expansion, or malware probing random names). SERVFAIL: the resolver could not get
an answer (upstream unreachable, DNSSEC validation failure, a broken delegation).
REFUSED: the server will not answer this client (ACL, not recursive for it).

Next: "dig NAME @SERVER" (and +trace for SERVFAIL, +cd to rule DNSSEC in or
out); check /etc/resolv.conf search domains for NXDOMAIN bursts of
NAME.search.domain; for REFUSED, the server's allow-query / allow-recursion.`,
	Severity: Warning,
	Events:   []EventKind{EventDNS},
	New:      func(p Params) Checker { return &dnsError{p: p} },
}

type dnsError struct {
	p Params
	g groups
}

func (c *dnsError) Event(ev *Event, _ func(Finding)) {
	d := ev.DNS
	if d.Unanswered || d.Rcode <= 0 {
		return
	}
	e := c.g.add(d.QName+"|"+d.QType+"|"+d.RcodeName, d.ResponseNS, d.ResponseFrame, d.FlowRef)
	if e != nil {
		e.example(d.DstAddr)
		if e.data == nil {
			dd := *d
			e.data = &dd
		}
	}
}

func (c *dnsError) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*flows.DNSRecord)
		sev := c.p.Severity
		if d.RcodeName == "SERVFAIL" || d.RcodeName == "REFUSED" {
			if sev < Error {
				sev = Error
			}
		}
		msg := fmt.Sprintf("%d %s response(s) for %s %s from %s", e.count, d.RcodeName, d.QType, d.QName, strings.Join(e.examples, ", "))
		filter := fmt.Sprintf("dns.flags.response == 1 && dns.qry.name == %s && dns.flags.rcode == %d", wsString(d.QName), d.Rcode&0xf)
		report(e.finding(DNSError, sev, msg, filter))
	}
	if c.g.overflow > 0 {
		report(Finding{Rule: DNSError.ID, Severity: c.p.Severity, Title: DNSError.Title, Count: c.g.overflow, Evidence: []Evidence{},
			Message: fmt.Sprintf("%d more DNS error responses for names beyond the first %d", c.g.overflow, maxGroups),
			Filter:  "dns.flags.response == 1 && dns.flags.rcode != 0"})
	}
}

// DNSUnanswered reports queries that got no response.
var DNSUnanswered = &Rule{
	ID:    "dns-unanswered",
	Title: "DNS queries without a response",
	Doc: `Queries were sent and no response was captured within the timeout. The client
waits (typically 1-5 s) and retries or tries the next server, which shows up as
slow name resolution or outright failures.

Likely causes: the server is down or unreachable, a firewall drops DNS (or only
large/EDNS responses, or TCP/53), rate limiting on the resolver, or the capture
missed the answers (asymmetric routing).

Next: "dig NAME @SERVER" from the client host; check that UDP and TCP port 53
are allowed both ways; look for ICMP port unreachable from the server.`,
	Severity: Warning,
	Events:   []EventKind{EventDNS},
	New:      func(p Params) Checker { return &dnsUnanswered{p: p} },
}

type dnsUnanswered struct {
	p Params
	g groups
}

// maxDistinctNames bounds the distinct names counted per server; past
// it the count is a lower bound ("at least").
const maxDistinctNames = 10_000

// unansweredAt is what dns-unanswered keeps of one server.
type unansweredAt struct {
	server string
	names  map[string]struct{} // distinct "qtype qname"
	full   bool                // names reached maxDistinctNames
}

func (c *dnsUnanswered) Event(ev *Event, _ func(Finding)) {
	d := ev.DNS
	if !d.Unanswered || discovery(d.DstAddr, d.DstPort) {
		return
	}
	// One group per server: a hundred thousand names that one server left
	// unanswered are one problem of that server, not a finding per name.
	e := c.g.add(d.DstAddr, d.QueryNS, d.QueryFrame, d.FlowRef)
	if e == nil {
		return
	}
	u, _ := e.data.(*unansweredAt)
	if u == nil {
		u = &unansweredAt{server: d.DstAddr, names: map[string]struct{}{}}
		e.data = u
	}
	name := d.QType + " " + d.QName
	if _, ok := u.names[name]; !ok {
		if len(u.names) < maxDistinctNames {
			u.names[name] = struct{}{}
			e.example(name)
		} else {
			u.full = true
		}
	}
}

func (c *dnsUnanswered) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		u := e.data.(*unansweredAt)
		distinct := fmt.Sprint(len(u.names))
		if u.full {
			distinct = "at least " + distinct
		}
		msg := fmt.Sprintf("%d query(ies) to %s got no response (%s distinct name(s)), e.g. %s", e.count, u.server, distinct, strings.Join(e.examples, ", "))
		filter := fmt.Sprintf("dns.flags.response == 0 && !dns.response_in && %s", dstFilter(u.server))
		if len(u.names) == 1 {
			for n := range u.names {
				_, qname, _ := strings.Cut(n, " ")
				filter += " && dns.qry.name == " + wsString(qname)
			}
		}
		report(e.finding(DNSUnanswered, c.p.Severity, msg, filter))
	}
	if c.g.overflow > 0 {
		report(Finding{Rule: DNSUnanswered.ID, Severity: c.p.Severity, Title: DNSUnanswered.Title, Count: c.g.overflow, Evidence: []Evidence{},
			Message: fmt.Sprintf("%d more unanswered queries to servers beyond the first %d", c.g.overflow, maxGroups),
			Filter:  "dns.flags.response == 0 && !dns.response_in"})
	}
}

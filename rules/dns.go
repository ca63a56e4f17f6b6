package rules

import (
	"fmt"
	"net/netip"
	"strconv"
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
SERVFAIL and REFUSED to a recursive query are errors: the client got no answer.

Not every error response is a failed lookup, and those are reported apart, as
warnings: a non-recursive query (RD=0, a resolver asking a server it takes for
authoritative) refused is a lame delegation if that server is listed as the
zone's name server; a dynamic update (DNS UPDATE, RFC 2136: a DHCP server or a
host registering its name) refused is the server's update policy; a zone change
notification (NOTIFY) refused means the server does not take the sender as the
zone's primary. An authoritative server's NXDOMAIN to a non-recursive query is
its normal "no such name" to a resolver walking the tree, and BADCOOKIE a step
of the DNS cookie exchange (RFC 7873): neither is reported.

Some lookups are expected to fail, and their NXDOMAINs are info: WPAD and ISATAP
discovery, .local (mDNS) names asked of unicast DNS, and reverse lookups of
private, link-local, loopback or multicast addresses (RFC 6303).

Next: "dig NAME @SERVER" (and +trace for SERVFAIL, +cd to rule DNSSEC in or
out); check /etc/resolv.conf search domains for NXDOMAIN bursts of
NAME.search.domain; for REFUSED, the server's allow-query / allow-recursion;
for updates, its allow-update / update-policy for the zone; for non-recursive
queries, "dig +norec NAME @SERVER" and the zone's NS records.`,
	Severity: Warning,
	Events:   []EventKind{EventDNS},
	New:      func(p Params) Checker { return &dnsError{p: p} },
}

type dnsError struct {
	p     Params
	g     groups
	names nameBudget
}

func (c *dnsError) Event(ev *Event, _ func(Finding)) {
	d := ev.DNS
	if d.Unanswered || d.Rcode <= 0 {
		return
	}
	kind := dnsKindOf(d)
	switch {
	case d.RcodeName == "BADCOOKIE":
		// RFC 7873: the server hands the client its cookie and the
		// client asks again with it; a step of the exchange, not a
		// failure.
		return
	case kind == dnsNonRecursive && d.RcodeName == "NXDOMAIN":
		// An authoritative server's "no such name" to a resolver
		// walking the tree: the resolver passes it on, and its client's
		// lookup is the one that counts.
		return
	case kind == dnsLookup && d.RcodeName == "NXDOMAIN":
		if k := expectedNXDOMAIN(d.QType, d.QName); k != "" {
			kind = k
		}
	}
	// One group per server, rcode and kind of message: twenty names a
	// resolver answered NXDOMAIN (a search-domain burst, a DNS tunnel, a
	// scanner) are one finding with the count and examples, not twenty;
	// an update refused is not a lookup refused.
	e := c.g.add(d.DstAddr+"|"+d.RcodeName+"|"+kind, d.ResponseNS, d.ResponseFrame, d.FlowRef)
	if e == nil {
		return
	}
	n, _ := e.data.(*dnsNames)
	if n == nil {
		n = &dnsNames{server: d.DstAddr, rcode: d.Rcode, rcodeName: d.RcodeName, kind: kind, names: map[string]struct{}{}}
		e.data = n
	}
	qtype := d.QType
	if kind == dnsUpdate || kind == dnsNotify {
		qtype = "zone" // the question section holds the zone (type SOA)
	}
	n.add(e, &c.names, qtype, d.QName)
}

// The kinds of DNS message dns-error tells apart. A lookup is a QUERY
// with RD set (what stubs and applications send): only its errors leave a
// client without an answer. Some lookups are expected to get NXDOMAIN
// (expectedNXDOMAIN): they are kinds of their own, reported as info.
const (
	dnsLookup       = ""
	dnsNonRecursive = "QUERY RD=0"
	dnsUpdate       = "UPDATE"
	dnsNotify       = "NOTIFY"
	dnsDiscovery    = "WPAD/ISATAP"
	dnsLocalName    = ".local"
	dnsPrivatePTR   = "private PTR"
)

// expectedNXDOMAIN says which kind of lookup that is expected to fail
// qname is, "" for none: WPAD and ISATAP discovery (a network without a
// proxy or tunnel configuration answers NXDOMAIN), a .local name (mDNS's)
// asked of unicast DNS (but not a service lookup: Active Directory
// domains are often .local), or the reverse name of a private, link-local,
// loopback or multicast address, which no public server holds (RFC 6303).
func expectedNXDOMAIN(qtype, qname string) string {
	name := strings.ToLower(strings.TrimSuffix(qname, "."))
	first, _, _ := strings.Cut(name, ".")
	switch {
	case first == "wpad" || first == "isatap":
		return dnsDiscovery
	case (name == "local" || strings.HasSuffix(name, ".local")) && !strings.HasPrefix(first, "_"):
		// A service lookup (_ldap._tcp.dc._msdcs.corp.local) is an
		// Active Directory domain named .local, as many are: its
		// NXDOMAIN means a client asks a server that does not hold the
		// domain, which is worth a warning.
		return dnsLocalName
	case qtype == "PTR":
		if a, ok := reverseAddr(name); ok && (a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalMulticast()) {
			return dnsPrivatePTR
		}
	}
	return ""
}

// reverseAddr is the address of a reverse name (d.c.b.a.in-addr.arpa, or
// 32 nibbles under ip6.arpa).
func reverseAddr(name string) (netip.Addr, bool) {
	if rest, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		l := strings.Split(rest, ".")
		if len(l) != 4 {
			return netip.Addr{}, false
		}
		a, err := netip.ParseAddr(l[3] + "." + l[2] + "." + l[1] + "." + l[0])
		return a, err == nil
	}
	if rest, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		l := strings.Split(rest, ".")
		if len(l) != 32 {
			return netip.Addr{}, false
		}
		var b strings.Builder
		for i := 31; i >= 0; i-- {
			b.WriteString(l[i])
			if i%4 == 0 && i > 0 {
				b.WriteByte(':')
			}
		}
		a, err := netip.ParseAddr(b.String())
		return a, err == nil
	}
	return netip.Addr{}, false
}

func dnsKindOf(d *flows.DNSRecord) string {
	switch d.Opcode {
	case "QUERY", "": // "": a record replayed from tables written before the opcode
		if d.RD || d.Opcode == "" {
			return dnsLookup
		}
		return dnsNonRecursive
	}
	return d.Opcode
}

// text is dns-error's message and Wireshark filter clause for a group
// of one kind: count responses of rcode from server, about what. The
// clause selects the kind's messages (its opcode, and RD for a query)
// and none of another kind's.
func (n *dnsNames) text(count int64, what string) (msg, clause string) {
	switch n.kind {
	case dnsLookup:
		return fmt.Sprintf("%d %s response(s) %s", count, n.rcodeName, what), ""
	case dnsDiscovery:
		return fmt.Sprintf("%d %s response(s) %s: WPAD or ISATAP discovery, which a network without a proxy or tunnel configuration answers so (expected)", count, n.rcodeName, what), ""
	case dnsLocalName:
		return fmt.Sprintf("%d %s response(s) %s: .local names belong to mDNS, and a unicast DNS server does not know them (expected, unless the site uses .local in its DNS)", count, n.rcodeName, what), ""
	case dnsPrivatePTR:
		return fmt.Sprintf("%d %s response(s) %s: reverse lookups of private, link-local or multicast addresses, which no public DNS holds (RFC 6303; expected, unless the site serves its own reverse zones)", count, n.rcodeName, what), ""
	case dnsNonRecursive:
		msg = fmt.Sprintf("%d %s response(s) to non-recursive queries (RD=0) %s", count, n.rcodeName, what)
		if n.rcodeName == "REFUSED" {
			msg += ": the server does not serve these names; if it is listed as their zone's name server, that is a lame delegation"
		}
		return msg, "dns.flags.opcode == 0 && dns.flags.recdesired == 0 && "
	case dnsUpdate:
		msg = fmt.Sprintf("%d dynamic update(s) (DNS UPDATE) answered %s %s", count, n.rcodeName, what)
		switch n.rcodeName {
		case "REFUSED":
			msg += ": the server's update policy does not let this client change the zone"
		case "NOTAUTH":
			msg += ": the server is not authoritative for the zone"
		}
	case dnsNotify:
		msg = fmt.Sprintf("%d zone change notification(s) (DNS NOTIFY) answered %s %s", count, n.rcodeName, what)
		if n.rcodeName == "REFUSED" || n.rcodeName == "NOTAUTH" {
			msg += ": the server does not take the sender as the zone's primary"
		}
	default:
		msg = fmt.Sprintf("%d %s message(s) answered %s %s", count, n.kind, n.rcodeName, what)
	}
	return msg, fmt.Sprintf("dns.flags.opcode == %d && ", opcodeOf(n.kind))
}

// opcodeOf is the opcode number a record's Opcode names: the names
// flows/dns gives (its OpcodeName; rules may import flows alone), and
// "OPCODE<n>" for the others.
func opcodeOf(name string) int {
	switch name {
	case "QUERY":
		return 0
	case "IQUERY":
		return 1
	case "STATUS":
		return 2
	case "NOTIFY":
		return 4
	case "UPDATE":
		return 5
	case "DSO":
		return 6
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(name, "OPCODE"))
	return n
}

func (c *dnsError) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		n := e.data.(*dnsNames)
		sev := c.p.Severity
		switch n.kind {
		case dnsDiscovery, dnsLocalName, dnsPrivatePTR:
			sev = Info
		}
		if n.kind == dnsLookup && (n.rcodeName == "SERVFAIL" || n.rcodeName == "REFUSED") {
			if sev < Error {
				sev = Error
			}
		}
		var msg, filter string
		if len(n.names) == 1 {
			var clause string
			msg, clause = n.text(e.count, fmt.Sprintf("for %s from %s", e.examples[0], n.server))
			filter = fmt.Sprintf("dns.flags.response == 1 && %s%s && dns.flags.rcode == %d", clause, dnsNameFilter(n.qname), n.rcode&0xf)
		} else {
			var clause string
			msg, clause = n.text(e.count, fmt.Sprintf("from %s for %s distinct names, e.g. %s", n.server, n.distinct(), strings.Join(e.examples, ", ")))
			filter = fmt.Sprintf("dns.flags.response == 1 && %sdns.flags.rcode == %d && %s", clause, n.rcode&0xf, srcFilter(n.server))
		}
		key := []string{"server", n.server, "rcode", n.rcodeName}
		if n.kind != dnsLookup { // a lookup's key is as before the kinds
			key = append(key, "message", n.kind)
		}
		report(e.finding(DNSError, sev, msg, filter).keyed(key...))
	}
	if c.g.overflow > 0 {
		report(Finding{Rule: DNSError.ID, Severity: c.p.Severity, Title: DNSError.Title, Count: c.g.overflow, Evidence: []Evidence{},
			Message: fmt.Sprintf("%d more DNS error responses from servers beyond the first %d", c.g.overflow, maxGroups),
			Filter:  "dns.flags.response == 1 && dns.flags.rcode != 0"})
	}
}

// dnsNames is what a DNS group keeps of one server's names: the distinct
// "QTYPE qname" (bounded), the first one's name for the filter.
type dnsNames struct {
	server    string
	rcode     int
	rcodeName string
	kind      string // dns-error: the kind of message (dnsKindOf)
	qname     string // the first name (the filter's, when it is the only one)
	names     map[string]struct{}
	full      bool // names reached maxDistinctNames, or the rule's budget ran out
	// client is the one client whose queries these are; clients counts
	// them up to 2 (dns-unanswered folds a client's servers when it is
	// their only client).
	client  string
	clients int
}

// nameBudget bounds the distinct names one rule keeps over all its groups:
// maxDistinctNames per group times maxGroups groups would be a hundred
// million strings on a capture built to exhaust memory. Past it, counts
// of distinct names become lower bounds ("at least").
type nameBudget struct{ used int }

const maxRuleNames = 200_000

func (n *dnsNames) add(e *group, budget *nameBudget, qtype, qname string) {
	if len(n.names) == 0 {
		n.qname = qname
	}
	name := qtype + " " + qname
	if _, ok := n.names[name]; ok {
		return
	}
	if len(n.names) >= maxDistinctNames || budget.used >= maxRuleNames {
		n.full = true
		return
	}
	budget.used++
	n.names[name] = struct{}{}
	e.example(name)
}

// distinct is the number of distinct names, "at least" past the bound.
func (n *dnsNames) distinct() string {
	if n.full {
		return fmt.Sprintf("at least %d", len(n.names))
	}
	return fmt.Sprint(len(n.names))
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

Queries are grouped by server, with the count of distinct names and examples;
a client whose queries to three or more servers (and only its own) went
unanswered is one finding for the client, naming the servers. A query the
capture ended less than the timeout after (capture_ended) is left out: its
answer may just not be in the capture.

Next: "dig NAME @SERVER" from the client host; check that UDP and TCP port 53
are allowed both ways; look for ICMP port unreachable from the server.`,
	Severity: Warning,
	Events:   []EventKind{EventDNS},
	New:      func(p Params) Checker { return &dnsUnanswered{p: p} },
}

type dnsUnanswered struct {
	p     Params
	g     groups
	names nameBudget
}

// maxDistinctNames bounds the distinct names counted per server; past
// it the count is a lower bound ("at least").
const maxDistinctNames = 10_000

func (c *dnsUnanswered) Event(ev *Event, _ func(Finding)) {
	d := ev.DNS
	// A query whose timeout had not run out when the capture ended may
	// have been answered after it: a capture stopped by hand is no
	// evidence against the server.
	if !d.Unanswered || d.CaptureEnded || discovery(d.DstAddr, d.DstPort) {
		return
	}
	// One group per server: a hundred thousand names that one server left
	// unanswered are one problem of that server, not a finding per name.
	e := c.g.add(d.DstAddr, d.QueryNS, d.QueryFrame, d.FlowRef)
	if e == nil {
		return
	}
	n, _ := e.data.(*dnsNames)
	if n == nil {
		n = &dnsNames{server: d.DstAddr, names: map[string]struct{}{}}
		e.data = n
	}
	if n.clients == 0 || n.clients == 1 && n.client != d.SrcAddr {
		n.client = d.SrcAddr
		n.clients++
	}
	n.add(e, &c.names, d.QType, d.QName)
}

func (c *dnsUnanswered) Finish(report func(Finding)) {
	// A client whose queries to several servers all went unanswered is one
	// finding: its own path or firewall is likelier than each server (and
	// a resolver scan is one finding, not one per resolver).
	byClient := map[string][]*group{}
	for _, e := range c.g.order {
		if n := e.data.(*dnsNames); n.clients == 1 {
			byClient[n.client] = append(byClient[n.client], e)
		}
	}
	var clients groups
	folded := map[*group]bool{}
	for _, e := range c.g.order {
		n := e.data.(*dnsNames)
		if n.clients != 1 || len(byClient[n.client]) < minClientServers {
			continue
		}
		m := clients.merge(n.client, e)
		if m == nil {
			continue // no room for the client: the server's own finding stays
		}
		folded[e] = true
		cf, _ := m.data.(*clientFailures)
		if cf == nil {
			cf = &clientFailures{}
			m.data = cf
		}
		cf.servers++
		if len(cf.names) < 5 {
			cf.names = append(cf.names, fmt.Sprintf("%s (%d)", n.server, e.count))
		}
		for _, x := range e.examples {
			m.example(x)
		}
	}
	for _, e := range clients.sorted() {
		cf := e.data.(*clientFailures)
		more := ""
		if cf.servers > len(cf.names) {
			more = fmt.Sprintf(", … %d more", cf.servers-len(cf.names))
		}
		msg := fmt.Sprintf("%d query(ies) from %s to %d servers got no response: %s%s — the client's own path or firewall is likelier than each server; e.g. %s",
			e.count, e.key, cf.servers, strings.Join(cf.names, ", "), more, strings.Join(e.examples, ", "))
		report(e.finding(DNSUnanswered, c.p.Severity, msg, "dns.flags.response == 0 && !dns.response_in && "+srcFilter(e.key)).keyed("client", e.key))
	}
	for _, e := range c.g.sorted() {
		if folded[e] {
			continue
		}
		n := e.data.(*dnsNames)
		msg := fmt.Sprintf("%d query(ies) to %s got no response (%s distinct name(s)), e.g. %s", e.count, n.server, n.distinct(), strings.Join(e.examples, ", "))
		filter := fmt.Sprintf("dns.flags.response == 0 && !dns.response_in && %s", dstFilter(n.server))
		if len(n.names) == 1 {
			filter += " && " + dnsNameFilter(n.qname)
		}
		report(e.finding(DNSUnanswered, c.p.Severity, msg, filter).keyed("server", n.server))
	}
	if c.g.overflow > 0 {
		report(Finding{Rule: DNSUnanswered.ID, Severity: c.p.Severity, Title: DNSUnanswered.Title, Count: c.g.overflow, Evidence: []Evidence{},
			Message: fmt.Sprintf("%d more unanswered queries to servers beyond the first %d", c.g.overflow, maxGroups),
			Filter:  "dns.flags.response == 0 && !dns.response_in"})
	}
}

package rules

import (
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/dns"
)

// TestDNSErrorFilterSelectsItsOpcode: every kind of DNS message dns-error
// tells apart gets a filter with its own opcode, so that no finding's
// filter selects another's responses (STATUS and DSO had none).
func TestDNSErrorFilterSelectsItsOpcode(t *testing.T) {
	var evs []*Event
	for i, op := range []string{"QUERY", "STATUS", "DSO", "UPDATE", "OPCODE9"} {
		evs = append(evs, &Event{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, Opcode: op, RD: true,
			QName: "a.example", QType: "A", Rcode: 5, RcodeName: "REFUSED", ResponseNS: int64(i + 1), ResponseFrame: flows.FrameRef{Frame: int64(2 * (i + 1))}}})
	}
	want := map[string]string{
		"":                         "dns.flags.response == 1 && dns.qry.name == \"a.example\" && dns.flags.rcode == 5",
		"dns.flags.opcode == 2 &&": "STATUS",
		"dns.flags.opcode == 6 &&": "DSO",
		"dns.flags.opcode == 5 &&": "dynamic update",
		"dns.flags.opcode == 9 &&": "OPCODE9",
	}
	fs := only(run(t, nil, evs...), "dns-error")
	if len(fs) != len(want) {
		t.Fatalf("%d findings, want %d: %+v", len(fs), len(want), fs)
	}
	lookups := 0
	for _, f := range fs {
		if !strings.Contains(f.Filter, "dns.flags.opcode") {
			lookups++
			if f.Filter != want[""] || !strings.HasPrefix(f.Message, "1 REFUSED response(s) for A a.example") {
				t.Errorf("the lookup's filter %q (%s)", f.Filter, f.Message)
			}
			continue
		}
		clause := f.Filter[strings.Index(f.Filter, "dns.flags.opcode"):]
		clause = clause[:strings.Index(clause, "&&")+2]
		if w, ok := want[clause]; !ok || !strings.Contains(f.Message, w) {
			t.Errorf("filter %q for %q", f.Filter, f.Message)
		}
	}
	if lookups != 1 {
		t.Errorf("%d findings without an opcode in their filter, want the lookup's alone", lookups)
	}
}

// TestOpcodeOfNames: opcodeOf reads back every name flows/dns gives.
func TestOpcodeOfNames(t *testing.T) {
	for op := range uint8(16) {
		if got := opcodeOf(dns.OpcodeName(op)); got != int(op) {
			t.Errorf("opcodeOf(%q) = %d, want %d", dns.OpcodeName(op), got, op)
		}
	}
}

// TestDNSUnansweredLeavesOutCaptureEnd: a query whose timeout had not run
// out when the capture ended is no evidence against the server; one that
// timed out is.
func TestDNSUnansweredLeavesOutCaptureEnd(t *testing.T) {
	q := func(name string, ended bool, at int64) *Event {
		return &Event{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{SrcAddr: "10.0.0.1", DstAddr: "192.0.2.53", DstPort: 53},
			QName: name, QType: "A", Rcode: -1, Unanswered: true, CaptureEnded: ended, QueryNS: at, QueryFrame: flows.FrameRef{Frame: at}}}
	}
	if fs := only(run(t, nil, q("late.example", true, 1)), "dns-unanswered"); len(fs) != 0 {
		t.Errorf("a query at the capture's end: %+v", fs)
	}
	fs := only(run(t, nil, q("late.example", true, 1), q("lost.example", false, 2)), "dns-unanswered")
	if len(fs) != 1 || fs[0].Count != 1 || !strings.Contains(fs[0].Message, "lost.example") || strings.Contains(fs[0].Message, "late.example") {
		t.Errorf("one timed out, one at the capture's end: %+v", fs)
	}
}

// TestExpectedNXDOMAIN: the lookups that are expected to get NXDOMAIN.
func TestExpectedNXDOMAIN(t *testing.T) {
	for _, c := range []struct{ qtype, qname, want string }{
		{"A", "wpad.contoso.local", dnsDiscovery},
		{"A", "WPAD.HOME", dnsDiscovery},
		{"A", "isatap.corp.example", dnsDiscovery},
		{"A", "printer.local", dnsLocalName},
		{"PTR", "255.1.168.192.in-addr.arpa", dnsPrivatePTR},
		{"PTR", "251.0.0.224.in-addr.arpa", dnsPrivatePTR},
		{"PTR", "b.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.f.f.ip6.arpa", dnsPrivatePTR},
		{"PTR", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.e.f.ip6.arpa", dnsPrivatePTR},
		{"PTR", "8.8.8.8.in-addr.arpa", ""},
		{"PTR", "1.168.192.in-addr.arpa", ""}, // a zone, not an address
		{"A", "www.wpad.example", ""},
		{"A", "nosuchhost.example.com", ""},
		{"A", "local.example.com", ""},
		{"SRV", "_ldap._tcp.dc._msdcs.corp.local", ""}, // an AD domain named .local
	} {
		if got := expectedNXDOMAIN(c.qtype, c.qname); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.qtype, c.qname, got, c.want)
		}
	}
}

// TestDNSErrorNotFailures: BADCOOKIE and an NXDOMAIN to a non-recursive
// query are not reported; an expected NXDOMAIN is info, apart from the
// others.
func TestDNSErrorNotFailures(t *testing.T) {
	resp := func(i int, qtype, name, rcode string, code int, rd bool) *Event {
		return &Event{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, Opcode: "QUERY", RD: rd,
			QName: name, QType: qtype, Rcode: code, RcodeName: rcode, ResponseNS: int64(i), ResponseFrame: flows.FrameRef{Frame: int64(i)}}}
	}
	fs := only(run(t, nil,
		resp(1, "SOA", ".", "BADCOOKIE", 23, true),
		resp(2, "A", "dynamic.example.net", "NXDOMAIN", 3, false),
		resp(3, "A", "wpad.home", "NXDOMAIN", 3, true),
		resp(4, "PTR", "1.1.168.192.in-addr.arpa", "NXDOMAIN", 3, true),
		resp(5, "A", "nosuchhost.example.com", "NXDOMAIN", 3, true),
	), "dns-error")
	got := map[string]Severity{}
	for _, f := range fs {
		got[f.Message[:strings.Index(f.Message, " from")]] = f.Severity
	}
	want := map[string]Severity{
		"1 NXDOMAIN response(s) for A wpad.home":                  Info,
		"1 NXDOMAIN response(s) for PTR 1.1.168.192.in-addr.arpa": Info,
		"1 NXDOMAIN response(s) for A nosuchhost.example.com":     Warning,
	}
	if len(got) != len(want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	for m, s := range want {
		if g, ok := got[m]; !ok || g != s {
			t.Errorf("%q: %v (present %v), want %v", m, g, ok, s)
		}
	}
}

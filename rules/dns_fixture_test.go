package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
)

var dnsCases = fixtureCases([]fixtureCase{
	{file: "app/dns-errors.pcap", want: []string{
		"dns-error error",   // SERVFAIL broken.example.com
		"dns-error error",   // REFUSED internal.example.com
		"dns-error warning", // NXDOMAIN nosuchhost.example.com
		"slow-dns warning",  // the 1.5 s SERVFAIL (180 ms slow.example.com is within 2 ms + 300 ms)
		"dns-unanswered warning",
	}, check: checkDNSErrors},
	{file: "app/dns-not-lookups.pcap", want: []string{
		"dns-error error",   // REFUSED to the client's recursive query
		"dns-error warning", // 2 UPDATEs of corp.example refused
		"dns-error warning", // NOTIFY for corp.example refused
		"dns-error warning", // the resolver's RD=0 query refused (lame)
	}, check: checkDNSNotLookups},
})

// checkDNSNotLookups: only the client's recursive query refused is an
// error; an update, a NOTIFY and a non-recursive query refused are
// warnings of their own, saying what they are, with filters that select
// their opcode (and RD bit) and no other message of the server's.
func checkDNSNotLookups(t *testing.T, r *fixtureRun) {
	want := map[string]struct {
		sev    rules.Severity
		count  int64
		words  []string
		filter string
	}{
		"internal.example.com": {rules.Error, 1, []string{"1 REFUSED response(s) for A internal.example.com from 192.0.2.53"},
			`dns.flags.response == 1 && dns.qry.name == "internal.example.com" && dns.flags.rcode == 5`},
		"UPDATE": {rules.Warning, 2, []string{"2 dynamic update(s) (DNS UPDATE) answered REFUSED for zone corp.example", "update policy"},
			`dns.flags.response == 1 && dns.flags.opcode == 5 && dns.qry.name == "corp.example" && dns.flags.rcode == 5`},
		"NOTIFY": {rules.Warning, 1, []string{"(DNS NOTIFY) answered REFUSED for zone corp.example", "primary"},
			`dns.flags.response == 1 && dns.flags.opcode == 4 && dns.qry.name == "corp.example" && dns.flags.rcode == 5`},
		"RD=0": {rules.Warning, 1, []string{"non-recursive queries (RD=0) for A www.lame.example from 198.51.100.53", "lame delegation"},
			`dns.flags.response == 1 && dns.flags.opcode == 0 && dns.flags.recdesired == 0 && dns.qry.name == "www.lame.example" && dns.flags.rcode == 5`},
	}
	seen := map[string]bool{}
	for _, f := range r.find("dns-error") {
		for key, w := range want {
			if !strings.Contains(f.Message, key) {
				continue
			}
			seen[key] = true
			if f.Severity != w.sev || f.Count != w.count || f.Filter != w.filter {
				t.Errorf("%s: severity %s, count %d, filter %q; want %s, %d, %q", key, f.Severity, f.Count, f.Filter, w.sev, w.count, w.filter)
			}
			for _, word := range w.words {
				if !strings.Contains(f.Message, word) {
					t.Errorf("%s: message %q lacks %q", key, f.Message, word)
				}
			}
		}
	}
	if len(seen) != len(want) {
		t.Errorf("findings for %v, want one for each of %d kinds", seen, len(want))
	}
	ops := map[string]int{}
	for _, d := range r.dns {
		ops[fmt.Sprintf("%s rd=%v", d.Opcode, d.RD)]++
	}
	if ops["QUERY rd=true"] != 1 || ops["UPDATE rd=false"] != 2 || ops["NOTIFY rd=false"] != 1 || ops["QUERY rd=false"] != 1 {
		t.Errorf("DNS records' opcode and RD: %v", ops)
	}
}

func TestDNSFixtures(t *testing.T) { runCases(t, dnsCases) }

func checkDNSErrors(t *testing.T, r *fixtureRun) {
	byRcode := map[string]rules.Finding{}
	for _, f := range r.find("dns-error") {
		for _, rc := range []string{"NXDOMAIN", "SERVFAIL", "REFUSED"} {
			if strings.Contains(f.Message, rc) {
				byRcode[rc] = f
			}
		}
	}
	for rc, name := range map[string]string{"NXDOMAIN": "nosuchhost.example.com", "SERVFAIL": "broken.example.com", "REFUSED": "internal.example.com"} {
		f, ok := byRcode[rc]
		if !ok {
			t.Errorf("no dns-error finding for %s", rc)
			continue
		}
		if !strings.Contains(f.Message, name) || !strings.Contains(f.Filter, `dns.qry.name == "`+name+`"`) {
			t.Errorf("%s finding: message %q, filter %q; want %s", rc, f.Message, f.Filter, name)
		}
		want := rules.Error // SERVFAIL and REFUSED are raised to errors
		if rc == "NXDOMAIN" {
			want = rules.Warning
		}
		if f.Severity != want {
			t.Errorf("%s finding has severity %s, want %s", rc, f.Severity, want)
		}
	}
	// lost.example.com is asked twice with the same id and port: one
	// transaction, retransmitted once, never answered.
	u := r.find("dns-unanswered")[0]
	if u.Count != 1 || !strings.Contains(u.Message, "lost.example.com") || !strings.Contains(u.Filter, `"lost.example.com"`) {
		t.Errorf("dns-unanswered: count %d, message %q, filter %q; want the query for lost.example.com", u.Count, u.Message, u.Filter)
	}
	var lost []*flows.DNSRecord
	for _, d := range r.dns {
		if d.QName == "lost.example.com" {
			lost = append(lost, d)
		}
	}
	if len(lost) != 1 || !lost[0].Unanswered || lost[0].Retransmissions != 1 {
		t.Errorf("DNS records for lost.example.com: %+v", lost)
	}
}

package rules_test

import (
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
})

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

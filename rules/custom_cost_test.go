package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/dns"
	"github.com/pcapx/pcapx/flows/http"
	"github.com/pcapx/pcapx/flows/tls"
)

// The size bounds of the cost estimate are the parsers' caps: a parser that
// keeps longer strings makes the estimate unsound.
func TestCELBoundsMatchParsers(t *testing.T) {
	for _, c := range []struct {
		name      string
		ours, cap int
	}{
		{"http.MaxMethod", httpMaxMethod, http.MaxMethod}, {"http.MaxTarget", httpMaxTarget, http.MaxTarget},
		{"http.MaxHost", httpMaxHost, http.MaxHost}, {"http.MaxUserAgent", httpMaxUserAgent, http.MaxUserAgent},
		{"http.MaxReason", httpMaxReason, http.MaxReason}, {"http.MaxVersion", httpMaxVersion, http.MaxVersion},
		{"tls.MaxSNI", tlsMaxSNI, tls.MaxSNI}, {"tls.MaxALPN", tlsMaxALPN, tls.MaxALPN},
		{"tls.MaxMessage", tlsMaxMessage, tls.MaxMessage}, {"dns.MaxAnswers", dnsMaxAnswers, dns.MaxAnswers},
	} {
		if c.ours != c.cap {
			t.Errorf("%s is %d, the CEL bound %d", c.name, c.cap, c.ours)
		}
	}
}

// bomb nests n comprehensions over a literal list of ten: 10^n steps for
// one record. Seven levels took 48 s on a ten-packet capture before rules
// had a cost limit.
func bomb(n int, inner string) string {
	l := "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]"
	var b strings.Builder
	for i := range n {
		b.WriteString(l + ".all(v" + string(rune('a'+i)) + ", ")
	}
	b.WriteString(inner)
	b.WriteString(strings.Repeat(")", n))
	return b.String()
}

// A rule whose worst case is over MaxRuleCost is refused when the file is
// loaded, naming the rule, the expression and why — before any record is
// read, however cheap the records of a capture would have made it.
func TestCustomRuleCostRefused(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string
	}{
		{"nested comprehensions", "custom:\n  - {id: bomb, title: t, on: http, when: '" + bomb(7, "http.host.size() >= 0") + "'}\n",
			[]string{"custom rule bomb", "when: worst-case cost", "over the limit of 100000 per record", "nested comprehensions"}},
		{"in the message", "custom:\n  - {id: loud, title: t, on: dns, when: 'true', message: '" + bomb(6, "true") + " ? \"x\" : \"y\"'}\n",
			[]string{"custom rule loud", "message: worst-case cost"}},
		// Cheap on short targets, but a record's target may be 8 KiB.
		{"split of a split", "custom:\n  - {id: deep, title: t, on: http, when: 'http.target.split(\"/\").exists(x, x.split(\"a\").exists(y, y == \"b\"))'}\n",
			[]string{"custom rule deep", "when: worst-case cost", "HTTP target 8192 characters"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeRules(t, c.yaml)
			start := time.Now()
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatal("loaded")
			}
			if d := time.Since(start); d > 5*time.Second {
				// Not a timing test: a rejection that took this long
				// evaluated the expression instead of estimating it.
				t.Errorf("rejecting took %v", d)
			}
			for _, w := range append(c.want, "rules file "+path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// The rules people write stay well within the limit, on every kind, with
// the string and list fields at their caps.
func TestCustomRuleCostAccepted(t *testing.T) {
	loadRules(t, `custom:
  - {id: a, title: t, on: http, when: 'http.status == 429 && http.host == "api.internal"'}
  - {id: b, title: t, on: http, when: 'http.target.matches("^/api/v[0-9]+/users/[0-9]+$") && http.user_agent.contains("curl")'}
  - {id: c, title: t, on: http, when: 'http.target.split("/")[3] == "7"', message: '"slow " + http.method + " " + http.target'}
  - {id: d, title: t, on: dns, when: 'dns.qname.endsWith(".internal") && "203.0.113.9" in dns.answer_addrs'}
  - {id: e, title: t, on: dns, when: 'dns.answer_addrs.exists(a, a.startsWith("10."))'}
  - {id: f, title: t, on: tls, when: '"TLS 1.0" in tls.offered_versions || tls.alpn.exists(p, p == "h2") || tls.ja3.contains("49195")'}
  - {id: g, title: t, on: flow, when: 'flow.history.contains("R") && flow.orig_bytes > 1000'}
  - {id: h, title: t, on: icmp, when: 'icmp.kind == "frag-needed" && icmp.description.contains("mtu")'}
`)
}

// The run-time limit stops an evaluation the estimate let through (here:
// the limit is lowered below what the estimate allows) and turns the rule
// off for the rest of the run, with a rule warning; what it matched before
// is reported.
func TestCustomRuleCostStop(t *testing.T) {
	defer func(l uint64) { runtimeCostLimit = l }(runtimeCostLimit)
	runtimeCostLimit = 30
	cfg := loadRules(t, `custom:
  - id: slow-rule
    title: slow rule
    on: http
    when: 'http.status == 429 || [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].exists(x, http.target.endsWith(string(x)))'
`)
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, status := range []int{429, 200, 429, 200} {
		e.Event(&Event{Kind: EventHTTP, HTTP: httpRec("api.internal", status, int64(i+1)*1e9, int64(i+1))})
	}
	fs := only(e.Finish(), "slow-rule")
	if len(fs) != 1 || fs[0].Count != 1 {
		t.Errorf("findings %+v: want the one 429 before the stop", fs)
	}
	if len(e.Warnings) != 1 ||
		!strings.Contains(e.Warnings[0], "custom rule slow-rule: when: evaluation 2 (a http record of flow tcp 192.0.2.10:51000 → 198.51.100.20:80) ran past the cost limit of 30") ||
		!strings.Contains(e.Warnings[0], "disabled for the rest of the run") {
		t.Errorf("warnings %q", e.Warnings)
	}
}

// The message expression is limited too: its stop keeps the match (with
// the default message) and turns the rule off.
func TestCustomRuleCostStopInMessage(t *testing.T) {
	defer func(l uint64) { runtimeCostLimit = l }(runtimeCostLimit)
	runtimeCostLimit = 30
	cfg := loadRules(t, `custom:
  - id: chatty
    title: chatty rule
    on: dns
    when: 'true'
    message: '[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(x, dns.qname + string(x)).join(",")'
`)
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e.Event(&Event{Kind: EventDNS, DNS: &flows.DNSRecord{QName: "x.example", RcodeName: "NOERROR", ResponseNS: int64(i + 1)}})
	}
	fs := only(e.Finish(), "chatty")
	if len(fs) != 1 || fs[0].Count != 1 || !strings.HasPrefix(fs[0].Message, "chatty rule: 1 NOERROR response(s) for x.example") {
		t.Errorf("findings %+v", fs)
	}
	if len(e.Warnings) != 1 || !strings.Contains(e.Warnings[0], "custom rule chatty: message: evaluation 1 (a dns record") {
		t.Errorf("warnings %q", e.Warnings)
	}
}

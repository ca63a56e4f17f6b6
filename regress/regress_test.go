package regress

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
)

// hostile is text a capture can carry: markup, quotes, Markdown, control
// characters (which XML 1.0 cannot hold even escaped), invalid UTF-8.
const hostile = "<script>alert(1)</script> | `x` *b* [l](u) \x00\x1b[31m\x07 \xff\xfe \"q\" 'a' & ]]> \n next"

func finding(rule string, sev rules.Severity, key ...string) rules.Finding {
	f := rules.Finding{Rule: rule, Severity: sev, Title: rule, Message: "msg of " + rule, Count: 1, Filter: "ip.addr == 192.0.2.1"}
	if len(key) > 0 {
		f.Key = map[string]string{}
		for i := 0; i+1 < len(key); i += 2 {
			f.Key[key[i]] = key[i+1]
		}
	}
	return f
}

func TestFingerprint(t *testing.T) {
	a := Fingerprint{Capture: "a.pcap", Rule: "dns-error", Key: map[string]string{"server": "1", "rcode": "X"}}
	b := Fingerprint{Capture: "a.pcap", Rule: "dns-error", Key: map[string]string{"rcode": "X", "server": "1"}}
	if a.String() != b.String() || a.ID() != b.ID() || len(a.ID()) != 12 {
		t.Fatalf("equal fingerprints differ: %s %s", a, b)
	}
	// No value can pass for a separator.
	c := Fingerprint{Capture: "a.pcap", Rule: "dns-error", Key: map[string]string{"server": `1" "rcode"="X`}}
	d := Fingerprint{Capture: "a.pcap\" \"dns-error", Rule: "", Key: map[string]string{"server": "1", "rcode": "X"}}
	for _, o := range []Fingerprint{c, d, {Capture: "b.pcap", Rule: "dns-error", Key: a.Key}, {Capture: "a.pcap", Rule: "dns-error"}} {
		if o.String() == a.String() {
			t.Errorf("%s equals %s", o, a)
		}
	}
	if got := KeyText(map[string]string{"sni": "", "server": "10.0.0.1:443", "host": "a b"}); got != `host="a b" server=10.0.0.1:443 sni=""` {
		t.Errorf("KeyText = %s", got)
	}
}

func TestCapturePath(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"fx/./a.pcap":                     "fx/a.pcap",
		filepath.Join(wd, "fx", "a.pcap"): "fx/a.pcap",
		"/elsewhere/a.pcap":               "/elsewhere/a.pcap",
		"../x/a.pcap":                     "../x/a.pcap",
		"-":                               "-",
	} {
		if got := CapturePath(in); got != want {
			t.Errorf("CapturePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	fp := func(c, r string, kv ...string) Fingerprint {
		f := finding(r, 0, kv...)
		return Of(c, &f)
	}
	b := NewBaseline([]Entry{
		{fp("b.pcap", "tcp-zero-window", "server", "10.0.0.2:80"), rules.Warning},
		{fp("a.pcap", "tls-alert", "sni", hostile), rules.Error},
		{fp("a.pcap", "dns-error", "server", "10.0.0.53", "rcode", "NXDOMAIN"), rules.Warning},
		{fp("b.pcap", "tcp-zero-window", "server", "10.0.0.2:80"), rules.Error}, // the same: one entry, the most severe
	})
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	// A header, one line per finding sorted by capture and rule, a footer.
	if len(lines) != 9 || !strings.Contains(lines[3], `"a.pcap","rule":"dns-error"`) || !strings.Contains(lines[4], `"rule":"tls-alert"`) ||
		!strings.Contains(lines[5], `"b.pcap","rule":"tcp-zero-window","key":{"server":"10.0.0.2:80"},"severity":"error"}`) {
		t.Fatalf("baseline file:\n%s", data)
	}
	path := filepath.Join(t.TempDir(), "base.json")
	if err := WriteBaseline(path, b); err != nil {
		t.Fatal(err)
	}
	r, err := ReadBaseline(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Entries) != 3 {
		t.Fatalf("read %d entries", len(r.Entries))
	}
	for _, e := range b.Entries {
		got, ok := r.Lookup(e.Fingerprint)
		if !ok || got.Severity != e.Severity {
			t.Errorf("%s: read back %v %v", e.Fingerprint, got, ok)
		}
	}
	// A finding whose key holds invalid UTF-8 (bytes from a capture)
	// matches its entry read back from the file.
	bad := finding("tls-alert", rules.Error, "sni", hostile)
	if _, ok := r.Lookup(Of("a.pcap", &bad)); !ok {
		t.Errorf("the finding with invalid UTF-8 in its key does not match its entry read back")
	}
	if again, _ := r.Marshal(); !bytes.Equal(again, data) {
		t.Errorf("written again, the file differs:\n%s\n%s", data, again)
	}
	for name, text := range map[string]string{
		"version":   `{"pcapx_baseline": 2, "findings": []}`,
		"unknown":   `{"pcapx_baseline": 1, "findings": [{"rule": "x", "colour": "red"}]}`,
		"no rule":   `{"pcapx_baseline": 1, "findings": [{"capture": "a.pcap"}]}`,
		"severity":  `{"pcapx_baseline": 1, "findings": [{"rule": "x", "severity": "dire"}]}`,
		"not json":  `pcapx_baseline: 1`,
		"truncated": `{"pcapx_baseline": 1, "findings": [`,
	} {
		p := filepath.Join(t.TempDir(), "bad.json")
		os.WriteFile(p, []byte(text), 0o644)
		if _, err := ReadBaseline(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: err %v, want one naming the file", name, err)
		}
	}
}

// sample is a check of three captures: one with a new error, an accepted
// warning and a resolved entry; one that passes; one not analysed.
func sample() *Check {
	acc := finding("dns-error", rules.Warning, "server", "192.0.2.53", "rcode", "NXDOMAIN")
	gone := finding("tls-alert", rules.Error, "server", "192.0.2.1:443", "sni", hostile)
	base := NewBaseline([]Entry{
		{Of("a.pcap", &acc), rules.Warning},
		{Of("a.pcap", &gone), rules.Error},
		{Of("other.pcap", &gone), rules.Error}, // a capture not in this run: not resolved
	})
	fresh := finding("http-server-error", rules.Error, "host", hostile, "server", "192.0.2.80", "status_class", "5xx")
	fresh.Message = "503 from " + hostile
	low := finding("slow-dns", rules.Warning, "server", "192.0.2.53")
	ids := []string{"dns-error", "http-server-error", "slow-dns", "tls-alert"}
	return &Check{FailOn: rules.Error, HasBaseline: true, Captures: []Capture{
		Judge("a.pcap", ids, []rules.Finding{fresh, acc, low}, base),
		{Path: "b.pcap", Rules: ids, Packets: 10, Duration: 1500 * time.Millisecond, Warnings: []string{"b.pcap: byte 24: " + hostile}},
		{Path: "bad " + hostile, Err: "not a capture: " + hostile},
	}}
}

func TestJudge(t *testing.T) {
	c := sample()
	a := &c.Captures[0]
	fresh, accepted := a.count()
	if fresh != 2 || accepted != 1 {
		t.Errorf("new %d accepted %d, want 2 and 1", fresh, accepted)
	}
	if f := a.Failing(rules.Error); len(f) != 1 || f[0].Rule != "http-server-error" {
		t.Errorf("failing %v", f)
	}
	if len(a.Resolved) != 1 || a.Resolved[0].Rule != "tls-alert" {
		t.Errorf("resolved %v", a.Resolved)
	}
	if !c.Failed() {
		t.Error("not failed")
	}
	// More severe than accepted: new, and says what it was.
	worse := finding("dns-error", rules.Error, "server", "192.0.2.53", "rcode", "NXDOMAIN")
	j := Judge("a.pcap", nil, []rules.Finding{worse}, NewBaseline([]Entry{{Of("a.pcap", &worse), rules.Warning}}))
	if f := j.Findings[0]; !f.New || f.Was == nil || *f.Was != rules.Warning {
		t.Errorf("escalated finding: new %v was %v", f.New, f.Was)
	}
	// Accepted for another capture: new here.
	j = Judge("b.pcap", nil, []rules.Finding{worse}, NewBaseline([]Entry{{Of("a.pcap", &worse), rules.Error}}))
	if !j.Findings[0].New || len(j.Resolved) != 0 {
		t.Errorf("another capture's entry matched")
	}
	// The baseline of a check accepts every finding of it.
	b := c.Baseline()
	for _, f := range c.Captures[0].Findings {
		if _, ok := b.Lookup(f.Fingerprint); !ok {
			t.Errorf("%s not in the check's baseline", f.Fingerprint)
		}
	}
}

// junitDoc mirrors the JUnit schema (testdata/junit.xsd) closely enough to
// check the structure with encoding/xml, which the test always has.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Time     string `xml:"time,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string    `xml:"name,attr"`
			Classname string    `xml:"classname,attr"`
			Failures  []problem `xml:"failure"`
			Errors    []problem `xml:"error"`
			SystemOut []string  `xml:"system-out"`
		} `xml:"testcase"`
		SystemOut string `xml:"system-out"`
	} `xml:"testsuite"`
}

type problem struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func TestJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := sample().JUnit(&b, "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML 1.0: the strict decoder refuses control characters
	// and invalid UTF-8, which the hostile strings carry.
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b.String())
		}
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 3 || doc.Tests != 9 || doc.Failures != 1 || doc.Errors != 1 {
		t.Fatalf("suites %d tests %d failures %d errors %d", len(doc.Suites), doc.Tests, doc.Failures, doc.Errors)
	}
	a := doc.Suites[0]
	if a.Name != "a.pcap" || a.Tests != 4 || a.Failures != 1 || a.Errors != 0 {
		t.Errorf("suite a: %+v", a)
	}
	for _, c := range a.Cases {
		if c.Classname != "a.pcap" || len(c.Failures)+len(c.Errors) > 1 {
			t.Errorf("case %s: classname %q, %d failures, %d errors", c.Name, c.Classname, len(c.Failures), len(c.Errors))
		}
		switch c.Name {
		case "http-server-error":
			if len(c.Failures) != 1 || !strings.Contains(c.Failures[0].Text, `503 from <script>alert(1)</script>`) ||
				!strings.Contains(c.Failures[0].Text, "wireshark filter: ip.addr == 192.0.2.1") || strings.ContainsAny(c.Failures[0].Text, "\x00\x1b\x07") {
				t.Errorf("http-server-error failure: %+v", c.Failures)
			}
		case "dns-error", "slow-dns":
			if len(c.Failures) != 0 || len(c.SystemOut) != 1 {
				t.Errorf("%s: %+v", c.Name, c)
			}
		case "tls-alert":
			if len(c.Failures) != 0 || len(c.SystemOut) != 1 || !strings.HasPrefix(c.SystemOut[0], "[resolved] error ") {
				t.Errorf("tls-alert: %+v", c)
			}
		}
	}
	if !slices.ContainsFunc(a.Props, func(p struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}) bool {
		return p.Name == "pcapx.version" && p.Value == "v1.2.3"
	}) {
		t.Errorf("properties %v", a.Props)
	}
	if s := doc.Suites[1]; s.Time != "1.500" || s.Failures != 0 || !strings.Contains(s.SystemOut, "warning: b.pcap: byte 24: <script>") {
		t.Errorf("suite b: %+v", s)
	}
	if s := doc.Suites[2]; s.Errors != 1 || len(s.Cases) != 1 || len(s.Cases[0].Errors) != 1 || !strings.Contains(s.Cases[0].Errors[0].Text, "not a capture") {
		t.Errorf("suite of the capture not analysed: %+v", s)
	}
	// And against the schema, where xmllint is installed (.ci/run installs
	// it).
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed: the schema check is skipped")
	}
	p := filepath.Join(t.TempDir(), "junit.xml")
	os.WriteFile(p, b.Bytes(), 0o644)
	if out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), p).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	// The schema is no rubber stamp: a second failure in a testcase, and a
	// count that is not a number, are refused.
	for _, bad := range []string{
		strings.Replace(b.String(), "</failure>", "</failure><failure>again</failure>", 1),
		strings.Replace(b.String(), `tests="4"`, `tests="four"`, 1),
	} {
		os.WriteFile(p, []byte(bad), 0o644)
		if err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), p).Run(); err == nil {
			t.Errorf("xmllint accepted an invalid report")
		}
	}
}

func TestMarkdown(t *testing.T) {
	var b strings.Builder
	if err := sample().Markdown(&b); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"### pcapx check: 2 of 3 capture(s) failed\n",
		"| `a.pcap` | ❌ 1 failing | 2 | 1 | 1 |\n",
		"| `b.pcap` | ✅ pass | 0 | 0 | 0 |\n",
		"| error | `http-server-error` | 503 from &lt;script&gt;alert(1)&lt;/script&gt; \\| \\`x\\` \\*b\\* \\[l\\](u) ",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in\n%s", want, md)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(md, "\n"), "\n") {
		if strings.HasPrefix(line, "|") && strings.ContainsAny(line, "\x00\x1b\x07\r") {
			t.Errorf("control character in %q", line)
		}
	}
	// Markup shows only inside code spans, where Markdown shows it as text.
	if regexp.MustCompile("\\| [^`|]*<script").MatchString(md) {
		t.Errorf("raw markup:\n%s", md)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"a|b":         `a\|b`,
		"<b>&x":       "&lt;b&gt;&amp;x",
		"*x* _y_ ~z~": `\*x\* \_y\_ \~z\~`,
		"@team #12":   `\@team \#12`,
		"$x$ ![i](u)": `\$x\$ \!\[i\](u)`,
		"a\nb":        `a\\nb`, // a\nb, Go-escaped, then its backslash escaped
		`back\slash`:  `back\\slash`,
	} {
		if got := mdText(in); got != want {
			t.Errorf("mdText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"a|b":  "`a\\|b`",
		"a`b":  "``a`b``",
		"`a`":  "`` `a` ``",
		"<x>":  "`<x>`",
		"":     "",
		"a\nb": "`a\\nb`",
	} {
		if got := mdCode(in); got != want {
			t.Errorf("mdCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	var terse, full strings.Builder
	c := sample()
	c.Text(&terse, true)
	c.Text(&full, false)
	for _, s := range []string{terse.String(), full.String()} {
		if strings.ContainsAny(s, "\x00\x1b\x07") {
			t.Errorf("control character in\n%s", s)
		}
	}
	want := "FAIL a.pcap: 3 finding(s), 2 new, 1 accepted, 1 resolved\n" +
		"  new       error http-server-error: 503 from <script>alert(1)</script> | `x` *b* [l](u) \\x00\\x1b[31m\\a \\xff\\xfe \\\"q\\\" 'a' & ]]> \\n next\n" +
		"  resolved  error tls-alert server=192.0.2.1:443 sni=\"<script>alert(1)</script> | `x` *b* [l](u) \\x00\\x1b[31m\\a \\ufffd\\ufffd \\\"q\\\" 'a' & ]]> \\n next\"\n"
	if !strings.HasPrefix(terse.String(), want) {
		t.Errorf("terse:\n%s\nwant prefix\n%s", terse.String(), want)
	}
	if strings.Contains(terse.String(), "slow-dns") || !strings.Contains(full.String(), "new (below --fail-on) warning slow-dns") ||
		!strings.Contains(full.String(), "accepted  warning dns-error") {
		t.Errorf("terse lists only what fails, full everything:\n%s\n%s", terse.String(), full.String())
	}
	if !strings.Contains(terse.String(), "ERR  bad ") || !strings.HasSuffix(terse.String(), "2 of 3 capture(s) failed: not analysed, or new findings at or above error\n") {
		t.Errorf("terse:\n%s", terse.String())
	}
}

func TestCompare(t *testing.T) {
	z1 := finding("tcp-zero-window", rules.Warning, "server", "10.0.0.2:80")
	z2 := z1
	z2.Count = 4
	dns := finding("dns-error", rules.Warning, "server", "10.0.0.53", "rcode", "NXDOMAIN")
	dnsWorse := dns
	dnsWorse.Severity = rules.Error
	http := finding("http-server-error", rules.Error, "host", "shop", "server", "10.0.0.80", "status_class", "5xx")
	old := &Side{Name: "old", Findings: []rules.Finding{z1, z2, dns}, Metrics: Metrics{ZeroWindowS: 1, RetransmissionRate: ptr(2), TLSRejections: 3}}
	new := &Side{Name: "new", Findings: []rules.Finding{z1, dnsWorse, http}, Metrics: Metrics{ZeroWindowS: 0.5, RetransmissionRate: ptr(1.5), DNSFailureRate: ptr(10)}}
	d := Compare(old, new)
	if len(d.Added) != 1 || d.Added[0].Rule != "http-server-error" || len(d.Resolved) != 0 || len(d.Unchanged) != 2 {
		t.Fatalf("added %v resolved %v unchanged %v", d.Added, d.Resolved, d.Unchanged)
	}
	for _, u := range d.Unchanged {
		switch u.Rule {
		case "tcp-zero-window": // two findings of one fingerprint: counts summed
			if u.OldCount != 5 || u.NewCount != 1 || u.OldSeverity != nil {
				t.Errorf("zero window: %+v", u)
			}
		case "dns-error":
			if u.OldSeverity == nil || *u.OldSeverity != rules.Warning || u.Severity != rules.Error {
				t.Errorf("dns-error: %+v", u)
			}
		}
	}
	if f := d.Failing(rules.Error); len(f) != 2 {
		t.Errorf("failing at error: %v (want the new one and the one that became an error)", f)
	}
	if f := d.Failing(rules.Critical); len(f) != 0 {
		t.Errorf("failing at critical: %v", f)
	}
	m := d.Metrics
	if *m.ZeroWindowS.Delta != -0.5 || *m.RetransmissionRate.Delta != -0.5 || m.DNSFailureRate.Delta != nil || *m.DNSFailureRate.New != 10 || *m.TLSRejections.Delta != -3 {
		t.Errorf("metrics %+v", m)
	}
	var js, txt strings.Builder
	if err := d.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"resolved_findings": []`) || !strings.Contains(js.String(), `"dns_failure_rate_pct": {
      "old": null,
      "new": 10,
      "delta": null
    }`) {
		t.Errorf("json:\n%s", js.String())
	}
	d.Text(&txt)
	if !strings.Contains(txt.String(), "DNS failure rate                  -       10.00%            -\n") ||
		!strings.Contains(txt.String(), "(was warning; count 1 → 1)") {
		t.Errorf("text:\n%s", txt.String())
	}
}

func TestCollector(t *testing.T) {
	c := NewCollector()
	for i := 1; i <= 100; i++ {
		c.Flow(&flows.Record{Proto: "tcp", OrigPackets: 6, RespPackets: 4, HandshakeRTT: float64(i)})
	}
	c.Flow(&flows.Record{Proto: "tcp", OrigPackets: 10, TCPCounts: flows.TCPCounts{Retransmissions: 10}, ZeroWindowTime: 1500}) // no handshake
	c.Flow(&flows.Record{Proto: "udp", OrigPackets: 1000})                                                                      // not TCP
	c.DNS(&flows.DNSRecord{Rcode: 0})
	c.DNS(&flows.DNSRecord{Rcode: 3})
	c.DNS(&flows.DNSRecord{Rcode: -1, Unanswered: true})
	c.DNS(&flows.DNSRecord{Rcode: 0})
	c.HTTP(&flows.HTTPRecord{Status: 200})
	c.HTTP(&flows.HTTPRecord{Status: 503})
	c.HTTP(&flows.HTTPRecord{Status: 0}) // no response: not counted
	c.TLS(&flows.TLSRecord{Outcome: "rejected-reset"})
	c.TLS(&flows.TLSRecord{Outcome: "complete"})
	m := c.Metrics()
	if *m.RetransmissionRate != 100*10.0/1010 || m.ZeroWindowS != 1.5 || *m.HandshakeRTTP50 != 50 || *m.HandshakeRTTP95 != 95 ||
		*m.DNSFailureRate != 50 || *m.HTTP5xxRate != 50 || m.TLSRejections != 1 || m.TLSHandshakes != 2 {
		t.Errorf("metrics %+v", m)
	}
	if e := NewCollector().Metrics(); e.RetransmissionRate != nil || e.HandshakeRTTP50 != nil || e.DNSFailureRate != nil || e.HTTP5xxRate != nil {
		t.Errorf("empty run: %+v", e)
	}
}

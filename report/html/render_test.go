package html

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/golden"
	"github.com/pcapx/pcapx/run"
	xhtml "golang.org/x/net/html"
)

// echartsMarker stands in for the 1 MB ECharts source in the golden page.
const echartsMarker = "/* echarts.min.js (not in the golden file) */"

// sampleData is a small, fixed Data with every section filled. Each string
// a capture could have supplied is made by s(field), so the escaping test
// can fill them all with hostile text.
func sampleData(s func(field string) string) *Data {
	return &Data{
		Schema:    SchemaVersion,
		Tool:      "pcapx test",
		Generated: "2026-01-03T00:00:00Z",
		Capture: Capture{
			Files: []File{
				{Name: "/caps/" + s("file") + ".pcap", Format: "pcap", Packets: 40, LinkTypes: []string{"ether"}, Comments: []string{s("comment")}},
				{Name: "/caps/b.pcapng", Format: "pcapng", Compression: "zstd", Packets: 2, LinkTypes: []string{"ether"}},
			},
			Packets: 42, Bytes: 34567, First: "2026-01-02T03:04:05Z", Last: "2026-01-02T03:04:08.5Z", Duration: 3.5,
			LinkTypes: []string{"ether"}, Flows: 3, PeakFlows: 3, Malformed: 1,
			Warnings: []string{s("warning")},
		},
		TCP:        TCP{Streams: 2, TCPCounts: flows.TCPCounts{Retransmissions: 3, DuplicateAcks: 2, ZeroWindows: 1, Resets: 1}},
		FlowStates: []Count{{Name: "SF", Count: 2}, {Name: "RSTR", Count: 1}},
		Protocols:  []Count{{Name: "tcp", Count: 2}, {Name: "udp", Count: 1}},
		Findings: []Finding{
			{Rule: "tcp-retransmissions", Severity: "error", Title: "TCP segments retransmitted", Message: s("message"),
				First: "2026-01-02T03:04:06Z", Last: "2026-01-02T03:04:07Z", Count: 3, Flow: "tcp 10.0.0.1:5000 → 10.0.0.2:443",
				Evidence: []Evidence{{File: s("evfile") + ".pcap", Frame: 7}, {Frame: 9}}, Filter: s("filter")},
			{Rule: "dns-error", Severity: "warning", Title: "DNS queries answered with an error", Message: "1 NXDOMAIN for x",
				First: "2026-01-02T03:04:05Z", Last: "2026-01-02T03:04:05Z", Count: 1, Evidence: []Evidence{{Frame: 2}}, Filter: "dns"},
			{Rule: "tcp-retransmissions", Severity: "warning", Title: "TCP segments retransmitted", Message: "again",
				Count: 1, Evidence: []Evidence{}, Filter: "tcp"},
		},
		Suppressed: []Count{{Name: "slow-dns", Count: 4}},
		Timeline: Timeline{Start: 1767323045000000000, Width: 1e9, Buckets: []Bucket{
			{Packets: 20, Bytes: 20000, Retransmissions: 1}, {Packets: 10, Bytes: 9000, ZeroWindows: 1, DuplicateAcks: 2},
			{Packets: 8, Bytes: 4000, Retransmissions: 2}, {Packets: 4, Bytes: 1567, Resets: 1}}},
		TopTalkers: []Talker{{Addr: "10.0.0.1", Bytes: 30000, Flows: 3}, {Addr: "10.0.0.2", Bytes: 25000, Flows: 2}, {Addr: "2001:db8::1", Bytes: 900, Flows: 1}},
		RTT: func() Histogram {
			h := run.NewHistogram()
			h.Add(0.4)
			h.Add(12)
			h.Add(15)
			h.Add(600)
			return h
		}(),
		DNS: DNSSummary{Transactions: 3, Unanswered: 1, Rcodes: []Count{{Name: "NOERROR", Count: 1}, {Name: s("rcode"), Count: 1}},
			Failures: []NameFailures{{Name: s("qname"), Count: 2, By: []Count{{Name: "NXDOMAIN", Count: 1}, {Name: "unanswered", Count: 1}}}}},
		HTTP: HTTPSummary{Requests: 2, Responses: 2, Status: []Count{{Name: "200", Count: 1}, {Name: "503", Count: 1}}, ErrorsAll: 1,
			Errors: []HTTPRow{{Time: "2026-01-02T03:04:06.5Z", Flow: "10.0.0.1:5001 → 10.0.0.2:80", Method: s("method"), Host: s("host"),
				Target: s("target"), UserAgent: s("ua"), Status: 503, Reason: s("reason"), TTFBMS: 1200, Frame: 12}}},
		TLS: TLSSummary{Handshakes: 2, Outcomes: []Count{{Name: "established", Count: 1}, {Name: "rejected-reset", Count: 1}},
			Failures: []NameFailures{{Name: s("sni"), Count: 1, By: []Count{{Name: "rejected-reset", Count: 1}}}}},
		Timings: []Timing{
			{Flow: "10.0.0.1:5000 → 10.0.0.2:443", Name: s("tname"), App: "tls", Start: "2026-01-02T03:04:05.1Z", DNSMS: 2, ConnectMS: 20, TLSMS: 40, TTFBMS: 100, TotalMS: 900, Why: "slowest"},
			{Flow: "10.0.0.1:5001 → 10.0.0.2:80", App: "http", Start: "2026-01-02T03:04:06Z", ConnectMS: 10, TTFBMS: 1200, TotalMS: 1300, Why: "sample"},
		},
		Flows: []FlowRow{
			{CommunityID: "1:aaa", Proto: "tcp", Src: "10.0.0.1:5000", Dst: "10.0.0.2:443", Stream: 0, State: "SF", App: "tls", Name: s("flowname"),
				First: "2026-01-02T03:04:05.1Z", Duration: 0.9, Packets: 30, Bytes: 30000, RTTMS: 20, Retransmissions: 3, DuplicateAcks: 2,
				Filter: "ip.addr == 10.0.0.1", Why: "bytes problems"},
			{CommunityID: "1:bbb", Proto: "udp", Src: "10.0.0.1:5353", Dst: "10.0.0.53:53", Stream: -1, State: "SF",
				First: "2026-01-02T03:04:05Z", Duration: 0.002, Packets: 2, Bytes: 160, Why: "bytes"},
		},
		Limits: Limits{ListLimits: run.ListLimits{TopFlows: 200, FlowsSeen: 3, ProblemFlows: 1, SlowestTiming: 200, SampleTiming: 100, TimingsSeen: 2,
			MaxNames: 10000, HTTPErrors: 100}, Findings: 3, FindingsAll: 3, Talkers: 3},
	}
}

func plain(field string) string { return field }

func renderTest(t *testing.T, d *Data, o renderOptions) []byte {
	t.Helper()
	if o.echarts == "" {
		o.echarts = echartsMarker
	}
	var b bytes.Buffer
	if err := render(&b, d, o); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden keeps the page's structure under review: run with -update to
// accept a change, and read the diff.
func TestGolden(t *testing.T) {
	got := renderTest(t, sampleData(plain), renderOptions{})
	path := filepath.Join("testdata", "report.golden.html")
	if !golden.Equal(t, path, got) {
		t.Errorf("the page differs from %s (go test ./report/html -update to accept, then review the diff)", path)
	}
}

// TestRenderEmbedsECharts checks the real page carries the vendored
// ECharts, once, and matches VERSION.
func TestRenderEmbedsECharts(t *testing.T) {
	var b bytes.Buffer
	if err := Render(&b, sampleData(plain)); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), echartsJS); n != 1 {
		t.Fatalf("ECharts inlined %d times", n)
	}
	if !strings.Contains(echartsJS, `version="`+EChartsVersion()+`"`) {
		t.Errorf("assets/echarts.min.js is not version %s (assets/VERSION)", EChartsVersion())
	}
	for _, s := range []string{"http://", "https://", "//cdn"} {
		for _, m := range attrValues(t, b.Bytes(), "src", "href") {
			if strings.Contains(m, s) {
				t.Errorf("page links to %q", m)
			}
		}
	}
	// The policy (worked out once per process for the embedded ECharts)
	// names the page's scripts as they are, ECharts included.
	_, _, scripts := tokens(t, b.Bytes())
	checkCSP(t, b.Bytes(), scripts)
}

// hostile is text a capture can carry, aimed at each context of the page.
const hostile = `"'><img src=x onerror=alert(1)></script><script>alert(2)</script><!--<svg onload=alert(3)>javascript:alert(4)` + "\u2028{{.}}"

// TestEscaping fills every capture-derived string with hostile text and
// checks, with a real HTML tokenizer, that none of it became markup: the
// page has exactly its own elements and scripts, no event handler
// attributes, no links but in-page anchors, and every hostile value is
// still shown, as text, where it belongs.
func TestEscaping(t *testing.T) {
	fields := map[string]bool{}
	mark := func(f string) string { fields[f] = true; return f + hostile }
	d := sampleData(mark)
	for _, noCSP := range []bool{false, true} {
		out := renderTest(t, d, renderOptions{noCSP: noCSP})
		if bytes.Contains(out, []byte("<img")) || bytes.Contains(out, []byte("<svg")) || bytes.Contains(out, []byte("</script><script>alert")) {
			t.Errorf("noCSP=%v: raw markup from the capture in the page", noCSP)
		}
		texts, attrs, scripts := tokens(t, out)
		// Every value is visible as text (attribute values count for the
		// full name shown on hover).
		all := strings.Join(texts, "\n")
		for f := range fields {
			if !strings.Contains(all, f+hostile) {
				t.Errorf("field %s: hostile value not shown as text", f)
			}
		}
		for _, a := range attrs {
			if strings.HasPrefix(a.key, "on") {
				t.Errorf("event handler attribute %s=%q", a.key, a.val)
			}
			if (a.key == "href" || a.key == "src" || a.key == "action" || a.key == "formaction") && !strings.HasPrefix(a.val, "#") {
				t.Errorf("%s=%q: the page links only within itself", a.key, a.val)
			}
			if a.key == "title" && strings.Contains(a.val, "flowname") && a.val != "flowname"+hostile {
				t.Errorf("title attribute %q lost the value", a.val)
			}
		}
		if len(scripts) != 4 {
			t.Fatalf("page has %d <script> elements, want 4 (guard, data, echarts, page)", len(scripts))
		}
		// The JSON block: no '<' at all, parses, and holds the names.
		js := scripts[1]
		if js.typ != "application/json" || strings.ContainsAny(js.body, "<>") {
			t.Fatalf("chart data block: type %q, has '<' or '>': %v", js.typ, strings.ContainsAny(js.body, "<>"))
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(js.body), &v); err != nil {
			t.Fatalf("chart data block does not parse: %v", err)
		}
		if !strings.Contains(js.body, `\u003cimg src=x onerror=alert(1)\u003e`) {
			t.Error("chart data block does not carry the escaped SNI")
		}
		for i, s := range []string{guardJS, js.body, echartsMarker, pageJS} {
			if i != 1 && scripts[i].body != s {
				t.Errorf("script %d is not the page's own", i)
			}
		}
		if !noCSP {
			checkCSP(t, out, scripts)
		}
	}
}

// checkCSP checks the policy forbids loads and names exactly the page's
// scripts and style by hash.
func checkCSP(t *testing.T, out []byte, scripts []script) {
	t.Helper()
	var policy string
	for _, a := range attrValuesFull(t, out) {
		if a.key == "content" && strings.HasPrefix(a.val, "default-src") {
			policy = a.val
		}
	}
	if !strings.HasPrefix(policy, "default-src 'none';") || strings.Contains(policy, "unsafe") {
		t.Fatalf("policy %q", policy)
	}
	for _, s := range scripts {
		if s.typ != "" {
			continue
		}
		h := sha256.Sum256([]byte(s.body))
		if !strings.Contains(policy, "'sha256-"+base64.StdEncoding.EncodeToString(h[:])+"'") {
			t.Errorf("policy misses the hash of a script starting %.40q", s.body)
		}
	}
	h := sha256.Sum256([]byte(pageCSS))
	if !strings.Contains(policy, "style-src 'sha256-"+base64.StdEncoding.EncodeToString(h[:])+"'") {
		t.Error("policy misses the style's hash")
	}
}

type attr struct{ key, val string }
type script struct{ typ, body string }

// tokens returns the page's text nodes (decoded), attributes, and scripts.
func tokens(t *testing.T, page []byte) (texts []string, attrs []attr, scripts []script) {
	t.Helper()
	z := xhtml.NewTokenizer(bytes.NewReader(page))
	inScript, typ := false, ""
	allowed := map[string]bool{}
	for _, e := range strings.Fields("html head meta title script style body header h1 h2 h3 p nav a main section ul li span strong dl dt dd details summary article code button div figure table thead tbody tr th td input select option output footer") {
		allowed[e] = true
	}
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return
		case xhtml.TextToken:
			if inScript {
				scripts = append(scripts, script{typ, string(z.Raw())})
			} else {
				texts = append(texts, string(z.Text()))
			}
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, has := z.TagName()
			if !allowed[string(name)] {
				t.Errorf("unexpected element <%s>", name)
			}
			typ = ""
			for has {
				var k, v []byte
				k, v, has = z.TagAttr()
				attrs = append(attrs, attr{string(k), string(v)})
				texts = append(texts, string(v))
				if string(k) == "type" {
					typ = string(v)
				}
			}
			if string(name) == "script" {
				inScript = true
			}
		case xhtml.EndTagToken:
			if name, _ := z.TagName(); string(name) == "script" {
				inScript = false
			}
		}
	}
}

func attrValuesFull(t *testing.T, page []byte) []attr {
	_, a, _ := tokens(t, page)
	return a
}

func attrValues(t *testing.T, page []byte, keys ...string) []string {
	var out []string
	for _, a := range attrValuesFull(t, page) {
		for _, k := range keys {
			if a.key == k {
				out = append(out, a.val)
			}
		}
	}
	return out
}

// TestDataJSONRoundTrip: Data is plain data (no reference to the run); a
// page rebuilt from its JSON copy is the same page.
func TestDataJSONRoundTrip(t *testing.T) {
	d := sampleData(func(f string) string { return f + hostile })
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Data
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d, &back) {
		t.Fatalf("Data does not survive JSON:\n%+v\n%+v", d, &back)
	}
	if !bytes.Equal(renderTest(t, d, renderOptions{}), renderTest(t, &back, renderOptions{})) {
		t.Error("the page from the JSON copy differs")
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := WriteFile(path, sampleData(plain)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasSuffix(b, []byte("</html>\n")) {
		t.Fatalf("report not complete: %v", err)
	}
	if err := WriteFile(filepath.Join(dir, "bad.html"), nil); err == nil {
		t.Error("nil data: no error")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only report.html", names)
	}
}

func TestVerdict(t *testing.T) {
	var b bytes.Buffer
	d := sampleData(plain)
	d.Findings = nil
	if err := render(&b, d, renderOptions{echarts: echartsMarker}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No problems found.") {
		t.Error("no findings: the verdict does not say so")
	}
	fs := sampleData(plain).Findings
	ps := Problems(fs)
	if len(ps) != 2 || ps[0].Rule != "tcp-retransmissions" || ps[0].Findings != 2 || ps[0].Occurrences != 4 || ps[0].Severity != "error" || ps[1].Findings != 1 {
		t.Errorf("problems %+v", ps)
	}
	if c := verdictClass(ps); c != "bad" {
		t.Errorf("class %q", c)
	}
	if c := verdictClass(ps[1:]); c != "warn" {
		t.Errorf("class %q", c)
	}
	// The list is capped per rule and in all; the problems count all.
	var many []Finding
	for i := 0; i < 30; i++ {
		many = append(many, Finding{Rule: "a", Severity: "error", Count: 1})
	}
	many = append(many, Finding{Rule: "b", Severity: "warning", Count: 1})
	l := ListFindings(many, 12, 10)
	if len(l) != 11 || l[10].Rule != "b" {
		t.Errorf("listed %d, last %+v", len(l), l[len(l)-1])
	}
	d = &Data{Problems: Problems(many), Findings: l}
	g := groups(d)
	if len(g) != 2 || len(g[0].Shown) != foldAfter || len(g[0].Folded) != 10-foldAfter || g[0].Unlisted != 20 || len(g[1].Shown) != 1 {
		t.Errorf("groups %+v", g)
	}
}

func TestScriptJSONRefusesMarkup(t *testing.T) {
	s, err := scriptJSON(map[string]string{"x": "</script><!-- \u2028"})
	if err != nil || strings.ContainsAny(s, "<>\u2028") {
		t.Fatalf("%q, %v", s, err)
	}
	if checkInlineScript("a</SCRIPT>") == nil || checkInlineScript("<!--") == nil {
		t.Error("checkInlineScript lets a closing tag through")
	}
	// And a render checks the scripts it inlines.
	if err := render(io.Discard, &Data{}, renderOptions{echarts: "var a = '</Script>'"}); err == nil {
		t.Error("render inlined an ECharts that closes its script element")
	}
}

// Package html writes pcapx's HTML report: one self-contained file that an
// engineer opens in a browser after copying a capture off a server, often
// with no network. It holds a verdict (what is wrong, most severe first),
// the capture overview, the findings with their evidence frames and
// Wireshark filters, charts (throughput, TCP trouble over time, handshake
// RTT, DNS rcodes, HTTP status codes, TLS failures by SNI, top talkers), a
// per-connection timing waterfall, and a sortable, filterable flow table.
//
// FromResult turns a run's Result (whose Summariser kept the bounded lists
// the page shows) into a Data, a plain JSON-serialisable value; Render and
// WriteFile turn a Data into the page. The same Result is rebuilt later
// from the run's Parquet tables (report/parquet.Replay: `pcapx report
// DIR`), so the page is too.
//
// Security. Everything taken from a capture is hostile. The page is built
// with html/template, which escapes each value for where it lands (text,
// attribute, URL, script); no capture string is ever put in a link. The
// chart options are JSON in a <script type="application/json"> block,
// encoded with encoding/json's HTML escaping (<, >, & become \u003c...), so
// neither </script> nor <!-- can end the block early, and the page's
// script reads the block with textContent and JSON.parse, never eval.
// Chart tooltips render on the canvas (ECharts richText), not as HTML. On
// top of the escaping, a Content-Security-Policy meta forbids every load
// (default-src 'none') and runs only the page's own three inline scripts,
// named by their SHA-256 hashes: an injected script or event handler
// would not run even if a value escaped its context. Styles are allowed by
// hash as well; ECharts sizes its elements through the CSSOM, which the
// policy does not restrict.
package html

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pcapx/pcapx/report"
)

var (
	//go:embed assets/echarts.min.js
	echartsJS string
	//go:embed assets/VERSION
	echartsVersion string
	//go:embed web/guard.js
	guardJS string
	//go:embed web/page.js
	pageJS string
	//go:embed web/page.css
	pageCSS string
	//go:embed web/page.html.tmpl
	pageTmpl string
)

// EChartsVersion is the version of Apache ECharts inlined in every page.
func EChartsVersion() string { return strings.TrimSpace(echartsVersion) }

var tmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"num":    num,
	"i64":    func(i int) int64 { return int64(i) },
	"bytes":  report.HumanBytes,
	"ms":     fmtMillis,
	"dur":    report.HumanDuration,
	"secs":   func(ns int64) float64 { return float64(ns) / 1e9 },
	"counts": countsText,
	"join":   strings.Join,
	"frames": framesText,
	"words":  strings.Fields,
	"dec":    func(i int) int { return i - 1 },
}).Parse(pageTmpl))

// page is what the template sees.
type page struct {
	D              *Data
	Title          string
	CSP            string
	GuardJS        template.JS
	PageJS         template.JS
	ECharts        template.JS
	CSS            template.CSS
	ChartsJSON     template.JS
	Charts         []chart
	Waterfall      *chart
	WaterfallRows  int
	Groups         []group
	Verdict        []group // the first groups
	VerdictMore    int
	VerdictClass   string
	EChartsVersion string
	oneDay         bool // the capture starts and ends on one UTC day
}

// Clock shortens an RFC 3339 time from the capture for a table cell: the
// time of day when the whole capture is one UTC day (the header says which),
// else month-day and time. Anything unparsable is shown as it is.
func (p *page) Clock(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	if p.oneDay {
		return t.UTC().Format("15:04:05.000")
	}
	return t.UTC().Format("01-02 15:04:05.000")
}

// renderOptions are for tests: the golden test swaps the 1 MB ECharts
// source for a marker, and the browser test renders a hostile page without
// the policy, to prove the escaping alone holds.
type renderOptions struct {
	echarts string // "" = the embedded ECharts
	noCSP   bool
}

// Render writes the page for d.
func Render(w io.Writer, d *Data) error {
	return render(w, d, renderOptions{})
}

func render(w io.Writer, d *Data, o renderOptions) error {
	if d == nil {
		return errors.New("html report: no data")
	}
	ech := echartsJS
	policy, err := embeddedPolicy()
	if o.echarts != "" {
		ech = o.echarts
		policy, err = scriptPolicy(ech)
	}
	if err != nil {
		return err
	}
	cs := buildCharts(d)
	specs := map[string]any{}
	p := &page{D: d, Title: title(d), Charts: cs, EChartsVersion: EChartsVersion(), WaterfallRows: maxWaterfall}
	if f, l := d.Capture.First, d.Capture.Last; len(f) >= 10 && len(l) >= 10 && f[:10] == l[:10] {
		p.oneDay = true
	}
	for i := range cs {
		if cs[i].Option != nil {
			specs[cs[i].ID] = cs[i].Option
		}
		if cs[i].ID == "waterfall" {
			p.Waterfall = &cs[i]
		}
	}
	js, err := scriptJSON(specs)
	if err != nil {
		return fmt.Errorf("html report: chart options: %w", err)
	}
	p.GuardJS, p.PageJS, p.ECharts = template.JS(guardJS), template.JS(pageJS), template.JS(ech)
	p.CSS, p.ChartsJSON = template.CSS(pageCSS), template.JS(js)
	p.CSP = policy
	if o.noCSP {
		p.CSP = "default-src * 'unsafe-inline' 'unsafe-eval'"
	}
	p.Groups = groups(d)
	p.Verdict = p.Groups
	if len(p.Verdict) > maxVerdict {
		p.Verdict, p.VerdictMore = p.Verdict[:maxVerdict], len(p.Groups)-maxVerdict
	}
	ps := make([]Problem, len(p.Groups))
	for i := range p.Groups {
		ps[i] = p.Groups[i].P
	}
	p.VerdictClass = verdictClass(ps)

	var buf bytes.Buffer
	buf.Grow(len(ech) + 256<<10)
	if err := tmpl.Execute(&buf, p); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// WriteFile renders the page for d and writes it to path (see WritePage).
func WriteFile(path string, d *Data) error {
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		return err
	}
	return WritePage(path, b.Bytes())
}

// WritePage writes a rendered page to path through a temporary file in
// the same directory, renamed into place once complete: a reader never
// sees half a page, and a failed run leaves any previous report as it
// was. (Rendering and writing are apart so that pcapx analyze -o renders
// the page while the Parquet tables are completed, and writes it only
// once they are.)
func WritePage(path string, page []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(page); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	return nil
}

// scriptJSON encodes v for a <script type="application/json"> block.
// encoding/json escapes <, > and & (and U+2028/2029) as \u sequences, so
// the text has no '<' at all: nothing in it can close the element or open
// a comment. The check below makes that a guarantee, not an assumption.
func scriptJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	if bytes.ContainsAny(b, "<>") {
		return "", errors.New("encoded options contain '<' or '>'")
	}
	return string(b), nil
}

// embeddedPolicy is scriptPolicy of the embedded ECharts, worked out once
// per process: ECharts alone is 1 MB, and lowering and hashing it on every
// render took about 4 ms of the 34-37 ms that rendering the 250 MB
// benchmark capture's page took.
var embeddedPolicy = sync.OnceValues(func() (string, error) { return scriptPolicy(echartsJS) })

// scriptPolicy checks the page's inline scripts, with ech as ECharts, and
// returns its Content-Security-Policy.
func scriptPolicy(ech string) (string, error) {
	for _, s := range []string{ech, guardJS, pageJS} {
		if err := checkInlineScript(s); err != nil {
			return "", err
		}
	}
	return csp(guardJS, ech, pageJS), nil
}

// checkInlineScript refuses a script that would end its element early or
// switch the HTML parser into its "script data escaped" states.
func checkInlineScript(s string) error {
	l := strings.ToLower(s)
	if strings.Contains(l, "</script") || strings.Contains(l, "<!--") {
		return errors.New("html report: an inlined script contains </script or <!--")
	}
	return nil
}

// csp is the page's Content-Security-Policy: nothing may load (no
// network, no images, fonts, frames or forms), and only the page's own
// inline scripts and style run, by hash.
func csp(scripts ...string) string {
	var b strings.Builder
	b.WriteString("default-src 'none'; script-src")
	for _, s := range scripts {
		b.WriteString(" " + hash(s))
	}
	b.WriteString("; style-src " + hash(pageCSS))
	b.WriteString("; base-uri 'none'; form-action 'none'")
	return b.String()
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
}

// title names the capture: its files' base names.
func title(d *Data) string {
	var names []string
	for _, f := range d.Capture.Files {
		if !f.Skipped {
			names = append(names, filepath.Base(f.Name))
		}
	}
	switch len(names) {
	case 0:
		return "(no capture)"
	case 1, 2, 3:
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s … %s (%d files)", names[0], names[len(names)-1], len(names))
}

// group is one rule's findings as the page lists them: the first few
// open, the rest folded away.
type group struct {
	Index    int // for the anchor #problem-N
	P        Problem
	Shown    []listed
	Folded   []listed
	Unlisted int // findings of the rule not in the list (caps)
}

type listed struct {
	I     int // index in Data.Findings, for element ids
	F     *Finding
	Other string // the finding's severity when it is not its group's
}

// foldAfter is how many findings of a rule show before "show more".
const foldAfter = 3

// maxVerdict caps the verdict: it is read first and must stay short.
const maxVerdict = 10

// groups sorts the listed findings under their problems, in the
// problems' order (most severe first). Findings whose rule has no problem
// entry (a Data put together by hand) get one.
func groups(d *Data) []group {
	ps := d.Problems
	if len(ps) == 0 && len(d.Findings) > 0 {
		ps = Problems(d.Findings)
	}
	at := map[string]int{}
	out := make([]group, 0, len(ps))
	for i, p := range ps {
		at[p.Rule] = i
		out = append(out, group{Index: i, P: p})
	}
	for i := range d.Findings {
		f := &d.Findings[i]
		j, ok := at[f.Rule]
		if !ok {
			j = len(out)
			at[f.Rule] = j
			out = append(out, group{Index: j, P: Problem{Rule: f.Rule, Severity: f.Severity, Title: f.Title, Message: f.Message}})
		}
		g := &out[j]
		l := listed{I: i, F: f}
		if f.Severity != g.P.Severity {
			l.Other = f.Severity
		}
		if len(g.Shown) < foldAfter {
			g.Shown = append(g.Shown, l)
		} else {
			g.Folded = append(g.Folded, l)
		}
	}
	for i := range out {
		if n := out[i].P.Findings - len(out[i].Shown) - len(out[i].Folded); n > 0 {
			out[i].Unlisted = n
		}
	}
	return out
}

// verdictClass colours the verdict by the worst severity.
func verdictClass(ps []Problem) string {
	class := ""
	for _, p := range ps {
		switch p.Severity {
		case "critical", "error":
			return "bad"
		case "warning":
			class = "warn"
		}
	}
	return class
}

func num(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func fmtMillis(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return num(int64(v + 0.5))
}

func countsText(cs []Count) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + " " + num(c.Count)
	}
	return strings.Join(parts, ", ")
}

func framesText(es []Evidence) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = strconv.FormatInt(e.Frame, 10)
		if e.File != "" {
			parts[i] = e.File + ":" + parts[i]
		}
	}
	return strings.Join(parts, ", ")
}

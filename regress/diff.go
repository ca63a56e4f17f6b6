package regress

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pcapx/pcapx/rules"
)

// Side is one side of pcapx diff: a run's findings and metrics.
type Side struct {
	Name     string // as the user named it
	Findings []rules.Finding
	Metrics  Metrics
}

// DiffFinding is a fingerprint's findings on the sides that have it. A
// fingerprint can stand for several findings (the flows of a per-flow rule
// to one server, the statuses of one class): their counts are summed,
// the most severe is shown.
type DiffFinding struct {
	ID          string            `json:"id"` // Fingerprint.ID
	Rule        string            `json:"rule"`
	Key         map[string]string `json:"key,omitempty"`
	Severity    rules.Severity    `json:"severity"`               // on the newer side that has it
	OldSeverity *rules.Severity   `json:"old_severity,omitempty"` // unchanged: on the old side
	Title       string            `json:"title"`
	Message     string            `json:"message"` // of the most severe, on the newer side that has it
	Filter      string            `json:"filter"`
	OldCount    int64             `json:"old_count"`
	NewCount    int64             `json:"new_count"`
}

// Delta is one metric on both sides; nil where a side had nothing to
// measure.
type Delta struct {
	Old   *float64 `json:"old"`
	New   *float64 `json:"new"`
	Delta *float64 `json:"delta"`
}

// MetricDeltas are the metrics of a diff (the names as in Metrics).
type MetricDeltas struct {
	RetransmissionRate Delta `json:"retransmission_rate_pct"`
	ZeroWindowS        Delta `json:"zero_window_s"`
	HandshakeRTTP50    Delta `json:"handshake_rtt_p50_ms"`
	HandshakeRTTP95    Delta `json:"handshake_rtt_p95_ms"`
	DNSFailureRate     Delta `json:"dns_failure_rate_pct"`
	HTTP5xxRate        Delta `json:"http_5xx_rate_pct"`
	TLSRejections      Delta `json:"tls_rejections"`
}

// Diff compares two runs.
type Diff struct {
	Old       string        `json:"old"`
	New       string        `json:"new"`
	Added     []DiffFinding `json:"new_findings"`
	Resolved  []DiffFinding `json:"resolved_findings"`
	Unchanged []DiffFinding `json:"unchanged_findings"`
	Metrics   MetricDeltas  `json:"metrics"`
}

// Compare diffs two runs: their findings by fingerprint (without a
// capture path: the sides are two runs of one thing), and their metrics.
func Compare(old, new *Side) *Diff {
	d := &Diff{Old: old.Name, New: new.Name}
	o, n := group(old.Findings), group(new.Findings)
	for id, nf := range n {
		if of, ok := o[id]; ok {
			u := *nf
			u.OldCount = of.NewCount
			if of.Severity != nf.Severity {
				sev := of.Severity
				u.OldSeverity = &sev
			}
			d.Unchanged = append(d.Unchanged, u)
		} else {
			d.Added = append(d.Added, *nf)
		}
	}
	for id, of := range o {
		if _, ok := n[id]; !ok {
			r := *of
			r.OldCount, r.NewCount = of.NewCount, 0
			d.Resolved = append(d.Resolved, r)
		}
	}
	for _, l := range [][]DiffFinding{d.Added, d.Resolved, d.Unchanged} {
		slices.SortFunc(l, func(a, b DiffFinding) int {
			return cmp.Or(-cmp.Compare(a.Severity, b.Severity), cmp.Compare(a.Rule, b.Rule), cmp.Compare(KeyText(a.Key), KeyText(b.Key)))
		})
	}
	om, nm := old.Metrics, new.Metrics
	d.Metrics = MetricDeltas{
		RetransmissionRate: delta(om.RetransmissionRate, nm.RetransmissionRate),
		ZeroWindowS:        delta(&om.ZeroWindowS, &nm.ZeroWindowS),
		HandshakeRTTP50:    delta(om.HandshakeRTTP50, nm.HandshakeRTTP50),
		HandshakeRTTP95:    delta(om.HandshakeRTTP95, nm.HandshakeRTTP95),
		DNSFailureRate:     delta(om.DNSFailureRate, nm.DNSFailureRate),
		HTTP5xxRate:        delta(om.HTTP5xxRate, nm.HTTP5xxRate),
		TLSRejections:      delta(&om.TLSRejections, &nm.TLSRejections),
	}
	return d
}

// group gathers a side's findings by fingerprint; NewCount holds the
// side's count.
func group(fs []rules.Finding) map[string]*DiffFinding {
	out := map[string]*DiffFinding{}
	for _, f := range fs {
		fp := Of("", &f)
		id := fp.String()
		g := out[id]
		if g == nil {
			g = &DiffFinding{ID: fp.ID(), Rule: f.Rule, Key: f.Key, Severity: f.Severity, Title: f.Title, Message: f.Message, Filter: f.Filter}
			out[id] = g
		} else if f.Severity > g.Severity {
			g.Severity, g.Message, g.Filter = f.Severity, f.Message, f.Filter
		}
		g.NewCount += f.Count
	}
	return out
}

func delta(a, b *float64) Delta {
	d := Delta{Old: a, New: b}
	if a != nil && b != nil {
		d.Delta = ptr(*b - *a)
	}
	return d
}

// Failing returns the findings that fail --fail-on-new at sev: the new
// ones at or above it, and the unchanged ones that became that severe.
func (d *Diff) Failing(sev rules.Severity) []DiffFinding {
	var out []DiffFinding
	for _, f := range d.Added {
		if f.Severity >= sev {
			out = append(out, f)
		}
	}
	for _, f := range d.Unchanged {
		if f.Severity >= sev && f.OldSeverity != nil && *f.OldSeverity < f.Severity && *f.OldSeverity < sev {
			out = append(out, f)
		}
	}
	return out
}

// JSON writes the diff as one JSON document (empty lists as []).
func (d *Diff) JSON(w io.Writer) error {
	c := *d
	for _, l := range []*[]DiffFinding{&c.Added, &c.Resolved, &c.Unchanged} {
		if *l == nil {
			*l = []DiffFinding{}
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(&c)
}

// Text writes the diff for a person: the findings by status, then a table
// of the metrics.
func (d *Diff) Text(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Old       %s\nNew       %s\n", safe(d.Old), safe(d.New))
	fmt.Fprintf(&b, "\nFindings  %d new, %d resolved, %d unchanged\n", len(d.Added), len(d.Resolved), len(d.Unchanged))
	line := func(status string, f DiffFinding, counts string) {
		fmt.Fprintf(&b, "  %-9s %-8s %s", status, f.Severity, f.Rule)
		if len(f.Key) > 0 {
			fmt.Fprintf(&b, " [%s]", safe(KeyText(f.Key)))
		}
		fmt.Fprintf(&b, " %s: %s\n", counts, safe(f.Message))
	}
	for _, f := range d.Added {
		line("new", f, fmt.Sprintf("(count %d)", f.NewCount))
	}
	for _, f := range d.Resolved {
		line("resolved", f, fmt.Sprintf("(count was %d)", f.OldCount))
	}
	for _, f := range d.Unchanged {
		c := fmt.Sprintf("(count %d → %d)", f.OldCount, f.NewCount)
		if f.OldSeverity != nil {
			c = fmt.Sprintf("(was %s; count %d → %d)", f.OldSeverity, f.OldCount, f.NewCount)
		}
		line("unchanged", f, c)
	}
	m := &d.Metrics
	fmt.Fprintf(&b, "\n%-22s %12s %12s %12s\n", "Metric", "old", "new", "delta")
	row := func(name string, x Delta, unit string, prec int) {
		fmt.Fprintf(&b, "%-22s %12s %12s %12s\n", name, num(x.Old, unit, prec, false), num(x.New, unit, prec, false), num(x.Delta, deltaUnit(unit), prec, true))
	}
	row("retransmission rate", m.RetransmissionRate, "%", 2)
	row("zero-window time", m.ZeroWindowS, "s", 3)
	row("handshake RTT p50", m.HandshakeRTTP50, "ms", 2)
	row("handshake RTT p95", m.HandshakeRTTP95, "ms", 2)
	row("DNS failure rate", m.DNSFailureRate, "%", 2)
	row("HTTP 5xx rate", m.HTTP5xxRate, "%", 2)
	row("TLS rejections", m.TLSRejections, "", 0)
	_, err := io.WriteString(w, b.String())
	return err
}

// deltaUnit: a change of a percentage is in percentage points.
func deltaUnit(u string) string {
	if u == "%" {
		return " pp"
	}
	return u
}

func num(v *float64, unit string, prec int, sign bool) string {
	if v == nil {
		return "-"
	}
	f := "%." + fmt.Sprint(prec) + "f"
	if sign {
		f = "%+." + fmt.Sprint(prec) + "f"
	}
	s := fmt.Sprintf(f, *v)
	if unit == "s" || unit == "ms" {
		return s + " " + unit
	}
	return s + unit
}

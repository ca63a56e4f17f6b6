package html

import (
	"path/filepath"
	"strconv"

	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// SchemaVersion is the version of Data's JSON form. Bump it when a field
// changes meaning or is removed (adding fields does not need a bump).
const SchemaVersion = 1

// Data is everything the page shows: the page's view of a run.Result, a
// plain, JSON-serialisable value that Render turns into HTML. FromResult
// makes it from the result of a run (analyze.Run, or parquet.Replay, which
// rebuilds the run from its tables for `pcapx report DIR`). Its values are
// the run model's own types (package run) where the page shows them as
// they are, and its own where it shows something else. Every list is
// already sorted in the order the page shows it and already capped (Limits
// says how), so Render neither sorts nor trims.
//
// Strings taken from a capture (file names and comments, DNS names, HTTP
// hosts, targets and user agents, SNI, finding messages and filters) are
// kept as they are; Render escapes them for where they land.
type Data struct {
	Schema int `json:"schema"`
	// Generated is when the report was made (RFC 3339), set by the caller;
	// empty leaves it out of the page (tests, reproducible output).
	Generated string `json:"generated,omitempty"`
	// Tool names the program and version, e.g. "pcapx 0.4.0" (optional).
	Tool string `json:"tool,omitempty"`

	Capture    Capture     `json:"capture"`
	TCP        TCP         `json:"tcp"`
	FlowStates []Count     `json:"flow_states"` // most first
	Protocols  []Count     `json:"protocols"`   // most first
	Problems   []Problem   `json:"problems"`    // the verdict: findings by rule, most severe first
	Findings   []Finding   `json:"findings"`    // most severe first (capped: Limits)
	Suppressed []Count     `json:"suppressed"`  // findings not kept past a rule's cap, by rule
	Timeline   Timeline    `json:"timeline"`
	TopTalkers []Talker    `json:"top_talkers"`
	RTT        Histogram   `json:"handshake_rtt"`
	DNS        DNSSummary  `json:"dns"`
	HTTP       HTTPSummary `json:"http"`
	TLS        TLSSummary  `json:"tls"`
	Timings    []Timing    `json:"timings"` // slowest by total, slowest to first byte, sample
	Flows      []FlowRow   `json:"flows"`   // by bytes first, then by problems
	Limits     Limits      `json:"limits"`
}

// The run's own values (package run): the page shows them as the run
// summarised them.
type (
	Capture      = run.Capture
	File         = run.File
	TCP          = run.TCPSummary
	Timeline     = run.Timeline
	Bucket       = run.Bucket
	Talker       = run.Talker
	Count        = run.Count
	NameFailures = run.NameFailures
	HTTPRow      = run.HTTPRow
	Timing       = run.Timing
	FlowRow      = run.FlowRow
	Histogram    = run.Histogram
)

// Finding is one diagnosis as the page shows it.
type Finding struct {
	Rule     string     `json:"rule"`
	Severity string     `json:"severity"` // info, warning, error, critical
	Title    string     `json:"title"`
	Message  string     `json:"message"`
	First    string     `json:"first"`
	Last     string     `json:"last"`
	Count    int64      `json:"count"`
	Flow     string     `json:"flow,omitempty"` // "tcp 10.0.0.1:5000 → 10.0.0.2:80"
	Evidence []Evidence `json:"evidence"`
	Filter   string     `json:"filter"` // Wireshark display filter
}

// Problem is one kind of problem the run found: the findings of one rule,
// summed up for the verdict. Message is that of the rule's most severe
// (then earliest) finding.
type Problem struct {
	Rule        string `json:"rule"`
	Severity    string `json:"severity"`
	Title       string `json:"title"`
	Message     string `json:"message"`
	Findings    int    `json:"findings"`    // findings of this rule in the run
	Occurrences int64  `json:"occurrences"` // their counts added up
}

// Problems sums findings up by rule, in the order of each rule's first
// finding: for findings sorted most severe first (as runs report them),
// the most severe kind of problem comes first. It is computed over all the
// run's findings, before the list is capped.
func Problems(fs []Finding) []Problem {
	at := map[string]int{}
	out := []Problem{}
	for _, f := range fs {
		i, ok := at[f.Rule]
		if !ok {
			i = len(out)
			at[f.Rule] = i
			out = append(out, Problem{Rule: f.Rule, Severity: f.Severity, Title: f.Title, Message: f.Message})
		}
		out[i].Findings++
		out[i].Occurrences += f.Count
	}
	return out
}

// Evidence is a frame as Wireshark numbers it; File is the file's base
// name when the run read several files, else empty.
type Evidence struct {
	File  string `json:"file,omitempty"`
	Frame int64  `json:"frame"`
}

// DNSSummary counts DNS transactions.
type DNSSummary struct {
	Transactions int64   `json:"transactions"`
	Unanswered   int64   `json:"unanswered"`
	Rcodes       []Count `json:"rcodes"` // answered transactions by rcode name, most first
	// Failures are the names with the most error responses or unanswered
	// queries, most first.
	Failures []NameFailures `json:"failures"`
}

// HTTPSummary counts HTTP requests and responses.
type HTTPSummary struct {
	Requests  int64     `json:"requests"`
	Responses int64     `json:"responses"`
	Status    []Count   `json:"status"` // by status code ("200"), in code order
	Errors    []HTTPRow `json:"errors"` // the first error responses (4xx, 5xx) and requests without one
	ErrorsAll int64     `json:"errors_total"`
}

// TLSSummary counts TLS handshakes.
type TLSSummary struct {
	Handshakes int64          `json:"handshakes"`
	Outcomes   []Count        `json:"outcomes"`
	Failures   []NameFailures `json:"failures"` // rejected handshakes by SNI, most first
}

// Limits says how the page's tables were capped or sampled, with the
// totals they were taken from, so the page can say so: the run's list
// limits, and the page's own for findings and talkers.
type Limits struct {
	run.ListLimits
	Findings     int `json:"findings"`       // findings listed
	FindingsAll  int `json:"findings_total"` // findings the run reported
	FindingsRule int `json:"findings_rule"`  // most findings listed per rule
	Talkers      int `json:"talkers"`
}

// Options bound what the page lists of the findings. Zero fields take the
// defaults.
type Options struct {
	Findings     int // findings listed (default 500)
	RuleFindings int // findings listed per rule (default 50)
}

// FromResult makes the page's data from a run's result.
func FromResult(r *run.Result, o Options) *Data {
	if o.Findings <= 0 {
		o.Findings = 500
	}
	if o.RuleFindings <= 0 {
		o.RuleFindings = 50
	}
	d := &Data{Schema: SchemaVersion}
	d.Capture = r.Capture
	d.Capture.LinkTypes, d.Capture.Warnings = nonNil(r.Capture.LinkTypes), nonNil(r.Capture.Warnings)
	d.Capture.Files = []File{}
	for _, f := range r.Capture.Files {
		f.LinkTypes = nonNil(f.LinkTypes)
		d.Capture.Files = append(d.Capture.Files, f)
	}
	d.TCP = r.TCP
	d.FlowStates = run.SortedCounts(r.FlowStates)
	d.Protocols = run.SortedCounts(r.Protocols)
	d.Suppressed = run.SortedCounts(r.Suppressed)
	all := make([]Finding, len(r.Findings))
	for i := range r.Findings {
		all[i] = finding(r, &r.Findings[i])
	}
	d.Problems = Problems(all)
	d.Findings = ListFindings(all, o.Findings, o.RuleFindings)
	d.Limits.Findings, d.Limits.FindingsAll, d.Limits.FindingsRule = len(d.Findings), len(all), o.RuleFindings
	d.Timeline = r.Timeline
	d.Timeline.Buckets = append([]Bucket{}, r.Timeline.Buckets...)
	d.TopTalkers = append([]Talker{}, r.TopTalkers...)
	d.Limits.Talkers = len(d.TopTalkers)

	l := &r.Lists
	d.Limits.ListLimits = l.Limits
	d.RTT = l.RTT
	if len(d.RTT.Counts) == 0 {
		d.RTT = run.NewHistogram()
	}
	a := &r.App
	d.DNS = DNSSummary{Transactions: a.DNSTransactions, Unanswered: a.DNSUnanswered, Rcodes: run.SortedCounts(a.DNSRcodes), Failures: nonNilSlice(l.DNSFailures)}
	d.HTTP = HTTPSummary{Requests: a.HTTPRequests, Responses: a.HTTPResponses, Status: statusCounts(a.HTTPCodes), Errors: nonNilSlice(l.HTTPErrors), ErrorsAll: l.HTTPErrorsAll}
	d.TLS = TLSSummary{Handshakes: a.TLSHandshakes, Outcomes: run.SortedCounts(a.TLSOutcomes), Failures: nonNilSlice(l.TLSFailures)}
	d.Flows = nonNilSlice(l.Flows)
	d.Timings = nonNilSlice(l.Timings)
	return d
}

// statusCounts lists HTTP responses by status code, in code order.
func statusCounts(m map[int]int64) []Count {
	out := []Count{}
	for code := 100; code <= 599; code++ {
		if n := m[code]; n > 0 {
			out = append(out, Count{Name: strconv.Itoa(code), Count: n})
		}
	}
	return out
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ListFindings picks the findings the page lists, in order: at most
// perRule of each rule (so one noisy rule cannot crowd out the others) and
// at most max in all.
func ListFindings(all []Finding, max, perRule int) []Finding {
	out := []Finding{}
	n := map[string]int{}
	for _, f := range all {
		if len(out) == max {
			break
		}
		if n[f.Rule] < perRule {
			n[f.Rule]++
			out = append(out, f)
		}
	}
	return out
}

func finding(r *run.Result, f *rules.Finding) Finding {
	out := Finding{Rule: f.Rule, Severity: f.Severity.String(), Title: f.Title, Message: f.Message,
		First: f.First, Last: f.Last, Count: f.Count, Filter: f.Filter, Evidence: []Evidence{}}
	if f.Flow != nil {
		out.Flow = f.Flow.Proto + " " + run.HostPort(f.Flow.SrcAddr, f.Flow.SrcPort) + " → " + run.HostPort(f.Flow.DstAddr, f.Flow.DstPort)
	}
	multi := len(r.Capture.Files) > 1
	for _, e := range f.Evidence {
		ev := Evidence{Frame: e.Frame}
		if multi && e.File >= 0 && e.File < len(r.Capture.Files) {
			ev.File = filepath.Base(r.Capture.Files[e.File].Name)
		}
		out.Evidence = append(out.Evidence, ev)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

package html

import (
	"path/filepath"
	"sort"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/rules"
)

// SchemaVersion is the version of Data's JSON form. Bump it when a field
// changes meaning or is removed (adding fields does not need a bump).
const SchemaVersion = 1

// Data is everything the page shows: a plain, JSON-serialisable value with
// no reference to the run that made it. `pcapx report DIR` rebuilds it
// from the Parquet tables alone: parquet.Replay hands their records to a
// Collector, as the run did, with the run's summary read back from the
// capture, findings and timeline tables. Every
// list is already sorted in the order the page shows it and already capped
// (Limits says how), so Render neither sorts nor trims.
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

// Count is a named number.
type Count struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Capture, File, TCP, Timeline, Bucket and Talker are the run's own values
// (package analyze): the page shows them as the run summarised them.
type (
	Capture  = analyze.Capture
	File     = analyze.File
	TCP      = analyze.TCPSummary
	Timeline = analyze.Timeline
	Bucket   = analyze.Bucket
	Talker   = analyze.Talker
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

// NameFailures is one name (a DNS qname or a TLS SNI) and how it failed.
type NameFailures struct {
	Name  string  `json:"name"`
	Count int64   `json:"count"`
	By    []Count `json:"by"` // by rcode or TLS outcome, most first
}

// HTTPSummary counts HTTP requests and responses.
type HTTPSummary struct {
	Requests  int64     `json:"requests"`
	Responses int64     `json:"responses"`
	Status    []Count   `json:"status"` // by status code ("200"), in code order
	Errors    []HTTPRow `json:"errors"` // the first error responses (4xx, 5xx) and requests without one
	ErrorsAll int64     `json:"errors_total"`
}

// HTTPRow is one request with an error response (or none).
type HTTPRow struct {
	Time      string  `json:"time"`
	Flow      string  `json:"flow"`
	Method    string  `json:"method"`
	Host      string  `json:"host"`
	Target    string  `json:"target"`
	UserAgent string  `json:"user_agent"`
	Status    int     `json:"status"` // 0: no response seen
	Reason    string  `json:"reason"`
	TTFBMS    float64 `json:"ttfb_ms"`
	Frame     int64   `json:"frame"` // the request's frame
}

// TLSSummary counts TLS handshakes.
type TLSSummary struct {
	Handshakes int64          `json:"handshakes"`
	Outcomes   []Count        `json:"outcomes"`
	Failures   []NameFailures `json:"failures"` // rejected handshakes by SNI, most first
}

// Timing is one connection's curl-style timing breakdown, in ms.
type Timing struct {
	Flow      string  `json:"flow"`
	Name      string  `json:"name"` // SNI or HTTP host
	App       string  `json:"app"`
	Start     string  `json:"start"`
	DNSMS     float64 `json:"dns_ms"`
	ConnectMS float64 `json:"connect_ms"`
	TLSMS     float64 `json:"tls_ms"`
	TTFBMS    float64 `json:"ttfb_ms"`
	TotalMS   float64 `json:"total_ms"`
	// Why says which lists the row is in: "slowest" (total time),
	// "first-byte" (time to the first response byte), "sample".
	Why string `json:"why"`
}

// SetupMS is the time to the first response byte: DNS, connect, TLS and
// TTFB added up.
func (t *Timing) SetupMS() float64 { return t.DNSMS + t.ConnectMS + t.TLSMS + t.TTFBMS }

// RestMS is the part of the total after the first byte (transfer and idle).
func (t *Timing) RestMS() float64 {
	r := t.TotalMS - t.ConnectMS - t.TLSMS - t.TTFBMS
	if r < 0 {
		return 0
	}
	return r
}

// FlowRow is one flow in the flow table.
type FlowRow struct {
	CommunityID     string  `json:"community_id"`
	Proto           string  `json:"proto"`
	Src             string  `json:"src"` // address:port ([v6]:port)
	Dst             string  `json:"dst"`
	Stream          int64   `json:"stream"`
	State           string  `json:"state"`
	App             string  `json:"app"`
	Name            string  `json:"name"` // SNI or HTTP host
	First           string  `json:"first"`
	Duration        float64 `json:"duration_s"`
	Packets         int64   `json:"packets"`
	Bytes           int64   `json:"bytes"`
	RTTMS           float64 `json:"handshake_rtt_ms"`
	Retransmissions int64   `json:"retransmissions"`
	LostSegments    int64   `json:"lost_segments"`
	ZeroWindows     int64   `json:"zero_windows"`
	Resets          int64   `json:"resets"`
	DuplicateAcks   int64   `json:"duplicate_acks"`
	Filter          string  `json:"filter"`
	// Why says which list the flow is in: "bytes", "problems" or both.
	Why string `json:"why"`
}

// Problems is the trouble score the flow table ranks by.
func (f *FlowRow) Problems() int64 {
	return f.Retransmissions + f.LostSegments + f.ZeroWindows + f.Resets
}

// Limits says how the page's tables were capped or sampled, with the
// totals they were taken from, so the page can say so.
type Limits struct {
	TopFlows      int   `json:"top_flows"`      // N per flow list
	FlowsSeen     int64 `json:"flows_seen"`     // flows handed to the collector
	ProblemFlows  int64 `json:"problem_flows"`  // of which with a problem score > 0
	SlowestTiming int   `json:"slowest_timing"` // slowest connections kept, by total and by time to first byte
	SampleTiming  int   `json:"sample_timing"`  // uniform sample of the others
	TimingsSeen   int64 `json:"timings_seen"`   // TCP connections with a completed handshake
	MaxNames      int   `json:"max_names"`      // cap on distinct DNS names / SNIs tracked
	NamesPruned   bool  `json:"names_pruned"`   // the cap was hit: counts are lower bounds
	HTTPErrors    int   `json:"http_errors"`    // error requests listed
	Findings      int   `json:"findings"`       // findings listed
	FindingsAll   int   `json:"findings_total"` // findings the run reported
	FindingsRule  int   `json:"findings_rule"`  // most findings listed per rule
	Talkers       int   `json:"talkers"`
}

// fromResult fills what the run summarised (everything but the records).
func (d *Data) fromResult(r *analyze.Result, maxFindings, perRule int) {
	d.Capture = r.Capture
	d.Capture.LinkTypes, d.Capture.Warnings = nonNil(r.Capture.LinkTypes), nonNil(r.Capture.Warnings)
	d.Capture.Files = []File{}
	for _, f := range r.Capture.Files {
		f.LinkTypes = nonNil(f.LinkTypes)
		d.Capture.Files = append(d.Capture.Files, f)
	}
	d.TCP = r.TCP
	d.FlowStates = sortedCounts(r.FlowStates)
	d.Protocols = sortedCounts(r.Protocols)
	d.Suppressed = sortedCounts(r.Suppressed)
	all := make([]Finding, len(r.Findings))
	for i := range r.Findings {
		all[i] = finding(r, &r.Findings[i])
	}
	d.Problems = Problems(all)
	d.Findings = ListFindings(all, maxFindings, perRule)
	d.Limits.Findings, d.Limits.FindingsAll, d.Limits.FindingsRule = len(d.Findings), len(all), perRule
	d.Timeline = r.Timeline
	d.Timeline.Buckets = append([]Bucket{}, r.Timeline.Buckets...)
	d.TopTalkers = append(d.TopTalkers, r.TopTalkers...)
	d.Limits.Talkers = len(d.TopTalkers)
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

func finding(r *analyze.Result, f *rules.Finding) Finding {
	out := Finding{Rule: f.Rule, Severity: f.Severity.String(), Title: f.Title, Message: f.Message,
		First: f.First, Last: f.Last, Count: f.Count, Filter: f.Filter, Evidence: []Evidence{}}
	if f.Flow != nil {
		out.Flow = f.Flow.Proto + " " + hostPort(f.Flow.SrcAddr, f.Flow.SrcPort) + " → " + hostPort(f.Flow.DstAddr, f.Flow.DstPort)
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

// sortedCounts turns a map into counts, most first, then by name.
func sortedCounts(m map[string]int64) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

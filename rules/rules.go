// Package rules holds pcapx's detectors. A rule is a documented value (in
// the manner of golang.org/x/tools/go/analysis): a stable id that is never
// reused or renamed, a one-line title, a doc that says what the finding
// means, its likely causes and what to check next, a default severity,
// named thresholds with defaults, the event kinds it consumes, and a
// constructor for fresh per-run state. The driver (package analyze) hands
// each checker the events it asked for and a Report function; a rule never
// sees a sink or an output format. All() is the explicit registry. Each
// rule's fixture test is beside it, as an analyzer's analysistest is:
// tcp_stall_fixture_test.go beside tcp_stall.go (fixture_helpers_test.go
// says how they work).
package rules

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// Severity orders findings; --fail-on compares against it.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
	Critical
)

var severityNames = [...]string{"info", "warning", "error", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText makes severities read as words in JSON and YAML.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err == nil {
		*s = v
	}
	return err
}

// ParseSeverity parses info, warning, error or critical.
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning, error or critical)", s)
}

// EventKind names what a rule consumes.
type EventKind int

const (
	EventFlow EventKind = iota // a flow ended (Event.Flow)
	EventDNS                   // a DNS transaction completed or timed out (Event.DNS)
	EventHTTP                  // an HTTP request/response pair completed (Event.HTTP)
	EventTLS                   // a TLS handshake ended (Event.TLS)
	EventICMP                  // an ICMP error or redirect arrived (Event.ICMP)
	numEventKinds
)

func (k EventKind) String() string {
	return [...]string{"flow", "dns", "http", "tls", "icmp"}[k]
}

// Event is one thing that happened, handed to the rules that consume its
// kind. Exactly one of the pointers is set. Rules must not keep them.
type Event struct {
	Kind EventKind
	Flow *flows.Record
	DNS  *flows.DNSRecord
	HTTP *flows.HTTPRecord
	TLS  *flows.TLSRecord
	ICMP *flows.ICMPRecord
}

// RunInfo is what the driver knows of the capture as a whole once it has
// been read; the engine hands it to the checkers that want it (RunAware)
// before Finish. The capture-quality rules judge the run with it.
type RunInfo struct {
	Packets         int64    // frames read, in every file
	TruncatedFrames int64    // frames cut short by the snapshot length
	FirstNS, LastNS int64    // the capture's time span
	Files           []string // the files read as captures, as named in the input
	Skipped         []string // files of a directory or glob skipped: empty, or not a capture
	OutsideWindow   int64    // packets read but skipped as outside the time window (analyze --since/--until)
	// What the run shed to stay within its bounds (its memory budget):
	// flows evicted from a full table before they ended, holes the
	// reassembly stopped waiting for, connections whose parsing stopped,
	// DNS queries dropped from a full
	// pending list, IP fragments given up past the defragmenter's bounds.
	Shed ShedCounts
}

// ShedCounts is what a run gave up to stay within its memory budget.
type ShedCounts struct {
	EvictedFlows       int64
	ReassemblySkips    int64
	ParsersStopped     int64
	DNSQueriesDropped  int64
	FragmentsOverLimit int64
}

// Any says whether anything was shed.
func (s ShedCounts) Any() bool {
	return s.EvictedFlows+s.ReassemblySkips+s.ParsersStopped+s.DNSQueriesDropped+s.FragmentsOverLimit > 0
}

// RunAware is a Checker that wants the run's RunInfo before Finish.
type RunAware interface {
	Run(RunInfo)
}

// Threshold is a tunable number of a rule.
type Threshold struct {
	Name    string
	Default float64
	Unit    string // ms, count, percent, ...
	Doc     string
}

// Rule is one detector.
type Rule struct {
	ID         string // stable: never renamed or reused
	Title      string // one line
	Doc        string // what it means, likely causes, what to check next
	Severity   Severity
	Thresholds []Threshold
	Events     []EventKind
	// New returns fresh state for one run, configured with the effective
	// thresholds (defaults overridden by the user's rule file).
	New func(c Params) Checker

	custom *customProg // set for a user's rule from the rules file
}

// IsCustom says whether the rule is a user's CEL rule from the rules file
// rather than one of the registry's.
func (r *Rule) IsCustom() bool { return r.custom != nil }

// Expr returns a custom rule's kind and expressions (when, and message or
// ""); empty for a built-in rule.
func (r *Rule) Expr() (on, when, message string) {
	if r.custom == nil {
		return "", "", ""
	}
	s := r.custom.spec
	return s.On, s.When, s.Message
}

// Params are a rule's effective settings for one run.
type Params struct {
	Severity   Severity
	Thresholds map[string]float64

	others map[string]Params // every enabled rule's, by id (see Enabled)
	scans  *scanBook         // the run's connection attempts, fed by the engine
}

// Enabled returns another rule's effective settings in this run, and
// whether it is enabled: tcp-syn-unanswered leaves to tcp-port-scan the
// attempts that rule reports, with that rule's thresholds.
func (p Params) Enabled(id string) (Params, bool) {
	o, ok := p.others[id]
	return o, ok
}

// T returns a threshold's value.
func (p Params) T(name string) float64 { return p.Thresholds[name] }

// Checker is a rule's per-run state.
type Checker interface {
	// Event sees one event of a kind the rule consumes.
	Event(ev *Event, report func(Finding))
	// Finish reports what the rule grouped over the whole run.
	Finish(report func(Finding))
}

// Finding is one diagnosis: a cause, with the evidence that shows it.
// Findings about the same cause are grouped: one finding with a count, not
// one per packet.
type Finding struct {
	Rule     string         `json:"rule"`
	Severity Severity       `json:"severity"`
	Title    string         `json:"title"`
	Message  string         `json:"message"` // what happened, in numbers a person can act on
	First    string         `json:"first"`   // time range of the evidence (RFC 3339, UTC)
	Last     string         `json:"last"`
	FirstNS  int64          `json:"-"`
	LastNS   int64          `json:"-"`
	Count    int64          `json:"count"` // occurrences grouped into this finding
	Flow     *flows.FlowRef `json:"flow,omitempty"`
	Evidence []Evidence     `json:"evidence"`
	Filter   string         `json:"filter"` // Wireshark display filter showing the evidence
	// Key is what tells the finding apart from the rule's other findings
	// and survives a capture of the same traffic taken again: server
	// address and port, SNI, HTTP host, DNS server and rcode, status
	// class, never a client's ephemeral port, a time or a frame number.
	// Baselines (pcapx check) and pcapx diff match findings by it, so a
	// rule's key names are part of its contract. Findings of one rule
	// share a key where the rule tells apart more than survives: each
	// flow of a per-flow rule (tcp-stall, tcp-zero-window,
	// tcp-duplicate-ack-storm, a custom flow rule) to one server, the
	// statuses of one class. Empty for a finding about the capture as a
	// whole (at most one per rule and run) and for the count of a rule's
	// findings beyond its bound.
	Key map[string]string `json:"key,omitempty"`
}

// keyed returns f with its Key made of name, value pairs (an odd last
// name is ignored: every caller passes pairs).
func (f Finding) keyed(kv ...string) Finding {
	f.Key = make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		f.Key[kv[i]] = kv[i+1]
	}
	return f
}

// statusClass names an HTTP status's class ("5xx"): a key holds the
// class, so a 502 that became a 503 is the same finding.
func statusClass(status int) string {
	if status < 100 || status > 999 {
		return strconv.Itoa(status)
	}
	return strconv.Itoa(status/100) + "xx"
}

// Evidence points at one frame.
type Evidence struct {
	File  int   `json:"file"`  // index into capture.files
	Frame int64 `json:"frame"` // as Wireshark numbers it in that file
}

func evidence(refs ...flows.FrameRef) []Evidence {
	out := make([]Evidence, 0, len(refs))
	for _, r := range refs {
		if r.Frame > 0 {
			out = append(out, Evidence{File: r.File, Frame: r.Frame})
		}
	}
	return out
}

// SortFindings orders findings most severe first, then by time — except
// that the capture-quality findings (capture-*) come before all others:
// they say how far the rest can be trusted.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if qi, qj := strings.HasPrefix(fs[i].Rule, "capture-"), strings.HasPrefix(fs[j].Rule, "capture-"); qi != qj {
			return qi
		}
		if fs[i].Severity != fs[j].Severity {
			return fs[i].Severity > fs[j].Severity
		}
		if fs[i].FirstNS != fs[j].FirstNS {
			return fs[i].FirstNS < fs[j].FirstNS
		}
		return fs[i].Rule < fs[j].Rule
	})
}

// All is the registry: every rule pcapx has, in a fixed order.
func All() []*Rule {
	return []*Rule{
		CaptureEmpty, // capture quality first: it says how far the rest can be trusted
		CaptureTruncated,
		CaptureIncomplete,
		CaptureLoss,
		CaptureOffload,
		CaptureMidstream,
		TCPStall,
		TCPRetransmissions,
		TCPZeroWindow,
		TCPDuplicateAckStorm,
		TCPResetMidstream,
		TCPSYNUnanswered,
		TCPConnectionRefused,
		TCPPortScan,
		TCPSweep,
		TCPConnectionChurn,
		TCPPortReuse,
		PMTUBlackHole,
		PMTUFragNeeded,
		TLSHandshakeRejected,
		TLSAlert,
		DNSError,
		DNSUnanswered,
		HTTPServerError,
		HTTPIncompleteResponse,
		SlowDNS,
		SlowConnect,
		SlowTLSHandshake,
		SlowFirstByte,
	}
}

// Lookup finds a rule by id.
func Lookup(id string) *Rule {
	for _, r := range All() {
		if r.ID == id {
			return r
		}
	}
	return nil
}

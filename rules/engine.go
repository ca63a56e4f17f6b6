package rules

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/pcapx/pcapx/flows"
	"io"
	"os"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"
)

// Config is a user's rule file (--rules FILE):
//
//	rules:
//	  tcp-retransmissions:
//	    severity: error
//	    thresholds: {min_count: 10, min_percent: 2}
//	  slow-dns:
//	    enabled: false
//	custom:
//	  - id: api-rate-limited
//	    title: API answered 429 Too Many Requests
//	    on: http
//	    when: 'http.status == 429 && http.host == "api.internal"'
//
// Overrides under rules: apply to custom rules too (by their id).
type Config struct {
	Rules  map[string]RuleConfig `yaml:"rules"`
	Custom []CustomRule          `yaml:"custom"`

	// compiled are the Custom rules, compiled by Validate; compiledFrom is
	// what they were compiled from, so validating again (NewEngine does)
	// compiles nothing unless Custom changed.
	compiled     []*Rule
	compiledFrom []CustomRule
}

// RuleConfig overrides one rule's defaults.
type RuleConfig struct {
	Enabled    *bool              `yaml:"enabled"`
	Severity   *Severity          `yaml:"severity"`
	Thresholds map[string]float64 `yaml:"thresholds"`
}

// LoadConfig reads and validates a rule file: unknown rules, unknown
// thresholds and unknown keys are errors naming the file, so a typo never
// silently leaves a default in force.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules file: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		if errors.Is(err, io.EOF) {
			// No document at all (an empty file, or only comments):
			// yaml says "EOF", which reads like a cut-off file.
			return nil, fmt.Errorf("rules file %s: empty (no rules: or custom: section); give it rule overrides or custom rules, or drop --rules", path)
		}
		return nil, fmt.Errorf("rules file %s: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("rules file %s: %w", path, err)
	}
	return &c, nil
}

// Validate checks the ids and threshold names against the registry and
// compiles the custom rules (type-checking their expressions).
func (c *Config) Validate() error {
	if err := c.compileCustom(); err != nil {
		return err
	}
	ids := make([]string, 0, len(c.Rules))
	for id := range c.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := c.Lookup(id)
		if r == nil {
			return fmt.Errorf("unknown rule %q (pcapx rules lists them)", id)
		}
		for name, v := range c.Rules[id].Thresholds {
			if !r.hasThreshold(name) {
				return fmt.Errorf("rule %s has no threshold %q", id, name)
			}
			if v < 0 {
				return fmt.Errorf("rule %s: threshold %s is negative", id, name)
			}
		}
	}
	return nil
}

func (c *Config) compileCustom() error {
	if len(c.Custom) == 0 {
		if c.compiled != nil { // written only on a change: engines may share a Config
			c.compiled, c.compiledFrom = nil, nil
		}
		return nil
	}
	if c.compiled != nil && slices.EqualFunc(c.compiledFrom, c.Custom, sameCustom) {
		return nil
	}
	c.compiled, c.compiledFrom = nil, nil
	out := make([]*Rule, 0, len(c.Custom))
	seen := map[string]bool{}
	for _, s := range c.Custom {
		r, err := s.compile()
		if err != nil {
			return err
		}
		if seen[r.ID] {
			return fmt.Errorf("custom rule %s: id used twice", r.ID)
		}
		seen[r.ID] = true
		out = append(out, r)
	}
	c.compiled, c.compiledFrom = out, slices.Clone(c.Custom)
	return nil
}

func sameCustom(a, b CustomRule) bool {
	as, bs := a.Severity, b.Severity
	a.Severity, b.Severity = nil, nil
	return a == b && (as == bs || as != nil && bs != nil && *as == *bs)
}

// CustomRules returns the rules file's custom rules, compiled (nil before
// LoadConfig or Validate).
func (c *Config) CustomRules() []*Rule {
	if c == nil {
		return nil
	}
	return c.compiled
}

// Lookup finds a rule by id: a built-in one or a custom one of the file.
func (c *Config) Lookup(id string) *Rule {
	if r := Lookup(id); r != nil {
		return r
	}
	for _, r := range c.CustomRules() {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (r *Rule) hasThreshold(name string) bool {
	for _, t := range r.Thresholds {
		if t.Name == name {
			return true
		}
	}
	return false
}

// MaxFindingsPerRule bounds the findings one rule may report in a run.
// Rules group by cause, so only a capture with thousands of distinct broken
// flows reaches it. Past it the rule keeps its most significant findings
// (most severe, then most occurrences, then first reported) and counts the
// others, with the occurrences they grouped, in Engine.Omitted: no
// occurrence vanishes uncounted.
const MaxFindingsPerRule = 500

// Omitted is what a rule's cap left out of the findings: how many
// findings, and the occurrences they grouped.
type Omitted struct {
	Rule        string `json:"rule"`
	Findings    int64  `json:"findings"`
	Occurrences int64  `json:"occurrences"`
}

// maxWarnings bounds Engine.Warnings.
const maxWarnings = 20

// Engine runs the enabled rules over one run's events.
type Engine struct {
	byKind [numEventKinds][]*active
	// scans tallies connection attempts once per flow for the rules that
	// read it (the scan rules, and the per-port ones that leave scans to
	// them); nil when none of them is enabled.
	scans *scanBook
	all   []*active
	ev    Event // the sink methods' event, reused
	// Omitted: the findings each rule's cap left out (filled by Finish),
	// in registry order; Suppressed has their numbers by rule.
	Omitted    []Omitted
	Suppressed map[string]int64
	// Warnings are non-fatal problems of the rules themselves, filled by
	// Finish: a custom rule whose expression failed on some records (they
	// did not match; the run went on). At most maxWarnings (+1 saying how
	// many more).
	Warnings []string
}

// warner is a checker with problems to report at the end of the run.
type warner interface {
	Warnings() []string
}

type active struct {
	rule    *Rule
	checker Checker
	params  Params
	report  func(Finding)
	// kept are the findings kept so far, at most MaxFindingsPerRule, each
	// with the order it was reported in (seq); omitted counts the rest.
	kept    []Finding
	seqs    []int
	seq     int
	omitted Omitted
}

// keep files a finding under the rule's cap: past it, the weakest of the
// kept findings and the new one is left out and counted.
func (a *active) keep(f Finding) {
	a.seq++
	if len(a.kept) < MaxFindingsPerRule {
		a.kept = append(a.kept, f)
		a.seqs = append(a.seqs, a.seq)
		return
	}
	w := 0
	for i := 1; i < len(a.kept); i++ {
		if weaker(&a.kept[i], a.seqs[i], &a.kept[w], a.seqs[w]) {
			w = i
		}
	}
	out := &f
	if weaker(&a.kept[w], a.seqs[w], &f, a.seq) {
		out = &Finding{}
		*out, a.kept[w], a.seqs[w] = a.kept[w], f, a.seq
	}
	a.omitted.Findings++
	a.omitted.Occurrences += out.Count
}

// weaker says whether finding x (reported seq-th) matters less than y:
// less severe, then fewer occurrences, then reported later.
func weaker(x *Finding, xs int, y *Finding, ys int) bool {
	if x.Severity != y.Severity {
		return x.Severity < y.Severity
	}
	if x.Count != y.Count {
		return x.Count < y.Count
	}
	return xs > ys
}

// findings are the kept findings in the order they were reported.
func (a *active) findings() []Finding {
	idx := make([]int, len(a.kept))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return a.seqs[idx[i]] < a.seqs[idx[j]] })
	out := make([]Finding, len(idx))
	for i, k := range idx {
		out[i] = a.kept[k]
	}
	return out
}

// NewEngine prepares the rules of the registry with the user's overrides
// (cfg may be nil).
func NewEngine(cfg *Config) (*Engine, error) {
	if cfg != nil {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	e := &Engine{Suppressed: map[string]int64{}, scans: newScanBook()}
	type enabled struct {
		r *Rule
		p Params
	}
	var on []enabled
	others := map[string]Params{} // shared: a rule may defer to another's settings
	for _, r := range append(All(), cfg.CustomRules()...) {
		p := Params{Severity: r.Severity, Thresholds: map[string]float64{}, others: others, scans: e.scans}
		for _, t := range r.Thresholds {
			p.Thresholds[t.Name] = t.Default
		}
		if cfg != nil {
			if rc, ok := cfg.Rules[r.ID]; ok {
				if rc.Enabled != nil && !*rc.Enabled {
					continue
				}
				if rc.Severity != nil {
					p.Severity = *rc.Severity
				}
				for k, v := range rc.Thresholds {
					p.Thresholds[k] = v
				}
			}
		}
		others[r.ID] = p
		on = append(on, enabled{r, p})
	}
	for _, x := range on {
		r, p := x.r, x.p
		a := &active{rule: r, checker: r.New(p), params: p, omitted: Omitted{Rule: r.ID}}
		a.report = a.keep
		e.all = append(e.all, a)
		for _, k := range r.Events {
			e.byKind[k] = append(e.byKind[k], a)
		}
	}
	if !e.wantsScans() {
		e.scans = nil
	}
	return e, nil
}

// wantsScans says whether an enabled rule reads the scan book.
func (e *Engine) wantsScans() bool {
	for _, a := range e.all {
		switch a.rule {
		case TCPPortScan, TCPSweep, TCPSYNUnanswered, TCPConnectionRefused:
			return true
		}
	}
	return false
}

// Event hands an event to the rules that consume its kind.
//
// A flow record that only continues a closed connection (Record.Continues:
// its packets came after the connection's record was written) is not a
// connection: the built-in rules, which judge connections, do not see it.
// Custom rules do, and can tell it by its continues field.
func (e *Engine) Event(ev *Event) {
	late := ev.Kind == EventFlow && ev.Flow.Continues
	if ev.Kind == EventFlow && e.scans != nil && !late {
		e.scans.addFlow(ev.Flow)
	}
	for _, a := range e.byKind[ev.Kind] {
		if !late || a.rule.IsCustom() {
			a.checker.Event(ev, a.report)
		}
	}
}

// Flow, DNS, HTTP, TLS and ICMP hand a record to the rules as an event:
// they make the Engine a sink of a run's records (run.Sink), for a driver
// that hands them to the rules with the other sinks, or from storage
// (pcapx watch). They never fail.
func (e *Engine) Flow(r *flows.Record) error     { return e.record(Event{Kind: EventFlow, Flow: r}) }
func (e *Engine) DNS(r *flows.DNSRecord) error   { return e.record(Event{Kind: EventDNS, DNS: r}) }
func (e *Engine) HTTP(r *flows.HTTPRecord) error { return e.record(Event{Kind: EventHTTP, HTTP: r}) }
func (e *Engine) TLS(r *flows.TLSRecord) error   { return e.record(Event{Kind: EventTLS, TLS: r}) }
func (e *Engine) ICMP(r *flows.ICMPRecord) error { return e.record(Event{Kind: EventICMP, ICMP: r}) }

// record hands ev to the rules in the engine's own Event (so that a
// record does not allocate one).
func (e *Engine) record(ev Event) error {
	e.ev = ev
	e.Event(&e.ev)
	return nil
}

// Wants says whether any enabled rule consumes events of kind k (so the
// driver can skip building them).
func (e *Engine) Wants(k EventKind) bool { return len(e.byKind[k]) > 0 }

// SetRun hands the capture's RunInfo to the checkers that want it; the
// driver calls it once the input is read, before Finish.
func (e *Engine) SetRun(info RunInfo) {
	for _, a := range e.all {
		if r, ok := a.checker.(RunAware); ok {
			r.Run(info)
		}
	}
}

// Finish lets grouping rules report and returns all findings, most severe
// first.
func (e *Engine) Finish() []Finding {
	var more int
	for _, a := range e.all {
		a.checker.Finish(a.report)
		if w, ok := a.checker.(warner); ok {
			for _, s := range w.Warnings() {
				if len(e.Warnings) < maxWarnings {
					e.Warnings = append(e.Warnings, s)
				} else {
					more++
				}
			}
		}
	}
	if more > 0 {
		e.Warnings = append(e.Warnings, fmt.Sprintf("%d more rule warnings not shown", more))
	}
	all := []Finding{}
	e.Omitted = []Omitted{}
	for _, a := range e.all {
		all = append(all, a.findings()...)
		if a.omitted.Findings > 0 {
			e.Omitted = append(e.Omitted, a.omitted)
			e.Suppressed[a.rule.ID] = a.omitted.Findings
		}
	}
	SortFindings(all)
	return all
}

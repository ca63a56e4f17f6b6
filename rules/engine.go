package rules

import (
	"bytes"
	"fmt"
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

// maxFindingsPerRule bounds the findings one rule may report in a run.
// Rules group by cause, so only a capture with thousands of distinct broken
// flows reaches it; the rest are counted in Engine.Suppressed.
const maxFindingsPerRule = 500

// maxWarnings bounds Engine.Warnings.
const maxWarnings = 20

// Engine runs the enabled rules over one run's events.
type Engine struct {
	byKind     [numEventKinds][]*active
	all        []*active
	findings   []Finding
	Suppressed map[string]int64 // findings dropped past maxFindingsPerRule, by rule
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
	n       int
	report  func(Finding)
}

// NewEngine prepares the rules of the registry with the user's overrides
// (cfg may be nil).
func NewEngine(cfg *Config) (*Engine, error) {
	if cfg != nil {
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
	}
	e := &Engine{Suppressed: map[string]int64{}}
	type enabled struct {
		r *Rule
		p Params
	}
	var on []enabled
	others := map[string]Params{} // shared: a rule may defer to another's settings
	for _, r := range append(All(), cfg.CustomRules()...) {
		p := Params{Severity: r.Severity, Thresholds: map[string]float64{}, others: others}
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
		a := &active{rule: r, checker: r.New(p), params: p}
		a.report = func(f Finding) {
			if a.n >= maxFindingsPerRule {
				e.Suppressed[r.ID]++
				return
			}
			a.n++
			e.findings = append(e.findings, f)
		}
		e.all = append(e.all, a)
		for _, k := range r.Events {
			e.byKind[k] = append(e.byKind[k], a)
		}
	}
	return e, nil
}

// CaptureFacts is what the driver knows of the capture as a whole once the
// input is read.
type CaptureFacts struct {
	Packets int64    // frames read, in every file
	Files   []string // the files read as captures, as named in the input
	Skipped []string // files of a directory or glob skipped: empty, or not a capture
}

// captureJudge is a Checker that judges the capture as a whole, not only
// its events (capture-empty): Capture gives it the CaptureFacts before
// Finish. This is an interface of its own, as warner is, because events
// cannot say it (no events and packets that made no event look alike) and
// Params are fixed when the engine is made, before the input is read.
type captureJudge interface {
	Capture(CaptureFacts)
}

// Capture tells the rules what the capture as a whole held. The driver
// calls it once the input is read, before Finish; a driver that does not
// leaves the capture rules silent.
func (e *Engine) Capture(c CaptureFacts) {
	for _, a := range e.all {
		if j, ok := a.checker.(captureJudge); ok {
			j.Capture(c)
		}
	}
}

// Event hands an event to the rules that consume its kind.
func (e *Engine) Event(ev *Event) {
	for _, a := range e.byKind[ev.Kind] {
		a.checker.Event(ev, a.report)
	}
}

// Wants says whether any enabled rule consumes events of kind k (so the
// driver can skip building them).
func (e *Engine) Wants(k EventKind) bool { return len(e.byKind[k]) > 0 }

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
	SortFindings(e.findings)
	if e.findings == nil {
		return []Finding{}
	}
	return e.findings
}

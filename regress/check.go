package regress

import (
	"time"

	"github.com/pcapx/pcapx/rules"
)

// Checked is a finding of a check, judged against the baseline.
type Checked struct {
	rules.Finding
	Fingerprint Fingerprint
	// New: not in the baseline (every finding is new without one), or in
	// it at a lower severity than now (Was says which).
	New bool
	Was *rules.Severity
}

// Capture is one capture's verdict in pcapx check.
type Capture struct {
	Path     string   // as fingerprints name it (CapturePath)
	Rules    []string // the rules that ran, in registry order: a JUnit testcase each
	Findings []Checked
	// Resolved are the baseline's entries for this capture that no
	// finding matched: fixed, or no longer seen.
	Resolved []Entry
	Packets  int64
	Duration time.Duration // the analysis's wall-clock time
	Warnings []string      // damage in the capture (it was analysed as far as readable)
	Err      string        // the capture could not be analysed (then it has no findings)
}

// Judge makes a capture's verdict: its findings matched against base (nil:
// no baseline, every finding is new).
func Judge(path string, ruleIDs []string, findings []rules.Finding, base *Baseline) Capture {
	c := Capture{Path: path, Rules: ruleIDs}
	seen := map[string]bool{}
	for _, f := range findings {
		fp := Of(path, &f)
		ch := Checked{Finding: f, Fingerprint: fp, New: true}
		if e, ok := base.Lookup(fp); ok {
			seen[fp.String()] = true
			if f.Severity <= e.Severity {
				ch.New = false
			} else {
				was := e.Severity
				ch.Was = &was
			}
		}
		c.Findings = append(c.Findings, ch)
	}
	for _, e := range base.Of(path) {
		if !seen[e.Fingerprint.String()] {
			c.Resolved = append(c.Resolved, e)
		}
	}
	return c
}

// Failing returns the new findings at or above failOn: what makes the
// capture fail.
func (c *Capture) Failing(failOn rules.Severity) []Checked {
	var out []Checked
	for _, f := range c.Findings {
		if f.New && f.Severity >= failOn {
			out = append(out, f)
		}
	}
	return out
}

// count returns the capture's new and accepted findings.
func (c *Capture) count() (fresh, accepted int) {
	for _, f := range c.Findings {
		if f.New {
			fresh++
		} else {
			accepted++
		}
	}
	return fresh, accepted
}

// Check is a whole pcapx check run.
type Check struct {
	Captures    []Capture
	FailOn      rules.Severity
	HasBaseline bool // findings were matched against a baseline
}

// Failed says whether a capture has a new finding at or above FailOn.
func (c *Check) Failed() bool {
	for i := range c.Captures {
		if len(c.Captures[i].Failing(c.FailOn)) > 0 {
			return true
		}
	}
	return false
}

// Baseline makes the baseline that accepts every finding of the check.
func (c *Check) Baseline() *Baseline {
	var entries []Entry
	for _, cp := range c.Captures {
		for _, f := range cp.Findings {
			entries = append(entries, Entry{Fingerprint: f.Fingerprint, Severity: f.Severity})
		}
	}
	return NewBaseline(entries)
}

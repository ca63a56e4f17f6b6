package regress

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/pcapx/pcapx/report"
)

// The JUnit XML that GitLab, Jenkins and GitHub's test reporters read: a
// testsuites root, a testsuite per capture (named by its path), a testcase
// per rule (classname the capture), at most one failure per testcase
// (Ant's schema allows no more) and system-out after it. The schema it
// keeps to is regress/testdata/junit.xsd.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Error     *junitFailure `xml:"error"`
	Failure   *junitFailure `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit writes the check as JUnit XML. A testcase fails when its rule has
// a new finding at or above FailOn; the failure carries each such
// finding's text and Wireshark filter. The rule's other findings
// (accepted by the baseline, or below FailOn) and its resolved ones are
// the testcase's system-out.
func (c *Check) JUnit(w io.Writer, version string) error {
	root := junitSuites{Name: "pcapx check"}
	var total float64
	for i := range c.Captures {
		cp := &c.Captures[i]
		secs := cp.Duration.Seconds()
		total += secs
		s := junitSuite{
			Name: safe(cp.Path),
			Time: fmt.Sprintf("%.3f", secs),
			Properties: []junitProperty{
				{"pcapx.version", version},
				{"fail_on", c.FailOn.String()},
				{"baseline", fmt.Sprint(c.HasBaseline)},
				{"packets", fmt.Sprint(cp.Packets)},
			},
		}
		if cp.Err != "" {
			// No rule ran: one testcase in error, which CI servers show
			// apart from failures.
			s.Cases = []junitCase{{Name: "analysis", Classname: safe(cp.Path), Time: s.Time,
				Error: &junitFailure{Message: "could not analyse the capture", Type: "error", Text: safe(cp.Err)}}}
			s.Tests, s.Errors = 1, 1
			root.Tests++
			root.Errors++
			root.Suites = append(root.Suites, s)
			continue
		}
		byRule := map[string][]Checked{}
		for _, f := range cp.Findings {
			byRule[f.Rule] = append(byRule[f.Rule], f)
		}
		resolved := map[string][]Entry{}
		for _, e := range cp.Resolved {
			resolved[e.Rule] = append(resolved[e.Rule], e)
		}
		ids := slices.Clone(cp.Rules)
		var extra []string // a rule no longer run (disabled) that has resolved entries
		for id := range resolved {
			if !slices.Contains(ids, id) {
				extra = append(extra, id)
			}
		}
		for id := range byRule {
			if !slices.Contains(ids, id) && !slices.Contains(extra, id) {
				extra = append(extra, id)
			}
		}
		slices.Sort(extra)
		for _, id := range append(ids, extra...) {
			tc := junitCase{Name: id, Classname: safe(cp.Path), Time: "0"}
			var fail, out strings.Builder
			n := 0
			for _, f := range byRule[id] {
				if f.New && f.Severity >= c.FailOn {
					n++
					writeFinding(&fail, &f)
				} else {
					status := "accepted"
					if f.New {
						status = "below --fail-on"
					}
					fmt.Fprintf(&out, "[%s] ", status)
					writeFinding(&out, &f)
				}
			}
			for _, e := range resolved[id] {
				fmt.Fprintf(&out, "[resolved] %s %s: in the baseline, not found now\n", e.Severity, safe(KeyText(e.Key)))
			}
			if n > 0 {
				tc.Failure = &junitFailure{
					Message: fmt.Sprintf("%d new finding(s) at or above %s", n, c.FailOn),
					Type:    id,
					Text:    fail.String(),
				}
				s.Failures++
			}
			tc.SystemOut = out.String()
			s.Cases = append(s.Cases, tc)
		}
		s.Tests = len(s.Cases)
		if len(cp.Warnings) > 0 {
			var b strings.Builder
			for _, w := range cp.Warnings {
				fmt.Fprintf(&b, "warning: %s\n", safe(w))
			}
			s.SystemOut = b.String()
		}
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Suites = append(root.Suites, s)
	}
	root.Time = fmt.Sprintf("%.3f", total)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}

// writeFinding writes a finding as the failure and system-out texts show
// it: severity, message, what identifies it, and the Wireshark filter.
func writeFinding(b *strings.Builder, f *Checked) {
	fmt.Fprintf(b, "%s: %s\n", f.Severity, safe(f.Message))
	if f.Was != nil {
		fmt.Fprintf(b, "  was %s in the baseline\n", f.Was)
	}
	if len(f.Key) > 0 {
		fmt.Fprintf(b, "  key: %s\n", safe(KeyText(f.Key)))
	}
	fmt.Fprintf(b, "  count %d, %s .. %s\n", f.Count, f.First, f.Last)
	if f.Filter != "" {
		fmt.Fprintf(b, "  wireshark filter: %s\n", safe(f.Filter))
	}
}

// safe makes text from a capture fit for any report: control characters
// (which XML 1.0 cannot carry at all, and which a terminal or a CI log
// would act on) and invalid UTF-8 are written as Go escapes.
func safe(s string) string { return report.TermSafe(s) }

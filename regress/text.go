package regress

import (
	"fmt"
	"io"
	"strings"
)

// Text writes the check for a person or a CI log. Terse (a CI log, where
// stdout is not a terminal): a line per capture, and a line per new finding
// at or above FailOn and per resolved one. Otherwise every finding, with
// its status, key and Wireshark filter.
func (c *Check) Text(w io.Writer, terse bool) error {
	var b strings.Builder
	failed := 0
	for i := range c.Captures {
		cp := &c.Captures[i]
		if cp.Err != "" {
			fmt.Fprintf(&b, "ERR  %s: %s\n", safe(cp.Path), safe(cp.Err))
			failed++
			continue
		}
		failing := cp.Failing(c.FailOn)
		verdict := "ok  "
		if len(failing) > 0 {
			verdict = "FAIL"
			failed++
		}
		fresh, accepted := cp.count()
		fmt.Fprintf(&b, "%s %s: %d finding(s), %d new, %d accepted, %d resolved\n", verdict, safe(cp.Path), len(cp.Findings), fresh, accepted, len(cp.Resolved))
		for _, f := range cp.Findings {
			switch {
			case f.New && f.Severity >= c.FailOn:
				writeTextFinding(&b, "new", &f, !terse)
			case !terse && f.New:
				writeTextFinding(&b, "new (below --fail-on)", &f, true)
			case !terse:
				writeTextFinding(&b, "accepted", &f, true)
			}
		}
		for _, e := range cp.Resolved {
			fmt.Fprintf(&b, "  resolved  %s %s %s\n", e.Severity, e.Rule, safe(KeyText(e.Key)))
		}
		for _, w := range cp.Warnings {
			fmt.Fprintf(&b, "  warning   %s\n", safe(w))
		}
	}
	if failed > 0 {
		fmt.Fprintf(&b, "%d of %d capture(s) failed: not analysed, or new findings at or above %s\n", failed, len(c.Captures), c.FailOn)
	} else {
		fmt.Fprintf(&b, "%d capture(s) passed (no new finding at or above %s)\n", len(c.Captures), c.FailOn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeTextFinding(b *strings.Builder, status string, f *Checked, full bool) {
	was := ""
	if f.Was != nil {
		was = fmt.Sprintf(" (was %s in the baseline)", f.Was)
	}
	fmt.Fprintf(b, "  %-9s %s %s%s: %s\n", status, f.Severity, f.Rule, was, safe(f.Message))
	if !full {
		return
	}
	if len(f.Key) > 0 {
		fmt.Fprintf(b, "            key: %s\n", safe(KeyText(f.Key)))
	}
	if f.Filter != "" {
		fmt.Fprintf(b, "            filter: %s\n", safe(f.Filter))
	}
}

package rules

import (
	"fmt"
	"strings"
)

// Markdown renders the registry as docs/rules.md (kept in sync by a test).
func Markdown() string {
	var b strings.Builder
	b.WriteString("# pcapx rules\n\n")
	b.WriteString("Generated from `rules.All()` (`go test ./rules -update` rewrites it). Tune them with\n")
	b.WriteString("`--rules FILE` (YAML: `rules: {ID: {enabled: false, severity: error, thresholds: {NAME: VALUE}}}`).\n\n")
	b.WriteString("| id | severity | title |\n|---|---|---|\n")
	for _, r := range All() {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s |\n", r.ID, r.ID, r.Severity, r.Title)
	}
	for _, r := range All() {
		fmt.Fprintf(&b, "\n## %s\n\n**%s** — default severity %s; consumes %s events.\n\n%s\n", r.ID, r.Title, r.Severity, kinds(r.Events), r.Doc)
		if len(r.Thresholds) > 0 {
			b.WriteString("\n| threshold | default | unit | meaning |\n|---|---|---|---|\n")
			for _, t := range r.Thresholds {
				fmt.Fprintf(&b, "| `%s` | %g | %s | %s |\n", t.Name, t.Default, t.Unit, t.Doc)
			}
		}
	}
	return b.String()
}

func kinds(ks []EventKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// Explain is the text `pcapx rules ID` prints.
func (r *Rule) Explain() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\nseverity: %s   events: %s\n\n%s\n", r.ID, r.Title, r.Severity, kinds(r.Events), r.Doc)
	if len(r.Thresholds) > 0 {
		b.WriteString("\nthresholds:\n")
		for _, t := range r.Thresholds {
			fmt.Fprintf(&b, "  %-16s %8g %-9s %s\n", t.Name, t.Default, t.Unit, t.Doc)
		}
	}
	return b.String()
}

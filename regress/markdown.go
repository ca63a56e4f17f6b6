package regress

import (
	"fmt"
	"io"
	"strings"
)

// maxMarkdownFindings bounds the new findings the summary lists: a CI job
// summary is read at a glance (the JUnit report has them all).
const maxMarkdownFindings = 20

// Markdown writes a short summary of the check for a CI job summary
// (GitHub's $GITHUB_STEP_SUMMARY, a GitLab merge request note): a table
// with a row per capture, then the new findings that fail it.
func (c *Check) Markdown(w io.Writer) error {
	var b strings.Builder
	failed := 0
	for i := range c.Captures {
		if c.Captures[i].Err != "" || len(c.Captures[i].Failing(c.FailOn)) > 0 {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(&b, "### pcapx check: %d of %d capture(s) failed\n\n", failed, len(c.Captures))
	} else {
		fmt.Fprintf(&b, "### pcapx check: %d capture(s) passed\n\n", len(c.Captures))
	}
	fmt.Fprintf(&b, "New findings at or above **%s** fail a capture", c.FailOn)
	if c.HasBaseline {
		b.WriteString("; findings in the baseline are accepted")
	}
	b.WriteString(".\n\n")
	b.WriteString("| Capture | Result | New | Accepted | Resolved |\n|---|---|--:|--:|--:|\n")
	for i := range c.Captures {
		cp := &c.Captures[i]
		fresh, accepted := cp.count()
		result := "✅ pass"
		if cp.Err != "" {
			result = "⚠️ not analysed: " + mdText(cp.Err)
		} else if n := len(cp.Failing(c.FailOn)); n > 0 {
			result = fmt.Sprintf("❌ %d failing", n)
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %d |\n", mdCode(cp.Path), result, fresh, accepted, len(cp.Resolved))
	}
	var rows []string
	more := 0
	for i := range c.Captures {
		cp := &c.Captures[i]
		for _, f := range cp.Failing(c.FailOn) {
			if len(rows) == maxMarkdownFindings {
				more++
				continue
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s |", mdCode(cp.Path), f.Severity, mdCode(f.Rule), mdText(f.Message), mdCode(f.Filter)))
		}
	}
	if len(rows) > 0 {
		b.WriteString("\n#### Failing findings\n\n| Capture | Severity | Rule | Finding | Wireshark filter |\n|---|---|---|---|---|\n")
		b.WriteString(strings.Join(rows, "\n"))
		b.WriteByte('\n')
		if more > 0 {
			fmt.Fprintf(&b, "\n…and %d more (see the JUnit report or the job log).\n", more)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdText escapes text from a capture for a Markdown table cell: what
// Markdown, GitHub or GitLab would act on inline is backslash-escaped
// (emphasis, code, links, strikethrough, math, mentions, references, the
// cell's pipe) or an entity (HTML and autolinks), and control characters,
// line breaks included (a cell is one line), are written as Go escapes.
func mdText(s string) string {
	s = safe(s)
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '|', '~', '$', '@', '#', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode writes s as a code span: backslashes do not escape inside one,
// so it is fenced by more backticks than any run in s; a pipe, which ends
// a table cell even inside a code span, is written \| (GFM's table parser
// takes that for a pipe of the cell's content, code spans included).
// Nothing else needs escaping: a code span shows its text as it is.
func mdCode(s string) string {
	s = safe(s)
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	s = strings.ReplaceAll(s, "|", "\\|")
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

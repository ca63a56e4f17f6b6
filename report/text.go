package report

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// Text writes the terminal summary: what a person reads in ten seconds to
// know what the capture holds and whether TCP was healthy.
func Text(w io.Writer, r *run.Result) error {
	c := &r.Capture
	var b strings.Builder
	names := make([]string, 0, len(c.Files))
	for _, f := range c.Files {
		if f.Skipped {
			continue
		}
		names = append(names, TermSafe(f.Name))
	}
	fmt.Fprintf(&b, "Capture   %s\n", summarizeNames(names))
	if c.Packets == 0 {
		fmt.Fprintf(&b, "Span      (no packets)\n")
	} else {
		fmt.Fprintf(&b, "Span      %s → %s (%s)\n", c.First, c.Last, HumanDuration(c.Duration))
	}
	fmt.Fprintf(&b, "Packets   %d (%s)   link types: %s\n", c.Packets, HumanBytes(c.Bytes), strings.Join(c.LinkTypes, ", "))
	if c.Window != "" {
		fmt.Fprintf(&b, "Window    %s: %d packets outside it skipped\n", c.Window, c.OutsideWindow)
	}
	fmt.Fprintf(&b, "Flows     %d   %s\n", c.Flows, countsLine(r.Protocols))
	if len(r.FlowStates) > 0 {
		fmt.Fprintf(&b, "States    %s\n", countsLine(r.FlowStates))
	}
	if c.NotIP+c.Malformed+c.Fragments+c.Truncated > 0 {
		frags := fmt.Sprint(c.Fragments)
		if c.FragmentsDropped > 0 {
			// Dropped fragments are datagrams the analysis never saw;
			// overlapping ones are an attack or evasion attempt.
			frags += fmt.Sprintf(" (%d not reassembled: %d overlapping, %d over the reassembly limits)", c.FragmentsDropped, c.FragmentsOverlapping, c.FragmentsOverLimit)
		}
		fmt.Fprintf(&b, "Frames    non-IP %d, malformed %d, IP fragments %s, cut by snaplen %d\n", c.NotIP, c.Malformed, frags, c.Truncated)
	}

	writeFindings(&b, r)
	writeApp(&b, r)

	t := &r.TCP
	fmt.Fprintf(&b, "\nTCP       %d streams\n", t.Streams)
	// A "!" marks counts that point at a problem worth a look.
	row := func(label string, n int64, note string, problem bool) {
		mark := " "
		if n > 0 && problem {
			mark = "!"
		}
		if n == 0 {
			note = ""
		}
		fmt.Fprintf(&b, "  %s %-24s %8d  %s\n", mark, label, n, note)
	}
	retx := fmt.Sprintf("(%d fast, %d spurious) segments sent again: loss or timeouts", t.FastRetransmissions, t.SpuriousRetransmissions)
	if t.RetransmissionCopies > 0 {
		retx += fmt.Sprintf("; %d of them packets the capture holds twice, not resends", t.RetransmissionCopies)
	}
	row("retransmissions", t.Retransmissions, retx, t.Retransmissions > t.RetransmissionCopies)
	row("out-of-order", t.OutOfOrder, "reordered on the path", false)
	row("previous segment lost", t.LostSegments, "not captured: lost before the capture point", true)
	row("ACKed unseen segment", t.AckedUnseen, "the capture missed packets the peer received", true)
	dups := "a receiver saw a gap"
	if t.DuplicateAckCopies > 0 {
		dups += fmt.Sprintf("; %d of them ACKs the capture holds twice", t.DuplicateAckCopies)
	}
	row("duplicate ACKs", t.DuplicateAcks, dups, false)
	row("zero windows", t.ZeroWindows, "a receiver stopped reading", true)
	row("zero-window probes", t.ZeroWindowProbes, "", false)
	row("window full", t.WindowFull, "a sender filled the receiver's window", false)
	row("keep-alives", t.KeepAlives, "", false)
	row("resets", t.Resets, "connections aborted or refused", true)

	if len(r.WorstFlows) > 0 {
		fmt.Fprintf(&b, "\nTCP flows with the most trouble\n")
		for _, f := range r.WorstFlows {
			retx := fmt.Sprint(f.Retransmissions)
			if f.RetransmissionCopies > 0 {
				retx += fmt.Sprintf(" (%d of them copies)", f.RetransmissionCopies)
			}
			fmt.Fprintf(&b, "  stream %-5d %s:%d → %s:%d  %s  retx %s, lost %d, zero-win %d, resets %d\n",
				f.Stream, f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort, f.State, retx, f.LostSegments, f.ZeroWindows, f.Resets)
		}
	}

	if len(r.TopTalkers) > 0 {
		fmt.Fprintf(&b, "\nTop talkers (bytes in flows)\n")
		for _, tk := range r.TopTalkers {
			fmt.Fprintf(&b, "  %-40s %10s  %d flows\n", tk.Addr, HumanBytes(tk.Bytes), tk.Flows)
		}
	}
	if len(c.Warnings) > 0 {
		fmt.Fprintf(&b, "\nWarnings\n")
		for _, w := range c.Warnings {
			fmt.Fprintf(&b, "  %s\n", TermSafe(w))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func summarizeNames(n []string) string {
	switch len(n) {
	case 0:
		return "(none)"
	case 1, 2, 3:
		return strings.Join(n, ", ")
	}
	return fmt.Sprintf("%s ... %s (%d files)", n[0], n[len(n)-1], len(n))
}

func countsLine(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// HumanBytes writes a byte count in SI units ("3.5 kB"); the HTML report
// uses it too.
func HumanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}

// HumanDuration writes seconds as ms, s, min or h, whichever reads best.
func HumanDuration(s float64) string {
	switch {
	case s < 1:
		return fmt.Sprintf("%.1f ms", s*1000)
	case s < 120:
		return fmt.Sprintf("%.2f s", s)
	case s < 7200:
		return fmt.Sprintf("%.1f min", s/60)
	}
	return fmt.Sprintf("%.1f h", s/3600)
}

// TermSafe makes a string taken from a capture (or a file name) safe to
// print on a terminal: control characters, escape sequences and invalid
// UTF-8 are shown as Go escapes instead of being interpreted.
func TermSafe(s string) string {
	ok := true
	for _, r := range s {
		if r == unicode.ReplacementChar || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	q := fmt.Sprintf("%+q", s)
	return q[1 : len(q)-1]
}

// maxTextFindings: the terminal shows the most severe few; JSON has all.
const maxTextFindings = 20

func writeFindings(b *strings.Builder, r *run.Result) {
	if len(r.Findings) == 0 {
		fmt.Fprintf(b, "\nFindings  none: no rule fired\n")
		return
	}
	counts := map[rules.Severity]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	var parts []string
	for s := rules.Critical; s >= rules.Info; s-- {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	fmt.Fprintf(b, "\nFindings  %s (most severe first)\n", strings.Join(parts, ", "))
	for i, f := range r.Findings {
		if i == maxTextFindings {
			fmt.Fprintf(b, "  ... and %d more (--format json lists them all)\n", len(r.Findings)-i)
			break
		}
		fmt.Fprintf(b, "  %-8s %s\n           %s\n", strings.ToUpper(f.Severity.String()), f.Rule, TermSafe(f.Message))
		if len(f.Evidence) > 0 {
			frames := make([]string, 0, len(f.Evidence))
			for _, e := range f.Evidence {
				frames = append(frames, evidenceRef(r, e))
			}
			fmt.Fprintf(b, "           frames %s\n", strings.Join(frames, ", "))
		}
		fmt.Fprintf(b, "           wireshark: %s\n", TermSafe(f.Filter))
	}
	for _, o := range r.Omitted {
		fmt.Fprintf(b, "  (%d more %s findings, grouping %d occurrences, were left out: at most %d per rule are listed)\n", o.Findings, o.Rule, o.Occurrences, rules.MaxFindingsPerRule)
	}
}

// evidenceRef names a frame: the frame number alone for a one-file capture,
// file:frame when there are several files.
func evidenceRef(r *run.Result, e rules.Evidence) string {
	if len(r.Capture.Files) <= 1 || e.File >= len(r.Capture.Files) {
		return fmt.Sprint(e.Frame)
	}
	return fmt.Sprintf("%s:%d", TermSafe(filepath.Base(r.Capture.Files[e.File].Name)), e.Frame)
}

func writeApp(b *strings.Builder, r *run.Result) {
	a := &r.App
	if a.DNSTransactions+a.HTTPRequests+a.HTTPResponses+a.TLSHandshakes+a.ICMPMessages == 0 {
		return
	}
	fmt.Fprintf(b, "\n")
	if a.DNSTransactions > 0 {
		// The rcodes of the answered ones, then the unanswered: either
		// may be missing (a flood of queries never answered has no rcode).
		var parts []string
		if len(a.DNSRcodes) > 0 {
			parts = append(parts, countsLine(a.DNSRcodes))
		}
		if a.DNSUnanswered > 0 {
			parts = append(parts, fmt.Sprintf("unanswered %d", a.DNSUnanswered))
		}
		fmt.Fprintf(b, "DNS       %d transactions: %s\n", a.DNSTransactions, strings.Join(parts, ", "))
	}
	if a.HTTPRequests+a.HTTPResponses > 0 {
		fmt.Fprintf(b, "HTTP      %d requests, %d responses", a.HTTPRequests, a.HTTPResponses)
		if len(a.HTTPStatus) > 0 {
			fmt.Fprintf(b, ": %s", countsLine(a.HTTPStatus))
		}
		b.WriteString("\n")
	}
	if a.TLSHandshakes > 0 {
		fmt.Fprintf(b, "TLS       %d handshakes: %s\n", a.TLSHandshakes, countsLine(a.TLSOutcomes))
	}
	if a.ICMPMessages > 0 {
		fmt.Fprintf(b, "ICMP      %d errors and redirects: %s\n", a.ICMPMessages, countsLine(a.ICMPKinds))
	}
}

package rules

import (
	"fmt"
	"strings"

	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
)

// Markdown renders the registry as docs/rules.md (kept in sync by a test).
func Markdown() string {
	var b strings.Builder
	b.WriteString("# pcapx rules\n\n")
	b.WriteString("Generated from `rules.All()` (`go test ./rules -update` rewrites it). Tune them with\n")
	b.WriteString("`--rules FILE` (YAML: `rules: {ID: {enabled: false, severity: error, thresholds: {NAME: VALUE}}}`),\n")
	b.WriteString("and add your own as CEL expressions over the records: see [Custom rules](#custom-rules).\n\n")
	b.WriteString(`Severities mean the same in every rule, so that --fail-on and a report's
first lines can be trusted:

- **error**: a failure a user saw — a refused or unanswered connection, a
  rejected or failed handshake, an HTTP 5xx, a DNS SERVFAIL or REFUSED, a
  transfer stalled by a zero window.
- **warning**: degradation with a cause — loss and retransmissions, a phase
  slow beyond what the path explains, a scan, names that do not resolve.
- **info**: context that explains other findings.
- **critical** is never a default: a rules file sets it for what must page.

The timing rules (slow-*) judge a phase against the path's round trip (RTT),
not an absolute number: a handshake that costs one round trip of a long path is
far, not slow. Their findings split the time into retransmission waits, the
server's time and the round trips, and say which dominated.

`)
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
	customMarkdown(&b)
	return b.String()
}

// customMarkdown documents custom rules: the YAML, the semantics and every
// field a CEL expression can read, from the same tables the evaluator uses.
func customMarkdown(b *strings.Builder) {
	b.WriteString(`
## Custom rules

Add your own rules to the rules file, next to the overrides, as
[CEL](https://cel.dev) expressions over the records pcapx writes (the flows,
dns, http, tls and icmp tables of ` + "`--format json`" + `; [json.md](json.md) says what each
field means):

` + "```yaml" + `
rules:
  slow-dns: {enabled: false}
  api-rate-limited: {severity: error}   # overrides apply to custom rules too
custom:
  - id: api-rate-limited                # required: lowercase letters, digits, '-'; not a built-in id
    title: API answered 429 Too Many Requests   # required, one line
    severity: warning                   # info, warning (default), error, critical
    on: http                            # required: flow, dns, http, tls or icmp
    when: 'http.status == 429 && http.host == "api.internal"'   # required, a bool
    message: '"rate limited: " + http.method + " " + http.target'   # optional, a string
    doc: what it means, likely causes, what to check next      # optional
` + "```" + `

- ` + "`when`" + ` reads one variable named after ` + "`on`" + ` (` + "`flow`, `dns`, `http`, `tls` or `icmp`" + `); its
  fields are the record's JSON field names, listed below. The expression is
  type-checked when the file is loaded: an unknown field, a type mismatch or a
  ` + "`when`" + ` that is not a bool is an error naming the file, the rule and the position.
- Types: integers (ports, counts, ` + "`rcode`" + `, ` + "`status`" + `) are ` + "`int`" + `; ms and s durations are
  ` + "`double`" + `, as in the JSON (` + "`<`" + ` and ` + "`>`" + ` compare them with ints, ` + "`http.ttfb_ms > 500`" + `;
  ` + "`==`" + ` does not mix the two: ` + "`== 500.0`" + `); times are ` + "`timestamp`" + ` (UTC), e.g.
  ` + "`dns.response_time - dns.query_time > duration(\"1s\")`" + `; a time that was not seen is the
  Unix epoch. ` + "`has(x.f)`" + ` is false for a field at its zero value (` + "`\"\"`" + `, 0, false, an empty
  list, an unseen time). CEL's standard functions (` + "`contains`, `startsWith`, `endsWith`,\n  `matches`, `size`, `exists`, ..." + `) and the string extensions (` + "`lowerAscii`, `split`,\n  `replace`, `format`, ..." + `) are available.
- A record on which an expression fails at run time (say ` + "`dns.answer_addrs[0]`" + ` with no
  answers) does not match; the run goes on, and one warning per rule on stderr
  counts them. Guard with ` + "`size(dns.answer_addrs) > 0 && ...`" + `.
- Every expression has a budget of ` + fmt.Sprint(MaxRuleCost) + ` CEL cost units per record (about
  one per operation; a string function costs a tenth per character it reads).
  When the file is loaded its worst case is estimated, with every string and list
  field as long as a record can hold (the *at most* column below), and a rule over
  the budget is refused, naming it: nested comprehensions multiply
  (` + "`[...ten items].all(a, [...ten].all(b, ...))`" + ` is 10 × 10 × ... steps), and a rule
  cheap on the records of one capture can be costly on an attacker's. Should an
  evaluation still run past the budget, it is stopped and the rule is disabled for
  the rest of the run with a warning (a rule warning: ` + "`--strict`" + ` does not count it).
- Matches are grouped like the built-in rules' findings: one finding per **flow**
  for ` + "`on: flow`" + ` (at most 500 per rule); per (host, status) for ` + "`http`" + `; per (qname,
  rcode) for ` + "`dns`" + `; per SNI for ` + "`tls`" + `; per (kind, sender, quoted destination) for ` + "`icmp`" + ` — each with a count, the first and last time,
  the frames (the response, or the request / query / ClientHello) and a Wireshark
  display filter. ` + "`message`" + ` is evaluated on a group's first record (" (N times)" is
  added); without it the message is the title and what the group matched.
- Severity, ` + "`enabled: false`" + ` and ` + "`--fail-on`" + ` work as for the built-in rules.
  ` + "`pcapx rules --rules FILE`" + ` lists the custom rules; ` + "`pcapx rules --rules FILE ID`" + ` shows one.
`)
	for _, k := range celKinds {
		fmt.Fprintf(b, "\n### `%s` fields\n\n| field | CEL type | at most |\n|---|---|---|\n", k.kind)
		for _, f := range k.fields {
			fmt.Fprintf(b, "| `%s` | %s | %s |\n", f.name, celTypeName(f.typ), sizeNote(k.sizes[f.name]))
		}
	}
}

// sizeNote is the size bound of a string or list field, for the doc.
func sizeNote(s cost.SizeEstimate) string {
	switch {
	case s.Max == 0:
		return ""
	case s.Elem != nil:
		return fmt.Sprintf("%d items of %d characters", s.Max, s.Elem.Max)
	}
	return fmt.Sprintf("%d characters", s.Max)
}

// celTypeName names a field type as CEL's docs do.
func celTypeName(t *types.Type) string {
	switch {
	case t == types.TimestampType:
		return "timestamp"
	case t == stringListType:
		return "list(string)"
	}
	return t.String()
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
	if c := r.custom; c != nil {
		fmt.Fprintf(&b, "%s — %s\nseverity: %s   events: %s   custom rule (rules file)\n\nwhen: %s\n", r.ID, r.Title, r.Severity, kinds(r.Events), strings.TrimSpace(c.spec.When))
		if m := strings.TrimSpace(c.spec.Message); m != "" {
			fmt.Fprintf(&b, "message: %s\n", m)
		}
		fmt.Fprintf(&b, "\n%s\n", r.Doc)
		return b.String()
	}
	fmt.Fprintf(&b, "%s — %s\nseverity: %s   events: %s\n\n%s\n", r.ID, r.Title, r.Severity, kinds(r.Events), r.Doc)
	if len(r.Thresholds) > 0 {
		b.WriteString("\nthresholds:\n")
		for _, t := range r.Thresholds {
			fmt.Fprintf(&b, "  %-16s %8g %-9s %s\n", t.Name, t.Default, t.Unit, t.Doc)
		}
	}
	return b.String()
}

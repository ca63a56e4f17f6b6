package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/overloads"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"

	"github.com/pcapx/pcapx/flows"
)

// CustomRule is a rule a user writes in the rules file: a CEL condition
// over one kind of record (docs/rules.md#custom-rules says it for users):
//
//	custom:
//	  - id: api-rate-limited
//	    title: API answered 429 Too Many Requests
//	    severity: warning          # default warning
//	    on: http                   # flow, dns, http, tls or icmp
//	    when: 'http.status == 429 && http.host == "api.internal"'
//	    message: '"rate limited: " + http.method + " " + http.target'   # optional CEL string
//	    doc: what it means, causes, next steps                          # optional
//
// The expression reads one variable named after the kind, whose fields are
// the record's JSON fields (docs/rules.md lists them with their CEL types).
type CustomRule struct {
	ID       string    `yaml:"id"`
	Title    string    `yaml:"title"`
	Severity *Severity `yaml:"severity"`
	On       string    `yaml:"on"`
	When     string    `yaml:"when"`
	Message  string    `yaml:"message"`
	Doc      string    `yaml:"doc"`
}

// customProg is a compiled custom rule.
type customProg struct {
	spec CustomRule
	kind *celKind
	when cel.Program
	msg  cel.Program // nil: the default message
}

var validID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// maxIDLen bounds a custom rule id (it is a column value and a doc anchor).
const maxIDLen = 64

var (
	celEnvOnce [numEventKinds]sync.Once
	celEnvs    [numEventKinds]*cel.Env
	celEnvErrs [numEventKinds]error
)

// celEnv is the CEL environment of rules on kind k: one variable named after
// the kind, the standard library plus the string extensions. Environments
// are immutable and shared; they are built on first use, so a run without
// custom rules never builds one.
func celEnv(k EventKind) (*cel.Env, error) {
	celEnvOnce[k].Do(func() {
		reg, err := types.NewRegistry()
		if err != nil {
			celEnvErrs[k] = err
			return
		}
		ck := celKinds[k]
		celEnvs[k], celEnvErrs[k] = cel.NewEnv(
			cel.CustomTypeProvider(&celProvider{Provider: reg, kind: ck}),
			cel.Variable(k.String(), ck.typ),
			cel.DefaultUTCTimeZone(true),
			cel.CrossTypeNumericComparisons(true), // http.ttfb_ms > 500
			ext.Strings(),
		)
	})
	return celEnvs[k], celEnvErrs[k]
}

func parseKind(s string) (EventKind, bool) {
	for k := EventFlow; k < numEventKinds; k++ {
		if s == k.String() {
			return k, true
		}
	}
	return 0, false
}

// compile checks one custom rule and compiles its expressions. Errors name
// the rule and carry CEL's message with the position in the expression.
func (s CustomRule) compile() (*Rule, error) {
	if s.ID == "" {
		return nil, fmt.Errorf("custom rule without an id")
	}
	if !validID.MatchString(s.ID) || len(s.ID) > maxIDLen {
		return nil, fmt.Errorf("custom rule %q: id must be lowercase letters, digits and single '-' between them (at most %d characters)", s.ID, maxIDLen)
	}
	if Lookup(s.ID) != nil {
		return nil, fmt.Errorf("custom rule %q: id is a built-in rule (tune that one under rules:, or pick another id)", s.ID)
	}
	if strings.TrimSpace(s.Title) == "" || strings.ContainsAny(s.Title, "\r\n") {
		return nil, fmt.Errorf("custom rule %s: title must be one non-empty line", s.ID)
	}
	k, ok := parseKind(s.On)
	if !ok {
		return nil, fmt.Errorf("custom rule %s: on: %q: want flow, dns, http, tls or icmp", s.ID, s.On)
	}
	if strings.TrimSpace(s.When) == "" {
		return nil, fmt.Errorf("custom rule %s: when: an expression is required", s.ID)
	}
	env, err := celEnv(k)
	if err != nil {
		return nil, fmt.Errorf("custom rule %s: CEL environment: %w", s.ID, err)
	}
	when, err := compileExpr(env, celKinds[k], s.When, "when", cel.BoolType)
	if err != nil {
		return nil, fmt.Errorf("custom rule %s: %w", s.ID, err)
	}
	cp := &customProg{spec: s, kind: celKinds[k], when: when}
	if strings.TrimSpace(s.Message) != "" {
		if cp.msg, err = compileExpr(env, celKinds[k], s.Message, "message", cel.StringType); err != nil {
			return nil, fmt.Errorf("custom rule %s: %w", s.ID, err)
		}
	}
	sev := Warning
	if s.Severity != nil {
		sev = *s.Severity
	}
	doc := strings.TrimSpace(s.Doc)
	if doc == "" {
		doc = "A custom rule from the rules file (no doc given)."
	}
	r := &Rule{ID: s.ID, Title: strings.TrimSpace(s.Title), Doc: doc, Severity: sev, Events: []EventKind{k}, custom: cp}
	r.New = func(p Params) Checker { return newCustomChecker(r, cp, p) }
	return r, nil
}

// MaxRuleCost bounds the work of one evaluation of a custom rule's
// expression, in CEL's cost units (about one per operation; a string
// operation costs a tenth of a unit per character). A rule runs on every
// record of its kind, and its author may not be the person running pcapx
// on a capture an attacker filled: a few nested comprehensions over
// literal lists multiply into billions of steps. 100,000 units take a few
// milliseconds; the rules of docs/rules.md cost under 100 on any record,
// a regular expression over the longest HTTP target about 6,000.
const MaxRuleCost = 100_000

// runtimeCostLimit is MaxRuleCost; a test lowers it to reach the run-time
// stop with an expression the load-time estimate accepts.
var runtimeCostLimit uint64 = MaxRuleCost

// compileExpr parses and type-checks src, rejects it when its worst-case
// cost is over MaxRuleCost, and plans it once, with constant folding
// (cel.OptOptimize) and the cost limit as a safety net for what the
// estimate does not see.
func compileExpr(env *cel.Env, k *celKind, src, what string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.CompileSource(common.NewStringSource(src, what))
	if err := iss.Err(); err != nil {
		return nil, err // names the source: "ERROR: when:1:6: undefined field ..."
	}
	if !ast.OutputType().IsExactType(want) {
		return nil, fmt.Errorf("%s: %q is of type %s, want %s", what, src, ast.OutputType(), want)
	}
	// The estimate is the worst case over every record the parsers can
	// make: each string and list field has the bound of its parser's cap
	// (celfields.go), so an expression's cost is finite unless it builds
	// something whose size no bound covers.
	est, err := env.EstimateCost(ast, sizeEstimator{k})
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: cannot estimate its cost: %v", what, err)
	case est.Max == math.MaxUint64:
		return nil, fmt.Errorf("%s: its cost has no upper bound (it builds a string or list of unbounded size); pcapx runs only rules whose worst case is at most %d", what, MaxRuleCost)
	case est.Max > MaxRuleCost:
		return nil, fmt.Errorf("%s: worst-case cost %d is over the limit of %d per record (nested comprehensions or large lists multiply; a record's strings are up to their caps, e.g. an HTTP target %d characters)",
			what, est.Max, MaxRuleCost, httpMaxTarget)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(runtimeCostLimit))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return prg, nil
}

// sizeEstimator gives the cost estimate the size bounds of a record's
// string and list fields.
type sizeEstimator struct{ k *celKind }

func (e sizeEstimator) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	p := n.Path()
	if len(p) < 2 || p[0] != e.k.kind.String() {
		return nil
	}
	sz, ok := e.k.sizes[p[1]]
	switch {
	case !ok:
		return nil
	case len(p) == 2:
		return &sz
	case len(p) == 3 && p[2] == "@items" && sz.Elem != nil:
		return sz.Elem
	}
	return nil
}

// EstimateCallCost bounds what CEL cannot: the text of a number, bool,
// time or duration (string(http.status)) is short, where CEL's own model
// says nothing of its size and any rule printing a number in its message
// would look unbounded.
func (sizeEstimator) EstimateCallCost(_, overload string, _ *cost.AstNode, _ []cost.AstNode) *cost.CallEstimate {
	switch overload {
	case overloads.BoolToString, overloads.IntToString, overloads.UintToString, overloads.DoubleToString,
		overloads.TimestampToString, overloads.DurationToString:
		sz := cost.RangedSizeEstimate(0, 64)
		return cost.NewCallEstimate(cost.FixedCostEstimate(1), &sz)
	}
	return nil
}

// costStopped says whether err is an evaluation stopped by the cost limit.
func costStopped(err error) bool {
	var ce interpreter.EvalCancelledError
	return errors.As(err, &ce) && ce.Cause == interpreter.CostLimitExceeded
}

// customChecker runs one custom rule. Matches are grouped by what tells
// their causes apart: a flow rule reports each matching flow (the engine's
// per-rule cap bounds them); an http rule groups by (host, status), dns by
// (qname, rcode) and tls by SNI, so a thousand 429s from one API are one
// finding with a count.
type customChecker struct {
	rule *Rule
	c    *customProg
	p    Params
	act  oneVar
	g    groups

	evals, errs       int64 // when: evaluations, runtime errors
	msgErrs           int64 // message: runtime errors
	firstErr, msgErr1 string
	// stopped is set when an evaluation hit the cost limit: the rule is
	// off for the rest of the run (stoppedBy says where and on what).
	stopped   bool
	stoppedBy string
}

func newCustomChecker(r *Rule, c *customProg, p Params) *customChecker {
	return &customChecker{rule: r, c: c, p: p, act: oneVar{name: c.kind.kind.String(), val: recordVal{kind: c.kind}}}
}

// customData is what a group keeps of its first match.
type customData struct {
	msg  string // the message expression's value, "" without one
	http flows.HTTPRecord
	dns  flows.DNSRecord
	tls  flows.TLSRecord
	icmp flows.ICMPRecord
}

func (c *customChecker) Event(ev *Event, report func(Finding)) {
	var rec any
	switch ev.Kind {
	case EventFlow:
		rec = ev.Flow
	case EventDNS:
		rec = ev.DNS
	case EventHTTP:
		rec = ev.HTTP
	case EventTLS:
		rec = ev.TLS
	case EventICMP:
		rec = ev.ICMP
	}
	if ev.Kind != c.c.kind.kind || rec == nil || c.stopped {
		return
	}
	c.act.val.rec = rec
	defer func() { c.act.val.rec = nil }() // keep no record past the call
	c.evals++
	out, _, err := c.c.when.Eval(&c.act)
	if err != nil {
		if costStopped(err) {
			c.stop("when")
			return
		}
		c.fail(err)
		return
	}
	if out != types.True {
		return
	}
	switch ev.Kind {
	case EventFlow:
		c.flow(ev.Flow, report)
	case EventDNS:
		d := ev.DNS
		ts, ref := d.ResponseNS, d.ResponseFrame
		if d.Unanswered {
			ts, ref = d.QueryNS, d.QueryFrame
		}
		if e := c.g.add(d.QName+"|"+strconv.Itoa(d.Rcode), ts, ref, d.FlowRef); e != nil {
			e.example(d.DstAddr)
			if e.data == nil {
				cd := &customData{msg: c.message(), dns: *d}
				cd.dns.AnswerAddrs = nil
				e.data = cd
			}
		}
	case EventHTTP:
		h := ev.HTTP
		ref := h.ResponseFrame
		if h.Status == 0 {
			ref = h.RequestFrame
		}
		key := h.Host + "|" + strconv.Itoa(h.Status)
		if h.Host == "" {
			// Without a Host header the server's address tells servers
			// apart (and is what the display filter can name).
			key += "|" + h.DstAddr
		}
		if e := c.g.add(key, h.RequestNS, ref, h.FlowRef); e != nil {
			e.example(h.Method + " " + h.Target)
			if e.data == nil {
				e.data = &customData{msg: c.message(), http: *h}
			}
		}
	case EventTLS:
		t := ev.TLS
		if e := c.g.add(t.SNI, t.ClientHelloNS, t.ClientHelloFrame, t.FlowRef); e != nil {
			e.example(t.Outcome)
			if e.data == nil {
				cd := &customData{msg: c.message(), tls: *t}
				cd.tls.ALPN, cd.tls.OfferedVersions = nil, nil
				e.data = cd
			}
		}
	case EventICMP:
		m := ev.ICMP
		ref := flows.FlowRef{CommunityID: m.CommunityID, Proto: m.Proto, SrcAddr: m.SrcAddr, DstAddr: m.DstAddr, Stream: -1}
		if e := c.g.add(m.Kind+"|"+m.SrcAddr+"|"+m.QuotedDstAddr, m.TimeNS, m.Frame, ref); e != nil {
			e.example(m.Description)
			if e.data == nil {
				e.data = &customData{msg: c.message(), icmp: *m}
			}
		}
	}
}

// stop turns the rule off after an evaluation ran into the cost limit.
// The estimate at load time should make this impossible; if it happens
// anyway, one record must not cost the run more than one stopped
// evaluation, and the next record would likely cost as much.
func (c *customChecker) stop(what string) {
	c.stopped = true
	c.stoppedBy = fmt.Sprintf("%s: evaluation %d (a %s record of flow %s) ran past the cost limit of %d",
		what, c.evals, c.c.kind.kind, c.flowOf(), runtimeCostLimit)
}

// flowOf names the flow of the current record, for the stop warning.
func (c *customChecker) flowOf() string {
	var r flows.FlowRef
	switch v := c.act.val.rec.(type) {
	case *flows.Record:
		r = v.Ref()
	case *flows.DNSRecord:
		r = v.FlowRef
	case *flows.HTTPRecord:
		r = v.FlowRef
	case *flows.TLSRecord:
		r = v.FlowRef
	case *flows.ICMPRecord:
		return v.SrcAddr + " → " + v.DstAddr
	}
	return fmt.Sprintf("%s %s:%d → %s:%d", r.Proto, r.SrcAddr, r.SrcPort, r.DstAddr, r.DstPort)
}

func (c *customChecker) fail(err error) {
	c.errs++
	if c.firstErr == "" {
		c.firstErr = err.Error()
	}
}

// message evaluates the message expression on the current record; "" (the
// default message) when the rule has none or it failed (the failure is
// counted).
func (c *customChecker) message() string {
	if c.c.msg == nil {
		return ""
	}
	out, _, err := c.c.msg.Eval(&c.act)
	if err != nil {
		if costStopped(err) {
			// The match stands (with the default message); the rule
			// stops after it.
			c.stop("message")
			return ""
		}
		c.msgErrs++
		if c.msgErr1 == "" {
			c.msgErr1 = err.Error()
		}
		return ""
	}
	s, _ := out.Value().(string)
	return s
}

// flow reports a matching flow at once: one finding per flow.
func (c *customChecker) flow(r *flows.Record, report func(Finding)) {
	ref := r.Ref()
	msg := c.message()
	if msg == "" {
		msg = fmt.Sprintf("%s: %s %s:%d → %s:%d, state %s, %.3f s, %d/%d packets",
			c.rule.Title, r.Proto, r.SrcAddr, r.SrcPort, r.DstAddr, r.DstPort, r.State, r.Duration, r.OrigPackets, r.RespPackets)
	}
	first, last := r.FirstNS, r.LastNS
	if first == 0 {
		first, last = int64(r.First), int64(r.Last)
	}
	report(Finding{
		Rule:     c.rule.ID,
		Severity: c.p.Severity,
		Title:    c.rule.Title,
		Message:  msg,
		First:    flows.FormatTime(first),
		Last:     flows.FormatTime(last),
		FirstNS:  first,
		LastNS:   last,
		Count:    1,
		Flow:     &ref,
		Evidence: evidence(flows.FrameRef{File: r.FirstFile, Frame: r.FirstFrame}),
		Filter:   ref.DisplayFilter(),
		Key:      map[string]string{"proto": r.Proto, "server": endpoint(r.DstAddr, r.DstPort)},
	})
}

func (c *customChecker) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*customData)
		var msg, filter string
		switch c.c.kind.kind {
		case EventDNS:
			msg, filter = c.dnsText(e, &d.dns)
		case EventHTTP:
			msg, filter = c.httpText(e, &d.http)
		case EventTLS:
			msg, filter = c.tlsText(e, &d.tls)
		case EventICMP:
			msg, filter = c.icmpText(e, &d.icmp)
		}
		if d.msg != "" {
			msg = d.msg
			if e.count > 1 {
				msg += fmt.Sprintf(" (%d times)", e.count)
			}
		}
		report(e.finding(c.rule, c.p.Severity, msg, filter).keyed(customKey(c.c.kind.kind, d)...))
	}
	if c.g.overflow > 0 {
		report(Finding{Rule: c.rule.ID, Severity: c.p.Severity, Title: c.rule.Title, Count: c.g.overflow, Evidence: []Evidence{},
			Message: fmt.Sprintf("%s: %d more matching %s records beyond the first %d groups", c.rule.Title, c.g.overflow, c.c.kind.kind, maxGroups)})
	}
}

func (c *customChecker) dnsText(e *group, d *flows.DNSRecord) (msg, filter string) {
	name := d.QName
	if name == "" {
		name = "(no name)"
	}
	servers := strings.Join(e.examples, ", ")
	if d.Unanswered || d.Rcode < 0 {
		msg = fmt.Sprintf("%s: %d DNS query(ies) for %s to %s got no response", c.rule.Title, e.count, name, servers)
		filter = "dns.flags.response == 0 && !dns.response_in && " + dnsNameFilter(d.QName)
		return
	}
	rc := d.RcodeName
	if rc == "" {
		rc = "rcode " + strconv.Itoa(d.Rcode)
	}
	msg = fmt.Sprintf("%s: %d %s response(s) for %s from %s", c.rule.Title, e.count, rc, name, servers)
	filter = fmt.Sprintf("dns.flags.response == 1 && %s && dns.flags.rcode == %d", dnsNameFilter(d.QName), d.Rcode&0xf)
	return
}

func (c *customChecker) httpText(e *group, h *flows.HTTPRecord) (msg, filter string) {
	host := h.Host
	if host == "" {
		host = "(no Host header)"
	}
	examples := strings.Join(e.examples, "; ")
	if h.Status == 0 {
		msg = fmt.Sprintf("%s: %d HTTP request(s) to %s (%s:%d) without a response, e.g. %s", c.rule.Title, e.count, host, h.DstAddr, h.DstPort, examples)
		if h.Host != "" {
			filter = "http.request && !http.response_in && http.host == " + wsASCII(h.Host)
		} else {
			filter = "http.request && !http.response_in && " + hostFilter(h.DstAddr)
		}
		return
	}
	msg = fmt.Sprintf("%s: %d HTTP response(s) %d %s from %s (%s:%d), e.g. %s", c.rule.Title, e.count, h.Status, h.Reason, host, h.DstAddr, h.DstPort, examples)
	if h.Host != "" && utf8.ValidString(h.Host) {
		// The Host header is on the request; a response names its
		// request's URI (scheme://host/target) in http.response_for.uri,
		// with the host's bytes as they are — when they are UTF-8:
		// Wireshark makes no URI of a host that is not.
		filter = fmt.Sprintf("http.response.code == %d && http.response_for.uri contains %s", h.Status, wsString("://"+h.Host+"/"))
	} else {
		filter = fmt.Sprintf("http.response.code == %d && %s", h.Status, hostFilter(h.DstAddr))
	}
	return
}

func (c *customChecker) tlsText(e *group, t *flows.TLSRecord) (msg, filter string) {
	outcomes := strings.Join(e.examples, ", ")
	if t.SNI == "" {
		msg = fmt.Sprintf("%s: %d TLS handshake(s) without SNI, e.g. to %s:%d (%s)", c.rule.Title, e.count, t.DstAddr, t.DstPort, outcomes)
		filter = "tls.handshake.type == 1 && !tls.handshake.extensions_server_name"
		return
	}
	msg = fmt.Sprintf("%s: %d TLS handshake(s) for %s, e.g. to %s:%d (%s)", c.rule.Title, e.count, t.SNI, t.DstAddr, t.DstPort, outcomes)
	filter = "tls.handshake.type == 1 && tls.handshake.extensions_server_name == " + wsASCII(t.SNI)
	return
}

func (c *customChecker) icmpText(e *group, m *flows.ICMPRecord) (msg, filter string) {
	msg = fmt.Sprintf("%s: %d ICMP %s message(s) from %s (%s)", c.rule.Title, e.count, m.Kind, m.SrcAddr, strings.Join(e.examples, ", "))
	if m.QuotedDstAddr != "" {
		msg += " about packets to " + m.QuotedDstAddr
	}
	field := "icmp"
	if m.Proto == "icmp6" {
		field = "icmpv6"
	}
	filter = fmt.Sprintf("%s.type == %d && %s", field, m.Type, srcFilter(m.SrcAddr))
	return
}

// Warnings reports records the rule could not evaluate (a runtime error in
// the expression, e.g. an index out of range): they did not match.
func (c *customChecker) Warnings() []string {
	var w []string
	if c.stopped {
		w = append(w, fmt.Sprintf("custom rule %s: %s; the rule was disabled for the rest of the run, its findings cover only the records before",
			c.rule.ID, c.stoppedBy))
	}
	if c.errs > 0 {
		w = append(w, fmt.Sprintf("custom rule %s: when: %d of %d %s records could not be evaluated and did not match; first error: %s",
			c.rule.ID, c.errs, c.evals, c.c.kind.kind, c.firstErr))
	}
	if c.msgErrs > 0 {
		w = append(w, fmt.Sprintf("custom rule %s: message: %d evaluation(s) failed and the default message was used; first error: %s",
			c.rule.ID, c.msgErrs, c.msgErr1))
	}
	return w
}

// customKey is the Key of a custom rule's group: what it groups by (see
// Event), with an HTTP status as its class.
func customKey(k EventKind, d *customData) []string {
	switch k {
	case EventDNS:
		rcode := d.dns.RcodeName
		if d.dns.Unanswered {
			rcode = "unanswered"
		}
		return []string{"qname", d.dns.QName, "rcode", rcode}
	case EventHTTP:
		kv := []string{"host", d.http.Host, "status_class", statusClass(d.http.Status)}
		if d.http.Host == "" {
			kv = append(kv, "server", d.http.DstAddr)
		}
		return kv
	case EventTLS:
		return []string{"sni", d.tls.SNI}
	case EventICMP:
		return []string{"kind", d.icmp.Kind, "from", d.icmp.SrcAddr, "toward", d.icmp.QuotedDstAddr}
	}
	return nil
}

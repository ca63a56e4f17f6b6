package rules

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/common/types"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/jsontags"
)

// fill sets every field of a record to a distinct non-zero value.
func fill(v reflect.Value, n *int) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		*n++
		switch f.Kind() {
		case reflect.Struct:
			fill(f, n)
		case reflect.String:
			f.SetString(fmt.Sprintf("s%d", *n))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if f.Type() == reflect.TypeOf(flows.Time(0)) {
				f.SetInt(1767323045_000000000 + int64(*n)*1_000_001)
			} else {
				f.SetInt(int64(*n % 100))
			}
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(*n))
		case reflect.Float64:
			f.SetFloat(float64(*n) + 0.25)
		case reflect.Slice:
			if f.Type().Elem().Kind() != reflect.String {
				continue // frame lists the JSON leaves out (flows.Stall.Frames)
			}
			f.Set(reflect.ValueOf([]string{fmt.Sprintf("a%d", *n), fmt.Sprintf("b%d", *n)}))
		case reflect.Pointer:
		default:
			panic("fill: unhandled kind " + f.Kind().String())
		}
	}
}

// TestCELFieldsMatchJSON checks that every record kind exposes exactly its
// JSON fields, under the JSON names, with the values the JSON shows (times
// as timestamps of the same instant). A field added to a record without a
// getter here fails this test.
func TestCELFieldsMatchJSON(t *testing.T) {
	recs := map[EventKind]any{EventFlow: &flows.Record{}, EventDNS: &flows.DNSRecord{}, EventHTTP: &flows.HTTPRecord{}, EventTLS: &flows.TLSRecord{}}
	for k, rec := range recs {
		t.Run(k.String(), func(t *testing.T) {
			ck := celKinds[k]
			want := jsontags.Names(reflect.TypeOf(rec).Elem())
			if got := ck.names; !reflect.DeepEqual(got, want) {
				t.Fatalf("CEL fields of %s\n got %v\nwant %v (the JSON fields, in order)", k, got, want)
			}
			n := 0
			fill(reflect.ValueOf(rec).Elem(), &n)
			b, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			var js map[string]any
			if err := json.Unmarshal(b, &js); err != nil {
				t.Fatal(err)
			}
			env, err := celEnv(k)
			if err != nil {
				t.Fatal(err)
			}
			act := &oneVar{name: k.String(), val: recordVal{kind: ck, rec: rec}}
			for _, f := range ck.fields {
				ast, iss := env.Compile(k.String() + "." + f.name)
				if iss.Err() != nil {
					t.Fatalf("%s: %v", f.name, iss.Err())
				}
				if !ast.OutputType().IsExactType(f.typ) {
					t.Errorf("%s: checked type %v, want %v", f.name, ast.OutputType(), f.typ)
				}
				prg, err := env.Program(ast)
				if err != nil {
					t.Fatal(err)
				}
				out, _, err := prg.Eval(act)
				if err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				var got any
				switch v := out.(type) {
				case types.Timestamp:
					got = v.Time.Format(time.RFC3339Nano)
				case types.Int:
					got = float64(v)
				default:
					native, err := out.ConvertToNative(reflect.TypeOf(js[f.name]))
					if err != nil {
						t.Fatalf("%s: %v", f.name, err)
					}
					got = native
				}
				if !reflect.DeepEqual(got, js[f.name]) {
					t.Errorf("%s.%s = %#v, JSON has %#v", k, f.name, got, js[f.name])
				}
				if !f.set(rec) {
					t.Errorf("%s.%s: has() false on a non-zero value", k, f.name)
				}
			}
		})
	}
}

func writeRules(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadRules(t *testing.T, yaml string) *Config {
	t.Helper()
	cfg, err := LoadConfig(writeRules(t, yaml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// only keeps the findings of one rule.
func only(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

func httpRec(host string, status int, ns int64, frame int64) *flows.HTTPRecord {
	return &flows.HTTPRecord{FlowRef: flows.FlowRef{CommunityID: "1:h", Proto: "tcp", SrcAddr: "192.0.2.10", SrcPort: 51000, DstAddr: "198.51.100.20", DstPort: 80},
		RequestNS: ns, RequestTime: flows.Time(ns), Method: "GET", Host: host, Target: "/v1/items", Status: status, Reason: "Too Many Requests",
		RequestFrame: flows.FrameRef{Frame: frame - 1}, ResponseFrame: flows.FrameRef{Frame: frame}}
}

func TestCustomRuleMatches(t *testing.T) {
	const t0 = int64(1767323045_000000000)
	for _, c := range []struct {
		name   string
		yaml   string
		events []*Event
		want   []string // per finding: "count|message|filter|evidence frames"
	}{
		{
			name: "http 429 on one host, grouped by host and status",
			yaml: `custom:
  - id: api-rate-limited
    title: API answered 429
    on: http
    when: 'http.status == 429 && http.host == "api.internal"'
`,
			events: []*Event{
				{Kind: EventHTTP, HTTP: httpRec("api.internal", 429, t0+1e9, 8)},
				{Kind: EventHTTP, HTTP: httpRec("api.internal", 200, t0+2e9, 10)},
				{Kind: EventHTTP, HTTP: httpRec("other.internal", 429, t0+3e9, 12)},
				{Kind: EventHTTP, HTTP: httpRec("api.internal", 429, t0+4e9, 14)},
			},
			want: []string{`2|API answered 429: 2 HTTP response(s) 429 Too Many Requests from api.internal (198.51.100.20:80), e.g. GET /v1/items|http.response.code == 429 && http.response_for.uri contains "://api.internal/"|[8 14]`},
		},
		{
			name: "http: one finding per (host, status)",
			yaml: `custom:
  - id: server-errors
    title: server errors
    on: http
    when: 'http.status >= 500'
`,
			events: []*Event{
				{Kind: EventHTTP, HTTP: httpRec("a.example", 503, t0+1, 2)},
				{Kind: EventHTTP, HTTP: httpRec("a.example", 500, t0+2, 4)},
				{Kind: EventHTTP, HTTP: httpRec("b.example", 503, t0+3, 6)},
				{Kind: EventHTTP, HTTP: httpRec("a.example", 503, t0+4, 8)},
			},
			want: []string{
				`2|server errors: 2 HTTP response(s) 503 Too Many Requests from a.example (198.51.100.20:80), e.g. GET /v1/items|http.response.code == 503 && http.response_for.uri contains "://a.example/"|[2 8]`,
				`1|server errors: 1 HTTP response(s) 500 Too Many Requests from a.example (198.51.100.20:80), e.g. GET /v1/items|http.response.code == 500 && http.response_for.uri contains "://a.example/"|[4]`,
				`1|server errors: 1 HTTP response(s) 503 Too Many Requests from b.example (198.51.100.20:80), e.g. GET /v1/items|http.response.code == 503 && http.response_for.uri contains "://b.example/"|[6]`,
			},
		},
		{
			name: "http request without a response",
			yaml: `custom:
  - id: unanswered
    title: unanswered
    on: http
    when: 'http.status == 0'
`,
			events: []*Event{{Kind: EventHTTP, HTTP: httpRec("a.example", 0, t0, 8)}},
			want:   []string{`1|unanswered: 1 HTTP request(s) to a.example (198.51.100.20:80) without a response, e.g. GET /v1/items|http.request && !http.response_in && http.host == "a.example"|[7]`},
		},
		{
			name: "dns: one finding per (qname, rcode)",
			yaml: `custom:
  - id: errors
    title: errors
    on: dns
    when: 'dns.rcode > 0'
`,
			events: []*Event{
				{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, QName: "a.example", Rcode: 3, RcodeName: "NXDOMAIN", ResponseNS: t0, ResponseFrame: flows.FrameRef{Frame: 2}}},
				{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, QName: "a.example", Rcode: 2, RcodeName: "SERVFAIL", ResponseNS: t0 + 1, ResponseFrame: flows.FrameRef{Frame: 4}}},
				{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, QName: "a.example", Rcode: 3, RcodeName: "NXDOMAIN", ResponseNS: t0 + 2, ResponseFrame: flows.FrameRef{Frame: 6}}},
			},
			want: []string{
				`2|errors: 2 NXDOMAIN response(s) for a.example from 192.0.2.53|dns.flags.response == 1 && dns.qry.name == "a.example" && dns.flags.rcode == 3|[2 6]`,
				`1|errors: 1 SERVFAIL response(s) for a.example from 192.0.2.53|dns.flags.response == 1 && dns.qry.name == "a.example" && dns.flags.rcode == 2|[4]`,
			},
		},
		{
			name: "http without a Host header groups by server address",
			yaml: `custom:
  - id: no-host
    title: no host
    on: http
    when: '!has(http.host)'
`,
			events: []*Event{{Kind: EventHTTP, HTTP: httpRec("", 429, t0, 8)}, {Kind: EventHTTP, HTTP: httpRec("x", 429, t0, 10)}},
			want:   []string{`1|no host: 1 HTTP response(s) 429 Too Many Requests from (no Host header) (198.51.100.20:80), e.g. GET /v1/items|http.response.code == 429 && ip.addr == 198.51.100.20|[8]`},
		},
		{
			name: "message expression, evaluated on the first record of a group",
			yaml: `custom:
  - id: slow-api
    title: slow API
    severity: error
    on: http
    when: 'http.ttfb_ms > 100'
    message: '"slow " + http.host + http.target + " after " + string(int(http.ttfb_ms)) + " ms"'
`,
			events: []*Event{
				{Kind: EventHTTP, HTTP: func() *flows.HTTPRecord { h := httpRec("a.example", 200, t0, 5); h.TTFBMS = 250.5; return h }()},
				{Kind: EventHTTP, HTTP: func() *flows.HTTPRecord { h := httpRec("a.example", 200, t0+1, 7); h.TTFBMS = 900; return h }()},
				{Kind: EventHTTP, HTTP: func() *flows.HTTPRecord { h := httpRec("a.example", 200, t0+2, 9); h.TTFBMS = 99; return h }()},
			},
			want: []string{`2|slow a.example/v1/items after 250 ms (2 times)|http.response.code == 200 && http.response_for.uri contains "://a.example/"|[5 7]`},
		},
		{
			name: "dns grouped by qname and rcode, with timestamps and lists",
			yaml: `custom:
  - id: nx-internal
    title: internal names missing
    on: dns
    when: 'dns.rcode_name == "NXDOMAIN" && dns.qname.endsWith(".internal") && dns.query_time >= timestamp("2026-01-02T03:04:05Z")'
  - id: slow-answer
    title: slow answer
    on: dns
    when: 'dns.response_time - dns.query_time > duration("1s") && "203.0.113.9" in dns.answer_addrs'
`,
			events: []*Event{
				{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, QName: "db.internal", QType: "A", Rcode: 3, RcodeName: "NXDOMAIN",
					QueryTime: flows.Time(t0), QueryNS: t0, ResponseTime: flows.Time(t0 + 1e6), ResponseNS: t0 + 1e6, ResponseFrame: flows.FrameRef{Frame: 2}}},
				{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.54"}, QName: "db.internal", QType: "AAAA", Rcode: 3, RcodeName: "NXDOMAIN",
					QueryTime: flows.Time(t0 + 5e6), QueryNS: t0 + 5e6, ResponseTime: flows.Time(t0 + 6e6), ResponseNS: t0 + 6e6, ResponseFrame: flows.FrameRef{Frame: 4}}},
				{Kind: EventDNS, DNS: &flows.DNSRecord{QName: "db.example", Rcode: 3, RcodeName: "NXDOMAIN", QueryTime: flows.Time(t0), ResponseTime: flows.Time(t0 + 1)}},
				{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, QName: "slow.example", RcodeName: "NOERROR", AnswerAddrs: []string{"203.0.113.9"},
					QueryTime: flows.Time(t0), QueryNS: t0, ResponseTime: flows.Time(t0 + 2e9), ResponseNS: t0 + 2e9, ResponseFrame: flows.FrameRef{Frame: 6}}},
				{Kind: EventDNS, DNS: &flows.DNSRecord{QName: "fast.example", RcodeName: "NOERROR", AnswerAddrs: []string{"203.0.113.9"},
					QueryTime: flows.Time(t0), ResponseTime: flows.Time(t0 + 2e6)}},
			},
			want: []string{
				`2|internal names missing: 2 NXDOMAIN response(s) for db.internal from 192.0.2.53, 192.0.2.54|dns.flags.response == 1 && dns.qry.name == "db.internal" && dns.flags.rcode == 3|[2 4]`,
				`1|slow answer: 1 NOERROR response(s) for slow.example from 192.0.2.53|dns.flags.response == 1 && dns.qry.name == "slow.example" && dns.flags.rcode == 0|[6]`,
			},
		},
		{
			name: "dns unanswered: the query is the evidence",
			yaml: `custom:
  - id: lost
    title: lost queries
    on: dns
    when: dns.unanswered
`,
			events: []*Event{{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "192.0.2.53"}, QName: "x.example", Rcode: -1, Unanswered: true, QueryNS: t0, QueryFrame: flows.FrameRef{Frame: 3}}}},
			want:   []string{`1|lost queries: 1 DNS query(ies) for x.example to 192.0.2.53 got no response|dns.flags.response == 0 && !dns.response_in && dns.qry.name == "x.example"|[3]`},
		},
		{
			name: "tls grouped by SNI",
			yaml: `custom:
  - id: old-tls
    title: old TLS offered
    on: tls
    when: '"TLS 1.0" in tls.offered_versions'
`,
			events: []*Event{
				{Kind: EventTLS, TLS: &flows.TLSRecord{FlowRef: flows.FlowRef{DstAddr: "198.51.100.7", DstPort: 443}, SNI: "old.example", OfferedVersions: []string{"TLS 1.0"}, Outcome: "rejected-reset", ClientHelloFrame: flows.FrameRef{Frame: 4}}},
				{Kind: EventTLS, TLS: &flows.TLSRecord{FlowRef: flows.FlowRef{DstAddr: "198.51.100.7", DstPort: 443}, SNI: "old.example", OfferedVersions: []string{"TLS 1.0", "TLS 1.2"}, Outcome: "established", ClientHelloFrame: flows.FrameRef{Frame: 9}}},
				{Kind: EventTLS, TLS: &flows.TLSRecord{SNI: "new.example", OfferedVersions: []string{"TLS 1.3"}}},
			},
			want: []string{`2|old TLS offered: 2 TLS handshake(s) for old.example, e.g. to 198.51.100.7:443 (rejected-reset, established)|tls.handshake.type == 1 && tls.handshake.extensions_server_name == "old.example"|[4 9]`},
		},
		{
			name: "flow: one finding per flow",
			yaml: `custom:
  - id: big-upload
    title: big upload
    on: flow
    when: flow.orig_bytes > 1000 && flow.dst_port == 443
`,
			events: []*Event{
				{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.OrigBytes = 5000; r.FirstFrame = 1; r.State = "SF"; r.Duration = 1.5 })},
				{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.OrigBytes = 500 })},
				{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.OrigBytes = 9000; r.SrcPort = 40001; r.FirstFrame = 20; r.State = "S0" })},
			},
			want: []string{
				`1|big upload: tcp 10.0.0.1:40000 → 10.0.0.2:443, state SF, 1.500 s, 50/50 packets|ip.addr == 10.0.0.1 && ip.addr == 10.0.0.2 && tcp.port == 40000 && tcp.port == 443|[1]`,
				`1|big upload: tcp 10.0.0.1:40001 → 10.0.0.2:443, state S0, 0.000 s, 50/50 packets|ip.addr == 10.0.0.1 && ip.addr == 10.0.0.2 && tcp.port == 40001 && tcp.port == 443|[20]`,
			},
		},
		{
			name: "a rule on another kind sees nothing",
			yaml: `custom:
  - id: any-flow
    title: any flow
    on: flow
    when: "true"
`,
			events: []*Event{{Kind: EventHTTP, HTTP: httpRec("a", 429, t0, 2)}},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := loadRules(t, c.yaml)
			e, err := NewEngine(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range c.events {
				e.Event(ev)
			}
			var got []string
			for _, f := range e.Finish() {
				if Lookup(f.Rule) != nil {
					continue
				}
				var frames []int64
				for _, ev := range f.Evidence {
					frames = append(frames, ev.Frame)
				}
				got = append(got, fmt.Sprintf("%d|%s|%s|%v", f.Count, f.Message, f.Filter, frames))
				if f.Title == "" || f.First == "" || f.FirstNS > f.LastNS {
					t.Errorf("finding %+v: title or time range missing", f)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("findings\n got %q\nwant %q", got, c.want)
			}
			if len(e.Warnings) != 0 {
				t.Errorf("warnings %q", e.Warnings)
			}
		})
	}
}

// A group's findings carry the flow while one flow holds all its
// occurrences, and the time range spans them.
func TestCustomRuleGroupTimesAndFlow(t *testing.T) {
	cfg := loadRules(t, "custom:\n  - {id: r429, title: t, on: http, when: 'http.status == 429'}\n")
	a, b, c := httpRec("h", 429, 300, 3), httpRec("h", 429, 100, 1), httpRec("h", 429, 200, 2)
	c.CommunityID = "1:other"
	fs := run(t, cfg, &Event{Kind: EventHTTP, HTTP: a}, &Event{Kind: EventHTTP, HTTP: b})
	if len(fs) != 1 || fs[0].FirstNS != 100 || fs[0].LastNS != 300 || fs[0].Flow == nil || fs[0].Flow.CommunityID != "1:h" || fs[0].Severity != Warning {
		t.Errorf("one flow: %+v", fs)
	}
	fs = run(t, cfg, &Event{Kind: EventHTTP, HTTP: a}, &Event{Kind: EventHTTP, HTTP: c})
	if len(fs) != 1 || fs[0].Count != 2 || fs[0].Flow != nil {
		t.Errorf("two flows: %+v", fs)
	}
}

func TestCustomRuleLoadErrors(t *testing.T) {
	for _, c := range []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"typo in a field", "custom:\n  - {id: r1, title: t, on: http, when: 'http.stauts == 429'}\n",
			[]string{"custom rule r1", "when:1:5", "undefined field 'stauts'"}},
		{"when not a bool", "custom:\n  - {id: r1, title: t, on: http, when: 'http.status + 1'}\n",
			[]string{"custom rule r1", "when", "of type int, want bool"}},
		{"type mismatch", "custom:\n  - {id: r1, title: t, on: http, when: 'http.status == \"429\"'}\n",
			[]string{"custom rule r1", "when:1:13", "no matching overload"}},
		{"syntax error", "custom:\n  - {id: r1, title: t, on: dns, when: 'dns.qname ==' }\n",
			[]string{"custom rule r1", "when:1:"}},
		{"another kind's variable", "custom:\n  - {id: r1, title: t, on: http, when: 'dns.rcode == 3'}\n",
			[]string{"custom rule r1", "undeclared reference to 'dns'"}},
		{"message not a string", "custom:\n  - {id: r1, title: t, on: http, when: 'true', message: 'http.status'}\n",
			[]string{"custom rule r1", "message", "want string"}},
		{"message typo", "custom:\n  - {id: r1, title: t, on: tls, when: 'true', message: 'tls.snii'}\n",
			[]string{"custom rule r1", "message:1:4", "undefined field 'snii'"}},
		{"id clashes with a built-in", "custom:\n  - {id: dns-error, title: t, on: dns, when: 'true'}\n",
			[]string{`custom rule "dns-error"`, "built-in"}},
		{"id used twice", "custom:\n  - {id: r1, title: t, on: dns, when: 'true'}\n  - {id: r1, title: u, on: http, when: 'true'}\n",
			[]string{"custom rule r1", "twice"}},
		{"bad id", "custom:\n  - {id: Rate_Limit, title: t, on: dns, when: 'true'}\n",
			[]string{`custom rule "Rate_Limit"`, "lowercase"}},
		{"no id", "custom:\n  - {title: t, on: dns, when: 'true'}\n", []string{"without an id"}},
		{"no title", "custom:\n  - {id: r1, on: dns, when: 'true'}\n", []string{"custom rule r1", "title"}},
		{"bad kind", "custom:\n  - {id: r1, title: t, on: smtp, when: 'true'}\n", []string{"custom rule r1", `"smtp"`, "flow, dns, http, tls or icmp"}},
		{"no when", "custom:\n  - {id: r1, title: t, on: dns}\n", []string{"custom rule r1", "when"}},
		{"bad severity", "custom:\n  - {id: r1, title: t, on: dns, when: 'true', severity: loud}\n", []string{`unknown severity "loud"`}},
		{"unknown key", "custom:\n  - {id: r1, title: t, on: dns, whenn: 'true'}\n", []string{"whenn"}},
		{"thresholds on a custom rule", "rules:\n  r1: {thresholds: {max_ms: 1}}\ncustom:\n  - {id: r1, title: t, on: dns, when: 'true'}\n",
			[]string{"rule r1 has no threshold"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeRules(t, c.yaml)
			_, err := LoadConfig(path)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range append(c.want, "rules file "+path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// An expression that fails on a record (an index past the end of a list)
// does not stop the run: the record does not match, the failures are
// counted, and the rule reports one warning.
func TestCustomRuleRuntimeErrorCounted(t *testing.T) {
	cfg := loadRules(t, `custom:
  - id: first-answer
    title: first answer is the sinkhole
    on: dns
    when: 'dns.answer_addrs[0] == "0.0.0.0"'
    message: '"sinkholed " + dns.answer_addrs[1]'
`)
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, addrs := range [][]string{nil, {"0.0.0.0"}, {}, {"203.0.113.1"}, nil} {
		e.Event(&Event{Kind: EventDNS, DNS: &flows.DNSRecord{QName: "x.example", RcodeName: "NOERROR", AnswerAddrs: addrs, ResponseNS: int64(i + 1)}})
	}
	fs := only(e.Finish(), "first-answer")
	if len(fs) != 1 || fs[0].Count != 1 || !strings.HasPrefix(fs[0].Message, "first answer is the sinkhole: 1 NOERROR") {
		t.Errorf("findings %+v", fs)
	}
	if len(e.Warnings) != 2 ||
		!strings.Contains(e.Warnings[0], "custom rule first-answer: when: 3 of 5 dns records could not be evaluated") ||
		!strings.Contains(e.Warnings[0], "index") ||
		!strings.Contains(e.Warnings[1], "custom rule first-answer: message: 1 evaluation(s) failed") {
		t.Errorf("warnings %q", e.Warnings)
	}
}

// Past maxGroups distinct causes, matches are counted in one overflow
// finding, not dropped.
func TestCustomRuleGroupOverflow(t *testing.T) {
	cfg := loadRules(t, "custom:\n  - {id: every-sni, title: t, on: tls, when: 'true'}\n")
	r := cfg.CustomRules()[0]
	c := r.New(Params{Severity: Warning})
	for i := 0; i < maxGroups+5; i++ {
		c.Event(&Event{Kind: EventTLS, TLS: &flows.TLSRecord{SNI: fmt.Sprintf("h%d.example", i)}}, nil)
	}
	var got []Finding
	c.Finish(func(f Finding) { got = append(got, f) })
	if len(got) != maxGroups+1 {
		t.Fatalf("%d findings, want %d groups and the overflow", len(got), maxGroups)
	}
	if o := got[maxGroups]; o.Rule != "every-sni" || o.Count != 5 || !strings.Contains(o.Message, "5 more matching tls records beyond the first 10000 groups") {
		t.Errorf("overflow finding %+v", o)
	}
}

// Engine.Warnings is bounded, and says how many it left out.
func TestEngineWarningsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("custom:\n")
	for i := 0; i < maxWarnings+3; i++ {
		fmt.Fprintf(&b, "  - {id: r%d, title: t, on: dns, when: 'dns.answer_addrs[0] == \"x\"'}\n", i)
	}
	e, err := NewEngine(loadRules(t, b.String()))
	if err != nil {
		t.Fatal(err)
	}
	e.Event(&Event{Kind: EventDNS, DNS: &flows.DNSRecord{}})
	e.Finish()
	if len(e.Warnings) != maxWarnings+1 || e.Warnings[maxWarnings] != "3 more rule warnings not shown" {
		t.Errorf("%d warnings, last %q", len(e.Warnings), e.Warnings[len(e.Warnings)-1])
	}
}

// Overrides under rules: apply to custom rules as to built-in ones.
func TestCustomRuleOverrides(t *testing.T) {
	const custom = "custom:\n  - {id: r429, title: t, on: http, when: 'http.status == 429'}\n"
	ev := &Event{Kind: EventHTTP, HTTP: httpRec("h", 429, 1, 2)}
	if got := rulesOf(run(t, loadRules(t, custom), ev)); got != "r429:warning" {
		t.Errorf("default: %q", got)
	}
	if got := rulesOf(run(t, loadRules(t, "rules:\n  r429: {severity: critical}\n"+custom), ev)); got != "r429:critical" {
		t.Errorf("severity override: %q", got)
	}
	if got := rulesOf(run(t, loadRules(t, "rules:\n  r429: {enabled: false}\n"+custom), ev)); got != "" {
		t.Errorf("disabled: %q", got)
	}
	if got := rulesOf(run(t, loadRules(t, strings.Replace(custom, "}", ", severity: info}", 1)), ev)); got != "r429:info" {
		t.Errorf("severity in the rule: %q", got)
	}
}

// A flow rule reports each flow; the engine's per-rule cap bounds them.
func TestCustomFlowRuleCapped(t *testing.T) {
	cfg := loadRules(t, "custom:\n  - {id: every-flow, title: t, on: flow, when: 'flow.proto == \"tcp\"'}\n")
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < MaxFindingsPerRule+7; i++ {
		e.Event(&Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.SrcPort = uint16(1000 + i) })})
	}
	if got := len(only(e.Finish(), "every-flow")); got != MaxFindingsPerRule || e.Suppressed["every-flow"] != 7 {
		t.Errorf("%d findings, %d suppressed", got, e.Suppressed["every-flow"])
	}
}

// Programs are compiled when the file is loaded, not again per engine.
func TestCustomRulesCompiledOnce(t *testing.T) {
	cfg := loadRules(t, "custom:\n  - {id: r1, title: t, on: dns, when: 'true'}\n")
	before := cfg.CustomRules()
	if len(before) != 1 || !before[0].IsCustom() || cfg.Lookup("r1") != before[0] || cfg.Lookup("dns-error") != DNSError {
		t.Fatalf("custom rules %v", before)
	}
	for i := 0; i < 2; i++ {
		if _, err := NewEngine(cfg); err != nil {
			t.Fatal(err)
		}
	}
	if after := cfg.CustomRules(); after[0] != before[0] {
		t.Error("NewEngine compiled the rules again")
	}
	cfg.Custom[0].When = "false"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, when, _ := cfg.CustomRules()[0].Expr(); when != "false" {
		t.Error("a changed rule was not compiled again")
	}
}

func TestCustomRuleExplain(t *testing.T) {
	cfg := loadRules(t, `custom:
  - id: api-rate-limited
    title: API answered 429
    severity: error
    on: http
    when: 'http.status == 429'
    message: '"429 from " + http.host'
    doc: 'The API rate-limits us. Next: check the request rate of the client.'
`)
	got := cfg.Lookup("api-rate-limited").Explain()
	for _, w := range []string{"api-rate-limited — API answered 429", "severity: error", "events: http", "custom rule", "when: http.status == 429", `message: "429 from " + http.host`, "Next: check the request rate"} {
		if !strings.Contains(got, w) {
			t.Errorf("Explain lacks %q:\n%s", w, got)
		}
	}
}

func BenchmarkCustomRuleHTTP(b *testing.B) {
	path := filepath.Join(b.TempDir(), "rules.yaml")
	os.WriteFile(path, []byte("custom:\n  - {id: r, title: t, on: http, when: 'http.status == 429 && http.host == \"api.internal\"'}\n"), 0o644)
	cfg, err := LoadConfig(path)
	if err != nil {
		b.Fatal(err)
	}
	c := cfg.CustomRules()[0].New(Params{Severity: Warning})
	ev := &Event{Kind: EventHTTP, HTTP: httpRec("api.example", 200, 1, 2)}
	b.ReportAllocs()
	for b.Loop() {
		c.Event(ev, nil)
	}
}

// TestLatePacketsOnlyForCustomRules: a flow record that only continues a
// closed connection reaches custom rules (which can tell it by continues)
// and no built-in rule.
func TestLatePacketsOnlyForCustomRules(t *testing.T) {
	cfg := loadRules(t, "custom:\n  - {id: late, title: t, on: flow, when: 'flow.continues'}\n")
	rec := &flows.Record{CommunityID: "1:c", Proto: "tcp", SrcAddr: "10.0.0.1", DstAddr: "10.0.0.2", DstPort: 443,
		State: "REJ", History: "Sr", Continues: true, FirstNS: 1, LastNS: 2}
	fs := run(t, cfg, &Event{Kind: EventFlow, Flow: rec})
	if len(fs) != 1 || fs[0].Rule != "late" {
		t.Errorf("findings %+v, want the custom rule's alone", fs)
	}
	rec.Continues = false // a refused attempt: tcp-connection-refused's
	if fs := run(t, cfg, &Event{Kind: EventFlow, Flow: rec}); len(only(fs, "tcp-connection-refused")) != 1 {
		t.Errorf("the same record as a connection: %+v", fs)
	}
}

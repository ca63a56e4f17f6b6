// Each rule's fixture test lives beside the rule, as go/analysis keeps an
// analyzer's analysistest beside it: rules/tcp_stall.go has
// rules/tcp_stall_fixture_test.go, which lists the capture fixtures that
// show the rule (or its look-alikes) with every finding the whole rule set
// must make of each, and runs them. The fixtures themselves stay where
// testdata/gen writes them, under testdata/captures.
//
// The tests are in the external package rules_test because a fixture is a
// capture: only analyze.Run turns one into findings, and analyze imports
// rules (docs/architecture.md lets an external test package import packages
// further along the chain). This file holds what they share: fixtureCase,
// fixtureCases (which gathers every file's cases for
// TestFixturesCoverEveryRule), runCases and the checks' helpers.
package rules_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

const captures = "../testdata/captures"

// fixtureCase is one fixture and every finding the rules must make of it,
// as "rule-id severity", one entry per finding (a rule that groups by cause
// reports one finding per cause). All the rules run on the fixture, so want
// lists the other rules' findings too: none may be missing, none extra.
// check, when set, looks closer at the run once the findings match.
type fixtureCase struct {
	file  string // under testdata/captures
	want  []string
	check func(t *testing.T, r *fixtureRun)
}

// allCases is every case of every _fixture_test.go, as fixtureCases
// registered them.
var allCases []fixtureCase

// fixtureCases registers one file's cases for TestFixturesCoverEveryRule
// and returns them, for the file's test to run with runCases.
func fixtureCases(cs []fixtureCase) []fixtureCase {
	allCases = append(allCases, cs...)
	return cs
}

// runCases runs each case, one subtest per fixture: it analyses the
// fixture, compares the findings with want, checks that every finding is
// of a known rule and has a message, a filter and a count, and then runs
// the case's check.
func runCases(t *testing.T, cases []fixtureCase) {
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r := runFixture(t, tc.file)
			var got []string
			for _, f := range r.res.Findings {
				got = append(got, f.Rule+" "+f.Severity.String())
			}
			want := slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n got  %q\n want %q", got, want)
				for _, f := range r.res.Findings {
					t.Logf("%s %s: %s (evidence %v, filter %s)", f.Rule, f.Severity, f.Message, evidenceFrames(f), f.Filter)
				}
			}
			for _, f := range r.res.Findings {
				if rules.Lookup(f.Rule) == nil {
					t.Errorf("finding of unknown rule %q", f.Rule)
				}
				if f.Message == "" || f.Filter == "" || f.Count < 1 {
					t.Errorf("%s: empty message or filter, or count %d", f.Rule, f.Count)
				}
			}
			if tc.check != nil && !t.Failed() {
				tc.check(t, r)
			}
		})
	}
}

// fixtureRun is what one fixture's analysis produced: the result, the
// application records the sink received, and what the test saw of each
// frame.
type fixtureRun struct {
	res   *run.Result
	flows []*flows.Record
	dns   []*flows.DNSRecord
	http  []*flows.HTTPRecord
	tls   []*flows.TLSRecord
	icmp  []*flows.ICMPRecord
	flags map[int64]flows.Analysis // pcapx's TCP analysis of each frame
	heads map[int64]string         // first line of each frame's payload, when it is text
}

func (r *fixtureRun) Flow(f *flows.Record) error     { r.flows = append(r.flows, f); return nil }
func (r *fixtureRun) DNS(d *flows.DNSRecord) error   { r.dns = append(r.dns, d); return nil }
func (r *fixtureRun) HTTP(h *flows.HTTPRecord) error { r.http = append(r.http, h); return nil }
func (r *fixtureRun) TLS(t *flows.TLSRecord) error   { r.tls = append(r.tls, t); return nil }
func (r *fixtureRun) ICMP(m *flows.ICMPRecord) error { r.icmp = append(r.icmp, m); return nil }

// find returns the findings of one rule.
func (r *fixtureRun) find(id string) []rules.Finding {
	var out []rules.Finding
	for _, f := range r.res.Findings {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

// runFixture analyses one fixture (a path under testdata/captures) with
// the default configuration.
func runFixture(t *testing.T, file string) *fixtureRun {
	t.Helper()
	r := &fixtureRun{flags: map[int64]flows.Analysis{}, heads: map[int64]string{}}
	cfg := analyze.Config{
		Inputs: []string{filepath.Join(captures, file)},
		OnPacket: func(p *flows.Packet, _ *flows.Flow, _ flows.Dir, a flows.Analysis) {
			r.flags[p.Frame] = a
			if line, _, _ := bytes.Cut(p.Payload, []byte("\r\n")); len(line) > 0 && isPrintable(line) {
				r.heads[p.Frame] = string(line)
			}
		},
	}
	res, err := analyze.Run(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	r.res = res
	return r
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func evidenceFrames(f rules.Finding) []int64 {
	var n []int64
	for _, e := range f.Evidence {
		n = append(n, e.Frame)
	}
	return n
}

// wiresharkFrames returns the frames of a fixture to which Wireshark 4.0
// gives the analysis flag (as recorded in expected-tcp-analysis.tsv, which
// testdata/gen checks against tshark).
func wiresharkFrames(t *testing.T, file, flag string) map[int64]bool {
	t.Helper()
	f, err := os.Open(filepath.Join(captures, "expected-tcp-analysis.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 3 || c[0] != file {
			continue
		}
		if slices.Contains(strings.Split(c[2], ","), flag) {
			n, err := strconv.ParseInt(c[1], 10, 64)
			if err != nil {
				t.Fatalf("expected-tcp-analysis.tsv: %q", sc.Text())
			}
			out[n] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// wantIn checks that a finding's message says each of want.
func wantIn(t *testing.T, f rules.Finding, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(f.Message, s) {
			t.Errorf("%s: message %q does not say %q", f.Rule, f.Message, s)
		}
	}
}

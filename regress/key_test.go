package regress_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/internal/regresscap"
	"github.com/pcapx/pcapx/regress"
	"github.com/pcapx/pcapx/rules"
)

// customRules is a rules file with a custom rule on every kind of record,
// so that the tests below cover the keys of custom rules too.
const customRules = `
custom:
  - id: any-flow
    title: any TCP flow
    on: flow
    when: 'flow.proto == "tcp"'
  - id: any-dns
    title: any DNS answer
    on: dns
    when: 'dns.qname != ""'
  - id: any-http
    title: any HTTP exchange
    on: http
    when: 'http.status > 0'
  - id: any-tls
    title: any TLS handshake
    on: tls
    when: 'tls.sni != ""'
  - id: any-icmp
    title: any ICMP error
    on: icmp
    when: 'icmp.kind != ""'
`

func loadCustom(t *testing.T) *rules.Config {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(p, []byte(customRules), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func findings(t *testing.T, cfg *rules.Config, path string) []rules.Finding {
	t.Helper()
	res, err := analyze.Run(analyze.Config{Inputs: []string{path}, Rules: cfg}, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res.Findings
}

// shared are the rules whose findings may share a key: those that report
// each flow on its own (the client's port, which tells the flows apart, is
// no identity) and those that tell HTTP statuses apart (a key has the
// status's class: a 502 that became a 503 is no new problem). A baseline
// accepts such findings together.
var shared = map[string]bool{"tcp-stall": true, "tcp-zero-window": true, "tcp-duplicate-ack-storm": true, "any-flow": true,
	"http-server-error": true, "any-http": true}

// checkKeys checks the findings of one capture: a finding about the whole
// capture (capture-*) has no key, every other one has, and no two findings
// of another rule share a fingerprint (each group is one cause, which a
// baseline must tell from the others).
func checkKeys(t *testing.T, name string, fs []rules.Finding) {
	t.Helper()
	seen := map[string]bool{}
	for _, f := range fs {
		whole := strings.HasPrefix(f.Rule, "capture-")
		if whole != (len(f.Key) == 0) {
			t.Errorf("%s: %s finding has key %v (capture-wide: %v): %s", name, f.Rule, f.Key, whole, f.Message)
		}
		fp := regress.Of(name, &f).String()
		if seen[fp] && !shared[f.Rule] {
			t.Errorf("%s: two findings with fingerprint %s", name, fp)
		}
		seen[fp] = true
	}
}

// TestKeysOnFixtures runs every fixture capture, with the built-in rules
// and a custom rule on each kind of record, and checks the keys; and that
// the fixtures make every rule fire, so that no rule's key goes untested.
func TestKeysOnFixtures(t *testing.T) {
	cfg := loadCustom(t)
	fired := map[string]bool{}
	root := filepath.Join("..", "testdata", "captures")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".tsv") {
			return err
		}
		res, err := analyze.Run(analyze.Config{Inputs: []string{p}, Rules: cfg}, nil)
		if err != nil {
			return nil // testdata/captures/bad holds files that are no captures on purpose
		}
		checkKeys(t, p, res.Findings)
		for _, f := range res.Findings {
			fired[f.Rule] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(rules.All(), cfg.CustomRules()...) {
		if !fired[r.ID] {
			t.Errorf("rule %s fired on no fixture: its key is untested", r.ID)
		}
	}
}

// TestKeysOnRealCaptures checks the keys on the real captures in
// ../shared/pcaps (skipped when absent).
func TestKeysOnRealCaptures(t *testing.T) {
	root := filepath.Join("..", "..", "shared", "pcaps")
	if _, err := os.Stat(root); err != nil {
		t.Skipf("no real captures (%v): ../shared sits beside the repository in CI", err)
	}
	if testing.Short() {
		t.Skip("-short")
	}
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		res, err := analyze.Run(analyze.Config{Inputs: []string{p}}, nil)
		if err != nil {
			return nil // not a capture (README, the oracle's TSV)
		}
		n++
		checkKeys(t, p, res.Findings)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no capture read")
	}
}

// fingerprints are the fingerprints of a capture's findings, named name.
func fingerprints(t *testing.T, cfg *rules.Config, path, name string) []string {
	t.Helper()
	var out []string
	for _, f := range findings(t, cfg, path) {
		out = append(out, regress.Of(name, &f).String())
	}
	slices.Sort(out)
	return out
}

// TestSameTrafficOtherPorts: the same traffic captured again, with other
// client ports and another start time, has the same fingerprints; the
// traffic after a change has one resolved and one new.
func TestSameTrafficOtherPorts(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap"), filepath.Join(dir, "c.pcap")
	if err := regresscap.Write(a, regresscap.Options{ClientPort: 40000}); err != nil {
		t.Fatal(err)
	}
	if err := regresscap.Write(b, regresscap.Options{ClientPort: 51234, Start: capgen.Epoch.Add(73*time.Hour + 17*time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if err := regresscap.Write(c, regresscap.Options{ClientPort: 40000, Changed: true}); err != nil {
		t.Fatal(err)
	}
	cfg := loadCustom(t)
	// The captures must differ where the fingerprint must not look.
	fa, fb := findings(t, cfg, a), findings(t, cfg, b)
	if len(fa) == 0 || len(fa) != len(fb) {
		t.Fatalf("%d and %d findings", len(fa), len(fb))
	}
	for i := range fa {
		if fa[i].FirstNS == fb[i].FirstNS || fa[i].Flow != nil && fb[i].Flow != nil && fa[i].Flow.SrcPort == fb[i].Flow.SrcPort {
			t.Fatalf("finding %d (%s) has the same time or client port in both captures: the test shows nothing", i, fa[i].Rule)
		}
	}
	for _, c := range []*rules.Config{nil, cfg} {
		pa, pb := fingerprints(t, c, a, "x.pcap"), fingerprints(t, c, b, "x.pcap")
		if !slices.Equal(pa, pb) {
			t.Errorf("fingerprints differ:\n%s\n%s", strings.Join(pa, "\n"), strings.Join(pb, "\n"))
		}
	}
	pa, pc := fingerprints(t, nil, a, "x.pcap"), fingerprints(t, nil, c, "x.pcap")
	var gone, added []string
	for _, p := range pa {
		if !slices.Contains(pc, p) {
			gone = append(gone, p)
		}
	}
	for _, p := range pc {
		if !slices.Contains(pa, p) {
			added = append(added, p)
		}
	}
	if len(gone) != 1 || !strings.Contains(gone[0], `"dns-error"`) || !strings.Contains(gone[0], `"NXDOMAIN"`) {
		t.Errorf("resolved by the change: %q, want the NXDOMAIN dns-error", gone)
	}
	if len(added) != 1 || !strings.Contains(added[0], `"http-server-error"`) || !strings.Contains(added[0], `"shop.example.com"`) {
		t.Errorf("new after the change: %q, want shop.example.com's http-server-error", added)
	}
}

// TestKeysDocumented: docs/check.md's table of keys names every rule.
func TestKeysDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "check.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(doc), "| rule | key |")
	table, _, _ = strings.Cut(table, "\n\n")
	for _, r := range rules.All() {
		if !strings.Contains(table, "`"+r.ID+"`") {
			t.Errorf("docs/check.md: the table of keys does not name %s", r.ID)
		}
	}
}

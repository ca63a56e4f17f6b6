package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/rules"
)

// TestFixturesCoverEveryRule fails when a rule of the registry is not shown
// firing by any fixture case of the _fixture_test.go files, when a fixture
// made for the rules (testdata/captures/rules) is in no case, or when a
// fixture is in two cases (each has one home, beside the rule it shows).
func TestFixturesCoverEveryRule(t *testing.T) {
	if len(allCases) == 0 {
		t.Fatal("no fixture cases registered")
	}
	covered := map[string]bool{}
	for _, tc := range allCases {
		for _, w := range tc.want {
			id, sev, ok := strings.Cut(w, " ")
			if !ok || rules.Lookup(id) == nil {
				t.Errorf("%s: %q is not \"rule-id severity\" with a known rule", tc.file, w)
				continue
			}
			if _, err := rules.ParseSeverity(sev); err != nil {
				t.Errorf("%s: %q: %v", tc.file, w, err)
			}
			covered[id] = true
		}
	}
	for _, r := range rules.All() {
		if !covered[r.ID] {
			t.Errorf("rule %s fires in no fixture case: add a fixture (testdata/gen) and a case to the _fixture_test.go beside the rule", r.ID)
		}
	}

	inCases := map[string]bool{}
	for _, tc := range allCases {
		if inCases[tc.file] {
			t.Errorf("%s is in two fixture cases: keep one, beside the rule it shows", tc.file)
		}
		inCases[tc.file] = true
	}
	ents, err := os.ReadDir(filepath.Join(captures, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) == 0 {
		t.Fatalf("no fixtures in %s", filepath.Join(captures, "rules"))
	}
	for _, e := range ents {
		if p := "rules/" + e.Name(); !inCases[p] {
			t.Errorf("%s is in no fixture case: add one to the _fixture_test.go of the rule it shows", p)
		}
	}
}

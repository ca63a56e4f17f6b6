package archtest

import (
	"bufio"
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	module  = "github.com/pcapx/pcapx"
	docPath = "docs/architecture.md"
	section = "## Packages and imports"
)

// root is the module root, two levels up from this package.
var root = filepath.Join("..", "..")

var backticked = regexp.MustCompile("`([^`]+)`")

// rule is one row of the doc's table: the package (a trailing "/*" covers
// every package under it) and the pcapx packages it may import.
type rule struct {
	pkg     string
	allowed map[string]bool
	line    int
}

// docRules reads the table under "## Packages and imports".
func docRules(t *testing.T) []rule {
	f, err := os.Open(filepath.Join(root, docPath))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []rule
	in, sawHeader := false, false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == section:
			in = true
			continue
		case in && strings.HasPrefix(line, "## "):
			in = false
		}
		if !in || !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			t.Fatalf("%s:%d: a row of the packages table has 3 cells: %q", docPath, n, line)
		}
		if !sawHeader || strings.HasPrefix(strings.TrimSpace(cells[0]), "---") {
			sawHeader = true
			continue
		}
		pkgs := backticked.FindAllStringSubmatch(cells[0], -1)
		if len(pkgs) == 0 {
			t.Fatalf("%s:%d: no package in %q", docPath, n, cells[0])
		}
		allowed := map[string]bool{}
		for _, m := range backticked.FindAllStringSubmatch(cells[2], -1) {
			allowed[m[1]] = true
		}
		if len(allowed) == 0 && strings.TrimSpace(cells[2]) != "—" {
			t.Fatalf("%s:%d: the last cell lists packages in backquotes, or is —: %q", docPath, n, cells[2])
		}
		for _, p := range pkgs {
			rules = append(rules, rule{pkg: p[1], allowed: allowed, line: n})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no table under %q", docPath, section)
	}
	return rules
}

func (r rule) covers(pkg string) bool {
	if base, ok := strings.CutSuffix(r.pkg, "/*"); ok {
		return strings.HasPrefix(pkg, base+"/")
	}
	return pkg == r.pkg
}

// packages lists the module's packages (paths relative to the module) with
// their non-test imports of other module packages. Like the go command, it
// skips testdata directories, but for the fixture generator in the root's.
func packages(t *testing.T) map[string][]string {
	pkgs := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "node_modules" ||
			(name == "testdata" && rel != "testdata") || (strings.HasPrefix(rel, "testdata/") && rel != "testdata/gen")) {
			return filepath.SkipDir
		}
		bp, err := build.ImportDir(path, 0)
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil
		}
		if err != nil {
			return err
		}
		var own []string
		for _, imp := range bp.Imports {
			if p, ok := strings.CutPrefix(imp, module+"/"); ok {
				own = append(own, p)
			}
		}
		pkgs[rel] = own
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}

// TestImportsFollowTheDoc checks every package's imports against the table
// in docs/architecture.md, and the table against the packages.
func TestImportsFollowTheDoc(t *testing.T) {
	rules := docRules(t)
	pkgs := packages(t)
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages under %s: is the walk broken?", len(pkgs), root)
	}
	names := make([]string, 0, len(pkgs))
	for p := range pkgs {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		i := slices.IndexFunc(rules, func(r rule) bool { return r.covers(p) })
		if i < 0 {
			t.Errorf("package %s is not in the table of %s (%q): add a row saying what it is and what it may import", p, docPath, section)
			continue
		}
		for _, imp := range pkgs[p] {
			if !rules[i].allowed[imp] {
				t.Errorf("%s imports %s, which %s:%d does not allow: change the import or, if the design changed, the doc", p, imp, docPath, rules[i].line)
			}
		}
	}
	for _, r := range rules {
		if !slices.ContainsFunc(names, r.covers) {
			t.Errorf("%s:%d names package %s, which does not exist", docPath, r.line, r.pkg)
		}
		for a := range r.allowed {
			if _, ok := pkgs[a]; !ok {
				t.Errorf("%s:%d lets %s import %s, which does not exist", docPath, r.line, r.pkg, a)
			}
		}
	}
}

// TestDirection checks that the table itself keeps the one-way order
// flows ← rules ← run ← analyze ← report ← cmd/pcapx: no package of a
// layer may import one of a later layer.
func TestDirection(t *testing.T) {
	layers := []string{"flows", "rules", "run", "analyze", "report", "cmd/pcapx"}
	layer := func(p string) int {
		for i := len(layers) - 1; i >= 0; i-- {
			if p == layers[i] || strings.HasPrefix(p, layers[i]+"/") {
				return i
			}
		}
		return -1
	}
	for _, r := range docRules(t) {
		lr := layer(r.pkg)
		if lr < 0 {
			continue
		}
		for a := range r.allowed {
			if la := layer(a); la > lr {
				t.Errorf("%s:%d lets %s import %s, against the direction %s", docPath, r.line, r.pkg, a, strings.Join(layers, " ← "))
			}
		}
	}
}

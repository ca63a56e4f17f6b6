package html

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pcapx/pcapx/analyze"
)

// repoRoot is the module root, from this file's place in it.
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// analyseFile runs a full analysis with a Collector, as pcapx analyze does.
func analyseFile(t testing.TB, path string, o Options) *Data {
	t.Helper()
	c := NewCollector(o)
	res, err := analyze.Run(analyze.Config{Inputs: []string{path}}, c)
	if err != nil {
		t.Fatalf("analyze %s: %v", path, err)
	}
	return c.Data(res)
}

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

// analyseFile runs a full analysis and makes the page's data, as pcapx
// analyze does.
func analyseFile(t testing.TB, path string, o Options) *Data {
	t.Helper()
	res, err := analyze.Run(analyze.Config{Inputs: []string{path}}, nil)
	if err != nil {
		t.Fatalf("analyze %s: %v", path, err)
	}
	return FromResult(res, o)
}

// Package golden keeps test output under review in files of the
// repository: a test compares what it made with its golden file, and with
// -update (go test ./PKG -update) writes the file instead, so that a
// deliberate change shows in review as a diff. It is for tests only; the
// -update flag is registered in every test binary that imports it.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files (and generated docs) instead of comparing with them")

// Equal compares got with the file at path. With -update it writes got
// there (creating the directory) and reports true. A missing file fails
// the test, saying how to create it; a difference is for the caller to
// report, with what a reader needs to judge it.
func Equal(t testing.TB, path string, got []byte) bool {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return true
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun the test with -update to write it)", err)
	}
	return bytes.Equal(got, want)
}

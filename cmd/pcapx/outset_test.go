package main

import (
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFailedRunKeepsPreviousSet: -o replaces the tables and report.html
// of the previous run together or not at all. A run whose page cannot be
// written (the disk fills up while it is written) leaves the previous
// run's tables and page exactly as they were, with no temporary file
// beside them, and exits 1 naming the page.
func TestFailedRunKeepsPreviousSet(t *testing.T) {
	caps := filepath.Join("..", "..", "testdata", "captures")
	out := filepath.Join(t.TempDir(), "out")
	var stderr strings.Builder
	if code := run([]string{"analyze", "-o", out, filepath.Join(caps, "app", "http-5xx.pcap")}, strings.NewReader(""), io.Discard, &stderr); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr.String())
	}
	before := snapshot(t, out)
	if len(before) != 9 {
		t.Fatalf("first run wrote %d files, want eight tables and report.html", len(before))
	}

	orig := writePageTo
	t.Cleanup(func() { writePageTo = orig })
	var wrote bool
	writePageTo = func(w io.Writer, page []byte) error {
		wrote = true
		w.Write(page[:len(page)/2])
		return syscall.ENOSPC
	}
	stderr.Reset()
	code := run([]string{"analyze", "-o", out, filepath.Join(caps, "demo.pcapng")}, strings.NewReader(""), io.Discard, &stderr)
	if !wrote {
		t.Fatal("the page was never written")
	}
	if code != exitError || !strings.Contains(stderr.String(), "report.html") || !strings.Contains(stderr.String(), syscall.ENOSPC.Error()) {
		t.Errorf("exit %d, stderr %q; want %d and the page's error", code, stderr.String(), exitError)
	}
	after := snapshot(t, out)
	if !maps.EqualFunc(before, after, func(a, b string) bool { return a == b }) {
		var names []string
		for n := range after {
			names = append(names, n)
		}
		t.Errorf("the failed run changed the output directory: now %v", names)
	}

	// The same run with a page that can be written replaces the set.
	writePageTo = orig
	if code := run([]string{"analyze", "-o", out, filepath.Join(caps, "demo.pcapng")}, strings.NewReader(""), io.Discard, &stderr); code != 0 {
		t.Fatalf("third run: exit %d: %s", code, stderr.String())
	}
	now := snapshot(t, out)
	for _, name := range []string{"report.html", "flows.parquet", "capture.parquet"} {
		if now[name] == before[name] {
			t.Errorf("%s was not replaced", name)
		}
	}
	if !strings.Contains(now["report.html"], "demo.pcapng") {
		t.Error("report.html is not the demo capture's")
	}
}

// snapshot reads every file in dir (not below it), by name.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/report/parquet"
)

// TestMemPolicy: pcapx analyze runs under the collector policy with the
// Parquet writer's reserve when it writes tables (and none when not), and
// the policy holds until the tables and the page are complete: stopping it
// after the analysis made the runtime collect in the middle of Finish.
func TestMemPolicy(t *testing.T) {
	demo := filepath.Join("..", "..", "testdata", "captures", "demo.pcapng")
	for _, c := range []struct {
		name    string
		out     bool
		reserve int64
	}{
		{"analysis alone", false, 0},
		{"with -o", true, parquet.MemoryReserve},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			var (
				calls    int
				reserve  int64
				stopped  bool
				complete bool // report.html and flows.parquet existed when the policy stopped
			)
			orig := startMemPolicy
			t.Cleanup(func() { startMemPolicy = orig })
			startMemPolicy = func(r int64) func() {
				calls++
				reserve = r
				return func() {
					stopped = true
					_, e1 := os.Stat(filepath.Join(dir, "report.html"))
					_, e2 := os.Stat(filepath.Join(dir, "flows.parquet"))
					complete = e1 == nil && e2 == nil
				}
			}
			args := []string{"analyze", demo}
			if c.out {
				args = []string{"analyze", "-o", dir, demo}
			}
			var stderr strings.Builder
			if code := run(args, strings.NewReader(""), io.Discard, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if calls != 1 || reserve != c.reserve {
				t.Errorf("policy started %d times with reserve %d, want once with %d", calls, reserve, c.reserve)
			}
			if !stopped {
				t.Error("policy never stopped")
			}
			if c.out && !complete {
				t.Error("policy stopped before the tables and report.html were complete")
			}
		})
	}
}

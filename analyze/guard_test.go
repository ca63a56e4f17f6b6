package analyze

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

// TestWorkerPanicIsAnError: a bug that panics in a worker (a parser, the
// flow table) ends the run with an error naming it, on one worker and on
// several, without a crash and without hanging the reader or the merger.
func TestWorkerPanicIsAnError(t *testing.T) {
	path := filepath.Join("..", "testdata", "captures", "demo.pcapng")
	testWorkerHook = func(p *flows.Packet) {
		if p.Index == 30 {
			panic("boom at 30")
		}
	}
	defer func() { testWorkerHook = nil }()
	for _, n := range []int{1, 2, 3} {
		_, err := Run(Config{Inputs: []string{path}, Workers: n}, nil)
		if err == nil || !strings.Contains(err.Error(), "internal error") || !strings.Contains(err.Error(), "boom at 30") {
			t.Errorf("%d workers: Run = %v, want the internal error", n, err)
		}
	}
}

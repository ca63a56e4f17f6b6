package analyze_test

import (
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/internal/capgen"
)

// A fragment flood (testdata/gen -hostile fragment-flood) reaches the
// capture summary: every fragment is counted as not reassembled, by
// reason, and none of it is capture damage.
func TestFragmentFloodCounted(t *testing.T) {
	for _, c := range []struct {
		name               string
		flood              capgen.FragFlood
		overlap, overLimit int64
	}{
		{"overlapping", capgen.FragFlood{Fragments: 5000, PerDatagram: 1000, Overlap: true}, 5000, 0},
		// Of each 1000 fragments of one IP ID, the 129th finds 128
		// pieces held and gives up all of them; a new datagram starts
		// with the next: 7 × 129 over the limit, 97 unfinished.
		{"too many pieces", capgen.FragFlood{Fragments: 5000, PerDatagram: 1000}, 0, 5 * 7 * 129},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeCapture(t, func(w capgen.FrameWriter) {
				if err := capgen.WriteFragFlood(w, c.flood); err != nil {
					t.Fatal(err)
				}
			})
			res, err := analyze.Run(analyze.Config{Inputs: []string{path}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			cp := res.Capture
			if cp.Fragments != 5000 || cp.FragmentsDropped != 5000 || cp.FragmentsOverlapping != c.overlap || cp.FragmentsOverLimit != c.overLimit || len(cp.Warnings) != 0 {
				t.Errorf("fragments %d, dropped %d, overlapping %d, over limit %d, warnings %q; want 5000, 5000, %d, %d",
					cp.Fragments, cp.FragmentsDropped, cp.FragmentsOverlapping, cp.FragmentsOverLimit, cp.Warnings, c.overlap, c.overLimit)
			}
		})
	}
}

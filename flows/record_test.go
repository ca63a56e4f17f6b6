package flows

import (
	"math/rand"
	"testing"
	"time"
)

// FormatTime must write exactly what time.Format(RFC3339Nano) writes.
func TestFormatTimeMatchesStdlib(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := []int64{0, 1, 999_999_999, 1e9, 1_767_323_045_000_000_000, 1_767_323_045_123_456_789, 951_782_400e9 /* 2000-02-29 */, 4_107_542_399e9, 9_223_372_036_854_775_807, -1, -1_000_000_001}
	for i := 0; i < 100000; i++ {
		ns := r.Int63()
		switch i % 3 {
		case 0:
			ns -= ns % 1e9 // whole seconds
		case 1:
			ns -= ns % 1e6 // milliseconds
		}
		cases = append(cases, ns)
	}
	for _, ns := range cases {
		want := time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
		if got := FormatTime(ns); got != want {
			t.Fatalf("FormatTime(%d) = %s, want %s", ns, got, want)
		}
	}
}

func BenchmarkFormatTime(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		FormatTime(1_767_323_045_123_456_789 + int64(i))
	}
}

package parquet

import (
	"path/filepath"
	"testing"

	"github.com/pcapx/pcapx/analyze"
)

func TestFieldOffset(t *testing.T) {
	type inner struct{ A, B int64 }
	type rec struct {
		X     string
		In    inner
		Ptr   *inner
		Slice []int64
	}
	var global int64
	for _, c := range []struct {
		name string
		p    func(*rec) *int64
		ok   bool
	}{
		{"field of an embedded value", func(r *rec) *int64 { return &r.In.B }, true},
		{"through a pointer", func(r *rec) *int64 { return &r.Ptr.A }, false},
		{"outside the record", func(r *rec) *int64 { return &global }, false},
		{"nil", func(r *rec) *int64 { return nil }, false},
	} {
		off, ok := fieldOffset(c.p)
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v", c.name, ok, c.ok)
			continue
		}
		if ok {
			r := &rec{In: inner{B: 42}}
			if got := *fieldAt[rec, int64](r, off); got != 42 {
				t.Errorf("%s: read %d at offset %d, want 42", c.name, got, off)
			}
		}
	}
	if off, ok := fieldOffset(func(r *rec) *string { return &r.X }); !ok || off != 0 {
		t.Errorf("first field: offset %d, %v", off, ok)
	}
}

// TestFieldOffsets checks, for every column read at an offset, that its
// accessor finds each fixture record's field there (and a text column's
// batch of values is its per-row values), and that most of the
// flows table's columns are (its encoding after the last packet is what
// the batch appenders are for). TestTableMatchesFileWriter compares the
// values so written with the per-row path's.
func TestFieldOffsets(t *testing.T) {
	caps := capturesDir(t)
	c := &collectSink{}
	var res *analyze.Result
	for _, fx := range roundTripFixtures(t) {
		if r, err := analyze.Run(analyze.Config{Inputs: []string{filepath.Join(caps, fx)}}, c); err == nil {
			res = r
		}
	}
	if len(c.flows) == 0 || len(c.dns) == 0 || len(c.http) == 0 || len(c.tls) == 0 {
		t.Fatal("the fixtures gave no records of some kind")
	}
	findings := make([]*findingRec, len(res.Findings))
	for i := range findings {
		findings[i] = &res.Findings[i]
	}
	n := checkOffsets(t, flowsSpec, c.flows)
	if n < 40 {
		t.Errorf("%d of flows' %d columns are read at an offset, want at least 40", n, len(flowsSpec.cols))
	}
	checkOffsets(t, dnsSpec, c.dns)
	checkOffsets(t, httpSpec, c.http)
	checkOffsets(t, tlsSpec, c.tls)
	checkOffsets(t, findingsSpec, findings)
	checkOffsets(t, captureSpec, captureRows(res, "test"))
	checkOffsets(t, timelineSpec, timelineRows(res))
}

func checkOffsets[R any](t *testing.T, s *spec[R], recs []*R) (n int) {
	t.Helper()
	for _, c := range s.cols {
		if (c.fill == nil) != (c.offset == nil) {
			t.Errorf("%s.%s: a batch appender without its offset, or the reverse", s.name, c.name)
			continue
		}
		if c.fill == nil {
			continue
		}
		n++
		for i, r := range recs {
			if got, want := c.offset(r); got != want {
				t.Errorf("%s.%s: record %d's field is at %d, the batch appender reads %d", s.name, c.name, i, got, want)
				break
			}
		}
		if c.kind != kString {
			continue
		}
		if c.texts == nil {
			t.Errorf("%s.%s: a text column read at an offset without its batch of values", s.name, c.name)
			continue
		}
		texts := c.texts(recs, nil)
		for i, r := range recs {
			if want, _ := c.text(r); texts[i] != want {
				t.Errorf("%s.%s: record %d: batch value %q, per-row value %q", s.name, c.name, i, texts[i], want)
				break
			}
		}
	}
	return n
}

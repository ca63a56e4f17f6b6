package parquet

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

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
	for _, c := range []struct {
		at, size uintptr
		want     bool
	}{
		{100, 8, true}, {192, 8, true}, {96, 8, false}, {196, 8, false}, {200, 8, false},
	} {
		// a field of c.size bytes at c.at, in a record of 100 bytes at 100
		if got := within(c.at, c.size, 100, 100); got != c.want {
			t.Errorf("within(%d, %d, 100, 100) = %v, want %v", c.at, c.size, got, c.want)
		}
	}
}

// TestFieldOffsets checks every column read at an offset (fill.go) on
// the fixtures' records, and on copies of them whose every string ends in
// a byte that is not UTF-8: its accessor finds each record's field at the
// offset the batch appender reads, the batch appender appends what the
// per-row path appends (validUTF8 applied to capture text, not to
// pcapx's own names), and a text column's batch of values is its per-row
// values. Most of the flows table's columns must be read at an offset
// (its encoding after the last packet is what the batch appenders are
// for).
func TestFieldOffsets(t *testing.T) {
	caps := capturesDir(t)
	c := &collectSink{}
	var res *analyze.Result
	for _, fx := range roundTripFixtures(t) {
		if r, err := analyze.Run(analyze.Config{Inputs: []string{filepath.Join(caps, fx)}}, c); err == nil {
			res = r
		}
	}
	if len(c.flows) == 0 || len(c.dns) == 0 || len(c.http) == 0 || len(c.tls) == 0 || len(c.icmp) == 0 {
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
	checkOffsets(t, icmpSpec, c.icmp)
	checkOffsets(t, findingsSpec, findings)
	checkOffsets(t, captureSpec, captureRows(res, "test"))
	checkOffsets(t, timelineSpec, timelineRows(res))
}

func checkOffsets[R any](t *testing.T, s *spec[R], recs []*R) (n int) {
	t.Helper()
	mangled := make([]*R, len(recs))
	for i, r := range recs {
		m := *r
		notUTF8(reflect.ValueOf(&m).Elem())
		mangled[i] = &m
	}
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
		for _, rs := range [][]*R{recs, mangled} {
			if diff := sameAppends(c, rs); diff != "" {
				t.Errorf("%s.%s: %s", s.name, c.name, diff)
			}
			if c.kind != kString {
				continue
			}
			if c.texts == nil {
				t.Errorf("%s.%s: a text column read at an offset without its batch of values", s.name, c.name)
				break
			}
			texts := c.texts(rs, nil)
			for i, r := range rs {
				if want, _ := c.text(r); texts[i] != want {
					t.Errorf("%s.%s: record %d: batch value %q, per-row value %q", s.name, c.name, i, texts[i], want)
					break
				}
			}
		}
	}
	return n
}

// sameAppends appends recs to two builders of column c, one by the batch
// appender and one a row at a time, and tells how the arrays differ ("":
// they do not).
func sameAppends[R any](c col[R], recs []*R) string {
	batch := array.NewBuilder(memory.DefaultAllocator, c.field().Type)
	defer batch.Release()
	rows := array.NewBuilder(memory.DefaultAllocator, c.field().Type)
	defer rows.Release()
	c.fill(batch)(recs)
	app := c.bind(rows)
	for _, r := range recs {
		app(r)
	}
	a, b := batch.NewArray(), rows.NewArray()
	defer a.Release()
	defer b.Release()
	if !array.Equal(a, b) {
		return fmt.Sprintf("the batch appender appended %v, the per-row path %v", a, b)
	}
	return ""
}

// notUTF8 appends a byte that is not UTF-8 to every string in v (fields
// of structs, recursively; not behind pointers or in slices).
func notUTF8(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(v.String() + "\xff")
		}
	case reflect.Struct:
		for i := range v.NumField() {
			notUTF8(v.Field(i))
		}
	}
}

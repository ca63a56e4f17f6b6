package parquet

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A column's values are appended to its builder a batch at a time. The
// general way is a function per row (col.bind), which for a plain field
// is four calls through function values per value (the row's, get, the
// field's pointer, the conversion), none of them inlinable: on the
// benchmark capture that was 29 ms of the writer's ~130 ms of CPU per
// run, most of it for the flows table, which is all encoded after the
// last packet. A column whose value is a field of the record at a fixed
// place (most are) is read at that offset instead, in a loop compiled for
// its types: a load, a conversion and an append per value (for numbers
// and booleans an unchecked one, after one Reserve for the batch).
//
// The offset is found once per column (fieldOffset) by calling the
// column's field accessor on a zero record: a pointer back into that
// record means the accessor takes the address of a field, at the same
// offset in every record. An accessor that goes through a pointer
// (panics on the zero record) or returns memory outside it is not
// offset-addressable and keeps the per-row path. TestFieldOffsets checks,
// on the fixtures' records, that every such column's accessor finds the
// field at that offset and that its batch appender appends what the
// per-row path does.

// fieldOffset is where p's field lies in an R, if p takes the address of
// a field of the record itself (see above).
func fieldOffset[R, T any](p func(*R) *T) (off uintptr, ok bool) {
	r := new(R)
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	f := p(r)
	if f == nil {
		return 0, false
	}
	base, at := uintptr(unsafe.Pointer(r)), uintptr(unsafe.Pointer(f))
	if !within(at, unsafe.Sizeof(*f), base, unsafe.Sizeof(*r)) {
		return 0, false
	}
	return at - base, true
}

// within tells whether the size bytes at at lie inside the n bytes at
// base.
func within(at, size, base, n uintptr) bool {
	return at >= base && at+size <= base+n
}

// batchAppender is how a batch of c's values is appended to b: its batch
// appender if it has one, else its per-row appender in a loop.
func batchAppender[R any](c *col[R], b array.Builder) func([]*R) {
	if c.fill != nil {
		return c.fill(b)
	}
	app := c.bind(b)
	return func(recs []*R) {
		for _, r := range recs {
			app(r)
		}
	}
}

// fieldAt is the field of type T at off in r (an offset from fieldOffset).
func fieldAt[R, T any](r *R, off uintptr) *T {
	return (*T)(unsafe.Add(unsafe.Pointer(r), off))
}

// fillFunc binds a column's batch appender to its builder.
type fillFunc[R any] func(b array.Builder) func(recs []*R)

// withFill gives c the batch appender f if p's field has an offset
// (made by mk from it), and records the offset for TestFieldOffsets.
func withFill[R, T any](c col[R], p func(*R) *T, mk func(off uintptr) fillFunc[R]) col[R] {
	if off, ok := fieldOffset(p); ok {
		c.fill = mk(off)
		c.offset = func(r *R) (uintptr, uintptr) {
			return uintptr(unsafe.Pointer(p(r))) - uintptr(unsafe.Pointer(r)), off
		}
	}
	return c
}

func fillInt64[R any, T integer](off uintptr) fillFunc[R] {
	return func(b array.Builder) func([]*R) {
		bb := b.(*array.Int64Builder)
		return func(recs []*R) {
			bb.Reserve(len(recs))
			for _, r := range recs {
				bb.UnsafeAppend(int64(*fieldAt[R, T](r, off)))
			}
		}
	}
}

func fillInt32[R any, T integer](off uintptr) fillFunc[R] {
	return func(b array.Builder) func([]*R) {
		bb := b.(*array.Int32Builder)
		return func(recs []*R) {
			bb.Reserve(len(recs))
			for _, r := range recs {
				bb.UnsafeAppend(int32(*fieldAt[R, T](r, off)))
			}
		}
	}
}

func fillFloat64[R any](off uintptr) fillFunc[R] {
	return func(b array.Builder) func([]*R) {
		bb := b.(*array.Float64Builder)
		return func(recs []*R) {
			bb.Reserve(len(recs))
			for _, r := range recs {
				bb.UnsafeAppend(*fieldAt[R, float64](r, off))
			}
		}
	}
}

func fillTimestamp[R any](off uintptr) fillFunc[R] {
	return func(b array.Builder) func([]*R) {
		bb := b.(*array.TimestampBuilder)
		return func(recs []*R) {
			bb.Reserve(len(recs))
			for _, r := range recs {
				bb.UnsafeAppend(arrow.Timestamp(*fieldAt[R, int64](r, off)))
			}
		}
	}
}

func fillBool[R any](off uintptr) fillFunc[R] {
	return func(b array.Builder) func([]*R) {
		bb := b.(*array.BooleanBuilder)
		return func(recs []*R) {
			bb.Reserve(len(recs))
			for _, r := range recs {
				bb.UnsafeAppend(*fieldAt[R, bool](r, off))
			}
		}
	}
}

// withTexts gives a text column read at an offset its batch appender
// and its batch of values for a dictionary; capture text (check) is made
// valid UTF-8 first, as str's get does.
func withTexts[R any](c col[R], p func(*R) *string, check bool) col[R] {
	var texts func(recs []*R, dst []string) []string
	c = withFill(c, p, func(off uintptr) fillFunc[R] {
		texts = func(recs []*R, dst []string) []string {
			for _, r := range recs {
				dst = append(dst, textAt(r, off, check))
			}
			return dst
		}
		return func(b array.Builder) func([]*R) {
			bb := b.(*array.StringBuilder)
			return func(recs []*R) {
				bb.Reserve(len(recs))
				for _, r := range recs {
					bb.Append(textAt(r, off, check))
				}
			}
		}
	})
	c.texts = texts // set when fill is: both read at the offset
	return c
}

func textAt[R any](r *R, off uintptr, check bool) string {
	s := *fieldAt[R, string](r, off)
	if check {
		s = validUTF8(s)
	}
	return s
}

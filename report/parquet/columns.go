package parquet

import (
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// kind is a column's type. Each kind has one Arrow type (which fixes the
// Parquet type pqarrow writes) and the SQL type DuckDB reads it back as;
// docs/schema.md shows both, and the DuckDB conformance test checks the
// latter against what DuckDB reports.
type kind int

const (
	kString     kind = iota // UTF-8 text, dictionary-encoded
	kInt32                  // small integers: ports, ids, codes
	kInt64                  // counts, bytes, frame numbers
	kFloat64                // durations in the unit the name says
	kBool                   //
	kTimestamp              // capture time, ns since the Unix epoch, UTC
	kStringList             // a list of strings
	kEvidence               // a list of {file, frame}
)

// tsType is the timestamp type of every time column: nanoseconds, and no
// time zone in the Arrow type. The values are UTC (ns since the Unix
// epoch); the missing zone only keeps the Parquet isAdjustedToUTC flag
// false. With the flag set, DuckDB reads the column as TIMESTAMP WITH TIME
// ZONE, which has microsecond precision, and drops the last three digits of
// every capture time; without it DuckDB reads TIMESTAMP_NS and keeps them
// (checked by TestDuckDBConformance). Spark and Trino read it as a
// timestamp without zone too, the same wall-clock value in UTC.
var tsType = &arrow.TimestampType{Unit: arrow.Nanosecond}

var evidenceType = arrow.StructOf(
	arrow.Field{Name: "file", Type: arrow.PrimitiveTypes.Int32},
	arrow.Field{Name: "frame", Type: arrow.PrimitiveTypes.Int64},
)

func (k kind) arrowType() arrow.DataType {
	switch k {
	case kString:
		return arrow.BinaryTypes.String
	case kInt32:
		return arrow.PrimitiveTypes.Int32
	case kInt64:
		return arrow.PrimitiveTypes.Int64
	case kFloat64:
		return arrow.PrimitiveTypes.Float64
	case kBool:
		return arrow.FixedWidthTypes.Boolean
	case kTimestamp:
		return tsType
	case kStringList:
		return arrow.ListOfNonNullable(arrow.BinaryTypes.String)
	case kEvidence:
		return arrow.ListOfNonNullable(evidenceType)
	}
	panic("parquet: unknown column kind")
}

// parquetType is how docs/schema.md names the Parquet type.
func (k kind) parquetType() string {
	return [...]string{
		kString:     "BYTE_ARRAY (STRING)",
		kInt32:      "INT32",
		kInt64:      "INT64",
		kFloat64:    "DOUBLE",
		kBool:       "BOOLEAN",
		kTimestamp:  "INT64 TIMESTAMP(NANOS, UTC values, isAdjustedToUTC=false)",
		kStringList: "LIST<BYTE_ARRAY (STRING)>",
		kEvidence:   "LIST<STRUCT<file INT32, frame INT64>>",
	}[k]
}

// duckType is the type DuckDB reports for the column (DESCRIBE).
func (k kind) duckType() string {
	return [...]string{
		kString:     "VARCHAR",
		kInt32:      "INTEGER",
		kInt64:      "BIGINT",
		kFloat64:    "DOUBLE",
		kBool:       "BOOLEAN",
		kTimestamp:  "TIMESTAMP_NS",
		kStringList: "VARCHAR[]",
		kEvidence:   "STRUCT(file INTEGER, frame BIGINT)[]",
	}[k]
}

// col is one column of a table of records R: its name, kind, unit and
// meaning (for docs/schema.md) and how to take its value from a record.
// The table specs in tables.go are the one source of truth: the Arrow
// schema, the Parquet files, docs/schema.md and the conformance test are
// all derived from them.
type col[R any] struct {
	name     string
	kind     kind
	nullable bool
	noDict   bool // a string column written PLAIN: nearly one value per row
	unit     string
	doc      string
	// bind returns the function that appends a record's value to b,
	// the column's builder (bound once, so no type switch per row).
	bind func(b array.Builder) func(*R)
}

// plain marks a string column whose values are (nearly) unique per row,
// such as a flow's Community ID or a finding's message: a dictionary
// would hold every value once more and cost a hash lookup per row for
// nothing, so the column is written PLAIN (zstd still compresses it).
func (c col[R]) plain() col[R] {
	c.noDict = true
	return c
}

func (c *col[R]) field() arrow.Field {
	return arrow.Field{Name: c.name, Type: c.kind.arrowType(), Nullable: c.nullable}
}

// appender is what the typed Arrow builders have in common.
type appender[V any] interface {
	Append(V)
	AppendNull()
}

// scalar builds a column whose value may be missing (ok false: NULL).
func scalar[R any, V any, B appender[V]](name string, k kind, unit, doc string, nullable bool, get func(*R) (V, bool)) col[R] {
	return col[R]{name: name, kind: k, nullable: nullable, unit: unit, doc: doc,
		bind: func(b array.Builder) func(*R) {
			bb := b.(B)
			return func(r *R) {
				if v, ok := get(r); ok {
					bb.Append(v)
				} else {
					bb.AppendNull()
				}
			}
		}}
}

func always[R any, V any](get func(*R) V) func(*R) (V, bool) {
	return func(r *R) (V, bool) { return get(r), true }
}

// str is text taken from a capture (a DNS name, an HTTP target, an SNI):
// it is made valid UTF-8 (see validUTF8).
func str[R any](name, doc string, get func(*R) string) col[R] {
	return scalar[R, string, *array.StringBuilder](name, kString, "", doc, false, always(func(r *R) string { return validUTF8(get(r)) }))
}

// sym is text pcapx makes itself (addresses, Community IDs, rule ids,
// names from its own tables such as rcode and cipher names, JA3/JA4):
// always valid UTF-8, so the check is skipped. Never use it for bytes
// copied from a capture.
func sym[R any](name, doc string, get func(*R) string) col[R] {
	return scalar[R, string, *array.StringBuilder](name, kString, "", doc, false, always(get))
}

func optStr[R any](name, doc string, get func(*R) (string, bool)) col[R] {
	return scalar[R, string, *array.StringBuilder](name, kString, "", doc, true, func(r *R) (string, bool) {
		s, ok := get(r)
		return validUTF8(s), ok
	})
}

func i32[R any](name, unit, doc string, get func(*R) int32) col[R] {
	return scalar[R, int32, *array.Int32Builder](name, kInt32, unit, doc, false, always(get))
}

func optI32[R any](name, unit, doc string, get func(*R) (int32, bool)) col[R] {
	return scalar[R, int32, *array.Int32Builder](name, kInt32, unit, doc, true, get)
}

func i64[R any](name, unit, doc string, get func(*R) int64) col[R] {
	return scalar[R, int64, *array.Int64Builder](name, kInt64, unit, doc, false, always(get))
}

func optI64[R any](name, unit, doc string, get func(*R) (int64, bool)) col[R] {
	return scalar[R, int64, *array.Int64Builder](name, kInt64, unit, doc, true, get)
}

func f64[R any](name, unit, doc string, get func(*R) float64) col[R] {
	return scalar[R, float64, *array.Float64Builder](name, kFloat64, unit, doc, false, always(get))
}

func boolean[R any](name, doc string, get func(*R) bool) col[R] {
	return scalar[R, bool, *array.BooleanBuilder](name, kBool, "", doc, false, always(get))
}

const tsUnit = "ns since 1970-01-01 UTC"

// ts is a capture time that every record has.
func ts[R any](name, doc string, get func(*R) int64) col[R] {
	return scalar[R, arrow.Timestamp, *array.TimestampBuilder](name, kTimestamp, tsUnit, doc, false,
		func(r *R) (arrow.Timestamp, bool) { return arrow.Timestamp(get(r)), true })
}

// optTS is a capture time that may be missing (NULL).
func optTS[R any](name, doc string, get func(*R) (int64, bool)) col[R] {
	return scalar[R, arrow.Timestamp, *array.TimestampBuilder](name, kTimestamp, tsUnit, doc, true,
		func(r *R) (arrow.Timestamp, bool) {
			v, ok := get(r)
			return arrow.Timestamp(v), ok
		})
}

// strList is a list of strings; a nil slice is an empty list.
func strList[R any](name, doc string, get func(*R) []string) col[R] {
	return col[R]{name: name, kind: kStringList, doc: doc,
		bind: func(b array.Builder) func(*R) {
			lb := b.(*array.ListBuilder)
			vb := lb.ValueBuilder().(*array.StringBuilder)
			return func(r *R) {
				lb.Append(true)
				for _, s := range get(r) {
					vb.Append(validUTF8(s))
				}
			}
		}}
}

// frames is a list of {file, frame} evidence pointers.
func frames[R any](name, doc string, get func(*R) (n int, at func(i int) (file int32, frame int64))) col[R] {
	return col[R]{name: name, kind: kEvidence, doc: doc,
		bind: func(b array.Builder) func(*R) {
			lb := b.(*array.ListBuilder)
			sb := lb.ValueBuilder().(*array.StructBuilder)
			fileB := sb.FieldBuilder(0).(*array.Int32Builder)
			frameB := sb.FieldBuilder(1).(*array.Int64Builder)
			return func(r *R) {
				lb.Append(true)
				n, at := get(r)
				for i := 0; i < n; i++ {
					file, frame := at(i)
					sb.Append(true)
					fileB.Append(file)
					frameB.Append(frame)
				}
			}
		}}
}

// validUTF8 returns s with every byte that is not part of valid UTF-8
// replaced by U+FFFD, one per byte, exactly as encoding/json does: the
// tables then hold the same strings as --format json, and readers that
// insist on valid UTF-8 in STRING columns (DuckDB does) accept the file
// even when a capture carries raw bytes in a DNS name or an HTTP target.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

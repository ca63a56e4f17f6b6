package parquet

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/rules"
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
	kTalkers                // a list of {addr, bytes, flows}
	kRuleCounts             // a list of {rule, count}
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

var talkerType = arrow.StructOf(
	arrow.Field{Name: "addr", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "bytes", Type: arrow.PrimitiveTypes.Int64},
	arrow.Field{Name: "flows", Type: arrow.PrimitiveTypes.Int64},
)

var ruleCountType = arrow.StructOf(
	arrow.Field{Name: "rule", Type: arrow.BinaryTypes.String},
	arrow.Field{Name: "count", Type: arrow.PrimitiveTypes.Int64},
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
	case kTalkers:
		return arrow.ListOfNonNullable(talkerType)
	case kRuleCounts:
		return arrow.ListOfNonNullable(ruleCountType)
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
		kTalkers:    "LIST<STRUCT<addr BYTE_ARRAY (STRING), bytes INT64, flows INT64>>",
		kRuleCounts: "LIST<STRUCT<rule BYTE_ARRAY (STRING), count INT64>>",
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
		kTalkers:    "STRUCT(addr VARCHAR, bytes BIGINT, flows BIGINT)[]",
		kRuleCounts: "STRUCT(\"rule\" VARCHAR, count BIGINT)[]", // DuckDB quotes the keyword
	}[k]
}

// col is one column of a table of records R: its name, kind, unit and
// meaning (for docs/schema.md), how to take its value from a record and
// how to put a value read back from a file into one. The table specs in
// tables.go are the one source of truth: the Arrow schema, the Parquet
// files, docs/schema.md, the conformance test and the reader (read.go)
// are all derived from them.
type col[R any] struct {
	name     string
	kind     kind
	nullable bool
	noDict   bool // a string column written PLAIN: nearly one value per row
	// text is a string column's value (ok false: NULL), as bind appends
	// it: a dictionary column's values go through it instead (table.go),
	// or through texts when the column has that.
	text func(*R) (string, bool)
	unit string
	doc  string
	// bind returns the function that appends a record's value to b,
	// the column's builder (bound once, so no type switch per row).
	bind func(b array.Builder) func(*R)
	// fill, if set, appends a batch's values at once, read at the
	// field's offset (see fill.go); offset tells TestFieldOffsets where
	// the accessor found a record's field and where fill reads it.
	fill   fillFunc[R]
	offset func(r *R) (accessor, fill uintptr)
	// texts, if set, is a string column's values of a batch, read at the
	// field's offset (a dictionary column's way to fill).
	texts func(recs []*R, dst []string) []string
	// load returns the function that sets a record's field from row i of
	// a, the column as read back (bound once per record batch); an error
	// if a is not of the column's type.
	load func(a arrow.Array) (func(r *R, i int) error, error)
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

// valuer is what the typed Arrow arrays have in common.
type valuer[V any] interface {
	arrow.Array
	Value(int) V
}

// integer is a record field held in an integer column.
type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

func wrongType(name string, k kind, a arrow.Array) error {
	return fmt.Errorf("column %s is %s, want %s", name, a.DataType(), k.arrowType())
}

// scalar builds a column whose value may be missing (get's ok false: NULL;
// a NULL read back leaves the record's field as it is).
func scalar[R any, V any, B appender[V], A valuer[V]](name string, k kind, unit, doc string, nullable bool,
	get func(*R) (V, bool), set func(*R, V) error) col[R] {
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
		},
		load: func(a arrow.Array) (func(*R, int) error, error) {
			arr, ok := a.(A)
			if !ok {
				return nil, wrongType(name, k, a)
			}
			return func(r *R, i int) error {
				if arr.IsNull(i) {
					return nil
				}
				return set(r, arr.Value(i))
			}, nil
		}}
}

// access turns a pointer to a record's field into the get and set of a
// column of type V.
func access[R any, T any, V any](p func(*R) *T, to func(T) V, from func(V) T) (func(*R) (V, bool), func(*R, V) error) {
	return func(r *R) (V, bool) { return to(*p(r)), true },
		func(r *R, v V) error { *p(r) = from(v); return nil }
}

func same[T any](v T) T { return v }

// A string read back aliases the Arrow buffer it was read into; a record
// is kept (the sink's to keep) long after its batch, so it gets a copy.
func cloned(s string) string { return strings.Clone(s) }

// str is text taken from a capture (a DNS name, an HTTP target, an SNI):
// it is made valid UTF-8 (see validUTF8).
func str[R any](name, doc string, p func(*R) *string) col[R] {
	get, set := access(p, validUTF8, cloned)
	return withTexts(text(scalar[R, string, *array.StringBuilder, *array.String](name, kString, "", doc, false, get, set), get), p, true)
}

// text records get as a string column's value.
func text[R any](c col[R], get func(*R) (string, bool)) col[R] {
	c.text = get
	return c
}

// sym is text pcapx makes itself (addresses, Community IDs, rule ids,
// names from its own tables such as rcode and cipher names, JA3/JA4):
// always valid UTF-8, so the check is skipped. Never use it for bytes
// copied from a capture.
func sym[R any](name, doc string, p func(*R) *string) col[R] {
	get, set := access(p, same[string], cloned)
	return withTexts(text(scalar[R, string, *array.StringBuilder, *array.String](name, kString, "", doc, false, get, set), get), p, false)
}

// symFunc is a sym column whose field is not a string (a severity): set
// parses what get wrote.
func symFunc[R any](name, doc string, get func(*R) string, set func(*R, string) error) col[R] {
	g := func(r *R) (string, bool) { return get(r), true }
	return text(scalar[R, string, *array.StringBuilder, *array.String](name, kString, "", doc, false, g, set), g)
}

// optStr is text that may be missing (NULL); set is called only for a
// value.
func optStr[R any](name, doc string, get func(*R) (string, bool), set func(*R, string)) col[R] {
	g := func(r *R) (string, bool) {
		s, ok := get(r)
		return validUTF8(s), ok
	}
	return text(scalar[R, string, *array.StringBuilder, *array.String](name, kString, "", doc, true, g,
		func(r *R, v string) error { set(r, cloned(v)); return nil }), g)
}

func i32[R any, T integer](name, unit, doc string, p func(*R) *T) col[R] {
	get, set := access(p, func(v T) int32 { return int32(v) }, func(v int32) T { return T(v) })
	return withFill(scalar[R, int32, *array.Int32Builder, *array.Int32](name, kInt32, unit, doc, false, get, set), p, fillInt32[R, T])
}

func optI32[R any](name, unit, doc string, get func(*R) (int32, bool), set func(*R, int32)) col[R] {
	return scalar[R, int32, *array.Int32Builder, *array.Int32](name, kInt32, unit, doc, true, get,
		func(r *R, v int32) error { set(r, v); return nil })
}

func i64[R any, T integer](name, unit, doc string, p func(*R) *T) col[R] {
	get, set := access(p, func(v T) int64 { return int64(v) }, func(v int64) T { return T(v) })
	return withFill(scalar[R, int64, *array.Int64Builder, *array.Int64](name, kInt64, unit, doc, false, get, set), p, fillInt64[R, T])
}

func optI64[R any](name, unit, doc string, get func(*R) (int64, bool), set func(*R, int64)) col[R] {
	return scalar[R, int64, *array.Int64Builder, *array.Int64](name, kInt64, unit, doc, true, get,
		func(r *R, v int64) error { set(r, v); return nil })
}

func f64[R any](name, unit, doc string, p func(*R) *float64) col[R] {
	get, set := access(p, same[float64], same[float64])
	return withFill(scalar[R, float64, *array.Float64Builder, *array.Float64](name, kFloat64, unit, doc, false, get, set), p, fillFloat64[R])
}

// f64Func is a DOUBLE column computed from a field of another type.
func f64Func[R any](name, unit, doc string, get func(*R) float64, set func(*R, float64)) col[R] {
	return scalar[R, float64, *array.Float64Builder, *array.Float64](name, kFloat64, unit, doc, false,
		func(r *R) (float64, bool) { return get(r), true },
		func(r *R, v float64) error { set(r, v); return nil })
}

func boolean[R any](name, doc string, p func(*R) *bool) col[R] {
	get, set := access(p, same[bool], same[bool])
	return withFill(scalar[R, bool, *array.BooleanBuilder, *array.Boolean](name, kBool, "", doc, false, get, set), p, fillBool[R])
}

const tsUnit = "ns since 1970-01-01 UTC"

// ts is a capture time that every record has (ns since the epoch).
func ts[R any](name, doc string, p func(*R) *int64) col[R] {
	get, set := access(p, func(v int64) arrow.Timestamp { return arrow.Timestamp(v) }, func(v arrow.Timestamp) int64 { return int64(v) })
	return withFill(scalar[R, arrow.Timestamp, *array.TimestampBuilder, *array.Timestamp](name, kTimestamp, tsUnit, doc, false, get, set), p, fillTimestamp[R])
}

// optTS is a capture time that may be missing (NULL).
func optTS[R any](name, doc string, get func(*R) (int64, bool), set func(*R, int64)) col[R] {
	return scalar[R, arrow.Timestamp, *array.TimestampBuilder, *array.Timestamp](name, kTimestamp, tsUnit, doc, true,
		func(r *R) (arrow.Timestamp, bool) {
			v, ok := get(r)
			return arrow.Timestamp(v), ok
		},
		func(r *R, v arrow.Timestamp) error { set(r, int64(v)); return nil })
}

// listOf builds a list column of kind k whose elements are written by add
// (to the list's value builder) and read by elem (from the list's values,
// bound once per batch); a nil slice is an empty list, and an empty list
// reads back as a nil slice.
func listOf[R any, E any](name string, k kind, doc string, p func(*R) *[]E,
	add func(vb array.Builder) func(*E), elem func(values arrow.Array) (func(i int) E, bool)) col[R] {
	return col[R]{name: name, kind: k, doc: doc,
		bind: func(b array.Builder) func(*R) {
			lb := b.(*array.ListBuilder)
			put := add(lb.ValueBuilder())
			return func(r *R) {
				lb.Append(true)
				s := *p(r)
				for i := range s {
					put(&s[i])
				}
			}
		},
		load: func(a arrow.Array) (func(*R, int) error, error) {
			la, ok := a.(*array.List)
			if !ok {
				return nil, wrongType(name, k, a)
			}
			at, ok := elem(la.ListValues())
			if !ok {
				return nil, wrongType(name, k, a)
			}
			return func(r *R, i int) error {
				if la.IsNull(i) {
					return nil
				}
				start, end := la.ValueOffsets(i)
				if start == end {
					*p(r) = nil
					return nil
				}
				out := make([]E, 0, end-start)
				for j := start; j < end; j++ {
					out = append(out, at(int(j)))
				}
				*p(r) = out
				return nil
			}, nil
		}}
}

// strList is a list of strings taken from a capture (made valid UTF-8).
func strList[R any](name, doc string, p func(*R) *[]string) col[R] {
	return listOf(name, kStringList, doc, p,
		func(vb array.Builder) func(*string) {
			sb := vb.(*array.StringBuilder)
			return func(s *string) { sb.Append(validUTF8(*s)) }
		},
		func(v arrow.Array) (func(int) string, bool) {
			sa, ok := v.(*array.String)
			return func(i int) string { return cloned(sa.Value(i)) }, ok
		})
}

// structFields returns the field arrays of a list's struct values, if
// they have the wanted types.
func structFields(v arrow.Array, want ...arrow.Type) ([]arrow.Array, bool) {
	sa, ok := v.(*array.Struct)
	if !ok || sa.NumField() != len(want) {
		return nil, false
	}
	out := make([]arrow.Array, len(want))
	for i, t := range want {
		if out[i] = sa.Field(i); out[i].DataType().ID() != t {
			return nil, false
		}
	}
	return out, true
}

// frames is a list of {file, frame} evidence pointers.
func frames[R any](name, doc string, p func(*R) *[]rules.Evidence) col[R] {
	return listOf(name, kEvidence, doc, p,
		func(vb array.Builder) func(*rules.Evidence) {
			sb := vb.(*array.StructBuilder)
			fileB := sb.FieldBuilder(0).(*array.Int32Builder)
			frameB := sb.FieldBuilder(1).(*array.Int64Builder)
			return func(e *rules.Evidence) {
				sb.Append(true)
				fileB.Append(int32(e.File))
				frameB.Append(e.Frame)
			}
		},
		func(v arrow.Array) (func(int) rules.Evidence, bool) {
			fs, ok := structFields(v, arrow.INT32, arrow.INT64)
			if !ok {
				return nil, false
			}
			file, frame := fs[0].(*array.Int32), fs[1].(*array.Int64)
			return func(i int) rules.Evidence { return rules.Evidence{File: int(file.Value(i)), Frame: frame.Value(i)} }, true
		})
}

// talkerList is a list of {addr, bytes, flows}: the run's top talkers.
func talkerList[R any](name, doc string, p func(*R) *[]analyze.Talker) col[R] {
	return listOf(name, kTalkers, doc, p,
		func(vb array.Builder) func(*analyze.Talker) {
			sb := vb.(*array.StructBuilder)
			addrB := sb.FieldBuilder(0).(*array.StringBuilder)
			bytesB := sb.FieldBuilder(1).(*array.Int64Builder)
			flowsB := sb.FieldBuilder(2).(*array.Int64Builder)
			return func(t *analyze.Talker) {
				sb.Append(true)
				addrB.Append(t.Addr)
				bytesB.Append(t.Bytes)
				flowsB.Append(t.Flows)
			}
		},
		func(v arrow.Array) (func(int) analyze.Talker, bool) {
			fs, ok := structFields(v, arrow.STRING, arrow.INT64, arrow.INT64)
			if !ok {
				return nil, false
			}
			addr, bytes, flows := fs[0].(*array.String), fs[1].(*array.Int64), fs[2].(*array.Int64)
			return func(i int) analyze.Talker {
				return analyze.Talker{Addr: cloned(addr.Value(i)), Bytes: bytes.Value(i), Flows: flows.Value(i)}
			}, true
		})
}

// ruleCount is one rule and a number (the findings it suppressed).
type ruleCount struct {
	Rule  string
	Count int64
}

// ruleCounts is a list of {rule, count}.
func ruleCounts[R any](name, doc string, p func(*R) *[]ruleCount) col[R] {
	return listOf(name, kRuleCounts, doc, p,
		func(vb array.Builder) func(*ruleCount) {
			sb := vb.(*array.StructBuilder)
			ruleB := sb.FieldBuilder(0).(*array.StringBuilder)
			countB := sb.FieldBuilder(1).(*array.Int64Builder)
			return func(c *ruleCount) {
				sb.Append(true)
				ruleB.Append(c.Rule)
				countB.Append(c.Count)
			}
		},
		func(v arrow.Array) (func(int) ruleCount, bool) {
			fs, ok := structFields(v, arrow.STRING, arrow.INT64)
			if !ok {
				return nil, false
			}
			rule, count := fs[0].(*array.String), fs[1].(*array.Int64)
			return func(i int) ruleCount { return ruleCount{Rule: cloned(rule.Value(i)), Count: count.Value(i)} }, true
		})
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

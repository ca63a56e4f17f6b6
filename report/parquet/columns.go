package parquet

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
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
// meaning (for docs/schema.md), how to append its value from a record to
// an Arrow builder and how to set a record's field from the column's next
// row read back from a file. The table specs in tables.go are the one
// source of truth: the Arrow schema, the Parquet files, docs/schema.md,
// the conformance test and the reader (read.go) are all derived from them.
type col[R any] struct {
	name     string
	kind     kind
	nullable bool
	noDict   bool // a string column written PLAIN: nearly one value per row
	// since names the pcapx change that added the column, when tables
	// written before it still replay: a file without the column leaves
	// the field zero, which is what those tables meant (read.go).
	since string
	unit  string
	doc   string
	// bind returns the function that appends a record's value to b, the
	// column's builder (bound once, so no type switch per row).
	bind func(b array.Builder) func(*R)
	// load returns the function that sets a record's field from the next
	// row of the column's leaf columns (one, or one per field of a list of
	// structs), as read back (read.go).
	load func(leaves []*leaf) func(r *R) error
}

// addedBy marks a column added to a table after its first release, whose
// zero value is what older tables meant: they replay without it.
func (c col[R]) addedBy(change string) col[R] {
	c.since = change
	return c
}

// docWithSince is the column's doc, saying when it was added if tables
// written before replay without it.
func (c *col[R]) docWithSince() string {
	if c.since == "" {
		return c.doc
	}
	zero := "0"
	switch c.kind {
	case kString:
		zero = "empty"
	case kBool:
		zero = "false"
	}
	return strings.TrimSuffix(c.doc, ".") + ". Added by " + c.since + "; tables written before replay without it, the value " + zero
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

// integer is a record field held in an integer column.
type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

// scalar builds a column whose value may be missing (get's ok false: NULL;
// a NULL read back leaves the record's field as it is).
func scalar[R any, V leafType, B appender[V]](name string, k kind, unit, doc string, nullable bool,
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
		load: func(ls []*leaf) func(*R) error {
			l := ls[0]
			return func(r *R) error {
				i, _, err := l.next()
				if err != nil || i < 0 {
					return err
				}
				return set(r, value[V](l, i))
			}
		}}
}

// access turns a pointer to a record's field into the get and set of a
// column of type V.
func access[R any, T any, V any](p func(*R) *T, to func(T) V, from func(V) T) (func(*R) (V, bool), func(*R, V) error) {
	return func(r *R) (V, bool) { return to(*p(r)), true },
		func(r *R, v V) error { *p(r) = from(v); return nil }
}

func same[T any](v T) T { return v }

// str is text taken from a capture (a DNS name, an HTTP target, an SNI):
// it is made valid UTF-8 (see validUTF8).
func str[R any](name, doc string, p func(*R) *string) col[R] {
	get, set := access(p, validUTF8, same[string])
	return scalar[R, string, *array.StringBuilder](name, kString, "", doc, false, get, set)
}

// sym is text pcapx makes itself (addresses, Community IDs, rule ids,
// names from its own tables such as rcode and cipher names, JA3/JA4):
// always valid UTF-8, so the check is skipped. Never use it for bytes
// copied from a capture.
func sym[R any](name, doc string, p func(*R) *string) col[R] {
	get, set := access(p, same[string], same[string])
	return scalar[R, string, *array.StringBuilder](name, kString, "", doc, false, get, set)
}

// symFunc is a sym column whose field is not a string (a severity): set
// parses what get wrote.
func symFunc[R any](name, doc string, get func(*R) string, set func(*R, string) error) col[R] {
	return scalar[R, string, *array.StringBuilder](name, kString, "", doc, false,
		func(r *R) (string, bool) { return get(r), true }, set)
}

// optStr is text that may be missing (NULL); set is called only for a
// value.
func optStr[R any](name, doc string, get func(*R) (string, bool), set func(*R, string)) col[R] {
	return scalar[R, string, *array.StringBuilder](name, kString, "", doc, true,
		func(r *R) (string, bool) {
			s, ok := get(r)
			return validUTF8(s), ok
		},
		func(r *R, v string) error { set(r, v); return nil })
}

func i32[R any, T integer](name, unit, doc string, p func(*R) *T) col[R] {
	get, set := access(p, func(v T) int32 { return int32(v) }, func(v int32) T { return T(v) })
	return scalar[R, int32, *array.Int32Builder](name, kInt32, unit, doc, false, get, set)
}

func optI32[R any](name, unit, doc string, get func(*R) (int32, bool), set func(*R, int32)) col[R] {
	return scalar[R, int32, *array.Int32Builder](name, kInt32, unit, doc, true, get,
		func(r *R, v int32) error { set(r, v); return nil })
}

func i64[R any, T integer](name, unit, doc string, p func(*R) *T) col[R] {
	get, set := access(p, func(v T) int64 { return int64(v) }, func(v int64) T { return T(v) })
	return scalar[R, int64, *array.Int64Builder](name, kInt64, unit, doc, false, get, set)
}

func optI64[R any](name, unit, doc string, get func(*R) (int64, bool), set func(*R, int64)) col[R] {
	return scalar[R, int64, *array.Int64Builder](name, kInt64, unit, doc, true, get,
		func(r *R, v int64) error { set(r, v); return nil })
}

func f64[R any](name, unit, doc string, p func(*R) *float64) col[R] {
	get, set := access(p, same[float64], same[float64])
	return scalar[R, float64, *array.Float64Builder](name, kFloat64, unit, doc, false, get, set)
}

// f64Func is a DOUBLE column computed from a field of another type.
func f64Func[R any](name, unit, doc string, get func(*R) float64, set func(*R, float64)) col[R] {
	return scalar[R, float64, *array.Float64Builder](name, kFloat64, unit, doc, false,
		func(r *R) (float64, bool) { return get(r), true },
		func(r *R, v float64) error { set(r, v); return nil })
}

func boolean[R any](name, doc string, p func(*R) *bool) col[R] {
	get, set := access(p, same[bool], same[bool])
	return scalar[R, bool, *array.BooleanBuilder](name, kBool, "", doc, false, get, set)
}

const tsUnit = "ns since 1970-01-01 UTC"

// ts is a capture time that every record has (ns since the epoch).
func ts[R any](name, doc string, p func(*R) *int64) col[R] {
	get, set := access(p, func(v int64) arrow.Timestamp { return arrow.Timestamp(v) }, func(v arrow.Timestamp) int64 { return int64(v) })
	return scalar[R, arrow.Timestamp, *array.TimestampBuilder](name, kTimestamp, tsUnit, doc, false, get, set)
}

// optTS is a capture time that may be missing (NULL).
func optTS[R any](name, doc string, get func(*R) (int64, bool), set func(*R, int64)) col[R] {
	return scalar[R, arrow.Timestamp, *array.TimestampBuilder](name, kTimestamp, tsUnit, doc, true,
		func(r *R) (arrow.Timestamp, bool) {
			v, ok := get(r)
			return arrow.Timestamp(v), ok
		},
		func(r *R, v arrow.Timestamp) error { set(r, int64(v)); return nil })
}

// listOf builds a list column of kind k whose elements are written by add
// (to the list's value builder) and read back by fields: one per leaf
// column of the list (a list of strings has one; a list of structs one
// per struct field, in order), each setting its part of an element from
// a leaf value. A nil slice is an empty list, and an empty list reads
// back as a nil slice.
func listOf[R any, E any](name string, k kind, doc string, p func(*R) *[]E,
	add func(vb array.Builder) func(*E), fields ...func(e *E, l *leaf, i int)) col[R] {
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
		load: func(ls []*leaf) func(*R) error {
			return func(r *R) error {
				var out []E
				for j, l := range ls {
					n := 0
					err := l.list(func(i int) error {
						if j == 0 {
							out = append(out, *new(E))
						} else if n == len(out) {
							return fmt.Errorf("column %s: its fields hold lists of different lengths", name)
						}
						fields[j](&out[n], l, i)
						n++
						return nil
					})
					if err != nil {
						return err
					}
					if n != len(out) {
						return fmt.Errorf("column %s: its fields hold lists of different lengths", name)
					}
				}
				*p(r) = out
				return nil
			}
		}}
}

// strList is a list of strings taken from a capture (made valid UTF-8).
func strList[R any](name, doc string, p func(*R) *[]string) col[R] {
	return listOf(name, kStringList, doc, p,
		func(vb array.Builder) func(*string) {
			sb := vb.(*array.StringBuilder)
			return func(s *string) { sb.Append(validUTF8(*s)) }
		},
		func(s *string, l *leaf, i int) { *s = value[string](l, i) })
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
		func(e *rules.Evidence, l *leaf, i int) { e.File = int(value[int32](l, i)) },
		func(e *rules.Evidence, l *leaf, i int) { e.Frame = value[int64](l, i) })
}

// talkerList is a list of {addr, bytes, flows}: the run's top talkers.
func talkerList[R any](name, doc string, p func(*R) *[]run.Talker) col[R] {
	return listOf(name, kTalkers, doc, p,
		func(vb array.Builder) func(*run.Talker) {
			sb := vb.(*array.StructBuilder)
			addrB := sb.FieldBuilder(0).(*array.StringBuilder)
			bytesB := sb.FieldBuilder(1).(*array.Int64Builder)
			flowsB := sb.FieldBuilder(2).(*array.Int64Builder)
			return func(t *run.Talker) {
				sb.Append(true)
				addrB.Append(t.Addr)
				bytesB.Append(t.Bytes)
				flowsB.Append(t.Flows)
			}
		},
		func(t *run.Talker, l *leaf, i int) { t.Addr = value[string](l, i) },
		func(t *run.Talker, l *leaf, i int) { t.Bytes = value[int64](l, i) },
		func(t *run.Talker, l *leaf, i int) { t.Flows = value[int64](l, i) })
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
		func(c *ruleCount, l *leaf, i int) { c.Rule = value[string](l, i) },
		func(c *ruleCount, l *leaf, i int) { c.Count = value[int64](l, i) })
}

// validUTF8 returns s with every byte that is not part of valid UTF-8
// read as the character of its value (U+0080..U+00FF), one per byte, as
// the JSON output writes it (\u00XX, docs/json.md): the tables then hold
// the same strings as --format json, two different raw bytes stay two
// different characters, and readers that insist on valid UTF-8 in STRING
// columns (DuckDB does) accept the file even when a capture carries raw
// bytes in a DNS name or an HTTP target.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, rune(s[i]))
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return string(out)
}

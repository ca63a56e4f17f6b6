package parquet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/pcapx/pcapx/run"
)

// ErrNoTables is returned (wrapped, naming the directory) by Replay for a
// directory that holds no tables.
var ErrNoTables = errors.New("no pcapx tables")

// readBatch is how many levels (values, for a flat column) of a column
// are decoded at a time: memory does not grow with the table.
const readBatch = 1024

// Replay reads back the run whose tables a Writer wrote into dir (`pcapx
// analyze -o DIR`, or one of its --partition directories) and rebuilds its
// result:
//   - Capture (with its Files) and Suppressed from the capture table;
//   - Findings from the findings table, in order;
//   - Timeline from the timeline table;
//   - everything the Summariser computes (FlowStates, Protocols, TCP,
//     TopTalkers, WorstFlows, App, Lists) by handing it the records of the
//     flows, DNS, HTTP, TLS and ICMP tables, as the run did.
//
// The records also go to sink (nil for none; ICMP records only if it is a
// run.ICMPSink), table by table and each in the order the run wrote it.
// They are new values, the sink's to keep. An empty list (a DNS answer
// list, a TLS ALPN list) comes back nil where the run may have had an
// empty slice: a sink that prints JSON shows null there, not [].
//
// What the tables do not hold is left zero: Streams, Table and Decode (the
// overview's counters among them are in Capture).
//
// A directory without the tables is an error wrapping ErrNoTables and
// naming dir; a table that is missing, unreadable or lacks a column is an
// error naming the file.
func Replay(dir string, sink run.Sink) (*run.Result, error) {
	if err := checkDir(dir); err != nil {
		return nil, err
	}
	return replay(os.DirFS(dir), dir, sink)
}

// replay is Replay of the tables in fsys, which is dir (errors name it).
func replay(fsys fs.FS, dir string, sink run.Sink) (*run.Result, error) {
	res := &run.Result{Suppressed: map[string]int64{}}
	top := 0 // the run's --top: as many talkers as it listed

	var files []run.File
	err := readTable(fsys, dir, captureSpec, func(r *captureRow) error {
		if r.Index != len(files) {
			return fmt.Errorf("row %d has file_index %d: the rows are not one run's files in order", len(files), r.Index)
		}
		if r.Index == 0 {
			res.Capture, res.Suppressed = r.Run.Capture, r.Run.Suppressed
			top = len(r.Run.TopTalkers)
		}
		files = append(files, r.File)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no rows: not the tables of a finished run", filepath.Join(dir, "capture.parquet"))
	}
	res.Capture.Files = files

	tl := &res.Timeline
	err = readTable(fsys, dir, timelineSpec, func(r *timelineRow) error {
		if len(tl.Buckets) == 0 {
			tl.Start, tl.Width = r.StartNS, r.WidthNS
		}
		if r.WidthNS != tl.Width || r.StartNS != tl.Start+int64(len(tl.Buckets))*tl.Width {
			return fmt.Errorf("row %d (start %d ns, width %d ns) does not follow the one before: the buckets must be contiguous and of one width", len(tl.Buckets), r.StartNS, r.WidthNS)
		}
		tl.Buckets = append(tl.Buckets, r.Bucket)
		return nil
	})
	if err != nil {
		return nil, err
	}

	if err := readTable(fsys, dir, findingsSpec, func(f *findingRec) error {
		res.Findings = append(res.Findings, *f)
		return nil
	}); err != nil {
		return nil, err
	}

	// The records go through a Summariser as in the run, table by table:
	// each summary depends only on the order of its own kind of record,
	// which the tables keep.
	sum := run.NewSummariser(run.Options{TopTalkers: top})
	all := run.Tee(sum, sink).(interface {
		run.Sink
		run.ICMPSink
	})
	if err := readTable(fsys, dir, flowsSpec, all.Flow); err != nil {
		return nil, err
	}
	if err := readTable(fsys, dir, dnsSpec, all.DNS); err != nil {
		return nil, err
	}
	if err := readTable(fsys, dir, httpSpec, all.HTTP); err != nil {
		return nil, err
	}
	if err := readTable(fsys, dir, tlsSpec, all.TLS); err != nil {
		return nil, err
	}
	if err := readTable(fsys, dir, icmpSpec, all.ICMP); err != nil {
		return nil, err
	}
	sum.Summarise(res)
	return res, nil
}

// checkDir says what is wrong with a directory that has no capture table.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: no such directory: %w", dir, ErrNoTables)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s: not a directory: %w", dir, ErrNoTables)
	}
	if _, err := os.Stat(filepath.Join(dir, "capture.parquet")); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "flows.parquet")); err == nil {
		return fmt.Errorf("%s has flows.parquet but no capture.parquet: its tables were written by an older pcapx; run pcapx analyze -o again: %w", dir, ErrNoTables)
	}
	if p := findPartition(dir); p != "" {
		return fmt.Errorf("%s: %w here, but in its Hive partitions: name one, e.g. %s", dir, ErrNoTables, p)
	}
	return fmt.Errorf("%s: %w (no capture.parquet, flows.parquet, ...): is it an output directory of pcapx analyze -o?", dir, ErrNoTables)
}

// findPartition returns a partition directory under dir holding a run's
// tables (key=value directories only, a few levels deep), or "".
func findPartition(dir string) string {
	found, seen := "", 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found != "" || seen > 10000 {
			return filepath.SkipAll
		}
		seen++
		if !d.IsDir() {
			return nil
		}
		if p != dir {
			rel, _ := filepath.Rel(dir, p)
			if !strings.Contains(d.Name(), "=") || strings.Count(rel, string(filepath.Separator)) >= 16 {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "capture.parquet")); err == nil {
				found = p
				return filepath.SkipAll
			}
		}
		return nil
	})
	return found
}

// readTable reads the table of spec s in fsys (dir) and calls each with every row as
// a new record, in file order. The columns are found by name (others are
// ignored) and must be as the spec writes them.
//
// A damaged or hostile file is an error naming it, never a crash: the
// Parquet library panics on some malformed input, so the file is read on
// this goroutine only (with the column readers of parquet/file, not
// pqarrow's, which starts goroutines of its own for struct columns even
// when told not to read in parallel, and a recover here cannot reach
// those), and a panic becomes an error.
func readTable[R any](fsys fs.FS, dir string, s *spec[R], each func(*R) error) (err error) {
	name := s.name + ".parquet"
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
	}()
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	src, ok := f.(pq.ReaderAtSeeker)
	if !ok {
		return errors.New("not a regular file")
	}
	return readFrom(src, s, each)
}

// readFrom reads a table of spec s from src (see readTable).
func readFrom[R any](src pq.ReaderAtSeeker, s *spec[R], each func(*R) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged table (the Parquet library panicked: %v)", p)
		}
	}()
	// A buffered stream per column chunk: pages are read as they are
	// decoded, not a whole column chunk at once.
	props := pq.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled, props.BufferSize = true, 256<<10
	rdr, err := file.NewParquetReader(src, file.WithReadProps(props))
	if err != nil {
		return err
	}
	want, err := s.parquetSchema()
	if err != nil {
		return err
	}
	got := rdr.MetaData().Schema
	loads := make([]func(*R) error, len(s.cols))
	for i := range s.cols {
		c := &s.cols[i]
		var leaves []*leaf
		for j := range want.NumColumns() {
			w := want.Column(j)
			if w.ColumnPath()[0] != c.name {
				continue
			}
			k := got.ColumnIndexByName(w.Path())
			if k < 0 && len(leaves) == 0 && c.since != "" {
				break // written before the column was added: the field stays zero
			}
			if k < 0 && len(leaves) == 0 {
				return fmt.Errorf("no column %s (written by another pcapx? run pcapx analyze -o again)", c.name)
			}
			if k < 0 {
				return fmt.Errorf("column %s has no %s", c.name, w.Path())
			}
			if err := sameLeaf(got.Column(k), w); err != nil {
				return err
			}
			leaves = append(leaves, newLeaf(rdr, k))
		}
		if len(leaves) == 0 {
			loads[i] = func(*R) error { return nil }
			continue
		}
		loads[i] = c.load(leaves)
	}
	for row := range rdr.NumRows() {
		r := new(R)
		for _, load := range loads {
			if err := load(r); err != nil {
				return fmt.Errorf("row %d: %w", row, err)
			}
		}
		if s.derive != nil {
			s.derive(r)
		}
		if err := each(r); err != nil {
			return fmt.Errorf("row %d: %w", row, err)
		}
	}
	return nil
}

// sameLeaf checks that a leaf column of a file is as pcapx writes it
// (want): its physical and logical type, and its levels, where a flat
// column may be OPTIONAL in the file where pcapx writes it REQUIRED (or
// the reverse: a NULL leaves the record's field as it is).
func sameLeaf(got, want *schema.Column) error {
	flat := got.MaxRepetitionLevel() == 0 && want.MaxRepetitionLevel() == 0 &&
		got.MaxDefinitionLevel() <= 1 && want.MaxDefinitionLevel() <= 1
	if got.PhysicalType() != want.PhysicalType() || !got.LogicalType().Equals(want.LogicalType()) ||
		got.MaxRepetitionLevel() != want.MaxRepetitionLevel() ||
		(got.MaxDefinitionLevel() != want.MaxDefinitionLevel() && !flat) {
		return fmt.Errorf("column %s is %s, want %s", want.Path(), describeLeaf(got), describeLeaf(want))
	}
	return nil
}

func describeLeaf(c *schema.Column) string {
	return fmt.Sprintf("%s %s (levels: definition %d, repetition %d)", c.PhysicalType(), c.LogicalType(), c.MaxDefinitionLevel(), c.MaxRepetitionLevel())
}

// leafType is the Go type of a column's values as builders take them and
// leaves give them back.
type leafType interface {
	int32 | int64 | float64 | bool | string | arrow.Timestamp
}

// leaf reads one leaf column of a file, row group after row group, a page
// (at most readBatch levels of it) at a time. The levels say where each
// row starts (repetition level 0) and which have a value (definition
// level at its maximum); the values come densely, without the NULLs and
// empty lists.
type leaf struct {
	rdr            *file.Reader
	col            int   // its index among the file's leaf columns
	maxDef, maxRep int16 // its levels: a value is present at maxDef
	rg             int   // the next row group to read
	cr             file.ColumnChunkReader
	def, rep       []int16
	vals           any // []int32, []int64, []float64, []bool or []parquet.ByteArray, as the column's type
	n, pos         int // levels decoded, and the next to take
	nv, vpos       int // values decoded, and the next to take
}

// errEnd is the end of a leaf column.
var errEnd = errors.New("a column ends before the table's last row")

func newLeaf(rdr *file.Reader, col int) *leaf {
	d := rdr.MetaData().Schema.Column(col)
	l := &leaf{rdr: rdr, col: col, maxDef: d.MaxDefinitionLevel(), maxRep: d.MaxRepetitionLevel(),
		def: make([]int16, readBatch), rep: make([]int16, readBatch)}
	switch d.PhysicalType() { // as sameLeaf checked
	case pq.Types.Int32:
		l.vals = make([]int32, readBatch)
	case pq.Types.Int64:
		l.vals = make([]int64, readBatch)
	case pq.Types.Double:
		l.vals = make([]float64, readBatch)
	case pq.Types.Boolean:
		l.vals = make([]bool, readBatch)
	case pq.Types.ByteArray:
		l.vals = make([]pq.ByteArray, readBatch)
	}
	return l
}

// value is the leaf's value i (an index from next or list) as a V: the
// leaf's own type (a timestamp is an INT64, a string a BYTE_ARRAY,
// copied: the bytes are the page's).
func value[V leafType](l *leaf, i int) V {
	var v V
	switch p := any(&v).(type) {
	case *int32:
		*p = l.vals.([]int32)[i]
	case *int64:
		*p = l.vals.([]int64)[i]
	case *arrow.Timestamp:
		*p = arrow.Timestamp(l.vals.([]int64)[i])
	case *float64:
		*p = l.vals.([]float64)[i]
	case *bool:
		*p = l.vals.([]bool)[i]
	case *string:
		*p = string(l.vals.([]pq.ByteArray)[i])
	}
	return v
}

// fill decodes the next page's levels and values (at most readBatch),
// moving on to the next row group when this one's column chunk is done.
// One page at a time: a string value points into its page's buffer,
// which the next page may reuse, so every value is taken before the next
// fill.
func (l *leaf) fill() error {
	for {
		if l.cr != nil && l.cr.HasNext() {
			var n int64
			var err error
			switch cr := l.cr.(type) {
			case *file.Int32ColumnChunkReader:
				n, l.nv, err = cr.ReadBatchInPage(readBatch, l.vals.([]int32), l.def, l.rep)
			case *file.Int64ColumnChunkReader:
				n, l.nv, err = cr.ReadBatchInPage(readBatch, l.vals.([]int64), l.def, l.rep)
			case *file.Float64ColumnChunkReader:
				n, l.nv, err = cr.ReadBatchInPage(readBatch, l.vals.([]float64), l.def, l.rep)
			case *file.BooleanColumnChunkReader:
				n, l.nv, err = cr.ReadBatchInPage(readBatch, l.vals.([]bool), l.def, l.rep)
			case *file.ByteArrayColumnChunkReader:
				n, l.nv, err = cr.ReadBatchInPage(readBatch, l.vals.([]pq.ByteArray), l.def, l.rep)
			default:
				return fmt.Errorf("column %d: unexpected reader %T", l.col, cr)
			}
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("column %d: a page with values decodes to none", l.col)
			}
			l.n, l.pos, l.vpos = int(n), 0, 0
			return nil
		}
		if l.cr != nil {
			if err := l.cr.Err(); err != nil {
				return err
			}
		}
		if l.rg >= l.rdr.NumRowGroups() {
			return errEnd
		}
		cr, err := l.rdr.RowGroup(l.rg).Column(l.col)
		if err != nil {
			return err
		}
		l.cr, l.rg = cr, l.rg+1
	}
}

// next takes the next level: the index of its value in l.vals, or -1 when
// it has none (a NULL, an empty list), and its repetition level.
func (l *leaf) next() (i int, rep int16, err error) {
	if l.pos == l.n {
		if err := l.fill(); err != nil {
			return -1, 0, err
		}
	}
	i = -1
	if l.maxDef == 0 || l.def[l.pos] == l.maxDef {
		if l.vpos >= l.nv {
			return -1, 0, fmt.Errorf("column %d: more values defined than decoded", l.col)
		}
		i = l.vpos
		l.vpos++
	}
	if l.maxRep > 0 {
		rep = l.rep[l.pos]
	}
	l.pos++
	return i, rep, nil
}

// list calls each with the index of every value of the next row of a
// list column: its first level, and those after it that repeat (level
// 1) until the next row's (0) or the end of the column.
func (l *leaf) list(each func(i int) error) error {
	for first := true; ; first = false {
		if !first {
			if l.pos == l.n {
				if err := l.fill(); err == errEnd {
					return nil
				} else if err != nil {
					return err
				}
			}
			if l.rep[l.pos] == 0 {
				return nil
			}
		}
		i, rep, err := l.next()
		if err != nil {
			return err
		}
		if first && rep != 0 {
			return fmt.Errorf("column %d: a row starts with repetition level %d", l.col, rep)
		}
		if i >= 0 {
			if err := each(i); err != nil {
				return err
			}
		}
	}
}

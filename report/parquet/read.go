package parquet

import (
	"context"
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
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/run"
)

// ErrNoTables is returned (wrapped, naming the directory) by Replay for a
// directory that holds no tables.
var ErrNoTables = errors.New("no pcapx tables")

// readBatch is how many rows are decoded at a time: a table is read a
// record batch at a time, so memory does not grow with its size.
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
	res := &run.Result{Suppressed: map[string]int64{}}
	top := 0 // the run's --top: as many talkers as it listed

	var files []analyze.File
	err := readTable(dir, captureSpec, func(r *captureRow) error {
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
	err = readTable(dir, timelineSpec, func(r *timelineRow) error {
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

	if err := readTable(dir, findingsSpec, func(f *findingRec) error {
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
	if err := readTable(dir, flowsSpec, all.Flow); err != nil {
		return nil, err
	}
	if err := readTable(dir, dnsSpec, all.DNS); err != nil {
		return nil, err
	}
	if err := readTable(dir, httpSpec, all.HTTP); err != nil {
		return nil, err
	}
	if err := readTable(dir, tlsSpec, all.TLS); err != nil {
		return nil, err
	}
	if err := readTable(dir, icmpSpec, all.ICMP); err != nil {
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

// readTable reads dir's table of spec s a record batch at a time and
// calls each with every row as a new record, in file order. The columns
// are found by name (others are ignored) and must have the spec's types.
//
// A damaged or hostile file is an error, never a crash: the Parquet library
// panics on some malformed input, so the columns are decoded on this
// goroutine (not Parallel, whose goroutines a recover here cannot reach)
// and a panic becomes an error naming the file.
func readTable[R any](dir string, s *spec[R], each func(*R) error) (err error) {
	path := filepath.Join(dir, s.name+".parquet")
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged table: %v", p)
		}
		if err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}()
	// A buffered stream per column chunk: pages are read as they are
	// decoded, not a whole row group's column at once.
	props := pq.NewReaderProperties(memory.DefaultAllocator)
	props.BufferedStreamEnabled, props.BufferSize = true, 256<<10
	rdr, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return err
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: readBatch}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	sc, err := fr.Schema()
	if err != nil {
		return err
	}
	idx := make([]int, len(s.cols))
	for i := range s.cols {
		c := &s.cols[i]
		at := sc.FieldIndices(c.name)
		if len(at) != 1 {
			return fmt.Errorf("no column %s (written by another pcapx? run pcapx analyze -o again)", c.name)
		}
		if got, want := sc.Field(at[0]).Type, c.kind.arrowType(); !sameType(got, want) {
			return fmt.Errorf("column %s is %s, want %s", c.name, got, want)
		}
		idx[i] = at[0]
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return err
	}
	defer rr.Release()
	loads := make([]func(*R, int) error, len(s.cols))
	row := 0
	for rr.Next() {
		rec := rr.RecordBatch()
		for i := range s.cols {
			if loads[i], err = s.cols[i].load(rec.Column(idx[i])); err != nil {
				return err
			}
		}
		for i, n := 0, int(rec.NumRows()); i < n; i, row = i+1, row+1 {
			r := new(R)
			for _, load := range loads {
				if err := load(r, i); err != nil {
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
	}
	return rr.Err()
}

// sameType compares two Arrow types, the nullability of list elements
// and struct fields aside (a reader may mark them nullable).
func sameType(a, b arrow.DataType) bool {
	if a.ID() != b.ID() {
		return false
	}
	switch at := a.(type) {
	case *arrow.ListType:
		return sameType(at.Elem(), b.(*arrow.ListType).Elem())
	case *arrow.StructType:
		bt := b.(*arrow.StructType)
		if at.NumFields() != bt.NumFields() {
			return false
		}
		for i := range at.NumFields() {
			if at.Field(i).Name != bt.Field(i).Name || !sameType(at.Field(i).Type, bt.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return arrow.TypeEqual(a, b)
}

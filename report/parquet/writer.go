// Package parquet writes a run as Parquet tables for DuckDB, Spark and
// Trino, and reads it back: one file per table (the records: flows,
// findings, dns, http, tls, icmp; the run: capture, timeline) in one
// directory, optionally under a Hive partition path
// (DIR/date=2026-11-21/host=web1/) so that many nights of many hosts read
// as one table. The tables hold the whole run: Replay (read.go) hands
// their records to a sink again and rebuilds the run's summary, which is
// how `pcapx report DIR` rebuilds the HTML report.
//
// A Writer is an run.Sink. Each table is written by pqarrow.FileWriter
// on a goroutine of its own, beside the analysis (table.go): records go
// through Arrow builders into the row group being built, which is held as
// compressed pages and written out when it has Options.MaxRows rows, so
// memory does not grow with the number of records. Findings, the capture
// overview and the timeline are known only when the run ends: Finish
// writes them and completes the eight files side by side.
//
// The files of a run are a set: the eight tables and the files added with
// AddFile (the HTML report). Each is written under a temporary name in the
// target directory (".flows.parquet.tmp-*", which no "*.parquet" glob
// matches), and only when every one of them is complete are they renamed
// to their names, one after the other, so a run that fails or is
// interrupted leaves the previous run's set as it was: never the tables
// of one run beside the report of another. Abort removes the
// temporaries; Interrupt does from a signal handler; and New removes
// those an earlier run left when it was killed outright (it holds a lock
// on its own while it writes them, so a run never removes another live
// run's files; see stale.go). The Writer creates, replaces and removes
// only its own files: other files in the directory (earlier partitions,
// notes) are left alone.
//
// The files: zstd (fastest level), dictionary encoding for string columns
// (but for the few that hold a distinct value per row; PLAIN for numbers),
// statistics on, 16 KiB pages, a REQUIRED root (some readers reject
// arrow-go's default REPEATED root), Parquet format 2.6 for nanosecond
// timestamps. Times are TIMESTAMP(NANOS) with isAdjustedToUTC=false
// holding UTC values: see tsType for why. docs/schema.md lists every
// column and is generated from the specs in tables.go.
package parquet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/run"
)

// DefaultMaxRows is the default row group size.
const DefaultMaxRows = 64 << 10

// Options tune a Writer.
type Options struct {
	// Partition is a Hive partition path, "key=value" segments joined by
	// "/" (or ","), e.g. "date=2026-11-21/host=web1". The tables go to
	// DIR/<partition>/. Empty: DIR itself. See ParsePartition.
	Partition string
	// MaxRows is the row group size: how many rows of a table are held
	// (encoded and compressed) before they are written out. Zero:
	// DefaultMaxRows.
	MaxRows int
	// Version is pcapx's version, kept in the capture table.
	Version string
}

// Writer writes the tables of one run. It implements run.Sink; its
// methods must be called from one goroutine (analyze.Run does), except
// Interrupt.
type Writer struct {
	dir      string
	version  string
	flows    *table[flowRec]
	findings *table[findingRec]
	dns      *table[dnsRec]
	http     *table[httpRec]
	tls      *table[tlsRec]
	icmp     *table[icmpRec]
	capture  *table[captureRow]
	timeline *table[timelineRow]
	tables   []tableWriter
	extras   []extra

	// fmu guards the temporary files (files, and their tmp names) and
	// interrupted: Interrupt removes the files from another goroutine.
	fmu         sync.Mutex
	files       []*tempFile
	interrupted bool

	stopping atomic.Bool // Abort or Interrupt: the tables' goroutines encode nothing more
	async    firstError  // the tables' goroutines' first error
	done     bool        // Finish or Abort was called
}

var _ run.Borrower = (*Writer)(nil)
var _ run.ICMPSink = (*Writer)(nil)

// BorrowsRecords implements run.Borrower: a table queues a copy of each
// record for its goroutine (table.go).
func (w *Writer) BorrowsRecords() {}

// tableWriter is what the Writer does with every table, whatever its
// record type (table.go).
type tableWriter interface {
	end()  // hand over the last records and complete the file
	wait() // until its goroutine has ended
	sync() // hand over the queued records and wait until they are encoded
}

// extra is a file added to the set (AddFile).
type extra struct {
	name  string
	write func(io.Writer) error
}

// New creates dir (and the partition directories under it), removes the
// temporary files a killed earlier run left there (see removeStale) and
// starts the eight tables under temporary names. The caller must call
// Finish or Abort.
func New(dir string, opts Options) (*Writer, error) {
	if dir == "" {
		return nil, errors.New("parquet output: no directory given")
	}
	part, err := ParsePartition(opts.Partition)
	if err != nil {
		return nil, err
	}
	maxRows := opts.MaxRows
	if maxRows <= 0 {
		maxRows = DefaultMaxRows
	}
	target := filepath.Join(dir, filepath.FromSlash(part))
	if err := os.MkdirAll(target, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create output directory %s: %w", target, err)
	}
	removeStale(target)
	w := &Writer{dir: target, version: opts.Version}
	ok := false
	defer func() {
		if !ok {
			w.Abort()
		}
	}()
	if w.flows, err = start(w, flowsSpec, maxRows); err != nil {
		return nil, err
	}
	if w.findings, err = start(w, findingsSpec, maxRows); err != nil {
		return nil, err
	}
	if w.dns, err = start(w, dnsSpec, maxRows); err != nil {
		return nil, err
	}
	if w.http, err = start(w, httpSpec, maxRows); err != nil {
		return nil, err
	}
	if w.tls, err = start(w, tlsSpec, maxRows); err != nil {
		return nil, err
	}
	if w.icmp, err = start(w, icmpSpec, maxRows); err != nil {
		return nil, err
	}
	if w.capture, err = start(w, captureSpec, maxRows); err != nil {
		return nil, err
	}
	if w.timeline, err = start(w, timelineSpec, maxRows); err != nil {
		return nil, err
	}
	ok = true
	return w, nil
}

// start starts a table and adds it to the Writer's.
func start[R any](w *Writer, s *spec[R], maxRows int) (*table[R], error) {
	t, err := newTable(w, s, maxRows)
	if err == nil {
		w.tables = append(w.tables, t)
	}
	return t, err
}

// Dir is the directory the tables are written to (DIR/<partition>).
func (w *Writer) Dir() string { return w.dir }

// Files are the paths of the tables as they are named once complete.
func (w *Writer) Files() []string {
	var out []string
	for _, s := range Tables() {
		out = append(out, filepath.Join(w.dir, s.Name+".parquet"))
	}
	return out
}

// queue hands a record to its table.
func queue[R any](w *Writer, t *table[R], r *R) error {
	if w.done {
		return errors.New("parquet output: record after Finish or Abort")
	}
	if err := w.async.get(); err != nil {
		return err
	}
	t.add(r)
	return nil
}

// Flow, DNS, HTTP and TLS implement run.Sink.
func (w *Writer) Flow(r *flows.Record) error     { return queue(w, w.flows, r) }
func (w *Writer) DNS(r *flows.DNSRecord) error   { return queue(w, w.dns, r) }
func (w *Writer) HTTP(r *flows.HTTPRecord) error { return queue(w, w.http, r) }
func (w *Writer) TLS(r *flows.TLSRecord) error   { return queue(w, w.tls, r) }

// ICMP implements run.ICMPSink.
func (w *Writer) ICMP(r *flows.ICMPRecord) error { return queue(w, w.icmp, r) }

// AddFile adds a file to the run's set: Finish writes it into Dir() as
// name (write is called with the file, buffered, once the tables have
// their last rows) and renames it with the tables, replacing an earlier
// run's. pcapx analyze -o adds report.html this way, so that the page and
// the tables of one run replace those of the previous run together or
// not at all. name is a file name (no directory), not one of the
// tables'.
func (w *Writer) AddFile(name string, write func(io.Writer) error) error {
	if name == "" || name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("parquet output: %q is not a file name", name)
	}
	for _, f := range w.Files() {
		if filepath.Base(f) == name {
			return fmt.Errorf("parquet output: %s is a table", name)
		}
	}
	w.extras = append(w.extras, extra{name, write})
	return nil
}

// Finish writes the run's findings, its capture overview (a row per
// input file) and its timeline, completes every table and the files
// added with AddFile, and renames them all to their final names
// (replacing the files of an earlier run). On an error the temporary
// files are removed and the directory is left as it was. r may be nil (no
// findings, no capture rows, no timeline).
func (w *Writer) Finish(r *run.Result) error {
	if w.done {
		return errors.New("parquet output: Finish after Finish or Abort")
	}
	w.done = true
	if r != nil {
		for i := range r.Findings {
			w.findings.add(&r.Findings[i])
		}
		for _, row := range captureRows(r, w.version) {
			w.capture.add(row)
		}
		for _, row := range timelineRows(r) {
			w.timeline.add(row)
		}
	}
	// The tables are completed on their goroutines while the extra files
	// are written here.
	for _, t := range w.tables {
		t.end()
	}
	err := w.writeExtras()
	for _, t := range w.tables {
		t.wait()
	}
	if err == nil {
		err = w.async.get()
	}
	if err == nil {
		err = w.commit()
	}
	if err != nil {
		w.Abort()
		return err
	}
	syncDir(w.dir)
	return nil
}

// writeExtras writes the files added with AddFile under temporary names.
func (w *Writer) writeExtras() error {
	for _, e := range w.extras {
		f, err := w.createTemp(e.name)
		if err != nil {
			return err
		}
		bw := bufio.NewWriterSize(f.f, 64<<10)
		if err := e.write(bw); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		if err := f.finish(); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return nil
}

// commit gives every complete file its name, back to back (not while
// Interrupt removes them). A rename that fails part way (they are in one
// directory, so only an outside change to it can make one fail) leaves
// the files renamed so far; Abort then removes the others.
func (w *Writer) commit() error {
	w.fmu.Lock()
	defer w.fmu.Unlock()
	if w.interrupted {
		return errors.New("parquet output: interrupted")
	}
	for _, f := range w.files {
		if err := f.commit(); err != nil {
			return err
		}
	}
	return nil
}

// captureRows are the rows of the capture table: one per input file, each
// with the run's totals.
func captureRows(r *run.Result, version string) []*captureRow {
	sup := sortedRuleCounts(r.Suppressed)
	out := make([]*captureRow, len(r.Capture.Files))
	for i := range out {
		out[i] = &captureRow{Index: i, File: r.Capture.Files[i], Run: *r, Suppressed: sup, Version: version}
	}
	return out
}

// timelineRows are the rows of the timeline table: one per time bucket.
func timelineRows(r *run.Result) []*timelineRow {
	tl := &r.Timeline
	out := make([]*timelineRow, len(tl.Buckets))
	for i := range out {
		out[i] = &timelineRow{StartNS: tl.Start + int64(i)*tl.Width, WidthNS: tl.Width, Bucket: tl.Buckets[i]}
	}
	return out
}

// Interrupt removes the run's temporary files, like Abort, but may be
// called from any goroutine at any time: it is for a signal handler while
// the analysis goes on, which exits the process right after. It only
// removes the files (a table's goroutine still writing to one writes to a
// file no longer in the directory); Finish, if it gets that far, fails.
// If Finish is renaming the files, Interrupt waits for it to end, so the
// directory holds either the previous run's set or all of this run's.
//
// It reports whether it removed anything: false when the files were
// already complete (Finish had renamed them) or already removed.
func (w *Writer) Interrupt() (removed bool) {
	w.stopping.Store(true)
	w.fmu.Lock()
	defer w.fmu.Unlock()
	w.interrupted = true
	for _, f := range w.files {
		removed = f.remove() || removed
	}
	return removed
}

// Abort stops the run's output: it removes the temporary files and ends
// the tables' goroutines, leaving the directory as it was (files of an
// earlier run included). It is safe to call more than once, and after
// Finish (as a deferred cleanup), where it does nothing.
func (w *Writer) Abort() {
	w.stopping.Store(true)
	w.fmu.Lock()
	for _, f := range w.files {
		f.remove() // before closing, while the file is still locked
	}
	w.fmu.Unlock()
	for _, t := range w.tables {
		t.end()
	}
	for _, t := range w.tables {
		t.wait()
	}
	for _, f := range w.files {
		f.close()
	}
	w.done = true
}

// sync hands the queued records to the tables and waits until they are
// encoded (for tests).
func (w *Writer) sync() error {
	for _, t := range w.tables {
		t.sync()
	}
	return w.async.get()
}

// writerProps are the Parquet settings of a table: see the package doc.
// Dictionary encoding is on for the string columns not marked plain;
// arrow-go's encoder falls back to PLAIN in a row group whose dictionary
// outgrows dictPageLimit.
func writerProps[R any](s *spec[R], maxRows int) (*pq.WriterProperties, error) {
	opts := append(schemaProps(),
		pq.WithCompression(compress.Codecs.Zstd),
		pq.WithCompressionLevel(zstdLevel),
		pq.WithDictionaryDefault(false),
		pq.WithStats(true),
		pq.WithMaxRowGroupLength(int64(maxRows)),
		pq.WithDataPageSize(pageSize),
		pq.WithDictionaryPageSizeLimit(dictPageLimit),
		pq.WithCreatedBy("pcapx (github.com/apache/arrow-go/v18)"),
	)
	sc, err := s.parquetSchema()
	if err != nil {
		return nil, err
	}
	plain := map[string]bool{}
	for i := range s.cols {
		if s.cols[i].noDict {
			plain[s.cols[i].name] = true
		}
	}
	for i := range sc.NumColumns() {
		c := sc.Column(i)
		if c.PhysicalType() == pq.Types.ByteArray && !plain[c.ColumnPath()[0]] {
			opts = append(opts, pq.WithDictionaryPath(c.ColumnPath(), true))
		}
	}
	return pq.NewWriterProperties(opts...), nil
}

// schemaProps are the writer settings that shape the Parquet schema (a
// REQUIRED root; format 2.6, where nanosecond timestamps stay nanosecond).
func schemaProps() []pq.WriterProperty {
	return []pq.WriterProperty{pq.WithVersion(pq.V2_LATEST), pq.WithRootRepetition(pq.Repetitions.Required)}
}

// parquetSchema is the Parquet schema of the spec's files: the reader
// (read.go) holds a file's columns to it.
func (s *spec[R]) parquetSchema() (*schema.Schema, error) {
	return pqarrow.ToParquet(s.schema(), pq.NewWriterProperties(schemaProps()...), pqarrow.DefaultWriterProps())
}

// pageSize bounds a column's data page. A row group stays in memory, as
// compressed pages, until it is complete; each column's current page is
// kept uncompressed until it is full. With ~140 columns in all, 1 MiB
// pages (the library's default) would hold up to 140 MiB; 16 KiB pages
// hold about 2 MiB and get compressed while the run goes on rather than
// at its end.
const pageSize = 16 << 10

// dictPageLimit is how large a column's dictionary may grow in a row group
// before the column falls back to PLAIN (a column of mostly distinct
// values gains nothing from one).
const dictPageLimit = 256 << 10

// zstdLevel is zstd's fastest level: the tables are written while the
// capture is read and must slow the analysis down as little as possible.
// On the generated benchmark capture the files come out about 6% larger
// than at the default level (3), and writing them takes 15-20% less CPU.
const zstdLevel = 1

// syncDir makes the renames durable (best effort: not every platform can
// sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Package parquet writes a run as Parquet tables for DuckDB, Spark and
// Trino, and reads it back: one file per table (the records: flows,
// findings, dns, http, tls, icmp; the run: capture, timeline) in one
// directory, optionally under a Hive partition path
// (DIR/date=2026-11-21/host=web1/) so that many nights of many hosts read
// as one table. The tables hold the whole run: Replay (read.go) hands
// their records to a sink again and rebuilds the run's summary, which is
// how `pcapx report DIR` rebuilds the HTML report.
//
// A Writer is an analyze.Sink. It encodes on a goroutine of its own, beside
// the analysis: records go through Arrow builders (batchRows at a time,
// the columns of a batch spread over the cores: see table.go) into the
// row group being built, which is held as compressed pages and written
// out when it has Options.MaxRows rows, so memory does not grow with the
// number of records. Findings, the capture overview and the
// timeline are known only when the run ends: Finish writes them and
// completes the eight files side by side. Each file is written under a
// temporary name in the target directory (".flows.parquet.tmp-*", which
// no "*.parquet" glob matches) and renamed over "flows.parquet" only when
// it is complete, so an interrupted run never leaves a file that looks
// whole, and a reader of the previous run's file sees either it or the
// new one. Abort removes the temporaries; Interrupt does from a signal
// handler; and New removes those an earlier run left when it was killed
// outright (it holds a lock on its own while it writes them, so a run
// never removes another live run's files; see stale.go). The Writer
// creates, replaces and removes only its own files: other files in the
// directory (the HTML report, earlier partitions) are left alone.
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
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
)

// DefaultMaxRows is the default row group size.
const DefaultMaxRows = 64 << 10

// batchRows is how many rows the Arrow builders hold before they are
// encoded into the row group being built.
//
// Each column of a batch is a pass over its records, so the batch's
// records should stay in the core's cache from the first column to the
// last: 1024 flow records are 544 KiB, 4096 are 2.1 MiB, past this
// machine's 1 MiB L2. Larger batches pay pqarrow's setup per column and
// batch less often, but beside the analysis, which is bound by memory
// latency, the writer's cache misses are what slow it down. In-process
// A/B runs of the 250 MB benchmark capture (30 iterations, the order
// rotated each time; 2 vCPUs, the collector policy's floor at 80 MiB for
// both, before MemoryReserve), the Parquet overhead, median:
//
//	rows per batch       4096    2048    1024     512
//	Go's default GC     24.8%   20.7%   18.6%   19.1%
//	pcapx's GC policy   26.8%   21.9%   23.2%   22.1%
//
// Below 4096 the sizes are within each other's noise; 1024 is the
// hand-over's size too (chunkLen). On the 1 GB capture (default GC, 10
// iterations): 16.8% at 4096, 15.7% at 1024. The writer's CPU alone
// (BenchmarkWrite) did not change beyond the noise.
const batchRows = 1024

// MemoryReserve is what a Writer (with the HTML report's collector that
// pcapx analyze -o runs beside it) holds and makes while the analysis
// runs, for the collector policy to add to its floor
// (memlimit.Start(MemoryReserve)): the chunks queued to the encoder, the
// Arrow builders and the pool that recycles their buffers, each column
// writer's page buffers, the row groups held as compressed pages until
// they are complete, the dictionaries, and the garbage of all that. On
// the 250 MB capture the Writer allocates about 34 MB per run
// (BenchmarkParquet on minus off, B/op), 24-29 MB of it garbage
// (BenchmarkWrite). Without the reserve, the run with -o collected twice
// where the analysis alone collected once, and those collections were
// about half of what writing the tables added to the run (see
// internal/memlimit). Of the sizes tried, 32 MiB still collected twice,
// 64 MiB once, and 128 MiB not at all, which is fewer times than the
// analysis alone and would flatter the overhead: 64 MiB.
const MemoryReserve = 64 << 20

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

// Writer writes the tables of one run. It implements analyze.Sink; its
// methods must be called from one goroutine (analyze.Run does).
//
// The records are encoded on a goroutine of the Writer's own: a sink call
// only queues the record (the analysis hands records over for good, see
// analyze.Sink), so the encoding and compression run beside the analysis
// instead of in its way, and Finish completes the eight files side by side.
// The queue is short (a few thousand records), so memory stays bounded and
// a slow disk slows the analysis down rather than filling memory.
type Writer struct {
	dir      string
	flows    *table[flowRec]
	findings *table[findingRec]
	dns      *table[dnsRec]
	http     *table[httpRec]
	tls      *table[tlsRec]
	icmp     *table[icmpRec]
	capture  *table[captureRow]
	timeline *table[timelineRow]
	all      []tableFile
	version  string

	// fmu guards the temporary files' names (table.tmp) and interrupted:
	// Interrupt removes the files from another goroutine.
	fmu         sync.Mutex
	interrupted bool

	pending []item      // records not yet handed to the encoder
	work    chan chunk  // to the encoder goroutine
	free    chan []item // chunks the encoder is done with, for queue to fill again
	stopped chan struct{}
	running bool // the encoder goroutine has not been stopped

	tail atomic.Bool // the input has ended (InputEnded, Finish)

	mu       sync.Mutex
	asyncErr error // the encoder's first error

	err  error // first error: every later call returns it
	done bool  // Finish or Abort was called
}

var _ analyze.Sink = (*Writer)(nil)

// item is one queued record; exactly one pointer is set.
type item struct {
	flow *flows.Record
	dns  *flows.DNSRecord
	http *flows.HTTPRecord
	tls  *flows.TLSRecord
	icmp *flows.ICMPRecord
}

// chunk is a run of records for the encoder; ack, if set, is closed once
// they are encoded (tests use it to wait).
type chunk struct {
	items []item
	ack   chan struct{}
}

// chunkLen is how many records go to the encoder per hand-over (one
// channel operation). The encoder is faster than the analysis and waits
// for work most of the time, so a hand-over usually wakes it, and the
// analysis then often waited to be scheduled again (go tool trace
// -pprof=sched: the time goroutines were runnable but not running, three
// runs of the 250 MB benchmark capture with the writer, 2 vCPUs):
//
//	records per hand-over              256     1024    4096
//	scheduling delay per run           60      41      38 ms
//	  of it, the analysis after a send 36      8       2 ms
//	Finish (after the last packet)     23      23      31-34 ms
//	overhead (analysis + writer        25-29%  20-25%  24-31%
//	  against the analysis alone, pcapx's GC policy, medians of 20
//	  alternating rounds, twice)
//
// (measured with batches of 4096 rows and before MemoryReserve: the
// overhead is lower now, see batchRows and the README).
//
// Larger chunks leave more for Finish: the last one is handed over only
// when the analysis ends. Memory: the chunks hold pointers to records the
// analysis has finished with, at most (cap(work)+2)·chunkLen of them (the
// chunk being filled, those queued, the one being encoded).
const chunkLen = 1024

// tableFile is what the Writer does with every table, whatever its record type.
type tableFile interface {
	close() error  // write the footer, flush and sync the temporary file (still open, still locked)
	commit() error // rename it to its final name and close it (w.fmu held)
	abort()        // close and remove the temporary file
	remove() bool  // remove the temporary file, from any goroutine (w.fmu held); false if there was none
	finalPath() string
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
	max := opts.MaxRows
	if max <= 0 {
		max = DefaultMaxRows
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
	if w.flows, err = newTable(w, flowsSpec, max); err != nil {
		return nil, err
	}
	if w.findings, err = newTable(w, findingsSpec, max); err != nil {
		return nil, err
	}
	if w.dns, err = newTable(w, dnsSpec, max); err != nil {
		return nil, err
	}
	if w.http, err = newTable(w, httpSpec, max); err != nil {
		return nil, err
	}
	if w.tls, err = newTable(w, tlsSpec, max); err != nil {
		return nil, err
	}
	if w.icmp, err = newTable(w, icmpSpec, max); err != nil {
		return nil, err
	}
	if w.capture, err = newTable(w, captureSpec, max); err != nil {
		return nil, err
	}
	if w.timeline, err = newTable(w, timelineSpec, max); err != nil {
		return nil, err
	}
	w.work = make(chan chunk, 4)
	w.free = make(chan []item, cap(w.work)+2)
	w.pending = w.emptyChunk()
	w.stopped = make(chan struct{})
	w.running = true
	go w.encode()
	ok = true
	return w, nil
}

// encode is the encoder goroutine: it appends the queued records to their
// tables until the queue is closed. After an error it keeps draining (so
// the sink calls never block) but writes nothing more.
func (w *Writer) encode() {
	defer close(w.stopped)
	var err error
	for c := range w.work {
		if err == nil {
			err = safely(func() error { return w.encodeChunk(c.items) })
			if err != nil {
				w.mu.Lock()
				w.asyncErr = err
				w.mu.Unlock()
			}
		}
		if c.ack != nil {
			close(c.ack)
		}
		clear(c.items) // the tables hold what they still need
		select {
		case w.free <- c.items[:0]:
		default:
		}
	}
}

// emptyChunk is an empty chunk for queue to fill: one the encoder is done
// with, or a new one.
func (w *Writer) emptyChunk() []item {
	select {
	case c := <-w.free:
		return c
	default:
		return make([]item, 0, chunkLen)
	}
}

func (w *Writer) encodeChunk(items []item) error {
	for i := range items {
		var err error
		switch it := &items[i]; {
		case it.flow != nil:
			err = w.flows.add(it.flow)
		case it.dns != nil:
			err = w.dns.add(it.dns)
		case it.http != nil:
			err = w.http.add(it.http)
		case it.tls != nil:
			err = w.tls.add(it.tls)
		case it.icmp != nil:
			err = w.icmp.add(it.icmp)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// safely runs f and turns a panic into an error: the Parquet library
// panics on some write failures, and a panic on one of the Writer's own
// goroutines would end the process without its cleanup (Abort).
func safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("parquet output: %v", p)
		}
	}()
	return f()
}

// Dir is the directory the tables are written to (DIR/<partition>).
func (w *Writer) Dir() string { return w.dir }

// Files are the paths of the tables as they are named once complete.
func (w *Writer) Files() []string {
	out := make([]string, len(w.all))
	for i, t := range w.all {
		out[i] = t.finalPath()
	}
	return out
}

func (w *Writer) keep(err error) error {
	if err != nil && w.err == nil {
		w.err = err
	}
	return w.err
}

// check returns the first error, the encoder's included.
func (w *Writer) check() error {
	if w.err == nil {
		w.mu.Lock()
		w.err = w.asyncErr
		w.mu.Unlock()
	}
	return w.err
}

// queue hands a record to the encoder.
func (w *Writer) queue(it item) error {
	if w.done {
		return errors.New("parquet output: record after Finish or Abort")
	}
	w.pending = append(w.pending, it)
	if len(w.pending) == chunkLen {
		return w.handOver()
	}
	return nil
}

// handOver gives the encoder the queued records.
func (w *Writer) handOver() error {
	if err := w.check(); err != nil {
		return err
	}
	w.send(nil)
	return nil
}

// send queues the pending records for the encoder (ack, if set, is closed
// once they are encoded) and starts a new chunk.
func (w *Writer) send(ack chan struct{}) {
	w.work <- chunk{items: w.pending, ack: ack}
	w.pending = w.emptyChunk()
}

// sync hands over the queued records and waits until they are encoded.
func (w *Writer) sync() error {
	if w.running {
		ack := make(chan struct{})
		w.send(ack)
		<-ack
	}
	return w.check()
}

// stop hands over the queued records, lets the encoder finish them and
// ends it.
func (w *Writer) stop() {
	if w.running {
		w.running = false
		if len(w.pending) > 0 {
			w.work <- chunk{items: w.pending}
			w.pending = nil
		}
		close(w.work)
		<-w.stopped
	}
}

// InputEnded implements analyze.InputEnder: from here on the tables are
// encoded on every core (while the input was read, one was left to the
// analysis), starting with the records queued now.
func (w *Writer) InputEnded() {
	w.tail.Store(true)
	if w.running && !w.done && len(w.pending) > 0 {
		w.keep(w.handOver())
	}
}

var _ analyze.InputEnder = (*Writer)(nil)

// Flow, DNS, HTTP and TLS implement analyze.Sink.
func (w *Writer) Flow(r *flows.Record) error     { return w.queue(item{flow: r}) }
func (w *Writer) DNS(r *flows.DNSRecord) error   { return w.queue(item{dns: r}) }
func (w *Writer) HTTP(r *flows.HTTPRecord) error { return w.queue(item{http: r}) }
func (w *Writer) TLS(r *flows.TLSRecord) error   { return w.queue(item{tls: r}) }

// ICMP implements analyze.ICMPSink.
func (w *Writer) ICMP(r *flows.ICMPRecord) error { return w.queue(item{icmp: r}) }

// Finish writes the run's findings, its capture overview (a row per
// input file) and its timeline, completes every table and renames the
// files to their final names (replacing the files of an earlier run). On
// an error the temporary files are removed. r may be nil (no findings, no
// capture rows, no timeline).
func (w *Writer) Finish(r *analyze.Result) error {
	if w.done {
		return errors.New("parquet output: Finish after Finish or Abort")
	}
	w.tail.Store(true)
	w.stop()
	if w.check() == nil && r != nil {
		w.keep(safely(func() error {
			for i := range r.Findings {
				if err := w.findings.add(&r.Findings[i]); err != nil {
					return err
				}
			}
			for _, row := range captureRows(r, w.version) {
				if err := w.capture.add(row); err != nil {
					return err
				}
			}
			for _, row := range timelineRows(r) {
				if err := w.timeline.add(row); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	if w.err == nil {
		// The tables are independent: complete them side by side.
		errs := make([]error, len(w.all))
		var wg sync.WaitGroup
		for i, t := range w.all {
			wg.Go(func() { errs[i] = safely(t.close) })
		}
		wg.Wait()
		w.keep(errors.Join(errs...))
	}
	if w.err != nil {
		w.Abort()
		return w.err
	}
	// Every table is complete on disk: only now do they take their names,
	// one rename each, back to back (not while Interrupt removes them).
	w.fmu.Lock()
	if w.interrupted {
		w.keep(errors.New("parquet output: interrupted"))
	}
	for _, t := range w.all {
		if w.err != nil || w.keep(t.commit()) != nil {
			break
		}
	}
	w.fmu.Unlock()
	if w.err != nil {
		w.Abort()
		return w.err
	}
	w.done = true
	syncDir(w.dir)
	return nil
}

// captureRows are the rows of the capture table: one per input file, each
// with the run's totals.
func captureRows(r *analyze.Result, version string) []*captureRow {
	sup := sortedRuleCounts(r.Suppressed)
	out := make([]*captureRow, len(r.Capture.Files))
	for i := range out {
		out[i] = &captureRow{Index: i, File: r.Capture.Files[i], Run: *r, Suppressed: sup, Version: version}
	}
	return out
}

// timelineRows are the rows of the timeline table: one per time bucket.
func timelineRows(r *analyze.Result) []*timelineRow {
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
// removes the files (an encoder still writing to one writes to a file no
// longer in the directory); Finish, if it gets that far, fails. If
// Finish is renaming the files, Interrupt waits for it to end, so the
// directory holds either the previous run's tables or all of this run's.
//
// It reports whether it removed anything: false when the tables were
// already complete (Finish had renamed them) or already removed.
func (w *Writer) Interrupt() (removed bool) {
	w.fmu.Lock()
	defer w.fmu.Unlock()
	w.interrupted = true
	for _, t := range w.all {
		removed = t.remove() || removed
	}
	return removed
}

// Abort stops the run's output: it closes the tables and removes their
// temporary files, leaving the directory as it was (files of an earlier
// run included). It is safe to call more than once, and after Finish (as a
// deferred cleanup), where it does nothing.
func (w *Writer) Abort() {
	w.pending = nil // not worth encoding now
	w.stop()
	w.fmu.Lock()
	defer w.fmu.Unlock()
	for _, t := range w.all {
		t.abort()
	}
	w.done = true
}

// writerProps are the Parquet settings of a table: see the package doc.
// Dictionary encoding is on for the string columns not marked plain.
func writerProps[R any](s *spec[R], maxRows int) (*pq.WriterProperties, error) {
	opts := []pq.WriterProperty{
		pq.WithVersion(pq.V2_LATEST),
		pq.WithRootRepetition(pq.Repetitions.Required),
		pq.WithCompression(compress.Codecs.Zstd),
		pq.WithCompressionLevel(zstdLevel),
		pq.WithDictionaryDefault(false),
		pq.WithStats(true),
		pq.WithMaxRowGroupLength(int64(maxRows)),
		pq.WithDataPageSize(pageSize),
		pq.WithDictionaryPageSizeLimit(dictPageLimit),
		pq.WithCreatedBy("pcapx (github.com/apache/arrow-go/v18)"),
		pq.WithAllocator(tableAllocator),
	}
	schema, err := pqarrow.ToParquet(s.schema(), pq.NewWriterProperties(opts...), pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, err
	}
	plain := map[string]bool{}
	for i := range s.cols {
		if s.cols[i].noDict {
			plain[s.cols[i].name] = true
		}
	}
	for _, c := range schema.Columns() {
		if c.PhysicalType() == pq.Types.ByteArray && !plain[c.ColumnPath()[0]] {
			opts = append(opts, pq.WithDictionaryPath(c.ColumnPath(), true))
		}
	}
	return pq.NewWriterProperties(opts...), nil
}

// pageSize bounds a column's data page. A row group stays in memory, as
// compressed pages, until it is complete; each column's current page is
// kept uncompressed until it is full. With ~140 columns in all, 1 MiB
// pages (the library's default) would hold up to 140 MiB; 16 KiB pages
// hold about 2 MiB and get compressed while the run goes on rather than
// at its end. They are also what most of the Writer's garbage is made
// of: arrow-go gives every column writer (one per column and row group)
// its own page buffers, grown to the page size, so on the benchmark
// capture 16 KiB pages made 22 MB of garbage per run where 64 KiB pages
// made 39 MB (BenchmarkWrite, B/op), for files 1.7% larger and no CPU
// time that could be told apart. (Dictionary columns are the exception:
// a row group's indices are one page, see dictionary in table.go.)
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

// Package parquet writes a run's records as Parquet tables for DuckDB,
// Spark and Trino: one file per table (flows, findings, dns, http, tls,
// icmp) in one directory, optionally under a Hive partition path
// (DIR/date=2026-11-21/host=web1/) so that many nights of many hosts read
// as one table.
//
// A Writer is an analyze.Sink. It encodes on a goroutine of its own, beside
// the analysis: records go through Arrow builders (batchRows at a time)
// into the row group being built, which is held as compressed pages and
// written out when it has Options.MaxRows rows, so memory does not grow
// with the number of records. Findings are known only when the run ends:
// Finish writes them and completes the six files side by side. Each file
// is written under a temporary name in the target directory
// (".flows.parquet.tmp-*", which no "*.parquet" glob matches) and renamed
// over "flows.parquet" only when it is complete, so an interrupted run
// never leaves a file that looks whole, and a reader of the previous run's
// file sees either it or the new one. Abort removes the temporaries. The
// Writer creates, replaces and removes only its own files: other files in
// the directory (the HTML report, earlier partitions) are left alone.
//
// The files: zstd (fastest level), dictionary encoding for string columns
// (but for the few that hold a distinct value per row; PLAIN for numbers),
// statistics on, 64 KiB pages, a REQUIRED root (some readers reject
// arrow-go's default REPEATED root), Parquet format 2.6 for nanosecond
// timestamps. Times are TIMESTAMP(NANOS) with isAdjustedToUTC=false
// holding UTC values: see tsType for why. docs/schema.md lists every
// column and is generated from the specs in tables.go.
package parquet

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
)

// DefaultMaxRows is the default row group size.
const DefaultMaxRows = 64 << 10

// batchRows is how many rows the Arrow builders hold before they are
// encoded into the row group being built: small batches stay in the CPU's
// caches and the builders never grow by copying.
const batchRows = 1024

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
}

// Writer writes the tables of one run. It implements analyze.Sink; its
// methods must be called from one goroutine (analyze.Run does).
//
// The records are encoded on a goroutine of the Writer's own: a sink call
// only queues the record (the analysis hands records over for good, see
// analyze.Sink), so the encoding and compression run beside the analysis
// instead of in its way, and Finish completes the six files side by side.
// The queue is short (a few thousand records), so memory stays bounded and
// a slow disk slows the analysis down rather than filling memory.
type Writer struct {
	dir      string
	flows    *table[flowRec]
	findings *table[findingRec]
	dns      *table[dnsRec]
	http     *table[httpRec]
	tls      *table[tlsRec]
	icmp     *table[icmpRecord]
	all      []tableFile

	pending []item     // records not yet handed to the encoder
	work    chan chunk // to the encoder goroutine
	stopped chan struct{}
	running bool // the encoder goroutine has not been stopped

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
}

// chunk is a run of records for the encoder; ack, if set, is closed once
// they are encoded (tests use it to wait).
type chunk struct {
	items []item
	ack   chan struct{}
}

const chunkLen = 256 // records per hand-over: one channel operation each

// tableFile is what the Writer does with every table, whatever its record type.
type tableFile interface {
	close() error  // write the footer, flush and sync the temporary file
	commit() error // rename it to its final name
	abort()        // close and remove the temporary file
	finalPath() string
}

// New creates dir (and the partition directories under it) and starts the
// six tables under temporary names. The caller must call Finish or Abort.
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
	w := &Writer{dir: target}
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
	w.pending = make([]item, 0, chunkLen)
	w.work = make(chan chunk, 8)
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
		if err := w.check(); err != nil {
			return err
		}
		w.work <- chunk{items: w.pending}
		w.pending = make([]item, 0, chunkLen)
	}
	return nil
}

// sync hands over the queued records and waits until they are encoded.
func (w *Writer) sync() error {
	if w.running {
		ack := make(chan struct{})
		w.work <- chunk{items: w.pending, ack: ack}
		w.pending = make([]item, 0, chunkLen)
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

// Flow, DNS, HTTP and TLS implement analyze.Sink.
func (w *Writer) Flow(r *flows.Record) error     { return w.queue(item{flow: r}) }
func (w *Writer) DNS(r *flows.DNSRecord) error   { return w.queue(item{dns: r}) }
func (w *Writer) HTTP(r *flows.HTTPRecord) error { return w.queue(item{http: r}) }
func (w *Writer) TLS(r *flows.TLSRecord) error   { return w.queue(item{tls: r}) }

// Finish writes the run's findings, completes every table and renames the
// files to their final names (replacing the files of an earlier run). On
// an error the temporary files are removed. r may be nil (no findings).
func (w *Writer) Finish(r *analyze.Result) error {
	if w.done {
		return errors.New("parquet output: Finish after Finish or Abort")
	}
	w.stop()
	if w.check() == nil && r != nil {
		w.keep(safely(func() error {
			for i := range r.Findings {
				if err := w.findings.add(&r.Findings[i]); err != nil {
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
	// one rename each, back to back.
	for _, t := range w.all {
		if w.keep(t.commit()) != nil {
			w.Abort()
			return w.err
		}
	}
	w.done = true
	syncDir(w.dir)
	return nil
}

// Abort stops the run's output: it closes the tables and removes their
// temporary files, leaving the directory as it was (files of an earlier
// run included). It is safe to call more than once, and after Finish (as a
// deferred cleanup), where it does nothing.
func (w *Writer) Abort() {
	w.pending = nil // not worth encoding now
	w.stop()
	for _, t := range w.all {
		t.abort()
	}
	w.done = true
}

// table is one Parquet file being written.
type table[R any] struct {
	spec  *spec[R]
	path  string // final name
	tmp   string // "" once renamed or removed
	f     *os.File
	bw    *bufio.Writer
	fw    *pqarrow.FileWriter
	rb    *array.RecordBuilder
	app   []func(*R)
	n     int // rows in the builders
	batch int // rows handed to the Parquet writer at a time
	// dataLen is the string bytes of each column in the last batch.
	dataLen []int
}

func newTable[R any](w *Writer, s *spec[R], max int) (*table[R], error) {
	t := &table[R]{spec: s, path: filepath.Join(w.dir, s.name+".parquet"), batch: min(max, batchRows)}
	f, err := os.CreateTemp(w.dir, "."+s.name+".parquet.tmp-*")
	if err != nil {
		return nil, fmt.Errorf("parquet output: %w", err)
	}
	t.f, t.tmp = f, f.Name()
	w.all = append(w.all, t) // from here on Abort removes it
	sc := s.schema()
	props, err := writerProps(s, max)
	if err != nil {
		return nil, fmt.Errorf("parquet output %s: %w", s.name, err)
	}
	t.bw = bufio.NewWriterSize(f, 256<<10)
	if t.fw, err = pqarrow.NewFileWriter(sc, t.bw, props, pqarrow.NewArrowWriterProperties()); err != nil {
		return nil, fmt.Errorf("parquet output %s: %w", s.name, err)
	}
	t.rb = array.NewRecordBuilder(memory.DefaultAllocator, sc)
	t.app = make([]func(*R), len(s.cols))
	for i := range s.cols {
		t.app[i] = s.cols[i].bind(t.rb.Field(i))
	}
	return t, nil
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
// pages (the library's default) would hold up to 140 MiB; 64 KiB pages
// keep that under 10 MiB, get compressed while the run goes on rather
// than at its end, and still let DuckDB skip pages by their statistics.
const pageSize = 64 << 10

// dictPageLimit is how large a column's dictionary may grow in a row group
// before the column falls back to PLAIN (a column of mostly distinct
// values gains nothing from one).
const dictPageLimit = 256 << 10

// zstdLevel is zstd's fastest level: the tables are written while the
// capture is read and must slow the analysis down as little as possible.
// On the generated benchmark capture the files come out about 6% larger
// than at the default level (3), and writing them takes 15-20% less CPU.
const zstdLevel = 1

func (t *table[R]) add(r *R) error {
	for _, a := range t.app {
		a(r)
	}
	t.n++
	if t.n >= t.batch {
		return t.flush()
	}
	return nil
}

// flush hands the rows in the builders to the Parquet writer, which
// encodes and compresses them into the pages of the current row group
// (kept in memory in that compact form) and writes the row group out when
// it reaches MaxRows rows.
func (t *table[R]) flush() error {
	if t.n == 0 {
		return nil
	}
	// The next batch is likely the size of this one: reserve that, so
	// the builders do not grow by copying.
	if t.dataLen == nil {
		t.dataLen = make([]int, len(t.spec.cols))
	}
	for i, b := range t.rb.Fields() {
		if sb, ok := b.(*array.StringBuilder); ok {
			t.dataLen[i] = sb.DataLen()
		}
	}
	rec := t.rb.NewRecordBatch() // hands the buffers over and resets the builders
	t.n = 0
	err := t.fw.WriteBuffered(rec)
	rec.Release()
	if err != nil {
		return fmt.Errorf("parquet output %s: %w", t.spec.name, err)
	}
	t.rb.Reserve(t.batch)
	for i, b := range t.rb.Fields() {
		if sb, ok := b.(*array.StringBuilder); ok && t.dataLen[i] > 0 {
			sb.ReserveData(t.dataLen[i] + t.dataLen[i]/8)
		}
	}
	return nil
}

func (t *table[R]) close() error {
	if err := t.flush(); err != nil {
		return err
	}
	t.rb.Release()
	t.rb = nil
	err := t.fw.Close()
	if err == nil {
		err = t.bw.Flush()
	}
	if err == nil {
		err = t.f.Chmod(0o644) // CreateTemp makes 0600; a table is for readers
	}
	if err == nil {
		err = t.f.Sync()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	t.f = nil
	if err != nil {
		return fmt.Errorf("parquet output %s: %w", t.tmp, err)
	}
	return nil
}

func (t *table[R]) commit() error {
	if err := os.Rename(t.tmp, t.path); err != nil {
		return fmt.Errorf("parquet output: %w", err)
	}
	t.tmp = ""
	return nil
}

func (t *table[R]) abort() {
	if t.rb != nil {
		t.rb.Release()
		t.rb = nil
	}
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
	if t.tmp != "" {
		os.Remove(t.tmp)
		t.tmp = ""
	}
}

func (t *table[R]) finalPath() string { return t.path }

// syncDir makes the renames durable (best effort: not every platform can
// sync a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

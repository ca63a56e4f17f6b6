package parquet

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// table is one Parquet file being written, on a goroutine of its own.
//
// The sink's goroutine collects copies of the records in a chunk (chunkLen
// of them; the chunks go round, encoded ones coming back to be filled) and
// hands full chunks to the table's goroutine, which appends each record to
// the Arrow builders of its columns (col.bind) and gives the record batch
// to pqarrow.FileWriter.WriteBuffered. That encodes and compresses it into
// the row group being built, which the FileWriter writes out when it has
// Options.MaxRows rows: what a table holds is a chunk or two of records
// and one row group as compressed pages, whatever the number of records.
// The channel is short, so a slow disk slows the analysis down rather than
// filling memory.
//
// One goroutine per table, not one for all: a flow record leaves the flow
// table only when the flow has been idle for a while, so in most captures
// the flows arrive at the end, with the last packet; their table, the
// widest, is then encoded beside the completion of the others instead of
// after it.
type table[R any] struct {
	spec    *spec[R]
	out     *tempFile
	bw      *bufio.Writer
	fw      *pqarrow.FileWriter
	rb      *array.RecordBuilder
	app     []func(*R) // appends a record's value to each column's builder
	pending []R        // the chunk being filled (the sink's goroutine)
	work    chan chunk[R]
	// spent are chunks the goroutine has encoded, for add to fill again.
	spent chan []R
	done  chan struct{} // closed when the goroutine has ended
	stop  *atomic.Bool  // the Writer is aborted: encode nothing more
	errs  *firstError   // the Writer's: where the goroutine's error goes
}

// chunk is a run of records for the table's goroutine; ack, if set, is
// closed once they are encoded (tests use it to wait). The records are
// copies: the sink keeps nothing it is handed (run.Borrower), so the run
// can reuse its records, and a copy of a record costs less than a new one.
type chunk[R any] struct {
	recs []R
	ack  chan struct{}
}

// chunkLen is how many records go to a table's goroutine per hand-over
// (one channel operation, and one record batch for the FileWriter).
const chunkLen = 1024

func newTable[R any](w *Writer, s *spec[R], maxRows int) (*table[R], error) {
	out, err := w.createTemp(s.name + ".parquet")
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*table[R], error) { return nil, fmt.Errorf("parquet output %s: %w", s.name, err) }
	props, err := writerProps(s, maxRows)
	if err != nil {
		return fail(err)
	}
	t := &table[R]{spec: s, out: out, work: make(chan chunk[R], 2), spent: make(chan []R, 3), done: make(chan struct{}),
		stop: &w.stopping, errs: &w.async}
	// FileWriter.Close closes the writer it was given if it can; the file
	// must stay open, and locked, until it has its final name (commit).
	t.bw = bufio.NewWriterSize(out.f, 64<<10)
	if t.fw, err = pqarrow.NewFileWriter(s.schema(), t.bw, props, pqarrow.DefaultWriterProps()); err != nil {
		return fail(err)
	}
	t.rb = array.NewRecordBuilder(memory.DefaultAllocator, s.schema())
	for i := range s.cols {
		t.app = append(t.app, s.cols[i].bind(t.rb.Field(i)))
	}
	// pending grows as records come (a table of a few rows, capture or
	// timeline, stays small); full chunks come back to be filled again.
	go t.run(t.work)
	return t, nil
}

// add queues a copy of a record (from the sink's goroutine).
func (t *table[R]) add(r *R) {
	t.pending = append(t.pending, *r)
	if len(t.pending) == chunkLen {
		t.handOver(nil)
	}
}

// handOver gives the queued records to the table's goroutine.
func (t *table[R]) handOver(ack chan struct{}) {
	t.work <- chunk[R]{recs: t.pending, ack: ack}
	select {
	case t.pending = <-t.spent:
	default:
		t.pending = nil
	}
}

// sync hands the queued records over and waits until they are encoded.
func (t *table[R]) sync() {
	ack := make(chan struct{})
	t.handOver(ack)
	<-ack
}

// run is the table's goroutine: it encodes what it is handed until the
// channel is closed, then completes the file (Finish) unless the Writer
// is being aborted. After an error it keeps draining the channel, so that
// the sink never blocks, but writes nothing more.
func (t *table[R]) run(work <-chan chunk[R]) {
	defer close(t.done)
	var err error
	for c := range work {
		if err == nil && !t.stop.Load() {
			if err = safely(func() error { return t.write(c.recs) }); err != nil {
				t.errs.set(fmt.Errorf("parquet output %s: %w", t.out.path, err))
			}
		}
		clear(c.recs) // let go of the records' strings
		select {
		case t.spent <- c.recs[:0]:
		default:
		}
		if c.ack != nil {
			close(c.ack)
		}
	}
	if err == nil && !t.stop.Load() {
		if err = safely(t.complete); err != nil {
			t.errs.set(fmt.Errorf("parquet output %s: %w", t.out.path, err))
		}
	}
}

// write appends recs to the row group being built.
func (t *table[R]) write(recs []R) error {
	if len(recs) == 0 {
		return nil
	}
	for i := range recs {
		for _, app := range t.app {
			app(&recs[i])
		}
	}
	rec := t.rb.NewRecordBatch()
	defer rec.Release()
	return t.fw.WriteBuffered(rec)
}

// complete writes the last row group and the footer, and flushes and
// syncs the temporary file (still open, still locked).
func (t *table[R]) complete() error {
	if err := t.fw.Close(); err != nil {
		return err
	}
	if err := t.bw.Flush(); err != nil {
		return err
	}
	return t.out.finish()
}

// end hands over the last records and tells the goroutine to complete
// the file (or, with the Writer stopping, to drop them and leave the file
// incomplete); wait waits until it has.
func (t *table[R]) end() {
	if t.work != nil {
		if len(t.pending) > 0 && !t.stop.Load() {
			t.handOver(nil)
		}
		t.pending = nil
		close(t.work)
		t.work = nil
	}
}

func (t *table[R]) wait() {
	<-t.done
	if t.rb != nil {
		t.rb.Release()
		t.rb = nil
	}
}

func (t *table[R]) file() *tempFile { return t.out }

// firstError keeps the first error of the goroutines that set it.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (e *firstError) set(err error) {
	e.mu.Lock()
	if e.err == nil {
		e.err = err
	}
	e.mu.Unlock()
}

func (e *firstError) get() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
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

// tempFile is a file of the set a Writer writes (a table, or an extra
// file such as report.html), under a temporary name in the target
// directory until the whole set is complete (see Writer.Finish).
type tempFile struct {
	path string   // final name
	tmp  string   // "" once renamed or removed (guarded by the Writer's fmu)
	f    *os.File // open, and locked, until renamed or removed
}

// createTemp creates the temporary file of name (a file name in w.dir)
// and takes its lock; from here on Abort and Interrupt remove it.
func (w *Writer) createTemp(name string) (*tempFile, error) {
	f, err := createLocked(w.dir, tmpPrefix(name)+"*")
	if err != nil {
		return nil, fmt.Errorf("parquet output: %w", err)
	}
	t := &tempFile{path: filepath.Join(w.dir, name), tmp: f.Name(), f: f}
	w.fmu.Lock()
	w.files = append(w.files, t)
	w.fmu.Unlock()
	return t, nil
}

// finish makes the complete file readable by all (CreateTemp makes 0600)
// and durable.
func (t *tempFile) finish() error {
	if err := t.f.Chmod(0o644); err != nil {
		return err
	}
	return t.f.Sync()
}

// commit renames the complete file and only then closes it: it stays
// locked until it has its final name, so no other run takes it for a
// killed run's leftover (removeStale) in between.
func (t *tempFile) commit() error {
	if t.tmp == "" {
		return fmt.Errorf("parquet output: %s: its temporary file was removed", t.path)
	}
	if err := os.Rename(t.tmp, t.path); err != nil {
		return fmt.Errorf("parquet output: %w", err)
	}
	t.tmp = ""
	err := t.f.Close()
	t.f = nil
	if err != nil {
		return fmt.Errorf("parquet output %s: %w", t.path, err)
	}
	return nil
}

// remove removes the temporary file, from any goroutine (the Writer's fmu
// held); false if there was none.
func (t *tempFile) remove() bool {
	if t.tmp == "" {
		return false
	}
	os.Remove(t.tmp)
	t.tmp = ""
	return true
}

// close closes the file (after remove or commit).
func (t *tempFile) close() {
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

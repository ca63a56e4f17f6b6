package parquet

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// table is one Parquet file being written.
//
// Rows are encoded a batch (batchRows) at a time, column by column, and
// the columns of a batch are spread over the table's workers, one
// goroutine each (GOMAXPROCS of them, at most 8, and one fewer until the
// input has ended: see parallel): each worker takes the next column not
// yet taken, appends the batch's values to that column's Arrow builder and
// hands the array to pqarrow.WriteArrowToColumn, which encodes and
// compresses it into the column's pages of the row group being built.
// Dictionary string columns are the exception: a batch only looks their
// values up in the column's own dictionary, and they are written once per
// row group (see dictionary).
//
// Why not pqarrow.FileWriter, which encodes one column after the other:
// a flow stays in the flow table until 2 minutes after it closed (late
// ACKs and retransmissions still belong to it), so in any capture shorter
// than that, and in both generated benchmark captures, every flow record
// arrives after the last packet. The flows table, the widest, is then all
// encoded after the analysis has ended, and alone decided how much later
// than the analysis the run ended. Column by column on every core, that
// tail shrinks with the cores. What FileWriter did besides is small and
// done here: the Parquet schema from the Arrow one (pqarrow.ToParquet),
// the Arrow schema's metadata as the file's, and the definition and
// repetition levels of each batch, which for pcapx's columns (flat, or a
// list that is never NULL of elements that are never NULL) are simple
// enough to write down (flatLevels, listLevels). TestTableMatchesFileWriter
// holds the files to FileWriter's: the same rows, row groups, encodings
// and statistics.
type table[R any] struct {
	spec    *spec[R]
	path    string   // final name
	tmp     string   // "" once renamed or removed (guarded by the Writer's fmu)
	f       *os.File // open, and locked, until renamed or removed
	bw      *bufio.Writer
	fw      *file.Writer
	rg      file.BufferedRowGroupWriter // the row group being built; nil between row groups
	rgRows  int                         // rows in rg
	maxRows int                         // rows per row group
	batch   int                         // rows encoded at a time
	recs    []*R                        // the batch: records not yet encoded
	cols    []column[R]
	workers []worker
	tail    *atomic.Bool // the input has ended: every worker may encode (Writer.InputEnded)
}

// column is one column of a table: its builder, the function that appends
// a record's value to it, and where its leaves are in the Parquet schema.
type column[R any] struct {
	b        array.Builder
	fill     func([]*R) // appends a batch's values to b (fill.go, or the column's bind row by row)
	leaf     int        // index of its first leaf column (a list of structs has one per field)
	nullable bool       // OPTIONAL: definition levels say which rows are NULL
	dataLen  int        // string bytes in the last batch (a StringBuilder's)
	dict     *dictionary[R]
}

// dictionary is a dictionary-encoded string column's own dictionary for
// the row group being built.
//
// Why its own: arrow-go's dictionary encoder hashes every value through an
// interface (one allocation per value) and the value has first been
// copied into an Arrow string builder; on the benchmark capture that made
// a low-cardinality column (a flow's state, a DNS rcode) cost about 95 ns
// per row, and the dictionary columns most of the Writer's time. Here a
// row costs a Go map lookup and a 4-byte index. When the row group is
// complete, writeDictIndices puts the dictionary into the column writer's
// dictionary encoder (each distinct value hashed once there) and the
// indices after it, as pqarrow does with an Arrow dictionary array. That
// is why a row group's indices are kept until it is complete: the encoder
// takes a dictionary only while it is empty. One difference in the
// files: the indices of a row group go out as one data page (arrow-go
// cuts pages by the size of the values put, and indices put whole add
// none); bit-packed, that page is small, and its statistics are the row
// group's.
//
// A dictionary that outgrows dictPageLimit is not kept: the rows it holds
// are handed over as plain strings at once, and the rest of the row group
// batch by batch like any other column, which arrow-go dictionary-encodes
// up to its limit and writes PLAIN past it, as pqarrow.FileWriter's files
// have it (TestLargeDictionaryWrittenPlain). Otherwise the column would
// get a dictionary page of any size (WriteDictIndices never falls back),
// and a column of long, distinct values (HTTP targets) would hold them all
// until the row group ends.
type dictionary[R any] struct {
	get     func(*R) (string, bool)
	texts   func(recs []*R, dst []string) []string // a batch's values at once, if the column has it (fill.go)
	memo    map[string]int32
	values  *array.StringBuilder // the dictionary, in first-seen order
	size    int                  // its PLAIN size: 4 + len per value
	idx     *array.Int32Builder  // the row group's indices; NULL for NULL
	last    string               // the batch's last value and its index (add)
	lastIdx int32
	// dense: the dictionary outgrew dictPageLimit in this row group; what
	// it held was written as plain strings (spill), and the rest of the
	// row group goes batch by batch through the column's builder.
	dense bool
}

// add appends the index of s, a value of the batch, adding s to the
// dictionary if it is new. Runs of one value are common (a protocol, a
// state, the flows of one client) and the same string is often the same
// pointer (pcapx's own names): no hash for those.
func (d *dictionary[R]) add(s string) {
	if d.lastIdx >= 0 && s == d.last {
		d.idx.UnsafeAppend(d.lastIdx)
		return
	}
	j, found := d.memo[s]
	if !found {
		j = int32(len(d.memo))
		d.memo[strings.Clone(s)] = j // not the record's: it may share a larger buffer
		d.values.Append(s)
		d.size += 4 + len(s)
	}
	d.idx.UnsafeAppend(j)
	d.last, d.lastIdx = s, j
}

// worker is what one encoding goroutine keeps between batches.
type worker struct {
	ctx      context.Context // pqarrow's write context: scratch buffers of its own
	def, rep []int16
	strs     []string // a dictionary column's values of the batch
}

// isList tells the list kinds.
func (k kind) isList() bool {
	return k == kStringList || k == kEvidence || k == kTalkers || k == kRuleCounts
}

// leaves is how many Parquet leaf columns a column of kind k has.
func (k kind) leaves() int {
	switch k {
	case kEvidence, kRuleCounts:
		return 2
	case kTalkers:
		return 3
	}
	return 1
}

// encoders is how many goroutines encode the columns of a batch.
func encoders() int { return min(runtime.GOMAXPROCS(0), 8) }

func newTable[R any](w *Writer, s *spec[R], max int) (*table[R], error) {
	t := &table[R]{spec: s, path: filepath.Join(w.dir, s.name+".parquet"), maxRows: max, batch: min(max, batchRows), tail: &w.tail}
	f, err := createLocked(w.dir, tmpPrefix(s.name)+"*")
	if err != nil {
		return nil, fmt.Errorf("parquet output: %w", err)
	}
	w.fmu.Lock()
	t.f, t.tmp = f, f.Name()
	w.all = append(w.all, t) // from here on Abort removes it
	w.fmu.Unlock()
	fail := func(err error) (*table[R], error) { return nil, fmt.Errorf("parquet output %s: %w", s.name, err) }

	sc := s.schema()
	props, err := writerProps(s, max)
	if err != nil {
		return fail(err)
	}
	aprops := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(tableAllocator))
	pqs, err := pqarrow.ToParquet(sc, props, aprops)
	if err != nil {
		return fail(err)
	}
	md := sc.Metadata()
	var kv metadata.KeyValueMetadata
	for i, k := range md.Keys() {
		kv.Append(k, md.Values()[i])
	}
	t.bw = bufio.NewWriterSize(f, 64<<10) // a row group goes out a column chunk at a time, past the buffer
	if t.fw, err = file.NewParquetWriterWithError(t.bw, pqs.Root(), file.WithWriterProps(props), file.WithWriteMetadata(kv)); err != nil {
		return fail(err)
	}

	leaf := 0
	t.cols = make([]column[R], len(s.cols))
	for i := range s.cols {
		c := &s.cols[i]
		if c.nullable && c.kind.isList() {
			return fail(fmt.Errorf("column %s: a list column cannot be NULL (listLevels writes no NULL lists)", c.name))
		}
		leaf0 := leaf
		leaf += c.kind.leaves()
		if c.kind == kString && !c.noDict && c.text == nil {
			return fail(fmt.Errorf("column %s: a dictionary column without its text", c.name))
		}
		b := array.NewBuilder(tableAllocator, c.field().Type)
		t.cols[i] = column[R]{b: b, fill: batchAppender(c, b), leaf: leaf0, nullable: c.nullable}
		if c.kind == kString && !c.noDict {
			t.cols[i].dict = &dictionary[R]{
				get:    c.text,
				texts:  c.texts,
				memo:   map[string]int32{},
				values: array.NewStringBuilder(tableAllocator),
				idx:    array.NewInt32Builder(tableAllocator),
			}
		}
	}
	if leaf != pqs.NumColumns() {
		return fail(fmt.Errorf("%d leaf columns, the schema has %d", leaf, pqs.NumColumns()))
	}
	t.workers = make([]worker, encoders())
	for i := range t.workers {
		t.workers[i].ctx = pqarrow.NewArrowWriteContext(context.Background(), &aprops)
	}
	t.recs = make([]*R, 0, t.batch)
	return t, nil
}

// add queues a record; a full batch is encoded.
func (t *table[R]) add(r *R) error {
	t.recs = append(t.recs, r)
	if len(t.recs) >= min(t.batch, t.maxRows-t.rgRows) {
		return t.flush()
	}
	return nil
}

// flush encodes the batch into the row group being built (kept in memory
// as compressed pages) and writes the row group out when it has maxRows
// rows. The columns go to the workers; the calling goroutine is one of
// them.
func (t *table[R]) flush() error {
	n := len(t.recs)
	if n == 0 {
		return nil
	}
	if t.rg == nil {
		rg, err := t.fw.AppendBufferedRowGroupChecked()
		if err != nil {
			return fmt.Errorf("parquet output %s: %w", t.spec.name, err)
		}
		t.rg = rg
	}
	err := t.parallel(len(t.cols), t.writeColumn)
	clear(t.recs) // the records are not needed any more
	t.recs = t.recs[:0]
	if err != nil {
		return err
	}
	t.rgRows += n
	if t.rgRows >= t.maxRows {
		return t.endRowGroup()
	}
	return nil
}

// endRowGroup writes the dictionary columns of the row group being built
// and writes the row group out: memory does not grow with the rows.
func (t *table[R]) endRowGroup() error {
	if t.rg == nil {
		return nil
	}
	err := t.parallel(len(t.cols), t.writeDictionary)
	if err == nil {
		err = t.rg.Close()
	}
	t.rg, t.rgRows = nil, 0
	if err != nil {
		return fmt.Errorf("parquet output %s: %w", t.spec.name, err)
	}
	return nil
}

// parallel runs f for columns 0..n-1 on the table's workers: each takes
// the next column not yet taken; the calling goroutine is one of them.
// The first error stops them and is returned, naming its column. While
// the input is being read, one worker fewer: that core is the analysis's
// (on two cores, sharing it made the analysis slower by more than the
// encoding gained).
func (t *table[R]) parallel(n int, f func(wk *worker, i int) error) error {
	workers := len(t.workers)
	if !t.tail.Load() {
		workers = max(1, workers-1)
	}
	var (
		next   atomic.Int64
		failed atomic.Bool
		wg     sync.WaitGroup
		errs   = make([]error, len(t.workers))
	)
	work := func(k int) {
		errs[k] = safely(func() error {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				if err := f(&t.workers[k], i); err != nil {
					failed.Store(true)
					return fmt.Errorf("column %s: %w", t.spec.cols[i].name, err)
				}
			}
			return nil
		})
	}
	for k := 1; k < min(workers, n); k++ {
		wg.Go(func() { work(k) })
	}
	work(0)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("parquet output %s: %w", t.spec.name, err)
		}
	}
	return nil
}

// writeColumn encodes column i of the batch (a dictionary column only
// looks its values up: see dictionary).
func (t *table[R]) writeColumn(wk *worker, i int) error {
	c := &t.cols[i]
	if d := c.dict; d != nil && !d.dense {
		d.idx.Reserve(len(t.recs))
		d.lastIdx = -1
		if d.texts != nil {
			wk.strs = d.texts(t.recs, wk.strs[:0])
			for _, s := range wk.strs {
				d.add(s)
			}
			clear(wk.strs) // the records' strings are not the worker's to keep
		} else {
			for _, r := range t.recs {
				if s, ok := d.get(r); ok {
					d.add(s)
				} else {
					d.idx.AppendNull()
				}
			}
		}
		d.last = "" // a record's string, not to be kept past the batch
		if d.size >= dictPageLimit {
			return t.spill(wk, c)
		}
		return nil
	}
	c.fill(t.recs)
	sb, isStr := c.b.(*array.StringBuilder)
	if isStr {
		c.dataLen = sb.DataLen()
	}
	arr := c.b.NewArray() // hands the buffers over and resets the builder
	defer arr.Release()
	// The next batch is likely the size of this one: reserve that, so
	// the builder does not grow by copying.
	c.b.Reserve(t.batch)
	if isStr && c.dataLen > 0 {
		sb.ReserveData(c.dataLen + c.dataLen/8)
	}

	if l, ok := arr.(*array.List); ok {
		def, rep := wk.listLevels(l)
		vals := l.ListValues()
		if st, ok := vals.(*array.Struct); ok {
			for k := range st.NumField() {
				if err := t.writeLeaf(wk, c.leaf+k, st.Field(k), def, rep, false); err != nil {
					return err
				}
			}
			return nil
		}
		return t.writeLeaf(wk, c.leaf, vals, def, rep, false)
	}
	var def []int16
	if c.nullable {
		def = wk.flatLevels(arr)
	}
	return t.writeLeaf(wk, c.leaf, arr, def, nil, c.nullable)
}

// writeDictionary writes dictionary column i of the row group (other
// columns are written batch by batch): the dictionary and the indices.
// A column that spilled has written its rows already.
func (t *table[R]) writeDictionary(wk *worker, i int) error {
	c := &t.cols[i]
	d := c.dict
	if d == nil {
		return nil
	}
	if d.dense {
		d.dense = false // the next row group starts with a dictionary again
		return nil
	}
	idx, vals, def, cw, err := t.takeDictionary(wk, c)
	if err != nil {
		return err
	}
	defer idx.Release()
	defer vals.Release()
	// writerProps turns dictionary encoding on for the column, and nothing
	// else writes to it in a row group that did not spill: the encoder is
	// a dictionary encoder, still empty.
	enc, ok := cw.CurrentEncoder().(dictEncoder)
	if !ok || enc.NumEntries() != 0 {
		return fmt.Errorf("want an empty dictionary encoder, the column writer has %T", cw.CurrentEncoder())
	}
	return writeDictIndices(cw, enc, idx, vals, def)
}

// spill writes the rows a dictionary column holds as plain strings and
// turns it to the column's builder for the rest of the row group: its
// dictionary outgrew dictPageLimit (see dictionary).
func (t *table[R]) spill(wk *worker, c *column[R]) error {
	idx, vals, def, cw, err := t.takeDictionary(wk, c)
	if err != nil {
		return err
	}
	defer idx.Release()
	defer vals.Release()
	plain := plainStrings(idx.(*array.Int32), vals.(*array.String))
	defer plain.Release()
	c.dict.dense = true
	return pqarrow.WriteArrowToColumn(wk.ctx, cw, plain, def, nil, c.nullable)
}

// takeDictionary empties a dictionary column's state for the row group:
// its indices, its values, their definition levels and the column writer
// to write them to.
func (t *table[R]) takeDictionary(wk *worker, c *column[R]) (idx, vals arrow.Array, def []int16, cw file.ColumnChunkWriter, err error) {
	d := c.dict
	idx, vals = d.idx.NewArray(), d.values.NewArray()
	clear(d.memo)
	d.size = 0
	d.idx.Reserve(idx.Len()) // the next row group is likely as long
	if c.nullable {
		def = wk.flatLevels(idx)
	}
	if cw, err = t.rg.Column(c.leaf); err != nil {
		idx.Release()
		vals.Release()
		return nil, nil, nil, nil, err
	}
	return idx, vals, def, cw, nil
}

// dictEncoder is what writeDictIndices uses of arrow-go's dictionary
// encoder (parquet/internal/encoding.DictEncoder, which is internal and
// so named here by its methods).
type dictEncoder interface {
	PutDictionary(arrow.Array) error
	NumEntries() int
}

// writeDictIndices writes a row group's dictionary column as pqarrow
// writes an Arrow dictionary array (pqarrow's writeDictionaryArrow): the
// dictionary goes to the column's empty dictionary encoder, the indices
// after it, and the statistics are counted from the indices and taken
// from the dictionary. What it leaves out is pqarrow's search for the
// dictionary entries the indices refer to (a hash of every index, a fifth
// of the Writer's time at the end of a run): a dictionary holds only
// values seen in its row group, so every entry is referred to. And it
// takes the minimum and maximum with empty strings counted (see below).
// TestTableMatchesFileWriter checks values, statistics and encodings
// against pqarrow's own.
func writeDictIndices(cw file.ColumnChunkWriter, enc dictEncoder, idx, vals arrow.Array, def []int16) error {
	if err := enc.PutDictionary(vals); err != nil {
		return err
	}
	if enc.NumEntries() != vals.Len() {
		return fmt.Errorf("dictionary of %d values holds %d entries: a value twice", vals.Len(), enc.NumEntries())
	}
	if st := cw.PageStatistics(); st != nil {
		bs, ok := st.(*metadata.ByteArrayStatistics)
		if !ok {
			return fmt.Errorf("statistics of a string column are %T", st)
		}
		// Not pqarrow's UpdateFromArrow, which skips empty strings: a
		// column holding "" would get a min above it, and a reader
		// pruning row groups by statistics would miss `WHERE x = ''`.
		// This one counts the dictionary's values (once each), so the
		// rows that repeat one are added to the count after.
		sv := vals.(*array.String)
		nonNull := int64(idx.Len() - idx.NullN())
		bs.UpdateFromArrowOffsets(sv.ValueBytes(), sv.ValueOffsets(), int64(idx.NullN()))
		bs.IncNumValues(nonNull - int64(sv.Len()))
	}
	return cw.WriteDictIndices(idx, def, nil)
}

// plainStrings are the strings a dictionary array stands for.
func plainStrings(idx *array.Int32, vals *array.String) arrow.Array {
	b := array.NewStringBuilder(tableAllocator)
	defer b.Release()
	b.Reserve(idx.Len())
	for i := range idx.Len() {
		if idx.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(vals.Value(int(idx.Value(i))))
		}
	}
	return b.NewArray()
}

func (t *table[R]) writeLeaf(wk *worker, leaf int, arr arrow.Array, def, rep []int16, nullable bool) error {
	cw, err := t.rg.Column(leaf)
	if err != nil {
		return err
	}
	return pqarrow.WriteArrowToColumn(wk.ctx, cw, arr, def, rep, nullable)
}

// flatLevels are the definition levels of an OPTIONAL column under the
// REQUIRED root: 1 for a value, 0 for NULL.
func (wk *worker) flatLevels(a arrow.Array) []int16 {
	def := levels(wk.def, a.Len())
	for i := range def {
		def[i] = 1
		if a.IsNull(i) {
			def[i] = 0
		}
	}
	wk.def = def
	return def
}

// listLevels are the definition and repetition levels of a REQUIRED list
// of REQUIRED elements (pqarrow's three-level LIST: required group
// <name> (LIST) { repeated group list { required <element> } }), the
// same for every leaf of a struct element: an empty list is one entry
// (def 0, rep 0); an element is def 1, rep 0 for a list's first and 1 for
// the others.
func (wk *worker) listLevels(l *array.List) (def, rep []int16) {
	off := l.Offsets()
	n := 0
	for i := range l.Len() {
		n += max(1, int(off[i+1]-off[i]))
	}
	def, rep = levels(wk.def, n), levels(wk.rep, n)
	j := 0
	for i := range l.Len() {
		m := int(off[i+1] - off[i])
		if m == 0 {
			def[j], rep[j] = 0, 0
			j++
			continue
		}
		for e := range m {
			def[j], rep[j] = 1, 1
			if e == 0 {
				rep[j] = 0
			}
			j++
		}
	}
	wk.def, wk.rep = def, rep
	return def, rep
}

// levels is s resized to n levels, reusing its memory.
func levels(s []int16, n int) []int16 { return slices.Grow(s[:0], n)[:n] }

func (t *table[R]) close() error {
	if err := t.flush(); err != nil {
		return err
	}
	if err := t.endRowGroup(); err != nil {
		return err
	}
	t.release()
	err := t.fw.Close() // the last row group and the footer
	if err == nil {
		err = t.bw.Flush()
	}
	if err == nil {
		err = t.f.Chmod(0o644) // CreateTemp makes 0600; a table is for readers
	}
	if err == nil {
		err = t.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("parquet output %s: %w", t.path, err)
	}
	return nil
}

// release hands the builders' buffers back (idempotent).
func (t *table[R]) release() {
	for i := range t.cols {
		c := &t.cols[i]
		if c.b != nil {
			c.b.Release()
			c.b = nil
		}
		if c.dict != nil {
			c.dict.values.Release()
			c.dict.idx.Release()
			c.dict = nil
		}
	}
	t.recs = nil
}

// commit renames the complete file and only then closes it: it stays
// locked until it has its final name, so no other run takes it for a
// killed run's leftover (removeStale) in between.
func (t *table[R]) commit() error {
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

func (t *table[R]) remove() bool {
	if t.tmp == "" {
		return false
	}
	os.Remove(t.tmp)
	t.tmp = ""
	return true
}

func (t *table[R]) abort() {
	t.release()
	t.remove() // before closing, while the file is still locked
	if t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

func (t *table[R]) finalPath() string { return t.path }

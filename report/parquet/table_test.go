package parquet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/rules"
)

// referenceFile writes rows as table does, in the same batches and row
// groups, but through pqarrow.FileWriter, which encodes one column after
// the other and works out the definition and repetition levels itself.
func referenceFile[R any](t *testing.T, s *spec[R], rows []*R, maxRows int) []byte {
	t.Helper()
	props, err := writerProps(s, maxRows)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	fw, err := pqarrow.NewFileWriter(s.schema(), &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(tableAllocator)))
	if err != nil {
		t.Fatal(err)
	}
	rb := array.NewRecordBuilder(tableAllocator, s.schema())
	defer rb.Release()
	app := make([]func(*R), len(s.cols))
	for i := range s.cols {
		app[i] = s.cols[i].bind(rb.Field(i))
	}
	batch := min(maxRows, batchRows)
	n, rgRows := 0, 0
	flush := func() {
		if n == 0 {
			return
		}
		rec := rb.NewRecordBatch()
		if err := fw.WriteBuffered(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		rgRows = (rgRows + n) % maxRows
		n = 0
	}
	for _, r := range rows {
		for _, a := range app {
			a(r)
		}
		if n++; n >= min(batch, maxRows-rgRows) {
			flush()
		}
	}
	flush()
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestTableMatchesFileWriter: the column-parallel table, with its own
// dictionaries, writes what pqarrow.FileWriter writes from the same
// batches: the same rows, row groups, and in every column chunk the same
// encodings, dictionary page, value count and statistics; for every
// table, with one row group, with many, and with row groups that are not
// a multiple of the batch (so its own levels for lists, NULLs and
// dictionaries are pqarrow's). The bytes differ only in where pages of
// dictionary indices end: pqarrow gets a row group's indices at once.
// The records are those of every fixture, repeated to fill several
// batches; GOMAXPROCS is raised so that several workers share each batch
// even on a one-core machine.
func TestTableMatchesFileWriter(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	caps := capturesDir(t)
	var inputs []string
	for _, fx := range roundTripFixtures(t) {
		if fx != "ring" {
			inputs = append(inputs, filepath.Join(caps, fx))
		}
	}
	c := &collectSink{}
	var res *analyze.Result
	var found []rules.Finding
	for _, in := range inputs {
		r, err := analyze.Run(analyze.Config{Inputs: []string{in}}, c)
		if err != nil {
			continue // a damaged fixture that pcapx refuses: nothing to write
		}
		res = r
		found = append(found, r.Findings...)
	}
	res.Findings = found
	repeat := 3*batchRows/max(1, len(c.flows)) + 1
	if len(c.flows) < 50 || len(res.Findings) < 5 || len(c.dns)*len(c.http)*len(c.tls)*len(c.icmp) == 0 {
		t.Fatalf("too few records: %d flows, %d dns, %d http, %d tls, %d findings", len(c.flows), len(c.dns), len(c.http), len(c.tls), len(res.Findings))
	}
	for _, maxRows := range []int{97, batchRows + 1000, DefaultMaxRows} {
		dir := t.TempDir()
		w, err := New(dir, Options{MaxRows: maxRows, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for range repeat {
			c.sendTo(w)
		}
		if err := w.Finish(res); err != nil {
			t.Fatal(err)
		}
		repeated := func(n int) []int {
			var idx []int
			for range repeat {
				for i := range n {
					idx = append(idx, i)
				}
			}
			return idx
		}
		findings := make([]*findingRec, len(res.Findings))
		for i := range findings {
			findings[i] = &res.Findings[i]
		}
		want := map[string][]byte{
			"flows":    referenceFile(t, flowsSpec, pick(c.flows, repeated(len(c.flows))), maxRows),
			"dns":      referenceFile(t, dnsSpec, pick(c.dns, repeated(len(c.dns))), maxRows),
			"http":     referenceFile(t, httpSpec, pick(c.http, repeated(len(c.http))), maxRows),
			"tls":      referenceFile(t, tlsSpec, pick(c.tls, repeated(len(c.tls))), maxRows),
			"icmp":     referenceFile(t, icmpSpec, pick(c.icmp, repeated(len(c.icmp))), maxRows),
			"findings": referenceFile(t, findingsSpec, findings, maxRows),
			"capture":  referenceFile(t, captureSpec, captureRows(res, "test"), maxRows),
			"timeline": referenceFile(t, timelineSpec, timelineRows(res), maxRows),
		}
		for name, wb := range want {
			ref := filepath.Join(t.TempDir(), name+".parquet")
			if err := os.WriteFile(ref, wb, 0o644); err != nil {
				t.Fatal(err)
			}
			got := filepath.Join(dir, name+".parquet")
			if diff := sameChunks(t, got, ref); diff != "" {
				t.Errorf("MaxRows %d: %s.parquet: %s", maxRows, name, diff)
			}
			if !sameTable(t, got, ref) {
				t.Errorf("MaxRows %d: %s.parquet: rows differ from pqarrow.FileWriter's", maxRows, name)
			}
		}
	}
}

// sameTable reads two Parquet files with pqarrow and tells whether they
// hold the same table (schema and values).
func sameTable(t *testing.T, a, b string) bool {
	t.Helper()
	ta, tb := readArrowTable(t, a), readArrowTable(t, b)
	defer ta.Release()
	defer tb.Release()
	return ta.NumRows() == tb.NumRows() && array.TableEqual(ta, tb)
}

// sameChunks compares two Parquet files' layouts: the row groups and, in
// each, every column chunk's value count, encodings, dictionary page and
// statistics (min, max, NULL count). "" if they are the same.
func sameChunks(t *testing.T, got, want string) string {
	t.Helper()
	g, w := openParquet(t, got).MetaData(), openParquet(t, want).MetaData()
	if g.NumRowGroups() != w.NumRowGroups() || g.NumRows != w.NumRows {
		return fmt.Sprintf("%d row groups of %d rows, want %d of %d", g.NumRowGroups(), g.NumRows, w.NumRowGroups(), w.NumRows)
	}
	for i := range g.NumRowGroups() {
		gr, wr := g.RowGroup(i), w.RowGroup(i)
		if gr.NumRows() != wr.NumRows() {
			return fmt.Sprintf("row group %d: %d rows, want %d", i, gr.NumRows(), wr.NumRows())
		}
		for j := range gr.NumColumns() {
			gc, err := gr.ColumnChunk(j)
			if err != nil {
				t.Fatal(err)
			}
			wc, err := wr.ColumnChunk(j)
			if err != nil {
				t.Fatal(err)
			}
			col := strings.Join(gc.PathInSchema(), ".")
			if gc.NumValues() != wc.NumValues() || gc.HasDictionaryPage() != wc.HasDictionaryPage() ||
				fmt.Sprint(gc.Encodings()) != fmt.Sprint(wc.Encodings()) {
				return fmt.Sprintf("row group %d, %s: %d values, dictionary %v, encodings %v; want %d, %v, %v", i, col,
					gc.NumValues(), gc.HasDictionaryPage(), gc.Encodings(), wc.NumValues(), wc.HasDictionaryPage(), wc.Encodings())
			}
			gs, err := gc.Statistics()
			if err != nil {
				t.Fatal(err)
			}
			ws, err := wc.Statistics()
			if err != nil {
				t.Fatal(err)
			}
			if (gs == nil) != (ws == nil) {
				return fmt.Sprintf("row group %d, %s: statistics %v, want %v", i, col, gs != nil, ws != nil)
			}
			if gs == nil {
				continue
			}
			ge, err := gs.Encode()
			if err != nil {
				t.Fatal(err)
			}
			we, err := ws.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ge, we) || gs.NullCount() != ws.NullCount() {
				return fmt.Sprintf("row group %d, %s: statistics %+v (%d NULL), want %+v (%d NULL)", i, col, ge, gs.NullCount(), we, ws.NullCount())
			}
		}
	}
	return ""
}

func pick[T any](s []*T, idx []int) []*T {
	out := make([]*T, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}

// TestLargeDictionaryWrittenPlain: a dictionary column whose distinct
// values outgrow dictPageLimit in a row group is handed to pqarrow as
// plain strings (it cannot switch to PLAIN partway through a write of
// indices), which it dictionary-encodes up to the limit and writes PLAIN
// past it, as pqarrow.FileWriter does: the same rows, encodings and
// statistics.
func TestLargeDictionaryWrittenPlain(t *testing.T) {
	const n = 6000 // 6000 distinct 64-byte names: 400 KB of dictionary
	recs := make([]*flowRec, n)
	for i := range recs {
		recs[i] = &flowRec{CommunityID: fmt.Sprintf("1:%d", i), Proto: "tcp", SrcAddr: "10.0.0.1", DstAddr: "10.0.0.2",
			SNI: fmt.Sprintf("%058d.test", i), State: "SF"}
	}
	// One row group (spilled after its fourth batch, the rest dense), and
	// two: 5000 rows (spilled, then a dense batch) and 1000 (small enough
	// for a dictionary again). Not batchRows: row groups of 1024 rows
	// hold 68 KB of dictionary each, and nothing would spill.
	for _, maxRows := range []int{DefaultMaxRows, 5000} {
		path := largeDictionary(t, recs, maxRows)
		// The first row group spilled: its sni chunk has PLAIN pages
		// beside the dictionary ones (a chunk that did not has only
		// dictionary-encoded data).
		if enc := sniEncodings(t, path, 0); !slices.Contains(enc, pq.Encodings.Plain) {
			t.Errorf("MaxRows %d: first row group's sni encodings %v: no spill to PLAIN", maxRows, enc)
		}
		if maxRows == 5000 {
			if enc := sniEncodings(t, path, 1); slices.Contains(enc, pq.Encodings.Plain) {
				t.Errorf("MaxRows 5000: second row group's sni encodings %v, want a dictionary again", enc)
			}
		}
	}
}

// sniEncodings are the encodings of the data pages (not the dictionary
// page, which is PLAIN either way) of row group rg's sni column chunk.
func sniEncodings(t *testing.T, path string, rg int) []pq.Encoding {
	t.Helper()
	rdr := openParquet(t, path)
	md := rdr.MetaData()
	col := md.Schema.ColumnIndexByName("sni")
	if rg >= md.NumRowGroups() || col < 0 {
		t.Fatalf("%s: %d row groups, sni column %d", path, md.NumRowGroups(), col)
	}
	cc, err := md.RowGroup(rg).ColumnChunk(col)
	if err != nil {
		t.Fatal(err)
	}
	var enc []pq.Encoding
	for _, st := range cc.EncodingStats() {
		if strings.HasPrefix(fmt.Sprint(st.PageType), "DATA_PAGE") {
			enc = append(enc, st.Encoding)
		}
	}
	if len(enc) == 0 {
		t.Fatalf("%s: row group %d: sni has no data page encoding stats (%v)", path, rg, cc.EncodingStats())
	}
	return enc
}

// largeDictionary writes recs as the flows table in row groups of
// maxRows, checks it against pqarrow.FileWriter's and returns its path.
func largeDictionary(t *testing.T, recs []*flowRec, maxRows int) string {
	n := len(recs)
	dir := t.TempDir()
	w, err := New(dir, Options{MaxRows: maxRows})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Flow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "flows.parquet")
	rows := readRows(t, path)
	if len(rows) != n {
		t.Fatalf("%d rows, want %d", len(rows), n)
	}
	for i, r := range rows {
		if r["sni"] != recs[i].SNI || r["proto"] != "tcp" {
			t.Fatalf("row %d: sni %v proto %v, want %q tcp", i, r["sni"], r["proto"], recs[i].SNI)
		}
	}
	ref := filepath.Join(t.TempDir(), "flows.parquet")
	if err := os.WriteFile(ref, referenceFile(t, flowsSpec, recs, maxRows), 0o644); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rows, readRows(t, ref)) {
		t.Errorf("MaxRows %d: rows differ from pqarrow.FileWriter's", maxRows)
	}
	if diff := sameChunks(t, path, ref); diff != "" {
		t.Errorf("MaxRows %d: %s", maxRows, diff)
	}
	return path
}

package parquet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

var tableNames = []string{"flows", "findings", "dns", "http", "tls", "icmp", "capture", "timeline"}

// readRows reads a Parquet file back with arrow-go and returns its rows as
// JSON objects (timestamps as "2006-01-02T15:04:05.999999999").
func readRows(t *testing.T, path string) []map[string]any {
	t.Helper()
	tbl := readArrowTable(t, path)
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	var out []map[string]any
	for tr.Next() {
		var buf bytes.Buffer
		if err := array.RecordToJSON(tr.RecordBatch(), &buf); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(&buf)
		for dec.More() {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	return out
}

// readArrowTable reads a Parquet file back with pqarrow, whole.
func readArrowTable(t *testing.T, path string) arrow.Table {
	t.Helper()
	fr, err := pqarrow.NewFileReader(openParquet(t, path), pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func parquetFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func sampleResult() *run.Result {
	return &run.Result{Findings: []rules.Finding{
		{Rule: "tcp-retransmissions", Severity: rules.Error, Title: "t", Message: "m", FirstNS: 1_700_000_000_000_000_007, LastNS: 1_700_000_009_000_000_009, Count: 3,
			Flow:     &flows.FlowRef{CommunityID: "1:abc=", Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "10.0.0.2", DstPort: 443, Stream: 0},
			Evidence: []rules.Evidence{{File: 0, Frame: 7}, {File: 1, Frame: 9}}, Filter: "tcp.stream eq 0"},
		{Rule: "dns-error", Severity: rules.Warning, FirstNS: 1_700_000_000_000_000_001, LastNS: 1_700_000_000_000_000_002, Count: 1},
	}}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	rec := flows.Record{CommunityID: "1:abc=", Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "10.0.0.2", DstPort: 443,
		Stream: 0, State: "SF", History: "ShADadFf", FirstNS: 1_700_000_000_123_456_789, LastNS: 1_700_000_001_987_654_321,
		Duration: 1.864197532, OrigBytes: 1234, ClientWScale: 7, ServerWScale: -1, App: "tls", SNI: "example.com"}
	rec.Retransmissions = 5
	if err := w.Flow(&rec); err != nil {
		t.Fatal(err)
	}
	w.DNS(&flows.DNSRecord{FlowRef: rec.Ref(), QueryNS: 1_700_000_000_000_000_001, QName: "bad\xffname.", Unanswered: true, Rcode: -1, AnswerAddrs: nil})
	w.DNS(&flows.DNSRecord{FlowRef: rec.Ref(), QueryNS: 1_700_000_000_000_000_001, ResponseNS: 1_700_000_000_500_000_003, ResponseTime: 1, LatencyMS: 500, AnswerAddrs: []string{"1.2.3.4", "::1"}})
	w.HTTP(&flows.HTTPRecord{FlowRef: rec.Ref(), RequestNS: 1_700_000_000_200_000_000, Method: "GET", Host: "api.internal", Status: 503})
	w.TLS(&flows.TLSRecord{FlowRef: rec.Ref(), ClientHelloNS: 1_700_000_000_100_000_000, SNI: "example.com", ALPN: []string{"h2", "http/1.1"}})
	if err := w.Finish(sampleResult()); err != nil {
		t.Fatal(err)
	}
	want := []string{"capture.parquet", "dns.parquet", "findings.parquet", "flows.parquet", "http.parquet", "icmp.parquet", "timeline.parquet", "tls.parquet"}
	if got := parquetFiles(t, dir); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("files %v, want %v", got, want)
	}

	fl := readRows(t, filepath.Join(dir, "flows.parquet"))
	if len(fl) != 1 || fl[0]["first"] != "2023-11-14T22:13:20.123456789" || fl[0]["last"] != "2023-11-14T22:13:21.987654321" ||
		fl[0]["community_id"] != "1:abc=" || fl[0]["retransmissions"] != 5.0 || fl[0]["server_wscale"] != -1.0 || fl[0]["sni"] != "example.com" {
		t.Errorf("flows: %v", fl)
	}
	dns := readRows(t, filepath.Join(dir, "dns.parquet"))
	if len(dns) != 2 || dns[0]["response_time"] != nil || dns[1]["response_time"] != "2023-11-14T22:13:20.500000003" {
		t.Errorf("dns response_time: %v", dns)
	}
	if dns[0]["qname"] != "bad\u00ffname." {
		t.Errorf("invalid UTF-8 not replaced: %q", dns[0]["qname"])
	}
	if a, ok := dns[0]["answer_addrs"].([]any); !ok || len(a) != 0 {
		t.Errorf("nil answer_addrs = %#v, want an empty list", dns[0]["answer_addrs"])
	}
	if a, _ := dns[1]["answer_addrs"].([]any); len(a) != 2 || a[1] != "::1" {
		t.Errorf("answer_addrs = %v", dns[1]["answer_addrs"])
	}
	if h := readRows(t, filepath.Join(dir, "http.parquet")); len(h) != 1 || h[0]["http_host"] != "api.internal" || h[0]["status"] != 503.0 {
		t.Errorf("http: %v", h)
	}
	if tl := readRows(t, filepath.Join(dir, "tls.parquet")); len(tl) != 1 || len(tl[0]["alpn"].([]any)) != 2 {
		t.Errorf("tls: %v", tl)
	}
	fd := readRows(t, filepath.Join(dir, "findings.parquet"))
	if len(fd) != 2 || fd[0]["severity"] != "error" || fd[0]["src_port"] != 40000.0 || fd[1]["community_id"] != nil || fd[1]["stream"] != nil {
		t.Errorf("findings: %v", fd)
	}
	if ev, _ := fd[0]["evidence"].([]any); len(ev) != 2 || ev[1].(map[string]any)["frame"] != 9.0 || ev[1].(map[string]any)["file"] != 1.0 {
		t.Errorf("evidence: %v", fd[0]["evidence"])
	}
	if n := readRows(t, filepath.Join(dir, "icmp.parquet")); len(n) != 0 {
		t.Errorf("icmp: %v", n)
	}
}

// TestFileProperties checks what readers rely on: a REQUIRED root,
// nanosecond timestamps not marked UTC-adjusted, zstd, and dictionary
// pages for strings only (save those marked plain).
func TestFileProperties(t *testing.T) {
	dir := t.TempDir()
	w, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.Flow(&flows.Record{CommunityID: "1:a", Proto: "tcp", FirstNS: 1, LastNS: 2})
	if err := w.Finish(sampleResult()); err != nil {
		t.Fatal(err)
	}
	md := openParquet(t, filepath.Join(dir, "flows.parquet")).MetaData()
	if rep := md.Schema.Root().RepetitionType(); rep != pq.Repetitions.Required {
		t.Errorf("root repetition %v, want REQUIRED", rep)
	}
	for i := 0; i < md.Schema.NumColumns(); i++ {
		c := md.Schema.Column(i)
		if c.Name() == "first" {
			lt, ok := c.LogicalType().(schema.TimestampLogicalType)
			if !ok || lt.TimeUnit() != schema.TimeUnitNanos || lt.IsAdjustedToUTC() {
				t.Errorf("first: logical type %v, want TIMESTAMP(NANOS, isAdjustedToUTC=false)", c.LogicalType())
			}
		}
		cc, err := md.RowGroup(0).ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		if cc.Compression() != compress.Codecs.Zstd {
			t.Errorf("%s: compression %v", c.Path(), cc.Compression())
		}
		dict := cc.HasDictionaryPage()
		// Strings get a dictionary, except the Community ID (one per flow).
		if want := c.PhysicalType() == pq.Types.ByteArray && c.Name() != "community_id"; dict != want {
			t.Errorf("%s: dictionary page %v, want %v", c.Path(), dict, want)
		}
	}
}

// TestPagesBounded checks that data pages are about 16 KiB (a row
// group's current pages are held uncompressed, and arrow-go gives every
// column writer page buffers of that size: see pageSize): a flat INT64
// column of 20,000 rows is cut into pages of 12-20 KiB uncompressed, the
// last one aside.
func TestPagesBounded(t *testing.T) {
	dir := t.TempDir()
	w, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	const rows = 20000
	for i := range rows {
		w.Flow(&flows.Record{CommunityID: "1:a", Proto: "tcp", FirstNS: int64(i), OrigBytes: int64(i) * 7919})
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	rdr := openParquet(t, filepath.Join(dir, "flows.parquet"))
	col := rdr.MetaData().Schema.ColumnIndexByName("orig_bytes")
	if col < 0 {
		t.Fatal("no orig_bytes column")
	}
	var sizes []int
	values := 0
	for g := range rdr.NumRowGroups() {
		pr, err := rdr.RowGroup(g).GetColumnPageReader(col)
		if err != nil {
			t.Fatal(err)
		}
		for pr.Next() {
			if dp, ok := pr.Page().(file.DataPage); ok {
				sizes = append(sizes, int(dp.UncompressedSize()))
				values += int(dp.NumValues())
			}
		}
		if err := pr.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if values != rows || len(sizes) < 2 {
		t.Fatalf("%d values in %d pages, want %d values in several", values, len(sizes), rows)
	}
	for i, n := range sizes[:len(sizes)-1] {
		if n < 12<<10 || n > 20<<10 {
			t.Errorf("data page %d of %d: %d bytes uncompressed, want 12-20 KiB", i+1, len(sizes), n)
		}
	}
}

// openParquet opens a Parquet file for its metadata and pages, closed
// when the test ends.
func openParquet(t *testing.T, path string) *file.Reader {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdr.Close() })
	return rdr
}

func TestEmptyTablesAreValid(t *testing.T) {
	dir := emptyTables(t)
	for _, n := range tableNames {
		if rows := readRows(t, filepath.Join(dir, n+".parquet")); len(rows) != 0 {
			t.Errorf("%s: %d rows", n, len(rows))
		}
	}
}

// An interrupted run (Abort, or a crash before Finish) leaves no file that
// looks whole: while the run goes on there is no *.parquet at all, and
// Abort removes the temporaries and keeps the files it did not write.
func TestAbortLeavesNoParquet(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "report.html"), []byte("<html>"), 0o644)
	w, err := New(dir, Options{MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1000; i++ { // ten row groups on disk
		if err := w.Flow(&flows.Record{CommunityID: "1:x", FirstNS: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	files := parquetFiles(t, dir)
	for _, f := range files {
		if strings.HasSuffix(f, ".parquet") {
			t.Errorf("during the run: %s looks like a table", f)
		}
	}
	if len(files) != 9 { // eight temporaries and report.html
		t.Errorf("during the run: %v", files)
	}
	w.Abort()
	w.Abort() // twice is fine
	if got := parquetFiles(t, dir); len(got) != 1 || got[0] != "report.html" {
		t.Errorf("after Abort: %v, want only report.html", got)
	}
	if err := w.Flow(&flows.Record{}); err == nil {
		t.Error("Flow after Abort: no error")
	}
	if err := w.Finish(nil); err == nil {
		t.Error("Finish after Abort: no error")
	}
}

// A second run into the same directory replaces the tables, keeps unknown
// files, and an aborted third run leaves the second run's tables intact.
func TestSecondRunReplaces(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "report.html"), []byte("<html>"), 0o644)
	runWith := func(n int, finish bool) {
		w, err := New(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			w.Flow(&flows.Record{CommunityID: "1:x", FirstNS: int64(i)})
		}
		if finish {
			if err := w.Finish(nil); err != nil {
				t.Fatal(err)
			}
		} else {
			w.Abort()
		}
	}
	runWith(3, true)
	runWith(5, true)
	runWith(7, false)
	if rows := readRows(t, filepath.Join(dir, "flows.parquet")); len(rows) != 5 {
		t.Errorf("flows: %d rows, want 5 (the second run's)", len(rows))
	}
	if got := parquetFiles(t, dir); len(got) != 9 {
		t.Errorf("files %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.html")); string(b) != "<html>" {
		t.Error("report.html was touched")
	}
}

func TestPartitionLayout(t *testing.T) {
	dir := t.TempDir()
	w, err := New(dir, Options{Partition: "date=2026-11-21,host=web1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if w.Dir() != filepath.Join(dir, "date=2026-11-21", "host=web1") {
		t.Errorf("Dir() = %s", w.Dir())
	}
	got := parquetFiles(t, dir)
	if len(got) != 8 || got[0] != "date=2026-11-21/host=web1/capture.parquet" {
		t.Errorf("files %v", got)
	}
}

func TestParsePartition(t *testing.T) {
	good := map[string]string{
		"":                                  "",
		"date=2026-11-21/host=web1":         "date=2026-11-21/host=web1",
		"date=2026-11-21,host=web1":         "date=2026-11-21/host=web1",
		"site=eu_1/host=web1.example.com":   "site=eu_1/host=web1.example.com",
		"_k=v":                              "_k=v",
		"date=2026-11-21,host=web1/iface=e": "date=2026-11-21/host=web1/iface=e",
	}
	for in, want := range good {
		if got, err := ParsePartition(in); err != nil || got != want {
			t.Errorf("ParsePartition(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"date", "=x", "date=", "/date=x", "date=x/", "date=x//host=y", "date=x,,host=y",
		"date=..", "date=.hidden", "date=a/b", "date=x y", "date=x\\y", "da-te=x", "1d=x",
		"host=a/HOST=b", "date=x/date=y",
		"proto=tcp",          // a column: the reader would replace it
		"community_id=1",     // likewise
		"date=\u00e9t\u00e9", // non-ASCII
		"d=" + strings.Repeat("x", 200),
	}
	for _, in := range bad {
		if got, err := ParsePartition(in); err == nil {
			t.Errorf("ParsePartition(%q) = %q, want an error", in, got)
		}
	}
	if _, err := New(t.TempDir(), Options{Partition: "../x=y"}); err == nil {
		t.Error("New with ../ partition: no error")
	}
}

func TestNewErrorNamesDirectory(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o644)
	_, err := New(filepath.Join(notDir, "out"), Options{})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(notDir, "out")) {
		t.Errorf("error %v does not name the directory", err)
	}
}

// TestBoundedMemory writes many rows with small row groups: the rows go to
// disk a row group at a time while the run goes on, and the heap does not
// grow with them. What does grow is the footer: Parquet keeps the metadata
// of every row group (about 1 KB per column) until the file is closed,
// which is why the default row group is 64k rows (16 per million rows).
func TestBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const maxRows, total = 8192, 49 * 8192
	dir := t.TempDir()
	w, err := New(dir, Options{MaxRows: maxRows})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	tmpSize := func() int64 {
		st, err := os.Stat(w.flows.out.tmp)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	// Measure right after a row group was written (the buffer empty), after
	// the first few (encoders and pools warm).
	const start = 10 * maxRows
	var h0 uint64
	var size0 int64
	for i := 0; i < total; i++ {
		x := int64(uint32(i) * 2654435761) // incompressible-ish values, so the file grows
		// A new record each time: the sink keeps it (run.Sink).
		rec := &flows.Record{Proto: "tcp", SrcAddr: "10.1.2.3", DstAddr: "192.0.2.80", State: "SF", History: "ShADadFf", End: "closed", CaptureSide: "client"}
		rec.CommunityID = fmt.Sprintf("1:%026x=", x)
		rec.FirstNS, rec.LastNS, rec.OrigBytes, rec.RespBytes = int64(i)*1e6+x, int64(i)*1e6+x+5e5, x, x>>3
		if err := w.Flow(rec); err != nil {
			t.Fatal(err)
		}
		if i+1 == start {
			if err := w.sync(); err != nil {
				t.Fatal(err)
			}
			h0, size0 = heap(), tmpSize()
		}
	}
	if err := w.sync(); err != nil {
		t.Fatal(err)
	}
	h1, size1 := heap(), tmpSize()
	grew := int64(h1) - int64(h0)
	t.Logf("heap after %d rows: %.1f MiB, after %d: %.1f MiB (%.1f bytes/row); file %d → %d bytes",
		start, float64(h0)/(1<<20), total, float64(h1)/(1<<20), float64(grew)/float64(total-start), size0, size1)
	// A buffered flow row costs about 600 bytes (57 columns); the footer
	// about 45 KB per row group here, 5 bytes per row.
	if perRow := float64(grew) / float64(total-start); perRow > 16 {
		t.Errorf("heap grew by %d bytes (%.1f bytes/row) while writing %d more rows", grew, perRow, total-start)
	}
	if size0 == 0 || size1 < 2*size0 {
		t.Errorf("rows are not written as the run goes: file %d → %d bytes", size0, size1)
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	rdr := openParquet(t, filepath.Join(dir, "flows.parquet"))
	if rdr.NumRows() != total || rdr.NumRowGroups() != (total+maxRows-1)/maxRows {
		t.Errorf("%d rows in %d row groups, want %d in %d", rdr.NumRows(), rdr.NumRowGroups(), total, (total+maxRows-1)/maxRows)
	}
}

// TestValidUTF8LikeJSON: a string in the tables is the string pcapx's
// JSON output gives (report's writer, which keeps each byte that is not
// UTF-8 as \u00XX), read back.
func TestValidUTF8LikeJSON(t *testing.T) {
	for _, s := range []string{"ok", "", "a\xffb", "\xff\xfe", "\xe2\x82", "é\x80x", "<script>"} {
		var b bytes.Buffer
		if err := report.NDJSON(&b, []rules.Finding{{Message: s}}); err != nil {
			t.Fatal(err)
		}
		var f struct{ Message string }
		if err := json.Unmarshal(b.Bytes(), &f); err != nil {
			t.Fatal(err)
		}
		if got := validUTF8(s); got != f.Message {
			t.Errorf("validUTF8(%q) = %q, the JSON output gives %q", s, got, f.Message)
		}
	}
}

// TestStaleTemporariesRemoved: a run killed outright (SIGKILL) leaves its
// temporaries; the next run into the directory removes them, and only
// them: not another live run's (it holds their locks), not files merely
// named alike.
func TestStaleTemporariesRemoved(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-48 * time.Hour) // stale by any measure, locks or not
	stale := []string{".flows.parquet.tmp-123", ".timeline.parquet.tmp-9", ".capture.parquet.tmp-4294967295"}
	keep := []string{".flows.parquet.tmp-", ".flows.parquet.tmp-12a", "flows.parquet.tmp-1", ".report.html.tmp-5",
		".notatable.parquet.tmp-1", ".flows.parquet.tmp-1.bak", "notes.txt"}
	for _, n := range append(append([]string{}, stale...), keep...) {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, old, old)
	}
	os.Mkdir(filepath.Join(dir, ".dns.parquet.tmp-77"), 0o755) // not a file
	keep = append(keep, ".dns.parquet.tmp-77")

	// A live run in the same directory: its temporaries must survive.
	live, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Abort()
	var liveTemps []string
	for _, n := range parquetFiles(t, dir) {
		if isTemp(n) && !slices.Contains(stale, n) {
			liveTemps = append(liveTemps, n)
		}
	}
	if len(liveTemps) != len(tableNames) {
		t.Fatalf("live run's temporaries %v", liveTemps)
	}
	for _, n := range liveTemps {
		p := filepath.Join(dir, n)
		os.Chtimes(p, old, old) // old, but locked: still live
	}

	w, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	for _, n := range stale {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("stale %s not removed (%v)", n, err)
		}
	}
	for _, n := range append(keep, liveTemps...) {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed: %v", n, err)
		}
	}
	// The live run is intact and finishes.
	if err := live.Flow(&flows.Record{CommunityID: "1:x"}); err != nil {
		t.Fatal(err)
	}
	if err := live.Finish(nil); err != nil {
		t.Fatalf("the live run lost its files: %v", err)
	}
	if rows := readRows(t, filepath.Join(dir, "flows.parquet")); len(rows) != 1 {
		t.Errorf("flows: %d rows", len(rows))
	}
	for _, n := range parquetFiles(t, dir) {
		if isTemp(n) {
			t.Errorf("left over: %s", n)
		}
	}
}

// TestInterrupt: Interrupt, from another goroutine while records arrive
// (a signal handler), removes the run's temporaries and keeps an earlier
// run's tables; Finish then fails and renames nothing.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	first, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	first.Flow(&flows.Record{CommunityID: "1:first"})
	if err := first.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if first.Interrupt() {
		t.Error("Interrupt after Finish says it removed the complete tables")
	}
	before := parquetFiles(t, dir)

	w, err := New(dir, Options{MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	started := make(chan struct{})
	var removed bool
	wg.Go(func() {
		<-started
		removed = w.Interrupt()
	})
	for i := range 5000 {
		if i == 1000 {
			close(started)
		}
		if err := w.Flow(&flows.Record{CommunityID: "1:second", FirstNS: int64(i)}); err != nil {
			break // the encoder may fail on a removed file: fine
		}
	}
	wg.Wait()
	if !removed {
		t.Error("Interrupt during the run says it removed nothing")
	}
	if w.Interrupt() {
		t.Error("a second Interrupt says it removed something")
	}
	if err := w.Finish(nil); err == nil {
		t.Error("Finish after Interrupt: no error")
	}
	w.Abort()
	if got := parquetFiles(t, dir); !slices.Equal(got, before) {
		t.Errorf("after Interrupt: %v, want the first run's %v", got, before)
	}
	if rows := readRows(t, filepath.Join(dir, "flows.parquet")); len(rows) != 1 || rows[0]["community_id"] != "1:first" {
		t.Errorf("flows: %v", rows)
	}
}

// TestAddFile: a file added to the set is written and renamed with the
// tables; when writing it fails, neither it nor any table replaces the
// previous run's, and no temporary is left.
func TestAddFile(t *testing.T) {
	dir := t.TempDir()
	runWith := func(flowsN int, page string, fail error) error {
		w, err := New(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		for _, name := range []string{"", "a/b", "../x", ".hidden", "flows.parquet"} {
			if w.AddFile(name, nil) == nil {
				t.Errorf("AddFile(%q): no error", name)
			}
		}
		if err := w.AddFile("report.html", func(out io.Writer) error {
			io.WriteString(out, page)
			return fail
		}); err != nil {
			t.Fatal(err)
		}
		for i := range flowsN {
			w.Flow(&flows.Record{CommunityID: "1:x", FirstNS: int64(i)})
		}
		return w.Finish(nil)
	}
	if err := runWith(3, "first", nil); err != nil {
		t.Fatal(err)
	}
	before := parquetFiles(t, dir)
	boom := errors.New("no space left")
	if err := runWith(5, "second", boom); !errors.Is(err, boom) || !strings.Contains(err.Error(), "report.html") {
		t.Errorf("Finish = %v, want the page's error naming it", err)
	}
	if got := parquetFiles(t, dir); !slices.Equal(got, before) {
		t.Errorf("after the failed run: %v, want %v", got, before)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "report.html")); string(b) != "first" {
		t.Errorf("report.html = %q, want the first run's", b)
	}
	if rows := readRows(t, filepath.Join(dir, "flows.parquet")); len(rows) != 3 {
		t.Errorf("flows: %d rows, want the first run's 3", len(rows))
	}
}

// TestWriterCopiesRecords: the Writer is a run.Borrower, so the run fills
// a record it was handed again for the next flow: every row must have the
// values the record had when it was handed over, across chunks.
func TestWriterCopiesRecords(t *testing.T) {
	dir := t.TempDir()
	w, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	const n = 3*chunkLen + 7
	var rec flows.Record // one record, reused as the run reuses them
	var dns flows.DNSRecord
	for i := range n {
		rec = flows.Record{CommunityID: fmt.Sprintf("1:%d=", i), Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: uint16(i), DstAddr: "10.0.0.2", DstPort: 443, State: "SF", FirstNS: int64(i) * 1e9}
		if err := w.Flow(&rec); err != nil {
			t.Fatal(err)
		}
		dns = flows.DNSRecord{FlowRef: rec.Ref(), QueryNS: int64(i) * 1e9, QName: fmt.Sprintf("n%d.example.", i), AnswerAddrs: []string{fmt.Sprint(i)}}
		if err := w.DNS(&dns); err != nil {
			t.Fatal(err)
		}
	}
	rec, dns = flows.Record{}, flows.DNSRecord{}
	if err := w.Finish(sampleResult()); err != nil {
		t.Fatal(err)
	}
	fl := readRows(t, filepath.Join(dir, "flows.parquet"))
	dn := readRows(t, filepath.Join(dir, "dns.parquet"))
	if len(fl) != n || len(dn) != n {
		t.Fatalf("%d flows, %d dns rows, want %d", len(fl), len(dn), n)
	}
	for i := range n {
		if fl[i]["community_id"] != fmt.Sprintf("1:%d=", i) || fl[i]["src_port"] != float64(i) {
			t.Fatalf("flow row %d: %v", i, fl[i])
		}
		if a, _ := dn[i]["answer_addrs"].([]any); dn[i]["qname"] != fmt.Sprintf("n%d.example.", i) || len(a) != 1 || a[0] != fmt.Sprint(i) {
			t.Fatalf("dns row %d: %v", i, dn[i])
		}
	}
}

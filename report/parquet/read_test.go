package parquet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/report/html"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// capturesDir is the repository's fixture directory.
func capturesDir(t testing.TB) string {
	caps, err := filepath.Abs(filepath.Join("..", "..", "testdata", "captures"))
	if err != nil {
		t.Fatal(err)
	}
	return caps
}

// roundTripFixtures are the captures the round trip runs on: every
// fixture pcapx reads (damaged ones included: they have warnings), and
// the ring directory as one multi-file run.
func roundTripFixtures(t *testing.T) []string {
	caps := capturesDir(t)
	out := []string{"ring"}
	filepath.WalkDir(caps, func(p string, d os.DirEntry, err error) error {
		// app/hostile-names.pcap holds bytes that are not UTF-8, which
		// the tables hold as characters (0xFF as U+00FF) and the run's
		// page data raw: the one difference TestReplayInvalidUTF8 pins.
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".pcap") && d.Name() != "hostile-names.pcap" {
			rel, _ := filepath.Rel(caps, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if len(out) < 40 {
		t.Fatalf("only %d fixtures under %s", len(out), caps)
	}
	return out
}

// liveRun analyses inputs as `pcapx analyze -o dir` does: one run feeding
// the Parquet writer and the HTML collector, and returns the page data
// the run made.
func liveRun(t *testing.T, dir string, o Options, inputs ...string) (*html.Data, *run.Result, error) {
	t.Helper()
	pw, err := New(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Abort()
	res, err := analyze.Run(analyze.Config{Inputs: inputs}, pw)
	if err != nil {
		return nil, nil, err
	}
	if err := pw.Finish(res); err != nil {
		t.Fatal(err)
	}
	return html.FromResult(res, html.Options{}), res, nil
}

// rebuilt is what `pcapx report dir` makes of the tables.
func rebuilt(t *testing.T, dir string) (*html.Data, *run.Result) {
	t.Helper()
	res, err := Replay(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return html.FromResult(res, html.Options{}), res
}

// TestReportFromTables is the round trip `pcapx report` relies on: the
// page data rebuilt from the tables alone equals, field for field, the
// data the run itself made, and so does the rendered page, for every
// fixture. (Generated and Tool, which the command sets when it writes the
// page, are empty on both sides here.)
func TestReportFromTables(t *testing.T) {
	caps := capturesDir(t)
	root := t.TempDir()
	var runs, withFindings, withApp, multiFile int
	for i, fx := range roundTripFixtures(t) {
		dir := filepath.Join(root, fmt.Sprint(i))
		live, _, err := liveRun(t, dir, Options{Version: "test"}, filepath.Join(caps, fx))
		if err != nil {
			continue // not a capture (bad/wrong-magic.pcap, ...): no tables
		}
		runs++
		t.Run(strings.ReplaceAll(fx, "/", "_"), func(t *testing.T) {
			got, _ := rebuilt(t, dir)
			if !reflect.DeepEqual(live, got) {
				t.Fatalf("rebuilt page data differs from the run's:\n%s", jsonDiff(t, live, got))
			}
			var a, b bytes.Buffer
			if err := html.Render(&a, live); err != nil {
				t.Fatal(err)
			}
			if err := html.Render(&b, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("the rebuilt page renders differently")
			}
		})
		if len(live.Findings) > 0 {
			withFindings++
		}
		if live.DNS.Transactions > 0 && live.HTTP.Requests > 0 && live.TLS.Handshakes > 0 && len(live.HTTP.Errors) > 0 {
			withApp++
		}
		if len(live.Capture.Files) > 1 {
			multiFile++
		}
	}
	// The round trip must have covered what the page shows.
	if runs < 40 || withFindings < 15 || withApp == 0 || multiFile == 0 {
		t.Errorf("%d runs, %d with findings, %d with DNS, HTTP (errors) and TLS, %d with several files: the fixtures do not cover the page", runs, withFindings, withApp, multiFile)
	}
}

// jsonDiff shows the top-level fields of two page data that differ.
func jsonDiff(t *testing.T, a, b *html.Data) string {
	var ma, mb map[string]json.RawMessage
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	var out strings.Builder
	for k, v := range ma {
		if !bytes.Equal(v, mb[k]) {
			fmt.Fprintf(&out, "%s:\n  run:     %s\n  rebuilt: %s\n", k, v, mb[k])
		}
	}
	if out.Len() == 0 {
		out.WriteString("(same JSON: a nil/empty slice or a map differs)")
	}
	return out.String()
}

// TestReplayResult checks the summary Replay rebuilds against the run's
// own, field by field (what it restores), on the demo capture, and that
// the records it hands over are the run's.
func TestReplayResult(t *testing.T) {
	caps := capturesDir(t)
	dir := t.TempDir()
	rec := &recorder{}
	pw, err := New(dir, Options{Version: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	want, err := analyze.Run(analyze.Config{Inputs: []string{filepath.Join(caps, "demo.pcapng")}}, run.Tee(pw, rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Finish(want); err != nil {
		t.Fatal(err)
	}
	again := &recorder{}
	got, err := Replay(dir, again)
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, a, b any) {
		t.Helper()
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s:\n run:     %+v\n rebuilt: %+v", name, a, b)
		}
	}
	check("capture", want.Capture, got.Capture)
	check("tcp", want.TCP, got.TCP)
	check("flow states", want.FlowStates, got.FlowStates)
	check("protocols", want.Protocols, got.Protocols)
	check("top talkers", want.TopTalkers, got.TopTalkers)
	check("suppressed", nonNilMap(want.Suppressed), got.Suppressed)
	check("findings", want.Findings, got.Findings)
	check("timeline", want.Timeline, got.Timeline)
	if len(want.Findings) == 0 || len(want.Timeline.Buckets) < 5 {
		t.Fatalf("demo: %d findings, %d buckets", len(want.Findings), len(want.Timeline.Buckets))
	}

	// The records: every field the JSON has, and the start frames.
	if len(rec.flows) == 0 || len(rec.dns) == 0 || len(rec.http) == 0 || len(rec.tls) == 0 {
		t.Fatalf("demo: %d flows, %d dns, %d http, %d tls", len(rec.flows), len(rec.dns), len(rec.http), len(rec.tls))
	}
	for i := range rec.flows {
		rec.flows[i].Evidence = nil // not in the tables (findings hold the frames)
		f := &rec.flows[i]          // the rules' detail, not in the tables
		f.PMTU, f.Stall, f.Reset = nil, flows.Stall{}, nil
		f.AckedBytes, f.UnseenBytes, f.OffloadSeg, f.MidStream = 0, 0, 0, false
		f.TimingStartNS = 0 // the DNS phase is in dns_ms already
	}
	for i := range rec.dns {
		rec.dns[i].ResponseFrame = flows.FrameRef{}
	}
	for i := range rec.http {
		rec.http[i].ResponseFrame = flows.FrameRef{}
		rec.http[i].ConnEnd = "" // the rules' detail, not in the tables
	}
	for i := range rec.tls {
		rec.tls[i].EndFrame = flows.FrameRef{}
	}
	check("flows", rec.flows, again.flows)
	check("dns", rec.dns, again.dns)
	check("http", rec.http, again.http)
	check("tls", rec.tls, again.tls)
	check("icmp", rec.icmp, again.icmp)

	// The capture table keeps the version and repeats the totals.
	rows := readRows(t, filepath.Join(dir, "capture.parquet"))
	if len(rows) != 1 || rows[0]["pcapx_version"] != "v9.9.9" || rows[0]["packets"] != 90.0 {
		t.Errorf("capture rows %v", rows)
	}
}

func nonNilMap(m map[string]int64) map[string]int64 {
	if m == nil {
		return map[string]int64{}
	}
	return m
}

// recorder keeps copies of the records it is handed.
type recorder struct {
	flows []flows.Record
	dns   []flows.DNSRecord
	http  []flows.HTTPRecord
	tls   []flows.TLSRecord
	icmp  []flows.ICMPRecord
}

func (r *recorder) Flow(x *flows.Record) error     { r.flows = append(r.flows, *x); return nil }
func (r *recorder) DNS(x *flows.DNSRecord) error   { r.dns = append(r.dns, normDNS(*x)); return nil }
func (r *recorder) HTTP(x *flows.HTTPRecord) error { r.http = append(r.http, *x); return nil }
func (r *recorder) TLS(x *flows.TLSRecord) error   { r.tls = append(r.tls, normTLS(*x)); return nil }
func (r *recorder) ICMP(x *flows.ICMPRecord) error { r.icmp = append(r.icmp, *x); return nil }

// An empty list reads back as nil.
func normDNS(d flows.DNSRecord) flows.DNSRecord {
	if len(d.AnswerAddrs) == 0 {
		d.AnswerAddrs = nil
	}
	return d
}

func normTLS(x flows.TLSRecord) flows.TLSRecord {
	if len(x.ALPN) == 0 {
		x.ALPN = nil
	}
	if len(x.OfferedVersions) == 0 {
		x.OfferedVersions = nil
	}
	return x
}

// TestReplayMultiFile: a ring directory read as one run keeps its files in
// order, and the evidence of findings names them.
func TestReplayMultiFile(t *testing.T) {
	dir := t.TempDir()
	live, want, err := liveRun(t, dir, Options{}, filepath.Join(capturesDir(t), "ring"))
	if err != nil {
		t.Fatal(err)
	}
	got, res := rebuilt(t, dir)
	if len(res.Capture.Files) != 4 || !reflect.DeepEqual(res.Capture.Files, want.Capture.Files) {
		t.Errorf("files %+v, want %+v", res.Capture.Files, want.Capture.Files)
	}
	rows := readRows(t, filepath.Join(dir, "capture.parquet"))
	for i, r := range rows {
		if r["file_index"] != float64(i) || r["packets"] != float64(want.Capture.Packets) || r["flows"] != float64(want.Capture.Flows) {
			t.Errorf("capture row %d: %v", i, r)
		}
	}
	if !reflect.DeepEqual(live, got) {
		t.Errorf("ring: %s", jsonDiff(t, live, got))
	}
}

// TestReplayPartition rebuilds from a Hive partition directory; the
// directory above the partitions is an error that names one.
func TestReplayPartition(t *testing.T) {
	root := t.TempDir()
	live, _, err := liveRun(t, root, Options{Partition: "date=2026-11-21/host=web1"}, filepath.Join(capturesDir(t), "app", "http-5xx.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(root, "date=2026-11-21", "host=web1")
	if got, _ := rebuilt(t, part); !reflect.DeepEqual(live, got) {
		t.Errorf("partition: %s", jsonDiff(t, live, got))
	}
	_, err = Replay(root, nil)
	if !errors.Is(err, ErrNoTables) || !strings.Contains(err.Error(), root) || !strings.Contains(err.Error(), part) {
		t.Errorf("Replay(partition root) = %v, want ErrNoTables naming %s and %s", err, root, part)
	}
}

func TestReplayErrors(t *testing.T) {
	empty := t.TempDir()
	_, err := Replay(empty, nil)
	if !errors.Is(err, ErrNoTables) || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty directory: %v", err)
	}
	if _, err := Replay(filepath.Join(empty, "nope"), nil); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing directory: %v", err)
	}

	// Tables of a run that never finished a capture (Finish(nil)): no
	// capture rows.
	dir := emptyTables(t)
	if _, err := Replay(dir, nil); err == nil || !strings.Contains(err.Error(), "capture.parquet: no rows") {
		t.Errorf("no capture rows: %v", err)
	}

	// A missing table is named.
	dir = t.TempDir()
	if _, _, err := liveRun(t, dir, Options{}, filepath.Join(capturesDir(t), "demo.pcapng")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "tls.parquet"))
	if _, err := Replay(dir, nil); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "tls.parquet")) {
		t.Errorf("missing tls table: %v", err)
	}
	// Older tables (no capture table) are told apart from no tables.
	os.Remove(filepath.Join(dir, "capture.parquet"))
	if _, err := Replay(dir, nil); !errors.Is(err, ErrNoTables) || !strings.Contains(err.Error(), "older pcapx") {
		t.Errorf("no capture table: %v", err)
	}

	// A table whose column has another type is refused, naming it.
	dir = t.TempDir()
	if _, _, err := liveRun(t, dir, Options{}, filepath.Join(capturesDir(t), "demo.pcapng")); err != nil {
		t.Fatal(err)
	}
	other := emptyTables(t)
	// The icmp table in place of the timeline: no column start.
	os.Rename(filepath.Join(other, "icmp.parquet"), filepath.Join(dir, "timeline.parquet"))
	if _, err := Replay(dir, nil); err == nil || !strings.Contains(err.Error(), "timeline.parquet: no column start") {
		t.Errorf("wrong table: %v", err)
	}
}

// A sink's error stops the replay and comes back.
func TestReplaySinkError(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := liveRun(t, dir, Options{}, filepath.Join(capturesDir(t), "demo.pcapng")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := Replay(dir, failingSink{boom})
	if !errors.Is(err, boom) {
		t.Errorf("Replay = %v, want the sink's error", err)
	}
}

type failingSink struct{ err error }

func (f failingSink) Flow(*flows.Record) error     { return f.err }
func (f failingSink) DNS(*flows.DNSRecord) error   { return f.err }
func (f failingSink) HTTP(*flows.HTTPRecord) error { return f.err }
func (f failingSink) TLS(*flows.TLSRecord) error   { return f.err }

// TestReplayManyRows reads tables of many rows and row groups back in
// order (a record batch at a time), with every kind of column.
func TestReplayManyRows(t *testing.T) {
	const n = 5000
	dir := t.TempDir()
	w, err := New(dir, Options{MaxRows: 700})
	if err != nil {
		t.Fatal(err)
	}
	var want []flows.Record
	for i := range n {
		r := flows.Record{CommunityID: fmt.Sprintf("1:%d=", i), Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: uint16(i), DstAddr: "::1", DstPort: 443,
			VLAN: 7, Stream: int64(i), FirstNS: 1_700_000_000_000_000_001 + int64(i), LastNS: 1_700_000_000_000_000_002 + int64(i),
			Duration: float64(i) / 3, ClientWScale: -1, ServerWScale: 7, ClientMSS: 1460, FirstFile: 2, SACKPermitted: i%2 == 0, State: "SF", SNI: "a\xffb"}
		r.First, r.Last = flows.Time(r.FirstNS), flows.Time(r.LastNS)
		r.Retransmissions = int64(i % 7)
		want = append(want, r)
		rc := r
		if err := w.Flow(&rc); err != nil {
			t.Fatal(err)
		}
	}
	res := &run.Result{Capture: run.Capture{Files: []run.File{{Name: "x.pcap", Format: "pcap", Comments: []string{"c"}}}}, Findings: sampleResult().Findings,
		Suppressed: map[string]int64{"tcp-retransmissions": 3, "dns-error": 3, "x": 9}}
	if err := w.Finish(res); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	got, err := Replay(dir, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.flows) != n {
		t.Fatalf("%d flows back, want %d", len(rec.flows), n)
	}
	for i := range want {
		want[i].SNI = "a\u00ffb" // made valid UTF-8, as in the JSON
		if !reflect.DeepEqual(want[i], rec.flows[i]) {
			t.Fatalf("flow %d:\n got %+v\nwant %+v", i, rec.flows[i], want[i])
		}
	}
	if got.FlowStates["SF"] != n || got.Protocols["tcp"] != n {
		t.Errorf("states %v protocols %v", got.FlowStates, got.Protocols)
	}
	if !reflect.DeepEqual(got.Suppressed, res.Suppressed) {
		t.Errorf("suppressed %v", got.Suppressed)
	}
	if len(got.Findings) != 2 || got.Findings[0].Severity != rules.Error || got.Findings[0].Flow == nil || got.Findings[0].Flow.SrcPort != 40000 ||
		got.Findings[1].Flow != nil || len(got.Findings[0].Evidence) != 2 || got.Findings[0].First != "2023-11-14T22:13:20.000000007Z" {
		t.Errorf("findings %+v", got.Findings)
	}
	if f := got.Capture.Files; len(f) != 1 || f[0].Comments[0] != "c" || got.Capture.First != "" {
		t.Errorf("capture %+v", got.Capture)
	}
}

// TestReplayInvalidUTF8 pins the one way rebuilt page data may differ
// from the run's: bytes that are not valid UTF-8 in strings taken from a
// capture (DNS names, HTTP fields, SNI) are in the tables as the
// characters of their values (0xFF is U+00FF), as the JSON writes them,
// while the run's own page data holds them raw. The rebuilt data is the
// run's data with every string read that way.
func TestReplayInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	pw, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	live := run.NewSummariser(run.Options{})
	sink := run.Tee(pw, live)
	ref := flows.FlowRef{CommunityID: "1:x=", Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 1000, DstAddr: "10.0.0.2", DstPort: 443}
	fl := &flows.Record{CommunityID: ref.CommunityID, Proto: "tcp", SrcAddr: ref.SrcAddr, SrcPort: ref.SrcPort, DstAddr: ref.DstAddr, DstPort: ref.DstPort,
		State: "SF", FirstNS: 1e18, First: flows.Time(1e18), OrigBytes: 100, ConnectMS: 1, TotalMS: 5, Duration: 1, App: "tls", SNI: "bad\xffsni"}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sink.Flow(fl))
	must(sink.DNS(&flows.DNSRecord{FlowRef: ref, QName: "bad\xfe.example", Rcode: 3, RcodeName: "NXDOMAIN"}))
	must(sink.HTTP(&flows.HTTPRecord{FlowRef: ref, Method: "GET", Host: "h\xff", Target: "/\xff", UserAgent: "ua\xff", Status: 500}))
	must(sink.TLS(&flows.TLSRecord{FlowRef: ref, SNI: "t\xff", Outcome: "rejected-alert"}))
	res := &run.Result{Capture: run.Capture{Files: []run.File{{Name: "x.pcap", Format: "pcap", LinkTypes: []string{}}}, LinkTypes: []string{}, Warnings: []string{}}}
	live.Summarise(res)
	must(pw.Finish(res))
	want := html.FromResult(res, html.Options{})
	got, _ := rebuilt(t, dir)
	if reflect.DeepEqual(want, got) {
		t.Fatal("no difference: the test data has no invalid UTF-8?")
	}
	mapStrings(reflect.ValueOf(want).Elem(), validUTF8)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("rebuilt data is not the run's with its bytes read as characters:\n%s", jsonDiff(t, want, got))
	}
	if got.HTTP.Errors[0].Host != "h\u00ff" || got.DNS.Failures[0].Name != "bad\u00fe.example" {
		t.Errorf("http %+v dns %+v", got.HTTP.Errors, got.DNS.Failures)
	}
}

// TestReplayBoundedMemory: Replay streams a table a record batch at a
// time; the heap does not grow with the rows read.
func TestReplayBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const total = 400_000
	dir := t.TempDir()
	w, err := New(dir, Options{MaxRows: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range total {
		x := int64(uint32(i) * 2654435761)
		rec := &flows.Record{Proto: "tcp", SrcAddr: "10.1.2.3", DstAddr: "192.0.2.80", State: "SF", History: "ShADadFf", End: "closed",
			CommunityID: fmt.Sprintf("1:%026x=", x), FirstNS: int64(i)*1e6 + x, LastNS: int64(i)*1e6 + x + 5e5, OrigBytes: x, RespBytes: x >> 3}
		if err := w.Flow(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(&run.Result{Capture: run.Capture{Files: []run.File{{Name: "x"}}}}); err != nil {
		t.Fatal(err)
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var n int
	var bytes int64
	var peak uint64
	base := heap()
	var h0, h1 uint64
	sink := &flowFunc{flow: func(r *flows.Record) {
		n++
		bytes += r.OrigBytes
		if n%50_000 == 0 {
			h := heap()
			peak = max(peak, h)
			if n == 50_000 {
				h0 = h
			}
			h1 = h
		}
	}}
	if _, err := Replay(dir, sink); err != nil {
		t.Fatal(err)
	}
	if n != total {
		t.Fatalf("%d rows read, want %d", n, total)
	}
	t.Logf("heap before %.1f MiB, after 50k rows %.1f MiB, after %d rows %.1f MiB, peak %.1f MiB",
		float64(base)/(1<<20), float64(h0)/(1<<20), total, float64(h1)/(1<<20), float64(peak)/(1<<20))
	// The table is ~100 MB as Arrow arrays: reading it whole would show.
	if grew := int64(peak) - int64(base); grew > 32<<20 {
		t.Errorf("heap grew by %.1f MiB while reading the table", float64(grew)/(1<<20))
	}
	if perRow := float64(int64(h1)-int64(h0)) / float64(total-50_000); perRow > 8 {
		t.Errorf("heap grew by %.1f bytes/row while reading %d more rows", perRow, total-50_000)
	}
}

type flowFunc struct{ flow func(*flows.Record) }

func (c *flowFunc) Flow(r *flows.Record) error   { c.flow(r); return nil }
func (c *flowFunc) DNS(*flows.DNSRecord) error   { return nil }
func (c *flowFunc) HTTP(*flows.HTTPRecord) error { return nil }
func (c *flowFunc) TLS(*flows.TLSRecord) error   { return nil }

// mapStrings applies f to every string reachable in v (struct fields,
// slices, pointers), in place.
func mapStrings(v reflect.Value, f func(string) string) {
	switch v.Kind() {
	case reflect.String:
		if v.CanSet() {
			v.SetString(f(v.String()))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			mapStrings(v.Field(i), f)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			mapStrings(v.Index(i), f)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			mapStrings(v.Elem(), f)
		}
	}
}

// TestReplayCaptureCopies: the flows table keeps each flow's capture
// copies, so the rebuilt TCP totals and the flow list (ranked by trouble
// without the copies) are the run's on a capture that holds a connection
// twice.
func TestReplayCaptureCopies(t *testing.T) {
	dir := t.TempDir()
	pw, err := New(dir, Options{Version: "v9.9.9"})
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(capturesDir(t), "rules", "tcp-capture-copies.pcap")
	want, err := analyze.Run(analyze.Config{Inputs: []string{in}}, pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Finish(want); err != nil {
		t.Fatal(err)
	}
	got, err := Replay(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want.TCP.RetransmissionCopies != 9 || want.TCP.DuplicateAckCopies != 3 {
		t.Fatalf("the run counted %d and %d copies, want 9 and 3", want.TCP.RetransmissionCopies, want.TCP.DuplicateAckCopies)
	}
	if !reflect.DeepEqual(want.TCP, got.TCP) {
		t.Errorf("tcp:\n run:     %+v\n rebuilt: %+v", want.TCP, got.TCP)
	}
	if !reflect.DeepEqual(want.Lists.Flows, got.Lists.Flows) || want.Lists.Limits.ProblemFlows != got.Lists.Limits.ProblemFlows {
		t.Errorf("flow list:\n run:     %+v\n rebuilt: %+v", want.Lists.Flows, got.Lists.Flows)
	}
}

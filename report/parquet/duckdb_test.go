package parquet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/run"
)

// analyzeBoth runs pcapx's analysis of inputs once, writing the Parquet
// tables to dir (under partition, if any) and returning the --format json
// document of the same run, decoded, with the rows each table must hold
// (see tableRows).
func analyzeBoth(t *testing.T, dir, partition string, inputs ...string) map[string]any {
	t.Helper()
	pw, err := New(dir, Options{Partition: partition, Version: conformanceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Abort()
	var buf bytes.Buffer
	js, err := report.NewJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	res, err := analyze.Run(analyze.Config{Inputs: inputs}, run.Tee(pw, js, rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := pw.Finish(res); err != nil {
		t.Fatal(err)
	}
	if err := js.Finish(res); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	tableRows(t, doc, res, rec)
	return doc
}

const conformanceVersion = "conformance-test"

// tableRows adds to doc what the tables hold beyond the JSON document's
// record arrays, so that doc[TABLE] is, for every table, the rows DuckDB
// must read:
//   - a finding's key object is its JSON text, as the key column holds it;
//   - dns, http and tls rows get the frame columns the JSON leaves out,
//     from the records the run handed to its sinks (in the same order);
//   - "capture" is one row per file, built from the JSON's capture, tcp
//     and top_talkers objects (and the run's suppressed counts and the
//     version, which the JSON does not have);
//   - "timeline" is one row per bucket of the run's timeline, which the
//     JSON does not have either: DuckDB must read what pcapx wrote, and
//     TestDuckDBConformance checks its sums against the JSON's capture
//     totals besides.
func tableRows(t *testing.T, doc map[string]any, res *run.Result, rec *recorder) {
	num := func(v int64) json.Number { return json.Number(strconv.FormatInt(v, 10)) }
	frames := func(table, prefix string, refs []flows.FrameRef) {
		rows, _ := doc[table].([]any)
		if len(rows) != len(refs) {
			t.Fatalf("%s: %d JSON rows, %d records", table, len(rows), len(refs))
		}
		for i, r := range rows {
			m := r.(map[string]any)
			m[prefix+"_file"], m[prefix+"_frame"] = num(int64(refs[i].File)), num(refs[i].Frame)
		}
	}
	var refs []flows.FrameRef
	for _, r := range rec.dns {
		refs = append(refs, r.QueryFrame)
	}
	frames("dns", "query", refs)
	refs = nil
	for _, r := range rec.http {
		refs = append(refs, r.RequestFrame)
	}
	frames("http", "request", refs)
	refs = nil
	for _, r := range rec.tls {
		refs = append(refs, r.ClientHelloFrame)
	}
	frames("tls", "client_hello", refs)
	refs = nil
	for _, r := range rec.icmp {
		refs = append(refs, r.Frame)
	}
	frames("icmp", "icmp", refs)

	// The findings table holds a finding's key object as its JSON text,
	// "" for none (the JSON omits it).
	findings, _ := doc["findings"].([]any)
	for _, r := range findings {
		m := r.(map[string]any)
		k, ok := m["key"]
		m["key"] = ""
		if ok {
			b, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			m["key"] = string(b)
		}
	}

	capture := doc["capture"].(map[string]any)
	tcp := doc["tcp"].(map[string]any)
	var rows []any
	for i, f := range capture["files"].([]any) {
		row := map[string]any{"file_index": num(int64(i)), "top_talkers": doc["top_talkers"], "pcapx_version": conformanceVersion}
		for k, v := range f.(map[string]any) {
			row["file_"+k] = v
		}
		for k, v := range capture {
			if k != "files" && !((k == "first" || k == "last") && v == "") { // no packets: NULL
				row[k] = v
			}
		}
		for k, v := range tcp {
			row["tcp_"+k] = v
		}
		sup := []any{}
		for range res.Suppressed {
			sup = append(sup, nil) // only the list's length is compared
		}
		row["suppressed"] = sup
		rows = append(rows, row)
	}
	doc["capture"] = rows

	rows = nil
	tl := &res.Timeline
	for i, b := range tl.Buckets {
		rows = append(rows, map[string]any{
			"start": flows.FormatTime(tl.Start + int64(i)*tl.Width), "width_s": json.Number(strconv.FormatFloat(float64(tl.Width)/1e9, 'g', -1, 64)),
			"packets": num(b.Packets), "bytes": num(b.Bytes), "retransmissions": num(b.Retransmissions),
			"zero_windows": num(b.ZeroWindows), "duplicate_acks": num(b.DuplicateAcks), "resets": num(b.Resets),
		})
	}
	doc["timeline"] = rows
}

// duckResult is what conformance/duckdb/check.mjs prints.
type duckResult struct {
	Version string `json:"duckdb_version"`
	Results []struct {
		Dir    string                `json:"dir"`
		Tables map[string]*duckTable `json:"tables"`
	} `json:"results"`
}

type duckTable struct {
	Error   string `json:"error"`
	Rows    string `json:"rows"`
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Aggregates map[string]map[string]*string `json:"aggregates"`
}

// conformanceDir finds conformance/duckdb with its node_modules, or skips.
func conformanceDir(t testing.TB) (node, dir string) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("DuckDB conformance skipped: node is not installed (it needs Node.js 20+ and `cd conformance/duckdb && npm ci`)")
	}
	dir, _ = filepath.Abs(filepath.Join("..", "..", "conformance", "duckdb"))
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@duckdb", "node-api")); err != nil {
		t.Skip("DuckDB conformance skipped: conformance/duckdb/node_modules is missing (run `cd conformance/duckdb && npm ci --no-audit --no-fund`)")
	}
	return node, dir
}

func runDuckDB(t *testing.T, node, confDir string, args ...string) *duckResult {
	t.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join(confDir, "check.mjs")}, args...)...)
	cmd.Dir = confDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node check.mjs: %v\n%s", err, stderr.Bytes())
	}
	var r duckResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node check.mjs: %v\n%s", err, out)
	}
	return &r
}

// TestDuckDBConformance is the independent reader check: DuckDB (from
// npm, conformance/duckdb) reads the tables pcapx wrote for each fixture,
// and what it reads must agree with pcapx's own JSON output of the same
// run: the row count of every table, the column names and types
// docs/schema.md promises, and per column the sum (numbers), the count of
// true (booleans), the total bytes and the least and greatest value
// (strings), the total list length (lists) and the first and last time to
// the nanosecond (timestamps). The capture table is compared with the
// JSON's capture, tcp and top_talkers objects (see tableRows); the
// timeline, which the JSON lacks, with the run's own, and its packets and
// bytes sum up to the JSON's capture totals; the capture table's tcp_*
// totals are the sums of the flows' columns, as docs/schema.md says.
func TestDuckDBConformance(t *testing.T) {
	node, confDir := conformanceDir(t)
	caps, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "captures"))
	fixtures := []string{"demo.pcapng", "ring", "format/pcap-le-ns.pcap"}
	for _, g := range []string{"app/*.pcap", "rules/*.pcap"} {
		m, _ := filepath.Glob(filepath.Join(caps, g))
		for _, p := range m {
			rel, _ := filepath.Rel(caps, p)
			fixtures = append(fixtures, filepath.ToSlash(rel))
		}
	}
	if len(fixtures) < 10 {
		t.Fatalf("only %d fixtures in %s", len(fixtures), caps)
	}

	root := t.TempDir()
	docs := map[string]map[string]any{}
	var dirs []string
	for i, fx := range fixtures {
		dir := filepath.Join(root, strconv.Itoa(i))
		docs[dir] = analyzeBoth(t, dir, "", filepath.Join(caps, fx))
		dirs = append(dirs, dir)
	}
	res := runDuckDB(t, node, confDir, dirs...)
	t.Logf("DuckDB %s read %d runs", res.Version, len(res.Results))
	if len(res.Results) != len(dirs) {
		t.Fatalf("%d results for %d runs", len(res.Results), len(dirs))
	}
	var st stats
	for i, r := range res.Results {
		fx := fixtures[i]
		t.Run(strings.ReplaceAll(fx, "/", "_"), func(t *testing.T) {
			compareTables(t, r.Tables, docs[r.Dir], &st)
			runTotals(t, r.Tables, docs[r.Dir])
		})
	}
	t.Logf("compared %d rows, %d column aggregates; %d timestamps compared have digits below the microsecond", st.rows, st.aggs, st.subMicro)
	if st.subMicro == 0 {
		t.Error("no compared timestamp had digits below the microsecond: the nanosecond check proved nothing")
	}
}

// TestDuckDBHivePartitions writes two runs under two Hive partitions and
// reads them back as one table with hive_partitioning.
func TestDuckDBHivePartitions(t *testing.T) {
	node, confDir := conformanceDir(t)
	caps, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "captures"))
	root := t.TempDir()
	a := analyzeBoth(t, root, "date=2026-11-21/host=web1", filepath.Join(caps, "app", "http-5xx.pcap"))
	b := analyzeBoth(t, root, "date=2026-11-22,host=web2", filepath.Join(caps, "demo.pcapng"))
	res := runDuckDB(t, node, confDir, "--hive", root)
	for _, name := range tableNames {
		tb := res.Results[0].Tables[name]
		if tb == nil || tb.Error != "" {
			t.Fatalf("%s: %+v", name, tb)
		}
		want := jsonLen(a, name) + jsonLen(b, name)
		if tb.Rows != strconv.Itoa(want) {
			t.Errorf("%s: %s rows, want %d", name, tb.Rows, want)
		}
		types := map[string]string{}
		for _, c := range tb.Columns {
			types[c.Name] = c.Type
		}
		if types["date"] != "DATE" || types["host"] != "VARCHAR" {
			t.Errorf("%s: partition columns date=%q host=%q, want DATE and VARCHAR", name, types["date"], types["host"])
		}
		if want > 0 {
			wantMin, wantMax := "web1", "web2"
			if jsonLen(a, name) == 0 {
				wantMin = "web2"
			}
			if jsonLen(b, name) == 0 {
				wantMax = "web1"
			}
			h := tb.Aggregates["host"]
			if deref(h["min"]) != wantMin || deref(h["max"]) != wantMax {
				t.Errorf("%s: host partition values %s..%s, want %s..%s", name, deref(h["min"]), deref(h["max"]), wantMin, wantMax)
			}
		}
	}
}

func jsonLen(doc map[string]any, table string) int {
	a, _ := doc[table].([]any)
	return len(a)
}

// runTotals checks what docs/schema.md promises of the run tables: the
// timeline's packets and bytes add up to the run's (the JSON's capture
// totals, as DuckDB reads them from the timeline), and the capture
// table's tcp_* totals are the sums of the flows table's columns (as
// DuckDB reads both).
func runTotals(t *testing.T, tables map[string]*duckTable, doc map[string]any) {
	capture := doc["capture"].([]any)
	if len(capture) == 0 {
		t.Fatal("no capture rows")
	}
	run := capture[0].(map[string]any)
	tl, fl, cp := tables["timeline"], tables["flows"], tables["capture"]
	if tl == nil || fl == nil || cp == nil {
		t.Fatal("a table is missing")
	}
	for _, c := range []string{"packets", "bytes"} {
		if got, want := deref(tl.Aggregates[c]["sum"]), run[c].(json.Number).String(); got != want && !(got == "NULL" && want == "0") {
			t.Errorf("timeline: sum(%s) = %s, the run's %s is %s", c, got, c, want)
		}
	}
	rows, _ := strconv.Atoi(cp.Rows)
	for _, c := range cp.Columns {
		name, ok := strings.CutPrefix(c.Name, "tcp_")
		if !ok || name == "streams" {
			continue
		}
		// The capture table repeats the total on each of its rows.
		total, _ := strconv.ParseInt(deref(cp.Aggregates[c.Name]["sum"]), 10, 64)
		sum := deref(fl.Aggregates[name]["sum"])
		if sum == "NULL" {
			sum = "0"
		}
		if want := strconv.FormatInt(total/int64(rows), 10); sum != want || total%int64(rows) != 0 {
			t.Errorf("capture.%s = %s over %d rows; sum(flows.%s) = %s", c.Name, deref(cp.Aggregates[c.Name]["sum"]), rows, name, sum)
		}
	}
}

type stats struct{ rows, aggs, subMicro int }

func compareTables(t *testing.T, tables map[string]*duckTable, doc map[string]any, st *stats) {
	for _, spec := range Tables() {
		dt := tables[spec.Name]
		if dt == nil || dt.Error != "" {
			t.Errorf("%s: DuckDB could not read it: %+v", spec.Name, dt)
			continue
		}
		rows, _ := doc[spec.Name].([]any) // see tableRows
		if dt.Rows != strconv.Itoa(len(rows)) {
			t.Errorf("%s: DuckDB reads %s rows, the JSON has %d", spec.Name, dt.Rows, len(rows))
		}
		st.rows += len(rows)
		if len(dt.Columns) != len(spec.Columns) {
			t.Errorf("%s: DuckDB sees %d columns, the schema has %d", spec.Name, len(dt.Columns), len(spec.Columns))
			continue
		}
		for i, c := range spec.Columns {
			if dt.Columns[i].Name != c.Name || dt.Columns[i].Type != c.DuckDBType {
				t.Errorf("%s: column %d is %s %s in DuckDB, %s %s in docs/schema.md", spec.Name, i, dt.Columns[i].Name, dt.Columns[i].Type, c.Name, c.DuckDBType)
				continue
			}
			want := expectAggregates(t, spec.Name, c, rows, st)
			got := dt.Aggregates[c.Name]
			for agg, w := range want {
				st.aggs++
				g := got[agg]
				switch {
				case w == nil && g == nil:
				case w == nil || g == nil:
					t.Errorf("%s.%s %s: DuckDB %v, JSON %v", spec.Name, c.Name, agg, deref(g), deref(w))
				case c.DuckDBType == "DOUBLE" && agg == "sum":
					gf, _ := strconv.ParseFloat(*g, 64)
					wf, _ := strconv.ParseFloat(*w, 64)
					if math.Abs(gf-wf) > 1e-9*math.Max(1, math.Abs(wf)) {
						t.Errorf("%s.%s sum: DuckDB %s, JSON %s", spec.Name, c.Name, *g, *w)
					}
				case *g != *w:
					t.Errorf("%s.%s %s: DuckDB %s, JSON %s", spec.Name, c.Name, agg, *g, *w)
				}
			}
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "NULL"
	}
	return *p
}

// jsonValue finds a column's value in a JSON record; ok false means SQL
// NULL. A field the JSON omits (omitempty) is the zero value, except in a
// nullable column, where it is NULL.
func jsonValue(table string, c Column, rec map[string]any) (any, bool) {
	name := c.Name
	if table == "http" && name == "http_host" {
		name = "host"
	}
	if table == "findings" {
		if _, top := rec[name]; !top {
			flow, ok := rec["flow"].(map[string]any)
			if !ok {
				return nil, false
			}
			rec = flow
		}
	}
	v, ok := rec[name]
	if !ok && c.Nullable {
		return nil, false
	}
	return v, true
}

// expectAggregates computes from the JSON records what check.mjs computes
// from the Parquet file for one column.
func expectAggregates(t *testing.T, table string, c Column, rows []any, st *stats) map[string]*string {
	var (
		count    int
		isum     int64
		fsum     float64
		min, max int64
		smin     string
		smax     string
	)
	for _, r := range rows {
		v, ok := jsonValue(table, c, r.(map[string]any))
		if !ok {
			continue
		}
		count++
		switch c.DuckDBType {
		case "INTEGER", "BIGINT":
			if v != nil {
				n, err := v.(json.Number).Int64()
				if err != nil {
					t.Fatalf("%s.%s: %v", table, c.Name, err)
				}
				isum += n
			}
		case "DOUBLE":
			if v != nil {
				f, _ := v.(json.Number).Float64()
				fsum += f
			}
		case "BOOLEAN":
			if v == true {
				isum++
			}
		case "VARCHAR":
			str, _ := v.(string) // omitted by the JSON: ""
			isum += int64(len(str))
			if count == 1 || str < smin {
				smin = str
			}
			if count == 1 || str > smax {
				smax = str
			}
		case "TIMESTAMP_NS":
			var ns int64 // a time the JSON writes "" (not seen) is the epoch in the table
			if v.(string) != "" {
				tm, err := time.Parse(time.RFC3339Nano, v.(string))
				if err != nil {
					t.Fatalf("%s.%s: %v", table, c.Name, err)
				}
				ns = tm.UnixNano()
			}
			if count == 1 || ns < min {
				min = ns
			}
			if count == 1 || ns > max {
				max = ns
			}
			if ns%1000 != 0 {
				st.subMicro++
			}
		default: // lists
			if a, ok := v.([]any); ok {
				isum += int64(len(a))
			}
		}
	}
	s := func(v string) *string { return &v }
	out := map[string]*string{"count": s(strconv.Itoa(count))}
	if count == 0 {
		// SQL aggregates over no values are NULL.
		out["sum"], out["min"], out["max"] = nil, nil, nil
		return out
	}
	switch c.DuckDBType {
	case "DOUBLE":
		out["sum"] = s(strconv.FormatFloat(fsum, 'g', -1, 64))
	case "TIMESTAMP_NS":
		out["min"], out["max"] = s(fmt.Sprint(min)), s(fmt.Sprint(max))
	case "VARCHAR":
		out["sum"], out["min"], out["max"] = s(strconv.FormatInt(isum, 10)), s(smin), s(smax)
	default:
		out["sum"] = s(strconv.FormatInt(isum, 10))
	}
	return out
}

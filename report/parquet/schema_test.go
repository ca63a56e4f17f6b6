package parquet

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/golden"
	"github.com/pcapx/pcapx/internal/jsontags"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

func cat2(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestSchemaDoc keeps docs/schema.md equal to what the table specs say.
func TestSchemaDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "schema.md")
	if !golden.Equal(t, path, Markdown()) {
		t.Errorf("docs/schema.md is stale: run go test ./report/parquet -run TestSchemaDoc -update")
	}
}

// emptyTables writes the tables of a run with no records and no capture
// (Finish(nil)) into a new temporary directory.
func emptyTables(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	w, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestGoldenSchemas catches accidental schema changes: the Parquet schema
// of every table as written (read back from the file) must equal the one
// in testdata/schema/TABLE.txt. A deliberate change is made with -update
// and shows in review as a diff of those files.
func TestGoldenSchemas(t *testing.T) {
	dir := emptyTables(t)
	for _, name := range tableNames {
		var b bytes.Buffer
		schema.PrintSchema(openParquet(t, filepath.Join(dir, name+".parquet")).MetaData().Schema.Root(), &b, 2)
		path := filepath.Join("testdata", "schema", name+".txt")
		if !golden.Equal(t, path, b.Bytes()) {
			want, _ := os.ReadFile(path)
			t.Errorf("%s: the Parquet schema changed (if on purpose: rerun with -update and say so in the change):\n%s\nwant:\n%s", name, b.Bytes(), want)
		}
	}
}

// TestColumnsMatchJSON: every table has a column for every field of its
// record in --format json and no column the JSON lacks, save the
// documented differences. Adding a field to a record (or to the JSON's
// capture or tcp objects) without adding its column fails here.
func TestColumnsMatchJSON(t *testing.T) {
	flowRef := jsontags.Names(reflect.TypeOf(flows.FlowRef{}))
	prefixed := func(prefix string, names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = prefix + n
		}
		return out
	}
	cases := []struct {
		table   string
		json    []string
		renamed map[string]string // JSON name → column name
		extra   []string          // columns the JSON has no field for
	}{
		{"flows", jsontags.Names(reflect.TypeOf(flows.Record{})), nil, nil},
		{"dns", jsontags.Names(reflect.TypeOf(flows.DNSRecord{})), nil, []string{"query_file", "query_frame"}},
		{"http", jsontags.Names(reflect.TypeOf(flows.HTTPRecord{})), map[string]string{"host": "http_host"}, []string{"request_file", "request_frame"}},
		{"tls", jsontags.Names(reflect.TypeOf(flows.TLSRecord{})), nil, []string{"client_hello_file", "client_hello_frame"}},
		{"icmp", jsontags.Names(reflect.TypeOf(flows.ICMPRecord{})), nil, []string{"icmp_file", "icmp_frame"}},
		{"findings", append(jsontags.Names(reflect.TypeOf(rules.Finding{})), flowRef...), map[string]string{"flow": ""}, nil},
		// capture: the JSON's capture object (its files flattened into
		// file_* columns), tcp object (tcp_*) and top_talkers.
		{"capture", cat2(
			[]string{"file_index"}, prefixed("file_", jsontags.Names(reflect.TypeOf(run.File{}))),
			jsontags.Names(reflect.TypeOf(run.Capture{})),
			prefixed("tcp_", jsontags.Names(reflect.TypeOf(run.TCPSummary{}))),
			[]string{"top_talkers"}),
			map[string]string{"files": ""}, []string{"suppressed", "pcapx_version"}},
	}
	tables := map[string]Table{}
	for _, tb := range Tables() {
		tables[tb.Name] = tb
	}
	for _, c := range cases {
		want := append([]string{}, c.extra...)
		for _, n := range c.json {
			if r, ok := c.renamed[n]; ok {
				n = r
			}
			if n != "" {
				want = append(want, n)
			}
		}
		var got []string
		for _, col := range tables[c.table].Columns {
			got = append(got, col.Name)
		}
		sort.Strings(want)
		sort.Strings(got)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s columns:\n got %v\nwant %v", c.table, got, want)
		}
	}
	for _, tb := range Tables() {
		seen := map[string]bool{}
		for _, col := range tb.Columns {
			if seen[col.Name] {
				t.Errorf("%s: column %s twice", tb.Name, col.Name)
			}
			seen[col.Name] = true
			if col.Doc == "" {
				t.Errorf("%s.%s: no doc", tb.Name, col.Name)
			}
		}
	}
}

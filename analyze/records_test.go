package analyze_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/report"
)

// TestRecordsMatchDocument: `--format ndjson --records` carries exactly
// what the JSON document does (every record, in the same order within
// its kind, every finding, and the other sections), a line each.
func TestRecordsMatchDocument(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(captures, "*", "*.pcap*"))
	if err != nil || len(files) < 20 {
		t.Fatalf("fixtures: %v (%d)", err, len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(jsonOf(t, path, 2), &doc); err != nil {
				t.Skip("not analysed:", err) // a capture the run refuses
			}
			var out bytes.Buffer
			rs := report.NewRecords(&out)
			res, err := analyze.Run(analyze.Config{Inputs: []string{path}, Workers: 2}, rs)
			if err != nil {
				t.Fatal(err)
			}
			if err := rs.Finish(res); err != nil {
				t.Fatal(err)
			}
			got := map[string]any{"flows": []any{}, "dns": []any{}, "http": []any{}, "tls": []any{}, "icmp": []any{}, "findings": []any{}}
			arrays := map[string]string{"flow": "flows", "dns": "dns", "http": "http", "tls": "tls", "icmp": "icmp", "finding": "findings"}
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 1<<24)
			var last string
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				kind, _ := line["event_type"].(string)
				delete(line, "event_type")
				last = kind
				if kind == "summary" {
					for k, v := range line {
						got[k] = v
					}
					continue
				}
				name, ok := arrays[kind]
				if !ok {
					t.Fatalf("line of unknown type %q", kind)
				}
				got[name] = append(got[name].([]any), line)
			}
			if last != "summary" {
				t.Errorf("last line is %q, want the summary", last)
			}
			if !reflect.DeepEqual(doc, got) {
				for k := range doc {
					if !reflect.DeepEqual(doc[k], got[k]) {
						t.Errorf("%s differs from the document's", k)
					}
				}
				for k := range got {
					if _, ok := doc[k]; !ok {
						t.Errorf("%s is not in the document", k)
					}
				}
			}
		})
	}
}

package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

// lineWriter fails the test if a write does not end a line.
type lineWriter struct {
	t   *testing.T
	out bytes.Buffer
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if len(p) == 0 || p[len(p)-1] != '\n' {
		w.t.Errorf("a write of %d bytes ends inside a line", len(p))
	}
	return w.out.Write(p)
}

// TestRecordsWholeLines: the records go out a whole line at a time, also
// a line longer than the buffer, so that the output of a run that fails
// half way (the CLI then calls Flush, not Finish) is still read line by
// line; every line is a JSON object with its event_type.
func TestRecordsWholeLines(t *testing.T) {
	w := &lineWriter{t: t}
	s := NewRecords(w)
	n := 0
	for i := range 3000 {
		r := &flows.HTTPRecord{Method: "GET", Host: "example.com", Target: "/" + strings.Repeat("x", i%97)}
		if i == 1500 {
			r.Target = strings.Repeat("y", 200<<10) // longer than the buffer
		}
		if err := s.HTTP(r); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(w.out.String(), "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for i, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil || v["event_type"] != "http" || v["method"] != "GET" {
			t.Fatalf("line %d: %.80s: %v", i+1, l, err)
		}
	}
}

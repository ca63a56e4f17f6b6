// Package report holds the sinks that turn a run into something a person or a
// program reads: the terminal summary and the JSON document (Parquet and HTML
// come later). Sinks receive flows as they end (analyze.FlowSink) and the
// summary at the end; they never see packets.
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
)

// JSON writes `--format json`: one document
//
//	{"capture": {...}, "tcp": {...}, "flow_states": {...}, "top_talkers": [...], "flows": [...]}
//
// Flows arrive while the capture is still being read, before the summary is
// known, so they are spilled to a temporary file and copied in at the end:
// the document keeps a natural order (summary first) and memory stays flat
// however many flows there are. Every string is escaped by encoding/json
// (HTML-safe: <, >, & become \u003c...), so a hostile name in a capture
// cannot break the document or a page that embeds it.
type JSON struct {
	out   io.Writer
	spill *os.File
	buf   *bufio.Writer
	n     int64
}

// NewJSON returns a JSON sink writing to out.
func NewJSON(out io.Writer) (*JSON, error) {
	f, err := os.CreateTemp("", "pcapx-flows-*.json")
	if err != nil {
		return nil, fmt.Errorf("json output: %w", err)
	}
	os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
	return &JSON{out: out, spill: f, buf: bufio.NewWriterSize(f, 256<<10)}, nil
}

// Flow implements analyze.FlowSink.
func (j *JSON) Flow(rec *flows.Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if j.n > 0 {
		j.buf.WriteByte(',')
	}
	j.buf.WriteString("\n    ")
	j.n++
	_, err = j.buf.Write(b)
	return err
}

// document is the top level of the JSON output; flows are written by hand
// after it.
type document struct {
	Capture    analyze.Capture    `json:"capture"`
	TCP        analyze.TCPSummary `json:"tcp"`
	FlowStates map[string]int64   `json:"flow_states"`
	Protocols  map[string]int64   `json:"protocols"`
	TopTalkers []analyze.Talker   `json:"top_talkers"`
}

// Finish writes the document. It must be called once, after the run.
func (j *JSON) Finish(r *analyze.Result) error {
	defer j.spill.Close()
	if err := j.buf.Flush(); err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	doc := document{Capture: r.Capture, TCP: r.TCP, FlowStates: r.FlowStates, Protocols: r.Protocols, TopTalkers: r.TopTalkers}
	if doc.TopTalkers == nil {
		doc.TopTalkers = []analyze.Talker{}
	}
	head, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	w := bufio.NewWriterSize(j.out, 256<<10)
	w.Write(head[:len(head)-2]) // drop "\n}"
	w.WriteString(",\n  \"flows\": [")
	if _, err := j.spill.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	if _, err := io.Copy(w, j.spill); err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	if j.n > 0 {
		w.WriteString("\n  ")
	}
	w.WriteString("]\n}\n")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	return nil
}

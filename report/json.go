// Package report holds the outputs that turn a run into something a person
// or a program reads: the terminal summary and the JSON document here, the
// Parquet tables in report/parquet, the HTML page in report/html. Sinks
// receive the records as they complete (run.Sink) and the run's Result at
// the end; they never see packets.
package report

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// JSON writes `--format json`: one document
//
//	{"capture": {...}, "tcp": {...}, "flow_states": {...}, "protocols": {...},
//	 "top_talkers": [...], "findings": [...],
//	 "flows": [...], "dns": [...], "http": [...], "tls": [...], "icmp": [...]}
//
// Records arrive while the capture is still being read, before the summary
// is known, so each table is spilled to an unlinked temporary file and
// copied in at the end: the document keeps a natural order (summary first)
// and memory stays flat however many records there are. Every string is
// escaped as encoding/json does (HTML-safe: <, >, & become \u003c...), so a
// hostile name in a capture cannot break the document or a page that
// embeds it; a byte that is not part of valid UTF-8 is the escape \u00XX
// of its value rather than U+FFFD (jsonbytes.go).
type JSON struct {
	out    io.Writer
	tables [5]*spill // flows, dns, http, tls, icmp
}

var tableNames = [5]string{"flows", "dns", "http", "tls", "icmp"}

// spill is one array of records kept on disk until Finish.
type spill struct {
	f   *os.File
	buf *bufio.Writer
	n   int64
}

func (s *spill) add(v any) error {
	b, err := marshalJSON(v, "")
	if err != nil {
		return err
	}
	if s.n > 0 {
		s.buf.WriteByte(',')
	}
	s.buf.WriteString("\n    ")
	s.n++
	_, err = s.buf.Write(b)
	return err
}

// NewJSON returns a JSON sink writing to out.
func NewJSON(out io.Writer) (*JSON, error) {
	j := &JSON{out: out}
	for i := range j.tables {
		f, err := os.CreateTemp("", "pcapx-"+tableNames[i]+"-*.json")
		if err != nil {
			j.close()
			return nil, fmt.Errorf("json output: %w", err)
		}
		os.Remove(f.Name()) // unlinked: gone when closed, even after a crash
		j.tables[i] = &spill{f: f, buf: bufio.NewWriterSize(f, 64<<10)}
	}
	return j, nil
}

func (j *JSON) close() {
	for _, t := range j.tables {
		if t != nil {
			t.f.Close()
		}
	}
}

// Flow, DNS, HTTP and TLS implement run.Sink.
func (j *JSON) Flow(r *flows.Record) error     { return j.tables[0].add(r) }
func (j *JSON) DNS(r *flows.DNSRecord) error   { return j.tables[1].add(r) }
func (j *JSON) HTTP(r *flows.HTTPRecord) error { return j.tables[2].add(r) }
func (j *JSON) TLS(r *flows.TLSRecord) error   { return j.tables[3].add(r) }

// ICMP implements run.ICMPSink.
func (j *JSON) ICMP(r *flows.ICMPRecord) error { return j.tables[4].add(r) }

// BorrowsRecords implements run.Borrower: a record is encoded when it
// arrives.
func (j *JSON) BorrowsRecords() {}

// document is the top level of the JSON output; the record arrays are
// written by hand after it.
type document struct {
	Capture    run.Capture      `json:"capture"`
	TCP        run.TCPSummary   `json:"tcp"`
	FlowStates map[string]int64 `json:"flow_states"`
	Protocols  map[string]int64 `json:"protocols"`
	TopTalkers []run.Talker     `json:"top_talkers"`
	Findings   []rules.Finding  `json:"findings"`
	// Omitted: what each rule's cap left out of findings, with the
	// occurrences those findings grouped.
	Omitted []rules.Omitted `json:"findings_omitted"`
}

// summaryOf is the document's sections before the record arrays (empty
// lists as [], not null).
func summaryOf(r *run.Result) document {
	doc := document{Capture: r.Capture, TCP: r.TCP, FlowStates: r.FlowStates, Protocols: r.Protocols, TopTalkers: r.TopTalkers, Findings: r.Findings, Omitted: r.Omitted}
	if doc.TopTalkers == nil {
		doc.TopTalkers = []run.Talker{}
	}
	if doc.Findings == nil {
		doc.Findings = []rules.Finding{}
	}
	if doc.Omitted == nil {
		doc.Omitted = []rules.Omitted{}
	}
	return doc
}

// Finish writes the document. It must be called once, after the run.
func (j *JSON) Finish(r *run.Result) error {
	defer j.close()
	doc := summaryOf(r)
	head, err := marshalJSON(doc, "  ")
	if err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	w := bufio.NewWriterSize(j.out, 256<<10)
	w.Write(head[:len(head)-2]) // drop "\n}"
	for i, t := range j.tables {
		if err := t.buf.Flush(); err != nil {
			return fmt.Errorf("json output: %w", err)
		}
		fmt.Fprintf(w, ",\n  %q: [", tableNames[i])
		if _, err := t.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("json output: %w", err)
		}
		if _, err := io.Copy(w, t.f); err != nil {
			return fmt.Errorf("json output: %w", err)
		}
		if t.n > 0 {
			w.WriteString("\n  ")
		}
		w.WriteString("]")
	}
	w.WriteString("\n}\n")
	if err := w.Flush(); err != nil {
		return fmt.Errorf("json output: %w", err)
	}
	return nil
}

package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// NDJSON writes `--format ndjson`: one finding per line, most severe first,
// for log pipelines (Loki, Elasticsearch, jq -c). Each line is the same
// object as in the JSON document's findings array.
func NDJSON(w io.Writer, findings []rules.Finding) error {
	bw := bufio.NewWriter(w)
	for i := range findings {
		b, err := marshalJSON(&findings[i], "")
		if err != nil {
			return fmt.Errorf("ndjson output: %w", err)
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("ndjson output: %w", err)
	}
	return nil
}

// Records writes `--format ndjson --records` (docs/json.md): every record
// on a line of its own the moment the run completes it, as
// {"event_type":"flow",...} (dns, http, tls, icmp likewise, each the object of
// the JSON document's arrays), then the findings as {"event_type":"finding",...},
// then one line {"event_type":"summary",...} with the document's other sections.
// A record leaves memory when its line is written: the output needs no
// more memory or disk than the summary does, however long the capture,
// and a reader sees the records while the capture is still being read.
// (The JSON document, whose arrays are grouped by kind after the summary,
// has to keep its records in temporary files until the end.)
type Records struct {
	w *bufio.Writer
	// line is the line being written, whole: a line longer than w's
	// buffer then goes out in one write, not in pieces.
	line bytes.Buffer
}

// NewRecords returns a sink streaming the records to out.
func NewRecords(out io.Writer) *Records {
	return &Records{w: bufio.NewWriterSize(out, 64<<10)}
}

// writeLine writes v as one line, its kind first. A line goes out whole:
// the buffer is flushed before a line that does not fit in it, so that
// the output of a run that fails (Flush) ends with a whole line.
func (s *Records) writeLine(kind string, v any) error {
	b, err := marshalJSON(v, "")
	if err != nil {
		return fmt.Errorf("ndjson output: %w", err)
	}
	l := &s.line
	l.Reset()
	l.WriteString(`{"event_type":"`)
	l.WriteString(kind)
	l.WriteByte('"')
	if b = bytes.TrimPrefix(b, []byte("{")); len(b) > 1 { // not "}" alone
		l.WriteByte(',')
	}
	l.Write(b)
	l.WriteByte('\n')
	if l.Len() > s.w.Available() {
		if err := s.w.Flush(); err != nil {
			return fmt.Errorf("ndjson output: %w", err)
		}
	}
	if _, err := s.w.Write(l.Bytes()); err != nil {
		return fmt.Errorf("ndjson output: %w", err)
	}
	return nil
}

// Flush writes out the lines written so far: after a run that failed,
// what it completed stays readable, line by line.
func (s *Records) Flush() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("ndjson output: %w", err)
	}
	return nil
}

// Flow, DNS, HTTP and TLS implement run.Sink.
func (s *Records) Flow(r *flows.Record) error     { return s.writeLine("flow", r) }
func (s *Records) DNS(r *flows.DNSRecord) error   { return s.writeLine("dns", r) }
func (s *Records) HTTP(r *flows.HTTPRecord) error { return s.writeLine("http", r) }
func (s *Records) TLS(r *flows.TLSRecord) error   { return s.writeLine("tls", r) }

// ICMP implements run.ICMPSink.
func (s *Records) ICMP(r *flows.ICMPRecord) error { return s.writeLine("icmp", r) }

// BorrowsRecords implements run.Borrower: a record is written when it
// arrives.
func (s *Records) BorrowsRecords() {}

// summaryLine is the last line: the JSON document's sections other than
// the findings (a line each before it) and the record arrays.
type summaryLine struct {
	Capture    run.Capture      `json:"capture"`
	TCP        run.TCPSummary   `json:"tcp"`
	FlowStates map[string]int64 `json:"flow_states"`
	Protocols  map[string]int64 `json:"protocols"`
	TopTalkers []run.Talker     `json:"top_talkers"`
	Omitted    []rules.Omitted  `json:"findings_omitted"`
}

// Finish writes the findings and the summary line. It must be called
// once, after the run.
func (s *Records) Finish(r *run.Result) error {
	for i := range r.Findings {
		if err := s.writeLine("finding", &r.Findings[i]); err != nil {
			return err
		}
	}
	doc := summaryOf(r)
	sum := summaryLine{Capture: doc.Capture, TCP: doc.TCP, FlowStates: doc.FlowStates, Protocols: doc.Protocols, TopTalkers: doc.TopTalkers, Omitted: doc.Omitted}
	if err := s.writeLine("summary", &sum); err != nil {
		return err
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("ndjson output: %w", err)
	}
	return nil
}

package rules

import (
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

// capture-empty fires only when the driver said the capture held no
// packets and no event came; a driver that says nothing, a capture with
// packets, or any event keeps it quiet. Its message names the files, and
// the skipped ones of a directory.
func TestCaptureEmpty(t *testing.T) {
	flowEv := &Event{Kind: EventFlow, Flow: flow(func(*flows.Record) {})}
	for _, c := range []struct {
		name  string
		facts *RunInfo
		evs   []*Event
		want  []string // substrings of the message; nil: no finding
	}{
		{"not told", nil, nil, nil},
		{"packets", &RunInfo{Packets: 3, Files: []string{"a.pcap"}}, nil, nil},
		{"an event", &RunInfo{Files: []string{"a.pcap"}}, []*Event{flowEv}, nil},
		{"header only", &RunInfo{Files: []string{"cap/a.pcap"}}, nil, []string{"cap/a.pcap holds no packets", "capture file header"}},
		{"several", &RunInfo{Files: []string{"r1.pcap", "r2.pcap", "r3.pcap", "r4.pcap"}},
			nil, []string{"none of the 4 capture files", "r1.pcap, r2.pcap, r3.pcap and 1 more"}},
		{"all skipped", &RunInfo{Skipped: []string{"d/a.pcap", "d/b.pcap"}},
			nil, []string{"every input file was skipped", "d/a.pcap, d/b.pcap"}},
		{"some skipped", &RunInfo{Files: []string{"d/a.pcap"}, Skipped: []string{"d/b.pcap"}},
			nil, []string{"d/a.pcap holds no packets", "1 more file was skipped", "d/b.pcap"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := NewEngine(nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range c.evs {
				e.Event(ev)
			}
			if c.facts != nil {
				e.SetRun(*c.facts)
			}
			var got []Finding
			for _, f := range e.Finish() {
				if f.Rule == CaptureEmpty.ID {
					got = append(got, f)
				}
			}
			if c.want == nil {
				if len(got) != 0 {
					t.Errorf("finding %+v; want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d capture-empty findings, want 1", len(got))
			}
			f := got[0]
			for _, w := range c.want {
				if !strings.Contains(f.Message, w) {
					t.Errorf("message %q lacks %q", f.Message, w)
				}
			}
			if f.Severity != Warning || f.Count != 1 || f.Filter == "" || f.Evidence == nil || f.First != "" {
				t.Errorf("finding %+v", f)
			}
		})
	}
}

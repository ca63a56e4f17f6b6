package analyze

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/run"
)

// periodRecords collects a step's records by period, as JSON lines
// without the tcp.stream numbers (each step numbers the connections it
// rebuilds anew).
type periodRecords map[int64][]string

// Left out of the comparison: the tcp.stream numbers (each step numbers
// the connections it rebuilds anew) and a connection's DNS lookup time
// (the answer may be in a file the step does not re-read; Follow's doc).
var streamField = regexp.MustCompile(`"((prev_)?stream|dns_ms)":-?[0-9.]+,?`)

// sinkFor is the Follow.Sink of a step reading inputs: it numbers the
// files as in all (the whole ring), not as the step does.
func (pr periodRecords) sinkFor(inputs, all []string) func(int64) (run.Sink, error) {
	return func(start int64) (run.Sink, error) {
		return &recordLines{pr: pr, start: start, file: func(i int) int { return slices.Index(all, inputs[i]) }}, nil
	}
}

type recordLines struct {
	pr    periodRecords
	start int64
	file  func(int) int
}

func (s *recordLines) add(kind string, v any) error {
	flows.RemapFiles(v, s.file)
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.pr[s.start] = append(s.pr[s.start], kind+" "+streamField.ReplaceAllString(string(b), ""))
	return nil
}

func (s *recordLines) Flow(r *flows.Record) error     { return s.add("flow", r) }
func (s *recordLines) DNS(r *flows.DNSRecord) error   { return s.add("dns", r) }
func (s *recordLines) HTTP(r *flows.HTTPRecord) error { return s.add("http", r) }
func (s *recordLines) TLS(r *flows.TLSRecord) error   { return s.add("tls", r) }
func (s *recordLines) ICMP(r *flows.ICMPRecord) error { return s.add("icmp", r) }

// writeRing writes frames as a ring of pcap files, a new file every
// `every` of capture time, and returns the files with their time spans.
func writeRing(t *testing.T, dir string, fs capgen.Frames, every time.Duration) (names []string, first, last []int64) {
	t.Helper()
	var w *capgen.PcapWriter
	var f *os.File
	var end time.Time
	closeFile := func() {
		if w != nil {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	for _, fr := range fs {
		if w == nil || !fr.Time.Before(end) {
			closeFile()
			name := filepath.Join(dir, fmt.Sprintf("ring-%03d.pcap", len(names)))
			var err error
			if f, err = os.Create(name); err != nil {
				t.Fatal(err)
			}
			if w, err = capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet, Nanosecond: true}); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
			first = append(first, fr.Time.UnixNano())
			last = append(last, 0)
			end = fr.Time.Truncate(every).Add(every)
		}
		if err := w.WriteFrame(fr); err != nil {
			t.Fatal(err)
		}
		last[len(last)-1] = fr.Time.UnixNano()
	}
	closeFile()
	return names, first, last
}

func tenSeconds(ts int64) (int64, int64) {
	const p = int64(10e9)
	s := ts - ts%p
	return s, s + p
}

// TestFollowStepsMatchOneRun reads a ring of files one step per file, as
// pcapx watch does (each step re-reads the files that hold the flows the
// step before left open), and requires the same records in the same
// periods, and the same counts per period, as one run over all the files.
func TestFollowStepsMatchOneRun(t *testing.T) {
	fs, err := capgen.Traffic{Start: time.Date(2026, 11, 21, 23, 59, 31, 0, time.UTC), Duration: 45 * time.Second, Seed: 7}.Frames()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	names, first, last := writeRing(t, dir, fs, 7*time.Second)
	if len(names) < 6 {
		t.Fatalf("ring of %d files, want at least 6", len(names))
	}

	// Short timeouts, so that flows end all along the ring, at the idle
	// checks, not only at its end.
	timeouts := flows.Config{TCPIdle: 8e9, TCPClosed: 2e9, TCPHalfOpen: 3e9, UDPIdle: 3e9, OtherIdle: 3e9}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			want := periodRecords{}
			whole, err := Run(Config{Inputs: names, Workers: workers, Flows: timeouts, Follow: &Follow{
				New: func(string) bool { return true }, Period: tenSeconds, Drain: true, Sink: want.sinkFor(names, names),
			}}, nil)
			if err != nil {
				t.Fatal(err)
			}

			got := periodRecords{}
			var periods []*run.Period
			var next, openFrom int64
			for i, name := range names {
				// The files before this one that hold packets of the flows
				// the last step left open.
				var inputs []string
				for j := range i {
					if openFrom != 0 && last[j] >= openFrom {
						inputs = append(inputs, names[j])
					}
				}
				inputs = append(inputs, name)
				res, err := Run(Config{Inputs: inputs, Workers: workers, Flows: timeouts, Follow: &Follow{
					New: func(f string) bool { return f == name }, Period: tenSeconds, Drain: i == len(names)-1,
					Sink: got.sinkFor(inputs, names), FirstStream: next,
				}}, nil)
				if err != nil {
					t.Fatal(err)
				}
				next, openFrom = res.NextStream, res.OpenFromNS
				if openFrom != 0 && openFrom < first[0] {
					t.Fatalf("step %d: open from %d, before the capture", i, openFrom)
				}
				periods = mergePeriods(periods, res.Periods)
			}

			t.Logf("%d files, %d packets, %d periods, records %v", len(names), len(fs), len(whole.Periods), counts(want))
			for start, recs := range want {
				t.Logf("period %s: %d records", time.Unix(0, start).UTC().Format(time.TimeOnly), len(recs))
			}
			if len(want) < 5 {
				t.Fatalf("one run: records in %d periods, want at least 5", len(want))
			}
			for start, recs := range want {
				slices.Sort(recs)
				g := got[start]
				slices.Sort(g)
				if !slices.Equal(recs, g) {
					t.Errorf("period %s: %d records stepwise, %d in one run; first difference:\n%s", time.Unix(0, start).UTC(), len(g), len(recs), firstDiff(recs, g))
				}
			}
			for start := range got {
				if _, ok := want[start]; !ok {
					t.Errorf("period %s: records stepwise, none in one run", time.Unix(0, start).UTC())
				}
			}
			if len(periods) != len(whole.Periods) {
				t.Fatalf("%d periods stepwise, %d in one run", len(periods), len(whole.Periods))
			}
			var packets int64
			for i, w := range whole.Periods {
				g := periods[i]
				packets += g.Packets
				wj, _ := json.Marshal(w)
				gj, _ := json.Marshal(g)
				if string(wj) != string(gj) {
					t.Errorf("period %s counts differ:\none run  %s\nstepwise %s", time.Unix(0, w.Start).UTC(), wj, gj)
				}
			}
			if packets != int64(len(fs)) {
				t.Errorf("periods count %d packets, the ring has %d", packets, len(fs))
			}
		})
	}
}

func mergePeriods(all, more []*run.Period) []*run.Period {
	for _, p := range more {
		i, found := slices.BinarySearchFunc(all, p.Start, func(q *run.Period, s int64) int { return int(q.Start - s) })
		if found {
			all[i].Add(p)
			continue
		}
		q := &run.Period{Start: p.Start}
		q.Timeline.Begin(p.Start)
		q.Add(p)
		all = slices.Insert(all, i, q)
	}
	return all
}

func firstDiff(a, b []string) string {
	for _, x := range a {
		if !slices.Contains(b, x) {
			id := x[:min(len(x), 60)]
			for _, y := range b {
				if strings.HasPrefix(y, id) && !slices.Contains(a, y) {
					return "one run:  " + x + "\nstepwise: " + y
				}
			}
			return "only in one run: " + x
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return "only stepwise: " + x
		}
	}
	return "(same records, other multiplicities)"
}

func counts(pr periodRecords) map[string]int {
	m := map[string]int{}
	for _, recs := range pr {
		for _, r := range recs {
			k, _, _ := strings.Cut(r, " ")
			m[k]++
		}
	}
	return m
}

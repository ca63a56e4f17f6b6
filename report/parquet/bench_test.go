package parquet

import (
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/run"
)

// countSink counts what the analysis hands to a sink.
type countSink struct{ rows int64 }

func (c *countSink) Flow(*flows.Record) error     { c.rows++; return nil }
func (c *countSink) DNS(*flows.DNSRecord) error   { c.rows++; return nil }
func (c *countSink) HTTP(*flows.HTTPRecord) error { c.rows++; return nil }
func (c *countSink) TLS(*flows.TLSRecord) error   { c.rows++; return nil }

// benchRun analyses path once, with the Parquet writer (into dir) or
// without, and returns the rows handed to the sinks, the packets read and
// how long Finish took: the part of the Writer's work that comes after
// the analysis has ended.
func benchRun(b *testing.B, path, dir string) (rows, packets int64, tail time.Duration) {
	count := &countSink{}
	var sink run.Sink = count
	var pw *Writer
	if dir != "" {
		w, err := New(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		pw, sink = w, run.Tee(count, w)
	}
	res, err := analyze.Run(analyze.Config{Inputs: []string{path}}, sink)
	if err != nil {
		b.Fatal(err)
	}
	if pw != nil {
		t0 := time.Now()
		if err := pw.Finish(res); err != nil {
			b.Fatal(err)
		}
		tail = time.Since(t0)
	}
	return count.rows + int64(len(res.Findings)), res.Capture.Packets, tail
}

// BenchmarkParquet measures what writing every table adds to an analysis
// of the capture named by PCAPX_BENCH_CAPTURE (make bench writes a 250 MB
// one with `go run ./testdata/gen -big`); it skips when that is unset.
//
// "off" is the analysis alone and "on" the same with the Parquet writer
// (Finish included), for their allocations and throughput. "overhead"
// runs the two alternately in every iteration, so that a change of load
// on a shared machine hits both alike, each from a collected heap (as a
// new process starts), and reports the overhead of "on"
// in wall time (from the fastest run of each, from the medians, and the
// median of each iteration's own two runs: the figure to go by) and
// in CPU time (user + system, summed over the iterations), and how long
// Finish takes (the part that comes after the analysis has ended).
//
//	PCAPX_BENCH_CAPTURE=$PWD/.bench/mixed-250MB.pcap \
//	  go test -run '^$' -bench Parquet -benchtime 5x ./report/parquet
func BenchmarkParquet(b *testing.B) {
	path := os.Getenv("PCAPX_BENCH_CAPTURE")
	if path == "" {
		b.Skip("set PCAPX_BENCH_CAPTURE to a large capture (make bench writes .bench/mixed-250MB.pcap)")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Skip(err)
	}
	single := func(b *testing.B, write bool) {
		b.ReportAllocs()
		b.SetBytes(st.Size())
		var rows, packets int64
		for b.Loop() {
			dir := ""
			if write {
				dir = b.TempDir()
			}
			rows, packets, _ = benchRun(b, path, dir)
		}
		b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		b.ReportMetric(float64(rows), "rows/op")
	}
	b.Run("off", func(b *testing.B) { single(b, false) })
	b.Run("on", func(b *testing.B) { single(b, true) })
	b.Run("overhead", func(b *testing.B) {
		var wall [2][]time.Duration
		var cpu [2]time.Duration
		var tails []time.Duration
		i := 0
		for b.Loop() {
			for k := range 2 {
				write := (i+k)%2 == 1 // alternate which goes first
				dir := ""
				if write {
					dir = b.TempDir()
				}
				// Every run starts from a collected heap, as a new
				// pcapx process does: otherwise a run inherits the
				// garbage of the one before it (the writer's more than
				// the analysis's), and with it an early collection.
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				t0, c0 := time.Now(), cpuTime()
				_, _, tail := benchRun(b, path, dir)
				w := 0
				if write {
					w = 1
					tails = append(tails, tail)
				}
				wall[w] = append(wall[w], time.Since(t0))
				cpu[w] += cpuTime() - c0
			}
			i++
		}
		pct := func(on, off time.Duration) float64 { return 100 * (float64(on) - float64(off)) / float64(off) }
		// Each iteration's two runs are back to back, so their ratio is
		// the least touched by a machine whose speed drifts (a shared
		// VM's does, by 20% within minutes).
		paired := make([]float64, len(wall[0]))
		for i := range paired {
			paired[i] = pct(wall[1][i], wall[0][i])
		}
		slices.Sort(paired)
		b.ReportMetric(paired[len(paired)/2], "overhead-paired-%")
		slices.Sort(wall[0])
		slices.Sort(wall[1])
		n := len(wall[0])
		b.ReportMetric(wall[0][0].Seconds()*1e3, "off-ms")
		b.ReportMetric(wall[1][0].Seconds()*1e3, "on-ms")
		b.ReportMetric(pct(wall[1][0], wall[0][0]), "overhead-min-%")
		b.ReportMetric(pct(wall[1][n/2], wall[0][n/2]), "overhead-median-%")
		slices.Sort(tails)
		b.ReportMetric(tails[n/2].Seconds()*1e3, "finish-median-ms")
		if cpu[0] > 0 {
			b.ReportMetric(pct(cpu[1], cpu[0]), "overhead-cpu-%")
		}
	})
}

// collectSink keeps every record of a run.
type collectSink struct {
	flows []*flows.Record
	dns   []*flows.DNSRecord
	http  []*flows.HTTPRecord
	tls   []*flows.TLSRecord
	icmp  []*flows.ICMPRecord
}

func (c *collectSink) Flow(r *flows.Record) error     { c.flows = append(c.flows, r); return nil }
func (c *collectSink) DNS(r *flows.DNSRecord) error   { c.dns = append(c.dns, r); return nil }
func (c *collectSink) HTTP(r *flows.HTTPRecord) error { c.http = append(c.http, r); return nil }
func (c *collectSink) TLS(r *flows.TLSRecord) error   { c.tls = append(c.tls, r); return nil }
func (c *collectSink) ICMP(r *flows.ICMPRecord) error { c.icmp = append(c.icmp, r); return nil }

// sendTo hands the kept records to s: the flows, then DNS, HTTP and TLS.
func (c *collectSink) sendTo(s run.Sink) {
	for _, r := range c.flows {
		s.Flow(r)
	}
	for _, r := range c.dns {
		s.DNS(r)
	}
	for _, r := range c.http {
		s.HTTP(r)
	}
	for _, r := range c.tls {
		s.TLS(r)
	}
	if is, ok := s.(run.ICMPSink); ok {
		for _, r := range c.icmp {
			is.ICMP(r)
		}
	}
}

// BenchmarkWrite is the Writer alone: the records of one analysis of
// PCAPX_BENCH_CAPTURE, kept in memory, written as the tables.
// cpu-ms/op counts every goroutine (the encoder, the parallel Finish, the
// garbage collector).
func BenchmarkWrite(b *testing.B) {
	path := os.Getenv("PCAPX_BENCH_CAPTURE")
	if path == "" {
		b.Skip("set PCAPX_BENCH_CAPTURE to a large capture (make bench writes .bench/mixed-250MB.pcap)")
	}
	c := &collectSink{}
	res, err := analyze.Run(analyze.Config{Inputs: []string{path}}, c)
	if err != nil {
		b.Fatal(err)
	}
	rows := len(c.flows) + len(c.dns) + len(c.http) + len(c.tls) + len(res.Findings)
	b.ReportAllocs()
	c0 := cpuTime()
	for b.Loop() {
		w, err := New(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		c.sendTo(w)
		if err := w.Finish(res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows), "rows/op")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if c := cpuTime() - c0; c > 0 {
		b.ReportMetric(float64(c)/1e6/float64(b.N), "cpu-ms/op")
	}
}

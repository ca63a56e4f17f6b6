package analyze

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/pcapx/pcapx/analyze/source"
	"github.com/pcapx/pcapx/flows"
)

// The benchmarks run on a large generated capture (make bench writes one of
// 250 MB with `go run ./testdata/gen -big`); its path comes from
// PCAPX_BENCH_CAPTURE so the file is made once and never committed.
func benchCapture(b *testing.B) (string, int64) {
	path := os.Getenv("PCAPX_BENCH_CAPTURE")
	if path == "" {
		b.Skip("set PCAPX_BENCH_CAPTURE (make bench does)")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Skip(err)
	}
	return path, st.Size()
}

func report(b *testing.B, packets, size int64) {
	b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
	b.ReportMetric(float64(size)*float64(b.N)/b.Elapsed().Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(packets), "pkts/op")
}

// BenchmarkRead: the capture reader alone (zero-copy records).
func BenchmarkRead(b *testing.B) {
	path, size := benchCapture(b)
	b.ReportAllocs()
	b.SetBytes(size)
	var n int64
	for b.Loop() {
		rd, err := source.Open([]string{path}, source.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n = 0
		for {
			_, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		rd.Close()
	}
	report(b, n, size)
}

// BenchmarkDecode: reader plus layer decoding into the reused Packet.
func BenchmarkDecode(b *testing.B) {
	path, size := benchCapture(b)
	b.ReportAllocs()
	b.SetBytes(size)
	var n int64
	for b.Loop() {
		rd, err := source.Open([]string{path}, source.Options{})
		if err != nil {
			b.Fatal(err)
		}
		dec := flows.NewDecoder()
		var p flows.Packet
		n = 0
		for {
			pkt, err := rd.Next()
			if err == io.EOF {
				break
			}
			n++
			p.WireLen = pkt.OrigLen
			dec.Decode(pkt.LinkType, pkt.Data, &p)
		}
		rd.Close()
	}
	report(b, n, size)
}

// BenchmarkAnalyze: the whole run (reader, decoder, flow table, TCP
// analysis, reassembly and every parser, rules, flow records) with no
// output sink, under Go's default collector settings (as pcapx analyze
// runs). Run it with -cpu 1 for the one-core figure: with more, the
// collector's marking moves to another core.
func BenchmarkAnalyze(b *testing.B) {
	path, size := benchCapture(b)
	run := func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(size)
		var n int64
		for b.Loop() {
			res, err := Run(Config{Inputs: []string{path}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			n = res.Capture.Packets
		}
		report(b, n, size)
	}
	b.Run("gogc100", run)
}

// BenchmarkAnalyzeWorkers is BenchmarkAnalyze with 1 worker (everything
// on one goroutine) and with one per core (the default): the speed-up the
// sharding gives. -cpu sets the cores.
func BenchmarkAnalyzeWorkers(b *testing.B) {
	path, size := benchCapture(b)
	for _, w := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(size)
			var n int64
			for b.Loop() {
				res, err := Run(Config{Inputs: []string{path}, Workers: w}, nil)
				if err != nil {
					b.Fatal(err)
				}
				n = res.Capture.Packets
			}
			report(b, n, size)
		})
	}
}

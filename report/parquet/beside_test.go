package parquet

import (
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/pcapx/pcapx/analyze"
)

// BenchmarkAnalysisBeside measures how much the analysis of
// PCAPX_BENCH_CAPTURE slows down while one goroutine beside it keeps
// another core busy, by the kind of work: arithmetic in registers,
// copying memory, zstd compression of 16 KiB blocks (what the writer's
// pages are), and allocating 16 KiB buffers. It says how much of the
// Parquet writer's overhead (BenchmarkParquet) is the machine rather than
// the writer. On the 2-vCPU VM pcapx is developed on (three runs of 6-8
// iterations), arithmetic beside the analysis cost it 1-15%, zstd -1-18%,
// copying 8 MiB at a time 35-64% and allocating 52-69%: the analysis is
// bound by memory latency (its flow table), and memory traffic on the
// other core, not CPU time as such, is what slows it. The writer's work
// is copying and compressing pages (about half the analysis's CPU time
// on the 250 MB capture); batches small enough to stay in the core's
// cache (batchRows) are what keeps its share of the overhead small. Each
// iteration runs every kind once, in a rotating order, from a collected
// heap; the figures are medians.
func BenchmarkAnalysisBeside(b *testing.B) {
	path := os.Getenv("PCAPX_BENCH_CAPTURE")
	if path == "" {
		b.Skip("set PCAPX_BENCH_CAPTURE to a large capture (make bench writes .bench/mixed-250MB.pcap)")
	}
	if runtime.GOMAXPROCS(0) < 2 {
		b.Skip("needs two cores: with one, the work beside the analysis takes turns with it")
	}
	src, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	src = src[:min(len(src), 16<<20)]
	const block = 16 << 10
	if len(src) < 2*block {
		b.Skip("capture too small")
	}
	kinds := []string{"idle", "arith", "copy", "zstd", "alloc"}
	work := map[string]func(stop *atomic.Bool){
		"idle": func(stop *atomic.Bool) {
			for !stop.Load() {
				time.Sleep(time.Millisecond)
			}
		},
		"arith": func(stop *atomic.Bool) {
			x := uint64(1)
			for !stop.Load() {
				for range 100_000 {
					x = x*6364136223846793005 + 1442695040888963407
				}
			}
			runtime.KeepAlive(x)
		},
		"copy": func(stop *atomic.Bool) {
			buf := make([]byte, len(src)/2)
			for off := 0; !stop.Load(); off = (off + 4096) % (len(src) - len(buf)) {
				copy(buf, src[off:])
			}
		},
		"zstd": func(stop *atomic.Bool) {
			enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
			var dst []byte
			for off := 0; !stop.Load(); off = (off + block) % (len(src) - block) {
				dst = enc.EncodeAll(src[off:off+block], dst[:0])
			}
		},
		"alloc": func(stop *atomic.Bool) {
			var keep [][]byte
			for off := 0; !stop.Load(); off = (off + block) % (len(src) - block) {
				keep = append(keep, append([]byte(nil), src[off:off+block]...))
				if len(keep) == 64 {
					keep = keep[:0]
				}
			}
		},
	}
	wall := map[string][]time.Duration{}
	i := 0
	for b.Loop() {
		for k := range kinds {
			kind := kinds[(k+i)%len(kinds)]
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			var stop atomic.Bool
			done := make(chan struct{})
			go func() {
				defer close(done)
				work[kind](&stop)
			}()
			t0 := time.Now()
			if _, err := analyze.Run(analyze.Config{Inputs: []string{path}}, &countSink{}); err != nil {
				b.Fatal(err)
			}
			wall[kind] = append(wall[kind], time.Since(t0))
			stop.Store(true)
			<-done
		}
		i++
	}
	median := func(d []time.Duration) float64 {
		d = slices.Clone(d)
		slices.Sort(d)
		return float64(d[len(d)/2])
	}
	idle := median(wall["idle"])
	b.ReportMetric(idle/1e6, "idle-ms")
	for _, k := range kinds[1:] {
		b.ReportMetric(100*(median(wall[k])/idle-1), k+"-slowdown-%")
	}
}

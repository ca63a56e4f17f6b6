// Package memlimit is pcapx's garbage-collector policy: collect when the
// heap reaches a soft limit that follows the live heap, instead of every
// time the heap doubles (GOGC=100).
//
// pcapx's live heap is its flow table (about 1 KB per active flow) plus
// fixed buffers; everything else (records on their way to an output,
// per-flow strings) is short-lived garbage made at a steady rate. With
// GOGC=100 a run with a small table collects often (each cycle marks the
// whole table, and the write barriers slow the analysis while it runs),
// and a run with a big table lets the heap reach twice its live size.
// Under this policy:
//
//   - GOGC is off, and the soft memory limit is what triggers a
//     collection: at least Floor, so a small run collects rarely (on the
//     250 MB benchmark capture, pcapx analyze collects once instead of
//     four times);
//   - the limit follows the live heap, at live + live/2 + 16 MiB, re-read
//     ten times a second, so a run whose table outgrows the floor is
//     never squeezed below what it needs (the GC would run back to back),
//     and its heap stays well under the twice-live of GOGC=100.
//
// The headroom is a trade of memory for speed. pcapx analyze on the
// generated 1 GB capture (about 66k flows active at once; a 2-vCPU VM whose
// timings vary by 20% from run to run): with live/2 + 16 MiB, 0.97-1.20 s
// at 140 MB peak RSS; with live/4 + 16 MiB, 1.06-1.31 s at 134 MB; under
// plain GOGC=100, 0.91-1.03 s at 162 MB. With -o: 1.37 s / 254 MB,
// 1.53 s / 217 MB and 1.30 s / 284 MB.
//
// GOGC or GOMEMLIMIT set in the environment win: the policy is then off.
package memlimit

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Floor is the lowest soft limit.
const Floor = 80 << 20

// Start applies the policy until stop is called, which restores the
// collector's settings as they were.
func Start() (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		return func() {}
	}
	oldLimit := debug.SetMemoryLimit(Floor)
	oldPercent := debug.SetGCPercent(-1)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				metrics.Read(sample)
				if sample[0].Value.Kind() != metrics.KindUint64 {
					continue
				}
				debug.SetMemoryLimit(Limit(int64(sample[0].Value.Uint64())))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}
}

// Limit is the soft limit for a live heap of live bytes.
func Limit(live int64) int64 {
	return max(Floor, live+live/2+16<<20)
}

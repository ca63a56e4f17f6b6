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
//     collection: at least Floor (plus a reserve: see below), so a small
//     run collects rarely (on the 250 MB benchmark capture, pcapx analyze
//     collects once instead of four times);
//   - the limit follows the live heap, at live + max(live/2 + 16 MiB,
//     64 MiB), set again at the end of every collection (a cleanup
//     re-armed each cycle runs then), so a run whose table outgrows the
//     floor is never squeezed below what it needs, and its heap stays
//     well under the twice-live of GOGC=100. It was first re-read ten times a second;
//     but with -o the live heap (flow table, Parquet writer, report
//     collector) reaches the floor's heap goal within one tick as the
//     capture ends, and the collector ran eight times back to back there
//     (gctrace, 250 MB capture) before the limit was raised.
//   - the headroom is at least 64 MiB: with -o the live heap of a
//     middling run (40-90 MB on the 250 MB capture: the table, the
//     writer's row groups, the report collector) sits where live/2 + 16
//     MiB is less than GOGC=100 would give, and the writer's garbage
//     (arrow-go's page and compression buffers) then made the collector
//     run about twice as often; in an A/B of six rounds the Parquet
//     overhead under this policy fell from 32% to 27% (BenchmarkParquet,
//     overhead/pcapx-gc) for 7 MB more peak RSS (152 MB).
//
// The headroom is a trade of memory for speed. pcapx analyze on the
// generated 1 GB capture (about 66k flows active at once; a 2-vCPU VM whose
// timings vary by 20% from run to run): with live/2 + 16 MiB, 0.97-1.20 s
// at 140 MB peak RSS; with live/4 + 16 MiB, 1.06-1.31 s at 134 MB; under
// plain GOGC=100, 0.91-1.03 s at 162 MB. With -o: 1.37 s / 254 MB,
// 1.53 s / 217 MB and 1.30 s / 284 MB.
//
// A run that does more than analyse (pcapx analyze -o: the Parquet writer
// and the HTML report's collector beside the analysis) passes Start the
// memory those hold and make: it is added to the floor. Without it, the
// writer's buffers and garbage made the 250 MB capture's run collect
// twice where the analysis alone collected once, and those collections,
// not the encoding, were half of what writing the tables cost: on that
// capture, in-process A/B runs (24 iterations, order rotated) measured
// the Parquet overhead at 19-25% with the floor at 80 MiB and 11-14% at
// 144 MiB (what BenchmarkParquet/overhead/pcapx-gc gives is in the
// README), for about 25 MB more peak RSS with -o (137 MB before, 158-165
// MB after; see parquet.MemoryReserve).
//
// The policy holds until stop is called, and a command calls it when its
// work is done, not when the analysis is: stop sets GOGC back, and with
// the heap far above what GOGC=100 allows after the last collection, the
// runtime collects at once, in the middle of the tables being completed.
//
// GOGC or GOMEMLIMIT set in the environment win: the policy is then off.
package memlimit

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Floor is the lowest soft limit of an analysis alone.
const Floor = 80 << 20

// Start applies the policy until stop is called, which restores the
// collector's settings as they were. reserve is what the run holds and
// makes besides the analysis (an output writer's buffers and garbage),
// added to the floor; 0 for an analysis alone.
func Start(reserve int64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" || os.Getenv("GOGC") != "" {
		return func() {}
	}
	p := &policy{floor: Floor + min(max(reserve, 0), 1<<40)} // a reserve past 1 TiB is a mistake; no overflow
	p.mu.Lock()
	defer p.mu.Unlock()
	oldLimit := debug.SetMemoryLimit(p.floor)
	oldPercent := debug.SetGCPercent(-1)
	p.arm()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.stopped = true
		debug.SetGCPercent(oldPercent)
		debug.SetMemoryLimit(oldLimit)
	}
}

type sentinel struct{ _ *byte }

// policy is one Start's state. mu orders a cleanup's new limit with stop
// restoring the old one (a cleanup runs on the runtime's goroutine).
type policy struct {
	floor   int64 // Floor and the reserve
	mu      sync.Mutex
	stopped bool
}

// arm registers a cleanup that runs after the next collection: it sets
// the limit from the live heap that collection found, and arms the next
// one, until stopped.
func (p *policy) arm() {
	// Unreachable at once, so the next cycle frees it and runs the
	// cleanup. It holds a pointer: a small pointer-free object may share
	// a block with others (the tiny allocator) and outlive the cycle.
	runtime.AddCleanup(new(sentinel), func(p *policy) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.stopped {
			return
		}
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			debug.SetMemoryLimit(Limit(int64(sample[0].Value.Uint64()), p.floor))
		}
		p.arm()
	}, p)
}

// Limit is the soft limit for a live heap of live bytes, at least floor.
func Limit(live, floor int64) int64 {
	return max(floor, live+max(live/2+16<<20, 64<<20))
}

package main

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Memory policy. pcapx's live heap is its flow table (about 1 KB per active
// flow) plus fixed buffers; everything else (records being encoded, per-flow
// strings) is short-lived garbage. With Go's default GOGC=100 the heap grows
// to twice the live size before a collection, which doubles the footprint a
// user sees for nothing on small runs. So pcapx keeps a soft memory limit of
// floorLimit: a 1 GB capture's analysis peaks around 85 MB instead of 130.
// A run whose live heap outgrows the floor (a big flow table, the Parquet
// writer's buffers) must not be squeezed below what it needs — the GC would
// run back to back — so the limit follows twice the live heap (GOGC=100's
// own goal), re-read ten times a second. GOMEMLIMIT, when set, wins.
const floorLimit = 80 << 20

func startMemoryPolicy() (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	debug.SetMemoryLimit(floorLimit)
	done := make(chan struct{})
	go func() {
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
				live := int64(sample[0].Value.Uint64())
				debug.SetMemoryLimit(max(floorLimit, live+live/4+16<<20))
			}
		}
	}()
	return func() { close(done) }
}

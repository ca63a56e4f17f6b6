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
// user sees for nothing. So pcapx keeps a soft memory limit of 1.5× the live
// heap, never below floorLimit, re-read four times a second: small runs stay
// small (a 1 GB capture peaks around 85 MB), and a run with a large flow
// table is never squeezed into a limit below what it truly needs (a fixed
// low limit would make the GC run flat out). GOMEMLIMIT, when set, wins.
const floorLimit = 80 << 20

func startMemoryPolicy() (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	debug.SetMemoryLimit(floorLimit)
	done := make(chan struct{})
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(250 * time.Millisecond)
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
				debug.SetMemoryLimit(max(floorLimit, live+live/2))
			}
		}
	}()
	return func() { close(done) }
}

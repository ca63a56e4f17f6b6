package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	const reserved = Floor + 64<<20
	for _, c := range []struct{ live, floor, want int64 }{
		{0, Floor, Floor},
		{10 << 20, Floor, Floor},                      // 10+64 = 74 MiB < floor
		{40 << 20, Floor, 40<<20 + 64<<20},            // 40+20+16 = 76: the 64 MiB minimum
		{96 << 20, Floor, 96<<20 + 64<<20},            // 96+48+16: where the two meet
		{128 << 20, Floor, 128<<20 + 64<<20 + 16<<20}, // a 1 GB capture's table with -o
		{1 << 30, Floor, 1<<30 + 1<<29 + 16<<20},
		{40 << 20, reserved, reserved},                   // a reserve lifts the floor
		{128 << 20, reserved, 128<<20 + 64<<20 + 16<<20}, // and only the floor
	} {
		if got := Limit(c.live, c.floor); got != c.want {
			t.Errorf("Limit(%d MiB, floor %d MiB) = %d MiB, want %d MiB", c.live>>20, c.floor>>20, got>>20, c.want>>20)
		}
	}
}

// setCollector clears GOGC and GOMEMLIMIT (either turns the policy off)
// and sets the collector to percent and limit until the test ends.
func setCollector(t *testing.T, percent int, limit int64) {
	t.Helper()
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	prevPercent := debug.SetGCPercent(percent)
	prevLimit := debug.SetMemoryLimit(limit)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
}

// TestStartStop: the policy turns GOGC off with the floor as the limit,
// and stop restores what was there.
func TestStartStop(t *testing.T) {
	setCollector(t, 150, 1<<40)

	stop := Start(0)
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("GOGC under the policy = %d, want off (-1)", p)
	}
	if l := debug.SetMemoryLimit(-1); l < Floor {
		t.Errorf("limit under the policy = %d, want >= %d", l, Floor)
	}
	stop()
	if p := debug.SetGCPercent(-1); p != 150 {
		t.Errorf("GOGC after stop = %d, want 150 restored", p)
	}
	debug.SetGCPercent(150)
	if l := debug.SetMemoryLimit(-1); l != 1<<40 {
		t.Errorf("limit after stop = %d, want restored", l)
	}
}

// TestStartReserve: a run with a reserve starts at the floor plus the
// reserve; a negative reserve counts as none.
func TestStartReserve(t *testing.T) {
	setCollector(t, 100, math.MaxInt64)
	for _, c := range []struct{ reserve, want int64 }{{64 << 20, Floor + 64<<20}, {-1, Floor}} {
		stop := Start(c.reserve)
		l := debug.SetMemoryLimit(-1)
		stop()
		// A collection in between sets Limit(live, floor): the floor
		// too, the test's live heap being small.
		if l != c.want {
			t.Errorf("Start(%d MiB): limit %d MiB, want %d MiB", c.reserve>>20, l>>20, c.want>>20)
		}
	}
}

// TestReserveAfterCollection: the limit set again after each collection
// keeps the reserve in its floor.
func TestReserveAfterCollection(t *testing.T) {
	setCollector(t, 100, math.MaxInt64)
	stop := Start(64 << 20)
	defer stop()
	debug.SetMemoryLimit(1 << 40) // the cleanup after the next collection overwrites it
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if l := debug.SetMemoryLimit(-1); l != 1<<40 {
			if want := int64(Floor + 64<<20); l != want {
				t.Fatalf("limit after a collection %d MiB, want %d MiB", l>>20, want>>20)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no collection set the limit again")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLimitFollowsLiveHeap: after a collection that finds a live heap
// above what the floor allows for, the limit is raised to Limit(live)
// without waiting (the cleanup armed for every cycle).
func TestLimitFollowsLiveHeap(t *testing.T) {
	setCollector(t, 100, math.MaxInt64)
	stop := Start(0)
	defer stop()
	live := make([]byte, 96<<20) // live across the collection below
	for i := range live {
		live[i] = byte(i)
	}
	want := Limit(96<<20, Floor)
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		if l := debug.SetMemoryLimit(-1); l >= want {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("limit %d MiB after collections with %d MiB live, want >= %d MiB", l>>20, len(live)>>20, want>>20)
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(live)
}

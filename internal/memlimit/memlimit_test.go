package memlimit

import (
	"runtime/debug"
	"testing"
)

func TestLimit(t *testing.T) {
	for _, c := range []struct{ live, want int64 }{
		{0, Floor},
		{40 << 20, Floor},                    // 40+20+16 = 76 MiB < floor
		{88 << 20, 88<<20 + 44<<20 + 16<<20}, // a 1 GB capture's table
		{1 << 30, 1<<30 + 1<<29 + 16<<20},
	} {
		if got := Limit(c.live); got != c.want {
			t.Errorf("Limit(%d MiB) = %d MiB, want %d MiB", c.live>>20, got>>20, c.want>>20)
		}
	}
}

// TestStartStop: the policy turns GOGC off with the floor as the limit,
// and stop restores what was there.
func TestStartStop(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	prevPercent := debug.SetGCPercent(150)
	prevLimit := debug.SetMemoryLimit(1 << 40)
	defer debug.SetGCPercent(prevPercent)
	defer debug.SetMemoryLimit(prevLimit)

	stop := Start()
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

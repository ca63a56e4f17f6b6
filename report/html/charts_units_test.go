package html

import "testing"

// TestUnits: the scale and name charts use for a peak, at the boundaries.
func TestUnits(t *testing.T) {
	for _, c := range []struct {
		peak       float64
		rate, size string
		div        float64
	}{
		{0, "bit/s", "bytes", 1},
		{999, "bit/s", "bytes", 1},
		{1000, "kbit/s", "kB", 1e3},
		{999_999, "kbit/s", "kB", 1e3},
		{1e6, "Mbit/s", "MB", 1e6},
		{1e9, "Gbit/s", "GB", 1e9},
		{5e12, "Gbit/s", "GB", 1e9},
	} {
		d, r := rateUnit(c.peak)
		if d != c.div || r != c.rate {
			t.Errorf("rateUnit(%g) = %g %s, want %g %s", c.peak, d, r, c.div, c.rate)
		}
		d, s := byteUnit(c.peak)
		if d != c.div || s != c.size {
			t.Errorf("byteUnit(%g) = %g %s, want %g %s", c.peak, d, s, c.div, c.size)
		}
	}
}

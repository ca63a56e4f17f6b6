package source

import (
	"slices"
	"testing"
)

// TestTimeWindow: packets outside Since/Until are counted in Outside and
// never returned; the frame numbers of the others are still their place
// in the file; a file with no packet in the window (read whole, at the
// probe) has none; the same holds for pcapng, with a small buffer (the
// copying path) and without.
func TestTimeWindow(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.pcap", pcapAt(1, 10, 20, 30, 40, 50, 60))
	b := writeFile(t, dir, "b.pcapng", pcapngAt(2, 25, 35, 45))
	early := writeFile(t, dir, "early.pcap", pcapAt(3, 1, 2, 3))
	for _, buf := range []int{0, 64} {
		opts := Options{BufferSize: buf, Since: t0 + 20_000, Until: t0 + 45_000}
		res := readAll(t, []string{a, b, early}, opts)
		if res.err != nil {
			t.Fatal(res.err)
		}
		noWarn(t, res)
		got := sequence(t, res)
		// a: 20 (frame 2), 30 (3), 40 (4); b: 25 (1), 35 (2); 45 is at
		// Until, which is outside.
		want := []seen{{0, 20, 2}, {1, 25, 1}, {0, 30, 3}, {1, 35, 2}, {0, 40, 4}}
		if !slices.Equal(got, want) {
			t.Fatalf("buffer %d: got %v, want %v", buf, got, want)
		}
		byName := map[string]FileInfo{}
		for _, f := range res.files {
			byName[f.Name] = f
		}
		for _, c := range []struct {
			name             string
			packets, outside int64
			first, last      int64
		}{
			{a, 3, 3, t0 + 20_000, t0 + 40_000},
			{b, 2, 1, t0 + 25_000, t0 + 35_000},
			{early, 0, 3, 0, 0},
		} {
			f := byName[c.name]
			if f.Packets != c.packets || f.Outside != c.outside || f.First != c.first || f.Last != c.last {
				t.Errorf("buffer %d: %s: packets %d outside %d first %d last %d, want %d %d %d %d",
					buf, c.name, f.Packets, f.Outside, f.First, f.Last, c.packets, c.outside, c.first, c.last)
			}
		}
	}
	// Only one bound: everything from Since on.
	res := readAll(t, []string{a}, Options{Since: t0 + 50_000})
	if got := sequence(t, res); !slices.Equal(got, []seen{{0, 50, 5}, {0, 60, 6}}) || res.files[0].Outside != 4 {
		t.Fatalf("since only: got %v, outside %d", got, res.files[0].Outside)
	}
	// No window: nothing is outside.
	res = readAll(t, []string{a}, Options{})
	if len(res.pkts) != 6 || res.files[0].Outside != 0 {
		t.Fatalf("no window: %d packets, outside %d", len(res.pkts), res.files[0].Outside)
	}
}

// TestTimeWindowDamageAfterSkipped: a second pcapng section whose header
// is unsupported, after packets the window skipped, is damage in a capture
// (a warning; the file is read up to it), as it is without a window; not
// the "no capture at all" error of a file that has no packet before it.
func TestTimeWindowDamageAfterSkipped(t *testing.T) {
	dir := t.TempDir()
	w := &ngW{}
	w.shb(false).idb(1, 0)
	for i := range 3 {
		w.epb(0, us0+uint64(10*(i+1)), payload(1, i), 0)
	}
	w.shbV(false, 2, 0) // a section version pcapx does not read
	p := writeFile(t, dir, "a.pcapng", w.b)
	for _, opts := range []Options{{}, {Since: t0 + 1_000_000}} {
		res := readAll(t, []string{p}, opts)
		if res.err != nil {
			t.Fatalf("window %d: %v", opts.Since, res.err)
		}
		wantWarn(t, res, "section")
		if f := res.files[0]; f.Packets+f.Outside != 3 {
			t.Errorf("window %d: %d packets, %d outside; want 3 in all", opts.Since, f.Packets, f.Outside)
		}
	}
}

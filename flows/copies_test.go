package flows

import "testing"

// TestCaptureCopies: a data segment captured again (same numbers, flags
// and IP identification, within 100 ms; without an identification within
// 1 ms) is counted as a copy, not a resend; the same segment sent again
// later, or with a new identification, is a resend.
func TestCaptureCopies(t *testing.T) {
	const A, P = FlagACK, FlagPSH
	for _, c := range []struct {
		name   string
		second float64 // ms after the first
		id1    uint16
		id2    uint16
		copies int64
	}{
		{"the same packet 0.3 ms later (a router's two sides)", 0.3, 0x1de, 0x1de, 1},
		{"the same identification 50 ms later (another VLAN)", 50, 7, 7, 1},
		{"sent again after a timeout, same identification", 300, 7, 7, 0},
		{"sent again with a new identification", 0.3, 7, 8, 0},
		{"no identification, 1 µs later", 0.001, 0, 0, 1},
		{"no identification, 20 ms later", 20, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cv := newConv(t)
			cv.handshake(1, 2)
			cv.nextID = c.id1
			cv.seg(10, true, A|P, cISN+1, sISN+1, 100, 1000)
			cv.nextID = c.id2
			if a := cv.seg(10+c.second, true, A|P, cISN+1, sISN+1, 100, 1000); a&ARetransmission == 0 {
				t.Fatalf("the second is not flagged a retransmission: %v", a)
			}
			cv.table.Flush()
			r := cv.ended[0]
			if r.Retransmissions != 1 || r.CaptureCopies != c.copies {
				t.Errorf("retransmissions %d, copies %d; want 1, %d", r.Retransmissions, r.CaptureCopies, c.copies)
			}
		})
	}
}

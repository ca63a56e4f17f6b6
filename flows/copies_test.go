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
		// Stamped before the segment it repeats: left to Wireshark's count,
		// as for SYNs and ACKs (segCopy, ackCopy).
		{"the same identification 0.3 ms earlier", -0.3, 7, 7, 0},
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
			if r.Retransmissions != 1 || r.RetransmissionCopies != c.copies {
				t.Errorf("retransmissions %d, copies %d; want 1, %d", r.Retransmissions, r.RetransmissionCopies, c.copies)
			}
		})
	}
}

// TestDupAckCopies: a pure ACK captured again (same IP identification
// within 100 ms; without one, at the same microsecond) is a duplicate ACK
// to Wireshark but counted as a copy; the receiver's own duplicate ACKs,
// one per arriving segment, are not.
func TestDupAckCopies(t *testing.T) {
	const A, P = FlagACK, FlagPSH
	for _, c := range []struct {
		name   string
		second float64 // ms after the first ACK
		id1    uint16
		id2    uint16
		copies int64
	}{
		{"no identification, the same instant", 0, 0, 0, 1},
		{"no identification, 0.1 ms later (a real duplicate)", 0.1, 0, 0, 0},
		{"the same identification 0.3 ms later", 0.3, 9, 9, 1},
		{"a new identification (a real duplicate)", 0, 9, 10, 0},
		{"the same identification after 200 ms", 200, 9, 9, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cv := newConv(t)
			cv.handshake(1, 2)
			cv.seg(10, false, A|P, sISN+1, cISN+1, 100, 1000)
			cv.nextID = c.id1
			cv.seg(11, true, A, cISN+1, sISN+101, 0, 1000)
			cv.nextID = c.id2
			if a := cv.seg(11+c.second, true, A, cISN+1, sISN+101, 0, 1000); a&ADuplicateAck == 0 {
				t.Fatalf("the second ACK is not flagged a duplicate: %v", a)
			}
			cv.table.Flush()
			r := cv.ended[0]
			if r.DuplicateAcks != 1 || r.DuplicateAckCopies != c.copies {
				t.Errorf("duplicate ACKs %d, copies %d; want 1, %d", r.DuplicateAcks, r.DuplicateAckCopies, c.copies)
			}
		})
	}
	// A data segment then a pure ACK with the same (absent)
	// identification at the same instant: the ACK is no copy of data.
	cv := newConv(t)
	cv.handshake(1, 2)
	cv.seg(10, false, A|P, sISN+1, cISN+1, 100, 1000)
	cv.seg(11, true, A|P, cISN+1, sISN+101, 50, 1000)
	cv.seg(11, true, A, cISN+51, sISN+101, 0, 1000)
	cv.seg(11, true, A, cISN+51, sISN+101, 0, 1000)
	cv.table.Flush()
	if r := cv.ended[0]; r.DuplicateAckCopies != 1 {
		t.Errorf("copies %d after data then two equal ACKs, want 1 (the second ACK)", r.DuplicateAckCopies)
	}
}

// TestCopiesAreNoEvidence: a FIN captured twice is a copy as a data
// segment is, and neither copies of segments nor copies of ACKs are kept
// as evidence of resends or duplicate ACKs; a real resend is.
func TestCopiesAreNoEvidence(t *testing.T) {
	const A, P, F = FlagACK, FlagPSH, FlagFIN
	cv := newConv(t)
	cv.handshake(1, 2)
	cv.seg(10, true, A|P, cISN+1, sISN+1, 100, 1000)  // frame 4
	cv.seg(10, true, A|P, cISN+1, sISN+1, 100, 1000)  // 5: a copy
	cv.seg(11, false, A, sISN+1, cISN+101, 0, 1000)   // 6
	cv.seg(11, false, A, sISN+1, cISN+101, 0, 1000)   // 7: a copy of the ACK
	cv.seg(400, true, A|P, cISN+1, sISN+1, 100, 1000) // 8: sent again (spurious)
	cv.seg(500, true, A|F, cISN+101, sISN+1, 0, 1000) // 9
	cv.seg(500, true, A|F, cISN+101, sISN+1, 0, 1000) // 10: a copy of the FIN
	cv.table.Flush()
	r := cv.ended[0]
	if r.Retransmissions != 3 || r.RetransmissionCopies != 2 || r.DuplicateAcks != 1 || r.DuplicateAckCopies != 1 {
		t.Fatalf("retransmissions %d (copies %d), duplicate ACKs %d (copies %d); want 3 (2), 1 (1)", r.Retransmissions, r.RetransmissionCopies, r.DuplicateAcks, r.DuplicateAckCopies)
	}
	e := r.Evidence
	if e == nil || len(e.Retransmissions) != 1 || e.Retransmissions[0].Frame != 8 || len(e.DuplicateAcks) != 0 {
		t.Errorf("evidence %+v; want the resend, frame 8, only", e)
	}
}

// TestSYNCopies: a SYN or SYN-ACK captured again right after itself (the
// same identification) is a copy; a SYN sent again after a timeout is not.
func TestSYNCopies(t *testing.T) {
	const A, S, P = FlagACK, FlagSYN, FlagPSH
	for _, c := range []struct {
		name   string
		second float64 // ms after the first SYN
		id2    uint16
		copies int64
	}{
		{"captured again 5 µs later", 0.005, 7, 1},
		{"sent again after 1 s", 1000, 7, 0},
		{"a new identification 5 µs later", 0.005, 8, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cv := newConv(t)
			cv.nextID = 7
			cv.seg(0, true, S, cISN, 0, 0, 1000)
			cv.nextID = c.id2
			if a := cv.seg(c.second, true, S, cISN, 0, 0, 1000); a&ARetransmission == 0 {
				t.Fatalf("the second SYN is not flagged a retransmission: %v", a)
			}
			cv.nextID = 0
			cv.seg(c.second+1, false, S|A, sISN, cISN+1, 0, 1000)
			cv.seg(c.second+2, true, A, cISN+1, sISN+1, 0, 1000)
			cv.seg(c.second+3, true, A|P, cISN+1, sISN+1, 10, 1000)
			cv.table.Flush()
			r := cv.ended[0]
			if r.Retransmissions != 1 || r.RetransmissionCopies != c.copies {
				t.Errorf("retransmissions %d, copies %d; want 1, %d", r.Retransmissions, r.RetransmissionCopies, c.copies)
			}
		})
	}
}

package capgen

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// FragFlood describes a flood of IPv4 fragments that never reassemble:
// what an attacker sends to exhaust a defragmenter (and what a capture of
// that night holds). Each datagram starts with its last fragment (More
// Fragments clear, at 64,000 bytes), so its length is known and every
// piece after it could complete it, but none starts at offset 0: no
// datagram ever completes. With Overlap, every other fragment overlaps the
// one before it.
type FragFlood struct {
	Fragments   int  // fragments in all
	PerDatagram int  // fragments sharing one IP ID before the next; 0: 64
	Overlap     bool // every second fragment overlaps the end of the one before by 8 bytes
	// Large pieces of 1480 bytes, side by side (the first at 1480), fill
	// memory rather than piece counts; without, pieces are of 8 bytes,
	// disjoint, in a scrambled order.
	Large    bool
	Start    time.Time
	Step     time.Duration // between fragments; 0: 10 µs
	Src, Dst netip.Addr    // zero: 198.51.100.66 → 192.0.2.10
}

// WriteFragFlood writes the flood as Ethernet frames carrying UDP
// fragments. It is deterministic: the same FragFlood gives the same bytes.
func WriteFragFlood(w FrameWriter, f FragFlood) error {
	if f.PerDatagram <= 0 {
		f.PerDatagram = 64
	}
	if f.Step == 0 {
		f.Step = 10 * time.Microsecond
	}
	if f.Start.IsZero() {
		f.Start = Epoch
	}
	if !f.Src.IsValid() {
		f.Src = netip.MustParseAddr("198.51.100.66")
	}
	if !f.Dst.IsValid() {
		f.Dst = netip.MustParseAddr("192.0.2.10")
	}
	if !f.Src.Is4() || !f.Dst.Is4() {
		return fmt.Errorf("capgen: fragment flood: IPv4 addresses only")
	}
	src, dst := f.Src.As4(), f.Dst.As4()
	payload := make([]byte, 64)
	for i := range payload {
		payload[i] = byte(i)
	}
	var buf []byte
	tm := f.Start
	prevEnd := 0
	for i := range f.Fragments {
		id := uint16(i / f.PerDatagram)
		// Offsets are in 8-byte units, from 1 (never 0: no first
		// fragment) to about 60 KB.
		j := i % f.PerDatagram // the fragment's place in its datagram
		// 7919 is prime to 7999: the pieces of one datagram take
		// distinct 8-byte slots from 8 to 63,992, out of order.
		off, n := 8*(1+j*7919%7999), 8
		mf := uint16(0x2000)
		switch {
		case j == 0:
			off, n, mf = 64000, 8, 0
		case f.Large:
			off, n = 1480*(1+(j-1)%42), 1480
		case f.Overlap && i%2 == 1 && j != 1:
			off, n = prevEnd-8, 16
		}
		prevEnd = off + n
		if len(payload) < n {
			payload = append(payload, make([]byte, n-len(payload))...)
		}
		pkt := make([]byte, 20, 20+n)
		pkt[0], pkt[8], pkt[9] = 0x45, 64, ProtoUDP
		binary.BigEndian.PutUint16(pkt[2:], uint16(20+n))
		binary.BigEndian.PutUint16(pkt[4:], id)
		binary.BigEndian.PutUint16(pkt[6:], mf|uint16(off/8))
		copy(pkt[12:], src[:])
		copy(pkt[16:], dst[:])
		binary.BigEndian.PutUint16(pkt[10:], Checksum(pkt[:20]))
		pkt = append(pkt, payload[:n]...)
		buf = DefaultEthernet.AppendFrame(buf[:0], pkt)
		if err := w.WriteFrame(Frame{Time: tm, Data: buf}); err != nil {
			return err
		}
		tm = tm.Add(f.Step)
	}
	return nil
}

package flows

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/pcapx/pcapx/internal/capgen"
)

// fragFrame is an Ethernet frame with one IPv4 fragment of a UDP datagram
// from 10.0.0.1 to 10.0.0.2: data at byte offset off (a multiple of 8) of
// the datagram's payload.
func fragFrame(id uint16, off int, more bool, data []byte) []byte {
	b := make([]byte, 14+20, 14+20+len(data))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, ProtoUDP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(data)))
	binary.BigEndian.PutUint16(ip[4:], id)
	fo := uint16(off / 8)
	if more {
		fo |= 0x2000
	}
	binary.BigEndian.PutUint16(ip[6:], fo)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	return append(b, data...)
}

// udpDatagram is a UDP header and n payload bytes (byte i is i%251), the
// payload of a fragmented datagram.
func udpDatagram(n int) []byte {
	b := make([]byte, 8+n)
	binary.BigEndian.PutUint16(b[0:], 5353)
	binary.BigEndian.PutUint16(b[2:], 53)
	binary.BigEndian.PutUint16(b[4:], uint16(8+n))
	for i := range n {
		b[8+i] = byte(i % 251)
	}
	return b
}

type frag struct {
	id        uint16
	off, end  int
	more      bool
	timestamp int64
}

// feed decodes the fragments of dgram (cut at [off, end)) in order and
// returns the kinds.
func feed(d *Decoder, dgram []byte, frags ...frag) []Kind {
	var kinds []Kind
	for _, f := range frags {
		pkt := fragFrame(f.id, f.off, f.more, dgram[f.off:f.end])
		p := Packet{Timestamp: f.timestamp, WireLen: len(pkt)}
		kinds = append(kinds, d.Decode(LinkEthernet, pkt, &p))
	}
	return kinds
}

func TestDefragOverlapsAndDuplicates(t *testing.T) {
	dg := udpDatagram(2392) // 2400 bytes: three pieces of 800
	for _, c := range []struct {
		name                   string
		frags                  []frag
		last                   Kind
		dropped, overlap, left int64
	}{
		{"in order", []frag{{1, 0, 800, true, 1}, {1, 800, 1600, true, 2}, {1, 1600, 2400, false, 3}}, KindUDP, 0, 0, 0},
		{"reversed", []frag{{1, 1600, 2400, false, 1}, {1, 800, 1600, true, 2}, {1, 0, 800, true, 3}}, KindUDP, 0, 0, 0},
		// A copy inside what is held is dropped alone (Linux): the
		// datagram still completes.
		{"exact duplicate", []frag{{1, 0, 800, true, 1}, {1, 0, 800, true, 2}, {1, 800, 1600, true, 3}, {1, 1600, 2400, false, 4}}, KindUDP, 1, 1, 0},
		{"duplicate across two contiguous pieces", []frag{{1, 0, 800, true, 1}, {1, 800, 1600, true, 2}, {1, 400, 1200, true, 3}, {1, 1600, 2400, false, 4}}, KindUDP, 1, 1, 0},
		// A partial overlap discards the datagram (RFC 5722): the two
		// pieces held and the overlapping one; the last piece then
		// starts a datagram of its own that never completes.
		{"overlap at the start", []frag{{1, 800, 1600, true, 1}, {1, 1600, 2400, false, 2}, {1, 0, 808, true, 3}}, KindFragment, 3, 3, 0},
		{"overlap at the end", []frag{{1, 0, 800, true, 1}, {1, 792, 1600, true, 2}, {1, 1600, 2400, false, 3}}, KindFragment, 2, 2, 1},
		{"overlap past a hole", []frag{{1, 0, 800, true, 1}, {1, 1600, 2400, false, 2}, {1, 400, 1800, true, 3}}, KindFragment, 3, 3, 0},
		// Another datagram (id) is not affected.
		{"two ids", []frag{{1, 0, 800, true, 1}, {2, 0, 800, true, 2}, {1, 800, 2400, false, 3}}, KindUDP, 0, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder()
			kinds := feed(d, dg, c.frags...)
			if k := kinds[len(kinds)-1]; k != c.last {
				t.Fatalf("kinds %v, want the last %v", kinds, c.last)
			}
			d.Flush()
			st := d.Stats
			if st.FragDropped != c.dropped+c.left || st.FragOverlap != c.overlap || st.FragUnfinished != c.left {
				t.Errorf("stats %+v: want %d dropped, %d overlapping, %d unfinished", st, c.dropped+c.left, c.overlap, c.left)
			}
			if sum := st.FragOverlap + st.FragOverLimit + st.FragTimedOut + st.FragInvalid + st.FragUnfinished; sum != st.FragDropped {
				t.Errorf("stats %+v: the reasons add up to %d", st, sum)
			}
			if len(d.defrag.pending) != 0 || d.defrag.bytes != 0 || d.defrag.oldest != nil {
				t.Errorf("after Flush: %d pending, %d bytes", len(d.defrag.pending), d.defrag.bytes)
			}
		})
	}
}

func TestDefragReassembledBytes(t *testing.T) {
	dg := udpDatagram(2392)
	d := NewDecoder()
	var p Packet
	for _, f := range []frag{{9, 1600, 2400, false, 1}, {9, 0, 800, true, 2}, {9, 800, 1600, true, 3}} {
		pkt := fragFrame(f.id, f.off, f.more, dg[f.off:f.end])
		p = Packet{Timestamp: f.timestamp, WireLen: len(pkt)}
		d.Decode(LinkEthernet, pkt, &p)
	}
	if p.SrcPort != 5353 || len(p.Payload) != 2392 {
		t.Fatalf("ports %d, payload %d", p.SrcPort, len(p.Payload))
	}
	for i, b := range p.Payload {
		if b != byte(i%251) {
			t.Fatalf("payload byte %d is %d", i, b)
		}
	}
}

func TestDefragInvalid(t *testing.T) {
	dg := udpDatagram(2392)
	for _, c := range []struct {
		name    string
		frags   []frag
		dropped int64
	}{
		// (A fragment at offset 0 without More Fragments is a whole
		// datagram, so the last fragments here start later.)
		{"two lengths", []frag{{1, 1600, 2400, false, 1}, {1, 800, 1600, false, 2}}, 2},
		{"data past the last fragment", []frag{{1, 1600, 2400, true, 1}, {1, 800, 1600, false, 2}}, 2},
		{"data after the last fragment", []frag{{1, 800, 1600, false, 1}, {1, 1600, 2400, true, 2}}, 2},
		{"empty", []frag{{1, 800, 800, true, 1}}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder()
			feed(d, dg, c.frags...)
			if st := d.Stats; st.FragInvalid != c.dropped || st.FragDropped != c.dropped {
				t.Errorf("stats %+v: want %d invalid", st, c.dropped)
			}
		})
	}
	// Past 64 KiB.
	d := NewDecoder()
	pkt := fragFrame(1, 65528, true, make([]byte, 16))
	d.Decode(LinkEthernet, pkt, &Packet{WireLen: len(pkt)})
	if d.Stats.FragInvalid != 1 || len(d.defrag.pending) != 0 {
		t.Errorf("past 64 KiB: %+v", d.Stats)
	}
}

func TestDefragTimeout(t *testing.T) {
	dg := udpDatagram(2392)
	d := NewDecoder()
	kinds := feed(d, dg, frag{1, 0, 800, true, 0}, frag{2, 0, 800, true, 10e9},
		frag{1, 800, 1600, true, 31e9}, // datagram 1 timed out: this piece starts it again
		frag{1, 1600, 2400, false, 32e9})
	if kinds[3] != KindFragment || d.Stats.FragTimedOut != 1 {
		t.Errorf("kinds %v, stats %+v", kinds, d.Stats)
	}
	feed(d, dg, frag{3, 0, 8, true, 41e9}) // datagram 2 (10 s) times out too
	if d.Stats.FragTimedOut != 2 || len(d.defrag.pending) != 2 {
		t.Errorf("stats %+v, %d pending", d.Stats, len(d.defrag.pending))
	}
}

// checkBounds fails when the defragmenter holds more than its bounds allow.
func checkBounds(t *testing.T, d *defragmenter) {
	t.Helper()
	if len(d.pending) > maxPendingDatagrams || d.bytes > maxPendingBytes {
		t.Fatalf("%d datagrams, %d bytes waiting", len(d.pending), d.bytes)
	}
	n, bytes := 0, 0
	for dg := d.oldest; dg != nil; dg = dg.newer {
		n++
		bytes += dg.cost
		if len(dg.pieces) > maxFragPieces {
			t.Fatalf("a datagram of %d pieces", len(dg.pieces))
		}
	}
	if n != len(d.pending) || bytes != d.bytes {
		t.Fatalf("list of %d datagrams (%d bytes), map of %d (%d bytes)", n, bytes, len(d.pending), d.bytes)
	}
}

// TestDefragBounds floods the defragmenter with fragments that never
// complete: it holds at most its bounds at every step, and every fragment is
// accounted for.
func TestDefragBounds(t *testing.T) {
	for _, c := range []struct {
		name string
		f    capgen.FragFlood
		// want says which reason must have counted fragments.
		want func(st DecodeStats) bool
	}{
		{"many pieces per datagram", capgen.FragFlood{Fragments: 20000, PerDatagram: 5000},
			func(st DecodeStats) bool { return st.FragOverLimit > 0 }},
		{"overlapping", capgen.FragFlood{Fragments: 20000, PerDatagram: 5000, Overlap: true},
			func(st DecodeStats) bool { return st.FragOverlap > 10000 }},
		{"many datagrams", capgen.FragFlood{Fragments: 20000, PerDatagram: 2},
			func(st DecodeStats) bool { return st.FragOverLimit > 10000 }},
		{"large pieces", capgen.FragFlood{Fragments: 20000, PerDatagram: 40, Large: true},
			func(st DecodeStats) bool { return st.FragOverLimit > 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var frames capgen.Frames
			if err := capgen.WriteFragFlood(&frames, c.f); err != nil {
				t.Fatal(err)
			}
			d := NewDecoder()
			var p Packet
			for i, f := range frames {
				p = Packet{Timestamp: f.Time.UnixNano(), WireLen: len(f.Data)}
				if k := d.Decode(LinkEthernet, f.Data, &p); k != KindFragment {
					t.Fatalf("frame %d: kind %v", i, k)
				}
				checkBounds(t, d.defrag)
			}
			held := int64(0)
			for dg := d.defrag.oldest; dg != nil; dg = dg.newer {
				held += int64(len(dg.pieces))
			}
			st := d.Stats
			if st.Fragments != int64(len(frames)) || st.FragDropped+held != st.Fragments || st.Reassembled != 0 || !c.want(st) {
				t.Errorf("stats %+v, %d held", st, held)
			}
			d.Flush()
			if d.Stats.FragDropped != st.Fragments || d.Stats.FragUnfinished != held {
				t.Errorf("after Flush: %+v", d.Stats)
			}
		})
	}
}

// BenchmarkDefragFlood decodes fragment floods of two sizes: the cost per
// fragment (ns/fragment, allocs/op over the whole flood) must not grow with
// the flood — before the bounds, 100,000 fragments took 15 s where 10,000
// took 0.2 s.
func BenchmarkDefragFlood(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, overlap := range []bool{false, true} {
			var frames capgen.Frames
			if err := capgen.WriteFragFlood(&frames, capgen.FragFlood{Fragments: n, PerDatagram: 10_000, Overlap: overlap}); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("fragments=%d/overlap=%v", n, overlap), func(b *testing.B) {
				b.ReportAllocs()
				var p Packet
				for b.Loop() {
					d := NewDecoder()
					for _, f := range frames {
						p = Packet{Timestamp: f.Time.UnixNano(), WireLen: len(f.Data)}
						d.Decode(LinkEthernet, f.Data, &p)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/fragment")
			})
		}
	}
}

// FuzzDefrag feeds fragments described by the input (3 bytes each: IP ID,
// offset in 8-byte units with the More Fragments bit, length in 8-byte
// units) through the decoder. The bounds hold after every fragment, a
// reassembled datagram holds exactly the bytes its fragments carried (each
// fragment carries the bytes of the same pattern at its offset, and
// overlaps are refused, so any other result is a reassembly bug), and the
// dropped fragments add up by reason.
func FuzzDefrag(f *testing.F) {
	f.Add([]byte{1, 0x81, 2, 1, 0x00, 2, 1, 0x02, 1})       // three pieces, out of order
	f.Add([]byte{1, 0x80, 4, 1, 0x82, 4, 1, 0x04, 2})       // an overlap
	f.Add([]byte{1, 0x80, 2, 1, 0x80, 2, 2, 0x80, 1})       // a duplicate
	f.Add([]byte{1, 0x83, 1, 1, 0x01, 1, 1, 0x80, 1, 1, 0}) // data past the last piece, an empty one
	pattern := udpDatagram(8 * 256)
	f.Fuzz(func(t *testing.T, in []byte) {
		d := NewDecoder()
		var fragments int64
		for i := 0; i+3 <= len(in); i += 3 {
			id, fo, n := uint16(in[i]%4), int(in[i+1]&0x7f), int(in[i+2]%32)
			more := in[i+1]&0x80 != 0
			off := fo * 8
			end := min(off+n*8, len(pattern))
			if off == 0 && !more {
				continue // not a fragment
			}
			pkt := fragFrame(id, off, more, pattern[off:end])
			p := Packet{Timestamp: int64(i) * 1e6, WireLen: len(pkt)}
			fragments++
			if k := d.Decode(LinkEthernet, pkt, &p); k == KindUDP {
				// pattern's UDP header says 2048 bytes: compare what
				// there is.
				want := pattern[8 : 8+len(p.Payload)]
				if string(p.Payload) != string(want) {
					t.Fatalf("fragment %d completed a datagram with the wrong bytes", i/3)
				}
			} else if k != KindFragment {
				t.Fatalf("fragment %d: kind %v", i/3, k)
			}
			checkBounds(t, d.defrag)
		}
		d.Flush()
		st := d.Stats
		if st.Fragments != fragments {
			t.Fatalf("%d fragments counted, %d sent", st.Fragments, fragments)
		}
		if sum := st.FragOverlap + st.FragOverLimit + st.FragTimedOut + st.FragInvalid + st.FragUnfinished; sum != st.FragDropped {
			t.Fatalf("stats %+v: the reasons add up to %d", st, sum)
		}
		// Each reassembled datagram took at least one fragment.
		if st.FragDropped > fragments-st.Reassembled || len(d.defrag.pending) != 0 || d.defrag.bytes != 0 {
			t.Fatalf("after Flush: stats %+v, %d pending, %d bytes", st, len(d.defrag.pending), d.defrag.bytes)
		}
	})
}

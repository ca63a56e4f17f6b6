package flows

import (
	"net/netip"
	"runtime"
	"testing"
	"unsafe"
)

// TestCloseDelay: a closed connection keeps its whole state for
// TCPClosed, then its record is written and only its tombstone stays
// (timewait.go). What comes later on its 4-tuple is told apart as
// Wireshark would number it: a late packet continues the connection's
// tcp.stream, a SYN with a new ISN starts the next one and learns of the
// old one, and after TCPTimeWait the 4-tuple is new again.
func TestCloseDelay(t *testing.T) {
	const F, A, S, R = FlagFIN, FlagACK, FlagSYN, FlagRST
	// closed: a connection closed by the client first, its last packet at
	// 6 ms; the tombstone's clock starts there.
	closed := func(c *conv) {
		c.handshake(1, 2)
		c.seg(3, true, A, cISN+1, sISN+1, 100, 1000)
		c.seg(4, true, F|A, cISN+101, sISN+1, 0, 1000)
		c.seg(5, false, F|A, sISN+1, cISN+102, 0, 1000)
		c.seg(6, true, A, cISN+102, sISN+2, 0, 1000)
	}

	t.Run("ends after the close delay, not two minutes", func(t *testing.T) {
		c := newConv(t)
		closed(c)
		c.cport = 40001 // other traffic moves the clock
		c.seg(4000, true, S, 1, 0, 0, 1000)
		if len(c.ended) != 0 {
			t.Fatalf("ended within the close delay: %+v", c.ended)
		}
		c.seg(5100, true, S, 1, 0, 0, 1000)
		if len(c.ended) != 1 || c.ended[0].End != "closed" || c.ended[0].Stream != 0 {
			t.Fatalf("after 5 s: %+v", c.ended)
		}
		if c.table.Len() != 1 {
			t.Errorf("%d flows in the table, want the other one", c.table.Len())
		}
	})

	t.Run("a late packet keeps the connection's stream and roles", func(t *testing.T) {
		c := newConv(t)
		closed(c)
		c.cport = 40001
		c.seg(100, true, S, 1, 0, 0, 1000) // stream 1
		c.cport = 40000
		// The server's FIN sent again 20 s later: the connection's record
		// is written; the packet is its stream's, with the server as
		// server although it is the sender and port 80 is lower.
		// It starts from the connection's sequence numbers (tombstone.seed),
		// so it is a retransmission, as Wireshark flags it.
		if a := c.seg(20000, false, F|A, sISN+1, cISN+102, 0, 1000); a&ARetransmission == 0 {
			t.Errorf("the late FIN is not flagged a retransmission: %v", a)
		}
		c.cport = 40002
		c.seg(20001, true, S, 7, 0, 0, 1000) // the next new connection
		c.table.Flush()
		var late, next *Record
		for i := range c.ended {
			switch r := &c.ended[i]; r.SrcPort {
			case 40000:
				if r.Continues {
					late = r
				}
			case 40002:
				next = r
			}
		}
		if late == nil || late.Stream != 0 || late.SrcAddr != "10.0.0.1" || late.DstPort != 80 || late.ClientGuessed || late.RespPackets != 1 {
			t.Fatalf("late packet's record: %+v", late)
		}
		if next == nil || next.Stream != 2 {
			t.Fatalf("the next connection is not stream 2: %+v", next)
		}
	})

	t.Run("a SYN with a new ISN starts the next connection", func(t *testing.T) {
		c := newConv(t)
		closed(c)
		c.seg(30000, true, S, cISN+100000, 0, 0, 1000)
		if a := c.seg(30001, false, S|A, 9000, cISN+100001, 0, 1000); a&AReusedPorts != 0 {
			t.Errorf("SYN-ACK flagged %v", a)
		}
		if c.got[len(c.got)-2]&AReusedPorts == 0 {
			t.Errorf("the SYN is not flagged reused_ports")
		}
		c.table.Flush()
		if len(c.ended) != 2 || c.ended[0].End != "closed" {
			t.Fatalf("records: %+v", c.ended)
		}
		r := c.ended[1]
		want := PortReuse{Known: true, PrevStream: 0, PrevFirst: FrameRef{Frame: 1}, PrevFirstNS: 1_700_000_000e9, PrevLastNS: 1_700_000_000e9 + 6e6,
			PrevAnswered: true, PrevClose: "fin", PrevFirstFIN: "client", PrevNextSeq: cISN + 102, ISN: cISN + 100000,
			Reply: "syn-ack", ReplyAck: cISN + 100001, ReplyNS: 1_700_000_000e9 + 30001e6}
		if r.Stream != 1 || r.Continues || r.Reuse == nil || *r.Reuse != want {
			t.Fatalf("new connection: stream %d continues %v reuse\n got  %+v\n want %+v", r.Stream, r.Continues, r.Reuse, want)
		}
	})

	t.Run("the old server's SYN: roles are the new connection's", func(t *testing.T) {
		c := newConv(t)
		closed(c)
		c.seg(30000, false, S, 77, 0, 0, 1000)
		c.table.Flush()
		r := c.ended[1].Reuse
		if r == nil || r.PrevFirstFIN != "server" || r.PrevNextSeq != sISN+2 {
			t.Fatalf("reuse %+v", r)
		}
	})

	t.Run("forgotten after TCPTimeWait, counted from the last late packet", func(t *testing.T) {
		c := newConv(t)
		closed(c)
		c.seg(100000, false, F|A, sISN+1, cISN+102, 0, 1000) // late, continues
		c.seg(200000, false, F|A, sISN+1, cISN+102, 0, 1000) // 100 s after it: still the connection's
		c.seg(330000, false, F|A, sISN+1, cISN+102, 0, 1000) // 130 s after: a new flow
		c.table.Flush()
		var streams []int64
		for _, r := range c.ended {
			streams = append(streams, r.Stream)
		}
		if len(streams) != 4 || streams[1] != 0 || streams[2] != 0 || streams[3] != 1 || !c.ended[2].Continues || c.ended[3].Continues {
			t.Fatalf("streams %v: %+v", streams, c.ended)
		}
	})

	t.Run("a SYN after late packets starts the next connection", func(t *testing.T) {
		c := newConv(t)
		closed(c)
		c.seg(10000, false, R, sISN+2, 0, 0, 0) // late, no ACK: continues
		c.seg(11000, true, S, cISN+100000, 0, 0, 1000)
		c.seg(11001, false, S|A, 9000, cISN+100001, 0, 1000)
		c.seg(11002, true, A, cISN+100001, 9001, 0, 1000)
		c.table.Flush()
		if len(c.ended) != 3 || !c.ended[1].Continues || c.ended[1].Stream != 0 {
			t.Fatalf("records: %+v", c.ended)
		}
		r := c.ended[2]
		if r.Stream != 1 || r.Continues || r.Reuse == nil || r.Reuse.PrevStream != 0 || r.Reuse.PrevClose != "fin" || r.History != "ShA" {
			t.Fatalf("new connection: %+v reuse %+v", r, r.Reuse)
		}
	})

	t.Run("reset: the whole state stays two minutes", func(t *testing.T) {
		c := newConv(t)
		c.handshake(1, 2)
		c.seg(3, true, A, cISN+1, sISN+1, 100, 1000)
		c.seg(4, false, R, sISN+1, 0, 0, 0) // ignored, say: out of the window
		c.seg(30000, true, A, cISN+1, sISN+1, 100, 1000)
		c.table.Flush()
		if len(c.ended) != 1 || c.ended[0].OrigPackets != 4 || c.ended[0].Retransmissions != 1 {
			t.Fatalf("records: %+v", c.ended)
		}
	})

	t.Run("refused: the SYN sent again later is the same connection", func(t *testing.T) {
		c := newConv(t)
		c.seg(0, true, S, cISN, 0, 0, 1000)
		c.seg(1, false, R|A, 0, cISN+1, 0, 0)
		c.seg(10000, true, S, cISN, 0, 0, 1000) // same ISN, 10 s later
		c.table.Flush()
		if len(c.ended) != 1 || c.ended[0].OrigPackets != 2 {
			t.Fatalf("records: %+v", c.ended)
		}
	})

	t.Run("a full table ends a closed connection first, uncounted", func(t *testing.T) {
		c := newConv(t)
		c.table = NewTable(Config{MaxFlows: 2, OnEnd: func(f *Flow) { c.ended = append(c.ended, f.Record(nil)) }})
		closed(c)
		c.cport = 40001
		c.seg(10, true, S, 1, 0, 0, 1000) // half-open
		c.cport = 40002
		c.seg(11, true, S, 1, 0, 0, 1000)
		if len(c.ended) != 1 || c.ended[0].SrcPort != 40000 || c.ended[0].End != "closed" || c.table.Stats.Evicted != 0 {
			t.Fatalf("evicted %d: %+v", c.table.Stats.Evicted, c.ended)
		}
	})
}

// TestTimeWaitBounded: tombstones are bounded like the table, the oldest
// forgotten first; the heap of their times stays within twice the
// tombstones however often a 4-tuple is taken and laid again.
func TestTimeWaitBounded(t *testing.T) {
	var forgotten int64
	w := timeWait{max: 3, timeout: 7, forgotten: &forgotten}
	for i := range 5 {
		w.lay(Key{APort: uint16(i)}, tombstone{last: int64(i)}, int64(i))
	}
	if len(w.m) != 3 || forgotten != 2 {
		t.Fatalf("%d tombstones, %d forgotten", len(w.m), forgotten)
	}
	if w.find(&Key{APort: 1}) != nil || w.find(&Key{APort: 4}) == nil {
		t.Errorf("kept the wrong ones: %v", w.m)
	}
	w.expire(10) // last < 3 expire
	if len(w.m) != 2 || w.find(&Key{APort: 2}) != nil {
		t.Errorf("after expiry: %v", w.m)
	}

	w = timeWait{max: 1000, timeout: 100}
	for i := range 100_000 {
		k := Key{APort: uint16(i % 4)}
		w.forget(&k)
		w.lay(k, tombstone{last: int64(i)}, int64(i))
		w.refresh(&k, int64(i)+1)
	}
	if len(w.m) != 4 || len(w.heap) > 2*len(w.m)+65 {
		t.Errorf("%d tombstones, a heap of %d", len(w.m), len(w.heap))
	}
}

// TestTimeWaitExpiresByOwnTime: a tombstone expires at its own time, not
// after those laid before it (a reset connection's is laid two minutes
// late), so what expires does not depend on the other connections of a
// worker's table; and one refreshed by a late packet lives on.
func TestTimeWaitExpiresByOwnTime(t *testing.T) {
	w := timeWait{max: 10, timeout: 120}
	a, b, c := Key{APort: 1}, Key{APort: 2}, Key{APort: 3}
	w.lay(a, tombstone{last: 100}, 100)
	w.lay(b, tombstone{last: 0}, 119) // laid late, behind a
	w.lay(c, tombstone{last: 1000}, 1000)
	w.lay(Key{APort: 4}, tombstone{last: 0}, 121) // already past its time
	if len(w.m) != 3 {
		t.Fatalf("%d tombstones", len(w.m))
	}
	w.refresh(&a, 150)
	w.expire(121)
	if w.find(&b) != nil || w.find(&a) == nil {
		t.Errorf("at 121: %v", w.m)
	}
	w.expire(230)
	if w.find(&a) == nil {
		t.Errorf("a refreshed to 150 expired at 230")
	}
	w.expire(271)
	if w.find(&a) != nil || w.find(&c) == nil {
		t.Errorf("at 271: %v", w.m)
	}
	// A wild timestamp holds only its own tombstone.
	w.refresh(&c, 1e12)
	w.lay(Key{APort: 5}, tombstone{last: 2000}, 2000)
	w.expire(2121)
	if w.find(&Key{APort: 5}) != nil {
		t.Errorf("held back by a tombstone in the future")
	}
}

// TestTombstoneSize: the tombstone stays packed (timewait.go says why).
func TestTombstoneSize(t *testing.T) {
	if n := unsafe.Sizeof(tombstone{}); n > 56 {
		t.Errorf("a tombstone is %d bytes, want at most 56", n)
	}
}

// TestTableByteBound: with MaxBytes the table holds what fits by each
// flow's kind, never more; what it counts goes back to zero when every
// flow has ended (no drift), tombstones included.
func TestTableByteBound(t *testing.T) {
	const A, S = FlagACK, FlagSYN
	c := newConv(t)
	data := int64(CostFlow + CostTCP + CostTransfer)
	c.table = NewTable(Config{MaxBytes: 20 * data, OnEnd: func(f *Flow) { c.ended = append(c.ended, f.Record(nil)) }})
	for i := range 50 {
		c.cport = uint16(30000 + i)
		ms := float64(i * 10)
		c.seg(ms, true, S, cISN, 0, 0, 1000)
		c.seg(ms+1, false, S|A, sISN, cISN+1, 0, 1000)
		c.seg(ms+2, true, A, cISN+1, sISN+1, 100, 1000) // data: transfer state
		if used := c.table.bytes + int64(len(c.table.timeWait.m))*CostTombstone; used > 20*data {
			t.Fatalf("connection %d: %d bytes counted, over %d", i, used, 20*data)
		}
	}
	if c.table.Len() > 20 || c.table.Len() < 19 || c.table.Stats.Evicted != int64(50-c.table.Len()) {
		t.Errorf("%d connections held, %d evicted", c.table.Len(), c.table.Stats.Evicted)
	}
	// UDP flows cost less: more of them fit.
	u := NewTable(Config{MaxBytes: 20 * data})
	for i := range 200 {
		p := Packet{Timestamp: 1_700_000_000e9, Kind: KindUDP, Proto: ProtoUDP, Src: c.cli, Dst: c.srv, SrcPort: uint16(20000 + i), DstPort: 53, IPLen: 60}
		u.Process(&p)
	}
	if want := int(20 * data / CostFlow); u.Len() != want {
		t.Errorf("%d UDP flows held, want %d", u.Len(), want)
	}
	c.table.Flush()
	u.Flush()
	if c.table.bytes != 0 || u.bytes != 0 {
		t.Errorf("after the flush %d and %d bytes still counted", c.table.bytes, u.bytes)
	}
}

// TestShedOrder: at the bytes bound the table ends closed connections
// first (FIN-closed, then reset; not counted), then forgets tombstones,
// and only then evicts a connection (counted), never the flow whose
// packet made room needed.
func TestShedOrder(t *testing.T) {
	const F, A, S, R = FlagFIN, FlagACK, FlagSYN, FlagRST
	conn := int64(CostFlow + CostTCP)
	newTable := func(c *conv, maxBytes int64) {
		c.table = NewTable(Config{MaxBytes: maxBytes, OnEnd: func(f *Flow) { c.ended = append(c.ended, f.Record(nil)) }})
	}
	open := func(c *conv, port uint16, ms float64) {
		c.cport = port
		c.seg(ms, true, S, cISN, 0, 0, 1000)
		c.seg(ms+1, false, S|A, sISN, cISN+1, 0, 1000)
		c.seg(ms+2, true, A, cISN+1, sISN+1, 0, 1000)
	}
	closeFIN := func(c *conv, ms float64) {
		c.seg(ms, true, F|A, cISN+1, sISN+1, 0, 1000)
		c.seg(ms+1, false, F|A, sISN+1, cISN+2, 0, 1000)
		c.seg(ms+2, true, A, cISN+2, sISN+2, 0, 1000)
	}

	t.Run("tombstones before connections", func(t *testing.T) {
		c := newConv(t)
		newTable(c, 10*conn)
		for i := range 4 { // closed, then tombstones 5 s later
			open(c, uint16(30000+i), float64(i))
			closeFIN(c, float64(i)+10)
		}
		for i := range 10 {
			open(c, uint16(31000+i), 6000+float64(i*10))
		}
		if c.table.Stats.Evicted != 0 || c.table.Stats.Forgotten == 0 || c.table.Len() != 10 {
			t.Errorf("evicted %d, forgotten %d, %d flows", c.table.Stats.Evicted, c.table.Stats.Forgotten, c.table.Len())
		}
	})

	t.Run("a reset connection before an open one", func(t *testing.T) {
		c := newConv(t)
		newTable(c, 3*conn)
		open(c, 30000, 0) // open, oldest
		open(c, 30001, 10)
		c.seg(13, false, R|A, sISN+1, cISN+1, 0, 0)
		open(c, 30002, 20)
		open(c, 30003, 30)
		if c.table.Stats.Evicted != 0 || len(c.ended) != 1 || c.ended[0].SrcPort != 30001 || c.ended[0].End != "closed" {
			t.Errorf("evicted %d: %+v", c.table.Stats.Evicted, c.ended)
		}
	})

	t.Run("the closed connection that needs room is kept, the next goes", func(t *testing.T) {
		c := newConv(t)
		newTable(c, 3*conn+CostTransfer/2)
		open(c, 30000, 0) // open, oldest
		open(c, 30001, 10)
		closeFIN(c, 13)
		open(c, 30002, 20)
		closeFIN(c, 23)
		c.cport = 30001
		c.seg(100, true, A, cISN+2, sISN+2, 10, 1000) // data on the first closed one: transfer state
		if c.table.Stats.Evicted != 0 || len(c.ended) != 1 || c.ended[0].SrcPort != 30002 {
			t.Errorf("evicted %d: %+v", c.table.Stats.Evicted, c.ended)
		}
	})
}

// TestPathMTUShedKeepsPacketFlow: an ICMP message that gives the flow it
// quotes more state may make the table shed, but never the flow Process
// returns for the message itself.
func TestPathMTUShedKeepsPacketFlow(t *testing.T) {
	const A, S = FlagACK, FlagSYN
	c := newConv(t)
	c.table = NewTable(Config{MaxBytes: CostFlow + CostTCP + CostFlow + 100})
	c.seg(0, true, S, cISN, 0, 0, 1000)
	c.seg(1, false, S|A, sISN, cISN+1, 0, 1000)
	router := netip.MustParseAddr("10.0.0.254")
	p := Packet{Timestamp: 1_700_000_000e9 + 2e6, Kind: KindICMP, Proto: ProtoICMP, Src: router, Dst: c.srv, ICMPType: 3, ICMPCode: 4, IPLen: 56,
		NextHopMTU: 1400}
	p.Quoted.Valid, p.Quoted.Proto, p.Quoted.Src, p.Quoted.Dst, p.Quoted.SrcPort, p.Quoted.DstPort = true, ProtoTCP, c.srv, c.cli, c.sport, c.cport
	f, _, _ := c.table.Process(&p)
	if f.End != EndCapture || f.list == nil || f.Key.Proto != ProtoICMP {
		t.Fatalf("Process returned a flow that left the table: %+v", f)
	}
}

// TestTombstoneCost measures what a closed connection costs once it left
// the table for its tombstone (map slot, heap entry, their growth), for
// CostTombstone: the heap growth from the 10,000th to the 20,000th of
// 20,000 connections a millisecond apart, each closed at once (from the
// 5,000th on, every new one sees an older one leave for its tombstone).
func TestTombstoneCost(t *testing.T) {
	// Table.end lays a tombstone without shedding: it must cost less than
	// the cheapest flow that leaves one (a closed connection).
	if CostTombstone >= CostFlow+CostTCP {
		t.Fatalf("a tombstone (%d) costs no less than a connection (%d)", CostTombstone, CostFlow+CostTCP)
	}
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const F, A, S = FlagFIN, FlagACK, FlagSYN
	const n = 20_000
	c := newConv(t)
	var at [2]uint64
	for i := range n {
		c.cli = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		ms := float64(i)
		c.seg(ms, true, S, cISN, 0, 0, 1000)
		c.seg(ms+0.1, false, S|A, sISN, cISN+1, 0, 1000)
		c.seg(ms+0.2, true, A, cISN+1, sISN+1, 0, 1000)
		c.seg(ms+0.3, true, F|A, cISN+1, sISN+1, 0, 1000)
		c.seg(ms+0.4, false, F|A, sISN+1, cISN+2, 0, 1000)
		c.seg(ms+0.5, true, A, cISN+2, sISN+2, 0, 1000)
		if i+1 == n/2 || i+1 == n {
			c.got, c.ended = nil, nil
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			at[(i+1)/n] = ms.HeapAlloc
		}
	}
	tombs := len(c.table.timeWait.m)
	cost := (int64(at[1]) - int64(at[0])) / (n / 2)
	t.Logf("%d tombstones; %d bytes a tombstone", tombs, cost)
	if tombs < n-6000 || cost > CostTombstone || cost < 100 {
		t.Errorf("%d tombstones, %d bytes each; the table counts %d", tombs, cost, CostTombstone)
	}
}

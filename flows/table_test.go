package flows

import (
	"net/netip"
	"runtime"
	"testing"
)

// A SYN flood of a million spoofed sources must not grow the table past its
// bound: the oldest half-open flows are evicted and counted.
func TestTableBoundedUnderSYNFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("a million packets")
	}
	const maxFlows = 10_000
	ended := 0
	tab := NewTable(Config{MaxFlows: maxFlows, OnEnd: func(*Flow) { ended++ }})
	dst := netip.MustParseAddr("192.0.2.1")
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := Packet{Kind: KindTCP, Proto: ProtoTCP, Dst: dst, DstPort: 80, Flags: FlagSYN, Window: 1024, WScale: -1}
	const n = 1_000_000
	for i := 0; i < n; i++ {
		p.Timestamp = int64(i) * 1000 // 1 µs apart: none idles out
		p.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		p.SrcPort = uint16(1024 + i%60000)
		p.Seq = uint32(i)
		tab.Process(&p)
		if tab.Len() > maxFlows {
			t.Fatalf("table holds %d flows, bound %d", tab.Len(), maxFlows)
		}
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if tab.Stats.Evicted != n-maxFlows || tab.Stats.Flows != n {
		t.Errorf("evicted %d of %d flows, want %d", tab.Stats.Evicted, tab.Stats.Flows, n-maxFlows)
	}
	if grown := int64(after.HeapInuse) - int64(before.HeapInuse); grown > 64<<20 {
		t.Errorf("heap grew by %d MB for a %d-flow table", grown>>20, maxFlows)
	}
	tab.Flush()
	if ended != n {
		t.Errorf("%d flows ended, want %d", ended, n)
	}
}

// Idle flows leave the table by capture time, not wall time.
func TestTableExpiresByCaptureTime(t *testing.T) {
	var ends []EndReason
	tab := NewTable(Config{UDPIdle: 10 * second, OnEnd: func(f *Flow) { ends = append(ends, f.End) }})
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	p := Packet{Kind: KindUDP, Proto: ProtoUDP, Src: a, Dst: b, SrcPort: 5000, DstPort: 53, WScale: -1}
	tab.Process(&p)
	// Another flow 5 s later keeps the clock moving; the first is not idle yet.
	q := p
	q.SrcPort, q.Timestamp = 5001, 5*second
	tab.Process(&q)
	if len(ends) != 0 {
		t.Fatalf("expired too early: %v", ends)
	}
	q.Timestamp = 12 * second
	tab.Process(&q)
	if len(ends) != 1 || ends[0] != EndIdle || tab.Len() != 1 {
		t.Fatalf("after 12 s: ends %v, active %d", ends, tab.Len())
	}
}

// A flow still active when the capture goes silent for a day or more (two
// captures joined, years apart) ends with the capture, not idle; a shorter
// silence leaves it idle.
func TestTableCaptureGap(t *testing.T) {
	for _, c := range []struct {
		gap  int64
		want EndReason
	}{{2 * 3600 * second, EndIdle}, {2 * 86400 * second, EndCapture}, {6 * 365 * 86400 * second, EndCapture}} {
		var ends []EndReason
		tab := NewTable(Config{OnEnd: func(f *Flow) { ends = append(ends, f.End) }})
		a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
		p := Packet{Kind: KindUDP, Proto: ProtoUDP, Src: a, Dst: b, SrcPort: 5000, DstPort: 53, WScale: -1}
		tab.Process(&p)
		// The clock must pass the wild-timestamp guard: several frames.
		q := p
		q.SrcPort = 5001
		for i := range int64(clockConfirm + 1) {
			q.Timestamp = c.gap + i
			tab.Process(&q)
		}
		if len(ends) != 1 || ends[0] != c.want {
			t.Errorf("silence of %d h: ends %v, want [%v]", c.gap/(3600*second), ends, c.want)
		}
	}
}

// One frame with a wild timestamp must not expire everything.
func TestTableIgnoresOneWildTimestamp(t *testing.T) {
	ended := 0
	tab := NewTable(Config{OnEnd: func(*Flow) { ended++ }})
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	p := Packet{Kind: KindTCP, Proto: ProtoTCP, Src: a, Dst: b, SrcPort: 40000, DstPort: 80, Flags: FlagSYN, Seq: 1, WScale: -1}
	tab.Process(&p)
	wild := Packet{Kind: KindTCP, Proto: ProtoTCP, Src: b, Dst: a, SrcPort: 80, DstPort: 40000, Flags: FlagSYN | FlagACK, Seq: 9, Ack: 2, WScale: -1, Timestamp: 40 * 365 * 24 * 3600 * second}
	tab.Process(&wild)
	p.Flags, p.Seq, p.Ack, p.Timestamp = FlagACK, 2, 10, second
	tab.Process(&p)
	if ended != 0 || tab.Len() != 1 {
		t.Errorf("a single wild timestamp ended %d flows (%d active)", ended, tab.Len())
	}
}

// The two directions of one connection with different VLAN tags (routed
// between VLANs on a trunk) are one flow by default, two with KeyByVLAN.
func TestVLANKey(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for _, c := range []struct {
		byVLAN bool
		flows  int
	}{{false, 1}, {true, 2}} {
		n := 0
		tab := NewTable(Config{KeyByVLAN: c.byVLAN, OnEnd: func(*Flow) { n++ }})
		tab.Process(&Packet{Kind: KindTCP, Proto: ProtoTCP, Src: a, Dst: b, SrcPort: 40000, DstPort: 389, Flags: FlagSYN, Seq: 1, VLAN: 81, WScale: -1})
		tab.Process(&Packet{Kind: KindTCP, Proto: ProtoTCP, Src: b, Dst: a, SrcPort: 389, DstPort: 40000, Flags: FlagSYN | FlagACK, Seq: 9, Ack: 2, VLAN: 80, WScale: -1, Timestamp: 1e6})
		tab.Flush()
		if n != c.flows {
			t.Errorf("KeyByVLAN=%v: %d flows, want %d", c.byVLAN, n, c.flows)
		}
	}
}

// ICMP flows follow the Community ID spec's pairing: a request and its reply
// are one flow, but a request from each side (two pings crossing, or an
// ICMPv6 neighbour solicitation from each neighbour) are two, and so are the
// same one-way message sent each way — each flow's ID is the ID the spec
// gives every packet in it, and each packet's direction is right.
func TestICMPFlowsPairAsCommunityID(t *testing.T) {
	a4, b4 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	a6, b6 := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
	icmp := func(proto uint8, src, dst netip.Addr, typ, code uint8) Packet {
		return Packet{Kind: KindICMP, Proto: proto, Src: src, Dst: dst, ICMPType: typ, ICMPCode: code}
	}
	for _, c := range []struct {
		name  string
		pkts  []Packet
		flows int
		dirs  []Dir
	}{
		{"echo and reply", []Packet{icmp(ProtoICMP, b4, a4, 8, 0), icmp(ProtoICMP, a4, b4, 0, 0)}, 1, []Dir{FromClient, FromServer}},
		{"reply first", []Packet{icmp(ProtoICMP, a4, b4, 0, 0), icmp(ProtoICMP, b4, a4, 8, 0)}, 1, []Dir{FromServer, FromClient}},
		{"echoes crossing", []Packet{icmp(ProtoICMP, a4, b4, 8, 0), icmp(ProtoICMP, b4, a4, 8, 0), icmp(ProtoICMP, b4, a4, 0, 0), icmp(ProtoICMP, a4, b4, 0, 0)}, 2, []Dir{FromClient, FromClient, FromServer, FromServer}},
		{"NS from each side", []Packet{icmp(ProtoICMPv6, a6, b6, 135, 0), icmp(ProtoICMPv6, b6, a6, 136, 0), icmp(ProtoICMPv6, b6, a6, 135, 0), icmp(ProtoICMPv6, a6, b6, 136, 0)}, 2, []Dir{FromClient, FromServer, FromClient, FromServer}},
		{"RS and RA", []Packet{icmp(ProtoICMPv6, b6, a6, 133, 0), icmp(ProtoICMPv6, a6, b6, 134, 0)}, 1, []Dir{FromClient, FromServer}},
		{"unreachable each way", []Packet{icmp(ProtoICMP, a4, b4, 3, 3), icmp(ProtoICMP, b4, a4, 3, 3)}, 2, []Dir{FromClient, FromClient}},
		{"echo to itself", []Packet{icmp(ProtoICMP, a4, a4, 8, 0), icmp(ProtoICMP, a4, a4, 0, 0)}, 1, []Dir{FromClient, FromServer}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tab := NewTable(Config{})
			flows := map[uint64]bool{}
			for i := range c.pkts {
				p := c.pkts[i]
				p.Timestamp = int64(i) * 1e6
				f, dir, _ := tab.Process(&p)
				flows[f.ID] = true
				want := CommunityID(0, p.Src, p.Dst, p.Proto, uint16(p.ICMPType), uint16(p.ICMPCode))
				if got := f.CommunityID(); got != want {
					t.Errorf("packet %d: flow ID %s, the packet's own ID %s", i, got, want)
				}
				if dir != c.dirs[i] {
					t.Errorf("packet %d: direction %d, want %d", i, dir, c.dirs[i])
				}
			}
			if len(flows) != c.flows {
				t.Errorf("%d flows, want %d", len(flows), c.flows)
			}
		})
	}
}

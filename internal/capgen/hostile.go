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

// Flood is a flood of one kind of traffic: N units (SYNs, connections,
// queries) from distinct sources, each unit one packet or a few, a Step
// apart.
type Flood struct {
	N     int
	Start time.Time
	Step  time.Duration // between units; 0: 10 µs
}

func (f *Flood) defaults() {
	if f.Step == 0 {
		f.Step = 10 * time.Microsecond
	}
	if f.Start.IsZero() {
		f.Start = Epoch
	}
}

// floodAddr is the i-th source address of a flood, in 10.0.0.0/8.
func floodAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

var floodTarget = netip.MustParseAddr("192.0.2.80")

// WriteSYNFlood writes N SYNs to 192.0.2.80:80 from distinct addresses and
// ports, never answered: a flow each, half-open until it times out.
func WriteSYNFlood(w FrameWriter, f Flood) error {
	f.defaults()
	eth := DefaultEthernet
	for i := range f.N {
		ip := IP{Src: floodAddr(i), Dst: floodTarget}
		pkt := ip.TCP(TCP{SrcPort: uint16(1024 + i%60000), DstPort: 80, Seq: uint32(i) * 7919, Flags: SYN, Window: 1024}, nil)
		if err := w.WriteFrame(Frame{Time: f.Start.Add(time.Duration(i) * f.Step), Data: eth.AppendFrame(nil, pkt)}); err != nil {
			return err
		}
	}
	return nil
}

// WriteSlowloris writes N connections to 192.0.2.80:80 that each open,
// then send request bytes behind a hole: their first segment is never
// seen, so a reassembler that waits for it holds what comes after (a
// slowloris attack whose first segments a capture missed). Each
// connection sends 8 segments of 1000 bytes behind the hole.
func WriteSlowloris(w FrameWriter, f Flood) error {
	f.defaults()
	body := make([]byte, 1000) // a request head, then zeros
	copy(body, HTTPRequest("GET", "victim.example", "/"))
	for i := range f.N {
		c := NewTCPConn(w, netip.AddrPortFrom(floodAddr(i), uint16(1024+i%60000)), netip.AddrPortFrom(floodTarget, 80),
			&TCPOptions{Start: f.Start.Add(time.Duration(i) * f.Step), Step: time.Microsecond})
		c.Handshake(time.Millisecond)
		c.Drop(Client, 100) // the hole
		for range 8 {
			c.SendData(Client, body)
		}
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// WriteCloseFlood writes N complete connections to 192.0.2.80:80 from
// distinct addresses and ports, each opened, carrying a request and
// closed: what stays of a closed connection (its tombstone, for port
// reuse) must be bounded like the flows.
func WriteCloseFlood(w FrameWriter, f Flood) error {
	f.defaults()
	req := HTTPRequest("GET", "victim.example", "/")
	for i := range f.N {
		c := NewTCPConn(w, netip.AddrPortFrom(floodAddr(i), uint16(1024+i%60000)), netip.AddrPortFrom(floodTarget, 80),
			&TCPOptions{Start: f.Start.Add(time.Duration(i) * f.Step), Step: time.Microsecond})
		c.Handshake(time.Millisecond)
		c.SendData(Client, req)
		c.Close(Client)
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

// WriteDNSFlood writes N queries for distinct names (n12345.flood.example)
// from distinct ports to one resolver, never answered.
func WriteDNSFlood(w FrameWriter, f Flood) error {
	f.defaults()
	eth := DefaultEthernet
	cli := netip.MustParseAddr("10.9.9.9")
	for i := range f.N {
		ip := IP{Src: cli, Dst: floodTarget, ID: uint16(i)}
		q := DNSQuery(uint16(i), fmt.Sprintf("n%d.flood.example", i), DNSTypeA)
		if err := w.WriteFrame(Frame{Time: f.Start.Add(time.Duration(i) * f.Step), Data: eth.AppendFrame(nil, ip.UDP(uint16(1024+i%60000), 53, q))}); err != nil {
			return err
		}
	}
	return nil
}

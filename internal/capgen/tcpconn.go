package capgen

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/netip"
	"time"
)

// Side names one end of a TCP connection.
type Side int

// The two sides. The client is the side that sends the SYN.
const (
	Client Side = iota
	Server
)

// Peer returns the other side.
func (s Side) Peer() Side { return 1 - s }

func (s Side) String() string {
	if s == Client {
		return "client"
	}
	return "server"
}

// Vantage is where the capture is taken, which decides the handshake
// timing: near the client the SYN→SYN-ACK gap is a full round trip and
// SYN-ACK→ACK is tiny; near the server it is the other way round.
type Vantage int

// Capture points.
const (
	NearClient Vantage = iota
	NearServer
	Midway
)

// TCPOptions configure a TCPConn. The zero value is a Linux-like
// connection over Ethernet: MSS 1460, window scale 7, SACK permitted,
// timestamps, DF set, TTL 64.
type TCPOptions struct {
	Link       Link // client→server framing; nil: DefaultEthernet
	ServerLink Link // server→client framing; nil: Link.Reverse()
	Iface      int  // pcapng interface index of the frames
	Start      time.Time
	// Step is how far the clock moves after each written packet so that
	// timestamps strictly increase; 0 means 10µs, negative means none.
	Step    time.Duration
	Vantage Vantage

	ClientISN, ServerISN uint32 // 0: derived from the 4-tuple
	// Receive windows in bytes advertised after the handshake; 0 means
	// 64256 (client) and 65152 (server). They are rounded down to the
	// window scale.
	ClientWindow, ServerWindow int
	MSS                        int  // 0: 1460
	WScale                     int  // window scale shift offered by both sides; 0: 7, -1: no option
	NoSACK                     bool // do not offer SACK
	NoTimestamps               bool // do not use RFC 7323 timestamps
	ClientTTL, ServerTTL       uint8
	NoDF                       bool      // clear the IPv4 don't-fragment bit
	IPv6Ext                    []IPv6Ext // extension headers on every IPv6 packet
}

type span struct{ lo, hi int64 }

type tcpSeg struct {
	off  int64
	n    int
	data []byte // nil: filler
	fin  bool
}

type tcpSide struct {
	ep     netip.AddrPort
	ip     IP
	link   Link
	isn    uint32
	nxt    int64 // offset (from isn) of the next new sequence number
	synned bool  // SYN sent
	rcvd   bool  // peer's SYN received: can acknowledge
	rcvNxt int64 // next in-order offset expected from the peer
	ooo    []span
	una    int64 // highest offset the peer has acknowledged (delivered ACKs)
	window int   // advertised receive window in bytes
	tsBase uint32
	tsEcr  uint32
	segs   []tcpSeg
	queue  []byte // application data written but not yet sent
	dsack  span   // duplicate data received, reported once as a D-SACK block

	delayed  bool      // segments sent wait in flight until Arrive
	inflight []pending // segments in flight, oldest first
}

type pending struct {
	flags TCPFlags
	off   int64
	n     int
	tsval uint32
}

// TCPConn scripts one TCP connection. Each method writes the packets it
// describes at the connection's clock, which only moves by Sleep and by
// Step after each written packet. Sequence and acknowledgement numbers,
// windows, SACK blocks and timestamps follow from what each side has sent
// and what the other has received, so a script reads like the story it
// tells:
//
//	c := capgen.NewTCPConn(w, cli, srv, nil)
//	c.Handshake(20 * time.Millisecond)
//	c.ClientSend(120)            // request
//	c.Sleep(20 * time.Millisecond)
//	i := c.SendLost(capgen.Server, 1448) // captured, lost after the capture point
//	c.ServerSend(1448)
//	c.Ack(capgen.Client)         // acknowledges nothing new: a duplicate ACK
//	c.Sleep(300 * time.Millisecond)
//	c.Retransmit(capgen.Server, i) // retransmission by RTO
//
// Segment indexes returned by the send methods count the data (and FIN)
// segments of one side, from 0. Write errors are sticky: see Err.
type TCPConn struct {
	w     FrameWriter
	o     TCPOptions
	sides [2]tcpSide
	now   time.Time
	start time.Time
	step  time.Duration
	mss   int
	ws    int // negotiated shift, -1: none
	sack  bool
	ts    bool

	err      error
	comment  string
	fragNext int

	pkt   []byte
	frame []byte
	fill  []byte
	opts  []byte
	last  []byte
}

// fillPattern is the filler payload: readable text, repeated by stream
// offset so that a retransmission carries the same bytes as the original.
const fillPattern = "The quick brown fox jumps over the lazy dog. 0123456789 capgen filler.\n"

func fnv32(parts ...[]byte) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum32()
}

// NewTCPConn returns a connection between cli and srv (both IPv4 or both
// IPv6) that writes to w. opts may be nil.
func NewTCPConn(w FrameWriter, cli, srv netip.AddrPort, opts *TCPOptions) *TCPConn {
	var o TCPOptions
	if opts != nil {
		o = *opts
	}
	if o.Link == nil {
		o.Link = DefaultEthernet
	}
	if o.ServerLink == nil {
		o.ServerLink = o.Link.Reverse()
	}
	if o.Start.IsZero() {
		o.Start = Epoch
	}
	c := &TCPConn{w: w, o: o, now: o.Start, start: o.Start, step: o.Step}
	if c.step == 0 {
		c.step = 10 * time.Microsecond
	} else if c.step < 0 {
		c.step = 0
	}
	c.mss = o.MSS
	if c.mss == 0 {
		c.mss = 1460
	}
	c.ws = o.WScale
	if c.ws == 0 {
		c.ws = 7
	}
	c.sack = !o.NoSACK
	c.ts = !o.NoTimestamps

	cb, _ := cli.MarshalBinary()
	sb, _ := srv.MarshalBinary()
	seed := fnv32(cb, sb)
	for i, ep := range []netip.AddrPort{cli, srv} {
		s := &c.sides[i]
		s.ep = ep
		peer := srv
		if i == 1 {
			peer = cli
		}
		s.ip = IP{Src: ep.Addr(), Dst: peer.Addr(), DF: !o.NoDF, ID: uint16(seed>>(8*i)) ^ 0x1f00, Ext: o.IPv6Ext}
		s.isn = seed*2654435761 + uint32(i)*0x3c6ef372
		s.tsBase = seed>>3 + uint32(i)*0x01000000
	}
	c.sides[0].ip.TTL = o.ClientTTL
	c.sides[1].ip.TTL = o.ServerTTL
	c.sides[0].link = o.Link
	c.sides[1].link = o.ServerLink
	if o.ClientISN != 0 {
		c.sides[0].isn = o.ClientISN
	}
	if o.ServerISN != 0 {
		c.sides[1].isn = o.ServerISN
	}
	c.sides[0].window = o.ClientWindow
	if c.sides[0].window == 0 {
		c.sides[0].window = 64256
	}
	c.sides[1].window = o.ServerWindow
	if c.sides[1].window == 0 {
		c.sides[1].window = 65152
	}
	return c
}

// Err returns the first error a write returned.
func (c *TCPConn) Err() error { return c.err }

// Now returns the connection's clock.
func (c *TCPConn) Now() time.Time { return c.now }

// Sleep advances the clock.
func (c *TCPConn) Sleep(d time.Duration) { c.now = c.now.Add(d) }

// SetNow sets the clock.
func (c *TCPConn) SetNow(t time.Time) { c.now = t }

// Comment attaches a comment to the next written frame (kept by pcapng).
func (c *TCPConn) Comment(s string) { c.comment = s }

// FragmentNext makes the next written packet go out as n IP fragments.
func (c *TCPConn) FragmentNext(n int) { c.fragNext = n }

// SegmentSize returns the payload of a full-sized segment: the MSS less
// the timestamps option.
func (c *TCPConn) SegmentSize() int {
	if c.ts {
		return c.mss - 12
	}
	return c.mss
}

// ISN returns the initial sequence number of a side.
func (c *TCPConn) ISN(s Side) uint32 { return c.sides[s].isn }

// NextSeq returns the sequence number of the next new byte side s sends.
func (c *TCPConn) NextSeq(s Side) uint32 { return c.sides[s].isn + uint32(c.sides[s].nxt) }

// AckNum returns the acknowledgement number side s currently sends.
func (c *TCPConn) AckNum(s Side) uint32 {
	p := &c.sides[s]
	return c.sides[s.Peer()].isn + uint32(p.rcvNxt)
}

// SegmentSeq returns the sequence number and length of segment i of side s.
func (c *TCPConn) SegmentSeq(s Side, i int) (seq uint32, n int) {
	g := c.sides[s].segs[i]
	return c.sides[s].isn + uint32(g.off), g.n
}

// Segments returns how many data and FIN segments side s has sent.
func (c *TCPConn) Segments(s Side) int { return len(c.sides[s].segs) }

// Endpoints returns the client and server addresses.
func (c *TCPConn) Endpoints() (cli, srv netip.AddrPort) { return c.sides[0].ep, c.sides[1].ep }

// LastPacket returns a copy of the IP packet (no link header, not
// fragmented) of the most recently built segment, written or not, as an
// ICMP error would quote it.
func (c *TCPConn) LastPacket() []byte { return append([]byte(nil), c.last...) }

// SetWindow changes the receive window side s advertises from its next
// packet on (in bytes, rounded down to the window scale).
func (c *TCPConn) SetWindow(s Side, bytes int) { c.sides[s].window = bytes }

// Window returns the receive window side s advertises, in bytes.
func (c *TCPConn) Window(s Side) int { return c.sides[s].window }

func (c *TCPConn) windowField(s Side, syn bool) uint16 {
	w := c.sides[s].window
	if !syn && c.ws >= 0 {
		w >>= c.ws
	}
	if w > 0xffff {
		w = 0xffff
	}
	return uint16(w)
}

func (c *TCPConn) tsVal(s Side) uint32 {
	return c.sides[s].tsBase + uint32(c.now.Sub(c.start)/time.Millisecond)
}

// Fates of a segment.
type fate int

const (
	delivered   fate = iota // captured and received
	lostAfter               // captured, lost after the capture point
	lostBefore              // lost before the capture point (never seen)
	unseen                  // received but missed by the capture
	notAccepted             // captured, arrives, dropped by a closed window
)

func (f fate) written() bool { return f != lostBefore && f != unseen }
func (f fate) arrives() bool { return f == delivered || f == unseen }

// emit builds a segment from side s at offset off with n payload bytes
// (data, or filler when data is nil), writes and delivers it according to
// f.
func (c *TCPConn) emit(s Side, flags TCPFlags, off int64, data []byte, n int, f fate) {
	me, peer := &c.sides[s], &c.sides[s.Peer()]
	if me.rcvd && flags&SYN == 0 || flags&(SYN|ACK) == SYN|ACK {
		flags |= ACK
	}
	t := TCP{
		SrcPort: me.ep.Port(),
		DstPort: peer.ep.Port(),
		Seq:     me.isn + uint32(off),
		Flags:   flags,
		Window:  c.windowField(s, flags&SYN != 0),
	}
	if flags&RST != 0 && !me.synned {
		t.Seq = 0
	}
	if flags&ACK != 0 {
		t.Ack = peer.isn + uint32(me.rcvNxt)
	}
	if data == nil && n > 0 {
		data = c.filler(off, n)
	}
	tsval := c.tsVal(s)
	c.buildOptions(s, flags)
	me.ip.ID++
	c.pkt = me.ip.AppendHeader(c.pkt[:0], ProtoTCP, 20+len(c.opts)+len(data))
	c.pkt = appendTCPSegment(c.pkt, &me.ip, &t, c.opts, data)
	c.last = append(c.last[:0], c.pkt...)
	if f.written() {
		c.write(me.link, c.pkt)
	}
	if f.arrives() {
		if me.delayed {
			me.inflight = append(me.inflight, pending{flags, off, len(data), tsval})
		} else {
			c.deliver(s, flags, off, len(data), tsval)
		}
	}
}

// Delay makes the segments side s sends from now on wait in flight: the
// peer only receives them, in order, when Arrive says so. It lets a script
// written at the sender's vantage show a burst first and then the ACKs the
// peer sent as each segment arrived. Delay(s, false) stops delaying new
// segments; those already in flight still wait for Arrive.
func (c *TCPConn) Delay(s Side, on bool) { c.sides[s].delayed = on }

// Arrive delivers the n oldest segments side s has in flight (all when n
// is negative). Segments lost on the way never arrive and are skipped.
func (c *TCPConn) Arrive(s Side, n int) {
	me := &c.sides[s]
	if n < 0 || n > len(me.inflight) {
		n = len(me.inflight)
	}
	for _, p := range me.inflight[:n] {
		c.deliver(s, p.flags, p.off, p.n, p.tsval)
	}
	me.inflight = append(me.inflight[:0], me.inflight[n:]...)
}

func (c *TCPConn) write(l Link, pkt []byte) {
	n := c.fragNext
	c.fragNext = 0
	if n > 1 {
		var frags [][]byte
		if pkt[0]>>4 == 4 {
			frags = FragmentIPv4(pkt, n)
		} else {
			frags = FragmentIPv6(pkt, n, fnv32(pkt[8:40])^uint32(len(pkt)))
		}
		for _, f := range frags {
			c.writeFrame(l, f)
		}
		return
	}
	c.writeFrame(l, pkt)
}

func (c *TCPConn) writeFrame(l Link, pkt []byte) {
	c.frame = l.AppendFrame(c.frame[:0], pkt)
	if c.err == nil {
		c.err = c.w.WriteFrame(Frame{Time: c.now, Data: c.frame, Iface: c.o.Iface, Comment: c.comment})
	}
	c.comment = ""
	c.now = c.now.Add(c.step)
}

// deliver updates the receiver's state for a segment that arrived.
func (c *TCPConn) deliver(s Side, flags TCPFlags, off int64, n int, tsval uint32) {
	me, peer := &c.sides[s], &c.sides[s.Peer()]
	peer.tsEcr = tsval
	if flags&ACK != 0 && me.rcvNxt > peer.una {
		peer.una = me.rcvNxt
	}
	lo, hi := off, off+int64(n)
	if flags&SYN != 0 {
		peer.rcvd = true
		lo, hi = 0, 1+int64(n)
	}
	if flags&FIN != 0 {
		hi++
	}
	if hi <= lo {
		return
	}
	if !peer.rcvd {
		return
	}
	if hi <= peer.rcvNxt && n > 0 {
		peer.dsack = span{lo, hi} // all of it was already received
		return
	}
	if lo <= peer.rcvNxt {
		if hi > peer.rcvNxt {
			peer.rcvNxt = hi
		}
	} else {
		peer.ooo = addSpan(peer.ooo, span{lo, hi})
	}
	// Absorb out-of-order data that is now in order.
	k := 0
	for _, sp := range peer.ooo {
		if sp.lo <= peer.rcvNxt {
			if sp.hi > peer.rcvNxt {
				peer.rcvNxt = sp.hi
			}
			continue
		}
		peer.ooo[k] = sp
		k++
	}
	peer.ooo = peer.ooo[:k]
}

// addSpan inserts sp into a sorted list of disjoint spans, merging.
func addSpan(l []span, sp span) []span {
	out := l[:0:0]
	for _, x := range l {
		if x.hi < sp.lo || x.lo > sp.hi {
			out = append(out, x)
			continue
		}
		sp.lo = min(sp.lo, x.lo)
		sp.hi = max(sp.hi, x.hi)
	}
	out = append(out, sp)
	for i := len(out) - 1; i > 0 && out[i].lo < out[i-1].lo; i-- {
		out[i], out[i-1] = out[i-1], out[i]
	}
	return out
}

func (c *TCPConn) buildOptions(s Side, flags TCPFlags) {
	b := c.opts[:0]
	me, peer := &c.sides[s], &c.sides[s.Peer()]
	if flags&SYN != 0 {
		b = append(b, 2, 4, byte(c.mss>>8), byte(c.mss))
		if c.sack {
			b = append(b, 4, 2)
		} else if c.ts {
			b = append(b, 1, 1)
		}
		if c.ts {
			b = append(b, 8, 10)
			b = binary.BigEndian.AppendUint32(b, c.tsVal(s))
			ecr := uint32(0)
			if flags&ACK != 0 {
				ecr = me.tsEcr
			}
			b = binary.BigEndian.AppendUint32(b, ecr)
		} else if c.sack {
			b = append(b, 1, 1)
		}
		if c.ws >= 0 {
			b = append(b, 1, 3, 3, byte(c.ws))
		}
		c.opts = b
		return
	}
	if c.ts {
		b = append(b, 1, 1, 8, 10)
		b = binary.BigEndian.AppendUint32(b, c.tsVal(s))
		b = binary.BigEndian.AppendUint32(b, me.tsEcr)
	}
	hasDSACK := me.dsack.hi > me.dsack.lo
	if c.sack && (len(me.ooo) > 0 || hasDSACK) && flags&ACK != 0 && flags&(RST|SYN) == 0 {
		maxBlocks := 4
		if c.ts {
			maxBlocks = 3
		}
		nb := len(me.ooo)
		if hasDSACK {
			nb++
		}
		nb = min(nb, maxBlocks)
		b = append(b, 1, 1, 5, byte(2+8*nb))
		if hasDSACK {
			// RFC 2883: the duplicate block comes first.
			b = binary.BigEndian.AppendUint32(b, peer.isn+uint32(me.dsack.lo))
			b = binary.BigEndian.AppendUint32(b, peer.isn+uint32(me.dsack.hi))
			me.dsack = span{}
			nb--
		}
		// Most recent (highest) block first, as receivers report them.
		for i := len(me.ooo) - 1; i >= len(me.ooo)-nb; i-- {
			sp := me.ooo[i]
			b = binary.BigEndian.AppendUint32(b, peer.isn+uint32(sp.lo))
			b = binary.BigEndian.AppendUint32(b, peer.isn+uint32(sp.hi))
		}
	}
	c.opts = b
}

func (c *TCPConn) filler(off int64, n int) []byte {
	if cap(c.fill) < n {
		c.fill = make([]byte, n)
	}
	b := c.fill[:n]
	p := int((off - 1) % int64(len(fillPattern)))
	if p < 0 {
		p += len(fillPattern)
	}
	for i := 0; i < n; {
		k := copy(b[i:], fillPattern[p:])
		i += k
		p = 0
	}
	return b
}

// Syn writes the client's SYN; called again, it retransmits it with the
// same ISN.
func (c *TCPConn) Syn() {
	me := &c.sides[Client]
	me.synned = true
	if me.nxt == 0 {
		me.nxt = 1
	}
	c.emit(Client, SYN, 0, nil, 0, delivered)
}

// SynAck writes the server's SYN-ACK (again: a retransmission).
func (c *TCPConn) SynAck() {
	me := &c.sides[Server]
	if !me.rcvd {
		me.rcvd = true
		me.rcvNxt = 1
	}
	me.synned = true
	if me.nxt == 0 {
		me.nxt = 1
	}
	c.emit(Server, SYN|ACK, 0, nil, 0, delivered)
}

// Handshake writes SYN, SYN-ACK and ACK. The round trip rtt falls where
// the capture point (TCPOptions.Vantage) puts it.
func (c *TCPConn) Handshake(rtt time.Duration) {
	c.Syn()
	switch c.o.Vantage {
	case NearServer:
		c.SynAck()
		c.Sleep(rtt)
	case Midway:
		c.Sleep(rtt / 2)
		c.SynAck()
		c.Sleep(rtt / 2)
	default:
		c.Sleep(rtt)
		c.SynAck()
	}
	c.Ack(Client)
}

// Established puts both sides in the established state without writing
// anything: the handshake happened before the capture started.
func (c *TCPConn) Established() {
	for i := range c.sides {
		s := &c.sides[i]
		s.synned, s.rcvd = true, true
		if s.nxt == 0 {
			s.nxt = 1
		}
		if s.rcvNxt == 0 {
			s.rcvNxt = 1
		}
		if s.una == 0 {
			s.una = 1
		}
	}
}

func (c *TCPConn) send(s Side, data []byte, n int, f fate) int {
	me := &c.sides[s]
	if data != nil {
		n = len(data)
	} else if len(me.queue) > 0 {
		data = c.take(s, n)
	}
	off := me.nxt
	me.segs = append(me.segs, tcpSeg{off: off, n: n, data: data})
	me.nxt += int64(n)
	c.emit(s, PSH|ACK, off, data, n, f)
	return len(me.segs) - 1
}

// take returns the next n bytes of side s's queued application data,
// padded with filler when the queue holds fewer.
func (c *TCPConn) take(s Side, n int) []byte {
	me := &c.sides[s]
	if n <= len(me.queue) {
		d := me.queue[:n:n]
		me.queue = me.queue[n:]
		return d
	}
	d := make([]byte, n)
	k := copy(d, me.queue)
	copy(d[k:], c.filler(me.nxt+int64(k), n-k))
	me.queue = nil
	return d
}

// Write queues application data on side s: the segments that side sends
// next with Send, SendLost, Drop, Miss or SendBulk carry these bytes (then
// filler once they run out), so a script can send a real HTTP response in
// segments of its choosing. p is kept: do not modify it afterwards.
func (c *TCPConn) Write(s Side, p []byte) {
	me := &c.sides[s]
	if len(me.queue) == 0 {
		me.queue = p
		return
	}
	me.queue = append(me.queue[:len(me.queue):len(me.queue)], p...)
}

// Queued returns how many written bytes side s has not sent yet.
func (c *TCPConn) Queued(s Side) int { return len(c.sides[s].queue) }

// Send writes one segment of n bytes from side s (queued data, else
// filler) and returns its segment index.
func (c *TCPConn) Send(s Side, n int) int { return c.send(s, nil, n, delivered) }

// SendData writes one segment carrying p from side s, ahead of any queued
// data. p is kept for retransmissions: do not modify it afterwards.
func (c *TCPConn) SendData(s Side, p []byte) int { return c.send(s, p, 0, delivered) }

// ClientSend is Send(Client, n).
func (c *TCPConn) ClientSend(n int) int { return c.Send(Client, n) }

// ServerSend is Send(Server, n).
func (c *TCPConn) ServerSend(n int) int { return c.Send(Server, n) }

// SendBulk writes n filler bytes from side s in full-sized segments and
// returns the index of the first segment and the number of segments.
func (c *TCPConn) SendBulk(s Side, n int) (first, count int) {
	first = len(c.sides[s].segs)
	for n > 0 {
		k := min(n, c.SegmentSize())
		c.Send(s, k)
		n -= k
		count++
	}
	return first, count
}

// SendLost writes a segment that is lost after the capture point: the
// capture shows it, the peer never gets it.
func (c *TCPConn) SendLost(s Side, n int) int { return c.send(s, nil, n, lostAfter) }

// Drop sends a segment that is lost before the capture point: nothing is
// written and the peer never gets it, so the capture shows a gap in the
// sequence numbers ("previous segment not captured") and the peer keeps
// acknowledging the start of the gap. Drop then Retransmit makes a
// reordered segment.
func (c *TCPConn) Drop(s Side, n int) int { return c.send(s, nil, n, lostBefore) }

// Miss sends a segment the peer receives but the capture misses (capture
// loss): later ACKs acknowledge data the capture never showed.
func (c *TCPConn) Miss(s Side, n int) int { return c.send(s, nil, n, unseen) }

func (c *TCPConn) resend(s Side, i int, f fate) {
	me := &c.sides[s]
	if i < 0 || i >= len(me.segs) {
		if c.err == nil {
			c.err = fmt.Errorf("capgen: %v has no segment %d", s, i)
		}
		return
	}
	g := me.segs[i]
	flags := PSH | ACK
	if g.fin {
		flags = FIN | ACK
	}
	c.emit(s, flags, g.off, g.data, g.n, f)
}

// Retransmit writes segment i of side s again (with the current
// acknowledgement number, window and timestamps); the peer receives it.
func (c *TCPConn) Retransmit(s Side, i int) { c.resend(s, i, delivered) }

// RetransmitRange writes n bytes of segment i of side s again, starting
// from byte from of the segment (as a sender does after lowering its MSS on
// an ICMP "fragmentation needed"); the peer receives them.
func (c *TCPConn) RetransmitRange(s Side, i, from, n int) {
	me := &c.sides[s]
	if i < 0 || i >= len(me.segs) || from < 0 || from+n > me.segs[i].n {
		if c.err == nil {
			c.err = fmt.Errorf("capgen: %v has no segment %d with bytes [%d,%d)", s, i, from, from+n)
		}
		return
	}
	g := me.segs[i]
	var d []byte
	if g.data != nil {
		d = g.data[from : from+n]
	}
	c.emit(s, PSH|ACK, g.off+int64(from), d, n, delivered)
}

// RetransmitLost writes segment i of side s again, and it is lost again
// after the capture point.
func (c *TCPConn) RetransmitLost(s Side, i int) { c.resend(s, i, lostAfter) }

// Ack writes a pure ACK from side s acknowledging all in-order data it has
// received. Written when nothing new has arrived, it is a duplicate ACK.
func (c *TCPConn) Ack(s Side) {
	c.emit(s, ACK, c.sides[s].nxt, nil, 0, delivered)
}

// DupAck writes n pure ACKs from side s (duplicate ACKs when nothing new
// arrives in between).
func (c *TCPConn) DupAck(s Side, n int) {
	for range n {
		c.Ack(s)
	}
}

// ZeroWindow makes side s advertise a zero window and writes an ACK that
// says so.
func (c *TCPConn) ZeroWindow(s Side) {
	c.sides[s].window = 0
	c.Ack(s)
}

// WindowUpdate makes side s advertise a window of bytes and writes an ACK
// that says so.
func (c *TCPConn) WindowUpdate(s Side, bytes int) {
	c.sides[s].window = bytes
	c.Ack(s)
}

// ZeroWindowProbe writes a 1-byte probe from side s at the next sequence
// number (BSD/Windows style); the receiver's window is closed so it drops
// the byte, and the sender's next sequence number does not move.
func (c *TCPConn) ZeroWindowProbe(s Side) {
	me := &c.sides[s]
	var b []byte
	if len(me.queue) > 0 {
		b = me.queue[:1:1]
	}
	c.emit(s, ACK, me.nxt, b, 1, notAccepted)
}

// ZeroWindowProbeLinux writes a Linux-style zero-window probe from side s:
// no data, sequence number one below the oldest unacknowledged byte
// (snd_una-1), which Wireshark calls a keep-alive.
func (c *TCPConn) ZeroWindowProbeLinux(s Side) {
	c.emit(s, ACK, c.sides[s].una-1, nil, 0, delivered)
}

// KeepAlive writes a keep-alive from side s: no data, sequence number one
// below the next one.
func (c *TCPConn) KeepAlive(s Side) {
	c.emit(s, ACK, c.sides[s].nxt-1, nil, 0, delivered)
}

// KeepAliveByte writes a keep-alive carrying one garbage byte (Windows
// style) at the sequence number one below the next one.
func (c *TCPConn) KeepAliveByte(s Side) {
	c.emit(s, ACK, c.sides[s].nxt-1, []byte{0}, 1, notAccepted)
}

// Fin writes a FIN from side s and returns its segment index.
func (c *TCPConn) Fin(s Side) int {
	me := &c.sides[s]
	off := me.nxt
	me.segs = append(me.segs, tcpSeg{off: off, fin: true})
	me.nxt++
	c.emit(s, FIN|ACK, off, nil, 0, delivered)
	return len(me.segs) - 1
}

// Close writes the usual close initiated by side s: FIN, the peer's
// FIN-ACK, and the final ACK.
func (c *TCPConn) Close(s Side) {
	c.Fin(s)
	c.Fin(s.Peer())
	c.Ack(s)
}

// Rst writes a reset from side s (RST-ACK when it has seen the peer's SYN;
// sequence number 0 when it never sent a SYN, as a refusing host does).
func (c *TCPConn) Rst(s Side) {
	c.emit(s, RST, c.sides[s].nxt, nil, 0, delivered)
}

// Raw writes an arbitrary segment from side s with absolute sequence and
// acknowledgement numbers, without changing any state. The timestamps
// option is added when the connection uses timestamps.
func (c *TCPConn) Raw(s Side, flags TCPFlags, seq, ack uint32, payload []byte) {
	me, peer := &c.sides[s], &c.sides[s.Peer()]
	t := TCP{SrcPort: me.ep.Port(), DstPort: peer.ep.Port(), Seq: seq, Ack: ack, Flags: flags,
		Window: c.windowField(s, flags&SYN != 0)}
	c.buildOptions(s, flags&^ACK) // no SACK blocks
	me.ip.ID++
	c.pkt = me.ip.AppendHeader(c.pkt[:0], ProtoTCP, 20+len(c.opts)+len(payload))
	c.pkt = appendTCPSegment(c.pkt, &me.ip, &t, c.opts, payload)
	c.last = append(c.last[:0], c.pkt...)
	c.write(me.link, c.pkt)
}

// Reuse returns a new connection on the same addresses and ports with new
// ISNs, starting at this connection's clock, writing to the same writer: a
// client that reuses its source port.
func (c *TCPConn) Reuse() *TCPConn {
	o := c.o
	o.Start = c.now
	o.ClientISN = c.sides[0].isn + 0x2b3c4d5e
	o.ServerISN = c.sides[1].isn + 0x1a2b3c4d
	o.ClientWindow, o.ServerWindow = 0, 0
	n := NewTCPConn(c.w, c.sides[0].ep, c.sides[1].ep, &o)
	n.start = c.start
	n.sides[0].ip.ID = c.sides[0].ip.ID
	n.sides[1].ip.ID = c.sides[1].ip.ID
	return n
}

package streams

import (
	"encoding/binary"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/dns"
	"github.com/pcapx/pcapx/flows/http"
	"github.com/pcapx/pcapx/flows/tls"
)

// How the glue drives gopacket's assembler
//
// Keys. Every connection gets a key of its own: the network flow handed to
// the assembler is made of a per-connection number, not of the addresses,
// and the transport flow is empty. Two flows that share a 5-tuple (a reused
// port pair the flow table split, the same inner 5-tuple in two tunnels or
// VLANs) therefore never share reassembly state, and each gopacket
// connection belongs to exactly one conn.
//
// Segments. The assembler is fed from the decoded flows.Packet (its
// Payload, without the Ethernet padding the TCP layer's Payload still
// holds), through a layers.TCP the Tracker owns.
//
// Positions. Per direction the glue knows where gopacket stands (pos, the
// next sequence number it will deliver, read in Accept and advanced by each
// delivery) and remembers, for the segments it fed ahead of pos, their
// capture time and frame: gopacket's own per-page context is the Tracker's
// one reused asmContext, so it cannot tell when queued bytes were captured.
//
// Pushing. gopacket holds the data after a hole until a flush. Two holes
// are known never to fill: the tail of a segment the snapshot length cut
// (the decoder gives its wire length), and whatever is missing when the
// flow ends. For those the glue pushes the half-connection on: it feeds an
// empty segment far ahead of pos while MaxBufferedPagesPerConnection is 1,
// which makes the assembler hand over its first queued page (and whatever
// follows it contiguously) with the hole reported as Skip. Finally the
// connection is closed (an empty RST at pos in each direction) and, as no
// more data will be fed, ReassemblyComplete lets the pool drop it.
//
// Priming. A direction that has not sent yet when the connection is handed
// over starts where the other side's ACK says it will (a synthetic SYN), or
// after the bytes already seen from it, so that its first segment arriving
// out of order waits for the ones ahead of it instead of becoming the start.

// asmContext carries the current packet into the assembler's callbacks.
type asmContext struct {
	ci   gopacket.CaptureInfo
	dir  flows.Dir
	conn *conn
	// synthetic: a push or close segment of the glue's own, which must
	// never start a half-connection.
	synthetic bool
}

func (a *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return a.ci }

// liveSeg is the segment being fed: its bytes, when delivered during the
// call, carry its time and frame.
type liveSeg struct {
	c        *conn
	dir      flows.Dir
	seq, end uint32
	ts       int64
	frame    flows.FrameRef
}

// segInfo remembers when and in which frame a segment fed ahead of the
// assembler's position was captured.
type segInfo struct {
	seq, end uint32
	ts       int64
	frame    flows.FrameRef
}

// seqRange is a range of sequence numbers [from, to).
type seqRange struct{ from, to uint32 }

// Bounds of the per-direction bookkeeping. gopacket holds at most
// MaxPagesPerConn pages per connection, so more entries than that are
// stale (data the assembler dropped); the oldest are dropped first.
const (
	maxAhead = 512
	maxCuts  = 64
	// maxSniff is how many payload segments of a connection are looked
	// at to find what it carries (TLS after a STARTTLS-like exchange comes
	// a few segments in).
	maxSniff = 16
	// maxPushes bounds the pushes of one half-connection at its end.
	maxPushes = 1 << 16
)

// half is the glue's view of one direction of a connection.
type half struct {
	started bool   // fed to the assembler
	pos     uint32 // next sequence number the assembler delivers
	ahead   []segInfo
	cuts    []seqRange // bytes the snapshot length cut, not yet passed
	seen    bool       // payload seen before the connection was handed over
	seenEnd uint32     // end of that payload
}

// seqDiff returns b-a in sequence space (positive when b is after a).
func seqDiff(a, b uint32) int32 { return int32(b - a) }

type factory struct{ t *Tracker }

func (fa *factory) New(_, _ gopacket.Flow, _ *layers.TCP, ac reassembly.AssemblerContext) reassembly.Stream {
	ctx := ac.(*asmContext)
	// gopacket calls the direction of the packet that creates the
	// connection client-to-server.
	return &shim{c: ctx.conn, flip: ctx.dir == flows.FromServer}
}

// shim is the assembler's Stream for one conn.
type shim struct {
	c    *conn
	flip bool // gopacket's client→server is our server→client
}

func (s *shim) dir(d reassembly.TCPFlowDirection) flows.Dir {
	if (d == reassembly.TCPDirServerToClient) != s.flip {
		return flows.FromServer
	}
	return flows.FromClient
}

func (s *shim) Accept(tcp *layers.TCP, _ gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, nextSeq reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	h := &s.c.half[s.dir(dir)]
	*start = true // the connection is handed over at its first payload, SYN or not
	if nextSeq >= 0 {
		h.pos = uint32(nextSeq)
		return true
	}
	if ac.(*asmContext).synthetic {
		return false
	}
	// A new half: it starts at this segment.
	seq := tcp.Seq
	if tcp.SYN {
		seq++
	}
	if h.started && seqDiff(h.pos, seq) < 0 {
		// The pool dropped an idle connection and its data comes back:
		// never start before what the parsers already had.
		if seqDiff(h.pos, seq+uint32(len(tcp.Payload))) <= 0 {
			return false
		}
	} else if h.started && seqDiff(h.pos, seq) > 0 && !s.c.done {
		s.c.gap(s.dir(dir), int(seqDiff(h.pos, seq)))
	}
	h.started, h.pos = true, seq
	return true
}

func (s *shim) ReassembledSG(sg reassembly.ScatterGather, _ reassembly.AssemblerContext) {
	c := s.c
	t := c.t
	gdir, _, _, skip := sg.Info()
	dir := s.dir(gdir)
	h := &c.half[dir]
	n, _ := sg.Lengths()
	if skip > 0 || n > 0 {
		t.delivered = true
	}
	if skip > 0 {
		h.pos += uint32(skip)
		if !c.done {
			c.gap(dir, skip)
		}
	}
	if n == 0 {
		h.prune()
		return
	}
	if c.done {
		h.pos += uint32(n)
		h.prune()
		return
	}
	b := sg.Fetch(n)
	// Bytes delivered while a segment of this direction is being fed
	// became readable in order with it (it filled the hole before them):
	// that is their time. Bytes a push or flush hands over skip a hole
	// that never filled and keep the time they were captured.
	lv := &t.live
	liveCall := lv.c == c && lv.dir == dir
	fallback := sg.CaptureInfo(0).Timestamp.UnixNano()
	for len(b) > 0 {
		ts, fr, end := fallback, flows.FrameRef{}, h.pos+uint32(len(b))
		if liveCall && seqDiff(lv.seq, h.pos) >= 0 && seqDiff(h.pos, lv.end) > 0 {
			ts, fr, end = lv.ts, lv.frame, lv.end
		} else if i := h.find(h.pos); i >= 0 {
			e := &h.ahead[i]
			ts, fr, end = e.ts, e.frame, e.end
		} else if next, ok := h.nextStart(h.pos); ok {
			end = next // unknown bytes up to the next known segment
		}
		if liveCall {
			ts = max(ts, lv.ts)
		}
		l := len(b)
		if d := seqDiff(h.pos, end); d > 0 && int(d) < l {
			l = int(d)
		}
		c.data(dir, b[:l], ts, fr)
		b = b[l:]
		h.pos += uint32(l)
		if c.done || !c.feeding {
			h.pos += uint32(len(b))
			break
		}
	}
	h.prune()
}

// ReassemblyComplete tells the pool to drop the connection once nothing
// more will be fed to it. While the flow goes on it must stay: a new
// gopacket connection would start at the next segment as if it were new.
func (s *shim) ReassemblyComplete(reassembly.AssemblerContext) bool {
	return s.c.done || !s.c.feeding
}

// find returns the newest entry of ahead covering seq, or -1.
func (h *half) find(seq uint32) int {
	for i := len(h.ahead) - 1; i >= 0; i-- {
		e := &h.ahead[i]
		if seqDiff(e.seq, seq) >= 0 && seqDiff(seq, e.end) > 0 {
			return i
		}
	}
	return -1
}

// nextStart returns the first start of a known segment after seq.
func (h *half) nextStart(seq uint32) (uint32, bool) {
	var best uint32
	ok := false
	for i := range h.ahead {
		s := h.ahead[i].seq
		if seqDiff(seq, s) > 0 && (!ok || seqDiff(s, best) > 0) {
			best, ok = s, true
		}
	}
	return best, ok
}

// prune drops what lies wholly before pos.
func (h *half) prune() {
	k := 0
	for _, e := range h.ahead {
		if seqDiff(h.pos, e.end) > 0 {
			h.ahead[k] = e
			k++
		}
	}
	h.ahead = h.ahead[:k]
	k = 0
	for _, r := range h.cuts {
		if seqDiff(h.pos, r.to) > 0 {
			h.cuts[k] = r
			k++
		}
	}
	h.cuts = h.cuts[:k]
}

func (h *half) addAhead(e segInfo) {
	if len(h.ahead) >= maxAhead {
		copy(h.ahead, h.ahead[1:])
		h.ahead = h.ahead[:len(h.ahead)-1]
	}
	h.ahead = append(h.ahead, e)
}

func (h *half) addCut(r seqRange) {
	if len(h.cuts) >= maxCuts {
		copy(h.cuts, h.cuts[1:])
		h.cuts = h.cuts[:len(h.cuts)-1]
	}
	h.cuts = append(h.cuts, r)
}

// cutHoleEnd says whether pos sits in bytes the snapshot length cut, and
// where the run of such bytes starting there ends.
func (h *half) cutHoleEnd() (uint32, bool) {
	end, found := h.pos, false
	for grew := true; grew; {
		grew = false
		for _, r := range h.cuts {
			if seqDiff(r.from, end) >= 0 && seqDiff(end, r.to) > 0 {
				end, found, grew = r.to, true, true
			}
		}
	}
	return end, found
}

// waitingWithin says whether data fed ahead of pos starts at or before end.
func (h *half) waitingWithin(end uint32) bool {
	for _, e := range h.ahead {
		if seqDiff(h.pos, e.seq) > 0 && seqDiff(e.seq, end) >= 0 {
			return true
		}
	}
	return false
}

func (t *Tracker) tcpPacket(p *flows.Packet, f *flows.Flow, dir flows.Dir) {
	c, _ := f.App.(*conn)
	if c == nil {
		if f.App != nil || p.PayloadLen == 0 {
			// Finished (only the summary is left), or nothing to parse or
			// time until the first payload.
			return
		}
		c = t.state(f)
		c.flowRef(f)
		start := f.First
		if f.TCP != nil && f.TCP.SYNTime != 0 {
			start = f.TCP.SYNTime
		}
		c.synAt = start
	}
	if c.done {
		return
	}
	fr := flows.FrameRef{File: p.File, Frame: p.Frame}
	if p.Flags&flows.FlagRST != 0 && c.rstAt == 0 {
		c.rstAt, c.rstDir, c.rstFrame = p.Timestamp, dir, fr
	}
	if p.Flags&flows.FlagFIN != 0 && dir == flows.FromServer && c.finAt == 0 {
		c.finAt, c.finFrame = p.Timestamp, fr
	}
	if !c.decided && len(p.Payload) > 0 {
		c.sniffs++
		k := sniff(p.Payload, dir, p.SrcPort, p.DstPort, c.sniffs > 1)
		if k != appNone {
			c.decide(k)
			c.prime(p, dir)
		} else {
			if c.sniffs >= maxSniff {
				c.decided = true // not something the parsers read
			}
			h := &c.half[dir]
			if end := p.Seq + uint32(p.PayloadLen); !h.seen || seqDiff(h.seenEnd, end) > 0 {
				h.seen, h.seenEnd = true, end
			}
		}
	}
	// Timing: the first request bytes once the connection is set up (after
	// the TLS handshake for TLS), and the first answer bytes after them.
	if p.PayloadLen > 0 {
		if dir == flows.FromClient && c.reqAt == 0 && c.setUp() {
			c.reqAt = p.Timestamp
		} else if dir == flows.FromServer && c.reqAt != 0 && c.respAt == 0 && p.Timestamp >= c.reqAt {
			c.respAt = p.Timestamp
		}
	}
	if c.feeding && (p.PayloadLen > 0 || p.Flags&(flows.FlagFIN|flows.FlagRST) != 0) {
		t.feed(c, p, dir, fr)
	}
	if f.TCP != nil && f.TCP.Closed() && p.Flags&(flows.FlagFIN|flows.FlagRST) != 0 {
		c.end = c.endReason("closed")
		f.App = t.finish(c, p.Timestamp, false) // closed: nothing more to parse; keep only the summary
		return
	}
	if !c.feeding {
		return
	}
	if c.kind == appTLS && c.tlsDone() {
		c.stopFeeding() // the handshake is over: nothing more to read
	}
}

// feed hands one segment of c to the assembler.
func (t *Tracker) feed(c *conn, p *flows.Packet, dir flows.Dir, fr flows.FrameRef) {
	h := &c.half[dir]
	// The fields the assembler reads are set one by one: assigning a whole
	// layers.TCP value (a few hundred bytes with pointers) costs a bulk
	// write barrier per segment while the GC is marking. The other fields
	// are never set, except by the rare synthetic segments, which assign a
	// whole value and are overwritten here.
	seg := &t.seg
	seg.Seq, seg.Ack = p.Seq, p.Ack
	seg.SYN, seg.ACK = p.Flags&flows.FlagSYN != 0, p.Flags&flows.FlagACK != 0
	seg.FIN, seg.RST = p.Flags&flows.FlagFIN != 0, p.Flags&flows.FlagRST != 0
	seg.Payload = p.Payload
	seq := p.Seq
	if seg.SYN {
		seq++
	}
	end := seq + uint32(len(p.Payload))
	if len(p.Payload) > 0 && h.started && seqDiff(h.pos, seq) > 0 {
		h.addAhead(segInfo{seq: seq, end: end, ts: p.Timestamp, frame: fr})
	}
	if cut := p.PayloadLen - len(p.Payload); cut > 0 && !seg.SYN {
		h.addCut(seqRange{end, end + uint32(cut)})
	}
	t.live = liveSeg{c: c, dir: dir, seq: seq, end: end, ts: p.Timestamp, frame: fr}
	t.assemble(c, dir, p.Timestamp)
	t.live = liveSeg{}
	t.Stats.Segments++
	// Bytes the snapshot length cut never come: do not wait for them.
	for i := 0; len(h.cuts) > 0 && i < maxPushes && c.feeding; i++ {
		holeEnd, ok := h.cutHoleEnd()
		if !ok || !h.waitingWithin(holeEnd) || !t.push(c, dir) {
			break
		}
	}
}

// assemble feeds t.seg as a segment of c in direction dir.
func (t *Tracker) assemble(c *conn, dir flows.Dir, ts int64) {
	t.ctx.ci.Timestamp = time.Unix(0, ts) // the only field set: no whole-struct write barrier
	t.ctx.dir, t.ctx.conn = dir, c
	t.asm.AssembleWithContext(c.netFlow[dir], &t.seg, &t.ctx)
	t.ctx.conn = nil
}

// push makes the assembler hand over the first data it holds in c's
// direction dir, skipping the hole before it. It reports whether anything
// was delivered.
func (t *Tracker) push(c *conn, dir flows.Dir) bool {
	h := &c.half[dir]
	if !h.started {
		return false
	}
	t.seg = layers.TCP{Seq: h.pos + 1<<30}
	t.delivered = false
	keep := t.asm.MaxBufferedPagesPerConnection
	t.asm.MaxBufferedPagesPerConnection = 1
	t.ctx.synthetic = true
	t.assemble(c, dir, t.now)
	t.ctx.synthetic = false
	t.asm.MaxBufferedPagesPerConnection = keep
	return t.delivered
}

// prime starts the directions of a connection that was just handed over.
// The sender of p starts at p. The other side starts where p's ACK says,
// or after what was seen from it, so that an early segment of its waits
// for the ones before it.
func (c *conn) prime(p *flows.Packet, dir flows.Dir) {
	rev := 1 - dir
	h := &c.half[rev]
	var start uint32
	switch {
	case h.seen && (p.Flags&flows.FlagACK == 0 || seqDiff(p.Ack, h.seenEnd) > 0):
		start = h.seenEnd
	case p.Flags&flows.FlagACK != 0:
		start = p.Ack
	default:
		return
	}
	t := c.t
	t.seg = layers.TCP{Seq: start - 1, SYN: true}
	t.assemble(c, rev, p.Timestamp)
}

// stopFeeding ends the reassembly of a connection whose parsers need no
// more bytes.
func (c *conn) stopFeeding() {
	c.feeding = false
	c.t.closeAsm(c)
}

// closeAsm closes both halves of c's gopacket connection (an empty RST at
// the position of each), which drops what it still holds and, as no more
// data will be fed, removes it from the pool.
func (t *Tracker) closeAsm(c *conn) {
	if !c.asm {
		return
	}
	c.asm = false
	for d := range c.half {
		h := &c.half[d]
		if !h.started {
			continue
		}
		t.seg = layers.TCP{Seq: h.pos, RST: true}
		t.ctx.synthetic = true
		t.assemble(c, flows.Dir(d), t.now)
		t.ctx.synthetic = false
	}
}

// drain pushes out everything the assembler holds for c, reporting the
// holes as gaps. Used when the flow ends: nothing will fill them.
func (t *Tracker) drain(c *conn) {
	if !c.asm || !c.feeding {
		return
	}
	for d := range c.half {
		h := &c.half[d]
		for i := 0; len(h.ahead) > 0 && i < maxPushes && c.feeding; i++ {
			if !t.push(c, flows.Dir(d)) {
				break
			}
		}
	}
}

func (c *conn) decide(k appKind) {
	c.decided, c.kind = true, k
	switch k {
	case appTLS:
		c.tlsC, c.tlsS = tls.NewParser(), tls.NewParser()
	case appHTTP:
		c.httpC = http.NewConn(http.Config{}, c.httpDone)
	case appDNS:
		c.dnsTCP[0], c.dnsTCP[1] = &dns.TCPStream{}, &dns.TCPStream{}
	default:
		return
	}
	t := c.t
	if n := len(t.freeFrames); n > 0 {
		c.frames, t.freeFrames = t.freeFrames[n-1], t.freeFrames[:n-1]
		*c.frames = [2]frameRing{}
	} else {
		c.frames = new([2]frameRing)
	}
	c.feeding, c.asm = true, true
	t.nextID++
	var a, b [16]byte
	binary.BigEndian.PutUint64(a[:], t.nextID)
	b = a
	b[8] = 1
	c.netFlow[flows.FromClient] = gopacket.NewFlow(layers.EndpointIPv6, a[:], b[:])
	c.netFlow[flows.FromServer] = gopacket.NewFlow(layers.EndpointIPv6, b[:], a[:])
	t.Stats.Reassembled++
}

// setUp says whether the connection is past its setup, so client bytes are
// a request: always, except during a TLS handshake.
func (c *conn) setUp() bool {
	if c.kind != appTLS {
		return true
	}
	return c.tlsC.Encrypted() && c.tlsS.Encrypted()
}

func (c *conn) tlsDone() bool {
	return (c.tlsC.Encrypted() || c.tlsC.Stopped()) && (c.tlsS.Encrypted() || c.tlsS.Stopped())
}

func (c *conn) gap(dir flows.Dir, n int) {
	c.t.Stats.Gaps++
	c.t.Stats.GapBytes += int64(n)
	switch c.kind {
	case appTLS:
		c.tlsParser(dir).Gap(n)
	case appHTTP:
		if dir == flows.FromClient {
			c.httpC.ClientGap(n)
		} else {
			c.httpC.ServerGap(n)
		}
	case appDNS:
		// A DNS-over-TCP stream cannot find its framing again after a
		// hole: drop the rest of that direction.
		c.dnsTCP[dir] = nil
	}
}

func (c *conn) tlsParser(dir flows.Dir) *tls.Parser {
	if dir == flows.FromClient {
		return c.tlsC
	}
	return c.tlsS
}

func (c *conn) data(dir flows.Dir, b []byte, ts int64, fr flows.FrameRef) {
	c.frames[dir].add(ts, fr)
	switch c.kind {
	case appTLS:
		c.tlsParser(dir).Feed(b, ts)
	case appHTTP:
		if dir == flows.FromClient {
			c.httpC.ClientData(b, ts)
		} else {
			c.httpC.ServerData(b, ts)
		}
	case appDNS:
		s := c.dnsTCP[dir]
		if s == nil {
			return
		}
		s.Feed(b)
		for {
			msg, ok := s.Next()
			if !ok {
				break
			}
			if c.dnsf == nil {
				c.dnsf = &dnsFlow{ref: c.ref}
			}
			c.t.dnsMessage(c.dnsf, msg, ts, fr, false)
		}
	}
}

func (c *conn) httpDone(tx *http.Transaction) {
	if tx.Status >= 100 && tx.Status <= 599 {
		c.t.Stats.HTTPStatus[tx.Status/100]++
	}
	c.t.Stats.HTTPStatus[1] += int64(tx.Informational)
	r := &flows.HTTPRecord{
		FlowRef:       c.ref,
		RequestNS:     tx.RequestTime,
		Method:        tx.Method,
		Host:          tx.Host,
		Target:        tx.Target,
		UserAgent:     tx.UserAgent,
		Version:       tx.HTTPVersion,
		Status:        tx.Status,
		Reason:        tx.Reason,
		ResponseBytes: tx.ResponseBytes,
		Complete:      tx.Complete,
		Gap:           tx.Gap,
		RequestFrame:  c.frames[flows.FromClient].find(tx.RequestTime),
		ResponseFrame: c.frames[flows.FromServer].find(tx.FirstResponseByteTime),
	}
	if c.tcp != nil {
		r.RTTMS = float64(c.tcp.PathRTT()) / 1e6
	}
	r.ContentLength, r.Chunked = tx.ContentLength, tx.Chunked
	if tx.Status == 0 {
		r.ContentLength = -1
	}
	if !tx.Complete {
		r.ConnEnd = c.end // how the connection ended, when it ended this exchange
	}
	if tx.RequestTime != 0 {
		r.RequestTime = flows.Time(tx.RequestTime)
		if tx.FirstResponseByteTime >= tx.RequestTime && tx.Status != 0 {
			r.TTFBMS = float64(tx.FirstResponseByteTime-tx.RequestTime) / 1e6
		}
		if tx.ResponseDoneTime >= tx.RequestTime && tx.Status != 0 {
			r.TotalMS = float64(tx.ResponseDoneTime-tx.RequestTime) / 1e6
		}
	}
	if c.firstHTTP == nil && tx.Status != 0 && tx.RequestTime != 0 {
		rr := *r
		c.firstHTTP = &rr
	}
	if c.t.sinks.HTTP != nil {
		c.t.sinks.HTTP(r)
	}
}

// tlsRecord builds the handshake record of a TLS connection at its end.
func (c *conn) tlsRecord(captureEnded bool) *flows.TLSRecord {
	cr, sr := c.tlsC.Result(), c.tlsS.Result()
	c.t.Stats.ClientHellos += int64(len(cr.ClientHellos))
	h := tls.Summarize(&cr, &sr)
	if h.ClientHello == nil {
		return nil
	}
	ch := h.ClientHello
	r := &flows.TLSRecord{
		FlowRef:          c.ref,
		ClientHelloTime:  flows.Time(ch.Time),
		ClientHelloNS:    ch.Time,
		SNI:              ch.SNI,
		ALPN:             ch.ALPN,
		JA3:              ch.JA3,
		JA3Hash:          ch.JA3Hash,
		JA4:              ch.JA4,
		ServerHello:      h.ServerHello != nil,
		Established:      h.Established,
		ClientHelloFrame: c.frames[flows.FromClient].find(ch.Time),
	}
	if r.ALPN == nil {
		r.ALPN = []string{}
	}
	r.OfferedVersions = offeredVersions(ch)
	if h.Version != 0 {
		r.Version = tls.VersionName(h.Version)
		r.Cipher = tls.CipherSuiteName(h.CipherSuite)
	}
	if h.Established && h.End >= h.Start {
		r.HandshakeMS = float64(h.End-h.Start) / 1e6
	}
	if sh := h.ServerHello; sh != nil && sh.Time >= ch.Time {
		r.ServerHelloMS = float64(sh.Time-ch.Time) / 1e6
	}
	if c.tcp != nil {
		r.RTTMS = float64(c.tcp.PathRTT()) / 1e6
		if at, n, wait := c.tcp.FirstData(flows.FromClient); at == ch.Time && n > 0 {
			r.HelloRetransmissions, r.HelloWaitMS = n, float64(wait)/1e6
		}
	}
	if h.Alert != nil && !h.Alert.Encrypted {
		r.AlertLevel = tls.AlertLevelName(h.Alert.Level)
		r.Alert = tls.AlertName(h.Alert.Description)
		r.AlertFrom = "client"
		if h.AlertFromServer {
			r.AlertFrom = "server"
		}
	}
	switch {
	case h.Established:
		r.Outcome = "established"
	case h.Alert != nil && h.Alert.Fatal() && h.AlertFromServer && h.ServerHello == nil:
		r.Outcome = "rejected-alert"
		r.EndFrame = c.frames[flows.FromServer].find(h.Alert.Time)
	case c.rstAt != 0 && c.rstAt >= ch.Time && h.ServerHello == nil:
		r.ResetBy = "server"
		r.Outcome = "rejected-reset"
		if c.rstDir == flows.FromClient {
			r.ResetBy = "client"
			r.Outcome = "aborted-by-client"
		}
		r.EndFrame = c.rstFrame
	case c.finAt != 0 && c.finAt >= ch.Time && h.ServerHello == nil:
		r.Outcome = "rejected-close"
		r.EndFrame = c.finFrame
	case h.Alert != nil && h.Alert.Fatal():
		r.Outcome = "failed-alert" // after the ServerHello: certificate or key exchange trouble
	case c.rstAt != 0 && c.rstAt >= ch.Time:
		// Reset after the ServerHello, before both sides encrypted: the
		// server did answer, so this is not a rejection of the hello.
		r.Outcome = "reset-after-server-hello"
		r.ResetBy = "server"
		if c.rstDir == flows.FromClient {
			r.ResetBy = "client"
		}
		r.EndFrame = c.rstFrame
	case captureEnded:
		r.Outcome = "incomplete"
	default:
		r.Outcome = "unknown"
	}
	return r
}

func offeredVersions(ch *tls.ClientHello) []string {
	var vs []string
	if len(ch.SupportedVersions) > 0 {
		for _, v := range ch.SupportedVersions {
			if !tls.IsGREASE(v) {
				vs = append(vs, tls.VersionName(v))
			}
		}
		return vs
	}
	// Before TLS 1.3 a client names only its highest version
	// (legacy_version); which older ones it would accept is not on the wire.
	return []string{tls.VersionName(ch.Version)}
}

// FlowEnd finishes the application state of a flow that left the table and
// adds what it learnt (application, SNI, HTTP host, timings) to its record.
func (t *Tracker) FlowEnd(f *flows.Flow, rec *flows.Record) {
	var sum *appSummary
	switch a := f.App.(type) {
	case *conn:
		a.end = a.endReason(f.End.String())
		sum = t.finish(a, f.Last, f.End == flows.EndCapture)
	case *appSummary:
		sum = a
	default:
		return
	}
	rec.App = sum.kind.String()
	rec.SNI, rec.HTTPHost, rec.TLSMS = sum.sni, sum.httpHost, sum.tlsMS
	if f.Key.Proto != flows.ProtoTCP {
		return // the timing breakdown is per TCP connection
	}
	// curl -w style phases. The DNS lookup phase is the run's to fill
	// (analyze): the answer may have come through another worker.
	rec.TimingStartNS = sum.synAt
	rec.ConnectMS = rec.HandshakeRTT
	rec.TTFBMS = sum.ttfbMS
	rec.TotalMS = float64(f.Last-sum.synAt) / 1e6
}

// endReason is how the connection ended: reset by one side when a RST
// came, else why (closed, capture-end, idle, ...).
func (c *conn) endReason(why string) string {
	switch {
	case c.rstAt == 0:
		return why
	case c.rstDir == flows.FromClient:
		return "reset by the client"
	}
	return "reset by the server"
}

// appSummary is what the flow record needs of a connection whose parsers
// are done: a closed connection lingers in the flow table for minutes (for
// late packets) and keeps only this, not its half-kilobyte of state.
type appSummary struct {
	kind          appKind
	sni, httpHost string
	tlsMS, ttfbMS float64
	synAt         int64
}

// finish ends the application work of a connection: it hands the parsers
// what the assembler still holds (nothing will fill the holes now), emits
// the TLS record and the HTTP transactions still open, keeps the few values
// the flow record needs, and drops the parsers and buffers. It runs when a
// TCP connection closes (FIN both ways, or RST) — the flow itself lingers
// in the table for late packets, and would otherwise hold a kilobyte of
// parser state per connection for minutes — or at the flow's end.
func (t *Tracker) finish(c *conn, last int64, captureEnded bool) *appSummary {
	if c.done {
		return c.sum
	}
	t.drain(c)
	c.done = true
	switch c.kind {
	case appTLS:
		if tr := c.tlsRecord(captureEnded); tr != nil {
			c.sni = tr.SNI
			if tr.Established {
				c.tlsMS = tr.HandshakeMS
			}
			if t.sinks.TLS != nil {
				t.sinks.TLS(tr)
			}
		}
	case appHTTP:
		c.httpC.Close()
	}
	sum := &appSummary{kind: c.kind, sni: c.sni, tlsMS: c.tlsMS, synAt: c.synAt}
	if c.firstHTTP != nil {
		sum.httpHost = c.firstHTTP.Host
		sum.ttfbMS = c.firstHTTP.TTFBMS
	} else if c.reqAt != 0 && c.respAt != 0 {
		sum.ttfbMS = float64(c.respAt-c.reqAt) / 1e6
	}
	t.closeAsm(c)
	if c.frames != nil && len(t.freeFrames) < maxFreeFrames {
		t.freeFrames = append(t.freeFrames, c.frames)
	}
	c.tlsC, c.tlsS, c.httpC, c.firstHTTP, c.frames = nil, nil, nil, nil, nil
	c.dnsTCP = [2]*dns.TCPStream{}
	c.half = [2]half{}
	c.sum = sum
	return sum
}

// FlushDue says whether ten seconds of capture time have passed since the
// last FlushIdle.
func (t *Tracker) FlushDue() bool { return t.now-t.flushed >= int64(10*time.Second) }

// SetClock sets the tracker's capture clock (Config.ExternalClock).
func (t *Tracker) SetClock(now int64) { t.now = now }

// FlushIdle pushes out data the assembler held for connections idle for two
// minutes of capture time and times out unanswered DNS queries. Packet
// calls it every ten seconds of capture time; with Config.ExternalClock
// the caller does.
func (t *Tracker) FlushIdle() {
	t.flushed = t.now
	t.asm.FlushCloseOlderThan(time.Unix(0, t.now-int64(2*time.Minute)))
	t.dns.Expire(t.now)
}

// Finish flushes everything at the end of the capture. Flows must have been
// ended (FlowEnd) first, so late DNS records still find their flow.
func (t *Tracker) Finish() {
	t.asm.FlushAll()
	t.dns.Flush()
	st := t.dns.Stats()
	t.Stats.DNSOverflow = st.Overflow
}

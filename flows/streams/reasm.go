package streams

import (
	"github.com/pcapx/pcapx/flows"
)

// The reassembler
//
// Each direction of a connection handed to the parsers (a half) follows
// the sequence numbers itself. What the parsers need is the bytes in
// order, and most segments arrive in order: such a segment's payload goes
// to the parser as the capture holds it, without a copy, and the half only
// advances its next expected sequence number. Only a segment that arrives
// ahead of that number (the capture lost or reordered what comes before
// it) is stored until the hole fills, and only its bytes the parser will
// read: when the parser says the next bytes are only counted (a body of
// known length, a chunk, a TLS record or handshake message nobody needs:
// http.Conn.ServerSkippable, tls.Parser.Skippable), the segment is stored
// as its sequence range alone and handed over by length (Skip).
//
// What the parsers saw with gopacket's assembler, which this replaces, is
// kept, because the records and their agreement with tshark depend on it:
//
//   - A half starts at its first segment (after a SYN's sequence number),
//     or where the other side's ACK or its earlier payload says (prime).
//   - Bytes already delivered are never delivered again: a retransmission
//     that overlaps them gives only its new bytes. Among stored bytes the
//     newest segment wins, as gopacket's queue did.
//   - A SYN on a started half is ignored (RFC 5961); so is a RST that is
//     not at the next sequence number, and a FIN before it. A FIN or RST
//     in order ends the half: later bytes are ignored. A FIN ahead ends the
//     half when the bytes reach it.
//   - The stored segments are bounded in pages of 1900 bytes, per
//     connection (Config.MaxPagesPerConn) and per Tracker
//     (Config.MaxPagesTotal); when a bound is hit, the first stored
//     segments are handed over with the holes before them reported as
//     gaps, until the half is within the bound again.
//   - Holes that cannot fill are skipped at once (the tail of a segment
//     the snapshot length cut, everything when the flow ends), and every
//     10 s of capture time stored data older than two minutes is handed
//     over, and a connection idle for two minutes starts each half again
//     at its next new segment, the bytes between reported as a gap.
//   - Times: bytes handed over with the segment that filled the hole
//     before them became readable at its time; bytes a push hands over
//     keep the time they were captured. Each segment's bytes go to the
//     parser as one piece with their own frame.

// PageBytes is the unit of the buffer bounds (Config.MaxPagesPerConn and
// MaxPagesTotal), gopacket's page size, so the bounds mean what they meant.
const PageBytes = 1900

// stored is a segment that arrived ahead of its half's next sequence number.
type stored struct {
	seq, end uint32
	ts       int64
	frame    flows.FrameRef
	// data holds the bytes [seq, end) when the parser will read them; nil
	// when they are only counted (skip).
	data  []byte
	buf   *[]byte // the buffer data lies in, returned to the Tracker's pool
	pages int32
	skip  bool
}

func (s *stored) len() int { return int(s.end - s.seq) }

// half is one direction of a connection being reassembled.
type half struct {
	started bool // the next sequence number is known
	closed  bool // a FIN or RST ended it: nothing more is read
	// restart: the connection was idle for two minutes (pushIdle); the
	// half starts again at its next segment that is not wholly old,
	// reporting the bytes between as a gap.
	restart bool
	next    uint32 // next sequence number to hand to the parser
	finSet  bool   // a FIN arrived ahead of next, at finSeq
	finSeq  uint32
	q       []stored // sorted by seq, not overlapping, all after next
	pages   int
	cuts    []seqRange // bytes the snapshot length cut, not yet passed
	seen    bool       // payload seen before the connection was handed over
	seenEnd uint32     // end of that payload
}

// seqRange is a range of sequence numbers [from, to).
type seqRange struct{ from, to uint32 }

// seqDiff returns b-a in sequence space (positive when b is after a).
func seqDiff(a, b uint32) int32 { return int32(b - a) }

// Bounds of the per-direction bookkeeping.
const (
	maxCuts = 64
	// maxSniff is how many payload segments of a connection are looked
	// at to find what it carries (TLS after a STARTTLS-like exchange comes
	// a few segments in).
	maxSniff = 16
	// maxPushes bounds the pushes of one half at a time.
	maxPushes = 1 << 16
)

// live is the segment being fed: bytes it makes readable take its time.
type live struct {
	on bool
	ts int64
}

// segment hands one segment of direction dir to c's reassembler: seq is
// its sequence number (SYN included), b its captured payload.
func (t *Tracker) segment(c *conn, dir flows.Dir, seq uint32, b []byte, syn, fin, rst bool, ts int64, fr flows.FrameRef) {
	h := &c.half[dir]
	c.lastSeen = max(c.lastSeen, ts)
	if h.closed {
		return
	}
	if h.restart {
		start := seq
		if syn {
			start++
		}
		if seqDiff(h.next, start+uint32(len(b))) <= 0 {
			return // wholly before what the parser had
		}
		h.restart = false
		if d := seqDiff(h.next, start); d > 0 {
			c.gapAt(dir, int(d))
			h.next = start
		}
		seq, syn = start, false
	}
	if !h.started {
		h.started = true
		if syn {
			seq++
		}
		h.next = seq
	} else if syn {
		return // a SYN on a synchronized half is not stream data (RFC 5961)
	}
	end := seq + uint32(len(b))
	diff := seqDiff(h.next, seq)
	if diff > 0 {
		if rst {
			return // not at the next sequence number: dropped by the receiver
		}
		if seqDiff(h.next, end) <= 0 {
			// It starts ahead but ends half the sequence space or more
			// ahead: no receiver's window reaches there (a sequence
			// number gone wrong). Stored, a segment that later cut its
			// head (overwrite) would leave its tail behind next, where
			// nothing hands it over in order.
			return
		}
		if fin {
			h.finSet, h.finSeq = true, end
		}
		if len(b) > 0 {
			t.store(c, dir, seq, b, ts, fr)
		}
		return
	}
	if rst && diff < 0 || fin && seqDiff(h.next, end) < 0 {
		return // before the stream's position: out of window
	}
	if -int(diff) >= len(b) {
		b = nil // all of it was delivered already
	} else {
		b = b[-diff:]
	}
	seq = h.next
	end = seq + uint32(len(b))
	if len(b) == 0 && !fin && !rst {
		return
	}
	// The new bytes win over stored ones they cover.
	if len(b) > 0 {
		t.overwrite(h, seq, end, nil)
	}
	if len(b) > 0 {
		c.deliver(dir, b, 0, false, ts, fr)
	}
	h.next = end
	// The segment ends the half when it carries a FIN or RST and nothing
	// stored follows it, or when the bytes reach a FIN seen ahead.
	n := t.contiguous(c, dir, live{on: true, ts: ts})
	ends := (fin || rst) && n == 0
	if h.reachedFIN() {
		ends = true
	}
	if fin {
		h.next++
	}
	if ends {
		t.closeHalf(h)
	}
}

// reachedFIN says whether the bytes handed over reached a FIN that came
// ahead of them; it forgets that FIN.
func (h *half) reachedFIN() bool {
	if h.finSet && h.next == h.finSeq {
		h.finSet = false
		return true
	}
	return false
}

// contiguous hands over the stored segments that start at next, in order.
// It returns how many.
func (t *Tracker) contiguous(c *conn, dir flows.Dir, lv live) int {
	h := &c.half[dir]
	n := 0
	for len(h.q) > 0 && h.q[0].seq == h.next && !h.closed {
		s := &h.q[0]
		ts := s.ts
		if lv.on {
			ts = max(ts, lv.ts)
		}
		h.next = s.end
		c.deliver(dir, s.data, s.len(), s.skip, ts, s.frame)
		t.release(h, 0)
		n++
	}
	return n
}

// push hands over the first stored segment of c's direction dir (and what
// follows it contiguously), reporting the hole before it as a gap. It
// says whether anything was handed over.
func (t *Tracker) push(c *conn, dir flows.Dir, lv live) bool {
	h := &c.half[dir]
	if len(h.q) == 0 || h.closed {
		return false
	}
	if d := seqDiff(h.next, h.q[0].seq); d > 0 {
		h.next = h.q[0].seq
		c.gapAt(dir, int(d))
	}
	t.contiguous(c, dir, lv)
	if h.reachedFIN() {
		t.closeHalf(h)
	}
	return true
}

// store keeps a segment that arrived ahead of next: its bytes, or only its
// range when the parser will not read them.
func (t *Tracker) store(c *conn, dir flows.Dir, seq uint32, b []byte, ts int64, fr flows.FrameRef) {
	h := &c.half[dir]
	end := seq + uint32(len(b))
	// (seq and end are ahead of next, within half the sequence space;
	// the distance is counted in 64 bits all the same.)
	skip := int64(seqDiff(h.next, seq))+int64(len(b)) <= c.skippable(dir)
	if t.overwrite(h, seq, end, b) {
		return // inside a stored segment, whose bytes it replaced
	}
	s := stored{seq: seq, end: end, ts: ts, frame: fr, skip: skip, pages: int32((len(b) + PageBytes - 1) / PageBytes)}
	if !skip {
		s.buf = t.getBuf(len(b))
		s.data = append((*s.buf)[:0], b...)
	}
	i := len(h.q)
	for i > 0 && seqDiff(h.q[i-1].seq, seq) < 0 {
		i--
	}
	if h.q == nil {
		h.q = t.getQueue()
	}
	h.q = append(h.q, stored{})
	copy(h.q[i+1:], h.q[i:])
	h.q[i] = s
	h.pages += int(s.pages)
	t.pages += int(s.pages)
	// A bound is hit: stop waiting for the hole before the first stored
	// segment, until the half is within its bound again (gopacket stopped
	// after one, which let a segment of several pages pass the bound) or
	// holds nothing (what other connections store is theirs to give up).
	for (h.pages >= t.cfg.MaxPagesPerConn || t.pages >= t.cfg.MaxPagesTotal) && t.push(c, dir, live{on: true, ts: ts}) {
		t.Stats.BoundSkips++
	}
}

// overwrite makes the bytes [seq, end) the newest ones: stored segments
// wholly inside are dropped, those overlapping are cut back. When the
// range lies inside one stored segment, b (if not nil) is copied into it
// and overwrite reports true: nothing is left to store.
func (t *Tracker) overwrite(h *half, seq, end uint32, b []byte) bool {
	for i := 0; i < len(h.q); {
		s := &h.q[i]
		switch {
		case seqDiff(s.end, seq) >= 0:
			i++ // before the range
		case seqDiff(end, s.seq) >= 0:
			return false // after it (the queue is sorted)
		case seqDiff(seq, s.seq) >= 0 && seqDiff(s.end, end) >= 0:
			t.release(h, i) // wholly covered (the same range too)
		case seqDiff(s.seq, seq) >= 0 && seqDiff(end, s.end) >= 0:
			// Inside a stored segment: its bytes are replaced, its
			// bookkeeping stays.
			if b != nil && !s.skip {
				copy(s.data[seq-s.seq:], b)
			}
			return true
		case seqDiff(s.seq, seq) > 0:
			// Starts before the range: keep its head.
			if !s.skip {
				s.data = s.data[:seq-s.seq]
			}
			s.end = seq
			i++
		default:
			// Ends after the range: keep its tail.
			if !s.skip {
				s.data = s.data[end-s.seq:]
			}
			s.seq = end
			i++
		}
	}
	return false
}

// release drops the stored segment i of h, returning its buffer.
func (t *Tracker) release(h *half, i int) {
	s := &h.q[i]
	h.pages -= int(s.pages)
	t.pages -= int(s.pages)
	if s.buf != nil {
		t.putBuf(s.buf)
	}
	copy(h.q[i:], h.q[i+1:])
	h.q[len(h.q)-1] = stored{}
	h.q = h.q[:len(h.q)-1]
}

// closeHalf ends a half: what it stores is dropped, nothing more is read.
func (t *Tracker) closeHalf(h *half) {
	h.closed = true
	t.dropQueue(h)
}

// dropQueue returns the half's stored segments and queue to the pools.
func (t *Tracker) dropQueue(h *half) {
	for len(h.q) > 0 {
		t.release(h, len(h.q)-1)
	}
	if h.q != nil {
		t.putQueue(h.q)
		h.q = nil
	}
}

// The Tracker keeps the buffers of stored segments and the queues for
// reuse, so that reordering in steady state allocates nothing. They are
// the Tracker's own (each worker has its own Tracker).
const (
	minBuf     = 2048
	maxBuf     = 1 << 16 // larger segments (GRO) get a buffer of their own
	bufClasses = 6       // 2 KiB .. 64 KiB
	maxFreeBuf = 4 << 20 // bytes kept for reuse, all classes
	maxFreeQs  = 1024
)

func bufClass(n int) int {
	c, size := 0, minBuf
	for size < n {
		size <<= 1
		c++
	}
	return c
}

func (t *Tracker) getBuf(n int) *[]byte {
	if n > maxBuf {
		b := make([]byte, 0, n)
		return &b
	}
	c := bufClass(n)
	if k := len(t.freeBufs[c]); k > 0 {
		b := t.freeBufs[c][k-1]
		t.freeBufs[c] = t.freeBufs[c][:k-1]
		t.freeBytes -= cap(*b)
		return b
	}
	b := make([]byte, 0, minBuf<<c)
	return &b
}

func (t *Tracker) putBuf(b *[]byte) {
	n := cap(*b)
	if n > maxBuf {
		return
	}
	c := bufClass(n)
	if minBuf<<c == n && t.freeBytes+n <= maxFreeBuf {
		t.freeBufs[c] = append(t.freeBufs[c], b)
		t.freeBytes += n
	}
}

func (t *Tracker) getQueue() []stored {
	if k := len(t.freeQs); k > 0 {
		q := t.freeQs[k-1]
		t.freeQs = t.freeQs[:k-1]
		return q
	}
	return make([]stored, 0, 8)
}

func (t *Tracker) putQueue(q []stored) {
	if len(t.freeQs) < maxFreeQs {
		t.freeQs = append(t.freeQs, q[:0])
	}
}

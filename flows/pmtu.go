package flows

import "net/netip"

// Path MTU bookkeeping: what a TCP direction's segment sizes, their fate and
// the ICMP errors about them say about the path MTU. It feeds two
// diagnoses (docs/rules.md): a PMTU black hole, where full-size segments
// vanish on the path and no ICMP "fragmentation needed" / "packet too big"
// comes back (a firewall eats it), and a working PMTU discovery, where the
// ICMP arrives and the sender re-segments.

// segMark is a sent segment waiting for its ACK: where it ends, its size.
type segMark struct {
	end uint32
	len uint16
}

// pmtuDir is the path-MTU state of one direction's data.
type pmtuDir struct {
	maxSeg   uint16 // largest payload sent
	maxAcked uint16 // largest segment the peer acknowledged whole
	// pend holds segments larger than any acknowledged one, in increasing
	// order of sequence and of size: a segment not held is no larger than
	// one sent before it, so when its ACK comes that one's does too.
	pend  [3]segMark
	npend uint8

	ackedTo    uint32 // the peer's highest ACK of this data
	ackSet     bool
	progressAt int64 // when that ACK last moved forward

	// The segment at the peer's ACK point that was sent again: a black
	// hole resends it with back-off and never sees it acknowledged.
	head       uint32
	headLen    uint16
	headResent uint16
	minRetx    uint16 // smallest data segment sent again; 0 for none

	// The last hole ("previous segment not captured"): the bytes between
	// gapFrom and gapTo never reached the capture point.
	gapFrom, gapTo uint32
	gapAt          int64
	gapSet         bool

	maxAfterMTU uint16 // largest segment sent after an ICMP error reported the path MTU

	// holes are byte ranges of this direction the capture skipped and has
	// not seen since; once acknowledged they count as capture loss (the
	// receiver had them, the capture did not). A few are enough: more at
	// once are left uncounted.
	holes  [2]struct{ from, to uint32 }
	nholes uint8
}

// maxHole bounds a hole that counts as missed data: a jump of more than
// 16 MiB is a sequence number gone wrong, not data.
const maxHole = 1 << 24

// fill removes what a segment [seq, end) covers from the holes.
func (s *pmtuDir) fill(seq, end uint32) {
	for i := 0; i < int(s.nholes); i++ {
		h := &s.holes[i]
		if !seqLT(seq, h.to) || !seqGT(end, h.from) {
			continue
		}
		switch {
		case seqLE(seq, h.from) && !seqLT(end, h.to): // covered whole
			copy(s.holes[i:], s.holes[i+1:s.nholes])
			s.nholes--
			i--
		case seqLE(seq, h.from):
			h.from = end
		default:
			h.to = seq // the part after the segment stays unseen too; dropping it undercounts
		}
	}
}

// acked counts the holes an ACK up to ack covers as capture loss.
func (s *pmtuDir) acked(ack uint32) (unseen int64) {
	for s.nholes > 0 && seqGT(ack, s.holes[0].from) {
		h := &s.holes[0]
		if seqLT(ack, h.to) {
			unseen += int64(ack - h.from)
			h.from = ack
			break
		}
		unseen += int64(h.to - h.from)
		copy(s.holes[:], s.holes[1:s.nholes])
		s.nholes--
	}
	return unseen
}

// trackPMTU updates the path-MTU state after a segment's analysis. prevNext
// is this direction's highest sequence number before the segment. It says
// whether the segment's ACK moved the peer's data forward.
func (t *TCPFlow) trackPMTU(p *Packet, dir Dir, a Analysis, prevNext uint32) (acked bool) {
	fwd, rev := &t.x.pmtu[dir], &t.x.pmtu[1-dir]
	now := p.Timestamp
	if p.Flags&FlagACK != 0 && (!rev.ackSet || seqGT(p.Ack, rev.ackedTo)) {
		acked = true
		if old := rev.ackedTo; rev.ackSet && p.Ack-old < maxHole { // a bigger jump is a sequence number gone wrong
			t.x.ackedBytes += int64(p.Ack - old)
			t.x.unseenBytes += rev.acked(p.Ack)
			// Acknowledged beyond anything captured: a missed tail.
			if next := t.dirs[1-dir].nextseq; next != 0 && seqGT(p.Ack, next) {
				if seqGT(old, next) {
					next = old
				}
				t.x.unseenBytes += int64(p.Ack - next)
			}
		}
		rev.ackedTo, rev.ackSet, rev.progressAt = p.Ack, true, now
		n := 0
		for n < int(rev.npend) && seqLE(rev.pend[n].end, p.Ack) {
			rev.maxAcked = max(rev.maxAcked, rev.pend[n].len)
			n++
		}
		if n > 0 {
			copy(rev.pend[:], rev.pend[n:rev.npend])
			rev.npend -= uint8(n)
		}
		if rev.headResent > 0 && seqGT(p.Ack, rev.head) {
			rev.headResent, rev.headLen = 0, 0
		}
	}
	if p.PayloadLen == 0 || p.Flags&(FlagSYN|FlagRST) != 0 || a&(AKeepAlive|AZeroWindowProbe) != 0 {
		return acked
	}
	n := uint16(min(p.PayloadLen, 0xffff))
	if n > fwd.maxSeg {
		if n > rev.maxSeg {
			t.x.largestAt = FrameRef{File: p.File, Frame: p.Frame}
		}
		fwd.maxSeg = n
	}
	if t.pathMTU != nil && t.pathMTUDir == dir && now > t.pathMTU.At {
		fwd.maxAfterMTU = max(fwd.maxAfterMTU, n)
	}
	if a&ALostSegment != 0 {
		fwd.gapFrom, fwd.gapTo, fwd.gapAt, fwd.gapSet = prevNext, p.Seq, now, true
		from := prevNext
		if fwd.ackSet && seqGT(fwd.ackedTo, from) {
			from = fwd.ackedTo // already counted as a missed tail when acknowledged
		}
		if gap := p.Seq - from; seqLT(from, p.Seq) && gap < maxHole && int(fwd.nholes) < len(fwd.holes) {
			// Past the few kept, holes are not counted: folding them
			// together would count the data seen between them.
			fwd.holes[fwd.nholes] = struct{ from, to uint32 }{from, p.Seq}
			fwd.nholes++
		}
	} else if fwd.nholes > 0 && seqLT(p.Seq, fwd.holes[fwd.nholes-1].to) {
		fwd.fill(p.Seq, p.Seq+uint32(p.PayloadLen))
	}
	switch {
	case a&ASpuriousRetransmission != 0:
	case a&ARetransmission != 0:
		if fwd.minRetx == 0 || n < fwd.minRetx {
			fwd.minRetx = n
		}
		if r := t.pathMTU; r != nil && t.pathMTUDir == dir && r.sentTo != 0 && now > r.At && seqLT(p.Seq, r.sentTo) {
			r.Resends++
		}
		if fwd.ackSet && p.Seq == fwd.ackedTo {
			if fwd.headResent == 0 || fwd.head != p.Seq {
				fwd.head, fwd.headResent, fwd.headLen = p.Seq, 0, 0
			}
			fwd.headResent++
			fwd.headLen = max(fwd.headLen, n)
		}
	default:
		top := fwd.maxAcked
		if fwd.npend > 0 {
			top = fwd.pend[fwd.npend-1].len
		}
		if n > top {
			m := segMark{end: p.Seq + uint32(p.PayloadLen), len: n}
			if int(fwd.npend) < len(fwd.pend) {
				fwd.pend[fwd.npend] = m
				fwd.npend++
			} else {
				fwd.pend[len(fwd.pend)-1] = m
			}
		}
	}
	return acked
}

// offloadSeg is the largest segment either side sent above the MSS its
// peer advertised (0 when none, or no MSS is known), the frame of its
// first when it is the flow's largest (nearly always), and the MSS it
// passed (the smaller, when both sides did): the capture point saw what
// segmentation offload (TSO/GSO, or GRO/LRO on receive) hands the stack,
// not packets on the wire.
func (t *TCPFlow) offloadSeg() (n int, at FrameRef, mss int) {
	if t.x == nil {
		return 0, FrameRef{}, 0
	}
	for d := range t.x.pmtu {
		s := &t.x.pmtu[d]
		m := int(t.dirs[1-d].mss)
		if m == 0 || int(s.maxSeg) <= m {
			continue
		}
		n = max(n, int(s.maxSeg))
		if mss == 0 || m < mss {
			mss = m
		}
	}
	if n > 0 && n == int(max(t.x.pmtu[0].maxSeg, t.x.pmtu[1].maxSeg)) {
		at = t.x.largestAt
	}
	return n, at, mss
}

// notePathMTU records an ICMP frag-needed / packet-too-big message about
// this flow's packets sent in direction dir.
func (t *TCPFlow) notePathMTU(dir Dir, mtu int, router netip.Addr, at int64) {
	if t.x == nil {
		t.x = new(transfer)
	}
	sent := &t.dirs[dir]
	if t.pathMTU == nil {
		t.pathMTU = &PathMTUReport{MTU: mtu, Router: router.String(), At: at, sentTo: sent.nextseq}
		t.pathMTUDir = dir
		return
	}
	if mtu > 0 && (t.pathMTU.MTU == 0 || mtu < t.pathMTU.MTU) {
		// A lower report starts over: what was sent after the first one
		// may not fit this one. The resends counted so far stay counted.
		resends := t.pathMTU.Resends
		*t.pathMTU = PathMTUReport{MTU: mtu, Router: router.String(), At: at, Resends: resends, sentTo: sent.nextseq}
		t.pathMTUDir = dir
		t.x.pmtu[dir].maxAfterMTU = 0
	}
}

// PMTU is what a flow's segment sizes say about its path MTU (nil when
// they say nothing): a black-hole signature, and the ICMP report and what
// the sender did after it.
type PMTU struct {
	// BlackHole: full-size segments vanished and no ICMP error about them
	// came back. Seen from the sender, they were sent again with back-off
	// and never acknowledged while smaller ones were; seen from the
	// receiver, the data stopped after a hole larger than any segment that
	// arrived, which was never filled.
	BlackHole bool
	Sender    Dir   // who sent the large segments
	AtSender  bool  // seen on the sender's side of the loss (retransmissions) rather than the receiver's (a hole)
	SegLen    int   // the stuck segment (sender) or the missing bytes (receiver)
	MSS       int   // the MSS the receiver advertised
	Largest   int   // the largest segment acknowledged (sender) / received (receiver)
	Resent    int   // times the stuck segment was sent again (sender)
	StallNS   int64 // no progress from the last progress to the flow's end
	Reported  *PathMTUReport
	ReportDir Dir // whose packets the report was about
	MaxAfter  int // the largest segment that direction sent after the report
}

// minPMTUSegment: a segment of this payload or less fits the smallest
// IPv4 MTU every host must accept (576 bytes less 40 of headers), so its
// loss says nothing about the path MTU.
const minPMTUSegment = 536

// minStall is how long a flow must have made no progress for its lost
// large segments to count as a stalled transfer rather than a delay.
const minStall = 1e9

// PMTU works out the path-MTU evidence at the flow's end (last: the
// flow's last packet time).
func (t *TCPFlow) PMTU(last int64) *PMTU {
	if t.x == nil {
		return nil // no data, no report: nothing to say
	}
	var out *PMTU
	if t.pathMTU != nil {
		out = &PMTU{Reported: t.pathMTU, ReportDir: t.pathMTUDir, MaxAfter: int(t.x.pmtu[t.pathMTUDir].maxAfterMTU)}
	}
	if t.SYNTime == 0 || t.SYNACKTime == 0 || t.pathMTU != nil {
		// Mid-stream (the MSS and the first sizes are unknown), or an
		// ICMP error did come back: not a black hole.
		return out
	}
	for d := FromClient; d <= FromServer; d++ {
		if bh := t.blackHole(d, last); bh != nil {
			return bh
		}
	}
	return out
}

func (t *TCPFlow) blackHole(d Dir, last int64) *PMTU {
	s, peer := &t.x.pmtu[d], &t.dirs[1-d]
	mss := int(peer.mss) // what the receiver said it can take
	own := int(t.dirs[d].mss)
	if mss == 0 || int(s.maxSeg) > mss {
		return nil // no MSS option, or segments beyond it: offload (TSO/GRO), not the wire
	}
	// Seen on the sender's side of the loss: the segment at the receiver's
	// ACK point sent again at least twice and never acknowledged, every
	// segment sent again larger than every segment acknowledged (a size
	// limit, not random loss, which takes small segments too), and some
	// acknowledged.
	if s.headResent >= 2 && s.ackSet && s.head == s.ackedTo && int(s.headLen) > minPMTUSegment &&
		s.maxAcked > 0 && s.minRetx > s.maxAcked && last-s.progressAt >= minStall {
		return &PMTU{BlackHole: true, Sender: d, AtSender: true, SegLen: int(s.headLen), MSS: mss,
			Largest: int(s.maxAcked), Resent: int(s.headResent), StallNS: last - s.progressAt}
	}
	// Seen at the receiver: the receiver's ACK stayed at a hole larger
	// than any segment that arrived, with data before it and after it,
	// every segment short of what both MSS allowed, and the transfer
	// stalled.
	limit := mss
	if own > 0 {
		limit = min(limit, own)
	}
	hole := int(s.gapTo - s.gapFrom)
	if s.gapSet && t.dirs[1-d].lastack == s.gapFrom && s.gapFrom != t.dirs[d].isn+1 && hole < maxHole &&
		int(s.maxSeg) < limit && hole > int(s.maxSeg) && hole > minPMTUSegment && last-s.gapAt >= minStall {
		return &PMTU{BlackHole: true, Sender: d, SegLen: hole, MSS: mss, Largest: int(s.maxSeg), StallNS: last - s.gapAt}
	}
	return nil
}

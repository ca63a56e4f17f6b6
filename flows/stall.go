package flows

// Stalls and resets: when a direction's data waited for an acknowledgement
// that did not come, and what was outstanding when a reset cut the
// connection. They feed tcp-stall and tcp-reset-midstream (docs/rules.md).

// stallDir is the stall bookkeeping of one direction's data.
type stallDir struct {
	since     int64  // data outstanding without progress since then; 0 when none
	dataEnd   uint32 // the end of the data sent so far (not counting padding, see IsPadding)
	dataSet   bool
	zw        bool   // the receiver advertised a zero window during the current wait
	afterZW   bool   // the current wait began when the receiver's window opened again
	retx      int32  // retransmissions during the current wait
	padTo     uint32 // the end of the last padding sent beyond the data (IsPadding; 0: none)
	firstRetx int64
	lastRetx  int64
	frames    FrameRefs // the first resends of the current wait
}

// Stall is the longest time one direction's data waited for the peer's
// acknowledgement, not counting waits the peer explained with a zero
// window.
type Stall struct {
	Dir       Dir
	From, To  int64 // the wait: from the last progress to the next (or the flow's end)
	Ended     bool  // the flow ended while still waiting
	Resends   int   // retransmissions of that direction during the wait
	FirstRetx int64 // when the first and the last of them were sent
	LastRetx  int64
	Frames    FrameRefs // the first few of them
	// AfterZeroWindow: the wait began when the receiver opened its zero
	// window again (the zero window before it is not part of it).
	AfterZeroWindow bool
}

// NS is the stall's length.
func (s *Stall) NS() int64 { return s.To - s.From }

// trackStall updates the stall state after a segment's analysis (the
// path-MTU state, updated just before, holds the ACK points), and says
// whether the segment is a retransmission that sends no data sent before:
// padding's zero bytes, or new data on the sequence numbers they took.
func (t *TCPFlow) trackStall(p *Packet, dir Dir, a Analysis, acked bool, prevNext uint32) (fresh bool) {
	now := p.Timestamp
	fwd, rev := &t.x.stall[dir], &t.x.stall[1-dir]
	data := p.PayloadLen > 0 && p.Flags&FlagRST == 0 && a&(AKeepAlive|AZeroWindowProbe) == 0 && !IsPadding(p)
	// A resend sends again some of the data sent before: a segment Wireshark
	// calls a retransmission only because it reuses padding's sequence
	// numbers is the next data.
	sentBefore := data && fwd.dataSet && seqLT(p.Seq, fwd.dataEnd)
	resend := sentBefore && a&ARetransmission != 0 && a&ASpuriousRetransmission == 0
	pad := IsPadding(p)
	// (A SYN-ACK sent again is a resend, padded or not.)
	fresh = a&ARetransmission != 0 && (pad && p.Flags&FlagSYN == 0 || data && !sentBefore && fwd.padTo != 0 && seqLT(p.Seq, fwd.padTo))
	if pad && (!fwd.dataSet || !seqLT(p.Seq, fwd.dataEnd)) {
		fwd.padTo = p.Seq + uint32(p.PayloadLen)
	}
	if data || p.Flags&(FlagFIN|FlagRST) == FlagFIN {
		end := p.Seq + uint32(p.PayloadLen)
		if p.Flags&FlagFIN != 0 {
			end++
		}
		if !fwd.dataSet || seqGT(end, fwd.dataEnd) {
			fwd.dataEnd, fwd.dataSet = end, true
		}
	}
	// An ACK that moved the peer's data forward ends the peer's wait.
	if acked && rev.since != 0 {
		rev.end(&t.x.longest, 1-dir, now, false)
		if t.outstanding(1-dir) > 0 {
			rev.begin(now)
		}
	}
	// A reset from the receiver ends the wait of the data it answers, as
	// the connection's end would (gopacket cip.pcap: a client's SYN, ACK
	// and request replayed every 20 s, each reset by the server within a
	// millisecond, made one 122 s wait with 14 "resends"); data sent
	// after it waits anew.
	if p.Flags&FlagRST != 0 && rev.since != 0 {
		rev.end(&t.x.longest, 1-dir, now, true)
	}
	if p.Flags&(FlagSYN|FlagRST) == 0 && rev.since != 0 {
		if p.Window == 0 {
			rev.zw = true // the peer's data waits because this side stopped reading
		} else if rev.zw {
			// The window opened again: the zero window explains the wait
			// until now, not what follows (206_example_b.pcap: a zero window
			// of 20 ms, then 80 s of resends nobody acknowledged).
			rev.begin(now)
			rev.afterZW = true
		}
	}
	// A wait begins with data sent while nothing was outstanding, and
	// ends (or begins again) only when an ACK moves: outstanding data can
	// drop to none no other way.
	if data {
		if fwd.since == 0 && t.outstanding(dir) > 0 {
			fwd.begin(now)
		}
		if resend {
			if fwd.retx == 0 {
				fwd.firstRetx = now
			}
			fwd.retx++
			fwd.lastRetx = now
			fwd.frames.add(FrameRef{File: p.File, Frame: p.Frame})
		}
	}
	if p.Flags&FlagRST != 0 && !t.x.rstSet {
		midStream := t.SYNTime == 0 && t.SYNACKTime == 0 && t.x.pmtu[FromClient].maxSeg+t.x.pmtu[FromServer].maxSeg > 0
		t.x.rst = Reset{Dir: dir, At: now, Frame: FrameRef{File: p.File, Frame: p.Frame}, Established: t.ACKTime != 0 || midStream}
		t.x.rst.Outstanding[1-dir] = t.outstanding(1 - dir)
		// The RST's own sequence number may lie anywhere (an injected one
		// often far ahead): what its sender had outstanding is what it
		// sent before.
		if pm := &t.x.pmtu[dir]; pm.ackSet && prevNext != 0 && seqGT(prevNext, pm.ackedTo) && prevNext-pm.ackedTo < maxHole {
			t.x.rst.Outstanding[dir] = prevNext - pm.ackedTo
		}
		t.x.rstSet = true
	}
	return fresh
}

func (s *stallDir) begin(now int64) {
	s.since, s.zw, s.afterZW, s.retx, s.firstRetx, s.lastRetx = now, false, false, 0, 0, 0
	s.frames = nil // not reused: the longest wait may hold the last one's
}

// end closes the current wait, keeping it in longest (the flow's longest
// wait, either direction) if it is longer and unexplained.
func (s *stallDir) end(longest *Stall, d Dir, now int64, ended bool) {
	if !s.zw && now-s.since > longest.NS() {
		*longest = Stall{Dir: d, From: s.since, To: now, Ended: ended, Resends: int(s.retx), FirstRetx: s.firstRetx, LastRetx: s.lastRetx, Frames: s.frames, AfterZeroWindow: s.afterZW}
	}
	s.since = 0
}

// outstanding is how many bytes direction d sent that the peer has not
// acknowledged (0 when unknown). It counts to the end of the data sent, not
// to Wireshark's next sequence number, which padding counted as payload or
// a SYN-ACK with a new ISN (a second incarnation answering a retransmitted
// SYN) can move ahead of anything sent: the peer's ACKs never reach it, and
// every gap between them would look like a wait. More than maxHole is a
// sequence number gone wrong too.
func (t *TCPFlow) outstanding(d Dir) uint32 {
	if t.x == nil {
		return 0
	}
	pm, s := &t.x.pmtu[d], &t.x.stall[d]
	next := t.dirs[d].nextseq
	if s.dataSet && seqLT(s.dataEnd, next) {
		next = s.dataEnd
	}
	if !pm.ackSet || !s.dataSet || next == 0 || !seqGT(next, pm.ackedTo) || next-pm.ackedTo >= maxHole {
		return 0
	}
	return next - pm.ackedTo
}

// IsPadding reports whether a segment's payload is most likely the padding
// of a minimum-size Ethernet frame that the IP header's total length counts:
// an ACK or SYN-ACK without FIN, RST, PSH or URG whose datagram fits the 46
// bytes of such a frame, with at most 6 bytes of payload, all zero. Some
// hosts and middleboxes send every pure ACK so (nDPI's
// heuristic_tcp_ack_payload capture: 2 or 6 zero bytes on each, and on a
// SYN-ACK). The peer never acknowledges those bytes and the sender's next
// data reuses their sequence numbers. Wireshark counts them as payload (and
// that next data as retransmissions), and so does the TCP analysis; the
// stall bookkeeping and the stream reassembly leave them out: nobody waits
// for them, and they are not the stream's bytes.
func IsPadding(p *Packet) bool {
	if p.Flags&(FlagFIN|FlagRST|FlagPSH|FlagURG) != 0 || p.Flags&FlagACK == 0 ||
		p.PayloadLen == 0 || p.PayloadLen > 6 || p.IPLen > 46 || len(p.Payload) != p.PayloadLen {
		return false
	}
	for _, b := range p.Payload {
		if b != 0 {
			return false
		}
	}
	return true
}

// LongestStall returns the longest unexplained wait of either direction
// (ok false when no data ever waited), closing a wait still open at the
// flow's end (last).
func (t *TCPFlow) LongestStall(last int64) (best Stall, ok bool) {
	if t.x == nil {
		return best, false
	}
	best = t.x.longest
	for d := FromClient; d <= FromServer; d++ {
		if s := t.x.stall[d]; s.since != 0 && t.outstanding(d) > 0 {
			s.end(&best, d, last, true) // on a copy: the flow may go on
		}
	}
	return best, best.To > best.From
}

// Reset is the first RST of a connection: who sent it, when, and what each
// direction had sent that the other had not acknowledged.
type Reset struct {
	Dir         Dir
	At          int64
	Frame       FrameRef
	Established bool      // the connection had been set up (or was seen mid-stream with data)
	Outstanding [2]uint32 // by direction
}

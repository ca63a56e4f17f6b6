package flows

// This file keeps Zeek's view of a TCP connection: the endpoint state machine
// (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc) and the history
// letters, from which ConnState derives conn_state exactly as
// scripts/base/protocols/conn/main.zeek does. Zeek splits and times out
// connections by its own timers (5 s for an unanswered SYN); pcapx splits them
// the way Wireshark numbers tcp.stream instead, so a SYN retransmitted after
// 5 s stays in its flow here where Zeek would log a second S0 line.

// history "seen" bits, per direction.
const (
	histSYN  = 0x01
	histFIN  = 0x02
	histRST  = 0x04
	histFRST = 0x08
	histData = 0x10
	histACK  = 0x20
	histQ    = 0x40
)

// maxHistory bounds a flow's history. Zeek repeats S, F and R for every
// SYN, FIN or RST at a new sequence number, so a flood of resets with
// varying sequence numbers into one flow would grow it by a byte per
// packet, in every flow of the table; real connections stay far below.
const maxHistory = 64

func (t *TCPFlow) addHistory(dir Dir, c byte) {
	if dir == FromServer {
		c += 'a' - 'A'
	}
	if len(t.History) < maxHistory {
		t.History = append(t.History, c)
	}
}

// once appends a once-per-direction letter and reports whether it was new.
func (t *TCPFlow) once(dir Dir, d *tcpDir, mask uint8, c byte) bool {
	if d.histSeen&mask != 0 {
		return false
	}
	d.histSeen |= mask
	t.addHistory(dir, c)
	return true
}

// scaled appends c at the 1st, 10th, 100th ... occurrence.
func (t *TCPFlow) scaled(dir Dir, n, next *int64, c byte) {
	*n++
	if *n == *next {
		t.addHistory(dir, c)
		*next *= 10
	}
}

// zeek updates history letters and endpoint states for one packet.
func (t *TCPFlow) zeek(p *Packet, dir Dir, fwd, rev *tcpDir) {
	flags := p.Flags
	syn, fin, rst, ack := flags&FlagSYN != 0, flags&FlagFIN != 0, flags&FlagRST != 0, flags&FlagACK != 0
	length := uint32(p.PayloadLen)

	// First packet of a flow the table oriented by the port heuristic
	// (server spoke first): Zeek flips roles before processing it.
	if len(t.History) == 0 && !t.flipped && fwd.state == tcpInactive && rev.state == tcpInactive && dir == FromServer && !(syn && !ack) {
		t.History = append(t.History, '^')
		t.flipped = true
	}

	// Zeek's sequence init: last_seq starts at seq (no SYN) or seq+seglen.
	segLen := length
	if syn {
		segLen++
	}
	if fin {
		segLen++
	}
	if rst {
		segLen -= length
	}
	if !fwd.zeekInit {
		fwd.zeekInit = true
		if syn {
			fwd.zeekLast = p.Seq + segLen
		} else {
			fwd.zeekLast = p.Seq
		}
	}
	rel := p.Seq - fwd.base

	// update_history
	n := 0
	if syn {
		n++
	}
	if fin {
		n++
	}
	if rst {
		n++
	}
	switch {
	case n > 1:
		if fin && rst {
			t.once(dir, fwd, histFRST, 'I')
		} else {
			t.once(dir, fwd, histQ, 'Q')
		}
	case syn:
		c := byte('S')
		if ack {
			c = 'H'
		}
		if !t.once(dir, fwd, histSYN, c) && rel != fwd.lastSYN {
			t.addHistory(dir, c)
		}
		fwd.lastSYN = rel
	case fin:
		k := rel + length
		if !t.once(dir, fwd, histFIN, 'F') && k != fwd.lastFIN {
			t.addHistory(dir, 'F')
		}
		fwd.lastFIN = k
	case rst:
		if !t.once(dir, fwd, histRST, 'R') && rel != fwd.lastRST {
			t.addHistory(dir, 'R')
		}
		fwd.lastRST = rel
	case length > 0:
		t.once(dir, fwd, histData, 'D')
	case ack:
		t.once(dir, fwd, histACK, 'A')
	}

	// update_window: zero window (after scaling), not on RST.
	if p.Window == 0 && !rst && rev.state != tcpClosed && fwd.state != tcpReset {
		t.scaled(dir, &fwd.zwinN, &fwd.zwinNext, 'W')
	}

	// update_last_seq: payload that does not advance the highest seq is 't'.
	end := p.Seq + segLen
	delta := int32(end - fwd.zeekLast)
	switch {
	case (syn || rst) && (delta > 1<<20 || delta < -(1<<20)):
	case fwd.state == tcpReset:
	case delta > 0:
		fwd.zeekLast = end
	case length > 0:
		t.scaled(dir, &fwd.rxmitN, &fwd.rxmitNext, 'T')
	}

	// UpdateStateMachine, dispatched on the sender's state.
	orig := dir == FromClient // the table already oriented the flow (flipped or not)
	prev := fwd.state
	switch fwd.state {
	case tcpInactive:
		if syn {
			if orig {
				if ack {
					fwd.state = tcpSynAckSent
				} else {
					fwd.state = tcpSynSent
				}
			} else {
				if rev.state == tcpSynSent {
					rev.prevState, rev.state = rev.state, tcpEstablished
				}
				fwd.state = tcpEstablished
			}
		}
		if fin {
			fwd.state = tcpClosed
		}
		if rst {
			fwd.state = tcpReset
		}
		if fwd.state == tcpInactive {
			switch {
			case !orig && length == 0 && rev.state == tcpSynSent:
			case ack && rev.state == tcpEstablished:
				fwd.state = tcpEstablished
			default:
				fwd.state = tcpPartial
			}
		}
	case tcpSynSent, tcpSynAckSent:
		if fin {
			fwd.state = tcpClosed
		}
		if rst {
			fwd.state = tcpReset
		}
	case tcpEstablished, tcpPartial:
		if syn && fwd.state == tcpPartial && rev.state == tcpInactive && !ack {
			fwd.state = tcpSynSent
		}
		if fin && !rst {
			fwd.state = tcpClosed
			if rev.state == tcpReset && rev.prevState == tcpClosed {
				rev.prevState, rev.state = rev.state, tcpClosed
			}
		}
		if rst {
			fwd.state = tcpReset
		}
	case tcpClosed:
		if rst && rev.state != tcpClosed {
			fwd.state = tcpReset
		}
	}
	if fwd.state != prev {
		fwd.prevState = prev
	}
}

// ConnState is Zeek's conn_state for a TCP flow: S0, S1, SF, REJ, S2, S3,
// RSTO, RSTR, RSTOS0, RSTRH, SH, SHR or OTH.
func (t *TCPFlow) ConnState() string {
	os, rs := t.dirs[FromClient].state, t.dirs[FromServer].state
	oInactive := os == tcpInactive || os == tcpPartial
	rInactive := rs == tcpInactive || rs == tcpPartial
	switch {
	case rs == tcpReset:
		if os == tcpSynSent || os == tcpSynAckSent || (os == tcpReset && t.dirs[FromClient].zeekLast == t.dirs[FromClient].isn+1 && t.dirs[FromServer].zeekLast == t.dirs[FromServer].isn+1) {
			return "REJ"
		}
		if oInactive {
			return "RSTRH"
		}
		return "RSTR"
	case os == tcpReset:
		if rInactive {
			if rstOS0(t.History) {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == tcpClosed && os == tcpClosed:
		return "SF"
	case os == tcpClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == tcpClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == tcpSynSent && rs == tcpInactive:
		return "S0"
	case os == tcpEstablished && rs == tcpEstablished:
		return "S1"
	}
	return "OTH"
}

// rstOS0 matches history against ^\^?S[^HAFGIQ]*R.*$.
func rstOS0(h []byte) bool {
	if len(h) > 0 && h[0] == '^' {
		h = h[1:]
	}
	if len(h) == 0 || h[0] != 'S' {
		return false
	}
	for _, c := range h[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}

// UDPConnState is Zeek's conn_state for UDP: SF when both sides sent, S0
// when only the originator did, SHR when only the responder did.
func UDPConnState(f *Flow) string {
	o, r := f.Dir[FromClient].Packets > 0, f.Dir[FromServer].Packets > 0
	switch {
	case o && r:
		return "SF"
	case o:
		return "S0"
	case r:
		return "SHR"
	}
	return "OTH"
}

// UDPHistory is Zeek's history for UDP: D/d once per direction that sent.
func UDPHistory(f *Flow) string {
	h := ""
	if f.Dir[FromClient].Packets > 0 {
		h += "D"
	}
	if f.Dir[FromServer].Packets > 0 {
		h += "d"
	}
	return h
}

// ConnState returns the flow's Zeek conn_state whatever its protocol.
func (f *Flow) ConnState() string {
	switch f.Key.Proto {
	case ProtoTCP:
		return f.TCP.ConnState()
	case ProtoUDP:
		return UDPConnState(f)
	}
	return "OTH"
}

// HistoryString returns the flow's Zeek history.
func (f *Flow) HistoryString() string {
	switch f.Key.Proto {
	case ProtoTCP:
		return string(f.TCP.History)
	case ProtoUDP:
		return UDPHistory(f)
	}
	return ""
}

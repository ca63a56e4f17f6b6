package flows

// A capture can hold a segment twice: a SPAN port that copies both the
// ingress and the egress of a router (the copy one TTL lower), merged
// interfaces, a mirrored VLAN and its trunk. Wireshark calls the copy a
// retransmission (tcp.analysis.retransmission), and pcapx keeps its flag
// for agreement, but no host sent it again: the tcp-retransmissions rule
// leaves such copies out of what it counts as loss (Record.RetransmissionCopies).

// segSig is what tells a segment from its copy: the same sequence and
// acknowledgement numbers, length, flags and IP identification.
type segSig struct { // fields ordered so that it packs in 24 bytes
	seq, ack uint32
	at       int64
	n        int32
	id       uint16
	flags    uint8
	set      bool
}

// Copy windows: no TCP stack sends a segment again sooner than its minimum
// retransmission timeout (200 ms on Linux, 100 ms at the least), so a
// segment with the same IP identification within 100 ms is the same
// packet captured twice; without an identification (IPv6, or an IPv4
// stack that sends 0 with DF set) only one within a millisecond is.
const (
	copyWindowID   = 100e6
	copyWindowNoID = 1e6
)

// copySameInstant: a pure ACK without an IP identification repeats
// another's every field when the receiver sends duplicate ACKs, so only
// one at the same instant (a microsecond, the pcap resolution) is taken
// for a copy: real duplicate ACKs go one per arriving segment, and two
// from one host within a microsecond take a link far faster than those
// whose stacks send no identification.
const copySameInstant = 1e3

// segCopy says whether a segment that Wireshark calls a retransmission,
// with IP identification id, dt after the same segment (identification
// lastID), is that segment captured again.
func segCopy(id, lastID uint16, dt int64) bool {
	if id != lastID || dt < 0 {
		return false
	}
	if id != 0 {
		return dt < copyWindowID
	}
	return dt < copyWindowNoID
}

// ackCopy says whether a duplicate ACK with IP identification id, dt after
// its direction's last packet (a pure ACK with identification lastID), is
// that ACK captured again.
func ackCopy(id, lastID uint16, dt int64) bool {
	if id != lastID || dt < 0 {
		return false
	}
	if id != 0 {
		return dt < copyWindowID
	}
	return dt <= copySameInstant
}

// noteCopy counts a data segment (or a FIN) that Wireshark calls a
// retransmission and that is the last such segment of its direction
// captured again, and says whether it was. SYNs are left alone: a copy of
// one usually comes before the first data (and this state), and one that
// comes later (a capture of two interfaces merged out of order) must not
// take the last data segment's place.
func (x *transfer) noteCopy(p *Packet, dir Dir, a Analysis) bool {
	if p.PayloadLen == 0 && (p.Flags&FlagFIN == 0 || p.Flags&FlagSYN != 0) {
		return false
	}
	s := segSig{seq: p.Seq, ack: p.Ack, n: int32(p.PayloadLen), flags: p.Flags, id: p.IPID, at: p.Timestamp, set: true}
	last := &x.lastSeg[dir]
	if a&ARetransmission != 0 && last.set && last.seq == s.seq && last.ack == s.ack && last.n == s.n && last.flags == s.flags && segCopy(s.id, last.id, s.at-last.at) {
		x.copies++
		return true // a copy: the original stays the one to compare with
	}
	*last = s
	return false
}

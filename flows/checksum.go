package flows

import "encoding/binary"

// Checksum offload: a capture taken on a host whose network card computes
// the TCP checksums shows that host's segments with the checksum not yet
// filled in. A few small segments per direction are checked to tell it.

// ChecksumSamples is how many segments per direction have their TCP
// checksum checked: enough to tell checksum offload (every one of a
// host's segments wrong) from damage, at a negligible cost.
const ChecksumSamples = 2

// maxChecksummed: only small segments are checked (a request, a header,
// a transfer's tail): summing full-size ones would cost a few percent of
// a run, and offload spares no size.
const maxChecksummed = 600

// checkSum checks the TCP checksum of one of a direction's first few
// segments that the capture holds whole.
func (x *transfer) checkSum(p *Packet, dir Dir) {
	c := &x.sums[dir]
	if c.n >= ChecksumSamples || p.Segment == nil || len(p.Segment) > maxChecksummed {
		return
	}
	c.n++
	if !tcpChecksumOK(p) {
		c.bad++
	}
}

// tcpChecksumOK verifies a segment's checksum with the pseudo-header. The
// ones'-complement sum of 16-bit words is the sum of 32-bit words folded
// down, which takes half the steps.
func tcpChecksumOK(p *Packet) bool {
	var sum uint64
	if p.Src.Is4() {
		s, d := p.Src.As4(), p.Dst.As4()
		sum += uint64(binary.BigEndian.Uint32(s[:])) + uint64(binary.BigEndian.Uint32(d[:]))
	} else {
		s, d := p.Src.As16(), p.Dst.As16()
		for i := 0; i < 16; i += 4 {
			sum += uint64(binary.BigEndian.Uint32(s[i:])) + uint64(binary.BigEndian.Uint32(d[i:]))
		}
	}
	sum += uint64(ProtoTCP) + uint64(len(p.Segment))
	b := p.Segment
	for len(b) >= 4 {
		sum += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		sum += uint64(b[0])<<8 | uint64(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

// ChecksumOffload names the side whose sampled segments all carry a wrong
// TCP checksum while the other side's are right ("" when none): the capture
// was taken on that host, before its NIC filled the checksums in.
func (t *TCPFlow) ChecksumOffload() string {
	if t.x == nil {
		return ""
	}
	for d := FromClient; d <= FromServer; d++ {
		s, o := t.x.sums[d], t.x.sums[1-d]
		if s.n >= 2 && s.bad == s.n && o.bad == 0 {
			return d.Side()
		}
	}
	return ""
}

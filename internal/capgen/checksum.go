package capgen

import (
	"encoding/binary"
	"net/netip"
)

// csumAdd adds b to a running ones'-complement sum. b is taken as starting
// at an even offset of the checksummed data.
func csumAdd(sum uint64, b []byte) uint64 {
	for len(b) >= 8 {
		sum += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		sum += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint64(b[0]) << 8
	}
	return sum
}

// csumFold folds a running sum into the final 16-bit Internet checksum.
func csumFold(sum uint64) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// Checksum returns the Internet checksum (RFC 1071) of b.
func Checksum(b []byte) uint16 { return csumFold(csumAdd(0, b)) }

// pseudoSum returns the partial sum of the TCP/UDP/ICMPv6 pseudo header.
func pseudoSum(src, dst netip.Addr, proto uint8, length int) uint64 {
	var sum uint64
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum = csumAdd(sum, s[:])
		sum = csumAdd(sum, d[:])
	} else {
		s, d := src.As16(), dst.As16()
		sum = csumAdd(sum, s[:])
		sum = csumAdd(sum, d[:])
	}
	sum += uint64(proto)
	sum += uint64(length)
	return sum
}

// TransportChecksum returns the checksum of a TCP, UDP or ICMPv6 message
// (with its checksum field zeroed) over the pseudo header of src and dst.
func TransportChecksum(src, dst netip.Addr, proto uint8, msg []byte) uint16 {
	return csumFold(csumAdd(pseudoSum(src, dst, proto, len(msg)), msg))
}

package capgen

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IP protocol numbers used by the builders.
const (
	ProtoHopByHop uint8 = 0
	ProtoICMPv4   uint8 = 1
	ProtoTCP      uint8 = 6
	ProtoUDP      uint8 = 17
	ProtoIPv6     uint8 = 41
	ProtoRouting  uint8 = 43
	ProtoFragment uint8 = 44
	ProtoGRE      uint8 = 47
	ProtoICMPv6   uint8 = 58
	ProtoNoNext   uint8 = 59
	ProtoDstOpts  uint8 = 60
)

// IP describes the network-layer header of a packet. The address family is
// taken from Src (Src and Dst must be of the same family; IPv4-mapped IPv6
// addresses are treated as IPv6).
type IP struct {
	Src, Dst netip.Addr
	TTL      uint8 // TTL or hop limit; 0 means 64
	TOS      uint8 // IPv4 TOS or IPv6 traffic class

	// IPv4 only.
	ID      uint16 // identification
	DF      bool   // don't fragment
	Options []byte // IPv4 options, padded with zeros to a multiple of 4

	// IPv6 only.
	FlowLabel uint32
	Ext       []IPv6Ext // extension headers, in order, before the upper layer
}

// Is6 reports whether ip is IPv6.
func (ip *IP) Is6() bool { return !ip.Src.Is4() }

func (ip *IP) ttl() uint8 {
	if ip.TTL == 0 {
		return 64
	}
	return ip.TTL
}

// HeaderLen returns the length of the header that ip writes, extension
// headers and options included.
func (ip *IP) HeaderLen() int {
	if !ip.Is6() {
		return 20 + (len(ip.Options)+3)&^3
	}
	n := 40
	for _, e := range ip.Ext {
		n += e.len()
	}
	return n
}

// AppendHeader appends the network header for an upper-layer message of
// payloadLen bytes with protocol proto to dst. The IPv4 header checksum is
// computed; the caller appends the payload.
func (ip *IP) AppendHeader(dst []byte, proto uint8, payloadLen int) []byte {
	if !ip.Is6() {
		hl := ip.HeaderLen()
		start := len(dst)
		var flags uint16
		if ip.DF {
			flags = 0x4000
		}
		src, d := ip.Src.As4(), ip.Dst.As4()
		dst = append(dst,
			byte(0x40|hl/4), ip.TOS,
			byte((hl+payloadLen)>>8), byte(hl+payloadLen),
			byte(ip.ID>>8), byte(ip.ID),
			byte(flags>>8), byte(flags),
			ip.ttl(), proto, 0, 0)
		dst = append(dst, src[:]...)
		dst = append(dst, d[:]...)
		dst = append(dst, ip.Options...)
		for len(dst)-start < hl {
			dst = append(dst, 0)
		}
		binary.BigEndian.PutUint16(dst[start+10:], Checksum(dst[start:start+hl]))
		return dst
	}
	extLen := ip.HeaderLen() - 40
	next := proto
	if len(ip.Ext) > 0 {
		next = ip.Ext[0].Type
	}
	v := uint32(6)<<28 | uint32(ip.TOS)<<20 | ip.FlowLabel&0xfffff
	src, d := ip.Src.As16(), ip.Dst.As16()
	dst = binary.BigEndian.AppendUint32(dst, v)
	dst = binary.BigEndian.AppendUint16(dst, uint16(extLen+payloadLen))
	dst = append(dst, next, ip.ttl())
	dst = append(dst, src[:]...)
	dst = append(dst, d[:]...)
	for i, e := range ip.Ext {
		nh := proto
		if i+1 < len(ip.Ext) {
			nh = ip.Ext[i+1].Type
		}
		dst = e.append(dst, nh)
	}
	return dst
}

// Packet returns a packet carrying msg, an upper-layer message whose
// checksum (if any) is already filled in.
func (ip IP) Packet(proto uint8, msg []byte) []byte {
	b := ip.AppendHeader(make([]byte, 0, ip.HeaderLen()+len(msg)), proto, len(msg))
	return append(b, msg...)
}

// IPv6Ext is one IPv6 extension header. Data is the header's content after
// its Next Header and length octets (for a fragment header: the 6 octets
// after Next Header and Reserved); the builders pad hop-by-hop and
// destination options with PadN and other headers with zeros so the header
// is a multiple of 8 octets.
type IPv6Ext struct {
	Type uint8 // ProtoHopByHop, ProtoDstOpts, ProtoRouting, ProtoFragment, ...
	Data []byte
}

func (e IPv6Ext) len() int {
	if e.Type == ProtoFragment {
		return 8
	}
	return (2 + len(e.Data) + 7) &^ 7
}

func (e IPv6Ext) append(dst []byte, next uint8) []byte {
	if e.Type == ProtoFragment {
		dst = append(dst, next, 0)
		var d [6]byte
		copy(d[:], e.Data)
		return append(dst, d[:]...)
	}
	n := e.len()
	dst = append(dst, next, byte(n/8-1))
	dst = append(dst, e.Data...)
	pad := n - 2 - len(e.Data)
	if e.Type == ProtoHopByHop || e.Type == ProtoDstOpts {
		switch {
		case pad == 1:
			dst = append(dst, 0) // Pad1
			pad = 0
		case pad >= 2:
			dst = append(dst, 1, byte(pad-2)) // PadN
			pad -= 2
		}
	}
	for ; pad > 0; pad-- {
		dst = append(dst, 0)
	}
	return dst
}

// HopByHop returns a hop-by-hop options header holding opts (already
// encoded TLVs), padded with PadN. With no options it holds a single PadN.
func HopByHop(opts ...byte) IPv6Ext { return IPv6Ext{Type: ProtoHopByHop, Data: opts} }

// RouterAlert is the hop-by-hop Router Alert option (RFC 2711) with value v
// (0: MLD).
func RouterAlert(v uint16) []byte { return []byte{5, 2, byte(v >> 8), byte(v)} }

// DestOpts returns a destination options header holding opts.
func DestOpts(opts ...byte) IPv6Ext { return IPv6Ext{Type: ProtoDstOpts, Data: opts} }

// Routing returns a routing header of the given routing type listing addrs,
// with segmentsLeft segments left. The pseudo header used for upper-layer
// checksums always uses IP.Dst, so keep segmentsLeft at 0 (the header has
// been fully processed) unless checksums do not matter.
func Routing(routingType, segmentsLeft uint8, addrs ...netip.Addr) IPv6Ext {
	d := []byte{routingType, segmentsLeft, 0, 0, 0, 0}
	for _, a := range addrs {
		b := a.As16()
		d = append(d, b[:]...)
	}
	return IPv6Ext{Type: ProtoRouting, Data: d}
}

// FragmentHeader returns an IPv6 fragment header for the fragment at byte
// offset off (a multiple of 8) of datagram id.
func FragmentHeader(id uint32, off int, more bool) IPv6Ext {
	fo := uint16(off/8) << 3
	if more {
		fo |= 1
	}
	return IPv6Ext{Type: ProtoFragment, Data: []byte{byte(fo >> 8), byte(fo), byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}}
}

// FragmentIPv4 splits the IPv4 packet pkt into n fragments of (nearly) equal
// size, each fragment's payload a multiple of 8 bytes except the last. The
// header (options included) is copied into every fragment; the DF bit is
// cleared. It panics if pkt is not IPv4 or cannot be split into n fragments.
func FragmentIPv4(pkt []byte, n int) [][]byte {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		panic("capgen: FragmentIPv4 needs an IPv4 packet")
	}
	hl := int(pkt[0]&0xf) * 4
	payload := pkt[hl:]
	sizes := fragSizes(len(payload), n)
	frags := make([][]byte, 0, n)
	off := 0
	for i, sz := range sizes {
		f := make([]byte, hl+sz)
		copy(f, pkt[:hl])
		copy(f[hl:], payload[off:off+sz])
		binary.BigEndian.PutUint16(f[2:], uint16(hl+sz))
		fo := uint16(off / 8)
		if i < n-1 {
			fo |= 0x2000
		}
		binary.BigEndian.PutUint16(f[6:], fo)
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:], Checksum(f[:hl]))
		frags = append(frags, f)
		off += sz
	}
	return frags
}

// fragSizes splits total bytes into n parts that are multiples of 8, the
// last taking the rest.
func fragSizes(total, n int) []int {
	if n < 1 {
		panic("capgen: fragment count must be at least 1")
	}
	per := (total / n) &^ 7
	if n > 1 && per == 0 {
		panic(fmt.Sprintf("capgen: cannot split %d bytes into %d fragments", total, n))
	}
	sizes := make([]int, n)
	for i := range n - 1 {
		sizes[i] = per
	}
	sizes[n-1] = total - per*(n-1)
	return sizes
}

// FragmentIPv6 splits the IPv6 packet pkt into n fragments with a fragment
// header carrying id. The unfragmentable part (the IPv6 header plus any
// hop-by-hop and routing headers, and destination options that precede a
// routing header) is repeated in every fragment. It panics if pkt is not
// IPv6.
func FragmentIPv6(pkt []byte, n int, id uint32) [][]byte {
	if len(pkt) < 40 || pkt[0]>>4 != 6 {
		panic("capgen: FragmentIPv6 needs an IPv6 packet")
	}
	// Find the end of the unfragmentable part and the Next Header octet
	// that points past it.
	nhOff := 6 // offset of the Next Header field that names the first fragmentable header
	off := 40
	nh := pkt[6]
	unfragEnd := 40
	for {
		if nh != ProtoHopByHop && nh != ProtoRouting && nh != ProtoDstOpts {
			break
		}
		l := (int(pkt[off+1]) + 1) * 8
		if nh == ProtoDstOpts {
			// Destination options belong to the unfragmentable part only
			// when a routing header follows.
			if pkt[off] != ProtoRouting {
				break
			}
		}
		nhOff = off
		nh = pkt[off]
		off += l
		unfragEnd = off
	}
	frag := pkt[unfragEnd:]
	sizes := fragSizes(len(frag), n)
	out := make([][]byte, 0, n)
	fo := 0
	for i, sz := range sizes {
		f := make([]byte, 0, unfragEnd+8+sz)
		f = append(f, pkt[:unfragEnd]...)
		f[nhOff] = ProtoFragment
		f = FragmentHeader(id, fo, i < n-1).append(f, nh)
		f = append(f, frag[fo:fo+sz]...)
		binary.BigEndian.PutUint16(f[4:], uint16(len(f)-40))
		out = append(out, f)
		fo += sz
	}
	return out
}

// Quote returns at most max bytes of the packet pkt, as an ICMP error quotes
// the datagram that caused it (RFC 792 asks for the IP header plus 8 bytes,
// RFC 1812 and Linux quote up to 576 bytes in all; ICMPv6 up to 1280).
func Quote(pkt []byte, max int) []byte {
	if len(pkt) > max {
		pkt = pkt[:max]
	}
	return append([]byte(nil), pkt...)
}

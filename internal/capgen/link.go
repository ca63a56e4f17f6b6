package capgen

import (
	"encoding/binary"
	"net/netip"
)

// LinkType is a pcap/pcapng link type (LINKTYPE_* from tcpdump.org).
type LinkType uint16

// Link types written by the builders.
const (
	LinkTypeNull      LinkType = 0   // BSD loopback, AF in host byte order
	LinkTypeEthernet  LinkType = 1   // Ethernet II
	LinkTypeRaw       LinkType = 101 // raw IPv4 or IPv6
	LinkTypeLoop      LinkType = 108 // OpenBSD loopback, AF in network byte order
	LinkTypeLinuxSLL  LinkType = 113 // Linux cooked capture v1
	LinkTypeIPv4      LinkType = 228 // raw IPv4
	LinkTypeIPv6      LinkType = 229 // raw IPv6
	LinkTypeLinuxSLL2 LinkType = 276 // Linux cooked capture v2 (tcpdump -i any)
)

// EtherTypes used by the builders.
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeIPv6 uint16 = 0x86dd
	EtherTypeVLAN uint16 = 0x8100 // 802.1Q C-tag
	EtherTypeQinQ uint16 = 0x88a8 // 802.1ad S-tag
	EtherTypeTEB  uint16 = 0x6558 // transparent Ethernet bridging (GRE)
)

// etherTypeOf returns the EtherType of a network packet from its version
// nibble.
func etherTypeOf(pkt []byte) uint16 {
	if len(pkt) > 0 && pkt[0]>>4 == 6 {
		return EtherTypeIPv6
	}
	return EtherTypeIPv4
}

// Link puts link-layer framing in front of a network-layer packet.
type Link interface {
	// LinkType is the link type to declare in the capture file.
	LinkType() LinkType
	// AppendFrame appends the frame carrying the IPv4 or IPv6 packet pkt
	// (the family is read from its version nibble) to dst.
	AppendFrame(dst, pkt []byte) []byte
	// Reverse returns the framing for packets going the other way
	// (addresses swapped, Linux packet types flipped between "outgoing"
	// and "to us").
	Reverse() Link
}

// MAC is an Ethernet address.
type MAC [6]byte

// Default addresses used when a caller does not choose any: locally
// administered unicast MACs.
var (
	ClientMAC = MAC{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01}
	ServerMAC = MAC{0x02, 0x00, 0x5e, 0x00, 0x00, 0x02}
)

// VLAN is one 802.1Q / 802.1ad tag.
type VLAN struct {
	ID       uint16 // 12-bit VLAN identifier
	Priority uint8  // PCP, 0..7
	DEI      bool
	// TPID is the tag protocol identifier. Zero means 0x8100 for the
	// innermost tag and 0x88a8 for the outer tags of a stack (QinQ).
	TPID uint16
}

// Ethernet is Ethernet II framing with optional VLAN tags, outermost first.
type Ethernet struct {
	Src, Dst MAC
	VLANs    []VLAN
	// EtherType overrides the EtherType taken from the packet's version
	// nibble (for non-IP payloads).
	EtherType uint16
	// Pad pads frames shorter than 60 bytes with zeros, as a NIC does on
	// the wire: the IP total length, not the frame, then tells where the
	// packet ends.
	Pad bool
}

// DefaultEthernet is the client-to-server framing used when none is given.
var DefaultEthernet = Ethernet{Src: ClientMAC, Dst: ServerMAC}

func (e Ethernet) LinkType() LinkType { return LinkTypeEthernet }

func (e Ethernet) Reverse() Link {
	e.Src, e.Dst = e.Dst, e.Src
	return e
}

func (e Ethernet) AppendFrame(dst, pkt []byte) []byte {
	start := len(dst)
	dst = append(dst, e.Dst[:]...)
	dst = append(dst, e.Src[:]...)
	for i, v := range e.VLANs {
		tpid := v.TPID
		if tpid == 0 {
			tpid = EtherTypeVLAN
			if i < len(e.VLANs)-1 {
				tpid = EtherTypeQinQ
			}
		}
		tci := uint16(v.Priority&7)<<13 | v.ID&0xfff
		if v.DEI {
			tci |= 1 << 12
		}
		dst = binary.BigEndian.AppendUint16(dst, tpid)
		dst = binary.BigEndian.AppendUint16(dst, tci)
	}
	et := e.EtherType
	if et == 0 {
		et = etherTypeOf(pkt)
	}
	dst = binary.BigEndian.AppendUint16(dst, et)
	dst = append(dst, pkt...)
	if e.Pad {
		for len(dst)-start < 60 {
			dst = append(dst, 0)
		}
	}
	return dst
}

// Linux packet types of the cooked capture headers.
const (
	PacketHost      uint16 = 0 // to us
	PacketBroadcast uint16 = 1
	PacketMulticast uint16 = 2
	PacketOtherHost uint16 = 3
	PacketOutgoing  uint16 = 4 // sent by us
)

// ARPHRD_ETHER, the hardware type of the cooked headers.
const arphrdEther = 1

func flipPacketType(t uint16) uint16 {
	switch t {
	case PacketHost:
		return PacketOutgoing
	case PacketOutgoing:
		return PacketHost
	}
	return t
}

// SLL is Linux cooked capture v1 framing (LINKTYPE_LINUX_SLL, 16 bytes).
// The header records the sender's link-layer address.
type SLL struct {
	PacketType uint16 // PacketOutgoing (sent by the capturing host) or PacketHost
	Src, Dst   MAC    // Dst is only used by Reverse
}

func (s SLL) LinkType() LinkType { return LinkTypeLinuxSLL }

func (s SLL) Reverse() Link {
	s.Src, s.Dst = s.Dst, s.Src
	s.PacketType = flipPacketType(s.PacketType)
	return s
}

func (s SLL) AppendFrame(dst, pkt []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, s.PacketType)
	dst = binary.BigEndian.AppendUint16(dst, arphrdEther)
	dst = binary.BigEndian.AppendUint16(dst, 6)
	dst = append(dst, s.Src[:]...)
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, etherTypeOf(pkt))
	return append(dst, pkt...)
}

// SLL2 is Linux cooked capture v2 framing (LINKTYPE_LINUX_SLL2, 20 bytes),
// what `tcpdump -i any` writes.
type SLL2 struct {
	PacketType uint8 // see PacketOutgoing, PacketHost
	IfIndex    uint32
	Src, Dst   MAC // Dst is only used by Reverse
}

func (s SLL2) LinkType() LinkType { return LinkTypeLinuxSLL2 }

func (s SLL2) Reverse() Link {
	s.Src, s.Dst = s.Dst, s.Src
	s.PacketType = uint8(flipPacketType(uint16(s.PacketType)))
	return s
}

func (s SLL2) AppendFrame(dst, pkt []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, etherTypeOf(pkt))
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint32(dst, s.IfIndex)
	dst = binary.BigEndian.AppendUint16(dst, arphrdEther)
	dst = append(dst, s.PacketType, 6)
	dst = append(dst, s.Src[:]...)
	dst = append(dst, 0, 0)
	return append(dst, pkt...)
}

// BSD address family values for IPv6 in loopback headers (they differ by
// operating system; IPv4 is 2 everywhere).
const (
	AFInet6BSD     uint32 = 24 // NetBSD, OpenBSD, BSD/OS
	AFInet6FreeBSD uint32 = 28
	AFInet6Darwin  uint32 = 30
)

// Null is BSD loopback framing: a 4-byte address family. With Loop set it is
// LINKTYPE_LOOP (the family in network byte order); otherwise LINKTYPE_NULL,
// in the capturing host's byte order (little endian unless BigEndian).
type Null struct {
	Loop      bool
	BigEndian bool
	AFInet6   uint32 // 0 means AFInet6BSD
}

func (n Null) LinkType() LinkType {
	if n.Loop {
		return LinkTypeLoop
	}
	return LinkTypeNull
}

func (n Null) Reverse() Link { return n }

func (n Null) AppendFrame(dst, pkt []byte) []byte {
	af := uint32(2)
	if etherTypeOf(pkt) == EtherTypeIPv6 {
		af = n.AFInet6
		if af == 0 {
			af = AFInet6BSD
		}
	}
	if n.Loop || n.BigEndian {
		dst = binary.BigEndian.AppendUint32(dst, af)
	} else {
		dst = binary.LittleEndian.AppendUint32(dst, af)
	}
	return append(dst, pkt...)
}

// Raw is no framing at all: the frame is the IP packet. Type is
// LinkTypeRaw (the default), LinkTypeIPv4 or LinkTypeIPv6.
type Raw struct{ Type LinkType }

func (r Raw) LinkType() LinkType {
	if r.Type == 0 {
		return LinkTypeRaw
	}
	return r.Type
}

func (r Raw) Reverse() Link                      { return r }
func (r Raw) AppendFrame(dst, pkt []byte) []byte { return append(dst, pkt...) }

// VXLAN wraps the frame built by Inner into UDP port 4789 (RFC 7348) between
// the tunnel endpoints Src and Dst, carried by Outer.
type VXLAN struct {
	Outer    Link       // framing of the outer packet (nil: DefaultEthernet)
	Src, Dst netip.Addr // tunnel endpoints (VTEPs)
	SrcPort  uint16     // outer UDP source port (0: 49152 + VNI%16384)
	DstPort  uint16     // 0: 4789
	VNI      uint32
	Inner    Ethernet
	// Checksum computes the outer UDP checksum; otherwise it is zero over
	// IPv4 (as Linux sends it). IPv6 outer packets always get a checksum.
	Checksum bool
}

func (v VXLAN) LinkType() LinkType { return outerLink(v.Outer).LinkType() }

func outerLink(l Link) Link {
	if l == nil {
		return DefaultEthernet
	}
	return l
}

func (v VXLAN) Reverse() Link {
	v.Outer = outerLink(v.Outer).Reverse()
	v.Src, v.Dst = v.Dst, v.Src
	v.Inner = v.Inner.Reverse().(Ethernet)
	return v
}

func (v VXLAN) AppendFrame(dst, pkt []byte) []byte {
	inner := make([]byte, 0, 8+14+len(pkt))
	inner = append(inner, 0x08, 0, 0, 0, byte(v.VNI>>16), byte(v.VNI>>8), byte(v.VNI), 0)
	inner = v.Inner.AppendFrame(inner, pkt)
	sp, dp := v.SrcPort, v.DstPort
	if sp == 0 {
		sp = uint16(49152 + v.VNI%16384)
	}
	if dp == 0 {
		dp = 4789
	}
	ip := IP{Src: v.Src, Dst: v.Dst, DF: true}
	outer := ip.AppendHeader(make([]byte, 0, 48+8+len(inner)), ProtoUDP, 8+len(inner))
	outer = appendUDP(outer, &ip, sp, dp, inner, v.Checksum || ip.Is6())
	return outerLink(v.Outer).AppendFrame(dst, outer)
}

// GRE wraps packets into GRE (RFC 2784/2890) between Src and Dst, carried by
// Outer. With Inner set the payload is a whole Ethernet frame (protocol
// 0x6558, transparent Ethernet bridging); otherwise it is the bare IP
// packet (protocol 0x0800 or 0x86dd).
type GRE struct {
	Outer    Link
	Src, Dst netip.Addr
	Inner    *Ethernet
	Key      uint32
	HasKey   bool
}

func (g GRE) LinkType() LinkType { return outerLink(g.Outer).LinkType() }

func (g GRE) Reverse() Link {
	g.Outer = outerLink(g.Outer).Reverse()
	g.Src, g.Dst = g.Dst, g.Src
	if g.Inner != nil {
		in := g.Inner.Reverse().(Ethernet)
		g.Inner = &in
	}
	return g
}

func (g GRE) AppendFrame(dst, pkt []byte) []byte {
	payload := make([]byte, 0, 8+14+len(pkt))
	var flags uint16
	if g.HasKey {
		flags |= 0x2000
	}
	proto := etherTypeOf(pkt)
	if g.Inner != nil {
		proto = EtherTypeTEB
	}
	payload = binary.BigEndian.AppendUint16(payload, flags)
	payload = binary.BigEndian.AppendUint16(payload, proto)
	if g.HasKey {
		payload = binary.BigEndian.AppendUint32(payload, g.Key)
	}
	if g.Inner != nil {
		payload = g.Inner.AppendFrame(payload, pkt)
	} else {
		payload = append(payload, pkt...)
	}
	ip := IP{Src: g.Src, Dst: g.Dst, DF: true}
	outer := ip.AppendHeader(make([]byte, 0, 48+len(payload)), ProtoGRE, len(payload))
	outer = append(outer, payload...)
	return outerLink(g.Outer).AppendFrame(dst, outer)
}

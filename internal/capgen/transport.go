package capgen

import (
	"encoding/binary"
	"strings"
)

// TCPFlags are the TCP header flags.
type TCPFlags uint16

// TCP flag bits.
const (
	FIN TCPFlags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
	NS
)

func (f TCPFlags) String() string {
	names := []string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR", "NS"}
	var parts []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// TCPOption is one TCP option. Kinds 0 (EOL) and 1 (NOP) are a single byte
// and have no Data.
type TCPOption struct {
	Kind uint8
	Data []byte
}

// TCP option constructors.
func OptNOP() TCPOption               { return TCPOption{Kind: 1} }
func OptMSS(mss uint16) TCPOption     { return TCPOption{Kind: 2, Data: []byte{byte(mss >> 8), byte(mss)}} }
func OptWScale(shift uint8) TCPOption { return TCPOption{Kind: 3, Data: []byte{shift}} }
func OptSACKPermitted() TCPOption     { return TCPOption{Kind: 4} }

// OptSACK returns a SACK option with the given [left, right) edges.
func OptSACK(blocks ...[2]uint32) TCPOption {
	d := make([]byte, 0, 8*len(blocks))
	for _, b := range blocks {
		d = binary.BigEndian.AppendUint32(d, b[0])
		d = binary.BigEndian.AppendUint32(d, b[1])
	}
	return TCPOption{Kind: 5, Data: d}
}

// OptTimestamps returns a timestamps option (RFC 7323).
func OptTimestamps(val, ecr uint32) TCPOption {
	d := binary.BigEndian.AppendUint32(nil, val)
	return TCPOption{Kind: 8, Data: binary.BigEndian.AppendUint32(d, ecr)}
}

// EncodeTCPOptions encodes opts and pads them with EOL to a multiple of 4.
func EncodeTCPOptions(opts []TCPOption) []byte {
	var b []byte
	for _, o := range opts {
		if o.Kind <= 1 {
			b = append(b, o.Kind)
			continue
		}
		b = append(b, o.Kind, byte(2+len(o.Data)))
		b = append(b, o.Data...)
	}
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// TCP is a TCP header. The data offset and checksum are computed.
type TCP struct {
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            TCPFlags
	Window           uint16 // the raw header field (unscaled)
	Urgent           uint16
	Options          []TCPOption
}

// appendTCPSegment appends a TCP header with pre-encoded options (a
// multiple of 4 bytes) and the payload, and fills in the checksum for the
// given network header.
func appendTCPSegment(dst []byte, ip *IP, t *TCP, opts, payload []byte) []byte {
	start := len(dst)
	hl := 20 + len(opts)
	dst = binary.BigEndian.AppendUint16(dst, t.SrcPort)
	dst = binary.BigEndian.AppendUint16(dst, t.DstPort)
	dst = binary.BigEndian.AppendUint32(dst, t.Seq)
	dst = binary.BigEndian.AppendUint32(dst, t.Ack)
	dst = append(dst, byte(hl/4)<<4|byte(t.Flags>>8&1), byte(t.Flags))
	dst = binary.BigEndian.AppendUint16(dst, t.Window)
	dst = append(dst, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, t.Urgent)
	dst = append(dst, opts...)
	dst = append(dst, payload...)
	binary.BigEndian.PutUint16(dst[start+16:], TransportChecksum(ip.Src, ip.Dst, ProtoTCP, dst[start:]))
	return dst
}

// AppendTCP appends a complete packet (network header, TCP header, payload)
// to dst.
func (ip IP) AppendTCP(dst []byte, t TCP, payload []byte) []byte {
	opts := EncodeTCPOptions(t.Options)
	dst = ip.AppendHeader(dst, ProtoTCP, 20+len(opts)+len(payload))
	return appendTCPSegment(dst, &ip, &t, opts, payload)
}

// TCP returns a packet carrying the TCP segment t with payload.
func (ip IP) TCP(t TCP, payload []byte) []byte { return ip.AppendTCP(nil, t, payload) }

// AppendUDP appends a complete UDP packet to dst. The checksum is computed
// for both families.
func (ip IP) AppendUDP(dst []byte, srcPort, dstPort uint16, payload []byte) []byte {
	dst = ip.AppendHeader(dst, ProtoUDP, 8+len(payload))
	return appendUDP(dst, &ip, srcPort, dstPort, payload, true)
}

func appendUDP(dst []byte, ip *IP, srcPort, dstPort uint16, payload []byte, csum bool) []byte {
	start := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, srcPort)
	dst = binary.BigEndian.AppendUint16(dst, dstPort)
	dst = binary.BigEndian.AppendUint16(dst, uint16(8+len(payload)))
	dst = append(dst, 0, 0)
	dst = append(dst, payload...)
	if csum {
		c := TransportChecksum(ip.Src, ip.Dst, ProtoUDP, dst[start:])
		if c == 0 {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(dst[start+6:], c)
	}
	return dst
}

// UDP returns a packet carrying a UDP datagram.
func (ip IP) UDP(srcPort, dstPort uint16, payload []byte) []byte {
	return ip.AppendUDP(nil, srcPort, dstPort, payload)
}

// ICMP is an ICMPv4 or ICMPv6 message: type, code, the four bytes after the
// checksum (identifier and sequence, next-hop MTU, ...) and the body.
type ICMP struct {
	Type, Code uint8
	Rest       [4]byte
	Body       []byte
}

// ICMPv4 types and codes used by the constructors.
const (
	ICMPv4TypeEchoReply       = 0
	ICMPv4TypeDestUnreachable = 3
	ICMPv4TypeEchoRequest     = 8
	ICMPv4TypeTimeExceeded    = 11
	ICMPv4CodeFragNeeded      = 4
	ICMPv4CodePortUnreachable = 3
	ICMPv6TypeDestUnreachable = 1
	ICMPv6TypePacketTooBig    = 2
	ICMPv6TypeTimeExceeded    = 3
	ICMPv6TypeEchoRequest     = 128
	ICMPv6TypeEchoReply       = 129
)

func echo(typ uint8, id, seq uint16, data []byte) ICMP {
	return ICMP{Type: typ, Rest: [4]byte{byte(id >> 8), byte(id), byte(seq >> 8), byte(seq)}, Body: data}
}

// ICMPv4Echo returns an ICMPv4 echo request (or reply).
func ICMPv4Echo(reply bool, id, seq uint16, data []byte) ICMP {
	if reply {
		return echo(ICMPv4TypeEchoReply, id, seq, data)
	}
	return echo(ICMPv4TypeEchoRequest, id, seq, data)
}

// ICMPv6Echo returns an ICMPv6 echo request (or reply).
func ICMPv6Echo(reply bool, id, seq uint16, data []byte) ICMP {
	if reply {
		return echo(ICMPv6TypeEchoReply, id, seq, data)
	}
	return echo(ICMPv6TypeEchoRequest, id, seq, data)
}

// ICMPv4FragNeeded returns "destination unreachable, fragmentation needed
// and DF set" (type 3 code 4, RFC 1191) with the next-hop MTU, quoting the
// offending datagram (see [Quote]).
func ICMPv4FragNeeded(mtu uint16, quoted []byte) ICMP {
	return ICMP{Type: ICMPv4TypeDestUnreachable, Code: ICMPv4CodeFragNeeded, Rest: [4]byte{0, 0, byte(mtu >> 8), byte(mtu)}, Body: quoted}
}

// ICMPv4Unreachable returns a destination unreachable message with the
// given code quoting the offending datagram.
func ICMPv4Unreachable(code uint8, quoted []byte) ICMP {
	return ICMP{Type: ICMPv4TypeDestUnreachable, Code: code, Body: quoted}
}

// ICMPv4TimeExceeded returns "time to live exceeded in transit".
func ICMPv4TimeExceeded(quoted []byte) ICMP {
	return ICMP{Type: ICMPv4TypeTimeExceeded, Body: quoted}
}

// ICMPv6PacketTooBig returns an ICMPv6 packet too big message (RFC 4443)
// with the MTU, quoting the offending packet.
func ICMPv6PacketTooBig(mtu uint32, quoted []byte) ICMP {
	return ICMP{Type: ICMPv6TypePacketTooBig, Rest: [4]byte{byte(mtu >> 24), byte(mtu >> 16), byte(mtu >> 8), byte(mtu)}, Body: quoted}
}

// ICMPv6Unreachable returns an ICMPv6 destination unreachable message with
// the given code (4: port unreachable).
func ICMPv6Unreachable(code uint8, quoted []byte) ICMP {
	return ICMP{Type: ICMPv6TypeDestUnreachable, Code: code, Body: quoted}
}

// AppendICMP appends a complete ICMP packet to dst: ICMPv4 for an IPv4
// header, ICMPv6 (with the pseudo-header checksum) for IPv6.
func (ip IP) AppendICMP(dst []byte, m ICMP) []byte {
	proto := ProtoICMPv4
	if ip.Is6() {
		proto = ProtoICMPv6
	}
	dst = ip.AppendHeader(dst, proto, 8+len(m.Body))
	start := len(dst)
	dst = append(dst, m.Type, m.Code, 0, 0)
	dst = append(dst, m.Rest[:]...)
	dst = append(dst, m.Body...)
	var c uint16
	if proto == ProtoICMPv4 {
		c = Checksum(dst[start:])
	} else {
		c = TransportChecksum(ip.Src, ip.Dst, ProtoICMPv6, dst[start:])
	}
	binary.BigEndian.PutUint16(dst[start+2:], c)
	return dst
}

// ICMP returns a packet carrying the ICMP message m.
func (ip IP) ICMP(m ICMP) []byte { return ip.AppendICMP(nil, m) }

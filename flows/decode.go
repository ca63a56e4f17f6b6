package flows

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP flag bits as they sit in the header's flags byte.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
	FlagURG = 0x20
	FlagECE = 0x40
	FlagCWR = 0x80
)

// IP protocol numbers pcapx cares about.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// Kind says what Decode made of a frame.
type Kind uint8

const (
	KindOther     Kind = iota // not IP (ARP, LLDP, STP...) or an unsupported link type
	KindIP                    // IP with a transport pcapx does not track by ports (flow keyed by proto only)
	KindTCP                   // TCP segment
	KindUDP                   // UDP datagram
	KindICMP                  // ICMPv4 or ICMPv6
	KindFragment              // an IP fragment held for reassembly; the datagram comes with its last fragment
	KindMalformed             // a header that does not parse (truncated, bad lengths)
)

// Packet is the decoded view of one frame: what flow tracking and TCP analysis
// need, nothing more. Decoder.Decode fills it in place and the slices alias the
// frame data (or the defragmenter's buffer), so a Packet is valid only until the
// next Decode: copy what you keep.
type Packet struct {
	Index     int64 // the packet's place in the run (1, 2, ...), set by the caller
	Timestamp int64 // ns since the Unix epoch, UTC
	File      int   // index of the capture file
	Frame     int64 // frame number within the file, as Wireshark numbers it
	WireLen   int   // frame length on the wire

	Kind   Kind
	Src    netip.Addr
	Dst    netip.Addr
	Proto  uint8
	IPLen  int    // IP datagram length from the header (total length / payload length + 40)
	IPID   uint16 // IPv4 identification (0 for IPv6, which has none outside fragments)
	VLAN   uint16 // innermost 802.1Q VLAN id, 0 if untagged
	Tunnel uint32 // VXLAN VNI + 1<<24, or GRE key + 2<<24 for decapsulated traffic; 0 if none

	SrcPort, DstPort uint16

	// TCP header fields.
	Seq, Ack uint32
	Flags    uint8
	Window   uint16
	MSS      uint16 // MSS option, 0 if absent
	WScale   int8   // window scale option, -1 if absent
	SACKPerm bool   // SACK-permitted option present
	SACK     bool   // SACK blocks present

	// PayloadLen is the transport payload length according to the IP header,
	// which is what the segment carried on the wire even when the capture's
	// snapshot length cut it short. Payload is the captured part of it.
	PayloadLen int
	Payload    []byte
	// Segment is the TCP segment as captured, header included, when the
	// capture holds all of it (nil otherwise): the TCP analysis checks
	// the checksum of a few per flow, to tell checksum offload.
	Segment []byte

	// ICMP fields.
	ICMPType, ICMPCode uint8
	NextHopMTU         uint16 // ICMPv4 frag-needed next-hop MTU / ICMPv6 packet-too-big MTU
	// Quoted is the header an ICMP error quotes: the packet it complains about.
	Quoted struct {
		Valid            bool
		Src, Dst         netip.Addr
		Proto            uint8
		SrcPort, DstPort uint16
		Seq              uint32
		Len              uint16 // the quoted packet's IP length (header + payload) as it was sent
	}
}

// IsICMPError says whether an ICMP message quotes an offending packet.
func (p *Packet) IsICMPError() bool {
	return p.Kind == KindICMP && icmpError(p.Proto, p.ICMPType)
}

func icmpError(proto, typ uint8) bool {
	if proto == ProtoICMP {
		switch typ {
		case 3, 4, 5, 11, 12:
			return true
		}
		return false
	}
	return typ < 128
}

// Decoder turns raw frames into Packets. It drives gopacket's DecodingLayer
// values (reused between frames, so decoding allocates nothing) through its own
// loop instead of a DecodingLayerParser: the loop needs a hook after each layer
// (VLAN ids, tunnel ids, fragments, which of several IP headers is the inner
// one) and a switch is cheaper than the parser's layer-type lookup. A Decoder is
// not safe for concurrent use; make one per goroutine.
type Decoder struct {
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	ip6    layers.IPv6
	ip6ext layers.IPv6ExtensionSkipper
	ip6fr  layers.IPv6Fragment
	udp    layers.UDP
	gre    layers.GRE
	vxlan  layers.VXLAN
	erspan layers.ERSPANII

	defrag *defragmenter
	df     feedback
	cut    int // bytes of the frame the snapshot length cut off (wire length - captured length)

	// Stats counts what the decoder could not use, for the capture summary.
	Stats DecodeStats
}

// DecodeStats counts frames by what the decoder made of them.
type DecodeStats struct {
	NotIP       int64 // frames with no IP layer (ARP, STP, ...)
	Malformed   int64 // frames whose headers did not parse
	Fragments   int64 // IP fragments seen
	Reassembled int64 // datagrams rebuilt from fragments
	// FragDropped counts the fragments that were not reassembled: the sum
	// of the five reasons below.
	FragDropped int64
	// FragOverlap: in a datagram discarded because a fragment overlapped
	// another (RFC 5722; Linux does the same for IPv4), or a copy of data
	// already held (dropped alone).
	FragOverlap int64
	// FragOverLimit: given up for a bound of the reassembly — pieces of one
	// datagram, datagrams or bytes waiting at once — oldest first.
	FragOverLimit  int64
	FragTimedOut   int64 // in a datagram still incomplete 30 s (capture time) after its first fragment
	FragInvalid    int64 // empty, past the 64 KiB IP limit, or disagreeing on the datagram's length
	FragUnfinished int64 // in a datagram still incomplete when the capture ended (see Flush)
	Tunneled       int64 // frames decapsulated from VXLAN or GRE
	Truncated      int64 // frames cut short by the snapshot length
}

// Add adds o's counts to s.
func (s *DecodeStats) Add(o *DecodeStats) { s.add(o, 1) }

// Sub subtracts o's counts from s (what a decoder counted since o was
// copied from it).
func (s *DecodeStats) Sub(o *DecodeStats) { s.add(o, -1) }

func (s *DecodeStats) add(o *DecodeStats, k int64) {
	s.NotIP += k * o.NotIP
	s.Malformed += k * o.Malformed
	s.Fragments += k * o.Fragments
	s.Reassembled += k * o.Reassembled
	s.FragDropped += k * o.FragDropped
	s.FragOverlap += k * o.FragOverlap
	s.FragOverLimit += k * o.FragOverLimit
	s.FragTimedOut += k * o.FragTimedOut
	s.FragInvalid += k * o.FragInvalid
	s.FragUnfinished += k * o.FragUnfinished
	s.Tunneled += k * o.Tunneled
	s.Truncated += k * o.Truncated
}

type feedback struct{ truncated bool }

func (f *feedback) SetTruncated() { f.truncated = true }

// NewDecoder returns a Decoder with its own IP defragmenter.
func NewDecoder() *Decoder {
	return &Decoder{defrag: newDefragmenter()}
}

// Flush ends the input: the datagrams still waiting for fragments are given
// up and counted (Stats.FragUnfinished), and their memory released.
func (d *Decoder) Flush() {
	d.defrag.flush(&d.Stats)
}

// Link types (LINKTYPE_* values) the decoder understands.
const (
	LinkNull     = 0
	LinkEthernet = 1
	LinkRaw      = 101
	LinkRawAlt1  = 12 // DLT_RAW on some BSDs
	LinkRawAlt2  = 14
	LinkLoop     = 108
	LinkSLL      = 113
	LinkIPv4     = 228
	LinkIPv6     = 229
	LinkSLL2     = 276
)

// LinkTypeName names a link type the way tshark's encapsulation column does.
func LinkTypeName(lt uint16) string {
	switch lt {
	case LinkNull:
		return "null"
	case LinkEthernet:
		return "ether"
	case LinkRaw, LinkRawAlt1, LinkRawAlt2:
		return "rawip"
	case LinkLoop:
		return "loop"
	case LinkSLL:
		return "linux-sll"
	case LinkIPv4:
		return "rawip4"
	case LinkIPv6:
		return "rawip6"
	case LinkSLL2:
		return "linux-sll2"
	}
	return "linktype-" + strconv.Itoa(int(lt))
}

// maxEncap bounds how many headers one frame may stack (QinQinQ, tunnels in
// tunnels): a crafted frame must not loop the decoder.
const maxEncap = 24

// reset clears what Decode fills, keeping the frame's Timestamp, File,
// Frame and WireLen (set by the caller). It is written field by field,
// not as *p = Packet{...}: assigning a whole struct that holds pointers
// costs a bulk write barrier on every frame while the garbage collector is
// marking. TestPacketReset checks that every field is cleared.
func (p *Packet) reset() {
	p.Kind, p.Proto, p.IPLen, p.IPID, p.VLAN, p.Tunnel = 0, 0, 0, 0, 0, 0
	p.Src, p.Dst = netip.Addr{}, netip.Addr{}
	p.SrcPort, p.DstPort = 0, 0
	p.Seq, p.Ack, p.Flags, p.Window = 0, 0, 0, 0
	p.MSS, p.WScale, p.SACKPerm, p.SACK = 0, -1, false, false
	p.PayloadLen, p.Payload, p.Segment = 0, nil, nil
	p.ICMPType, p.ICMPCode, p.NextHopMTU = 0, 0, 0
	if p.Quoted.Valid || p.Quoted.Src.IsValid() || p.Quoted.Dst.IsValid() {
		p.Quoted.Valid, p.Quoted.Src, p.Quoted.Dst = false, netip.Addr{}, netip.Addr{}
	}
	p.Quoted.Proto, p.Quoted.SrcPort, p.Quoted.DstPort, p.Quoted.Seq, p.Quoted.Len = 0, 0, 0, 0, 0
}

// Decode decodes one frame of the given link type into p. It never panics on
// hostile input; what it cannot parse is reported as KindMalformed or KindOther.
func (d *Decoder) Decode(linkType uint16, data []byte, p *Packet) Kind {
	p.reset()
	d.df.truncated = false
	d.cut = max(p.WireLen-len(data), 0)
	var typ gopacket.LayerType
	switch linkType {
	case LinkEthernet:
		typ = layers.LayerTypeEthernet
	case LinkNull, LinkLoop:
		typ = layers.LayerTypeLoopback
	case LinkRaw, LinkRawAlt1, LinkRawAlt2:
		typ = rawIPType(data)
	case LinkIPv4:
		typ = layers.LayerTypeIPv4
	case LinkIPv6:
		typ = layers.LayerTypeIPv6
	case LinkSLL:
		typ = layers.LayerTypeLinuxSLL
	case LinkSLL2:
		typ = layers.LayerTypeLinuxSLL2
	default:
		d.Stats.NotIP++
		p.Kind = KindOther
		return p.Kind
	}
	p.Kind = d.decodeFrom(typ, data, p, 0)
	if d.df.truncated {
		d.Stats.Truncated++
	}
	switch p.Kind {
	case KindOther:
		d.Stats.NotIP++
	case KindMalformed:
		d.Stats.Malformed++
	}
	return p.Kind
}

func rawIPType(data []byte) gopacket.LayerType {
	if len(data) > 0 && data[0]>>4 == 6 {
		return layers.LayerTypeIPv6
	}
	return layers.LayerTypeIPv4
}

// decodeFrom walks the layers starting at typ. depth counts stacked headers.
func (d *Decoder) decodeFrom(typ gopacket.LayerType, data []byte, p *Packet, depth int) Kind {
	sawIP := false
	for ; depth < maxEncap; depth++ {
		switch typ {
		case layers.LayerTypeEthernet:
			// Read by hand, as layers.Ethernet.DecodeFromBytes does but
			// without filling its MAC and layer slices (write barriers on
			// every frame, for fields pcapx never reads).
			if len(data) < 14 {
				return KindMalformed
			}
			et := layers.EthernetType(binary.BigEndian.Uint16(data[12:14]))
			data = data[14:]
			if et < 0x0600 {
				// An 802.3 length field, with LLC after it: the payload
				// is that long (the rest is padding).
				n := int(et)
				et = layers.EthernetTypeLLC
				if len(data) < n {
					d.df.truncated = true
				} else {
					data = data[:n]
				}
			}
			typ = et.LayerType()
			if et == layers.EthernetTypeQinQ {
				typ = layers.LayerTypeDot1Q
			}
		case layers.LayerTypeDot1Q:
			if d.dot1q.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			p.VLAN = d.dot1q.VLANIdentifier
			typ, data = d.dot1q.NextLayerType(), d.dot1q.Payload
			if d.dot1q.Type == layers.EthernetTypeQinQ {
				typ = layers.LayerTypeDot1Q
			}
		case layers.LayerTypeLinuxSLL:
			if d.sll.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			typ, data = d.sll.NextLayerType(), d.sll.Payload
		case layers.LayerTypeLinuxSLL2:
			if d.sll2.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			typ, data = d.sll2.NextLayerType(), d.sll2.Payload
		case layers.LayerTypeLoopback:
			// BSD loopback: a 4-byte address family in the writer's byte
			// order (LINKTYPE_LOOP: always big-endian). Read it either way
			// round, as tshark does; an unknown family falls back to the
			// IP version nibble.
			if len(data) < 4 {
				return KindMalformed
			}
			fam := binary.LittleEndian.Uint32(data)
			if fam > 0xffff {
				fam = binary.BigEndian.Uint32(data)
			}
			data = data[4:]
			switch fam {
			case 2:
				typ = layers.LayerTypeIPv4
			case 10, 23, 24, 26, 28, 30:
				typ = layers.LayerTypeIPv6
			default:
				typ = rawIPType(data)
			}
		case layers.LayerTypePPPoE:
			// PPPoE session header (6 bytes) then the PPP protocol field.
			if len(data) < 8 {
				return KindMalformed
			}
			// The session header's length bounds the payload (it counts the
			// PPP protocol field); bytes beyond it are padding.
			if plen := int(binary.BigEndian.Uint16(data[4:6])) + 6; plen >= 8 && plen < len(data) {
				data = data[:plen]
			}
			switch binary.BigEndian.Uint16(data[6:8]) {
			case 0x0021:
				typ = layers.LayerTypeIPv4
			case 0x0057:
				typ = layers.LayerTypeIPv6
			default:
				return KindOther
			}
			data = data[8:]
		case layers.LayerTypeMPLS:
			// Label stack entries of 4 bytes until the bottom-of-stack bit;
			// the payload's IP version nibble says what follows.
			for {
				if len(data) < 4 {
					return KindMalformed
				}
				bottom := data[2]&1 != 0
				data = data[4:]
				if bottom {
					break
				}
			}
			typ = rawIPType(data)
		case layers.LayerTypeERSPANII:
			if d.erspan.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			typ, data = layers.LayerTypeEthernet, d.erspan.Payload
		case layers.LayerTypeGRE:
			if d.gre.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			d.Stats.Tunneled++
			p.Tunnel = 2<<24 | d.gre.Key&0xffffff
			p.VLAN = 0
			sawIP = false
			typ, data = d.gre.NextLayerType(), d.gre.Payload
			if pr := uint16(d.gre.Protocol); pr == greArubaWLAN || pr == greArubaWLAN2 {
				var ok bool
				if typ, data, ok = wlanData(data); !ok {
					return KindOther
				}
			}
		case layers.LayerTypeVXLAN:
			if d.vxlan.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			d.Stats.Tunneled++
			p.Tunnel = 1<<24 | d.vxlan.VNI
			p.VLAN = 0
			sawIP = false
			typ, data = layers.LayerTypeEthernet, d.vxlan.Payload
		case layers.LayerTypeIPv4:
			ip, ok := d.decodeIPv4(data)
			if !ok {
				return KindMalformed
			}
			p.Src = netip.AddrFrom4(ip.src)
			p.Dst = netip.AddrFrom4(ip.dst)
			p.Proto = ip.proto
			p.IPLen, p.IPID = ip.length, ip.id
			sawIP = true
			if ip.moreFrags || ip.fragOffset != 0 {
				d.Stats.Fragments++
				hdr := ip.ihl * 4
				if ip.fragOffset == 0 && len(ip.payload) < ip.length-hdr {
					// A first fragment cut short by the capture can never
					// be reassembled: read its transport header on its own
					// rather than hold it forever (tshark does the same).
					return d.decodeTransport(p.Proto, ip.payload, p, depth+1, ip.length-hdr)
				}
				whole, ok := d.defrag.add(p, fragKeyOf(p, uint32(ip.id)), int(ip.fragOffset)*8, ip.moreFrags, ip.payload, &d.Stats)
				if !ok {
					return KindFragment
				}
				d.Stats.Reassembled++
				p.IPLen = hdr + len(whole)
				if !carriesPorts(p.Proto) {
					// A tunnel (GRE, IP-in-IP) inside the fragments:
					// unwrap it like an unfragmented packet.
					typ, data = layers.IPProtocol(p.Proto).LayerType(), whole
					continue
				}
				return d.decodeTransport(p.Proto, whole, p, depth+1, len(whole))
			}
			if p.Proto == ProtoUDP || p.Proto == ProtoTCP || p.Proto == ProtoICMP || p.Proto == ProtoSCTP {
				return d.decodeTransport(p.Proto, ip.payload, p, depth+1, ip.length-ip.ihl*4)
			}
			typ, data = layers.IPProtocol(ip.proto).LayerType(), ip.payload
			if layers.LayerClassIPv6Extension.Contains(typ) {
				typ = gopacket.LayerTypeZero // no extension headers in IPv4: hosts drop these
			}
		case layers.LayerTypeIPv6:
			if d.ip6.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			ip := &d.ip6
			p.Src = netip.AddrFrom16([16]byte(ip.SrcIP))
			p.Dst = netip.AddrFrom16([16]byte(ip.DstIP))
			p.IPLen = int(ip.Length) + 40
			sawIP = true
			typ, data = ip.NextLayerType(), ip.Payload
			if next := ipProtoOf(typ); next != 0 {
				return d.decodeTransport(next, data, p, depth+1, p.IPLen-40-(len(ip.Payload)-len(data)))
			}
			p.Proto = uint8(ip.NextHeader)
			if ip.HopByHop != nil {
				p.Proto = uint8(ip.HopByHop.NextHeader)
			}
		case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Destination:
			if d.ip6ext.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			typ, data = d.ip6ext.NextLayerType(), d.ip6ext.Payload
			p.Proto = uint8(d.ip6ext.NextHeader)
			if next := ipProtoOf(typ); next != 0 {
				return d.decodeTransport(next, data, p, depth+1, p.IPLen-40-(len(d.ip6.Payload)-len(data)))
			}
		case layers.LayerTypeIPv6Fragment:
			if d.ip6fr.DecodeFromBytes(data, &d.df) != nil {
				return KindMalformed
			}
			fr := &d.ip6fr
			p.Proto = uint8(fr.NextHeader)
			if fr.FragmentOffset == 0 && !fr.MoreFragments {
				typ, data = fr.NextLayerType(), fr.Payload
				if next := ipProtoOf(typ); next != 0 {
					return d.decodeTransport(next, data, p, depth+1, len(data))
				}
				continue
			}
			d.Stats.Fragments++
			whole, ok := d.defrag.add(p, fragKeyOf(p, fr.Identification), int(fr.FragmentOffset)*8, fr.MoreFragments, fr.Payload, &d.Stats)
			if !ok {
				return KindFragment
			}
			d.Stats.Reassembled++
			if !carriesPorts(p.Proto) {
				typ, data = layers.IPProtocol(p.Proto).LayerType(), whole
				continue
			}
			return d.decodeTransport(p.Proto, whole, p, depth+1, len(whole))
		default:
			if sawIP {
				return KindIP
			}
			return KindOther
		}
	}
	return KindMalformed
}

// carriesPorts says whether decodeTransport handles the protocol itself.
func carriesPorts(proto uint8) bool {
	switch proto {
	case ProtoTCP, ProtoUDP, ProtoICMP, ProtoICMPv6, ProtoSCTP:
		return true
	}
	return false
}

// ipProtoOf maps the layer types that carry ports or ICMP back to their IP
// protocol number; 0 for anything else.
func ipProtoOf(t gopacket.LayerType) uint8 {
	switch t {
	case layers.LayerTypeTCP:
		return ProtoTCP
	case layers.LayerTypeUDP:
		return ProtoUDP
	case layers.LayerTypeICMPv4:
		return ProtoICMP
	case layers.LayerTypeICMPv6:
		return ProtoICMPv6
	case layers.LayerTypeSCTP:
		return ProtoSCTP
	}
	return 0
}

// VXLAN UDP ports: the IANA port and the Linux kernel's historical default.
const (
	portVXLAN      = 4789
	portVXLANLinux = 8472
)

// decodeTransport decodes the TCP/UDP/ICMP header in data. ipPayloadLen is the
// transport length according to the IP header (it may exceed len(data) when
// the snapshot length cut the frame).
func (d *Decoder) decodeTransport(proto uint8, data []byte, p *Packet, depth int, ipPayloadLen int) Kind {
	p.Proto = proto
	// An IP length that claims more than the frame carried on the wire is a
	// lie (or a broken encapsulation); what was sent is what the frame held,
	// plus what the snapshot length cut off. tshark bounds it the same way.
	ipPayloadLen = min(ipPayloadLen, len(data)+d.cut)
	switch proto {
	case ProtoTCP:
		payload, ok := d.decodeTCP(data, p)
		if !ok {
			return KindMalformed
		}
		p.PayloadLen = max(ipPayloadLen-(len(data)-len(payload)), 0)
		p.Payload = payload
		if len(p.Payload) > p.PayloadLen {
			p.Payload = p.Payload[:p.PayloadLen] // Ethernet padding
		}
		if ipPayloadLen > 0 && len(data) >= ipPayloadLen {
			p.Segment = data[:ipPayloadLen]
		}
		return KindTCP
	case ProtoUDP:
		if d.udp.DecodeFromBytes(data, &d.df) != nil {
			return KindMalformed
		}
		u := &d.udp
		p.SrcPort, p.DstPort = uint16(u.SrcPort), uint16(u.DstPort)
		p.PayloadLen = max(int(u.Length)-8, 0)
		p.Payload = u.Payload
		if (p.DstPort == portVXLAN || p.DstPort == portVXLANLinux) && len(u.Payload) >= 8 && u.Payload[0]&0x08 != 0 {
			inner := *p
			if k := d.decodeFrom(layers.LayerTypeVXLAN, u.Payload, p, depth+1); k == KindTCP || k == KindUDP || k == KindICMP || k == KindIP {
				return k
			}
			*p = inner // not a VXLAN frame after all: keep the outer UDP view
		}
		return KindUDP
	case ProtoSCTP:
		if len(data) < 12 {
			return KindMalformed
		}
		p.SrcPort = binary.BigEndian.Uint16(data[0:2])
		p.DstPort = binary.BigEndian.Uint16(data[2:4])
		p.PayloadLen = max(ipPayloadLen-12, 0)
		p.Payload = data[12:]
		return KindIP
	case ProtoICMP, ProtoICMPv6:
		if len(data) < 4 {
			return KindMalformed
		}
		p.ICMPType, p.ICMPCode = data[0], data[1]
		p.PayloadLen = max(ipPayloadLen-8, 0)
		if len(data) >= 8 {
			p.Payload = data[8:]
			if proto == ProtoICMP && p.ICMPType == 3 && p.ICMPCode == 4 {
				p.NextHopMTU = binary.BigEndian.Uint16(data[6:8])
			}
			if proto == ProtoICMPv6 && p.ICMPType == 2 {
				p.NextHopMTU = uint16(min(binary.BigEndian.Uint32(data[4:8]), 65535))
			}
		}
		if icmpError(proto, p.ICMPType) && len(data) >= 8 {
			parseQuoted(data[8:], p)
		}
		return KindICMP
	}
	return KindIP
}

// ipv4 is what pcapx reads of an IPv4 header.
type ipv4 struct {
	ihl, length int // header length in 32-bit words; total length
	id          uint16
	moreFrags   bool
	fragOffset  uint16 // in 8-byte units
	proto       uint8
	src, dst    [4]byte
	payload     []byte
}

// decodeIPv4 reads an IPv4 header by hand, accepting and refusing exactly
// what gopacket's layers.IPv4.DecodeFromBytes (v1.7.7) does — a total
// length of 0 (TSO) means the frame's length; the payload is cut to the
// total length; options must be well formed — without filling its
// slices of options and addresses, which cost write barriers on every
// frame for fields pcapx never reads.
func (d *Decoder) decodeIPv4(data []byte) (ip ipv4, ok bool) {
	if len(data) < 20 {
		d.df.truncated = true
		return ip, false
	}
	be := binary.BigEndian
	ip.ihl = int(data[0] & 0x0F)
	ip.length = int(be.Uint16(data[2:4]))
	if ip.length == 0 {
		ip.length = min(len(data), 0xFFFF)
	}
	hdr := ip.ihl * 4
	if ip.length < 20 || ip.ihl < 5 || hdr > ip.length {
		return ip, false
	}
	if len(data) > ip.length {
		data = data[:ip.length]
	} else if len(data) < ip.length {
		d.df.truncated = true
		if hdr > len(data) {
			return ip, false
		}
	}
	for opts := data[20:hdr]; len(opts) > 0; {
		switch opts[0] {
		case 0: // end of the option list
			opts = nil
		case 1: // no-operation
			opts = opts[1:]
		default:
			if len(opts) < 2 || len(opts) < int(opts[1]) {
				d.df.truncated = true
				return ip, false
			}
			if opts[1] < 2 {
				return ip, false
			}
			opts = opts[opts[1]:]
		}
	}
	ff := be.Uint16(data[6:8])
	ip.id = be.Uint16(data[4:6])
	ip.moreFrags = ff&0x2000 != 0
	ip.fragOffset = ff & 0x1FFF
	ip.proto = data[9]
	ip.src, ip.dst = [4]byte(data[12:16]), [4]byte(data[16:20])
	ip.payload = data[hdr:]
	return ip, true
}

// decodeTCP reads a TCP header into p and returns the segment's payload;
// ok is false for a header that is cut short or whose data offset is
// impossible (a truncated frame is counted as such).
//
// It is done by hand rather than with gopacket's layers.TCP, which builds
// a slice of every option (with MPTCP sub-structures) for each segment
// when pcapx needs four option values: on the mixed benchmark capture
// that decoding was the largest single cost of the decoder. It follows
// layers.TCP (gopacket v1.7.7) in what it accepts: an option whose length
// is impossible ends the option list without failing the segment. One
// difference: MPTCP options are only checked for a sane length, not per
// subtype (pcapx reads none of them), so an option after a malformed MPTCP
// option is still read.
func (d *Decoder) decodeTCP(data []byte, p *Packet) (payload []byte, ok bool) {
	if len(data) < 20 {
		d.df.truncated = true
		return nil, false
	}
	off := int(data[12]>>4) * 4
	if off < 20 {
		return nil, false
	}
	if off > len(data) {
		d.df.truncated = true
		return nil, false
	}
	be := binary.BigEndian
	p.SrcPort, p.DstPort = be.Uint16(data[0:2]), be.Uint16(data[2:4])
	p.Seq, p.Ack = be.Uint32(data[4:8]), be.Uint32(data[8:12])
	p.Flags = data[13] // the Flag constants are the header's bits
	p.Window = be.Uint16(data[14:16])
	opts := data[20:off]
	for len(opts) > 0 {
		kind := opts[0]
		if kind == 0 { // end of the option list
			break
		}
		if kind == 1 { // no-operation (padding)
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) || (kind == 30 && opts[1] < 3) {
			break
		}
		val := opts[2:opts[1]]
		switch layers.TCPOptionKind(kind) {
		case layers.TCPOptionKindMSS:
			if len(val) == 2 {
				p.MSS = be.Uint16(val)
			}
		case layers.TCPOptionKindWindowScale:
			if len(val) == 1 {
				p.WScale = int8(min(val[0], 14))
			}
		case layers.TCPOptionKindSACKPermitted:
			p.SACKPerm = true
		case layers.TCPOptionKindSACK:
			p.SACK = true
		}
		opts = opts[opts[1]:]
	}
	return data[off:], true
}

// parseQuoted reads the IP header and the first transport bytes an ICMP error
// quotes. It is done by hand because the quote is usually cut short (8 bytes
// of transport header), which the layer decoders would reject.
func parseQuoted(b []byte, p *Packet) {
	q := &p.Quoted
	if len(b) < 1 {
		return
	}
	var rest []byte
	switch b[0] >> 4 {
	case 4:
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || len(b) < ihl {
			return
		}
		q.Src = netip.AddrFrom4([4]byte(b[12:16]))
		q.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		q.Proto = b[9]
		q.Len = binary.BigEndian.Uint16(b[2:4])
		rest = b[ihl:]
	case 6:
		if len(b) < 40 {
			return
		}
		q.Src = netip.AddrFrom16([16]byte(b[8:24]))
		q.Dst = netip.AddrFrom16([16]byte(b[24:40]))
		q.Proto = b[6]
		q.Len = uint16(min(40+int(binary.BigEndian.Uint16(b[4:6])), 65535))
		rest = b[40:]
	default:
		return
	}
	q.Valid = true
	if (q.Proto == ProtoICMP || q.Proto == ProtoICMPv6) && len(rest) >= 2 {
		// A quoted ICMP message (an unreachable about a ping): its type
		// and code stand for ports, as in its Community ID.
		q.SrcPort, q.DstPort = uint16(rest[0]), uint16(rest[1])
	}
	if (q.Proto == ProtoTCP || q.Proto == ProtoUDP || q.Proto == ProtoSCTP) && len(rest) >= 4 {
		q.SrcPort = binary.BigEndian.Uint16(rest[0:2])
		q.DstPort = binary.BigEndian.Uint16(rest[2:4])
		if q.Proto == ProtoTCP && len(rest) >= 8 {
			q.Seq = binary.BigEndian.Uint32(rest[4:8])
		}
	}
}

// GRE protocol types Aruba controllers use to tunnel 802.11 frames from their
// access points.
const (
	greArubaWLAN  = 0x8200
	greArubaWLAN2 = 0x8210
)

// wlanData unwraps an 802.11 data frame carrying LLC/SNAP, returning the
// layer type of its payload. Only data frames are of interest: management
// and control frames carry no IP.
func wlanData(b []byte) (gopacket.LayerType, []byte, bool) {
	if len(b) < 24 {
		return 0, nil, false
	}
	fc0, fc1 := b[0], b[1]
	if (fc0>>2)&3 != 2 { // type: data
		return 0, nil, false
	}
	hdr := 24
	if fc1&3 == 3 { // ToDS and FromDS: a fourth address
		hdr += 6
	}
	if fc0&0x80 != 0 { // QoS data subtype
		hdr += 2
		if fc1&0x80 != 0 { // +HTC
			hdr += 4
		}
	}
	if fc1&0x40 != 0 { // protected: encrypted payload
		return 0, nil, false
	}
	if len(b) < hdr+8 || b[hdr] != 0xaa || b[hdr+1] != 0xaa || b[hdr+2] != 0x03 {
		return 0, nil, false
	}
	et := layers.EthernetType(binary.BigEndian.Uint16(b[hdr+6 : hdr+8]))
	return et.LayerType(), b[hdr+8:], true
}

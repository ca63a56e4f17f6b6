package capgen_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/ip6defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/pcapx/pcapx/internal/capgen"
)

var (
	v4a = netip.MustParseAddr("192.0.2.1")
	v4b = netip.MustParseAddr("198.51.100.2")
	v6a = netip.MustParseAddr("2001:db8::1")
	v6b = netip.MustParseAddr("2001:db8:1::2")
)

// refChecksum is an independent, naive RFC 1071 checksum.
func refChecksum(parts ...[]byte) uint16 {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	if len(b)%2 == 1 {
		b = append(b, 0)
	}
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

func TestChecksum(t *testing.T) {
	// RFC 1071 section 3 example: the sum of these words is ddf2, so the
	// checksum is its complement.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := capgen.Checksum(b); got != ^uint16(0xddf2) {
		t.Fatalf("Checksum = %04x, want %04x", got, ^uint16(0xddf2))
	}
	for n := range 100 {
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(i*7 + n)
		}
		if got, want := capgen.Checksum(d), refChecksum(d); got != want {
			t.Fatalf("len %d: Checksum = %04x, want %04x", n, got, want)
		}
	}
}

// pseudo returns an IPv4 or IPv6 pseudo header.
func pseudo(src, dst netip.Addr, proto uint8, n int) []byte {
	var b []byte
	b = append(b, src.AsSlice()...)
	b = append(b, dst.AsSlice()...)
	if src.Is4() {
		b = append(b, 0, proto)
		return binary.BigEndian.AppendUint16(b, uint16(n))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, 0, 0, 0, proto)
}

func TestIPv4TCPChecksums(t *testing.T) {
	ip := capgen.IP{Src: v4a, Dst: v4b, ID: 42, DF: true, Options: []byte{1, 1, 1}}
	payload := []byte("hello, odd length")
	pkt := ip.TCP(capgen.TCP{SrcPort: 1234, DstPort: 80, Seq: 1, Ack: 2, Flags: capgen.PSH | capgen.ACK, Window: 100,
		Options: []capgen.TCPOption{capgen.OptTimestamps(1, 2)}}, payload)
	hl := int(pkt[0]&0xf) * 4
	if hl != 24 {
		t.Fatalf("IHL %d, want 24 (options padded)", hl)
	}
	if refChecksum(pkt[:hl]) != 0 {
		t.Errorf("IPv4 header checksum does not verify")
	}
	if refChecksum(pseudo(v4a, v4b, 6, len(pkt)-hl), pkt[hl:]) != 0 {
		t.Errorf("TCP checksum does not verify")
	}
	if !bytes.HasSuffix(pkt, payload) {
		t.Errorf("payload not at the end")
	}
}

func TestUDPAndICMPv6Checksums(t *testing.T) {
	ip := capgen.IP{Src: v6a, Dst: v6b}
	pkt := ip.UDP(5000, 53, []byte{1, 2, 3})
	if refChecksum(pseudo(v6a, v6b, 17, len(pkt)-40), pkt[40:]) != 0 {
		t.Errorf("UDP/IPv6 checksum does not verify")
	}
	pkt = ip.ICMP(capgen.ICMPv6Echo(false, 1, 2, []byte("ping")))
	if refChecksum(pseudo(v6a, v6b, 58, len(pkt)-40), pkt[40:]) != 0 {
		t.Errorf("ICMPv6 checksum does not verify")
	}
	ip4 := capgen.IP{Src: v4a, Dst: v4b}
	pkt = ip4.ICMP(capgen.ICMPv4Echo(true, 1, 2, []byte("pong!")))
	if refChecksum(pkt[20:]) != 0 {
		t.Errorf("ICMPv4 checksum does not verify")
	}
}

// decode decodes a frame with gopacket and fails on decoding errors or
// checksum mismatches.
func decode(t *testing.T, lt capgen.LinkType, frame []byte) gopacket.Packet {
	t.Helper()
	var first gopacket.Decoder = layers.LinkType(lt)
	switch lt {
	case capgen.LinkTypeIPv4:
		first = layers.LayerTypeIPv4
	case capgen.LinkTypeIPv6:
		first = layers.LayerTypeIPv6
	}
	p := gopacket.NewPacket(frame, first, gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decode error: %v\n%s", el.Error(), p.Dump())
	}
	verifyChecksums(t, p)
	return p
}

// verifyChecksums checks every IPv4 header and TCP, UDP and ICMP checksum
// of a decoded packet with refChecksum, using the closest enclosing IP
// header for the pseudo header.
func verifyChecksums(t *testing.T, p gopacket.Packet) {
	t.Helper()
	var src, dst netip.Addr
	whole := func(l gopacket.Layer) []byte {
		return append(append([]byte(nil), l.LayerContents()...), l.LayerPayload()...)
	}
	for _, l := range p.Layers() {
		switch v := l.(type) {
		case *layers.IPv4:
			src, dst = netip.AddrFrom4([4]byte(v.SrcIP.To4())), netip.AddrFrom4([4]byte(v.DstIP.To4()))
			if refChecksum(v.Contents) != 0 {
				t.Errorf("IPv4 header checksum wrong\n%s", p.Dump())
			}
		case *layers.IPv6:
			src, dst = netip.AddrFrom16([16]byte(v.SrcIP)), netip.AddrFrom16([16]byte(v.DstIP))
		case *layers.TCP:
			b := whole(v)
			if refChecksum(pseudo(src, dst, 6, len(b)), b) != 0 {
				t.Errorf("TCP checksum wrong\n%s", p.Dump())
			}
		case *layers.UDP:
			if v.Checksum == 0 && src.Is4() {
				continue
			}
			b := whole(v)
			if refChecksum(pseudo(src, dst, 17, len(b)), b) != 0 {
				t.Errorf("UDP checksum wrong\n%s", p.Dump())
			}
		case *layers.ICMPv4:
			if refChecksum(whole(v)) != 0 {
				t.Errorf("ICMPv4 checksum wrong\n%s", p.Dump())
			}
		case *layers.ICMPv6:
			b := whole(v)
			if refChecksum(pseudo(src, dst, 58, len(b)), b) != 0 {
				t.Errorf("ICMPv6 checksum wrong\n%s", p.Dump())
			}
		}
	}
}

func TestLinksRoundTrip(t *testing.T) {
	inner := capgen.Ethernet{Src: capgen.MAC{2, 0, 0, 0, 0, 0xa}, Dst: capgen.MAC{2, 0, 0, 0, 0, 0xb}}
	vtepA, vtepB := netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("203.0.113.2")
	links := []struct {
		name string
		link capgen.Link
		want []gopacket.LayerType // layers expected before the inner IP
	}{
		{"ethernet", capgen.DefaultEthernet, []gopacket.LayerType{layers.LayerTypeEthernet}},
		{"802.1Q", capgen.Ethernet{VLANs: []capgen.VLAN{{ID: 100, Priority: 5}}}, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeDot1Q}},
		{"QinQ", capgen.Ethernet{VLANs: []capgen.VLAN{{ID: 200}, {ID: 100}}}, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeDot1Q}},
		{"ethernet-padded", capgen.Ethernet{Pad: true}, []gopacket.LayerType{layers.LayerTypeEthernet}},
		{"SLL", capgen.SLL{PacketType: capgen.PacketOutgoing, Src: capgen.ClientMAC}, []gopacket.LayerType{layers.LayerTypeLinuxSLL}},
		{"SLL2", capgen.SLL2{PacketType: 4, IfIndex: 7, Src: capgen.ClientMAC}, []gopacket.LayerType{layers.LayerTypeLinuxSLL2}},
		{"NULL", capgen.Null{}, []gopacket.LayerType{layers.LayerTypeLoopback}},
		{"NULL-BE-darwin", capgen.Null{BigEndian: true, AFInet6: capgen.AFInet6Darwin}, []gopacket.LayerType{layers.LayerTypeLoopback}},
		{"LOOP", capgen.Null{Loop: true}, []gopacket.LayerType{layers.LayerTypeLoopback}},
		{"raw", capgen.Raw{}, nil},
		{"raw-ipv4", capgen.Raw{Type: capgen.LinkTypeIPv4}, nil},
		{"raw-ipv6", capgen.Raw{Type: capgen.LinkTypeIPv6}, nil},
		{"VXLAN", capgen.VXLAN{Src: vtepA, Dst: vtepB, VNI: 4242, Inner: inner}, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeUDP, layers.LayerTypeVXLAN, layers.LayerTypeEthernet}},
		{"VXLAN-over-IPv6", capgen.VXLAN{Src: netip.MustParseAddr("2001:db8:ff::1"), Dst: netip.MustParseAddr("2001:db8:ff::2"), VNI: 1, Inner: inner}, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv6, layers.LayerTypeUDP, layers.LayerTypeVXLAN, layers.LayerTypeEthernet}},
		{"GRE-TEB", capgen.GRE{Src: vtepA, Dst: vtepB, Inner: &inner, Key: 7, HasKey: true}, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeGRE, layers.LayerTypeEthernet}},
		{"GRE-IP", capgen.GRE{Src: vtepA, Dst: vtepB}, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeIPv4, layers.LayerTypeGRE}},
		{"GRE-in-VLAN", capgen.GRE{Outer: capgen.Ethernet{VLANs: []capgen.VLAN{{ID: 9}}}, Src: vtepA, Dst: vtepB}, []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeIPv4, layers.LayerTypeGRE}},
	}
	for _, l := range links {
		for _, fam := range []struct {
			name     string
			src, dst netip.Addr
			ipLayer  gopacket.LayerType
		}{{"v4", v4a, v4b, layers.LayerTypeIPv4}, {"v6", v6a, v6b, layers.LayerTypeIPv6}} {
			if l.link.LinkType() == capgen.LinkTypeIPv4 && fam.name == "v6" || l.link.LinkType() == capgen.LinkTypeIPv6 && fam.name == "v4" {
				continue
			}
			t.Run(l.name+"/"+fam.name, func(t *testing.T) {
				ip := capgen.IP{Src: fam.src, Dst: fam.dst, ID: 9}
				payload := []byte("payload bytes")
				pkt := ip.TCP(capgen.TCP{SrcPort: 40000, DstPort: 443, Seq: 1000, Ack: 2000, Flags: capgen.PSH | capgen.ACK, Window: 500}, payload)
				for _, lk := range []capgen.Link{l.link, l.link.Reverse()} {
					frame := lk.AppendFrame([]byte("prefix"), pkt)[len("prefix"):]
					p := decode(t, lk.LinkType(), frame)
					ls := p.Layers()
					for i, w := range l.want {
						if i >= len(ls) || ls[i].LayerType() != w {
							t.Fatalf("layer %d: want %v\n%s", i, w, p.Dump())
						}
					}
					if ls[len(l.want)].LayerType() != fam.ipLayer {
						t.Fatalf("layer %d is %v, want %v", len(l.want), ls[len(l.want)].LayerType(), fam.ipLayer)
					}
					tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
					if !ok {
						t.Fatalf("no TCP layer\n%s", p.Dump())
					}
					if tcp.Seq != 1000 || tcp.Ack != 2000 || !tcp.PSH || !tcp.ACK || tcp.Window != 500 {
						t.Errorf("TCP header mismatch: %+v", tcp)
					}
					if !bytes.Equal(tcp.Payload, payload) {
						t.Errorf("payload %q, want %q", tcp.Payload, payload)
					}
				}
			})
		}
	}
}

func TestEthernetDetails(t *testing.T) {
	e := capgen.Ethernet{Src: capgen.ClientMAC, Dst: capgen.ServerMAC, VLANs: []capgen.VLAN{{ID: 200}, {ID: 100, Priority: 3, DEI: true}}, Pad: true}
	ip := capgen.IP{Src: v4a, Dst: v4b}
	pkt := ip.TCP(capgen.TCP{SrcPort: 1, DstPort: 2, Flags: capgen.ACK}, nil)
	f := e.AppendFrame(nil, pkt)
	if len(f) != 14+8+40 {
		t.Fatalf("frame length %d (a 62-byte QinQ frame needs no padding)", len(f))
	}
	if binary.BigEndian.Uint16(f[12:]) != 0x88a8 || binary.BigEndian.Uint16(f[16:]) != 0x8100 {
		t.Errorf("TPIDs %x %x, want 88a8 8100", f[12:14], f[16:18])
	}
	if tci := binary.BigEndian.Uint16(f[18:]); tci != 3<<13|1<<12|100 {
		t.Errorf("inner TCI %04x", tci)
	}
	f = capgen.Ethernet{Pad: true}.AppendFrame(nil, pkt)
	if len(f) != 60 || !bytes.Equal(f[54:], make([]byte, 6)) {
		t.Errorf("padded frame: %d bytes", len(f))
	}
	p := decode(t, capgen.LinkTypeEthernet, f)
	if tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP); len(tcp.Payload) != 0 {
		t.Errorf("padding taken as payload: %d bytes", len(tcp.Payload))
	}
	r := e.Reverse().(capgen.Ethernet)
	if r.Src != capgen.ServerMAC || r.Dst != capgen.ClientMAC {
		t.Errorf("Reverse did not swap MACs")
	}
	sll := capgen.SLL{PacketType: capgen.PacketOutgoing, Src: capgen.ClientMAC, Dst: capgen.ServerMAC}.Reverse().(capgen.SLL)
	if sll.PacketType != capgen.PacketHost || sll.Src != capgen.ServerMAC {
		t.Errorf("SLL Reverse: %+v", sll)
	}
}

func TestIPv6ExtensionHeaders(t *testing.T) {
	ip := capgen.IP{Src: v6a, Dst: v6b, FlowLabel: 0x12345, TOS: 0x28,
		Ext: []capgen.IPv6Ext{capgen.HopByHop(capgen.RouterAlert(0)...), capgen.DestOpts(), capgen.Routing(0, 0, v6b)}}
	pkt := ip.TCP(capgen.TCP{SrcPort: 1, DstPort: 2, Flags: capgen.SYN, Options: []capgen.TCPOption{capgen.OptMSS(1440)}}, nil)
	if len(pkt) != ip.HeaderLen()+24 {
		t.Fatalf("length %d, header %d", len(pkt), ip.HeaderLen())
	}
	p := decode(t, capgen.LinkTypeRaw, pkt)
	for _, lt := range []gopacket.LayerType{layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Destination, layers.LayerTypeIPv6Routing, layers.LayerTypeTCP} {
		if p.Layer(lt) == nil {
			t.Errorf("missing %v\n%s", lt, p.Dump())
		}
	}
	v6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	if v6.FlowLabel != 0x12345 || v6.TrafficClass != 0x28 {
		t.Errorf("flow label %x class %x", v6.FlowLabel, v6.TrafficClass)
	}
	hbh := p.Layer(layers.LayerTypeIPv6HopByHop).(*layers.IPv6HopByHop)
	if len(hbh.Options) == 0 || hbh.Options[0].OptionType != 5 {
		t.Errorf("router alert option missing: %+v", hbh.Options)
	}
}

func TestFragmentIPv4(t *testing.T) {
	ip := capgen.IP{Src: v4a, Dst: v4b, ID: 0x4242}
	payload := bytes.Repeat([]byte("0123456789"), 300)
	pkt := ip.UDP(53, 5353, payload)
	frags := capgen.FragmentIPv4(pkt, 3)
	if len(frags) != 3 {
		t.Fatalf("%d fragments", len(frags))
	}
	d := ip4defrag.NewIPv4Defragmenter()
	var out *layers.IPv4
	for i, f := range frags {
		if refChecksum(f[:20]) != 0 {
			t.Errorf("fragment %d: header checksum", i)
		}
		p := gopacket.NewPacket(f, layers.LayerTypeIPv4, gopacket.Default)
		v4 := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if mf := v4.Flags&layers.IPv4MoreFragments != 0; mf != (i < 2) {
			t.Errorf("fragment %d: MF=%v", i, mf)
		}
		if i < 2 && len(v4.Payload)%8 != 0 {
			t.Errorf("fragment %d: payload %d not a multiple of 8", i, len(v4.Payload))
		}
		r, err := d.DefragIPv4(v4)
		if err != nil {
			t.Fatal(err)
		}
		if r != nil {
			out = r
		}
	}
	if out == nil {
		t.Fatal("not reassembled")
	}
	p := gopacket.NewPacket(out.Payload, layers.LayerTypeUDP, gopacket.Default)
	udp := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !bytes.Equal(udp.Payload, payload) {
		t.Errorf("reassembled payload differs")
	}
	if refChecksum(pseudo(v4a, v4b, 17, len(out.Payload)), out.Payload) != 0 {
		t.Errorf("reassembled UDP checksum does not verify")
	}
}

func TestFragmentIPv6(t *testing.T) {
	ip := capgen.IP{Src: v6a, Dst: v6b, Ext: []capgen.IPv6Ext{capgen.HopByHop()}}
	payload := bytes.Repeat([]byte("abcdefghij"), 250)
	pkt := ip.UDP(53, 5353, payload)
	frags := capgen.FragmentIPv6(pkt, 3, 0xdeadbeef)
	d := ip6defrag.NewIPv6Defragmenter()
	var out *layers.IPv6
	for i, f := range frags {
		p := gopacket.NewPacket(f, layers.LayerTypeIPv6, gopacket.Default)
		if p.Layer(layers.LayerTypeIPv6HopByHop) == nil {
			t.Errorf("fragment %d lost the hop-by-hop header", i)
		}
		fh, ok := p.Layer(layers.LayerTypeIPv6Fragment).(*layers.IPv6Fragment)
		if !ok {
			t.Fatalf("fragment %d: no fragment header\n%s", i, p.Dump())
		}
		if fh.Identification != 0xdeadbeef || fh.MoreFragments != (i < 2) {
			t.Errorf("fragment %d: %+v", i, fh)
		}
		v6 := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
		if r := d.DefragIPv6(v6, fh); r != nil {
			out = r
		}
	}
	if out == nil {
		t.Fatal("not reassembled")
	}
	p := gopacket.NewPacket(out.Payload, layers.LayerTypeUDP, gopacket.Default)
	udp, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if !ok || !bytes.Equal(udp.Payload, payload) {
		t.Fatalf("reassembled payload differs")
	}
	if refChecksum(pseudo(v6a, v6b, 17, len(out.Payload)), out.Payload) != 0 {
		t.Errorf("reassembled UDP checksum does not verify")
	}
}

func TestICMPErrorsQuoteTheFlow(t *testing.T) {
	inner := capgen.IP{Src: v4b, Dst: v4a, ID: 5, DF: true}
	big := inner.TCP(capgen.TCP{SrcPort: 80, DstPort: 51000, Seq: 77, Flags: capgen.ACK}, make([]byte, 1448))
	router := capgen.IP{Src: netip.MustParseAddr("203.0.113.254"), Dst: v4b}
	p := decode(t, capgen.LinkTypeRaw, router.ICMP(capgen.ICMPv4FragNeeded(1400, capgen.Quote(big, 548))))
	ic := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if ic.TypeCode != layers.CreateICMPv4TypeCode(3, 4) || ic.Seq != 1400 {
		t.Fatalf("ICMP %v mtu %d", ic.TypeCode, ic.Seq)
	}
	q := gopacket.NewPacket(ic.Payload, layers.LayerTypeIPv4, gopacket.Lazy)
	tcp, ok := q.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok || tcp.SrcPort != 80 || tcp.DstPort != 51000 || tcp.Seq != 77 {
		t.Fatalf("quoted TCP header not found: %v", q.Dump())
	}

	inner6 := capgen.IP{Src: v6b, Dst: v6a}
	big6 := inner6.TCP(capgen.TCP{SrcPort: 443, DstPort: 50000, Seq: 9, Flags: capgen.ACK}, make([]byte, 1448))
	r6 := capgen.IP{Src: netip.MustParseAddr("2001:db8:ffff::1"), Dst: v6b}
	p = decode(t, capgen.LinkTypeRaw, r6.ICMP(capgen.ICMPv6PacketTooBig(1280, capgen.Quote(big6, 1232))))
	ic6 := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	if ic6.TypeCode.Type() != layers.ICMPv6TypePacketTooBig || binary.BigEndian.Uint32(ic6.Payload[:4]) != 1280 {
		t.Fatalf("ICMPv6 %v", ic6.TypeCode)
	}
	if len(p.Data()) > 1280 {
		t.Errorf("packet too big message is %d bytes, more than the IPv6 minimum MTU", len(p.Data()))
	}
}

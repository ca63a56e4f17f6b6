package flows

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"testing"
)

// frame builds Ethernet/IPv4/TCP (or UDP) bytes by hand, so decoder tests do
// not depend on the code under test to make their input.
func ipv4Frame(proto uint8, src, dst [4]byte, sport, dport uint16, payload []byte, tcpFlags uint8) []byte {
	var l4 []byte
	switch proto {
	case ProtoTCP:
		l4 = make([]byte, 20)
		binary.BigEndian.PutUint16(l4[0:], sport)
		binary.BigEndian.PutUint16(l4[2:], dport)
		binary.BigEndian.PutUint32(l4[4:], 1000)
		binary.BigEndian.PutUint32(l4[8:], 2000)
		l4[12] = 5 << 4
		l4[13] = tcpFlags
		binary.BigEndian.PutUint16(l4[14:], 65535)
	case ProtoUDP:
		l4 = make([]byte, 8)
		binary.BigEndian.PutUint16(l4[0:], sport)
		binary.BigEndian.PutUint16(l4[2:], dport)
		binary.BigEndian.PutUint16(l4[4:], uint16(8+len(payload)))
	}
	l4 = append(l4, payload...)
	ip := make([]byte, 20)
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	ip[8] = 64
	ip[9] = proto
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	eth := make([]byte, 14)
	copy(eth[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(eth[6:12], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(eth[12:], 0x0800)
	return append(append(eth, ip...), l4...)
}

func vlanTag(frame []byte, tpid, id uint16) []byte {
	out := append([]byte{}, frame[:12]...)
	out = binary.BigEndian.AppendUint16(out, tpid)
	out = binary.BigEndian.AppendUint16(out, id)
	return append(out, frame[12:]...)
}

func TestDecodeLinkLayers(t *testing.T) {
	src, dst := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
	tcp := ipv4Frame(ProtoTCP, src, dst, 40000, 443, []byte("hello"), FlagACK|FlagPSH)
	ip := tcp[14:]
	sll := append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00}, ip...)
	sll2 := append([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, ip...)
	null := append([]byte{2, 0, 0, 0}, ip...)
	qinq := vlanTag(vlanTag(tcp, 0x8100, 20), 0x88a8, 10)
	for _, c := range []struct {
		name string
		lt   uint16
		data []byte
		vlan uint16
	}{
		{"ethernet", LinkEthernet, tcp, 0},
		{"802.1Q", LinkEthernet, vlanTag(tcp, 0x8100, 42), 42},
		{"QinQ (inner id kept)", LinkEthernet, qinq, 20},
		{"raw", LinkRaw, ip, 0},
		{"ipv4", LinkIPv4, ip, 0},
		{"sll", LinkSLL, sll, 0},
		{"sll2", LinkSLL2, sll2, 0},
		{"null", LinkNull, null, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			p.WireLen = len(c.data)
			k := NewDecoder().Decode(c.lt, c.data, &p)
			if k != KindTCP {
				t.Fatalf("kind %d, want TCP", k)
			}
			if p.Src != netip.AddrFrom4(src) || p.Dst != netip.AddrFrom4(dst) || p.SrcPort != 40000 || p.DstPort != 443 {
				t.Errorf("tuple %v:%d > %v:%d", p.Src, p.SrcPort, p.Dst, p.DstPort)
			}
			if p.PayloadLen != 5 || string(p.Payload) != "hello" || p.VLAN != c.vlan {
				t.Errorf("payload %d %q vlan %d", p.PayloadLen, p.Payload, p.VLAN)
			}
		})
	}
}

// A snapshot length that cut the payload must not shrink the segment length
// (the analysis needs what was sent), and Ethernet padding must not grow it.
func TestDecodePayloadLength(t *testing.T) {
	f := ipv4Frame(ProtoTCP, [4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 1, 2, make([]byte, 1000), FlagACK)
	var p Packet
	p.WireLen = len(f)
	NewDecoder().Decode(LinkEthernet, f[:100], &p)
	if p.PayloadLen != 1000 || len(p.Payload) != 100-54 {
		t.Errorf("cut frame: PayloadLen %d captured %d", p.PayloadLen, len(p.Payload))
	}
	small := ipv4Frame(ProtoTCP, [4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 1, 2, nil, FlagACK)
	padded := append(small, make([]byte, 6)...) // Ethernet minimum frame padding
	p = Packet{WireLen: len(padded)}
	NewDecoder().Decode(LinkEthernet, padded, &p)
	if p.PayloadLen != 0 || len(p.Payload) != 0 {
		t.Errorf("padded frame: PayloadLen %d payload %d", p.PayloadLen, len(p.Payload))
	}
}

func TestDefragment(t *testing.T) {
	payload := make([]byte, 3000)
	for i := range payload {
		payload[i] = byte(i)
	}
	whole := ipv4Frame(ProtoUDP, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 5353, 53, payload, 0)
	l4 := whole[34:]
	// Three fragments, sent out of order.
	frags := [][2]int{{1480, 2960}, {0, 1480}, {2960, len(l4)}}
	d := NewDecoder()
	var kinds []Kind
	var p Packet
	for i, fr := range frags {
		ip := append([]byte{}, whole[14:34]...)
		more := fr[1] < len(l4)
		off := uint16(fr[0] / 8)
		if more {
			off |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:], off)
		binary.BigEndian.PutUint16(ip[2:], uint16(20+fr[1]-fr[0]))
		binary.BigEndian.PutUint16(ip[4:], 77)
		pkt := append(append(append([]byte{}, whole[:14]...), ip...), l4[fr[0]:fr[1]]...)
		p = Packet{Timestamp: int64(i), WireLen: len(pkt)}
		kinds = append(kinds, d.Decode(LinkEthernet, pkt, &p))
	}
	if kinds[0] != KindFragment || kinds[1] != KindFragment || kinds[2] != KindUDP {
		t.Fatalf("kinds %v", kinds)
	}
	if p.SrcPort != 5353 || p.DstPort != 53 || p.PayloadLen != 3000 || len(p.Payload) != 3000 || p.Payload[2999] != byte(2999%256) {
		t.Errorf("reassembled: ports %d>%d len %d/%d", p.SrcPort, p.DstPort, p.PayloadLen, len(p.Payload))
	}
	if d.Stats.Fragments != 3 || d.Stats.Reassembled != 1 {
		t.Errorf("stats %+v", d.Stats)
	}
}

// FuzzDecode feeds arbitrary frames of every link type through the decoder
// and the flow table: nothing may panic, and what decodes must be coherent.
func FuzzDecode(f *testing.F) {
	tcp := ipv4Frame(ProtoTCP, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 40000, 443, []byte("x"), FlagSYN)
	f.Add(uint16(LinkEthernet), tcp)
	f.Add(uint16(LinkEthernet), vlanTag(tcp, 0x8100, 7))
	f.Add(uint16(LinkRaw), tcp[14:])
	f.Add(uint16(LinkSLL2), append([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0}, tcp[14:]...))
	f.Add(uint16(LinkEthernet), ipv4Frame(ProtoUDP, [4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1000, 4789, make([]byte, 60), 0))
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		d := NewDecoder()
		tab := NewTable(Config{MaxFlows: 4})
		var p Packet
		for i := 0; i < 3; i++ { // several times: the defragmenter and table keep state
			p = Packet{Timestamp: int64(i) * 1e6, WireLen: len(data)}
			k := d.Decode(lt, data, &p)
			switch k {
			case KindTCP, KindUDP, KindICMP, KindIP:
				if !p.Src.IsValid() || !p.Dst.IsValid() {
					t.Fatalf("kind %d without addresses", k)
				}
				if len(p.Payload) > len(data) {
					t.Fatalf("payload longer than the frame")
				}
				tab.Process(&p)
			}
		}
		tab.Flush()
	})
}

// TestPacketReset: reset clears every field Decode fills (a field added to
// Packet and forgotten in reset fails here) and keeps the four the caller
// sets.
func TestPacketReset(t *testing.T) {
	var p Packet
	v := reflect.ValueOf(&p).Elem()
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			if v.Type() == reflect.TypeOf(netip.Addr{}) {
				v.Set(reflect.ValueOf(netip.MustParseAddr("2001:db8::1")))
				return
			}
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			v.SetInt(7)
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			v.SetUint(7)
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		default:
			t.Fatalf("TestPacketReset does not know how to fill a %s", v.Kind())
		}
	}
	fill(v)
	p.reset()
	want := Packet{Index: 7, Timestamp: 7, File: 7, Frame: 7, WireLen: 7, WScale: -1}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("after reset:\n got %+v\nwant %+v", p, want)
	}
}

package flows

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The IPv4 and TCP headers are read by hand (decodeIPv4, decodeTCP) where
// the decoder used gopacket's layers before; these fuzz tests hold them to
// the same verdicts and values as layers.IPv4 and layers.TCP on any input.
// The one deliberate difference (decodeTCP does not check MPTCP options
// per subtype) is skipped by leaving MPTCP options out of the comparison.

// sameVerdict decodes data with gopacket's layer g and fails the test
// unless ours (ok, and the truncation d noted) agrees; it reports whether
// the header was accepted.
func sameVerdict(t *testing.T, d *Decoder, ok bool, g interface {
	DecodeFromBytes([]byte, gopacket.DecodeFeedback) error
}, data []byte) bool {
	t.Helper()
	var df feedback
	gerr := g.DecodeFromBytes(data, &df)
	if ok != (gerr == nil) {
		t.Fatalf("ours ok=%v, gopacket err=%v", ok, gerr)
	}
	if d.df.truncated != df.truncated {
		t.Fatalf("truncated: ours %v, gopacket %v", d.df.truncated, df.truncated)
	}
	return ok
}

func ipv4Seeds(f *testing.F) {
	hdr := []byte{0x45, 0, 0, 40, 0x12, 0x34, 0x20, 0x01, 64, 6, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2}
	f.Add(append(bytes.Clone(hdr), make([]byte, 20)...))
	f.Add(hdr[:19])
	opt := []byte{0x46, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 1, 7, 3, 0}
	f.Add(append(opt, 1, 2, 3, 4))
	zero := bytes.Clone(hdr)
	binary.BigEndian.PutUint16(zero[2:4], 0)
	f.Add(append(zero, 9, 9, 9))
}

func FuzzIPv4MatchesGopacket(f *testing.F) {
	ipv4Seeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		ip, ok := d.decodeIPv4(data)
		var g layers.IPv4
		if !sameVerdict(t, &d, ok, &g, data) {
			return
		}
		gmf := g.Flags&layers.IPv4MoreFragments != 0
		if ip.ihl != int(g.IHL) || ip.length != int(g.Length) || ip.id != g.Id || ip.moreFrags != gmf ||
			ip.fragOffset != g.FragOffset || ip.proto != uint8(g.Protocol) ||
			!bytes.Equal(ip.src[:], g.SrcIP) || !bytes.Equal(ip.dst[:], g.DstIP) || !bytes.Equal(ip.payload, g.Payload) {
			t.Fatalf("ours %+v\ngopacket %+v", ip, g)
		}
	})
}

func FuzzTCPMatchesGopacket(f *testing.F) {
	syn := []byte{0xc3, 0x50, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x80, 0x02, 0xff, 0xff, 0, 0, 0, 0,
		2, 4, 0x05, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0}
	f.Add(syn)
	f.Add(syn[:19])
	f.Add(append(bytes.Clone(syn[:20]), 'h', 'i'))
	bad := bytes.Clone(syn)
	bad[21] = 1 // an option length below 2
	f.Add(bad)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Decoder
		var p Packet
		p.WScale = -1
		payload, ok := d.decodeTCP(data, &p)
		var g layers.TCP
		if !sameVerdict(t, &d, ok, &g, data) {
			return
		}
		for _, o := range g.Options {
			if o.OptionType == layers.TCPOptionKindMultipathTCP {
				return // checked per subtype by gopacket only (see decodeTCP)
			}
		}
		if bytes.Contains(g.Padding, []byte{30}) {
			return // an MPTCP option gopacket stopped at
		}
		want := Packet{WScale: -1}
		want.SrcPort, want.DstPort = uint16(g.SrcPort), uint16(g.DstPort)
		want.Seq, want.Ack, want.Window = g.Seq, g.Ack, g.Window
		want.Flags = data[13]
		for _, o := range g.Options {
			switch o.OptionType {
			case layers.TCPOptionKindMSS:
				if len(o.OptionData) == 2 {
					want.MSS = binary.BigEndian.Uint16(o.OptionData)
				}
			case layers.TCPOptionKindWindowScale:
				if len(o.OptionData) == 1 {
					want.WScale = int8(min(o.OptionData[0], 14))
				}
			case layers.TCPOptionKindSACKPermitted:
				want.SACKPerm = true
			case layers.TCPOptionKindSACK:
				want.SACK = true
			}
		}
		if !reflect.DeepEqual(p, want) || !bytes.Equal(payload, g.Payload) {
			t.Fatalf("ours %+v payload %d\ngopacket-derived %+v payload %d", p, len(payload), want, len(g.Payload))
		}
	})
}

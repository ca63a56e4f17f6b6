package flows

import (
	"net/netip"
	"testing"

	"github.com/pcapx/pcapx/internal/capgen"
)

// TestICMPRecordQuotes: an ICMP error's record names its kind, the MTU,
// the size that did not fit, and the Community ID of the flow its quote
// belongs to — the same ID as that flow's own record, TCP, UDP or ICMP.
func TestICMPRecordQuotes(t *testing.T) {
	srv, cli := netip.MustParseAddr("198.51.100.20"), netip.MustParseAddr("192.0.2.10")
	router := capgen.IP{Src: netip.MustParseAddr("203.0.113.254"), Dst: srv, TTL: 254}
	tcp := capgen.IP{Src: srv, Dst: cli}.TCP(capgen.TCP{SrcPort: 80, DstPort: 51000, Seq: 1000, Ack: 1, Flags: capgen.ACK, Window: 500}, make([]byte, 1448))
	udp := capgen.IP{Src: srv, Dst: cli}.UDP(40000, 53, []byte("hello"))
	echo := capgen.IP{Src: srv, Dst: cli}.ICMP(capgen.ICMPv4Echo(false, 7, 1, []byte("ping")))
	for _, c := range []struct {
		name       string
		msg        []byte
		kind, desc string
		mtu, qlen  int
		quoted     string // the quoted flow's Community ID
	}{
		{"frag-needed about TCP", router.ICMP(capgen.ICMPv4FragNeeded(1400, capgen.Quote(tcp, 548))), "frag-needed", "fragmentation needed and DF set", 1400, 1488,
			CommunityID(0, srv, cli, ProtoTCP, 80, 51000)},
		{"port unreachable about UDP", capgen.IP{Src: cli, Dst: srv}.ICMP(capgen.ICMPv4Unreachable(capgen.ICMPv4CodePortUnreachable, capgen.Quote(udp, 548))), "unreachable", "port unreachable", 0, 33,
			CommunityID(0, srv, cli, ProtoUDP, 40000, 53)},
		{"host unreachable about a ping", router.ICMP(capgen.ICMPv4Unreachable(1, capgen.Quote(echo, 548))), "unreachable", "host unreachable", 0, 32,
			CommunityID(0, srv, cli, ProtoICMP, 8, 0)},
		{"TTL exceeded about TCP", router.ICMP(capgen.ICMPv4TimeExceeded(capgen.Quote(tcp, 548))), "time-exceeded", "TTL exceeded in transit", 0, 1488,
			CommunityID(0, srv, cli, ProtoTCP, 80, 51000)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var p Packet
			if k := NewDecoder().Decode(uint16(capgen.LinkTypeEthernet), capgen.DefaultEthernet.AppendFrame(nil, c.msg), &p); k != KindICMP || !p.IsICMPRecord() {
				t.Fatalf("decoded as %v, record %v", k, p.IsICMPRecord())
			}
			r := NewICMPRecord(&p, nil)
			if r.Kind != c.kind || r.Description != c.desc || r.NextHopMTU != c.mtu || r.QuotedLen != c.qlen || r.QuotedCommunityID != c.quoted {
				t.Errorf("record %+v\nwant kind %s (%s), mtu %d, quoted_len %d, quoted %s", r, c.kind, c.desc, c.mtu, c.qlen, c.quoted)
			}
		})
	}
}

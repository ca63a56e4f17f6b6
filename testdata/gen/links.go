package main

import (
	"net/netip"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

func (g *generator) links() {
	const grp = "Link types"
	type variant struct {
		name, desc string
		link       capgen.Link
		server     capgen.Link // server→client framing when not Reverse()
		v6, both   bool        // IPv6 exchange only / IPv4 then IPv6
	}
	sll := capgen.SLL{PacketType: capgen.PacketOutgoing, Src: capgen.ClientMAC, Dst: capgen.ServerMAC}
	sll2 := capgen.SLL2{PacketType: uint8(capgen.PacketOutgoing), IfIndex: 3, Src: capgen.ClientMAC, Dst: capgen.ServerMAC}
	for _, v := range []variant{
		{name: "link/ethernet.pcap", link: capgen.DefaultEthernet,
			server: capgen.Ethernet{Src: capgen.ServerMAC, Dst: capgen.ClientMAC, Pad: true},
			desc:   "Ethernet II. Frames from the server were received by the capturing NIC and are padded to the 60-byte minimum: the 54-byte ACK/FIN frames carry 6 trailing zero bytes beyond the IP total length, which must not be taken as TCP payload (they are not keep-alives or data)."},
		{name: "link/vlan-8021q.pcap", link: capgen.Ethernet{Src: capgen.ClientMAC, Dst: capgen.ServerMAC, VLANs: []capgen.VLAN{{ID: 100, Priority: 3}}},
			desc: "Ethernet with an 802.1Q tag (TPID 0x8100, VLAN 100, PCP 3) on every frame."},
		{name: "link/qinq-8021ad.pcap", link: capgen.Ethernet{Src: capgen.ClientMAC, Dst: capgen.ServerMAC, VLANs: []capgen.VLAN{{ID: 200}, {ID: 100}}},
			desc: "QinQ: an 802.1ad S-tag (TPID 0x88a8, VLAN 200) outside an 802.1Q C-tag (0x8100, VLAN 100)."},
		{name: "link/linux-sll.pcap", link: sll,
			desc: "Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113), taken on the client: packet type 4 (outgoing) for its packets, 0 (to us) for the server's; the address field holds the sender's MAC."},
		{name: "link/linux-sll2.pcap", link: sll2,
			desc: "Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276; `tcpdump -i any`), interface index 3, taken on the client (packet types 4 and 0)."},
		{name: "link/raw.pcap", link: capgen.Raw{}, both: true,
			desc: "LINKTYPE_RAW (101): bare IP packets, the version nibble tells IPv4 from IPv6. The IPv4 exchange, then the same over IPv6 ([2001:db8::10]:51000 → [2001:db8:1::20]:80) a second later."},
		{name: "link/raw-ipv4.pcap", link: capgen.Raw{Type: capgen.LinkTypeIPv4},
			desc: "LINKTYPE_IPV4 (228): bare IPv4 packets."},
		{name: "link/raw-ipv6.pcap", link: capgen.Raw{Type: capgen.LinkTypeIPv6}, v6: true,
			desc: "LINKTYPE_IPV6 (229): bare IPv6 packets, [2001:db8::10]:51000 → [2001:db8:1::20]:80."},
		{name: "link/null.pcap", link: capgen.Null{AFInet6: capgen.AFInet6Darwin}, both: true,
			desc: "LINKTYPE_NULL (0, BSD loopback as macOS lo0 writes it): a 4-byte address family in little-endian host order, 2 for IPv4 and 30 (Darwin AF_INET6) for IPv6. The IPv4 exchange, then the IPv6 one."},
		{name: "link/loop.pcap", link: capgen.Null{Loop: true}, both: true,
			desc: "LINKTYPE_LOOP (108, OpenBSD loopback): the address family in network byte order, 2 for IPv4 and 24 for IPv6. The IPv4 exchange, then the IPv6 one."},
	} {
		fx := g.add(&fixture{Path: v.name, Group: grp, NoTable: v.name != "link/ethernet.pcap", Desc: v.desc + " Traffic: " + exchangeDesc + "."})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: v.link.LinkType()})
		o := &capgen.TCPOptions{Link: v.link, ServerLink: v.server}
		cli, srv := cliEP, srvEP
		if v.v6 {
			cli, srv = cli6EP, srv6EP
		}
		t := exchange(c, cli, srv, o)
		if v.both {
			exchange(c, cli6EP, srv6EP, &capgen.TCPOptions{Link: v.link, Start: t.Now().Add(time.Second)})
		}
		c.done()
	}
}

func (g *generator) network() {
	const grp = "Network layer and tunnels"

	// IPv6 extension headers.
	{
		fx := g.add(&fixture{Path: "net/ipv6-ext-headers.pcap", Group: grp, Desc: `
IPv6 over Ethernet with extension headers. The TCP exchange
([2001:db8::10]:51000 → [2001:db8:1::20]:80) carries on every packet a hop-by-hop
header (PadN), a destination options header (PadN) and a type-0 routing header
listing the destination with 0 segments left, before TCP. Then a DNS query
over UDP with a hop-by-hop header (router alert), and its 2900-byte answer
(TXT records) fragmented into 3 fragments with IPv6 fragment headers (the
fragment header follows the hop-by-hop header, which is part of the
unfragmentable part).`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		ext := []capgen.IPv6Ext{capgen.HopByHop(), capgen.DestOpts(), capgen.Routing(0, 0, srv6EP.Addr())}
		t := exchange(c, cli6EP, srv6EP, &capgen.TCPOptions{IPv6Ext: ext})
		dns6 := netip.MustParseAddr("2001:db8::53")
		q := capgen.IP{Src: cli6EP.Addr(), Dst: dns6, Ext: []capgen.IPv6Ext{capgen.HopByHop(capgen.RouterAlert(0)...)}}
		r := capgen.IP{Src: dns6, Dst: cli6EP.Addr(), Ext: []capgen.IPv6Ext{capgen.HopByHop()}}
		tm := t.Now().Add(100 * ms)
		eth := capgen.DefaultEthernet
		must(c.WriteFrame(capgen.Frame{Time: tm, Data: eth.AppendFrame(nil, q.UDP(52000, 53, capgen.DNSQuery(0x6666, "big.example.com", capgen.DNSTypeTXT)))}))
		resp := r.UDP(53, 52000, bigTXTResponse(0x6666, "big.example.com"))
		for i, f := range capgen.FragmentIPv6(resp, 3, 0xabcdef01) {
			must(c.WriteFrame(capgen.Frame{Time: tm.Add(3*ms + time.Duration(i)*10*us), Data: eth.Reverse().AppendFrame(nil, f)}))
		}
		c.done()
	}

	// IPv4 fragmented UDP.
	{
		fx := g.add(&fixture{Path: "net/ipv4-frag-udp.pcap", Group: grp, Desc: `
DNS over UDP with IPv4 fragmentation (EDNS answers larger than the MTU): a TXT
query from 192.0.2.10:53001 to 192.0.2.53 and its 2900-byte answer in 3
fragments (IP id 0x2001); then a second query whose 2900-byte answer arrives
with its fragments in reverse order (last fragment first, as some stacks
send them; IP id 0x2002). Each answer reassembles to one UDP datagram with a
valid checksum.`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		eth := capgen.DefaultEthernet
		tm := capgen.Epoch
		for k, reverse := range []bool{false, true} {
			id := uint16(0x2001 + k)
			name := []string{"big.example.com", "big2.example.com"}[k]
			q := capgen.IP{Src: cliEP.Addr(), Dst: resolver, ID: 0x1001 + uint16(k)}
			r := capgen.IP{Src: resolver, Dst: cliEP.Addr(), ID: id}
			must(c.WriteFrame(capgen.Frame{Time: tm, Data: eth.AppendFrame(nil, q.UDP(53001+uint16(k), 53, capgen.DNSQuery(0x7000+id, name, capgen.DNSTypeTXT)))}))
			frags := capgen.FragmentIPv4(r.UDP(53, 53001+uint16(k), bigTXTResponse(0x7000+id, name)), 3)
			if reverse {
				frags[0], frags[2] = frags[2], frags[0]
			}
			for i, f := range frags {
				must(c.WriteFrame(capgen.Frame{Time: tm.Add(4*ms + time.Duration(i)*10*us), Data: eth.Reverse().AppendFrame(nil, f)}))
			}
			tm = tm.Add(time.Second)
		}
		c.done()
	}

	// IPv4 fragmented TCP.
	{
		fx := g.add(&fixture{Path: "net/ipv4-frag-tcp.pcap", Group: grp, Analysis: true, Desc: `
A TCP exchange without DF (TCPOptions.NoDF) in which one full-sized response
segment (1448 bytes of payload) crosses a link with a smaller MTU and arrives as
2 IPv4 fragments (frames 6 and 7); the first fragment holds the TCP header.
TCP analysis must see one segment after reassembly; Wireshark flags nothing.`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{NoDF: true})
		t.Handshake(15 * ms)
		t.SendData(C, httpGET)
		t.Write(S, httpResponseOf(2000))
		t.Sleep(16 * ms)
		t.ServerSend(552)
		t.FragmentNext(2)
		t.ServerSend(1448)
		t.Ack(C)
		t.Sleep(5 * ms)
		t.Close(C)
		c.done()
	}

	// VXLAN.
	{
		fx := g.add(&fixture{Path: "net/vxlan.pcap", Group: grp, Desc: `
VXLAN (RFC 7348): outer Ethernet / IPv4 203.0.113.1 ↔ 203.0.113.2 (the VTEPs) /
UDP to port 4789 (outer UDP checksum 0, as Linux sends it), VNI 4096, inner
Ethernet (02:42:0a:00:00:0x) / IPv4 10.0.0.2:51000 → 10.0.0.3:80 carrying ` + exchangeDesc + `.
The flow key must be the inner 5-tuple (plus the tunnel).`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		vx := capgen.VXLAN{Src: netip.MustParseAddr("203.0.113.1"), Dst: netip.MustParseAddr("203.0.113.2"), VNI: 4096,
			Inner: capgen.Ethernet{Src: capgen.MAC{0x02, 0x42, 0x0a, 0, 0, 2}, Dst: capgen.MAC{0x02, 0x42, 0x0a, 0, 0, 3}}}
		exchange(c, netip.MustParseAddrPort("10.0.0.2:51000"), netip.MustParseAddrPort("10.0.0.3:80"), &capgen.TCPOptions{Link: vx, MSS: 1410})
		c.done()
	}

	// GRE, transparent Ethernet bridging.
	{
		fx := g.add(&fixture{Path: "net/gre-teb.pcap", Group: grp, Desc: `
GRE with protocol 0x6558 (transparent Ethernet bridging, as overlay networks and
gretap interfaces use), key 42: outer Ethernet / IPv4 203.0.113.1 ↔ 203.0.113.2
/ GRE / inner Ethernet / IPv4 10.0.0.2:51000 → 10.0.0.3:80 carrying ` + exchangeDesc + `.`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		inner := capgen.Ethernet{Src: capgen.MAC{0x02, 0x42, 0x0a, 0, 0, 2}, Dst: capgen.MAC{0x02, 0x42, 0x0a, 0, 0, 3}}
		gre := capgen.GRE{Src: netip.MustParseAddr("203.0.113.1"), Dst: netip.MustParseAddr("203.0.113.2"), Inner: &inner, Key: 42, HasKey: true}
		exchange(c, netip.MustParseAddrPort("10.0.0.2:51000"), netip.MustParseAddrPort("10.0.0.3:80"), &capgen.TCPOptions{Link: gre, MSS: 1400})
		c.done()
	}

	// GRE, bare IP.
	{
		fx := g.add(&fixture{Path: "net/gre-ip.pcap", Group: grp, Desc: `
GRE with protocol 0x0800 (IPv4 directly inside, as a plain GRE tunnel): outer
Ethernet / IPv4 203.0.113.1 ↔ 203.0.113.2 / GRE / IPv4 10.0.0.2:51000 →
10.0.0.3:80 carrying ` + exchangeDesc + `.`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		gre := capgen.GRE{Src: netip.MustParseAddr("203.0.113.1"), Dst: netip.MustParseAddr("203.0.113.2")}
		exchange(c, netip.MustParseAddrPort("10.0.0.2:51000"), netip.MustParseAddrPort("10.0.0.3:80"), &capgen.TCPOptions{Link: gre, MSS: 1436})
		c.done()
	}

	g.udpICMP()
}

// bigTXTResponse returns a DNS answer of about 2900 bytes.
func bigTXTResponse(id uint16, name string) []byte {
	var rrs []capgen.DNSRecord
	for i := range 12 {
		txt := make([]byte, 230)
		for j := range txt {
			txt[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i+j)%36]
		}
		rrs = append(rrs, capgen.DNSTXT(name, 300, string(txt)))
	}
	return capgen.DNSResponse(id, name, capgen.DNSTypeTXT, capgen.RcodeNoError, rrs...)
}

func (g *generator) udpICMP() {
	fx := g.add(&fixture{Path: "net/udp-icmp.pcap", Group: "Network layer and tunnels", Analysis: true, Desc: `
UDP and ICMP flows, captured at the server 198.51.100.20 (Ethernet):
a DNS query and answer (A www.example.com), a DNS query answered NXDOMAIN;
ICMP echo request/reply twice (id 0x4242, seq 1, 2); ICMPv6 echo request/reply;
a UDP datagram to a closed port answered by ICMP port unreachable (type 3 code 3)
quoting it. Then a TCP download to 192.0.2.10 whose first full-sized segment
(1448 bytes, DF) is too big for a router's 1400-byte link: the router
203.0.113.254 returns ICMP destination unreachable / fragmentation needed (type 3
code 4, next-hop MTU 1400) quoting the segment's IP and TCP headers (and the
first bytes of payload); the server resends those 1448 bytes as segments of
1348 + 100 bytes. Wireshark calls both resends out-of-order: they come within
the 40 ms handshake RTT of the last new data (a 552-byte segment sent after the
big one) and end below the highest sequence number sent. Last, an IPv6 flow
gets an ICMPv6 packet too big (MTU 1280) from 2001:db8:ffff::1 quoting its
1448-byte segment; its resends are 1188 + 260 bytes, and since the second ends
exactly at the highest sequence number sent, Wireshark calls it a
retransmission rather than out-of-order. The ICMP errors must be mapped to the
TCP flows they quote.`})
	c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
	srvMACLink := capgen.Ethernet{Src: capgen.ServerMAC, Dst: capgen.ClientMAC}
	gw := capgen.Ethernet{Src: capgen.MAC{0x02, 0x00, 0x5e, 0x00, 0x00, 0xfe}, Dst: capgen.ServerMAC}
	tm := capgen.Epoch
	write := func(l capgen.Link, pkt []byte) {
		must(c.WriteFrame(capgen.Frame{Time: tm, Data: l.AppendFrame(nil, pkt)}))
		tm = tm.Add(10 * us)
	}
	srv := srvEP.Addr()
	dnsSrv := netip.MustParseAddr("192.0.2.53")
	// DNS from the server's resolver library.
	q := capgen.IP{Src: srv, Dst: dnsSrv, ID: 0x100}
	r := capgen.IP{Src: dnsSrv, Dst: srv, ID: 0x200}
	write(srvMACLink, q.UDP(40000, 53, capgen.DNSQuery(0xbeef, "www.example.com", capgen.DNSTypeA)))
	tm = tm.Add(3 * ms)
	write(srvMACLink.Reverse(), r.UDP(53, 40000, capgen.DNSResponse(0xbeef, "www.example.com", capgen.DNSTypeA, capgen.RcodeNoError,
		capgen.DNSCNAME("www.example.com", 300, "web.example.com"), capgen.DNSAddr("web.example.com", 60, netip.MustParseAddr("203.0.113.80")))))
	tm = tm.Add(100 * ms)
	write(srvMACLink, q.UDP(40001, 53, capgen.DNSQuery(0xbef0, "nosuchhost.example.com", capgen.DNSTypeA)))
	tm = tm.Add(3 * ms)
	write(srvMACLink.Reverse(), r.UDP(53, 40001, capgen.DNSResponse(0xbef0, "nosuchhost.example.com", capgen.DNSTypeA, capgen.RcodeNXDomain)))
	// Pings.
	tm = tm.Add(100 * ms)
	peer := cliEP.Addr()
	pq := capgen.IP{Src: srv, Dst: peer, ID: 0x300}
	pr := capgen.IP{Src: peer, Dst: srv, ID: 0x400, TTL: 57}
	for seq := uint16(1); seq <= 2; seq++ {
		data := []byte("capgen ping payload 0123456789abcdef")
		write(srvMACLink, pq.ICMP(capgen.ICMPv4Echo(false, 0x4242, seq, data)))
		tm = tm.Add(15 * ms)
		write(srvMACLink.Reverse(), pr.ICMP(capgen.ICMPv4Echo(true, 0x4242, seq, data)))
		tm = tm.Add(time.Second - 15*ms)
		pq.ID++
		pr.ID++
	}
	p6q := capgen.IP{Src: srv6EP.Addr(), Dst: cli6EP.Addr()}
	p6r := capgen.IP{Src: cli6EP.Addr(), Dst: srv6EP.Addr()}
	write(srvMACLink, p6q.ICMP(capgen.ICMPv6Echo(false, 0x4343, 1, []byte("v6 ping"))))
	tm = tm.Add(15 * ms)
	write(srvMACLink.Reverse(), p6r.ICMP(capgen.ICMPv6Echo(true, 0x4343, 1, []byte("v6 ping"))))
	// UDP to a closed port.
	tm = tm.Add(100 * ms)
	u := capgen.IP{Src: srv, Dst: peer, ID: 0x500}
	dgram := u.UDP(40002, 9999, []byte("hello?"))
	write(srvMACLink, dgram)
	tm = tm.Add(15 * ms)
	write(srvMACLink.Reverse(), pr.ICMP(capgen.ICMPv4Unreachable(capgen.ICMPv4CodePortUnreachable, capgen.Quote(dgram, 548))))

	// TCP with PMTU discovery.
	tm = tm.Add(time.Second)
	t := capgen.NewTCPConn(c, cliEP, srvEP, &capgen.TCPOptions{Vantage: capgen.NearServer, Start: tm})
	t.Handshake(40 * ms)
	t.SendData(C, httpGET)
	t.Write(S, httpResponseOf(2000))
	t.Sleep(1 * ms)
	big := t.SendLost(S, 1448)
	bigPkt := t.LastPacket()
	t.ServerSend(552)
	t.Sleep(5 * ms)
	router := capgen.IP{Src: netip.MustParseAddr("203.0.113.254"), Dst: srv, ID: 0x600, TTL: 254}
	tm = t.Now()
	write(gw, router.ICMP(capgen.ICMPv4FragNeeded(1400, capgen.Quote(bigPkt, 548))))
	t.SetNow(tm.Add(50 * us))
	t.RetransmitRange(S, big, 0, 1348)
	c.expect(fOOO)
	t.RetransmitRange(S, big, 1348, 100)
	c.expect(fOOO)
	t.Sleep(40 * ms)
	t.Ack(C)
	t.Close(C)

	// IPv6 packet too big.
	t6 := capgen.NewTCPConn(c, cli6EP, srv6EP, &capgen.TCPOptions{Vantage: capgen.NearServer, Start: t.Now().Add(time.Second)})
	t6.Handshake(40 * ms)
	t6.SendData(C, httpGET)
	t6.Write(S, httpResponseOf(1448))
	t6.Sleep(1 * ms)
	big6 := t6.SendLost(S, 1448)
	pkt6 := t6.LastPacket()
	t6.Sleep(5 * ms)
	tm = t6.Now()
	r6 := capgen.IP{Src: netip.MustParseAddr("2001:db8:ffff::1"), Dst: srv6EP.Addr()}
	write(gw, r6.ICMP(capgen.ICMPv6PacketTooBig(1280, capgen.Quote(pkt6, 1280-48))))
	t6.SetNow(tm.Add(50 * us))
	t6.RetransmitRange(S, big6, 0, 1188)
	c.expect(fOOO)
	t6.RetransmitRange(S, big6, 1188, 260)
	c.expect(fRetrans)
	t6.Sleep(40 * ms)
	t6.Ack(C)
	t6.Close(C)
	c.done()
}

package main

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

var (
	cli6EP   = netip.MustParseAddrPort("[2001:db8::10]:51000")
	srv6EP   = netip.MustParseAddrPort("[2001:db8:1::20]:80")
	resolver = netip.MustParseAddr("192.0.2.53")
	smallOK  = capgen.HTTPResponse(200, []byte("<!doctype html>\n<html><body><h1>It works!</h1></body></html>\n"),
		"Server: nginx/1.24.0", "Content-Type: text/html")
)

// exchange writes the short TCP exchange shared by the format and link
// fixtures: handshake, GET, a small 200 response, its ACK and a FIN close
// (9 frames).
func exchange(w capgen.FrameWriter, cli, srv netip.AddrPort, o *capgen.TCPOptions) *capgen.TCPConn {
	t := capgen.NewTCPConn(w, cli, srv, o)
	t.Handshake(15 * ms)
	t.SendData(C, httpGET)
	t.Sleep(16 * ms)
	t.SendData(S, smallOK)
	t.Ack(C)
	t.Sleep(5 * ms)
	t.Close(C)
	return t
}

const exchangeDesc = "the short exchange (9 frames: handshake, `GET /index.html`, a small `200 OK`, its ACK, FIN close; 15 ms RTT)"

// dnsPair writes a UDP DNS query and its answer.
func dnsPair(w capgen.FrameWriter, link capgen.Link, iface int, t time.Time, cli netip.AddrPort, server netip.Addr, id uint16, name string, answer netip.Addr, rtt time.Duration) time.Time {
	q := capgen.IP{Src: cli.Addr(), Dst: server, ID: id}
	r := capgen.IP{Src: server, Dst: cli.Addr(), ID: id ^ 0x5555}
	qt := capgen.DNSTypeA
	if answer.Is6() {
		qt = capgen.DNSTypeAAAA
	}
	must(w.WriteFrame(capgen.Frame{Time: t, Iface: iface, Data: link.AppendFrame(nil, q.UDP(cli.Port(), 53, capgen.DNSQuery(id, name, qt)))}))
	t = t.Add(rtt)
	must(w.WriteFrame(capgen.Frame{Time: t, Iface: iface, Data: link.Reverse().AppendFrame(nil,
		r.UDP(53, cli.Port(), capgen.DNSResponse(id, name, qt, capgen.RcodeNoError, capgen.DNSAddr(name, 300, answer))))}))
	return t
}

var nsStart = capgen.Epoch.Add(123456789 * time.Nanosecond)

func (g *generator) formats() {
	const grp = "File formats"
	for _, v := range []struct {
		name string
		o    capgen.PcapOptions
	}{
		{"format/pcap-le-us.pcap", capgen.PcapOptions{}},
		{"format/pcap-be-us.pcap", capgen.PcapOptions{BigEndian: true}},
		{"format/pcap-le-ns.pcap", capgen.PcapOptions{Nanosecond: true}},
		{"format/pcap-be-ns.pcap", capgen.PcapOptions{Nanosecond: true, BigEndian: true}},
	} {
		v.o.LinkType = capgen.LinkTypeEthernet
		fx := g.add(&fixture{Path: v.name, Group: grp, NoTable: v.name != "format/pcap-le-us.pcap", Desc: "Classic pcap (" + pcapFormat(v.o) + "), Ethernet: " + exchangeDesc +
			". The first packet is at 03:04:05.123456789 (the µs files keep .123456); packets are 10 µs + 1 ns apart beyond the scripted gaps, so nanosecond files differ from microsecond ones."})
		c := pcapCapture(fx, v.o)
		exchange(c, cliEP, srvEP, &capgen.TCPOptions{Start: nsStart, Step: 10*us + 1})
		c.done()
	}

	// pcapng with two interfaces, an SPB, comments and statistics.
	{
		fx := g.add(&fixture{Path: "format/pcapng-two-interfaces.pcapng", Group: grp, Desc: `
pcapng, one section (SHB comment "capgen two-interface example"), two interfaces:
#0 eth0, Ethernet, if_tsresol 6 (µs, the default, so no option written); #1
tun0, raw IP (LINKTYPE_RAW), if_tsresol 9 (ns). On eth0 runs ` + exchangeDesc + `,
with EPB comments on the request ("request") and the response ("response");
interleaved in time, a DNS query and answer run on tun0 (ns timestamps). Then an interface statistics
block for eth0 (0 dropped) and last a simple packet block (no timestamp,
belongs to interface 0): an ICMP echo request on Ethernet. 12 packets.`})
		c, nw := ngCapture(fx, capgen.NgSection{Comment: "capgen two-interface example", OS: "Linux 6.1", Hardware: "x86_64"},
			capgen.NgInterface{LinkType: capgen.LinkTypeEthernet, Name: "eth0", Description: "uplink"},
			capgen.NgInterface{LinkType: capgen.LinkTypeRaw, Name: "tun0", TsResol: 9, Comment: "VPN tunnel"})
		tun := capgen.Raw{}
		// The DNS pair falls between the handshake and the response: two
		// scripts write into memory and are merged by time.
		var tcpFrames capgen.Frames
		t := capgen.NewTCPConn(&tcpFrames, cliEP, srvEP, &capgen.TCPOptions{Start: nsStart})
		t.Handshake(15 * ms)
		t.Comment("request")
		t.SendData(C, httpGET)
		t.Sleep(16 * ms)
		t.Comment("response")
		t.SendData(S, smallOK)
		t.Ack(C)
		t.Sleep(5 * ms)
		t.Close(C)
		var dnsFrames capgen.Frames
		dnsPair(&dnsFrames, tun, 1, nsStart.Add(16*ms+333), netip.MustParseAddrPort("10.8.0.2:41000"), netip.MustParseAddr("10.8.0.1"), 0x1234, "vpn.example.com", netip.MustParseAddr("10.8.0.99"), 2*ms+777)
		for _, f := range mergeFrames(tcpFrames, dnsFrames) {
			must(c.WriteFrame(f))
		}
		must(nw.InterfaceStats(0, t.Now(), uint64(len(tcpFrames)), 0))
		echo := capgen.IP{Src: cliEP.Addr(), Dst: srvEP.Addr(), ID: 77}
		spb := capgen.DefaultEthernet.AppendFrame(nil, echo.ICMP(capgen.ICMPv4Echo(false, 0x4242, 1, []byte("spb-ping"))))
		must(nw.WriteSimple(spb, 0))
		c.n++
		c.fx.Frames = append(c.fx.Frames, frameInfo{N: c.n, Time: t.Now(), Summary: "SPB (no timestamp): " + c.desc.describe(capgen.LinkTypeEthernet, spb)})
		c.done()
	}

	// Big-endian pcapng.
	{
		fx := g.add(&fixture{Path: "format/pcapng-be.pcapng", Group: grp, NoTable: true, Desc: "pcapng written in big-endian byte order (SHB byte-order magic 1a2b3c4d as stored), one Ethernet interface: " + exchangeDesc + "."})
		c, _ := ngCapture(fx, capgen.NgSection{BigEndian: true}, capgen.NgInterface{LinkType: capgen.LinkTypeEthernet})
		exchange(c, cliEP, srvEP, nil)
		c.done()
	}

	// Two sections.
	{
		fx := g.add(&fixture{Path: "format/pcapng-two-sections.pcapng", Group: grp, Desc: `
Two pcapng sections in one file, as when captures are concatenated: section 1
(little endian) has an Ethernet interface and ` + exchangeDesc + `; section 2 (big
endian) defines its own interface 0, Linux SLL2 with ns resolution, and a second
exchange from client port 51001 a minute later. Interface ids restart in
each section. 18 packets.`})
		c, nw := ngCapture(fx, capgen.NgSection{Comment: "section 1"}, capgen.NgInterface{LinkType: capgen.LinkTypeEthernet, Name: "eth0"})
		t := exchange(c, cliEP, srvEP, nil)
		must(nw.NewSection(capgen.NgSection{BigEndian: true, Comment: "section 2"}))
		_, err := nw.AddInterface(capgen.NgInterface{LinkType: capgen.LinkTypeLinuxSLL2, Name: "any", TsResol: 9})
		must(err)
		c.links[0] = capgen.LinkTypeLinuxSLL2
		exchange(c, netip.AddrPortFrom(cliEP.Addr(), 51001), srvEP, &capgen.TCPOptions{Start: t.Now().Add(time.Minute),
			Link: capgen.SLL2{PacketType: uint8(capgen.PacketOutgoing), IfIndex: 2, Src: capgen.ClientMAC, Dst: capgen.ServerMAC}})
		c.done()
	}

	// Power-of-two time resolution.
	{
		fx := g.add(&fixture{Path: "format/pcapng-tsresol-pow2.pcapng", Group: grp, NoTable: true, Desc: "pcapng whose interface has if_tsresol 0x94: timestamps in units of 2^-20 s (about 0.95 µs), as some hardware capture cards write; " + exchangeDesc + "."})
		c, _ := ngCapture(fx, capgen.NgSection{}, capgen.NgInterface{LinkType: capgen.LinkTypeEthernet, TsResol: 0x80 | 20})
		exchange(c, cliEP, srvEP, nil)
		c.done()
	}

	// Compressed.
	for _, v := range []struct {
		name, desc string
		comp       capgen.Compression
		ng         bool
	}{
		{"format/pcap-gzip.pcap.gz", "gzip-compressed classic pcap (le, µs, Ethernet): " + exchangeDesc + ".", capgen.Gzip, false},
		{"format/pcapng-zstd.pcapng.zst", "zstd-compressed pcapng (one Ethernet interface): " + exchangeDesc + ".", capgen.Zstd, true},
		{"format/gzip-misnamed.pcap", "A gzip-compressed pcap named `.pcap`: readers must detect compression by the magic bytes (1f 8b), not the file name. " + exchangeDesc + ".", capgen.Gzip, false},
	} {
		fx := g.add(&fixture{Path: v.name, Group: grp, Desc: v.desc, NoTable: true})
		var c *capture
		if v.ng {
			c, _ = ngCapture(fx, capgen.NgSection{}, capgen.NgInterface{LinkType: capgen.LinkTypeEthernet})
			fx.Format = "pcapng+" + v.comp.String()
		} else {
			c = pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
			fx.Format = "pcap-le-us+" + v.comp.String()
		}
		exchange(c, cliEP, srvEP, nil)
		c.done()
		fx.Data = compress(fx.Data, v.comp)
	}

	// Snaplen truncation.
	{
		fx := g.add(&fixture{Path: "format/snaplen-96.pcap", Group: grp, NoTable: true, Desc: `
Captured with a 96-byte snapshot length (tcpdump -s 96): ` + exchangeDesc + `;
the request and response records hold 96 bytes (incl_len 96) of longer frames
(orig_len 154 and larger). A capture-quality problem, not damage: headers are
complete, payloads are cut, so HTTP cannot be parsed and TCP analysis must use
orig_len-derived lengths from the IP header.`})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet, Snaplen: 96})
		exchange(c, cliEP, srvEP, nil)
		c.done()
	}
}

func compress(data []byte, c capgen.Compression) []byte {
	var b bytes.Buffer
	w, err := capgen.Compress(&b, c)
	must(err)
	_, err = w.Write(data)
	must(err)
	must(w.Close())
	return b.Bytes()
}

// mergeFrames merges time-sorted frame lists by time (stable).
func mergeFrames(lists ...capgen.Frames) []capgen.Frame {
	var out []capgen.Frame
	idx := make([]int, len(lists))
	for {
		best := -1
		for i, l := range lists {
			if idx[i] < len(l) && (best < 0 || l[idx[i]].Time.Before(lists[best][idx[best]].Time)) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, lists[best][idx[best]])
		idx[best]++
	}
}

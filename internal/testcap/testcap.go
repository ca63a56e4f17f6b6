// Package testcap holds test-only helpers shared by the parser packages'
// tests: read the real captures in ../shared with gopacket (test code may use
// gopacket.NewPacket; the product never does) and reassemble TCP simply, as an
// independent check of flows/streams.
package testcap

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// SharedPcaps is the shared captures folder as seen from a package two
// levels below the repository root (flows/dns, flows/http).
const SharedPcaps = "../../../shared/pcaps"

// OracleRows reads ORACLE.tsv, skipping the test when the captures are absent.
func OracleRows(t *testing.T) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(SharedPcaps, "ORACLE.tsv"))
	if err != nil {
		t.Skipf("shared captures not available: %v", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			if i < len(rec) {
				row[h] = rec[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

func Atoi(s string) int { n, _ := strconv.Atoi(s); return n }

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// ReadCapture calls fn for every packet of a pcap or pcapng file (gzip
// allowed), decoded with gopacket. It stops quietly at the first read
// error, as tshark does.
func ReadCapture(t *testing.T, path string, fn func(ci gopacket.CaptureInfo, p gopacket.Packet)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var src packetSource
	var linkOf func(int) layers.LinkType
	if r, err := pcapgo.NewReader(bytes.NewReader(raw)); err == nil {
		src = r
		lt := r.LinkType()
		linkOf = func(int) layers.LinkType { return lt }
	} else if r, err := pcapgo.NewNgReader(bufio.NewReader(bytes.NewReader(raw)), pcapgo.NgReaderOptions{WantMixedLinkType: true}); err == nil {
		src = r
		linkOf = func(i int) layers.LinkType {
			ifc, err := r.Interface(i)
			if err != nil {
				return r.LinkType()
			}
			return ifc.LinkType
		}
	} else {
		t.Logf("%s: not readable: %v", path, err)
		return
	}
	// IPv4 fragments are reassembled, as tshark does by default (a tunnel
	// mirror such as zeek's erspan.pcap fragments the outer datagrams).
	// A datagram that never completes is handed on as its first fragment
	// at the end, because tshark then dissects what that fragment holds.
	type fragKey struct {
		src, dst string
		id       uint16
	}
	type firstFrag struct {
		ci gopacket.CaptureInfo
		p  gopacket.Packet
	}
	defrag := ip4defrag.NewIPv4Defragmenter()
	firsts := map[fragKey]firstFrag{}
	var firstOrder []fragKey
	defer func() {
		for _, k := range firstOrder {
			if f, ok := firsts[k]; ok {
				fn(f.ci, f.p)
			}
		}
	}()
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Logf("%s: read stops: %v", path, err)
			return
		}
		p := decode(data, linkOf(ci.InterfaceIndex))
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if ip == nil || ip.Flags&layers.IPv4MoreFragments == 0 && ip.FragOffset == 0 {
			fn(ci, p)
			continue
		}
		k := fragKey{ip.SrcIP.String(), ip.DstIP.String(), ip.Id}
		if ip.FragOffset == 0 {
			firsts[k] = firstFrag{ci, p}
			firstOrder = append(firstOrder, k)
		}
		whole, err := defrag.DefragIPv4WithTimestamp(ip, ci.Timestamp)
		if err != nil || whole == nil {
			continue
		}
		delete(firsts, k)
		buf := gopacket.NewSerializeBuffer()
		if gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, whole, gopacket.Payload(whole.Payload)) != nil {
			continue
		}
		fn(ci, gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default))
	}
}

// decode is gopacket.NewPacket plus the two link types tshark reads and
// gopacket does not: LINKTYPE_IPV4/IPV6 (228/229), and a BSD loopback
// header that is not an address family (one PcapPlusPlus sample carries
// 0f 00 08 00, which Wireshark reads as an Ethernet type in the low half).
func decode(data []byte, lt layers.LinkType) gopacket.Packet {
	byVersion := func(b []byte) gopacket.Packet {
		if len(b) > 0 && b[0]>>4 == 6 {
			return gopacket.NewPacket(b, layers.LayerTypeIPv6, gopacket.Default)
		}
		return gopacket.NewPacket(b, layers.LayerTypeIPv4, gopacket.Default)
	}
	switch lt {
	case 228, 229:
		return byVersion(data)
	}
	p := gopacket.NewPacket(data, lt, gopacket.Default)
	if p.ErrorLayer() != nil && (lt == layers.LinkTypeNull || lt == layers.LinkTypeLoop) && len(data) > 4 {
		return byVersion(data[4:])
	}
	return p
}

// transport returns the innermost UDP or TCP layer of p, skipping headers
// quoted inside ICMP errors (as the oracle does).
//
// The first fragment of a fragmented UDP datagram yields its UDP header and
// the start of its payload, because tshark dissects that much when the
// datagram cannot be reassembled; when it can, tshark counts it once, as
// this does (later fragments carry no UDP header).
func Transport(p gopacket.Packet) (udp *layers.UDP, tcp *layers.TCP) {
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.ICMPv4, *layers.ICMPv6:
			return nil, nil
		case *layers.IPv4:
			if l.Flags&layers.IPv4MoreFragments != 0 && l.FragOffset == 0 && l.Protocol == layers.IPProtocolUDP {
				u := &layers.UDP{}
				if u.DecodeFromBytes(l.Payload, gopacket.NilDecodeFeedback) == nil {
					udp, tcp = u, nil
				}
			}
		case *layers.UDP:
			udp, tcp = l, nil
		case *layers.TCP:
			udp, tcp = nil, l
		}
	}
	return udp, tcp
}

// DirKey names one direction of a TCP connection.
type DirKey struct {
	Src, Dst     string
	Sport, Dport uint16
}

func TCPDir(p gopacket.Packet, tcp *layers.TCP) DirKey {
	// The innermost IP header before this TCP header (tunnels nest them).
	var src, dst string
	for _, l := range p.Layers() {
		if l == gopacket.Layer(tcp) {
			break
		}
		if nl, ok := l.(gopacket.NetworkLayer); ok {
			f := nl.NetworkFlow()
			src, dst = f.Src().String(), f.Dst().String()
		}
	}
	return DirKey{src, dst, uint16(tcp.SrcPort), uint16(tcp.DstPort)}
}

type seg struct {
	seq  uint32
	data []byte
	ts   int64
}

// SimpleTCP reassembles one direction: in-order bytes are delivered at
// once, early segments wait (copied) until the hole fills or the end.
type SimpleTCP struct {
	started bool
	ISN     uint32 // initial sequence number, when a SYN was seen
	SynSeen bool
	next    uint32
	early   []seg
	Deliver func(data []byte, ts int64)
	Gap     func(n int)
}

// WireLen is the TCP payload length the IP header announces: more than
// len(tcp.Payload) when the snap length cut the packet.
func WireLen(p gopacket.Packet, tcp *layers.TCP) int {
	n := len(tcp.Payload)
	for _, l := range p.Layers() {
		if l == gopacket.Layer(tcp) {
			break
		}
		switch ip := l.(type) {
		case *layers.IPv4:
			n = int(ip.Length) - int(ip.IHL)*4
		case *layers.IPv6:
			n = int(ip.Length) - (len(ip.Payload) - len(tcp.Contents) - len(tcp.Payload))
			if n < 0 {
				n = int(ip.Length)
			}
		}
	}
	n -= len(tcp.Contents)
	if n < len(tcp.Payload) {
		return len(tcp.Payload)
	}
	return n
}

// addCut is add for a segment whose last wire-len(payload) bytes were not
// captured: they are reported as a gap right after the captured ones.
func (s *SimpleTCP) AddCut(tcp *layers.TCP, wire int, ts int64) {
	if missing := wire - len(tcp.Payload); missing > 0 && !tcp.SYN {
		if !s.started {
			s.started, s.next = true, tcp.Seq
		}
		if int32(tcp.Seq-s.next) <= 0 && int32(tcp.Seq+uint32(wire)-s.next) > 0 {
			s.segment(tcp.Seq, tcp.Payload, ts)
			if d := int32(tcp.Seq + uint32(wire) - s.next); d > 0 && s.Gap != nil {
				s.Gap(int(d))
				s.next += uint32(d)
				s.drain()
			}
		}
		return
	}
	s.Add(tcp, ts)
}

func (s *SimpleTCP) Add(tcp *layers.TCP, ts int64) {
	if tcp.SYN {
		if !s.SynSeen {
			s.started, s.next, s.ISN, s.SynSeen = true, tcp.Seq+1, tcp.Seq, true
		}
		return
	}
	if len(tcp.Payload) == 0 {
		return
	}
	if !s.started {
		s.started, s.next = true, tcp.Seq
	}
	s.segment(tcp.Seq, tcp.Payload, ts)
}

func (s *SimpleTCP) segment(seq uint32, data []byte, ts int64) {
	d := int32(seq - s.next)
	if d > 0 {
		s.early = append(s.early, seg{seq, bytes.Clone(data), ts})
		return
	}
	if int(-d) >= len(data) {
		return // retransmission of delivered bytes
	}
	s.Deliver(data[-d:], ts)
	s.next += uint32(len(data) + int(d))
	s.drain()
}

func (s *SimpleTCP) drain() {
	for progress := true; progress; {
		progress = false
		for i := 0; i < len(s.early); i++ {
			e := s.early[i]
			if int32(e.seq-s.next) <= 0 {
				s.early = append(s.early[:i], s.early[i+1:]...)
				s.segment(e.seq, e.data, e.ts)
				progress = true
				break
			}
		}
	}
}

// finish delivers what is still waiting, reporting the holes as gaps.
func (s *SimpleTCP) Finish() {
	for len(s.early) > 0 {
		sort.Slice(s.early, func(i, j int) bool { return int32(s.early[i].seq-s.early[j].seq) < 0 })
		e := s.early[0]
		if n := int32(e.seq - s.next); n > 0 {
			if s.Gap != nil {
				s.Gap(int(n))
			}
			s.next = e.seq
		}
		s.drain()
	}
}

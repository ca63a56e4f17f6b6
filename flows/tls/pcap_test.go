package tls

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sort"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Test-only capture reading and TCP reassembly: enough to hand Parsers the
// in-order bytes of each direction of each TCP connection in a capture.

const sharedDir = "../../../shared"

// endpoint is one side of a TCP connection.
type endpoint struct {
	addr netip.Addr
	port uint16
}

func (e endpoint) String() string { return netip.AddrPortFrom(e.addr, e.port).String() }

type segment struct {
	seq  uint32
	data []byte
	ts   int64
}

type direction struct {
	isn     uint32
	haveISN bool
	segs    []segment
}

// tcpConn is one TCP connection of a capture.
type tcpConn struct {
	index          int // order of first appearance in the capture
	client, server endpoint
	guessed        bool // no SYN seen: the first sender is taken as the client
	c2s, s2c       direction
}

type capture struct {
	conns []*tcpConn
}

// connsByClient finds the connections with this client and server.
func (c *capture) connsByClient(client, server endpoint) []*tcpConn {
	var out []*tcpConn
	for _, k := range c.conns {
		if k.client == client && k.server == server {
			out = append(out, k)
		}
	}
	return out
}

type packetSource interface {
	ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// readCapture reads a pcap or pcapng file and groups its TCP segments into
// connections (a SYN with a new ISN on a known 4-tuple starts a new one).
func readCapture(t testing.TB, path string) *capture {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var src packetSource
	var linkType func(gopacket.CaptureInfo) layers.LinkType
	if len(raw) >= 4 && bytes.Equal(raw[:4], []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src = r
		linkType = func(ci gopacket.CaptureInfo) layers.LinkType {
			if ifc, err := r.Interface(ci.InterfaceIndex); err == nil {
				return ifc.LinkType
			}
			return r.LinkType()
		}
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		src = r
		linkType = func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }
	}

	type key struct{ a, b endpoint }
	live := map[key]*tcpConn{}
	capt := &capture{}
	for {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Logf("%s: stopped reading: %v", path, err)
			break
		}
		pkt := gopacket.NewPacket(data, linkType(ci), gopacket.Default)
		var srcIP, dstIP netip.Addr
		var tcp *layers.TCP
		for _, l := range pkt.Layers() {
			switch l := l.(type) {
			case *layers.IPv4:
				srcIP, _ = netip.AddrFromSlice(l.SrcIP.To4())
				dstIP, _ = netip.AddrFromSlice(l.DstIP.To4())
			case *layers.IPv6:
				srcIP, _ = netip.AddrFromSlice(l.SrcIP)
				dstIP, _ = netip.AddrFromSlice(l.DstIP)
			case *layers.TCP:
				if tcp == nil {
					tcp = l
				}
			}
		}
		if tcp == nil || !srcIP.IsValid() {
			continue
		}
		from := endpoint{srcIP, uint16(tcp.SrcPort)}
		to := endpoint{dstIP, uint16(tcp.DstPort)}
		k := key{from, to}
		if to.String() < from.String() {
			k = key{to, from}
		}
		c := live[k]
		synOnly := tcp.SYN && !tcp.ACK
		if c != nil && synOnly && c.client == from && c.c2s.haveISN && c.c2s.isn != tcp.Seq {
			c = nil // port reuse: a new connection
		}
		if c == nil {
			c = &tcpConn{index: len(capt.conns), client: from, server: to, guessed: !synOnly}
			if tcp.SYN && tcp.ACK {
				c.client, c.server, c.guessed = to, from, false
			}
			live[k] = c
			capt.conns = append(capt.conns, c)
		}
		d := &c.c2s
		if from != c.client {
			d = &c.s2c
		}
		if tcp.SYN {
			d.isn, d.haveISN = tcp.Seq, true
		}
		if len(tcp.Payload) > 0 {
			seq := tcp.Seq
			if tcp.SYN {
				seq++
			}
			d.segs = append(d.segs, segment{seq: seq, data: append([]byte(nil), tcp.Payload...), ts: ci.Timestamp.UnixNano()})
		}
	}
	return capt
}

// replay feeds one direction's bytes to p in sequence order: duplicates
// and overlaps are dropped, holes are reported with Gap.
func (d *direction) replay(p *Parser) {
	if len(d.segs) == 0 {
		return
	}
	base := d.segs[0].seq
	if d.haveISN {
		base = d.isn + 1
	}
	type seg struct {
		off int64
		s   segment
	}
	segs := make([]seg, 0, len(d.segs))
	for _, s := range d.segs {
		segs = append(segs, seg{int64(int32(s.seq - base)), s})
	}
	sort.SliceStable(segs, func(i, j int) bool { return segs[i].off < segs[j].off })
	next := segs[0].off
	if d.haveISN {
		next = 0
	}
	for _, s := range segs {
		end := s.off + int64(len(s.s.data))
		if end <= next {
			continue
		}
		data := s.s.data
		if s.off < next {
			data = data[next-s.off:]
		} else if s.off > next {
			p.Gap(int(s.off - next))
		}
		p.Feed(data, s.s.ts)
		next = end
	}
}

// parse runs a Parser over each direction of c.
func (c *tcpConn) parse() (client, server *Parser) {
	client, server = NewParser(), NewParser()
	c.c2s.replay(client)
	c.s2c.replay(server)
	return client, server
}

func (c *tcpConn) String() string {
	return fmt.Sprintf("conn %d %v -> %v", c.index, c.client, c.server)
}

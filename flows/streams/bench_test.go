package streams_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
)

// BenchmarkDataPackets measures the steady state the issue asks to be free
// of allocations: TCP data packets of established connections whose
// parsers are past their heads (an HTTP body of 1 GB announced by
// Content-Length, on 16 connections taking turns), through the flow table
// (TCP analysis included) and the Tracker, as analyze.Run drives them. One
// op is one packet (a data segment, or the client's ACK every second
// segment). "reordered" swaps two segments of every 16, so the reassembler
// stores the later one until the earlier arrives (as a range: the parser
// only counts body bytes); "lost" drops one segment of every 64 and sends
// it again 8 segments later, so up to 8 segments wait behind a hole.
// The connections are set up before the timer starts.
func BenchmarkDataPackets(b *testing.B) {
	for _, mode := range []string{"in-order", "reordered", "lost"} {
		b.Run(mode, func(b *testing.B) {
			g := newDataGen(16, mode)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				g.next()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
			if g.tr.Stats.Gaps != 0 || g.tr.Stats.Segments == 0 {
				b.Fatalf("stats %+v: want segments fed and no gap", g.tr.Stats)
			}
		})
	}
}

// dataGen makes the packets of BenchmarkDataPackets without allocating:
// one payload buffer, sequence numbers and times by arithmetic.
type dataGen struct {
	table   *flows.Table
	tr      *streams.Tracker
	conns   []*genConn
	payload []byte
	mode    string
	now     int64
	turn    int
	frame   int64
	p       flows.Packet
}

type genConn struct {
	cli, srv netip.AddrPort
	cseq     uint32 // client's next sequence number
	sseq     uint32 // server's next sequence number
	segs     int    // body segments sent
	held     bool   // a segment is held back: heldSeq, sent after heldAt segments
	heldSeq  uint32
	heldAt   int
	ackDue   bool
}

const mss = 1448

func newDataGen(n int, mode string) *dataGen {
	g := &dataGen{mode: mode, payload: make([]byte, mss), now: 1_700_000_000e9}
	g.tr = streams.New(streams.Config{}, streams.Sinks{HTTP: func(*flows.HTTPRecord) {}})
	g.table = flows.NewTable(flows.Config{})
	for i := range n {
		c := &genConn{
			cli:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}), uint16(40000+i)),
			srv:  netip.MustParseAddrPort("10.1.0.1:80"),
			cseq: 1000, sseq: 50000,
		}
		g.conns = append(g.conns, c)
		g.send(c, flows.FromClient, flows.FlagSYN, c.cseq-1, 0, nil)
		g.send(c, flows.FromServer, flows.FlagSYN|flows.FlagACK, c.sseq-1, c.cseq, nil)
		g.send(c, flows.FromClient, flows.FlagACK, c.cseq, c.sseq, nil)
		req := []byte("GET /big HTTP/1.1\r\nHost: bench\r\n\r\n")
		g.send(c, flows.FromClient, flows.FlagACK|flows.FlagPSH, c.cseq, c.sseq, req)
		c.cseq += uint32(len(req))
		head := []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", 1<<30))
		g.send(c, flows.FromServer, flows.FlagACK, c.sseq, c.cseq, head)
		c.sseq += uint32(len(head))
	}
	return g
}

func (g *dataGen) send(c *genConn, dir flows.Dir, flags uint8, seq, ack uint32, payload []byte) {
	g.now += 20_000
	g.frame++
	p := &g.p
	src, dst := c.cli, c.srv
	if dir == flows.FromServer {
		src, dst = dst, src
	}
	*p = flows.Packet{
		Timestamp: g.now, Frame: g.frame, Kind: flows.KindTCP, Proto: flows.ProtoTCP,
		Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port(),
		Seq: seq, Ack: ack, Flags: flags, Window: 65535, WScale: -1,
		Payload: payload, PayloadLen: len(payload), IPLen: 40 + len(payload), WireLen: 54 + len(payload),
	}
	f, d, _ := g.table.Process(p)
	g.tr.Packet(p, f, d)
}

// next sends one packet: the client's ACK when due, else the next body
// segment of the connection whose turn it is (or a held one).
func (g *dataGen) next() {
	c := g.conns[g.turn]
	if c.ackDue {
		c.ackDue = false
		g.turn = (g.turn + 1) % len(g.conns)
		g.send(c, flows.FromClient, flows.FlagACK, c.cseq, c.sseq, nil)
		return
	}
	c.ackDue = c.segs%2 == 1
	if c.held && c.heldAt <= c.segs {
		c.held = false
		g.send(c, flows.FromServer, flows.FlagACK, c.heldSeq, c.cseq, g.payload)
		return
	}
	seq := c.sseq
	c.sseq += mss
	c.segs++
	switch {
	case g.mode == "reordered" && c.segs%16 == 0:
		c.held, c.heldSeq, c.heldAt = true, seq, c.segs+1
		seq = c.sseq // the next one first
		c.sseq += mss
		c.segs++
	case g.mode == "lost" && c.segs%64 == 0:
		c.held, c.heldSeq, c.heldAt = true, seq, c.segs+8
		seq = c.sseq
		c.sseq += mss
		c.segs++
	}
	g.send(c, flows.FromServer, flows.FlagACK, seq, c.cseq, g.payload)
}

// TestDataPacketsDoNotAllocate: in the steady state of
// BenchmarkDataPackets, 20 000 packets in each mode allocate nothing at all
// (not merely less than one allocation per packet on average, which is
// what the benchmark's allocs/op shows).
func TestDataPacketsDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("counts allocations over 180 000 packets")
	}
	for _, mode := range []string{"in-order", "reordered", "lost"} {
		g := newDataGen(16, mode)
		// Past the first reorderings and losses: the reassembler's pools
		// and the TCP analysis's evidence (5 frames per problem) are full.
		for range 40000 {
			g.next()
		}
		n := testing.AllocsPerRun(1, func() {
			for range 20000 {
				g.next()
			}
		})
		if n != 0 {
			t.Errorf("%s: %v allocations over 20 000 packets", mode, n)
		}
	}
}

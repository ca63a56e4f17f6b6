package flows

import (
	"net/netip"
	"testing"
)

// conv builds TCP packets for one connection by hand, so each analysis rule
// can be pinned with a few segments. Times are in ms from 0.
type conv struct {
	t      *testing.T
	table  *Table
	cli    netip.Addr
	srv    netip.Addr
	cport  uint16
	sport  uint16
	frame  int64
	got    []Analysis
	ended  []Record
	nextID uint16 // the IP identification of the next segment (0: none)
	scale  int8
	window uint16
}

func newConv(t *testing.T) *conv {
	c := &conv{t: t, cli: netip.MustParseAddr("10.0.0.1"), srv: netip.MustParseAddr("10.0.0.2"), cport: 40000, sport: 80, window: 1000, scale: -1}
	c.table = NewTable(Config{OnEnd: func(f *Flow) { c.ended = append(c.ended, f.Record(nil)) }})
	return c
}

// seg sends one segment: from client when fromCli, at ms, with flags, seq,
// ack and payload length; win is the advertised window (raw).
func (c *conv) seg(ms float64, fromCli bool, flags uint8, seq, ack uint32, n int, win uint16) Analysis {
	c.frame++
	p := Packet{Timestamp: 1_700_000_000e9 + int64(ms*1e6), Frame: c.frame, Kind: KindTCP, Proto: ProtoTCP,
		Seq: seq, Ack: ack, Flags: flags, Window: win, WScale: -1, PayloadLen: n, IPLen: 40 + n, IPID: c.nextID}
	if fromCli {
		p.Src, p.Dst, p.SrcPort, p.DstPort = c.cli, c.srv, c.cport, c.sport
	} else {
		p.Src, p.Dst, p.SrcPort, p.DstPort = c.srv, c.cli, c.sport, c.cport
	}
	if flags&FlagSYN != 0 {
		p.MSS = 1460
		p.WScale = c.scale
	}
	_, _, a := c.table.Process(&p)
	c.got = append(c.got, a)
	return a
}

const (
	cISN = 1000
	sISN = 5000
)

// handshake: SYN at 0, SYN-ACK at synack ms, ACK at ack ms.
func (c *conv) handshake(synack, ack float64) {
	c.seg(0, true, FlagSYN, cISN, 0, 0, c.window)
	c.seg(synack, false, FlagSYN|FlagACK, sISN, cISN+1, 0, c.window)
	c.seg(ack, true, FlagACK, cISN+1, sISN+1, 0, c.window)
}

func (c *conv) expect(frame int64, want Analysis) {
	c.t.Helper()
	// ignore the informational AReset bit unless asked for
	got := c.got[frame-1]
	if got != want {
		c.t.Errorf("frame %d: analysis %s, want %s", frame, got, want)
	}
}

func TestTCPAnalysisRules(t *testing.T) {
	const A, PA, FA = FlagACK, FlagACK | FlagPSH, FlagFIN | FlagACK
	s := uint32(sISN + 1)
	cl := uint32(cISN + 1)

	t.Run("clean exchange", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, true, PA, cl, s, 100, 1000)
		c.seg(31, false, A, s, cl+100, 0, 1000)
		c.seg(32, false, PA, s, cl+100, 500, 1000)
		c.seg(42, true, A, cl+100, s+500, 0, 1000)
		c.seg(43, true, FA, cl+100, s+500, 0, 1000)
		c.seg(53, false, FA, s+500, cl+101, 0, 1000)
		c.seg(63, true, A, cl+101, s+501, 0, 1000)
		for i := range c.got {
			c.expect(int64(i+1), 0)
		}
		c.table.Flush()
		r := c.ended[0]
		if r.State != "SF" || r.History != "ShADadFf" {
			t.Errorf("state %s history %s, want SF ShADadFf", r.State, r.History)
		}
		if r.SYNToSYNACK != 10 || r.SYNACKToACK != 10 || r.CaptureSide != "middle" {
			t.Errorf("handshake %v/%v side %s", r.SYNToSYNACK, r.SYNACKToACK, r.CaptureSide)
		}
	})

	t.Run("retransmission by timeout", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, false, PA, s, cl, 100, 1000)
		c.seg(321, false, PA, s, cl, 100, 1000)
		c.expect(5, ARetransmission)
	})

	t.Run("fast retransmission", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, false, PA, s, cl, 100, 1000)     // 4
		c.seg(22, false, PA, s+100, cl, 100, 1000) // 5: lost downstream
		c.seg(23, false, PA, s+200, cl, 100, 1000) // 6
		c.seg(31, true, A, cl, s+100, 0, 1000)     // 7 ack
		c.seg(32, true, A, cl, s+100, 0, 1000)     // 8 dup 1
		c.seg(33, true, A, cl, s+100, 0, 1000)     // 9 dup 2
		c.seg(40, false, PA, s+100, cl, 100, 1000) // 10 fast retransmission
		c.expect(8, ADuplicateAck)
		c.expect(9, ADuplicateAck)
		c.expect(10, AFastRetransmission|ARetransmission)
	})

	t.Run("spurious retransmission", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, false, PA, s, cl, 100, 1000)
		c.seg(31, true, A, cl, s+100, 0, 1000)
		c.seg(300, false, PA, s, cl, 100, 1000)
		c.expect(6, ASpuriousRetransmission|ARetransmission)
	})

	t.Run("out of order and lost segment", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, false, PA, s, cl, 100, 1000)
		c.seg(22, false, PA, s+200, cl, 100, 1000)
		c.seg(23, false, PA, s+100, cl, 100, 1000)
		c.expect(5, ALostSegment)
		c.expect(6, AOutOfOrder)
	})

	t.Run("near the sender a quick resend is a retransmission", func(t *testing.T) {
		c := newConv(t)
		c.handshake(0.05, 40) // SYN-ACK answered at once: captured at the server
		c.seg(41, false, PA, s, cl, 100, 1000)
		c.seg(42, false, PA, s+100, cl, 100, 1000)
		c.seg(45, false, PA, s, cl, 100, 1000) // resent within the handshake RTT
		c.expect(6, ARetransmission|ANearRetransmission)
		c.table.Flush()
		if c.ended[0].CaptureSide != "server" {
			t.Errorf("capture side %s, want server", c.ended[0].CaptureSide)
		}
	})

	t.Run("zero window, probe, update", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, false, PA, s, cl, 100, 1000)
		c.seg(22, true, A, cl, s+100, 0, 0)      // 5 zero window
		c.seg(300, false, A, s+100, cl, 1, 1000) // 6 zero window probe
		c.seg(301, true, A, cl, s+100, 0, 0)     // 7 probe ack (still zero)
		c.seg(900, true, A, cl, s+100, 0, 2000)  // 8 window update
		c.expect(5, AZeroWindow)
		c.expect(6, AZeroWindowProbe)
		c.expect(7, AZeroWindow|AZeroWindowProbeAck)
		c.expect(8, AWindowUpdate)
		c.table.Flush()
		if zw := c.ended[0].ZeroWindowTime; zw != 878 {
			t.Errorf("zero window time %v ms, want 878", zw)
		}
	})

	t.Run("zero window opened at an earlier timestamp", func(t *testing.T) {
		// Timestamps that go backwards (merged interfaces with skewed
		// clocks) made the zero-window time negative (FuzzAnalyze).
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, false, PA, s, cl, 100, 1000)
		c.seg(500, true, A, cl, s+100, 0, 0)    // 5 zero window
		c.seg(100, true, A, cl, s+100, 0, 2000) // 6 opened, 400 ms "before"
		c.seg(600, true, A, cl, s+100, 0, 0)    // 7 zero window again
		c.seg(700, true, A, cl, s+100, 0, 2000) // 8 opened 100 ms later
		c.table.Flush()
		if zw := c.ended[0].ZeroWindowTime; zw != 100 {
			t.Errorf("zero window time %v ms, want 100", zw)
		}
	})

	t.Run("keep-alive", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(21, true, PA, cl, s, 10, 1000)
		c.seg(31, false, A, s, cl+10, 0, 1000)
		c.seg(60000, true, A, cl+9, s, 0, 1000)   // keep-alive
		c.seg(60010, false, A, s, cl+10, 0, 1000) // keep-alive ACK
		c.expect(6, AKeepAlive)
		c.expect(7, AKeepAliveAck)
	})

	t.Run("connection refused", func(t *testing.T) {
		c := newConv(t)
		c.seg(0, true, FlagSYN, cISN, 0, 0, 1000)
		c.seg(1, false, FlagRST|FlagACK, 0, cISN+1, 0, 0)
		c.table.Flush()
		if r := c.ended[0]; r.State != "REJ" || r.History != "Sr" || r.Resets != 1 {
			t.Errorf("state %s history %s resets %d, want REJ Sr 1", r.State, r.History, r.Resets)
		}
	})

	t.Run("SYN never answered", func(t *testing.T) {
		c := newConv(t)
		c.seg(0, true, FlagSYN, cISN, 0, 0, 1000)
		c.seg(1000, true, FlagSYN, cISN, 0, 0, 1000)
		c.seg(3000, true, FlagSYN, cISN, 0, 0, 1000)
		c.expect(2, ARetransmission)
		c.expect(3, ARetransmission)
		c.table.Flush()
		if r := c.ended[0]; r.State != "S0" || r.History != "S" {
			t.Errorf("state %s history %s, want S0 S", r.State, r.History)
		}
	})

	t.Run("reused port opens a new stream", func(t *testing.T) {
		c := newConv(t)
		c.handshake(10, 20)
		c.seg(30, true, FA, cl, s, 0, 1000)
		c.seg(31, false, FA, s, cl+1, 0, 1000)
		c.seg(32, true, A, cl+1, s+1, 0, 1000)
		c.seg(40, true, FlagSYN, cISN+50000, 0, 0, 1000)
		c.table.Flush()
		if len(c.ended) != 2 || c.ended[0].Stream != 0 || c.ended[1].Stream != 1 {
			t.Fatalf("flows %+v", c.ended)
		}
	})

	t.Run("midstream capture guesses the client", func(t *testing.T) {
		c := newConv(t)
		c.seg(0, false, PA, s, cl, 100, 1000)
		c.seg(1, true, A, cl, s+100, 0, 1000)
		c.seg(2, false, PA, s+100, cl, 100, 1000)
		for i := range c.got {
			c.expect(int64(i+1), 0)
		}
		c.table.Flush()
		r := c.ended[0]
		if !r.ClientGuessed || r.SrcPort != 40000 || r.DstPort != 80 {
			t.Errorf("client %s:%d guessed=%v, want 10.0.0.1:40000 guessed", r.SrcAddr, r.SrcPort, r.ClientGuessed)
		}
	})
}

// A flood of resets at ever new sequence numbers into one connection
// (Zeek adds an R for each) keeps its history bounded.
func TestHistoryBounded(t *testing.T) {
	c := newConv(t)
	c.handshake(1, 2)
	for i := range 10000 {
		c.seg(3+float64(i)*0.01, i%2 == 0, FlagRST|FlagACK, cISN+1+uint32(i), sISN+1, 0, c.window)
	}
	c.table.Flush()
	longest := 0
	for _, r := range c.ended {
		longest = max(longest, len(r.History))
	}
	if longest != maxHistory {
		t.Errorf("longest history %d letters, want the cap %d (%d flows)", longest, maxHistory, len(c.ended))
	}
}

package flows

import (
	"slices"
	"testing"
)

// TestStall pins the stall bookkeeping (tcp-stall's input) on connections
// built by hand: a real wait, and the look-alikes found in real captures
// where Wireshark's next sequence number runs ahead of the data sent, so that
// every gap between the peer's ACKs looked like a wait and the next data
// like a resend.
func TestStall(t *testing.T) {
	const mss = 1000
	for _, c := range []struct {
		name    string
		script  func(c *conv)
		stallMS float64 // the longest wait (0: none)
		by      string
		resends int
		frames  []int64 // the resends' frames
		afterZW bool
	}{
		{
			name: "loss: the server's segment is sent again with back-off until the ACK comes",
			script: func(c *conv) {
				c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window)           // 4: request
				c.seg(20, false, FlagACK, sISN+1, cISN+101, mss, c.window)                // 5
				c.seg(30, true, FlagACK, cISN+101, sISN+1+mss, 0, c.window)               // 6
				c.seg(40, false, FlagACK, sISN+1+mss, cISN+101, mss, c.window)            // 7: lost
				c.seg(240, false, FlagACK, sISN+1+mss, cISN+101, mss, c.window)           // 8
				c.seg(640, false, FlagACK, sISN+1+mss, cISN+101, mss, c.window)           // 9
				c.seg(1440, false, FlagACK, sISN+1+mss, cISN+101, mss, c.window)          // 10
				c.seg(1450, true, FlagACK, cISN+101, sISN+1+2*mss, 0, c.window)           // 11
				c.seg(1460, false, FlagACK|FlagPSH, sISN+1+2*mss, cISN+101, 10, c.window) // 12
				c.seg(1470, true, FlagACK, cISN+101, sISN+11+2*mss, 0, c.window)          // 13
			},
			stallMS: 1410, by: "server", resends: 3, frames: []int64{8, 9, 10},
		},
		{
			// gopacket cip.pcap 10.200.1.18:1054: the client's SYN, ACK and
			// request replayed every 20 s, the server resetting each within
			// a millisecond: no 122 s wait with resends.
			name: "the receiver's reset ends the wait",
			script: func(c *conv) {
				c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window)    // 4: request
				c.seg(10.5, false, FlagRST, sISN+1, 0, 0, 0)                       // 5
				c.seg(20010, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window) // 6: the same again
				c.seg(20010.5, false, FlagRST, sISN+1, 0, 0, 0)                    // 7
				c.seg(40010, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window) // 8
				c.seg(40010.5, false, FlagRST, sISN+1, 0, 0, 0)                    // 9
			},
			stallMS: 0.5, by: "client",
		},
		{
			// http-sha256-drop-02, tcp/reassembly.pcap: the wait that an
			// ACK of the first of two segments starts is no zero window's.
			name: "a wait begun by a partial ACK is not after a zero window",
			script: func(c *conv) {
				c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window) // 4: request
				c.seg(20, false, FlagACK, sISN+1, cISN+101, mss, c.window)      // 5
				c.seg(21, false, FlagACK, sISN+1+mss, cISN+101, mss, c.window)  // 6: lost
				c.seg(30, true, FlagACK, cISN+101, sISN+1+mss, 0, c.window)     // 7: acks 5 only
				c.seg(230, false, FlagACK, sISN+1+mss, cISN+101, mss, c.window) // 8
				c.seg(630, false, FlagACK, sISN+1+mss, cISN+101, mss, c.window) // 9
				c.seg(1440, true, FlagACK, cISN+101, sISN+1+2*mss, 0, c.window) // 10
			},
			stallMS: 1410, by: "server", resends: 2, frames: []int64{8, 9},
		},
		{
			// nDPI heuristic_tcp_ack_payload.pcap: the IP total length of
			// every pure ACK counts the frame's Ethernet padding (6 zero
			// bytes); the client acknowledges up to them, never into them,
			// and the server's next data, a minute later, reuses their
			// sequence numbers (tshark: a retransmission).
			name: "padding counted as payload on pure ACKs is not data waiting",
			script: func(c *conv) {
				c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window)        // 4
				c.seg(20, false, FlagACK|FlagPSH, sISN+1, cISN+101, 200, c.window)     // 5
				c.pad(21, false, sISN+201, cISN+101, 6)                                // 6: padding
				c.seg(30, true, FlagACK, cISN+101, sISN+201, 0, c.window)              // 7
				c.seg(60030, false, FlagACK|FlagPSH, sISN+201, cISN+101, 46, c.window) // 8
				c.seg(60040, true, FlagACK, cISN+101, sISN+247, 0, c.window)           // 9
				c.pad(60041, false, sISN+247, cISN+101, 6)                             // 10
				c.seg(90000, true, FlagACK|FlagPSH, cISN+101, sISN+247, 50, c.window)  // 11
				c.seg(90010, false, FlagACK|FlagPSH, sISN+247, cISN+151, 50, c.window) // 12
				c.seg(90020, true, FlagACK, cISN+151, sISN+297, 0, c.window)           // 13
			},
		},
		{
			// KakaoTalk_chat.pcap tcp.stream 2: the SYN was sent twice and a
			// second SYN-ACK came with another ISN, ~99 MB ahead; the client
			// kept acknowledging the first incarnation's data.
			name: "a SYN-ACK with a new ISN does not leave the server's data outstanding",
			script: func(c *conv) {
				c.seg(100, false, FlagSYN|FlagACK, sISN+99_000_000, cISN+1, 0, c.window) // 4: the other incarnation
				c.seg(110, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window)         // 5
				c.seg(120, false, FlagACK|FlagPSH, sISN+1, cISN+101, 200, c.window)      // 6
				c.seg(130, true, FlagACK, cISN+101, sISN+201, 0, c.window)               // 7
				c.seg(5130, false, FlagACK|FlagPSH, sISN+201, cISN+101, 30, c.window)    // 8
				c.seg(5140, true, FlagACK, cISN+101, sISN+231, 0, c.window)              // 9
			},
		},
		{
			name: "a zero window explains the wait while it lasts",
			script: func(c *conv) {
				c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window)         // 4
				c.seg(20, false, FlagACK, sISN+1, cISN+101, mss, c.window)              // 5
				c.seg(30, true, FlagACK, cISN+101, sISN+1, 0, 0)                        // 6: zero window
				c.seg(2030, false, FlagACK, sISN+1, cISN+101, mss, c.window)            // 7: sent again
				c.seg(4030, true, FlagACK, cISN+101, sISN+1, 0, 0)                      // 8
				c.seg(6030, true, FlagACK, cISN+101, sISN+1+mss, 0, c.window)           // 9: reads, opens
				c.seg(6040, false, FlagACK|FlagPSH, sISN+1+mss, cISN+101, 10, c.window) // 10
				c.seg(6050, true, FlagACK, cISN+101, sISN+11+mss, 0, c.window)          // 11
			},
		},
		{
			// 206_example_b.pcap tcp.stream 0: a zero window of ~20 ms, the
			// window opened again without acknowledging anything, then 80 s
			// of resends and the server's reset.
			name: "after the zero window opens, the wait is a stall again",
			script: func(c *conv) {
				c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window) // 4
				c.seg(20, false, FlagACK, sISN+1, cISN+101, mss, c.window)      // 5
				c.seg(30, true, FlagACK, cISN+101, sISN+1, 0, 0)                // 6: zero window
				c.seg(50, true, FlagACK, cISN+101, sISN+1, 0, c.window)         // 7: open again
				c.seg(450, false, FlagACK, sISN+1, cISN+101, mss, c.window)     // 8
				c.seg(1250, false, FlagACK, sISN+1, cISN+101, mss, c.window)    // 9
				c.seg(2850, false, FlagACK, sISN+1, cISN+101, mss, c.window)    // 10
				c.seg(3050, true, FlagACK, cISN+101, sISN+1+mss, 0, c.window)   // 11
			},
			stallMS: 3000, by: "server", resends: 3, frames: []int64{8, 9, 10}, afterZW: true,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			cv := newConv(t)
			cv.handshake(1, 2)
			c.script(cv)
			cv.table.Flush()
			if len(cv.ended) != 1 {
				t.Fatalf("%d flows ended", len(cv.ended))
			}
			r := cv.ended[0]
			if c.stallMS == 0 {
				if r.Stall.Resends != 0 || r.StallMS > 100 {
					t.Errorf("a wait of %.0f ms by the %s with %d resends (frames %v), want none", r.StallMS, r.StallBy, r.Stall.Resends, r.Stall.Frames)
				}
				return
			}
			var frames []int64
			for _, f := range r.Stall.Frames {
				frames = append(frames, f.Frame)
			}
			if !approx(r.StallMS, c.stallMS, 1) || r.StallBy != c.by || r.Stall.Resends != c.resends || !slices.Equal(frames, c.frames) ||
				r.Stall.AfterZeroWindow != c.afterZW {
				t.Errorf("wait %.0f ms by the %s, %d resends in frames %v, after a zero window %v; want %.0f ms by the %s, %d in %v, %v",
					r.StallMS, r.StallBy, r.Stall.Resends, frames, r.Stall.AfterZeroWindow, c.stallMS, c.by, c.resends, c.frames, c.afterZW)
			}
		})
	}
}

// pad sends a pure ACK whose IP total length counts the 6 bytes of padding of
// a minimum-size Ethernet frame: n zero bytes of "payload".
func (c *conv) pad(ms float64, fromCli bool, seq, ack uint32, n int) {
	c.frame++
	p := Packet{Timestamp: 1_700_000_000e9 + int64(ms*1e6), Frame: c.frame, Kind: KindTCP, Proto: ProtoTCP,
		Seq: seq, Ack: ack, Flags: FlagACK, Window: c.window, WScale: -1, PayloadLen: n, IPLen: 40 + n, Payload: make([]byte, n)}
	if fromCli {
		p.Src, p.Dst, p.SrcPort, p.DstPort = c.cli, c.srv, c.cport, c.sport
	} else {
		p.Src, p.Dst, p.SrcPort, p.DstPort = c.srv, c.cli, c.sport, c.cport
	}
	_, _, a := c.table.Process(&p)
	c.got = append(c.got, a)
}

// TestNotResent: data that Wireshark flags as a retransmission only because
// zero bytes of padding on ACKs took its sequence numbers first sends
// nothing again (Record.NotResent); data sent again is a resend.
func TestNotResent(t *testing.T) {
	c := newConv(t)
	c.handshake(1, 2)
	c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window)        // 4
	c.seg(20, false, FlagACK|FlagPSH, sISN+1, cISN+101, 200, c.window)     // 5
	c.pad(21, false, sISN+201, cISN+101, 6)                                // 6: padding
	c.seg(30, true, FlagACK, cISN+101, sISN+201, 0, c.window)              // 7
	c.seg(60030, false, FlagACK|FlagPSH, sISN+201, cISN+101, 46, c.window) // 8: new data on the padding's numbers
	c.seg(60040, true, FlagACK, cISN+101, sISN+247, 0, c.window)           // 9
	c.seg(60300, false, FlagACK|FlagPSH, sISN+201, cISN+101, 46, c.window) // 10: 8 sent again
	c.table.Flush()
	for _, n := range []int{8, 10} {
		if c.got[n-1]&ARetransmission == 0 {
			t.Fatalf("frame %d is not flagged a retransmission: %v", n, c.got[n-1])
		}
	}
	r := c.ended[0]
	if r.Retransmissions != 2 || r.NotResent != 1 || r.Resends() != 2 {
		t.Errorf("retransmissions %d, not resent %d; want 2, 1", r.Retransmissions, r.NotResent)
	}
}

// TestFINResends: a FIN without data sent again is counted apart
// (Record.FINResends): the close, not the transfer.
func TestFINResends(t *testing.T) {
	c := newConv(t)
	c.handshake(1, 2)
	c.seg(10, true, FlagACK|FlagPSH, cISN+1, sISN+1, 100, c.window)   // 4
	c.seg(20, false, FlagACK, sISN+1, cISN+101, 0, c.window)          // 5
	c.seg(30, true, FlagACK|FlagFIN, cISN+101, sISN+1, 0, c.window)   // 6
	c.seg(230, true, FlagACK|FlagFIN, cISN+101, sISN+1, 0, c.window)  // 7: sent again
	c.seg(240, false, FlagACK|FlagFIN, sISN+1, cISN+102, 0, c.window) // 8
	c.seg(250, true, FlagACK, cISN+102, sISN+2, 0, c.window)          // 9
	c.table.Flush()
	if c.got[6]&ARetransmission == 0 {
		t.Fatalf("the second FIN is not flagged a retransmission: %v", c.got[6])
	}
	if r := c.ended[0]; r.Retransmissions != 1 || r.FINResends != 1 || r.NotResent != 0 {
		t.Errorf("retransmissions %d, FIN resends %d, not resent %d; want 1, 1, 0", r.Retransmissions, r.FINResends, r.NotResent)
	}
}

package flows

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

// The path RTT, the handshake's retransmissions and waits, and the first
// data segment's resends, checked on connections scripted with capgen.
// capgen moves its clock 10µs after every written packet, so the expected
// values below carry those steps; the tolerance absorbs them.

// rttTol is the tolerance of the millisecond comparisons.
const rttTol = 0.5

// firstData is what TCPFlow.FirstData returned for one direction, with at
// made relative to the start of the capture.
type firstData struct {
	at     time.Duration
	resent int
	wait   time.Duration
}

// rttRun is the outcome of one scripted connection.
type rttRun struct {
	rec   Record
	first [2]firstData
}

// runTCPConn scripts one connection captured at vantage v, decodes the
// frames and runs them through a Table, and returns the flow's record and
// FirstData of both directions as seen when the flow ended.
func runTCPConn(t *testing.T, v capgen.Vantage, script func(c *capgen.TCPConn)) rttRun {
	t.Helper()
	var frames capgen.Frames
	cli := netip.MustParseAddrPort("10.1.0.1:40123")
	srv := netip.MustParseAddrPort("10.2.0.2:443")
	c := capgen.NewTCPConn(&frames, cli, srv, &capgen.TCPOptions{Vantage: v, Start: capgen.Epoch})
	script(c)
	if err := c.Err(); err != nil {
		t.Fatalf("capgen: %v", err)
	}

	start := capgen.Epoch.UnixNano()
	var runs []rttRun
	table := NewTable(Config{OnEnd: func(f *Flow) {
		r := rttRun{rec: f.Record(nil)}
		if f.TCP == nil {
			t.Fatalf("flow %v has no TCP state", f.Key)
		}
		for _, d := range []Dir{FromClient, FromServer} {
			at, n, wait := f.TCP.FirstData(d)
			if at != 0 {
				at -= start
			}
			r.first[d] = firstData{time.Duration(at), n, time.Duration(wait)}
		}
		runs = append(runs, r)
	}})
	dec := NewDecoder()
	var p Packet
	for i, fr := range frames {
		p.Timestamp, p.File, p.Frame = fr.Time.UnixNano(), 0, int64(i+1)
		p.WireLen = fr.OrigLen
		if p.WireLen == 0 {
			p.WireLen = len(fr.Data)
		}
		if kind := dec.Decode(uint16(capgen.LinkTypeEthernet), fr.Data, &p); kind != KindTCP {
			t.Fatalf("frame %d: decoded as %v, want TCP", i+1, kind)
		}
		table.Process(&p)
	}
	table.Flush()
	if len(runs) != 1 {
		t.Fatalf("%d flows ended, want 1", len(runs))
	}
	return runs[0]
}

func approx(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// rttWant are the expected record fields; a NaN float is not checked.
type rttWant struct {
	side        string
	synRetx     int64
	synAckRetx  int64
	waitMS      float64
	rttMS       float64
	handshakeMS float64
}

func (w rttWant) check(t *testing.T, r Record) {
	t.Helper()
	if w.side != "" && r.CaptureSide != w.side {
		t.Errorf("capture side %q, want %q", r.CaptureSide, w.side)
	}
	if r.SYNRetransmissions != w.synRetx {
		t.Errorf("SYNRetransmissions %d, want %d", r.SYNRetransmissions, w.synRetx)
	}
	if r.SYNACKRetransmissions != w.synAckRetx {
		t.Errorf("SYNACKRetransmissions %d, want %d", r.SYNACKRetransmissions, w.synAckRetx)
	}
	if !math.IsNaN(w.waitMS) && !approx(r.HandshakeWaitMS, w.waitMS, rttTol) {
		t.Errorf("HandshakeWaitMS %.3f, want %.3f", r.HandshakeWaitMS, w.waitMS)
	}
	if !math.IsNaN(w.rttMS) && !approx(r.RTTMS, w.rttMS, rttTol) {
		t.Errorf("RTTMS %.3f, want %.3f", r.RTTMS, w.rttMS)
	}
	if !math.IsNaN(w.handshakeMS) && !approx(r.HandshakeRTT, w.handshakeMS, rttTol) {
		t.Errorf("HandshakeRTT %.3f, want %.3f", r.HandshakeRTT, w.handshakeMS)
	}
}

var nan = math.NaN()

const msec = time.Millisecond

func TestTCPHandshakeRetransmissions(t *testing.T) {
	cases := []struct {
		name    string
		vantage capgen.Vantage
		script  func(c *capgen.TCPConn)
		want    rttWant
		extra   func(t *testing.T, r Record)
	}{
		{
			name:    "clean handshake near the client",
			vantage: capgen.NearClient,
			script:  func(c *capgen.TCPConn) { c.Handshake(100 * msec) },
			want:    rttWant{side: "client", waitMS: 0, rttMS: 100, handshakeMS: 100},
			extra: func(t *testing.T, r Record) {
				if r.HandshakeWaitMS != 0 {
					t.Errorf("HandshakeWaitMS %v, want exactly 0 without retransmissions", r.HandshakeWaitMS)
				}
			},
		},
		{
			name:    "clean handshake near the server",
			vantage: capgen.NearServer,
			script:  func(c *capgen.TCPConn) { c.Handshake(60 * msec) },
			want:    rttWant{side: "server", waitMS: 0, rttMS: 60, handshakeMS: 60},
		},
		{
			// SYN at 0 lost, SYN again at 1000.01, SYN-ACK 1100.02, ACK
			// 1100.03: the exchange that worked is 100.02 ms, the rest
			// was the retransmission timeout.
			name:    "first SYN lost",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.Sleep(time.Second)
				c.Syn()
				c.Sleep(100 * msec)
				c.SynAck()
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "client", synRetx: 1, waitMS: 1000, rttMS: 100, handshakeMS: 1100},
		},
		{
			name:    "two SYNs lost",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.Sleep(time.Second)
				c.Syn()
				c.Sleep(2 * time.Second)
				c.Syn()
				c.Sleep(100 * msec)
				c.SynAck()
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "client", synRetx: 2, waitMS: 3000, rttMS: 100, handshakeMS: 3100},
		},
		{
			// The same SYN captured twice 50µs apart: counted, but it
			// delayed nothing.
			name:    "SYN captured twice",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.Sleep(40 * time.Microsecond) // + the 10µs step: 50µs apart
				c.Syn()
				c.Sleep(100 * msec)
				c.SynAck()
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "client", synRetx: 1, waitMS: 0.05, rttMS: 100, handshakeMS: 100},
			extra: func(t *testing.T, r Record) {
				if r.HandshakeWaitMS >= 1 {
					t.Errorf("HandshakeWaitMS %.3f, want < 1 for a capture duplicate", r.HandshakeWaitMS)
				}
			},
		},
		{
			// SYN 0, SYN-ACK 0.01 (lost on the way), the server's timer
			// sends it again at 1000.02, ACK at 1050.03.
			name:    "SYN-ACK retransmitted by the server's timer",
			vantage: capgen.NearServer,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.SynAck()
				c.Sleep(time.Second)
				c.SynAck()
				c.Sleep(50 * msec)
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "server", synAckRetx: 1, waitMS: 1000, rttMS: 50, handshakeMS: 1050},
		},
		{
			// The SYN-ACK is lost, the client's SYN timer fires first and
			// the server answers the new SYN: both were sent again.
			name:    "SYN-ACK lost, SYN and SYN-ACK sent again",
			vantage: capgen.NearServer,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.SynAck()
				c.Sleep(time.Second)
				c.Syn()
				c.SynAck()
				c.Sleep(50 * msec)
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "server", synRetx: 1, synAckRetx: 1, waitMS: 1000, rttMS: 50, handshakeMS: 1050},
		},
		{
			// A SYN-ACK copy after the client's ACK (the server missed
			// the ACK) delayed nothing: no wait, and the clean exchange
			// is still the path RTT.
			name:    "SYN-ACK copy after the ACK near the client",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Handshake(100 * msec)
				c.Sleep(200 * msec)
				c.SynAck()
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "client", synAckRetx: 1, waitMS: 0, rttMS: 100, handshakeMS: 100},
		},
		{
			// A real timer wait followed by a late copy after the ACK:
			// the late copy must not turn the exchange that worked into
			// an unknown one (which would lose the wait and the RTT).
			name:    "SYN-ACK retransmitted, and another copy after the ACK",
			vantage: capgen.NearServer,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.SynAck()
				c.Sleep(time.Second)
				c.SynAck()
				c.Sleep(50 * msec)
				c.Ack(capgen.Client)
				c.Sleep(time.Second)
				c.SynAck()
			},
			want: rttWant{side: "server", synAckRetx: 2, waitMS: 1000, rttMS: 50, handshakeMS: 1050},
		},
		{
			// The SYN-ACK that answered the first SYN is followed by a
			// SYN anyway, then the ACK: no SYN-ACK answered the last SYN,
			// so all up to that SYN was waiting and the exchange is not
			// a clean round trip.
			name:    "no SYN-ACK after the last SYN",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.Sleep(100 * msec)
				c.SynAck()
				c.Sleep(900 * msec)
				c.Syn()
				c.Sleep(msec)
				c.Ack(capgen.Client)
			},
			// The gaps (100 ms, then 901 ms) make no sense as a capture
			// side, so the side is not checked.
			want: rttWant{synRetx: 1, waitMS: 1000, rttMS: 0, handshakeMS: nan},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runTCPConn(t, tc.vantage, tc.script)
			tc.want.check(t, r.rec)
			if tc.extra != nil {
				tc.extra(t, r.rec)
			}
		})
	}
}

func TestTCPPathRTT(t *testing.T) {
	cases := []struct {
		name    string
		vantage capgen.Vantage
		script  func(c *capgen.TCPConn)
		want    rttWant
	}{
		{
			// SYN-ACK 300 ms after the SYN: 20 ms of path and 280 ms of
			// a slow server. The request's ACK comes back 20 ms after it
			// was sent and shows the path. The server's response is
			// ACKed at once by the client next to the capture: that
			// direction's ACK round trip is not a path RTT here.
			name:    "slow SYN-ACK, the ACK round trip near the client",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.Sleep(300 * msec)
				c.SynAck()
				c.Ack(capgen.Client)
				c.Send(capgen.Client, 200)
				c.Sleep(20 * msec)
				c.Ack(capgen.Server)
				c.Sleep(5 * msec)
				c.Send(capgen.Server, 1000)
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "client", rttMS: 20, handshakeMS: 300},
		},
		{
			// Near the server the server's data and the client's ACK
			// make the round trip; the request's ACK (5 ms of server
			// time) is not one.
			name:    "ACK round trip near the server",
			vantage: capgen.NearServer,
			script: func(c *capgen.TCPConn) {
				c.Handshake(50 * msec)
				c.Send(capgen.Client, 200)
				c.Sleep(5 * msec)
				c.Ack(capgen.Server)
				c.Send(capgen.Server, 1000)
				c.Sleep(45 * msec)
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "server", rttMS: 45, handshakeMS: 50},
		},
		{
			// Capture in the middle: 15 ms one way to the server, 10 ms
			// to the client, and a server 40 ms slow on the SYN. The
			// handshake says 90 ms; the two ACK round trips (30 ms to the
			// server and back, 20 ms to the client and back) add up to
			// the path's 50 ms.
			name:    "midway: both directions' ACK round trips add up",
			vantage: capgen.Midway,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.Sleep(70 * msec)
				c.SynAck()
				c.Sleep(20 * msec)
				c.Ack(capgen.Client)
				c.Send(capgen.Client, 200)
				c.Sleep(30 * msec)
				c.Ack(capgen.Server)
				c.Send(capgen.Server, 1000)
				c.Sleep(20 * msec)
				c.Ack(capgen.Client)
			},
			want: rttWant{side: "middle", rttMS: 50, handshakeMS: 90},
		},
		{
			// Only one direction was timed: half a round trip is no
			// path RTT, the handshake stands.
			name:    "midway: one direction timed only",
			vantage: capgen.Midway,
			script: func(c *capgen.TCPConn) {
				c.Syn()
				c.Sleep(70 * msec)
				c.SynAck()
				c.Sleep(20 * msec)
				c.Ack(capgen.Client)
				c.Send(capgen.Client, 200)
				c.Sleep(30 * msec)
				c.Ack(capgen.Server)
			},
			want: rttWant{side: "middle", rttMS: 90, handshakeMS: 90},
		},
		{
			// Karn: the request is sent again 10 ms later and the ACK
			// comes 20 ms after the copy. Timed from the original it
			// would say 30 ms, from the copy 20 ms; neither is a sample.
			name:    "Karn: no sample from a retransmitted segment's ACK",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Handshake(100 * msec)
				i := c.Send(capgen.Client, 300)
				c.Sleep(10 * msec)
				c.Retransmit(capgen.Client, i)
				c.Sleep(20 * msec)
				c.Ack(capgen.Server)
			},
			want: rttWant{side: "client", rttMS: 100, handshakeMS: 100},
		},
		{
			// After the cancelled sample the next new segment is timed
			// again.
			name:    "Karn: timing resumes with the next new segment",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Handshake(100 * msec)
				i := c.Send(capgen.Client, 300)
				c.Sleep(10 * msec)
				c.Retransmit(capgen.Client, i)
				c.Sleep(20 * msec)
				c.Ack(capgen.Server)
				c.Sleep(msec)
				c.Send(capgen.Client, 300)
				c.Sleep(40 * msec)
				c.Ack(capgen.Server)
			},
			want: rttWant{side: "client", rttMS: 40, handshakeMS: 100},
		},
		{
			// Karn on a lost segment: the first copy is lost after the
			// capture point, the copy sent 300 ms later is ACKed 1 ms
			// after it. A sample from the copy would say 1 ms.
			name:    "Karn: retransmission by timeout",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Handshake(100 * msec)
				i := c.SendLost(capgen.Client, 300)
				c.Sleep(300 * msec)
				c.Retransmit(capgen.Client, i)
				c.Sleep(msec)
				c.Ack(capgen.Server)
			},
			want: rttWant{side: "client", rttMS: 100, handshakeMS: 100},
		},
		{
			// One segment is timed at a time: the second segment goes out
			// while the first is being timed, so the ACK that covers it
			// 15 ms later is no sample; the first one's 60 ms is.
			name:    "one segment timed at a time",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Handshake(100 * msec)
				c.Delay(capgen.Client, true)
				c.Send(capgen.Client, 300)
				c.Sleep(50 * msec)
				c.Send(capgen.Client, 300)
				c.Sleep(10 * msec)
				c.Arrive(capgen.Client, 1)
				c.Ack(capgen.Server) // first segment: 60 ms
				c.Sleep(5 * msec)
				c.Arrive(capgen.Client, 1)
				c.Ack(capgen.Server) // second segment: 15 ms, not timed
			},
			want: rttWant{side: "client", rttMS: 60, handshakeMS: 100},
		},
		{
			// The handshake is the smaller: an ACK delayed by the peer
			// does not raise the RTT.
			name:    "delayed ACK does not raise the RTT",
			vantage: capgen.NearClient,
			script: func(c *capgen.TCPConn) {
				c.Handshake(30 * msec)
				c.Send(capgen.Client, 300)
				c.Sleep(70 * msec)
				c.Ack(capgen.Server)
			},
			want: rttWant{side: "client", rttMS: 30, handshakeMS: 30},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runTCPConn(t, tc.vantage, tc.script)
			tc.want.waitMS = 0
			tc.want.check(t, r.rec)
		})
	}
}

func TestTCPFirstData(t *testing.T) {
	hello := make([]byte, 517) // a ClientHello-sized first flight
	hello[0], hello[1], hello[2], hello[3], hello[4] = 0x16, 0x03, 0x01, 0x02, 0x00
	cases := []struct {
		name         string
		script       func(c *capgen.TCPConn)
		client       firstData
		server       firstData
		rttMS        float64
		clientUnsent bool
	}{
		{
			// Handshake: SYN 0, SYN-ACK 20.01, ACK 20.02; hello 20.03.
			name: "sent once",
			script: func(c *capgen.TCPConn) {
				c.Handshake(20 * msec)
				c.SendData(capgen.Client, hello)
				c.Sleep(20 * msec)
				c.Send(capgen.Server, 1200) // 40.04
				c.Ack(capgen.Client)
			},
			client: firstData{at: 20030 * time.Microsecond},
			server: firstData{at: 40040 * time.Microsecond},
			rttMS:  20,
		},
		{
			name: "ClientHello sent again after 1 s",
			script: func(c *capgen.TCPConn) {
				c.Handshake(20 * msec)
				i := c.SendData(capgen.Client, hello)
				c.Sleep(time.Second)
				c.Retransmit(capgen.Client, i) // 1020.04
				c.Sleep(20 * msec)
				c.Send(capgen.Server, 1200)
				c.Ack(capgen.Client)
			},
			client: firstData{at: 20030 * time.Microsecond, resent: 1, wait: 1000010 * time.Microsecond},
			server: firstData{at: 1040050 * time.Microsecond},
			rttMS:  20,
		},
		{
			name: "ClientHello sent three times",
			script: func(c *capgen.TCPConn) {
				c.Handshake(20 * msec)
				i := c.SendData(capgen.Client, hello)
				c.Sleep(time.Second)
				c.Retransmit(capgen.Client, i) // 1020.04
				c.Sleep(2 * time.Second)
				c.Retransmit(capgen.Client, i) // 3020.05
				c.Sleep(20 * msec)
				c.Ack(capgen.Server)
			},
			client: firstData{at: 20030 * time.Microsecond, resent: 2, wait: 3000020 * time.Microsecond},
			rttMS:  20,
		},
		{
			// Only the first segment's resends count: the request's
			// second segment sent again is not a wait for the first
			// answer.
			name: "a later segment sent again does not count",
			script: func(c *capgen.TCPConn) {
				c.Handshake(20 * msec)
				c.SendData(capgen.Client, hello)
				j := c.Send(capgen.Client, 300) // 20.04
				c.Sleep(time.Second)
				c.Retransmit(capgen.Client, j)
				c.Sleep(20 * msec)
				c.Ack(capgen.Server)
			},
			client: firstData{at: 20030 * time.Microsecond},
			rttMS:  20,
		},
		{
			// The server's first response segment lost and sent again
			// 300 ms later.
			name: "server's first segment sent again",
			script: func(c *capgen.TCPConn) {
				c.Handshake(20 * msec)
				c.SendData(capgen.Client, hello)
				c.Sleep(20 * msec)
				i := c.SendLost(capgen.Server, 1200) // 40.04
				c.Sleep(300 * msec)
				c.Retransmit(capgen.Server, i) // 340.05
				c.Ack(capgen.Client)
			},
			client: firstData{at: 20030 * time.Microsecond},
			server: firstData{at: 40040 * time.Microsecond, resent: 1, wait: 300010 * time.Microsecond},
			rttMS:  20,
		},
		{
			name:         "no data",
			script:       func(c *capgen.TCPConn) { c.Handshake(20 * msec) },
			rttMS:        20,
			clientUnsent: true,
		},
	}
	const tol = 100 * time.Microsecond
	near := func(got, want time.Duration) bool { return got >= want-tol && got <= want+tol }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runTCPConn(t, capgen.NearClient, tc.script)
			for d, want := range [2]firstData{tc.client, tc.server} {
				got := r.first[d]
				if got.resent != want.resent || !near(got.at, want.at) || !near(got.wait, want.wait) {
					t.Errorf("FirstData(%v) = at %v, resent %d, wait %v; want at %v, resent %d, wait %v",
						Dir(d), got.at, got.resent, got.wait, want.at, want.resent, want.wait)
				}
				if want.at == 0 && got.at != 0 {
					t.Errorf("FirstData(%v) at %v, want 0 (no data)", Dir(d), got.at)
				}
			}
			if tc.clientUnsent && r.first[FromClient].at != 0 {
				t.Errorf("FirstData(FromClient) at %v without data", r.first[FromClient].at)
			}
			if !approx(r.rec.RTTMS, tc.rttMS, rttTol) {
				t.Errorf("RTTMS %.3f, want %.3f", r.rec.RTTMS, tc.rttMS)
			}
		})
	}
}

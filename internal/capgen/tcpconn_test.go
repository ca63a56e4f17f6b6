package capgen_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/pcapx/pcapx/internal/capgen"
)

var (
	cli = netip.MustParseAddrPort("192.0.2.10:51000")
	srv = netip.MustParseAddrPort("198.51.100.20:80")
)

// segs decodes the frames and returns their TCP layers, checking checksums.
func segs(t *testing.T, fs capgen.Frames, lt capgen.LinkType) []*layers.TCP {
	t.Helper()
	var out []*layers.TCP
	for _, f := range fs {
		p := decode(t, lt, f.Data)
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			t.Fatalf("no TCP in frame\n%s", p.Dump())
		}
		out = append(out, tcp)
	}
	return out
}

func sackBlocks(tcp *layers.TCP) [][2]uint32 {
	var out [][2]uint32
	for _, o := range tcp.Options {
		if o.OptionType == layers.TCPOptionKindSACK {
			for i := 0; i+8 <= len(o.OptionData); i += 8 {
				out = append(out, [2]uint32{binary.BigEndian.Uint32(o.OptionData[i:]), binary.BigEndian.Uint32(o.OptionData[i+4:])})
			}
		}
	}
	return out
}

func tsOpt(tcp *layers.TCP) (val, ecr uint32, ok bool) {
	for _, o := range tcp.Options {
		if o.OptionType == layers.TCPOptionKindTimestamps {
			return binary.BigEndian.Uint32(o.OptionData), binary.BigEndian.Uint32(o.OptionData[4:]), true
		}
	}
	return 0, 0, false
}

func TestHandshakeVantage(t *testing.T) {
	for _, v := range []struct {
		vantage        capgen.Vantage
		synAck, ackGap time.Duration
	}{
		{capgen.NearClient, 30*time.Millisecond + 10*time.Microsecond, 10 * time.Microsecond},
		{capgen.NearServer, 10 * time.Microsecond, 30*time.Millisecond + 10*time.Microsecond},
		{capgen.Midway, 15*time.Millisecond + 10*time.Microsecond, 15*time.Millisecond + 10*time.Microsecond},
	} {
		var fs capgen.Frames
		c := capgen.NewTCPConn(&fs, cli, srv, &capgen.TCPOptions{Vantage: v.vantage})
		c.Handshake(30 * time.Millisecond)
		if len(fs) != 3 {
			t.Fatalf("%d frames", len(fs))
		}
		if !fs[0].Time.Equal(capgen.Epoch) {
			t.Errorf("first packet at %v", fs[0].Time)
		}
		if g1, g2 := fs[1].Time.Sub(fs[0].Time), fs[2].Time.Sub(fs[1].Time); g1 != v.synAck || g2 != v.ackGap {
			t.Errorf("vantage %d: gaps %v %v, want %v %v", v.vantage, g1, g2, v.synAck, v.ackGap)
		}
		s := segs(t, fs, capgen.LinkTypeEthernet)
		if !s[0].SYN || s[0].ACK || !s[1].SYN || !s[1].ACK || s[2].SYN || !s[2].ACK {
			t.Errorf("flags wrong")
		}
		if s[1].Ack != s[0].Seq+1 || s[2].Seq != s[0].Seq+1 || s[2].Ack != s[1].Seq+1 {
			t.Errorf("handshake numbers: %d %d / %d %d / %d %d", s[0].Seq, s[0].Ack, s[1].Seq, s[1].Ack, s[2].Seq, s[2].Ack)
		}
		var mss, ws bool
		for _, o := range s[0].Options {
			switch o.OptionType {
			case layers.TCPOptionKindMSS:
				mss = binary.BigEndian.Uint16(o.OptionData) == 1460
			case layers.TCPOptionKindWindowScale:
				ws = o.OptionData[0] == 7
			}
		}
		if !mss || !ws || len(s[0].Contents) != 40 {
			t.Errorf("SYN options: %v (header %d bytes)", s[0].Options, len(s[0].Contents))
		}
		if _, ecr, _ := tsOpt(s[1]); ecr == 0 {
			t.Errorf("SYN-ACK does not echo the SYN's timestamp")
		}
	}
}

func TestSequenceTracking(t *testing.T) {
	var fs capgen.Frames
	c := capgen.NewTCPConn(&fs, cli, srv, &capgen.TCPOptions{ClientISN: 1000, ServerISN: 5000})
	c.Handshake(10 * time.Millisecond)
	c.ClientSend(100)                   // 3
	c.ServerSend(200)                   // 4: acks the request
	lost := c.Drop(capgen.Server, 300)  // not written
	c.ServerSend(50)                    // 5: after the gap
	c.Ack(capgen.Client)                // 6: ack 5201 with SACK 5501-5551
	c.Retransmit(capgen.Server, lost)   // 7: fills the hole
	c.Ack(capgen.Client)                // 8: acks everything
	c.Miss(capgen.Client, 40)           // not written, received
	c.Ack(capgen.Server)                // 9: acks the unseen bytes
	sl := c.SendLost(capgen.Server, 10) // 10: written, never arrives
	c.Ack(capgen.Client)                // 11: still 5551
	c.RetransmitLost(capgen.Server, sl) // 12
	c.Retransmit(capgen.Server, sl)     // 13
	c.Ack(capgen.Client)                // 14: 5561 with no SACK
	c.Retransmit(capgen.Server, sl)     // 15: duplicate data
	c.Ack(capgen.Client)                // 16: D-SACK 5551-5561
	if err := c.Err(); err != nil {
		t.Fatal(err)
	}
	s := segs(t, fs, capgen.LinkTypeEthernet)
	if len(s) != 17 {
		t.Fatalf("%d frames, want 17", len(s))
	}
	check := func(i int, seq, ack uint32, n int) {
		t.Helper()
		if s[i].Seq != seq || s[i].Ack != ack || len(s[i].Payload) != n {
			t.Errorf("frame %d: seq %d ack %d len %d, want %d %d %d", i, s[i].Seq, s[i].Ack, len(s[i].Payload), seq, ack, n)
		}
	}
	check(3, 1001, 5001, 100)
	check(4, 5001, 1101, 200)
	check(5, 5501, 1101, 50)
	check(6, 1101, 5201, 0)
	if b := sackBlocks(s[6]); len(b) != 1 || b[0] != [2]uint32{5501, 5551} {
		t.Errorf("frame 6 SACK %v", b)
	}
	check(7, 5201, 1101, 300)
	check(8, 1101, 5551, 0)
	if b := sackBlocks(s[8]); len(b) != 0 {
		t.Errorf("frame 8 SACK %v after the hole filled", b)
	}
	check(9, 5551, 1141, 0)
	check(10, 5551, 1141, 10)
	check(11, 1141, 5551, 0)
	check(12, 5551, 1141, 10)
	check(13, 5551, 1141, 10)
	check(14, 1141, 5561, 0)
	check(15, 5551, 1141, 10)
	if b := sackBlocks(s[16]); len(b) != 1 || b[0] != [2]uint32{5551, 5561} {
		t.Errorf("frame 16: want a D-SACK block, got %v", b)
	}
	if !bytes.Equal(s[10].Payload, s[13].Payload) {
		t.Errorf("retransmission carries other bytes")
	}
	if c.NextSeq(capgen.Server) != 5561 || c.AckNum(capgen.Client) != 5561 {
		t.Errorf("NextSeq %d AckNum %d", c.NextSeq(capgen.Server), c.AckNum(capgen.Client))
	}
	if seq, n := c.SegmentSeq(capgen.Server, lost); seq != 5201 || n != 300 {
		t.Errorf("SegmentSeq %d %d", seq, n)
	}
	// Timestamps echo the peer's latest value.
	v, _, _ := tsOpt(s[5])
	if _, ecr, _ := tsOpt(s[6]); ecr != v {
		t.Errorf("client TSecr %d, want the server's %d", ecr, v)
	}
}

func TestWindowsProbesKeepAlives(t *testing.T) {
	var fs capgen.Frames
	c := capgen.NewTCPConn(&fs, cli, srv, nil)
	c.Handshake(time.Millisecond)
	c.ServerSend(100)
	c.ZeroWindow(capgen.Client)           // 4
	c.ZeroWindowProbe(capgen.Server)      // 5
	c.ZeroWindowProbeLinux(capgen.Server) // 6
	c.WindowUpdate(capgen.Client, 4096)   // 7
	c.KeepAlive(capgen.Client)            // 8
	c.KeepAliveByte(capgen.Client)        // 9
	c.Rst(capgen.Client)                  // 10
	s := segs(t, fs, capgen.LinkTypeEthernet)
	next := c.NextSeq(capgen.Server)
	if s[4].Window != 0 || s[7].Window != 4096>>7 {
		t.Errorf("windows %d %d", s[4].Window, s[7].Window)
	}
	if s[5].Seq != next || len(s[5].Payload) != 1 {
		t.Errorf("zero-window probe seq %d len %d, next %d", s[5].Seq, len(s[5].Payload), next)
	}
	if s[6].Seq != next-1 || len(s[6].Payload) != 0 {
		t.Errorf("Linux probe seq %d, want %d", s[6].Seq, next-1)
	}
	cn := c.NextSeq(capgen.Client)
	if s[8].Seq != cn-1 || len(s[8].Payload) != 0 || s[9].Seq != cn-1 || len(s[9].Payload) != 1 {
		t.Errorf("keep-alives %d/%d %d/%d, next %d", s[8].Seq, len(s[8].Payload), s[9].Seq, len(s[9].Payload), cn)
	}
	if !s[10].RST || !s[10].ACK || s[10].Seq != cn {
		t.Errorf("RST %+v", s[10])
	}
}

func TestRefusedAndReused(t *testing.T) {
	var fs capgen.Frames
	c := capgen.NewTCPConn(&fs, cli, srv, nil)
	c.Syn()
	c.Syn()
	c.Rst(capgen.Server)
	s := segs(t, fs, capgen.LinkTypeEthernet)
	if s[1].Seq != s[0].Seq {
		t.Errorf("SYN retransmission changed the ISN")
	}
	if !s[2].RST || !s[2].ACK || s[2].Seq != 0 || s[2].Ack != s[0].Seq+1 {
		t.Errorf("refusal: RST=%v ACK=%v seq %d ack %d", s[2].RST, s[2].ACK, s[2].Seq, s[2].Ack)
	}
	c2 := c.Reuse()
	if c2.ISN(capgen.Client) == c.ISN(capgen.Client) || c2.Now() != c.Now() {
		t.Errorf("Reuse: ISN %d (was %d), clock %v (was %v)", c2.ISN(capgen.Client), c.ISN(capgen.Client), c2.Now(), c.Now())
	}
	a, b := c2.Endpoints()
	if a != cli || b != srv {
		t.Errorf("Reuse changed the endpoints")
	}
}

func TestDelayArrive(t *testing.T) {
	var fs capgen.Frames
	c := capgen.NewTCPConn(&fs, cli, srv, &capgen.TCPOptions{Vantage: capgen.NearServer, ServerISN: 100})
	c.Handshake(time.Millisecond)
	c.Delay(capgen.Server, true)
	c.ServerSend(10)
	c.SendLost(capgen.Server, 10)
	c.ServerSend(10)
	c.Delay(capgen.Server, false)
	c.Ack(capgen.Client) // nothing arrived yet
	c.Arrive(capgen.Server, 1)
	c.Ack(capgen.Client)
	c.Arrive(capgen.Server, -1)
	c.Ack(capgen.Client)
	s := segs(t, fs, capgen.LinkTypeEthernet)
	if s[6].Ack != 101 || s[7].Ack != 111 || s[8].Ack != 111 {
		t.Errorf("acks %d %d %d, want 101 111 111", s[6].Ack, s[7].Ack, s[8].Ack)
	}
	if b := sackBlocks(s[8]); len(b) != 1 || b[0] != [2]uint32{121, 131} {
		t.Errorf("SACK %v", b)
	}
}

func TestWriteQueueAndFragments(t *testing.T) {
	var fs capgen.Frames
	c := capgen.NewTCPConn(&fs, cli, srv, &capgen.TCPOptions{NoDF: true, NoTimestamps: true, NoSACK: true, WScale: -1})
	c.Handshake(time.Millisecond)
	body := []byte("HTTP/1.1 200 OK\r\nContent-Length: 1990\r\n\r\n")
	body = append(body, bytes.Repeat([]byte("x"), 2000-len(body))...)
	c.Write(capgen.Server, body)
	if c.SegmentSize() != 1460 {
		t.Errorf("segment size %d without timestamps", c.SegmentSize())
	}
	c.FragmentNext(3)
	first := c.Send(capgen.Server, 1460)
	c.Send(capgen.Server, 600) // 540 queued bytes, then 60 filler
	c.Retransmit(capgen.Server, first)
	if len(fs) != 3+3+1+1 {
		t.Fatalf("%d frames, want 8", len(fs))
	}
	// The three fragments reassemble into the first segment.
	var payload []byte
	for i, f := range fs[3:6] {
		p := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
		v4 := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if mf := v4.Flags&layers.IPv4MoreFragments != 0; mf != (i < 2) || v4.Flags&layers.IPv4DontFragment != 0 {
			t.Errorf("fragment %d flags %v", i, v4.Flags)
		}
		payload = append(payload, v4.Payload...)
	}
	if !bytes.Equal(payload[20:], body[:1460]) {
		t.Errorf("fragments do not carry the first 1460 queued bytes")
	}
	s := segs(t, fs[6:], capgen.LinkTypeEthernet)
	if !bytes.Equal(s[0].Payload[:540], body[1460:]) || len(s[0].Payload) != 600 {
		t.Errorf("second segment does not continue the queue")
	}
	if !bytes.Equal(s[1].Payload, body[:1460]) {
		t.Errorf("retransmission differs from the original")
	}
	if s[0].Window != 65152&0xffff || len(s[0].Contents) != 20 {
		t.Errorf("no window scaling / no options: window %d header %d", s[0].Window, len(s[0].Contents))
	}
}

func TestTCPConnIPv6AndLinks(t *testing.T) {
	for _, l := range []capgen.Link{capgen.DefaultEthernet, capgen.SLL2{PacketType: 4}, capgen.Null{}, capgen.Raw{}} {
		var fs capgen.Frames
		c := capgen.NewTCPConn(&fs, netip.MustParseAddrPort("[2001:db8::1]:40000"), netip.MustParseAddrPort("[2001:db8::2]:443"),
			&capgen.TCPOptions{Link: l, IPv6Ext: []capgen.IPv6Ext{capgen.DestOpts()}})
		c.Handshake(time.Millisecond)
		c.SendData(capgen.Client, capgen.TLSClientHello(capgen.ClientHello{SNI: "example.com"}))
		c.Close(capgen.Client)
		s := segs(t, fs, l.LinkType())
		if len(s) != 7 || s[3].DstPort != 443 || s[5].SrcPort != 443 {
			t.Errorf("%T: %d segments", l, len(s))
		}
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []byte {
		var b bytes.Buffer
		w, _ := capgen.NewPcapWriter(&b, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		c := capgen.NewTCPConn(w, cli, srv, nil)
		c.Handshake(20 * time.Millisecond)
		c.ClientSend(300)
		i := c.Drop(capgen.Server, 1000)
		c.ServerSend(1000)
		c.Ack(capgen.Client)
		c.Sleep(time.Second)
		c.Retransmit(capgen.Server, i)
		c.Close(capgen.Server)
		w.Flush()
		return b.Bytes()
	}
	if a, b := run(), run(); !bytes.Equal(a, b) {
		t.Fatal("two runs of the same script differ")
	}
}

type discard struct{ n int }

func (d *discard) WriteFrame(f capgen.Frame) error { d.n += len(f.Data); return nil }

// BenchmarkTCPConn measures building full-sized segments and their ACKs.
func BenchmarkTCPConn(b *testing.B) {
	var d discard
	c := capgen.NewTCPConn(&d, cli, srv, nil)
	c.Handshake(time.Millisecond)
	b.ReportAllocs()
	for b.Loop() {
		c.Send(capgen.Server, 1448)
		c.Ack(capgen.Client)
	}
	b.SetBytes(int64(d.n) / int64(b.N))
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "packets/s")
}

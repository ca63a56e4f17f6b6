package flows

import "testing"

// TestPortReuse: the record of a connection whose SYN took over a 4-tuple
// describes the connection before it (its close, who closed first, the
// client's last sequence number) and how the server answered the SYN.
func TestPortReuse(t *testing.T) {
	const F, A, S, R = FlagFIN, FlagACK, FlagSYN, FlagRST
	// old: a connection closed by the server first (FIN from the server,
	// then the client), 100 bytes from the client.
	old := func(c *conv) {
		c.handshake(1, 2)
		c.seg(3, true, A, cISN+1, sISN+1, 100, 1000)
		c.seg(4, false, F|A, sISN+1, cISN+101, 0, 1000)
		c.seg(5, true, F|A, cISN+101, sISN+2, 0, 1000)
		c.seg(6, false, A, sISN+2, cISN+102, 0, 1000)
	}
	last := func(c *conv) *Record {
		c.table.Flush()
		return &c.ended[len(c.ended)-1]
	}

	t.Run("challenge ACK in the server's TIME-WAIT", func(t *testing.T) {
		c := newConv(t)
		old(c)
		// 2 s later a SYN with a lower ISN: the server's TIME-WAIT answers
		// with an ACK for the old connection; the client resets it and
		// its SYN sent again 1 s later is answered.
		c.seg(2006, true, S, cISN-500, 0, 0, 1000)
		c.seg(2007, false, A, sISN+2, cISN+102, 0, 1000)
		c.seg(2008, true, R, cISN+102, 0, 0, 0)
		c.seg(3006, true, S, cISN-500, 0, 0, 1000)
		c.seg(3007, false, S|A, 9000, cISN-499, 0, 1000)
		c.seg(3008, true, A, cISN-499, 9001, 0, 1000)
		if len(c.ended) != 1 || c.ended[0].End != "reused" || c.ended[0].Reuse != nil {
			t.Fatalf("old connection: %+v", c.ended)
		}
		r := last(c).Reuse
		if r == nil {
			t.Fatal("no Reuse on the new connection")
		}
		want := PortReuse{Known: true, PrevStream: 0, PrevFirst: FrameRef{Frame: 1}, PrevFirstNS: 1_700_000_000e9, PrevLastNS: 1_700_000_000e9 + 6e6,
			PrevAnswered: true, PrevClose: "fin", PrevFirstFIN: "server", PrevNextSeq: cISN + 102, ISN: cISN - 500,
			Reply: "challenge-ack", ReplyAck: cISN + 102, ReplyNS: 1_700_000_000e9 + 2007e6}
		if *r != want {
			t.Errorf("reuse\n got  %+v\n want %+v", *r, want)
		}
		if r.ISNRelation() != "below" {
			t.Errorf("ISN relation %q", r.ISNRelation())
		}
	})

	t.Run("a higher ISN answered with a SYN-ACK", func(t *testing.T) {
		c := newConv(t)
		old(c)
		c.seg(2006, true, S, cISN+100000, 0, 0, 1000)
		c.seg(2007, false, S|A, 9000, cISN+100001, 0, 1000)
		r := last(c).Reuse
		if r == nil || r.Reply != "syn-ack" || r.ISNRelation() != "above" || r.PrevClose != "fin" {
			t.Fatalf("reuse %+v", r)
		}
	})

	t.Run("the old connection's server reuses it as a client", func(t *testing.T) {
		c := newConv(t)
		old(c)
		c.seg(2006, false, S, sISN+7000, 0, 0, 1000)
		r := last(c).Reuse
		if r == nil || r.PrevFirstFIN != "client" || r.PrevNextSeq != sISN+2 || r.Reply != "" || r.ISNRelation() != "above" {
			t.Fatalf("reuse %+v", r)
		}
	})

	t.Run("after a reset; no answer", func(t *testing.T) {
		c := newConv(t)
		c.handshake(1, 2)
		c.seg(3, true, R|A, cISN+1, sISN+1, 0, 0)
		c.seg(500, true, S, cISN+9, 0, 0, 1000)
		r := last(c).Reuse
		if r == nil || r.PrevClose != "reset" || r.PrevFirstFIN != "" || r.Reply != "" {
			t.Fatalf("reuse %+v", r)
		}
	})

	t.Run("a challenge ACK for a connection before the capture", func(t *testing.T) {
		c := newConv(t)
		c.seg(0, true, S, cISN, 0, 0, 1000)
		c.seg(1, false, A, 777, 123456, 0, 1000)
		r := last(c).Reuse
		if r == nil || r.Known || r.Reply != "challenge-ack" || r.ReplyAck != 123456 || r.ISN != cISN || r.ISNRelation() != "below" {
			t.Fatalf("reuse %+v", r)
		}
	})

	t.Run("no reuse", func(t *testing.T) {
		c := newConv(t)
		c.handshake(1, 2)
		// A server ACK after the client's ACK is no reply to the SYN.
		c.seg(3, false, A, sISN+1, cISN+1, 0, 1000)
		if r := last(c).Reuse; r != nil {
			t.Fatalf("reuse %+v", r)
		}
		c = newConv(t)
		c.seg(0, true, S, cISN, 0, 0, 1000)
		c.seg(1, false, R|A, 0, cISN+1, 0, 0)
		if r := last(c).Reuse; r != nil {
			t.Fatalf("refused connection: reuse %+v", r)
		}
	})
}

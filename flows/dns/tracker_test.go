package dns

import (
	"net/netip"
	"testing"
	"time"
)

func mustParse(t testing.TB, b []byte) *Message {
	t.Helper()
	m, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

type sink[K comparable] struct{ txs []Transaction[K] }

func (s *sink[K]) emit(tx *Transaction[K]) { s.txs = append(s.txs, *tx) }

const ms = int64(time.Millisecond)

func TestTrackerPairs(t *testing.T) {
	var out sink[string]
	tr := NewTracker(TrackerConfig{}, out.emit)
	q := mustParse(t, sampleQuery(0x1234, "WWW.example.com", TypeA))
	r := mustParse(t, sampleResponse()) // qname "www.Example.com": 0x20 case differs
	tr.Add("f1", 1000*ms, q)
	tr.Add("f1", 1010*ms, q) // retransmission
	tr.Add("f2", 1015*ms, r) // other flow: no query there
	tr.Add("f1", 1042*ms, r)
	if len(out.txs) != 2 {
		t.Fatalf("%d transactions", len(out.txs))
	}
	nq, tx := out.txs[0], out.txs[1]
	if !nq.NoQuery || nq.Flow != "f2" || nq.QueryTime != 0 || nq.Latency != 0 || nq.ResponseTime != 1015*ms {
		t.Errorf("no-query: %+v", nq)
	}
	if tx.Latency != 42*time.Millisecond || tx.Retransmissions != 1 || tx.LastQueryTime != 1010*ms ||
		tx.QName != "WWW.example.com" || tx.Answers != 4 || tx.RcodeName != "NOERROR" || len(tx.AnswerAddrs) != 3 ||
		len(tx.CNAMEs) != 1 || tx.CNAMEs[0] != "edge.example.net" || tx.Unanswered {
		t.Errorf("paired: %+v", tx)
	}
	st := tr.Stats()
	if st.Queries != 2 || st.Responses != 2 || st.Matched != 1 || st.NoQuery != 1 || st.Retransmissions != 1 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestTrackerExpireAndFlush(t *testing.T) {
	var out sink[int]
	tr := NewTracker(TrackerConfig{Timeout: time.Second}, out.emit)
	tr.Add(1, 0, mustParse(t, sampleQuery(1, "a.test", TypeA)))
	tr.Add(1, 500*ms, mustParse(t, sampleQuery(2, "b.test", TypeA)))
	tr.Add(1, 900*ms, mustParse(t, sampleQuery(1, "a.test", TypeA))) // retransmission moves a's deadline
	tr.Add(1, 1200*ms, mustParse(t, sampleQuery(3, "c.test", TypeAAAA)))
	tr.Expire(1600 * ms) // b (500) is due; a (last 900) is not
	if len(out.txs) != 1 || out.txs[0].QName != "b.test" || !out.txs[0].Unanswered || out.txs[0].CaptureEnded {
		t.Fatalf("expire: %+v", out.txs)
	}
	tr.Expire(1950 * ms)
	if len(out.txs) != 2 || out.txs[1].QName != "a.test" || out.txs[1].Retransmissions != 1 {
		t.Fatalf("expire 2: %+v", out.txs)
	}
	tr.Flush() // c: last time seen 1950, deadline 2200: capture ended first
	if len(out.txs) != 3 || !out.txs[2].Unanswered || !out.txs[2].CaptureEnded || tr.Stats().Pending != 0 {
		t.Fatalf("flush: %+v", out.txs)
	}
}

func TestTrackerOverflow(t *testing.T) {
	var out sink[int]
	tr := NewTracker(TrackerConfig{MaxPending: 3}, out.emit)
	for i := 0; i < 5; i++ {
		tr.Add(1, int64(i)*ms, mustParse(t, sampleQuery(uint16(i), "x.test", TypeA)))
	}
	if st := tr.Stats(); st.Overflow != 2 || st.Pending != 3 || len(out.txs) != 2 || !out.txs[0].Evicted || out.txs[0].ID != 0 {
		t.Fatalf("%+v %+v", st, out.txs)
	}
	// Reuse of freed entries leaves nothing stale behind.
	tr.Flush()
	tr.Add(1, 10*ms, mustParse(t, sampleQuery(9, "y.test", TypeA)))
	tr.Flush()
	last := out.txs[len(out.txs)-1]
	if last.ID != 9 || last.Evicted || last.Retransmissions != 0 {
		t.Errorf("reused entry: %+v", last)
	}
}

func TestTrackerNoQuestionResponse(t *testing.T) {
	var out sink[int]
	tr := NewTracker(TrackerConfig{}, out.emit)
	tr.Add(7, 0, mustParse(t, sampleQuery(77, "junk.test", TypeTXT)))
	formerr := newMsg(hdr{id: 77, qr: true, rcode: RcodeFormErr}).bytes()
	tr.Add(7, 3*ms, mustParse(t, formerr))
	if len(out.txs) != 1 || out.txs[0].NoQuery || out.txs[0].RcodeName != "FORMERR" || out.txs[0].QName != "junk.test" {
		t.Fatalf("%+v", out.txs)
	}
}

func TestTrackerDistinguishesQtype(t *testing.T) {
	var out sink[int]
	tr := NewTracker(TrackerConfig{}, out.emit)
	tr.Add(1, 0, mustParse(t, sampleQuery(5, "h.test", TypeA)))
	tr.Add(1, 0, mustParse(t, sampleQuery(5, "h.test", TypeAAAA)))
	r := newMsg(hdr{id: 5, qr: true, qd: 1, an: 1}).question("h.test", TypeAAAA).addr("h.test", netip.MustParseAddr("2001:db8::5")).bytes()
	tr.Add(1, 4*ms, mustParse(t, r))
	tr.Flush()
	if len(out.txs) != 2 || out.txs[0].QType != TypeAAAA || out.txs[0].Unanswered || out.txs[1].QType != TypeA || !out.txs[1].Unanswered {
		t.Fatalf("%+v", out.txs)
	}
}

package dns

import (
	"net/netip"
	"time"
)

// Transaction is one DNS exchange: a query and its response, a query that
// got no response (Unanswered), or a response whose query was not seen
// (NoQuery). Times are capture times in nanoseconds since the Unix epoch.
type Transaction[K comparable] struct {
	Flow K // the caller's flow key

	QueryTime     int64 // first sending of the query (0 when NoQuery)
	LastQueryTime int64 // last sending (differs from QueryTime after retransmissions)
	ResponseTime  int64 // 0 when Unanswered
	// Latency is ResponseTime - QueryTime: what the client waited, counting
	// its retransmissions. 0 when either side is missing.
	Latency time.Duration

	ID     uint16
	Opcode uint8
	// RD is the query's recursion-desired bit (the response's, which
	// copies it, when the query was not seen).
	RD     bool
	QName  string // presentation form (escaped), as in the query when seen
	QType  uint16
	QClass uint16

	Rcode     int    // full rcode (with the EDNS extension); 0 when Unanswered
	RcodeName string // RcodeName(Rcode); "" when Unanswered
	Answers   int    // answer records in the response (ANCount)
	// AnswerAddrs and CNAMEs are the A/AAAA addresses and CNAME targets of
	// the response (at most MaxAnswers records in all). Nil when none.
	AnswerAddrs []netip.Addr
	CNAMEs      []string
	TC          bool // response truncated: the client should retry over TCP
	AA          bool // authoritative answer

	// Retransmissions counts queries repeated with the same id, name and
	// type (on the same flow) before the response.
	Retransmissions int

	// Unanswered: no response within Timeout of the last query, or none
	// before Flush. CaptureEnded qualifies it: the capture ended (Flush)
	// less than Timeout after the last query, so the answer may simply
	// not have been captured. Evicted: the query was pushed out because
	// MaxPending queries were waiting (see TrackerStats.Overflow).
	Unanswered   bool
	CaptureEnded bool
	Evicted      bool
	// NoQuery: a response whose query was never seen (the capture started
	// late, asymmetric routing, a duplicate response, or mDNS/LLMNR
	// announcements and multicast answers, which have no query on their flow).
	NoQuery bool
}

// TrackerConfig tunes a Tracker. The zero value gives the defaults.
type TrackerConfig struct {
	// Timeout after the last sending of a query when it counts as
	// unanswered. Default 5 s: the stub resolver's default timeout (glibc
	// resolv.conf "timeout:5", Windows' first retry is sooner).
	Timeout time.Duration
	// MaxPending bounds the queries waiting for a response, over all flows.
	// Default 16384. When full, the oldest waiting query is emitted as
	// Unanswered+Evicted.
	MaxPending int
}

// TrackerStats are a Tracker's counters.
type TrackerStats struct {
	Queries, Responses int64 // messages added, by QR bit
	Matched            int64 // responses paired with a query
	NoQuery            int64 // responses with no waiting query
	Unanswered         int64 // queries emitted without a response (including Evicted)
	Retransmissions    int64
	Overflow           int64 // queries evicted because MaxPending were waiting
	NoQuestion         int64 // messages without a question, matched by id only (or not at all)
	Pending            int   // queries waiting now
}

// maxIDScan bounds the search for the query of a response without a
// question, so a flood of such responses costs O(1) each.
const maxIDScan = 1024

type txKey[K comparable] struct {
	flow  K
	id    uint16
	qtype uint16
	qname string // ASCII lower case
}

type pending[K comparable] struct {
	key        txKey[K]
	tx         Transaction[K]
	prev, next *pending[K]
}

// Tracker pairs DNS queries with responses and emits one Transaction per
// exchange. Messages are matched by (flow, id, qname, qtype): the flow is
// whatever comparable value the caller uses to name the conversation (a
// bidirectional 5-tuple key, a string), the same value for both directions.
// Names compare case-insensitively (DNS 0x20 randomisation changes case).
//
// The Tracker keeps time only through the timestamps it is given (capture
// time, never the wall clock). The caller calls Expire now and then with
// the current capture time to emit queries that timed out, and Flush at the
// end. Memory is bounded by MaxPending. Not safe for concurrent use: keep
// one per shard.
type Tracker[K comparable] struct {
	cfg    TrackerConfig
	emit   func(*Transaction[K])
	m      map[txKey[K]]*pending[K]
	head   *pending[K] // oldest (by last query time)
	tail   *pending[K]
	free   *pending[K]
	lastTS int64
	stats  TrackerStats
}

// NewTracker returns a Tracker that hands each finished Transaction to emit.
// The pointer is valid only during the call; copy the value to keep it
// (a shallow copy is enough: nothing in it is reused).
func NewTracker[K comparable](cfg TrackerConfig, emit func(*Transaction[K])) *Tracker[K] {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 16384
	}
	return &Tracker[K]{cfg: cfg, emit: emit, m: make(map[txKey[K]]*pending[K])}
}

// Stats returns the counters.
func (t *Tracker[K]) Stats() TrackerStats {
	s := t.stats
	s.Pending = len(t.m)
	return s
}

// Add feeds one decoded message seen at capture time ts (ns) on flow. The
// QR bit says whether it is a query or a response. A message whose
// question could not be decoded is still used when it is a response: it is
// paired by flow and id alone with the most recent waiting query (FORMERR
// responses often carry no question).
func (t *Tracker[K]) Add(flow K, ts int64, m *Message) {
	if ts > t.lastTS {
		t.lastTS = ts
	}
	if !m.Response {
		t.stats.Queries++
		if !m.HasQuestion {
			t.stats.NoQuestion++
			return // nothing to pair a response with but the id; not tracked
		}
		t.query(flow, ts, m)
		return
	}
	t.stats.Responses++
	var p *pending[K]
	if m.HasQuestion {
		p = t.m[txKey[K]{flow: flow, id: m.ID, qtype: m.QType, qname: lowerASCII(m.QName)}]
	} else {
		t.stats.NoQuestion++
		// Newest first: the most recent query with this id on this flow,
		// looking at a bounded number of waiting queries.
		n := 0
		for q := t.tail; q != nil && n < maxIDScan; q, n = q.prev, n+1 {
			if q.key.flow == flow && q.key.id == m.ID {
				p = q
				break
			}
		}
	}
	if p == nil {
		t.stats.NoQuery++
		tx := Transaction[K]{Flow: flow, ID: m.ID, Opcode: m.Opcode, RD: m.RecursionDesired, QName: m.QName, QType: m.QType, QClass: m.QClass, NoQuery: true}
		t.fill(&tx, ts, m)
		t.emit(&tx)
		return
	}
	t.stats.Matched++
	t.unlink(p)
	t.fill(&p.tx, ts, m)
	p.tx.Latency = time.Duration(ts - p.tx.QueryTime)
	t.emit(&p.tx)
	t.release(p)
}

func (t *Tracker[K]) query(flow K, ts int64, m *Message) {
	key := txKey[K]{flow: flow, id: m.ID, qtype: m.QType, qname: lowerASCII(m.QName)}
	if p := t.m[key]; p != nil {
		if ts-p.tx.LastQueryTime < int64(t.cfg.Timeout) {
			t.stats.Retransmissions++
			p.tx.Retransmissions++
			p.tx.LastQueryTime = ts
			// Keep the list ordered by last query time.
			t.unlink(p)
			t.pushBack(p)
			return
		}
		// The same query again long after: the old one timed out
		// (Expire was not called in between).
		t.unlink(p)
		t.unanswered(p, false)
	}
	if len(t.m) >= t.cfg.MaxPending {
		t.stats.Overflow++
		old := t.head
		t.unlink(old)
		old.tx.Evicted = true
		t.unanswered(old, false)
	}
	p := t.free
	if p != nil {
		t.free = p.next
		p.next = nil
	} else {
		p = new(pending[K])
	}
	p.key = key
	p.tx = Transaction[K]{Flow: flow, QueryTime: ts, LastQueryTime: ts, ID: m.ID, Opcode: m.Opcode, RD: m.RecursionDesired, QName: m.QName, QType: m.QType, QClass: m.QClass}
	t.pushBack(p)
}

// fill copies the response's fields into tx.
func (t *Tracker[K]) fill(tx *Transaction[K], ts int64, m *Message) {
	tx.ResponseTime = ts
	tx.Rcode = m.Rcode
	tx.RcodeName = RcodeName(m.Rcode)
	tx.Answers = int(m.ANCount)
	tx.TC = m.Truncated
	tx.AA = m.Authoritative
	nAddr, nCNAME := 0, 0
	for _, rr := range m.Answers {
		if rr.Addr.IsValid() {
			nAddr++
		} else if rr.Type == TypeCNAME {
			nCNAME++
		}
	}
	if nAddr > 0 {
		tx.AnswerAddrs = m.AnswerAddrs(make([]netip.Addr, 0, nAddr))
	}
	if nCNAME > 0 {
		tx.CNAMEs = make([]string, 0, nCNAME)
		for _, rr := range m.Answers {
			if rr.Type == TypeCNAME {
				tx.CNAMEs = append(tx.CNAMEs, rr.Target)
			}
		}
	}
}

// Expire emits, as Unanswered, the queries whose last sending is at least
// Timeout before now (capture time, ns).
func (t *Tracker[K]) Expire(now int64) {
	if now > t.lastTS {
		t.lastTS = now
	}
	limit := now - int64(t.cfg.Timeout)
	for p := t.head; p != nil && p.tx.LastQueryTime <= limit; p = t.head {
		t.unlink(p)
		t.unanswered(p, false)
	}
}

// Flush emits every waiting query as Unanswered, oldest first, marking
// CaptureEnded those whose timeout had not yet run out at the latest time
// the Tracker saw. Call it at the end of the capture.
func (t *Tracker[K]) Flush() {
	limit := t.lastTS - int64(t.cfg.Timeout)
	for p := t.head; p != nil; p = t.head {
		t.unlink(p)
		t.unanswered(p, p.tx.LastQueryTime > limit)
	}
}

func (t *Tracker[K]) unanswered(p *pending[K], ended bool) {
	t.stats.Unanswered++
	p.tx.Unanswered = true
	p.tx.CaptureEnded = ended
	t.emit(&p.tx)
	t.release(p)
}

func (t *Tracker[K]) pushBack(p *pending[K]) {
	t.m[p.key] = p
	p.prev, p.next = t.tail, nil
	if t.tail != nil {
		t.tail.next = p
	} else {
		t.head = p
	}
	t.tail = p
}

func (t *Tracker[K]) unlink(p *pending[K]) {
	delete(t.m, p.key)
	if p.prev != nil {
		p.prev.next = p.next
	} else {
		t.head = p.next
	}
	if p.next != nil {
		p.next.prev = p.prev
	} else {
		t.tail = p.prev
	}
	p.prev, p.next = nil, nil
}

// release returns p to the free list, dropping its references.
func (t *Tracker[K]) release(p *pending[K]) {
	var zk txKey[K]
	p.key = zk
	p.tx = Transaction[K]{}
	p.next = t.free
	t.free = p
}

package analyze

import (
	"cmp"
	"math"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/run"
)

// A run shards flows over workers (docs/architecture.md): the reader
// decodes every packet, keeps the capture clocks, decides when flows are
// checked for expiry, and hands each packet to the worker that owns its
// flow; each worker has a flow table and a streams tracker of its own. The
// records a worker produces carry the order of the event that produced
// them, and the merger puts every worker's records of a round in that
// order before the rules, the summariser and the sinks see them. So the
// output is the same, byte for byte, whatever the number of workers.

// Phases order what happens at one packet index: the table's expiry check
// (before the packet), the packet's own table work (a flow it ends by
// port reuse), the streams tracker's idle flush, then the packet's
// application records, then what an ICMP message about another flow made
// the table shed. At the end of the input: the flows still in the
// table, then what the trackers still held.
const (
	phaseExpire uint8 = iota
	phaseTable
	phaseFlushIdle
	phaseApp
	phasePathMTU // an ICMP message handed to the flow it quotes, which may make the table shed
	phaseFlush
	phaseFinish
)

// order places a record among all the run's records: the packet index of
// the event that produced it, the phase, and within a phase of many
// flows the flow's expiry list and last packet (flows) or the record's own
// time and frame (application records a flush emitted). Records of one
// flow share an order; the merge keeps them in the order they were made.
type order struct {
	at      int64
	phase   uint8
	a, b, c int64
	ts      int64 // the capture clock at the event (not part of the order)
}

func (x *order) less(y *order) bool { return x.compare(y) < 0 }

// compare is -1, 0 or +1 as x goes before, with or after y.
func (x *order) compare(y *order) int {
	switch {
	case x.at != y.at:
		return cmp.Compare(x.at, y.at)
	case x.phase != y.phase:
		return cmp.Compare(x.phase, y.phase)
	case x.a != y.a:
		return cmp.Compare(x.a, y.a)
	case x.b != y.b:
		return cmp.Compare(x.b, y.b)
	}
	return cmp.Compare(x.c, y.c)
}

// endOfInput is the index of what happens after the last packet.
const endOfInput = math.MaxInt64

// output is one record a worker made, with its order.
type output struct {
	ord  order
	from int // the worker that made it (set by the merger)
	flow *flows.Record
	dns  *flows.DNSRecord
	http *flows.HTTPRecord
	tls  *flows.TLSRecord
	icmp *flows.ICMPRecord
}

// created is a flow a worker's table created: the packet that did, and its
// tcp.stream number in that table (-1 for other protocols, and for a flow
// that continues a connection whose stream is numbered already).
type created struct {
	at     int64
	ts     int64 // capture time
	stream int64
	worker int // set by the merger
}

// flushBatch is how many flows a worker ends per round at the end of the
// input: small enough that the records of later batches reuse those of the
// first (three rounds circulate per worker; docs/architecture.md).
var flushBatch = 1024 // a variable for the tests

// item is one unit of a worker's input: a packet (with the clocks as they
// stood at it and whether the table's expiry check or the tracker's idle
// flush is due before it), an ICMP path-MTU message for the flow it quotes,
// or the end of the input.
type item struct {
	kind      itemKind
	pkt       flows.Packet
	pktKind   flows.Kind
	clock     int64 // the table's clock at the packet
	before    int64 // where that clock was before it last moved forward
	appClock  int64 // the streams tracker's clock at the packet
	expire    bool  // check the table for idle flows before the packet
	flushIdle bool  // the tracker's idle flush is due at the packet
	// Following a capture (follow.go): the packet's period, as the
	// reader numbers them, and its start; owner is -1 when the packet is
	// not counted.
	owner  int32
	pstart int64
}

type itemKind uint8

const (
	itemPacket itemKind = iota
	itemTick            // another worker's packet, at which the checks for idle state are due
	itemPathMTU
	itemEnd
)

// round is what a worker gets of one round of packets, and gives back.
type round struct {
	start   int64 // the capture's first packet time (the timeline's start), if started
	started bool
	cut     int64 // following: index of the first packet counted, once read
	// done: the worker had ended its flows and its trackers at the end of
	// the input when it processed the round (reset leaves it: a worker's
	// rounds are its own, and it stays done).
	done    bool
	items   []item
	arena   arena
	out     []output
	creates []created
	// spare are records the sinks are done with, for the worker to reuse
	// (the merger fills it when every sink is a run.Borrower; the worker
	// takes them when the round comes back).
	spare spares
}

// spares are records to reuse, by kind.
type spares struct {
	flow []*flows.Record
	dns  []*flows.DNSRecord
	http []*flows.HTTPRecord
	tls  []*flows.TLSRecord
}

// maxSpares bounds the records a worker keeps for reuse, per kind (in
// moveAll): after a burst (an idle check ending most of a large table at
// once) the rest go to the collector rather than staying pooled,
// unbudgeted, for the rest of the run.
const maxSpares = 8192

// give keeps the record of o for reuse.
func (s *spares) give(o *output) {
	switch {
	case o.flow != nil:
		s.flow = append(s.flow, o.flow)
	case o.dns != nil:
		s.dns = append(s.dns, o.dns)
	case o.http != nil:
		s.http = append(s.http, o.http)
	case o.tls != nil:
		s.tls = append(s.tls, o.tls)
	}
}

// moveFrom takes o's records into s.
func (s *spares) moveFrom(o *spares) {
	s.flow, o.flow = moveAll(s.flow, o.flow)
	s.dns, o.dns = moveAll(s.dns, o.dns)
	s.http, o.http = moveAll(s.http, o.http)
	s.tls, o.tls = moveAll(s.tls, o.tls)
}

// moveAll appends from to to (up to maxSpares) and empties from (keeping
// its array).
func moveAll[R any](to, from []*R) ([]*R, []*R) {
	to = append(to, from[:min(len(from), max(maxSpares-len(to), 0))]...)
	clear(from)
	return to, from[:0]
}

// take returns a spare record, or a new one.
func take[R any](s *[]*R) *R {
	n := len(*s)
	if n == 0 {
		return new(R)
	}
	r := (*s)[n-1]
	(*s)[n-1] = nil
	*s = (*s)[:n-1]
	return r
}

// worker owns the flows of one shard.
type worker struct {
	table    *flows.Table
	app      *streams.Tracker
	timeline run.Timeline
	onPacket func(p *flows.Packet, f *flows.Flow, dir flows.Dir, a flows.Analysis)
	follow   *workerFollow // following a capture (follow.go)

	cur *round
	// spare: records to reuse, moved here from each round the merger
	// handed back (a round's own lists would each wait for their round:
	// three rounds circulate per worker).
	spare   spares
	ord     order
	inFlush bool // table.Expire or Flush is ending flows: order them by list and last packet
	done    bool // the flows and trackers ended at the end of the input
}

func newWorker(cfg *Config) *worker {
	w := &worker{onPacket: cfg.OnPacket}
	if cfg.Follow != nil {
		w.follow = &workerFollow{owner: -1}
	}
	scfg := cfg.Streams
	scfg.ExternalClock = true
	w.app = streams.New(scfg, streams.Sinks{
		NewDNS:  func() *flows.DNSRecord { return take(&w.spare.dns) },
		NewHTTP: func() *flows.HTTPRecord { return take(&w.spare.http) },
		NewTLS:  func() *flows.TLSRecord { return take(&w.spare.tls) },
		DNS: func(d *flows.DNSRecord) {
			w.emit(output{dns: d}, d.QueryNS, int64(d.QueryFrame.File), d.QueryFrame.Frame)
		},
		HTTP: func(h *flows.HTTPRecord) {
			w.emit(output{http: h}, h.RequestNS, int64(h.RequestFrame.File), h.RequestFrame.Frame)
		},
		TLS: func(t *flows.TLSRecord) {
			w.emit(output{tls: t}, t.ClientHelloNS, int64(t.ClientHelloFrame.File), t.ClientHelloFrame.Frame)
		},
	})
	tcfg := cfg.Flows
	tcfg.ExternalClock = true
	tcfg.OnEnd = w.flowEnded
	tcfg.OnCreate = func(f *flows.Flow) {
		stream := f.Stream
		if f.Continues {
			stream = -1 // the connection's, numbered when it was created
		}
		w.cur.creates = append(w.cur.creates, created{at: w.ord.at, ts: w.ord.ts, stream: stream})
	}
	w.table = flows.NewTable(tcfg)
	return w
}

// emit adds a record in the current order. An application record that a
// flush (rather than a packet) produced is placed by its own time and
// frame: the flush met the flows of every worker at once.
func (w *worker) emit(o output, ns, file, frame int64) {
	o.ord = w.ord
	if !w.inFlush && (w.ord.phase == phaseFlushIdle || w.ord.phase == phaseFinish) {
		o.ord.a, o.ord.b, o.ord.c = ns, file, frame
	}
	w.cur.out = append(w.cur.out, o)
}

// flowEnded is the table's OnEnd: the flow's record, with what the
// streams tracker adds, in the current order (by expiry list and last
// packet when many flows end at once).
func (w *worker) flowEnded(f *flows.Flow) {
	saved := w.ord
	if w.inFlush {
		w.ord.a, w.ord.b, w.ord.c = int64(f.EndList), f.LastIndex, 0
	}
	rec := take(&w.spare.flow) // the merger's, then the sinks' to keep (or give back)
	*rec = f.Record(w.app.FlowEnd(f))
	w.cur.out = append(w.cur.out, output{ord: w.ord, flow: rec})
	w.ord = saved
}

// process runs one round of items.
func (w *worker) process(r *round) {
	w.cur = r
	w.spare.moveFrom(&r.spare)
	if r.started {
		w.timeline.Begin(r.start)
	}
	for i := range r.items {
		w.processItem(&r.items[i])
	}
	w.cur = nil
}

// processItem runs one item of the current round.
func (w *worker) processItem(it *item) {
	r := w.cur
	switch it.kind {
	case itemEnd:
		// The end of the input: the flows still in the table end, a
		// batch per round (the merger puts the batches of all workers
		// in order as they come), then the trackers hand over what
		// they still hold.
		if w.done {
			r.done = true
			return
		}
		w.ord = order{at: endOfInput, phase: phaseFlush, ts: it.clock}
		w.inFlush = true
		more := w.table.FlushSome(flushBatch)
		w.inFlush = false
		if !more {
			w.ord = order{at: endOfInput, phase: phaseFinish, ts: it.clock}
			// The trackers' clock at the end is the capture's (the run's
			// clock: every packet's, ICMP's too), whichever packets this
			// worker saw: a DNS query times out by it.
			w.app.SetClock(it.appClock)
			w.app.Finish()
			w.done = true
		}
		r.done = w.done
		return
	case itemPathMTU:
		// The quoted flow may be another worker's: the clock and order
		// are the packet's, whichever worker.
		w.table.SetClock(it.clock, it.before)
		w.ord = order{at: it.pkt.Index, phase: phasePathMTU, ts: it.clock}
		w.table.NotePathMTU(&it.pkt)
		return
	case itemTick:
		if it.expire {
			w.table.SetClock(it.clock, it.before)
			w.ord = order{at: it.pkt.Index, phase: phaseExpire, ts: it.clock}
			w.inFlush = true
			w.table.Expire()
			w.inFlush = false
		}
		if it.flushIdle {
			w.app.SetClock(it.appClock)
			w.ord = order{at: it.pkt.Index, phase: phaseFlushIdle, ts: it.clock}
			w.app.FlushIdle()
		}
		return
	}
	p := &it.pkt
	w.table.SetClock(it.clock, it.before)
	if it.expire {
		w.ord = order{at: p.Index, phase: phaseExpire, ts: it.clock}
		w.inFlush = true
		w.table.Expire()
		w.inFlush = false
	}
	w.ord = order{at: p.Index, phase: phaseTable, ts: it.clock}
	if w.follow != nil {
		w.follow.account(w, it.owner, it.pstart)
	}
	f, dir, a := w.table.Process(p)
	switch {
	case w.follow == nil:
		w.timeline.Add(p.Timestamp, p.WireLen, a)
	case it.owner >= 0:
		w.follow.list[it.owner].Timeline.Add(p.Timestamp, p.WireLen, a)
	}
	switch it.pktKind {
	case flows.KindTCP, flows.KindUDP:
		w.app.SetClock(it.appClock)
		if it.flushIdle {
			w.ord = order{at: p.Index, phase: phaseFlushIdle, ts: it.clock}
			w.app.FlushIdle()
		}
		w.ord = order{at: p.Index, phase: phaseApp, ts: it.clock}
		w.app.Packet(p, f, dir)
	case flows.KindICMP:
		if p.IsICMPRecord() {
			w.ord = order{at: p.Index, phase: phaseApp, ts: it.clock}
			w.cur.out = append(w.cur.out, output{ord: w.ord, icmp: flows.NewICMPRecord(p, f)})
		}
	}
	if w.onPacket != nil {
		w.onPacket(p, f, dir, a)
	}
	if testWorkerHook != nil {
		testWorkerHook(p)
	}
}

// testWorkerHook, set only by tests, sees each packet a worker processed
// (to make one fail).
var testWorkerHook func(*flows.Packet)

// arena holds the bytes of a round's packets (the reader's buffers are
// reused for the next packet): chunks of arenaChunk, kept for the next
// round.
type arena struct {
	chunks [][]byte
	cur    int
}

const arenaChunk = 1 << 20

func (a *arena) reset() {
	for i := range a.chunks {
		a.chunks[i] = a.chunks[i][:0]
	}
	a.cur = 0
}

// copy returns a copy of b that stays valid until reset.
func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	for {
		if a.cur == len(a.chunks) {
			a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, len(b))))
		}
		c := a.chunks[a.cur]
		if cap(c)-len(c) >= len(b) {
			n := len(c)
			c = append(c, b...)
			a.chunks[a.cur] = c
			return c[n:len(c):len(c)]
		}
		a.cur++
	}
}

package analyze

import (
	"fmt"
	"slices"
	"sort"
	"sync/atomic"

	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// merger takes the workers' rounds in turn and hands their records, in the
// run's one order, to the rules and the sinks. It also does what needs
// every worker's view: tcp.stream numbers in the order the connections
// appeared in the capture (each table numbers its own), the most flows
// active at once, and the DNS lookup time of a connection whose DNS answer
// a worker other than its own saw.
type merger struct {
	engine *rules.Engine
	sink   recordSink
	follow *follower // following a capture (follow.go); nil otherwise
	err    error     // the sinks' first error
	// failed is set with err, for the reader to stop early.
	failed atomic.Bool

	streams    [][]int64 // per worker: its table's stream number → the run's
	nextStream int64
	active     int64
	peak       int64
	created    int64
	answers    dnsAnswers

	// reuse: every sink is a run.Borrower, so a record goes back to the
	// worker that made it once consumed (in the spare lists of the
	// worker's round being merged). Not when following a capture: a
	// period keeps its records until it ends (follow).
	reuse  bool
	rounds []*round

	all     []output
	heads   [][]output // per worker, its records of the round not yet merged
	creates []created
	// ends queues each worker's end-of-input records until they can be
	// consumed in order; endDone says which workers have sent all theirs.
	ends    [][]output
	endDone []bool
}

func newMerger(engine *rules.Engine, sink run.Sink, workers int) *merger {
	return &merger{
		engine:  engine,
		sink:    run.Tee(sink).(recordSink),
		reuse:   run.Borrows(sink),
		streams: make([][]int64, workers),
		ends:    make([][]output, workers),
		endDone: make([]bool, workers),
		answers: dnsAnswers{m: map[string]*answerList{}},
	}
}

// merge consumes one round of every worker (rounds[w] is worker w's).
func (m *merger) merge(rounds []*round) {
	m.rounds = rounds
	defer func() { m.rounds = nil }()
	if m.follow != nil && m.follow.cut == 0 {
		m.follow.cut = rounds[0].cut
	}
	// The connections the round created, in capture order, get the run's
	// stream numbers.
	m.creates = m.creates[:0]
	for w, r := range rounds {
		for _, c := range r.creates {
			c.worker = w
			m.creates = append(m.creates, c)
		}
	}
	// At most one flow is created per packet, so the indexes are distinct.
	sort.Slice(m.creates, func(i, j int) bool { return m.creates[i].at < m.creates[j].at })
	for _, c := range m.creates {
		local, w := c.stream, c.worker
		if local >= 0 {
			if int64(len(m.streams[w])) != local {
				panic(fmt.Sprintf("analyze: worker %d numbered stream %d after %d", w, local, len(m.streams[w])))
			}
			m.streams[w] = append(m.streams[w], m.nextStream)
			m.nextStream++
		}
	}

	// The records of the end of the input come last, a batch per round
	// from each worker, each worker's in order: they wait in ends until
	// no worker can still send one that goes before (mergeEnds).
	m.all = m.all[:0]
	m.heads = m.heads[:0]
	for w, r := range rounds {
		for i := range r.out {
			r.out[i].from = w
			m.renumber(w, &r.out[i])
		}
		// A worker makes its records nearly always in order already.
		// Stable: the records of one flow come from one worker, in the
		// order it made them.
		out := r.out
		if !slices.IsSortedFunc(out, cmpOutput) {
			slices.SortStableFunc(out, cmpOutput)
		}
		k := len(out)
		for k > 0 && out[k-1].ord.at == endOfInput {
			k--
		}
		if k > 0 {
			m.heads = append(m.heads, out[:k])
		}
		if k < len(out) {
			m.ends[w] = append(m.ends[w], out[k:]...)
		}
		m.endDone[w] = r.done
	}
	// The workers' records, merged in order (ties to the lower worker,
	// as a stable sort of them one worker after another would).
	for len(m.heads) > 0 {
		best := 0
		for h := 1; h < len(m.heads); h++ {
			if m.heads[h][0].ord.less(&m.heads[best][0].ord) {
				best = h
			}
		}
		m.all = append(m.all, m.heads[best][0])
		if m.heads[best] = m.heads[best][1:]; len(m.heads[best]) == 0 {
			m.heads = slices.Delete(m.heads, best, best+1)
		}
	}

	next := 0 // of m.creates not yet counted active
	for i := range m.all {
		o := &m.all[i]
		if o.flow != nil {
			// Flows created before this end was made: at its packet
			// index only if it ended later in the packet's work.
			for next < len(m.creates) && (m.creates[next].at < o.ord.at || m.creates[next].at == o.ord.at && o.ord.phase > phaseTable) {
				m.flowCreated(&m.creates[next])
				next++
			}
			m.active--
		}
		m.consume(o)
	}
	for ; next < len(m.creates); next++ {
		m.flowCreated(&m.creates[next])
	}
	clear(m.all)
	m.mergeEnds()
}

// cmpOutput orders records by their order.
func cmpOutput(a, b output) int { return a.ord.compare(&b.ord) }

// mergeEnds consumes the end-of-input records that no worker can still
// precede: the least head of the workers' queues, as long as every worker
// not done has a record queued.
func (m *merger) mergeEnds() {
	for {
		best := -1
		for w := range m.ends {
			if len(m.ends[w]) == 0 {
				if !m.endDone[w] {
					return // its next batch may go first
				}
				continue
			}
			if best < 0 || m.ends[w][0].ord.less(&m.ends[best][0].ord) {
				best = w
			}
		}
		if best < 0 {
			return
		}
		o := &m.ends[best][0]
		if o.flow != nil {
			m.active--
		}
		m.consume(o)
		m.ends[best][0] = output{}
		m.ends[best] = m.ends[best][1:]
		if len(m.ends[best]) == 0 {
			m.ends[best] = m.ends[best][:0:0] // let the batch's array go
		}
	}
}

func (m *merger) flowCreated(c *created) {
	m.created++
	m.active++
	m.peak = max(m.peak, m.active)
	if m.follow != nil {
		m.follow.created(c.at, c.ts, m.active)
	}
}

// renumber gives a worker's record the run's stream numbers.
func (m *merger) renumber(w int, o *output) {
	s := m.streams[w]
	re := func(n *int64) {
		if *n >= 0 && *n < int64(len(s)) {
			*n = s[*n]
		}
	}
	switch {
	case o.flow != nil:
		re(&o.flow.Stream)
		if o.flow.Reuse != nil {
			re(&o.flow.Reuse.PrevStream)
		}
	case o.dns != nil:
		re(&o.dns.Stream)
	case o.http != nil:
		re(&o.http.Stream)
	case o.tls != nil:
		re(&o.tls.Stream)
	}
}

// consume hands one record to the rules and the sinks (following a
// capture: to its period's sink, or nowhere; follow.go).
func (m *merger) consume(o *output) {
	// What needs every worker's records first: a connection's DNS lookup
	// time, from the answers seen so far.
	switch {
	case o.flow != nil:
		rec := o.flow
		if rec.TimingStartNS != 0 && rec.Proto == "tcp" {
			if ms, ok := m.answers.lookup(rec.DstAddr, rec.TimingStartNS); ok {
				rec.DNSMS = ms
			}
		}
	case o.dns != nil:
		d := o.dns
		if !d.Unanswered && d.LatencyMS > 0 {
			for _, a := range d.AnswerAddrs {
				m.answers.add(a, d.ResponseNS, d.LatencyMS)
			}
		}
	}
	to := m.sink
	if m.follow != nil {
		if to = m.follow.route(o); to == nil {
			return
		}
	} else {
		deliver(m.engine, o)
	}
	if m.err != nil {
		return
	}
	if err := deliver(to, o); err != nil {
		m.err = err
		m.failed.Store(true)
	}
	if m.reuse {
		m.rounds[o.from].spare.give(o)
	}
}

// recordSink is a sink of every kind of record.
type recordSink interface {
	run.Sink
	run.ICMPSink
}

// deliver hands the record to s.
func deliver(s recordSink, o *output) error {
	switch {
	case o.flow != nil:
		return s.Flow(o.flow)
	case o.dns != nil:
		return s.DNS(o.dns)
	case o.http != nil:
		return s.HTTP(o.http)
	case o.tls != nil:
		return s.TLS(o.tls)
	case o.icmp != nil:
		return s.ICMP(o.icmp)
	}
	return nil
}

// dnsAnswers remembers, per answered address, the last few DNS answers
// that gave it (when, and how long the lookup took), for the DNS phase of
// a connection's timing: the latest answer at or before the connection
// started, within ten minutes.
type dnsAnswers struct {
	m map[string]*answerList
}

type answerList struct {
	at [answersPerAddr]int64
	ms [answersPerAddr]float64
	n  int // answers added (the last answersPerAddr are kept)
}

const (
	answersPerAddr = 4
	maxAnswerAddrs = 100_000 // the map is cleared past it (a flood of names)
	answerWindow   = int64(10 * 60 * 1e9)
)

func (d *dnsAnswers) add(addr string, at int64, ms float64) {
	l := d.m[addr]
	if l == nil {
		if len(d.m) >= maxAnswerAddrs {
			clear(d.m)
		}
		l = &answerList{}
		d.m[addr] = l
	}
	i := l.n % answersPerAddr
	l.at[i], l.ms[i] = at, ms
	l.n++
}

func (d *dnsAnswers) lookup(addr string, start int64) (float64, bool) {
	l := d.m[addr]
	if l == nil {
		return 0, false
	}
	for k := 1; k <= min(l.n, answersPerAddr); k++ {
		i := (l.n - k) % answersPerAddr
		if at := l.at[i]; at <= start && start-at < answerWindow {
			return l.ms[i], true
		}
	}
	return 0, false
}

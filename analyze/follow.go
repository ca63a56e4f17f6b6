package analyze

import (
	"sort"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/run"
)

// Follow makes a run one step of following a capture that grows file by
// file (a tcpdump or dumpcap ring; pcapx watch, docs/watch.md). A step
// reads the files that are new since the step before and, ahead of them,
// the last files an earlier step read: those only rebuild the flows that
// were still open when that step ended. Each record goes to the period of
// the capture time at which it was completed (a flow: when it ended), and
// what the step counted goes to the period of each packet
// (Result.Periods):
//
//   - only the packets of the files New says are new are counted;
//   - a record completed before the first packet of a new file is dropped
//     (the step that read that packet first kept it), and so is what the
//     end of the input completes (the flows still open, the DNS queries
//     still waiting), unless Drain: the next step, reading on, completes
//     them;
//   - the table checks for idle flows at every whole second of capture
//     time and the parsers at every tenth (not a second after the first
//     packet read), so re-reading a file makes the same records at the
//     same packets as reading it first did.
//
// So across steps every packet is counted once and every record kept once.
// What a step cannot rebuild: a flow that began before the files it
// re-reads (its record lacks the earlier packets), and a connection's DNS
// lookup time when the answer came before them.
type Follow struct {
	// New says whether the named input file is read for the first time.
	New func(file string) bool
	// Period returns the period [start, end) holding capture time ts (ns).
	Period func(ts int64) (start, end int64)
	// Drain ends the capture with the input: the flows still open end
	// there and their records are kept.
	Drain bool
	// Sink is where the records of the period starting at start go; it
	// is asked once per period, in the order records first reach them.
	Sink func(start int64) (run.Sink, error)
	// FirstStream is the tcp.stream number of the step's first TCP
	// connection (the step before's Result.NextStream), so that numbers
	// do not repeat across steps.
	FirstStream int64
}

// follower is the merger's part: it routes each record to its period's
// sink, or drops it.
type follower struct {
	cfg     *Follow
	reader  *readerFollow // the reader's part, once the input is read
	cut     int64         // index of the first packet of a new file; 0 while none
	sinks   map[int64]recordSink
	peaks   map[int64]int64
	openMin int64 // earliest first packet of a flow open at the end
	cache   struct{ start, end int64 }
}

func newFollower(cfg *Follow) *follower {
	return &follower{cfg: cfg, sinks: map[int64]recordSink{}, peaks: map[int64]int64{}}
}

// period is the start of the period holding ts.
func (f *follower) period(ts int64) int64 {
	if c := &f.cache; c.end == 0 || ts < c.start || ts >= c.end {
		c.start, c.end = f.cfg.Period(ts)
	}
	return f.cache.start
}

// kept says whether what happened at packet index at (or at the end of
// the input) belongs to this step.
func (f *follower) kept(at int64) bool {
	if at == endOfInput {
		// Draining, the flows the input leaves open end, even in a step
		// with no new file (they are the flows the step before left).
		return f.cfg.Drain
	}
	return f.cut != 0 && at >= f.cut
}

// route is the sink of o's period, or nil when the record is dropped.
func (f *follower) route(o *output) recordSink {
	if !f.kept(o.ord.at) {
		if o.ord.at == endOfInput && o.flow != nil && (f.openMin == 0 || o.flow.FirstNS < f.openMin) {
			f.openMin = o.flow.FirstNS
		}
		return nil
	}
	start := f.period(o.ord.ts)
	s, ok := f.sinks[start]
	if !ok {
		k, err := f.cfg.Sink(start)
		if err != nil {
			f.sinks[start] = failing{err} // asked once: the run ends with the error
			return f.sinks[start]
		}
		s = run.Tee(k).(recordSink)
		f.sinks[start] = s
	}
	return s
}

// created counts a flow created at index at, time ts, with active flows
// then active, towards its period's peak.
func (f *follower) created(at, ts, active int64) {
	if f.kept(at) {
		p := f.period(ts)
		f.peaks[p] = max(f.peaks[p], active)
	}
}

// failing is the sink of a period whose sink could not be made.
type failing struct{ err error }

func (s failing) Flow(*flows.Record) error     { return s.err }
func (s failing) DNS(*flows.DNSRecord) error   { return s.err }
func (s failing) HTTP(*flows.HTTPRecord) error { return s.err }
func (s failing) TLS(*flows.TLSRecord) error   { return s.err }
func (s failing) ICMP(*flows.ICMPRecord) error { return s.err }

// periods counts a step's packets and components' work by period: the
// reader's (packets, decoding, frames no flow takes) and each worker's
// (timeline, reassembly and parsers, table). An owner is an index into
// the step's periods, or -1 for packets not counted (re-read).
type periods struct {
	list []*run.Period
}

// at returns period i, growing the list (periods are numbered by the
// reader in the order their first counted packet came).
func (ps *periods) at(i int32, start int64) *run.Period {
	for int(i) >= len(ps.list) {
		ps.list = append(ps.list, nil)
	}
	p := ps.list[i]
	if p == nil {
		p = &run.Period{Start: start}
		p.Timeline.Begin(start)
		ps.list[i] = p
	}
	return p
}

// readerFollow is the reader's part of following.
type readerFollow struct {
	cfg   *Follow
	isNew []bool // by input file index
	cut   int64
	idx   map[int64]int32 // period start → owner number
	cur   struct {
		start, end int64
		owner      int32
	}
	periods
	// The decoder's counters are given to their owner whenever the owner
	// changes (decOwner, as they stood then in decMark).
	decOwner int32
	decMark  flows.DecodeStats
}

func newReaderFollow(cfg *Follow, files []string) *readerFollow {
	x := &readerFollow{cfg: cfg, idx: map[int64]int32{}, decOwner: -1}
	x.isNew = make([]bool, len(files))
	for i, name := range files {
		x.isNew[i] = cfg.New(name)
	}
	x.cur.owner = -1
	return x
}

// owner is the owner of a packet of input file at time ts (and its
// period's start), setting the cut at the first counted packet.
func (x *readerFollow) owner(file int, ts, index int64) (int32, int64) {
	if file >= len(x.isNew) || !x.isNew[file] {
		return -1, 0
	}
	if x.cut == 0 {
		x.cut = index
	}
	c := &x.cur
	if c.owner < 0 || ts < c.start || ts >= c.end {
		c.start, c.end = x.cfg.Period(ts)
		o, ok := x.idx[c.start]
		if !ok {
			o = int32(len(x.idx))
			x.idx[c.start] = o
		}
		c.owner = o
	}
	return c.owner, c.start
}

// decoded gives the decoder's counters since the last change of owner to
// their owner, when the next packet's owner differs.
func (x *readerFollow) decoded(dec *flows.Decoder, owner int32) {
	if owner == x.decOwner {
		return
	}
	x.flushDecode(dec)
	x.decOwner = owner
}

func (x *readerFollow) flushDecode(dec *flows.Decoder) {
	d := dec.Stats
	d.Sub(&x.decMark)
	x.decMark = dec.Stats
	if x.decOwner >= 0 {
		x.list[x.decOwner].Decode.Add(&d)
	}
}

// workerFollow is a worker's part of following.
type workerFollow struct {
	periods
	owner     int32
	appMark   streams.Stats
	tableMark flows.TableStats
}

// account gives the tracker's and the table's counters since the last
// change of owner to their owner, when the packet's owner differs.
func (wf *workerFollow) account(w *worker, owner int32, start int64) {
	if owner >= 0 {
		wf.at(owner, start)
	}
	if owner == wf.owner {
		return
	}
	if wf.owner >= 0 {
		p := wf.list[wf.owner]
		s := w.app.Stats
		s.Sub(&wf.appMark)
		p.Streams.Add(&s)
		p.Flows += w.table.Stats.Flows - wf.tableMark.Flows
		p.Evicted += w.table.Stats.Evicted - wf.tableMark.Evicted
		p.Forgotten += w.table.Stats.Forgotten - wf.tableMark.Forgotten
	}
	wf.appMark, wf.tableMark = w.app.Stats, w.table.Stats
	wf.owner = owner
}

// collect merges the step's counts by period, with the peaks and the
// input files' formats and link types, into the result, by start.
func collectPeriods(r *run.Result, x *readerFollow, ws []*worker, f *follower, files []run.File) {
	byStart := map[int64]*run.Period{}
	add := func(p *run.Period) {
		if p == nil {
			return
		}
		q := byStart[p.Start]
		if q == nil {
			q = &run.Period{Start: p.Start}
			q.Timeline.Begin(p.Start)
			byStart[p.Start] = q
		}
		q.Add(p)
	}
	for _, p := range x.list {
		add(p)
	}
	for _, w := range ws {
		for _, p := range w.follow.list {
			add(p)
		}
	}
	for start, peak := range f.peaks {
		if p := byStart[start]; p != nil {
			p.Peak = max(p.Peak, int(peak))
		}
	}
	for _, p := range byStart {
		for i := range p.Files {
			pf := &p.Files[i]
			for _, fi := range files {
				if fi.Name == pf.Name {
					pf.Format, pf.LinkTypes = fi.Format, fi.LinkTypes
				}
			}
		}
		r.Periods = append(r.Periods, p)
	}
	sort.Slice(r.Periods, func(i, j int) bool { return r.Periods[i].Start < r.Periods[j].Start })
	r.OpenFromNS = f.openMin
}

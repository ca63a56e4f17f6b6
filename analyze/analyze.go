// Package analyze runs one analysis: it opens the captures, decodes every
// frame, shards the flows over workers that run the flow tables, the TCP
// analysis and the application parsers, and hands every record, in one
// order whatever the number of workers, to the rules, the run's
// Summariser and the caller's sink (docs/architecture.md). What it keeps
// is bounded by the active flows, never by the file size.
//
// The sinks (text, JSON, Parquet, HTML) live in package report and
// implement run.Sink; cmd/pcapx wires them together. analyze never knows an
// output format.
package analyze

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pcapx/pcapx/analyze/source"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// Config is one run's settings.
type Config struct {
	Inputs []string     // files, directories, globs, or "-" for stdin
	Stdin  io.Reader    // read for "-" (default os.Stdin)
	Flows  flows.Config // table bounds and timeouts (OnEnd is set by Run)
	// TopTalkers is how many hosts the summary lists (default 10).
	TopTalkers int
	// Progress, if set, is called about every 64k packets with the bytes
	// read so far and the total (0 when unknown).
	Progress func(done, total int64)
	// Rules overrides the rules' defaults (nil: all rules, defaults).
	Rules *rules.Config
	// Streams bounds the reassembly (zero: defaults).
	Streams streams.Config
	// OnPacket, if set, sees every decoded packet with its flow and TCP
	// analysis flags (for tests and per-frame tooling). The arguments are
	// valid only during the call. It makes the run use one worker.
	OnPacket func(p *flows.Packet, f *flows.Flow, dir flows.Dir, a flows.Analysis)
	// Workers is how many flow workers share the analysis (0: one per
	// core). The output is the same for any number.
	Workers int
	// Stop, when closed, ends the standard input ("-") as if it had
	// reached its end: the run analyses and reports what it read, with a
	// capture warning saying so (Ctrl-C on live input).
	Stop <-chan struct{}
	// Since and Until, when not zero, select a time window: only packets
	// with Since <= timestamp < Until are analysed. The reader skips the
	// others before they are decoded (Capture.OutsideWindow counts them).
	Since, Until time.Time
	// Follow, when set, makes the run one step of following a growing
	// set of files (pcapx watch; follow.go).
	Follow *Follow
	// Memory is the run's memory budget in bytes (0: DefaultMemory): the
	// bounds Flows and Streams leave at zero are shares of it
	// (budget.go).
	Memory int64
}

// window is the source's window (ns) for Since and Until.
func (cfg *Config) window() (since, until int64) {
	if !cfg.Since.IsZero() {
		since = cfg.Since.UnixNano()
	}
	if !cfg.Until.IsZero() {
		until = cfg.Until.UnixNano()
	}
	return since, until
}

// windowText is the window as an RFC 3339 interval, "" without one.
func (cfg *Config) windowText() string {
	if cfg.Since.IsZero() && cfg.Until.IsZero() {
		return ""
	}
	s, u := "..", ".."
	if !cfg.Since.IsZero() {
		s = cfg.Since.UTC().Format(time.RFC3339Nano)
	}
	if !cfg.Until.IsZero() {
		u = cfg.Until.UTC().Format(time.RFC3339Nano)
	}
	return s + "/" + u
}

// Run analyses the inputs. Flows go to sink (which may be nil) as they end;
// the returned Result summarises the capture. An error means the job could
// not be done (no readable input, an I/O failure, or the sink failed);
// damage inside a capture is a warning in Result.Capture.Warnings.
//
// The reader (the calling goroutine) decodes every packet and hands it to
// the worker that owns its flow; with more than one worker, each runs in
// its own goroutine and a merger goroutine puts their records in the run's
// one order (worker.go, merge.go, docs/architecture.md). The output does
// not depend on the number of workers.
func Run(cfg Config, sink run.Sink) (*run.Result, error) {
	if !cfg.Since.IsZero() && !cfg.Until.IsZero() && !cfg.Since.Before(cfg.Until) {
		return nil, fmt.Errorf("time window: since %s is not before until %s", cfg.Since.UTC().Format(time.RFC3339Nano), cfg.Until.UTC().Format(time.RFC3339Nano))
	}
	since, until := cfg.window()
	live := cfg.Stop != nil && slices.Contains(cfg.Inputs, "-")
	if live {
		in := cfg.Stdin
		if in == nil {
			in = os.Stdin
		}
		cfg.Stdin = newStopReader(in, cfg.Stop)
	}
	rd, err := source.Open(cfg.Inputs, source.Options{Stdin: cfg.Stdin, Since: since, Until: until})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	engine, err := rules.NewEngine(cfg.Rules)
	if err != nil {
		return nil, err
	}
	n := cfg.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	if cfg.OnPacket != nil {
		n = 1 // the callback sees packets in capture order, one at a time
	}

	r := &run.Result{}
	// Every record goes to the summariser as well as to the caller's sink.
	sum := run.NewSummariser(run.Options{TopTalkers: cfg.TopTalkers})
	m := newMerger(engine, run.Tee(sum, sink), n)
	if cfg.Follow != nil {
		m.follow, m.reuse = newFollower(cfg.Follow), false
		m.nextStream = cfg.Follow.FirstStream
	}
	// The bounds left unset are shares of the memory budget; they bound
	// the run, not each worker: every worker's table gets its share, and
	// so do the bytes held ahead of holes.
	if cfg.Memory <= 0 {
		cfg.Memory = DefaultMemory
	}
	Budget{cfg.Memory}.apply(&cfg)
	wcfg := cfg
	wcfg.Flows.MaxFlows = (wcfg.Flows.MaxFlows + n - 1) / n
	wcfg.Flows.MaxBytes = (wcfg.Flows.MaxBytes + int64(n) - 1) / int64(n)
	wcfg.Streams.MaxPagesTotal = (wcfg.Streams.MaxPagesTotal + n - 1) / n
	wcfg.Streams.MaxParsers = (wcfg.Streams.MaxParsers + n - 1) / n
	ws := make([]*worker, n)
	for i := range ws {
		ws[i] = newWorker(&wcfg)
	}
	var readErr error
	if n == 1 {
		readErr = readInline(&cfg, rd, ws[0], m, r)
	} else {
		readErr = readSharded(&cfg, rd, ws, m, r)
	}
	if readErr != nil {
		return nil, readErr
	}
	if m.err != nil {
		return nil, fmt.Errorf("write output: %w", m.err)
	}

	if cfg.Progress != nil {
		cfg.Progress(rd.Progress())
	}

	for _, w := range ws {
		r.Table.Flows += w.table.Stats.Flows
		r.Table.Evicted += w.table.Stats.Evicted
		r.Table.Forgotten += w.table.Stats.Forgotten
		r.Streams.Add(&w.app.Stats)
		r.Timeline.Merge(&w.timeline)
	}
	r.Table.Peak = int(m.peak)
	sum.Summarise(r)
	fillCapture(r, rd)
	r.Capture.Window = cfg.windowText()
	if m.follow != nil {
		for _, w := range ws {
			w.follow.account(w, -1, 0)
		}
		collectPeriods(r, m.follow.reader, ws, m.follow, r.Capture.Files)
		r.NextStream = m.nextStream
		r.FileLastNS = map[string]int64{}
		for _, fi := range rd.Files() {
			r.FileLastNS[fi.Name] = fi.Last
		}
	}
	if live && stopped(cfg.Stop) {
		r.Capture.Warnings = append(r.Capture.Warnings, fmt.Sprintf("standard input: stopped after %d packets (interrupted): the analysis covers what was read until then", r.Capture.Packets))
	}
	info := runInfo(rd, &r.Capture)
	info.Shed = Shed(r)
	engine.SetRun(info)
	r.Findings = engine.Finish()
	r.Suppressed, r.Omitted = engine.Suppressed, engine.Omitted
	r.RuleWarnings = engine.Warnings
	return r, nil
}

// Shed is what the run shed at its bounds, from its counters (for the
// rules' RunInfo).
func Shed(r *run.Result) rules.ShedCounts {
	return rules.ShedCounts{EvictedFlows: r.Table.Evicted, ReassemblySkips: r.Streams.BoundSkips, ParsersStopped: r.Streams.ParsersStopped,
		DNSQueriesDropped: r.Streams.DNSOverflow, FragmentsOverLimit: r.Decode.FragOverLimit}
}

func stopped(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// roundPackets is how many packets the reader hands out per round: large
// enough that a round's hand-over costs little per packet, small enough
// that the records wait little before the merger orders them and that the
// rounds in flight hold little (each holds its packets' bytes: with 4096,
// six rounds of two workers held 12 MB more at the peak, and the run was
// no faster).
var roundPackets = 1024 // a variable for the tests

// reader decodes the input into rounds of items, one round per worker.
type reader struct {
	cfg     *Config
	rd      source.Reader
	dec     *flows.Decoder
	shard   *flows.Sharder
	p       flows.Packet
	n       int64
	start   int64
	started bool

	clock              flows.Clock
	now                int64 // the clock at the last packet
	eof                bool  // the input has ended
	lastExpire         int64
	appClock, appFlush int64
	timeline           run.Timeline // packets no flow takes (non-IP, malformed)

	follow *readerFollow // following a capture (follow.go)
	names  []string      // the input files' names, by index

	// inline is the one worker when it runs on the reader's goroutine
	// (readInline): it gets each packet as it is decoded, in one (the
	// packet is decoded into it).
	inline *worker
	one    item
}

func newReader(cfg *Config, rd source.Reader, workers int) *reader {
	x := &reader{cfg: cfg, rd: rd, dec: flows.NewDecoder(), shard: flows.NewSharder(workers, cfg.Flows.KeyByVLAN)}
	if cfg.Follow != nil {
		for _, fi := range rd.Files() {
			x.names = append(x.names, fi.Name)
		}
		x.follow = newReaderFollow(cfg.Follow, x.names)
		x.lastExpire, x.appFlush = -1, -1
	}
	return x
}

// fill reads up to roundPackets packets into rounds. At the end of the
// input it adds the end item to the round of every worker not done yet,
// and returns false once all are (their rounds carry nothing more).
func (x *reader) fill(rounds []*round) (more bool, err error) {
	for k := 0; k < roundPackets; k++ {
		if x.eof {
			break
		}
		pkt, err := x.rd.Next()
		if err == io.EOF {
			x.eof = true
			break
		}
		if err != nil {
			return false, err // "read capture: FILE: ..." (source)
		}
		x.n++
		if x.cfg.Progress != nil && x.n&0xffff == 0 {
			x.cfg.Progress(x.rd.Progress())
		}
		if !x.started {
			x.start, x.started = pkt.Timestamp, true
			x.timeline.Begin(x.start)
			if x.inline != nil {
				x.inline.timeline.Begin(x.start)
			}
		}
		p := &x.p
		if x.inline != nil {
			p = &x.one.pkt // decoded where the worker takes it
		}
		p.Index, p.Timestamp, p.File, p.Frame, p.WireLen = x.n, pkt.Timestamp, pkt.File, pkt.Frame, pkt.OrigLen
		owner, pstart := int32(-1), int64(0)
		if x.follow != nil {
			owner, pstart = x.follow.owner(pkt.File, pkt.Timestamp, x.n)
			x.follow.decoded(x.dec, owner)
			if owner >= 0 {
				x.follow.at(owner, pstart).AddPacket(x.names[pkt.File], pkt.Timestamp, pkt.OrigLen)
			}
		}
		kind := x.dec.Decode(pkt.LinkType, pkt.Data, p)
		switch kind {
		case flows.KindTCP, flows.KindUDP, flows.KindICMP, flows.KindIP:
		default:
			switch {
			case x.follow == nil:
				x.timeline.Add(p.Timestamp, p.WireLen, 0)
			case owner >= 0:
				x.follow.list[owner].Timeline.Add(p.Timestamp, p.WireLen, 0)
			}
			continue
		}
		// The clocks and the moments to check for idle flows are the
		// run's, decided here for every worker alike.
		now, before := x.clock.Advance(p.Timestamp), x.clock.Before()
		x.now = now
		expire, flushIdle := x.due(kind, now, p.Timestamp)
		if x.inline != nil {
			// One worker on this goroutine: it takes the packet now, while
			// the reader's buffer still holds it, without a copy.
			it := &x.one
			it.kind, it.pktKind, it.clock, it.before, it.appClock = itemPacket, kind, now, before, x.appClock
			it.expire, it.flushIdle, it.owner, it.pstart = expire, flushIdle, owner, pstart
			x.inline.processItem(it)
			if kind == flows.KindICMP && p.NextHopMTU > 0 && p.Quoted.Valid && p.Quoted.Proto == flows.ProtoTCP {
				x.one.kind = itemPathMTU
				x.inline.processItem(&x.one)
			}
			continue
		}
		w := x.shard.Of(p)
		r := rounds[w]
		r.items = append(r.items, item{kind: itemPacket, pktKind: kind, clock: now, before: before, appClock: x.appClock, expire: expire, flushIdle: flushIdle, owner: owner, pstart: pstart})
		it := &r.items[len(r.items)-1]
		it.pkt = *p
		keepBytes(&it.pkt, &r.arena)
		if expire || flushIdle {
			// Every worker checks its flows at this packet.
			for v, o := range rounds {
				if v != w {
					o.items = append(o.items, item{kind: itemTick, clock: now, before: before, appClock: x.appClock, expire: expire, flushIdle: flushIdle, pkt: flows.Packet{Index: p.Index}})
				}
			}
		}
		if kind == flows.KindICMP && p.NextHopMTU > 0 && p.Quoted.Valid && p.Quoted.Proto == flows.ProtoTCP {
			q := rounds[x.shard.OfQuoted(p)]
			q.items = append(q.items, item{kind: itemPathMTU, clock: now, before: before, pkt: *p})
			q.items[len(q.items)-1].pkt.Payload, q.items[len(q.items)-1].pkt.Segment = nil, nil
		}
	}
	// At the end of the input every worker ends its flows, a batch per
	// round, until each has said it is done (in a round it gave back).
	more = true
	if x.eof {
		more = false
		for _, r := range rounds {
			if !r.done {
				r.items = append(r.items, item{kind: itemEnd, clock: x.now, appClock: max(x.now, x.appClock)})
				more = true
			}
		}
	}
	for _, r := range rounds {
		r.start, r.started = x.start, x.started
		if x.follow != nil {
			r.cut = x.follow.cut
		}
	}
	return more, nil
}

// due says whether the table's check for idle flows and the parsers'
// idle flush are due at a packet of this kind, at clock now and time ts:
// a second after the last check, and ten seconds after the last flush.
// Following a capture, at every whole second (and tenth second) of
// capture time instead, so that re-reading a file checks at the same
// packets as the first reading did (follow.go).
func (x *reader) due(kind flows.Kind, now, ts int64) (expire, flushIdle bool) {
	const second, flushEvery = int64(1e9), int64(10e9)
	aligned := x.follow != nil
	if aligned {
		expire = now/second != x.lastExpire/second
	} else {
		expire = now-x.lastExpire >= second
	}
	if expire {
		x.lastExpire = now
	}
	if kind == flows.KindTCP || kind == flows.KindUDP {
		x.appClock = max(x.appClock, ts)
		if aligned {
			flushIdle = x.appClock/flushEvery != x.appFlush/flushEvery
		} else {
			flushIdle = x.appClock-x.appFlush >= flushEvery
		}
		if flushIdle {
			x.appFlush = x.appClock
		}
	}
	return expire, flushIdle
}

// keepBytes moves the packet's payload and segment into the round's arena:
// the reader's buffer (and the defragmenter's) is reused for the next
// packet, and the worker reads them later.
func keepBytes(p *flows.Packet, a *arena) {
	if p.Segment == nil {
		p.Payload = a.copy(p.Payload)
		return
	}
	// A TCP payload lies inside its segment: one copy serves both.
	off := cap(p.Segment) - cap(p.Payload)
	seg := a.copy(p.Segment)
	if len(p.Payload) > 0 && off >= 0 && off+len(p.Payload) <= len(seg) {
		p.Payload = seg[off : off+len(p.Payload) : off+len(p.Payload)]
	} else {
		p.Payload = a.copy(p.Payload)
	}
	p.Segment = seg
}

// readInline runs the whole analysis on the calling goroutine: one worker,
// which takes each packet as the reader decodes it (no copy of its bytes),
// and the merger, which orders each round's records.
func readInline(cfg *Config, rd source.Reader, w *worker, m *merger, r *run.Result) error {
	x := newReader(cfg, rd, 1)
	x.inline = w
	rnd := &round{}
	rounds := []*round{rnd}
	for {
		var more bool
		var err error
		w.cur = rnd
		if perr := guard(func() { more, err = x.fill(rounds) }); perr != nil {
			return perr
		}
		if err != nil {
			return err
		}
		if err := guard(func() { w.process(rnd) }); err != nil {
			return err
		}
		if err := guard(func() { m.merge(rounds) }); err != nil {
			return err
		}
		// The records the merge gave back, for the next round's packets,
		// which the worker takes while fill decodes them (before process).
		w.spare.moveFrom(&rnd.spare)
		rnd.reset()
		if !more || m.err != nil {
			break
		}
	}
	x.finish(r, m)
	return nil
}

// readSharded runs the workers and the merger on goroutines of their own,
// the reader on the calling one. Rounds circulate: the reader fills one per
// worker, each worker processes its own, the merger merges them and hands
// them back to be filled again (three in flight per worker).
func readSharded(cfg *Config, rd source.Reader, ws []*worker, m *merger, r *run.Result) error {
	n := len(ws)
	x := newReader(cfg, rd, n)
	const inFlight = 3
	in := make([]chan *round, n)
	out := make([]chan *round, n)
	free := make([]chan *round, n)
	for i := range ws {
		in[i], out[i], free[i] = make(chan *round, inFlight), make(chan *round, inFlight), make(chan *round, inFlight)
		for range inFlight {
			free[i] <- &round{items: make([]item, 0, roundPackets+64)} // a round may go to one worker whole (a bulk transfer)
		}
	}
	// crash is the first panic of a worker or the merger, as an error.
	var crash atomic.Pointer[error]
	crashed := func(err error) {
		if err != nil {
			crash.CompareAndSwap(nil, &err)
		}
	}
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(out[i])
			for rnd := range in[i] {
				// After a failure the rounds still pass through, unread,
				// so that the reader and the merger wind down.
				if crash.Load() == nil {
					crashed(guard(func() { w.process(rnd) }))
				}
				out[i] <- rnd
			}
		}()
	}
	merged := make(chan struct{})
	go func() {
		defer close(merged)
		rounds := make([]*round, n)
		for {
			for i := range out {
				rnd, ok := <-out[i]
				if !ok {
					return
				}
				rounds[i] = rnd
			}
			if crash.Load() == nil {
				crashed(guard(func() { m.merge(rounds) }))
			}
			for i, rnd := range rounds {
				rnd.reset()
				free[i] <- rnd
			}
		}
	}()

	var readErr error
	rounds := make([]*round, n)
	for {
		for i := range rounds {
			rounds[i] = <-free[i]
		}
		more, err := x.fill(rounds)
		if err != nil || crash.Load() != nil || m.failed.Load() {
			readErr = err
			more = false
		}
		for i, rnd := range rounds {
			in[i] <- rnd
		}
		if !more {
			break
		}
	}
	for i := range in {
		close(in[i])
	}
	wg.Wait()
	<-merged
	if err := crash.Load(); err != nil {
		return *err
	}
	x.finish(r, m)
	return readErr
}

// finish ends the decoding: the datagrams still waiting for fragments
// are counted.
func (x *reader) finish(r *run.Result, m *merger) {
	x.dec.Flush()
	if x.follow != nil {
		x.follow.flushDecode(x.dec)
		m.follow.reader = x.follow
	}
	r.Decode = x.dec.Stats
	r.Timeline.Merge(&x.timeline)
}

// guard runs f and turns a panic in it into an error: a bug in a parser
// (each is fuzzed, but a capture is hostile) ends the run with a message
// naming it, never with a crash in a worker goroutine.
func guard(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error (please report it with the capture): %v", p)
		}
	}()
	f()
	return nil
}

// reset empties a round for the next one (keeping its buffers).
func (r *round) reset() {
	clear(r.items) // drop the packets' references into the arena
	r.items = r.items[:0]
	r.arena.reset()
	clear(r.out)
	r.out = r.out[:0]
	r.creates = r.creates[:0]
}

// runInfo is what the rules learn of the capture as a whole: the frames
// read and cut short, its time span, and which files were read or skipped.
func runInfo(rd source.Reader, c *run.Capture) rules.RunInfo {
	info := rules.RunInfo{Packets: c.Packets, TruncatedFrames: c.Truncated, FirstNS: c.FirstNS, LastNS: c.LastNS, OutsideWindow: c.OutsideWindow}
	for _, fi := range rd.Files() {
		if fi.Skipped {
			info.Skipped = append(info.Skipped, fi.Name)
		} else {
			info.Files = append(info.Files, fi.Name)
		}
	}
	return info
}

// TableWarnings are the capture warnings of what the flow tables shed
// (analyze's, and pcapx watch's per period).
func TableWarnings(evicted, forgotten int64) []string {
	var w []string
	if evicted > 0 {
		w = append(w, fmt.Sprintf("flow table full: %d flows were evicted before they ended (raise --memory)", evicted))
	}
	if forgotten > 0 {
		w = append(w, fmt.Sprintf("%d closed connections were forgotten within 2 minutes of their last packet, to stay within the flow table's bound: a SYN reusing their ports is not told of them, a late packet of theirs counts as a new connection (raise --memory)", forgotten))
	}
	return w
}

func fillCapture(r *run.Result, rd source.Reader) {
	c := &r.Capture
	seenLT := map[uint16]bool{}
	for _, fi := range rd.Files() {
		f := run.File{Name: fi.Name, Format: fi.Format, Compression: fi.Compression, Packets: fi.Packets, Comments: fi.Comments, Skipped: fi.Skipped}
		for _, lt := range fi.LinkTypes {
			f.LinkTypes = append(f.LinkTypes, flows.LinkTypeName(lt))
			if !seenLT[lt] {
				seenLT[lt] = true
				c.LinkTypes = append(c.LinkTypes, flows.LinkTypeName(lt))
			}
		}
		if f.LinkTypes == nil {
			f.LinkTypes = []string{}
		}
		c.Files = append(c.Files, f)
		c.Packets += fi.Packets
		c.OutsideWindow += fi.Outside
		c.Bytes += fi.Bytes
		if fi.Packets > 0 {
			if c.FirstNS == 0 || fi.First < c.FirstNS {
				c.FirstNS = fi.First
			}
			if fi.Last > c.LastNS {
				c.LastNS = fi.Last
			}
		}
	}
	if c.Packets > 0 {
		c.First, c.Last = flows.FormatTime(c.FirstNS), flows.FormatTime(c.LastNS)
		c.Duration = float64(c.LastNS-c.FirstNS) / 1e9
	}
	if c.LinkTypes == nil {
		c.LinkTypes = []string{}
	}
	c.Warnings = []string{}
	for _, w := range rd.Warnings() {
		c.Warnings = append(c.Warnings, w.String())
	}
	c.Flows, c.Evicted, c.PeakFlows = r.Table.Flows, r.Table.Evicted, r.Table.Peak
	c.Warnings = append(c.Warnings, TableWarnings(c.Evicted, r.Table.Forgotten)...)
	c.NotIP, c.Malformed, c.Fragments, c.Truncated = r.Decode.NotIP, r.Decode.Malformed, r.Decode.Fragments, r.Decode.Truncated
	c.FragmentsDropped, c.FragmentsOverlapping, c.FragmentsOverLimit = r.Decode.FragDropped, r.Decode.FragOverlap, r.Decode.FragOverLimit
	c.ReassemblySkips, c.ParsersStopped, c.DNSQueriesDropped = r.Streams.BoundSkips, r.Streams.ParsersStopped, r.Streams.DNSOverflow
}

package flows

import "sort"

// Table is the flow table: it maps each packet to its flow, runs the
// per-packet TCP analysis, and hands flows to OnEnd when they end. Time is
// capture time throughout (never the wall clock), so a capture analysed a
// year later expires flows exactly as it would have live. Memory is bounded
// by Config.MaxFlows and Config.MaxBytes: when the table is full, a closed
// connection ends its close delay early, then the oldest tombstone goes,
// then a half-open SYN-only flow (what a SYN flood fills the table with),
// then the flow seen longest ago (shed); evictions are counted.
//
// Expiry uses one list per timeout class (open TCP, closed TCP, reset TCP,
// half-open TCP, UDP, other), each kept in last-seen order: with one timeout per list
// only the heads need checking, so expiry is O(expired), never a sweep over
// the whole table.
type Table struct {
	cfg   Config
	m     flowIndex
	lists [numLists]flowList
	// clock is the capture clock: the table's own (advanceClock), or the
	// run's (SetClock). Its before, where it stood before it last moved
	// forward, tells a flow that expired when the clock jumped past a
	// captureGap (it ended with the capture's gap, not idle).
	clock Clock
	sweep int64 // capture time of the last expiry check
	ids   uint64
	tcpN  int64 // next tcp.stream number
	free  []*Flow
	// flushing is what FlushSome has still to end.
	flushing []*Flow
	// bytes is the flows' state as StateCost counts it (over adds the
	// tombstones').
	bytes int64
	// timeWait is what stays of closed connections once they ended
	// (timewait.go).
	timeWait timeWait

	Stats TableStats
}

// TableStats counts what the table did, for the capture summary.
type TableStats struct {
	Flows   int64 // flows created
	Evicted int64 // flows pushed out because the table was full
	// Forgotten counts closed connections whose tombstone was dropped
	// before its time to stay within the table's bounds (timewait.go).
	Forgotten int64
	Active    int // flows in the table now
	Peak      int // most flows in the table at once
}

// Config tunes a Table. Zero values take the defaults below.
type Config struct {
	// MaxFlows bounds the table. Default 100 000: about 1 KB of state per
	// TCP flow (flow, TCP analysis, map entry), so under 100 MB.
	MaxFlows int
	// MaxBytes, when set, also bounds the table by the bytes its state
	// holds, as StateCost counts them: a flow costs what its kind holds (a
	// UDP flow less than a TCP connection, one that carried data more), so
	// a budget holds many cheap flows or fewer dear ones, and a flood of
	// connections that each carried a request cannot pass it.
	MaxBytes int64
	// Idle timeouts in ns of capture time.
	TCPIdle   int64 // established or mid-stream TCP; default 1 h (a quiet SSH session stays one flow)
	TCPClosed int64 // after FIN both ways; default 5 s (Zeek's tcp_close_delay), enough for the last ACK and a retransmitted FIN
	// TCPReset is TCPClosed for a connection closed by a RST, or before
	// its handshake completed; default 2 min (listFor says why).
	TCPReset int64
	// TCPTimeWait is how long the 4-tuple of a closed connection that
	// ended is remembered, for a connection that reuses it (timewait.go);
	// default 2 min (Linux's TIME-WAIT is 60 s).
	TCPTimeWait int64
	TCPHalfOpen int64 // SYN and nothing else; default 2 min (Linux gives up a SYN after ~127 s)
	UDPIdle     int64 // default 1 min (Zeek's udp_inactivity_timeout)
	OtherIdle   int64 // ICMP and other protocols; default 1 min
	// KeyByVLAN makes the VLAN id part of the flow key (see Key for why it
	// is not by default).
	KeyByVLAN bool
	// OnEnd receives each flow when it leaves the table. It must not keep the
	// *Flow: the table recycles it.
	OnEnd func(*Flow)
	// OnCreate, if set, sees each flow as the table creates it (before the
	// packet that created it is counted in it).
	OnCreate func(*Flow)
	// ExternalClock hands the capture clock to the caller: Process neither
	// advances the clock nor expires flows, and does not pass ICMP
	// path-MTU messages on to the flows they quote. The caller calls
	// SetClock before each packet, Expire when flows should be checked,
	// and NotePathMTU for the messages. analyze's sharded workers run
	// their tables so, with one clock for all (docs/architecture.md).
	ExternalClock bool
}

const second = int64(1e9)

// DefaultMaxFlows is Config.MaxFlows's default.
const DefaultMaxFlows = 100_000

// StateCost: what the table counts against Config.MaxBytes, measured as
// the heap a flow of each kind adds (analyze's TestFlowCost checks them):
// a flow with its index entry and the application state of a UDP flow;
// its TCP analysis; what a connection that carried data adds (transfer,
// its evidence and the application summary it keeps); a tombstone with
// its map slot and heap entry. The application parsers of TCP
// connections have a bound of their own (streams.Config.MaxParsers).
const (
	CostFlow      = 640
	CostTCP       = 512
	CostTransfer  = 896
	CostTombstone = 256
)

// baseCost is what a new flow of the protocol counts for against
// MaxBytes, before a TCP connection carries data.
func baseCost(proto uint8) int64 {
	if proto == ProtoTCP {
		return CostFlow + CostTCP
	}
	return CostFlow
}

// cost is what the flow counts for against MaxBytes.
func (f *Flow) cost() int64 {
	c := baseCost(f.Key.Proto)
	if f.transferCounted {
		c += CostTransfer
	}
	return c
}

func (c *Config) setDefaults() {
	if c.MaxFlows <= 0 {
		c.MaxFlows = DefaultMaxFlows
	}
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.TCPIdle, 3600*second)
	def(&c.TCPClosed, 5*second)
	def(&c.TCPReset, 120*second)
	def(&c.TCPTimeWait, 120*second)
	def(&c.TCPHalfOpen, 120*second)
	def(&c.UDPIdle, 60*second)
	def(&c.OtherIdle, 60*second)
}

const (
	listTCPOpen = iota
	listTCPClosed
	listTCPReset
	listTCPHalfOpen
	listUDP
	listOther
	numLists
)

// NewTable returns an empty table.
func NewTable(cfg Config) *Table {
	cfg.setDefaults()
	t := &Table{cfg: cfg, m: newFlowIndex()}
	for i := range t.lists {
		t.lists[i].index = i
	}
	t.lists[listTCPOpen].timeout = cfg.TCPIdle
	t.lists[listTCPClosed].timeout = cfg.TCPClosed
	t.lists[listTCPReset].timeout = cfg.TCPReset
	t.lists[listTCPHalfOpen].timeout = cfg.TCPHalfOpen
	t.lists[listUDP].timeout = cfg.UDPIdle
	t.lists[listOther].timeout = cfg.OtherIdle
	// At most as many tombstones as flows; with MaxBytes they count in
	// the bytes as well (CostTombstone).
	t.timeWait.max, t.timeWait.timeout = cfg.MaxFlows, cfg.TCPTimeWait
	t.timeWait.forgotten = &t.Stats.Forgotten
	return t
}

// Process files one decoded packet (Kind TCP, UDP, ICMP or IP) under its flow
// and returns the flow, the packet's direction in it, and for TCP the
// analysis flags Wireshark would set on the frame.
func (t *Table) Process(p *Packet) (*Flow, Dir, Analysis) {
	if !t.cfg.ExternalClock {
		t.advanceClock(p.Timestamp)
		if t.ExpireDue() {
			t.Expire()
		}
		// Before the packet's own flow is looked up: the quoted flow's
		// new state may make the table shed another.
		t.NotePathMTU(p)
	}
	k, fromA := keyOf(p, t.cfg.KeyByVLAN)
	f := t.m.get(&k)
	reused := false
	var prev *PortReuse
	// The tombstone of a closed connection on the 4-tuple, when no flow
	// or only its late packets' flow (Continues) holds it (timewait.go).
	var ts *tombstone
	tsFrom := FromServer
	if p.Proto == ProtoTCP && (f == nil || f.Continues) {
		if ts = t.timeWait.find(&k); ts != nil && fromA == ts.clientIsA() {
			tsFrom = FromClient
		}
	}
	flowRestarts := f != nil && f.TCP != nil && f.TCP.startsNewConnection(p, fromA == f.clientIsA())
	switch {
	case ts != nil && (flowRestarts || ts.startsNewConnection(p, tsFrom)):
		// A new connection on the closed one's 4-tuple (f, if any, held
		// the closed connection's late packets only).
		prev, reused = ts.successor(p, tsFrom), true
		t.timeWait.forget(&k)
		if f != nil {
			t.end(f, EndReused)
			f = nil
		}
	case flowRestarts:
		old := tombstoneOf(f)
		prev = old.successor(p, f.dirOf(fromA))
		t.end(f, EndReused)
		f, reused = nil, true
	}
	var late *tombstone
	if f == nil && !reused {
		late = ts
	}
	if f == nil {
		f = t.create(k, p, fromA, late)
		if prev != nil {
			f.TCP.prev = prev
		}
	}
	dir := f.dirOf(fromA)
	d := &f.Dir[dir]
	if d.Packets == 0 {
		f.VLAN[dir] = p.VLAN
	}
	d.Packets++
	d.Bytes += int64(p.IPLen)
	d.Payload += int64(p.PayloadLen)
	if p.Timestamp > f.Last {
		f.Last = p.Timestamp
	}
	f.LastIndex = p.Index
	var a Analysis
	if f.TCP != nil {
		if reused {
			a = AReusedPorts
		}
		a |= f.TCP.analyze(p, dir, a)
		t.countTransfer(f)
	}
	t.touch(f)
	if f.Continues {
		// TCPTimeWait counts from the connection's last packet.
		t.timeWait.refresh(&f.Key, f.Last)
	}
	return f, dir, a
}

// NotePathMTU hands an ICMP frag-needed / packet-too-big message to the
// TCP flow whose packet it quotes, when that flow is in the table (other
// packets are ignored).
func (t *Table) NotePathMTU(p *Packet) {
	if p.NextHopMTU == 0 || !p.Quoted.Valid || p.Quoted.Proto != ProtoTCP {
		return
	}
	q := &p.Quoted
	qp := Packet{Proto: q.Proto, Src: q.Src, Dst: q.Dst, SrcPort: q.SrcPort, DstPort: q.DstPort, VLAN: p.VLAN, Tunnel: p.Tunnel}
	k, fromA := keyOf(&qp, t.cfg.KeyByVLAN)
	f := t.m.get(&k)
	if f == nil || f.TCP == nil {
		return
	}
	f.TCP.notePathMTU(f.dirOf(fromA), int(p.NextHopMTU), p.Src, p.Timestamp)
	t.countTransfer(f)
}

// Capture-clock guards: a single frame with a wild timestamp (seen in real
// pcapng files: a year-2061 SYN-ACK between two 2015 frames) must not expire
// every flow. A jump of more than clockJump is believed only once
// clockConfirm frames in a row agree with it; a real gap (the next file of a
// ring buffer an hour later) costs just those few frames of delay.
const (
	clockJump    = 300 * second
	clockConfirm = 4
)

func (t *Table) advanceClock(ts int64) { t.clock.Advance(ts) }

// Clock is the capture clock: the latest packet time, guarded against a
// single wild timestamp (see clockJump). The zero value is ready.
type Clock struct {
	now int64
	// before is where the clock was before it last moved forward (for
	// captureGap).
	before int64
	jumps  int // consecutive frames far ahead of the clock
	set    bool
}

// Advance moves the clock for a packet of time ts and returns it.
func (c *Clock) Advance(ts int64) int64 {
	switch {
	case !c.set:
		c.move(ts)
		c.set = true
	case ts <= c.now:
		c.jumps = 0
	case ts-c.now <= clockJump:
		c.move(ts)
		c.jumps = 0
	default:
		c.jumps++
		if c.jumps >= clockConfirm {
			c.move(ts)
			c.jumps = 0
		}
	}
	return c.now
}

func (c *Clock) move(ts int64) {
	if ts > c.now {
		c.before = c.now
	}
	c.now = ts
}

// Now is the clock's time (0 before the first packet).
func (c *Clock) Now() int64 { return c.now }

// Before is where the clock was before it last moved forward (0 before
// it first did).
func (c *Clock) Before() int64 { return c.before }

// SetClock sets the table's clock (ExternalClock): now, and before, where
// the clock was before it last moved forward (Clock.Before). The caller
// gives both because a table that sees only some of the packets (a
// sharded run's worker) would otherwise take for the clock before the
// last move its own last packet's, and a flow ending after a gap of a
// day would be "idle" in one table and "capture-end" in another.
func (t *Table) SetClock(now, before int64) { t.clock.now, t.clock.before = now, before }

// captureGap is the longest stretch of capture time without a packet that
// pcapx takes for quiet traffic rather than a capture that stopped: joined
// captures with years between them, or a capture paused for a day, must not
// make their flows "idle" (an HTTP response cut short by the gap is not a
// server that stopped sending).
const captureGap = 24 * 3600 * second

// ExpireDue says whether a second of capture time has passed since the
// last expiry check: the table checks its flows once a second.
func (t *Table) ExpireDue() bool { return t.clock.now-t.sweep >= second }

// Flush ends every flow still in the table (at the end of the capture). A
// TCP connection already closed (FIN both ways, or RST) ends as closed: the
// capture merely ended during its linger time.
func (t *Table) Flush() {
	for i := range t.lists {
		for f := t.lists[i].head; f != nil; f = t.lists[i].head {
			why := EndCapture
			if closedList(i) {
				why = EndClosed
			}
			t.end(f, why)
		}
	}
}

// FlushSome ends up to n of the flows still in the table, as Flush does,
// in the order of their expiry list and then of their last packet
// (Packet.Index): called until it reports none left, it ends every flow,
// the flows of all its calls in that one order. A run ends its flows so,
// a batch at a time, so that the records of a table of a hundred thousand
// flows are not all held at once (analyze).
func (t *Table) FlushSome(n int) (more bool) {
	if t.flushing == nil {
		for i := range t.lists {
			start := len(t.flushing)
			for f := t.lists[i].head; f != nil; f = f.next {
				t.flushing = append(t.flushing, f)
			}
			part := t.flushing[start:]
			sort.Slice(part, func(a, b int) bool { return part[a].LastIndex < part[b].LastIndex })
		}
		t.flushing = append(t.flushing, nil)[:len(t.flushing)] // non-nil when empty
	}
	for ; n > 0 && len(t.flushing) > 0; n-- {
		f := t.flushing[0]
		t.flushing[0] = nil
		t.flushing = t.flushing[1:]
		why := EndCapture
		if f.list != nil && closedList(f.list.index) {
			why = EndClosed
		}
		t.end(f, why)
	}
	if len(t.flushing) > 0 {
		return true
	}
	// No packet comes after: the index goes whole rather than a flow at
	// a time (end leaves the flushed flows in it), and the table is as
	// new.
	t.m = newFlowIndex()
	t.flushing = nil
	return false
}

// Len is the number of active flows.
func (t *Table) Len() int { return t.m.len() }

func (f *Flow) clientIsA() bool {
	return f.Client.Port == f.Key.APort && f.Client.Addr.As16() == f.Key.A
}

// dirOf is the direction of a packet sent by the key's A side (fromA) or
// its B side.
func (f *Flow) dirOf(fromA bool) Dir {
	if fromA == f.clientIsA() {
		return FromClient
	}
	return FromServer
}

// create makes the flow of packet p. late, when not nil, is the tombstone
// of the closed connection p came too late for (timewait.go): the flow
// continues that connection, with its tcp.stream and its roles.
func (t *Table) create(k Key, p *Packet, fromA bool, late *tombstone) *Flow {
	cost := baseCost(p.Proto)
	for t.m.len() >= t.cfg.MaxFlows || t.over(cost) {
		if !t.shed(nil, cost) {
			break
		}
	}
	t.bytes += cost
	var f *Flow
	if n := len(t.free); n > 0 {
		f, t.free = t.free[n-1], t.free[:n-1]
		tcp := f.TCP
		*f = Flow{}
		if tcp != nil && p.Proto == ProtoTCP {
			tcp.reset()
			f.TCP = tcp
		}
	} else {
		f = &Flow{}
	}
	t.ids++
	t.Stats.Flows++
	f.Key, f.ID, f.Stream = k, t.ids, -1
	f.First, f.Last = p.Timestamp, p.Timestamp
	f.LastIndex = p.Index
	f.FirstFrame = FrameRef{File: p.File, Frame: p.Frame}
	src, dst := Endpoint{p.Src, p.SrcPort}, Endpoint{p.Dst, p.DstPort}
	switch p.Proto {
	case ProtoTCP:
		if f.TCP == nil {
			f.TCP = newTCPFlow()
		}
		var swap bool
		if late != nil {
			f.Stream, f.Continues = late.stream, true
			late.seed(f.TCP)
			swap = fromA != late.clientIsA()
		} else {
			f.Stream = t.tcpN
			t.tcpN++
			swap, f.ClientGuessed = tcpServerSentFirst(p)
		}
		if swap {
			src, dst = dst, src
		}
	case ProtoICMP, ProtoICMPv6:
		// Zeek's convention: orig_p is the ICMP type, resp_p the code; the
		// sender of a request (or a one-way message) is the originator.
		if isICMPReply(p.Proto, p.ICMPType) {
			// A reply seen first: its receiver asked, with the request
			// type that is the reply's counterpart.
			_, req, _ := icmpPortEquivalents(p.Proto, p.ICMPType, p.ICMPCode)
			src, dst = dst, src
			src.Port, dst.Port = req, 0
		} else {
			src.Port, dst.Port = uint16(p.ICMPType), uint16(p.ICMPCode)
		}
	case ProtoUDP:
		if udpResponseFirst(p) {
			src, dst = dst, src
		}
	}
	f.Client, f.Server = src, dst
	t.m.put(f)
	if t.cfg.OnCreate != nil {
		t.cfg.OnCreate(f)
	}
	if t.m.len() > t.Stats.Peak {
		t.Stats.Peak = t.m.len()
	}
	t.Stats.Active = t.m.len()
	return f
}

// tcpServerSentFirst decides who the client is from a flow's first packet: a
// SYN's sender is the client, a SYN-ACK's receiver is. Without either (the
// capture started mid-connection) the endpoint with the well-known port is
// the server, and the choice is flagged as guessed.
func tcpServerSentFirst(p *Packet) (swap, guessed bool) {
	switch {
	case p.Flags&(FlagSYN|FlagACK) == FlagSYN:
		return false, false
	case p.Flags&(FlagSYN|FlagACK) == FlagSYN|FlagACK:
		return true, false
	}
	return serverPortFirst(p.SrcPort, p.DstPort), true
}

// udpResponseFirst says whether a UDP flow's first packet looks like a reply
// (from a well-known service port to an ephemeral one), so the flow's client
// is its receiver.
func udpResponseFirst(p *Packet) bool {
	return serverPortFirst(p.SrcPort, p.DstPort)
}

// serverPortFirst is the port heuristic: the source looks like the server if
// its port is a well-known or registered service port (< 1024, or a common
// service port) and the destination's is not, or both are ephemeral-looking
// and the source port is the lower one.
func serverPortFirst(sp, dp uint16) bool {
	sw, dw := wellKnownPort(sp), wellKnownPort(dp)
	switch {
	case sw && !dw:
		return true
	case dw && !sw:
		return false
	}
	return sp < dp && sp < 1024
}

func wellKnownPort(p uint16) bool {
	if p < 1024 {
		return true
	}
	switch p {
	case 1433, 1521, 2049, 3306, 3389, 5060, 5061, 5432, 5671, 5672, 6379, 6443, 8000, 8008, 8080, 8443, 8888, 9000, 9092, 9200, 11211, 27017:
		return true
	}
	return false
}

// closedList says whether list i holds closed connections.
func closedList(i int) bool { return i == listTCPClosed || i == listTCPReset }

func (t *Table) listFor(f *Flow) *flowList {
	switch f.Key.Proto {
	case ProtoTCP:
		switch {
		case f.TCP.closed() && (f.TCP.resetSeen() || !f.TCP.established()):
			// Reset, or closed before its handshake completed: often not
			// the end of the 4-tuple's traffic. A reset out of the
			// window is ignored and the data goes on; the client sends
			// its SYN again after a refusal or a challenge ACK, for
			// seconds. It keeps its whole state for TCPReset.
			return &t.lists[listTCPReset]
		case f.TCP.closed() || f.Continues:
			return &t.lists[listTCPClosed]
		case f.TCP.halfOpen():
			return &t.lists[listTCPHalfOpen]
		}
		return &t.lists[listTCPOpen]
	case ProtoUDP:
		return &t.lists[listUDP]
	}
	return &t.lists[listOther]
}

func (t *Table) touch(f *Flow) {
	l := t.listFor(f)
	if l.tail == f {
		return // already the latest of its list (packets come in bursts)
	}
	if f.list != nil {
		f.list.remove(f)
	}
	l.insert(f)
}

// Expire ends the flows idle for longer than their timeout. Each list is
// kept in order of its flows' last packet time (touch), so the flows that
// expire are exactly those idle too long, whatever order other flows'
// packets came in: analyze's workers, each with a table of its own, end
// the same flows at the same moments as one table would.
func (t *Table) Expire() {
	t.sweep = t.clock.now
	t.timeWait.expire(t.clock.now)
	for i := range t.lists {
		l := &t.lists[i]
		for f := l.head; f != nil && t.clock.now-f.Last > l.timeout; f = l.head {
			reason := EndIdle
			switch {
			case closedList(i):
				reason = EndClosed
			case t.clock.now-t.clock.before > captureGap && t.clock.before-f.Last <= l.timeout:
				// Still active when the capture went silent for a day or
				// more: it ended as far as the capture shows, like a flow
				// still open at the capture's end.
				reason = EndCapture
			}
			t.end(f, reason)
		}
	}
}

// shed makes room for more bytes of state, keeping the flow keep (nil:
// none): it reports false when there was nothing to shed. A closed
// connection goes first, FIN-closed then reset: it only ends its close
// delay early (EndClosed, not counted as evicted), and a packet that comes
// for it later still keeps its tcp.stream (timewait.go). Then, when the
// bytes are the bound, the oldest tombstone (counted as forgotten). Then a
// half-open connection (what a SYN flood fills the table with), then the
// flow seen longest ago (both counted as evicted).
func (t *Table) shed(keep *Flow, more int64) bool {
	for _, l := range []int{listTCPClosed, listTCPReset} {
		h := t.lists[l].head
		if h == keep && h != nil {
			h = h.next
		}
		if h != nil {
			t.end(h, EndClosed)
			return true
		}
	}
	if len(t.timeWait.m) > 0 && t.over(more) {
		t.timeWait.dropOldest()
		return true
	}
	var victim *Flow
	if h := t.lists[listTCPHalfOpen].head; h != nil && h != keep {
		victim = h
	} else {
		for i := range t.lists {
			h := t.lists[i].head
			if h == keep && h != nil {
				h = h.next
			}
			if h != nil && (victim == nil || h.Last < victim.Last) {
				victim = h
			}
		}
	}
	if victim == nil {
		return false
	}
	t.Stats.Evicted++
	t.end(victim, EndEvicted)
	return true
}

// over says whether adding more bytes of state would pass MaxBytes.
func (t *Table) over(more int64) bool {
	return t.cfg.MaxBytes > 0 && t.bytes+int64(len(t.timeWait.m))*CostTombstone+more > t.cfg.MaxBytes
}

// countTransfer counts the state of a connection that began to carry data
// (or heard of its path MTU), and sheds other flows if that passes the
// bound. It runs at every TCP packet: the check is inlined, the work is
// done once a connection.
func (t *Table) countTransfer(f *Flow) {
	if f.TCP.x != nil && !f.transferCounted {
		t.addTransfer(f)
	}
}

func (t *Table) addTransfer(f *Flow) {
	f.transferCounted = true
	t.bytes += CostTransfer
	for t.over(0) {
		if !t.shed(f, 0) {
			break
		}
	}
}

func (t *Table) end(f *Flow, why EndReason) {
	f.End = why
	if f.list != nil {
		f.EndList = uint8(f.list.index)
		f.list.remove(f)
	}
	// In FlushSome every flow ends and no packet comes after: the index
	// is dropped whole at the last, and no flow is created to reuse this
	// one.
	flushing := t.flushing != nil
	if flushing {
		t.m.n--
	} else {
		t.m.del(f)
	}
	t.Stats.Active = t.m.len()
	t.bytes -= f.cost()
	if f.TCP != nil {
		f.TCP.finish(f)
		// A flow that continues a connection leaves the connection's own
		// tombstone in place (Process keeps its time).
		if !flushing && why != EndReused && f.TCP.closed() && !f.Continues {
			// The tombstone costs less than the flow it replaces, so the
			// table is no fuller than before; when a shed is under way its
			// loop goes on in the documented order (closed connections,
			// then tombstones).
			t.timeWait.lay(f.Key, tombstoneOf(f), t.clock.now)
		}
	}
	if t.cfg.OnEnd != nil {
		t.cfg.OnEnd(f)
	}
	if !flushing {
		t.free = append(t.free, f)
	}
}

// flowList is an intrusive doubly linked list of flows in last-seen order.
type flowList struct {
	head, tail *Flow
	timeout    int64
	index      int // in Table.lists
}

// maxInsertWalk bounds how far back insert looks for a flow's place: far
// enough for the reordering of real captures (a few packets, merged
// interfaces), short enough that a capture whose timestamps run backwards
// on purpose cannot make every packet walk the table. Past it the list is
// slightly out of order and expiry may end a flow a sweep late.
const maxInsertWalk = 64

// insert puts f in the list by its last packet time: after every flow whose
// last packet is not later (so flows of equal time stay in touch order).
// Packets come in time order almost always, and then f goes at the tail.
func (l *flowList) insert(f *Flow) {
	at := l.tail
	for n := 0; at != nil && at.Last > f.Last && n < maxInsertWalk; n++ {
		at = at.prev
	}
	if at == l.tail {
		l.pushBack(f)
		return
	}
	f.list = l
	if at == nil { // first
		f.prev, f.next = nil, l.head
		l.head.prev = f
		l.head = f
		return
	}
	f.prev, f.next = at, at.next
	at.next.prev = f
	at.next = f
}

func (l *flowList) pushBack(f *Flow) {
	f.list, f.prev, f.next = l, l.tail, nil
	if l.tail != nil {
		l.tail.next = f
	} else {
		l.head = f
	}
	l.tail = f
}

func (l *flowList) remove(f *Flow) {
	if f.prev != nil {
		f.prev.next = f.next
	} else {
		l.head = f.next
	}
	if f.next != nil {
		f.next.prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next, f.list = nil, nil, nil
}

package flows

import (
	"cmp"
	"slices"
)

// A closed TCP connection (FIN both ways, or RST) keeps its whole state in
// the table only for Config.TCPClosed, 5 s by default (Zeek's
// tcp_close_delay): long enough for the last ACK, a retransmitted FIN or
// the reset answering a late segment. Then it ends, its record is written,
// and what tcp-port-reuse needs of it stays behind as a tombstone for
// Config.TCPTimeWait (2 min, longer than Linux's 60 s TIME-WAIT): about
// 110 bytes in its map (CostTombstone, 256, with the map's growth and the
// heap entry) instead of the 1.8 KB a connection that carried data holds.
// A busy server's capture closes hundreds of connections a second; with
// the whole state kept two minutes the table held every connection of a
// two-minute capture (docs/architecture.md#flows-flows).
//
// A packet of the old connection that comes later than TCPClosed is not
// added to its record (the record is written): like a packet after Zeek's
// close delay, it starts a flow of its own, picked up mid-stream. A SYN
// with a new initial sequence number starts the next connection on the
// 4-tuple, which learns of the old one from the tombstone exactly as it
// would from the lingering flow (Record.Reuse, the reused_ports flag).

// tombstone is what stays of a closed TCP connection after it ended: the
// description a successor connection on its 4-tuple gets (successor). It
// is packed (56 bytes; with its key, 104 in the map) because a busy
// capture holds tens of thousands.
type tombstone struct {
	last    int64 // the old connection's last packet, ns
	firstNS int64
	stream  int64
	frame   int64 // the old connection's first frame, in file
	file    int32
	base    [2]uint32 // per Dir of the old connection
	nextseq [2]uint32
	flags   uint8
	close   uint8 // tsFIN or tsReset: how it closed (PortReuse.PrevClose)
	// firstFIN is the Dir of the side that sent the first FIN, -1 for
	// none.
	firstFIN int8
}

// tombstone.flags
const (
	tsClientIsA uint8 = 1 << iota // the old connection's client is Key.A
	tsAnswered                    // both sides sent packets
	tsBaseSet                     // base[FromClient] is known; tsBaseSet<<1 for FromServer
)

// tombstone.close
const (
	tsFIN   = 1
	tsReset = 2
)

func (ts *tombstone) clientIsA() bool { return ts.flags&tsClientIsA != 0 }

// tombstoneOf describes f, a TCP connection, for a successor.
func tombstoneOf(f *Flow) tombstone {
	t := f.TCP
	ts := tombstone{last: f.Last, firstNS: f.First, stream: f.Stream, frame: f.FirstFrame.Frame, file: int32(f.FirstFrame.File), firstFIN: -1}
	if f.clientIsA() {
		ts.flags |= tsClientIsA
	}
	if f.Dir[FromClient].Packets > 0 && f.Dir[FromServer].Packets > 0 {
		ts.flags |= tsAnswered
	}
	switch {
	case t.resetSeen():
		ts.close = tsReset
	case t.dirs[FromClient].finSeen && t.dirs[FromServer].finSeen:
		ts.close = tsFIN
	}
	for _, c := range t.History {
		if c == 'F' {
			ts.firstFIN = int8(FromClient)
			break
		}
		if c == 'f' {
			ts.firstFIN = int8(FromServer)
			break
		}
	}
	for d := range t.dirs {
		if t.dirs[d].baseSet {
			ts.flags |= tsBaseSet << d
		}
		ts.base[d], ts.nextseq[d] = t.dirs[d].base, t.dirs[d].nextseq
	}
	return ts
}

// seed gives the TCP analysis of a flow that continues the connection
// what the tombstone knows of its sequence numbers, so that a late
// segment sent again is a retransmission, as Wireshark, which never ended
// the connection, calls it.
func (ts *tombstone) seed(t *TCPFlow) {
	for d := range t.dirs {
		if ts.flags&(tsBaseSet<<d) != 0 {
			t.dirs[d].baseSet, t.dirs[d].base = true, ts.base[d]
		}
		t.dirs[d].nextseq = ts.nextseq[d]
	}
}

// startsNewConnection says whether the packet p, sent by the old
// connection's side from, opens a new connection: a pure SYN whose
// sequence number differs from its sender's base (TCPFlow's
// startsNewConnection, which this mirrors for an ended connection).
func (ts *tombstone) startsNewConnection(p *Packet, from Dir) bool {
	return p.Flags&(FlagSYN|FlagACK) == FlagSYN && ts.flags&(tsBaseSet<<from) != 0 && p.Seq != ts.base[from]
}

// successor describes the old connection to the one the SYN p, sent by
// the old connection's side from, starts on its 4-tuple. Roles are the new
// connection's (PortReuse).
func (ts *tombstone) successor(p *Packet, from Dir) *PortReuse {
	r := &PortReuse{Known: true, PrevStream: ts.stream, PrevFirst: FrameRef{File: int(ts.file), Frame: ts.frame}, PrevFirstNS: ts.firstNS, PrevLastNS: ts.last,
		PrevAnswered: ts.flags&tsAnswered != 0, PrevNextSeq: ts.nextseq[from], ISN: p.Seq}
	switch ts.close {
	case tsFIN:
		r.PrevClose = "fin"
	case tsReset:
		r.PrevClose = "reset"
	}
	switch {
	case ts.firstFIN < 0:
	case Dir(ts.firstFIN) == from:
		r.PrevFirstFIN = "client"
	default:
		r.PrevFirstFIN = "server"
	}
	return r
}

// timeWait holds the tombstones of a table by key, with a min-heap of
// their times for expiry. Expiry must go by each tombstone's own time, not
// the order they were laid: a reset connection's is laid two minutes after
// its last packet, and what expires must not depend on which other
// connections share the worker (the output is the same for any number of
// workers). The heap may hold stale entries (a tombstone taken, or moved
// later by a late packet); expire skips or requeues them, and the heap is
// rebuilt from the map when they outnumber the live ones.
type timeWait struct {
	m       map[Key]tombstone
	heap    []timeWaitEntry // min-heap by last
	max     int
	timeout int64
	// forgotten, when set, counts the tombstones dropped before their
	// time to stay within a bound (the table's Stats.Forgotten).
	forgotten *int64
}

type timeWaitEntry struct {
	key  Key
	last int64
}

// lay keeps a tombstone for k, at clock now, dropping the oldest when the
// bound is reached. One already past its time is not kept.
func (w *timeWait) lay(k Key, ts tombstone, now int64) {
	if now-ts.last > w.timeout {
		return
	}
	if w.m == nil {
		w.m = map[Key]tombstone{}
	}
	if _, ok := w.m[k]; !ok && len(w.m) >= w.max {
		w.dropOldest()
	}
	w.m[k] = ts
	w.push(timeWaitEntry{k, ts.last})
}

// find returns a copy of k's tombstone, or nil.
func (w *timeWait) find(k *Key) *tombstone {
	if len(w.m) == 0 {
		return nil
	}
	ts, ok := w.m[*k]
	if !ok {
		return nil
	}
	return &ts
}

// refresh moves k's tombstone's time to last, a later packet of its
// connection: TCPTimeWait counts from the connection's last packet. Its
// heap entry moves when expiry reaches it.
func (w *timeWait) refresh(k *Key, last int64) {
	if ts, ok := w.m[*k]; ok && last > ts.last {
		ts.last = last
		w.m[*k] = ts
	}
}

// forget drops k's tombstone: a new connection took the 4-tuple.
func (w *timeWait) forget(k *Key) { delete(w.m, *k) }

// expire forgets the tombstones whose connection's last packet is more
// than the timeout before now.
func (w *timeWait) expire(now int64) {
	for len(w.heap) > 0 && now-w.heap[0].last > w.timeout {
		e := w.pop()
		ts, ok := w.m[e.key]
		switch {
		case !ok:
			// Taken by a new connection.
		case now-ts.last > w.timeout:
			delete(w.m, e.key)
		default:
			// Moved later since this entry: it waits with its time.
			w.push(timeWaitEntry{e.key, ts.last})
		}
	}
}

// dropOldest forgets the tombstone with the earliest entry, to make room.
func (w *timeWait) dropOldest() {
	for len(w.heap) > 0 {
		e := w.pop()
		if _, ok := w.m[e.key]; ok {
			delete(w.m, e.key)
			if w.forgotten != nil {
				*w.forgotten++
			}
			return
		}
	}
}

// push adds e to the heap, first rebuilding it from the map when stale
// entries make up most of it (so it stays within twice the bound).
func (w *timeWait) push(e timeWaitEntry) {
	if len(w.heap) >= 2*len(w.m)+64 {
		w.rebuild()
	}
	w.heap = append(w.heap, e)
	h := w.heap
	for i := len(h) - 1; i > 0; {
		up := (i - 1) / 2
		if h[up].last <= h[i].last {
			break
		}
		h[up], h[i] = h[i], h[up]
		i = up
	}
}

// pop removes and returns the heap's earliest entry.
func (w *timeWait) pop() timeWaitEntry {
	h := w.heap
	e := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = timeWaitEntry{}
	h = h[:n]
	for i := 0; ; {
		l, r, least := 2*i+1, 2*i+2, i
		if l < n && h[l].last < h[least].last {
			least = l
		}
		if r < n && h[r].last < h[least].last {
			least = r
		}
		if least == i {
			break
		}
		h[least], h[i] = h[i], h[least]
		i = least
	}
	w.heap = h
	return e
}

// rebuild makes the heap again from the map: one entry per tombstone.
func (w *timeWait) rebuild() {
	h := w.heap[:0]
	for k, ts := range w.m {
		h = append(h, timeWaitEntry{k, ts.last})
	}
	clear(w.heap[len(h):])
	slices.SortFunc(h, func(a, b timeWaitEntry) int { return cmp.Compare(a.last, b.last) }) // sorted is a heap
	w.heap = h
}

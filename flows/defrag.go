package flows

import (
	"net/netip"
	"slices"
	"sort"
)

// Fragment reassembly limits. Fragments are rare on real networks and a
// favourite of attacks (floods of fragments that never complete, overlaps
// that make two reassemblers see different data), so the defragmenter is
// bounded in every dimension, as the Linux one is: a datagram waits at most
// fragTimeout of capture time, holds at most maxFragPieces pieces and
// maxDatagram bytes, and all waiting datagrams together are at most
// maxPendingDatagrams and maxPendingBytes. Past a limit the oldest waiting
// datagrams are given up first.
const (
	fragTimeout         = 30e9 // ns of capture time (Linux ipfrag_time is 30 s)
	maxPendingDatagrams = 4096
	maxDatagram         = 65535
	// A 64 KiB datagram over a 576-byte path is 118 pieces; over Ethernet
	// 45. More pieces than this are an attack (FreeBSD allows 16).
	maxFragPieces = 128
	// maxPendingBytes is Linux's ipfrag_high_thresh (4 MiB). A piece
	// counts its bytes plus fragPieceOverhead, so a flood of tiny
	// fragments is bounded too.
	maxPendingBytes   = 4 << 20
	fragPieceOverhead = 64
)

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

func fragKeyOf(p *Packet, id uint32) fragKey {
	return fragKey{src: p.Src, dst: p.Dst, id: id, proto: p.Proto}
}

type fragPiece struct {
	off  int
	data []byte
}

func (pc *fragPiece) end() int { return pc.off + len(pc.data) }

// fragDatagram is one datagram being reassembled. Its pieces never overlap
// (an overlapping fragment discards the datagram), so the datagram is
// complete exactly when the bytes held equal its length: no walk over the
// pieces is needed to know it.
type fragDatagram struct {
	key    fragKey
	first  int64       // capture time of the first fragment
	pieces []fragPiece // sorted by offset, disjoint
	have   int         // bytes held: the sum of the pieces' lengths
	cost   int         // what the datagram counts against maxPendingBytes
	total  int         // length once the last fragment (MF clear) is seen, else -1
	// older and newer link the waiting datagrams in the order they
	// started, so that timing out and evicting the oldest cost O(1) each.
	older, newer *fragDatagram
}

type defragmenter struct {
	pending map[fragKey]*fragDatagram
	oldest  *fragDatagram
	newest  *fragDatagram
	bytes   int    // sum of the pending datagrams' cost
	out     []byte // reassembled datagram, reused
}

func newDefragmenter() *defragmenter {
	return &defragmenter{pending: make(map[fragKey]*fragDatagram)}
}

// add files one fragment. When it completes its datagram, add returns the
// whole transport payload (valid until the next add) and true.
//
// A fragment costs O(log n) in the pieces of its datagram to place (a
// binary search; in-order pieces append), plus an insertion into a slice
// of at most maxFragPieces; the datagram's completion is known in O(1)
// and its bytes are copied once, when complete.
func (d *defragmenter) add(p *Packet, k fragKey, off int, more bool, data []byte, st *DecodeStats) ([]byte, bool) {
	now := p.Timestamp
	d.expire(now, st)
	end := off + len(data)
	dg := d.pending[k]
	if dg != nil && now-dg.first > fragTimeout {
		// Only possible when time went backwards for the datagrams
		// started before it (merged files): expire keeps to the order.
		d.drop(dg, &st.FragTimedOut, st)
		dg = nil
	}
	if len(data) == 0 {
		// Nothing to place (Linux drops it too); the datagram waits on.
		st.FragDropped++
		st.FragInvalid++
		return nil, false
	}
	if end > maxDatagram {
		// Past the largest IP datagram: the datagram is corrupt.
		st.FragDropped++
		st.FragInvalid++
		if dg != nil {
			d.drop(dg, &st.FragInvalid, st)
		}
		return nil, false
	}
	if dg == nil {
		for len(d.pending) >= maxPendingDatagrams {
			d.drop(d.oldest, &st.FragOverLimit, st)
		}
		dg = &fragDatagram{key: k, first: now, total: -1}
		d.pending[k] = dg
		d.link(dg)
	}
	// A datagram has one length: a last fragment must agree with the
	// data already seen and with any other last fragment, and nothing may
	// lie beyond it (Linux discards such a datagram as corrupt).
	if !more && (dg.total >= 0 && dg.total != end || dg.maxEnd() > end) || more && dg.total >= 0 && end > dg.total {
		st.FragDropped++
		st.FragInvalid++
		d.drop(dg, &st.FragInvalid, st)
		return nil, false
	}
	i, dup, overlap := dg.place(off, end)
	switch {
	case dup:
		// Wholly inside data already held: a copy (a retransmission,
		// or the capture saw the packet twice). Linux drops just it.
		st.FragDropped++
		st.FragOverlap++
		return nil, false
	case overlap:
		// RFC 5722 for IPv6, and Linux for IPv4 too: a datagram with
		// overlapping fragments is discarded whole, since the receiver
		// and a monitor could otherwise reassemble different data.
		st.FragDropped++
		st.FragOverlap++
		d.drop(dg, &st.FragOverlap, st)
		return nil, false
	case len(dg.pieces) >= maxFragPieces:
		st.FragDropped++
		st.FragOverLimit++
		d.drop(dg, &st.FragOverLimit, st)
		return nil, false
	}
	cost := len(data) + fragPieceOverhead
	for d.bytes+cost > maxPendingBytes && d.oldest != dg {
		d.drop(d.oldest, &st.FragOverLimit, st)
	}
	if d.bytes+cost > maxPendingBytes { // dg is all that is left, and too big
		st.FragDropped++
		st.FragOverLimit++
		d.drop(dg, &st.FragOverLimit, st)
		return nil, false
	}
	dg.pieces = slices.Insert(dg.pieces, i, fragPiece{off: off, data: append([]byte(nil), data...)})
	dg.have += len(data)
	dg.cost += cost
	d.bytes += cost
	if !more {
		dg.total = end
	}
	if dg.total < 0 || dg.have < dg.total {
		return nil, false
	}
	// Disjoint pieces within [0, total) holding total bytes cover it.
	if cap(d.out) < dg.total {
		d.out = make([]byte, dg.total)
	}
	d.out = d.out[:dg.total]
	for _, pc := range dg.pieces {
		copy(d.out[pc.off:], pc.data)
	}
	d.remove(dg)
	return d.out, true
}

// maxEnd is the end of the last piece held (0 with none).
func (dg *fragDatagram) maxEnd() int {
	if n := len(dg.pieces); n > 0 {
		return dg.pieces[n-1].end()
	}
	return 0
}

// place finds where a piece [off, end) goes among the datagram's pieces.
// dup says it lies wholly within a run of contiguous pieces already held
// (Linux's test for a duplicate); overlap that it overlaps them otherwise.
func (dg *fragDatagram) place(off, end int) (i int, dup, overlap bool) {
	ps := dg.pieces
	if n := len(ps); n == 0 || ps[n-1].end() <= off {
		return n, false, false // in order: the common case
	}
	// The first piece that ends after off is the only one that can
	// overlap the start of the new piece.
	i = sort.Search(len(ps), func(j int) bool { return ps[j].end() > off })
	if i == len(ps) || ps[i].off >= end {
		return i, false, false
	}
	if ps[i].off > off {
		return i, false, true
	}
	// Starts within piece i: a duplicate when contiguous pieces from i on
	// cover the rest of it. The walk is bounded by maxFragPieces.
	covered := ps[i].end()
	for j := i + 1; covered < end && j < len(ps) && ps[j].off == covered; j++ {
		covered = ps[j].end()
	}
	return i, covered >= end, covered < end
}

// expire gives up the datagrams that started more than fragTimeout before
// now. They wait in the order they started, so this looks at the expired
// ones and one more.
func (d *defragmenter) expire(now int64, st *DecodeStats) {
	for d.oldest != nil && now-d.oldest.first > fragTimeout {
		d.drop(d.oldest, &st.FragTimedOut, st)
	}
}

// flush gives up every waiting datagram: the capture ended before they
// were complete.
func (d *defragmenter) flush(st *DecodeStats) {
	for d.oldest != nil {
		d.drop(d.oldest, &st.FragUnfinished, st)
	}
}

// drop gives up a waiting datagram, counting its pieces as dropped fragments
// and under reason.
func (d *defragmenter) drop(dg *fragDatagram, reason *int64, st *DecodeStats) {
	n := int64(len(dg.pieces))
	st.FragDropped += n
	*reason += n
	d.remove(dg)
}

func (d *defragmenter) link(dg *fragDatagram) {
	dg.older = d.newest
	if d.newest != nil {
		d.newest.newer = dg
	} else {
		d.oldest = dg
	}
	d.newest = dg
}

func (d *defragmenter) remove(dg *fragDatagram) {
	if dg.older != nil {
		dg.older.newer = dg.newer
	} else {
		d.oldest = dg.newer
	}
	if dg.newer != nil {
		dg.newer.older = dg.older
	} else {
		d.newest = dg.older
	}
	dg.older, dg.newer = nil, nil
	d.bytes -= dg.cost
	delete(d.pending, dg.key)
}

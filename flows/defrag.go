package flows

import (
	"net/netip"
	"sort"
)

// Fragment reassembly limits. Fragments are rare on real networks, so the
// defragmenter favours being simple and bounded over being fast: a datagram
// waits at most fragTimeout of capture time, at most maxPendingDatagrams wait
// at once, and none grows past the IP maximum.
const (
	fragTimeout         = 30e9 // ns of capture time (Linux ipfrag_time is 30 s)
	maxPendingDatagrams = 4096
	maxDatagram         = 65535
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

type fragDatagram struct {
	first  int64 // capture time of the first fragment
	pieces []fragPiece
	total  int // length once the last fragment (MF clear) is seen, else -1
}

type defragmenter struct {
	pending map[fragKey]*fragDatagram
	out     []byte // reassembled datagram, reused
}

func newDefragmenter() *defragmenter {
	return &defragmenter{pending: make(map[fragKey]*fragDatagram)}
}

// add files one fragment. When it completes its datagram, add returns the
// whole transport payload (valid until the next add) and true.
func (d *defragmenter) add(p *Packet, k fragKey, off int, more bool, data []byte, st *DecodeStats) ([]byte, bool) {
	now := p.Timestamp
	if len(d.pending) >= maxPendingDatagrams {
		d.expire(now, st)
	}
	dg := d.pending[k]
	if dg != nil && now-dg.first > fragTimeout {
		st.FragDropped += int64(len(dg.pieces))
		delete(d.pending, k)
		dg = nil
	}
	if dg == nil {
		if len(d.pending) >= maxPendingDatagrams {
			st.FragDropped++
			return nil, false
		}
		dg = &fragDatagram{first: now, total: -1}
		d.pending[k] = dg
	}
	if off+len(data) > maxDatagram {
		st.FragDropped += int64(len(dg.pieces)) + 1
		delete(d.pending, k)
		return nil, false
	}
	dg.pieces = append(dg.pieces, fragPiece{off: off, data: append([]byte(nil), data...)})
	if !more {
		dg.total = off + len(data)
	}
	if dg.total < 0 {
		return nil, false
	}
	sort.Slice(dg.pieces, func(i, j int) bool { return dg.pieces[i].off < dg.pieces[j].off })
	covered := 0
	for _, pc := range dg.pieces {
		if pc.off > covered {
			return nil, false // a hole remains
		}
		covered = max(covered, pc.off+len(pc.data))
	}
	if covered < dg.total {
		return nil, false
	}
	if cap(d.out) < dg.total {
		d.out = make([]byte, dg.total)
	}
	d.out = d.out[:dg.total]
	for _, pc := range dg.pieces {
		copy(d.out[pc.off:], pc.data) // later (overlapping) pieces win, as Linux does
	}
	delete(d.pending, k)
	return d.out, true
}

// expire drops datagrams older than fragTimeout.
func (d *defragmenter) expire(now int64, st *DecodeStats) {
	for k, dg := range d.pending {
		if now-dg.first > fragTimeout {
			st.FragDropped += int64(len(dg.pieces))
			delete(d.pending, k)
		}
	}
}

package flows

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// flowIndex maps keys to active flows. It is a Go map keyed by a 64-bit
// hash of the Key, with flows whose hashes collide chained through
// Flow.hnext, rather than a map[Key]*Flow: a Key is 44 bytes, and with the
// hash as the map key a map group holds eight 16-byte slots instead of
// eight 56-byte ones (the key padded to 48 bytes, and the pointer), so
// the lookup every packet makes touches less memory (the flow itself is
// touched anyway, and its Key is compared there).
//
// The hash is seeded at random per table, so a hostile capture cannot be
// built to make every flow collide.
type flowIndex struct {
	m    map[uint64]*Flow
	n    int
	seed uint64
}

func newFlowIndex() flowIndex {
	return flowIndex{m: map[uint64]*Flow{}, seed: rand.Uint64() | 1}
}

// mum is wyhash's mixing step: the two halves of a 128-bit product folded
// together.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash folds the key's six words in three seeded multiplications, the way
// wyhash does (the key is fixed-size, so there is no length to mix in).
func (ix *flowIndex) hash(k *Key) uint64 { return keyHash(k, ix.seed) }

// keyHash is the seeded hash of a flow key (the index's, and the
// Sharder's with a seed of its own).
func keyHash(k *Key, s uint64) uint64 {
	const p0, p1, p2 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db, 0x8ebc6af09c88c6e3
	le := binary.LittleEndian
	var v6 uint64
	if k.V6 {
		v6 = 1
	}
	ports := uint64(k.APort) | uint64(k.BPort)<<16 | uint64(k.Proto)<<32 | v6<<40 | uint64(k.VLAN)<<48
	h := mum(le.Uint64(k.A[0:8])^s, le.Uint64(k.A[8:16])^p0)
	h ^= mum(le.Uint64(k.B[0:8])^p1, le.Uint64(k.B[8:16])^s)
	h ^= mum(ports^p2, uint64(k.Tunnel)^s^p0)
	return mum(h^p1, s^p2)
}

func (ix *flowIndex) get(k *Key) *Flow {
	for f := ix.m[ix.hash(k)]; f != nil; f = f.hnext {
		if f.Key == *k {
			return f
		}
	}
	return nil
}

// put adds f under f.Key, which must not be in the index.
func (ix *flowIndex) put(f *Flow) {
	h := ix.hash(&f.Key)
	f.hnext = ix.m[h]
	ix.m[h] = f
	ix.n++
}

// del removes f, which must be in the index.
func (ix *flowIndex) del(f *Flow) {
	h := ix.hash(&f.Key)
	head := ix.m[h]
	switch {
	case head == f && f.hnext == nil:
		delete(ix.m, h)
	case head == f:
		ix.m[h] = f.hnext
	default:
		for p := head; p != nil; p = p.hnext {
			if p.hnext == f {
				p.hnext = f.hnext
				break
			}
		}
	}
	f.hnext = nil
	ix.n--
}

func (ix *flowIndex) len() int { return ix.n }

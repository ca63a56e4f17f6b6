package flows

// Sharder assigns packets to one of n shards by their flow: both
// directions of a flow land in the same shard (the key is the canonical,
// direction-free one the table uses). analyze runs one flow table per
// shard, each in its own worker (docs/architecture.md).
type Sharder struct {
	n      int
	byVLAN bool
	seed   uint64
}

// shardSeed seeds the shard hash. It is fixed, not random per run: the
// shard decides which worker's share of the run's bounds (flow table,
// pending DNS queries, parsers, buffered bytes) a flow counts against, so
// with a random seed a run that reached a bound (evicting flows) differed
// from the same run again. A capture crafted against the fixed seed can
// only put more flows on one worker: more work there, and, at a bound,
// more shedding, which is counted (capture-incomplete).
const shardSeed = 0x9e3779b97f4a7c15

// NewSharder returns a Sharder over n shards; byVLAN as in Config.KeyByVLAN.
func NewSharder(n int, byVLAN bool) *Sharder {
	return &Sharder{n: n, byVLAN: byVLAN, seed: shardSeed}
}

// Of is the shard of a decoded packet's flow.
func (s *Sharder) Of(p *Packet) int {
	if s.n == 1 {
		return 0
	}
	k, _ := keyOf(p, s.byVLAN)
	return int(keyHash(&k, s.seed) % uint64(s.n))
}

// OfQuoted is the shard of the flow an ICMP error quotes (the TCP flow
// whose packet was too big), for NotePathMTU.
func (s *Sharder) OfQuoted(p *Packet) int {
	if s.n == 1 {
		return 0
	}
	q := &p.Quoted
	qp := Packet{Proto: q.Proto, Src: q.Src, Dst: q.Dst, SrcPort: q.SrcPort, DstPort: q.DstPort, VLAN: p.VLAN, Tunnel: p.Tunnel}
	return s.Of(&qp)
}

package run

import "github.com/pcapx/pcapx/flows"

// Timeline is the capture over time: per time bucket, bytes and packets and
// the TCP trouble seen. Buckets start at one second; when a capture spans
// more than maxBuckets of them, neighbours are merged and the width
// doubles, so the timeline stays small (a chart's worth) for a day-long
// ring buffer as for a ten-second capture.
type Timeline struct {
	Start   int64    `json:"start_ns"` // capture time of the first bucket
	Width   int64    `json:"width_ns"` // bucket width
	Buckets []Bucket `json:"buckets"`
}

// Bucket counts one slice of capture time.
type Bucket struct {
	Packets         int64 `json:"packets"`
	Bytes           int64 `json:"bytes"`
	Retransmissions int64 `json:"retransmissions"`
	ZeroWindows     int64 `json:"zero_windows"`
	DuplicateAcks   int64 `json:"duplicate_acks"`
	Resets          int64 `json:"resets"`
}

const maxBuckets = 1024

func (t *Timeline) Add(ts int64, wire int, a flows.Analysis) {
	if t.Width == 0 {
		t.Start, t.Width = ts-ts%int64(1e9), int64(1e9)
	}
	if ts < t.Start {
		ts = t.Start // out-of-order timestamps before the start land in the first bucket
	}
	i := int((ts - t.Start) / t.Width)
	for i >= maxBuckets {
		t.halve()
		i = int((ts - t.Start) / t.Width)
	}
	if i >= len(t.Buckets) {
		t.Buckets = append(t.Buckets, make([]Bucket, i+1-len(t.Buckets))...)
	}
	b := &t.Buckets[i]
	b.Packets++
	b.Bytes += int64(wire)
	if a != 0 {
		if a&flows.ARetransmission != 0 {
			b.Retransmissions++
		}
		if a&flows.AZeroWindow != 0 {
			b.ZeroWindows++
		}
		if a&flows.ADuplicateAck != 0 {
			b.DuplicateAcks++
		}
		if a&flows.AReset != 0 {
			b.Resets++
		}
	}
}

// halve merges neighbouring buckets, doubling the width.
func (t *Timeline) halve() {
	t.Buckets = halveBuckets(t.Buckets)
	t.Width *= 2
}

func halveBuckets(bs []Bucket) []Bucket {
	n := (len(bs) + 1) / 2
	for i := 0; i < n; i++ {
		b := bs[2*i]
		if 2*i+1 < len(bs) {
			b.add(&bs[2*i+1])
		}
		bs[i] = b
	}
	return bs[:n]
}

func (b *Bucket) add(o *Bucket) {
	b.Packets += o.Packets
	b.Bytes += o.Bytes
	b.Retransmissions += o.Retransmissions
	b.ZeroWindows += o.ZeroWindows
	b.DuplicateAcks += o.DuplicateAcks
	b.Resets += o.Resets
}

// Begin starts the timeline's first bucket at the second of ts, if it has
// not started: the timelines of a run's workers all start at its first
// packet, so that they can be merged.
func (t *Timeline) Begin(ts int64) {
	if t.Width == 0 {
		t.Start, t.Width = ts-ts%int64(1e9), int64(1e9)
	}
}

// Merge adds o's counts to t. Both must have begun at the same time (or
// be empty); the wider bucket width wins, as if every packet had been
// added to one timeline.
func (t *Timeline) Merge(o *Timeline) {
	if o.Width == 0 {
		return
	}
	if t.Width == 0 {
		t.Start, t.Width = o.Start, o.Width
	}
	b := append([]Bucket(nil), o.Buckets...)
	w := o.Width
	for w < t.Width {
		b = halveBuckets(b)
		w *= 2
	}
	for t.Width < w {
		t.halve()
	}
	if len(b) > len(t.Buckets) {
		t.Buckets = append(t.Buckets, make([]Bucket, len(b)-len(t.Buckets))...)
	}
	for i := range b {
		t.Buckets[i].add(&b[i])
	}
}

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
	n := (len(t.Buckets) + 1) / 2
	for i := 0; i < n; i++ {
		b := t.Buckets[2*i]
		if 2*i+1 < len(t.Buckets) {
			o := t.Buckets[2*i+1]
			b.Packets += o.Packets
			b.Bytes += o.Bytes
			b.Retransmissions += o.Retransmissions
			b.ZeroWindows += o.ZeroWindows
			b.DuplicateAcks += o.DuplicateAcks
			b.Resets += o.Resets
		}
		t.Buckets[i] = b
	}
	t.Buckets = t.Buckets[:n]
	t.Width *= 2
}

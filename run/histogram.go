package run

import (
	"math"
	"sort"
	"strconv"
)

// rttEdges are the histogram's bin edges in ms: 1-2-5 steps from 0.1 ms
// to 5 s, so a LAN (sub-ms), a region (a few ms) and a satellite link
// (600 ms) each land in their own bins. The bins are fixed (not derived
// from the data) so reports from different captures compare side by side
// and the histogram can be rebuilt from the flows table alone.
var rttEdges = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000}

// Histogram counts values (ms) in fixed log-spaced bins: bin 0 is below
// EdgesMS[0], bin i is [EdgesMS[i-1], EdgesMS[i]), the last bin is at or
// above the last edge. Count, Sum, Min and Max are exact.
type Histogram struct {
	EdgesMS []float64 `json:"edges_ms"`
	Counts  []int64   `json:"counts"` // len(EdgesMS)+1
	Count   int64     `json:"count"`
	SumMS   float64   `json:"sum_ms"`
	MinMS   float64   `json:"min_ms"`
	MaxMS   float64   `json:"max_ms"`
}

// NewHistogram returns an empty handshake-RTT histogram.
func NewHistogram() Histogram {
	return Histogram{EdgesMS: append([]float64(nil), rttEdges...), Counts: make([]int64, len(rttEdges)+1)}
}

// Add counts one value in ms. NaN and negative values are ignored.
func (h *Histogram) Add(ms float64) {
	if math.IsNaN(ms) || ms < 0 || len(h.Counts) != len(h.EdgesMS)+1 {
		return
	}
	i := sort.Search(len(h.EdgesMS), func(i int) bool { return ms < h.EdgesMS[i] })
	h.Counts[i]++
	if h.Count == 0 || ms < h.MinMS {
		h.MinMS = ms
	}
	if ms > h.MaxMS {
		h.MaxMS = ms
	}
	h.Count++
	h.SumMS += ms
}

// MeanMS is the mean value (0 when empty).
func (h *Histogram) MeanMS() float64 {
	if h.Count == 0 {
		return 0
	}
	return h.SumMS / float64(h.Count)
}

// Labels names the bins, e.g. "<0.1", "0.1–0.2", "≥5000" (ms).
func (h *Histogram) Labels() []string {
	out := make([]string, len(h.Counts))
	for i := range out {
		switch {
		case len(h.EdgesMS) == 0:
			out[i] = "all"
		case i == 0:
			out[i] = "<" + fmtMS(h.EdgesMS[0])
		case i == len(h.EdgesMS):
			out[i] = "≥" + fmtMS(h.EdgesMS[i-1])
		default:
			out[i] = fmtMS(h.EdgesMS[i-1]) + "–" + fmtMS(h.EdgesMS[i])
		}
	}
	return out
}

func (h *Histogram) clone() Histogram {
	c := *h
	c.EdgesMS = append([]float64(nil), h.EdgesMS...)
	c.Counts = append([]int64(nil), h.Counts...)
	return c
}

func fmtMS(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

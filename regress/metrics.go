package regress

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// maxSamples bounds the handshake round trips a Collector keeps for their
// percentiles: past it, a uniform sample of that many (reservoir sampling,
// seeded, so a run is repeatable). 8 MiB.
const maxSamples = 1 << 20

// Collector is an run.Sink that sums what pcapx diff compares. It takes
// the records of a run as it happens or as parquet.Replay reads them back
// from an -o directory, and gives the same numbers either way.
type Collector struct {
	tcpPackets, retx  int64
	zeroWindowMS      float64
	rtts              []float64 // handshake round trips, ms
	rttSeen           int64
	rng               *rand.Rand
	dns, dnsFailed    int64
	httpResp, http5xx int64
	tls, tlsRejected  int64
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{rng: rand.New(rand.NewPCG(1, 2))}
}

// BorrowsRecords implements run.Borrower: the collector keeps numbers,
// never a record.
func (c *Collector) BorrowsRecords() {}

// Flow implements run.Sink.
func (c *Collector) Flow(r *flows.Record) error {
	if r.Proto != "tcp" {
		return nil
	}
	c.tcpPackets += r.OrigPackets + r.RespPackets
	c.retx += r.Retransmissions
	c.zeroWindowMS += r.ZeroWindowTime
	if r.HandshakeRTT > 0 {
		c.rttSeen++
		if len(c.rtts) < maxSamples {
			c.rtts = append(c.rtts, r.HandshakeRTT)
		} else if i := c.rng.Int64N(c.rttSeen); i < maxSamples {
			c.rtts[i] = r.HandshakeRTT
		}
	}
	return nil
}

// DNS implements run.Sink.
func (c *Collector) DNS(d *flows.DNSRecord) error {
	c.dns++
	if d.Unanswered || d.Rcode > 0 {
		c.dnsFailed++
	}
	return nil
}

// HTTP implements run.Sink.
func (c *Collector) HTTP(h *flows.HTTPRecord) error {
	if h.Status > 0 {
		c.httpResp++
		if h.Status >= 500 && h.Status <= 599 {
			c.http5xx++
		}
	}
	return nil
}

// TLS implements run.Sink.
func (c *Collector) TLS(t *flows.TLSRecord) error {
	c.tls++
	if strings.HasPrefix(t.Outcome, "rejected") {
		c.tlsRejected++
	}
	return nil
}

// Metrics are the numbers of a run pcapx diff compares; a rate whose
// denominator is zero (no DNS in the capture) is nil, not 0.
type Metrics struct {
	RetransmissionRate *float64 `json:"retransmission_rate_pct"` // retransmitted of all TCP segments, %
	ZeroWindowS        float64  `json:"zero_window_s"`           // time receivers advertised a zero window, summed over flows
	HandshakeRTTP50    *float64 `json:"handshake_rtt_p50_ms"`    // TCP handshake round trip, median
	HandshakeRTTP95    *float64 `json:"handshake_rtt_p95_ms"`
	DNSFailureRate     *float64 `json:"dns_failure_rate_pct"` // DNS transactions with an error rcode or no answer, %
	HTTP5xxRate        *float64 `json:"http_5xx_rate_pct"`    // HTTP responses with a 5xx status, %
	TLSRejections      float64  `json:"tls_rejections"`       // handshakes rejected before a ServerHello
	TLSHandshakes      float64  `json:"tls_handshakes"`
}

// Metrics returns the run's metrics.
func (c *Collector) Metrics() Metrics {
	m := Metrics{
		RetransmissionRate: pct(c.retx, c.tcpPackets),
		ZeroWindowS:        c.zeroWindowMS / 1000,
		DNSFailureRate:     pct(c.dnsFailed, c.dns),
		HTTP5xxRate:        pct(c.http5xx, c.httpResp),
		TLSRejections:      float64(c.tlsRejected),
		TLSHandshakes:      float64(c.tls),
	}
	if len(c.rtts) > 0 {
		s := slices.Sorted(slices.Values(c.rtts))
		m.HandshakeRTTP50, m.HandshakeRTTP95 = ptr(rank(s, 0.50)), ptr(rank(s, 0.95))
	}
	return m
}

func pct(n, of int64) *float64 {
	if of == 0 {
		return nil
	}
	return ptr(100 * float64(n) / float64(of))
}

func ptr(v float64) *float64 { return &v }

// rank is the nearest-rank percentile q of sorted values.
func rank(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

package run

import (
	"net/netip"
	"sort"
	"strconv"
)

// Lists are the bounded lists a run's reports show, computed by the
// Summariser from the records. Every list is sorted in the order a report
// shows it and capped (Limits says how).
type Lists struct {
	Flows         []FlowRow      // by bytes first, then by problems
	RTT           Histogram      // handshake RTTs
	DNSFailures   []NameFailures // names with the most error responses or unanswered queries, most first
	TLSFailures   []NameFailures // rejected handshakes by SNI, most first
	HTTPErrors    []HTTPRow      // the first error responses (4xx, 5xx) and requests without one
	HTTPErrorsAll int64          // all of those
	Timings       []Timing       // slowest by total, slowest to first byte, sample
	Limits        ListLimits
}

// ListLimits says how the lists were capped or sampled, with the totals
// they were taken from, so a report can say so.
type ListLimits struct {
	TopFlows      int   `json:"top_flows"`      // N per flow list
	FlowsSeen     int64 `json:"flows_seen"`     // flows summarised
	ProblemFlows  int64 `json:"problem_flows"`  // of which with a problem score > 0
	SlowestTiming int   `json:"slowest_timing"` // slowest connections kept, by total and by time to first byte
	SampleTiming  int   `json:"sample_timing"`  // uniform sample of the others
	TimingsSeen   int64 `json:"timings_seen"`   // TCP connections with a completed handshake
	MaxNames      int   `json:"max_names"`      // cap on distinct DNS names / SNIs tracked
	NamesPruned   bool  `json:"names_pruned"`   // the cap was hit: counts are lower bounds
	HTTPErrors    int   `json:"http_errors"`    // error requests listed
}

// Count is a named number.
type Count struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// NameFailures is one name (a DNS qname or a TLS SNI) and how it failed.
type NameFailures struct {
	Name  string  `json:"name"`
	Count int64   `json:"count"`
	By    []Count `json:"by"` // by rcode or TLS outcome, most first
}

// HTTPRow is one request with an error response (or none).
type HTTPRow struct {
	Time      string  `json:"time"`
	Flow      string  `json:"flow"`
	Method    string  `json:"method"`
	Host      string  `json:"host"`
	Target    string  `json:"target"`
	UserAgent string  `json:"user_agent"`
	Status    int     `json:"status"` // 0: no response seen
	Reason    string  `json:"reason"`
	TTFBMS    float64 `json:"ttfb_ms"`
	Frame     int64   `json:"frame"` // the request's frame
}

// Timing is one connection's curl-style timing breakdown, in ms.
type Timing struct {
	Flow      string  `json:"flow"`
	Name      string  `json:"name"` // SNI or HTTP host
	App       string  `json:"app"`
	Start     string  `json:"start"`
	DNSMS     float64 `json:"dns_ms"`
	ConnectMS float64 `json:"connect_ms"`
	TLSMS     float64 `json:"tls_ms"`
	TTFBMS    float64 `json:"ttfb_ms"`
	TotalMS   float64 `json:"total_ms"`
	// Why says which lists the row is in: "slowest" (total time),
	// "first-byte" (time to the first response byte), "sample".
	Why string `json:"why"`
}

// SetupMS is the time to the first response byte: DNS, connect, TLS and
// TTFB added up.
func (t *Timing) SetupMS() float64 { return t.DNSMS + t.ConnectMS + t.TLSMS + t.TTFBMS }

// RestMS is the part of the total after the first byte (transfer and idle).
func (t *Timing) RestMS() float64 {
	r := t.TotalMS - t.ConnectMS - t.TLSMS - t.TTFBMS
	if r < 0 {
		return 0
	}
	return r
}

// FlowRow is one flow in the flow table.
type FlowRow struct {
	CommunityID     string  `json:"community_id"`
	Proto           string  `json:"proto"`
	Src             string  `json:"src"` // address:port ([v6]:port)
	Dst             string  `json:"dst"`
	Stream          int64   `json:"stream"`
	State           string  `json:"state"`
	App             string  `json:"app"`
	Name            string  `json:"name"` // SNI or HTTP host
	First           string  `json:"first"`
	Duration        float64 `json:"duration_s"`
	Packets         int64   `json:"packets"`
	Bytes           int64   `json:"bytes"`
	RTTMS           float64 `json:"handshake_rtt_ms"`
	Retransmissions int64   `json:"retransmissions"`
	// RetransmissionCopies: of the retransmissions, packets the capture
	// holds twice (Record.RetransmissionCopies); DuplicateAckCopies likewise.
	RetransmissionCopies int64  `json:"retransmission_copies"`
	LostSegments         int64  `json:"lost_segments"`
	ZeroWindows          int64  `json:"zero_windows"`
	Resets               int64  `json:"resets"`
	DuplicateAcks        int64  `json:"duplicate_acks"`
	DuplicateAckCopies   int64  `json:"duplicate_ack_copies"`
	Filter               string `json:"filter"`
	// Why says which list the flow is in: "bytes", "problems" or both.
	Why string `json:"why"`
}

// SortedCounts turns a map into counts, most first, then by name.
func SortedCounts(m map[string]int64) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// maxTalkers caps the top-talkers map: a scan or a spoofed flood can bring
// millions of addresses, and only the top few matter.
const maxTalkers = 100_000

// talkers adds up bytes and flows per host address (as the records write
// it).
type talkers struct {
	m map[string]*Talker
}

func (t *talkers) add(a string, bytes int64) {
	e := t.m[a]
	if e == nil {
		if len(t.m) >= maxTalkers {
			t.prune()
		}
		e = &Talker{Addr: a}
		t.m[a] = e
	}
	e.Bytes += bytes
	e.Flows++
}

// prune keeps the busier half. A host pruned early and busy later is
// under-counted; the summary says "top talkers", not "exact totals", and the
// flow table (and Parquet flows) have the exact numbers.
func (t *talkers) prune() {
	all := make([]int64, 0, len(t.m))
	for _, e := range t.m {
		all = append(all, e.Bytes)
	}
	sort.Slice(all, func(i, j int) bool { return all[i] > all[j] })
	cut := all[len(all)/2]
	for a, e := range t.m {
		if e.Bytes <= cut {
			delete(t.m, a)
		}
	}
}

func (t *talkers) top(n int) []Talker {
	out := make([]Talker, 0, len(t.m))
	for _, e := range t.m {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Addr < out[j].Addr
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// HostPort writes an endpoint as address:port, [address]:port for IPv6.
func HostPort(addr string, port uint16) string {
	if a, err := netip.ParseAddr(addr); err == nil && a.Is6() {
		return "[" + addr + "]:" + strconv.Itoa(int(port))
	}
	return addr + ":" + strconv.Itoa(int(port))
}

package html

import (
	"container/heap"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
)

// Options bound what a Collector keeps. Zero fields take the defaults.
type Options struct {
	TopFlows     int // flows kept by bytes, and again by problems (default 200)
	Timings      int // slowest connections kept for the timing breakdown, by total time and again by time to first byte (default 200)
	TimingSample int // uniform sample of the other connections (default 100)
	MaxNames     int // distinct DNS names and SNIs tracked (default 10000)
	HTTPErrors   int // error requests listed (default 100)
	Findings     int // findings listed (default 500)
	RuleFindings int // findings listed per rule (default 50)
	// Seed makes the timing sample reproducible (default 1).
	Seed uint64
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.TopFlows, 200)
	def(&o.Timings, 200)
	def(&o.TimingSample, 100)
	def(&o.MaxNames, 10000)
	def(&o.HTTPErrors, 100)
	def(&o.Findings, 500)
	def(&o.RuleFindings, 50)
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Collector is an analyze.Sink that keeps what the page needs and no more:
// the top flows by bytes and by problems, a handshake RTT histogram, DNS,
// HTTP and TLS counts, failures by name (capped), the slowest connections
// and a sample of the rest. Its memory is bounded by Options, whatever the
// number of records. It is not safe for concurrent use (analyze.Run calls
// a sink from one goroutine).
type Collector struct {
	o Options

	byBytes    topN
	byProblems topN
	flowsSeen  int64
	problems   int64

	rtt Histogram

	dnsTx, dnsUnanswered int64
	dnsRcodes            map[string]int64
	dnsFail              *names

	httpReq, httpResp int64
	httpStatus        map[int]int64
	httpErrors        []HTTPRow
	httpErrorsAll     int64

	tlsHandshakes int64
	tlsOutcomes   map[string]int64
	tlsFail       *names

	slowest     topN     // by total time
	slowSetup   topN     // by time to the first response byte (DNS+connect+TLS+TTFB)
	sampleT     []Timing // reservoir sample of the timing rows
	timingsSeen int64
	rng         *rand.Rand
}

// NewCollector returns a Collector with the given bounds.
func NewCollector(o Options) *Collector {
	o = o.withDefaults()
	return &Collector{
		o:           o,
		byBytes:     topN{max: o.TopFlows},
		byProblems:  topN{max: o.TopFlows},
		slowest:     topN{max: o.Timings},
		slowSetup:   topN{max: o.Timings},
		rtt:         NewHistogram(),
		dnsRcodes:   map[string]int64{},
		dnsFail:     newNames(o.MaxNames),
		httpStatus:  map[int]int64{},
		tlsOutcomes: map[string]int64{},
		tlsFail:     newNames(o.MaxNames),
		rng:         rand.New(rand.NewPCG(o.Seed, 0x70636170)),
	}
}

var _ analyze.Sink = (*Collector)(nil)

// Flow implements analyze.Sink.
func (c *Collector) Flow(r *flows.Record) error {
	c.flowsSeen++
	bytes := r.OrigBytes + r.RespBytes
	score := r.Retransmissions + r.LostSegments + r.ZeroWindows + r.Resets
	if c.byBytes.wants(bytes, r.FirstNS) {
		c.byBytes.push(item{key: float64(bytes), first: r.FirstNS, row: flowRow(r)})
	}
	if score > 0 {
		c.problems++
		if c.byProblems.wants(score, r.FirstNS) {
			c.byProblems.push(item{key: float64(score), first: r.FirstNS, row: flowRow(r)})
		}
	}
	if r.HandshakeRTT > 0 {
		c.rtt.Add(r.HandshakeRTT)
	}
	if r.Proto == "tcp" && r.ConnectMS > 0 {
		c.timing(r)
	}
	return nil
}

// timing keeps the slowest connections, by total time and by time to the
// first response byte, and a uniform sample (reservoir sampling, algorithm
// R) of all of them.
func (c *Collector) timing(r *flows.Record) {
	c.timingsSeen++
	total := r.TotalMS
	// total_ms runs from the first SYN to the last packet: it cannot be
	// longer than the flow. Guard against a bad value from upstream.
	if d := r.Duration * 1000; total > d+1 || total < 0 {
		total = d
	}
	if c.slowest.wantsF(total, r.FirstNS) {
		t := timingRow(r, total)
		c.slowest.push(item{key: total, first: r.FirstNS, timing: &t})
	}
	if setup := r.DNSMS + r.ConnectMS + r.TLSMS + r.TTFBMS; c.slowSetup.wantsF(setup, r.FirstNS) {
		t := timingRow(r, total)
		c.slowSetup.push(item{key: setup, first: r.FirstNS, timing: &t})
	}
	if len(c.sampleT) < c.o.TimingSample {
		c.sampleT = append(c.sampleT, timingRow(r, total))
	} else if j := c.rng.Int64N(c.timingsSeen); j < int64(c.o.TimingSample) {
		c.sampleT[j] = timingRow(r, total)
	}
}

// DNS implements analyze.Sink.
func (c *Collector) DNS(d *flows.DNSRecord) error {
	c.dnsTx++
	if d.Unanswered {
		c.dnsUnanswered++
		c.dnsFail.add(d.QName, "unanswered")
		return nil
	}
	name := d.RcodeName
	if name == "" {
		name = "rcode " + strconv.Itoa(d.Rcode)
	}
	if len(c.dnsRcodes) < 64 || c.dnsRcodes[name] > 0 {
		c.dnsRcodes[name]++
	} else {
		c.dnsRcodes["other"]++
	}
	if d.Rcode != 0 {
		c.dnsFail.add(d.QName, name)
	}
	return nil
}

// HTTP implements analyze.Sink.
func (c *Collector) HTTP(h *flows.HTTPRecord) error {
	if h.Method != "" {
		c.httpReq++
	}
	if h.Status >= 100 && h.Status <= 999 {
		c.httpResp++
		c.httpStatus[h.Status]++
	}
	if h.Status >= 400 || (h.Status == 0 && h.Method != "") {
		c.httpErrorsAll++
		if len(c.httpErrors) < c.o.HTTPErrors {
			c.httpErrors = append(c.httpErrors, HTTPRow{
				Time: h.RequestTime.String(), Flow: refString(h.FlowRef), Method: h.Method, Host: h.Host, Target: h.Target,
				UserAgent: h.UserAgent, Status: h.Status, Reason: h.Reason, TTFBMS: h.TTFBMS, Frame: h.RequestFrame.Frame,
			})
		}
	}
	return nil
}

// TLS implements analyze.Sink.
func (c *Collector) TLS(t *flows.TLSRecord) error {
	c.tlsHandshakes++
	o := t.Outcome
	if o == "" {
		o = "unknown"
	}
	if len(c.tlsOutcomes) < 32 || c.tlsOutcomes[o] > 0 {
		c.tlsOutcomes[o]++
	} else {
		c.tlsOutcomes["other"]++
	}
	if strings.HasPrefix(o, "rejected") {
		sni := t.SNI
		if sni == "" {
			sni = "(no SNI) " + t.DstAddr
		}
		c.tlsFail.add(sni, o)
	}
	return nil
}

// Data finishes the collection: the records kept, with the run's summary
// (which may be nil when only records are at hand).
func (c *Collector) Data(res *analyze.Result) *Data {
	d := &Data{Schema: SchemaVersion, FlowStates: []Count{}, Protocols: []Count{}, Suppressed: []Count{},
		Findings: []Finding{}, Problems: []Problem{}, TopTalkers: []Talker{}, Timeline: Timeline{Buckets: []Bucket{}},
		Capture: Capture{Files: []File{}, LinkTypes: []string{}, Warnings: []string{}}}
	if res != nil {
		d.fromResult(res, c.o.Findings, c.o.RuleFindings)
	}
	d.Limits.TopFlows = c.o.TopFlows
	d.Limits.FlowsSeen = c.flowsSeen
	d.Limits.ProblemFlows = c.problems
	d.Limits.SlowestTiming = c.o.Timings
	d.Limits.SampleTiming = c.o.TimingSample
	d.Limits.TimingsSeen = c.timingsSeen
	d.Limits.MaxNames = c.o.MaxNames
	d.Limits.NamesPruned = c.dnsFail.pruned || c.tlsFail.pruned
	d.Limits.HTTPErrors = c.o.HTTPErrors

	d.RTT = c.rtt.clone()

	d.DNS = DNSSummary{Transactions: c.dnsTx, Unanswered: c.dnsUnanswered, Rcodes: sortedCounts(c.dnsRcodes), Failures: c.dnsFail.list(maxNameRows)}
	d.HTTP = HTTPSummary{Requests: c.httpReq, Responses: c.httpResp, Status: []Count{}, Errors: append([]HTTPRow{}, c.httpErrors...), ErrorsAll: c.httpErrorsAll}
	codes := make([]int, 0, len(c.httpStatus))
	for k := range c.httpStatus {
		codes = append(codes, k)
	}
	sort.Ints(codes)
	for _, k := range codes {
		d.HTTP.Status = append(d.HTTP.Status, Count{strconv.Itoa(k), c.httpStatus[k]})
	}
	d.TLS = TLSSummary{Handshakes: c.tlsHandshakes, Outcomes: sortedCounts(c.tlsOutcomes), Failures: c.tlsFail.list(maxNameRows)}

	// Flows: by bytes, then the problem flows not already listed.
	d.Flows = []FlowRow{}
	seen := map[string]int{}
	for _, it := range c.byBytes.sorted() {
		r := *it.row
		r.Why = "bytes"
		seen[flowID(&r)] = len(d.Flows)
		d.Flows = append(d.Flows, r)
	}
	for _, it := range c.byProblems.sorted() {
		r := *it.row
		if i, ok := seen[flowID(&r)]; ok {
			d.Flows[i].Why = "bytes problems"
			continue
		}
		r.Why = "problems"
		d.Flows = append(d.Flows, r)
	}

	// Timings: the slowest by total time, then the slowest to the first
	// byte, then the sample, each without the rows already listed.
	d.Timings = []Timing{}
	tseen := map[string]int{}
	for _, it := range c.slowest.sorted() {
		t := *it.timing
		t.Why = "slowest"
		tseen[t.Flow+"|"+t.Start] = len(d.Timings)
		d.Timings = append(d.Timings, t)
	}
	for _, it := range c.slowSetup.sorted() {
		t := *it.timing
		if i, ok := tseen[t.Flow+"|"+t.Start]; ok {
			d.Timings[i].Why += " first-byte"
			continue
		}
		t.Why = "first-byte"
		tseen[t.Flow+"|"+t.Start] = len(d.Timings)
		d.Timings = append(d.Timings, t)
	}
	var rest []Timing
	for _, t := range c.sampleT {
		if _, ok := tseen[t.Flow+"|"+t.Start]; !ok {
			t.Why = "sample"
			rest = append(rest, t)
		}
	}
	sort.SliceStable(rest, func(i, j int) bool {
		if rest[i].TotalMS != rest[j].TotalMS {
			return rest[i].TotalMS > rest[j].TotalMS
		}
		return rest[i].Start < rest[j].Start
	})
	d.Timings = append(d.Timings, rest...)
	return d
}

// maxNameRows is how many names the page lists per failure table.
const maxNameRows = 50

func flowID(r *FlowRow) string { return r.CommunityID + "|" + r.First + "|" + r.Src }

func flowRow(r *flows.Record) *FlowRow {
	name := r.SNI
	if name == "" {
		name = r.HTTPHost
	}
	return &FlowRow{
		CommunityID: r.CommunityID, Proto: r.Proto,
		Src: hostPort(r.SrcAddr, r.SrcPort), Dst: hostPort(r.DstAddr, r.DstPort),
		Stream: r.Stream, State: r.State, App: r.App, Name: name, First: r.First.String(), Duration: r.Duration,
		Packets: r.OrigPackets + r.RespPackets, Bytes: r.OrigBytes + r.RespBytes, RTTMS: r.HandshakeRTT,
		Retransmissions: r.Retransmissions, LostSegments: r.LostSegments, ZeroWindows: r.ZeroWindows,
		Resets: r.Resets, DuplicateAcks: r.DuplicateAcks, Filter: r.Ref().DisplayFilter(),
	}
}

func timingRow(r *flows.Record, total float64) Timing {
	name := r.SNI
	if name == "" {
		name = r.HTTPHost
	}
	return Timing{Flow: refString(r.Ref()), Name: name, App: r.App, Start: r.First.String(),
		DNSMS: r.DNSMS, ConnectMS: r.ConnectMS, TLSMS: r.TLSMS, TTFBMS: r.TTFBMS, TotalMS: total}
}

func refString(f flows.FlowRef) string {
	return hostPort(f.SrcAddr, f.SrcPort) + " → " + hostPort(f.DstAddr, f.DstPort)
}

func hostPort(addr string, port uint16) string {
	if a, err := netip.ParseAddr(addr); err == nil && a.Is6() {
		return "[" + addr + "]:" + strconv.Itoa(int(port))
	}
	return addr + ":" + strconv.Itoa(int(port))
}

// item is one entry of a top-N heap. Ties go to the earlier flow, so the
// result does not depend on the order flows end in.
type item struct {
	key    float64
	first  int64
	row    *FlowRow
	timing *Timing
}

// topN keeps the max items with the largest keys: a min-heap whose root
// is the weakest kept item.
type topN struct {
	max   int
	items []item
}

func (t *topN) Len() int { return len(t.items) }
func (t *topN) Less(i, j int) bool {
	return weaker(&t.items[i], &t.items[j])
}
func (t *topN) Swap(i, j int) { t.items[i], t.items[j] = t.items[j], t.items[i] }
func (t *topN) Push(x any)    { t.items = append(t.items, x.(item)) }
func (t *topN) Pop() any {
	it := t.items[len(t.items)-1]
	t.items = t.items[:len(t.items)-1]
	return it
}

func weaker(a, b *item) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.first > b.first
}

// wants says whether an item with this key would be kept, before the row
// is built (the common case on a big capture is "no").
func (t *topN) wants(key int64, first int64) bool { return t.wantsF(float64(key), first) }

func (t *topN) wantsF(key float64, first int64) bool {
	if len(t.items) < t.max {
		return true
	}
	return weaker(&t.items[0], &item{key: key, first: first})
}

func (t *topN) push(it item) {
	if len(t.items) < t.max {
		heap.Push(t, it)
		return
	}
	t.items[0] = it
	heap.Fix(t, 0)
}

// sorted returns the items strongest first.
func (t *topN) sorted() []item {
	out := append([]item(nil), t.items...)
	sort.Slice(out, func(i, j int) bool { return weaker(&out[j], &out[i]) })
	return out
}

// names counts failures by name (DNS qname, TLS SNI) and by reason, in a
// map capped at max names: past it the less-failing half is dropped (a
// random-subdomain flood brings millions of names, and only the top ones
// matter). When that happens, counts are lower bounds and the page says so.
type names struct {
	max    int
	m      map[string]*nameCount
	pruned bool
}

type nameCount struct {
	n  int64
	by map[string]int64
}

func newNames(max int) *names { return &names{max: max, m: map[string]*nameCount{}} }

func (n *names) add(name, why string) {
	e := n.m[name]
	if e == nil {
		if len(n.m) >= n.max {
			n.prune()
		}
		e = &nameCount{by: map[string]int64{}}
		n.m[name] = e
	}
	e.n++
	if len(e.by) < 16 || e.by[why] > 0 {
		e.by[why]++
	} else {
		e.by["other"]++
	}
}

// prune keeps the half with the most failures (ties: by name, so the
// result depends only on the input).
func (n *names) prune() {
	n.pruned = true
	for _, e := range n.list(len(n.m))[n.max/2:] {
		delete(n.m, e.Name)
	}
}

func (n *names) list(max int) []NameFailures {
	out := make([]NameFailures, 0, len(n.m))
	for k, e := range n.m {
		out = append(out, NameFailures{Name: k, Count: e.n, By: sortedCounts(e.by)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	if len(out) > max {
		out = out[:max]
	}
	return out
}

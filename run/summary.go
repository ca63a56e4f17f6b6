package run

import (
	"container/heap"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// Options bound what a Summariser keeps. Zero fields take the defaults.
type Options struct {
	TopFlows     int // flows kept by bytes, and again by problems (default 200)
	WorstFlows   int // the most troubled TCP flows the text summary lists (default 5)
	TopTalkers   int // hosts listed by bytes (default 10)
	Timings      int // slowest connections kept for the timing breakdown, by total time and again by time to first byte (default 200)
	TimingSample int // uniform sample of the other connections (default 100)
	MaxNames     int // distinct DNS names and SNIs tracked (default 10000)
	HTTPErrors   int // error requests listed (default 100)
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
	def(&o.WorstFlows, 5)
	def(&o.TopTalkers, 10)
	def(&o.Timings, 200)
	def(&o.TimingSample, 100)
	def(&o.MaxNames, 10000)
	def(&o.HTTPErrors, 100)
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// Summariser is the Sink that computes every summary of a run from its
// records: flow states, protocols, TCP totals, top talkers, the most
// troubled flows, the application counts, and the bounded lists the
// reports show (top flows by bytes and by problems, a handshake RTT
// histogram, failures by name, HTTP errors, the slowest connections and a
// sample of the rest). analyze.Run hands it every record as it completes;
// `pcapx report DIR` hands it the records read back from the tables, so
// the page rebuilt from them is the page the run wrote. Its memory is
// bounded by Options, whatever the number of records. It is not safe for
// concurrent use.
type Summariser struct {
	o Options

	flowStates, protocols map[string]int64
	tcp                   TCPSummary
	talkers               talkers
	app                   AppSummary

	byBytes    topN
	byProblems topN
	flowsSeen  int64
	problems   int64

	rtt Histogram

	dnsFail *names

	httpErrors    []HTTPRow
	httpErrorsAll int64

	tlsFail *names

	slowest     topN     // by total time
	slowSetup   topN     // by time to the first response byte (DNS+connect+TLS+TTFB)
	sampleT     []Timing // reservoir sample of the timing rows
	timingsSeen int64
	rng         *rand.Rand
}

// NewSummariser returns an empty Summariser with the given bounds.
func NewSummariser(o Options) *Summariser {
	o = o.withDefaults()
	return &Summariser{
		o:          o,
		flowStates: map[string]int64{},
		protocols:  map[string]int64{},
		talkers:    talkers{m: map[string]*Talker{}},
		app: AppSummary{DNSRcodes: map[string]int64{}, HTTPStatus: map[string]int64{}, HTTPCodes: map[int]int64{},
			TLSOutcomes: map[string]int64{}, ICMPKinds: map[string]int64{}},
		byBytes:    topN{max: o.TopFlows},
		byProblems: topN{max: o.TopFlows},
		slowest:    topN{max: o.Timings},
		slowSetup:  topN{max: o.Timings},
		rtt:        NewHistogram(),
		dnsFail:    newNames(o.MaxNames),
		tlsFail:    newNames(o.MaxNames),
		rng:        rand.New(rand.NewPCG(o.Seed, 0x70636170)),
	}
}

var (
	_ Borrower = (*Summariser)(nil)
	_ ICMPSink = (*Summariser)(nil)
)

// BorrowsRecords implements Borrower: the summariser copies what it keeps.
func (c *Summariser) BorrowsRecords() {}

// ProblemScore is the trouble a flow had, as the reports rank flows by:
// retransmissions, lost segments, zero windows and resets added up. The
// retransmissions that were packets the capture holds twice (a mirror
// port copying both directions) are no trouble of the flow's and do not
// count (docs/tcp-analysis.md, "Packets the capture holds twice").
func ProblemScore(r *flows.Record) int64 {
	return r.Resends() + r.LostSegments + r.ZeroWindows + r.Resets
}

// Flow implements Sink. It copies what it keeps: a run may reuse the
// record once the sinks have it.
func (c *Summariser) Flow(r *flows.Record) error {
	c.flowStates[r.State]++
	c.protocols[r.Proto]++
	if r.Proto == "tcp" {
		if !r.Continues { // a connection's late packets: its stream is counted
			c.tcp.Streams++
		}
		c.tcp.TCPCounts.Merge(&r.TCPCounts)
		c.tcp.RetransmissionCopies += r.RetransmissionCopies
		c.tcp.DuplicateAckCopies += r.DuplicateAckCopies
	}
	c.flowsSeen++
	bytes := r.OrigBytes + r.RespBytes
	c.talkers.add(r.SrcAddr, bytes)
	c.talkers.add(r.DstAddr, bytes)
	score := ProblemScore(r)
	if c.byBytes.wants(bytes, r.FirstNS) {
		c.byBytes.push(item{key: float64(bytes), first: r.FirstNS, rec: keep(r)})
	}
	if score > 0 {
		c.problems++
		if c.byProblems.wants(score, r.FirstNS) {
			c.byProblems.push(item{key: float64(score), first: r.FirstNS, rec: keep(r)})
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
func (c *Summariser) timing(r *flows.Record) {
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

// DNS implements Sink.
func (c *Summariser) DNS(d *flows.DNSRecord) error {
	a := &c.app
	a.DNSTransactions++
	if d.Unanswered {
		a.DNSUnanswered++
		c.dnsFail.add(d.QName, "unanswered")
		return nil
	}
	a.DNSResponses++
	name := d.RcodeName
	if name == "" {
		name = "rcode " + strconv.Itoa(d.Rcode)
	}
	countCapped(a.DNSRcodes, name, 64)
	if d.Rcode != 0 {
		c.dnsFail.add(d.QName, name)
	}
	return nil
}

// HTTP implements Sink.
func (c *Summariser) HTTP(h *flows.HTTPRecord) error {
	a := &c.app
	if h.Method != "" {
		a.HTTPRequests++
	}
	if h.Status >= 100 && h.Status <= 599 {
		a.HTTPResponses++
		a.HTTPCodes[h.Status]++
		a.HTTPStatus[statusClass[h.Status/100]]++
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

// TLS implements Sink.
func (c *Summariser) TLS(t *flows.TLSRecord) error {
	c.app.TLSHandshakes++
	o := t.Outcome
	if o == "" {
		o = "unknown"
	}
	countCapped(c.app.TLSOutcomes, o, 32)
	if strings.HasPrefix(o, "rejected") {
		sni := t.SNI
		if sni == "" {
			sni = "(no SNI) " + t.DstAddr
		}
		c.tlsFail.add(sni, o)
	}
	return nil
}

// ICMP implements ICMPSink.
func (c *Summariser) ICMP(r *flows.ICMPRecord) error {
	c.app.ICMPMessages++
	c.app.ICMPKinds[r.Kind]++
	return nil
}

var statusClass = [...]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

// countCapped counts name in m, which holds at most max names: past that,
// new names count as "other" (a hostile capture can bring any number of
// distinct rcodes or outcomes, and a summary wants the top few).
func countCapped(m map[string]int64, name string, max int) {
	if len(m) < max || m[name] > 0 {
		m[name]++
	} else {
		m["other"]++
	}
}

// keep copies a record the summariser holds on to.
func keep(r *flows.Record) *flows.Record {
	c := *r
	return &c
}

// Summarise writes what the records said into res: FlowStates, Protocols,
// TCP, TopTalkers, WorstFlows, App and Lists. It may be called more than
// once; each call sees every record handed over so far.
func (c *Summariser) Summarise(res *Result) {
	res.FlowStates = cloneMap(c.flowStates)
	res.Protocols = cloneMap(c.protocols)
	res.TCP = c.tcp
	res.TopTalkers = c.talkers.top(c.o.TopTalkers)
	a := c.app
	a.DNSRcodes, a.HTTPStatus, a.HTTPCodes = cloneMap(a.DNSRcodes), cloneMap(a.HTTPStatus), cloneMap(a.HTTPCodes)
	a.TLSOutcomes, a.ICMPKinds = cloneMap(a.TLSOutcomes), cloneMap(a.ICMPKinds)
	res.App = a

	problems := c.byProblems.sorted()
	res.WorstFlows = nil
	for _, it := range problems {
		if len(res.WorstFlows) == c.o.WorstFlows {
			break
		}
		if it.rec.Proto == "tcp" {
			res.WorstFlows = append(res.WorstFlows, *it.rec)
		}
	}

	l := &res.Lists
	*l = Lists{}
	l.Limits = ListLimits{TopFlows: c.o.TopFlows, FlowsSeen: c.flowsSeen, ProblemFlows: c.problems,
		SlowestTiming: c.o.Timings, SampleTiming: c.o.TimingSample, TimingsSeen: c.timingsSeen,
		MaxNames: c.o.MaxNames, NamesPruned: c.dnsFail.pruned || c.tlsFail.pruned, HTTPErrors: c.o.HTTPErrors}
	l.RTT = c.rtt.clone()
	l.DNSFailures = c.dnsFail.list(maxNameRows)
	l.TLSFailures = c.tlsFail.list(maxNameRows)
	l.HTTPErrors = append([]HTTPRow{}, c.httpErrors...)
	l.HTTPErrorsAll = c.httpErrorsAll

	// Flows: by bytes, then the problem flows not already listed.
	l.Flows = []FlowRow{}
	seen := map[string]int{}
	for _, it := range c.byBytes.sorted() {
		r := flowRow(it.rec)
		r.Why = "bytes"
		seen[flowID(&r)] = len(l.Flows)
		l.Flows = append(l.Flows, r)
	}
	for _, it := range problems {
		r := flowRow(it.rec)
		if i, ok := seen[flowID(&r)]; ok {
			l.Flows[i].Why = "bytes problems"
			continue
		}
		r.Why = "problems"
		l.Flows = append(l.Flows, r)
	}

	// Timings: the slowest by total time, then the slowest to the first
	// byte, then the sample, each without the rows already listed.
	l.Timings = []Timing{}
	tseen := map[string]int{}
	for _, it := range c.slowest.sorted() {
		t := *it.timing
		t.Why = "slowest"
		tseen[t.Flow+"|"+t.Start] = len(l.Timings)
		l.Timings = append(l.Timings, t)
	}
	for _, it := range c.slowSetup.sorted() {
		t := *it.timing
		if i, ok := tseen[t.Flow+"|"+t.Start]; ok {
			l.Timings[i].Why += " first-byte"
			continue
		}
		t.Why = "first-byte"
		tseen[t.Flow+"|"+t.Start] = len(l.Timings)
		l.Timings = append(l.Timings, t)
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
	l.Timings = append(l.Timings, rest...)
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// maxNameRows is how many names the page lists per failure table.
const maxNameRows = 50

func flowID(r *FlowRow) string { return r.CommunityID + "|" + r.First + "|" + r.Src }

func flowRow(r *flows.Record) FlowRow {
	name := r.SNI
	if name == "" {
		name = r.HTTPHost
	}
	return FlowRow{
		CommunityID: r.CommunityID, Proto: r.Proto,
		Src: HostPort(r.SrcAddr, r.SrcPort), Dst: HostPort(r.DstAddr, r.DstPort),
		Stream: r.Stream, State: r.State, App: r.App, Name: name, First: r.First.String(), Duration: r.Duration,
		Packets: r.OrigPackets + r.RespPackets, Bytes: r.OrigBytes + r.RespBytes, RTTMS: r.HandshakeRTT,
		Retransmissions: r.Retransmissions, RetransmissionCopies: r.RetransmissionCopies, LostSegments: r.LostSegments, ZeroWindows: r.ZeroWindows,
		Resets: r.Resets, DuplicateAcks: r.DuplicateAcks, DuplicateAckCopies: r.DuplicateAckCopies, Filter: r.Ref().DisplayFilter(),
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
	return HostPort(f.SrcAddr, f.SrcPort) + " → " + HostPort(f.DstAddr, f.DstPort)
}

// item is one entry of a top-N heap. Ties go to the earlier flow, so the
// result does not depend on the order flows end in.
type item struct {
	key    float64
	first  int64
	rec    *flows.Record
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
		out = append(out, NameFailures{Name: k, Count: e.n, By: SortedCounts(e.by)})
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

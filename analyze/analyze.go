// Package analyze runs one analysis: it opens the captures, decodes every
// frame, drives the flow table and its TCP analysis, and hands each finished
// flow to the caller's sink as it leaves the table. What it keeps for the
// summary is bounded (counters, per-state counts, a capped top-talkers map),
// so memory depends on the number of active flows, never on the file size.
//
// The sinks (JSON, text, later Parquet and HTML) live in package report and
// implement FlowSink; cmd/pcapx wires them together. analyze never knows an
// output format.
package analyze

import (
	"fmt"
	"io"
	"net/netip"
	"sort"

	"github.com/pcapx/pcapx/analyze/source"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/rules"
)

// Config is one run's settings.
type Config struct {
	Inputs []string     // files, directories, globs, or "-" for stdin
	Stdin  io.Reader    // read for "-" (default os.Stdin)
	Flows  flows.Config // table bounds and timeouts (OnEnd is set by Run)
	// TopTalkers is how many hosts the summary lists (default 10).
	TopTalkers int
	// Progress, if set, is called about every 64k packets with the bytes
	// read so far and the total (0 when unknown).
	Progress func(done, total int64)
	// Rules overrides the rules' defaults (nil: all rules, defaults).
	Rules *rules.Config
	// Streams bounds the reassembly (zero: defaults).
	Streams streams.Config
	// OnPacket, if set, sees every decoded packet with its flow and TCP
	// analysis flags (for tests and per-frame tooling). The arguments are
	// valid only during the call.
	OnPacket func(p *flows.Packet, f *flows.Flow, dir flows.Dir, a flows.Analysis)
}

// Sink receives the records of a run as they complete: each flow as it
// ends, each DNS, HTTP and TLS record as its transaction ends. The records
// are the sink's to keep.
type Sink interface {
	Flow(*flows.Record) error
	DNS(*flows.DNSRecord) error
	HTTP(*flows.HTTPRecord) error
	TLS(*flows.TLSRecord) error
}

// ICMPSink is a Sink that also takes the ICMP error records (the JSON
// document and the Parquet tables do; a sink that does not implement it
// simply does not get them).
type ICMPSink interface {
	ICMP(*flows.ICMPRecord) error
}

// InputEnder is a Sink that is told when the input has been read to its
// end. What follows is the run's tail: the flows still open are ended and
// handed over at once (in a capture shorter than the flow table's
// timeouts, that is every flow), and the analysis needs no more cores. The
// Parquet writer encodes with a core fewer than it could until then, so as
// not to slow the analysis, and with all of them after.
type InputEnder interface {
	InputEnded()
}

// Result is what a run found, apart from the flows handed to the sink.
type Result struct {
	Capture    Capture          `json:"capture"`
	TCP        TCPSummary       `json:"tcp"`
	FlowStates map[string]int64 `json:"flow_states"`
	Protocols  map[string]int64 `json:"protocols"`
	TopTalkers []Talker         `json:"top_talkers"`
	// WorstFlows are the TCP flows with the most trouble (retransmissions,
	// lost segments, zero windows, resets), worst first, for the summary.
	WorstFlows []flows.Record `json:"-"`
	// Findings are the rules' diagnoses, most severe first.
	Findings []rules.Finding `json:"-"`
	// Suppressed counts findings past a rule's cap, by rule.
	Suppressed map[string]int64 `json:"-"`
	App        AppSummary       `json:"-"`
	Timeline   Timeline         `json:"-"`
	Streams    streams.Stats    `json:"-"`
	Table      flows.TableStats `json:"-"`
	Decode     flows.DecodeStats

	// RuleWarnings are the rules' own non-fatal problems (a custom rule
	// that failed on some records), kept apart from the capture's damage
	// warnings: --strict does not count them.
	RuleWarnings []string `json:"-"`
}

// Capture describes the input as a whole.
type Capture struct {
	Files     []File   `json:"files"`
	Packets   int64    `json:"packets"`
	Bytes     int64    `json:"bytes"` // frame bytes on the wire
	First     string   `json:"first"` // RFC 3339 with ns, UTC; "" for an empty capture
	Last      string   `json:"last"`
	FirstNS   int64    `json:"-"`
	LastNS    int64    `json:"-"`
	Duration  float64  `json:"duration_s"`
	LinkTypes []string `json:"link_types"`
	Flows     int64    `json:"flows"`
	Evicted   int64    `json:"flows_evicted"` // flows pushed out of a full table
	PeakFlows int      `json:"peak_active_flows"`
	NotIP     int64    `json:"non_ip_frames"`
	Malformed int64    `json:"malformed_frames"`
	Fragments int64    `json:"ip_fragments"`
	Truncated int64    `json:"truncated_frames"` // cut short by the snapshot length
	Warnings  []string `json:"warnings"`
}

// File is one input file.
type File struct {
	Name        string   `json:"name"`
	Format      string   `json:"format"`
	Compression string   `json:"compression,omitempty"`
	Packets     int64    `json:"packets"`
	LinkTypes   []string `json:"link_types"`
	Comments    []string `json:"comments,omitempty"`
	Skipped     bool     `json:"skipped,omitempty"`
}

// TCPSummary is the capture-wide TCP analysis.
type TCPSummary struct {
	Streams int64 `json:"streams"`
	flows.TCPCounts
}

// AppSummary counts the application records of a run.
type AppSummary struct {
	DNSTransactions int64
	DNSResponses    int64
	DNSRcodes       map[string]int64 // by rcode name (answered transactions)
	DNSUnanswered   int64
	HTTPRequests    int64
	HTTPResponses   int64
	HTTPStatus      map[string]int64 // by class: 1xx .. 5xx
	TLSHandshakes   int64            // ClientHellos
	TLSOutcomes     map[string]int64
	ICMPMessages    int64            // ICMP error and redirect records
	ICMPKinds       map[string]int64 // by kind (frag-needed, unreachable, ...)
}

// Talker is one host and the bytes it sent and received.
type Talker struct {
	Addr  string `json:"addr"`
	Bytes int64  `json:"bytes"`
	Flows int64  `json:"flows"`
}

// Run analyses the inputs. Flows go to sink (which may be nil) as they end;
// the returned Result summarises the capture. An error means the job could
// not be done (no readable input, an I/O failure, or the sink failed);
// damage inside a capture is a warning in Result.Capture.Warnings.
func Run(cfg Config, sink Sink) (*Result, error) {
	rd, err := source.Open(cfg.Inputs, source.Options{Stdin: cfg.Stdin})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	engine, err := rules.NewEngine(cfg.Rules)
	if err != nil {
		return nil, err
	}

	r := &Result{FlowStates: map[string]int64{}, Protocols: map[string]int64{}}
	r.App = AppSummary{DNSRcodes: map[string]int64{}, HTTPStatus: map[string]int64{}, TLSOutcomes: map[string]int64{}, ICMPKinds: map[string]int64{}}
	talkers := newTalkers()
	worst := &worstFlows{max: 5}
	var sinkErr error
	keep := func(err error) {
		if err != nil && sinkErr == nil {
			sinkErr = err
		}
	}
	// One Event per kind, reused: the rules must not keep it, and a value
	// made per record would be one more allocation per transaction.
	dnsEvent := rules.Event{Kind: rules.EventDNS}
	httpEvent := rules.Event{Kind: rules.EventHTTP}
	tlsEvent := rules.Event{Kind: rules.EventTLS}
	app := streams.New(cfg.Streams, streams.Sinks{
		DNS: func(d *flows.DNSRecord) {
			r.App.count(d)
			dnsEvent.DNS = d
			engine.Event(&dnsEvent)
			if sink != nil {
				keep(sink.DNS(d))
			}
		},
		HTTP: func(h *flows.HTTPRecord) {
			r.App.countHTTP(h)
			httpEvent.HTTP = h
			engine.Event(&httpEvent)
			if sink != nil {
				keep(sink.HTTP(h))
			}
		},
		TLS: func(t *flows.TLSRecord) {
			r.App.TLSHandshakes++
			r.App.TLSOutcomes[t.Outcome]++
			tlsEvent.TLS = t
			engine.Event(&tlsEvent)
			if sink != nil {
				keep(sink.TLS(t))
			}
		},
	})
	icmpSink, _ := sink.(ICMPSink)
	icmpEvent := rules.Event{Kind: rules.EventICMP}
	var scratch flows.Record
	flowEvent := rules.Event{Kind: rules.EventFlow}
	tcfg := cfg.Flows
	tcfg.OnEnd = func(f *flows.Flow) {
		if f.Key.Proto == flows.ProtoTCP {
			r.TCP.Streams++
			r.TCP.TCPCounts.Merge(&f.TCP.Counts)
		}
		r.FlowStates[f.ConnState()]++
		r.Protocols[flows.ProtoName(f.Key.Proto)]++
		bytes := f.Dir[0].Bytes + f.Dir[1].Bytes
		talkers.add(f.Client.Addr, bytes)
		talkers.add(f.Server.Addr, bytes)
		// Without a sink nothing keeps the record (rules and the summary
		// copy what they need), so one is reused: a flow record is half a
		// kilobyte, and a run can end millions of flows.
		rec := &scratch
		if sink != nil {
			rec = new(flows.Record)
		}
		*rec = f.Record()
		app.FlowEnd(f, rec)
		flowEvent.Flow = rec
		engine.Event(&flowEvent)
		if f.TCP != nil {
			c := &f.TCP.Counts
			if score := c.Retransmissions + c.LostSegments + c.ZeroWindows + c.Resets; score > 0 {
				worst.add(rec, score)
			}
		}
		if sink != nil {
			keep(sink.Flow(rec))
		}
	}
	table := flows.NewTable(tcfg)
	dec := flows.NewDecoder()
	var p flows.Packet
	var n int64
	for {
		pkt, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read capture: %w", err)
		}
		n++
		if cfg.Progress != nil && n&0xffff == 0 {
			cfg.Progress(rd.Progress())
		}
		p.Timestamp, p.File, p.Frame, p.WireLen = pkt.Timestamp, pkt.File, pkt.Frame, pkt.OrigLen
		switch kind := dec.Decode(pkt.LinkType, pkt.Data, &p); kind {
		case flows.KindTCP, flows.KindUDP, flows.KindICMP, flows.KindIP:
			f, dir, a := table.Process(&p)
			r.Timeline.add(p.Timestamp, p.WireLen, a)
			if kind == flows.KindTCP || kind == flows.KindUDP {
				app.Packet(&p, f, dir)
			} else if kind == flows.KindICMP && p.IsICMPRecord() {
				rec := flows.NewICMPRecord(&p, f)
				r.App.ICMPMessages++
				r.App.ICMPKinds[rec.Kind]++
				icmpEvent.ICMP = rec
				engine.Event(&icmpEvent)
				if icmpSink != nil {
					keep(icmpSink.ICMP(rec))
				}
			}
			if cfg.OnPacket != nil {
				cfg.OnPacket(&p, f, dir, a)
			}
		default:
			r.Timeline.add(p.Timestamp, p.WireLen, 0)
		}
		if sinkErr != nil {
			return nil, fmt.Errorf("write output: %w", sinkErr)
		}
	}
	if e, ok := sink.(InputEnder); ok {
		e.InputEnded()
	}
	table.Flush()
	app.Finish()
	if sinkErr != nil {
		return nil, fmt.Errorf("write output: %w", sinkErr)
	}
	if cfg.Progress != nil {
		cfg.Progress(rd.Progress())
	}

	r.Table, r.Decode, r.Streams = table.Stats, dec.Stats, app.Stats
	r.fillCapture(rd, cfg.TopTalkers, talkers)
	engine.SetRun(runInfo(rd, &r.Capture))
	r.Findings = engine.Finish()
	r.Suppressed = engine.Suppressed
	r.RuleWarnings = engine.Warnings
	r.WorstFlows = worst.list()
	return r, nil
}

// runInfo is what the rules learn of the capture as a whole: the frames
// read and cut short, its time span, and which files were read or skipped.
func runInfo(rd source.Reader, c *Capture) rules.RunInfo {
	info := rules.RunInfo{Packets: c.Packets, TruncatedFrames: c.Truncated, FirstNS: c.FirstNS, LastNS: c.LastNS}
	for _, fi := range rd.Files() {
		if fi.Skipped {
			info.Skipped = append(info.Skipped, fi.Name)
		} else {
			info.Files = append(info.Files, fi.Name)
		}
	}
	return info
}

func (a *AppSummary) count(d *flows.DNSRecord) {
	a.DNSTransactions++
	if d.Unanswered {
		a.DNSUnanswered++
		return
	}
	a.DNSResponses++
	a.DNSRcodes[d.RcodeName]++
}

var statusClass = [...]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

func (a *AppSummary) countHTTP(h *flows.HTTPRecord) {
	if h.Method != "" {
		a.HTTPRequests++
	}
	if h.Status >= 100 && h.Status <= 599 {
		a.HTTPResponses++
		a.HTTPStatus[statusClass[h.Status/100]]++
	}
}

func (r *Result) fillCapture(rd source.Reader, top int, t *talkers) {
	c := &r.Capture
	seenLT := map[uint16]bool{}
	for _, fi := range rd.Files() {
		f := File{Name: fi.Name, Format: fi.Format, Compression: fi.Compression, Packets: fi.Packets, Comments: fi.Comments, Skipped: fi.Skipped}
		for _, lt := range fi.LinkTypes {
			f.LinkTypes = append(f.LinkTypes, flows.LinkTypeName(lt))
			if !seenLT[lt] {
				seenLT[lt] = true
				c.LinkTypes = append(c.LinkTypes, flows.LinkTypeName(lt))
			}
		}
		if f.LinkTypes == nil {
			f.LinkTypes = []string{}
		}
		c.Files = append(c.Files, f)
		c.Packets += fi.Packets
		c.Bytes += fi.Bytes
		if fi.Packets > 0 {
			if c.FirstNS == 0 || fi.First < c.FirstNS {
				c.FirstNS = fi.First
			}
			if fi.Last > c.LastNS {
				c.LastNS = fi.Last
			}
		}
	}
	if c.Packets > 0 {
		c.First, c.Last = flows.FormatTime(c.FirstNS), flows.FormatTime(c.LastNS)
		c.Duration = float64(c.LastNS-c.FirstNS) / 1e9
	}
	if c.LinkTypes == nil {
		c.LinkTypes = []string{}
	}
	c.Warnings = []string{}
	for _, w := range rd.Warnings() {
		c.Warnings = append(c.Warnings, w.String())
	}
	c.Flows, c.Evicted, c.PeakFlows = r.Table.Flows, r.Table.Evicted, r.Table.Peak
	if c.Evicted > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("flow table full: %d flows were evicted before they ended (raise --max-flows)", c.Evicted))
	}
	c.NotIP, c.Malformed, c.Fragments, c.Truncated = r.Decode.NotIP, r.Decode.Malformed, r.Decode.Fragments, r.Decode.Truncated
	if top <= 0 {
		top = 10
	}
	r.TopTalkers = t.top(top)
}

// maxTalkers caps the top-talkers map: a scan or a spoofed flood can bring
// millions of addresses, and only the top few matter.
const maxTalkers = 100_000

type talkers struct {
	m map[netip.Addr]*Talker
}

func newTalkers() *talkers { return &talkers{m: map[netip.Addr]*Talker{}} }

func (t *talkers) add(a netip.Addr, bytes int64) {
	e := t.m[a]
	if e == nil {
		if len(t.m) >= maxTalkers {
			t.prune()
		}
		e = &Talker{}
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
	for a, e := range t.m {
		e.Addr = a.String()
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

// worstFlows keeps the few flows with the highest trouble score.
type worstFlows struct {
	max    int
	recs   []flows.Record
	scores []int64
}

func (w *worstFlows) add(r *flows.Record, score int64) {
	if len(w.recs) == w.max && score <= w.scores[len(w.scores)-1] {
		return
	}
	i := sort.Search(len(w.scores), func(i int) bool { return w.scores[i] < score })
	w.recs = append(w.recs, flows.Record{})
	w.scores = append(w.scores, 0)
	copy(w.recs[i+1:], w.recs[i:])
	copy(w.scores[i+1:], w.scores[i:])
	w.recs[i], w.scores[i] = *r, score
	if len(w.recs) > w.max {
		w.recs, w.scores = w.recs[:w.max], w.scores[:w.max]
	}
}

func (w *worstFlows) list() []flows.Record { return w.recs }

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
	"time"

	"github.com/pcapx/pcapx/analyze/source"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/streams"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
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
	// Since and Until, when not zero, select a time window: only packets
	// with Since <= timestamp < Until are analysed. The reader skips the
	// others before they are decoded (Capture.OutsideWindow counts them).
	Since, Until time.Time
}

// window is the source's window (ns) for Since and Until.
func (cfg *Config) window() (since, until int64) {
	if !cfg.Since.IsZero() {
		since = cfg.Since.UnixNano()
	}
	if !cfg.Until.IsZero() {
		until = cfg.Until.UnixNano()
	}
	return since, until
}

// windowText is the window as an RFC 3339 interval, "" without one.
func (cfg *Config) windowText() string {
	if cfg.Since.IsZero() && cfg.Until.IsZero() {
		return ""
	}
	s, u := "..", ".."
	if !cfg.Since.IsZero() {
		s = cfg.Since.UTC().Format(time.RFC3339Nano)
	}
	if !cfg.Until.IsZero() {
		u = cfg.Until.UTC().Format(time.RFC3339Nano)
	}
	return s + "/" + u
}

// The run model lives in package run; these names keep the callers that
// say analyze.Result compiling until they move.
type (
	Sink       = run.Sink
	ICMPSink   = run.ICMPSink
	InputEnder = run.InputEnder
	Result     = run.Result
	Capture    = run.Capture
	File       = run.File
	TCPSummary = run.TCPSummary
	AppSummary = run.AppSummary
	Talker     = run.Talker
	Timeline   = run.Timeline
	Bucket     = run.Bucket
)

// Tee hands every record to several sinks (see run.Tee).
func Tee(sinks ...Sink) Sink { return run.Tee(sinks...) }

// Run analyses the inputs. Flows go to sink (which may be nil) as they end;
// the returned Result summarises the capture. An error means the job could
// not be done (no readable input, an I/O failure, or the sink failed);
// damage inside a capture is a warning in Result.Capture.Warnings.
func Run(cfg Config, sink Sink) (*Result, error) {
	if !cfg.Since.IsZero() && !cfg.Until.IsZero() && !cfg.Since.Before(cfg.Until) {
		return nil, fmt.Errorf("time window: since %s is not before until %s", cfg.Since.UTC().Format(time.RFC3339Nano), cfg.Until.UTC().Format(time.RFC3339Nano))
	}
	since, until := cfg.window()
	rd, err := source.Open(cfg.Inputs, source.Options{Stdin: cfg.Stdin, Since: since, Until: until})
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	engine, err := rules.NewEngine(cfg.Rules)
	if err != nil {
		return nil, err
	}

	r := &Result{}
	// Every record goes to the summariser as well as to the caller's sink.
	sum := run.NewSummariser(run.Options{TopTalkers: cfg.TopTalkers})
	outer := sink
	sink = run.Tee(sum, outer)
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
			dnsEvent.DNS = d
			engine.Event(&dnsEvent)
			keep(sink.DNS(d))
		},
		HTTP: func(h *flows.HTTPRecord) {
			httpEvent.HTTP = h
			engine.Event(&httpEvent)
			keep(sink.HTTP(h))
		},
		TLS: func(t *flows.TLSRecord) {
			tlsEvent.TLS = t
			engine.Event(&tlsEvent)
			keep(sink.TLS(t))
		},
	})
	icmpSink := sink.(ICMPSink) // a Tee takes ICMP records for the sinks that do
	icmpEvent := rules.Event{Kind: rules.EventICMP}
	var scratch flows.Record
	flowEvent := rules.Event{Kind: rules.EventFlow}
	tcfg := cfg.Flows
	tcfg.OnEnd = func(f *flows.Flow) {
		// Without a sink of the caller's nothing keeps the record (rules
		// and the summariser copy what they need), so one is reused: a
		// flow record is half a kilobyte, and a run can end millions of
		// flows.
		rec := &scratch
		if outer != nil {
			rec = new(flows.Record)
		}
		*rec = f.Record()
		app.FlowEnd(f, rec)
		flowEvent.Flow = rec
		engine.Event(&flowEvent)
		keep(sink.Flow(rec))
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
			r.Timeline.Add(p.Timestamp, p.WireLen, a)
			if kind == flows.KindTCP || kind == flows.KindUDP {
				app.Packet(&p, f, dir)
			} else if kind == flows.KindICMP && p.IsICMPRecord() {
				rec := flows.NewICMPRecord(&p, f)
				icmpEvent.ICMP = rec
				engine.Event(&icmpEvent)
				keep(icmpSink.ICMP(rec))
			}
			if cfg.OnPacket != nil {
				cfg.OnPacket(&p, f, dir, a)
			}
		default:
			r.Timeline.Add(p.Timestamp, p.WireLen, 0)
		}
		if sinkErr != nil {
			return nil, fmt.Errorf("write output: %w", sinkErr)
		}
	}
	if e, ok := outer.(InputEnder); ok {
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
	sum.Summarise(r)
	fillCapture(r, rd)
	r.Capture.Window = cfg.windowText()
	engine.SetRun(runInfo(rd, &r.Capture))
	r.Findings = engine.Finish()
	r.Suppressed, r.Omitted = engine.Suppressed, engine.Omitted
	r.RuleWarnings = engine.Warnings
	return r, nil
}

// runInfo is what the rules learn of the capture as a whole: the frames
// read and cut short, its time span, and which files were read or skipped.
func runInfo(rd source.Reader, c *Capture) rules.RunInfo {
	info := rules.RunInfo{Packets: c.Packets, TruncatedFrames: c.Truncated, FirstNS: c.FirstNS, LastNS: c.LastNS, OutsideWindow: c.OutsideWindow}
	for _, fi := range rd.Files() {
		if fi.Skipped {
			info.Skipped = append(info.Skipped, fi.Name)
		} else {
			info.Files = append(info.Files, fi.Name)
		}
	}
	return info
}

func fillCapture(r *Result, rd source.Reader) {
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
		c.OutsideWindow += fi.Outside
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
}

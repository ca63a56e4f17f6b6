package streams

import (
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/dns"
	"github.com/pcapx/pcapx/flows/http"
	"github.com/pcapx/pcapx/flows/tls"
)

// asmContext carries the current packet into the assembler's callbacks.
type asmContext struct {
	ci    gopacket.CaptureInfo
	frame flows.FrameRef
	dir   flows.Dir
	conn  *conn
}

func (a *asmContext) GetCaptureInfo() gopacket.CaptureInfo { return a.ci }

type factory struct{ t *Tracker }

func (fa *factory) New(_, _ gopacket.Flow, _ *layers.TCP, _ reassembly.AssemblerContext) reassembly.Stream {
	return &shim{}
}

// shim is the assembler's Stream: it routes reassembled bytes to the
// application state of the flow the current packet belongs to.
type shim struct {
	c    *conn
	flip bool // gopacket's client→server is our server→client
}

func (s *shim) Accept(_ *layers.TCP, _ gopacket.CaptureInfo, dir reassembly.TCPFlowDirection, _ reassembly.Sequence, start *bool, ac reassembly.AssemblerContext) bool {
	ctx := ac.(*asmContext)
	s.c = ctx.conn
	s.flip = (dir == reassembly.TCPDirClientToServer) != (ctx.dir == flows.FromClient)
	*start = true // the connection is handed over at its first payload, SYN or not
	return true
}

func (s *shim) ReassembledSG(sg reassembly.ScatterGather, ac reassembly.AssemblerContext) {
	c := s.c
	if c == nil || c.done {
		return
	}
	gdir, _, _, skip := sg.Info()
	dir := flows.FromClient
	if (gdir == reassembly.TCPDirServerToClient) != s.flip {
		dir = flows.FromServer
	}
	if skip > 0 {
		c.gap(dir, skip)
	}
	n, _ := sg.Lengths()
	if n == 0 {
		return
	}
	ts := sg.CaptureInfo(0).Timestamp.UnixNano()
	frame := ac.(*asmContext).frame
	c.data(dir, sg.Fetch(n), ts, frame)
}

// ReassemblyComplete returns false: returning true would make the final ACK
// after both FINs open a new stream. Streams are dropped by capture-time
// flushes instead.
func (s *shim) ReassemblyComplete(reassembly.AssemblerContext) bool { return false }

func (t *Tracker) tcpPacket(p *flows.Packet, f *flows.Flow, dir flows.Dir, tcp *layers.TCP) {
	c, _ := f.App.(*conn)
	if c == nil {
		if p.PayloadLen == 0 {
			return // nothing to parse or time until the first payload
		}
		c = t.state(f)
		c.flowRef(f)
		start := f.First
		if f.TCP != nil && f.TCP.SYNTime != 0 {
			start = f.TCP.SYNTime
		}
		c.synAt = start
		if a, ok := t.answers[f.Server.Addr]; ok && a.at <= start && start-a.at < int64(10*time.Minute) {
			c.dnsLookup = a.latency
		}
	}
	if c.done {
		return
	}
	fr := flows.FrameRef{File: p.File, Frame: p.Frame}
	if p.Flags&flows.FlagRST != 0 && c.rstAt == 0 {
		c.rstAt, c.rstDir, c.rstFrame = p.Timestamp, dir, fr
	}
	if p.Flags&flows.FlagFIN != 0 && dir == flows.FromServer && c.finAt == 0 {
		c.finAt, c.finFrame = p.Timestamp, fr
	}
	if !c.decided && len(p.Payload) > 0 {
		c.decide(sniff(p.Payload, dir, p.SrcPort, p.DstPort))
	}
	// Timing: the first request bytes once the connection is set up (after
	// the TLS handshake for TLS), and the first answer bytes after them.
	if p.PayloadLen > 0 {
		if dir == flows.FromClient && c.reqAt == 0 && c.setUp() {
			c.reqAt = p.Timestamp
		} else if dir == flows.FromServer && c.reqAt != 0 && c.respAt == 0 && p.Timestamp >= c.reqAt {
			c.respAt = p.Timestamp
		}
	}
	if !c.feeding || (p.PayloadLen == 0 && p.Flags&(flows.FlagFIN|flows.FlagRST) == 0) || tcp == nil {
		return
	}
	t.ctx.ci = gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Timestamp), CaptureLength: p.WireLen, Length: p.WireLen}
	t.ctx.frame, t.ctx.dir, t.ctx.conn = fr, dir, c
	t.asm.AssembleWithContext(netFlow(p), tcp, &t.ctx)
	t.ctx.conn = nil
	t.Stats.Segments++
	if c.kind == appTLS && c.tlsDone() {
		c.feeding = false // the handshake is over: nothing more to read
	}
}

func netFlow(p *flows.Packet) gopacket.Flow {
	if p.Src.Is4() {
		s, d := p.Src.As4(), p.Dst.As4()
		return gopacket.NewFlow(layers.EndpointIPv4, s[:], d[:])
	}
	s, d := p.Src.As16(), p.Dst.As16()
	return gopacket.NewFlow(layers.EndpointIPv6, s[:], d[:])
}

func (c *conn) decide(k appKind) {
	c.decided, c.kind = true, k
	switch k {
	case appTLS:
		c.tlsC, c.tlsS = tls.NewParser(), tls.NewParser()
	case appHTTP:
		c.httpC = http.NewConn(http.Config{}, c.httpDone)
	case appDNS:
		c.dnsTCP[0], c.dnsTCP[1] = &dns.TCPStream{}, &dns.TCPStream{}
	default:
		return
	}
	c.frames = new([2]frameRing)
	c.feeding = true
	c.t.Stats.Reassembled++
}

// setUp says whether the connection is past its setup, so client bytes are
// a request: always, except during a TLS handshake.
func (c *conn) setUp() bool {
	if c.kind != appTLS {
		return true
	}
	return c.tlsC.Encrypted() && c.tlsS.Encrypted()
}

func (c *conn) tlsDone() bool {
	return (c.tlsC.Encrypted() || c.tlsC.Stopped()) && (c.tlsS.Encrypted() || c.tlsS.Stopped())
}

func (c *conn) gap(dir flows.Dir, n int) {
	c.t.Stats.Gaps++
	c.t.Stats.GapBytes += int64(n)
	switch c.kind {
	case appTLS:
		c.tlsParser(dir).Gap(n)
	case appHTTP:
		if dir == flows.FromClient {
			c.httpC.ClientGap(n)
		} else {
			c.httpC.ServerGap(n)
		}
	case appDNS:
		// A DNS-over-TCP stream cannot find its framing again after a
		// hole: drop the rest of that direction.
		c.dnsTCP[dir] = nil
	}
}

func (c *conn) tlsParser(dir flows.Dir) *tls.Parser {
	if dir == flows.FromClient {
		return c.tlsC
	}
	return c.tlsS
}

func (c *conn) data(dir flows.Dir, b []byte, ts int64, fr flows.FrameRef) {
	c.frames[dir].add(ts, fr)
	switch c.kind {
	case appTLS:
		c.tlsParser(dir).Feed(b, ts)
	case appHTTP:
		if dir == flows.FromClient {
			c.httpC.ClientData(b, ts)
		} else {
			c.httpC.ServerData(b, ts)
		}
	case appDNS:
		s := c.dnsTCP[dir]
		if s == nil {
			return
		}
		s.Feed(b)
		for {
			msg, ok := s.Next()
			if !ok {
				break
			}
			c.t.countDNS(msg)
			m, err := dns.Parse(msg)
			if err != nil {
				c.t.Stats.DNSMalformed++
				continue
			}
			c.t.Stats.DNSMessages++
			c.t.dnsMessage(c, m, ts, fr)
		}
	}
}

func (c *conn) httpDone(tx *http.Transaction) {
	if tx.Status >= 100 && tx.Status <= 599 {
		c.t.Stats.HTTPStatus[tx.Status/100]++
	}
	c.t.Stats.HTTPStatus[1] += int64(tx.Informational)
	r := &flows.HTTPRecord{
		FlowRef:       c.ref,
		RequestNS:     tx.RequestTime,
		Method:        tx.Method,
		Host:          tx.Host,
		Target:        tx.Target,
		UserAgent:     tx.UserAgent,
		Version:       tx.HTTPVersion,
		Status:        tx.Status,
		Reason:        tx.Reason,
		ResponseBytes: tx.ResponseBytes,
		Complete:      tx.Complete,
		RequestFrame:  c.frames[flows.FromClient].find(tx.RequestTime),
		ResponseFrame: c.frames[flows.FromServer].find(tx.FirstResponseByteTime),
	}
	if tx.RequestTime != 0 {
		r.RequestTime = flows.FormatTime(tx.RequestTime)
		if tx.FirstResponseByteTime >= tx.RequestTime && tx.Status != 0 {
			r.TTFBMS = float64(tx.FirstResponseByteTime-tx.RequestTime) / 1e6
		}
		if tx.ResponseDoneTime >= tx.RequestTime && tx.Status != 0 {
			r.TotalMS = float64(tx.ResponseDoneTime-tx.RequestTime) / 1e6
		}
	}
	if c.firstHTTP == nil && tx.Status != 0 && tx.RequestTime != 0 {
		rr := *r
		c.firstHTTP = &rr
	}
	if c.t.sinks.HTTP != nil {
		c.t.sinks.HTTP(r)
	}
}

// tlsRecord builds the handshake record of a TLS connection at its end.
func (c *conn) tlsRecord(endNS int64, captureEnded bool) *flows.TLSRecord {
	cr, sr := c.tlsC.Result(), c.tlsS.Result()
	c.t.Stats.ClientHellos += int64(len(cr.ClientHellos))
	h := tls.Summarize(&cr, &sr)
	if h.ClientHello == nil {
		return nil
	}
	ch := h.ClientHello
	r := &flows.TLSRecord{
		FlowRef:          c.ref,
		ClientHelloTime:  flows.FormatTime(ch.Time),
		ClientHelloNS:    ch.Time,
		SNI:              ch.SNI,
		ALPN:             ch.ALPN,
		JA3:              ch.JA3,
		JA3Hash:          ch.JA3Hash,
		JA4:              ch.JA4,
		ServerHello:      h.ServerHello != nil,
		Established:      h.Established,
		ClientHelloFrame: c.frames[flows.FromClient].find(ch.Time),
	}
	if r.ALPN == nil {
		r.ALPN = []string{}
	}
	r.OfferedVersions = offeredVersions(ch)
	if h.Version != 0 {
		r.Version = tls.VersionName(h.Version)
		r.Cipher = tls.CipherSuiteName(h.CipherSuite)
	}
	if h.Established && h.End >= h.Start {
		r.HandshakeMS = float64(h.End-h.Start) / 1e6
	}
	if h.Alert != nil && !h.Alert.Encrypted {
		r.AlertLevel = tls.AlertLevelName(h.Alert.Level)
		r.Alert = tls.AlertName(h.Alert.Description)
		r.AlertFrom = "client"
		if h.AlertFromServer {
			r.AlertFrom = "server"
		}
	}
	switch {
	case h.Established:
		r.Outcome = "established"
	case h.Alert != nil && h.Alert.Fatal() && h.AlertFromServer && h.ServerHello == nil:
		r.Outcome = "rejected-alert"
		r.EndFrame = c.frames[flows.FromServer].find(h.Alert.Time)
	case c.rstAt != 0 && c.rstAt >= ch.Time && h.ServerHello == nil:
		r.ResetBy = "server"
		r.Outcome = "rejected-reset"
		if c.rstDir == flows.FromClient {
			r.ResetBy = "client"
			r.Outcome = "aborted-by-client"
		}
		r.EndFrame = c.rstFrame
	case c.finAt != 0 && c.finAt >= ch.Time && h.ServerHello == nil:
		r.Outcome = "rejected-close"
		r.EndFrame = c.finFrame
	case h.Alert != nil && h.Alert.Fatal():
		r.Outcome = "failed-alert" // after the ServerHello: certificate or key exchange trouble
	case captureEnded:
		r.Outcome = "incomplete"
	default:
		r.Outcome = "unknown"
	}
	_ = endNS
	return r
}

func offeredVersions(ch *tls.ClientHello) []string {
	var vs []string
	if len(ch.SupportedVersions) > 0 {
		for _, v := range ch.SupportedVersions {
			if !tls.IsGREASE(v) {
				vs = append(vs, tls.VersionName(v))
			}
		}
		return vs
	}
	// Before TLS 1.3 the client offers every version up to legacy_version.
	for v := uint16(0x0300); v <= ch.Version && v <= 0x0303; v++ {
		vs = append(vs, tls.VersionName(v))
	}
	if vs == nil {
		vs = []string{}
	}
	return vs
}

// FlowEnd finishes the application state of a flow that left the table and
// adds what it learnt (application, SNI, HTTP host, timings) to its record.
func (t *Tracker) FlowEnd(f *flows.Flow, rec *flows.Record) {
	c, ok := f.App.(*conn)
	if !ok || c.done {
		return
	}
	c.done = true
	rec.App = c.kind.String()
	switch c.kind {
	case appTLS:
		if tr := c.tlsRecord(f.Last, f.End == flows.EndCapture); tr != nil {
			rec.SNI = tr.SNI
			if tr.Established {
				rec.TLSMS = tr.HandshakeMS
			}
			if t.sinks.TLS != nil {
				t.sinks.TLS(tr)
			}
		}
	case appHTTP:
		c.httpC.Close()
	}
	if c.firstHTTP != nil {
		rec.HTTPHost = c.firstHTTP.Host
	}
	// curl -w style phases.
	if c.dnsLookup >= 0 {
		rec.DNSMS = float64(c.dnsLookup) / 1e6
	}
	rec.ConnectMS = rec.HandshakeRTT
	switch {
	case c.firstHTTP != nil:
		rec.TTFBMS = c.firstHTTP.TTFBMS
	case c.reqAt != 0 && c.respAt != 0:
		rec.TTFBMS = float64(c.respAt-c.reqAt) / 1e6
	}
	rec.TotalMS = float64(f.Last-c.synAt) / 1e6
}

// flush pushes out data the assembler held for connections idle for two
// minutes of capture time and times out unanswered DNS queries.
func (t *Tracker) flush() {
	t.flushed = t.now
	t.asm.FlushCloseOlderThan(time.Unix(0, t.now-int64(2*time.Minute)))
	t.dns.Expire(t.now)
}

// Finish flushes everything at the end of the capture. Flows must have been
// ended (FlowEnd) first, so late DNS records still find their flow.
func (t *Tracker) Finish() {
	t.asm.FlushAll()
	t.dns.Flush()
	st := t.dns.Stats()
	t.Stats.DNSOverflow = st.Overflow
}

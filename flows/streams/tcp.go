package streams

import (
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/dns"
	"github.com/pcapx/pcapx/flows/http"
	"github.com/pcapx/pcapx/flows/tls"
)

func (t *Tracker) tcpPacket(p *flows.Packet, f *flows.Flow, dir flows.Dir) {
	if flows.IsPadding(p) {
		// A pure ACK whose IP total length counts the frame's padding: its
		// zero bytes are not the stream's, and the real data that follows
		// reuses their sequence numbers (delivered first, they would
		// shift every byte of a ServerHello).
		return
	}
	c, _ := f.App.(*conn)
	if c == nil {
		if f.App != nil || p.PayloadLen == 0 {
			// Finished (only the summary is left), or nothing to parse or
			// time until the first payload.
			return
		}
		c = t.state(f)
		c.flowRef(f)
		start := f.First
		if f.TCP != nil && f.TCP.SYNTime != 0 {
			start = f.TCP.SYNTime
		}
		c.synAt = start
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
		c.sniffs++
		k := sniff(p.Payload, dir, p.SrcPort, p.DstPort, c.sniffs > 1)
		if k != appNone {
			c.decide(k)
			c.prime(p, dir)
		} else {
			if c.sniffs >= maxSniff {
				c.decided = true // not something the parsers read
			}
			h := &c.half[dir]
			if end := p.Seq + uint32(p.PayloadLen); !h.seen || seqDiff(h.seenEnd, end) > 0 {
				h.seen, h.seenEnd = true, end
			}
		}
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
	if c.feeding && (p.PayloadLen > 0 || p.Flags&(flows.FlagFIN|flows.FlagRST) != 0) {
		t.feed(c, p, dir, fr)
	}
	if f.TCP != nil && f.TCP.Closed() && p.Flags&(flows.FlagFIN|flows.FlagRST) != 0 {
		c.end = c.endReason("closed")
		f.App = t.finish(c, p.Timestamp, false) // closed: nothing more to parse; keep only the summary
		return
	}
	if !c.feeding {
		return
	}
	if c.kind == appTLS && c.tlsDone() {
		c.stopFeeding() // the handshake is over: nothing more to read
	}
}

// feed hands one segment of c to its direction's reassembler (reasm.go).
func (t *Tracker) feed(c *conn, p *flows.Packet, dir flows.Dir, fr flows.FrameRef) {
	h := &c.half[dir]
	syn := p.Flags&flows.FlagSYN != 0
	if cut := p.PayloadLen - len(p.Payload); cut > 0 && !syn {
		end := p.Seq + uint32(len(p.Payload))
		h.addCut(seqRange{end, end + uint32(cut)})
	}
	t.segment(c, dir, p.Seq, p.Payload, syn, p.Flags&flows.FlagFIN != 0, p.Flags&flows.FlagRST != 0, p.Timestamp, fr)
	t.Stats.Segments++
	h.pruneCuts()
	// Bytes the snapshot length cut never come: do not wait for them.
	for i := 0; len(h.cuts) > 0 && i < maxPushes && c.feeding; i++ {
		holeEnd, ok := h.cutHoleEnd()
		if !ok || !h.waitingWithin(holeEnd) {
			break
		}
		c.lastSeen = max(c.lastSeen, t.now)
		t.push(c, dir, live{})
		h.pruneCuts()
	}
}

// pruneCuts drops the cut ranges wholly before next.
func (h *half) pruneCuts() {
	k := 0
	for _, r := range h.cuts {
		if seqDiff(h.next, r.to) > 0 {
			h.cuts[k] = r
			k++
		}
	}
	h.cuts = h.cuts[:k]
}

func (h *half) addCut(r seqRange) {
	if len(h.cuts) >= maxCuts {
		copy(h.cuts, h.cuts[1:])
		h.cuts = h.cuts[:len(h.cuts)-1]
	}
	h.cuts = append(h.cuts, r)
}

// cutHoleEnd says whether next sits in bytes the snapshot length cut, and
// where the run of such bytes starting there ends.
func (h *half) cutHoleEnd() (uint32, bool) {
	end, found := h.next, false
	for grew := true; grew; {
		grew = false
		for _, r := range h.cuts {
			if seqDiff(r.from, end) >= 0 && seqDiff(end, r.to) > 0 {
				end, found, grew = r.to, true, true
			}
		}
	}
	return end, found
}

// waitingWithin says whether stored data starts at or before end.
func (h *half) waitingWithin(end uint32) bool {
	return len(h.q) > 0 && seqDiff(h.q[0].seq, end) >= 0
}

// prime starts the directions of a connection that was just handed over.
// The sender of p starts at p. The other side starts where p's ACK says,
// or after what was seen from it, so that an early segment of its waits
// for the ones before it.
func (c *conn) prime(p *flows.Packet, dir flows.Dir) {
	rev := 1 - dir
	h := &c.half[rev]
	var start uint32
	switch {
	case h.seen && (p.Flags&flows.FlagACK == 0 || seqDiff(p.Ack, h.seenEnd) > 0):
		start = h.seenEnd
	case p.Flags&flows.FlagACK != 0:
		start = p.Ack
	default:
		return
	}
	h.started, h.next = true, start
	c.lastSeen = max(c.lastSeen, p.Timestamp)
}

// stopFeeding ends the reassembly of a connection whose parsers need no
// more bytes.
func (c *conn) stopFeeding() {
	c.feeding = false
	c.t.closeAsm(c)
}

// closeAsm ends both halves of c's reassembly, dropping what they store.
func (t *Tracker) closeAsm(c *conn) {
	if !c.asm {
		return
	}
	c.asm = false
	for d := range c.half {
		h := &c.half[d]
		if h.started {
			t.closeHalf(h)
		}
		t.dropQueue(h)
	}
	t.inactive(c)
}

// drain hands the parsers everything stored for c, reporting the holes as
// gaps. Used when the flow ends: nothing will fill them.
func (t *Tracker) drain(c *conn) {
	if !c.asm || !c.feeding {
		return
	}
	for d := range c.half {
		for i := 0; i < maxPushes && c.feeding; i++ {
			if !t.push(c, flows.Dir(d), live{}) {
				break
			}
		}
	}
}

// active lists the connections being reassembled, for the idle flush.
func (t *Tracker) activate(c *conn) {
	c.activeIdx = len(t.active)
	t.active = append(t.active, c)
}

func (t *Tracker) inactive(c *conn) {
	i := c.activeIdx
	if i < 0 || i >= len(t.active) || t.active[i] != c {
		return
	}
	last := len(t.active) - 1
	t.active[i] = t.active[last]
	t.active[i].activeIdx = i
	t.active[last] = nil
	t.active = t.active[:last]
	c.activeIdx = -1
}

// pushIdle hands over the stored data that waited since before cutoff
// (the holes before it will not fill now), and makes the halves of a
// connection that had no segment since cutoff start again at their next
// new segment, as gopacket's FlushCloseOlderThan did (it dropped such a
// connection, and the next segment made a new one).
func (t *Tracker) pushIdle(cutoff int64) {
	for _, c := range t.active {
		for d := range c.half {
			h := &c.half[d]
			if h.closed || len(h.q) == 0 {
				continue
			}
			// Data is handed over in sequence order, so a segment counts
			// as old as the oldest one stored behind it.
			for i := 0; i < maxPushes && len(h.q) > 0 && !h.closed && c.feeding; i++ {
				oldest := h.q[0].ts
				for j := range h.q {
					oldest = min(oldest, h.q[j].ts)
				}
				if oldest >= cutoff {
					break
				}
				t.push(c, flows.Dir(d), live{})
			}
		}
		if c.lastSeen < cutoff && len(c.half[0].q) == 0 && len(c.half[1].q) == 0 {
			for d := range c.half {
				h := &c.half[d]
				h.closed, h.finSet, h.restart = false, false, h.started
			}
		}
	}
}

// skippable says how many of dir's next bytes the parser will only count.
func (c *conn) skippable(dir flows.Dir) int64 {
	if c.done || !c.feeding {
		return 1<<63 - 1
	}
	switch c.kind {
	case appTLS:
		return int64(c.tlsParser(dir).Skippable())
	case appHTTP:
		if dir == flows.FromClient {
			return c.httpC.ClientSkippable()
		}
		return c.httpC.ServerSkippable()
	case appDNS:
		if c.dnsTCP[dir] == nil {
			return 1<<63 - 1
		}
	}
	return 0
}

// deliver hands the parser of direction dir its next n bytes: b, or (skip)
// bytes it only counts.
func (c *conn) deliver(dir flows.Dir, b []byte, n int, skip bool, ts int64, fr flows.FrameRef) {
	if c.done || !c.feeding {
		return
	}
	if !skip {
		c.data(dir, b, ts, fr)
		return
	}
	if int64(n) > c.skippable(dir) {
		// Stored as a range because the parser said it would only count
		// these bytes, and now it would read them: a bug, which the
		// parser turns into a gap. The fuzz test checks it never happens.
		c.t.skipMisses++
	}
	c.frames[dir].add(ts, fr)
	switch c.kind {
	case appTLS:
		c.tlsParser(dir).Skip(n)
	case appHTTP:
		if dir == flows.FromClient {
			c.httpC.ClientSkip(int64(n), ts)
		} else {
			c.httpC.ServerSkip(int64(n), ts)
		}
	}
}

// gapAt reports n bytes of direction dir that will never come.
func (c *conn) gapAt(dir flows.Dir, n int) {
	if !c.done {
		c.gap(dir, n)
	}
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
	t := c.t
	if n := len(t.freeFrames); n > 0 {
		c.frames, t.freeFrames = t.freeFrames[n-1], t.freeFrames[:n-1]
		*c.frames = [2]frameRing{}
	} else {
		c.frames = new([2]frameRing)
	}
	c.feeding, c.asm = true, true
	t.activate(c)
	t.Stats.Reassembled++
	t.parsers++
	if t.cfg.MaxParsers > 0 {
		t.parsing = append(t.parsing, c)
		t.boundParsers()
	}
}

// boundParsers stops the parsing of the connections that started parsing
// longest ago while more than Config.MaxParsers parse.
func (t *Tracker) boundParsers() {
	for t.cfg.MaxParsers > 0 && t.parsers > t.cfg.MaxParsers && len(t.parsing) > 0 {
		c := t.parsing[0]
		t.parsing[0] = nil
		t.parsing = t.parsing[1:]
		if c.done {
			continue
		}
		t.finish(c, c.lastSeen, false)
		t.Stats.ParsersStopped++
	}
	// Finished connections leave the queue when it is mostly theirs (they
	// must not be kept alive by it).
	if len(t.parsing) > 2*t.parsers+1024 {
		live := make([]*conn, 0, 2*t.parsers+16)
		for _, c := range t.parsing {
			if !c.done {
				live = append(live, c)
			}
		}
		t.parsing = live
	}
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
			if c.dnsf == nil {
				c.dnsf = &dnsFlow{ref: c.ref}
			}
			c.t.dnsMessage(c.dnsf, msg, ts, fr, false)
		}
	}
}

func (c *conn) httpDone(tx *http.Transaction) {
	if tx.Status >= 100 && tx.Status <= 599 {
		c.t.Stats.HTTPStatus[tx.Status/100]++
	}
	c.t.Stats.HTTPStatus[1] += int64(tx.Informational)
	r := record(c.t.sinks.NewHTTP)
	*r = flows.HTTPRecord{
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
		Gap:           tx.Gap,
		RequestFrame:  c.frames[flows.FromClient].find(tx.RequestTime),
		ResponseFrame: c.frames[flows.FromServer].find(tx.FirstResponseByteTime),
	}
	if c.tcp != nil {
		r.RTTMS = float64(c.tcp.PathRTT()) / 1e6
	}
	r.ContentLength, r.Chunked = tx.ContentLength, tx.Chunked
	if tx.Status == 0 {
		r.ContentLength = -1
	}
	if !tx.Complete {
		r.ConnEnd = c.end // how the connection ended, when it ended this exchange
	}
	if tx.RequestTime != 0 {
		r.RequestTime = flows.Time(tx.RequestTime)
		if tx.FirstResponseByteTime >= tx.RequestTime && tx.Status != 0 {
			r.TTFBMS = float64(tx.FirstResponseByteTime-tx.RequestTime) / 1e6
		}
		if tx.ResponseDoneTime >= tx.RequestTime && tx.Status != 0 {
			r.TotalMS = float64(tx.ResponseDoneTime-tx.RequestTime) / 1e6
		}
	}
	if !c.firstHTTP && tx.Status != 0 && tx.RequestTime != 0 {
		c.firstHTTP, c.firstHost, c.firstTTFB = true, r.Host, r.TTFBMS
	}
	if c.t.sinks.HTTP != nil {
		c.t.sinks.HTTP(r)
	}
}

// tlsRecord builds the handshake record of a TLS connection at its end.
func (c *conn) tlsRecord(captureEnded bool) *flows.TLSRecord {
	cr, sr := c.tlsC.Result(), c.tlsS.Result()
	c.t.Stats.ClientHellos += int64(len(cr.ClientHellos))
	h := tls.Summarize(&cr, &sr)
	if h.ClientHello == nil {
		return nil
	}
	ch := h.ClientHello
	r := record(c.t.sinks.NewTLS)
	*r = flows.TLSRecord{
		FlowRef:          c.ref,
		ClientHelloTime:  flows.Time(ch.Time),
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
	if sh := h.ServerHello; sh != nil && sh.Time >= ch.Time {
		r.ServerHelloMS = float64(sh.Time-ch.Time) / 1e6
	}
	if c.tcp != nil {
		r.RTTMS = float64(c.tcp.PathRTT()) / 1e6
		if at, n, wait := c.tcp.FirstData(flows.FromClient); at == ch.Time && n > 0 {
			r.HelloRetransmissions, r.HelloWaitMS = n, float64(wait)/1e6
		}
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
	case c.rstAt != 0 && c.rstAt >= ch.Time:
		// Reset after the ServerHello, before both sides encrypted: the
		// server did answer, so this is not a rejection of the hello.
		r.Outcome = "reset-after-server-hello"
		r.ResetBy = "server"
		if c.rstDir == flows.FromClient {
			r.ResetBy = "client"
		}
		r.EndFrame = c.rstFrame
	case captureEnded:
		r.Outcome = "incomplete"
	default:
		r.Outcome = "unknown"
	}
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
	// Before TLS 1.3 a client names only its highest version
	// (legacy_version); which older ones it would accept is not on the wire.
	return []string{tls.VersionName(ch.Version)}
}

// FlowEnd finishes the application state of a flow that left the table and
// returns what it learnt (application, SNI, HTTP host, timings) for the
// flow's record (Flow.Record); nil when no parser ran.
func (t *Tracker) FlowEnd(f *flows.Flow) *flows.AppInfo {
	switch a := f.App.(type) {
	case *conn:
		a.end = a.endReason(f.End.String())
		return t.finish(a, f.Last, f.End == flows.EndCapture)
	case *flows.AppInfo:
		return a
	}
	return nil
}

// endReason is how the connection ended: reset by one side when a RST
// came, else why (closed, capture-end, idle, ...).
func (c *conn) endReason(why string) string {
	switch {
	case c.rstAt == 0:
		return why
	case c.rstDir == flows.FromClient:
		return "reset by the client"
	}
	return "reset by the server"
}

// finish ends the application work of a connection: it hands the parsers
// what the reassembler still stores (nothing will fill the holes now), emits
// the TLS record and the HTTP transactions still open, keeps the few values
// the flow record needs, and drops the parsers and buffers. It runs when a
// TCP connection closes (FIN both ways, or RST) — the flow itself stays in
// the table for late packets (5 s after a FIN, 2 minutes after a reset:
// flows/timewait.go), and would otherwise hold a kilobyte of parser state
// meanwhile — or at the flow's end.
//
// What the flow record needs of a connection whose parsers are done stays
// (flows.AppInfo) until the flow leaves the table, not the parsers'
// half-kilobyte of state.
func (t *Tracker) finish(c *conn, last int64, captureEnded bool) *flows.AppInfo {
	if c.done {
		return c.sum
	}
	t.drain(c)
	c.done = true
	if c.frames != nil { // it had parsers (decide)
		t.parsers--
	}
	switch c.kind {
	case appTLS:
		if tr := c.tlsRecord(captureEnded); tr != nil {
			c.sni = tr.SNI
			if tr.Established {
				c.tlsMS = tr.HandshakeMS
			}
			if t.sinks.TLS != nil {
				t.sinks.TLS(tr)
			}
		}
	case appHTTP:
		c.httpC.Close()
	}
	sum := &flows.AppInfo{App: c.kind.String(), SNI: c.sni, TLSMS: c.tlsMS, SYNAt: c.synAt}
	if c.firstHTTP {
		sum.HTTPHost, sum.TTFBMS = c.firstHost, c.firstTTFB
	} else if c.reqAt != 0 && c.respAt != 0 {
		sum.TTFBMS = float64(c.respAt-c.reqAt) / 1e6
	}
	t.closeAsm(c)
	if c.frames != nil && len(t.freeFrames) < maxFreeFrames {
		t.freeFrames = append(t.freeFrames, c.frames)
	}
	c.tlsC, c.tlsS, c.httpC, c.frames = nil, nil, nil, nil
	c.dnsTCP = [2]*dns.TCPStream{}
	c.half = [2]half{}
	c.sum = sum
	return sum
}

// FlushDue says whether ten seconds of capture time have passed since the
// last FlushIdle.
func (t *Tracker) FlushDue() bool { return t.now-t.flushed >= int64(10*time.Second) }

// SetClock sets the tracker's capture clock (Config.ExternalClock).
func (t *Tracker) SetClock(now int64) { t.now = now }

// FlushIdle hands over data stored for two minutes of capture time, makes
// connections idle that long start again at their next new segments
// (pushIdle), and times out unanswered DNS queries.
// Packet calls it every ten seconds of capture time; with
// Config.ExternalClock the caller does.
func (t *Tracker) FlushIdle() {
	t.flushed = t.now
	t.pushIdle(t.now - int64(2*time.Minute))
	t.dns.Expire(t.now)
}

// Finish flushes everything at the end of the capture. Flows must have been
// ended (FlowEnd) first, so late DNS records still find their flow.
func (t *Tracker) Finish() {
	// Flows still being reassembled (FlowEnd not called): hand over what
	// they store and stop.
	for len(t.active) > 0 {
		c := t.active[len(t.active)-1]
		for d := range c.half {
			for i := 0; i < maxPushes && c.feeding; i++ {
				if !t.push(c, flows.Dir(d), live{}) {
					break
				}
			}
		}
		t.closeAsm(c)
	}
	// Queries whose timeout ran out before the capture's end are
	// unanswered; those still waiting when it ended may have been
	// answered after it (CaptureEnded). The DNS tracker's own clock is
	// the last DNS message's, not the capture's.
	t.dns.Expire(t.now)
	t.dns.Flush()
	st := t.dns.Stats()
	t.Stats.DNSOverflow = st.Overflow
}

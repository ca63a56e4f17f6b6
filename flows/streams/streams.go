// Package streams attaches the application parsers (flows/dns, flows/http,
// flows/tls) to the flows of the flow table and turns what they find into
// records (flows.DNSRecord, HTTPRecord, TLSRecord) and per-connection
// timings, in the same single pass over the packets.
//
// TCP payload is put back in order per direction by the reassembler in
// reasm.go, bounded in pages per connection and in total (Config). Only
// what the parsers need is reassembled: a connection is handed over once a
// payload segment looks like TLS, HTTP or DNS (by its first bytes, or port
// 53) — usually the first, but the first 16 are looked at, so TLS after a
// STARTTLS-like exchange (PostgreSQL, MySQL, SMTP) and HTTP in a capture
// that starts mid-body are found too. It stops being fed when its parsers
// are done (a TLS handshake that reached the encrypted phase). Pure ACKs
// are never fed. Segments in order go to the parsers as the capture holds
// them, without a copy; only segments ahead of a hole are stored, and of
// those only the bytes a parser will read (bodies, certificates and
// encrypted records are followed by their lengths). Bytes the capture lost
// are reported to the parsers as gaps (Gap/ClientGap), never glued over;
// holes that cannot fill (the tail of a segment the snapshot length cut,
// anything still missing when the flow ends) are skipped at once rather
// than waited for.
//
// The application state lives on the flow (flows.Flow.App), so the flow
// table (which splits a reused 4-tuple into a new flow, as Wireshark does,
// and keeps tunnels and VLANs apart) is the one authority on what a
// connection is. A Tracker shares nothing with other Trackers: each flow
// worker can have its own.
package streams

import (
	"bytes"
	"errors"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/dns"
	"github.com/pcapx/pcapx/flows/http"
	"github.com/pcapx/pcapx/flows/tls"
)

// Config bounds the reassembly and sets the DNS timeout.
type Config struct {
	// MaxPagesPerConn and MaxPagesTotal bound the out-of-order segments
	// stored (counted in pages of 1900 bytes, a segment taking at least
	// one, whether its bytes are kept or only its range). Defaults 256 per
	// connection (about 480 KB: a full window of a fast transfer behind one
	// hole) and 16384 per Tracker (about 30 MB); when a bound is hit the
	// reassembler stops waiting for the holes before the first stored
	// segments and the parsers see gaps (counted in Stats.Gaps).
	MaxPagesPerConn int
	MaxPagesTotal   int
	// MaxParsers bounds the connections whose application parsers (HTTP,
	// TLS, DNS over TCP, with their reassembly) are live at once (0: no
	// bound). Past it the parsing of the connection that started parsing
	// longest ago stops, as if it had closed: what it parsed is handed
	// over, the rest of it is not parsed (Stats.ParsersStopped).
	MaxParsers int
	// DNSTimeout: a query with no response after this much capture time is
	// unanswered. Default 5 s.
	DNSTimeout time.Duration
	// ExternalClock hands the capture clock to the caller: Packet does not
	// advance it or flush; the caller calls SetClock before each packet
	// and FlushIdle when due (analyze's workers share one clock, decided
	// by the reader, so that they flush at the same moments).
	ExternalClock bool
}

// DefaultMaxPagesTotal is Config.MaxPagesTotal's default.
const DefaultMaxPagesTotal = 16384

// Sinks receive the records as they complete. Any may be nil.
type Sinks struct {
	DNS  func(*flows.DNSRecord)
	HTTP func(*flows.HTTPRecord)
	TLS  func(*flows.TLSRecord)
	// NewDNS, NewHTTP and NewTLS, when set, give the memory for the next
	// record (which the tracker overwrites whole): a run reuses the
	// records its sinks are done with. Unset, each record is new.
	NewDNS  func() *flows.DNSRecord
	NewHTTP func() *flows.HTTPRecord
	NewTLS  func() *flows.TLSRecord
}

// record returns the memory for a new record: from alloc, or new.
func record[R any](alloc func() *R) *R {
	if alloc != nil {
		return alloc()
	}
	return new(R)
}

// Stats counts what the reassembly and parsers did.
type Stats struct {
	Reassembled int64 // TCP connections handed to the reassembler
	Segments    int64 // segments fed to the reassembler
	Gaps        int64 // holes reported to parsers (bytes never captured, or a bound hit)
	GapBytes    int64
	// BoundSkips counts the times a bound on the bytes held ahead of holes
	// (Config.MaxPagesPerConn, MaxPagesTotal) made the reassembly give up
	// waiting for a hole: what lay in it is never parsed.
	BoundSkips int64
	// ParsersStopped counts the connections whose parsing stopped early
	// for Config.MaxParsers.
	ParsersStopped int64
	// DNSMessages counts the messages handed to the transaction tracker;
	// DNSMalformed those that did not decode cleanly, whether still used
	// (damaged after the question) or not (header or question broken).
	DNSMessages  int64
	DNSMalformed int64
	DNSOverflow  int64 // queries dropped because too many were pending
	// Per-message counts (what tshark counts): DNS responses by their
	// 4-bit header rcode, HTTP responses (1xx included) by class, and TLS
	// ClientHello messages.
	DNSResponses [16]int64
	HTTPStatus   [6]int64 // index status/100; 0 unused
	ClientHellos int64
}

// Add adds o's counts to s (the trackers of several workers).
func (s *Stats) Add(o *Stats) {
	s.Reassembled += o.Reassembled
	s.Segments += o.Segments
	s.Gaps += o.Gaps
	s.GapBytes += o.GapBytes
	s.BoundSkips += o.BoundSkips
	s.ParsersStopped += o.ParsersStopped
	s.DNSMessages += o.DNSMessages
	s.DNSMalformed += o.DNSMalformed
	s.DNSOverflow += o.DNSOverflow
	for i := range s.DNSResponses {
		s.DNSResponses[i] += o.DNSResponses[i]
	}
	for i := range s.HTTPStatus {
		s.HTTPStatus[i] += o.HTTPStatus[i]
	}
	s.ClientHellos += o.ClientHellos
}

// Sub subtracts o's counts from s (what a tracker counted since o was
// copied from it).
func (s *Stats) Sub(o *Stats) {
	n := *o
	n.Reassembled, n.Segments, n.Gaps, n.GapBytes, n.BoundSkips, n.ParsersStopped = -n.Reassembled, -n.Segments, -n.Gaps, -n.GapBytes, -n.BoundSkips, -n.ParsersStopped
	n.DNSMessages, n.DNSMalformed, n.DNSOverflow, n.ClientHellos = -n.DNSMessages, -n.DNSMalformed, -n.DNSOverflow, -n.ClientHellos
	for i := range n.DNSResponses {
		n.DNSResponses[i] = -n.DNSResponses[i]
	}
	for i := range n.HTTPStatus {
		n.HTTPStatus[i] = -n.HTTPStatus[i]
	}
	s.Add(&n)
}

// Tracker is the application layer of one run. Not safe for concurrent
// use.
type Tracker struct {
	cfg   Config
	sinks Sinks
	dns   *dns.Tracker[*dnsFlow]
	// dnsFrames remembers the frame of each pending query, for evidence.
	dnsFrames map[dnsKey]flows.FrameRef
	// active lists the connections being reassembled (conn.activeIdx).
	active []*conn
	// parsing queues the connections given parsers, in that order
	// (finished ones are skipped when met); parsers counts those whose
	// parsers are live. For Config.MaxParsers.
	parsing []*conn
	parsers int
	// pages counts the pages (PageBytes) of the segments stored ahead of
	// their position, for Config.MaxPagesTotal.
	pages int
	// freeBufs and freeQs keep the buffers and queues of stored segments
	// for reuse (see reasm.go).
	freeBufs  [bufClasses][]*[]byte
	freeBytes int
	freeQs    [][]stored
	// skipMisses counts segments stored as ranges whose bytes the parser
	// wanted to read after all (never, if the parsers' Skippable is right).
	skipMisses int64
	// msg is reused for every DNS message.
	msg      dns.Message
	curFrame flows.FrameRef // frame of the DNS message being added
	// curMulticast: the DNS message being added was sent to a multicast
	// address (mDNS, LLMNR).
	curMulticast bool
	now          int64
	flushed      int64
	// freeFrames recycles the frame rings of finished connections (a
	// kilobyte each; records copy frames out of them, never point in).
	freeFrames []*[2]frameRing
	Stats      Stats
}

// maxFreeFrames bounds the recycled frame rings.
const maxFreeFrames = 1024

type dnsKey struct {
	c  *dnsFlow
	id uint16
}

// dnsFlow is what the DNS tracker needs of a flow. A UDP DNS flow carries
// only this (a few dozen bytes, where a TCP connection's state is half a
// kilobyte): resolvers see tens of thousands of them a minute.
type dnsFlow struct {
	ref flows.FlowRef
	// multicast: DNS to a multicast group (mDNS, LLMNR).
	multicast bool
}

// New returns a Tracker writing records to sinks.
func New(cfg Config, sinks Sinks) *Tracker {
	if cfg.MaxPagesPerConn <= 0 {
		cfg.MaxPagesPerConn = 256
	}
	if cfg.MaxPagesTotal <= 0 {
		cfg.MaxPagesTotal = DefaultMaxPagesTotal
	}
	if cfg.DNSTimeout <= 0 {
		cfg.DNSTimeout = 5 * time.Second
	}
	t := &Tracker{cfg: cfg, sinks: sinks, dnsFrames: map[dnsKey]flows.FrameRef{}}
	t.dns = dns.NewTracker[*dnsFlow](dns.TrackerConfig{Timeout: cfg.DNSTimeout}, t.dnsDone)
	return t
}

// conn is the application state of one flow.
type conn struct {
	t      *Tracker
	ref    flows.FlowRef
	refSet bool
	done   bool     // the flow ended: late data is ignored
	dnsf   *dnsFlow // DNS over TCP: the tracker's view of this connection

	kind    appKind
	decided bool
	sniffs  int  // payload segments looked at to decide
	feeding bool // handed to the reassembler, and the parsers want more
	asm     bool // being reassembled (in Tracker.active)
	half    [2]half
	// lastSeen is the time of the last segment fed, for the idle flush;
	// activeIdx the connection's index in Tracker.active.
	lastSeen  int64
	activeIdx int

	tlsC, tlsS *tls.Parser
	httpC      *http.Conn
	dnsTCP     [2]*dns.TCPStream

	// recent (time → frame) pairs of fed segments per direction, to name
	// the frames of parser events, which carry times.
	frames *[2]frameRing // allocated when the connection is parsed

	// TLS handshake bookkeeping from the TCP level.
	rstAt    int64
	rstDir   flows.Dir
	rstFrame flows.FrameRef
	finAt    int64
	finFrame flows.FrameRef

	// Timing: the client's first request bytes after setup and the
	// server's first bytes after that.
	reqAt, respAt int64
	// Filled by finish for the flow record.
	sni   string
	tlsMS float64
	sum   *flows.AppInfo
	synAt int64
	// The first HTTP exchange answered: its Host and time to first byte,
	// for the flow record.
	firstHTTP bool
	firstHost string
	firstTTFB float64
	// tcp is the flow's TCP analysis (nil for none), read for the path
	// round trip and retransmission waits of the records.
	tcp *flows.TCPFlow
	// end says how the connection ended, once it has: closed, reset by
	// the client or server, capture-end, idle, ... (flows.EndReason).
	end string
}

type appKind uint8

const (
	appNone appKind = iota
	appTLS
	appHTTP
	appDNS
)

func (k appKind) String() string {
	return [...]string{"", "tls", "http", "dns"}[k]
}

// frameRing maps capture times to the frames that brought the bytes fed
// at those times, for the evidence frames of records: the recent ones, and
// the first few of the direction (a TLS hello is looked up when the flow
// ends, possibly after many more deliveries).
type frameRing struct {
	ts     [16]int64
	fr     [16]flows.FrameRef
	next   int
	count  int
	firstT [4]int64
	firstF [4]flows.FrameRef
}

// add records that bytes captured (or made readable) at ts came in frame
// f. Bytes of one delivery share its time: only the first frame is kept,
// where a message starting in them begins.
func (r *frameRing) add(ts int64, f flows.FrameRef) {
	if last := (r.next + len(r.ts) - 1) % len(r.ts); r.count > 0 && r.ts[last] == ts {
		return
	}
	if r.count < len(r.firstT) {
		r.firstT[r.count], r.firstF[r.count] = ts, f
	}
	r.ts[r.next], r.fr[r.next] = ts, f
	r.next = (r.next + 1) % len(r.ts)
	r.count++
}

// find returns the frame fed at ts (the latest with that time).
func (r *frameRing) find(ts int64) flows.FrameRef {
	n := min(r.count, len(r.ts))
	for i := 1; i <= n; i++ {
		j := (r.next - i + len(r.ts)) % len(r.ts)
		if r.ts[j] == ts {
			return r.fr[j]
		}
	}
	for i := range min(r.count, len(r.firstT)) {
		if r.firstT[i] == ts {
			return r.firstF[i]
		}
	}
	return flows.FrameRef{}
}

func (t *Tracker) state(f *flows.Flow) *conn {
	if c, ok := f.App.(*conn); ok {
		return c
	}
	c := &conn{t: t, tcp: f.TCP, activeIdx: -1}
	f.App = c
	return c
}

func (c *conn) flowRef(f *flows.Flow) flows.FlowRef {
	if !c.refSet {
		c.ref, c.refSet = f.Ref(), true
	}
	return c.ref
}

// Packet hands one decoded packet (after the flow table processed it) to
// the application layer (TCP and UDP; other kinds are ignored).
func (t *Tracker) Packet(p *flows.Packet, f *flows.Flow, dir flows.Dir) {
	if !t.cfg.ExternalClock {
		t.now = max(t.now, p.Timestamp)
		if t.FlushDue() {
			t.FlushIdle()
		}
	}
	switch p.Proto {
	case flows.ProtoUDP:
		if isDNSPort(p.SrcPort) || isDNSPort(p.DstPort) {
			t.udpDNS(p, f)
		}
	case flows.ProtoTCP:
		if f.Continues {
			// Late packets of a connection whose record is written: what
			// they carry was parsed with the connection, or comes too
			// late to belong to an exchange (a request sent again would
			// be a second HTTP record).
			return
		}
		t.tcpPacket(p, f, dir)
	}
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

func (t *Tracker) udpDNS(p *flows.Packet, f *flows.Flow) {
	if len(p.Payload) < 4 {
		return // not even the id and flags
	}
	d, _ := f.App.(*dnsFlow)
	if d == nil {
		d = &dnsFlow{ref: f.Ref()}
		f.App = d
	}
	multicast := p.Dst.IsMulticast()
	d.multicast = d.multicast || multicast
	t.dnsMessage(d, p.Payload, p.Timestamp, flows.FrameRef{File: p.File, Frame: p.Frame}, multicast)
}

// dnsMessage decodes one DNS message of c (into the reused t.msg) and adds
// it to the transaction tracker, which copies what it keeps.
//
// A message damaged after its question (a record cut by the snap length
// or a lying count: ErrTruncated; an address record of the wrong size:
// ErrBadRdata; a bad name in a later record) still has a valid header and
// question, as the dns package documents, and is used; it is counted in
// DNSMalformed too. A message whose header or question did not decode is
// only counted.
func (t *Tracker) dnsMessage(c *dnsFlow, b []byte, ts int64, fr flows.FrameRef, multicast bool) {
	t.countDNS(b)
	m := &t.msg
	if err := m.Unpack(b); err != nil {
		t.Stats.DNSMalformed++
		if errors.Is(err, dns.ErrShortHeader) || !m.HasQuestion && m.QDCount != 0 {
			return
		}
	}
	t.Stats.DNSMessages++
	k := dnsKey{c, m.ID}
	if !m.Response {
		if _, ok := t.dnsFrames[k]; !ok && len(t.dnsFrames) < 1<<20 {
			t.dnsFrames[k] = fr
		}
	}
	t.curFrame, t.curMulticast = fr, multicast
	t.dns.Add(c, ts, m)
	t.curFrame, t.curMulticast = flows.FrameRef{}, false
}

// countDNS counts a response by its header alone, as tshark does: a
// response whose body is malformed, or that the snapshot length cut after
// its flags, is still a response with that rcode.
func (t *Tracker) countDNS(b []byte) {
	if len(b) >= 4 && b[2]&0x80 != 0 {
		t.Stats.DNSResponses[b[3]&0xf]++
	}
}

// dnsDone turns a finished transaction into a record.
func (t *Tracker) dnsDone(tx *dns.Transaction[*dnsFlow]) {
	k := dnsKey{tx.Flow, tx.ID}
	qf := t.dnsFrames[k]
	delete(t.dnsFrames, k)
	ref := tx.Flow.ref
	transport := ref.Proto
	if t.sinks.DNS == nil {
		return
	}
	if tx.NoQuery && t.curMulticast {
		// An mDNS/LLMNR announcement or multicast answer: no query on its
		// flow by design, so no transaction to report (it is still counted
		// in Stats.DNSResponses).
		return
	}
	if tx.Unanswered && tx.Flow.multicast {
		// A query to a multicast group (mDNS, LLMNR) is answered by
		// whoever knows, from its own address: never on the query's flow,
		// so "unanswered" would be wrong.
		return
	}
	r := record(t.sinks.NewDNS)
	*r = flows.DNSRecord{
		FlowRef:         ref,
		Transport:       transport,
		QueryNS:         tx.QueryTime,
		ResponseNS:      tx.ResponseTime,
		LatencyMS:       float64(tx.Latency) / 1e6,
		ID:              tx.ID,
		Opcode:          dns.OpcodeName(tx.Opcode),
		RD:              tx.RD,
		QName:           tx.QName,
		QType:           dns.TypeName(tx.QType),
		Rcode:           tx.Rcode,
		RcodeName:       tx.RcodeName,
		Answers:         tx.Answers,
		AnswerAddrs:     make([]string, 0, len(tx.AnswerAddrs)),
		TC:              tx.TC,
		Unanswered:      tx.Unanswered,
		CaptureEnded:    tx.CaptureEnded,
		Retransmissions: tx.Retransmissions,
		QueryFrame:      qf,
	}
	if tx.QueryTime != 0 {
		r.QueryTime = flows.Time(tx.QueryTime)
	}
	if tx.Retransmissions > 0 && tx.QueryTime != 0 && tx.LastQueryTime > tx.QueryTime {
		r.RetransmitWaitMS = float64(tx.LastQueryTime-tx.QueryTime) / 1e6
	}
	if tx.Unanswered {
		r.Rcode = -1
	} else {
		r.ResponseTime = flows.Time(tx.ResponseTime)
		r.ResponseFrame = t.curFrame
	}
	for _, a := range tx.AnswerAddrs {
		r.AnswerAddrs = append(r.AnswerAddrs, a.String())
	}
	t.sinks.DNS(r)
}

// sniff decides what a TCP connection carries from a payload segment. The
// first payload of a connection decides on a TLS handshake record, an HTTP
// request (from the client) or response (the capture started after the
// request). Later segments are looked at while nothing was found, for TLS
// after a STARTTLS-like exchange (PostgreSQL's SSLRequest, MySQL's SSL
// request, SMTP's STARTTLS) and HTTP after a capture started mid-body;
// there only a ClientHello record or a full request line counts, since a
// stream's middle can hold anything. An SSLv2-compatible ClientHello (old
// clients, scanners) counts only as the first payload, where the parser
// reads it; its first bytes are checked to the lengths, being weaker than a
// TLS record header.
func sniff(b []byte, dir flows.Dir, sport, dport uint16, later bool) appKind {
	if sport == 53 || dport == 53 {
		return appDNS
	}
	if len(b) >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04 {
		if !later || len(b) >= 6 && b[5] == 1 {
			return appTLS
		}
	}
	if !later && tls.LooksLikeSSLv2ClientHello(b) {
		return appTLS
	}
	if later {
		if looksLikeHTTPRequest(b) && requestLine(b) {
			return appHTTP
		}
		return appNone
	}
	if dir == flows.FromClient && (looksLikeHTTPRequest(b) || otherMethod(b) && requestLine(b)) {
		return appHTTP
	}
	if bytes.HasPrefix(b, []byte("HTTP/1.")) {
		return appHTTP // capture started after the request
	}
	return appNone
}

// requestLine says whether b's first line ends in an HTTP/1.x version, or
// b is long and holds no line end (a long target split over segments).
func requestLine(b []byte) bool {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return len(b) >= 512 // a long target split over segments
	}
	line := bytes.TrimSuffix(b[:i], []byte("\r"))
	return len(line) > 9 && bytes.HasPrefix(line[len(line)-9:], []byte(" HTTP/1."))
}

var httpMethods = [][]byte{[]byte("GET "), []byte("POST "), []byte("HEAD "), []byte("PUT "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE ")}

// otherMethod says whether b starts with a method token other than the
// common ones (WebDAV's PROPFIND, UPnP's SUBSCRIBE...) and a space.
func otherMethod(b []byte) bool {
	for i, c := range b {
		switch {
		case c == ' ':
			return i > 0
		case i >= 20 || (c < 'A' || c > 'Z') && c != '-' && c != '_':
			return false
		}
	}
	return false
}

func looksLikeHTTPRequest(b []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}

// Package streams attaches the application parsers (flows/dns, flows/http,
// flows/tls) to the flows of the flow table and turns what they find into
// records (flows.DNSRecord, HTTPRecord, TLSRecord) and per-connection
// timings, in the same single pass over the packets.
//
// TCP payload is put back in order by gopacket's reassembly package, bounded
// in pages per connection and in total (Config), flushed by capture time.
// Only what the parsers need is reassembled: a connection is handed to the
// assembler from its first payload on, and only once it looks like TLS, HTTP
// or DNS (by its first bytes, or port 53); it stops being fed when its
// parsers are done (a TLS handshake that reached the encrypted phase). Pure
// ACKs never reach the assembler. Bytes the capture lost are reported to the
// parsers as gaps (Gap/ClientGap), never glued over.
//
// The gopacket Stream objects are thin shims: the application state lives
// on the flow (flows.Flow.App), and each packet's Accept points its shim at
// the current flow's state. That keeps the flow table (which splits a reused
// 4-tuple into a new flow, as Wireshark does) the one authority on what a
// connection is, whatever the assembler thinks.
package streams

import (
	"bytes"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/reassembly"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/flows/dns"
	"github.com/pcapx/pcapx/flows/http"
	"github.com/pcapx/pcapx/flows/tls"
)

// Config bounds the reassembly and sets the DNS timeout.
type Config struct {
	// MaxPagesPerConn and MaxPagesTotal bound the out-of-order data kept
	// (pages of 1900 bytes). Defaults 64 per connection (about 120 KB) and
	// 16384 in total (about 30 MB); when a bound is hit the assembler skips
	// ahead and the parsers see a gap (counted in Stats.Gaps).
	MaxPagesPerConn int
	MaxPagesTotal   int
	// DNSTimeout: a query with no response after this much capture time is
	// unanswered. Default 5 s.
	DNSTimeout time.Duration
}

// Sinks receive the records as they complete. Any may be nil.
type Sinks struct {
	DNS  func(*flows.DNSRecord)
	HTTP func(*flows.HTTPRecord)
	TLS  func(*flows.TLSRecord)
}

// Stats counts what the reassembly and parsers did.
type Stats struct {
	Reassembled  int64 // TCP connections handed to the assembler
	Segments     int64 // segments fed to the assembler
	Gaps         int64 // holes reported to parsers (bytes never captured, or a bound hit)
	GapBytes     int64
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

// Tracker is the application layer of one run. Not safe for concurrent
// use.
type Tracker struct {
	cfg   Config
	sinks Sinks
	asm   *reassembly.Assembler
	dns   *dns.Tracker[*conn]
	// dnsFrames remembers the frame of each pending query, for evidence.
	dnsFrames map[dnsKey]flows.FrameRef
	// answers maps an address to the DNS answer that gave it, for the
	// connection timing's lookup phase.
	answers  map[netip.Addr]dnsAnswer
	ctx      asmContext
	curFrame flows.FrameRef // frame of the DNS message being added
	now      int64
	flushed  int64
	Stats    Stats
}

type dnsKey struct {
	c  *conn
	id uint16
}

type dnsAnswer struct {
	at      int64 // response time
	latency int64
}

// maxAnswers bounds the address → DNS answer map used for timings.
const maxAnswers = 100_000

// New returns a Tracker writing records to sinks.
func New(cfg Config, sinks Sinks) *Tracker {
	if cfg.MaxPagesPerConn <= 0 {
		cfg.MaxPagesPerConn = 64
	}
	if cfg.MaxPagesTotal <= 0 {
		cfg.MaxPagesTotal = 16384
	}
	if cfg.DNSTimeout <= 0 {
		cfg.DNSTimeout = 5 * time.Second
	}
	t := &Tracker{cfg: cfg, sinks: sinks, dnsFrames: map[dnsKey]flows.FrameRef{}, answers: map[netip.Addr]dnsAnswer{}}
	pool := reassembly.NewStreamPool(&factory{t: t})
	t.asm = reassembly.NewAssembler(pool)
	t.asm.MaxBufferedPagesPerConnection = cfg.MaxPagesPerConn
	t.asm.MaxBufferedPagesTotal = cfg.MaxPagesTotal
	t.dns = dns.NewTracker[*conn](dns.TrackerConfig{Timeout: cfg.DNSTimeout}, t.dnsDone)
	return t
}

// conn is the application state of one flow.
type conn struct {
	t      *Tracker
	ref    flows.FlowRef
	refSet bool
	done   bool // the flow ended: late data is ignored

	kind    appKind
	decided bool
	feeding bool // handed to the assembler
	// gopacket's notion of direction for this connection versus ours.
	gpFlip bool

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
	firstHTTP     *flows.HTTPRecord
	synAt         int64
	dnsLookup     int64 // ns; -1 when no lookup for the server was captured
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

type frameRing struct {
	ts    [16]int64
	fr    [16]flows.FrameRef
	next  int
	count int
}

func (r *frameRing) add(ts int64, f flows.FrameRef) {
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
	return flows.FrameRef{}
}

func (t *Tracker) state(f *flows.Flow) *conn {
	if c, ok := f.App.(*conn); ok {
		return c
	}
	c := &conn{t: t, dnsLookup: -1}
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
// the application layer. tcp is the decoder's TCP layer for KindTCP.
func (t *Tracker) Packet(p *flows.Packet, f *flows.Flow, dir flows.Dir, tcp *layers.TCP) {
	t.now = max(t.now, p.Timestamp)
	if t.now-t.flushed >= int64(10*time.Second) {
		t.flush()
	}
	switch p.Proto {
	case flows.ProtoUDP:
		if isDNSPort(p.SrcPort) || isDNSPort(p.DstPort) {
			t.udpDNS(p, f)
		}
	case flows.ProtoTCP:
		t.tcpPacket(p, f, dir, tcp)
	}
}

func isDNSPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

func (t *Tracker) udpDNS(p *flows.Packet, f *flows.Flow) {
	if len(p.Payload) < 12 {
		return
	}
	t.countDNS(p.Payload)
	m, err := dns.Parse(p.Payload)
	if err != nil {
		t.Stats.DNSMalformed++
		return
	}
	t.Stats.DNSMessages++
	c := t.state(f)
	c.flowRef(f)
	t.dnsMessage(c, m, p.Timestamp, flows.FrameRef{File: p.File, Frame: p.Frame})
}

func (t *Tracker) dnsMessage(c *conn, m *dns.Message, ts int64, fr flows.FrameRef) {
	k := dnsKey{c, m.ID}
	if !m.Response {
		if _, ok := t.dnsFrames[k]; !ok && len(t.dnsFrames) < 1<<20 {
			t.dnsFrames[k] = fr
		}
	}
	t.curFrame = fr
	t.dns.Add(c, ts, m)
	t.curFrame = flows.FrameRef{}
}

// countDNS counts a response by its header alone, as tshark does: a
// response whose body is malformed is still a response with that rcode.
func (t *Tracker) countDNS(b []byte) {
	if len(b) >= 12 && b[2]&0x80 != 0 {
		t.Stats.DNSResponses[b[3]&0xf]++
	}
}

// dnsDone turns a finished transaction into a record.
func (t *Tracker) dnsDone(tx *dns.Transaction[*conn]) {
	k := dnsKey{tx.Flow, tx.ID}
	qf := t.dnsFrames[k]
	delete(t.dnsFrames, k)
	ref := tx.Flow.ref
	transport := ref.Proto
	if !tx.Unanswered && tx.Latency > 0 {
		for _, a := range tx.AnswerAddrs {
			if len(t.answers) >= maxAnswers {
				clear(t.answers)
			}
			t.answers[a] = dnsAnswer{at: tx.ResponseTime, latency: int64(tx.Latency)}
		}
	}
	if t.sinks.DNS == nil {
		return
	}
	r := &flows.DNSRecord{
		FlowRef:         ref,
		Transport:       transport,
		QueryNS:         tx.QueryTime,
		ResponseNS:      tx.ResponseTime,
		LatencyMS:       float64(tx.Latency) / 1e6,
		ID:              tx.ID,
		QName:           tx.QName,
		QType:           dns.TypeName(tx.QType),
		Rcode:           tx.Rcode,
		RcodeName:       tx.RcodeName,
		Answers:         tx.Answers,
		AnswerAddrs:     make([]string, 0, len(tx.AnswerAddrs)),
		TC:              tx.TC,
		Unanswered:      tx.Unanswered,
		Retransmissions: tx.Retransmissions,
		QueryFrame:      qf,
	}
	if tx.QueryTime != 0 {
		r.QueryTime = flows.FormatTime(tx.QueryTime)
	}
	if tx.Unanswered {
		r.Rcode = -1
	} else {
		r.ResponseTime = flows.FormatTime(tx.ResponseTime)
		r.ResponseFrame = t.curFrame
	}
	for _, a := range tx.AnswerAddrs {
		r.AnswerAddrs = append(r.AnswerAddrs, a.String())
	}
	t.sinks.DNS(r)
}

// sniff decides what a TCP connection carries from its first payload.
func sniff(b []byte, dir flows.Dir, sport, dport uint16) appKind {
	if sport == 53 || dport == 53 {
		return appDNS
	}
	if len(b) >= 3 && b[0] == 0x16 && b[1] == 0x03 && b[2] <= 0x04 {
		return appTLS
	}
	if dir == flows.FromClient && looksLikeHTTPRequest(b) {
		return appHTTP
	}
	if bytes.HasPrefix(b, []byte("HTTP/1.")) {
		return appHTTP // capture started after the request
	}
	return appNone
}

var httpMethods = [][]byte{[]byte("GET "), []byte("POST "), []byte("HEAD "), []byte("PUT "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("PATCH "), []byte("CONNECT "), []byte("TRACE ")}

func looksLikeHTTPRequest(b []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(b, m) {
			return true
		}
	}
	return false
}

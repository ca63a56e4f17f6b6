package flows

import (
	"fmt"
	"net/netip"
)

// This file holds the application-layer records (DNS, HTTP, TLS) as plain
// values. The parsers that fill them live in flows/dns, flows/http and
// flows/tls and the glue in flows/streams; keeping the records here lets
// rules and report use them without depending on any parser.

// FlowRef names the flow a record belongs to, client → server, so records
// join with the flows table (and with Zeek/Suricata logs) on community_id.
type FlowRef struct {
	CommunityID string `json:"community_id"`
	Proto       string `json:"proto"`
	SrcAddr     string `json:"src_addr"`
	SrcPort     uint16 `json:"src_port"`
	DstAddr     string `json:"dst_addr"`
	DstPort     uint16 `json:"dst_port"`
	Stream      int64  `json:"stream"` // TCP: tcp.stream; -1 otherwise
}

// Ref describes the flow for a record.
func (f *Flow) Ref() FlowRef {
	f.strings()
	return FlowRef{
		CommunityID: f.CommunityID(),
		Proto:       ProtoName(f.Key.Proto),
		SrcAddr:     f.src,
		SrcPort:     f.Client.Port,
		DstAddr:     f.dst,
		DstPort:     f.Server.Port,
		Stream:      f.Stream,
	}
}

// Ref describes the flow of a finished flow record.
func (r *Record) Ref() FlowRef {
	return FlowRef{CommunityID: r.CommunityID, Proto: r.Proto, SrcAddr: r.SrcAddr, SrcPort: r.SrcPort, DstAddr: r.DstAddr, DstPort: r.DstPort, Stream: r.Stream}
}

// DisplayFilter is a Wireshark display filter matching the flow's packets.
// It names addresses and ports rather than tcp.stream, because stream
// numbers restart in every file while a pcapx run may span many.
func (r FlowRef) DisplayFilter() string {
	ipf := "ip.addr"
	if a, err := netip.ParseAddr(r.SrcAddr); err == nil && a.Is6() && !a.Is4In6() {
		ipf = "ipv6.addr"
	}
	switch r.Proto {
	case "tcp", "udp", "sctp":
		return fmt.Sprintf("%s == %s && %s == %s && %s.port == %d && %s.port == %d",
			ipf, r.SrcAddr, ipf, r.DstAddr, r.Proto, r.SrcPort, r.Proto, r.DstPort)
	}
	return fmt.Sprintf("%s == %s && %s == %s", ipf, r.SrcAddr, ipf, r.DstAddr)
}

// DNSRecord is one DNS transaction: a query and its response, or a query
// that got none.
type DNSRecord struct {
	FlowRef
	Transport    string  `json:"transport"` // udp or tcp
	QueryTime    Time    `json:"query_time"`
	ResponseTime Time    `json:"response_time,omitempty"`
	QueryNS      int64   `json:"-"`
	ResponseNS   int64   `json:"-"`
	LatencyMS    float64 `json:"latency_ms"`
	ID           uint16  `json:"id"`
	// Opcode is the message's kind: QUERY, or NOTIFY, UPDATE (whose
	// question is the zone, type SOA), ... (dns.OpcodeName). RD is the
	// query's recursion-desired bit: false for a resolver asking an
	// authoritative server, or a dynamic update.
	Opcode      string   `json:"opcode"`
	RD          bool     `json:"rd"`
	QName       string   `json:"qname"`
	QType       string   `json:"qtype"`
	Rcode       int      `json:"rcode"` // full rcode (header + EDNS extension); -1 when unanswered
	RcodeName   string   `json:"rcode_name"`
	Answers     int      `json:"answers"`
	AnswerAddrs []string `json:"answer_addrs"`
	TC          bool     `json:"tc"`
	Unanswered  bool     `json:"unanswered"`
	// CaptureEnded qualifies Unanswered: the capture ended less than the
	// timeout after the last query, so the answer may just not be in it.
	CaptureEnded    bool `json:"capture_ended,omitempty"`
	Retransmissions int  `json:"retransmissions"` // the query was sent again before an answer
	// RetransmitWaitMS is the first query → its last retransmission: the
	// part of the latency the client spent waiting to try again.
	RetransmitWaitMS float64  `json:"retransmit_wait_ms"`
	QueryFrame       FrameRef `json:"-"`
	ResponseFrame    FrameRef `json:"-"`
}

// HTTPRecord is one HTTP/1.x request and its response.
type HTTPRecord struct {
	FlowRef
	RequestTime   Time    `json:"request_time"`
	RequestNS     int64   `json:"-"`
	Method        string  `json:"method"`
	Host          string  `json:"host"`
	Target        string  `json:"target"`
	UserAgent     string  `json:"user_agent"`
	Version       string  `json:"version"`
	Status        int     `json:"status"` // 0 when no response was seen
	Reason        string  `json:"reason"`
	ResponseBytes int64   `json:"response_bytes"` // body bytes
	TTFBMS        float64 `json:"ttfb_ms"`        // request → first response byte
	RTTMS         float64 `json:"rtt_ms"`         // the connection's path round trip (0 when unknown)
	TotalMS       float64 `json:"total_ms"`       // request → end of response
	Complete      bool    `json:"complete"`
	// ContentLength is the length the response announced (-1 when it
	// announced none, or there was no response); Chunked: its body was
	// chunked. With Complete false they say how much was missing.
	ContentLength int64 `json:"content_length"`
	Chunked       bool  `json:"chunked"`
	// ConnEnd is how the connection ended when it cut this exchange short
	// ("" when the exchange completed or is still open): closed, reset by
	// the client or server, capture-end, idle, evicted.
	ConnEnd string `json:"-"`
	// Gap: bytes of this exchange were never captured (or a reassembly
	// bound dropped them), so its byte count is short or its pairing with
	// the response uncertain. Counted, never silently glued over.
	Gap           bool     `json:"gap"`
	RequestFrame  FrameRef `json:"-"`
	ResponseFrame FrameRef `json:"-"`
}

// TLSRecord is one TLS handshake: what the client offered, what the server
// chose, and how it ended.
type TLSRecord struct {
	FlowRef
	ClientHelloTime Time     `json:"client_hello_time"`
	ClientHelloNS   int64    `json:"-"`
	SNI             string   `json:"sni"`
	ALPN            []string `json:"alpn"`
	OfferedVersions []string `json:"offered_versions"`
	Version         string   `json:"version"` // negotiated; "" without a ServerHello
	Cipher          string   `json:"cipher"`
	JA3             string   `json:"ja3"`
	JA3Hash         string   `json:"ja3_hash"`
	JA4             string   `json:"ja4"`
	ServerHello     bool     `json:"server_hello"`
	Established     bool     `json:"established"`
	HandshakeMS     float64  `json:"handshake_ms"`
	// The parts of the handshake time: ClientHello → ServerHello, the
	// connection's path round trip, and the ClientHello sent again.
	ServerHelloMS        float64 `json:"server_hello_ms"`
	RTTMS                float64 `json:"rtt_ms"`
	HelloRetransmissions int     `json:"hello_retransmissions"`
	HelloWaitMS          float64 `json:"hello_wait_ms"`
	AlertLevel           string  `json:"alert_level,omitempty"`
	Alert                string  `json:"alert,omitempty"`
	AlertFrom            string  `json:"alert_from,omitempty"` // client or server
	// Outcome in a word: established, rejected-reset, rejected-alert,
	// rejected-close, incomplete (capture ended first), or unknown.
	Outcome          string   `json:"outcome"`
	ResetBy          string   `json:"reset_by,omitempty"` // who sent a RST during the handshake
	ClientHelloFrame FrameRef `json:"-"`
	EndFrame         FrameRef `json:"-"`
}

// FrameRefs is a short list of frames kept as evidence.
type FrameRefs []FrameRef

// maxEvidence is how many frames of each kind a flow keeps as evidence.
const maxEvidence = 5

func (e *FrameRefs) add(r FrameRef) {
	if len(*e) < maxEvidence {
		*e = append(*e, r)
	}
}

// TCPEvidence keeps the first few frames of each problem in a flow, so a
// finding can say where to look. It is allocated only for flows that have a
// problem.
type TCPEvidence struct {
	Retransmissions FrameRefs
	ZeroWindows     FrameRefs
	DuplicateAcks   FrameRefs
	LostSegments    FrameRefs
	Resets          FrameRefs
	FirstProblem    int64 // capture time of the first problem frame
	LastProblem     int64
}

package flows

import (
	"strconv"
	"time"
)

// Record is the flat, self-contained description of one finished flow: what
// `--format json` prints per flow and what the Parquet flows table will hold.
// The JSON names are a contract (docs/json.md): CI jobs and scripts read them.
// Addresses are client → server (Zeek's orig → resp).
type Record struct {
	CommunityID   string `json:"community_id"`
	Proto         string `json:"proto"`
	SrcAddr       string `json:"src_addr"`
	SrcPort       uint16 `json:"src_port"`
	DstAddr       string `json:"dst_addr"`
	DstPort       uint16 `json:"dst_port"`
	VLAN          uint16 `json:"vlan,omitempty"`      // client → server VLAN id
	RespVLAN      uint16 `json:"resp_vlan,omitempty"` // server → client VLAN id, when it differs
	Tunnel        string `json:"tunnel,omitempty"`
	Stream        int64  `json:"stream"` // TCP: Wireshark's tcp.stream; -1 otherwise
	ClientGuessed bool   `json:"client_guessed"`
	// Continues: TCP packets of a closed connection that came after its
	// record was written (its close delay was over); the connection's
	// first record has the same stream (docs/architecture.md#flows-flows).
	Continues   bool    `json:"continues,omitempty"`
	State       string  `json:"state"`   // Zeek conn_state
	History     string  `json:"history"` // Zeek history
	First       Time    `json:"first"`   // RFC 3339, ns, UTC
	Last        Time    `json:"last"`
	FirstNS     int64   `json:"-"`
	LastNS      int64   `json:"-"`
	Duration    float64 `json:"duration_s"`
	OrigPackets int64   `json:"orig_packets"`
	OrigBytes   int64   `json:"orig_bytes"` // IP bytes, client → server
	OrigPayload int64   `json:"orig_payload_bytes"`
	RespPackets int64   `json:"resp_packets"`
	RespBytes   int64   `json:"resp_bytes"`
	RespPayload int64   `json:"resp_payload_bytes"`
	FirstFile   int     `json:"first_file"`
	FirstFrame  int64   `json:"first_frame"`
	End         string  `json:"end_reason"`

	// TCP only (zero otherwise).
	SYNToSYNACK  float64 `json:"syn_synack_ms"` // handshake: SYN → SYN-ACK
	SYNACKToACK  float64 `json:"synack_ack_ms"` // handshake: SYN-ACK → ACK
	HandshakeRTT float64 `json:"handshake_rtt_ms"`
	// Path round trip and the handshake's losses, which tell a long path
	// from a lost SYN or a slow server (docs/json.md).
	RTTMS                 float64 `json:"rtt_ms"`
	SYNRetransmissions    int64   `json:"syn_retransmissions"`
	SYNACKRetransmissions int64   `json:"synack_retransmissions"`
	HandshakeWaitMS       float64 `json:"handshake_wait_ms"`
	// The longest time one side's data waited for an acknowledgement
	// that did not come (not while the receiver advertised a zero window).
	StallMS        float64 `json:"stall_ms"`
	StallBy        string  `json:"stall_by,omitempty"` // whose data waited: client or server
	CaptureSide    string  `json:"capture_side,omitempty"`
	ClientMSS      uint16  `json:"client_mss,omitempty"`
	ServerMSS      uint16  `json:"server_mss,omitempty"`
	ClientWScale   int8    `json:"client_wscale"`
	ServerWScale   int8    `json:"server_wscale"`
	SACKPermitted  bool    `json:"sack_permitted"`
	ZeroWindowTime float64 `json:"zero_window_ms"`           // total time either side advertised a zero window
	ZeroWindowBy   string  `json:"zero_window_by,omitempty"` // client, server or both
	TCPCounts

	// Application layer (filled by flows/streams at the flow's end).
	App      string `json:"app,omitempty"` // tls, http, dns (what the payload was parsed as)
	SNI      string `json:"sni,omitempty"`
	HTTPHost string `json:"http_host,omitempty"`
	// Timing breakdown in the manner of curl -w, in ms (0 when not seen):
	// dns: the lookup that answered the server's address (when the
	// capture holds it); connect: the TCP handshake; tls: the TLS
	// handshake; ttfb: the first request bytes to the first response
	// bytes; total: the first SYN (or packet) to the last packet.
	DNSMS float64 `json:"dns_ms"`
	// TimingStartNS is when the timed connection started (its first SYN,
	// else its first packet; 0 when its payload was never looked at): the
	// DNS lookup that counts for DNSMS is the one answered before it.
	TimingStartNS int64   `json:"-"`
	ConnectMS     float64 `json:"connect_ms"`
	TLSMS         float64 `json:"tls_ms"`
	TTFBMS        float64 `json:"ttfb_ms"`
	TotalMS       float64 `json:"total_ms"`

	// Evidence: first frames of each TCP problem (nil for a clean flow).
	Evidence *TCPEvidence `json:"-"`
	// PMTU: what the segment sizes and ICMP errors say about the path MTU
	// (nil when nothing), for the pmtu-* rules.
	PMTU *PMTU `json:"-"`
	// Stall and Reset detail the longest wait (zero when none) and the
	// first RST (nil when none), for tcp-stall and tcp-reset-midstream.
	Stall Stall  `json:"-"`
	Reset *Reset `json:"-"`
	// Capture-quality facts, for the capture-* rules: the bytes the hosts
	// acknowledged and those of them the capture never saw (Zeek's
	// capture_loss measure), the largest segment above the MSS (segmentation
	// offload at the capture point; 0 when none), and a TCP connection
	// whose handshake was not captured.
	AckedBytes, UnseenBytes int64 `json:"-"`
	// RetransmissionCopies: of the retransmissions, those that were a data
	// segment, a FIN or a SYN captured twice, not sent again
	// (flows/copies.go); DuplicateAckCopies: of the duplicate ACKs, an ACK
	// captured again. Present in JSON when not 0.
	RetransmissionCopies int64 `json:"retransmission_copies,omitempty"`
	// NotResent: of the retransmissions, those that sent no data sent
	// before: zero bytes of padding on ACKs (IsPadding), or new data on
	// the sequence numbers padding took first. For the rules only.
	NotResent int64 `json:"-"`
	// FINResends: of the retransmissions, FINs without data sent again (a
	// lost FIN or its lost ACK: the close, not the transfer). For the
	// rules only.
	FINResends         int64    `json:"-"`
	DuplicateAckCopies int64    `json:"duplicate_ack_copies,omitempty"`
	OffloadSeg         int      `json:"-"`
	OffloadFrame       FrameRef `json:"-"` // the first segment of OffloadSeg's size
	OffloadMSS         int      `json:"-"` // the MSS it passed
	ChecksumOffload    string   `json:"-"` // the side whose segments all carry the NIC's unfilled checksum
	MidStream          bool     `json:"-"`
	// Reuse: the earlier connection on this 4-tuple that the SYN met (nil
	// when none is known), for tcp-port-reuse.
	Reuse *PortReuse `json:"-"`
}

// Resends is the retransmissions a host sent: Wireshark's count less the
// segments the capture holds twice.
func (r *Record) Resends() int64 { return r.Retransmissions - r.RetransmissionCopies }

// SentDuplicateAcks is the duplicate ACKs the receiver sent: Wireshark's
// count less the ACKs the capture holds twice.
func (r *Record) SentDuplicateAcks() int64 { return r.DuplicateAcks - r.DuplicateAckCopies }

// AppInfo is what a flow's application parsers learnt, for its record
// (flows/streams makes it): the app, sni and http_host fields and the
// connection's timing phases (docs/json.md).
type AppInfo struct {
	App           string // tls, http, dns: what the payload was parsed as
	SNI, HTTPHost string
	TLSMS, TTFBMS float64
	SYNAt         int64 // when the timed connection started (its first SYN)
}

// Record describes the flow, with what its application parsers learnt (app;
// nil when none ran). Call it before the flow is recycled (in OnEnd). It is
// the record's one author; a sharded run then sets the two fields only the
// whole run knows (docs/architecture.md): the run's tcp.stream numbers and
// dns_ms.
func (f *Flow) Record(app *AppInfo) Record {
	f.strings()
	r := Record{
		CommunityID:   f.CommunityID(),
		Proto:         ProtoName(f.Key.Proto),
		SrcAddr:       f.src,
		SrcPort:       f.Client.Port,
		DstAddr:       f.dst,
		DstPort:       f.Server.Port,
		VLAN:          f.VLAN[FromClient],
		Stream:        f.Stream,
		ClientGuessed: f.ClientGuessed,
		Continues:     f.Continues,
		State:         f.ConnState(),
		History:       f.HistoryString(),
		First:         Time(f.First),
		Last:          Time(f.Last),
		FirstNS:       f.First,
		LastNS:        f.Last,
		Duration:      float64(f.Duration()) / 1e9,
		OrigPackets:   f.Dir[FromClient].Packets,
		OrigBytes:     f.Dir[FromClient].Bytes,
		OrigPayload:   f.Dir[FromClient].Payload,
		RespPackets:   f.Dir[FromServer].Packets,
		RespBytes:     f.Dir[FromServer].Bytes,
		RespPayload:   f.Dir[FromServer].Payload,
		FirstFile:     f.FirstFrame.File,
		FirstFrame:    f.FirstFrame.Frame,
		End:           f.End.String(),
		ClientWScale:  -1,
		ServerWScale:  -1,
	}
	if f.Dir[FromClient].Packets == 0 {
		r.VLAN = f.VLAN[FromServer]
	} else if f.Dir[FromServer].Packets > 0 && f.VLAN[FromServer] != f.VLAN[FromClient] {
		r.RespVLAN = f.VLAN[FromServer]
	}
	if f.Key.Tunnel != 0 {
		switch f.Key.Tunnel >> 24 {
		case 1:
			r.Tunnel = "vxlan:" + strconv.Itoa(int(f.Key.Tunnel&0xffffff))
		case 2:
			r.Tunnel = "gre:" + strconv.Itoa(int(f.Key.Tunnel&0xffffff))
		}
	}
	if t := f.TCP; t != nil {
		a, b := t.HandshakeRTT()
		r.SYNToSYNACK, r.SYNACKToACK = ms(a), ms(b)
		if a > 0 && b > 0 {
			r.HandshakeRTT = ms(a + b)
		}
		r.CaptureSide = t.Side.String()
		r.RTTMS = ms(t.PathRTT())
		r.SYNRetransmissions, r.SYNACKRetransmissions = t.SYNRetransmissions(), t.SYNACKRetransmissions()
		r.HandshakeWaitMS = ms(t.HandshakeWait())
		r.PMTU = t.PMTU(f.Last)
		if s, ok := t.LongestStall(f.Last); ok {
			r.Stall = s
			r.StallMS, r.StallBy = ms(s.NS()), s.Dir.Side()
		}
		if x := t.x; x != nil {
			if x.rstSet {
				rst := x.rst
				r.Reset = &rst
			}
			r.AckedBytes, r.UnseenBytes = x.ackedBytes, min(x.unseenBytes, x.ackedBytes)
			r.RetransmissionCopies = x.copies
		}
		r.OffloadSeg, r.OffloadFrame, r.OffloadMSS = t.offloadSeg()
		r.DuplicateAckCopies = t.DuplicateAckCopies
		r.RetransmissionCopies += t.SYNCopies
		r.NotResent, r.FINResends = t.NotResent, t.FINResends
		r.ChecksumOffload = t.ChecksumOffload()
		r.MidStream = t.SYNTime == 0 && t.SYNACKTime == 0
		r.ClientMSS, r.ServerMSS = t.MSS(FromClient), t.MSS(FromServer)
		r.ClientWScale, r.ServerWScale = t.WindowScale(FromClient), t.WindowScale(FromServer)
		r.SACKPermitted = t.SACKPermitted(FromClient) && t.SACKPermitted(FromServer)
		r.ZeroWindowTime = ms(t.ZeroWindowTime(FromClient) + t.ZeroWindowTime(FromServer))
		r.ZeroWindowBy = t.ZeroWindowBy()
		r.TCPCounts = t.Counts
		r.Evidence = t.Evidence
		r.Reuse = t.portReuse()
	}
	if app != nil {
		r.App, r.SNI, r.HTTPHost, r.TLSMS = app.App, app.SNI, app.HTTPHost, app.TLSMS
		if f.Key.Proto == ProtoTCP {
			// curl -w style phases (the timing is per TCP connection). The
			// DNS lookup phase is the run's to fill: the answer may have
			// passed through another worker.
			r.TimingStartNS = app.SYNAt
			r.ConnectMS = r.HandshakeRTT
			r.TTFBMS = app.TTFBMS
			r.TotalMS = float64(f.Last-app.SYNAt) / 1e6
		}
	}
	return r
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// Time is a capture time in ns since the Unix epoch, UTC, as records carry
// it. It prints (and marshals to JSON) as RFC 3339 with nanoseconds, ""
// when zero (not seen). Keeping the number and formatting only when an
// output asks saves a string per time per record on the hot path: a run
// without JSON output formats none.
type Time int64

// String formats the time, "" when zero.
func (t Time) String() string {
	if t == 0 {
		return ""
	}
	return FormatTime(int64(t))
}

// MarshalText writes the time as text: encoding/json makes it a JSON
// string (a MarshalJSON method would cost a validation pass per time).
func (t Time) MarshalText() ([]byte, error) {
	if t == 0 {
		return nil, nil
	}
	return []byte(FormatTime(int64(t))), nil
}

// FormatTime formats capture time as RFC 3339 with nanoseconds, UTC — the
// same text as time.Time.Format(time.RFC3339Nano) (trailing zeros of the
// fraction dropped), written by hand because every flow and DNS record
// carries such times and the general formatter showed up in profiles. Times
// before 1970 fall back to the general formatter.
func FormatTime(ns int64) string {
	if ns < 0 {
		return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
	}
	secs, frac := ns/1e9, ns%1e9
	days, sod := secs/86400, secs%86400
	y, m, d := civil(days)
	var b [35]byte
	put := func(i int, v int64, n int) {
		for j := i + n - 1; j >= i; j-- {
			b[j] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, m, 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, sod/3600, 2)
	b[13] = ':'
	put(14, sod/60%60, 2)
	b[16] = ':'
	put(17, sod%60, 2)
	n := 19
	if frac != 0 {
		b[19] = '.'
		put(20, frac, 9)
		n = 29
		for b[n-1] == '0' {
			n--
		}
	}
	b[n] = 'Z'
	return string(b[:n+1])
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's days-to-civil algorithm).
func civil(days int64) (y, m, d int64) {
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// ProtoName names an IP protocol the way the JSON and tables do.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "icmp6"
	case ProtoSCTP:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}

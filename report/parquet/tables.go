package parquet

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// The table specs: one per Parquet file, its columns in file order.
//
// The record tables (flows, findings, dns, http, tls, icmp) hold the
// records of the same name in `--format json`, and their column names are
// the JSON's field names (docs/json.md), so a query reads the same as a jq
// filter, with four differences: times are timestamps, not RFC 3339
// strings; a finding's flow object is flattened into columns
// (community_id, proto, ...); http's `host` is `http_host` (see there);
// and dns, http and tls also hold the frame their record starts at
// (`query_frame`, `request_frame`, `client_hello_frame`, as flows'
// `first_frame`), which the JSON leaves out. Values are the JSON values,
// sentinels included (0 when not seen, -1 where the JSON says so); NULL is
// used only where the JSON has no value at all (a DNS query without a
// response has no response_time; a finding not about one flow has no
// flow).
//
// The run tables (capture, timeline) hold what the JSON document's
// summary holds and the records do not: the capture overview and run
// totals, and the capture over time. With them the tables are the whole
// run: `pcapx report DIR` rebuilds the HTML report from them alone
// (read.go).
//
// Every column reads back into the field it was written from (col.load),
// so the specs are the reader's schema as well as the writer's.

// spec is one table.
type spec[R any] struct {
	name string
	doc  string
	cols []col[R]
	// derive, if set, fills the fields of a record read back that no
	// column holds because they follow from one that does (a record's
	// flows.Time from its ns).
	derive func(*R)
}

func (s *spec[R]) schema() *arrow.Schema {
	fields := make([]arrow.Field, len(s.cols))
	for i := range s.cols {
		fields[i] = s.cols[i].field()
	}
	md := arrow.NewMetadata([]string{"pcapx.table"}, []string{s.name})
	return arrow.NewSchema(fields, &md)
}

func (s *spec[R]) describe() Table {
	t := Table{Name: s.name, Doc: s.doc}
	for i := range s.cols {
		c := &s.cols[i]
		pt := c.kind.parquetType()
		switch {
		case c.kind == kString && c.noDict:
			pt += ", PLAIN"
		case c.kind == kString || c.kind == kStringList || c.kind == kTalkers || c.kind == kRuleCounts:
			pt += ", dictionary"
		}
		t.Columns = append(t.Columns, Column{
			Name: c.name, ParquetType: pt, DuckDBType: c.kind.duckType(),
			Nullable: c.nullable, Unit: c.unit, Doc: c.docWithSince(),
		})
	}
	return t
}

// Table describes one table for docs/schema.md and for readers of the
// files (the conformance test).
type Table struct {
	Name    string // file name without .parquet
	Doc     string
	Columns []Column
}

// Column describes one column.
type Column struct {
	Name        string
	ParquetType string // as written (with the encoding of strings)
	DuckDBType  string // as DuckDB reads it back (DESCRIBE)
	Nullable    bool   // NULL allowed (Parquet OPTIONAL); otherwise REQUIRED
	Unit        string
	Doc         string
}

// Tables describes every table pcapx writes, in a fixed order.
func Tables() []Table {
	return []Table{
		flowsSpec.describe(), findingsSpec.describe(), dnsSpec.describe(),
		httpSpec.describe(), tlsSpec.describe(), icmpSpec.describe(),
		captureSpec.describe(), timelineSpec.describe(),
	}
}

// flowRefCols are the columns naming a record's flow (client → server),
// shared by dns, http and tls: they join with flows on community_id.
func flowRefCols[R any](ref func(*R) *flows.FlowRef) []col[R] {
	return []col[R]{
		sym("community_id", "Community ID v1 of the flow (seed 0): joins with flows and with Zeek, Suricata and Arkime logs", func(r *R) *string { return &ref(r).CommunityID }).plain(),
		sym("proto", "`tcp` or `udp`", func(r *R) *string { return &ref(r).Proto }),
		sym("src_addr", "client address", func(r *R) *string { return &ref(r).SrcAddr }),
		i32("src_port", "", "client port", func(r *R) *uint16 { return &ref(r).SrcPort }),
		sym("dst_addr", "server address", func(r *R) *string { return &ref(r).DstAddr }),
		i32("dst_port", "", "server port", func(r *R) *uint16 { return &ref(r).DstPort }),
		i64("stream", "", "TCP: Wireshark's `tcp.stream` in a single-file capture; -1 otherwise", func(r *R) *int64 { return &ref(r).Stream }),
	}
}

// frameCols are the columns naming the frame a record starts at, as
// flows' first_file and first_frame (not in the JSON).
func frameCols[R any](prefix, what string, ref func(*R) *flows.FrameRef) []col[R] {
	return []col[R]{
		i32(prefix+"_file", "", "where "+what+" is: index into the run's input files (`file_index` in capture); not in the JSON", func(r *R) *int { return &ref(r).File }),
		i64(prefix+"_frame", "", "where "+what+" is: Wireshark frame number in that file; 0 when not known; not in the JSON", func(r *R) *int64 { return &ref(r).Frame }),
	}
}

func cat[R any](parts ...[]col[R]) []col[R] {
	var out []col[R]
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

type flowRec = flows.Record

var flowsSpec = &spec[flowRec]{
	name: "flows",
	doc:  "One row per flow, client → server (Zeek's originator → responder), written as the flow ends.",
	cols: []col[flowRec]{
		sym("community_id", "Community ID v1 (seed 0): joins with the other tables and with Zeek, Suricata and Arkime logs", func(r *flowRec) *string { return &r.CommunityID }).plain(),
		sym("proto", "`tcp`, `udp`, `icmp`, `icmp6`, `sctp`, or the IP protocol number", func(r *flowRec) *string { return &r.Proto }),
		sym("src_addr", "client address", func(r *flowRec) *string { return &r.SrcAddr }),
		i32("src_port", "", "client port (ICMP: type, as Zeek)", func(r *flowRec) *uint16 { return &r.SrcPort }),
		sym("dst_addr", "server address", func(r *flowRec) *string { return &r.DstAddr }),
		i32("dst_port", "", "server port (ICMP: code, as Zeek)", func(r *flowRec) *uint16 { return &r.DstPort }),
		i32("vlan", "", "VLAN id of the client's packets; 0 untagged", func(r *flowRec) *uint16 { return &r.VLAN }),
		i32("resp_vlan", "", "VLAN id of the server's packets when it differs from `vlan`; 0 otherwise", func(r *flowRec) *uint16 { return &r.RespVLAN }),
		sym("tunnel", "`vxlan:VNI` or `gre:KEY` for decapsulated traffic; empty otherwise", func(r *flowRec) *string { return &r.Tunnel }),
		i64("stream", "", "TCP: Wireshark's `tcp.stream` in a single-file capture; -1 otherwise", func(r *flowRec) *int64 { return &r.Stream }),
		boolean("client_guessed", "no SYN seen: the client was chosen by port (the well-known port is the server)", func(r *flowRec) *bool { return &r.ClientGuessed }),
		boolean("continues", "TCP: packets of a closed connection that came after its close delay, when its record (the row with the same `stream`) was written", func(r *flowRec) *bool { return &r.Continues }).addedBy("the close delay of closed connections (2026-12-06), before which no row continued another"),
		sym("state", "Zeek `conn_state`: S0 S1 SF REJ S2 S3 RSTO RSTR RSTOS0 RSTRH SH SHR OTH", func(r *flowRec) *string { return &r.State }),
		sym("history", "Zeek history letters (upper case: client)", func(r *flowRec) *string { return &r.History }),
		ts("first", "first packet", func(r *flowRec) *int64 { return &r.FirstNS }),
		ts("last", "last packet", func(r *flowRec) *int64 { return &r.LastNS }),
		f64("duration_s", "s", "`last - first`", func(r *flowRec) *float64 { return &r.Duration }),
		i64("orig_packets", "frames", "client → server", func(r *flowRec) *int64 { return &r.OrigPackets }),
		i64("orig_bytes", "bytes", "client → server, IP bytes", func(r *flowRec) *int64 { return &r.OrigBytes }),
		i64("orig_payload_bytes", "bytes", "client → server, transport payload", func(r *flowRec) *int64 { return &r.OrigPayload }),
		i64("resp_packets", "frames", "server → client", func(r *flowRec) *int64 { return &r.RespPackets }),
		i64("resp_bytes", "bytes", "server → client, IP bytes", func(r *flowRec) *int64 { return &r.RespBytes }),
		i64("resp_payload_bytes", "bytes", "server → client, transport payload", func(r *flowRec) *int64 { return &r.RespPayload }),
		i32("first_file", "", "where the flow starts: index into the run's input files (`capture.files` in the JSON, `file_index` in capture)", func(r *flowRec) *int { return &r.FirstFile }),
		i64("first_frame", "", "where the flow starts: Wireshark frame number in that file", func(r *flowRec) *int64 { return &r.FirstFrame }),
		sym("end_reason", "`capture-end`, `idle`, `closed`, `reused` (a new connection took the 4-tuple), `evicted`", func(r *flowRec) *string { return &r.End }),
		f64("syn_synack_ms", "ms", "TCP handshake: SYN → SYN-ACK; 0 when not seen", func(r *flowRec) *float64 { return &r.SYNToSYNACK }),
		f64("synack_ack_ms", "ms", "TCP handshake: SYN-ACK → ACK; 0 when not seen", func(r *flowRec) *float64 { return &r.SYNACKToACK }),
		f64("handshake_rtt_ms", "ms", "TCP handshake round trip (the sum of the two); 0 when not seen", func(r *flowRec) *float64 { return &r.HandshakeRTT }),
		f64("rtt_ms", "ms", "path round trip: the handshake without its retransmission waits, or the data's ACK round trips (`tcp.analysis.ack_rtt`) if smaller; 0 when unknown", func(r *flowRec) *float64 { return &r.RTTMS }),
		i64("syn_retransmissions", "segments", "the client's SYN sent again", func(r *flowRec) *int64 { return &r.SYNRetransmissions }),
		i64("synack_retransmissions", "segments", "the server's SYN-ACK sent again", func(r *flowRec) *int64 { return &r.SYNACKRetransmissions }),
		f64("handshake_wait_ms", "ms", "connect time spent waiting to send a SYN or SYN-ACK again", func(r *flowRec) *float64 { return &r.HandshakeWaitMS }),
		f64("stall_ms", "ms", "the longest time one side's data waited for an acknowledgement that did not come (not during a zero window)", func(r *flowRec) *float64 { return &r.StallMS }),
		sym("stall_by", "whose data waited: `client` or `server`; empty when none", func(r *flowRec) *string { return &r.StallBy }),
		sym("capture_side", "TCP: where the capture point sits: `client`, `server`, `middle`, `unknown`; empty for other protocols", func(r *flowRec) *string { return &r.CaptureSide }),
		i32("client_mss", "bytes", "MSS option of the client's SYN; 0 when absent", func(r *flowRec) *uint16 { return &r.ClientMSS }),
		i32("server_mss", "bytes", "MSS option of the server's SYN-ACK; 0 when absent", func(r *flowRec) *uint16 { return &r.ServerMSS }),
		i32("client_wscale", "", "window scale shift of the client; -1 when unknown or not used", func(r *flowRec) *int8 { return &r.ClientWScale }),
		i32("server_wscale", "", "window scale shift of the server; -1 when unknown or not used", func(r *flowRec) *int8 { return &r.ServerWScale }),
		boolean("sack_permitted", "both sides offered SACK", func(r *flowRec) *bool { return &r.SACKPermitted }),
		f64("zero_window_ms", "ms", "total time either side advertised a zero window", func(r *flowRec) *float64 { return &r.ZeroWindowTime }),
		sym("zero_window_by", "`client`, `server` or `both`: who advertised zero windows; empty if nobody", func(r *flowRec) *string { return &r.ZeroWindowBy }),
		i64("retransmissions", "segments", "`tcp.analysis.retransmission`, including fast and spurious ones", func(r *flowRec) *int64 { return &r.Retransmissions }),
		i64("fast_retransmissions", "segments", "`tcp.analysis.fast_retransmission`", func(r *flowRec) *int64 { return &r.FastRetransmissions }),
		i64("spurious_retransmissions", "segments", "`tcp.analysis.spurious_retransmission`", func(r *flowRec) *int64 { return &r.SpuriousRetransmissions }),
		i64("retransmission_copies", "segments", "of `retransmissions`, SYNs, data segments and FINs the capture holds twice (a mirror port's copy, not sent again)", func(r *flowRec) *int64 { return &r.RetransmissionCopies }).addedBy("the TCP counts of capture copies (2026-12-06)"),
		i64("out_of_order", "segments", "`tcp.analysis.out_of_order`", func(r *flowRec) *int64 { return &r.OutOfOrder }),
		i64("duplicate_acks", "segments", "`tcp.analysis.duplicate_ack`", func(r *flowRec) *int64 { return &r.DuplicateAcks }),
		i64("duplicate_ack_copies", "segments", "of `duplicate_acks`, ACKs the capture holds twice", func(r *flowRec) *int64 { return &r.DuplicateAckCopies }).addedBy("the TCP counts of capture copies (2026-12-06)"),
		i64("zero_windows", "segments", "`tcp.analysis.zero_window`", func(r *flowRec) *int64 { return &r.ZeroWindows }),
		i64("zero_window_probes", "segments", "`tcp.analysis.zero_window_probe`", func(r *flowRec) *int64 { return &r.ZeroWindowProbes }),
		i64("window_full", "segments", "`tcp.analysis.window_full`", func(r *flowRec) *int64 { return &r.WindowFull }),
		i64("lost_segments", "segments", "`tcp.analysis.lost_segment` (previous segment not captured)", func(r *flowRec) *int64 { return &r.LostSegments }),
		i64("acked_unseen", "segments", "`tcp.analysis.ack_lost_segment`", func(r *flowRec) *int64 { return &r.AckedUnseen }),
		i64("keep_alives", "segments", "`tcp.analysis.keep_alive`", func(r *flowRec) *int64 { return &r.KeepAlives }),
		i64("resets", "segments", "segments with RST", func(r *flowRec) *int64 { return &r.Resets }),
		i64("window_updates", "segments", "`tcp.analysis.window_update`", func(r *flowRec) *int64 { return &r.WindowUpdates }),
		i64("reused_ports", "segments", "`tcp.analysis.reused_ports`", func(r *flowRec) *int64 { return &r.ReusedPorts }),
		sym("app", "what the payload was parsed as: `tls`, `http`, `dns` (by content, not port); empty otherwise", func(r *flowRec) *string { return &r.App }),
		str("sni", "TLS server name of the connection; empty if none", func(r *flowRec) *string { return &r.SNI }),
		str("http_host", "first HTTP Host of the connection; empty if none", func(r *flowRec) *string { return &r.HTTPHost }),
		f64("dns_ms", "ms", "timing breakdown (as `curl -w`): the DNS lookup that answered the server's address, when the capture holds it; 0 when not seen", func(r *flowRec) *float64 { return &r.DNSMS }),
		f64("connect_ms", "ms", "timing breakdown: the TCP handshake; 0 when not seen", func(r *flowRec) *float64 { return &r.ConnectMS }),
		f64("tls_ms", "ms", "timing breakdown: the TLS handshake; 0 when not seen", func(r *flowRec) *float64 { return &r.TLSMS }),
		f64("ttfb_ms", "ms", "timing breakdown: first request bytes → first response bytes (after the TLS handshake for TLS); 0 when not seen", func(r *flowRec) *float64 { return &r.TTFBMS }),
		f64("total_ms", "ms", "timing breakdown: first SYN (or packet) → last packet", func(r *flowRec) *float64 { return &r.TotalMS }),
	},
	derive: func(r *flowRec) { r.First, r.Last = flows.Time(r.FirstNS), flows.Time(r.LastNS) },
}

type findingRec = rules.Finding

// flowOf returns the finding's flow, or a zero one and false.
func flowOf(f *findingRec) (*flows.FlowRef, bool) {
	if f.Flow == nil {
		return &flows.FlowRef{}, false
	}
	return f.Flow, true
}

// flowFor returns the finding's flow, making one if it has none (a flow
// column read back is not NULL).
func flowFor(f *findingRec) *flows.FlowRef {
	if f.Flow == nil {
		f.Flow = &flows.FlowRef{}
	}
	return f.Flow
}

// keyText is a finding's Key as a JSON object, "" for none. encoding/json
// sorts the names, so the text is canonical. A byte of a value that is not
// UTF-8 is the character of its value (validUTF8), as the JSON output
// writes it (\u00XX) and as every other string of the tables holds it.
func keyText(f *findingRec) string {
	if len(f.Key) == 0 {
		return ""
	}
	k := make(map[string]string, len(f.Key))
	for name, v := range f.Key {
		k[replaceInvalid(name)] = validUTF8(v)
	}
	b, err := json.Marshal(k)
	if err != nil { // a map of strings always marshals
		panic(err)
	}
	return string(b)
}

// replaceInvalid is s with each byte that is not part of valid UTF-8
// replaced by U+FFFD (one per byte, as encoding/json writes a map's names,
// which the JSON output leaves to it).
func replaceInvalid(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, s[i:i+n]...)
		}
		i += n
	}
	return string(out)
}

// setKey reads keyText back.
func setKey(f *findingRec, v string) error {
	if v == "" {
		f.Key = nil
		return nil
	}
	if err := json.Unmarshal([]byte(v), &f.Key); err != nil {
		return fmt.Errorf("column key: %w", err)
	}
	return nil
}

// timeText is a finding's time as the JSON has it (RFC 3339, ns, UTC).
func timeText(ns int64) string {
	if ns == 0 {
		return ""
	}
	return flows.FormatTime(ns)
}

var findingsSpec = &spec[findingRec]{
	name: "findings",
	doc: "One row per finding (the rules' diagnoses), most severe first, written when the run ends. " +
		"Findings about one cause are grouped into one row with a count. The flow columns are NULL when the finding is not about one flow.",
	cols: []col[findingRec]{
		sym("rule", "the rule's stable id (`pcapx rules` lists them; docs/rules.md)", func(f *findingRec) *string { return &f.Rule }),
		symFunc("severity", "`info`, `warning`, `error`, `critical`",
			func(f *findingRec) string { return f.Severity.String() },
			func(f *findingRec, v string) (err error) { f.Severity, err = rules.ParseSeverity(v); return err }),
		sym("title", "the rule's title", func(f *findingRec) *string { return &f.Title }),
		str("message", "what happened, with the numbers a person acts on", func(f *findingRec) *string { return &f.Message }).plain(),
		ts("first", "start of the evidence's time range", func(f *findingRec) *int64 { return &f.FirstNS }),
		ts("last", "end of the evidence's time range", func(f *findingRec) *int64 { return &f.LastNS }),
		i64("count", "", "occurrences grouped into the finding", func(f *findingRec) *int64 { return &f.Count }),
		optStr("community_id", "Community ID v1 of the flow: joins with flows",
			func(f *findingRec) (string, bool) { r, ok := flowOf(f); return r.CommunityID, ok },
			func(f *findingRec, v string) { flowFor(f).CommunityID = v }),
		optStr("proto", "the flow's protocol",
			func(f *findingRec) (string, bool) { r, ok := flowOf(f); return r.Proto, ok },
			func(f *findingRec, v string) { flowFor(f).Proto = v }),
		optStr("src_addr", "the flow's client address",
			func(f *findingRec) (string, bool) { r, ok := flowOf(f); return r.SrcAddr, ok },
			func(f *findingRec, v string) { flowFor(f).SrcAddr = v }),
		optI32("src_port", "", "the flow's client port",
			func(f *findingRec) (int32, bool) { r, ok := flowOf(f); return int32(r.SrcPort), ok },
			func(f *findingRec, v int32) { flowFor(f).SrcPort = uint16(v) }),
		optStr("dst_addr", "the flow's server address",
			func(f *findingRec) (string, bool) { r, ok := flowOf(f); return r.DstAddr, ok },
			func(f *findingRec, v string) { flowFor(f).DstAddr = v }),
		optI32("dst_port", "", "the flow's server port",
			func(f *findingRec) (int32, bool) { r, ok := flowOf(f); return int32(r.DstPort), ok },
			func(f *findingRec, v int32) { flowFor(f).DstPort = uint16(v) }),
		optI64("stream", "", "the flow's `tcp.stream` (-1 if not TCP)",
			func(f *findingRec) (int64, bool) { r, ok := flowOf(f); return r.Stream, ok },
			func(f *findingRec, v int64) { flowFor(f).Stream = v }),
		frames("evidence", "frames that show it: `file` indexes the run's input files, `frame` is Wireshark's frame number in that file", func(f *findingRec) *[]rules.Evidence { return &f.Evidence }),
		str("filter", "a Wireshark display filter showing the evidence", func(f *findingRec) *string { return &f.Filter }).plain(),
		// The key is a map whose names differ by rule: one JSON object
		// per row (DuckDB: key->>'server') keeps the table's schema fixed.
		symFunc("key", "the finding's identity as a JSON object (names such as `server`, `sni`, `host`, `rcode` by rule; see docs/check.md), what baselines and `pcapx diff` match findings by; empty for a finding about the whole capture",
			keyText, setKey),
	},
	derive: func(f *findingRec) {
		f.First, f.Last = timeText(f.FirstNS), timeText(f.LastNS)
		if f.Evidence == nil {
			f.Evidence = []rules.Evidence{} // as the rules make them
		}
	},
}

type dnsRec = flows.DNSRecord

var dnsSpec = &spec[dnsRec]{
	name: "dns",
	doc:  "One row per DNS transaction: a query and its response, or a query that got none within 5 s of capture time.",
	cols: cat(flowRefCols(func(r *dnsRec) *flows.FlowRef { return &r.FlowRef }), []col[dnsRec]{
		sym("transport", "`udp` or `tcp`", func(r *dnsRec) *string { return &r.Transport }),
		ts("query_time", "the query", func(r *dnsRec) *int64 { return &r.QueryNS }),
		optTS("response_time", "the response; NULL when unanswered",
			func(r *dnsRec) (int64, bool) { return r.ResponseNS, r.ResponseTime != 0 },
			func(r *dnsRec, v int64) { r.ResponseNS = v }),
		f64("latency_ms", "ms", "query → response; 0 when unanswered", func(r *dnsRec) *float64 { return &r.LatencyMS }),
		i32("id", "", "DNS message id", func(r *dnsRec) *uint16 { return &r.ID }),
		sym("opcode", "`QUERY`, `NOTIFY`, `UPDATE` (whose qname is the zone, qtype `SOA`), ...", func(r *dnsRec) *string { return &r.Opcode }).addedBy("the DNS opcode and RD bit (2026-12-06)"),
		boolean("rd", "the query asked for recursion (RD bit): false from a resolver to an authoritative server, or for an update. In rows replayed from older tables it is false for every query, most of which asked for recursion: dns-error takes a row with an empty `opcode` for a lookup whatever its `rd`", func(r *dnsRec) *bool { return &r.RD }).addedBy("the DNS opcode and RD bit (2026-12-06)"),
		str("qname", "query name in presentation form (non-printable bytes as `\\DDD`)", func(r *dnsRec) *string { return &r.QName }),
		sym("qtype", "query type name (`A`, `AAAA`, ...)", func(r *dnsRec) *string { return &r.QType }),
		i32("rcode", "", "full rcode (header + EDNS extension); -1 when unanswered", func(r *dnsRec) *int { return &r.Rcode }),
		sym("rcode_name", "`NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, ...", func(r *dnsRec) *string { return &r.RcodeName }),
		i32("answers", "records", "answer records in the response", func(r *dnsRec) *int { return &r.Answers }),
		strList("answer_addrs", "addresses in A/AAAA answers", func(r *dnsRec) *[]string { return &r.AnswerAddrs }),
		boolean("tc", "the response was truncated (TC bit)", func(r *dnsRec) *bool { return &r.TC }),
		boolean("unanswered", "no response within the timeout", func(r *dnsRec) *bool { return &r.Unanswered }),
		boolean("capture_ended", "unanswered, and the capture ended less than the timeout after the last query: the answer may just not be in it", func(r *dnsRec) *bool { return &r.CaptureEnded }).addedBy("the capture end of unanswered DNS queries (2026-12-06)"),
		i32("retransmissions", "queries", "the query was sent again before the answer", func(r *dnsRec) *int { return &r.Retransmissions }),
		f64("retransmit_wait_ms", "ms", "first query → its last retransmission: the client's waits before trying again", func(r *dnsRec) *float64 { return &r.RetransmitWaitMS }),
	}, frameCols("query", "the query", func(r *dnsRec) *flows.FrameRef { return &r.QueryFrame })),
	derive: func(r *dnsRec) { r.QueryTime, r.ResponseTime = flows.Time(r.QueryNS), flows.Time(r.ResponseNS) },
}

type httpRec = flows.HTTPRecord

var httpSpec = &spec[httpRec]{
	name: "http",
	doc:  "One row per HTTP/1.x request and its response.",
	cols: cat(flowRefCols(func(r *httpRec) *flows.FlowRef { return &r.FlowRef }), []col[httpRec]{
		ts("request_time", "the request's first byte", func(r *httpRec) *int64 { return &r.RequestNS }),
		str("method", "request method", func(r *httpRec) *string { return &r.Method }),
		// Not "host" as in the JSON: a Hive partition key host=web1 (the
		// usual way to lay out a fleet's tables) would replace the column
		// in DuckDB, Spark and Trino, silently. flows calls it http_host too.
		str("http_host", "Host header (`host` in the JSON; renamed so that it never collides with a `host=` partition key)", func(r *httpRec) *string { return &r.Host }),
		str("target", "request target (path and query)", func(r *httpRec) *string { return &r.Target }).plain(),
		str("user_agent", "User-Agent header", func(r *httpRec) *string { return &r.UserAgent }),
		str("version", "`HTTP/1.0` or `HTTP/1.1`", func(r *httpRec) *string { return &r.Version }),
		i32("status", "", "response status code; 0 when no response was seen", func(r *httpRec) *int { return &r.Status }),
		str("reason", "response reason phrase", func(r *httpRec) *string { return &r.Reason }),
		i64("response_bytes", "bytes", "response body", func(r *httpRec) *int64 { return &r.ResponseBytes }),
		f64("ttfb_ms", "ms", "request → first response byte", func(r *httpRec) *float64 { return &r.TTFBMS }),
		f64("rtt_ms", "ms", "the connection's path round trip (as in flows); 0 when unknown", func(r *httpRec) *float64 { return &r.RTTMS }),
		i64("content_length", "bytes", "the length the response announced; -1 when none (or no response)", func(r *httpRec) *int64 { return &r.ContentLength }),
		boolean("chunked", "the response body was chunked", func(r *httpRec) *bool { return &r.Chunked }),
		f64("total_ms", "ms", "request → end of response", func(r *httpRec) *float64 { return &r.TotalMS }),
		boolean("complete", "the response was seen to its end", func(r *httpRec) *bool { return &r.Complete }),
		boolean("gap", "bytes of the exchange were never captured (or a reassembly bound dropped them): `response_bytes` is short or the pairing with the response uncertain", func(r *httpRec) *bool { return &r.Gap }),
	}, frameCols("request", "the request's first byte", func(r *httpRec) *flows.FrameRef { return &r.RequestFrame })),
	derive: func(r *httpRec) { r.RequestTime = flows.Time(r.RequestNS) },
}

type tlsRec = flows.TLSRecord

var tlsSpec = &spec[tlsRec]{
	name: "tls",
	doc:  "One row per TLS handshake: what the client offered, what the server chose, how it ended.",
	cols: cat(flowRefCols(func(r *tlsRec) *flows.FlowRef { return &r.FlowRef }), []col[tlsRec]{
		ts("client_hello_time", "the ClientHello", func(r *tlsRec) *int64 { return &r.ClientHelloNS }),
		str("sni", "server name (SNI)", func(r *tlsRec) *string { return &r.SNI }),
		strList("alpn", "ALPN protocols offered", func(r *tlsRec) *[]string { return &r.ALPN }),
		strList("offered_versions", "TLS versions offered", func(r *tlsRec) *[]string { return &r.OfferedVersions }),
		sym("version", "negotiated version; empty without a ServerHello", func(r *tlsRec) *string { return &r.Version }),
		sym("cipher", "negotiated cipher suite; empty without a ServerHello", func(r *tlsRec) *string { return &r.Cipher }),
		sym("ja3", "JA3 string", func(r *tlsRec) *string { return &r.JA3 }),
		sym("ja3_hash", "JA3 (MD5 of the string)", func(r *tlsRec) *string { return &r.JA3Hash }),
		sym("ja4", "JA4 (not JA4+)", func(r *tlsRec) *string { return &r.JA4 }),
		boolean("server_hello", "a ServerHello was seen", func(r *tlsRec) *bool { return &r.ServerHello }),
		boolean("established", "both sides reached the encrypted phase", func(r *tlsRec) *bool { return &r.Established }),
		f64("handshake_ms", "ms", "ClientHello → end of the handshake", func(r *tlsRec) *float64 { return &r.HandshakeMS }),
		f64("server_hello_ms", "ms", "ClientHello → ServerHello; 0 without one", func(r *tlsRec) *float64 { return &r.ServerHelloMS }),
		f64("rtt_ms", "ms", "the connection's path round trip (as in flows); 0 when unknown", func(r *tlsRec) *float64 { return &r.RTTMS }),
		i32("hello_retransmissions", "segments", "the ClientHello's segment sent again", func(r *tlsRec) *int { return &r.HelloRetransmissions }),
		f64("hello_wait_ms", "ms", "first ClientHello → its last retransmission", func(r *tlsRec) *float64 { return &r.HelloWaitMS }),
		sym("alert_level", "level of the first alert; empty if none", func(r *tlsRec) *string { return &r.AlertLevel }),
		sym("alert", "description of the first alert; empty if none", func(r *tlsRec) *string { return &r.Alert }),
		sym("alert_from", "`client` or `server`: who sent the alert", func(r *tlsRec) *string { return &r.AlertFrom }),
		sym("outcome", "`established`, `rejected-reset`, `rejected-alert`, `rejected-close`, `aborted-by-client`, `failed-alert`, `incomplete`, `unknown`", func(r *tlsRec) *string { return &r.Outcome }),
		sym("reset_by", "who sent a RST during the handshake; empty if nobody", func(r *tlsRec) *string { return &r.ResetBy }),
	}, frameCols("client_hello", "the ClientHello", func(r *tlsRec) *flows.FrameRef { return &r.ClientHelloFrame })),
	derive: func(r *tlsRec) { r.ClientHelloTime = flows.Time(r.ClientHelloNS) },
}

type icmpRec = flows.ICMPRecord

var icmpSpec = &spec[icmpRec]{
	name: "icmp",
	doc: "One row per ICMP/ICMPv6 error (destination unreachable, fragmentation needed / packet too big, time exceeded, " +
		"parameter problem, source quench) or redirect, with the header it quotes decoded and the Community ID of the flow " +
		"that header belongs to, computed from it: it joins with flows even when that flow's own packets were not captured here.",
	cols: cat([]col[icmpRec]{
		ts("time", "the ICMP message", func(r *icmpRec) *int64 { return &r.TimeNS }),
		sym("community_id", "Community ID v1 of the ICMP message itself (type and code as ports)", func(r *icmpRec) *string { return &r.CommunityID }),
		sym("proto", "`icmp` or `icmp6`", func(r *icmpRec) *string { return &r.Proto }),
		sym("src_addr", "sender of the ICMP message (a router on the path, or the peer)", func(r *icmpRec) *string { return &r.SrcAddr }),
		sym("dst_addr", "receiver of the ICMP message", func(r *icmpRec) *string { return &r.DstAddr }),
		i32("type", "", "ICMP type", func(r *icmpRec) *int { return &r.Type }),
		i32("code", "", "ICMP code", func(r *icmpRec) *int { return &r.Code }),
		sym("kind", "`frag-needed`, `packet-too-big`, `unreachable`, `time-exceeded`, `redirect`, `parameter-problem`, `source-quench`", func(r *icmpRec) *string { return &r.Kind }),
		sym("description", "the type and code in words (RFC 792, 1191, 1812, 4443)", func(r *icmpRec) *string { return &r.Description }),
		i32("next_hop_mtu", "bytes", "the path MTU the message reports (ICMP type 3 code 4, ICMPv6 packet too big); 0 otherwise", func(r *icmpRec) *int { return &r.NextHopMTU }),
		sym("quoted_proto", "protocol of the quoted packet (`tcp`, `udp`, ...); empty when nothing readable was quoted", func(r *icmpRec) *string { return &r.QuotedProto }),
		sym("quoted_src_addr", "source of the quoted packet: the host whose packet the message is about", func(r *icmpRec) *string { return &r.QuotedSrcAddr }),
		i32("quoted_src_port", "", "its source port", func(r *icmpRec) *uint16 { return &r.QuotedSrcPort }),
		sym("quoted_dst_addr", "destination of the quoted packet", func(r *icmpRec) *string { return &r.QuotedDstAddr }),
		i32("quoted_dst_port", "", "its destination port", func(r *icmpRec) *uint16 { return &r.QuotedDstPort }),
		i32("quoted_len", "bytes", "its IP length as sent (for fragmentation needed: the size that did not fit)", func(r *icmpRec) *int { return &r.QuotedLen }),
		i64("quoted_seq", "", "TCP: its sequence number", func(r *icmpRec) *uint32 { return &r.QuotedSeq }),
		optStr("quoted_community_id", "Community ID of the flow the quoted packet belongs to: joins with flows; NULL when nothing readable was quoted",
			func(r *icmpRec) (string, bool) { return r.QuotedCommunityID, r.QuotedCommunityID != "" },
			func(r *icmpRec, v string) { r.QuotedCommunityID = v }),
	}, frameCols("icmp", "the ICMP message", func(r *icmpRec) *flows.FrameRef { return &r.Frame })),
	derive: func(r *icmpRec) { r.Time = flows.Time(r.TimeNS) },
}

// captureRow is a row of the capture table: one input file of the run,
// with the run's overview and totals.
//
// Why one row per file with the run's totals repeated, rather than a
// table of runs and a table of files: a run is one output directory (or
// one Hive partition), and its files are few, so the repetition costs
// nothing, while every query stays a single-table one. Per-file questions
// read the rows as they are; per-run questions (a fleet's nights, one row
// each) take `WHERE file_index = 0`; the totals are never to be summed
// over the rows of one run, which the docs say. A run always has at least
// one input file (a run that cannot open one fails), so its totals are
// never lost.
type captureRow struct {
	Index      int         // the file's index in the run's input files
	File       run.File    // the file
	Run        run.Result  // the run: Capture (its Files aside), TCP, TopTalkers
	Suppressed []ruleCount // Run.Suppressed, by count then rule
	Version    string      // pcapx's version
}

// sortedRuleCounts lists a rule → count map, most first, then by rule.
func sortedRuleCounts(m map[string]int64) []ruleCount {
	out := make([]ruleCount, 0, len(m))
	for k, v := range m {
		out = append(out, ruleCount{Rule: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Rule < out[j].Rule
	})
	return out
}

func captureCols() []col[captureRow] {
	cp := func(r *captureRow) *run.Capture { return &r.Run.Capture }
	tc := func(r *captureRow) *flows.TCPCounts { return &r.Run.TCP.TCPCounts }
	return []col[captureRow]{
		i32("file_index", "", "the file's index in the run's input files, in the order given: `first_file` in flows, `evidence.file` in findings and the `*_file` columns of dns, http and tls point here", func(r *captureRow) *int { return &r.Index }),
		str("file_name", "the file's path as given (`-` for standard input)", func(r *captureRow) *string { return &r.File.Name }),
		sym("file_format", "`pcap` or `pcapng`; empty for a skipped file", func(r *captureRow) *string { return &r.File.Format }),
		sym("file_compression", "`gzip` or `zstd`; empty when not compressed", func(r *captureRow) *string { return &r.File.Compression }),
		i64("file_packets", "frames", "frames read from the file", func(r *captureRow) *int64 { return &r.File.Packets }),
		strList("file_link_types", "link types in the file, in order of appearance (`ether`, `linux-sll`, `rawip`, ...)", func(r *captureRow) *[]string { return &r.File.LinkTypes }),
		strList("file_comments", "pcapng comments of the file", func(r *captureRow) *[]string { return &r.File.Comments }),
		boolean("file_skipped", "an empty or unrecognised file in a directory or glob (the newest file of a ring buffer, say), skipped rather than failing the run", func(r *captureRow) *bool { return &r.File.Skipped }),
		i64("packets", "frames", "run total: frames read from all files", func(r *captureRow) *int64 { return &cp(r).Packets }),
		i64("bytes", "bytes", "run total: frame bytes on the wire", func(r *captureRow) *int64 { return &cp(r).Bytes }),
		optTS("first", "run: the first frame; NULL when the capture has none",
			func(r *captureRow) (int64, bool) { return cp(r).FirstNS, cp(r).Packets > 0 },
			func(r *captureRow, v int64) { cp(r).FirstNS = v }),
		optTS("last", "run: the last frame; NULL when the capture has none",
			func(r *captureRow) (int64, bool) { return cp(r).LastNS, cp(r).Packets > 0 },
			func(r *captureRow, v int64) { cp(r).LastNS = v }),
		f64("duration_s", "s", "run: `last - first`", func(r *captureRow) *float64 { return &cp(r).Duration }),
		strList("link_types", "run: link types of all files", func(r *captureRow) *[]string { return &cp(r).LinkTypes }),
		i64("flows", "flows", "run total: flows tracked", func(r *captureRow) *int64 { return &cp(r).Flows }),
		i64("flows_evicted", "flows", "run total: flows pushed out of a full flow table before they ended (raise `--memory`)", func(r *captureRow) *int64 { return &cp(r).Evicted }),
		i64("peak_active_flows", "flows", "run: most flows tracked at once", func(r *captureRow) *int { return &cp(r).PeakFlows }),
		i64("non_ip_frames", "frames", "run total: frames with no IP layer (ARP, STP, ...)", func(r *captureRow) *int64 { return &cp(r).NotIP }),
		i64("malformed_frames", "frames", "run total: frames whose headers did not parse", func(r *captureRow) *int64 { return &cp(r).Malformed }),
		i64("ip_fragments", "frames", "run total: IP fragments", func(r *captureRow) *int64 { return &cp(r).Fragments }),
		i64("ip_fragments_dropped", "frames", "run total: IP fragments not reassembled (overlapping, over the reassembly's bounds, invalid, or incomplete)", func(r *captureRow) *int64 { return &cp(r).FragmentsDropped }),
		i64("ip_fragments_overlapping", "frames", "run total: of them, in a datagram discarded for an overlapping fragment, or duplicates", func(r *captureRow) *int64 { return &cp(r).FragmentsOverlapping }),
		i64("ip_fragments_over_limit", "frames", "run total: of them, given up for the reassembly's bounds (pieces per datagram, datagrams or bytes waiting)", func(r *captureRow) *int64 { return &cp(r).FragmentsOverLimit }),
		i64("truncated_frames", "frames", "run total: frames cut short by the snapshot length", func(r *captureRow) *int64 { return &cp(r).Truncated }),
		i64("reassembly_holes_skipped", "holes", "run total: holes in TCP streams the reassembly stopped waiting for at the bound on bytes held ahead of holes (`--memory`); the bytes around them were not parsed", func(r *captureRow) *int64 { return &cp(r).ReassemblySkips }),
		i64("parsers_stopped", "connections", "run total: connections whose HTTP/TLS/DNS parsing stopped early at the bound on connections parsed at once (`--memory`)", func(r *captureRow) *int64 { return &cp(r).ParsersStopped }),
		i64("dns_queries_dropped", "queries", "run total: DNS queries dropped, oldest first, when 16,384 were waiting for an answer", func(r *captureRow) *int64 { return &cp(r).DNSQueriesDropped }),
		sym("window", "run: the time window of `--since`/`--until` as an RFC 3339 interval `SINCE/UNTIL` (`..` for an open end); empty without one", func(r *captureRow) *string { return &cp(r).Window }),
		i64("outside_window", "packets", "run total: packets read but skipped as outside the time window (not in `packets`)", func(r *captureRow) *int64 { return &cp(r).OutsideWindow }),
		strList("warnings", "run: what was wrong with the input (damage, with file, byte offset and frame) and with the run (evicted flows)", func(r *captureRow) *[]string { return &cp(r).Warnings }),
		i64("tcp_streams", "flows", "run total: TCP flows (`tcp.streams` in the JSON)", func(r *captureRow) *int64 { return &r.Run.TCP.Streams }),
		i64("tcp_retransmissions", "segments", "run total of flows' `retransmissions`", func(r *captureRow) *int64 { return &tc(r).Retransmissions }),
		i64("tcp_fast_retransmissions", "segments", "run total of flows' `fast_retransmissions`", func(r *captureRow) *int64 { return &tc(r).FastRetransmissions }),
		i64("tcp_retransmission_copies", "segments", "run total: of `tcp_retransmissions`, segments the capture holds twice (not sent again)", func(r *captureRow) *int64 { return &r.Run.TCP.RetransmissionCopies }).addedBy("the TCP counts of capture copies (2026-12-06)"),
		i64("tcp_duplicate_ack_copies", "segments", "run total: of `tcp_duplicate_acks`, ACKs the capture holds twice", func(r *captureRow) *int64 { return &r.Run.TCP.DuplicateAckCopies }).addedBy("the TCP counts of capture copies (2026-12-06)"),
		i64("tcp_spurious_retransmissions", "segments", "run total of flows' `spurious_retransmissions`", func(r *captureRow) *int64 { return &tc(r).SpuriousRetransmissions }),
		i64("tcp_out_of_order", "segments", "run total of flows' `out_of_order`", func(r *captureRow) *int64 { return &tc(r).OutOfOrder }),
		i64("tcp_duplicate_acks", "segments", "run total of flows' `duplicate_acks`", func(r *captureRow) *int64 { return &tc(r).DuplicateAcks }),
		i64("tcp_zero_windows", "segments", "run total of flows' `zero_windows`", func(r *captureRow) *int64 { return &tc(r).ZeroWindows }),
		i64("tcp_zero_window_probes", "segments", "run total of flows' `zero_window_probes`", func(r *captureRow) *int64 { return &tc(r).ZeroWindowProbes }),
		i64("tcp_window_full", "segments", "run total of flows' `window_full`", func(r *captureRow) *int64 { return &tc(r).WindowFull }),
		i64("tcp_lost_segments", "segments", "run total of flows' `lost_segments`", func(r *captureRow) *int64 { return &tc(r).LostSegments }),
		i64("tcp_acked_unseen", "segments", "run total of flows' `acked_unseen`", func(r *captureRow) *int64 { return &tc(r).AckedUnseen }),
		i64("tcp_keep_alives", "segments", "run total of flows' `keep_alives`", func(r *captureRow) *int64 { return &tc(r).KeepAlives }),
		i64("tcp_resets", "segments", "run total of flows' `resets`", func(r *captureRow) *int64 { return &tc(r).Resets }),
		i64("tcp_window_updates", "segments", "run total of flows' `window_updates`", func(r *captureRow) *int64 { return &tc(r).WindowUpdates }),
		i64("tcp_reused_ports", "segments", "run total of flows' `reused_ports`", func(r *captureRow) *int64 { return &tc(r).ReusedPorts }),
		talkerList("top_talkers", "run: the hosts with the most bytes (`--top`), most first: bytes and flows of the flows they took part in (approximate past 100,000 hosts: the flows table has the exact numbers)", func(r *captureRow) *[]run.Talker { return &r.Run.TopTalkers }),
		ruleCounts("suppressed", "run: findings not kept past a rule's cap, by rule, most first (the findings table has the others)", func(r *captureRow) *[]ruleCount { return &r.Suppressed }),
		sym("pcapx_version", "the pcapx that wrote the tables", func(r *captureRow) *string { return &r.Version }),
	}
}

var captureSpec = &spec[captureRow]{
	name: "capture",
	doc: "One row per input file of the run, in the order given, with the run's overview and totals (the columns after `file_skipped`), " +
		"which are the same on every row of a run: for one row per run (a fleet's nights, say) take `WHERE file_index = 0`, and never sum them over the rows of one run. " +
		"Written when the run ends. The `tcp_*` totals equal the sums of the flows table's columns of the same name.",
	cols: captureCols(),
	derive: func(r *captureRow) {
		c := &r.Run.Capture
		if c.Packets > 0 {
			c.First, c.Last = flows.FormatTime(c.FirstNS), flows.FormatTime(c.LastNS)
		}
		r.File.LinkTypes = nonNil(r.File.LinkTypes)
		c.LinkTypes, c.Warnings = nonNil(c.LinkTypes), nonNil(c.Warnings)
		r.Run.Suppressed = map[string]int64{}
		for _, s := range r.Suppressed {
			r.Run.Suppressed[s.Rule] = s.Count
		}
	},
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// timelineRow is a row of the timeline table: one bucket of capture time.
type timelineRow struct {
	StartNS int64 // the bucket's start
	WidthNS int64
	run.Bucket
}

var timelineSpec = &spec[timelineRow]{
	name: "timeline",
	doc: "The capture over time: one row per time bucket, from the first frame's second to the last frame's bucket, empty buckets included, in time order. " +
		"Buckets are one second wide; a capture longer than 1024 s gets wider buckets (2 s, 4 s, ...: at most 1024 rows), the same width for the whole run. " +
		"Every frame counts, IP or not, so `sum(packets)` and `sum(bytes)` are the run's `packets` and `bytes` in capture. Written when the run ends.",
	cols: []col[timelineRow]{
		ts("start", "start of the bucket", func(r *timelineRow) *int64 { return &r.StartNS }),
		f64Func("width_s", "s", "the bucket's width: `bytes * 8 / width_s` is the bit rate",
			func(r *timelineRow) float64 { return float64(r.WidthNS) / 1e9 },
			func(r *timelineRow, v float64) { r.WidthNS = int64(math.Round(v * 1e9)) }),
		i64("packets", "frames", "frames in the bucket", func(r *timelineRow) *int64 { return &r.Packets }),
		i64("bytes", "bytes", "frame bytes on the wire in the bucket", func(r *timelineRow) *int64 { return &r.Bytes }),
		i64("retransmissions", "segments", "TCP segments flagged `tcp.analysis.retransmission` (fast and spurious included)", func(r *timelineRow) *int64 { return &r.Retransmissions }),
		i64("zero_windows", "segments", "TCP segments flagged `tcp.analysis.zero_window`", func(r *timelineRow) *int64 { return &r.ZeroWindows }),
		i64("duplicate_acks", "segments", "TCP segments flagged `tcp.analysis.duplicate_ack`", func(r *timelineRow) *int64 { return &r.DuplicateAcks }),
		i64("resets", "segments", "TCP segments with RST", func(r *timelineRow) *int64 { return &r.Resets }),
	},
}

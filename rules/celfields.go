package rules

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/interpreter"

	"github.com/pcapx/pcapx/flows"
)

// This file exposes the records to CEL. Each record kind is one CEL object
// type whose fields are named exactly as the record's JSON fields
// (docs/json.md), with an explicit table of getters: the type checker
// resolves `http.status` against the table when a rule is loaded, and the
// evaluator calls the getter directly — no reflection on the hot path.
//
// Types: strings are string; every integer (ports, counts, rcode, VLAN,
// window scale) is int; ms and s durations are double, as in the JSON;
// bools are bool; lists of names are list(string); times are timestamp
// (UTC). A time that was not seen (JSON "") is the Unix epoch, and has()
// is false for it; has() is false for any field at its zero value.

// celField is one field of a record type.
type celField struct {
	name string
	typ  *types.Type
	get  func(rec any) ref.Val // nil when rec is not of the field's record type
	set  func(rec any) bool
	// size bounds a string field's length (code points) or a list
	// field's length; elem bounds the strings of a list. Zero means the
	// default, maxCELString (strings) or maxCELList (lists). They feed the
	// cost estimate of a rule (custom.go), so they must hold for every
	// record the parsers can make: each mirrors the cap of its parser.
	size, elem uint64
}

// Default size bounds of string and list fields. The strings without an
// explicit bound are addresses, names of states, outcomes and kinds, and
// DNS names in presentation form (255 octets on the wire, at most 4
// characters each once escaped: \DDD).
const (
	maxCELString = 1024
	maxCELList   = 128
)

// The caps of the parsers (flows/http, flows/tls, flows/dns), which rules
// may not import (docs/architecture.md); TestCELBoundsMatchParsers keeps
// them equal.
const (
	httpMaxMethod    = 32
	httpMaxTarget    = 8 << 10
	httpMaxHost      = 255
	httpMaxUserAgent = 1 << 10
	httpMaxReason    = 256
	httpMaxVersion   = 16
	tlsMaxSNI        = 255
	tlsMaxALPN       = 32
	tlsMaxMessage    = 64 << 10
	dnsMaxAnswers    = 8
)

// sized sets the size bound of a field (see celField.size).
func sized(f celField, size uint64) celField {
	f.size = size
	return f
}

// sizedList sets the bounds of a list field and of its strings.
func sizedList(f celField, size, elem uint64) celField {
	f.size, f.elem = size, elem
	return f
}

var errWrongRecord = errors.New("field read from a record of another kind")

func fStr[R any](name string, get func(*R) string) celField {
	return celField{name: name, typ: types.StringType,
		get: func(o any) ref.Val {
			if r, ok := o.(*R); ok {
				return types.String(get(r))
			}
			return nil
		},
		set: func(o any) bool { r, ok := o.(*R); return ok && get(r) != "" },
	}
}

func fInt[R any, N ~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32](name string, get func(*R) N) celField {
	return celField{name: name, typ: types.IntType,
		get: func(o any) ref.Val {
			if r, ok := o.(*R); ok {
				return types.Int(get(r))
			}
			return nil
		},
		set: func(o any) bool { r, ok := o.(*R); return ok && get(r) != 0 },
	}
}

func fDouble[R any](name string, get func(*R) float64) celField {
	return celField{name: name, typ: types.DoubleType,
		get: func(o any) ref.Val {
			if r, ok := o.(*R); ok {
				return types.Double(get(r))
			}
			return nil
		},
		set: func(o any) bool { r, ok := o.(*R); return ok && get(r) != 0 },
	}
}

func fBool[R any](name string, get func(*R) bool) celField {
	return celField{name: name, typ: types.BoolType,
		get: func(o any) ref.Val {
			if r, ok := o.(*R); ok {
				return types.Bool(get(r))
			}
			return nil
		},
		set: func(o any) bool { r, ok := o.(*R); return ok && get(r) },
	}
}

func fTime[R any](name string, get func(*R) flows.Time) celField {
	return celField{name: name, typ: types.TimestampType,
		get: func(o any) ref.Val {
			if r, ok := o.(*R); ok {
				return types.Timestamp{Time: time.Unix(0, int64(get(r))).UTC()}
			}
			return nil
		},
		set: func(o any) bool { r, ok := o.(*R); return ok && get(r) != 0 },
	}
}

var stringListType = types.NewListType(types.StringType)

func fStrings[R any](name string, get func(*R) []string) celField {
	return celField{name: name, typ: stringListType,
		get: func(o any) ref.Val {
			if r, ok := o.(*R); ok {
				return types.NewStringList(types.DefaultTypeAdapter, get(r))
			}
			return nil
		},
		set: func(o any) bool { r, ok := o.(*R); return ok && len(get(r)) > 0 },
	}
}

// flowRefFields are the flow columns every application record starts with.
func flowRefFields[R any](ref func(*R) *flows.FlowRef) []celField {
	return []celField{
		fStr("community_id", func(r *R) string { return ref(r).CommunityID }),
		fStr("proto", func(r *R) string { return ref(r).Proto }),
		fStr("src_addr", func(r *R) string { return ref(r).SrcAddr }),
		fInt("src_port", func(r *R) uint16 { return ref(r).SrcPort }),
		fStr("dst_addr", func(r *R) string { return ref(r).DstAddr }),
		fInt("dst_port", func(r *R) uint16 { return ref(r).DstPort }),
		fInt("stream", func(r *R) int64 { return ref(r).Stream }),
	}
}

type fr = flows.Record

var flowFields = []celField{
	fStr("community_id", func(r *fr) string { return r.CommunityID }),
	fStr("proto", func(r *fr) string { return r.Proto }),
	fStr("src_addr", func(r *fr) string { return r.SrcAddr }),
	fInt("src_port", func(r *fr) uint16 { return r.SrcPort }),
	fStr("dst_addr", func(r *fr) string { return r.DstAddr }),
	fInt("dst_port", func(r *fr) uint16 { return r.DstPort }),
	fInt("vlan", func(r *fr) uint16 { return r.VLAN }),
	fInt("resp_vlan", func(r *fr) uint16 { return r.RespVLAN }),
	fStr("tunnel", func(r *fr) string { return r.Tunnel }),
	fInt("stream", func(r *fr) int64 { return r.Stream }),
	fBool("client_guessed", func(r *fr) bool { return r.ClientGuessed }),
	fBool("continues", func(r *fr) bool { return r.Continues }),
	fStr("state", func(r *fr) string { return r.State }),
	fStr("history", func(r *fr) string { return r.History }),
	fTime("first", func(r *fr) flows.Time { return r.First }),
	fTime("last", func(r *fr) flows.Time { return r.Last }),
	fDouble("duration_s", func(r *fr) float64 { return r.Duration }),
	fInt("orig_packets", func(r *fr) int64 { return r.OrigPackets }),
	fInt("orig_bytes", func(r *fr) int64 { return r.OrigBytes }),
	fInt("orig_payload_bytes", func(r *fr) int64 { return r.OrigPayload }),
	fInt("resp_packets", func(r *fr) int64 { return r.RespPackets }),
	fInt("resp_bytes", func(r *fr) int64 { return r.RespBytes }),
	fInt("resp_payload_bytes", func(r *fr) int64 { return r.RespPayload }),
	fInt("first_file", func(r *fr) int { return r.FirstFile }),
	fInt("first_frame", func(r *fr) int64 { return r.FirstFrame }),
	fStr("end_reason", func(r *fr) string { return r.End }),
	fDouble("syn_synack_ms", func(r *fr) float64 { return r.SYNToSYNACK }),
	fDouble("synack_ack_ms", func(r *fr) float64 { return r.SYNACKToACK }),
	fDouble("handshake_rtt_ms", func(r *fr) float64 { return r.HandshakeRTT }),
	fDouble("rtt_ms", func(r *fr) float64 { return r.RTTMS }),
	fInt("syn_retransmissions", func(r *fr) int64 { return r.SYNRetransmissions }),
	fInt("synack_retransmissions", func(r *fr) int64 { return r.SYNACKRetransmissions }),
	fDouble("handshake_wait_ms", func(r *fr) float64 { return r.HandshakeWaitMS }),
	fDouble("stall_ms", func(r *fr) float64 { return r.StallMS }),
	fStr("stall_by", func(r *fr) string { return r.StallBy }),
	fStr("capture_side", func(r *fr) string { return r.CaptureSide }),
	fInt("client_mss", func(r *fr) uint16 { return r.ClientMSS }),
	fInt("server_mss", func(r *fr) uint16 { return r.ServerMSS }),
	fInt("client_wscale", func(r *fr) int8 { return r.ClientWScale }),
	fInt("server_wscale", func(r *fr) int8 { return r.ServerWScale }),
	fBool("sack_permitted", func(r *fr) bool { return r.SACKPermitted }),
	fDouble("zero_window_ms", func(r *fr) float64 { return r.ZeroWindowTime }),
	fStr("zero_window_by", func(r *fr) string { return r.ZeroWindowBy }),
	fInt("retransmissions", func(r *fr) int64 { return r.Retransmissions }),
	fInt("fast_retransmissions", func(r *fr) int64 { return r.FastRetransmissions }),
	fInt("spurious_retransmissions", func(r *fr) int64 { return r.SpuriousRetransmissions }),
	fInt("out_of_order", func(r *fr) int64 { return r.OutOfOrder }),
	fInt("duplicate_acks", func(r *fr) int64 { return r.DuplicateAcks }),
	fInt("zero_windows", func(r *fr) int64 { return r.ZeroWindows }),
	fInt("zero_window_probes", func(r *fr) int64 { return r.ZeroWindowProbes }),
	fInt("window_full", func(r *fr) int64 { return r.WindowFull }),
	fInt("lost_segments", func(r *fr) int64 { return r.LostSegments }),
	fInt("acked_unseen", func(r *fr) int64 { return r.AckedUnseen }),
	fInt("keep_alives", func(r *fr) int64 { return r.KeepAlives }),
	fInt("resets", func(r *fr) int64 { return r.Resets }),
	fInt("window_updates", func(r *fr) int64 { return r.WindowUpdates }),
	fInt("reused_ports", func(r *fr) int64 { return r.ReusedPorts }),
	fStr("app", func(r *fr) string { return r.App }),
	sized(fStr("sni", func(r *fr) string { return r.SNI }), tlsMaxSNI),
	sized(fStr("http_host", func(r *fr) string { return r.HTTPHost }), httpMaxHost),
	fDouble("dns_ms", func(r *fr) float64 { return r.DNSMS }),
	fDouble("connect_ms", func(r *fr) float64 { return r.ConnectMS }),
	fDouble("tls_ms", func(r *fr) float64 { return r.TLSMS }),
	fDouble("ttfb_ms", func(r *fr) float64 { return r.TTFBMS }),
	fDouble("total_ms", func(r *fr) float64 { return r.TotalMS }),
	fInt("retransmission_copies", func(r *fr) int64 { return r.RetransmissionCopies }),
	fInt("duplicate_ack_copies", func(r *fr) int64 { return r.DuplicateAckCopies }),
}

type dr = flows.DNSRecord

var dnsFields = append(flowRefFields(func(r *dr) *flows.FlowRef { return &r.FlowRef }),
	fStr("transport", func(r *dr) string { return r.Transport }),
	fTime("query_time", func(r *dr) flows.Time { return r.QueryTime }),
	fTime("response_time", func(r *dr) flows.Time { return r.ResponseTime }),
	fDouble("latency_ms", func(r *dr) float64 { return r.LatencyMS }),
	fInt("id", func(r *dr) uint16 { return r.ID }),
	fStr("opcode", func(r *dr) string { return r.Opcode }),
	fBool("rd", func(r *dr) bool { return r.RD }),
	fStr("qname", func(r *dr) string { return r.QName }),
	fStr("qtype", func(r *dr) string { return r.QType }),
	fInt("rcode", func(r *dr) int { return r.Rcode }),
	fStr("rcode_name", func(r *dr) string { return r.RcodeName }),
	fInt("answers", func(r *dr) int { return r.Answers }),
	sizedList(fStrings("answer_addrs", func(r *dr) []string { return r.AnswerAddrs }), dnsMaxAnswers, uint64(len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"))),
	fBool("tc", func(r *dr) bool { return r.TC }),
	fBool("unanswered", func(r *dr) bool { return r.Unanswered }),
	fBool("capture_ended", func(r *dr) bool { return r.CaptureEnded }),
	fInt("retransmissions", func(r *dr) int { return r.Retransmissions }),
	fDouble("retransmit_wait_ms", func(r *dr) float64 { return r.RetransmitWaitMS }),
)

type hr = flows.HTTPRecord

var httpFields = append(flowRefFields(func(r *hr) *flows.FlowRef { return &r.FlowRef }),
	fTime("request_time", func(r *hr) flows.Time { return r.RequestTime }),
	sized(fStr("method", func(r *hr) string { return r.Method }), httpMaxMethod),
	sized(fStr("host", func(r *hr) string { return r.Host }), httpMaxHost),
	sized(fStr("target", func(r *hr) string { return r.Target }), httpMaxTarget),
	sized(fStr("user_agent", func(r *hr) string { return r.UserAgent }), httpMaxUserAgent),
	sized(fStr("version", func(r *hr) string { return r.Version }), httpMaxVersion),
	fInt("status", func(r *hr) int { return r.Status }),
	sized(fStr("reason", func(r *hr) string { return r.Reason }), httpMaxReason),
	fInt("response_bytes", func(r *hr) int64 { return r.ResponseBytes }),
	fDouble("ttfb_ms", func(r *hr) float64 { return r.TTFBMS }),
	fDouble("rtt_ms", func(r *hr) float64 { return r.RTTMS }),
	fDouble("total_ms", func(r *hr) float64 { return r.TotalMS }),
	fBool("complete", func(r *hr) bool { return r.Complete }),
	fInt("content_length", func(r *hr) int64 { return r.ContentLength }),
	fBool("chunked", func(r *hr) bool { return r.Chunked }),
	fBool("gap", func(r *hr) bool { return r.Gap }),
)

type tr = flows.TLSRecord

var tlsFields = append(flowRefFields(func(r *tr) *flows.FlowRef { return &r.FlowRef }),
	fTime("client_hello_time", func(r *tr) flows.Time { return r.ClientHelloTime }),
	sized(fStr("sni", func(r *tr) string { return r.SNI }), tlsMaxSNI),
	// An ALPN name is at most 255 bytes (a one-byte length).
	sizedList(fStrings("alpn", func(r *tr) []string { return r.ALPN }), tlsMaxALPN, 255),
	// supported_versions holds at most 127 versions (a one-byte length
	// of two-byte values); a name is "TLS 1.3" or "0x7f1c".
	sizedList(fStrings("offered_versions", func(r *tr) []string { return r.OfferedVersions }), 127, 16),
	fStr("version", func(r *tr) string { return r.Version }),
	fStr("cipher", func(r *tr) string { return r.Cipher }),
	// JA3 lists the hello's values in decimal, each at most 5 digits and
	// a separator for 2 bytes of a hello of at most tlsMaxMessage bytes.
	sized(fStr("ja3", func(r *tr) string { return r.JA3 }), tlsMaxMessage*3),
	fStr("ja3_hash", func(r *tr) string { return r.JA3Hash }),
	fStr("ja4", func(r *tr) string { return r.JA4 }),
	fBool("server_hello", func(r *tr) bool { return r.ServerHello }),
	fBool("established", func(r *tr) bool { return r.Established }),
	fDouble("handshake_ms", func(r *tr) float64 { return r.HandshakeMS }),
	fDouble("server_hello_ms", func(r *tr) float64 { return r.ServerHelloMS }),
	fDouble("rtt_ms", func(r *tr) float64 { return r.RTTMS }),
	fInt("hello_retransmissions", func(r *tr) int { return r.HelloRetransmissions }),
	fDouble("hello_wait_ms", func(r *tr) float64 { return r.HelloWaitMS }),
	fStr("alert_level", func(r *tr) string { return r.AlertLevel }),
	fStr("alert", func(r *tr) string { return r.Alert }),
	fStr("alert_from", func(r *tr) string { return r.AlertFrom }),
	fStr("outcome", func(r *tr) string { return r.Outcome }),
	fStr("reset_by", func(r *tr) string { return r.ResetBy }),
)

type ir = flows.ICMPRecord

var icmpFields = []celField{
	fTime("time", func(r *ir) flows.Time { return r.Time }),
	fStr("community_id", func(r *ir) string { return r.CommunityID }),
	fStr("proto", func(r *ir) string { return r.Proto }),
	fStr("src_addr", func(r *ir) string { return r.SrcAddr }),
	fStr("dst_addr", func(r *ir) string { return r.DstAddr }),
	fInt("type", func(r *ir) int { return r.Type }),
	fInt("code", func(r *ir) int { return r.Code }),
	fStr("kind", func(r *ir) string { return r.Kind }),
	fStr("description", func(r *ir) string { return r.Description }),
	fInt("next_hop_mtu", func(r *ir) int { return r.NextHopMTU }),
	fStr("quoted_proto", func(r *ir) string { return r.QuotedProto }),
	fStr("quoted_src_addr", func(r *ir) string { return r.QuotedSrcAddr }),
	fInt("quoted_src_port", func(r *ir) uint16 { return r.QuotedSrcPort }),
	fStr("quoted_dst_addr", func(r *ir) string { return r.QuotedDstAddr }),
	fInt("quoted_dst_port", func(r *ir) uint16 { return r.QuotedDstPort }),
	fInt("quoted_len", func(r *ir) int { return r.QuotedLen }),
	fInt("quoted_seq", func(r *ir) uint32 { return r.QuotedSeq }),
	fStr("quoted_community_id", func(r *ir) string { return r.QuotedCommunityID }),
}

// celKind is one record kind as CEL sees it: the variable a rule on that
// kind reads, its object type and its fields.
type celKind struct {
	kind   EventKind
	typ    *types.Type
	fields []celField
	byName map[string]*types.FieldType
	names  []string
	sizes  map[string]cost.SizeEstimate // string and list fields' bounds
}

func newCELKind(k EventKind, typeName string, fields []celField) *celKind {
	c := &celKind{kind: k, typ: types.NewObjectType(typeName), fields: fields, byName: map[string]*types.FieldType{}, sizes: map[string]cost.SizeEstimate{}}
	for _, f := range fields {
		switch f.typ {
		case types.StringType:
			c.sizes[f.name] = cost.RangedSizeEstimate(0, cmp.Or(f.size, maxCELString))
		case stringListType:
			elem := cost.RangedSizeEstimate(0, cmp.Or(f.elem, maxCELString))
			c.sizes[f.name] = cost.SizeEstimate{Min: 0, Max: cmp.Or(f.size, maxCELList), Elem: &elem}
		}
		if _, dup := c.byName[f.name]; dup {
			panic("rules: CEL field " + f.name + " declared twice for " + typeName)
		}
		get := f.get
		c.byName[f.name] = &types.FieldType{
			Type:  f.typ,
			IsSet: f.set,
			GetFrom: func(o any) (any, error) {
				if v := get(o); v != nil {
					return v, nil
				}
				return nil, errWrongRecord
			},
		}
		c.names = append(c.names, f.name)
	}
	return c
}

// celKinds are indexed by EventKind; the variable name is the kind's name.
var celKinds = [numEventKinds]*celKind{
	EventFlow: newCELKind(EventFlow, "pcapx.Flow", flowFields),
	EventDNS:  newCELKind(EventDNS, "pcapx.DNS", dnsFields),
	EventHTTP: newCELKind(EventHTTP, "pcapx.HTTP", httpFields),
	EventTLS:  newCELKind(EventTLS, "pcapx.TLS", tlsFields),
	EventICMP: newCELKind(EventICMP, "pcapx.ICMP", icmpFields),
}

// celProvider adds the record types to CEL's standard type registry.
type celProvider struct {
	types.Provider
	kind *celKind
}

func (p *celProvider) own(name string) bool { return name == p.kind.typ.TypeName() }

func (p *celProvider) FindStructType(name string) (*types.Type, bool) {
	if p.own(name) {
		return types.NewTypeTypeWithParam(p.kind.typ), true
	}
	return p.Provider.FindStructType(name)
}

func (p *celProvider) FindStructFieldNames(name string) ([]string, bool) {
	if p.own(name) {
		return p.kind.names, true
	}
	return p.Provider.FindStructFieldNames(name)
}

func (p *celProvider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if p.own(name) {
		ft, ok := p.kind.byName[field]
		return ft, ok
	}
	return p.Provider.FindStructFieldType(name, field)
}

func (p *celProvider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if p.own(name) {
		return types.NewErr("%s values cannot be constructed in a rule", name)
	}
	return p.Provider.NewValue(name, fields)
}

// recordVal is a record as a CEL value. A checker reuses one, pointing it
// at each record in turn, so binding a record allocates nothing.
type recordVal struct {
	kind *celKind
	rec  any // *flows.Record, *flows.DNSRecord, ...
}

func (v *recordVal) ConvertToNative(t reflect.Type) (any, error) {
	if reflect.TypeOf(v.rec) == t {
		return v.rec, nil
	}
	return nil, fmt.Errorf("%s cannot be converted to %v", v.kind.typ.TypeName(), t)
}

func (v *recordVal) ConvertToType(t ref.Type) ref.Val {
	switch {
	case t == types.TypeType:
		return v.kind.typ
	case t.TypeName() == v.kind.typ.TypeName():
		return v
	}
	return types.NewErr("type conversion error from '%s' to '%s'", v.kind.typ.TypeName(), t.TypeName())
}

func (v *recordVal) Equal(o ref.Val) ref.Val {
	ov, ok := o.(*recordVal)
	return types.Bool(ok && ov.rec == v.rec)
}

func (v *recordVal) Type() ref.Type { return v.kind.typ }
func (v *recordVal) Value() any     { return v.rec }

// oneVar is the activation of a rule: its one variable, the record.
type oneVar struct {
	name string
	val  recordVal
}

func (a *oneVar) ResolveName(n string) (any, bool) {
	if n == a.name {
		return &a.val, true
	}
	return nil, false
}

func (a *oneVar) Parent() interpreter.Activation { return nil }

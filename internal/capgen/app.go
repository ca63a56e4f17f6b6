package capgen

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Application payloads: just enough HTTP/1.1, DNS and TLS to give parsers
// realistic bytes.

// HTTPRequest returns an HTTP/1.1 request head with a Host header and the
// extra header lines ("Name: value").
func HTTPRequest(method, host, target string, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, host)
	for _, h := range headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// HTTPResponse returns an HTTP/1.1 response with a Content-Length header,
// the extra header lines, and body.
func HTTPResponse(status int, body []byte, headers ...string) []byte {
	return append(HTTPResponseHead(status, len(body), headers...), body...)
}

// HTTPResponseHead returns the head of an HTTP/1.1 response whose body has
// bodyLen bytes.
func HTTPResponseHead(status, bodyLen int, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	for _, h := range headers {
		b.WriteString(h)
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", bodyLen)
	return []byte(b.String())
}

// DNS record types and response codes used by the builders.
const (
	DNSTypeA     uint16 = 1
	DNSTypeCNAME uint16 = 5
	DNSTypeSOA   uint16 = 6
	DNSTypeTXT   uint16 = 16
	DNSTypeAAAA  uint16 = 28
	DNSTypeOPT   uint16 = 41

	RcodeNoError  uint8 = 0
	RcodeFormErr  uint8 = 1
	RcodeServFail uint8 = 2
	RcodeNXDomain uint8 = 3
	RcodeNotImp   uint8 = 4
	RcodeRefused  uint8 = 5
)

// DNSRecord is a resource record; Data is the encoded RDATA.
type DNSRecord struct {
	Name string
	Type uint16
	TTL  uint32
	Data []byte
}

// DNSAddr returns an A or AAAA record (by the address family).
func DNSAddr(name string, ttl uint32, a netip.Addr) DNSRecord {
	if a.Is4() {
		b := a.As4()
		return DNSRecord{Name: name, Type: DNSTypeA, TTL: ttl, Data: b[:]}
	}
	b := a.As16()
	return DNSRecord{Name: name, Type: DNSTypeAAAA, TTL: ttl, Data: b[:]}
}

// DNSCNAME returns a CNAME record.
func DNSCNAME(name string, ttl uint32, target string) DNSRecord {
	return DNSRecord{Name: name, Type: DNSTypeCNAME, TTL: ttl, Data: appendDNSName(nil, target)}
}

// DNSTXT returns a TXT record holding the strings (each up to 255 bytes).
func DNSTXT(name string, ttl uint32, texts ...string) DNSRecord {
	var d []byte
	for _, t := range texts {
		d = append(d, byte(len(t)))
		d = append(d, t...)
	}
	return DNSRecord{Name: name, Type: DNSTypeTXT, TTL: ttl, Data: d}
}

// appendDNSName encodes a dotted name as labels. Labels may hold any bytes
// except '.', so hostile names (markup, control characters) survive.
func appendDNSName(b []byte, name string) []byte {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return append(b, 0)
	}
	return appendDNSLabels(b, strings.Split(name, "."))
}

// appendDNSLabels encodes labels that may hold any bytes, '.' included.
func appendDNSLabels(b []byte, labels []string) []byte {
	for _, l := range labels {
		if len(l) > 63 {
			l = l[:63]
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// DNSQueryLabels is DNSQuery for a name given as its labels, which may
// hold any bytes, a '.' included.
func DNSQueryLabels(id uint16, labels []string, qtype uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	b = appendDNSLabels(b, labels)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

// DNSResponseLabels is the answerless response to DNSQueryLabels with the
// response code.
func DNSResponseLabels(id uint16, labels []string, qtype uint16, rcode uint8) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x81, 0x80|rcode&0xf, 0, 1, 0, 0, 0, 0, 0, 0)
	b = appendDNSLabels(b, labels)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

// DNSQuery returns a recursive query (RD set) for name and qtype.
func DNSQuery(id uint16, name string, qtype uint16) []byte {
	b := make([]byte, 0, 32+len(name))
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0)
	b = appendDNSName(b, name)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

// DNSResponse returns the response to DNSQuery(id, name, qtype) with the
// response code and answers. Answer names equal to the question name are
// compressed to a pointer to it.
func DNSResponse(id uint16, name string, qtype uint16, rcode uint8, answers ...DNSRecord) []byte {
	b := make([]byte, 0, 64+len(name))
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0x81, 0x80|rcode&0xf, 0, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(answers)))
	b = append(b, 0, 0, 0, 0)
	b = appendDNSName(b, name)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1)
	for _, r := range answers {
		if strings.TrimSuffix(r.Name, ".") == strings.TrimSuffix(name, ".") {
			b = append(b, 0xc0, 12)
		} else {
			b = appendDNSName(b, r.Name)
		}
		b = binary.BigEndian.AppendUint16(b, r.Type)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, r.TTL)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.Data)))
		b = append(b, r.Data...)
	}
	return b
}

// DNSWithOpcode returns a copy of a DNS message (DNSQuery, DNSResponse)
// with its opcode and recursion-desired bit set: an UPDATE (opcode 5,
// whose question section is the zone with type SOA) or NOTIFY (4), or a
// non-recursive query (opcode 0, rd false).
func DNSWithOpcode(msg []byte, opcode uint8, rd bool) []byte {
	b := append([]byte(nil), msg...)
	b[2] = b[2]&0x86 | (opcode&0x0f)<<3 // keep QR, AA, TC
	if rd {
		b[2] |= 0x01
	}
	return b
}

// DNSOverTCP prefixes a DNS message with its 2-byte length (RFC 1035 4.2.2).
func DNSOverTCP(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
}

// TLS versions and record types.
const (
	TLS10 uint16 = 0x0301
	TLS12 uint16 = 0x0303
	TLS13 uint16 = 0x0304

	tlsChangeCipherSpec = 20
	tlsAlert            = 21
	tlsHandshake        = 22
	tlsApplicationData  = 23
)

// TLS alert descriptions often seen when a handshake is rejected.
const (
	AlertCloseNotify        uint8 = 0
	AlertHandshakeFailure   uint8 = 40
	AlertBadCertificate     uint8 = 42
	AlertUnknownCA          uint8 = 48
	AlertProtocolVersion    uint8 = 70
	AlertInternalError      uint8 = 80
	AlertUnrecognizedName   uint8 = 112
	AlertNoApplicationProto uint8 = 120
	AlertLevelWarning       uint8 = 1
	AlertLevelFatal         uint8 = 2
)

// ClientHello describes a TLS ClientHello. Zero fields get a modern
// browser-like default (TLS 1.3 with 1.2 fallback).
type ClientHello struct {
	SNI          string
	ALPN         []string // default h2, http/1.1
	CipherSuites []uint16
	Versions     []uint16 // supported_versions; default TLS 1.3, 1.2; set {TLS12} for a 1.2-only hello (no extension)
	Random       [32]byte // zero: derived from SNI
	SessionID    []byte   // nil: 32 bytes derived from SNI
	GREASE       bool     // add a GREASE cipher suite and extension (RFC 8701)
}

// DefaultCipherSuites is the cipher list of ClientHello when none is given.
var DefaultCipherSuites = []uint16{0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8,
	0xc02c, 0xc030, 0xc00a, 0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035}

func derived(seed string, n int) []byte {
	b := make([]byte, 0, n)
	h := fnv32([]byte(seed))
	for len(b) < n {
		h ^= h << 13
		h ^= h >> 17
		h ^= h << 5
		b = binary.BigEndian.AppendUint32(b, h)
	}
	return b[:n]
}

func appendExt(b []byte, typ uint16, data []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

func u16list(prefixLen int, vals ...uint16) []byte {
	var b []byte
	if prefixLen == 2 {
		b = binary.BigEndian.AppendUint16(b, uint16(2*len(vals)))
	} else {
		b = append(b, byte(2*len(vals)))
	}
	for _, v := range vals {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

// tlsRecord wraps a body into a TLS record of the given type.
func tlsRecord(typ uint8, version uint16, body []byte) []byte {
	b := []byte{typ}
	b = binary.BigEndian.AppendUint16(b, version)
	b = binary.BigEndian.AppendUint16(b, uint16(len(body)))
	return append(b, body...)
}

func handshakeMsg(typ uint8, body []byte) []byte {
	b := []byte{typ, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}
	return append(b, body...)
}

// TLSClientHello returns a TLS record holding the ClientHello.
func TLSClientHello(h ClientHello) []byte {
	seed := "client:" + h.SNI
	if h.Random == ([32]byte{}) {
		copy(h.Random[:], derived(seed, 32))
	}
	if h.SessionID == nil {
		h.SessionID = derived(seed+":sid", 32)
	}
	if h.ALPN == nil {
		h.ALPN = []string{"h2", "http/1.1"}
	}
	if h.CipherSuites == nil {
		h.CipherSuites = DefaultCipherSuites
	}
	if h.Versions == nil {
		h.Versions = []uint16{TLS13, TLS12}
	}
	tls13 := !(len(h.Versions) == 1 && h.Versions[0] <= TLS12)
	suites := h.CipherSuites
	if h.GREASE {
		suites = append([]uint16{0x0a0a}, suites...)
	}
	b := binary.BigEndian.AppendUint16(nil, TLS12)
	b = append(b, h.Random[:]...)
	b = append(b, byte(len(h.SessionID)))
	b = append(b, h.SessionID...)
	b = append(b, u16list(2, suites...)...)
	b = append(b, 1, 0) // compression: null
	var ext []byte
	if h.GREASE {
		ext = appendExt(ext, 0x1a1a, nil)
	}
	if h.SNI != "" {
		var sn []byte
		sn = binary.BigEndian.AppendUint16(sn, uint16(3+len(h.SNI)))
		sn = append(sn, 0)
		sn = binary.BigEndian.AppendUint16(sn, uint16(len(h.SNI)))
		sn = append(sn, h.SNI...)
		ext = appendExt(ext, 0, sn)
	}
	ext = appendExt(ext, 23, nil)           // extended_master_secret
	ext = appendExt(ext, 0xff01, []byte{0}) // renegotiation_info
	ext = appendExt(ext, 10, u16list(2, 0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101))
	ext = appendExt(ext, 11, []byte{1, 0}) // ec_point_formats: uncompressed
	ext = appendExt(ext, 35, nil)          // session_ticket
	if len(h.ALPN) > 0 {
		var al []byte
		for _, p := range h.ALPN {
			al = append(al, byte(len(p)))
			al = append(al, p...)
		}
		ext = appendExt(ext, 16, append(binary.BigEndian.AppendUint16(nil, uint16(len(al))), al...))
	}
	ext = appendExt(ext, 5, []byte{1, 0, 0, 0, 0}) // status_request
	if tls13 {
		ks := binary.BigEndian.AppendUint16(nil, 36)
		ks = binary.BigEndian.AppendUint16(ks, 0x001d)
		ks = binary.BigEndian.AppendUint16(ks, 32)
		ks = append(ks, derived(seed+":ks", 32)...)
		ext = appendExt(ext, 51, ks) // key_share: x25519
		ext = appendExt(ext, 43, u16list(1, h.Versions...))
	}
	ext = appendExt(ext, 13, u16list(2, 0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201))
	if tls13 {
		ext = appendExt(ext, 45, []byte{1, 1}) // psk_key_exchange_modes: psk_dhe_ke
	}
	ext = appendExt(ext, 28, []byte{0x40, 0x01}) // record_size_limit
	b = binary.BigEndian.AppendUint16(b, uint16(len(ext)))
	b = append(b, ext...)
	return tlsRecord(tlsHandshake, TLS10, handshakeMsg(1, b))
}

// ServerHello describes a TLS ServerHello.
type ServerHello struct {
	Version     uint16 // TLS13 (default: via supported_versions), TLS12, or older (TLS10) as legacy_version
	CipherSuite uint16 // default 0x1301 (TLS 1.3) or 0xc02f (TLS 1.2)
	Random      [32]byte
	SessionID   []byte // echoed session id
	ALPN        string
	Seed        string // seeds derived random values
}

// TLSServerHello returns the records a server sends first: the
// ServerHello, and for TLS 1.3 a ChangeCipherSpec (middlebox compatibility).
func TLSServerHello(h ServerHello) []byte {
	if h.Version == 0 {
		h.Version = TLS13
	}
	if h.CipherSuite == 0 {
		h.CipherSuite = 0x1301
		if h.Version <= TLS12 {
			h.CipherSuite = 0xc02f
		}
	}
	if h.Random == ([32]byte{}) {
		copy(h.Random[:], derived("server:"+h.Seed, 32))
	}
	b := binary.BigEndian.AppendUint16(nil, min(h.Version, TLS12))
	b = append(b, h.Random[:]...)
	b = append(b, byte(len(h.SessionID)))
	b = append(b, h.SessionID...)
	b = binary.BigEndian.AppendUint16(b, h.CipherSuite)
	b = append(b, 0)
	var ext []byte
	if h.Version >= TLS13 {
		ext = appendExt(ext, 43, binary.BigEndian.AppendUint16(nil, h.Version))
		ks := binary.BigEndian.AppendUint16(nil, 0x001d)
		ks = binary.BigEndian.AppendUint16(ks, 32)
		ks = append(ks, derived("server:"+h.Seed+":ks", 32)...)
		ext = appendExt(ext, 51, ks)
	} else {
		ext = appendExt(ext, 0xff01, []byte{0})
		ext = appendExt(ext, 23, nil)
		if h.ALPN != "" {
			al := append([]byte{byte(len(h.ALPN))}, h.ALPN...)
			ext = appendExt(ext, 16, append(binary.BigEndian.AppendUint16(nil, uint16(len(al))), al...))
		}
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(ext)))
	b = append(b, ext...)
	out := tlsRecord(tlsHandshake, TLS12, handshakeMsg(2, b))
	if h.Version >= TLS13 {
		out = append(out, TLSChangeCipherSpec()...)
	}
	return out
}

// TLSChangeCipherSpec returns a ChangeCipherSpec record.
func TLSChangeCipherSpec() []byte { return tlsRecord(tlsChangeCipherSpec, TLS12, []byte{1}) }

// TLSAlert returns a plaintext alert record.
func TLSAlert(level, desc uint8) []byte { return tlsRecord(tlsAlert, TLS12, []byte{level, desc}) }

// TLSApplicationData returns an application data record around p (what
// encrypted traffic looks like on the wire).
func TLSApplicationData(p []byte) []byte { return tlsRecord(tlsApplicationData, TLS12, p) }

// SSLv2ClientHello returns an SSLv2-compatible ClientHello record, as old
// clients and some scanners send it first: a 2-byte header with the high
// bit set, message type 1, version, the 3-byte cipher specs (a TLS suite
// s is 0x0000ss; SSL 2.0 kinds have a non-zero first byte), no session id,
// and a 16-byte challenge derived from seed.
func SSLv2ClientHello(version uint16, specs []uint32, seed string) []byte {
	challenge := derived("sslv2:"+seed, 16)
	m := []byte{1}
	m = binary.BigEndian.AppendUint16(m, version)
	m = binary.BigEndian.AppendUint16(m, uint16(3*len(specs)))
	m = binary.BigEndian.AppendUint16(m, 0)
	m = binary.BigEndian.AppendUint16(m, uint16(len(challenge)))
	for _, s := range specs {
		m = append(m, byte(s>>16), byte(s>>8), byte(s))
	}
	m = append(m, challenge...)
	return append([]byte{0x80 | byte(len(m)>>8), byte(len(m))}, m...)
}

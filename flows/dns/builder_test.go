package dns

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// msgBuilder writes DNS messages for tests, with name compression.
type msgBuilder struct {
	b     []byte
	names map[string]int // lower-case suffix → offset, for compression
	noCmp bool
}

type hdr struct {
	id             uint16
	qr             bool
	opcode         uint8
	aa, tc, rd, ra bool
	rcode          uint8
	qd, an, ns, ar uint16
}

func newMsg(h hdr) *msgBuilder {
	m := &msgBuilder{b: make([]byte, 12), names: map[string]int{}}
	binary.BigEndian.PutUint16(m.b, h.id)
	var f1, f2 byte
	if h.qr {
		f1 |= 0x80
	}
	f1 |= h.opcode << 3
	if h.aa {
		f1 |= 4
	}
	if h.tc {
		f1 |= 2
	}
	if h.rd {
		f1 |= 1
	}
	if h.ra {
		f2 |= 0x80
	}
	f2 |= h.rcode & 0xf
	m.b[2], m.b[3] = f1, f2
	binary.BigEndian.PutUint16(m.b[4:], h.qd)
	binary.BigEndian.PutUint16(m.b[6:], h.an)
	binary.BigEndian.PutUint16(m.b[8:], h.ns)
	binary.BigEndian.PutUint16(m.b[10:], h.ar)
	return m
}

// name writes a dotted name ("" or "." is the root), compressing suffixes
// already written. Labels are split on '.', so a test that needs a dot
// inside a label uses rawName.
func (m *msgBuilder) name(n string) *msgBuilder {
	n = strings.TrimSuffix(n, ".")
	for n != "" {
		if off, ok := m.names[strings.ToLower(n)]; ok && !m.noCmp {
			m.b = append(m.b, 0xc0|byte(off>>8), byte(off))
			return m
		}
		if len(m.b) < 0x3fff {
			m.names[strings.ToLower(n)] = len(m.b)
		}
		label, rest, _ := strings.Cut(n, ".")
		m.b = append(m.b, byte(len(label)))
		m.b = append(m.b, label...)
		n = rest
	}
	m.b = append(m.b, 0)
	return m
}

// rawName writes labels as given, uncompressed.
func (m *msgBuilder) rawName(labels ...string) *msgBuilder {
	for _, l := range labels {
		m.b = append(m.b, byte(len(l)))
		m.b = append(m.b, l...)
	}
	m.b = append(m.b, 0)
	return m
}

func (m *msgBuilder) u16(v uint16) *msgBuilder  { m.b = binary.BigEndian.AppendUint16(m.b, v); return m }
func (m *msgBuilder) u32(v uint32) *msgBuilder  { m.b = binary.BigEndian.AppendUint32(m.b, v); return m }
func (m *msgBuilder) raw(p ...byte) *msgBuilder { m.b = append(m.b, p...); return m }

func (m *msgBuilder) question(n string, qtype uint16) *msgBuilder {
	return m.name(n).u16(qtype).u16(ClassIN)
}

func (m *msgBuilder) rr(n string, typ uint16, ttl uint32, rdata []byte) *msgBuilder {
	m.name(n).u16(typ).u16(ClassIN).u32(ttl).u16(uint16(len(rdata)))
	m.b = append(m.b, rdata...)
	return m
}

func (m *msgBuilder) addr(n string, a netip.Addr) *msgBuilder {
	if a.Is4() {
		b := a.As4()
		return m.rr(n, TypeA, 300, b[:])
	}
	b := a.As16()
	return m.rr(n, TypeAAAA, 300, b[:])
}

// cname writes a CNAME whose target is compressed against earlier names.
func (m *msgBuilder) cname(n, target string) *msgBuilder {
	m.name(n).u16(TypeCNAME).u16(ClassIN).u32(60)
	lenAt := len(m.b)
	m.u16(0)
	m.name(target)
	binary.BigEndian.PutUint16(m.b[lenAt:], uint16(len(m.b)-lenAt-2))
	return m
}

// opt writes an EDNS OPT record (RFC 6891) with the extended rcode.
func (m *msgBuilder) opt(size uint16, extRcode uint8, do bool) *msgBuilder {
	ttl := uint32(extRcode) << 24
	if do {
		ttl |= 0x8000
	}
	m.b = append(m.b, 0)
	return m.u16(TypeOPT).u16(size).u32(ttl).u16(0)
}

func (m *msgBuilder) bytes() []byte { return m.b }

// tcpFrame prefixes each message with its 2-byte length.
func tcpFrame(msgs ...[]byte) []byte {
	var out []byte
	for _, m := range msgs {
		out = binary.BigEndian.AppendUint16(out, uint16(len(m)))
		out = append(out, m...)
	}
	return out
}

// Typical messages, shared by tests, benchmarks and the fuzz seeds.

func sampleQuery(id uint16, name string, qtype uint16) []byte {
	return newMsg(hdr{id: id, rd: true, qd: 1, ar: 1}).question(name, qtype).opt(1232, 0, false).bytes()
}

func sampleResponse() []byte {
	return newMsg(hdr{id: 0x1234, qr: true, rd: true, ra: true, qd: 1, an: 4, ar: 1}).
		question("www.Example.com", TypeA).
		cname("www.example.com", "edge.example.net").
		addr("edge.example.net", netip.MustParseAddr("192.0.2.1")).
		addr("edge.example.net", netip.MustParseAddr("192.0.2.2")).
		addr("edge.example.net", netip.MustParseAddr("2001:db8::1")).
		opt(1232, 0, true).bytes()
}

func sampleBadCookie() []byte {
	// Header rcode 7 + extended rcode 1 → 23 BADCOOKIE (RFC 7873).
	return newMsg(hdr{id: 7, qr: true, rcode: 7, qd: 1, ar: 1}).question("example.org", TypeSOA).opt(4096, 1, false).bytes()
}

func sampleNXDomain() []byte {
	return newMsg(hdr{id: 9, qr: true, rd: true, ra: true, rcode: RcodeNXDomain, qd: 1, ns: 1}).
		question("nope.example", TypeAAAA).
		rr("example", TypeSOA, 900, make([]byte, 22)).bytes()
}

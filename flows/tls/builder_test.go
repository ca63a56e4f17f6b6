package tls

import "encoding/binary"

// A small TLS message builder for tests: hello bodies, handshake headers,
// records (optionally fragmented), alerts.

type ext struct {
	typ  uint16
	data []byte
}

type clientHelloSpec struct {
	version     uint16
	sessionID   []byte
	ciphers     []uint16
	compression []byte
	exts        []ext
	noExts      bool // no extensions block at all (SSL 3.0 style)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func vec8(b []byte) []byte  { return append([]byte{byte(len(b))}, b...) }
func vec16(b []byte) []byte { return append(be16(uint16(len(b))), b...) }

func u16list(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

func (s clientHelloSpec) body() []byte {
	b := be16(s.version)
	for i := 0; i < 32; i++ {
		b = append(b, byte(i))
	}
	b = append(b, vec8(s.sessionID)...)
	b = append(b, vec16(u16list(s.ciphers...))...)
	comp := s.compression
	if comp == nil {
		comp = []byte{0}
	}
	b = append(b, vec8(comp)...)
	if s.noExts {
		return b
	}
	var e []byte
	for _, x := range s.exts {
		e = binary.BigEndian.AppendUint16(e, x.typ)
		e = append(e, vec16(x.data)...)
	}
	return append(b, vec16(e)...)
}

type serverHelloSpec struct {
	version     uint16
	random      []byte // 32 bytes; nil: a fixed pattern
	cipher      uint16
	exts        []ext
	noExts      bool
	compression byte
}

func (s serverHelloSpec) body() []byte {
	b := be16(s.version)
	if s.random != nil {
		b = append(b, s.random...)
	} else {
		for i := 0; i < 32; i++ {
			b = append(b, byte(0x40+i))
		}
	}
	b = append(b, vec8([]byte{1, 2, 3, 4})...)
	b = append(b, be16(s.cipher)...)
	b = append(b, s.compression)
	if s.noExts {
		return b
	}
	var e []byte
	for _, x := range s.exts {
		e = binary.BigEndian.AppendUint16(e, x.typ)
		e = append(e, vec16(x.data)...)
	}
	return append(b, vec16(e)...)
}

// Extension payloads.
func extSNI(name string) ext {
	entry := append([]byte{0}, vec16([]byte(name))...)
	return ext{ExtServerName, vec16(entry)}
}

func extALPN(protos ...string) ext {
	var l []byte
	for _, p := range protos {
		l = append(l, vec8([]byte(p))...)
	}
	return ext{ExtALPN, vec16(l)}
}

func extVersions(vs ...uint16) ext  { return ext{ExtSupportedVersions, vec8(u16list(vs...))} }
func extGroups(gs ...uint16) ext    { return ext{ExtSupportedGroups, vec16(u16list(gs...))} }
func extPointFormats(f ...byte) ext { return ext{ExtECPointFormats, vec8(f)} }
func extSigAlgs(s ...uint16) ext    { return ext{ExtSignatureAlgorithms, vec16(u16list(s...))} }
func extEmpty(t uint16) ext         { return ext{t, nil} }
func extServerVersion(v uint16) ext { return ext{ExtSupportedVersions, be16(v)} }

// handshakeMsg prefixes a body with its 4-byte handshake header.
func handshakeMsg(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// record wraps payload in one record.
func record(typ byte, ver uint16, payload []byte) []byte {
	h := []byte{typ, byte(ver >> 8), byte(ver), byte(len(payload) >> 8), byte(len(payload))}
	return append(h, payload...)
}

// records splits payload into records of at most frag bytes.
func records(typ byte, ver uint16, payload []byte, frag int) []byte {
	var out []byte
	for len(payload) > 0 {
		n := min(frag, len(payload))
		out = append(out, record(typ, ver, payload[:n])...)
		payload = payload[n:]
	}
	return out
}

func alertRecord(ver uint16, level, desc byte) []byte {
	return record(21, ver, []byte{level, desc})
}

func ccsRecord(ver uint16) []byte { return record(20, ver, []byte{1}) }

func appDataRecord(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return record(23, VersionTLS12, b)
}

// chromeLike is the JA4 specification's example ClientHello (15 ciphers,
// 16 extensions, h2, TLS 1.3) with Chrome-style GREASE added: one GREASE
// cipher first, GREASE extensions first and last, GREASE in
// supported_versions and supported_groups.
func chromeLike(sni string) clientHelloSpec {
	return clientHelloSpec{
		version:   VersionTLS12,
		sessionID: make([]byte, 32),
		ciphers: []uint16{0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
			0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		exts: []ext{
			extEmpty(0x3a3a),
			{0x001b, []byte{2, 0, 2}},
			extSNI(sni),
			{0x0033, append(u16list(0x4a4a, 1, 0, 0x001d, 32), make([]byte, 32)...)},
			extALPN("h2", "http/1.1"),
			{0x4469, []byte{0, 3, 2, 'h', '2'}},
			extEmpty(0x0017),
			{0x002d, []byte{1, 1}},
			extSigAlgs(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601),
			{0x0005, []byte{1, 0, 0, 0, 0}},
			extEmpty(0x0023),
			extEmpty(0x0012),
			extVersions(0x5a5a, VersionTLS13, VersionTLS12),
			{0xff01, []byte{0}},
			extPointFormats(0),
			extGroups(0x4a4a, 0x001d, 0x0017, 0x0018),
			{0x0015, make([]byte, 40)},
			{0x1a1a, []byte{0}},
		},
	}
}

// clientHelloRecord returns a ClientHello in one record.
func clientHelloRecord(s clientHelloSpec) []byte {
	return record(22, VersionTLS10, handshakeMsg(1, s.body()))
}

func serverHelloRecord(s serverHelloSpec) []byte {
	return record(22, VersionTLS12, handshakeMsg(2, s.body()))
}

func tls13ServerHello() serverHelloSpec {
	return serverHelloSpec{
		version: VersionTLS12,
		cipher:  0x1301,
		exts: []ext{
			extServerVersion(VersionTLS13),
			{0x0033, append(u16list(0x001d, 32), make([]byte, 32)...)},
		},
	}
}

func tls12ServerHello() serverHelloSpec {
	return serverHelloSpec{
		version: VersionTLS12,
		cipher:  0xc02f,
		exts:    []ext{{0xff01, []byte{0}}, extPointFormats(0), extALPN("h2")},
	}
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// sslv2Hello returns an SSLv2-compatible ClientHello record: a 2-byte
// header with the high bit set, message type 1, the version, the three
// lengths, then the 3-byte cipher specs, the session id and the challenge.
func sslv2Hello(version uint16, specs []uint32, sid, challenge []byte) []byte {
	m := []byte{1}
	m = append(m, be16(version)...)
	m = append(m, be16(uint16(3*len(specs)))...)
	m = append(m, be16(uint16(len(sid)))...)
	m = append(m, be16(uint16(len(challenge)))...)
	for _, s := range specs {
		m = append(m, byte(s>>16), byte(s>>8), byte(s))
	}
	m = append(m, sid...)
	m = append(m, challenge...)
	return append([]byte{0x80 | byte(len(m)>>8), byte(len(m))}, m...)
}

// oldClientSpecs is what a TLS 1.0 client of the OpenSSL 0.9.8 era offers
// in its SSLv2-compatible hello: SSLv2 cipher kinds (first byte non-zero)
// among TLS cipher suites (first byte 0), and the renegotiation SCSV.
var oldClientSpecs = []uint32{0x000039, 0x000038, 0x000035, 0x010080, 0x000004, 0x0700c0, 0x00000a, 0x0000ff}

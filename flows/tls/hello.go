package tls

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// Errors returned by ParseClientHello and ParseServerHello. A hello that
// fails to parse is counted in Result.Malformed by the Parser.
var (
	ErrShort      = errors.New("tls: hello message too short")
	ErrBadLength  = errors.New("tls: hello length field out of bounds")
	ErrExtensions = errors.New("tls: malformed extensions block")
)

// Limits on what a hello may make the parser keep. Lengths on the wire are
// never trusted: every list is bounded by the message it sits in, and the
// strings below are cut (with a flag) rather than kept whole.
const (
	// MaxSNI is the longest server name kept (a DNS name is at most 255
	// bytes, RFC 1035 §2.3.4; RFC 6066 allows 65535 on the wire).
	MaxSNI = 255
	// MaxALPN is the most ALPN protocol names kept from one hello. Each
	// name is at most 255 bytes by construction (1-byte length).
	MaxALPN = 32
)

// Extension types the parser decodes (IANA "TLS ExtensionType Values").
const (
	ExtServerName          = 0x0000
	ExtSupportedGroups     = 0x000a
	ExtECPointFormats      = 0x000b
	ExtSignatureAlgorithms = 0x000d
	ExtALPN                = 0x0010
	ExtPadding             = 0x0015
	ExtSupportedVersions   = 0x002b
	ExtKeyShare            = 0x0033
	ExtRenegotiationInfo   = 0xff01
)

// ClientHello is what a ClientHello message says. The lists are exactly as
// sent, in wire order, GREASE values included (RFC 8701); the fingerprints
// leave GREASE out. Strings (SNI, ALPN) are the raw bytes of the capture and
// may hold anything: escaping them is the job of whoever prints them.
type ClientHello struct {
	Time          int64  // capture time (ns) of the segment carrying the message's first byte
	RecordVersion uint16 // version in the header of the record the message started in
	Version       uint16 // legacy_version (client_version before TLS 1.3)

	SNI          string // first host_name of server_name (extension 0), at most MaxSNI bytes
	SNITruncated bool   // the name on the wire was longer than MaxSNI
	HasSNI       bool   // the server_name extension is present (even if empty or malformed)
	ALPN         []string
	ALPNDropped  int // ALPN names beyond MaxALPN that were not kept

	SupportedVersions   []uint16 // extension 43, nil when absent
	CipherSuites        []uint16
	Extensions          []uint16 // extension types in order
	SupportedGroups     []uint16 // extension 10 (elliptic_curves in JA3)
	ECPointFormats      []uint8  // extension 11
	SignatureAlgorithms []uint16 // extension 13
	SessionIDLen        int
	Compression         []uint8 // compression methods

	JA3     string // Salesforce JA3 string (GREASE removed); "" for an SSLv2 hello
	JA3Hash string // md5 of JA3, lower-case hex; "" for an SSLv2 hello
	JA4     string // FoxIO JA4 for TLS over TCP ("t" prefix); "" for an SSLv2 hello

	// SSLv2: the hello came in the SSLv2-compatible format (see
	// ParseSSLv2ClientHello): no extensions, and no fingerprints.
	SSLv2 bool
}

// MaxVersion is the highest version the client offers: the largest
// non-GREASE value of supported_versions when present, else Version.
func (c *ClientHello) MaxVersion() uint16 {
	if c.SupportedVersions == nil {
		return c.Version
	}
	var m uint16
	for _, v := range c.SupportedVersions {
		if !IsGREASE(v) && v > m {
			m = v
		}
	}
	return m
}

// ServerHello is what a ServerHello (or HelloRetryRequest) message says.
type ServerHello struct {
	Time            int64  // capture time (ns) of the segment carrying the message's first byte
	RecordVersion   uint16 // version in the header of the record the message started in
	Version         uint16 // legacy_version (server_version before TLS 1.3)
	SelectedVersion uint16 // supported_versions extension (TLS 1.3), 0 when absent
	CipherSuite     uint16
	Compression     uint8
	Extensions      []uint16 // extension types in order
	ALPN            string   // the selected protocol, "" when none
	// HelloRetryRequest is set when the random is the RFC 8446 §4.1.3
	// magic value: the server asks for a second ClientHello.
	HelloRetryRequest bool
}

// NegotiatedVersion is SelectedVersion when the server sent one, else Version.
func (s *ServerHello) NegotiatedVersion() uint16 {
	if s.SelectedVersion != 0 {
		return s.SelectedVersion
	}
	return s.Version
}

// helloRetryRandom is SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// reader is a bounds-checked cursor over a message. Every read checks the
// remaining length; a failed read sets bad and returns zero values, so the
// parsers check once per structure instead of once per field.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() uint8 {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.bad = true
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// vec8 and vec16 read a vector with a 1- or 2-byte length prefix.
func (r *reader) vec8() []byte  { return r.bytes(int(r.u8())) }
func (r *reader) vec16() []byte { return r.bytes(int(r.u16())) }

// u16s decodes big-endian uint16s from b (len(b) even) into dst[:0].
func u16s(dst []uint16, b []byte) []uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		dst = append(dst, binary.BigEndian.Uint16(b[i:]))
	}
	return dst
}

// ParseClientHello parses the body of a ClientHello handshake message (the
// bytes after the 4-byte handshake header) and computes its fingerprints.
// Time and RecordVersion are left zero. It never keeps a reference to body.
// QUIC callers can hand it the message from CRYPTO frames and call JA4For('q').
func ParseClientHello(body []byte) (*ClientHello, error) {
	c := &ClientHello{}
	if err := c.parse(body); err != nil {
		return nil, err
	}
	return c, nil
}

// parse fills c from a ClientHello body.
func (c *ClientHello) parse(body []byte) error {
	r := reader{b: body}
	c.Version = r.u16()
	r.bytes(32) // random
	sid := r.vec8()
	c.SessionIDLen = len(sid)
	ciphers := r.vec16()
	comp := r.vec8()
	if r.bad {
		return ErrShort
	}
	if len(ciphers)%2 != 0 {
		return ErrBadLength
	}
	var exts []byte
	hasExts := len(r.b) > 0
	if hasExts {
		exts = r.vec16()
		if r.bad {
			return ErrExtensions
		}
		// Bytes after the extensions block are ignored (as OpenSSL and
		// Wireshark do for trailing padding).
	}

	// First pass: walk the extensions, validate the framing, and note where
	// each list lives so that one allocation holds all the uint16 lists.
	var sni, alpn, sv, groups, pf, sigs []byte
	var nExt int
	var seen [7]bool // first occurrence of each decoded extension wins
	for x := (reader{b: exts}); len(x.b) > 0; {
		typ := x.u16()
		data := x.vec16()
		if x.bad {
			return ErrExtensions
		}
		nExt++
		switch typ {
		case ExtServerName:
			if !seen[0] {
				seen[0], c.HasSNI, sni = true, true, data
			}
		case ExtALPN:
			if !seen[1] {
				seen[1], alpn = true, data
			}
		case ExtSupportedVersions:
			if !seen[2] {
				seen[2] = true
				d := reader{b: data}
				sv = d.vec8()
				if d.bad || len(sv)%2 != 0 {
					sv = nil
				}
				if sv == nil {
					sv = []byte{} // present but unusable: still "present"
				}
			}
		case ExtSupportedGroups:
			if !seen[3] {
				seen[3] = true
				d := reader{b: data}
				if groups = d.vec16(); d.bad || len(groups)%2 != 0 {
					groups = nil
				}
			}
		case ExtECPointFormats:
			if !seen[4] {
				seen[4] = true
				d := reader{b: data}
				if pf = d.vec8(); d.bad {
					pf = nil
				}
			}
		case ExtSignatureAlgorithms:
			if !seen[5] {
				seen[5] = true
				d := reader{b: data}
				if sigs = d.vec16(); d.bad || len(sigs)%2 != 0 {
					sigs = nil
				}
			}
		}
	}

	// One backing array for every uint16 list; full slice expressions keep
	// an append by a caller from running into the next list.
	total := len(ciphers)/2 + nExt + len(sv)/2 + len(groups)/2 + len(sigs)/2
	all := make([]uint16, 0, total)
	take := func(b []byte) []uint16 {
		start := len(all)
		all = u16s(all, b)
		return all[start:len(all):len(all)]
	}
	c.CipherSuites = take(ciphers)
	start := len(all)
	for x := (reader{b: exts}); len(x.b) > 0; {
		all = append(all, x.u16())
		x.vec16()
	}
	c.Extensions = all[start:len(all):len(all)]
	if sv != nil {
		c.SupportedVersions = take(sv)
	}
	if groups != nil {
		c.SupportedGroups = take(groups)
	}
	if sigs != nil {
		c.SignatureAlgorithms = take(sigs)
	}
	if pf != nil || len(comp) > 0 {
		small := make([]uint8, 0, len(pf)+len(comp))
		small = append(small, comp...)
		c.Compression = small[:len(comp):len(comp)]
		if pf != nil {
			small = append(small, pf...)
			c.ECPointFormats = small[len(comp):len(small):len(small)]
		}
	}
	if sni != nil {
		c.SNI, c.SNITruncated = parseSNI(sni)
	}
	if alpn != nil {
		c.ALPN, c.ALPNDropped = parseALPN(alpn, MaxALPN)
	}
	c.computeFingerprints()
	return nil
}

// parseSNI returns the first host_name entry of a server_name extension,
// cut to MaxSNI bytes. A malformed list yields what could be read.
func parseSNI(data []byte) (string, bool) {
	d := reader{b: data}
	list := d.vec16()
	for l := (reader{b: list}); len(l.b) > 0; {
		typ := l.u8()
		name := l.vec16()
		if l.bad {
			break
		}
		if typ == 0 {
			if len(name) > MaxSNI {
				return string(name[:MaxSNI]), true
			}
			return string(name), false
		}
	}
	return "", false
}

// parseALPN returns the protocol names of an ALPN extension (at most max of
// them, the number left out as dropped). Parsing stops at the first entry
// whose length runs past the list. The names share one string.
func parseALPN(data []byte, max int) (names []string, dropped int) {
	d := reader{b: data}
	list := d.vec16()
	n, end := 0, 0
	for l := (reader{b: list}); len(l.b) > 0; {
		if l.vec8(); l.bad {
			break
		}
		n++
		if n <= max {
			end = len(list) - len(l.b)
		}
	}
	if n == 0 {
		return nil, 0
	}
	keep := min(n, max)
	all := string(list[:end])
	names = make([]string, 0, keep)
	for off := 0; len(names) < keep; {
		l := int(all[off])
		names = append(names, all[off+1:off+1+l])
		off += 1 + l
	}
	return names, n - keep
}

// ParseServerHello parses the body of a ServerHello handshake message (the
// bytes after the 4-byte handshake header). Time and RecordVersion are left
// zero. It never keeps a reference to body.
func ParseServerHello(body []byte) (*ServerHello, error) {
	r := reader{b: body}
	s := &ServerHello{}
	s.Version = r.u16()
	random := r.bytes(32)
	if s.Version>>8 == 0x7f && s.Version&0xff < 22 {
		// TLS 1.3 drafts before 22 (0x7f00-0x7f15): no session id, no
		// compression method.
		s.CipherSuite = r.u16()
	} else {
		r.vec8() // session id
		s.CipherSuite = r.u16()
		s.Compression = r.u8()
	}
	if r.bad {
		return nil, ErrShort
	}
	s.HelloRetryRequest = bytes.Equal(random, helloRetryRandom[:])
	if len(r.b) == 0 {
		return s, nil
	}
	exts := r.vec16()
	if r.bad {
		return nil, ErrExtensions
	}
	n := 0
	for x := (reader{b: exts}); len(x.b) > 0; n++ {
		x.u16()
		if x.vec16(); x.bad {
			return nil, ErrExtensions
		}
	}
	s.Extensions = make([]uint16, 0, n)
	var gotSV, gotALPN bool
	for x := (reader{b: exts}); len(x.b) > 0; {
		typ := x.u16()
		data := x.vec16()
		s.Extensions = append(s.Extensions, typ)
		switch typ {
		case ExtSupportedVersions:
			if !gotSV && len(data) == 2 {
				gotSV = true
				s.SelectedVersion = binary.BigEndian.Uint16(data)
			}
		case ExtALPN:
			if !gotALPN {
				gotALPN = true
				if names, _ := parseALPN(data, 1); len(names) > 0 {
					s.ALPN = names[0]
				}
			}
		}
	}
	return s, nil
}

package tls

import "errors"

// SSLv2-compatible ClientHello (RFC 6101 Appendix E, RFC 5246 Appendix
// E.2): what SSL 2.0 clients, and SSL 3.0 / TLS clients unsure the server
// speaks anything newer, send first. Old clients and some scanners still
// do. Its record header is 2 bytes, the length with the high bit set;
// then message type 1, the highest version offered, the lengths of the
// cipher specs, session id and challenge, and those three fields. A cipher
// spec is 3 bytes: a TLS cipher suite has a first byte of 0, anything
// else is an SSL 2.0 cipher kind. There are no extensions.

// ErrNotClientHello is returned by ParseSSLv2ClientHello for a message
// whose type is not ClientHello.
var ErrNotClientHello = errors.New("tls: not an SSLv2 ClientHello")

// sslv2Header says whether a stream's first 5 bytes start an
// SSLv2-compatible ClientHello: a 2-byte record header with the high bit,
// a length that holds at least the fixed fields, message type 1, version
// 0x0002 or 0x03xx. It returns the record length (the bytes after the
// 2-byte header). Only the first bytes of a stream are judged this way: it
// is too weak to search for.
func sslv2Header(h []byte) (int, bool) {
	n := int(h[0]&0x7f)<<8 | int(h[1])
	ok := h[0]&0x80 != 0 && n >= 9 && h[2] == 1 && (h[3] == 3 || h[3] == 0 && h[4] == 2)
	return n, ok
}

// LooksLikeSSLv2ClientHello says whether b, the first bytes of a stream,
// hold the start of an SSLv2-compatible ClientHello whose three lengths
// add up to its record length, with whole cipher specs and a challenge of
// 16 to 32 bytes (RFC 6101 E.1). It needs the first 11 bytes. Stricter
// than what the Parser accepts: it decides that a connection is TLS at all.
func LooksLikeSSLv2ClientHello(b []byte) bool {
	if len(b) < 11 {
		return false
	}
	n, ok := sslv2Header(b)
	specs := int(b[5])<<8 | int(b[6])
	sid := int(b[7])<<8 | int(b[8])
	chal := int(b[9])<<8 | int(b[10])
	return ok && specs > 0 && specs%3 == 0 && chal >= 16 && chal <= 32 && 9+specs+sid+chal == n
}

// ParseSSLv2ClientHello parses an SSLv2-compatible ClientHello message
// (the bytes after its 2-byte record header, from the message type on).
// Version is the version the client offers; CipherSuites holds the TLS
// cipher suites among its cipher specs, in wire order (an SSL 2.0-only
// client offers none); SSLv2 is set. Time and RecordVersion are left zero.
// Bytes after the challenge are ignored. It never keeps a reference to
// msg.
//
// JA3, JA3Hash and JA4 stay empty. JA3 is defined over the fields of a
// TLS ClientHello: Salesforce's reference implementation skips SSLv2
// hellos (salesforce/ja3 issue 29), and tshark gives none. JA4 names a
// version for SSL 2.0 ("s2") but defines its cipher part over 2-byte TLS
// cipher suite codes and says nothing of 3-byte cipher specs; its reference
// implementation reads Wireshark's TLS cipher-suite field, which an SSLv2
// hello does not fill, so it would print the same empty-list fingerprint
// for every SSLv2 client. A fingerprint invented here would match no other
// tool's, so there is none.
func ParseSSLv2ClientHello(msg []byte) (*ClientHello, error) {
	r := reader{b: msg}
	typ := r.u8()
	version := r.u16()
	nSpecs, nSID, nChal := int(r.u16()), int(r.u16()), int(r.u16())
	if r.bad {
		return nil, ErrShort
	}
	if typ != 1 {
		return nil, ErrNotClientHello
	}
	if nSpecs%3 != 0 {
		return nil, ErrBadLength
	}
	specs := r.bytes(nSpecs)
	r.bytes(nSID)
	r.bytes(nChal)
	if r.bad {
		return nil, ErrShort
	}
	c := &ClientHello{Version: version, SessionIDLen: nSID, SSLv2: true}
	n := 0
	for i := 0; i < len(specs); i += 3 {
		if specs[i] == 0 {
			n++
		}
	}
	c.CipherSuites = make([]uint16, 0, n)
	for i := 0; i < len(specs); i += 3 {
		if specs[i] == 0 {
			c.CipherSuites = append(c.CipherSuites, uint16(specs[i+1])<<8|uint16(specs[i+2]))
		}
	}
	return c, nil
}

// sslv2Record starts reading an SSLv2-compatible ClientHello whose 5-byte
// start h (record header, message type, version) was just read; n is its
// record length. The message is buffered from the message type on, like a
// hello split over segments, and parsed when the record is complete.
func (p *Parser) sslv2Record(h []byte, n int, ts int64) {
	p.res.SSLv2, p.res.TLS = true, true
	p.mode, p.st = modeSSLv2, stBody
	p.recLen, p.recLeft = n, n-3
	p.hsTime, p.hsLeft = ts, n
	p.hsInBody, p.hsKeep = true, true
	p.buffer(h[2:5])
	p.hsLeft -= 3
}

// sslv2Hello parses the buffered SSLv2-compatible ClientHello at the end
// of its record.
func (p *Parser) sslv2Hello() {
	p.mode = modeSkip
	p.hsInBody, p.hsKeep, p.hsLeft = false, false, 0
	ch, err := ParseSSLv2ClientHello(p.msg)
	p.msg = nil
	if err != nil {
		p.res.Malformed++
		return
	}
	ch.Time, ch.RecordVersion = p.hsTime, VersionSSL20
	p.res.ClientHellos = append(p.res.ClientHellos, *ch)
}

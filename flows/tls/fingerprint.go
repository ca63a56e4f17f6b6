package tls

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
)

// IsGREASE reports whether v is one of the 16 GREASE values of RFC 8701
// (0x0a0a, 0x1a1a, ..., 0xfafa) that clients sprinkle into their lists to
// keep servers tolerant. Fingerprints ignore them.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// computeFingerprints fills JA3, JA3Hash and JA4.
func (c *ClientHello) computeFingerprints() {
	c.JA3 = c.ja3()
	sum := md5.Sum([]byte(c.JA3))
	var h [32]byte
	hex.Encode(h[:], sum[:])
	c.JA3Hash = string(h[:])
	c.JA4 = c.JA4Fingerprint('t', false, false)
}

// ja3 builds the Salesforce JA3 string:
// SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats,
// each list as decimal values joined by '-', GREASE values removed, an
// absent list as an empty field. SSLVersion is the ClientHello's
// legacy_version (771 for every TLS 1.3 client).
func (c *ClientHello) ja3() string {
	var jb [512]byte
	b := strconv.AppendUint(jb[:0], uint64(c.Version), 10)
	for _, list := range [3][]uint16{c.CipherSuites, c.Extensions, c.SupportedGroups} {
		b = append(b, ',')
		first := true
		for _, v := range list {
			if IsGREASE(v) {
				continue
			}
			if !first {
				b = append(b, '-')
			}
			first = false
			b = strconv.AppendUint(b, uint64(v), 10)
		}
	}
	b = append(b, ',')
	for i, v := range c.ECPointFormats {
		if i > 0 {
			b = append(b, '-')
		}
		b = strconv.AppendUint(b, uint64(v), 10)
	}
	return string(b)
}

// JA4For returns the JA4 fingerprint with the given transport letter: 't'
// for TLS over TCP (what the JA4 field holds), 'q' for QUIC, 'd' for DTLS.
func (c *ClientHello) JA4For(transport byte) string {
	return c.JA4Fingerprint(transport, false, false)
}

// ja4Versions maps a TLS version to its two JA4 characters; anything else is "00".
var ja4Versions = map[uint16]string{
	0x0304: "13", 0x0303: "12", 0x0302: "11", 0x0301: "10",
	0x0300: "s3", 0x0002: "s2",
	0xfeff: "d1", 0xfefd: "d2", 0xfefc: "d3",
}

// JA4Fingerprint computes JA4 (FoxIO, BSD-3-Clause; JA4 only, not the rest of
// JA4+) and its documented variants: raw gives JA4_r (the sorted lists in
// clear instead of their truncated SHA-256), original keeps the wire order
// and SNI/ALPN in the extension list (JA4_o; with raw, JA4_ro).
//
//	a: transport, version (highest non-GREASE supported_versions, else
//	   legacy_version), 'd' if server_name is present else 'i', cipher and
//	   extension counts (GREASE excluded, at most 99), first and last
//	   character of the first ALPN value ("00" if none; see appendALPN
//	   for values that are not ASCII letters and digits)
//	b: sha256 of the sorted 4-hex-digit cipher list, first 12 hex digits
//	c: sha256 of the sorted extension list without 0000 and 0010, then '_'
//	   and the signature algorithms in wire order when there are any
//
// An empty cipher or extension list hashes to "000000000000".
func (c *ClientHello) JA4Fingerprint(transport byte, raw, original bool) string {
	var ob [48]byte
	out := append(ob[:0], transport)
	if v, ok := ja4Versions[c.MaxVersion()]; ok {
		out = append(out, v...)
	} else {
		out = append(out, "00"...)
	}
	if c.HasSNI {
		out = append(out, 'd')
	} else {
		out = append(out, 'i')
	}

	var buf [64]uint16
	ciphers := appendNonGREASE(buf[:0], c.CipherSuites)
	exts := appendNonGREASE(ciphers[len(ciphers):], c.Extensions)
	out = appendCount(out, len(ciphers))
	out = appendCount(out, len(exts))
	out = appendALPN(out, c.ALPN)
	out = append(out, '_')

	// Part c is all zeros when no extension but SNI and ALPN is left, in
	// the original-order variant too (as the reference implementation).
	others := 0
	for _, e := range exts {
		if e != ExtServerName && e != ExtALPN {
			others++
		}
	}
	if !original {
		slices.Sort(ciphers)
		kept := exts[:0]
		for _, e := range exts {
			if e != ExtServerName && e != ExtALPN {
				kept = append(kept, e)
			}
		}
		exts = kept
		slices.Sort(exts)
	}

	// Part b.
	var tb [512]byte
	tmp := appendHexList(tb[:0], ciphers)
	out = appendHashed(out, tmp, raw, len(ciphers) == 0)
	out = append(out, '_')

	// Part c.
	tmp = appendHexList(tmp[:0], exts)
	n := len(tmp)
	tmp = append(tmp, '_')
	tmp = appendHexList(tmp, c.SignatureAlgorithms)
	if len(tmp) == n+1 {
		tmp = tmp[:n] // no signature algorithms: no trailing '_'
	}
	out = appendHashed(out, tmp, raw, others == 0)
	return string(out)
}

// appendNonGREASE appends the values of src that are not GREASE to dst.
func appendNonGREASE(dst, src []uint16) []uint16 {
	for _, v := range src {
		if !IsGREASE(v) {
			dst = append(dst, v)
		}
	}
	return dst
}

func appendCount(b []byte, n int) []byte {
	n = min(n, 99)
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

const hexDigits = "0123456789abcdef"

// appendALPN appends JA4's two ALPN characters for the first ALPN value:
// "00" when there is none or it is empty; its first and last byte when
// both are ASCII letters or digits (a single byte counts as both); "99"
// when the first byte is not ASCII; otherwise the first and last digit of
// the value in hex.
//
// The "99" rule departs from the JA4 text (which asks for hex digits there)
// and follows the reference implementations (FoxIO's Python and Rust tools
// replace non-ASCII characters with '9'), whose published outputs hold
// "99" for such a ClientHello (tls-non-ascii-alpn.pcapng).
func appendALPN(b []byte, alpn []string) []byte {
	if len(alpn) == 0 || alpn[0] == "" {
		return append(b, '0', '0')
	}
	v := alpn[0]
	first, last := v[0], v[len(v)-1]
	switch {
	case isAlnum(first) && isAlnum(last):
		return append(b, first, last)
	case first >= 0x80:
		return append(b, '9', '9')
	}
	return append(b, hexDigits[first>>4], hexDigits[last&0x0f])
}

// appendHexList appends the values as 4-digit lower-case hex, comma separated.
func appendHexList(b []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, hexDigits[v>>12], hexDigits[v>>8&0xf], hexDigits[v>>4&0xf], hexDigits[v&0xf])
	}
	return b
}

// appendHashed appends s itself (raw) or the first 12 hex digits of its
// SHA-256, or twelve zeros when the list behind it is empty.
func appendHashed(b, s []byte, raw, empty bool) []byte {
	if raw {
		return append(b, s...)
	}
	if empty {
		return append(b, "000000000000"...)
	}
	sum := sha256.Sum256(s)
	var h [12]byte
	hex.Encode(h[:], sum[:6])
	return append(b, h[:]...)
}

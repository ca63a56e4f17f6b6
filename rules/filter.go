package rules

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A display filter that names a value from the capture must match the
// value as Wireshark stores it in the field, which is not always the bytes
// of the packet: each field has its own decoding. The functions here turn
// a value of a pcapx record into the text Wireshark holds for the field
// (checked against Wireshark 4.0 by TestFilterLiteralsInTshark), and
// wsString writes that text as a string literal of the display filter
// language.

// wsString quotes the text of a field for a Wireshark display filter
// string literal. The text is valid UTF-8 (the field functions below make
// it so): '"' and '\' are escaped, ASCII control bytes are written \xHH and
// other characters that do not print (format and unassigned code points,
// C1 controls) \uXXXX, so the filter stays one readable literal on one line
// whatever the capture holds; printable UTF-8 is written as it is, which
// Wireshark reads as the same bytes.
func wsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case r < 0x80 || printable(r):
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// printable is GLib's g_unichar_isprint, which Wireshark uses to decide
// what to show as it is: every code point but controls, format characters,
// surrogates and unassigned ones.
func printable(r rune) bool {
	return !unicode.In(r, unicode.Cc, unicode.Cf, unicode.Cs, unicode.Cn)
}

// dnsNameFilter matches the DNS messages whose question is qname (in
// pcapx's presentation form); "" is a message without a question.
func dnsNameFilter(qname string) string {
	if qname == "" {
		return "!dns.qry.name"
	}
	return "dns.qry.name == " + wsDNSName(qname)
}

// wsDNSName is the literal that dns.qry.name compares with for a DNS name
// in pcapx's presentation form (zone-file escapes: "my\032printer.local"
// for the label "my printer"). Wireshark does not escape: it joins the raw
// labels with '.' and shows bytes that do not print the way its
// format_text does (wsFormatText), so "my printer.local" is what matches.
func wsDNSName(qname string) string {
	return wsString(wiresharkDNSName(qname))
}

// wiresharkDNSName turns a name in presentation form into the text of
// Wireshark 4.0's dns.qry.name: the root is "<Root>", a '.' inside a label
// is a plain '.', and the label bytes go through format_text.
func wiresharkDNSName(qname string) string {
	if qname == "." {
		return "<Root>"
	}
	raw := make([]byte, 0, len(qname))
	for i := 0; i < len(qname); i++ {
		c := qname[i]
		if c != '\\' || i+1 == len(qname) {
			raw = append(raw, c)
			continue
		}
		if i+3 < len(qname) && isDigit(qname[i+1]) && isDigit(qname[i+2]) && isDigit(qname[i+3]) {
			raw = append(raw, byte(int(qname[i+1]-'0')*100+int(qname[i+2]-'0')*10+int(qname[i+3]-'0')))
			i += 3
			continue
		}
		raw = append(raw, qname[i+1])
		i++
	}
	return wsFormatText(raw)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// wsFormatText is Wireshark 4.0's format_text, which makes the text of a
// DNS name from its bytes: printable ASCII as it is (a backslash too), the
// C escapes \a \b \f \n \r \t \v, other ASCII controls as \ooo (octal),
// printable UTF-8 as it is, other characters as \uXXXX (\UXXXXXXXX past
// the BMP), and each ill-formed sequence — a lead byte with the
// continuation bytes that follow it, up to its length — as one U+FFFD.
func wsFormatText(b []byte) string {
	var out strings.Builder
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			i++
			switch {
			case c >= 0x20 && c < 0x7f:
				out.WriteByte(c)
			case c >= '\a' && c <= '\r':
				out.WriteByte('\\')
				out.WriteByte("abtnvfr"[c-'\a'])
			default:
				fmt.Fprintf(&out, "\\%03o", c)
			}
			continue
		}
		// The lead byte says how many continuation bytes follow, the
		// old 5- and 6-byte forms included.
		var need int
		var r rune
		switch {
		case c&0xe0 == 0xc0:
			need, r = 1, rune(c&0x1f)
		case c&0xf0 == 0xe0:
			need, r = 2, rune(c&0x0f)
		case c&0xf8 == 0xf0:
			need, r = 3, rune(c&0x07)
		case c&0xfc == 0xf8:
			need, r = 4, rune(c&0x03)
		case c&0xfe == 0xfc:
			need, r = 5, rune(c&0x01)
		default: // a stray continuation byte, 0xfe or 0xff
			out.WriteRune(utf8.RuneError)
			i++
			continue
		}
		j := i + 1
		for ; j < len(b) && j-i-1 < need && b[j]&0xc0 == 0x80; j++ {
			r = r<<6 | rune(b[j]&0x3f)
		}
		ok := j-i-1 == need
		i = j
		switch {
		case !ok || r > unicode.MaxRune || 0xd800 <= r && r <= 0xdfff:
			// Cut short, a surrogate or too large. (An overlong form is
			// decoded: c0 80 is \u0000.)
			out.WriteRune(utf8.RuneError)
		case printable(r):
			out.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&out, "\\u%04X", r)
		default:
			fmt.Fprintf(&out, "\\U%08X", r)
		}
	}
	return out.String()
}

// wsASCII is the literal for a field Wireshark 4.0 decodes as ASCII
// (http.host, tls.handshake.extensions_server_name): every byte from 0x80
// up is a U+FFFD of its own, UTF-8 or not; the rest is kept as it is.
func wsASCII(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 {
			b.WriteByte(c)
		} else {
			b.WriteRune(utf8.RuneError)
		}
	}
	return wsString(b.String())
}

// hostFilter matches packets to or from one address; srcFilter and
// dstFilter packets from it and to it.
func hostFilter(addr string) string { return addrFilter("addr", addr) }
func srcFilter(addr string) string  { return addrFilter("src", addr) }
func dstFilter(addr string) string  { return addrFilter("dst", addr) }

// hostsFilter matches packets to or from any of the addresses.
func hostsFilter(addrs []string) string {
	if len(addrs) == 1 {
		return hostFilter(addrs[0])
	}
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = hostFilter(a)
	}
	return "(" + strings.Join(parts, " || ") + ")"
}

// addrFilter is Wireshark's ip.FIELD or ipv6.FIELD == addr.
func addrFilter(field, addr string) string {
	if strings.Contains(addr, ":") {
		return "ipv6." + field + " == " + addr
	}
	return "ip." + field + " == " + addr
}

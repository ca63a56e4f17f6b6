package rules

import (
	"fmt"
	"strings"
)

// wsString quotes a value for a Wireshark display filter string literal.
// Names come from the capture and are hostile: quotes and backslashes are
// escaped and every byte that is not printable ASCII is written as \xHH, so
// the filter stays one literal whatever the name holds.
func wsString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// hostFilter matches packets to or from one address; srcFilter and
// dstFilter packets from it and to it.
func hostFilter(addr string) string { return addrFilter("addr", addr) }
func srcFilter(addr string) string  { return addrFilter("src", addr) }
func dstFilter(addr string) string  { return addrFilter("dst", addr) }

// addrFilter is Wireshark's ip.FIELD or ipv6.FIELD == addr.
func addrFilter(field, addr string) string {
	if strings.Contains(addr, ":") {
		return "ipv6." + field + " == " + addr
	}
	return "ip." + field + " == " + addr
}

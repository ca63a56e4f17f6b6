package rules

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pcapx/pcapx/flows/dns"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/internal/tshark"
)

// qnameOf is the name pcapx records for a query of these labels: the
// presentation form the DNS parser makes.
func qnameOf(t testing.TB, labels []string) string {
	t.Helper()
	m, err := dns.Parse(capgen.DNSQueryLabels(1, labels, capgen.DNSTypeA))
	if err != nil || !m.HasQuestion {
		t.Fatalf("labels %q: %v", labels, err)
	}
	return m.QName
}

// The text of dns.qry.name, as Wireshark 4.0 shows these names (each
// checked by hand with tshark -T fields -e dns.qry.name).
func TestWiresharkDNSName(t *testing.T) {
	for _, c := range []struct {
		labels []string
		want   string
	}{
		{[]string{"my printer", "local"}, "my printer.local"},
		{[]string{"a(b", "c;d"}, "a(b.c;d"},
		{[]string{`q"u`, `b\s`}, `q"u.b\s`},
		{[]string{"caf\xc3\xa9", "example"}, "café.example"},
		{[]string{"dot.in", "label"}, "dot.in.label"},
		{[]string{"@$", "z"}, "@$.z"},
		{[]string{"\xff\x01x", "bin"}, "\ufffd\\001x.bin"},
		{[]string{"tab\tx", "y"}, `tab\tx.y`},
		{[]string{"a\nb\rc\x1b"}, `a\nb\rc\033`},
		{[]string{"a\x00b"}, `a\000b`},
		{[]string{"a\x7fb"}, `a\177b`},
		{[]string{"a\u0085b"}, `a\u0085b`},
		{[]string{"a\u202eb"}, `a\u202Eb`},
		{[]string{"a\u200bb"}, `a\u200Bb`},
		{[]string{"a\u0378b"}, `a\u0378b`}, // unassigned
		{[]string{"a\u00a0b"}, "a\u00a0b"},
		{[]string{"a\u2028b"}, "a\u2028b"},
		{[]string{"a\U0001F600b"}, "a\U0001F600b"},
		{[]string{"a\xc3b"}, "a\ufffdb"},
		{[]string{"a\xe2\x80b"}, "a\ufffdb"},         // cut short: one U+FFFD
		{[]string{"a\xed\xa0\x80b"}, "a\ufffdb"},     // a surrogate: one
		{[]string{"\xf8\x88\x80\x80\x80"}, "\ufffd"}, // an old 5-byte form: one
		{[]string{"\xc0\x80"}, `\u0000`},             // overlong forms are decoded
		{nil, "<Root>"},
	} {
		q := qnameOf(t, c.labels)
		if got := wiresharkDNSName(q); got != c.want {
			t.Errorf("labels %q (qname %q): %q, want %q", c.labels, q, got, c.want)
		}
	}
}

// hostileNames are label sets of every kind a DNS name can hold: the
// characters a filter must quote, UTF-8 good and bad, and pseudo-random
// bytes.
func hostileNames() [][]string {
	names := [][]string{
		{"my printer", "local"}, {"printer(2)", "local"}, {"a;b", "example"}, {`say"hi"`, "example"},
		{`back\slash`, "example"}, {`\"`, `"\`}, {"caf\xc3\xa9", "example"}, {"dot.in", "label"},
		{"tab\there"}, {"\xff\xfe", "example"}, {"\u202egnp.exe"}, {"a\u0378b"}, {"\U000e0001x"},
		{"\xc0\x80"}, {"\xe0\x80\x80"}, {"\xf4\x90\x80\x80"}, {"\xf8\x88\x80\x80\x80"}, {"\x80\x80x"},
		{"\xc3\xc3\xa9"}, {"\xf0\x9f\x98"}, {"x\xf0\x9f\x98\x80y"}, {"{}[]|&!~"}, {"$@#%^*+=?"},
		{"\xc1\x81"}, {"\xe0\x81\x81z"}, {"\xc2\xa9\xe2\x82\xac"}, {"\xfc\x84\x80\x80\x80\x80"},
	}
	// Pseudo-random labels, biased to the bytes that need care.
	h := uint32(2166136261)
	next := func() uint32 {
		h ^= h << 13
		h ^= h >> 17
		h ^= h << 5
		return h
	}
	special := []byte("\x00\x01\t\n\r\x1b\x7f \"\\().;@$\x80\xbf\xc2\xc3\xe2\xed\xef\xf0\xf4\xf8\xfe\xff")
	for range 80 {
		var labels []string
		for range 1 + next()%3 {
			var l []byte
			for range 1 + next()%8 {
				switch next() % 3 {
				case 0:
					l = append(l, special[next()%uint32(len(special))])
				case 1:
					l = append(l, byte(next()))
				default:
					l = append(l, byte('a'+next()%26))
				}
			}
			labels = append(labels, string(l))
		}
		names = append(names, labels)
	}
	return names
}

// hostileHosts are HTTP Host values and SNIs of every kind.
var hostileHosts = []string{
	"my host", "paren(1);x", `q"uote\back`, "caf\xc3\xa9.example", "bad\xffhost", "\u202egnp.exe", "tab\thost",
	"ctl\x01\x7f", "b\xc3\xbccher.example", "\xed\xa0\x80x", `"(x);\.example`,
}

// TestFilterLiteralsInTshark checks the string literals of the display
// filters against Wireshark: each filter, limited to the frame that holds
// the name, must show that frame. Skipped without tshark.
func TestFilterLiteralsInTshark(t *testing.T) {
	if !tshark.Available() {
		t.Skip("tshark not installed: filter literals not checked against Wireshark")
	}
	path := filepath.Join(t.TempDir(), "names.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	cli, srv := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("192.0.2.53")
	web := netip.MustParseAddrPort("198.51.100.20:80")
	tlsSrv := netip.MustParseAddrPort("198.51.100.20:443")
	tm := capgen.Epoch
	frame := 0
	var filters, what []string
	check := func(fr int, desc, filter string) {
		filters = append(filters, fmt.Sprintf("frame.number == %d && %s", fr, filter))
		what = append(what, desc)
	}
	for i, labels := range hostileNames() {
		ip := capgen.IP{Src: cli, Dst: srv, ID: uint16(i)}
		if err := w.WriteFrame(capgen.Frame{Time: tm, Data: capgen.DefaultEthernet.AppendFrame(nil, ip.UDP(40000+uint16(i), 53, capgen.DNSQueryLabels(uint16(i), labels, capgen.DNSTypeA)))}); err != nil {
			t.Fatal(err)
		}
		frame++
		tm = tm.Add(time.Millisecond)
		q := qnameOf(t, labels)
		check(frame, fmt.Sprintf("DNS labels %q (qname %q)", labels, q), dnsNameFilter(q))
	}
	counter := &countingWriter{w: w}
	for i, host := range hostileHosts {
		counter.n = frame
		c := capgen.NewTCPConn(counter, netip.AddrPortFrom(cli, 50000+uint16(i)), web, &capgen.TCPOptions{Start: tm})
		c.Handshake(time.Millisecond)
		c.SendData(capgen.Client, capgen.HTTPRequest("GET", host, "/x", "User-Agent: t"))
		req := counter.n
		c.SendData(capgen.Server, capgen.HTTPResponse(404, []byte("no"), "Content-Type: text/plain"))
		resp := counter.n
		c.Close(capgen.Client)
		tm = c.Now().Add(time.Millisecond)
		c2 := capgen.NewTCPConn(counter, netip.AddrPortFrom(cli, 51000+uint16(i)), tlsSrv, &capgen.TCPOptions{Start: tm})
		c2.Handshake(time.Millisecond)
		c2.SendData(capgen.Client, capgen.TLSClientHello(capgen.ClientHello{SNI: host}))
		hello := counter.n
		c2.Rst(capgen.Server)
		tm = c2.Now().Add(time.Millisecond)
		frame = counter.n
		check(req, fmt.Sprintf("http.host %q", host), "http.host == "+wsASCII(host))
		check(hello, fmt.Sprintf("SNI %q", host), "tls.handshake.extensions_server_name == "+wsASCII(host))
		if utf8.ValidString(host) { // (Wireshark makes no URI of other hosts)
			check(resp, fmt.Sprintf("http.response_for.uri of host %q", host), "http.response_for.uri contains "+wsString("://"+host+"/"))
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	counts, err := tshark.Count(path, filters)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := tshark.Field(path, "dns.qry.name")
	for i, n := range counts {
		if n != 1 {
			fr := 0
			fmt.Sscanf(filters[i], "frame.number == %d", &fr)
			shown := ""
			if fr-1 < len(names) {
				shown = names[fr-1]
			}
			t.Errorf("%s: filter %s shows %d frames, want its frame (tshark's dns.qry.name there: %q)", what[i], filters[i], n, shown)
		}
	}
}

// countingWriter counts the frames written through it.
type countingWriter struct {
	w capgen.FrameWriter
	n int
}

func (c *countingWriter) WriteFrame(f capgen.Frame) error {
	c.n++
	return c.w.WriteFrame(f)
}

// unquote reads a display filter string literal as Wireshark does (the
// escapes wsString writes: \" \\ \xHH \uXXXX \UXXXXXXXX).
func unquote(lit string) (string, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", false
	}
	var b []byte
	s := lit[1 : len(lit)-1]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			return "", false // ends the literal early
		case c != '\\':
			b = append(b, c)
			continue
		}
		if i+1 == len(s) {
			return "", false
		}
		i++
		var n int
		switch s[i] {
		case '"', '\\':
			b = append(b, s[i])
			continue
		case 'x':
			n = 2
		case 'u':
			n = 4
		case 'U':
			n = 8
		default:
			return "", false
		}
		if i+n >= len(s) {
			return "", false
		}
		var v uint64
		if _, err := fmt.Sscanf(s[i+1:i+1+n], "%x", &v); err != nil {
			return "", false
		}
		if s[i] == 'x' {
			b = append(b, byte(v))
		} else {
			b = utf8.AppendRune(b, rune(v))
		}
		i += n
	}
	return string(b), true
}

// FuzzFilterLiterals: whatever the bytes of a name, host or SNI, the
// literal is one printable line that reads back as the field's text, and
// the text of a DNS name is valid UTF-8 without control characters (as
// Wireshark's is).
func FuzzFilterLiterals(f *testing.F) {
	for _, labels := range hostileNames()[:20] {
		f.Add(strings.Join(labels, "\x00"))
	}
	f.Fuzz(func(t *testing.T, in string) {
		labels := strings.Split(in, "\x00")
		for i, l := range labels {
			if len(l) == 0 || len(l) > 63 {
				labels[i] = "x"
			}
		}
		if len(labels) > 4 {
			labels = labels[:4]
		}
		m, err := dns.Parse(capgen.DNSQueryLabels(1, labels, capgen.DNSTypeA))
		if err != nil {
			t.Skip()
		}
		text := wiresharkDNSName(m.QName)
		if !utf8.ValidString(text) || strings.IndexFunc(text, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			t.Fatalf("labels %q: text %q", labels, text)
		}
		for _, v := range []string{text, strings.ToValidUTF8(in, "\ufffd")} {
			lit := wsString(v)
			if strings.IndexFunc(lit, func(r rune) bool { return r < 0x20 || r == 0x7f || !printable(r) && r >= 0x80 }) >= 0 {
				t.Fatalf("literal %q of %q holds a character that does not print", lit, v)
			}
			if got, ok := unquote(lit); !ok || got != v {
				t.Fatalf("literal %s of %q reads back as %q (ok %v)", lit, v, got, ok)
			}
		}
		var ascii []byte // each byte from 0x80 up is a U+FFFD
		for i := 0; i < len(in); i++ {
			if in[i] < 0x80 {
				ascii = append(ascii, in[i])
			} else {
				ascii = utf8.AppendRune(ascii, utf8.RuneError)
			}
		}
		if got, ok := unquote(wsASCII(in)); !ok || got != string(ascii) {
			t.Fatalf("wsASCII(%q) = %s reads back as %q", in, wsASCII(in), got)
		}
	})
}

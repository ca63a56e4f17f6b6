package dns

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestParseResponse(t *testing.T) {
	m, err := Parse(sampleResponse())
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != 0x1234 || !m.Response || !m.RecursionDesired || !m.RecursionAvailable || m.Truncated {
		t.Errorf("header: %+v", m)
	}
	if !m.HasQuestion || m.QName != "www.Example.com" || m.QType != TypeA || m.QClass != ClassIN {
		t.Errorf("question: %q %d %d", m.QName, m.QType, m.QClass)
	}
	if m.ANCount != 4 || m.AnswerRRs != 4 || len(m.Answers) != 4 {
		t.Fatalf("answers: %d %d %+v", m.ANCount, m.AnswerRRs, m.Answers)
	}
	if m.Answers[0].Type != TypeCNAME || m.Answers[0].Target != "edge.example.net" {
		t.Errorf("cname: %+v", m.Answers[0])
	}
	got := m.AnswerAddrs(nil)
	want := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::1")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("addrs %v, want %v", got, want)
	}
	if !m.EDNS || m.UDPSize != 1232 || !m.DNSSECOK || m.Rcode != 0 {
		t.Errorf("edns: %v %d %v rcode %d", m.EDNS, m.UDPSize, m.DNSSECOK, m.Rcode)
	}
}

func TestExtendedRcode(t *testing.T) {
	m, err := Parse(sampleBadCookie())
	if err != nil {
		t.Fatal(err)
	}
	if m.HeaderRcode != 7 || m.Rcode != 23 || RcodeName(m.Rcode) != "BADCOOKIE" {
		t.Errorf("rcode header %d full %d %s", m.HeaderRcode, m.Rcode, RcodeName(m.Rcode))
	}
	m, err = Parse(sampleNXDomain())
	if err != nil {
		t.Fatal(err)
	}
	if m.Rcode != RcodeNXDomain || m.EDNS {
		t.Errorf("nxdomain: %d %v", m.Rcode, m.EDNS)
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels []string
		want   string
	}{
		{"root", nil, "."},
		{"plain", []string{"www", "example", "com"}, "www.example.com"},
		{"dot in label", []string{"a.b", "example"}, `a\.b.example`},
		{"backslash", []string{`a\b`}, `a\\b`},
		{"specials", []string{`"();@$`}, `\"\(\)\;\@\$`},
		{"space and controls", []string{"a b\x00\x7f\xff"}, `a\032b\000\127\255`},
		{"html", []string{"<script>alert(1)</script>"}, `<script>alert\(1\)</script>`},
		{"utf8", []string{"bücher"}, `b\195\188cher`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newMsg(hdr{qd: 1}).rawName(tc.labels...).u16(1).u16(1).bytes()
			m, err := Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			if m.QName != tc.want {
				t.Errorf("got %q want %q", m.QName, tc.want)
			}
			for i := 0; i < len(m.QName); i++ {
				if c := m.QName[i]; c < 0x21 || c > 0x7e {
					t.Errorf("raw byte %#x in %q", c, m.QName)
				}
			}
		})
	}
}

func TestNameErrors(t *testing.T) {
	long := strings.Repeat("a", 63)
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"self pointer", []byte{0xc0, 12, 0, 1, 0, 1}, ErrPointerLoop},
		{"two-pointer loop", []byte{1, 'a', 0xc0, 16, 0xc0, 12}, ErrPointerLoop},
		{"pointer out of range", []byte{0xc0, 0xff, 0, 1, 0, 1}, ErrBadPointer},
		{"extended label", []byte{0x41, 0, 0, 1, 0, 1}, ErrBadLabel},
		{"reserved label", []byte{0x80, 0, 0, 1, 0, 1}, ErrBadLabel},
		{"label past end", []byte{5, 'a', 'b'}, ErrTruncated},
		{"no terminator", []byte{1, 'a'}, ErrTruncated},
		{"half pointer", []byte{0xc0}, ErrTruncated},
		{"too long", newMsg(hdr{}).rawName(long, long, long, long).u16(1).u16(1).bytes()[12:], ErrNameTooLong},
		{"question cut", []byte{0, 0, 1}, ErrTruncated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := append(newMsg(hdr{qd: 1, id: 5, qr: true, rcode: 2}).bytes(), tc.body...)
			m, err := Parse(b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if m.ID != 5 || !m.Response || m.Rcode != 2 || m.HasQuestion {
				t.Errorf("header not kept: %+v", m)
			}
		})
	}
	// 253 octets of labels + root = 255 is the longest legal name.
	b := newMsg(hdr{qd: 1}).rawName(long, long, long, strings.Repeat("b", 61)).u16(1).u16(1).bytes()
	if m, err := Parse(b); err != nil || len(m.QName) != 253 {
		t.Errorf("255-octet name: %v %d", err, len(m.QName))
	}
	// A long chain of pointers to pointers that ends is fine up to the budget.
	chain := newMsg(hdr{qd: 1}).bytes()
	chain = append(chain, 0xc0, 14, 0xc0, 16, 0xc0, 18, 0) // question name: 3 hops then root
	chain = append(chain, 0, 1, 0, 1)
	if m, err := Parse(chain); err != nil || m.QName != "." {
		t.Errorf("pointer chain: %v %q", err, m.QName)
	}
}

func TestTruncatedTail(t *testing.T) {
	full := sampleResponse()
	for n := 0; n < len(full); n++ {
		m, err := Parse(full[:n])
		switch {
		case n < 12:
			if !errors.Is(err, ErrShortHeader) {
				t.Fatalf("%d: %v", n, err)
			}
			if n >= 4 && (m.ID != 0x1234 || !m.Response || !m.RecursionAvailable) || m.QDCount != 0 {
				t.Fatalf("%d: flags not kept: %+v", n, m)
			}
		default:
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%d: %v", n, err)
			}
			if m.ID != 0x1234 || !m.Response {
				t.Fatalf("%d: header lost", n)
			}
		}
	}
}

func TestBadRdataSkipped(t *testing.T) {
	b := newMsg(hdr{qr: true, qd: 1, an: 3, ar: 1}).question("x.test", TypeA).
		rr("x.test", TypeA, 1, []byte{1, 2, 3}). // wrong length
		raw().addr("x.test", netip.MustParseAddr("198.51.100.7")).
		rr("x.test", TypeCNAME, 1, []byte{3, 'a'}). // name runs past its rdata
		opt(512, 0, false).bytes()
	m, err := Parse(b)
	if !errors.Is(err, ErrBadRdata) {
		t.Fatalf("err %v", err)
	}
	if m.AnswerRRs != 3 || len(m.Answers) != 1 || m.Answers[0].Addr != netip.MustParseAddr("198.51.100.7") || !m.EDNS {
		t.Errorf("got %+v", m)
	}
}

func TestAnswersCapped(t *testing.T) {
	mb := newMsg(hdr{qr: true, qd: 1, an: 20}).question("many.test", TypeA)
	for i := 0; i < 20; i++ {
		mb.addr("many.test", netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	m, err := Parse(mb.bytes())
	if err != nil {
		t.Fatal(err)
	}
	if m.AnswerRRs != 20 || len(m.Answers) != MaxAnswers {
		t.Errorf("%d %d", m.AnswerRRs, len(m.Answers))
	}
}

func TestMDNSClassBits(t *testing.T) {
	// mDNS answers set the cache-flush bit (0x8000) in the class.
	b := newMsg(hdr{qr: true, aa: true, an: 1}).name("printer.local").u16(TypeA).u16(0x8001).u32(120).u16(4).raw(192, 168, 1, 9).bytes()
	m, err := Parse(b)
	if err != nil || len(m.Answers) != 1 || m.HasQuestion {
		t.Fatalf("%v %+v", err, m)
	}
}

func TestUnpackReuse(t *testing.T) {
	var m Message
	if err := m.Unpack(sampleResponse()); err != nil {
		t.Fatal(err)
	}
	if err := m.Unpack(sampleNXDomain()); err != nil {
		t.Fatal(err)
	}
	if m.QName != "nope.example" || len(m.Answers) != 0 || m.EDNS || m.Rcode != 3 {
		t.Errorf("stale fields: %+v", m)
	}
}

func TestNamesTables(t *testing.T) {
	for rc, want := range map[int]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
		5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 16: "BADVERS",
		17: "BADKEY", 18: "BADTIME", 19: "BADMODE", 20: "BADNAME", 21: "BADALG", 22: "BADTRUNC", 23: "BADCOOKIE",
		12: "RCODE12", 4095: "RCODE4095", -1: "RCODE-1"} {
		if got := RcodeName(rc); got != want {
			t.Errorf("RcodeName(%d) = %q, want %q", rc, got, want)
		}
	}
	for ty, want := range map[uint16]string{1: "A", 28: "AAAA", 5: "CNAME", 65: "HTTPS", 255: "ANY", 41: "OPT", 999: "TYPE999"} {
		if got := TypeName(ty); got != want {
			t.Errorf("TypeName(%d) = %q, want %q", ty, got, want)
		}
	}
	if OpcodeName(5) != "UPDATE" || ClassName(1) != "IN" || ClassName(9) != "CLASS9" {
		t.Error("opcode/class names")
	}
}

func TestLowerASCII(t *testing.T) {
	s := "already.lower"
	if got := lowerASCII(s); got != s {
		t.Error(got)
	}
	if got := lowerASCII(`WwW.ExAmple\.COM`); got != `www.example\.com` {
		t.Error(got)
	}
}

package tls

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fuzzSeeds are streams built with the test builders; the plan byte slices
// say how to cut them (see FuzzParser).
func fuzzSeeds() [][2][]byte {
	ch := clientHelloRecord(chromeLike("seed.example"))
	chMsg := handshakeMsg(1, chromeLike("seed.example").body())
	v2 := sslv2Hello(VersionTLS10, oldClientSpecs, make([]byte, 16), make([]byte, 16))
	return [][2][]byte{
		{ch, nil},
		{ch, []byte{3, 60, 10}},
		{records(22, VersionTLS10, chMsg, 50), []byte{7, 7, 0xc4, 30}},
		{cat(serverHelloRecord(tls12ServerHello()), alertRecord(VersionTLS12, 2, 40)), []byte{20, 20}},
		{cat(ch, alertRecord(VersionTLS12, 2, 70)), nil},
		{cat(ch, ccsRecord(VersionTLS12), clientHelloRecord(chromeLike("retry")), appDataRecord(40), record(21, VersionTLS12, make([]byte, 26))), []byte{100, 0xff, 5}},
		{cat([]byte{5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 1, 187}, ch), []byte{3, 10}},
		{cat(serverHelloRecord(tls13ServerHello()), ccsRecord(VersionTLS12), appDataRecord(100)), nil},
		{cat(v2, record(22, VersionTLS10, handshakeMsg(16, make([]byte, 70))), ccsRecord(VersionTLS10)), []byte{1, 4, 0xc2, 20}},
		{cat(v2, record(22, VersionTLS10, handshakeMsg(16, make([]byte, 70))), ccsRecord(VersionTLS10)), []byte{0, 3, 9, 40}},
		{cat(v2, []byte{0x80, 0x0a, 0x02, 0x01, 0x00, 0x80, 0, 0, 0, 0, 0, 0}), nil},
	}
}

// FuzzParser feeds arbitrary bytes, cut and with gaps as plan says: each
// plan byte b feeds the next (b&0x3f)+1 bytes, or, when its top two bits
// are set, reports them as a gap and drops them. It checks that nothing
// panics, that memory stays bounded, and that a stream fed without gaps
// gives the same result however it is cut.
func FuzzParser(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, stream, plan []byte) {
		p := NewParser()
		// sk is fed the same, but hands over by length (Skip) whatever
		// Skippable allows, as the TCP reassembler does with bytes it did
		// not keep: that must change nothing.
		sk := NewParser()
		skipFeed := func(b []byte) {
			k := min(len(b), sk.Skippable())
			sk.Skip(k)
			if k < len(b) {
				sk.Feed(b[k:], 1)
			}
		}
		rest := stream
		gaps := false
		for _, b := range plan {
			if len(rest) == 0 {
				break
			}
			n := min(int(b&0x3f)+1, len(rest))
			if b&0xc0 == 0xc0 {
				p.Gap(n)
				sk.Gap(n)
				gaps = true
			} else {
				p.Feed(rest[:n], 1)
				skipFeed(rest[:n])
			}
			rest = rest[n:]
			checkBounds(t, p)
		}
		p.Feed(rest, 1)
		skipFeed(rest)
		checkBounds(t, p)
		got := p.Result()
		if skipped := sk.Result(); !reflect.DeepEqual(got, skipped) {
			t.Fatalf("fed with skips differs:\n got %+v\nwant %+v", skipped, got)
		}
		for _, h := range got.ClientHellos {
			if len(h.SNI) > MaxSNI || len(h.ALPN) > MaxALPN {
				t.Fatalf("hello out of bounds: SNI %d ALPN %d", len(h.SNI), len(h.ALPN))
			}
			if fp := len(h.JA4) == 36 && len(h.JA3Hash) == 32; fp == h.SSLv2 || h.SSLv2 && (h.JA3 != "" || h.SNI != "") {
				t.Fatalf("fingerprints of a hello (SSLv2 %v): JA3 %q %q JA4 %q", h.SSLv2, h.JA3, h.JA3Hash, h.JA4)
			}
		}
		if !gaps {
			whole := NewParser()
			whole.Feed(stream, 1)
			if want := whole.Result(); !reflect.DeepEqual(got, want) {
				t.Fatalf("cut stream differs from whole stream:\n got %+v\nwant %+v", got, want)
			}
		}
		// The message parsers on their own.
		if h, err := ParseClientHello(stream); err == nil && len(h.JA4) != 36 {
			t.Fatalf("JA4 %q", h.JA4)
		}
		_, _ = ParseServerHello(stream)
		if h, err := ParseSSLv2ClientHello(stream); err == nil && (len(h.CipherSuites) > len(stream)/3 || h.JA4 != "") {
			t.Fatalf("SSLv2 hello: %d ciphers from %d bytes, JA4 %q", len(h.CipherSuites), len(stream), h.JA4)
		}
		// What decides a connection is TLS must parse as a hello, once the
		// whole record is there (the sniff reads only its first 11 bytes).
		if LooksLikeSSLv2ClientHello(stream) && len(stream) >= 2+(int(stream[0]&0x7f)<<8|int(stream[1])) {
			if _, err := ParseSSLv2ClientHello(stream[2:]); err != nil {
				t.Fatalf("looks like an SSLv2 hello but does not parse: %v", err)
			}
		}
	})
}

func checkBounds(t *testing.T, p *Parser) {
	t.Helper()
	r := &p.res
	if cap(p.msg) > MaxMessage || len(r.Alerts) > MaxAlerts || len(r.ClientHellos)+len(r.ServerHellos) > MaxHellos ||
		p.carryN > scanWindow || p.hdrN >= 5 || p.hsHdrN >= 4 || p.recLeft < 0 || p.hsLeft < 0 || p.scanLeft > maxResync {
		t.Fatalf("bounds: msg cap %d alerts %d hellos %d carry %d hdr %d hs %d recLeft %d hsLeft %d scanLeft %d",
			cap(p.msg), len(r.Alerts), len(r.ClientHellos)+len(r.ServerHellos), p.carryN, p.hdrN, p.hsHdrN, p.recLeft, p.hsLeft, p.scanLeft)
	}
}

// TestWriteFuzzSeeds rewrites testdata/fuzz/FuzzParser from the builders:
// PCAPX_WRITE_FUZZ_SEEDS=1 go test -run TestWriteFuzzSeeds ./flows/tls/
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("PCAPX_WRITE_FUZZ_SEEDS") == "" {
		t.Skip("set PCAPX_WRITE_FUZZ_SEEDS=1 to rewrite the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParser")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n[]byte(%q)\n", s[0], s[1])
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

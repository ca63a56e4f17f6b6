package tls

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// step is one call on a Parser: Feed (data, at ts) or Gap (gap > 0).
type step struct {
	data []byte
	ts   int64
	gap  int
}

func feed(b []byte, ts int64) step { return step{data: b, ts: ts} }
func gap(n int) step               { return step{gap: n} }

// split cuts b at the given offsets into Feed steps, all at ts.
func split(b []byte, ts int64, at ...int) []step {
	var out []step
	prev := 0
	for _, a := range at {
		out = append(out, feed(b[prev:a], ts))
		prev = a
	}
	return append(out, feed(b[prev:], ts))
}

func run(steps []step) *Parser {
	p := NewParser()
	for _, s := range steps {
		if s.gap > 0 {
			p.Gap(s.gap)
		} else {
			p.Feed(s.data, s.ts)
		}
	}
	return p
}

func TestParser(t *testing.T) {
	ch := clientHelloRecord(chromeLike("example.com"))
	chMsg := handshakeMsg(1, chromeLike("example.com").body())
	sh13 := serverHelloRecord(tls13ServerHello())
	sh12 := serverHelloRecord(tls12ServerHello())
	cert := record(22, VersionTLS12, handshakeMsg(11, make([]byte, 3000)))
	v2 := sslv2Hello(VersionTLS10, oldClientSpecs, nil, make([]byte, 16))

	type want struct {
		sni          []string // SNI of each ClientHello
		serverHellos int
		alerts       []string // Alert.String() of each alert
		ccs, appData bool
		truncated    bool
		malformed    int
		stop         StopReason
		skipped      int64
		resyncs      int
		tls          bool
	}
	for _, c := range []struct {
		name  string
		steps []step
		want  want
	}{
		{
			name:  "ClientHello in one call",
			steps: []step{feed(ch, 1)},
			want:  want{sni: []string{"example.com"}, tls: true},
		},
		{
			name:  "ClientHello split over three TCP segments",
			steps: split(ch, 1, 3, 200),
			want:  want{sni: []string{"example.com"}, tls: true},
		},
		{
			name:  "ClientHello fed byte by byte",
			steps: split(ch, 1, seq(1, len(ch)-1)...),
			want:  want{sni: []string{"example.com"}, tls: true},
		},
		{
			name:  "handshake message split across two records",
			steps: []step{feed(records(22, VersionTLS10, chMsg, 100), 1)},
			want:  want{sni: []string{"example.com"}, tls: true},
		},
		{
			name:  "handshake message split across records and segments",
			steps: split(records(22, VersionTLS10, chMsg, 7), 1, 2, 3, 50, 51, 400),
			want:  want{sni: []string{"example.com"}, tls: true},
		},
		{
			name:  "two messages in one record (ServerHello, Certificate, ServerHelloDone)",
			steps: []step{feed(record(22, VersionTLS12, cat(handshakeMsg(2, tls12ServerHello().body()), handshakeMsg(11, make([]byte, 900)), handshakeMsg(14, nil))), 1)},
			want:  want{serverHellos: 1, tls: true},
		},
		{
			name:  "ServerHello then fatal alert",
			steps: []step{feed(sh12, 1), feed(alertRecord(VersionTLS12, 2, 40), 2)},
			want:  want{serverHellos: 1, alerts: []string{"fatal handshake_failure"}, tls: true},
		},
		{
			name:  "alert right after ClientHello (handshake rejected)",
			steps: []step{feed(ch, 1), feed(alertRecord(VersionTLS12, 2, 70), 2)},
			want:  want{sni: []string{"example.com"}, alerts: []string{"fatal protocol_version"}, tls: true},
		},
		{
			name:  "two alerts in one record, fragmented",
			steps: split(record(21, VersionTLS12, []byte{1, 112, 2, 40}), 1, 6, 8),
			want:  want{alerts: []string{"warning unrecognized_name", "fatal handshake_failure"}, tls: true},
		},
		{
			name: "TLS 1.2 full handshake, then encrypted alert",
			steps: []step{
				feed(sh12, 1), feed(cert, 1),
				feed(ccsRecord(VersionTLS12), 3), feed(record(22, VersionTLS12, make([]byte, 40)), 3),
				feed(appDataRecord(500), 4), feed(record(21, VersionTLS12, make([]byte, 26)), 5),
			},
			want: want{serverHellos: 1, ccs: true, appData: true, alerts: []string{"encrypted alert"}, tls: true},
		},
		{
			name: "TLS 1.3 HelloRetryRequest: CCS then second ClientHello in plaintext",
			steps: []step{
				feed(ch, 1), feed(ccsRecord(VersionTLS12), 2),
				feed(clientHelloRecord(chromeLike("second.example")), 3),
				feed(appDataRecord(60), 4),
			},
			want: want{sni: []string{"example.com", "second.example"}, ccs: true, appData: true, tls: true},
		},
		{
			name: "after CCS an encrypted handshake record is not parsed",
			steps: []step{
				feed(ccsRecord(VersionTLS12), 1),
				// Looks like a ClientHello header but the length does not fit the record.
				feed(record(22, VersionTLS12, append([]byte{1, 0, 0, 200, 3, 3}, make([]byte, 34)...)), 2),
			},
			want: want{ccs: true, tls: true},
		},
		{
			name:  "gap inside a skipped record keeps the framing",
			steps: []step{feed(sh12, 1), feed(cert[:1000], 1), gap(1000), feed(cert[2000:], 1), feed(alertRecord(VersionTLS12, 2, 48), 2)},
			want:  want{serverHellos: 1, alerts: []string{"fatal unknown_ca"}, tls: true},
		},
		{
			name:  "gap inside the ClientHello: hello lost, framing kept",
			steps: []step{feed(ch[:100], 1), gap(50), feed(ch[150:], 1), feed(alertRecord(VersionTLS12, 2, 40), 2)},
			want:  want{truncated: true, alerts: []string{"fatal handshake_failure"}, tls: true},
		},
		{
			name:  "gap across a record boundary: resync on ChangeCipherSpec",
			steps: []step{feed(ch[:100], 1), gap(len(ch) - 100 + 20), feed(make([]byte, 7), 1), feed(ccsRecord(VersionTLS12), 2), feed(appDataRecord(100), 3)},
			want:  want{truncated: true, ccs: true, appData: true, resyncs: 1, skipped: 7, tls: true},
		},
		{
			name:  "gap after the handshake stops the parser",
			steps: []step{feed(ch, 1), feed(appDataRecord(100), 2), gap(500), feed(alertRecord(VersionTLS12, 2, 40), 3)},
			want:  want{sni: []string{"example.com"}, appData: true, stop: StopGap, tls: true},
		},
		{
			name:  "SOCKS5 prefix before the ClientHello",
			steps: []step{feed([]byte{5, 1, 0}, 1), feed([]byte{5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 1, 187}, 1), feed(ch, 2)},
			want:  want{sni: []string{"example.com"}, skipped: 21, tls: true},
		},
		{
			name:  "HTTP CONNECT prefix, hello split across the scan",
			steps: split(cat([]byte("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), ch), 1, 60, 63, 64, 70),
			want:  want{sni: []string{"example.com"}, skipped: 59, tls: true},
		},
		{
			name:  "not TLS",
			steps: []step{feed([]byte(strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 1000)), 1), feed(ch, 2)},
			want:  want{stop: StopNotTLS, skipped: maxPrefix},
		},
		{
			name: "SSLv2-compatible ClientHello, then the client goes on in TLS records",
			steps: []step{feed(v2, 1), feed(record(22, VersionTLS10, handshakeMsg(16, make([]byte, 130))), 2),
				feed(ccsRecord(VersionTLS10), 2), feed(record(22, VersionTLS10, make([]byte, 48)), 2)},
			want: want{sni: []string{""}, ccs: true, tls: true},
		},
		{
			name:  "SSLv2-compatible ClientHello cut into pieces",
			steps: split(v2, 1, 1, 2, 4, 11, 20),
			want:  want{sni: []string{""}, tls: true},
		},
		{
			name:  "SSLv2-compatible ClientHello answered in SSLv2: the rest is not read",
			steps: []step{feed(v2, 1), feed([]byte{0x80, 0x0a, 0x02, 0x01, 0x00, 0x80, 0, 0, 0, 0, 0, 0}, 2)},
			want:  want{sni: []string{""}, stop: StopSSLv2, tls: true},
		},
		{
			name:  "stream ends inside the SSLv2-compatible ClientHello",
			steps: []step{feed(v2[:20], 1)},
			want:  want{truncated: true, tls: true},
		},
		{
			name:  "gap inside the SSLv2-compatible ClientHello: hello lost, framing kept",
			steps: []step{feed(v2[:20], 1), gap(10), feed(v2[30:], 1), feed(ccsRecord(VersionTLS10), 2)},
			want:  want{truncated: true, ccs: true, tls: true},
		},
		{
			name:  "SSLv2 header whose lengths overrun the record is malformed",
			steps: []step{feed([]byte{0x80, 0x0b, 0x01, 0x03, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0, 0, 0x39}, 1)},
			want:  want{malformed: 1, tls: true},
		},
		{
			name:  "garbage record header after sync",
			steps: []step{feed(ch, 1), feed([]byte{0x99, 0x03, 0x03, 0x00, 0x10}, 2), feed(alertRecord(VersionTLS12, 2, 40), 3)},
			want:  want{sni: []string{"example.com"}, stop: StopDesync, tls: true},
		},
		{
			name:  "hello larger than MaxMessage is skipped and marked truncated",
			steps: []step{feed(records(22, VersionTLS12, handshakeMsg(1, make([]byte, MaxMessage+1)), 1<<14), 1), feed(alertRecord(VersionTLS12, 2, 40), 2)},
			want:  want{truncated: true, alerts: []string{"fatal handshake_failure"}, tls: true},
		},
		{
			name:  "malformed hello is counted, parsing goes on",
			steps: []step{feed(record(22, VersionTLS12, handshakeMsg(1, []byte{3, 3, 1, 2})), 1), feed(sh12, 2)},
			want:  want{malformed: 1, serverHellos: 1, tls: true},
		},
		{
			name:  "stream ends inside the hello",
			steps: []step{feed(ch[:300], 1)},
			want:  want{truncated: true, tls: true},
		},
		{
			name: "gap at the stream start: near misses skipped, resync on the ClientHello",
			steps: []step{gap(100), feed(cat(
				[]byte{0x14, 3, 3, 0, 1, 2},             // ChangeCipherSpec with a wrong body
				[]byte{0x15, 3, 3, 0, 2, 2, 200},        // alert with an unknown description
				[]byte{0x17, 3, 0, 0, 40},               // application data with version 3.0
				[]byte{0x17, 3, 3, 0, 4},                // application data too short
				[]byte{0x16, 3, 3, 0, 16, 99, 0, 0, 12}, // unknown handshake type
				[]byte{0x16, 3, 3, 0, 16, 16, 0, 0, 66}, // message longer than its record
			), 1), feed(ch, 2)},
			want: want{sni: []string{"example.com"}, resyncs: 1, skipped: 6 + 7 + 5 + 5 + 9 + 9, tls: true},
		},
		{
			name:  "resync on a plaintext alert",
			steps: []step{feed(ch[:50], 1), gap(len(ch)), feed([]byte{1, 2, 3}, 1), feed(alertRecord(VersionTLS12, 2, 40), 2)},
			want:  want{alerts: []string{"fatal handshake_failure"}, truncated: true, resyncs: 1, skipped: 3, tls: true},
		},
		{
			name: "resync on a ClientKeyExchange",
			steps: []step{feed(sh12[:20], 1), gap(len(sh12)),
				feed(record(22, VersionTLS12, handshakeMsg(16, make([]byte, 66))), 2), feed(ccsRecord(VersionTLS12), 2)},
			want: want{ccs: true, truncated: true, resyncs: 1, tls: true},
		},
		{
			name:  "resync on application data",
			steps: []step{gap(10), feed(appDataRecord(100), 1), feed(alertRecord(VersionTLS12, 1, 0), 2), feed(record(21, VersionTLS12, make([]byte, 19)), 3)},
			want:  want{appData: true, resyncs: 1, alerts: []string{"warning close_notify", "encrypted alert"}, tls: true},
		},
		{
			name:  "gap inside a record header",
			steps: []step{feed(sh12[:3], 1), gap(2), feed(sh12[5:], 1), feed(alertRecord(VersionTLS12, 2, 40), 2)},
			want:  want{alerts: []string{"fatal handshake_failure"}, resyncs: 1, skipped: int64(len(sh12) - 5), tls: true},
		},
		{
			name:  "no record start within 64 KiB after a gap",
			steps: []step{gap(1), feed(make([]byte, maxResync+1000), 1), feed(ch, 2)},
			want:  want{stop: StopGap, skipped: maxResync},
		},
		{
			name:  "gap while searching the prefix",
			steps: []step{feed([]byte("CONNECT x:443 HTTP/1.1\r\n"), 1), gap(10), feed([]byte("\r\n"), 1), feed(ch, 2)},
			want:  want{sni: []string{"example.com"}, skipped: 26, tls: true},
		},
		{
			name: "gap over a handshake header: framing resumes at the next record",
			steps: func() []step {
				r := record(22, VersionTLS12, cat(handshakeMsg(11, make([]byte, 100)), handshakeMsg(14, nil)))
				return []step{feed(r[:5+4+90], 1), gap(14), feed(sh12, 2)}
			}(),
			want: want{serverHellos: 1, tls: true},
		},
		{
			name:  "gap inside an alert record",
			steps: []step{feed(record(21, VersionTLS12, []byte{2, 40, 2, 50})[:6], 1), gap(1), feed([]byte{2, 50}, 1), feed(alertRecord(VersionTLS12, 2, 48), 2)},
			want:  want{alerts: []string{"fatal unknown_ca"}, tls: true},
		},
		{
			name:  "TLS 1.3 server: ServerHello, dummy CCS, encrypted records",
			steps: []step{feed(cat(sh13, ccsRecord(VersionTLS12), appDataRecord(30), appDataRecord(3000)), 5)},
			want:  want{serverHellos: 1, ccs: true, appData: true, tls: true},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := run(c.steps)
			r := p.Result()
			var got want
			for _, h := range r.ClientHellos {
				got.sni = append(got.sni, h.SNI)
			}
			got.serverHellos = len(r.ServerHellos)
			for _, a := range r.Alerts {
				got.alerts = append(got.alerts, a.String())
			}
			got.ccs, got.appData = r.ChangeCipherSpec, r.AppData
			got.truncated, got.malformed, got.stop = r.Truncated, r.Malformed, r.Stop
			got.skipped, got.resyncs, got.tls = r.Skipped, r.Resyncs, r.TLS
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func TestClientHelloFields(t *testing.T) {
	p := run([]step{feed(clientHelloRecord(chromeLike("example.com")), 42)})
	r := p.Result()
	if len(r.ClientHellos) != 1 {
		t.Fatalf("hellos: %d", len(r.ClientHellos))
	}
	h := r.ClientHellos[0]
	if h.Time != 42 || h.RecordVersion != VersionTLS10 || h.Version != VersionTLS12 {
		t.Errorf("time/versions: %d %x %x", h.Time, h.RecordVersion, h.Version)
	}
	if h.SNI != "example.com" || !h.HasSNI || h.SNITruncated {
		t.Errorf("SNI %q %v %v", h.SNI, h.HasSNI, h.SNITruncated)
	}
	if !slices.Equal(h.ALPN, []string{"h2", "http/1.1"}) {
		t.Errorf("ALPN %q", h.ALPN)
	}
	if !slices.Equal(h.SupportedVersions, []uint16{0x5a5a, 0x0304, 0x0303}) || h.MaxVersion() != VersionTLS13 {
		t.Errorf("versions %x max %x", h.SupportedVersions, h.MaxVersion())
	}
	if len(h.CipherSuites) != 16 || h.CipherSuites[0] != 0x2a2a {
		t.Errorf("ciphers %x", h.CipherSuites)
	}
	wantExt := []uint16{0x3a3a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005,
		0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0x1a1a}
	if !slices.Equal(h.Extensions, wantExt) {
		t.Errorf("extensions %x", h.Extensions)
	}
	if !slices.Equal(h.SupportedGroups, []uint16{0x4a4a, 0x1d, 0x17, 0x18}) {
		t.Errorf("groups %x", h.SupportedGroups)
	}
	if !slices.Equal(h.ECPointFormats, []uint8{0}) || !slices.Equal(h.Compression, []uint8{0}) {
		t.Errorf("point formats %v compression %v", h.ECPointFormats, h.Compression)
	}
	if !slices.Equal(h.SignatureAlgorithms, []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}) {
		t.Errorf("sigalgs %x", h.SignatureAlgorithms)
	}
	// Appending to one list must not run into the next.
	_ = append(h.CipherSuites, 1)
	if h.Extensions[0] != 0x3a3a {
		t.Error("lists share capacity")
	}
}

func TestServerHelloFields(t *testing.T) {
	hrr := tls13ServerHello()
	hrr.random = helloRetryRandom[:]
	r := run([]step{feed(serverHelloRecord(hrr), 1), feed(serverHelloRecord(tls13ServerHello()), 2), feed(sh(tls12ServerHello()), 3)}).Result()
	if len(r.ServerHellos) != 3 {
		t.Fatalf("server hellos %d", len(r.ServerHellos))
	}
	a, b, c := r.ServerHellos[0], r.ServerHellos[1], r.ServerHellos[2]
	if !a.HelloRetryRequest || b.HelloRetryRequest {
		t.Errorf("HRR flags %v %v", a.HelloRetryRequest, b.HelloRetryRequest)
	}
	if b.Version != VersionTLS12 || b.SelectedVersion != VersionTLS13 || b.NegotiatedVersion() != VersionTLS13 || b.CipherSuite != 0x1301 {
		t.Errorf("TLS 1.3 hello %+v", b)
	}
	if !slices.Equal(b.Extensions, []uint16{0x002b, 0x0033}) {
		t.Errorf("extensions %x", b.Extensions)
	}
	if c.NegotiatedVersion() != VersionTLS12 || c.CipherSuite != 0xc02f || c.ALPN != "h2" || c.Time != 3 {
		t.Errorf("TLS 1.2 hello %+v", c)
	}
}

func sh(s serverHelloSpec) []byte { return serverHelloRecord(s) }

func TestDraftServerHello(t *testing.T) {
	// TLS 1.3 draft 19: version, random, cipher suite, extensions.
	body := cat(be16(0x7f13), make([]byte, 32), be16(0x1301), vec16(cat(be16(0x0033), vec16(make([]byte, 36)))))
	s, err := ParseServerHello(body)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 0x7f13 || s.CipherSuite != 0x1301 || !slices.Equal(s.Extensions, []uint16{0x0033}) || VersionName(s.NegotiatedVersion()) != "TLS 1.3 draft 19" {
		t.Errorf("draft hello %+v", s)
	}
}

func TestHostileStrings(t *testing.T) {
	long := strings.Repeat("a", 1000)
	spec := clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x1301}, exts: []ext{extSNI(long + "<script>")}}
	var protos []string
	for i := 0; i < 100; i++ {
		protos = append(protos, strings.Repeat("x", 255))
	}
	spec.exts = append(spec.exts, extALPN(protos...))
	h, err := ParseClientHello(spec.body())
	if err != nil {
		t.Fatal(err)
	}
	if len(h.SNI) != MaxSNI || !h.SNITruncated {
		t.Errorf("SNI len %d truncated %v", len(h.SNI), h.SNITruncated)
	}
	if len(h.ALPN) != MaxALPN || h.ALPNDropped != 100-MaxALPN || len(h.ALPN[0]) != 255 {
		t.Errorf("ALPN %d kept, %d dropped", len(h.ALPN), h.ALPNDropped)
	}

	// Raw bytes are kept as they are.
	spec = clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x1301}, exts: []ext{extSNI("<img src=x>\x00\xff"), extALPN("\x00\xab")}}
	h, err = ParseClientHello(spec.body())
	if err != nil {
		t.Fatal(err)
	}
	if h.SNI != "<img src=x>\x00\xff" || h.ALPN[0] != "\x00\xab" {
		t.Errorf("raw strings changed: %q %q", h.SNI, h.ALPN)
	}

	// Lengths that lie.
	for _, body := range [][]byte{
		nil,
		{3, 3},
		append(clientHelloSpec{version: 0x0303, ciphers: []uint16{1}}.body()[:40], 0xff, 0xff),
		append(clientHelloSpec{version: 0x0303, ciphers: []uint16{1}, noExts: true}.body(), 0x00, 0x10, 0x00),
		append(clientHelloSpec{version: 0x0303, ciphers: []uint16{1}, noExts: true}.body(), 0x00, 0x04, 0x00, 0x00, 0x00, 0x09),
	} {
		if _, err := ParseClientHello(body); err == nil {
			t.Errorf("no error for % x", body)
		}
		if _, err := ParseServerHello(body); err == nil && len(body) < 38 {
			t.Errorf("no server hello error for % x", body)
		}
	}
	// A malformed extension payload does not fail the hello.
	spec = clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x1301}, exts: []ext{
		{ExtServerName, []byte{0, 9, 0, 0, 50}}, {ExtALPN, []byte{0, 5, 9, 'h'}},
		{ExtSupportedGroups, []byte{0, 3, 0}}, {ExtSignatureAlgorithms, []byte{0xff}},
		{ExtSupportedVersions, []byte{7}}, {ExtECPointFormats, []byte{9}},
	}}
	h, err = ParseClientHello(spec.body())
	if err != nil {
		t.Fatal(err)
	}
	if h.SNI != "" || !h.HasSNI || h.ALPN != nil || h.SupportedGroups != nil || h.SignatureAlgorithms != nil ||
		h.SupportedVersions == nil || len(h.SupportedVersions) != 0 || h.ECPointFormats != nil || len(h.Extensions) != 6 {
		t.Errorf("malformed extensions: %+v", h)
	}
	if !strings.HasPrefix(h.JA4, "t00d0106") {
		t.Errorf("JA4 %s", h.JA4)
	}
}

// Feeding in one call or in any pieces gives the same result.
func TestChunkInvariance(t *testing.T) {
	streams := [][]byte{
		cat(clientHelloRecord(chromeLike("a.example")), ccsRecord(VersionTLS12), appDataRecord(100), alertRecord(VersionTLS12, 1, 0)),
		cat([]byte("CONNECT a:443 HTTP/1.1\r\n\r\n"), records(22, VersionTLS10, handshakeMsg(1, chromeLike("b").body()), 33)),
		cat(sh(tls12ServerHello()), record(22, VersionTLS12, handshakeMsg(11, make([]byte, 5000))), alertRecord(VersionTLS12, 2, 42)),
		[]byte(strings.Repeat("\x16\x03\x01 not tls ", 3000)),
	}
	for i, s := range streams {
		whole := run([]step{feed(s, 1)}).Result()
		for _, size := range []int{1, 2, 3, 5, 7, 11, 64, 1000} {
			var steps []step
			for off := 0; off < len(s); off += size {
				steps = append(steps, feed(s[off:min(off+size, len(s))], 1))
			}
			if got := run(steps).Result(); !reflect.DeepEqual(got, whole) {
				t.Errorf("stream %d, pieces of %d: got %+v\nwant %+v", i, size, got, whole)
			}
		}
	}
}

func TestLimits(t *testing.T) {
	var s []byte
	for i := 0; i < MaxHellos+3; i++ {
		s = append(s, clientHelloRecord(chromeLike("x"))...)
	}
	for i := 0; i < MaxAlerts+5; i++ {
		s = append(s, alertRecord(VersionTLS12, 1, 0)...)
	}
	r := run([]step{feed(s, 1)}).Result()
	if len(r.ClientHellos) != MaxHellos || r.HellosDropped != 3 || len(r.Alerts) != MaxAlerts || r.AlertsDropped != 5 {
		t.Errorf("hellos %d+%d alerts %d+%d", len(r.ClientHellos), r.HellosDropped, len(r.Alerts), r.AlertsDropped)
	}
}

// After the handshake Feed allocates nothing, whatever the records.
func TestNoAllocsAfterHandshake(t *testing.T) {
	p := NewParser()
	p.Feed(clientHelloRecord(chromeLike("example.com")), 1)
	p.Feed(ccsRecord(VersionTLS12), 2)
	p.Feed(appDataRecord(50), 3)
	stream := cat(appDataRecord(16000), appDataRecord(5), record(22, VersionTLS12, make([]byte, 64)), appDataRecord(1400))
	allocs := testing.AllocsPerRun(200, func() {
		for off := 0; off < len(stream); off += 1448 {
			p.Feed(stream[off:min(off+1448, len(stream))], 4)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per stream after the handshake", allocs)
	}
	if p.msg != nil || p.Stopped() {
		t.Error("buffer kept or parser stopped")
	}
}

func TestSummarize(t *testing.T) {
	client := run([]step{
		feed(clientHelloRecord(chromeLike("example.com")), 100),
		feed(ccsRecord(VersionTLS12), 300), feed(appDataRecord(53), 300),
	}).Result()
	server := run([]step{
		feed(serverHelloRecord(tls13ServerHello()), 200), feed(ccsRecord(VersionTLS12), 200), feed(appDataRecord(2000), 200),
	}).Result()
	h := Summarize(&client, &server)
	if !h.Established || h.Version != VersionTLS13 || h.CipherSuite != 0x1301 || h.Start != 100 || h.End != 300 || h.Alert != nil {
		t.Errorf("TLS 1.3: %+v", h)
	}

	// Rejected: ServerHello then a fatal alert.
	server = run([]step{feed(sh(tls12ServerHello()), 200), feed(alertRecord(VersionTLS12, 2, 40), 201)}).Result()
	client = run([]step{feed(clientHelloRecord(chromeLike("example.com")), 100)}).Result()
	h = Summarize(&client, &server)
	if h.Established || h.Alert == nil || !h.AlertFromServer || h.Alert.Description != 40 || h.Version != VersionTLS12 || h.ALPN != "h2" {
		t.Errorf("rejected: %+v", h)
	}
	// TLS 1.2: the handshake ends with the later ChangeCipherSpec.
	client = run([]step{feed(clientHelloRecord(chromeLike("example.com")), 100), feed(ccsRecord(VersionTLS12), 300), feed(appDataRecord(60), 500)}).Result()
	server = run([]step{feed(sh(tls12ServerHello()), 200), feed(ccsRecord(VersionTLS12), 400)}).Result()
	h = Summarize(&client, &server)
	if !h.Established || h.Version != VersionTLS12 || h.End != 400 || h.End-h.Start != 300 {
		t.Errorf("TLS 1.2: %+v", h)
	}
	// One-sided capture.
	h = Summarize(&client, nil)
	if h.Established || h.ClientHello == nil {
		t.Errorf("one-sided: %+v", h)
	}
}

func TestNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{VersionName(0x0303), "TLS 1.2"},
		{VersionName(0x0304), "TLS 1.3"},
		{VersionName(0x0300), "SSL 3.0"},
		{VersionName(0x7f1c), "TLS 1.3 draft 28"},
		{VersionName(0x1a1a), "GREASE 0x1a1a"},
		{VersionName(0x1234), "0x1234"},
		{AlertName(40), "handshake_failure"},
		{AlertName(112), "unrecognized_name"},
		{AlertName(21), "decryption_failed"},
		{AlertName(200), "alert_200"},
		{AlertLevelName(2), "fatal"},
		{CipherSuiteName(0x1301), "TLS_AES_128_GCM_SHA256"},
		{CipherSuiteName(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		{CipherSuiteName(0xfafa), "GREASE"},
		{ExtensionName(0), "server_name"},
		{ExtensionName(0x9999), "ext_39321"},
		{StopNotTLS.String(), "not TLS"},
		{Alert{Level: 2, Description: 48}.String(), "fatal unknown_ca"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	n := 0
	for v := 0; v <= 0xffff; v++ {
		if IsGREASE(uint16(v)) {
			n++
		}
	}
	if n != 16 || !IsGREASE(0x0a0a) || !IsGREASE(0xfafa) || IsGREASE(0x0a1a) {
		t.Errorf("GREASE values: %d", n)
	}
}

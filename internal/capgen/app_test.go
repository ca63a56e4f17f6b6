package capgen_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/pcapx/pcapx/internal/capgen"
)

func TestDNSMessages(t *testing.T) {
	ip := capgen.IP{Src: v4a, Dst: v4b}
	q := decode(t, capgen.LinkTypeRaw, ip.UDP(5000, 53, capgen.DNSQuery(0x1234, "www.example.com", capgen.DNSTypeAAAA)))
	d := q.Layer(layers.LayerTypeDNS).(*layers.DNS)
	if d.QR || d.ID != 0x1234 || !d.RD || len(d.Questions) != 1 || string(d.Questions[0].Name) != "www.example.com" || d.Questions[0].Type != layers.DNSTypeAAAA {
		t.Errorf("query: %+v", d)
	}
	resp := capgen.DNSResponse(0x1234, "www.example.com", capgen.DNSTypeA, capgen.RcodeNoError,
		capgen.DNSCNAME("www.example.com", 300, "web.example.com"),
		capgen.DNSAddr("web.example.com", 60, netip.MustParseAddr("203.0.113.5")),
		capgen.DNSTXT("web.example.com", 60, "v=spf1 -all"))
	r := decode(t, capgen.LinkTypeRaw, ip.UDP(53, 5000, resp))
	d = r.Layer(layers.LayerTypeDNS).(*layers.DNS)
	if !d.QR || d.ResponseCode != layers.DNSResponseCodeNoErr || len(d.Answers) != 3 {
		t.Fatalf("response: %+v", d)
	}
	if string(d.Answers[0].Name) != "www.example.com" || string(d.Answers[0].CNAME) != "web.example.com" {
		t.Errorf("CNAME answer %+v", d.Answers[0])
	}
	if !d.Answers[1].IP.Equal(net.ParseIP("203.0.113.5")) || d.Answers[1].TTL != 60 {
		t.Errorf("A answer %+v", d.Answers[1])
	}
	if len(d.Answers[2].TXTs) != 1 || string(d.Answers[2].TXTs[0]) != "v=spf1 -all" {
		t.Errorf("TXT answer %+v", d.Answers[2])
	}
	for _, rc := range []uint8{capgen.RcodeNXDomain, capgen.RcodeServFail, capgen.RcodeRefused} {
		p := gopacket.NewPacket(capgen.DNSResponse(1, "x.example", capgen.DNSTypeA, rc), layers.LayerTypeDNS, gopacket.Default)
		if got := p.Layer(layers.LayerTypeDNS).(*layers.DNS).ResponseCode; uint8(got) != rc {
			t.Errorf("rcode %d decoded as %v", rc, got)
		}
	}
	if m := capgen.DNSOverTCP([]byte{1, 2, 3}); !bytes.Equal(m, []byte{0, 3, 1, 2, 3}) {
		t.Errorf("DNSOverTCP %x", m)
	}
}

// serverName feeds a ClientHello record to crypto/tls and returns the SNI
// and ALPN protocols it parsed.
func serverName(t *testing.T, record []byte) (string, []string, []uint16) {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	var info *tls.ClientHelloInfo
	stop := errors.New("stop")
	done := make(chan error, 1)
	go func() {
		srv := tls.Server(c2, &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			info = h
			return nil, stop
		}})
		done <- srv.Handshake()
	}()
	go func() {
		c1.Write(record)
		io.Copy(io.Discard, c1)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, stop) || info == nil {
			t.Fatalf("crypto/tls rejected the ClientHello: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("crypto/tls did not finish reading the ClientHello")
	}
	return info.ServerName, info.SupportedProtos, info.SupportedVersions
}

func TestTLSClientHello(t *testing.T) {
	rec := capgen.TLSClientHello(capgen.ClientHello{SNI: "www.example.com", GREASE: true})
	sni, alpn, vers := serverName(t, rec)
	if sni != "www.example.com" || !slices.Equal(alpn, []string{"h2", "http/1.1"}) || !slices.Contains(vers, tls.VersionTLS13) {
		t.Errorf("SNI %q ALPN %v versions %x", sni, alpn, vers)
	}
	rec12 := capgen.TLSClientHello(capgen.ClientHello{SNI: "legacy.example.com", Versions: []uint16{capgen.TLS12}, ALPN: []string{}})
	sni, alpn, vers = serverName(t, rec12)
	if sni != "legacy.example.com" || len(alpn) != 0 || slices.Contains(vers, tls.VersionTLS13) {
		t.Errorf("TLS 1.2 hello: SNI %q ALPN %v versions %x", sni, alpn, vers)
	}
	if !bytes.Equal(capgen.TLSClientHello(capgen.ClientHello{SNI: "a"}), capgen.TLSClientHello(capgen.ClientHello{SNI: "a"})) {
		t.Error("ClientHello not deterministic")
	}
	// gopacket's TLS layer reads it as one handshake record too.
	p := gopacket.NewPacket(rec, layers.LayerTypeTLS, gopacket.Default)
	if tl, ok := p.Layer(layers.LayerTypeTLS).(*layers.TLS); !ok || len(tl.Handshake) != 1 || p.ErrorLayer() != nil {
		t.Errorf("gopacket does not see one TLS handshake record: %v", p.Dump())
	}
}

func TestTLSServerRecords(t *testing.T) {
	sh := capgen.TLSServerHello(capgen.ServerHello{Seed: "x"})
	if sh[0] != 22 || sh[5] != 2 {
		t.Errorf("ServerHello record starts %x", sh[:6])
	}
	n := 5 + int(sh[3])<<8 | int(sh[4])
	if !bytes.Equal(sh[n:], capgen.TLSChangeCipherSpec()) {
		t.Errorf("TLS 1.3 ServerHello not followed by ChangeCipherSpec")
	}
	if a := capgen.TLSAlert(capgen.AlertLevelFatal, capgen.AlertHandshakeFailure); !bytes.Equal(a, []byte{21, 3, 3, 0, 2, 2, 40}) {
		t.Errorf("alert %x", a)
	}
	if d := capgen.TLSApplicationData([]byte{9, 9}); !bytes.Equal(d, []byte{23, 3, 3, 0, 2, 9, 9}) {
		t.Errorf("application data %x", d)
	}
}

func TestHTTPMessages(t *testing.T) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(capgen.HTTPRequest("GET", "example.com", "/a?b=c", "User-Agent: x"))))
	if err != nil || req.Host != "example.com" || req.URL.String() != "/a?b=c" || req.UserAgent() != "x" {
		t.Fatalf("request: %v %+v", err, req)
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(capgen.HTTPResponse(503, []byte("busy"), "Retry-After: 5"))), nil)
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "5" || resp.ContentLength != 4 {
		t.Fatalf("response: %v %+v", err, resp)
	}
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "busy" {
		t.Errorf("body %q", body)
	}
}

func TestSSLv2ClientHello(t *testing.T) {
	h := capgen.SSLv2ClientHello(capgen.TLS10, []uint32{0x000039, 0x010080}, "x")
	want := []byte{0x80, 31, 1, 3, 1, 0, 6, 0, 0, 0, 16, 0, 0, 0x39, 1, 0, 0x80}
	if len(h) != 33 || !bytes.Equal(h[:len(want)], want) {
		t.Errorf("SSLv2 hello % x", h)
	}
	if !bytes.Equal(h, capgen.SSLv2ClientHello(capgen.TLS10, []uint32{0x000039, 0x010080}, "x")) {
		t.Error("SSLv2 hello not deterministic")
	}
}

package tls

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// An SSLv2-compatible ClientHello becomes a ClientHello: the version it
// offers, its TLS cipher suites (the 3-byte specs whose first byte is 0),
// its session id, and no SNI, extensions or fingerprints.
func TestSSLv2ClientHelloFields(t *testing.T) {
	sid := make([]byte, 16)
	p := run([]step{feed(sslv2Hello(VersionTLS10, oldClientSpecs, sid, make([]byte, 32)), 42)})
	r := p.Result()
	if len(r.ClientHellos) != 1 || !r.SSLv2 || r.Malformed != 0 {
		t.Fatalf("hellos %d, SSLv2 %v, malformed %d", len(r.ClientHellos), r.SSLv2, r.Malformed)
	}
	h := r.ClientHellos[0]
	if h.Time != 42 || h.RecordVersion != VersionSSL20 || h.Version != VersionTLS10 || h.MaxVersion() != VersionTLS10 || !h.SSLv2 {
		t.Errorf("time %d record version %x version %x max %x SSLv2 %v", h.Time, h.RecordVersion, h.Version, h.MaxVersion(), h.SSLv2)
	}
	if want := []uint16{0x0039, 0x0038, 0x0035, 0x0004, 0x000a, 0x00ff}; !slices.Equal(h.CipherSuites, want) {
		t.Errorf("cipher suites %x, want %x (the SSLv2 kinds 0x010080 and 0x0700c0 left out)", h.CipherSuites, want)
	}
	if h.SessionIDLen != 16 || h.SNI != "" || h.HasSNI || h.Extensions != nil || h.Compression != nil {
		t.Errorf("session id %d SNI %q/%v extensions %v compression %v", h.SessionIDLen, h.SNI, h.HasSNI, h.Extensions, h.Compression)
	}
	if h.JA3 != "" || h.JA3Hash != "" || h.JA4 != "" {
		t.Errorf("fingerprints %q %q %q; JA3 and JA4 define none for an SSLv2 hello", h.JA3, h.JA3Hash, h.JA4)
	}

	// SSL 2.0 itself (version 0x0002): every spec an SSLv2 kind.
	h2, err := ParseSSLv2ClientHello(sslv2Hello(VersionSSL20, []uint32{0x010080, 0x020080}, nil, make([]byte, 16))[2:])
	if err != nil || h2.Version != VersionSSL20 || len(h2.CipherSuites) != 0 {
		t.Errorf("SSL 2.0 hello: %v %+v", err, h2)
	}
}

func TestParseSSLv2ClientHelloErrors(t *testing.T) {
	good := sslv2Hello(VersionTLS10, oldClientSpecs, nil, make([]byte, 16))[2:]
	for _, c := range []struct {
		name string
		msg  []byte
	}{
		{"empty", nil},
		{"not a ClientHello", append([]byte{4}, good[1:]...)},
		{"header only", good[:9]},
		{"challenge cut", good[:len(good)-1]},
		{"cipher specs not a multiple of 3", []byte{1, 3, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0x39, 0}},
	} {
		if h, err := ParseSSLv2ClientHello(c.msg); err == nil {
			t.Errorf("%s: parsed %+v", c.name, h)
		}
	}
}

// The SSLv2-compatible ClientHello of a real capture (zeek's ssl.v3.pcap,
// frame 4) gives the cipher suites tshark lists as its cipher specs.
func TestSSLv2ClientHelloAgainstTshark(t *testing.T) {
	path := filepath.Join(sharedDir, "pcaps", "zeek__zeek", "testing__btest__Traces__tls__ssl.v3.pcap")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("shared captures not available (%v)", err)
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	capt := readCapture(t, path)
	out, err := exec.Command("tshark", "-n", "-r", path, "-Y", "tls.handshake.cipherspec",
		"-T", "fields", "-E", "aggregator=,", "-e", "tls.handshake.version", "-e", "tls.handshake.cipherspec").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("tshark output %q: want one SSLv2 hello", out)
	}
	wantVer, _ := strconv.ParseUint(f[0], 0, 16)
	var want []uint16
	for _, s := range strings.Split(f[1], ",") {
		v, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			t.Fatal(err)
		}
		if v>>16 == 0 {
			want = append(want, uint16(v))
		}
	}
	var got []*ClientHello
	for _, c := range capt.conns {
		cp, _ := c.parse()
		r := cp.Result()
		for i := range r.ClientHellos {
			if r.ClientHellos[i].SSLv2 {
				got = append(got, &r.ClientHellos[i])
			}
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d SSLv2 hellos, tshark shows 1", len(got))
	}
	if got[0].Version != uint16(wantVer) || !slices.Equal(got[0].CipherSuites, want) {
		t.Errorf("version %x ciphers %x\nwant %x %x", got[0].Version, got[0].CipherSuites, wantVer, want)
	}
}

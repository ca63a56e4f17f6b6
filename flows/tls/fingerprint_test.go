package tls

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestJA4SpecExample(t *testing.T) {
	// The example of the JA4 specification, with GREASE added everywhere a
	// browser puts it: the fingerprints must not change.
	h, err := ParseClientHello(chromeLike("example.com").body())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, got, want string
	}{
		{"JA4", h.JA4, "t13d1516h2_8daaf6152771_e5627efa2ab1"},
		{"JA4_r", h.JA4Fingerprint('t', true, false), "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"},
		{"JA4_o", h.JA4Fingerprint('t', false, true), "t13d1516h2_acb858a92679_18f69afefd3d"},
		{"JA4_ro", h.JA4Fingerprint('t', true, true), "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601"},
		{"JA4 QUIC", h.JA4For('q'), "q13d1516h2_8daaf6152771_e5627efa2ab1"},
		// JA3 keeps legacy_version (771) and drops every GREASE value.
		{"JA3", h.JA3, "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,27-0-51-16-17513-23-45-13-5-35-18-43-65281-11-10-21,29-23-24,0"},
		{"JA3 hash", h.JA3Hash, "c000e2caf3a25423f9de6c8a4b12a975"},
	} {
		if c.got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
	}
}

func TestJA3ReadmeExample(t *testing.T) {
	// The example string and hash of Salesforce's JA3 README.
	h, err := ParseClientHello(clientHelloSpec{
		version: VersionTLS10,
		ciphers: []uint16{47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4},
		exts:    []ext{extSNI("example.com"), extGroups(23, 24, 25), extPointFormats(0)},
	}.body())
	if err != nil {
		t.Fatal(err)
	}
	if want := "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"; h.JA3 != want {
		t.Errorf("JA3 %s, want %s", h.JA3, want)
	}
	if want := "ada70206e40642a3e4461f35503241d5"; h.JA3Hash != want {
		t.Errorf("JA3 hash %s, want %s", h.JA3Hash, want)
	}
}

func TestFingerprintEdges(t *testing.T) {
	for _, c := range []struct {
		name     string
		spec     clientHelloSpec
		ja3, ja4 string
	}{
		{
			name: "no extensions at all (SSL 3.0 style)",
			spec: clientHelloSpec{version: VersionSSL30, ciphers: []uint16{0x000a, 0x0005}, noExts: true},
			ja3:  "768,10-5,,,",
			ja4:  "ts3i020000_" + sha12("0005,000a") + "_000000000000",
		},
		{
			name: "no ciphers, only GREASE extensions",
			spec: clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x0a0a}, exts: []ext{extEmpty(0xfafa)}},
			ja3:  "771,,,,",
			ja4:  "t12i000000_000000000000_000000000000",
		},
		{
			name: "signature_algorithms present but empty: no trailing underscore",
			spec: clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x1301}, exts: []ext{
				extEmpty(0x0005), extGroups(), extPointFormats(), extSigAlgs(), extEmpty(0x0012), extEmpty(0x0015),
				extEmpty(0x0017), extEmpty(0x001b), extEmpty(0x0023), extVersions(0x0304), extEmpty(0x002d),
				extEmpty(0x0033), extEmpty(0x4469), extEmpty(0xff01)}},
			ja3: "771,4865,5-10-11-13-18-21-23-27-35-43-45-51-17513-65281,,",
			// The specification's example value for this list.
			ja4: "t13i011400_" + sha12("1301") + "_6d807ffa2a79",
		},
		{
			name: "supported_versions only GREASE: version unknown",
			spec: clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x1301}, exts: []ext{extVersions(0x7a7a)}},
			ja3:  "771,4865,43,,",
			ja4:  "t00i010100_" + sha12("1301") + "_" + sha12("002b"),
		},
		{
			name: "more than 99 ciphers, SCSV counted",
			spec: clientHelloSpec{version: VersionTLS11, ciphers: append(seq16(0x0100, 120), 0x00ff, 0x5600, 0x2a2a)},
			ja4:  "t11i990000_",
		},
		{
			name: "ALPN: single character, SNI present",
			spec: clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x1301}, exts: []ext{extSNI("x"), extALPN("h")}},
			ja4:  "t12d0102hh_" + sha12("1301") + "_000000000000",
		},
		{
			name: "ALPN first value empty",
			spec: clientHelloSpec{version: VersionTLS12, ciphers: []uint16{0x1301}, exts: []ext{extALPN("", "h2")}},
			ja4:  "t12i010100_",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := ParseClientHello(c.spec.body())
			if err != nil {
				t.Fatal(err)
			}
			if c.ja3 != "" && h.JA3 != c.ja3 {
				t.Errorf("JA3 %s, want %s", h.JA3, c.ja3)
			}
			if len(h.JA4) < len(c.ja4) || h.JA4[:len(c.ja4)] != c.ja4 {
				t.Errorf("JA4 %s, want %s", h.JA4, c.ja4)
			}
		})
	}
}

func TestJA4ALPN(t *testing.T) {
	// The table of the JA4 specification, plus the plain cases. A value
	// that starts with a non-ASCII byte gives "99" as in the reference
	// implementations' output (the specification says "ab" and "ad").
	for _, c := range []struct{ alpn, want string }{
		{"\xab", "99"},
		{"\x20", "20"},
		{"\xab\xcd", "99"},
		{"\xc3\xa9", "99"},
		{"a\xff", "6f"},
		{"\x20\x61", "21"},
		{"\x30\xab", "3b"},
		{"\x61\x20", "60"},
		{"\x30\x31\xab\xcd", "3d"},
		{"\x30\xab\xcd\x31", "01"},
		{"h2", "h2"},
		{"http/1.1", "h1"},
		{"h", "hh"},
		{"", "00"},
	} {
		if got := string(appendALPN(nil, []string{c.alpn})); got != c.want {
			t.Errorf("ALPN %q: %s, want %s", c.alpn, got, c.want)
		}
	}
	if got := string(appendALPN(nil, nil)); got != "00" {
		t.Errorf("no ALPN: %s", got)
	}
}

func sha12(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:12]
}

func seq16(from uint16, n int) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = from + uint16(i)
	}
	return out
}

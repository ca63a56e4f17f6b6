package tls

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The JA4 reference implementation's output on its own test captures
// (FoxIO-LLC/ja4, see shared/vectors/ja4/SOURCE.txt). Only the JA4 fields
// (JA4, JA4_r, JA4_o, JA4_ro, numbered per ClientHello of the stream) are
// used; the JA4+ fields in the same files are not implemented here.
var ja4Dir = filepath.Join(sharedDir, "vectors", "ja4")

// QUIC carries its ClientHello in CRYPTO frames, which this package does
// not read. Entries whose fingerprint starts with "q" are skipped; in the
// vector set at hand the reference produced none (quic-tls-handshake.pcapng,
// quic-with-several-tls-frames.pcapng and the UDP stream of
// chrome-cloudflare-quic-with-secrets.pcapng have no JA4 entry), so nothing
// is skipped today.

func TestJA4Vectors(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(ja4Dir, "expected", "*.json"))
	if len(files) == 0 {
		t.Skipf("JA4 vectors not available in %s (../shared sits beside the repo in CI)", ja4Dir)
	}
	checked, hellos, skippedQUIC := 0, 0, 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var entries []map[string]any
		if err := json.Unmarshal(raw, &entries); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		pcap := filepath.Join(ja4Dir, "pcap", strings.TrimSuffix(filepath.Base(f), ".json"))
		var capt *capture
		for _, e := range entries {
			if _, ok := e["JA4.1"]; !ok {
				continue
			}
			if s, _ := e["JA4.1"].(string); strings.HasPrefix(s, "q") {
				skippedQUIC++
				continue
			}
			if capt == nil {
				capt = readCapture(t, pcap)
			}
			client := endpoint{netip.MustParseAddr(e["src"].(string)), port(t, e["srcport"])}
			server := endpoint{netip.MustParseAddr(e["dst"].(string)), port(t, e["dstport"])}
			conns := capt.connsByClient(client, server)
			name := filepath.Base(pcap) + " stream " + strconv.Itoa(int(e["stream"].(float64)))
			if len(conns) != 1 {
				t.Errorf("%s: %d TCP connections %v -> %v", name, len(conns), client, server)
				continue
			}
			cp, _ := conns[0].parse()
			r := cp.Result()
			checked++
			for i := 1; ; i++ {
				n := strconv.Itoa(i)
				want, ok := e["JA4."+n].(string)
				if !ok {
					if len(r.ClientHellos) >= i {
						t.Errorf("%s: %d ClientHellos, the reference saw %d", name, len(r.ClientHellos), i-1)
					}
					break
				}
				hellos++
				if len(r.ClientHellos) < i {
					t.Errorf("%s: ClientHello %d not found (result %+v)", name, i, r)
					break
				}
				h := &r.ClientHellos[i-1]
				for _, v := range []struct {
					field         string
					raw, original bool
				}{{"JA4", false, false}, {"JA4_r", true, false}, {"JA4_o", false, true}, {"JA4_ro", true, true}} {
					want := e[v.field+"."+n].(string)
					if got := h.JA4Fingerprint('t', v.raw, v.original); got != want {
						t.Errorf("%s hello %d: %s\n got %s\nwant %s", name, i, v.field, got, want)
					}
				}
				if h.JA4 != want {
					t.Errorf("%s hello %d: JA4 field %s, want %s", name, i, h.JA4, want)
				}
				if d, _ := e["domain"].(string); d != h.SNI {
					t.Errorf("%s hello %d: SNI %q, reference domain %q", name, i, h.SNI, d)
				}
			}
		}
	}
	t.Logf("JA4: %d TCP streams, %d ClientHellos checked against the reference; %d QUIC entries skipped", checked, hellos, skippedQUIC)
	if checked == 0 {
		t.Error("no stream checked")
	}
}

func port(t *testing.T, v any) uint16 {
	s, _ := v.(string)
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		t.Fatalf("port %v: %v", v, err)
	}
	return uint16(n)
}

// tsharkHellos is what tshark says of one connection's ClientHellos.
type tsharkHellos struct {
	keys [][2]endpoint // (client, server) as IPv6 and as IPv4 (tunnels carry both)
	ja3  []string
}

// tsharkJA3 runs tshark (an independent JA3 implementation) on a capture
// and returns the JA3 strings of the ClientHellos it decoded, per
// connection, in stream order.
func tsharkJA3(t *testing.T, path string) []*tsharkHellos {
	out, err := exec.Command("tshark", "-n", "-r", path, "-Y", "tls.handshake.type == 1 && tcp",
		"-T", "fields", "-E", "separator=\t", "-E", "aggregator=|",
		"-e", "ip.src", "-e", "ipv6.src", "-e", "tcp.srcport",
		"-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport", "-e", "tls.handshake.ja3_full").Output()
	if err != nil && len(out) == 0 {
		return nil // tshark cannot read it either
	}
	byKey := map[string]*tsharkHellos{}
	var res []*tsharkHellos
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 7 || f[6] == "" {
			continue
		}
		last := func(s string) string { return s[strings.LastIndexByte(s, '|')+1:] }
		sp, err1 := strconv.ParseUint(last(f[2]), 10, 16)
		dp, err2 := strconv.ParseUint(last(f[5]), 10, 16)
		if err1 != nil || err2 != nil {
			continue
		}
		var keys [][2]endpoint
		for _, a := range [][2]string{{f[1], f[4]}, {f[0], f[3]}} {
			s, err1 := netip.ParseAddr(last(a[0]))
			d, err2 := netip.ParseAddr(last(a[1]))
			if err1 == nil && err2 == nil {
				keys = append(keys, [2]endpoint{{s, uint16(sp)}, {d, uint16(dp)}})
			}
		}
		if len(keys) == 0 {
			continue
		}
		k := keys[0][0].String() + keys[0][1].String()
		h := byKey[k]
		if h == nil {
			h = &tsharkHellos{keys: keys}
			byKey[k] = h
			res = append(res, h)
		}
		h.ja3 = append(h.ja3, strings.Split(f[6], "|")...)
	}
	return res
}

// JA3 agrees with tshark's on every ClientHello tshark decodes, in the JA4
// vector captures and in the shared real captures. tshark only decodes TLS
// on its standard ports; the parser finds more, which is not checked here.
func TestJA3AgainstTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark over many captures")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: the JA3 oracle needs it")
	}
	files, _ := filepath.Glob(filepath.Join(ja4Dir, "pcap", "*"))
	files = append(files, sharedTLSCaptures(t)...)
	if len(files) == 0 {
		t.Skip("no captures in ../shared")
	}
	sort.Strings(files)
	compared := 0
	for _, f := range files {
		want := tsharkJA3(t, f)
		if len(want) == 0 {
			continue
		}
		capt := readCapture(t, f)
		for _, w := range want {
			var conns []*tcpConn
			var k [2]endpoint
			for _, k = range w.keys {
				if conns = capt.connsByClient(k[0], k[1]); len(conns) > 0 {
					break
				}
			}
			var got []string
			for _, c := range conns {
				cp, _ := c.parse()
				for _, h := range cp.Result().ClientHellos {
					got = append(got, h.JA3)
				}
			}
			name := filepath.Base(f) + " " + k[0].String() + " -> " + k[1].String()
			if len(got) < len(w.ja3) {
				t.Errorf("%s: %d ClientHellos, tshark saw %d", name, len(got), len(w.ja3))
				continue
			}
			for i, ja3 := range w.ja3 {
				compared++
				if got[i] != ja3 {
					t.Errorf("%s hello %d:\n got %s\nwant %s", name, i+1, got[i], ja3)
				}
			}
		}
	}
	t.Logf("JA3: %d ClientHellos agree with tshark", compared)
}

// sharedTLSCaptures lists the shared real captures in which tshark counted
// at least one ClientHello (ORACLE.tsv, column tls_clienthello).
func sharedTLSCaptures(t *testing.T) []string {
	dir := filepath.Join(sharedDir, "pcaps")
	raw, err := os.ReadFile(filepath.Join(dir, "ORACLE.tsv"))
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	col := -1
	for i, name := range strings.Split(lines[0], "\t") {
		if name == "tls_clienthello" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("ORACLE.tsv has no tls_clienthello column")
	}
	var files []string
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		if n, err := strconv.Atoi(f[col]); err == nil && n > 0 {
			files = append(files, filepath.Join(dir, f[0]))
		}
	}
	return files
}

// The shared real captures that carry TLS: our ClientHello and ServerHello
// counts agree with tshark's (ORACLE.tsv), except where listed with the
// reason. The test replays each direction in sequence order, so segments
// tshark 4.0 could not reassemble (captured out of order, retransmitted
// after a "previous segment not captured") still reach the parser.
func TestSharedCapturesAgainstOracle(t *testing.T) {
	dir := filepath.Join(sharedDir, "pcaps")
	raw, err := os.ReadFile(filepath.Join(dir, "ORACLE.tsv"))
	if err != nil {
		t.Skipf("shared captures not available (%v)", err)
	}
	differ := map[string]struct {
		ch, sh int
		why    string
	}{
		"tests__tls__tls-fingerprint-alert__input.pcap":                   {1, 1, "the ServerHello segment was captured out of order (frame 12); tshark 4.0 does not reassemble it"},
		"tests__cfgs__default__pcap__KakaoTalk_chat.pcap":                 {8, 7, "stream 18: the ServerHello is parsed as soon as its message is complete; tshark waits for the end of a record the capture cuts off"},
		"tests__cfgs__default__pcap__viber.pcap":                          {7, 7, "streams 2 and 6: out-of-order segments after a lost one"},
		"tests__tls__tls-subjectaltname__input.pcap":                      {40, 40, "stream 3: the ServerHello arrives only as a retransmission"},
		"testing__btest__Traces__postgresql__psql-aws-ssl-preferred.pcap": {1, 1, "out-of-order segments after a lost one; the TLS after the PostgreSQL SSLRequest is found by the prefix search"},
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	cols := map[string]int{}
	for i, name := range strings.Split(lines[0], "\t") {
		cols[name] = i
	}
	checked := 0
	for _, l := range lines[1:] {
		f := strings.Split(l, "\t")
		wantCH, _ := strconv.Atoi(f[cols["tls_clienthello"]])
		wantSH, _ := strconv.Atoi(f[cols["tls_serverhello"]])
		if wantCH == 0 {
			continue
		}
		base := filepath.Base(f[0])
		if d, ok := differ[base]; ok {
			wantCH, wantSH = d.ch, d.sh
		}
		capt := readCapture(t, filepath.Join(dir, f[0]))
		ch, sh, malformed := 0, 0, 0
		for _, c := range capt.conns {
			cp, sp := c.parse()
			for _, p := range []*Parser{cp, sp} {
				r := p.Result()
				ch += len(r.ClientHellos)
				sh += len(r.ServerHellos)
				malformed += r.Malformed
			}
		}
		checked++
		if ch != wantCH || sh != wantSH || malformed != 0 {
			t.Errorf("%s: %d ClientHellos, %d ServerHellos, %d malformed; want %d, %d, 0 (%s)", base, ch, sh, malformed, wantCH, wantSH, differ[base].why)
		}
	}
	t.Logf("%d captures with TLS checked", checked)
}

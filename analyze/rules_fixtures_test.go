package analyze_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// ruleRun is what one fixture's analysis produced: the result, the
// application records the sink received, and what the test saw of each
// frame.
type ruleRun struct {
	res   *run.Result
	dns   []*flows.DNSRecord
	http  []*flows.HTTPRecord
	tls   []*flows.TLSRecord
	icmp  []*flows.ICMPRecord
	flags map[int64]flows.Analysis // pcapx's TCP analysis of each frame
	heads map[int64]string         // first line of each frame's payload, when it is text
}

func (r *ruleRun) Flow(*flows.Record) error       { return nil }
func (r *ruleRun) DNS(d *flows.DNSRecord) error   { r.dns = append(r.dns, d); return nil }
func (r *ruleRun) HTTP(h *flows.HTTPRecord) error { r.http = append(r.http, h); return nil }
func (r *ruleRun) TLS(t *flows.TLSRecord) error   { r.tls = append(r.tls, t); return nil }
func (r *ruleRun) ICMP(m *flows.ICMPRecord) error { r.icmp = append(r.icmp, m); return nil }

// find returns the findings of one rule.
func (r *ruleRun) find(id string) []rules.Finding {
	var out []rules.Finding
	for _, f := range r.res.Findings {
		if f.Rule == id {
			out = append(out, f)
		}
	}
	return out
}

func runFixture(t *testing.T, file string) *ruleRun {
	t.Helper()
	r := &ruleRun{flags: map[int64]flows.Analysis{}, heads: map[int64]string{}}
	cfg := analyze.Config{
		Inputs: []string{filepath.Join(captures, file)},
		OnPacket: func(p *flows.Packet, _ *flows.Flow, _ flows.Dir, a flows.Analysis) {
			r.flags[p.Frame] = a
			if line, _, _ := bytes.Cut(p.Payload, []byte("\r\n")); len(line) > 0 && isPrintable(line) {
				r.heads[p.Frame] = string(line)
			}
		},
	}
	res, err := analyze.Run(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	r.res = res
	return r
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func evidenceFrames(f rules.Finding) []int64 {
	var n []int64
	for _, e := range f.Evidence {
		n = append(n, e.Frame)
	}
	return n
}

// wiresharkFrames returns the frames of a fixture to which Wireshark 4.0
// gives the analysis flag (as recorded in expected-tcp-analysis.tsv, which
// testdata/gen checks against tshark).
func wiresharkFrames(t *testing.T, file, flag string) map[int64]bool {
	t.Helper()
	f, err := os.Open(filepath.Join(captures, "expected-tcp-analysis.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[int64]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 3 || c[0] != file {
			continue
		}
		if slices.Contains(strings.Split(c[2], ","), flag) {
			n, err := strconv.ParseInt(c[1], 10, 64)
			if err != nil {
				t.Fatalf("expected-tcp-analysis.tsv: %q", sc.Text())
			}
			out[n] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ruleCase is one fixture and every finding the rules must make of it, as
// "rule-id severity", one entry per finding (a rule that groups by cause
// reports one finding per cause).
type ruleCase struct {
	file  string
	want  []string
	check func(t *testing.T, r *ruleRun)
}

var ruleCases = []ruleCase{
	// Made for this table (testdata/gen/rules.go).
	{file: "rules/clean.pcap", check: checkClean},
	{file: "rules/tcp-dupack-storm.pcap", want: []string{"tcp-duplicate-ack-storm warning"}, check: checkDupAckStorm},
	{file: "rules/tcp-retransmissions-many.pcap", want: []string{"tcp-retransmissions warning"}, check: checkRetransmissionsMany},
	{file: "rules/tcp-port-scan.pcap", want: []string{"tcp-syn-unanswered error", "tcp-port-scan warning"}, check: checkPortScan},
	{file: "rules/tcp-sweep.pcap", want: []string{"tcp-sweep warning"}, check: checkSweep},
	{file: "rules/tcp-connection-churn.pcap", want: []string{"tcp-connection-churn warning"}, check: func(t *testing.T, r *ruleRun) {
		f := r.find("tcp-connection-churn")[0]
		wantIn(t, f, "192.0.2.10 opened 120 connections to 198.51.100.20:6379 in 2.4 s (50/s)", "median duration about 0.62 ms (120 under 1000 ms)",
			"client ports 45120–45358 (120 distinct)", "120 closed by the client first (TIME-WAIT on the client), 0 by the server first, 0 with a reset",
			"about 3000 client ports stay in TIME-WAIT", "Reuse connections: HTTP keep-alive, connection pooling; or widen net.ipv4.ip_local_port_range / enable tcp_tw_reuse on the client")
		if f.Count != 120 || len(f.Evidence) != 5 || f.Evidence[1].Frame != 9 {
			t.Errorf("count %d, evidence %v: want 120 and the first SYNs", f.Count, f.Evidence)
		}
	}},
	// A pool of long-lived connections, a crawler and a slow poller.
	{file: "rules/tcp-connection-churn-negative.pcap"},
	{file: "rules/tcp-port-reuse.pcap", want: []string{"tcp-port-reuse warning", "slow-connect warning"}, check: func(t *testing.T, r *ruleRun) {
		f := r.find("tcp-port-reuse")[0]
		wantIn(t, f, "3 SYN(s) to 198.51.100.20:80", "(2 in the server's TIME-WAIT (it closed first, less than 60 s before), 1 never closed)",
			"3.0 s–10 s after the old connection's last packet", "from 192.0.2.10, 192.0.2.11, 192.0.2.12", "2 above, 1 below",
			"the server answered 1 with a SYN-ACK, 2 with an ACK for the old connection (challenge ACK)", "connect took up to 1002 ms",
			"192.0.2.10:51000 → 198.51.100.20:80, 3.0 s after tcp.stream 0 closed (by the server first), ISN below its next sequence number, answered with an ACK for the old connection (challenge ACK), connected after 1002 ms",
			"192.0.2.11:51000 → 198.51.100.20:80, 5.0 s after tcp.stream 2 closed (by the server first), ISN above its next sequence number, answered with a SYN-ACK",
			"192.0.2.12:51000 → 198.51.100.20:80, 10 s after the last packet of a connection never closed (tcp.stream 4)")
		// The evidence is the new SYNs, each flagged reused_ports as in
		// Wireshark (the filter shows them).
		// The connects the challenge ACKs delayed are told as that, not as loss.
		wantIn(t, r.find("slow-connect")[0], "met an earlier connection the server still held on the same ports (a challenge ACK: see tcp-port-reuse)")
		reused := wiresharkFrames(t, "rules/tcp-port-reuse.pcap", "reused_ports")
		for _, n := range evidenceFrames(f) {
			if !reused[n] || r.flags[n]&flows.AReusedPorts == 0 {
				t.Errorf("evidence frame %d is not a reused-ports SYN", n)
			}
		}
		if len(f.Evidence) != 3 || f.Filter != "tcp.analysis.reused_ports && ip.addr == 198.51.100.20 && tcp.port == 80" {
			t.Errorf("evidence %v, filter %q", f.Evidence, f.Filter)
		}
	}},
	// After TIME-WAIT, the client's own TIME-WAIT, after a reset.
	{file: "rules/tcp-port-reuse-negative.pcap"},
	{file: "rules/tls-rst-after-serverhello.pcap", check: checkRSTAfterServerHello},
	{file: "rules/tls-clienthello-3-segments.pcap", check: checkClientHelloSplit},
	{file: "rules/http-pipelined.pcap", want: []string{"http-server-error error"}, check: checkPipelined},

	// Older fixtures.
	{file: "bad/header-only.pcap", want: []string{"capture-empty warning"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("capture-empty")[0], "header-only.pcap holds no packets")
		if r.res.Capture.Packets != 0 || len(r.res.Capture.Warnings) != 0 {
			t.Errorf("%d packets, warnings %q: want a clean, empty capture", r.res.Capture.Packets, r.res.Capture.Warnings)
		}
	}},
	{file: "app/dns-errors.pcap", want: []string{
		"dns-error error",   // SERVFAIL broken.example.com
		"dns-error error",   // REFUSED internal.example.com
		"dns-error warning", // NXDOMAIN nosuchhost.example.com
		"slow-dns warning",  // the 1.5 s SERVFAIL (180 ms slow.example.com is within 2 ms + 300 ms)
		"dns-unanswered warning",
	}, check: checkDNSErrors},
	{file: "app/http-5xx.pcap", want: []string{
		"http-server-error error", "http-server-error error", "http-server-error error",
		"slow-first-byte warning", // the 500 after 1.2 s
	}},
	{file: "app/slow-phases.pcap", want: []string{"slow-dns warning", "slow-connect warning", "slow-tls-handshake warning"}, check: checkSlowPhases},
	{file: "app/tls-rst-after-clienthello.pcap", want: []string{"tls-handshake-rejected error"}, check: checkRSTAfterClientHello},
	{file: "app/tls-alert.pcap", want: []string{"tls-handshake-rejected error"}, check: func(t *testing.T, r *ruleRun) {
		f := r.find("tls-handshake-rejected")[0]
		if !strings.Contains(f.Message, "protocol_version") || !strings.Contains(f.Message, "legacy.example.com") {
			t.Errorf("message does not name the alert and the SNI: %s", f.Message)
		}
	}},
	{file: "app/tls13-ok.pcap"},
	{file: "app/pmtu-blackhole.pcap", want: []string{"pmtu-black-hole error"}, check: func(t *testing.T, r *ruleRun) {
		// Seen at the sender: the stuck segment, its size against the MSS,
		// what got through, the stall, and what to run next.
		wantIn(t, r.find("pmtu-black-hole")[0], "198.51.100.20 (the server, sending the large segments) and 192.0.2.10",
			"a 1448-byte segment (the receiver's MSS is 1460) was sent 4 more times", "segments of up to 300 bytes were acknowledged",
			"no ICMP error about it came back (captured at the server)", "stalled for up to 5.0 s", "198.51.100.20:80 → 192.0.2.10:51000 (abandoned with a reset)",
			`"ping -M do -s 1460 192.0.2.10"`, "tracepath", "ip route get", "clamp the MSS")
	}},
	{file: "rules/pmtu-black-hole-client.pcap", want: []string{"pmtu-black-hole error", "pmtu-black-hole error"}, check: func(t *testing.T, r *ruleRun) {
		fs := r.find("pmtu-black-hole")
		wantIn(t, fs[0], "198.51.100.20 (the server, sending the large segments) and 192.0.2.10", "may send segments of up to 1460 bytes, yet none larger than 300 bytes arrived",
			"2896 bytes went missing (previous segment not captured)", "(captured at the client)", `"ping -M do -s 1472 192.0.2.10"`)
		wantIn(t, fs[1], "2001:db8:1::20 (the server", "[2001:db8:1::20]:80 → [2001:db8::10]:51000", `"ping -6 -M do -s 1472 2001:db8::10"`, "ICMPv6 type 2")
	}},
	{file: "rules/pmtu-discovery-server.pcap", want: []string{"tcp-retransmissions warning", "pmtu-frag-needed info"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("pmtu-frag-needed")[0], "203.0.113.254 reported a path MTU of 1400 bytes", "the packets were 1500 bytes",
			"PMTU discovery worked: 198.51.100.20:80 → 192.0.2.10:51000 (then segments of up to 1348 bytes) re-segmented")
		wantIn(t, r.find("tcp-retransmissions")[0], "4 of 20 segments retransmitted", "lowered the path MTU to 1400 bytes")
		// Sender-side retransmissions are exact: the kernel sent 4
		// segments again (the re-segmented 2 x 1,448 bytes).
		if n := r.res.TCP.Retransmissions; n != 4 {
			t.Errorf("%d retransmissions, want the sender's 4", n)
		}
		if len(r.icmp) != 1 || r.icmp[0].QuotedLen != 1500 || r.icmp[0].QuotedSrcPort != 80 || r.icmp[0].Kind != "frag-needed" {
			t.Errorf("icmp records %+v", r.icmp)
		}
	}},
	{file: "rules/pmtu-discovery-client.pcap"},
	// The look-alikes are stalls (and the random loss's abandoned
	// connection a reset with data in flight), not black holes.
	{file: "rules/pmtu-negative-random-loss.pcap", want: []string{"tcp-stall error", "tcp-retransmissions warning", "tcp-reset-midstream warning"}},
	{file: "rules/pmtu-negative-midstream.pcap", want: []string{"tcp-stall error", "tcp-retransmissions warning"}},
	{file: "rules/pmtu-negative-outage.pcap", want: []string{"tcp-stall error", "tcp-retransmissions warning"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("tcp-stall")[0], "the server's data waited 3.2 s for the client's acknowledgement", "sending data again 5 times",
			"the connection ended while still waiting (still stalled when the capture ended)")
	}},
	{file: "rules/pmtu-negative-offload.pcap", want: []string{"capture-offload info", "tcp-stall error", "tcp-retransmissions warning"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("capture-offload")[0], "1 TCP flow(s) carry segments larger than the MSS (up to 2896 bytes)")
	}},
	{file: "rules/capture-checksum-offload.pcap", want: []string{"capture-offload info"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("capture-offload")[0], "in 1 TCP flow(s) the data segments 198.51.100.20 sent carry wrong checksums", "checksum offload")
	}},
	{file: "format/snaplen-96.pcap", want: []string{"capture-truncated warning"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("capture-truncated")[0], "2 of 9 frames (22.2%) were cut short by the capture's snapshot length")
	}},
	{file: "rules/tcp-stall.pcap", want: []string{"tcp-stall error", "tcp-retransmissions warning", "tcp-zero-window warning"}, check: func(t *testing.T, r *ruleRun) {
		f := r.find("tcp-stall")[0]
		wantIn(t, f, "192.0.2.10:51000 → 198.51.100.20:80: the server's data waited 3.0 s", "sending data again 5 times", "then the transfer went on")
		if f.Flow == nil || f.Flow.SrcPort != 51000 {
			t.Errorf("the stall names flow %+v, want the first download", f.Flow)
		}
	}},
	{file: "rules/http-incomplete-response.pcap", want: []string{"http-incomplete-response error"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("http-incomplete-response")[0], "1 HTTP response(s) from files.example.com (198.51.100.20:80)", "GET /big.iso: 5688 of 20000 bytes",
			"the connection was reset by the server")
	}},
	{file: "rules/capture-incomplete.pcap", want: []string{"capture-incomplete warning"}, check: func(t *testing.T, r *ruleRun) {
		f := r.find("capture-incomplete")[0]
		wantIn(t, f, "129 IP fragments given up past the defragmenter's bounds")
		if r.res.Findings[0].Rule != "capture-incomplete" || f.Count != 129 || strings.Contains(f.Message, "--memory") {
			t.Errorf("capture-incomplete: first %s, count %d, message %q", r.res.Findings[0].Rule, f.Count, f.Message)
		}
	}},
	{file: "rules/capture-quality.pcap", want: []string{"capture-loss warning", "capture-midstream info"}, check: func(t *testing.T, r *ruleRun) {
		// Capture quality comes first, whatever the severities.
		if r.res.Findings[0].Rule != "capture-loss" || r.res.Findings[1].Rule != "capture-midstream" {
			t.Errorf("the capture-quality findings are not first: %s, %s", r.res.Findings[0].Rule, r.res.Findings[1].Rule)
		}
		wantIn(t, r.find("capture-loss")[0], "missed about 7.2% of the TCP data the hosts acknowledged (7240 of 100089 bytes, in 1 flow(s)", "192.0.2.10:51010 → 198.51.100.20:80")
		wantIn(t, r.find("capture-midstream")[0], "6 of 7 TCP connections (86%) were already open")
	}},
	{file: "rules/tls-alert.pcap", want: []string{"tls-alert error"}, check: func(t *testing.T, r *ruleRun) {
		wantIn(t, r.find("tls-alert")[0], "198.51.100.20:443 for intranet.example.com failed with a fatal unknown_ca alert from the client",
			"does not trust the issuer", "TLS 1.2")
	}},
	{file: "tcp/clean-http.pcap"},
	{file: "tcp/syn-unanswered.pcap", want: []string{"tcp-syn-unanswered error"}, check: func(t *testing.T, r *ruleRun) {
		if f := r.find("tcp-syn-unanswered")[0]; !strings.Contains(f.Message, "(3 SYNs with the retransmissions)") {
			t.Errorf("message %q", f.Message)
		}
	}},
	{file: "tcp/rst-to-syn.pcap", want: []string{"tcp-connection-refused error"}},
	{file: "tcp/zero-window.pcap", want: []string{"tcp-zero-window warning"}, check: func(t *testing.T, r *ruleRun) {
		f := r.find("tcp-zero-window")[0]
		zw := wiresharkFrames(t, "tcp/zero-window.pcap", "zero_window")
		for _, n := range evidenceFrames(f) {
			if !zw[n] {
				t.Errorf("evidence frame %d is not a zero-window frame (Wireshark flags %v)", n, zw)
			}
		}
	}},
	{file: "demo.pcapng", want: []string{
		"http-server-error error", "http-server-error error", // 503, 500
		"tls-handshake-rejected error",
		"dns-error error", // SERVFAIL
		"tcp-syn-unanswered error",
		"tcp-connection-refused error",
		"dns-error warning", // NXDOMAIN
		"slow-dns warning",
		"slow-first-byte warning",
		"dns-unanswered warning",
		"tcp-zero-window warning",
	}},
}

// TestRuleFixtures runs each fixture of the table and compares the rules'
// findings with the table: no finding missing, none extra.
func TestRuleFixtures(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.file, func(t *testing.T) {
			r := runFixture(t, tc.file)
			var got []string
			for _, f := range r.res.Findings {
				got = append(got, f.Rule+" "+f.Severity.String())
			}
			want := slices.Clone(tc.want)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n got  %q\n want %q", got, want)
				for _, f := range r.res.Findings {
					t.Logf("%s %s: %s (evidence %v, filter %s)", f.Rule, f.Severity, f.Message, evidenceFrames(f), f.Filter)
				}
			}
			for _, f := range r.res.Findings {
				if rules.Lookup(f.Rule) == nil {
					t.Errorf("finding of unknown rule %q", f.Rule)
				}
				if f.Message == "" || f.Filter == "" || f.Count < 1 {
					t.Errorf("%s: empty message or filter, or count %d", f.Rule, f.Count)
				}
			}
			if tc.check != nil && !t.Failed() {
				tc.check(t, r)
			}
		})
	}
}

// TestRuleFixturesCoverEveryRule fails when a rule of the registry is not
// shown firing by any fixture of the table, or when a fixture made for the
// rules is left out of it.
func TestRuleFixturesCoverEveryRule(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range ruleCases {
		for _, w := range tc.want {
			id, sev, ok := strings.Cut(w, " ")
			if !ok || rules.Lookup(id) == nil {
				t.Errorf("%s: %q is not \"rule-id severity\" with a known rule", tc.file, w)
				continue
			}
			if _, err := rules.ParseSeverity(sev); err != nil {
				t.Errorf("%s: %q: %v", tc.file, w, err)
			}
			covered[id] = true
		}
	}
	for _, r := range rules.All() {
		if !covered[r.ID] {
			t.Errorf("rule %s fires in no fixture of the table: add a fixture (testdata/gen) and a row to ruleCases", r.ID)
		}
	}

	inTable := map[string]bool{}
	for _, tc := range ruleCases {
		inTable[tc.file] = true
	}
	ents, err := os.ReadDir(filepath.Join(captures, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if p := "rules/" + e.Name(); !inTable[p] {
			t.Errorf("%s is not in ruleCases", p)
		}
	}
}

func checkClean(t *testing.T, r *ruleRun) {
	// No finding because everything was seen and was fine, not because
	// nothing was parsed.
	if len(r.dns) != 1 || r.dns[0].RcodeName != "NOERROR" || r.dns[0].LatencyMS > 50 {
		t.Errorf("DNS records: %+v", r.dns)
	}
	if len(r.http) != 1 || r.http[0].Status != 200 || r.http[0].TTFBMS > 500 {
		t.Errorf("HTTP records: %+v", r.http)
	}
	if len(r.tls) != 1 || !r.tls[0].Established || r.tls[0].SNI != "www.example.com" || r.tls[0].HandshakeMS > 200 {
		t.Errorf("TLS records: %+v", r.tls)
	}
	if c := r.res.TCP.TCPCounts; c != (flows.TCPCounts{}) {
		t.Errorf("TCP analysis flagged something: %+v", c)
	}
}

func checkDupAckStorm(t *testing.T, r *ruleRun) {
	const file = "rules/tcp-dupack-storm.pcap"
	f := r.find("tcp-duplicate-ack-storm")[0]
	dup := wiresharkFrames(t, file, "duplicate_ack")
	if len(dup) != 122 || f.Count != 122 {
		t.Errorf("count %d, Wireshark flags %d duplicate ACKs; the fixture has 122", f.Count, len(dup))
	}
	for _, s := range []string{"192.0.2.10:51000 → 198.51.100.20:80", "122 duplicate ACKs", "SACK negotiated", "1 retransmissions"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	ev := evidenceFrames(f)
	if len(ev) == 0 {
		t.Error("no evidence frames")
	}
	for _, n := range ev {
		if !dup[n] || r.flags[n]&flows.ADuplicateAck == 0 {
			t.Errorf("evidence frame %d is not a duplicate ACK (Wireshark: %v, pcapx: %v)", n, dup[n], r.flags[n])
		}
	}
	if !strings.HasSuffix(f.Filter, " && tcp.analysis.duplicate_ack") || !strings.Contains(f.Filter, "tcp.port == 51000") {
		t.Errorf("filter %q does not select the flow's duplicate ACKs", f.Filter)
	}
	if f.Flow == nil {
		t.Error("no flow reference")
	}
}

func checkRetransmissionsMany(t *testing.T, r *ruleRun) {
	const file = "rules/tcp-retransmissions-many.pcap"
	f := r.find("tcp-retransmissions")[0]
	retx := wiresharkFrames(t, file, "retransmission")
	if f.Count != 5 || len(retx) != 5 {
		t.Errorf("count %d, Wireshark flags %d retransmissions; the fixture has 5", f.Count, len(retx))
	}
	for _, s := range []string{"5 of 26 segments retransmitted", "1 fast", "0 spurious", "captured at the server"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	ev := evidenceFrames(f)
	if len(ev) != 5 {
		t.Errorf("evidence %v: want the 5 retransmissions", ev)
	}
	for _, n := range ev {
		if !retx[n] {
			t.Errorf("evidence frame %d is not a retransmission", n)
		}
	}
	if !strings.HasSuffix(f.Filter, " && tcp.analysis.retransmission") {
		t.Errorf("filter %q", f.Filter)
	}
}

func checkRSTAfterServerHello(t *testing.T, r *ruleRun) {
	if len(r.tls) != 1 {
		t.Fatalf("%d TLS records, want 1", len(r.tls))
	}
	x := r.tls[0]
	if !x.ServerHello || x.SNI != "intranet.example.com" || x.Version != "TLS 1.2" {
		t.Errorf("the ServerHello was not seen: %+v", x)
	}
	if strings.HasPrefix(x.Outcome, "rejected") || x.Established {
		t.Errorf("outcome %q (established %v): a reset after the ServerHello is neither a rejection nor a success", x.Outcome, x.Established)
	}
}

func checkClientHelloSplit(t *testing.T, r *ruleRun) {
	if len(r.tls) != 1 {
		t.Fatalf("%d TLS records, want 1", len(r.tls))
	}
	x := r.tls[0]
	if x.SNI != "news.example.com" || !x.Established || x.Outcome != "established" || x.Version != "TLS 1.3" {
		t.Errorf("the ClientHello in three segments was not reassembled: %+v", x)
	}
	// The hello is in frames 4, 5 and 6.
	if n := x.ClientHelloFrame.Frame; n < 4 || n > 6 {
		t.Errorf("ClientHello frame %d, want one of its segments (4-6)", n)
	}
}

func checkPipelined(t *testing.T, r *ruleRun) {
	f := r.find("http-server-error")[0]
	if f.Count != 1 || !strings.Contains(f.Message, "502 Bad Gateway") || !strings.Contains(f.Message, "GET /v1/items/2") ||
		strings.Contains(f.Message, "/v1/items/1") || strings.Contains(f.Message, "/v1/items/3") {
		t.Errorf("message %q (count %d): want the one 502, for GET /v1/items/2", f.Message, f.Count)
	}
	if want := "http.response.code == 502 && ip.addr == 198.51.100.20"; f.Filter != want {
		t.Errorf("filter %q, want %q", f.Filter, want)
	}
	ev := evidenceFrames(f)
	if len(ev) != 1 {
		t.Fatalf("evidence %v: want the 502 response's frame", ev)
	}
	if h := r.heads[ev[0]]; h != "HTTP/1.1 502 Bad Gateway" {
		t.Errorf("evidence frame %d starts %q, not the 502 status line", ev[0], h)
	}
	// Pipelining pairs the responses with the requests in order.
	var got []string
	for _, h := range r.http {
		got = append(got, h.Target+" "+strconv.Itoa(h.Status))
	}
	if want := []string{"/v1/items/1 200", "/v1/items/2 502", "/v1/items/3 200"}; !slices.Equal(got, want) {
		t.Errorf("HTTP transactions %q, want %q", got, want)
	}
}

func checkDNSErrors(t *testing.T, r *ruleRun) {
	byRcode := map[string]rules.Finding{}
	for _, f := range r.find("dns-error") {
		for _, rc := range []string{"NXDOMAIN", "SERVFAIL", "REFUSED"} {
			if strings.Contains(f.Message, rc) {
				byRcode[rc] = f
			}
		}
	}
	for rc, name := range map[string]string{"NXDOMAIN": "nosuchhost.example.com", "SERVFAIL": "broken.example.com", "REFUSED": "internal.example.com"} {
		f, ok := byRcode[rc]
		if !ok {
			t.Errorf("no dns-error finding for %s", rc)
			continue
		}
		if !strings.Contains(f.Message, name) || !strings.Contains(f.Filter, `dns.qry.name == "`+name+`"`) {
			t.Errorf("%s finding: message %q, filter %q; want %s", rc, f.Message, f.Filter, name)
		}
		want := rules.Error // SERVFAIL and REFUSED are raised to errors
		if rc == "NXDOMAIN" {
			want = rules.Warning
		}
		if f.Severity != want {
			t.Errorf("%s finding has severity %s, want %s", rc, f.Severity, want)
		}
	}
	// lost.example.com is asked twice with the same id and port: one
	// transaction, retransmitted once, never answered.
	u := r.find("dns-unanswered")[0]
	if u.Count != 1 || !strings.Contains(u.Message, "lost.example.com") || !strings.Contains(u.Filter, `"lost.example.com"`) {
		t.Errorf("dns-unanswered: count %d, message %q, filter %q; want the query for lost.example.com", u.Count, u.Message, u.Filter)
	}
	var lost []*flows.DNSRecord
	for _, d := range r.dns {
		if d.QName == "lost.example.com" {
			lost = append(lost, d)
		}
	}
	if len(lost) != 1 || !lost[0].Unanswered || lost[0].Retransmissions != 1 {
		t.Errorf("DNS records for lost.example.com: %+v", lost)
	}
}

func checkSlowPhases(t *testing.T, r *ruleRun) {
	// Each finding names the slow server, the cause that dominated with its
	// numbers, and the path RTT; the second, merely far connection
	// (port 51001) is in none of them.
	for id, want := range map[string][]string{
		"slow-dns":           {"192.0.2.53", "mostly the query sent again (1 retransmission(s), 1000 ms waited", "path RTT 2.0 ms", "mtr -u -P 53"},
		"slow-connect":       {"1 TCP handshake(s) with 203.0.113.90:443", "mostly the SYN or SYN-ACK sent again (1 retransmission(s), 1000 ms waited", "path RTT 150 ms", "mtr -T -P 443"},
		"slow-tls-handshake": {"1 TLS handshake(s) with 203.0.113.90:443 (shop.example.com)", "mostly the server taking 350 ms on average beyond the round trip", "path RTT 150 ms", "openssl s_client"},
	} {
		fs := r.find(id)
		if len(fs) != 1 {
			t.Fatalf("%s: %d findings, want 1", id, len(fs))
		}
		for _, s := range want {
			if !strings.Contains(fs[0].Message, s) {
				t.Errorf("%s: message %q does not say %q", id, fs[0].Message, s)
			}
		}
		if fs[0].Flow != nil && fs[0].Flow.SrcPort == 51001 {
			t.Errorf("%s names the far but healthy connection", id)
		}
	}
}

// wantIn checks that a finding's message says each of want.
func wantIn(t *testing.T, f rules.Finding, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(f.Message, s) {
			t.Errorf("%s: message %q does not say %q", f.Rule, f.Message, s)
		}
	}
}

func checkPortScan(t *testing.T, r *ruleRun) {
	f := r.find("tcp-port-scan")[0]
	for _, s := range []string{"192.0.2.66 scanned 30 ports of 198.51.100.20", "2 answered, 2 refused, 26 silent", "open: 22, 80"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	if f.Count != 30 || len(f.Evidence) != 5 {
		t.Errorf("count %d, evidence %v", f.Count, f.Evidence)
	}
	if u := r.find("tcp-syn-unanswered")[0]; !strings.Contains(u.Message, "198.51.100.30:8080") || u.Count != 1 {
		t.Errorf("the lone unanswered attempt: %+v", u)
	}
}

func checkSweep(t *testing.T, r *ruleRun) {
	f := r.find("tcp-sweep")[0]
	for _, s := range []string{"192.0.2.77 tried port 445 on 20 hosts", "1 answered, 2 refused, 17 silent", "answered on 10.20.0.5"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	if f.Filter != "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 192.0.2.77 && tcp.dstport == 445" {
		t.Errorf("filter %q", f.Filter)
	}
}

func checkRSTAfterClientHello(t *testing.T, r *ruleRun) {
	f := r.find("tls-handshake-rejected")[0]
	if !strings.Contains(f.Message, "reset by the server") || !strings.Contains(f.Message, "blocked.example.com") {
		t.Errorf("message %q", f.Message)
	}
	// The ClientHello and the RST.
	ev := evidenceFrames(f)
	if len(ev) != 2 {
		t.Fatalf("evidence %v, want the ClientHello and the RST", ev)
	}
	if r.flags[ev[1]]&flows.AReset == 0 {
		t.Errorf("evidence frame %d is not the RST", ev[1])
	}
}

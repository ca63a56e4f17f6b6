package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/golden"
)

var idRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// TestRegistry validates every rule value: stable-looking unique ids, a
// title, a doc with causes and next steps, thresholds with units and docs.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		if !idRE.MatchString(r.ID) || seen[r.ID] {
			t.Errorf("rule id %q: want unique kebab-case", r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || strings.Contains(r.Title, "\n") {
			t.Errorf("%s: title must be one line", r.ID)
		}
		if len(r.Doc) < 200 || !strings.Contains(r.Doc, "Next:") {
			t.Errorf("%s: doc must explain causes and say what to check next (\"Next:\")", r.ID)
		}
		if len(r.Events) == 0 || r.New == nil {
			t.Errorf("%s: no events or constructor", r.ID)
		}
		names := map[string]bool{}
		for _, th := range r.Thresholds {
			if th.Name == "" || th.Unit == "" || th.Doc == "" || names[th.Name] || th.Default < 0 {
				t.Errorf("%s: threshold %+v incomplete or repeated", r.ID, th)
			}
			names[th.Name] = true
		}
		if Lookup(r.ID) != r {
			t.Errorf("Lookup(%s) failed", r.ID)
		}
	}
}

func TestRulesDocInSync(t *testing.T) {
	path := filepath.Join("..", "docs", "rules.md")
	if !golden.Equal(t, path, []byte(Markdown())) {
		t.Errorf("docs/rules.md is stale: go test ./rules -update")
	}
}

func flow(mod func(*flows.Record)) *flows.Record {
	r := &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "10.0.0.2", DstPort: 443,
		CommunityID: "1:x", OrigPackets: 50, RespPackets: 50, OrigPayload: 20000, RespPayload: 40000, FirstNS: 1, LastNS: 2}
	mod(r)
	return r
}

func run(t *testing.T, cfg *Config, evs ...*Event) []Finding {
	t.Helper()
	e, err := NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		e.Event(ev)
	}
	return e.Finish()
}

func rulesOf(fs []Finding) string {
	var ids []string
	for _, f := range fs {
		ids = append(ids, f.Rule+":"+f.Severity.String())
	}
	return strings.Join(ids, ",")
}

func TestTCPRetransmissionThresholds(t *testing.T) {
	for _, c := range []struct {
		name string
		retx int64
		want string
	}{
		{"two is below min_count", 2, ""},
		{"three at 3% is a warning", 3, "tcp-retransmissions:warning"},
		{"ten at 10% is still a warning: degradation, not a failure", 10, "tcp-retransmissions:warning"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := run(t, nil, &Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.Retransmissions = c.retx })})
			if got := rulesOf(fs); got != c.want {
				t.Errorf("findings %q, want %q", got, c.want)
			}
		})
	}
	// A connection attempt whose SYNs were sent again is left to the
	// connection rules.
	fs := run(t, nil, &Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.Retransmissions, r.OrigPayload, r.RespPayload = 5, 0, 0 })})
	if len(fs) != 0 {
		t.Errorf("SYN-only retransmissions reported: %v", rulesOf(fs))
	}
	// A low rate on a big flow is not reported.
	fs = run(t, nil, &Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.Retransmissions = 5; r.OrigPackets = 5000 })})
	if len(fs) != 0 {
		t.Errorf("0.1%% retransmissions reported: %v", rulesOf(fs))
	}
}

func TestUserConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	os.WriteFile(path, []byte("rules:\n  tcp-retransmissions:\n    severity: critical\n    thresholds: {min_count: 1}\n  slow-dns:\n    enabled: false\n"), 0o644)
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	fs := run(t, cfg, &Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.Retransmissions = 1 })},
		&Event{Kind: EventDNS, DNS: &flows.DNSRecord{QName: "a.example", LatencyMS: 900, RcodeName: "NOERROR"}})
	if got := rulesOf(fs); got != "tcp-retransmissions:critical" {
		t.Errorf("findings %q", got)
	}
	for _, bad := range []string{"rules:\n  no-such-rule: {}\n", "rules:\n  slow-dns:\n    thresholds: {max_sec: 1}\n", "rules:\n  slow-dns:\n    severity: loud\n", "rulez: {}\n"} {
		os.WriteFile(path, []byte(bad), 0o644)
		if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("config %q: error %v, want one naming the file", bad, err)
		}
	}
}

func TestDNSErrorsGroupedByNameAndRcode(t *testing.T) {
	var evs []*Event
	for i := 0; i < 30; i++ {
		evs = append(evs, &Event{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "10.0.0.53", CommunityID: "1:a"},
			QName: "missing.example", QType: "A", Rcode: 3, RcodeName: "NXDOMAIN", ResponseNS: int64(i), ResponseFrame: flows.FrameRef{Frame: int64(i + 1)}}})
	}
	evs = append(evs, &Event{Kind: EventDNS, DNS: &flows.DNSRecord{QName: "db.example", QType: "AAAA", Rcode: 2, RcodeName: "SERVFAIL"}},
		&Event{Kind: EventDNS, DNS: &flows.DNSRecord{QName: "ok.example", Rcode: 0, RcodeName: "NOERROR"}})
	fs := run(t, nil, evs...)
	if got := rulesOf(fs); got != "dns-error:error,dns-error:warning" {
		t.Fatalf("findings %q", got)
	}
	nx := fs[1]
	if nx.Count != 30 || len(nx.Evidence) != 5 || !strings.Contains(nx.Message, "30 NXDOMAIN") || nx.Filter != `dns.flags.response == 1 && dns.qry.name == "missing.example" && dns.flags.rcode == 3` {
		t.Errorf("NXDOMAIN finding %+v", nx)
	}
}

// A hostile name must stay one string literal in the display filter, on
// one line, with nothing a terminal would act on.
func TestFilterQuoting(t *testing.T) {
	for in, want := range map[string]string{
		`a.example`:             `"a.example"`,
		`x" || 1 == 1 || "`:     `"x\" || 1 == 1 || \""`,
		"<script>\x00\n\\\x7f":  `"<script>\x00\x0a\\\x7f"`,
		"b\u00fccher.example":   `"bücher.example"`,
		"\u202egnp.exe \u0085":  `"\u202egnp.exe \u0085"`,
		"\U000e0001 \U0001f600": `"\U000e0001 😀"`,
	} {
		if got := wsString(in); got != want {
			t.Errorf("wsString(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestTLSRejected(t *testing.T) {
	rec := &flows.TLSRecord{FlowRef: flows.FlowRef{SrcAddr: "10.0.0.1", DstAddr: "10.0.0.2", DstPort: 443, CommunityID: "1:t"},
		SNI: "old.example", OfferedVersions: []string{"TLS 1.0", "TLS 1.1"}, Outcome: "rejected-reset", ResetBy: "server",
		ClientHelloFrame: flows.FrameRef{Frame: 4}, EndFrame: flows.FrameRef{Frame: 5}}
	ok := *rec
	ok.Outcome, ok.Established = "established", true
	fs := run(t, nil, &Event{Kind: EventTLS, TLS: rec}, &Event{Kind: EventTLS, TLS: &ok})
	if len(fs) != 1 || fs[0].Rule != "tls-handshake-rejected" || !strings.Contains(fs[0].Message, "old.example") || !strings.Contains(fs[0].Message, "TLS 1.0, TLS 1.1") || !strings.Contains(fs[0].Message, "reset by the server") {
		t.Fatalf("findings %+v", fs)
	}
	if len(fs[0].Evidence) != 2 || fs[0].Evidence[1].Frame != 5 {
		t.Errorf("evidence %+v", fs[0].Evidence)
	}
}

// TestDupAckStormSACK: SACK is "not negotiated" only when the handshake that
// negotiates it is in the capture. ocs.pcap (tcp.stream 7) and
// gre-aruba.pcap (tcp.stream 8, 11, 21) hold only the client's direction:
// the SYN-ACK is missing and the client's duplicate ACKs carry SACK blocks.
func TestDupAckStormSACK(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(r *flows.Record)
		want []string
	}{
		{"handshake seen, no SACK", func(r *flows.Record) { r.SYNToSYNACK, r.ClientMSS, r.ServerMSS = 20, 1460, 1460 },
			[]string{"(SACK not negotiated), 3 retransmissions"}},
		{"handshake seen, SACK", func(r *flows.Record) { r.SYNToSYNACK, r.SACKPermitted = 20, true },
			[]string{"(SACK negotiated)"}},
		{"one direction only, no SYN-ACK", func(r *flows.Record) { r.ClientMSS, r.RespPackets, r.Retransmissions = 1460, 0, 0 },
			[]string{"(SACK unknown: the handshake is not all in the capture), 0 retransmissions", "one direction only"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := run(t, nil, &Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) {
				r.DuplicateAcks, r.Retransmissions = 150, 3
				c.mod(r)
			})})
			var msg string
			for _, f := range fs {
				if f.Rule == "tcp-duplicate-ack-storm" {
					msg = f.Message
				}
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
			if !strings.Contains(strings.Join(c.want, "|"), "one direction") && strings.Contains(msg, "one direction") {
				t.Errorf("message %q: both directions are in the capture", msg)
			}
		})
	}
}

// TestSYNAnsweredOutOfSight: a flow Zeek calls S0 whose client went on to
// ACK and send data got its SYN-ACK; only the capture lacks the server's
// direction (nDPI ocs.pcap, gre-aruba.pcap, PcapPlusPlus raw_ip.pcap). Such
// flows were reported as unanswered, their ACKs and data counted as SYNs
// ("27 SYNs with the retransmissions" for one SYN).
func TestSYNAnsweredOutOfSight(t *testing.T) {
	for _, c := range []struct {
		name, history string
		orig          int64
		want          string // the message's SYN count, "" for no finding
	}{
		{"SYNs only: unanswered", "S", 3, "(3 SYNs with the retransmissions)"},
		{"SYN then the client's ACK and data: answered out of sight", "SAD", 27, ""},
		{"SYN then data: answered out of sight", "SD", 13, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := run(t, nil, &Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) {
				r.State, r.History, r.OrigPackets, r.RespPackets, r.RespPayload = "S0", c.history, c.orig, 0, 0
			})})
			var msg string
			for _, f := range fs {
				if f.Rule == "tcp-syn-unanswered" {
					msg = f.Message
				}
			}
			if c.want == "" && msg != "" || !strings.Contains(msg, c.want) {
				t.Errorf("tcp-syn-unanswered %q, want %q", msg, c.want)
			}
		})
	}
}

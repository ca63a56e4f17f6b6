package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

func tlsEv(version string, total, serverHello, rtt float64, resent int, wait float64) *Event {
	return &Event{Kind: EventTLS, TLS: &flows.TLSRecord{
		FlowRef: flows.FlowRef{SrcAddr: "10.0.0.1", DstAddr: "10.0.0.2", DstPort: 443, CommunityID: "1:t"}, SNI: "db.example",
		Version: version, Established: true, HandshakeMS: total, ServerHelloMS: serverHello, RTTMS: rtt,
		HelloRetransmissions: resent, HelloWaitMS: wait, ClientHelloFrame: flows.FrameRef{Frame: 4}}}
}

func dnsEv(server string, port uint16, latency float64, resent int, wait float64) *Event {
	return &Event{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{SrcAddr: "10.0.0.1", DstAddr: server, DstPort: port, CommunityID: "1:d"},
		QName: "a.example", QType: "A", LatencyMS: latency, Retransmissions: resent, RetransmitWaitMS: wait, RcodeName: "NOERROR"}}
}

func connEv(synSynAck, synAckAck, rtt float64) *Event {
	return &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "10.0.0.2", DstPort: 443,
		State: "SF", History: "ShADadFf", OrigPackets: 5, RespPackets: 5, CommunityID: "1:c",
		SYNToSYNACK: synSynAck, SYNACKToACK: synAckAck, HandshakeRTT: synSynAck + synAckAck, RTTMS: rtt, ConnectMS: synSynAck + synAckAck}}
}

func httpEv(ttfb, rtt float64) *Event {
	return &Event{Kind: EventHTTP, HTTP: &flows.HTTPRecord{FlowRef: flows.FlowRef{SrcAddr: "10.0.0.1", DstAddr: "10.0.0.2", DstPort: 80, CommunityID: "1:h"},
		Method: "GET", Host: "api.example", Target: "/x", Status: 200, TTFBMS: ttfb, RTTMS: rtt}}
}

// TestSlowSplit: each slow-* rule judges a phase against the path's round
// trips and names the cause that dominated; a phase that is slow only
// because the path is long is no finding.
func TestSlowSplit(t *testing.T) {
	for _, c := range []struct {
		name string
		evs  []*Event
		want []string // substrings of the one finding; nil: none
	}{
		{"TLS 1.2 in two round trips of 110 ms", []*Event{tlsEv("TLS 1.2", 229, 112, 110, 0, 0)}, nil},
		{"TLS 1.3 in one round trip of 300 ms", []*Event{tlsEv("TLS 1.3", 305, 302, 300, 0, 0)}, nil},
		{"TLS 1.3: the server's 400 ms before its ServerHello", []*Event{tlsEv("TLS 1.3", 425, 420, 20, 0, 0)},
			[]string{"slow-tls-handshake", "mostly the server taking 400 ms on average beyond the round trip", "path RTT 20 ms"}},
		{"TLS: the ClientHello sent again after 1 s", []*Event{tlsEv("TLS 1.3", 1030, 1020, 20, 1, 1000)},
			[]string{"slow-tls-handshake", "mostly the ClientHello sent again (1 retransmission(s), 1000 ms waited", "mtr -T -P 443"}},
		{"TLS 1.2: the client's time after the ServerHello", []*Event{tlsEv("TLS 1.2", 700, 21, 20, 0, 0)},
			[]string{"slow-tls-handshake", "after the ServerHello beyond its round trip", "OCSP"}},
		{"DNS: a far resolver whose fastest answer is 150 ms", []*Event{dnsEv("8.8.8.8", 53, 150, 0, 0), dnsEv("8.8.8.8", 53, 190, 0, 0), dnsEv("8.8.8.8", 53, 440, 0, 0)}, nil},
		{"DNS: a LAN resolver taking 900 ms on a cache miss", []*Event{dnsEv("10.0.0.53", 53, 900, 0, 0), dnsEv("10.0.0.53", 53, 1, 0, 0)},
			[]string{"slow-dns", "mostly the resolver's own time, 899 ms on average", "path RTT 1.0 ms"}},
		{"DNS: the query sent again after 1 s", []*Event{dnsEv("10.0.0.53", 53, 1002, 1, 1000), dnsEv("10.0.0.53", 53, 2, 0, 0)},
			[]string{"slow-dns", "mostly the query sent again (1 retransmission(s), 1000 ms waited", "mtr -u -P 53"}},
		{"DNS: a copy of the query 1 ms later is a duplicate", []*Event{dnsEv("10.0.0.53", 53, 3, 1, 1), dnsEv("10.0.0.53", 53, 2, 0, 0)}, nil},
		{"DNS: one answer, no round trip known, under max_ms", []*Event{dnsEv("10.0.0.54", 53, 800, 0, 0)}, nil},
		{"DNS: one answer beyond max_ms", []*Event{dnsEv("10.0.0.54", 53, 2500, 0, 0)}, []string{"slow-dns", "path RTT unknown"}},
		{"mDNS: latency means nothing", []*Event{dnsEv("224.0.0.251", 5353, 3000, 0, 0), dnsEv("ff02::fb", 5353, 3000, 2, 2000)}, nil},
		{"LLMNR to a unicast address", []*Event{dnsEv("10.0.0.9", 5355, 3000, 0, 0)}, nil},
		{"connect: the server's SYN-ACK 1 s late (captured at the client)", []*Event{connEv(1020, 0.1, 20)},
			[]string{"slow-connect", "mostly the server answering the SYN 1000 ms on average after the round trip", "ss -lnt"}},
		{"connect: the client's ACK 1 s after a prompt SYN-ACK (captured at the server)", []*Event{connEv(0.01, 1020, 20)},
			[]string{"slow-connect", "mostly the client acknowledging the SYN-ACK 1000 ms on average after the round trip", "the client host"}},
		{"TTFB: one round trip of 400 ms plus 100 ms", []*Event{httpEv(500, 400)}, nil},
		{"TTFB: 900 ms of think time", []*Event{httpEv(910, 10)}, []string{"slow-first-byte", "application think time, 900 ms", "path RTT 10 ms"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := run(t, nil, c.evs...)
			var slow []Finding
			for _, f := range fs {
				if strings.HasPrefix(f.Rule, "slow-") {
					slow = append(slow, f)
				}
			}
			if c.want == nil {
				if len(slow) > 0 {
					t.Fatalf("%s fired: %s", slow[0].Rule, slow[0].Message)
				}
				return
			}
			if len(slow) != 1 || slow[0].Rule != c.want[0] {
				t.Fatalf("findings %s, want one %s", rulesOf(slow), c.want[0])
			}
			for _, s := range c.want[1:] {
				if !strings.Contains(slow[0].Message, s) {
					t.Errorf("message %q does not say %q", slow[0].Message, s)
				}
			}
		})
	}
}

// TestDNSUnansweredPerServer: many distinct names one server left
// unanswered are one finding with the count; multicast discovery is none.
func TestDNSUnansweredPerServer(t *testing.T) {
	var evs []*Event
	for i := range 1000 {
		evs = append(evs, &Event{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "10.0.0.53", DstPort: 53, CommunityID: "1:u"},
			QName: strings.Repeat("x", i%7+1) + ".example", QType: "A", Unanswered: true, QueryNS: int64(i), QueryFrame: flows.FrameRef{Frame: int64(i + 1)}}})
	}
	evs = append(evs, &Event{Kind: EventDNS, DNS: &flows.DNSRecord{FlowRef: flows.FlowRef{DstAddr: "224.0.0.251", DstPort: 5353}, QName: "printer.local", Unanswered: true}})
	fs := run(t, nil, evs...)
	if got := rulesOf(fs); got != "dns-unanswered:warning" {
		t.Fatalf("findings %q", got)
	}
	f := fs[0]
	if f.Count != 1000 || !strings.Contains(f.Message, "1000 query(ies) to 10.0.0.53 got no response (7 distinct name(s))") || len(f.Evidence) != 5 {
		t.Errorf("finding %+v", f)
	}
	if f.Filter != "dns.flags.response == 0 && !dns.response_in && ip.dst == 10.0.0.53" {
		t.Errorf("filter %q", f.Filter)
	}
}

// TestScanLeavesNoPerPortFindings: the attempts of a port scan are one
// finding, and the per-port rules leave them out — unless the scan rule is
// disabled, when they are reported as before.
func TestScanLeavesNoPerPortFindings(t *testing.T) {
	var evs []*Event
	for port := uint16(1); port <= 40; port++ {
		state, hist := "S0", "S"
		if port%10 == 0 {
			state, hist = "REJ", "Sr"
		}
		evs = append(evs, &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.9.9.9", SrcPort: 50000 + port, DstAddr: "10.0.0.2", DstPort: port,
			State: state, History: hist, OrigPackets: 1, CommunityID: "1:s", FirstNS: int64(port), FirstFrame: int64(port)}})
	}
	// Someone else's one failed attempt stays a finding of its own.
	evs = append(evs, &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "10.0.0.2", DstPort: 8080,
		State: "S0", History: "S", OrigPackets: 3, CommunityID: "1:o", FirstFrame: 99}})
	fs := run(t, nil, evs...)
	if got := rulesOf(fs); got != "tcp-syn-unanswered:error,tcp-port-scan:warning" {
		t.Fatalf("findings %q", got)
	}
	if !strings.Contains(fs[0].Message, "10.0.0.2:8080") || !strings.Contains(fs[1].Message, "10.9.9.9 scanned 40 ports of 10.0.0.2 (40 attempts: 0 answered, 4 refused, 36 silent") {
		t.Errorf("messages %q / %q", fs[0].Message, fs[1].Message)
	}
	off := false
	// Without the scan rule the attempts come back, one finding per client
	// and kind (it failed on many server ports) rather than one per port.
	fs = run(t, &Config{Rules: map[string]RuleConfig{"tcp-port-scan": {Enabled: &off}}}, evs...)
	if got := rulesOf(fs); got != "tcp-syn-unanswered:error,tcp-syn-unanswered:error,tcp-connection-refused:error" {
		t.Fatalf("with tcp-port-scan disabled: %s", got)
	}
	for _, f := range fs {
		if strings.HasPrefix(f.Message, "10.9.9.9") && !strings.Contains(f.Message, "got no answer from 36 server endpoints") && !strings.Contains(f.Message, "was refused by 4 server endpoints") {
			t.Errorf("the scanner's folded finding: %q", f.Message)
		}
	}
}

// TestScanDoesNotCrowdOut: a scan that fills the bounded groups must not
// hide other clients' failed attempts, nor cut the count of an outage that
// many clients see.
func TestScanDoesNotCrowdOut(t *testing.T) {
	s0 := func(src, dst string, port uint16) *Event {
		return &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: src, SrcPort: 40000, DstAddr: dst, DstPort: port,
			State: "S0", History: "S", OrigPackets: 1, CommunityID: "1:c"}}
	}
	var evs []*Event
	for port := 1; port <= maxGroups; port++ {
		evs = append(evs, s0("10.9.9.9", "10.0.0.2", uint16(port)))
	}
	for i := range 3 {
		evs = append(evs, s0(fmt.Sprintf("10.1.0.%d", i+1), "10.0.0.7", 5432))
	}
	fs := run(t, nil, evs...)
	if got := rulesOf(fs); got != "tcp-syn-unanswered:error,tcp-port-scan:warning" {
		t.Fatalf("findings %q", got)
	}
	if !strings.Contains(fs[0].Message, "3 connection attempts to 10.0.0.7:5432") {
		t.Errorf("the outage behind the scan: %q", fs[0].Message)
	}
	evs = nil
	for i := range 15_000 {
		evs = append(evs, s0(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "10.0.0.7", 443))
	}
	fs = run(t, nil, evs...)
	if len(fs) != 1 || fs[0].Count != 15_000 || !strings.HasPrefix(fs[0].Message, "15000 connection attempts to 10.0.0.7:443") {
		t.Errorf("15,000 clients: %s %q", rulesOf(fs), fs[0].Message)
	}
}

// TestClientFailuresFolded: a client that reached none of several servers
// is one finding naming them; two servers stay apart.
func TestClientFailuresFolded(t *testing.T) {
	s0 := func(src, dst string, port uint16) *Event {
		return &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: src, SrcPort: 40000, DstAddr: dst, DstPort: port,
			State: "S0", History: "S", OrigPackets: 2, CommunityID: "1:f"}}
	}
	fs := run(t, nil, s0("10.0.0.1", "192.0.2.1", 80), s0("10.0.0.1", "192.0.2.2", 80), s0("10.0.0.1", "192.0.2.3", 443),
		s0("10.0.0.9", "192.0.2.4", 80), s0("10.0.0.9", "192.0.2.5", 80))
	if len(fs) != 3 {
		t.Fatalf("findings %s", rulesOf(fs))
	}
	var folded int
	for _, f := range fs {
		if strings.HasPrefix(f.Message, "10.0.0.1 got no answer from 3 server endpoints (3 connection attempts, 6 SYNs with the retransmissions): 192.0.2.1:80 (1), 192.0.2.2:80 (1), 192.0.2.3:443 (1)") {
			folded++
			if f.Filter != "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 10.0.0.1" {
				t.Errorf("filter %q", f.Filter)
			}
		}
	}
	if folded != 1 {
		t.Errorf("no folded finding for 10.0.0.1: %+v", fs)
	}
}

// TestRetransmissionsByServer: flows to one server are one finding; a
// lone flow keeps its own.
func TestRetransmissionsByServer(t *testing.T) {
	mk := func(sport uint16, dst string) *Event {
		return &Event{Kind: EventFlow, Flow: flow(func(r *flows.Record) { r.Retransmissions, r.SrcPort, r.DstAddr = 10, sport, dst })}
	}
	fs := run(t, nil, mk(40001, "10.0.0.2"), mk(40002, "10.0.0.2"), mk(40003, "10.0.0.2"), mk(40004, "10.0.0.3"))
	if len(fs) != 2 {
		t.Fatalf("findings %s", rulesOf(fs))
	}
	if !strings.HasPrefix(fs[0].Message, "3 connections with 10.0.0.2:443: 30 of 300 segments retransmitted") || fs[0].Count != 30 {
		t.Errorf("grouped: %q", fs[0].Message)
	}
	if !strings.HasPrefix(fs[1].Message, "10.0.0.1:40004 → 10.0.0.3:443: 10 of 100") || fs[1].Flow == nil {
		t.Errorf("lone flow: %q", fs[1].Message)
	}
}

// A SYN flood of single SYNs does not say "(10000 SYNs sent in all)", which
// read like retries; SYNs sent again are counted.
func TestSYNUnansweredMessage(t *testing.T) {
	s0 := func(port uint16, syns int64) *Event {
		return &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: port, DstAddr: "192.0.2.1", DstPort: 80,
			State: "S0", History: "S", OrigPackets: syns, CommunityID: "1:f"}}
	}
	var evs []*Event
	for i := range 100 {
		evs = append(evs, s0(uint16(40000+i), 1))
	}
	fs := only(run(t, nil, evs...), "tcp-syn-unanswered")
	if len(fs) != 1 || !strings.HasPrefix(fs[0].Message, "100 connection attempts to 192.0.2.1:80 got no answer, from 10.0.0.1") {
		t.Errorf("flood: %+v", fs)
	}
	fs = only(run(t, nil, s0(40000, 3)), "tcp-syn-unanswered")
	if len(fs) != 1 || !strings.HasPrefix(fs[0].Message, "1 connection attempt to 192.0.2.1:80 got no answer (3 SYNs with the retransmissions), from 10.0.0.1") {
		t.Errorf("one attempt: %+v", fs)
	}
}

// TestRefusedOnlyWhenRefused: a reset that answered the client's ACK or
// data (the SYN-ACK out of sight), or an attempt the server accepted when
// it was sent again after the reset, is not a refused connection.
func TestRefusedOnlyWhenRefused(t *testing.T) {
	for _, c := range []struct {
		history string
		refused bool
	}{
		{"Sr", true},          // SYN, RST/ACK: refused
		{"SrSr", true},        // refused twice
		{"SADrrThrr", false},  // ACK and data before the reset (gopacket cip.pcap)
		{"SrhADTadTr", false}, // accepted when sent again (nDPI rtsp.pcap)
	} {
		ev := &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "192.0.2.1", DstPort: 80,
			State: "REJ", History: c.history, OrigPackets: 1, CommunityID: "1:f"}}
		fs := run(t, nil, ev)
		got := strings.Contains(rulesOf(fs), "tcp-connection-refused")
		if got != c.refused {
			t.Errorf("history %s: refused finding %v, want %v (%s)", c.history, got, c.refused, rulesOf(fs))
		}
	}
}

// TestSYNAtCaptureEnd: one SYN that the capture's end cut off less than a
// retransmission timeout after it is not known to be unanswered
// (stranded_branchdns.pcapng, linktype_ipv6.pcap); one sent earlier, or
// sent again, is.
func TestSYNAtCaptureEnd(t *testing.T) {
	const end = int64(100e9)
	for _, c := range []struct {
		first      int64
		syns       int64
		endReason  string
		unanswered bool
	}{
		{end - 45e3, 1, "capture-end", false}, // 45 µs before the end
		{end - 5e9, 1, "capture-end", true},   // 5 s: its retry was due
		{end - 45e3, 3, "capture-end", true},  // sent again before
		{end - 45e3, 1, "idle", true},         // timed out in the table
	} {
		e, err := NewEngine(nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Event(&Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "192.0.2.1", DstPort: 53,
			State: "S0", History: "S", OrigPackets: c.syns, FirstNS: c.first, LastNS: c.first, End: c.endReason, CommunityID: "1:f"}})
		e.SetRun(RunInfo{FirstNS: 0, LastNS: end})
		got := strings.Contains(rulesOf(e.Finish()), "tcp-syn-unanswered")
		if got != c.unanswered {
			t.Errorf("%+v: unanswered finding %v", c, got)
		}
	}
}

// TestRetransmissionsLeaveOutCaptureCopies: segments the capture holds
// twice are not loss: zeek ssh-dups.pcap (every segment captured 2-4
// times) reported 44% retransmitted.
func TestRetransmissionsLeaveOutCaptureCopies(t *testing.T) {
	rec := func(retx, copies int64) *Event {
		return &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "192.0.2.1", DstPort: 22,
			State: "SF", History: "ShADadFf", OrigPackets: 200, RespPackets: 177, OrigPayload: 5000, RespPayload: 9000,
			TCPCounts: flows.TCPCounts{Retransmissions: retx}, RetransmissionCopies: copies, CommunityID: "1:f"}}
	}
	if fs := only(run(t, nil, rec(166, 166)), "tcp-retransmissions"); len(fs) != 0 {
		t.Errorf("copies only: %+v", fs)
	}
	fs := only(run(t, nil, rec(166, 100)), "tcp-retransmissions")
	if len(fs) != 1 || fs[0].Count != 66 || !strings.Contains(fs[0].Message, "66 of 277 segments retransmitted") ||
		!strings.Contains(fs[0].Message, "100 more were segments the capture holds twice") {
		t.Errorf("copies and resends: %+v", fs)
	}
	fs = only(run(t, nil, rec(67, 1)), "tcp-retransmissions")
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "; 1 more was a segment the capture holds twice (not counted; Wireshark flags it as a retransmission)") {
		t.Errorf("one copy: %+v", fs)
	}
}

// TestRetransmissionsLeaveOutStallResends: the resends of a wait tcp-stall
// reports are that finding's evidence; tcp-retransmissions counts the
// rest, and says so.
func TestRetransmissionsLeaveOutStallResends(t *testing.T) {
	rec := func(retx int64, stallResends int) *Event {
		return &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "192.0.2.1", DstPort: 80,
			State: "SF", History: "ShADadFf", OrigPackets: 20, RespPackets: 40, OrigPayload: 500, RespPayload: 50000,
			TCPCounts: flows.TCPCounts{Retransmissions: retx}, StallMS: 3000, Stall: flows.Stall{Dir: flows.FromServer, From: 1e9, To: 4e9, Resends: stallResends, FirstRetx: 1.2e9, LastRetx: 3e9},
			CommunityID: "1:s"}}
	}
	if fs := only(run(t, nil, rec(5, 5)), "tcp-retransmissions"); len(fs) != 0 {
		t.Errorf("all resends in the stall: %+v", fs)
	}
	fs := only(run(t, nil, rec(11, 5)), "tcp-retransmissions")
	if len(fs) != 1 || fs[0].Count != 6 || !strings.Contains(fs[0].Message, "6 of 60 segments retransmitted") ||
		!strings.Contains(fs[0].Message, "; 5 more were resends during the stall tcp-stall reports (not counted)") {
		t.Errorf("resends beyond the stall: %+v", fs)
	}
	if fs := only(run(t, nil, rec(11, 5)), "tcp-stall"); len(fs) != 1 {
		t.Errorf("tcp-stall: %+v", fs)
	}
	// Padding's sequence numbers reused (flows.Record.NotResent).
	ev := rec(11, 0)
	ev.Flow.NotResent = 5
	fs = only(run(t, nil, ev), "tcp-retransmissions")
	if len(fs) != 1 || fs[0].Count != 6 || !strings.Contains(fs[0].Message, "; 5 more sent nothing again: zero bytes of padding on ACKs") {
		t.Errorf("padding: %+v", fs)
	}
	// FINs sent again (flows.Record.FINResends): the close.
	ev = rec(11, 0)
	ev.Flow.FINResends = 9
	if fs = only(run(t, nil, ev), "tcp-retransmissions"); len(fs) != 0 {
		t.Errorf("2 resends beside 9 FINs sent again: %+v", fs)
	}
	ev = rec(11, 0)
	ev.Flow.FINResends = 1
	fs = only(run(t, nil, ev), "tcp-retransmissions")
	if len(fs) != 1 || fs[0].Count != 10 || !strings.Contains(fs[0].Message, "; 1 more was a FIN sent again: the close (not counted)") {
		t.Errorf("a FIN sent again: %+v", fs)
	}
}

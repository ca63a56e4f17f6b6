package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

// churnConns makes n answered connections from 10.0.0.1 to server:443,
// every gapMS, each lasting durMS(i), closed as hist says.
func churnConns(n int, gapMS float64, server func(i int) string, durMS func(i int) float64, hist string) []*Event {
	var evs []*Event
	for i := range n {
		start := int64(1_700_000_000e9) + int64(float64(i)*gapMS*1e6)
		d := durMS(i)
		evs = append(evs, &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: uint16(40000 + i), DstAddr: server(i), DstPort: 443,
			CommunityID: fmt.Sprintf("1:c%d", i), State: "SF", History: hist, FirstNS: start, LastNS: start + int64(d*1e6), Duration: d / 1000,
			OrigPackets: 5, RespPackets: 5, FirstFrame: int64(i*10 + 1)}})
	}
	return evs
}

func oneServer(int) string                 { return "10.0.0.2" }
func constMS(ms float64) func(int) float64 { return func(int) float64 { return ms } }

// TestConnectionChurnThresholds: at least min_connections, at least
// min_rate per second from the first start to the last, and most shorter
// than max_duration_ms.
func TestConnectionChurnThresholds(t *testing.T) {
	for _, c := range []struct {
		name string
		evs  []*Event
		want []string // substrings of the one finding; nil: none
	}{
		{"100 connections of 50 ms, 20/s, closed by the client", churnConns(100, 50, oneServer, constMS(50), "ShADadFfA"),
			[]string{"10.0.0.1 opened 100 connections to 10.0.0.2:443 in 5.0 s (20/s)", "median duration about 50 ms (100 under 1000 ms)",
				"client ports 40000–40099 (100 distinct)", "100 closed by the client first (TIME-WAIT on the client), 0 by the server first, 0 with a reset, 0 not closed",
				"about 1200 client ports stay in TIME-WAIT", "HTTP keep-alive, connection pooling", "tcp_tw_reuse"}},
		{"99 connections are below min_connections", churnConns(99, 50, oneServer, constMS(50), "ShADadFf"), nil},
		{"10.1/s is churn", churnConns(100, 99, oneServer, constMS(50), "ShADadFf"), []string{"(10/s)"}},
		{"9.9/s is not", churnConns(100, 101, oneServer, constMS(50), "ShADadFf"), nil},
		{"51 of 100 short: the median is short", churnConns(100, 50, oneServer, func(i int) float64 {
			if i < 51 {
				return 999
			}
			return 5000
		}, "ShADadFf"), []string{"median duration about 999 ms (51 under 1000 ms)"}},
		{"50 of 100 short: the median is not", churnConns(100, 50, oneServer, func(i int) float64 {
			if i < 50 {
				return 10
			}
			return 1000
		}, "ShADadFf"), nil},
		{"closed by the server, or reset", churnConns(100, 50, oneServer, constMS(20), "ShADadfF"), []string{"0 closed by the client first", "100 by the server first"}},
		{"reset", churnConns(100, 50, oneServer, constMS(20), "ShADadR"), []string{"100 with a reset"}},
		{"all at once", churnConns(200, 0, oneServer, constMS(20), "ShADadFf"), []string{"opened 200 connections to 10.0.0.2:443 at once"}},
		{"a burst under 1 s: no TIME-WAIT projection", churnConns(150, 5, oneServer, constMS(20), "ShADadFf"), []string{"in 0.7 s (200/s)", "150 closed by the client first (TIME-WAIT on the client), 0 by the server first, 0 with a reset, 0 not closed in the capture. Reuse"}},
		{"long-lived connections opened at once (a pool)", churnConns(500, 0.2, oneServer, constMS(2700), "ShADadFf"), nil},
		{"spread over many servers", churnConns(300, 10, func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/250, i%250+1) }, constMS(20), "ShADadFf"), nil},
		{"unanswered attempts are not connections", churnConns(300, 10, oneServer, constMS(0), "S"), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := run(t, nil, c.evs...)
			var got []Finding
			for _, f := range fs {
				if f.Rule == "tcp-connection-churn" {
					got = append(got, f)
				}
			}
			if c.want == nil {
				if len(got) > 0 {
					t.Fatalf("fired: %s", got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d findings, want 1", len(got))
			}
			for _, s := range c.want {
				if !strings.Contains(got[0].Message, s) {
					t.Errorf("message %q does not say %q", got[0].Message, s)
				}
			}
			if got[0].Severity != Warning || len(got[0].Evidence) != 5 || got[0].Filter != "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 10.0.0.1 && ip.dst == 10.0.0.2 && tcp.dstport == 443" {
				t.Errorf("finding %+v", got[0])
			}
		})
	}
}

func TestDurationMedian(t *testing.T) {
	var h durationHist
	for _, ms := range []float64{1, 2, 40, 50, 60, 9000, 10000} {
		h.add(ms)
	}
	if m := h.median(); m != 50 {
		t.Errorf("median of 7: %g, want 50", m)
	}
	h.add(70)
	if m := h.median(); m != 55 {
		t.Errorf("median of 8: %g, want 55", m)
	}
	// Past 64 durations: the mean of the median's bucket.
	for i := range 1000 {
		h.add(float64(100 + i%7))
	}
	if m := h.median(); m < 100 || m > 106 || h.hist == nil {
		t.Errorf("median of 1008: %g, want 100-106", m)
	}
	var p portSet
	for i := range 1000 {
		p.add(uint16(30000 + i%300))
	}
	p.add(65535)
	p.add(0)
	if p.n != 302 {
		t.Errorf("%d distinct ports, want 302", p.n)
	}
}

// reuseEv is a connection from client:40001 to 10.0.0.2:80 whose SYN met
// an earlier connection on its 4-tuple.
func reuseEv(client string, r flows.PortReuse, hist string, connectMS float64) *Event {
	syn := int64(1_700_000_100e9)
	if r.Known && r.PrevLastNS == 0 {
		r.PrevLastNS = syn - 2e9
	}
	return &Event{Kind: EventFlow, Flow: &flows.Record{Proto: "tcp", SrcAddr: client, SrcPort: 40001, DstAddr: "10.0.0.2", DstPort: 80,
		CommunityID: "1:r" + client, History: hist, FirstNS: syn, LastNS: syn + 3e9, SYNToSYNACK: connectMS, FirstFrame: 7, Reuse: &r}}
}

// TestPortReuseKinds: which reuses the server may have met state for.
func TestPortReuseKinds(t *testing.T) {
	tw := flows.PortReuse{Known: true, PrevStream: 3, PrevAnswered: true, PrevClose: "fin", PrevFirstFIN: "server", PrevNextSeq: 5000, ISN: 4000, Reply: "challenge-ack", ReplyAck: 5000}
	at := func(r flows.PortReuse, gapS float64) flows.PortReuse {
		r.PrevLastNS = 1_700_000_100e9 - int64(gapS*1e9)
		return r
	}
	with := func(r flows.PortReuse, f func(*flows.PortReuse)) flows.PortReuse { f(&r); return r }
	synack := func(r *flows.PortReuse) { r.Reply, r.ISN = "syn-ack", 9000 }
	for _, c := range []struct {
		name string
		evs  []*Event
		want []string
	}{
		{"the server's TIME-WAIT: challenge ACK, the client's reset, connected after 1 s", []*Event{reuseEv("10.0.0.1", tw, "SaRhADadFf", 1002)},
			[]string{"1 SYN(s) to 10.0.0.2:80 reused a 4-tuple whose previous connection the server may still have held (1 in the server's TIME-WAIT (it closed first, less than 60 s before))",
				"2.0 s after the old connection's last packet", "from 10.0.0.1", "new ISN against the old connection's next sequence number: 1 below",
				"the server answered 1 with an ACK for the old connection (challenge ACK)", "connect took up to 1002 ms",
				"E.g. 10.0.0.1:40001 → 10.0.0.2:80, 2.0 s after tcp.stream 3 closed (by the server first), ISN below its next sequence number, answered with an ACK for the old connection (challenge ACK), connected after 1002 ms"}},
		{"59.9 s after the server's close, a higher ISN accepted", []*Event{reuseEv("10.0.0.1", at(with(tw, synack), 59.9), "ShADadFf", 1)},
			[]string{"60 s after", "1 above", "answered 1 with a SYN-ACK", "answered with a SYN-ACK"}},
		{"60 s after: TIME-WAIT is over", []*Event{reuseEv("10.0.0.1", at(with(tw, synack), 60), "ShADadFf", 1)}, nil},
		{"still challenged after 120 s (a longer TIME-WAIT)", []*Event{reuseEv("10.0.0.1", at(tw, 120), "SaRh", 3000)}, []string{"1 closed otherwise, yet still held", "120 s after"}},
		{"the client closed first: its own TIME-WAIT", []*Event{reuseEv("10.0.0.1", with(tw, func(r *flows.PortReuse) { synack(r); r.PrevFirstFIN = "client" }), "ShADadFf", 1)}, nil},
		{"after a reset", []*Event{reuseEv("10.0.0.1", with(tw, func(r *flows.PortReuse) { synack(r); r.PrevClose, r.PrevFirstFIN = "reset", "" }), "ShADadFf", 1)}, nil},
		{"after an unanswered attempt", []*Event{reuseEv("10.0.0.1", with(tw, func(r *flows.PortReuse) { synack(r); r.PrevAnswered, r.PrevClose, r.PrevFirstFIN = false, "", "" }), "ShADadFf", 1)}, nil},
		{"a connection never closed, no answer", []*Event{reuseEv("10.0.0.1", at(with(tw, func(r *flows.PortReuse) { r.Reply, r.PrevClose, r.PrevFirstFIN = "", "", "" }), 300), "S", 0)},
			[]string{"(1 never closed)", "300 s after", "answered 1 not at all", "300 s after the last packet of a connection never closed (tcp.stream 3)", "not answered"}},
		{"a connection older than the capture", []*Event{reuseEv("10.0.0.1", flows.PortReuse{ISN: 100, Reply: "challenge-ack", ReplyAck: 200}, "SaRh", 3000)},
			[]string{"(1 older than the capture)", "1 below", "connect took up to 3000 ms", "its previous connection older than the capture"}},
		{"grouped by server", []*Event{reuseEv("10.0.0.1", tw, "SaRh", 1000), reuseEv("10.0.0.9", with(tw, synack), "Sh", 1), reuseEv("10.0.0.5", with(tw, synack), "Sh", 1)},
			[]string{"3 SYN(s) to 10.0.0.2:80", "(3 in the server's TIME-WAIT", "from 10.0.0.1, 10.0.0.9, 10.0.0.5", "2 above, 1 below", "answered 2 with a SYN-ACK, 1 with an ACK for the old connection"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := run(t, nil, c.evs...)
			var got []Finding
			for _, f := range fs {
				if f.Rule == "tcp-port-reuse" {
					got = append(got, f)
				}
			}
			if c.want == nil {
				if len(got) > 0 {
					t.Fatalf("fired: %s", got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d findings, want 1", len(got))
			}
			for _, s := range c.want {
				if !strings.Contains(got[0].Message, s) {
					t.Errorf("message %q does not say %q", got[0].Message, s)
				}
			}
			if got[0].Count != int64(len(c.evs)) || got[0].Filter != "tcp.analysis.reused_ports && ip.addr == 10.0.0.2 && tcp.port == 80" {
				t.Errorf("count %d, filter %q", got[0].Count, got[0].Filter)
			}
		})
	}
}

// TestPairHash: the key of a first connection tells pairs apart where
// their strings run together differently.
func TestPairHash(t *testing.T) {
	pairs := []churnKey{
		{"10.0.0.1", "10.0.0.2", 80}, {"10.0.0.12", "0.0.0.2", 80}, {"10.0.0.2", "10.0.0.1", 80},
		{"10.0.0.1", "10.0.0.2", 443}, {"10.0.0.1", "10.0.0.2", 80 << 8}, {"::1", "::2", 80}, {"", "10.0.0.1", 80},
	}
	seen := map[uint64]churnKey{}
	for _, k := range pairs {
		h := pairHash(k)
		if o, ok := seen[h]; ok {
			t.Errorf("%v and %v hash alike", o, k)
		}
		seen[h] = k
		if pairHash(k) != h {
			t.Errorf("%v: not the same hash twice", k)
		}
	}
}

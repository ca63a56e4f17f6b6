package run

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

func rec(i int, bytes, retx int64, total float64) *flows.Record {
	r := &flows.Record{
		CommunityID: fmt.Sprintf("1:%d", i), Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: uint16(1000 + i), DstAddr: "10.0.0.2", DstPort: 443,
		FirstNS: int64(i + 1), First: flows.Time(i + 1), OrigBytes: bytes,
		HandshakeRTT: float64(i%50) + 0.5, ConnectMS: 1, TotalMS: total, Duration: total / 1000,
	}
	r.Retransmissions = retx
	return r
}

// TestCollectorBounded feeds many flows in a shuffled order and checks the
// collector keeps exactly the top N by bytes and by problems, the slowest
// timings and a bounded sample, whatever the order.
func TestSummariserBounded(t *testing.T) {
	const n, top = 5000, 20
	order := rand.New(rand.NewPCG(7, 7)).Perm(n)
	c := NewSummariser(Options{TopFlows: top, Timings: 10, TimingSample: 5})
	for _, i := range order {
		var retx int64
		if i%10 == 0 {
			retx = int64(i)
		}
		if err := c.Flow(rec(i, int64(i)*100, retx, float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	d := summarise(c)
	if d.Lists.Limits.FlowsSeen != n || d.Lists.Limits.ProblemFlows != n/10-1 || d.Lists.Limits.TimingsSeen != n {
		t.Fatalf("limits %+v", d.Lists.Limits)
	}
	// bytes: flows n-1 .. n-top; problems: the top multiples of 10, which
	// are also in the top by bytes for the first two.
	if d.Lists.Flows[0].CommunityID != fmt.Sprintf("1:%d", n-1) || d.Lists.Flows[top-1].CommunityID != fmt.Sprintf("1:%d", n-top) {
		t.Errorf("top by bytes: first %s, last %s", d.Lists.Flows[0].CommunityID, d.Lists.Flows[top-1].CommunityID)
	}
	both, problems := 0, 0
	for _, f := range d.Lists.Flows {
		switch f.Why {
		case "bytes problems":
			both++
		case "problems":
			problems++
		}
	}
	if both != 2 || problems != top-2 || len(d.Lists.Flows) != 2*top-2 {
		t.Errorf("rows %d, in both lists %d, problems only %d", len(d.Lists.Flows), both, problems)
	}
	// 10 slowest in total, 10 slowest to the first byte (all tie at 1 ms:
	// the earliest win), at most 5 from the sample.
	if len(d.Lists.Timings) > 25 || d.Lists.Timings[0].TotalMS != n-1 || d.Lists.Timings[9].TotalMS != n-10 {
		t.Errorf("timings: %d rows, first %v", len(d.Lists.Timings), d.Lists.Timings[0].TotalMS)
	}
	for i, tm := range d.Lists.Timings {
		want := "sample"
		switch {
		case i < 10:
			want = "slowest"
		case i < 20:
			want = "first-byte"
			if tm.TotalMS != float64(i-10) {
				t.Errorf("first-byte row %d: total %v", i, tm.TotalMS)
			}
		}
		if tm.Why != want {
			t.Errorf("timing row %d kept as %q, want %q", i, tm.Why, want)
		}
	}
	if d.Lists.RTT.Count != n {
		t.Errorf("RTT histogram counted %d", d.Lists.RTT.Count)
	}

	// The same flows in another order give the same page data.
	c2 := NewSummariser(Options{TopFlows: top, Timings: 10, TimingSample: 5})
	for i := 0; i < n; i++ {
		var retx int64
		if i%10 == 0 {
			retx = int64(i)
		}
		c2.Flow(rec(i, int64(i)*100, retx, float64(i)))
	}
	d2 := summarise(c2)
	for i := range d.Lists.Flows {
		if d.Lists.Flows[i] != d2.Lists.Flows[i] {
			t.Fatalf("flow row %d depends on arrival order", i)
		}
	}
}

func TestSummariserTies(t *testing.T) {
	c := NewSummariser(Options{TopFlows: 2})
	for i := 5; i >= 0; i-- {
		c.Flow(rec(i, 100, 0, 1))
	}
	d := summarise(c)
	if len(d.Lists.Flows) != 2 || d.Lists.Flows[0].CommunityID != "1:0" || d.Lists.Flows[1].CommunityID != "1:1" {
		t.Errorf("ties go to the earliest flows: %+v", d.Lists.Flows)
	}
}

func TestSummariserTotalGuard(t *testing.T) {
	c := NewSummariser(Options{})
	r := rec(1, 10, 0, 1767323045001.9998) // an absolute time in ms, not a duration
	r.Duration = 0.02
	c.Flow(r)
	if got := summarise(c).Lists.Timings[0].TotalMS; got != 20 {
		t.Errorf("total_ms longer than the flow: kept %v, want the flow's 20 ms", got)
	}
}

func TestSummariserApp(t *testing.T) {
	c := NewSummariser(Options{MaxNames: 4, HTTPErrors: 1})
	for i := 0; i < 10; i++ {
		c.DNS(&flows.DNSRecord{QName: fmt.Sprintf("n%d.example", i), Rcode: 3, RcodeName: "NXDOMAIN"})
	}
	for i := 0; i < 3; i++ {
		c.DNS(&flows.DNSRecord{QName: "busy.example", Rcode: 2, RcodeName: "SERVFAIL"})
	}
	c.DNS(&flows.DNSRecord{QName: "busy.example", Unanswered: true, Rcode: -1})
	c.DNS(&flows.DNSRecord{QName: "ok.example", RcodeName: "NOERROR"})
	c.HTTP(&flows.HTTPRecord{Method: "GET", Status: 200})
	c.HTTP(&flows.HTTPRecord{Method: "GET", Status: 503, Host: "a"})
	c.HTTP(&flows.HTTPRecord{Method: "GET", Status: 404, Host: "b"})
	c.HTTP(&flows.HTTPRecord{Method: "POST"})
	c.TLS(&flows.TLSRecord{SNI: "x.example", Outcome: "rejected-alert"})
	c.TLS(&flows.TLSRecord{FlowRef: flows.FlowRef{DstAddr: "10.0.0.9"}, Outcome: "rejected-reset"})
	c.TLS(&flows.TLSRecord{SNI: "ok.example", Outcome: "established"})
	c.TLS(&flows.TLSRecord{SNI: "cut.example", Outcome: "incomplete"})
	d := summarise(c)
	if d.App.DNSTransactions != 15 || d.App.DNSUnanswered != 1 || d.App.DNSResponses != 14 || !d.Lists.Limits.NamesPruned {
		t.Errorf("dns %+v pruned %v", d.App, d.Lists.Limits.NamesPruned)
	}
	if len(d.Lists.DNSFailures) > 4 || d.Lists.DNSFailures[0].Name != "busy.example" || d.Lists.DNSFailures[0].Count != 4 {
		t.Errorf("dns failures %+v", d.Lists.DNSFailures)
	}
	if fmt.Sprint(SortedCounts(d.App.DNSRcodes)) != "[{NXDOMAIN 10} {SERVFAIL 3} {NOERROR 1}]" {
		t.Errorf("rcodes %v", d.App.DNSRcodes)
	}
	if fmt.Sprint(d.App.HTTPCodes) != "map[200:1 404:1 503:1]" || fmt.Sprint(d.App.HTTPStatus) != "map[2xx:1 4xx:1 5xx:1]" ||
		d.App.HTTPRequests != 4 || d.App.HTTPResponses != 3 || d.Lists.HTTPErrorsAll != 3 || len(d.Lists.HTTPErrors) != 1 || d.Lists.HTTPErrors[0].Host != "a" {
		t.Errorf("http %+v %+v", d.App, d.Lists.HTTPErrors)
	}
	if len(d.Lists.TLSFailures) != 2 || d.App.TLSHandshakes != 4 || d.Lists.TLSFailures[0].Name != "(no SNI) 10.0.0.9" {
		t.Errorf("tls %+v %+v", d.App, d.Lists.TLSFailures)
	}
}

func TestHistogram(t *testing.T) {
	h := NewHistogram()
	for _, v := range []float64{0, 0.05, 0.1, 0.99, 1, 20, 4999, 5000, 1e6, -1} {
		h.Add(v)
	}
	want := map[int]int64{0: 2, 1: 1, 3: 1, 4: 1, 8: 1, 14: 1, 15: 2}
	for i, n := range h.Counts {
		if n != want[i] {
			t.Errorf("bin %d (%s) = %d, want %d", i, h.Labels()[i], n, want[i])
		}
	}
	if h.Count != 9 || h.MinMS != 0 || h.MaxMS != 1e6 {
		t.Errorf("%+v", h)
	}
	if l := h.Labels(); l[0] != "<0.1" || l[1] != "0.1–0.2" || l[15] != "≥5000" {
		t.Errorf("labels %q", l)
	}
}

// summarise is what a run's result would hold after the records so far.
func summarise(c *Summariser) *Result {
	r := &Result{}
	c.Summarise(r)
	return r
}

// TestSummariserFlowTotals: the per-flow summaries (states, protocols, TCP
// totals, talkers, the worst flows) come from the records alone.
func TestSummariserFlowTotals(t *testing.T) {
	c := NewSummariser(Options{WorstFlows: 2, TopTalkers: 2})
	for i := 0; i < 4; i++ {
		r := rec(i, 1000*int64(i+1), int64(i), 10)
		r.State = "SF"
		c.Flow(r)
	}
	c.Flow(&flows.Record{Proto: "udp", State: "S0", SrcAddr: "10.0.0.3", DstAddr: "10.0.0.53", OrigBytes: 60, Stream: -1})
	d := summarise(c)
	if d.FlowStates["SF"] != 4 || d.FlowStates["S0"] != 1 || d.Protocols["tcp"] != 4 || d.Protocols["udp"] != 1 {
		t.Errorf("states %v protocols %v", d.FlowStates, d.Protocols)
	}
	if d.TCP.Streams != 4 || d.TCP.Retransmissions != 0+1+2+3 {
		t.Errorf("tcp %+v", d.TCP)
	}
	if len(d.TopTalkers) != 2 || d.TopTalkers[0].Bytes != 10000 || d.TopTalkers[0].Flows != 4 || d.TopTalkers[1].Addr != "10.0.0.2" {
		t.Errorf("talkers %+v", d.TopTalkers)
	}
	if len(d.WorstFlows) != 2 || d.WorstFlows[0].Retransmissions != 3 || d.WorstFlows[1].Retransmissions != 2 {
		t.Errorf("worst flows %+v", d.WorstFlows)
	}
}

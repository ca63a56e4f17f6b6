package html

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
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
func TestCollectorBounded(t *testing.T) {
	const n, top = 5000, 20
	order := rand.New(rand.NewPCG(7, 7)).Perm(n)
	c := NewCollector(Options{TopFlows: top, Timings: 10, TimingSample: 5})
	for _, i := range order {
		var retx int64
		if i%10 == 0 {
			retx = int64(i)
		}
		if err := c.Flow(rec(i, int64(i)*100, retx, float64(i))); err != nil {
			t.Fatal(err)
		}
	}
	d := c.Data(nil)
	if d.Limits.FlowsSeen != n || d.Limits.ProblemFlows != n/10-1 || d.Limits.TimingsSeen != n {
		t.Fatalf("limits %+v", d.Limits)
	}
	// bytes: flows n-1 .. n-top; problems: the top multiples of 10, which
	// are also in the top by bytes for the first two.
	if d.Flows[0].CommunityID != fmt.Sprintf("1:%d", n-1) || d.Flows[top-1].CommunityID != fmt.Sprintf("1:%d", n-top) {
		t.Errorf("top by bytes: first %s, last %s", d.Flows[0].CommunityID, d.Flows[top-1].CommunityID)
	}
	both, problems := 0, 0
	for _, f := range d.Flows {
		switch f.Why {
		case "bytes problems":
			both++
		case "problems":
			problems++
		}
	}
	if both != 2 || problems != top-2 || len(d.Flows) != 2*top-2 {
		t.Errorf("rows %d, in both lists %d, problems only %d", len(d.Flows), both, problems)
	}
	// 10 slowest in total, 10 slowest to the first byte (all tie at 1 ms:
	// the earliest win), at most 5 from the sample.
	if len(d.Timings) > 25 || d.Timings[0].TotalMS != n-1 || d.Timings[9].TotalMS != n-10 {
		t.Errorf("timings: %d rows, first %v", len(d.Timings), d.Timings[0].TotalMS)
	}
	for i, tm := range d.Timings {
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
	if d.RTT.Count != n {
		t.Errorf("RTT histogram counted %d", d.RTT.Count)
	}

	// The same flows in another order give the same page data.
	c2 := NewCollector(Options{TopFlows: top, Timings: 10, TimingSample: 5})
	for i := 0; i < n; i++ {
		var retx int64
		if i%10 == 0 {
			retx = int64(i)
		}
		c2.Flow(rec(i, int64(i)*100, retx, float64(i)))
	}
	d2 := c2.Data(nil)
	for i := range d.Flows {
		if d.Flows[i] != d2.Flows[i] {
			t.Fatalf("flow row %d depends on arrival order", i)
		}
	}
}

func TestCollectorTies(t *testing.T) {
	c := NewCollector(Options{TopFlows: 2})
	for i := 5; i >= 0; i-- {
		c.Flow(rec(i, 100, 0, 1))
	}
	d := c.Data(nil)
	if len(d.Flows) != 2 || d.Flows[0].CommunityID != "1:0" || d.Flows[1].CommunityID != "1:1" {
		t.Errorf("ties go to the earliest flows: %+v", d.Flows)
	}
}

func TestCollectorTotalGuard(t *testing.T) {
	c := NewCollector(Options{})
	r := rec(1, 10, 0, 1767323045001.9998) // an absolute time in ms, not a duration
	r.Duration = 0.02
	c.Flow(r)
	if got := c.Data(nil).Timings[0].TotalMS; got != 20 {
		t.Errorf("total_ms longer than the flow: kept %v, want the flow's 20 ms", got)
	}
}

func TestCollectorApp(t *testing.T) {
	c := NewCollector(Options{MaxNames: 4, HTTPErrors: 1})
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
	d := c.Data(nil)
	if d.DNS.Transactions != 15 || d.DNS.Unanswered != 1 || !d.Limits.NamesPruned {
		t.Errorf("dns %+v pruned %v", d.DNS, d.Limits.NamesPruned)
	}
	if len(d.DNS.Failures) > 4 || d.DNS.Failures[0].Name != "busy.example" || d.DNS.Failures[0].Count != 4 {
		t.Errorf("dns failures %+v", d.DNS.Failures)
	}
	if fmt.Sprint(d.DNS.Rcodes) != "[{NXDOMAIN 10} {SERVFAIL 3} {NOERROR 1}]" {
		t.Errorf("rcodes %v", d.DNS.Rcodes)
	}
	if fmt.Sprint(d.HTTP.Status) != "[{200 1} {404 1} {503 1}]" || d.HTTP.ErrorsAll != 3 || len(d.HTTP.Errors) != 1 || d.HTTP.Errors[0].Host != "a" {
		t.Errorf("http %+v", d.HTTP)
	}
	if len(d.TLS.Failures) != 2 || d.TLS.Handshakes != 4 || d.TLS.Failures[0].Name != "(no SNI) 10.0.0.9" {
		t.Errorf("tls %+v", d.TLS)
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

// TestCollectFixtures runs the real pipeline on the demo and the hostile
// capture and checks the page data holds what the captures hold.
func TestCollectFixtures(t *testing.T) {
	caps := filepath.Join(repoRoot(t), "testdata", "captures")
	d := analyseFile(t, filepath.Join(caps, "demo.pcapng"), Options{})
	if len(d.Findings) == 0 || d.Capture.Packets != 90 || len(d.Flows) != 12 || d.DNS.Transactions != 4 || len(d.TLS.Failures) != 1 {
		t.Errorf("demo: %d findings, %d packets, %d flows, %d dns, tls failures %+v", len(d.Findings), d.Capture.Packets, len(d.Flows), d.DNS.Transactions, d.TLS.Failures)
	}
	h := analyseFile(t, filepath.Join(caps, "app", "hostile-strings.pcap"), Options{})
	if len(h.HTTP.Errors) != 1 || h.HTTP.Errors[0].Host != "<img src=x onerror=alert(2)>" {
		t.Errorf("hostile: http errors %+v", h.HTTP.Errors)
	}
	if len(h.TLS.Failures) != 1 || h.TLS.Failures[0].Name != `"><svg onload=alert(3)>.example.com` {
		t.Errorf("hostile: tls failures %+v", h.TLS.Failures)
	}
}

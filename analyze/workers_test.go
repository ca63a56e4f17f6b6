package analyze_test

import (
	"bytes"
	"cmp"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/run"
)

// jsonOf is the JSON document of a run over path with n workers (or the
// error's text).
func jsonOf(t *testing.T, path string, n int) []byte {
	t.Helper()
	return jsonOfSink(t, path, n, false)
}

// jsonOfSink is jsonOf; with keeping, the JSON sink is handed to the run
// as a sink that may keep the records (not a run.Borrower), so the run
// makes every flow record anew instead of reusing one the sinks are done
// with.
func jsonOfSink(t *testing.T, path string, n int, keeping bool) []byte {
	t.Helper()
	var out bytes.Buffer
	js, err := report.NewJSON(&out)
	if err != nil {
		t.Fatal(err)
	}
	var sink run.Sink = js
	if keeping {
		sink = keeper{js}
	}
	res, err := analyze.Run(analyze.Config{Inputs: []string{path}, Workers: n}, sink)
	if err != nil {
		return []byte("error: " + err.Error())
	}
	if err := js.Finish(res); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestWorkersSameOutput: the JSON document is byte-identical whatever the
// number of workers, on every fixture and every real capture in
// ../shared/pcaps (when present): flows sharded over 2 or 3 tables end,
// are numbered and are reported exactly as one table does it, whatever
// the batches in which the workers end their flows at the end.
func TestWorkersSameOutput(t *testing.T) {
	var files []string
	walk := func(root string, skipMissing bool) {
		err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			ext := filepath.Ext(path)
			if info.IsDir() || ext == ".md" || ext == ".tsv" {
				return nil
			}
			files = append(files, path)
			return nil
		})
		if err != nil && !(skipMissing && os.IsNotExist(err)) {
			t.Fatal(err)
		}
	}
	walk(captures, false)
	files = append(files, filepath.Join(captures, "ring"))
	nFixtures := len(files)
	if !testing.Short() { // -short (the race detector's run): the fixtures only
		walk(realPcaps, true)
	}
	if len(files) == nFixtures {
		t.Logf("real captures not available: fixtures only")
	}
	for _, path := range files {
		name := strings.TrimPrefix(strings.TrimPrefix(path, captures+"/"), realPcaps+"/")
		t.Run(name, func(t *testing.T) {
			one := jsonOf(t, path, 1)
			for _, n := range []int{2, 3} {
				if got := jsonOf(t, path, n); !bytes.Equal(one, got) {
					t.Errorf("--workers %d differs from --workers 1:\n%s", n, firstDiff(one, got))
				}
			}
			// A flow record is reused once the sinks are done with it
			// (every sink is a run.Borrower), a round later: in rounds of
			// 5 packets, and 2 flows ended per round at the end, nearly
			// every record is a reused one, and no rule may keep one.
			// Nothing is reused when a sink may keep them.
			restoreRound, restoreBatch := analyze.SetRoundPackets(5), analyze.SetFlushBatch(2)
			got := jsonOfSink(t, path, 1, false)
			restoreRound()
			restoreBatch()
			if !bytes.Equal(one, got) {
				t.Errorf("in rounds of 5 packets, reusing flow records, the document differs:\n%s", firstDiff(one, got))
			}
			if got := jsonOfSink(t, path, 2, true); !bytes.Equal(one, got) {
				t.Errorf("without reusing flow records, the document differs:\n%s", firstDiff(one, got))
			}
			// The flows left at the end are ended a batch per round; with
			// batches of 2 flows the workers' batches interleave.
			restore := analyze.SetFlushBatch(2)
			got = jsonOf(t, path, 2)
			restore()
			if !bytes.Equal(one, got) {
				t.Errorf("--workers 2, flows ended 2 at a time at the end, differs from --workers 1:\n%s", firstDiff(one, got))
			}
		})
	}
}

// keeper hands records to a sink without saying that it copies them (it
// is not a run.Borrower).
type keeper struct{ js *report.JSON }

func (k keeper) Flow(r *flows.Record) error     { return k.js.Flow(r) }
func (k keeper) DNS(r *flows.DNSRecord) error   { return k.js.DNS(r) }
func (k keeper) HTTP(r *flows.HTTPRecord) error { return k.js.HTTP(r) }
func (k keeper) TLS(r *flows.TLSRecord) error   { return k.js.TLS(r) }
func (k keeper) ICMP(r *flows.ICMPRecord) error { return k.js.ICMP(r) }

// firstDiff shows the first line where two documents differ.
func firstDiff(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return "line " + itoa(i+1) + ":\n 1: " + trunc(la[i]) + "\n n: " + trunc(lb[i])
		}
	}
	return "lengths differ: " + itoa(len(la)) + " and " + itoa(len(lb)) + " lines"
}

func trunc(b []byte) string {
	if len(b) > 400 {
		b = b[:400]
	}
	return string(b)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestSameRunSameOutput: a run that reaches the flow table's bound (and
// evicts flows) gives the same document every time: which worker's share
// of the bound a flow counts against must not change from run to run.
func TestSameRunSameOutput(t *testing.T) {
	path := filepath.Join(captures, "rules", "tcp-connection-churn-negative.pcap")
	run := func() []byte {
		var out bytes.Buffer
		js, err := report.NewJSON(&out)
		if err != nil {
			t.Fatal(err)
		}
		res, err := analyze.Run(analyze.Config{Inputs: []string{path}, Workers: 3, Flows: flows.Config{MaxFlows: 60}}, js)
		if err != nil {
			t.Fatal(err)
		}
		if res.Capture.Evicted == 0 {
			t.Fatal("no flow evicted: the test needs a full table")
		}
		if err := js.Finish(res); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	first := run()
	for range 4 {
		if got := run(); !bytes.Equal(first, got) {
			t.Fatalf("a second run differs:\n%s", firstDiff(first, got))
		}
	}
}

// TestWorkersSameClosedConnections: what stays of closed connections
// (flows/timewait.go) ends at the same moment whichever connections share
// a worker, and a packet on a closed connection's 4-tuple is told the
// same for any number of workers: a SYN with a new ISN starts the next
// connection and is told of the old one (reused_ports), any other packet
// continues the old connection's stream (continues). The old
// connection's tombstone was moved later by a late packet, behind another
// connection's laid since.
func TestWorkersSameClosedConnections(t *testing.T) {
	for _, c := range []struct {
		late byte // the flags of the packet at 170 s
		want []string
	}{
		{0x02, []string{`"reused_ports": 1`, `"continues":true`}},
		{0x10, []string{`"stream":0,"client_guessed":false,"continues":true`}},
	} {
		for other := range 6 {
			path := closedConnections(t, c.late, byte(other))
			one := jsonOf(t, path, 1)
			for _, w := range c.want {
				if !bytes.Contains(one, []byte(w)) {
					t.Fatalf("flags %#x, other client %d: the document does not have %s:\n%s", c.late, other, w, one)
				}
			}
			if c.late == 0x10 && bytes.Count(one, []byte(`"continues":true`)) != 2 {
				t.Fatalf("flags %#x: want two records of late packets:\n%s", c.late, one)
			}
			for n := 2; n <= 4; n++ {
				if got := jsonOf(t, path, n); !bytes.Equal(one, got) {
					t.Fatalf("flags %#x, other client %d: --workers %d differs from --workers 1:\n%s", c.late, other, n, firstDiff(one, got))
				}
			}
		}
	}
}

// closedConnections writes: at 0 s a connection on 10.0.0.1:40000 →
// 10.0.0.2:80, closed with FIN both ways, an ACK of it sent again at 60 s;
// at 100 s another client's connection, closed at 110 s; a UDP packet a
// second to move the clock; at 170 s a packet with flags late on the
// first connection's 4-tuple, and the server's answer.
func closedConnections(t *testing.T, late, other byte) string {
	t.Helper()
	type pkt struct {
		at   time.Duration
		data []byte
	}
	tcp := func(src, dst netip.Addr, sport, dport uint16, flags byte, seq, ack uint32) []byte {
		ip := capgen.IP{Src: src, Dst: dst}
		return ip.TCP(capgen.TCP{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, Flags: capgen.TCPFlags(flags), Window: 1024}, nil)
	}
	a, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	b := netip.AddrFrom4([4]byte{10, 0, 1, 4 + other})
	const ms = time.Millisecond
	ps := []pkt{
		{0, tcp(a, srv, 40000, 80, 0x02, 1000, 0)},
		{1 * ms, tcp(srv, a, 80, 40000, 0x12, 5000, 1001)},
		{2 * ms, tcp(a, srv, 40000, 80, 0x10, 1001, 5001)},
		{3 * ms, tcp(a, srv, 40000, 80, 0x11, 1001, 5001)},
		{4 * ms, tcp(srv, a, 80, 40000, 0x11, 5001, 1002)},
		{5 * ms, tcp(a, srv, 40000, 80, 0x10, 1002, 5002)},
		{60 * time.Second, tcp(a, srv, 40000, 80, 0x10, 1002, 5002)},
		{100 * time.Second, tcp(b, srv, 41000, 80, 0x02, 7000, 0)},
		{100*time.Second + ms, tcp(srv, b, 80, 41000, 0x12, 9000, 7001)},
		{100*time.Second + 2*ms, tcp(b, srv, 41000, 80, 0x10, 7001, 9001)},
		{110 * time.Second, tcp(b, srv, 41000, 80, 0x11, 7001, 9001)},
		{110*time.Second + ms, tcp(srv, b, 80, 41000, 0x11, 9001, 7002)},
		{110*time.Second + 2*ms, tcp(b, srv, 41000, 80, 0x10, 7002, 9002)},
		{170 * time.Second, tcp(a, srv, 40000, 80, late, 50000, 5002)},
		{170*time.Second + ms, tcp(srv, a, 80, 40000, 0x12, 3000, 50001)},
	}
	for s := 1; s < 180; s++ {
		ip := capgen.IP{Src: netip.MustParseAddr("10.9.9.9"), Dst: netip.MustParseAddr("10.9.9.10")}
		ps = append(ps, pkt{time.Duration(s)*time.Second + 500*time.Millisecond, ip.UDP(5000, 6000, []byte("tick"))})
	}
	slices.SortStableFunc(ps, func(x, y pkt) int { return cmp.Compare(x.at, y.at) })
	path := filepath.Join(t.TempDir(), "closed.pcap")
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	err := capgen.WritePcapFile(path, capgen.PcapOptions{LinkType: capgen.LinkTypeRaw, Nanosecond: true}, func(w capgen.FrameWriter) error {
		for _, p := range ps {
			if err := w.WriteFrame(capgen.Frame{Time: start.Add(p.at), Data: p.data}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// TestWorkersSameEndAfterGap: a flow that ends when the capture resumes
// after a gap of more than a day ended with the capture ("capture-end")
// only if it was not idle yet when the capture went silent: where the
// clock stood before the gap is the run's, not the last packet's that
// its worker saw. A UDP flow's last packet at 1 s, another flow's
// packets at 60, 61 and 61.5 s (the idle checks at 60 and 61 s reach
// every worker, 61.5 s only the other flow's), then the other flow a day
// later: the UDP flow had been idle 60.5 s, more than its 60 s timeout,
// when the capture went silent, so it ended idle. A worker that took the
// clock before the gap for 61 s, its last idle check, called it
// capture-end (found by FuzzAnalyze).
func TestWorkersSameEndAfterGap(t *testing.T) {
	cli, srv := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	ip, back := capgen.IP{Src: cli, Dst: srv}, capgen.IP{Src: srv, Dst: cli}
	tcp := func(ip capgen.IP, sport, dport uint16, flags capgen.TCPFlags, seq, ack uint32) []byte {
		return ip.TCP(capgen.TCP{SrcPort: sport, DstPort: dport, Seq: seq, Ack: ack, Flags: flags, Window: 1024}, nil)
	}
	const s = time.Second
	day := 25 * time.Hour
	ps := []struct {
		at   time.Duration
		data []byte
	}{
		{0, tcp(ip, 40000, 80, capgen.SYN, 1000, 0)},
		{s, ip.UDP(50000, 53, capgen.DNSQuery(1, "example.com", capgen.DNSTypeA))},
		{60 * s, tcp(back, 80, 40000, capgen.SYN|capgen.ACK, 5000, 1001)},
		{61 * s, tcp(ip, 40000, 80, capgen.ACK, 1001, 5001)},
		{61*s + 500*time.Millisecond, tcp(ip, 40000, 80, capgen.ACK, 1001, 5001)},
		// Four packets a day later: the clock believes the jump at the
		// fourth (flows.Clock).
		{61*s + day, tcp(ip, 40000, 80, capgen.ACK, 1001, 5001)},
		{61*s + day, tcp(ip, 40000, 80, capgen.ACK, 1001, 5001)},
		{61*s + day, tcp(ip, 40000, 80, capgen.ACK, 1001, 5001)},
		{61*s + day, tcp(ip, 40000, 80, capgen.ACK, 1001, 5001)},
	}
	path := filepath.Join(t.TempDir(), "gap.pcap")
	err := capgen.WritePcapFile(path, capgen.PcapOptions{LinkType: capgen.LinkTypeRaw}, func(w capgen.FrameWriter) error {
		for _, p := range ps {
			if err := w.WriteFrame(capgen.Frame{Time: capgen.Epoch.Add(p.at), Data: p.data}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	one := jsonOf(t, path, 1)
	idle := false
	for _, line := range bytes.Split(one, []byte("\n")) {
		if bytes.Contains(line, []byte(`"proto":"udp"`)) && bytes.Contains(line, []byte(`"end_reason":"idle"`)) {
			idle = true
		}
	}
	if !idle {
		t.Fatalf("want the UDP flow ended idle:\n%s", one)
	}
	for n := 2; n <= 4; n++ {
		if got := jsonOf(t, path, n); !bytes.Equal(one, got) {
			t.Errorf("--workers %d differs from --workers 1:\n%s", n, firstDiff(one, got))
		}
	}
}

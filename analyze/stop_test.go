package analyze

import (
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/run"
)

// TestStopLiveInput: closing Config.Stop while the standard input is a
// pipe whose writer is still open (tcpdump still capturing) ends the
// input: the run analyses and reports the packets it read, says it was
// stopped, and does not wait for the writer.
func TestStopLiveInput(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	const n = 50
	go func() {
		w, err := capgen.NewPcapWriter(pw, capgen.PcapOptions{LinkType: capgen.LinkTypeRaw})
		if err != nil {
			return
		}
		ip := capgen.IP{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.53")}
		start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		for i := range n {
			w.WriteFrame(capgen.Frame{Time: start.Add(time.Duration(i) * time.Millisecond), Data: ip.UDP(uint16(1000+i), 53, capgen.DNSQuery(uint16(i), "x.example", capgen.DNSTypeA))})
		}
		w.Flush() // then stay open, like a capture still running
	}()
	stop := make(chan struct{})
	done := make(chan struct{})
	var res *run.Result
	var err error
	go func() {
		defer close(done)
		res, err = Run(Config{Inputs: []string{"-"}, Stdin: pr, Stop: stop, Workers: 2}, nil)
	}()
	time.Sleep(200 * time.Millisecond) // the packets are read; the pipe is quiet
	close(stop)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Stop")
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Capture.Packets != n || res.Capture.Flows != n {
		t.Errorf("%d packets, %d flows analysed, want %d", res.Capture.Packets, res.Capture.Flows, n)
	}
	found := false
	for _, w := range res.Capture.Warnings {
		found = found || strings.Contains(w, "stopped after 50 packets")
	}
	if !found {
		t.Errorf("no warning that the input was stopped: %q", res.Capture.Warnings)
	}
}

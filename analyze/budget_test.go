package analyze

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/run"
)

// TestFlowCost measures what a flow in the table costs, for the costs the
// table counts against its bound (flows.StateCost) and the budget's
// ParserCost: the heap growth from the 10,000th to the 20,000th of
// 20,000 flows all still open, for half-open SYNs and for connections that
// carried an HTTP exchange (with their parsers' state).
func TestFlowCost(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap")
	}
	const n = 20_000
	shapes := map[string]func(w capgen.FrameWriter) error{
		"half-open SYN":   func(w capgen.FrameWriter) error { return capgen.WriteSYNFlood(w, capgen.Flood{N: n}) },
		"HTTP, kept open": func(w capgen.FrameWriter) error { return httpExchanges(w, n, time.Millisecond, false) },
		"DNS over UDP, answered": func(w capgen.FrameWriter) error {
			srv := netip.MustParseAddr("192.0.2.53")
			for i := range n {
				cli := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
				name := fmt.Sprintf("n%d.example.com", i)
				at := capgen.Epoch.Add(time.Duration(i) * time.Millisecond)
				q := capgen.IP{Src: cli, Dst: srv}
				r := capgen.IP{Src: srv, Dst: cli}
				eth := capgen.DefaultEthernet
				if err := w.WriteFrame(capgen.Frame{Time: at, Data: eth.AppendFrame(nil, q.UDP(40000, 53, capgen.DNSQuery(uint16(i), name, capgen.DNSTypeA)))}); err != nil {
					return err
				}
				resp := capgen.DNSResponse(uint16(i), name, capgen.DNSTypeA, 0, capgen.DNSAddr(name, 60, netip.MustParseAddr("198.51.100.1")))
				if err := w.WriteFrame(capgen.Frame{Time: at.Add(time.Millisecond), Data: eth.AppendFrame(nil, r.UDP(53, 40000, resp))}); err != nil {
					return err
				}
			}
			return nil
		},
		"HTTP, closed": func(w capgen.FrameWriter) error { return httpExchanges(w, n, 100*time.Microsecond, true) },
	}
	for name, write := range shapes {
		var fs capgen.Frames
		if err := write(&fs); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "flows.pcap")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		for _, fr := range fs {
			pw.WriteFrame(fr)
		}
		pw.Flush()
		f.Close()
		fs = nil

		var at [2]uint64
		flowsSeen := 0
		var last *flows.Flow
		// A budget large enough that nothing is shed.
		_, err = Run(Config{Inputs: []string{path}, Memory: 4 << 30, OnPacket: func(p *flows.Packet, fl *flows.Flow, _ flows.Dir, _ flows.Analysis) {
			if fl != last {
				last = fl
				flowsSeen++
				if flowsSeen == n/2 || flowsSeen == n {
					var ms runtime.MemStats
					runtime.GC()
					runtime.ReadMemStats(&ms)
					at[flowsSeen/n] = ms.HeapAlloc
					if os.Getenv("FLOWCOST_PROFILE") != "" && flowsSeen == n {
						fh, _ := os.Create("/tmp/flowcost-" + name[:4] + ".prof")
						pprof.Lookup("heap").WriteTo(fh, 0)
						fh.Close()
					}
				}
			}
		}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		cost := (int64(at[1]) - int64(at[0])) / (n / 2)
		t.Logf("%s: %d bytes a flow", name, cost)
		plan := int64(flows.CostFlow)
		switch name {
		case "half-open SYN":
			plan += flows.CostTCP
		case "HTTP, kept open":
			plan += flows.CostTCP + flows.CostTransfer + ParserCost
		case "HTTP, closed":
			plan += flows.CostTCP + flows.CostTransfer
		}
		if cost > plan || cost < 200 {
			t.Errorf("%s: a flow costs %d bytes; the budget plans %d", name, cost, plan)
		}
	}
}

// TestShedCounted: at a small budget a SYN flood evicts flows and
// slowloris connections stop being parsed; both are counted in the
// capture overview and named by capture-incomplete.
func TestShedCounted(t *testing.T) {
	cases := []struct {
		name  string
		write func(w capgen.FrameWriter) error
		count func(c *run.Capture) int64
		says  string
	}{
		{"syn-flood", func(w capgen.FrameWriter) error { return capgen.WriteSYNFlood(w, capgen.Flood{N: 20_000}) },
			func(c *run.Capture) int64 { return c.Evicted }, "flows evicted from the full flow table"},
		{"slowloris", func(w capgen.FrameWriter) error { return capgen.WriteSlowloris(w, capgen.Flood{N: 3000}) },
			func(c *run.Capture) int64 { return c.ParsersStopped }, "connections whose HTTP/TLS/DNS parsing stopped early"},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), tc.name+".pcap")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pw, _ := capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		if err := tc.write(pw); err != nil {
			t.Fatal(err)
		}
		pw.Flush()
		f.Close()
		res, err := Run(Config{Inputs: []string{path}, Memory: MinMemory}, nil)
		if err != nil {
			t.Fatal(err)
		}
		n := tc.count(&res.Capture)
		var msg string
		for _, fd := range res.Findings {
			if fd.Rule == "capture-incomplete" {
				msg = fd.Message
			}
		}
		if n == 0 || !strings.Contains(msg, fmt.Sprintf("%d %s", n, tc.says)) || res.Findings[0].Rule != "capture-incomplete" {
			t.Errorf("%s at %d MB: %d shed; capture-incomplete says %q (first finding %s)", tc.name, MinMemory>>20, n, msg, res.Findings[0].Rule)
		}
	}
}

// httpExchanges writes n HTTP connections from distinct clients, one
// every apart, each a request and a 300-byte response, then the client's
// ACK (kept open) or its close.
func httpExchanges(w capgen.FrameWriter, n int, apart time.Duration, closed bool) error {
	for i := range n {
		c := capgen.NewTCPConn(w, netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 40000),
			netip.MustParseAddrPort("192.0.2.80:80"), &capgen.TCPOptions{Start: capgen.Epoch.Add(time.Duration(i) * apart), Step: time.Microsecond})
		c.Handshake(time.Millisecond)
		c.SendData(capgen.Client, capgen.HTTPRequest("GET", "www.example.com", fmt.Sprintf("/%d", i)))
		c.SendData(capgen.Server, capgen.HTTPResponse(200, make([]byte, 300)))
		if closed {
			c.Close(capgen.Client)
		} else {
			c.Ack(capgen.Client)
		}
		if err := c.Err(); err != nil {
			return err
		}
	}
	return nil
}

package rules

import (
	"fmt"

	"github.com/pcapx/pcapx/flows"
)

// TCPZeroWindow reports receivers that stopped reading.
var TCPZeroWindow = &Rule{
	ID:    "tcp-zero-window",
	Title: "Receiver stalled the connection with a zero window",
	Doc: `A receiver advertised a TCP window of zero: its socket buffer was full because the
application did not read fast enough, so the sender had to stop. The network is
not the bottleneck here; the receiving host or application is.

Likely causes: a busy, blocked or paused application (GC pause, a slow disk, a
lock), a consumer slower than its producer, an undersized receive buffer.

Next: on the receiving host, "ss -tmi" (Recv-Q, rcv_space) shows data waiting
to be read; check the application's CPU, I/O and thread dumps at the stall times;
"sysctl net.ipv4.tcp_rmem" for buffer sizes.`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "min_stall_ms", Default: 200, Unit: "ms", Doc: "report when the zero-window time adds up to at least this"},
		{Name: "error_stall_ms", Default: 5000, Unit: "ms", Doc: "report as an error from this total stall on"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &tcpZeroWin{p: p} },
}

type tcpZeroWin struct{ p Params }

func (c *tcpZeroWin) Event(ev *Event, report func(Finding)) {
	f := ev.Flow
	if f.Proto != "tcp" || f.ZeroWindows == 0 || f.ZeroWindowTime < c.p.T("min_stall_ms") {
		return
	}
	sev := c.p.Severity
	if f.ZeroWindowTime >= c.p.T("error_stall_ms") && sev < Error {
		sev = Error
	}
	who := map[string]string{"client": f.SrcAddr, "server": f.DstAddr, "both": "both sides"}[f.ZeroWindowBy]
	msg := fmt.Sprintf("%s:%d → %s:%d: %s advertised a zero window %d %s, stalling the transfer for %s in total (%d zero-window %s)",
		f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort, who, f.ZeroWindows, plural(int(f.ZeroWindows), "time", "times"), msText(f.ZeroWindowTime),
		f.ZeroWindowProbes, plural(int(f.ZeroWindowProbes), "probe", "probes"))
	report(flowFinding(TCPZeroWindow, sev, f, f.ZeroWindows, msg, "tcp.analysis.zero_window", f.Evidence, func(e *flows.TCPEvidence) flows.FrameRefs { return e.ZeroWindows }))
}

func (c *tcpZeroWin) Finish(func(Finding)) {}

package rules

import (
	"fmt"

	"github.com/pcapx/pcapx/flows"
)

// TCPStall reports transfers whose data waited for an acknowledgement that
// did not come.
var TCPStall = &Rule{
	ID:    "tcp-stall",
	Title: "TCP transfer stalled",
	Doc: `One side's data waited longer than the threshold for an acknowledgement, and the
receiver had not said it was full (that is a zero window, tcp-zero-window; once
the receiver opens its window again, a wait that goes on is a stall; a reset
from the receiver ends the wait, and data sent after it waits anew). The
transfer made no progress: the user saw a hang. Retransmissions during the wait
(backing off: 0.2 s, 0.4 s, 0.8 s, ...) show the sender stuck; a wait without
any is not reported, since an unacknowledged last segment is as often an ACK
the capture missed, or one the receiver sent later with its next message.

Likely causes: the path dropped everything for a while (a flapping link, a
route change, a full queue, a NAT or firewall that lost the connection's state),
the receiving host froze, or only large segments are dropped (see
pmtu-black-hole, which reports those flows instead).

Next: "mtr HOST" and the interface counters on the path for the time of the
stall; "ss -ti dst HOST" on the sender (retrans, rto, backoff); the firewall's
and NAT's connection tables and timeouts; the receiver's logs for that time.`,
	Severity:   Error,
	Thresholds: []Threshold{{Name: "min_stall_ms", Default: 1000, Unit: "ms", Doc: "a wait this long with data outstanding is a stall"}},
	Events:     []EventKind{EventFlow},
	New:        func(p Params) Checker { return &tcpStall{p: p} },
}

type tcpStall struct{ p Params }

// stalled says whether tcp-stall, with its settings p, reports the flow's
// longest wait (unless pmtu-black-hole explains it). Without a
// retransmission nothing shows the sender stuck: an unacknowledged last
// segment is often an ACK the capture missed or one the receiver
// piggybacked on its next message.
func stalled(p Params, f *flows.Record) bool {
	return f.Proto == "tcp" && f.StallMS >= p.T("min_stall_ms") && f.Stall.Resends > 0
}

// stallResends is how many of the flow's retransmissions were the resends
// of the wait tcp-stall reports in this run (0 when it reports none): that
// finding's evidence, not loss for tcp-retransmissions to report again.
func stallResends(p Params, f *flows.Record) int64 {
	if sp, on := p.Enabled(TCPStall.ID); on && stalled(sp, f) {
		return int64(f.Stall.Resends)
	}
	return 0
}

func (c *tcpStall) Event(ev *Event, report func(Finding)) {
	f := ev.Flow
	if !stalled(c.p, f) {
		return
	}
	if blackHoleExplains(c.p, f) {
		return // pmtu-black-hole reports this stall with its cause
	}
	s := &f.Stall
	waiting, peer := "client", "server"
	if s.Dir == flows.FromServer {
		waiting, peer = "server", "client"
	}
	msg := fmt.Sprintf("%s:%d → %s:%d: the %s's data waited %s for the %s's acknowledgement (from %s)",
		f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort, waiting, durText(f.StallMS/1000), peer, flows.FormatTime(s.From))
	if s.Resends > 1 {
		msg += fmt.Sprintf(", sending data again %d times, the first %s and the last %s into the wait", s.Resends,
			durText(float64(s.FirstRetx-s.From)/1e9), durText(float64(s.LastRetx-s.From)/1e9))
	} else {
		msg += fmt.Sprintf(", sending data again once, %s into the wait", durText(float64(s.FirstRetx-s.From)/1e9))
	}
	if s.Ended {
		msg += "; the connection ended while still waiting (" + endedBy(f) + ")"
	} else {
		msg += "; then the transfer went on"
	}
	if s.AfterZeroWindow {
		msg += "; the wait began when the receiver opened its zero window again"
	} else {
		msg += "; the receiver never advertised a zero window"
	}
	// The evidence is the wait's own resends, not the flow's first
	// retransmissions (a SYN sent again, an earlier loss).
	fd := flowFinding(TCPStall, c.p.Severity, f, 1, msg, "", f.Evidence, func(*flows.TCPEvidence) flows.FrameRefs { return s.Frames })
	fd.First, fd.FirstNS = flows.FormatTime(s.From), s.From
	fd.Last, fd.LastNS = flows.FormatTime(s.To), s.To
	report(fd)
}

func (c *tcpStall) Finish(func(Finding)) {}

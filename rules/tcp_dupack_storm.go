package rules

import (
	"fmt"

	"github.com/pcapx/pcapx/flows"
)

// TCPDuplicateAckStorm reports connections flooded with duplicate ACKs.
var TCPDuplicateAckStorm = &Rule{
	ID:    "tcp-duplicate-ack-storm",
	Title: "Storm of duplicate ACKs",
	Doc: `A receiver sent many duplicate ACKs: it kept receiving segments beyond a hole in
the sequence space and kept asking for the missing one. A few are normal during
fast recovery; hundreds mean sustained loss or heavy reordering, and without SACK
the sender recovers one hole per round trip.

Likely causes: loss on a high-bandwidth path, reordering by link aggregation or
multipath routing, a middlebox that strips SACK.

An ACK the capture holds twice (the same IP identification within 100 ms, or
without one at the same microsecond) is not counted: Wireshark flags it as a
duplicate ACK, but the receiver sent it once.

Next: check sack_permitted on the flow; look for the retransmissions that follow;
"ss -ti" on the sender (sacked, lost, reordering), interface drop counters on the path.`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "min_count", Default: 100, Unit: "ACKs", Doc: "report a flow with at least this many duplicate ACKs"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &dupAckStorm{p: p} },
}

type dupAckStorm struct{ p Params }

func (c *dupAckStorm) Event(ev *Event, report func(Finding)) {
	f := ev.Flow
	// An ACK the capture holds twice is not a duplicate the receiver sent
	// (flows/copies.go), nor a segment the capture holds twice a resend.
	dups, retx := f.SentDuplicateAcks(), f.Resends()
	if f.Proto != "tcp" || float64(dups) < c.p.T("min_count") {
		return
	}
	sack := "SACK not negotiated"
	switch {
	case f.SACKPermitted:
		sack = "SACK negotiated"
	case !handshakeSeen(f):
		// Negotiation is in the SYN and the SYN-ACK: without both, "not
		// negotiated" would send the reader after a SACK-stripping
		// middlebox (real captures: the dup ACKs carry SACK blocks).
		sack = "SACK unknown: the handshake is not all in the capture"
	}
	msg := fmt.Sprintf("%s:%d → %s:%d: %d duplicate ACKs (%s), %d retransmissions",
		f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort, dups, sack, retx)
	if n := int(f.DuplicateAckCopies + f.RetransmissionCopies); n > 0 {
		msg += fmt.Sprintf("; %d more %s the capture holds twice (not counted; Wireshark flags %s)",
			n, plural(n, "was a packet", "were packets"), plural(n, "it", "them"))
	}
	if f.OrigPackets == 0 || f.RespPackets == 0 {
		msg += " (the capture holds one direction only: the sender's retransmissions are not in it)"
	}
	report(flowFinding(TCPDuplicateAckStorm, c.p.Severity, f, dups, msg, "tcp.analysis.duplicate_ack", f.Evidence, func(e *flows.TCPEvidence) flows.FrameRefs { return e.DuplicateAcks }))
}

func (c *dupAckStorm) Finish(func(Finding)) {}

// handshakeSeen says whether both the SYN and the SYN-ACK, which carry the
// options the two sides negotiate, are in the capture.
func handshakeSeen(f *flows.Record) bool {
	return f.SYNToSYNACK > 0 || (f.ClientMSS != 0 && f.ServerMSS != 0)
}

package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// TCPPortReuse reports SYNs on a 4-tuple whose previous connection the
// server may still hold.
var TCPPortReuse = &Rule{
	ID:    "tcp-port-reuse",
	Title: "TCP SYN on a 4-tuple whose previous connection may still be held",
	Doc: `A client sent a SYN from the same address and port to the same server address
and port as an earlier connection that the server may still hold: one closed
less than time_wait_s before with the server's FIN first (the side that closes
first keeps the 4-tuple in TIME-WAIT: 60 s on Linux, 2 MSL elsewhere, up to
240 s), or one never closed at all; or the server answered the SYN with a
bare ACK for another connection (a "challenge ACK", RFC 5961), which shows that
it held one, even one older than the capture.

What happens next is up to the server. A SYN that meets TIME-WAIT is accepted
when its ISN is above the old connection's last sequence number (RFC 6191; Linux
also accepts it when its TCP timestamp is newer): a SYN-ACK. Otherwise, and
always for a connection still open, the server answers with an ACK for the old
connection; the client resets it and sends its SYN again after its
retransmission timeout (1 s on Linux, 3 s on Windows), so the connect is that
much slower. Some stacks answer with a reset, or drop the SYN.

The finding is one per server endpoint. It names the clients and 4-tuples, the
time since the old connection's last packet, how the new ISN compares with the
old connection's next sequence number (the challenge ACK's acknowledgement
number when there is one: what the server compared), how the server answered
and, after a challenge ACK, how long the connect took. TCP timestamps are not
read: a SYN with a lower ISN answered with a SYN-ACK was most likely let
through by a newer timestamp. Not reported: a client reusing a port it closed
first (the TIME-WAIT is its own, as with net.ipv4.tcp_tw_reuse; the server
holds nothing), a reuse after a reset or after time_wait_s, and a new SYN after
an attempt nobody answered.

Likely causes: clients churning through their ephemeral ports so fast that a
port comes round again within the server's TIME-WAIT (see
tcp-connection-churn), with a server that closes first (HTTP/1.0, "Connection:
close", short RPCs); many clients behind a NAT or load balancer that reuses
source ports quickly; a client bound to a fixed source port; a client that
restarted and reconnects from the same port while the server still holds its
old connection; a middlebox that dropped the old connection's close; a NAT,
proxy or firewall in front of the server that still holds the old connection and
answers for it (its ACK then differs from the server's SYN-ACK in TTL, IP ID or
window).

Next: on the server, "ss -tan state time-wait '( sport = :PORT )' | wc -l" and
"ss -tano '( sport = :PORT )'" for the old 4-tuple; "nstat -az
TcpExtTCPChallengeACK TcpExtPAWSEstab" on Linux; on the clients, "sysctl
net.ipv4.ip_local_port_range" and "ss -s"; let the clients close first or keep
connections open (HTTP keep-alive, pooling); check the NAT's port allocation.`,
	Severity: Warning,
	Thresholds: []Threshold{
		{Name: "time_wait_s", Default: 60, Unit: "s", Doc: "how long the server is taken to hold a connection it closed first (Linux's TIME-WAIT)"},
	},
	Events: []EventKind{EventFlow},
	New:    func(p Params) Checker { return &reuseCheck{p: p} },
}

// reuseCheck groups the reused 4-tuples by server endpoint.
type reuseCheck struct {
	p Params
	g groups
}

// reuseData is what a group keeps.
type reuseData struct {
	dst        string
	port       uint16
	timeWait   int64 // the old connection closed by the server first, within time_wait_s
	open       int64 // the old connection not closed
	unseen     int64 // older than the capture: only the challenge ACK tells of it
	other      int64 // closed otherwise (by the client first, reset, long ago) yet challenged
	gapSet     bool
	gapMin     float64
	gapMax     float64
	isn        map[string]int64
	reply      map[string]int64
	challenged int64   // challenge ACKs after which the connect completed
	connectMax float64 // the slowest such connect, ms
	tuples     []string
}

func (c *reuseCheck) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	r := f.Reuse
	if f.Proto != "tcp" || r == nil {
		return
	}
	gap := float64(f.FirstNS-r.PrevLastNS) / 1e9
	kind := ""
	switch {
	case !r.Known:
		kind = "unseen"
	case !r.PrevAnswered || r.PrevClose == "reset":
	case r.PrevClose == "":
		kind = "open"
	case gap < c.p.T("time_wait_s") && r.PrevFirstFIN != "client":
		kind = "time-wait"
	}
	if kind == "" {
		if r.Reply != "challenge-ack" {
			return
		}
		kind = "other"
	}
	e := c.g.add(endpoint(f.DstAddr, f.DstPort), f.FirstNS, flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame}, f.Ref())
	if e == nil {
		return
	}
	if e.data == nil {
		e.data = &reuseData{dst: f.DstAddr, port: f.DstPort, isn: map[string]int64{}, reply: map[string]int64{}}
	}
	d := e.data.(*reuseData)
	e.example(f.SrcAddr)
	switch kind {
	case "unseen":
		d.unseen++
	case "open":
		d.open++
	case "time-wait":
		d.timeWait++
	default:
		d.other++
	}
	if r.Known {
		if !d.gapSet {
			d.gapSet, d.gapMin, d.gapMax = true, gap, gap
		}
		d.gapMin, d.gapMax = min(d.gapMin, gap), max(d.gapMax, gap)
	}
	rel := r.ISNRelation()
	if rel == "" {
		rel = "unknown"
	}
	d.isn[rel]++
	d.reply[r.Reply]++
	connected := r.Reply == "challenge-ack" && strings.ContainsRune(f.History, 'h') && f.SYNToSYNACK > 0
	if connected {
		d.challenged++
		d.connectMax = max(d.connectMax, f.SYNToSYNACK)
	}
	if len(d.tuples) < 3 {
		d.tuples = append(d.tuples, reuseExample(f, r, kind, gap, connected))
	}
}

// reuseExample tells one reuse: the 4-tuple, the old connection, the ISN
// and the server's answer.
func reuseExample(f *flows.Record, r *flows.PortReuse, kind string, gap float64, connected bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s → %s", endpoint(f.SrcAddr, f.SrcPort), endpoint(f.DstAddr, f.DstPort))
	switch kind {
	case "unseen":
		b.WriteString(", its previous connection older than the capture")
	case "open":
		fmt.Fprintf(&b, ", %s after the last packet of a connection never closed (tcp.stream %d)", durText(gap), r.PrevStream)
	default:
		closer := "the server"
		switch {
		case r.PrevClose == "reset":
			closer = "a reset"
		case r.PrevFirstFIN == "client":
			closer = "the client"
		}
		fmt.Fprintf(&b, ", %s after tcp.stream %d closed (by %s first)", durText(gap), r.PrevStream, closer)
	}
	switch rel := r.ISNRelation(); rel {
	case "above", "below":
		fmt.Fprintf(&b, ", ISN %s its next sequence number", rel)
	case "equal":
		b.WriteString(", ISN equal to its next sequence number")
	}
	fmt.Fprintf(&b, ", %s", replyText(r.Reply))
	if connected {
		fmt.Fprintf(&b, ", connected after %s", msText(f.SYNToSYNACK))
	}
	return b.String()
}

func replyText(reply string) string {
	switch reply {
	case "syn-ack":
		return "answered with a SYN-ACK"
	case "challenge-ack":
		return "answered with an ACK for the old connection (challenge ACK)"
	case "rst":
		return "answered with a reset"
	case "other":
		return "answered with another segment"
	}
	return "not answered"
}

func (c *reuseCheck) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*reuseData)
		var b strings.Builder
		fmt.Fprintf(&b, "%d SYN(s) to %s reused a 4-tuple whose previous connection the server may still have held (", e.count, e.key)
		var held []string
		if d.timeWait > 0 {
			held = append(held, fmt.Sprintf("%d in the server's TIME-WAIT (it closed first, less than %g s before)", d.timeWait, c.p.T("time_wait_s")))
		}
		if d.open > 0 {
			held = append(held, fmt.Sprintf("%d never closed", d.open))
		}
		if d.unseen > 0 {
			held = append(held, fmt.Sprintf("%d older than the capture", d.unseen))
		}
		if d.other > 0 {
			held = append(held, fmt.Sprintf("%d closed otherwise, yet still held", d.other))
		}
		b.WriteString(strings.Join(held, ", "))
		b.WriteString(")")
		if d.gapSet {
			gaps := durText(d.gapMin)
			if hi := durText(d.gapMax); hi != gaps {
				gaps += "–" + hi
			}
			fmt.Fprintf(&b, ", %s after the old connection's last packet", gaps)
		}
		fmt.Fprintf(&b, ", from %s", strings.Join(e.examples, ", "))
		b.WriteString("; new ISN against the old connection's next sequence number: ")
		b.WriteString(tally(d.isn, []string{"above", "below", "equal", "unknown"}, map[string]string{"unknown": "not known"}))
		b.WriteString("; the server answered ")
		b.WriteString(tally(d.reply, []string{"syn-ack", "challenge-ack", "rst", "other", ""}, map[string]string{
			"syn-ack": "with a SYN-ACK", "challenge-ack": "with an ACK for the old connection (challenge ACK)", "rst": "with a reset",
			"other": "with another segment", "": "not at all"}))
		if d.challenged > 0 {
			fmt.Fprintf(&b, "; after the challenge ACK the client reset it and its SYN sent again was answered: connect took up to %s", msText(d.connectMax))
		}
		fmt.Fprintf(&b, ". E.g. %s", strings.Join(d.tuples, "; "))
		report(e.finding(TCPPortReuse, c.p.Severity, b.String(),
			fmt.Sprintf("tcp.analysis.reused_ports && %s && tcp.port == %d", hostFilter(d.dst), d.port)).keyed("server", endpoint(d.dst, d.port)))
	}
	c.g.reportOverflow(report, TCPPortReuse, c.p.Severity, "port reuses", "tcp.flags.syn == 1")
}

// tally lists the non-zero counts of m in order: "2 above, 1 below".
func tally(m map[string]int64, order []string, names map[string]string) string {
	var out []string
	for _, k := range order {
		if n := m[k]; n > 0 {
			name := k
			if s, ok := names[k]; ok {
				name = s
			}
			out = append(out, fmt.Sprintf("%d %s", n, name))
		}
	}
	return strings.Join(out, ", ")
}

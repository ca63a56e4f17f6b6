package rules

import (
	"fmt"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// TCPSYNUnanswered reports connection attempts nobody answered.
var TCPSYNUnanswered = &Rule{
	ID:    "tcp-syn-unanswered",
	Title: "TCP connection attempts never answered",
	Doc: `A client sent SYNs and got neither a SYN-ACK nor a reset: the connection attempt
timed out. A single SYN the capture ended less than a retransmission timeout
(1 s) after is left out: its answer may simply not have been captured. The client waits (1 s, 2 s, 4 s ... between retries) and then fails
with "connection timed out". A client that got no answer from three or more
server endpoints is one finding naming them: its own path, proxy or firewall
is then likelier than each server.

Likely causes: a firewall or security group silently dropping the traffic, the
server host down or unreachable (no route, wrong address), the SYN-ACK lost on an
asymmetric return path, a SYN flood protection dropping new connections.

Next: from the client, "nc -vz HOST PORT" or "curl -v"; check firewall rules and
security groups on the path and the host ("iptables -L -n -v", "nft list
ruleset"); "ss -ltn" on the server to see whether anything listens; traceroute
with "mtr -T -P PORT HOST".`,
	Severity: Error,
	Events:   []EventKind{EventFlow},
	New:      func(p Params) Checker { return &connGroup{p: p, state: "S0"} },
}

// TCPConnectionRefused reports connection attempts the server refused.
var TCPConnectionRefused = &Rule{
	ID:    "tcp-connection-refused",
	Title: "TCP connections refused",
	Doc: `A SYN was answered with a reset: the host (or a firewall in front of it) is
reachable but refuses the connection. Clients fail at once with "connection
refused".

Likely causes: nothing listens on that port (the service is down, crashed or
listens on another address or port), a firewall that rejects with RST, a full
listen backlog on some systems.

Next: "ss -ltnp" on the server for the port; the service's logs and status
("systemctl status NAME"); check that it binds the right address (0.0.0.0 vs
127.0.0.1); firewall REJECT rules.`,
	Severity: Error,
	Events:   []EventKind{EventFlow},
	New:      func(p Params) Checker { return &connGroup{p: p, state: "REJ"} },
}

// connGroup groups failed connection attempts by server, leaving out those
// a port scan or sweep finding reports (tcp-port-scan, tcp-sweep).
type connGroup struct {
	p     Params
	state string // Zeek conn_state: S0 (no answer) or REJ (refused)
	g     groups // by client → server:port, merged by server at the end
	// rest takes, by server:port, the attempts past g's bound (a scan can
	// fill it): they are never a scan's, so they are reported whatever
	// filled g.
	rest groups
	// late holds the unanswered attempts of one SYN that the capture's
	// end cut off, until Run says when it ended: one sent less than a
	// retransmission timeout before the end may yet have been answered.
	late   []flows.Record
	capEnd int64
}

// initialRTO is the first retransmission timeout of a SYN (RFC 6298: 1 s;
// Linux 1 s, Windows 3 s): an attempt the capture ended sooner after
// is not known to be unanswered.
const initialRTO = int64(1e9)

// maxLateAttempts bounds the attempts held until the capture's end is
// known (a SYN flood's last second holds many).
const maxLateAttempts = 1024

// Run implements RunAware: the capture's end decides the held attempts.
func (c *connGroup) Run(info RunInfo) { c.capEnd = info.LastNS }

// minClientServers: a client that failed to reach this many servers gets
// one finding for all of them.
const minClientServers = 3

// clientFailures is what a client's folded finding keeps.
type clientFailures struct {
	servers int
	syns    int64
	names   []string // "server:port (attempts)", the first few
}

// attemptData is what a group keeps of its attempts.
type attemptData struct {
	src, dst string
	port     uint16
	syns     int64
}

func (c *connGroup) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	if f.Proto != "tcp" || f.State != c.state || answeredOutOfSight(f) || notRefused(f) {
		return
	}
	if c.state == "S0" && f.OrigPackets == 1 && f.End == "capture-end" && len(c.late) < maxLateAttempts {
		c.late = append(c.late, *f) // a copy: the run reuses its records
		return
	}
	c.add(f)
}

// add files an attempt under its client → server group.
func (c *connGroup) add(f *flows.Record) {
	ref := flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame}
	var e *group
	if key := f.SrcAddr + "|" + endpoint(f.DstAddr, f.DstPort); c.g.room(key) {
		e = c.g.add(key, f.FirstNS, ref, f.Ref())
	} else if e = c.rest.add(endpoint(f.DstAddr, f.DstPort), f.FirstNS, ref, f.Ref()); e != nil {
		e.example(f.SrcAddr)
	} else {
		return // counted in rest's overflow
	}
	if e.data == nil {
		e.data = &attemptData{src: f.SrcAddr, dst: f.DstAddr, port: f.DstPort}
	}
	e.data.(*attemptData).syns += f.OrigPackets // SYNs sent, for the message (S0 and REJ: the client sent only SYNs)
}

func (c *connGroup) Finish(report func(Finding)) {
	for i := range c.late {
		if f := &c.late[i]; c.capEnd == 0 || c.capEnd-f.FirstNS >= initialRTO {
			c.add(f)
		}
	}
	c.late = nil
	found := c.p.scans.scansOf(c.p)
	var merged groups
	for _, e := range append(c.g.order, c.rest.order...) {
		a := e.data.(*attemptData)
		fromRest := e.key == endpoint(a.dst, a.port)
		if !fromRest && found.covers(a.src, a.dst, a.port) {
			continue
		}
		m := merged.merge(endpoint(a.dst, a.port), e)
		if m == nil {
			continue
		}
		if m.data == nil {
			m.data = &attemptData{dst: a.dst, port: a.port}
		}
		if fromRest {
			for _, x := range e.examples {
				m.example(x)
			}
		} else {
			m.example(a.src)
		}
		m.data.(*attemptData).syns += a.syns
	}
	// A client that failed to reach several servers is one finding: its
	// own path, proxy or firewall is the likelier cause than each server.
	byClient := map[string][]*group{}
	for _, e := range merged.order {
		if len(e.examples) == 1 {
			byClient[e.examples[0]] = append(byClient[e.examples[0]], e)
		}
	}
	folded := map[*group]bool{}
	var clients groups
	for _, e := range merged.order {
		if len(e.examples) != 1 || len(byClient[e.examples[0]]) < minClientServers {
			continue
		}
		folded[e] = true
		m := clients.merge(e.examples[0], e)
		if m == nil {
			continue
		}
		if m.data == nil {
			m.data = &clientFailures{}
		}
		cf := m.data.(*clientFailures)
		cf.servers++
		cf.syns += e.data.(*attemptData).syns
		if len(cf.names) < 5 {
			cf.names = append(cf.names, fmt.Sprintf("%s (%d)", e.key, e.count))
		}
	}
	for _, e := range clients.sorted() {
		cf := e.data.(*clientFailures)
		rule, how := TCPConnectionRefused, "was refused by"
		filter := "tcp.flags.syn == 1 && " + srcFilter(e.key)
		if c.state == "S0" {
			rule, how = TCPSYNUnanswered, "got no answer from"
			filter = "tcp.flags.syn == 1 && tcp.flags.ack == 0 && " + srcFilter(e.key)
		}
		more := ""
		if cf.servers > len(cf.names) {
			more = fmt.Sprintf(", … %d more", cf.servers-len(cf.names))
		}
		msg := fmt.Sprintf("%s %s %d server endpoints (%s%s): %s%s — the client's own path, proxy or firewall is likelier than each server",
			e.key, how, cf.servers, attempts(e.count), synsNote(e.count, cf.syns, ", "), strings.Join(cf.names, ", "), more)
		report(e.finding(rule, c.p.Severity, msg, filter).keyed("client", e.key))
	}
	for _, e := range merged.sorted() {
		if folded[e] {
			continue
		}
		var msg, filter string
		rule := TCPConnectionRefused
		a := e.data.(*attemptData)
		if c.state == "S0" {
			rule = TCPSYNUnanswered
			note := synsNote(e.count, a.syns, "")
			if note != "" {
				note = " (" + note + ")"
			}
			msg = fmt.Sprintf("%s to %s got no answer%s, from %s", attempts(e.count), e.key, note, strings.Join(e.examples, ", "))
			filter = fmt.Sprintf("tcp.flags.syn == 1 && tcp.flags.ack == 0 && %s && tcp.dstport == %d", hostFilter(a.dst), a.port)
		} else {
			msg = fmt.Sprintf("%s to %s %s refused with a reset, from %s", attempts(e.count), e.key, plural(int(min(e.count, 2)), "was", "were"), strings.Join(e.examples, ", "))
			filter = fmt.Sprintf("tcp.flags.reset == 1 && %s && tcp.srcport == %d", hostFilter(a.dst), a.port)
		}
		report(e.finding(rule, c.p.Severity, msg, filter).keyed("server", e.key))
	}
	if n := c.rest.overflow + merged.overflow; n > 0 {
		rule := TCPConnectionRefused
		if c.state == "S0" {
			rule = TCPSYNUnanswered
		}
		report(Finding{Rule: rule.ID, Severity: c.p.Severity, Title: rule.Title, Count: n, Evidence: []Evidence{},
			Message: fmt.Sprintf("%d more failed connection attempt(s) to servers beyond the first %d", n, maxGroups)})
	}
}

// attempts is "1 connection attempt" or "N connection attempts".
func attempts(n int64) string {
	return fmt.Sprintf("%d %s", n, plural(int(min(n, 2)), "connection attempt", "connection attempts"))
}

// synsNote says how many SYNs the attempts took when some were sent again
// ("" when each attempt was one SYN: a count equal to the attempts' says
// nothing, and read like retries in a SYN flood of 10,000 single SYNs).
func synsNote(attempts, syns int64, sep string) string {
	if syns <= attempts {
		return ""
	}
	return fmt.Sprintf("%s%d SYNs with the retransmissions", sep, syns)
}

// answeredOutOfSight says whether an attempt Zeek calls S0 (no reply seen)
// was answered all the same: after its SYN the client acknowledged or sent
// data, which it does only once a SYN-ACK came. The capture holds one
// direction of the connection only (a mirror or tap of one direction, an
// asymmetric route): nDPI ocs.pcap and Zeek's gre-aruba.pcap, whose clients
// go on to send requests and ACK the answers no one captured.
func answeredOutOfSight(f *flows.Record) bool {
	return f.State == "S0" && strings.HasPrefix(f.History, "S") && strings.ContainsAny(f.History[1:], "AD")
}

// notRefused says whether an attempt Zeek calls REJ (the server reset it)
// was not refused in the end: the client had acknowledged or sent data
// before the reset, so a SYN-ACK came out of sight and the reset answered
// those, not the SYN (gopacket cip.pcap, history SADrr...); or the server
// accepted the attempt sent again on the same ports after the reset
// (nDPI rtsp.pcap, SrhADTadTr: the 0.5 s it cost is slow-connect's).
func notRefused(f *flows.Record) bool {
	r := strings.IndexByte(f.History, 'r')
	if f.State != "REJ" || r < 0 {
		return false
	}
	return strings.ContainsAny(f.History[:r], "AD") || strings.ContainsAny(f.History[r+1:], "hd")
}

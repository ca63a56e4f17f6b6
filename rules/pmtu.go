package rules

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pcapx/pcapx/flows"
)

// PMTUBlackHole reports transfers that stalled because full-size segments
// vanish on the path and no ICMP error says so.
var PMTUBlackHole = &Rule{
	ID:    "pmtu-black-hole",
	Title: "PMTU black hole: large segments vanish and no ICMP error comes back",
	Doc: `A link on the path has a smaller MTU than the hosts' (a tunnel, PPPoE, a VPN) and
the ICMP "fragmentation needed" (ICMPv6 "packet too big") its router sends is
dropped on the way back, usually by a firewall. Small packets pass, so the
connection opens and small requests work; every full-size segment is lost, so a
large response never arrives and the transfer hangs until someone gives up.

Seen at the sender: a segment near the MSS is retransmitted with back-off and
never acknowledged while the peer's ACK stays at its first byte, smaller
segments got through, no smaller segment was lost, and no ICMP error about the
flow arrived. Seen at the receiver: the peer could send segments as large as the
MSS allows, yet none that large ever arrived; after the first small segments the
data stopped at a hole larger than any segment received ("previous segment not
captured"), the hole was never filled, and the transfer was abandoned. Random
loss (small segments lost too), a capture that starts mid-transfer (the MSS and
the first sizes unknown), an outage (every size lost) and offload artefacts
(segments larger than the MSS) do not match.

Next: from the sender, "ping -M do -s SIZE PEER" (IPv6: "ping -6 -M do -s
SIZE") with the stuck segment's size + 12 (fails) and smaller sizes: the largest
that passes + 28 (IPv6: + 48) is the path MTU; "tracepath PEER" shows where it
drops; "ip route get PEER" shows a cached PMTU. Fix: let ICMP type 3 code 4
(ICMPv6 type 2) through the firewalls on the path, or clamp the MSS on the
tunnel's router ("iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN
-j TCPMSS --clamp-mss-to-pmtu"), or lower the MTU of the interface.`,
	Severity: Error,
	Events:   []EventKind{EventFlow},
	New:      func(p Params) Checker { return &pmtuBlackHole{p: p} },
}

// PMTUFragNeeded reports ICMP errors that lowered the path MTU, and what
// the senders did with them.
var PMTUFragNeeded = &Rule{
	ID:    "pmtu-frag-needed",
	Title: "A smaller path MTU was reported by ICMP",
	Doc: `A router on the path sent ICMP "fragmentation needed" (ICMPv6 "packet too big"):
the path's MTU is smaller than the packets sent, and the sender must send
smaller ones (path MTU discovery, RFC 1191 / 8201). When the flows then
re-segment, discovery works and the cost is a little throughput and a
retransmission per flow; this is context for other findings. When a flow kept
sending packets larger than the reported MTU, the sender ignores the ICMP
(discovery disabled, a stale route cache, or the ICMP fails its checks).

Next: "ip route get PEER" (the cached PMTU); the link with the smaller MTU
(a tunnel, PPPoE, a VPN) and whether clamping the MSS there would spare every
flow the first loss; for a sender that ignores the ICMP,
"sysctl net.ipv4.ip_no_pmtu_disc" and its firewall's handling of ICMP.`,
	Severity: Info,
	Events:   []EventKind{EventICMP, EventFlow},
	New:      func(p Params) Checker { return &pmtuReported{p: p, outcome: map[string]*pmtuOutcome{}} },
}

// blackHoleExplains says whether pmtu-black-hole reports a flow, in this
// run: then its retransmissions, stall and the reset that abandoned it
// are that finding's evidence, not findings of their own.
func blackHoleExplains(p Params, f *flows.Record) bool {
	_, on := p.Enabled(PMTUBlackHole.ID)
	return on && f.PMTU != nil && f.PMTU.BlackHole
}

// pmtuBlackHole groups stalled flows by sender and receiver.
type pmtuBlackHole struct {
	p Params
	g groups
}

// blackHoleData is what a group of stalled flows keeps.
type blackHoleData struct {
	sender, receiver string
	atSender         bool
	v6               bool
	segLen, mss      int
	largest          int
	capture          string // where the capture sits: client, server, middle, unknown
	senderRole       string // client or server
	resent           int
	stallNS          int64
	flows            []string // "sport → dport (ended by RST)"
}

func (c *pmtuBlackHole) Event(ev *Event, _ func(Finding)) {
	f := ev.Flow
	b := f.PMTU
	if b == nil || !b.BlackHole {
		return
	}
	sender, sport, receiver, rport := f.SrcAddr, f.SrcPort, f.DstAddr, f.DstPort
	if b.Sender == flows.FromServer {
		sender, sport, receiver, rport = receiver, rport, sender, sport
	}
	var frames flows.FrameRefs
	if f.Evidence != nil {
		frames = f.Evidence.Retransmissions
		if !b.AtSender {
			frames = f.Evidence.LostSegments
		}
	}
	ref := flows.FrameRef{File: f.FirstFile, Frame: f.FirstFrame}
	if len(frames) > 0 {
		ref = frames[0]
	}
	e := c.g.add(sender+"|"+receiver, f.FirstNS, ref, f.Ref())
	if e == nil {
		return
	}
	for _, fr := range frames[min(1, len(frames)):] {
		if len(e.evidence) < 5 {
			e.evidence = append(e.evidence, fr)
		}
	}
	d, _ := e.data.(*blackHoleData)
	if d == nil {
		role := "client"
		if b.Sender == flows.FromServer {
			role = "server"
		}
		d = &blackHoleData{sender: sender, receiver: receiver, atSender: b.AtSender, v6: strings.Contains(sender, ":"), mss: b.MSS,
			capture: f.CaptureSide, senderRole: role}
		e.data = d
	}
	d.segLen, d.largest = max(d.segLen, b.SegLen), max(d.largest, b.Largest)
	d.resent, d.stallNS = max(d.resent, b.Resent), max(d.stallNS, b.StallNS)
	e.last = max(e.last, f.LastNS)
	if len(d.flows) < 10 {
		d.flows = append(d.flows, fmt.Sprintf("%s → %s (%s)", endpoint(sender, sport), endpoint(receiver, rport), endedBy(f)))
	}
}

// endedBy says how a flow ended, in words.
func endedBy(f *flows.Record) string {
	switch f.State {
	case "RSTO", "RSTR", "RSTOS0", "RSTRH":
		return "abandoned with a reset"
	case "SF", "S2", "S3":
		return "closed with FIN"
	}
	if f.End == "capture-end" {
		return "still stalled when the capture ended"
	}
	return "no more packets"
}

func (c *pmtuBlackHole) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*blackHoleData)
		ping, icmp := "ping -M do -s", "ICMP type 3 code 4"
		if d.v6 {
			ping, icmp = "ping -6 -M do -s", "ICMPv6 type 2 (packet too big)"
		}
		var why, filterExpert string
		icmpSeen := "no ICMP error about it was captured"
		if d.capture == d.senderRole {
			icmpSeen = "no ICMP error about it came back"
		}
		if d.atSender {
			why = fmt.Sprintf("a %d-byte segment (the receiver's MSS is %d) was sent %d more times with back-off and never acknowledged, "+
				"while segments of up to %d bytes were acknowledged and every segment sent again was larger than those; %s",
				d.segLen, d.mss, d.resent, d.largest, icmpSeen)
			filterExpert = "tcp.analysis.retransmission"
		} else {
			why = fmt.Sprintf("%s may send segments of up to %d bytes, yet none larger than %d bytes arrived; "+
				"after the first small segments %d bytes went missing (previous segment not captured) and never arrived",
				d.sender, d.mss, d.largest, d.segLen)
			filterExpert = "tcp.analysis.lost_segment"
		}
		why += fmt.Sprintf(" (captured at the %s)", d.capture)
		n := e.count
		msg := fmt.Sprintf("likely PMTU black hole between %s (the %s, sending the large segments) and %s: %d flow(s) stalled for up to %s — %s. Stalled: %s. "+
			"Next: on %s, \"%s %d %s\" should fail where smaller sizes pass (the largest that passes shows the path MTU), \"tracepath %s\", \"ip route get %s\"; "+
			"let %s through the firewalls on the path, or clamp the MSS on the router of the small-MTU link",
			d.sender, d.senderRole, d.receiver, n, durText(float64(d.stallNS)/1e9), why, strings.Join(d.flows, "; "),
			d.sender, ping, d.pingSize(), d.receiver, d.receiver, d.receiver, icmp)
		filter := fmt.Sprintf("%s && %s && tcp.len > %d && %s", hostFilter(d.sender), hostFilter(d.receiver), d.largest, filterExpert)
		if !d.atSender {
			filter = fmt.Sprintf("%s && %s && %s", hostFilter(d.sender), hostFilter(d.receiver), filterExpert)
		}
		report(e.finding(PMTUBlackHole, c.p.Severity, msg, filter).keyed("sender", d.sender, "receiver", d.receiver))
	}
	c.g.reportOverflow(report, PMTUBlackHole, c.p.Severity, "stalled flows of likely PMTU black holes", "tcp.analysis.retransmission")
}

// pingSize is the ping payload that makes a packet as large as the
// segments that vanished: the segment plus the TCP/IP headers (40 bytes,
// IPv6 60) less the ICMP echo's (28, IPv6 48) — 12 bytes more either way.
// Seen at the receiver, the missing segments' size is not known: the MSS
// is what the sender would have used.
func (d *blackHoleData) pingSize() int {
	if d.atSender {
		return d.segLen + 12
	}
	return d.mss + 12
}

// pmtuReported groups the ICMP reports of a smaller path MTU by router
// and MTU, and learns from each quoted flow's end what its sender did.
type pmtuReported struct {
	p       Params
	g       groups
	outcome map[string]*pmtuOutcome // quoted flow's Community ID → what followed
}

type pmtuOutcome struct {
	flow     string
	maxAfter int
	v6       bool
}

// reportData is what a group of ICMP reports keeps.
type reportData struct {
	router    string
	mtu       int
	quotedLen int
	toward    string
	proto     string
	flows     []string // quoted Community IDs, first few
	seen      map[string]bool
}

func (c *pmtuReported) Event(ev *Event, _ func(Finding)) {
	switch ev.Kind {
	case EventICMP:
		m := ev.ICMP
		if m.NextHopMTU == 0 || (m.Kind != "frag-needed" && m.Kind != "packet-too-big") {
			return
		}
		ref := flows.FlowRef{CommunityID: m.CommunityID, Proto: m.Proto, SrcAddr: m.SrcAddr, DstAddr: m.DstAddr, Stream: -1}
		e := c.g.add(fmt.Sprintf("%s|%d", m.SrcAddr, m.NextHopMTU), m.TimeNS, m.Frame, ref)
		if e == nil {
			return
		}
		d, _ := e.data.(*reportData)
		if d == nil {
			d = &reportData{router: m.SrcAddr, mtu: m.NextHopMTU, quotedLen: m.QuotedLen, toward: m.QuotedDstAddr, proto: m.Proto, seen: map[string]bool{}}
			e.data = d
		}
		if id := m.QuotedCommunityID; id != "" && !d.seen[id] && len(d.flows) < 10 {
			d.seen[id] = true
			d.flows = append(d.flows, id)
		}
	case EventFlow:
		f := ev.Flow
		if f.PMTU == nil || f.PMTU.Reported == nil || len(c.outcome) >= maxGroups {
			return
		}
		from, to := endpoint(f.SrcAddr, f.SrcPort), endpoint(f.DstAddr, f.DstPort)
		if f.PMTU.ReportDir == flows.FromServer {
			from, to = to, from
		}
		c.outcome[f.CommunityID] = &pmtuOutcome{flow: from + " → " + to, maxAfter: f.PMTU.MaxAfter, v6: strings.Contains(f.SrcAddr, ":")}
	}
}

func (c *pmtuReported) Finish(report func(Finding)) {
	for _, e := range c.g.sorted() {
		d := e.data.(*reportData)
		var ok, ignored, quiet, unseen []string
		for _, id := range d.flows {
			o := c.outcome[id]
			if o == nil {
				unseen = append(unseen, id)
				continue
			}
			hdr := 40
			if o.v6 {
				hdr = 60
			}
			switch {
			case o.maxAfter == 0:
				quiet = append(quiet, o.flow)
			case o.maxAfter+hdr <= d.mtu:
				ok = append(ok, fmt.Sprintf("%s (then segments of up to %d bytes)", o.flow, o.maxAfter))
			default:
				ignored = append(ignored, fmt.Sprintf("%s (still %d-byte segments)", o.flow, o.maxAfter))
			}
		}
		what := "ICMP fragmentation needed"
		if d.proto == "icmp6" {
			what = "ICMPv6 packet too big"
		}
		msg := fmt.Sprintf("%s reported a path MTU of %d bytes (%s, %d message(s); the packets were %d bytes, toward %s)", d.router, d.mtu, what, e.count, d.quotedLen, d.toward)
		var parts []string
		if len(ok) > 0 {
			parts = append(parts, "PMTU discovery worked: "+strings.Join(ok, "; ")+" re-segmented")
		}
		if len(ignored) > 0 {
			parts = append(parts, "the sender ignored it: "+strings.Join(ignored, "; "))
		}
		if len(quiet) > 0 {
			parts = append(parts, "sent no data afterwards: "+strings.Join(quiet, "; "))
		}
		if len(unseen) > 0 {
			parts = append(parts, fmt.Sprintf("%d quoted flow(s) not captured here (quoted_community_id %s)", len(unseen), strings.Join(unseen, ", ")))
		}
		sort.Strings(parts[min(1, len(parts)):])
		if len(parts) > 0 {
			msg += ": " + strings.Join(parts, "; ")
		}
		field := "icmp.type == 3 && icmp.code == 4"
		if d.proto == "icmp6" {
			field = "icmpv6.type == 2"
		}
		report(e.finding(PMTUFragNeeded, c.p.Severity, msg, field+" && "+srcFilter(d.router)).keyed("router", d.router, "mtu", fmt.Sprint(d.mtu)))
	}
	c.g.reportOverflow(report, PMTUFragNeeded, c.p.Severity, "ICMP fragmentation-needed / packet-too-big messages", "icmp.type == 3 && icmp.code == 4 || icmpv6.type == 2")
}

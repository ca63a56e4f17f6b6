package flows

import "strconv"

// ICMPRecord is one ICMP or ICMPv6 error (destination unreachable,
// fragmentation needed, packet too big, time exceeded, parameter problem,
// source quench) or redirect, with the header it quotes decoded and tied to
// the flow it refers to by that flow's Community ID — computed from the
// quoted 5-tuple, so the link holds even when the flow's own packets were
// not captured here (a router's message about traffic seen elsewhere).
type ICMPRecord struct {
	Time        Time   `json:"time"`
	TimeNS      int64  `json:"-"`
	CommunityID string `json:"community_id"` // the ICMP message's own flow (type and code as ports)
	Proto       string `json:"proto"`        // icmp or icmp6
	SrcAddr     string `json:"src_addr"`     // who sent it: a router on the path, or the peer
	DstAddr     string `json:"dst_addr"`
	Type        int    `json:"type"`
	Code        int    `json:"code"`
	// Kind names the message in a word pcapx's rules and queries use:
	// frag-needed, packet-too-big, unreachable, time-exceeded, redirect,
	// parameter-problem, source-quench.
	Kind        string `json:"kind"`
	Description string `json:"description"`  // e.g. "port unreachable"
	NextHopMTU  int    `json:"next_hop_mtu"` // frag-needed / packet-too-big; 0 otherwise
	// The quoted header: the packet the message complains about.
	QuotedProto       string   `json:"quoted_proto"` // tcp, udp, ... ("" when nothing readable was quoted)
	QuotedSrcAddr     string   `json:"quoted_src_addr"`
	QuotedSrcPort     uint16   `json:"quoted_src_port"`
	QuotedDstAddr     string   `json:"quoted_dst_addr"`
	QuotedDstPort     uint16   `json:"quoted_dst_port"`
	QuotedLen         int      `json:"quoted_len"` // its IP length as sent: the size that did not fit, for frag-needed
	QuotedSeq         uint32   `json:"quoted_seq"` // TCP: its sequence number
	QuotedCommunityID string   `json:"quoted_community_id"`
	Frame             FrameRef `json:"-"`
}

// IsICMPRecord says whether a decoded packet is one pcapx keeps an ICMP
// record of: an error that quotes a packet, or a redirect.
func (p *Packet) IsICMPRecord() bool {
	return p.Kind == KindICMP && (p.IsICMPError() || p.Proto == ProtoICMPv6 && p.ICMPType == 137)
}

// NewICMPRecord describes an ICMP message p of flow f (f may be nil).
func NewICMPRecord(p *Packet, f *Flow) *ICMPRecord {
	r := &ICMPRecord{
		Time: Time(p.Timestamp), TimeNS: p.Timestamp,
		Proto:   ProtoName(p.Proto),
		SrcAddr: p.Src.String(), DstAddr: p.Dst.String(),
		Type: int(p.ICMPType), Code: int(p.ICMPCode), NextHopMTU: int(p.NextHopMTU),
		Frame: FrameRef{File: p.File, Frame: p.Frame},
	}
	if f != nil {
		r.CommunityID = f.CommunityID()
	} else {
		r.CommunityID = CommunityID(0, p.Src, p.Dst, p.Proto, uint16(p.ICMPType), uint16(p.ICMPCode))
	}
	r.Kind, r.Description = icmpName(p.Proto, p.ICMPType, p.ICMPCode)
	if q := &p.Quoted; q.Valid {
		r.QuotedProto = ProtoName(q.Proto)
		r.QuotedSrcAddr, r.QuotedDstAddr = q.Src.String(), q.Dst.String()
		r.QuotedSrcPort, r.QuotedDstPort = q.SrcPort, q.DstPort
		r.QuotedLen, r.QuotedSeq = int(q.Len), q.Seq
		r.QuotedCommunityID = CommunityID(0, q.Src, q.Dst, q.Proto, q.SrcPort, q.DstPort)
	}
	return r
}

var icmp4Unreachable = [...]string{
	"net unreachable", "host unreachable", "protocol unreachable", "port unreachable",
	"fragmentation needed", "source route failed", "destination network unknown",
	"destination host unknown", "source host isolated", "network administratively prohibited",
	"host administratively prohibited", "network unreachable for TOS", "host unreachable for TOS",
	"communication administratively prohibited", "host precedence violation", "precedence cutoff in effect",
}

var icmp6Unreachable = [...]string{
	"no route to destination", "communication administratively prohibited", "beyond scope of source address",
	"address unreachable", "port unreachable", "source address failed ingress/egress policy",
	"reject route to destination", "error in source routing header",
}

// icmpName names an ICMP error or redirect: a kind word and a description
// (RFC 792, 1191, 1812, 4443).
func icmpName(proto, typ, code uint8) (kind, desc string) {
	pick := func(names []string) string {
		if int(code) < len(names) {
			return names[code]
		}
		return "code " + strconv.Itoa(int(code))
	}
	if proto == ProtoICMP {
		switch typ {
		case 3:
			if code == 4 {
				return "frag-needed", "fragmentation needed and DF set"
			}
			return "unreachable", pick(icmp4Unreachable[:])
		case 4:
			return "source-quench", "source quench"
		case 5:
			return "redirect", pick([]string{"redirect for network", "redirect for host", "redirect for TOS and network", "redirect for TOS and host"})
		case 11:
			return "time-exceeded", pick([]string{"TTL exceeded in transit", "fragment reassembly time exceeded"})
		case 12:
			return "parameter-problem", pick([]string{"pointer indicates the error", "missing a required option", "bad length"})
		}
		return "other", "type " + strconv.Itoa(int(typ))
	}
	switch typ {
	case 1:
		return "unreachable", pick(icmp6Unreachable[:])
	case 2:
		return "packet-too-big", "packet too big"
	case 3:
		return "time-exceeded", pick([]string{"hop limit exceeded in transit", "fragment reassembly time exceeded"})
	case 4:
		return "parameter-problem", pick([]string{"erroneous header field", "unrecognized next header", "unrecognized IPv6 option"})
	case 137:
		return "redirect", "redirect"
	}
	return "other", "type " + strconv.Itoa(int(typ))
}

// PathMTUReport is what an ICMP frag-needed / packet-too-big message
// taught a TCP flow: the path MTU for one direction's packets.
type PathMTUReport struct {
	MTU    int    // the smallest MTU reported
	Router string // who reported it
	At     int64  // when the first report came

	// Resends counts the retransmissions, after the report, of data the
	// direction had sent before it: PMTU discovery re-segmenting what did
	// not fit, which Wireshark flags as retransmissions but is not loss.
	Resends int64
	sentTo  uint32 // the direction's next sequence number at the report (0: none)
}

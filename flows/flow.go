package flows

import (
	"net/netip"
)

// Key identifies a bidirectional flow: protocol, both endpoints, and the
// tunnel it travels in. A is the endpoint that sorts first, so both
// directions of a conversation map to the same Key (a one-way ICMP message,
// which the Community ID does not reorder, has its sender as A; see keyOf).
//
// The VLAN id is NOT part of the key by default (Config.KeyByVLAN turns it
// on), although it looks like part of a flow's identity. Real captures show
// why not (docs/tcp-analysis.md says it for users): on a trunk
// the two directions of one connection often carry different tags — a
// router on a stick puts the request on the client's VLAN and the answer on
// the server's (shared pcaps: ldap/gap-data-missing.pcapng, VLAN 81 one way
// and 80 the other), and NIC VLAN offload strips the tag from one direction
// only (suricata bug-4376: tagged one way, untagged the other). Keying by
// VLAN splits each such connection in two and hides its problems. tshark and
// Zeek (by default) ignore the VLAN too. The flow still records the VLAN ids
// it saw. Tunnels (VXLAN VNI, GRE key) stay in the key: overlay networks
// reuse address space, and both directions of a flow share the tunnel id.
//
// Addresses are kept as 16-byte arrays (IPv4 mapped), not netip.Addr: the
// key is hashed for every packet, and without netip's zone pointer it is
// 44 bytes with no pointer instead of 64.
type Key struct {
	A, B         [16]byte
	APort, BPort uint16
	Proto        uint8
	V6           bool
	VLAN         uint16
	Tunnel       uint32
}

// Endpoint is one side of a flow.
type Endpoint struct {
	Addr netip.Addr
	Port uint16
}

// Dir is the direction of a packet within its flow.
type Dir uint8

const (
	FromClient Dir = 0 // originator → responder (Zeek's "orig")
	FromServer Dir = 1 // responder → originator (Zeek's "resp")
)

// Side names the sender of a direction: client or server.
func (d Dir) Side() string {
	if d == FromServer {
		return "server"
	}
	return "client"
}

// DirStats counts one direction of a flow.
type DirStats struct {
	Packets int64 // frames
	Bytes   int64 // IP bytes (header + payload, from the IP length field, as Zeek's *_ip_bytes)
	Payload int64 // transport payload bytes (TCP segment data, UDP data)
}

// EndReason says why a flow left the table.
type EndReason uint8

const (
	EndCapture EndReason = iota // still open when the capture ended
	EndIdle                     // idle longer than its timeout (capture time)
	EndClosed                   // closed (FIN both ways, or RST) and lingered out
	EndReused                   // its 4-tuple was reused by a new connection
	EndEvicted                  // pushed out because the table was full
)

func (r EndReason) String() string {
	return [...]string{"capture-end", "idle", "closed", "reused", "evicted"}[r]
}

// FrameRef names one frame of the capture, the way a person finds it again in
// Wireshark: the file and the frame number within it.
type FrameRef struct {
	File  int
	Frame int64
}

// Flow is everything pcapx tracks about one conversation. The table owns it
// while the flow is active; the OnEnd callback may read it but must not keep
// the pointer (flows are recycled).
type Flow struct {
	Key           Key
	ID            uint64 // order of creation in this run, from 1
	Stream        int64  // TCP: the tcp.stream number Wireshark gives it (0-based); -1 for other protocols
	Client        Endpoint
	Server        Endpoint
	First, Last   int64
	FirstFrame    FrameRef
	Dir           [2]DirStats
	End           EndReason
	ClientGuessed bool // no SYN seen: the client was chosen by the port heuristic
	// Continues says that the flow holds packets of a closed TCP
	// connection that came after the connection's record was written
	// (its close delay was over): it has the connection's tcp.stream and
	// roles (docs/architecture.md#flows-flows).
	Continues bool
	// transferCounted: the table counts the state of a connection that
	// carried data in its bytes (Table.countTransfer).
	transferCounted bool
	VLAN            [2]uint16 // VLAN id each direction was first seen with (0 untagged)
	// (The four one-byte fields and VLAN fill one word: a Flow is 336
	// bytes, in the 352-byte size class.)

	// LastIndex is the Packet.Index of the flow's last packet; EndList is
	// the expiry list it was on when it ended. With Last they order the
	// records of flows that end together (analyze's merge of its workers'
	// records, docs/architecture.md).
	LastIndex int64
	EndList   uint8

	TCP *TCPFlow // nil for non-TCP flows

	// App is the application-layer state the streams package attaches
	// (parsers, timing); opaque here. Cleared when the flow is recycled.
	App any

	cid, src, dst string // cached by strings()

	// list links for the table's time-ordered expiry lists.
	prev, next *Flow
	hnext      *Flow // next flow whose key hashes alike (flowIndex)
	list       *flowList
}

// Duration is the time between the first and last packet, in ns.
func (f *Flow) Duration() int64 { return f.Last - f.First }

// CommunityID returns the flow's Community ID v1 (seed 0).
func (f *Flow) CommunityID() string {
	f.strings()
	return f.cid
}

// strings computes the flow's Community ID and address strings once: the
// flow record and every application record of the flow need them.
func (f *Flow) strings() {
	if f.cid != "" {
		return
	}
	f.cid = CommunityID(0, f.Client.Addr, f.Server.Addr, f.Key.Proto, f.Client.Port, f.Server.Port)
	f.src, f.dst = f.Client.Addr.String(), f.Server.Addr.String()
}

// keyOf builds the canonical key of a packet and reports whether the packet's
// source is endpoint A.
func keyOf(p *Packet, byVLAN bool) (Key, bool) {
	k := Key{Proto: p.Proto, Tunnel: p.Tunnel, V6: p.Src.Is6()}
	src, dst := p.Src.As16(), p.Dst.As16()
	if byVLAN {
		k.VLAN = p.VLAN
	}
	sp, dp := p.SrcPort, p.DstPort
	switch p.Proto {
	case ProtoTCP, ProtoUDP, ProtoSCTP:
	case ProtoICMP, ProtoICMPv6:
		// ICMP flows are keyed exactly as the Community ID pairs them, so
		// that every packet of a flow has the flow's ID. A request/reply kind
		// takes the spec's port equivalents seen from its sender — (type,
		// counterpart type) — and is ordered like TCP below: a request and
		// its reply give the same key, while a request from each side (two
		// pings crossing, or a neighbour solicitation from each neighbour,
		// NS/NA and RS/RA being paired like echo) gives two flows, as in the
		// spec's baseline. A one-way message keeps (type, code) with its
		// sender as A and is never reordered: the spec gives the same
		// message sent each way two IDs.
		t, c, oneWay := icmpPortEquivalents(p.Proto, p.ICMPType, p.ICMPCode)
		if oneWay {
			k.A, k.B, k.APort, k.BPort = src, dst, t, c
			return k, true
		}
		sp, dp = t, c
	default:
		sp, dp = 0, 0
	}
	c := p.Src.Compare(p.Dst)
	if c < 0 || (c == 0 && sp <= dp) {
		k.A, k.B, k.APort, k.BPort = src, dst, sp, dp
		return k, true
	}
	k.A, k.B, k.APort, k.BPort = dst, src, dp, sp
	return k, false
}

func isICMPReply(proto, typ uint8) bool {
	if proto == ProtoICMP {
		switch typ {
		case 0, 14, 16, 9, 18:
			return true
		}
		return false
	}
	switch typ {
	case 129, 134, 136, 131, 140, 145:
		return true
	}
	return false
}

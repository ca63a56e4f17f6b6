package flows

// PortReuse describes how a TCP connection's SYN met an earlier connection
// on the same 4-tuple: what the tcp-port-reuse rule needs to tell a SYN that
// arrived while the server could still hold the old connection (in
// TIME-WAIT, or not closed at all) from a harmless reuse. A Record carries it
// (Record.Reuse, not in the JSON) only for a connection that took over a
// 4-tuple the capture saw before (the table ended the old flow with
// EndReused), or whose SYN the server answered with an ACK for another
// connection (a challenge ACK: the old connection predates the capture).
//
// Roles are the new connection's: "client" is the sender of the new SYN,
// even where it was the server of the old connection.
type PortReuse struct {
	// Known says whether the capture holds the previous connection; the
	// Prev* fields are zero when it does not.
	Known bool
	// PrevStream is the previous connection's tcp.stream, PrevFirst its
	// first frame; PrevFirstNS and PrevLastNS its first and last packet.
	PrevStream  int64
	PrevFirst   FrameRef
	PrevFirstNS int64
	PrevLastNS  int64
	// PrevAnswered: both sides of the previous connection sent packets (a
	// SYN nobody answered leaves no state at the server to meet).
	PrevAnswered bool
	// PrevClose is how the previous connection closed: "fin" (FIN both
	// ways: the side that sent the first FIN is in TIME-WAIT), "reset" (no
	// TIME-WAIT) or "" (not closed: one FIN or none).
	PrevClose string
	// PrevFirstFIN is who sent the previous connection's first FIN:
	// "client", "server" or "".
	PrevFirstFIN string
	// PrevNextSeq is the client's next sequence number in the previous
	// connection (its last sequence number + length, FIN counted:
	// Wireshark's nextseq, the server's RCV.NXT); 0 when not seen.
	PrevNextSeq uint32
	// ISN is the new SYN's sequence number.
	ISN uint32
	// Reply is the server's first packet after the SYN, sent before the
	// client sent anything but SYNs: "syn-ack", "challenge-ack" (a bare
	// ACK that does not acknowledge the SYN: an ACK for the connection the
	// server still holds), "rst", "other", or "" (no answer). ReplyAck is
	// its acknowledgement number (a challenge ACK's is the old connection's
	// RCV.NXT), ReplyNS its time.
	Reply    string
	ReplyAck uint32
	ReplyNS  int64
}

// ISNRelation compares the new ISN with the old connection's next
// sequence number — the challenge ACK's acknowledgement number when the
// server sent one (what the server compares against), else the client's
// next sequence number in the captured old connection: "above", "below",
// "equal", or "" when neither is known. RFC 6191 and Linux accept a SYN in
// TIME-WAIT when its ISN is above (or its timestamp newer).
func (r *PortReuse) ISNRelation() string {
	ref := r.PrevNextSeq
	if r.Reply == "challenge-ack" {
		ref = r.ReplyAck
	} else if ref == 0 {
		return ""
	}
	switch {
	case r.ISN == ref:
		return "equal"
	case seqGT(r.ISN, ref):
		return "above"
	}
	return "below"
}

// noteReply keeps the server's first packet when the client had sent only
// SYNs so far: how the server took the SYN.
func (t *TCPFlow) noteReply(p *Packet, dir Dir) {
	if dir != FromServer || t.replied {
		return
	}
	t.replied = true
	if c := &t.dirs[FromClient]; c.synSeen && c.histSeen&^histSYN == 0 {
		t.replyFlags, t.replyAck, t.replyNS = p.Flags, p.Ack, p.Timestamp
	}
}

// portReuse returns what the record of a connection says about an earlier
// connection on its 4-tuple (nil when there is none to tell of).
func (t *TCPFlow) portReuse() *PortReuse {
	c := &t.dirs[FromClient]
	reply := ""
	if t.replyNS != 0 {
		switch fl := t.replyFlags; {
		case fl&(FlagSYN|FlagACK) == FlagSYN|FlagACK:
			reply = "syn-ack"
		case fl&FlagRST != 0:
			reply = "rst"
		case fl&(FlagSYN|FlagFIN|FlagACK) == FlagACK && t.replyAck != c.isn+1:
			reply = "challenge-ack"
		default:
			reply = "other"
		}
	}
	r := t.prev
	if r == nil {
		if reply != "challenge-ack" {
			return nil
		}
		r = &PortReuse{ISN: c.isn}
	}
	r.Reply, r.ReplyAck, r.ReplyNS = reply, t.replyAck, t.replyNS
	return r
}

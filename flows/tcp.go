package flows

// Analysis is the set of TCP expert flags pcapx sets on one segment. The names
// and semantics are Wireshark's tcp.analysis.* (epan/dissectors/packet-tcp.c,
// tcp_analyze_sequence_number), so a finding's display filter shows the same
// frames in Wireshark; where pcapx knows better (see Side) it says so.
// docs/tcp-analysis.md says what each flag means, for users.
type Analysis uint32

const (
	ARetransmission         Analysis = 1 << iota // tcp.analysis.retransmission (also set with fast and spurious, as Wireshark does)
	AFastRetransmission                          // tcp.analysis.fast_retransmission
	ASpuriousRetransmission                      // tcp.analysis.spurious_retransmission
	AOutOfOrder                                  // tcp.analysis.out_of_order
	ALostSegment                                 // tcp.analysis.lost_segment ("previous segment not captured")
	AAckedUnseen                                 // tcp.analysis.ack_lost_segment ("ACKed unseen segment")
	ADuplicateAck                                // tcp.analysis.duplicate_ack
	AZeroWindow                                  // tcp.analysis.zero_window
	AZeroWindowProbe                             // tcp.analysis.zero_window_probe
	AZeroWindowProbeAck                          // tcp.analysis.zero_window_probe_ack
	AWindowFull                                  // tcp.analysis.window_full
	AWindowUpdate                                // tcp.analysis.window_update
	AKeepAlive                                   // tcp.analysis.keep_alive
	AKeepAliveAck                                // tcp.analysis.keep_alive_ack
	AReusedPorts                                 // tcp.analysis.reused_ports
	AReset                                       // RST flag (not an expert flag in Wireshark, counted alongside)
	// ANearRetransmission marks a retransmission that Wireshark's timing
	// rule would call out-of-order, reclassified because the capture point
	// sits at the sending host (see Side).
	ANearRetransmission
)

// Side says where on the path the capture point sits for one flow, worked
// out from the handshake. Near the client the SYN→SYN-ACK gap is a full round
// trip and SYN-ACK→ACK is almost nothing; near the server it is the other way
// round. A segment captured on the host that sends it cannot have been
// reordered on the way to the capture point, so when that host sends a
// sequence range again it is a retransmission, whatever the timing.
// Wireshark cannot know this and calls a quick resend "out-of-order"; pcapx
// uses Wireshark's timing rule only where the side is unknown.
type Side uint8

const (
	SideUnknown Side = iota
	SideClient       // capture taken at (or next to) the client
	SideServer       // capture taken at (or next to) the server
	SideMiddle       // both handshake gaps are substantial: somewhere on the path
)

func (s Side) String() string {
	return [...]string{"unknown", "client", "server", "middle"}[s]
}

// sideRatio: one handshake gap must be this many times the other before the
// capture point is called near one end. Host stacks answer in microseconds
// while a path costs at least tens of microseconds even on a LAN, so real
// captures land far beyond 8x on one side.
const sideRatio = 8

// Zeek endpoint states (scripts/base/init-bare.zeek TCP_*).
type endpointState uint8

const (
	tcpInactive endpointState = iota
	tcpSynSent
	tcpSynAckSent
	tcpPartial
	tcpEstablished
	tcpClosed
	tcpReset
)

// TCPCounts are the per-flow (and per-capture) TCP analysis counts. The JSON
// names are a contract with scripts and CI jobs.
type TCPCounts struct {
	Retransmissions         int64 `json:"retransmissions"`
	FastRetransmissions     int64 `json:"fast_retransmissions"`
	SpuriousRetransmissions int64 `json:"spurious_retransmissions"`
	OutOfOrder              int64 `json:"out_of_order"`
	DuplicateAcks           int64 `json:"duplicate_acks"`
	ZeroWindows             int64 `json:"zero_windows"`
	ZeroWindowProbes        int64 `json:"zero_window_probes"`
	WindowFull              int64 `json:"window_full"`
	LostSegments            int64 `json:"lost_segments"`
	AckedUnseen             int64 `json:"acked_unseen"`
	KeepAlives              int64 `json:"keep_alives"`
	Resets                  int64 `json:"resets"`
	WindowUpdates           int64 `json:"window_updates"`
	ReusedPorts             int64 `json:"reused_ports"`
}

// Add counts one segment's flags.
func (c *TCPCounts) Add(a Analysis) {
	if a == 0 {
		return
	}
	inc := func(flag Analysis, n *int64) {
		if a&flag != 0 {
			*n++
		}
	}
	inc(ARetransmission, &c.Retransmissions)
	inc(AFastRetransmission, &c.FastRetransmissions)
	inc(ASpuriousRetransmission, &c.SpuriousRetransmissions)
	inc(AOutOfOrder, &c.OutOfOrder)
	inc(ADuplicateAck, &c.DuplicateAcks)
	inc(AZeroWindow, &c.ZeroWindows)
	inc(AZeroWindowProbe, &c.ZeroWindowProbes)
	inc(AWindowFull, &c.WindowFull)
	inc(ALostSegment, &c.LostSegments)
	inc(AAckedUnseen, &c.AckedUnseen)
	inc(AKeepAlive, &c.KeepAlives)
	inc(AReset, &c.Resets)
	inc(AWindowUpdate, &c.WindowUpdates)
	inc(AReusedPorts, &c.ReusedPorts)
}

// Merge adds another set of counts.
func (c *TCPCounts) Merge(o *TCPCounts) {
	c.Retransmissions += o.Retransmissions
	c.FastRetransmissions += o.FastRetransmissions
	c.SpuriousRetransmissions += o.SpuriousRetransmissions
	c.OutOfOrder += o.OutOfOrder
	c.DuplicateAcks += o.DuplicateAcks
	c.ZeroWindows += o.ZeroWindows
	c.ZeroWindowProbes += o.ZeroWindowProbes
	c.WindowFull += o.WindowFull
	c.LostSegments += o.LostSegments
	c.AckedUnseen += o.AckedUnseen
	c.KeepAlives += o.KeepAlives
	c.Resets += o.Resets
	c.WindowUpdates += o.WindowUpdates
	c.ReusedPorts += o.ReusedPorts
}

// tcpDir is the sequence-analysis state of one direction, mirroring
// Wireshark 4.0's tcp_flow_t and tcp_analyze_seq_flow_info_t. Like Wireshark
// it works on absolute sequence numbers with 0 meaning "not seen yet" (even
// where 0 is a real value): keeping that quirk is what makes the counts agree
// with tshark.
type tcpDir struct {
	baseSet         bool
	lastPure        bool   // this direction's last packet was a pure ACK (no payload, SYN, FIN, RST)
	lastSYNPkt      bool   // or a SYN (SYN-ACK)
	lastIPID        uint16 // and its IP identification (copies.go)
	base            uint32 // Wireshark's base_seq: the ISN, or first seq - 1 mid-stream
	nextseq         uint32 // highest seq+len seen; 0 = none
	nextseqtime     int64
	maxseqtobeacked uint32 // highest contiguous seq seen
	lastack         uint32 // last ack value sent in this direction (raw, flag or not)
	lastacktime     int64  // time of this direction's last packet
	window          uint32 // last raw 16-bit window; 0xFFFFFFFF before the first packet
	winScale        int8   // -1 unknown, -2 known unscaled, else the shift
	isFirstAck      bool   // sent a SYN and no plain ACK since: its window is not scaled yet
	lastSegFlags    Analysis
	dupacknum       uint32 // unsigned, as in Wireshark: -1 after an ACKed-unseen makes ">= 2" true

	isn      uint32
	synSeen  bool
	finSeen  bool
	rstSeen  bool
	mss      uint16
	sackPerm bool

	// Zeek endpoint state and history bookkeeping.
	state      endpointState
	prevState  endpointState
	histSeen   uint8
	lastSYN    uint32
	lastFIN    uint32
	lastRST    uint32
	zeekLast   uint32 // highest seq+seglen, Zeek's last_seq
	zeekInit   bool
	rxmitN     int64
	rxmitNext  int64
	zwinN      int64
	zwinNext   int64
	zwStart    int64 // capture time the current zero-window stall began, 0 if none
	zwDuration int64
	zwCount    int64
}

// rttDir is the round-trip bookkeeping of one direction's data.
type rttDir struct {
	// ACK round trips of this direction's data, one segment timed at a
	// time (as a TCP sender does, RFC 6298), Karn's rule applied: a
	// retransmission cancels the sample. Wireshark's tcp.analysis.ack_rtt
	// times every segment; the minimum is what the path RTT needs.
	rttEnd uint32 // seq+len of the segment being timed
	rttAt  int64  // when it was sent; 0 when none is being timed
	minRTT int64  // smallest ACK round trip seen; 0 when none

	// The first data segment of this direction (a ClientHello, an HTTP
	// request, the first response bytes) and how often it was sent again:
	// a retransmission wait before the peer could answer.
	dataSeq        uint32
	dataAt         int64 // 0 until the first payload
	dataResent     int32
	dataLastResent int64
}

// transfer is the state only a connection that carries data needs: round
// trips, path MTU, stalls, the first reset, capture loss. It is allocated
// at the first payload (or the first ICMP report about the flow), so a SYN
// flood's million flows do not carry it.
//
// It holds no pointer, so the collector never scans it.
type transfer struct {
	rtt     [2]rttDir
	pmtu    [2]pmtuDir
	stall   [2]stallDir
	longest Stall // the longest unexplained wait, either direction
	rst     Reset // the first RST, when rstSet
	rstSet  bool
	sums    [2]struct{ n, bad uint8 } // TCP checksums sampled and wrong, by direction

	// Capture loss: bytes acknowledged, and those the capture never saw.
	ackedBytes, unseenBytes int64

	// The last data segment of each direction, and the retransmissions
	// that were that segment captured again (copies.go).
	lastSeg [2]segSig
	copies  int64

	// largestAt is the first segment of the largest size either side
	// sent: offload's evidence (one for the flow, not one a direction,
	// keeps the struct in its allocation size class).
	largestAt FrameRef
}

// TCPFlow is the TCP state of one flow.
type TCPFlow struct {
	dirs   [2]tcpDir
	Counts TCPCounts
	// DuplicateAckCopies: of the duplicate ACKs, those that were the
	// direction's last ACK captured again (copies.go), not sent again.
	DuplicateAckCopies int64
	// SYNCopies: of the retransmissions, SYNs (SYN-ACKs) captured again.
	SYNCopies int64
	// NotResent: of the retransmissions, those that send no data sent
	// before (trackStall): padding's zero bytes (IsPadding), or new data
	// that Wireshark flags only because padding took its sequence numbers
	// first.
	NotResent int64
	// FINResends: of the retransmissions, FINs without data sent again:
	// the close, after the transfer.
	FINResends int64
	History    []byte // Zeek conn.log history letters

	SYNTime, SYNACKTime, ACKTime int64 // handshake timestamps, 0 if not seen
	Side                         Side

	// Handshake retransmissions: SYNs and SYN-ACKs sent, the last SYN, the
	// first SYN-ACK after it and the last SYN-ACK. They split the connect
	// time into the round trip and the retransmission timeouts waited.
	synN, synAckN      int32
	lastSYN            int64
	synAckAfterLastSYN int64
	lastSYNACK         int64

	// Evidence holds the first frames of each problem; nil for a clean
	// flow. A Record keeps the pointer: reset drops it rather than reusing.
	Evidence *TCPEvidence

	firstRTT int64 // Wireshark's ts_first_rtt: last SYN → first plain ACK (out-of-order threshold)
	mruSYN   int64 // time of the most recent pure SYN (ts_mru_syn)
	flipped  bool

	// x is the state of a connection that carries data (nil before its
	// first payload): round trips, path MTU (pmtu.go), stalls and resets
	// (stall.go), capture loss.
	x *transfer

	// The path MTU an ICMP error reported about this flow's packets in
	// direction pathMTUDir (nil when none).
	pathMTU    *PathMTUReport
	pathMTUDir Dir

	// An earlier connection on the 4-tuple (set by the table when this
	// one's SYN took it over), and the server's first reply to the SYN
	// (reuse.go).
	prev       *PortReuse
	replied    bool
	replyFlags uint8
	replyAck   uint32
	replyNS    int64
}

func newTCPFlow() *TCPFlow {
	t := &TCPFlow{History: make([]byte, 0, 16)}
	t.reset()
	return t
}

func (t *TCPFlow) reset() {
	h := t.History[:0]
	*t = TCPFlow{History: h}
	for i := range t.dirs {
		t.dirs[i].winScale = -1
		t.dirs[i].window = 0xFFFFFFFF
		t.dirs[i].rxmitNext, t.dirs[i].zwinNext = 1, 1
	}
}

// HandshakeRTT returns SYN→SYN-ACK and SYN-ACK→ACK in ns (0 if not seen).
func (t *TCPFlow) HandshakeRTT() (synToSynAck, synAckToAck int64) {
	if t.SYNTime != 0 && t.SYNACKTime >= t.SYNTime {
		synToSynAck = t.SYNACKTime - t.SYNTime
	}
	if t.SYNACKTime != 0 && t.ACKTime >= t.SYNACKTime {
		synAckToAck = t.ACKTime - t.SYNACKTime
	}
	return
}

// MSS, WindowScale and SACKPermitted report a direction's handshake options.
func (t *TCPFlow) MSS(d Dir) uint16 { return t.dirs[d].mss }
func (t *TCPFlow) WindowScale(d Dir) int8 {
	if ws := t.dirs[d].winScale; ws >= 0 {
		return ws
	}
	return -1
}
func (t *TCPFlow) SACKPermitted(d Dir) bool { return t.dirs[d].sackPerm }

// ZeroWindowBy says which side advertised zero windows: "client",
// "server", "both", or "".
func (t *TCPFlow) ZeroWindowBy() string {
	c, s := t.dirs[FromClient].zwCount > 0, t.dirs[FromServer].zwCount > 0
	switch {
	case c && s:
		return "both"
	case c:
		return "client"
	case s:
		return "server"
	}
	return ""
}

// ZeroWindowTime is the total time a direction advertised a zero window.
func (t *TCPFlow) ZeroWindowTime(d Dir) int64 { return t.dirs[d].zwDuration }

// Closed says whether the connection has closed: FIN both ways, or a RST.
func (t *TCPFlow) Closed() bool { return t.closed() }

func (t *TCPFlow) closed() bool {
	c, s := &t.dirs[FromClient], &t.dirs[FromServer]
	return c.rstSeen || s.rstSeen || (c.finSeen && s.finSeen)
}

// resetSeen says whether either side sent a RST.
func (t *TCPFlow) resetSeen() bool { return t.dirs[FromClient].rstSeen || t.dirs[FromServer].rstSeen }

// established says whether the connection got past its handshake: the
// client acknowledged the SYN-ACK, or the capture picked it up mid-stream.
func (t *TCPFlow) established() bool {
	return t.ACKTime != 0 || !t.dirs[FromClient].synSeen
}

func (t *TCPFlow) halfOpen() bool {
	return t.dirs[FromClient].synSeen && t.dirs[FromServer].state == tcpInactive
}

// startsNewConnection says whether a packet on a known 4-tuple opens a new
// connection: Wireshark 4.0 gives a new tcp.stream (and sets reused_ports)
// to a pure SYN whose sequence number differs from its sender's base, whether
// or not the old connection was closed. A SYN repeating the ISN is a
// retransmission in the same stream.
func (t *TCPFlow) startsNewConnection(p *Packet, fromClient bool) bool {
	if p.Flags&(FlagSYN|FlagACK) != FlagSYN {
		return false
	}
	d := &t.dirs[FromServer]
	if fromClient {
		d = &t.dirs[FromClient]
	}
	return d.baseSet && p.Seq != d.base
}

func seqGT(a, b uint32) bool { return int32(a-b) > 0 }
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqLE(a, b uint32) bool { return int32(a-b) <= 0 }

// fastRetransmitWindow and defaultOOOThreshold are Wireshark's constants.
const (
	fastRetransmitWindow = 20e6 // 20 ms
	defaultOOOThreshold  = 3e6  // 3 ms, when no handshake RTT is known
)

// analyze runs Wireshark's per-segment analysis and Zeek's state machine.
// pre holds flags the table already decided (reused ports).
func (t *TCPFlow) analyze(p *Packet, dir Dir, pre Analysis) Analysis {
	fwd, rev := &t.dirs[dir], &t.dirs[1-dir]
	flags := p.Flags
	now := p.Timestamp
	syn, ack := flags&FlagSYN != 0, flags&FlagACK != 0

	// Handshake timestamps for the record and the capture-side estimate.
	switch {
	case syn && !ack:
		if t.SYNTime == 0 || !fwd.synSeen {
			t.SYNTime = now
		}
		t.synN++
		if t.ACKTime == 0 { // a copy seen after the handshake delays nothing
			t.lastSYN, t.synAckAfterLastSYN = now, 0
		}
	case syn && ack:
		if t.SYNACKTime == 0 {
			t.SYNACKTime = now
		}
		t.synAckN++
		if t.synAckAfterLastSYN == 0 {
			t.synAckAfterLastSYN = now
		}
		if t.ACKTime == 0 { // one sent after the handshake completed delays nothing
			t.lastSYNACK = now
		}
	case ack && dir == FromClient && t.SYNACKTime != 0 && t.ACKTime == 0:
		t.ACKTime = now
		if t.SYNTime != 0 {
			// Judged from the exchange that worked: the first SYN → first
			// SYN-ACK gap of a lost SYN holds the retransmission timeout.
			if t.synAckAfterLastSYN != 0 && t.lastSYNACK != 0 {
				t.Side = sideFromHandshake(t.synAckAfterLastSYN-t.lastSYN, t.ACKTime-t.lastSYNACK)
			} else {
				t.Side = sideFromHandshake(t.SYNACKTime-t.SYNTime, t.ACKTime-t.SYNACKTime)
			}
		}
	}

	t.noteReply(p, dir)

	// base_seq, set before the analysis (dissect_tcp).
	a := pre
	if !fwd.baseSet {
		fwd.baseSet = true
		fwd.base = p.Seq
		if !syn {
			fwd.base = p.Seq - 1
		}
	} else if syn && ack && p.Seq != fwd.base {
		// A SYN-ACK with a new ISN on a known stream: Wireshark rebases
		// and flags reused ports but keeps the stream.
		fwd.base = p.Seq
		a |= AReusedPorts
	} else if syn && !ack && p.Seq == fwd.base {
		// A retransmitted SYN: Wireshark "restores" nextseq (issue 17616).
		fwd.nextseq = fwd.maxseqtobeacked
	}
	if ack && !rev.baseSet {
		rev.baseSet = true
		rev.base = p.Ack - 1
	}

	prevNext := fwd.nextseq
	ackCopies, synCopies := t.DuplicateAckCopies, t.SYNCopies
	a |= t.wiresharkAnalysis(fwd, rev, p, now, dir)
	copied := t.DuplicateAckCopies != ackCopies || t.SYNCopies != synCopies // a duplicate ACK or a SYN that is a copy

	// Bookkeeping Wireshark does after the analysis.
	if syn {
		if !ack {
			t.mruSYN = now
		}
		fwd.isFirstAck = true
		fwd.isn = p.Seq
		fwd.synSeen = true
		fwd.mss = p.MSS
		fwd.sackPerm = p.SACKPerm
	} else if ack {
		if t.mruSYN != 0 && t.firstRTT == 0 {
			t.firstRTT = now - t.mruSYN
		}
		fwd.isFirstAck = false
	}
	if p.WScale >= 0 {
		fwd.winScale = p.WScale
	}
	if syn { // verify_tcp_window_scaling
		if fwd.winScale == -1 {
			fwd.winScale, rev.winScale = -2, -2
		} else if ack && rev.winScale == -2 {
			fwd.winScale = -2
		}
	}
	if flags&FlagRST != 0 {
		a |= AReset
		fwd.rstSeen = true
	}
	if flags&FlagFIN != 0 {
		fwd.finSeen = true
	}

	// Zero-window stall time: from the first zero window a direction
	// advertises until it opens the window again. A window that opens at
	// a time before the zero window's (a capture whose timestamps go
	// backwards: merged interfaces with skewed clocks) adds nothing: the
	// total is a time, never below zero.
	if flags&(FlagSYN|FlagRST) == 0 {
		if p.Window == 0 {
			if fwd.zwStart == 0 {
				fwd.zwStart = now
			}
		} else if fwd.zwStart != 0 {
			fwd.zwDuration += max(now-fwd.zwStart, 0)
			fwd.zwStart = 0
		}
	}

	t.zeek(p, dir, fwd, rev)
	if t.x == nil && p.PayloadLen > 0 && flags&FlagRST == 0 {
		t.x = new(transfer)
		for d := range t.x.pmtu { // the ACK points so far
			if ack := t.dirs[1-d].lastack; ack != 0 && t.dirs[1-d].baseSet {
				t.x.pmtu[d].ackedTo, t.x.pmtu[d].ackSet = ack, true
			}
		}
	}
	if x := t.x; x != nil {
		x.timeRoundTrips(p, &x.rtt[dir], &x.rtt[1-dir], fwd, a)
		if p.PayloadLen > 0 {
			x.checkSum(p, dir)
		}
		fresh := t.trackStall(p, dir, a, t.trackPMTU(p, dir, a, prevNext), prevNext)
		copied = x.noteCopy(p, dir, a) || copied
		switch {
		case copied: // counted as a copy (a SYN-ACK's padding's too)
		case fresh:
			t.NotResent++
		case a&ARetransmission != 0 && p.PayloadLen == 0 && flags&(FlagFIN|FlagSYN|FlagRST) == FlagFIN:
			t.FINResends++
		}
	}
	t.Counts.Add(a)
	if a&problemFlags != 0 {
		if a&AZeroWindow != 0 {
			fwd.zwCount++
		}
		// A copy is no evidence of a resend or a duplicate ACK: the
		// evidence shows the ones that were sent.
		ev := a
		if copied {
			ev &^= ARetransmission | ADuplicateAck
		}
		t.keepEvidence(p, ev)
	}
	return a
}

const problemFlags = ARetransmission | AZeroWindow | ADuplicateAck | ALostSegment | AReset

func (t *TCPFlow) keepEvidence(p *Packet, a Analysis) {
	e := t.Evidence
	if e == nil {
		e = &TCPEvidence{FirstProblem: p.Timestamp}
		t.Evidence = e
	}
	e.LastProblem = p.Timestamp
	ref := FrameRef{File: p.File, Frame: p.Frame}
	if a&ARetransmission != 0 {
		e.Retransmissions.add(ref)
	}
	if a&AZeroWindow != 0 {
		e.ZeroWindows.add(ref)
	}
	if a&ADuplicateAck != 0 {
		e.DuplicateAcks.add(ref)
	}
	if a&ALostSegment != 0 {
		e.LostSegments.add(ref)
	}
	if a&AReset != 0 {
		e.Resets.add(ref)
	}
}

// timeRoundTrips keeps the ACK round-trip sample of each direction and
// the first data segment's resends, after the segment's analysis (seq is
// the sending direction's sequence state).
func (x *transfer) timeRoundTrips(p *Packet, fwd, rev *rttDir, seq *tcpDir, a Analysis) {
	now := p.Timestamp
	if p.Flags&FlagACK != 0 && rev.rttAt != 0 && seqLE(rev.rttEnd, p.Ack) {
		if d := now - rev.rttAt; d > 0 && (rev.minRTT == 0 || d < rev.minRTT) {
			rev.minRTT = d
		}
		rev.rttAt = 0
	}
	if p.PayloadLen == 0 || p.Flags&(FlagSYN|FlagRST) != 0 {
		return
	}
	end := p.Seq + uint32(p.PayloadLen)
	switch {
	case a&(ARetransmission|AOutOfOrder|AKeepAlive|AZeroWindowProbe) != 0:
		fwd.rttAt = 0 // Karn: an ACK could be for either copy
	case fwd.rttAt == 0 && end == seq.nextseq:
		fwd.rttEnd, fwd.rttAt = end, now
	}
	switch {
	case a&(AKeepAlive|AZeroWindowProbe) != 0:
	case fwd.dataAt == 0:
		fwd.dataSeq, fwd.dataAt = p.Seq, now
	case p.Seq == fwd.dataSeq && now > fwd.dataAt:
		fwd.dataResent++
		fwd.dataLastResent = now
	}
}

// SYNRetransmissions and SYNACKRetransmissions count the handshake
// segments sent again (the same connection's SYN or SYN-ACK repeated).
func (t *TCPFlow) SYNRetransmissions() int64    { return int64(max(t.synN-1, 0)) }
func (t *TCPFlow) SYNACKRetransmissions() int64 { return int64(max(t.synAckN-1, 0)) }

// HandshakeWait is the part of the connect time (first SYN → the
// client's ACK) spent waiting for a SYN or SYN-ACK to be sent again: the
// connect time less the exchange that succeeded (the last SYN → the first
// SYN-ACK after it, plus the last SYN-ACK → ACK). 0 without retransmissions
// or without a complete handshake.
func (t *TCPFlow) HandshakeWait() int64 {
	if t.synN+t.synAckN <= 2 {
		return 0
	}
	if t.SYNTime == 0 || t.ACKTime == 0 {
		return 0
	}
	clean := t.cleanHandshake()
	if clean == 0 {
		// No SYN-ACK answered the last SYN before the ACK (a damaged or
		// crafted exchange): everything up to the last SYN was waiting.
		return max(min(t.lastSYN, t.ACKTime)-t.SYNTime, 0)
	}
	return max(t.ACKTime-t.SYNTime-clean, 0)
}

// cleanHandshake is the handshake exchange that succeeded, without the
// waits before retransmissions; 0 when the handshake was not seen whole.
func (t *TCPFlow) cleanHandshake() int64 {
	if t.SYNTime == 0 || t.ACKTime == 0 || t.synAckAfterLastSYN == 0 {
		return 0
	}
	a, b := t.synAckAfterLastSYN-t.lastSYN, t.ACKTime-t.lastSYNACK
	if a < 0 || b < 0 {
		return 0
	}
	return a + b
}

// PathRTT estimates the round-trip time of the path between client and
// server, in ns (0 when unknown): the smaller of the handshake exchange that
// succeeded and the data's ACK round trips. The host next to the capture
// point sees a full round trip between its data and the peer's ACK; where
// that side is not known, the two directions' smallest ACK round trips add
// up to one round trip. ACK round trips can include a delayed ACK (up to
// 40 ms on Linux, 200 ms elsewhere), hence the minimum.
func (t *TCPFlow) PathRTT() int64 {
	best := t.cleanHandshake()
	consider := func(v int64) {
		if v > 0 && (best == 0 || v < best) {
			best = v
		}
	}
	var c, s int64
	if t.x != nil {
		c, s = t.x.rtt[FromClient].minRTT, t.x.rtt[FromServer].minRTT
	}
	switch t.Side {
	case SideClient:
		consider(c)
	case SideServer:
		consider(s)
	default:
		if c > 0 && s > 0 {
			consider(c + s)
		}
	}
	return best
}

// FirstData says when a direction's first data segment (a ClientHello,
// the first request) was first captured (0: none yet), how often it was
// sent again, and how long after the first copy the last one went out.
func (t *TCPFlow) FirstData(d Dir) (at int64, resent int, wait int64) {
	if t.x == nil {
		return 0, 0, 0
	}
	x := &t.x.rtt[d]
	if x.dataResent == 0 {
		return x.dataAt, 0, 0
	}
	return x.dataAt, int(x.dataResent), x.dataLastResent - x.dataAt
}

func sideFromHandshake(synToSynAck, synAckToAck int64) Side {
	switch {
	case synToSynAck <= 0 && synAckToAck <= 0:
		return SideUnknown
	case synAckToAck*sideRatio <= synToSynAck:
		return SideClient
	case synToSynAck*sideRatio <= synAckToAck:
		return SideServer
	}
	return SideMiddle
}

// nearSender says whether the capture point sits at the host sending in dir.
func (t *TCPFlow) nearSender(dir Dir) bool {
	return (t.Side == SideClient && dir == FromClient) || (t.Side == SideServer && dir == FromServer)
}

// wiresharkAnalysis is tcp_analyze_sequence_number of Wireshark 4.0: the
// checks in its order, then its state updates. All values are absolute and
// raw (unscaled windows), as there.
func (t *TCPFlow) wiresharkAnalysis(fwd, rev *tcpDir, p *Packet, now int64, dir Dir) Analysis {
	var a Analysis
	const synFinRst = FlagSYN | FlagFIN | FlagRST
	seq, ack, flags := p.Seq, p.Ack, p.Flags
	seglen := uint32(p.PayloadLen)
	window := uint32(p.Window)

	// ZERO WINDOW PROBE
	if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
		a |= AZeroWindowProbe
		goto finishedFwd
	}
	// ZERO WINDOW
	if window == 0 && flags&synFinRst == 0 {
		a |= AZeroWindow
	}
	// LOST PACKET (previous segment not captured)
	if fwd.nextseq != 0 && seqGT(seq, fwd.nextseq) && flags&FlagRST == 0 {
		a |= ALostSegment
	}
	// KEEP ALIVE
	if seglen <= 1 && seq == fwd.nextseq-1 && flags&synFinRst == 0 {
		a |= AKeepAlive
	}
	// WINDOW UPDATE
	if seglen == 0 && window != 0 && window != fwd.window && seq == fwd.nextseq && ack == fwd.lastack && flags&synFinRst == 0 {
		a |= AWindowUpdate
	}
	// WINDOW FULL
	if seglen > 0 && rev.winScale != -1 && flags&synFinRst == 0 {
		shift := uint(0)
		if !rev.isFirstAck && rev.winScale > 0 {
			shift = uint(rev.winScale)
		}
		if seq+seglen == rev.lastack+rev.window<<shift {
			a |= AWindowFull
		}
	}
	// KEEP ALIVE ACK
	if seglen == 0 && window != 0 && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack && rev.lastSegFlags&AKeepAlive != 0 && flags&synFinRst == 0 {
		a |= AKeepAliveAck
		goto finishedFwd
	}
	// ZERO WINDOW PROBE ACK
	if seglen == 0 && window == 0 && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack && rev.lastSegFlags&AZeroWindowProbe != 0 && flags&synFinRst == 0 {
		a |= AZeroWindowProbeAck
		goto finishedFwd
	}
	// DUPLICATE ACK
	if seglen == 0 && window != 0 && window == fwd.window && seq == fwd.nextseq && ack == fwd.lastack && flags&synFinRst == 0 {
		fwd.dupacknum++ // 0xFFFFFFFF+1 wraps to 0... Wireshark sets it to 1 instead
		if fwd.dupacknum == 0 {
			fwd.dupacknum = 1
		}
		a |= ADuplicateAck
		if fwd.lastPure && ackCopy(p.IPID, fwd.lastIPID, now-fwd.lastacktime) {
			t.DuplicateAckCopies++
		}
	}

finishedFwd:
	if ack != fwd.lastack {
		fwd.dupacknum = 0
	}
	// ACKED UNSEEN SEGMENT
	if rev.maxseqtobeacked != 0 && seqGT(ack, rev.maxseqtobeacked) && flags&FlagACK != 0 {
		if seqLT(rev.maxseqtobeacked, rev.nextseq) {
			rev.maxseqtobeacked = rev.nextseq
			a |= AAckedUnseen
		} else {
			if rev.dupacknum == 0 {
				a |= AAckedUnseen
			}
			rev.dupacknum = 0xFFFFFFFF
		}
	}

	// RETRANSMISSION / FAST RETRANSMISSION / SPURIOUS / OUT-OF-ORDER
	if seglen > 0 || flags&(FlagSYN|FlagFIN) != 0 {
		notAdvanced := fwd.nextseq != 0 && seqLT(seq, fwd.nextseq)
		if a&AKeepAlive != 0 {
			goto finishedRetrans
		}
		if seglen > 1 && fwd.nextseq-1 == seq {
			notAdvanced = false // data after a one-byte probe
		}
		if seglen > 0 && rev.lastack != 0 && seqLE(seq+seglen, rev.lastack) {
			a |= ASpuriousRetransmission | ARetransmission
			goto finishedRetrans
		}
		if notAdvanced && rev.dupacknum >= 2 && rev.lastack == seq && uint64(now-rev.lastacktime) < fastRetransmitWindow {
			a |= AFastRetransmission | ARetransmission
			goto finishedRetrans
		}
		ooo := uint64(defaultOOOThreshold)
		if t.firstRTT != 0 {
			ooo = uint64(t.firstRTT)
		}
		synfin := uint32(0)
		if flags&(FlagSYN|FlagFIN) != 0 {
			synfin = 1
		}
		if notAdvanced && uint64(now-fwd.nextseqtime) < ooo && fwd.nextseq != seq+seglen+synfin {
			if t.nearSender(dir) {
				// Sent again by the host the capture sits on: it
				// cannot have been reordered on the way here.
				a |= ARetransmission | ANearRetransmission
			} else {
				a |= AOutOfOrder
			}
			goto finishedRetrans
		}
		if notAdvanced {
			a |= ARetransmission
		}
	}

finishedRetrans:
	if flags&FlagSYN != 0 && a&ARetransmission != 0 && fwd.lastSYNPkt && fwd.synSeen && seq == fwd.isn && segCopy(p.IPID, fwd.lastIPID, now-fwd.lastacktime) {
		// The SYN (SYN-ACK) just before, captured again: no stack sends
		// one again within the copy windows.
		t.SYNCopies++
	}
	{
		nextseq := seq + seglen
		if flags&(FlagSYN|FlagFIN) != 0 {
			nextseq++
		}
		if a&AZeroWindowProbe == 0 {
			if seqGT(nextseq, fwd.nextseq) || fwd.nextseq == 0 {
				fwd.nextseq = nextseq
				fwd.nextseqtime = now
			}
			if seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0 {
				fwd.maxseqtobeacked = fwd.nextseq
			}
		}
	}
	fwd.window = window
	fwd.lastack = ack
	fwd.lastacktime = now
	fwd.lastSegFlags = a
	fwd.lastPure, fwd.lastSYNPkt, fwd.lastIPID = seglen == 0 && flags&synFinRst == 0, flags&FlagSYN != 0, p.IPID
	return a
}

// finish closes the books when the flow leaves the table.
func (t *TCPFlow) finish(f *Flow) {
	for i := range t.dirs {
		d := &t.dirs[i]
		if d.zwStart != 0 {
			d.zwDuration += f.Last - d.zwStart
			d.zwStart = 0
		}
	}
}

var analysisNames = [...]string{"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
	"lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe", "zero_window_probe_ack",
	"window_full", "window_update", "keep_alive", "keep_alive_ack", "reused_ports", "reset", "near_sender_retransmission"}

// String lists the flags by their Wireshark names, joined with "|".
func (a Analysis) String() string {
	if a == 0 {
		return "none"
	}
	s := ""
	for i, n := range analysisNames {
		if a&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	return s
}

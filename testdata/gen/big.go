package main

import (
	"container/heap"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

// The -big capture: many concurrent sessions (HTTP/1.1, TLS, DNS, ICMP)
// with a realistic mix of clean and impaired TCP connections, streamed to
// disk in time order with bounded memory.
//
// Each session is a straight-line script (a coroutine made with iter.Pull)
// that writes through a proxy FrameWriter: when a frame is later than the
// global clock, the proxy yields to the scheduler, which resumes sessions
// in time order from a heap. So scripts read like the fixtures' stories and
// the file is still sorted by time. All randomness comes from PCG streams
// seeded with (seed, session number), so the output depends only on the
// seed and the size.

// BigOptions configure the large capture.
type BigOptions struct {
	Size   int64  // stop once the file reaches this many bytes
	Seed   uint64 // PRNG seed
	PcapNG bool   // write pcapng instead of pcap
}

// BigStats describe what was written.
type BigStats struct {
	Bytes, Packets, FrameBytes, TCPConns, DNS int64
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 250MB, 1GiB)", s)
	}
	return int64(f * float64(mult)), nil
}

// errStop unwinds a session whose scheduler has stopped.
var errStop = errors.New("stop")

type event struct {
	t   time.Time
	seq uint64
	s   *session
}

type eventHeap []event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].t.Equal(h[j].t) {
		return h[i].t.Before(h[j].t)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

type session struct {
	next func() (time.Time, bool)
	stop func()
}

type scheduler struct {
	w       capgen.FrameWriter
	now     time.Time
	h       eventHeap
	seq     uint64
	size    int64
	stopped bool
	st      BigStats
	perRec  int64 // record header bytes
	pad     bool  // records are padded to 4 bytes (pcapng)
}

// proxy is the FrameWriter a session writes to.
type proxy struct {
	s     *scheduler
	yield func(time.Time) bool
}

func (p *proxy) WriteFrame(f capgen.Frame) error {
	if f.Time.After(p.s.now) {
		if !p.yield(f.Time) {
			panic(errStop)
		}
	}
	if p.s.stopped {
		panic(errStop)
	}
	return p.s.write(f)
}

func (s *scheduler) write(f capgen.Frame) error {
	if err := s.w.WriteFrame(f); err != nil {
		return err
	}
	s.st.Packets++
	s.st.FrameBytes += int64(len(f.Data))
	n := int64(len(f.Data))
	if s.pad {
		n = (n + 3) &^ 3
	}
	s.st.Bytes += s.perRec + n
	if s.st.Bytes >= s.size {
		s.stopped = true
	}
	return nil
}

// spawn schedules a session script to start at t.
func (s *scheduler) spawn(t time.Time, script func(w capgen.FrameWriter, start time.Time)) {
	seq := func(yield func(time.Time) bool) {
		defer func() {
			if r := recover(); r != nil && r != errStop {
				panic(r)
			}
		}()
		script(&proxy{s: s, yield: yield}, t)
	}
	next, stop := iter.Pull(iter.Seq[time.Time](seq))
	s.push(t, &session{next: next, stop: stop})
}

func (s *scheduler) push(t time.Time, ss *session) {
	s.seq++
	heap.Push(&s.h, event{t, s.seq, ss})
}

func (s *scheduler) run() {
	for s.h.Len() > 0 && !s.stopped {
		ev := heap.Pop(&s.h).(event)
		if ev.t.After(s.now) {
			s.now = ev.t
		}
		if t, ok := ev.s.next(); ok {
			s.push(t, ev.s)
		}
	}
	for _, ev := range s.h {
		ev.s.stop()
	}
	s.h = nil
}

type bigWriter interface {
	capgen.FrameWriter
	Flush() error
}

func writeBig(path string, o BigOptions) (BigStats, error) {
	f, err := os.Create(path)
	if err != nil {
		return BigStats{}, err
	}
	defer f.Close()
	var w bigWriter
	perRec := int64(16)
	if o.PcapNG {
		nw, err := capgen.NewNgWriter(f, capgen.NgSection{Comment: fmt.Sprintf("capgen -big seed %d", o.Seed)})
		if err != nil {
			return BigStats{}, err
		}
		if _, err := nw.AddInterface(capgen.NgInterface{LinkType: capgen.LinkTypeEthernet, Name: "eth0"}); err != nil {
			return BigStats{}, err
		}
		w, perRec = nw, 32 // EPB without options
	} else {
		pw, err := capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		if err != nil {
			return BigStats{}, err
		}
		w = pw
	}
	s := &scheduler{w: w, now: capgen.Epoch, size: o.Size, perRec: perRec, pad: o.PcapNG}
	s.st.Bytes = 24
	m := newMix(o.Seed, s)
	s.spawn(capgen.Epoch, m.spawner)
	var runErr error
	func() {
		defer func() {
			if r := recover(); r != nil {
				runErr = fmt.Errorf("%v", r)
			}
		}()
		s.run()
	}()
	if runErr != nil {
		return s.st, runErr
	}
	if err := w.Flush(); err != nil {
		return s.st, err
	}
	st, err := f.Stat()
	if err == nil {
		s.st.Bytes = st.Size()
	}
	return s.st, f.Close()
}

// mix generates the sessions.
type mix struct {
	seed    uint64
	s       *scheduler
	n       uint64 // sessions started
	text    []byte // HTTP bodies are slices of this
	cipher  []byte // TLS ciphertext is slices of this
	names   []string
	servers []netip.Addr
	router  capgen.MAC
}

func newMix(seed uint64, s *scheduler) *mix {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	m := &mix{seed: seed, s: s, router: capgen.MAC{0x02, 0x00, 0x5e, 0xff, 0xff, 0x01}}
	words := strings.Fields("the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet packet capture network latency throughput window segment acknowledge retransmit server client request response header body cache proxy gateway")
	var b strings.Builder
	for b.Len() < 4<<20 {
		b.WriteString(words[r.IntN(len(words))])
		if r.IntN(12) == 0 {
			b.WriteString(".\n")
		} else {
			b.WriteByte(' ')
		}
	}
	m.text = []byte(b.String())
	m.cipher = make([]byte, 4<<20)
	for i := 0; i < len(m.cipher); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(m.cipher); j++ {
			m.cipher[i+j] = byte(v >> (8 * j))
		}
	}
	for _, d := range []string{"example.com", "example.net", "example.org", "cdn.example", "api.example", "shop.example", "mail.example", "static.example"} {
		for _, h := range []string{"www", "api", "img", "static", "login", "m", "assets", "edge"} {
			m.names = append(m.names, h+"."+d)
		}
	}
	for i := range 64 {
		m.servers = append(m.servers, netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i)}))
		m.servers = append(m.servers, netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + i)}))
	}
	return m
}

func macOf(a netip.Addr) capgen.MAC {
	b := a.As4()
	return capgen.MAC{0x02, 0x01, b[0], b[1], b[2], b[3]}
}

// spawner starts sessions with exponential inter-arrival times.
func (m *mix) spawner(w capgen.FrameWriter, start time.Time) {
	r := rand.New(rand.NewPCG(m.seed, 0))
	p := w.(*proxy)
	t := start
	for !m.s.stopped {
		t = t.Add(time.Duration(r.ExpFloat64() * float64(2*time.Millisecond)))
		if !p.yield(t) {
			return
		}
		m.n++
		id := m.n
		sr := rand.New(rand.NewPCG(m.seed, id))
		x := sr.Float64()
		switch {
		case x < 0.40:
			m.s.spawn(t, func(w capgen.FrameWriter, st time.Time) { m.dnsSession(w, st, sr, id) })
		case x < 0.63:
			m.s.spawn(t, func(w capgen.FrameWriter, st time.Time) { m.httpSession(w, st, sr, id) })
		case x < 0.95:
			m.s.spawn(t, func(w capgen.FrameWriter, st time.Time) { m.tlsSession(w, st, sr, id) })
		default:
			m.s.spawn(t, func(w capgen.FrameWriter, st time.Time) { m.icmpSession(w, st, sr, id) })
		}
	}
}

func (m *mix) client(id uint64) netip.AddrPort {
	host := uint32(id % 4000)
	addr := netip.AddrFrom4([4]byte{10, 1, byte(host >> 8), byte(host)})
	port := uint16(32768 + (id/4000)%28000)
	return netip.AddrPortFrom(addr, port)
}

func lognormal(r *rand.Rand, median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

func dur(r *rand.Rand, median time.Duration, sigma float64, lo, hi time.Duration) time.Duration {
	d := time.Duration(lognormal(r, float64(median), sigma))
	return min(max(d, lo), hi)
}

// dns writes one UDP transaction at t and returns when it ended.
func (m *mix) dns(w capgen.FrameWriter, t time.Time, r *rand.Rand, cli netip.AddrPort, name string, answer netip.Addr) time.Time {
	m.s.st.DNS++
	eth := capgen.Ethernet{Src: macOf(cli.Addr()), Dst: m.router}
	resolver := netip.AddrFrom4([4]byte{10, 0, 0, 53})
	id := uint16(r.Uint32())
	q := capgen.IP{Src: cli.Addr(), Dst: resolver, ID: id}
	qt := capgen.DNSTypeA
	if r.IntN(3) == 0 {
		qt = capgen.DNSTypeAAAA
	}
	port := uint16(20000 + r.IntN(40000))
	must(w.WriteFrame(capgen.Frame{Time: t, Data: eth.AppendFrame(nil, q.UDP(port, 53, capgen.DNSQuery(id, name, qt)))}))
	x := r.Float64()
	if x < 0.01 { // unanswered
		return t.Add(time.Second)
	}
	rc := capgen.RcodeNoError
	switch {
	case x < 0.05:
		rc = capgen.RcodeNXDomain
	case x < 0.07:
		rc = capgen.RcodeServFail
	case x < 0.075:
		rc = capgen.RcodeRefused
	}
	var ans []capgen.DNSRecord
	if rc == capgen.RcodeNoError {
		if r.IntN(3) == 0 {
			ans = append(ans, capgen.DNSCNAME(name, 300, "edge-"+name))
		}
		if qt == capgen.DNSTypeA {
			ans = append(ans, capgen.DNSAddr(name, uint32(60+r.IntN(3600)), answer))
		} else {
			b := answer.As4()
			ans = append(ans, capgen.DNSAddr(name, 300, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: b[3]})))
		}
	}
	t = t.Add(dur(r, 8*time.Millisecond, 1.2, 300*time.Microsecond, 2*time.Second))
	resp := capgen.IP{Src: resolver, Dst: cli.Addr(), ID: id ^ 0xa5a5}
	must(w.WriteFrame(capgen.Frame{Time: t, Data: eth.Reverse().AppendFrame(nil, resp.UDP(53, port, capgen.DNSResponse(id, name, qt, rc, ans...)))}))
	return t
}

func (m *mix) dnsSession(w capgen.FrameWriter, t time.Time, r *rand.Rand, id uint64) {
	cli := m.client(id)
	for range 1 + r.IntN(3) {
		t = m.dns(w, t, r, cli, m.names[r.IntN(len(m.names))], m.servers[r.IntN(len(m.servers))]).Add(time.Duration(r.IntN(50)) * time.Millisecond)
	}
}

func (m *mix) icmpSession(w capgen.FrameWriter, t time.Time, r *rand.Rand, id uint64) {
	cli := m.client(id).Addr()
	srv := m.servers[r.IntN(len(m.servers))]
	eth := capgen.Ethernet{Src: macOf(cli), Dst: m.router}
	rtt := dur(r, 20*time.Millisecond, 0.8, time.Millisecond, time.Second)
	q := capgen.IP{Src: cli, Dst: srv, ID: uint16(r.Uint32())}
	a := capgen.IP{Src: srv, Dst: cli, ID: uint16(r.Uint32()), TTL: 52}
	data := m.text[:56]
	ident := uint16(r.Uint32())
	for seq := uint16(1); seq <= uint16(1+r.IntN(4)); seq++ {
		must(w.WriteFrame(capgen.Frame{Time: t, Data: eth.AppendFrame(nil, q.ICMP(capgen.ICMPv4Echo(false, ident, seq, data)))}))
		if r.IntN(20) != 0 {
			must(w.WriteFrame(capgen.Frame{Time: t.Add(rtt), Data: eth.Reverse().AppendFrame(nil, a.ICMP(capgen.ICMPv4Echo(true, ident, seq, data)))}))
		}
		q.ID++
		a.ID++
		t = t.Add(time.Second)
	}
}

// impairment of one TCP session.
type impairment struct {
	loss     float64 // probability that a data segment is lost upstream
	zeroWin  bool
	rstAfter int // reset after this many responses (0: never)
}

func (m *mix) impair(r *rand.Rand) impairment {
	x := r.Float64()
	switch {
	case x < 0.85:
		return impairment{}
	case x < 0.95:
		return impairment{loss: 0.01 + 0.05*r.Float64()}
	case x < 0.98:
		return impairment{zeroWin: true}
	default:
		return impairment{rstAfter: 1 + r.IntN(2)}
	}
}

func (m *mix) conn(w capgen.FrameWriter, t time.Time, id uint64, srvPort uint16, r *rand.Rand) (*capgen.TCPConn, time.Duration) {
	m.s.st.TCPConns++
	cli := m.client(id)
	srv := netip.AddrPortFrom(m.servers[r.IntN(len(m.servers))], srvPort)
	o := &capgen.TCPOptions{Start: t, Link: capgen.Ethernet{Src: macOf(cli.Addr()), Dst: m.router}, ServerTTL: uint8(40 + r.IntN(20))}
	if r.IntN(10) == 0 {
		o.WScale = -1
		o.NoTimestamps = true
	}
	return capgen.NewTCPConn(w, cli, srv, o), dur(r, 25*time.Millisecond, 0.9, time.Millisecond, 600*time.Millisecond)
}

// transfer sends data from side s in flights of a growing window, the
// receiver acknowledging every second segment, with the session's
// impairments applied.
func transfer(c *capgen.TCPConn, s capgen.Side, data []byte, rtt time.Duration, r *rand.Rand, imp impairment) {
	rcv := s.Peer()
	c.Write(s, data)
	mss := c.SegmentSize()
	cwnd := 10
	sent := 0
	for c.Queued(s) > 0 {
		var lost []int
		unacked := 0
		for i := 0; i < cwnd && c.Queued(s) > 0; i++ {
			n := min(mss, c.Queued(s))
			if imp.loss > 0 && r.Float64() < imp.loss {
				lost = append(lost, c.Drop(s, n))
				continue
			}
			c.Send(s, n)
			unacked++
			sent++
			// Linux quick-acks the first segments of a transfer, then
			// delays ACKs to every second segment; out-of-order data is
			// acknowledged at once.
			if len(lost) > 0 || unacked == 2 || sent <= 8 || c.Queued(s) == 0 {
				c.Ack(rcv)
				unacked = 0
			}
		}
		if len(lost) > 0 {
			c.Sleep(rtt)
			if len(lost) == 1 && r.IntN(2) == 0 {
				c.Sleep(time.Millisecond)
			} else {
				c.Sleep(200 * time.Millisecond) // RTO
			}
			for _, i := range lost {
				c.Retransmit(s, i)
			}
			c.Ack(rcv)
			cwnd = max(cwnd/2, 2)
		} else if cwnd < 64 {
			cwnd *= 2
		}
		if imp.zeroWin && c.Queued(s) > 0 && r.IntN(4) == 0 {
			c.ZeroWindow(rcv)
			c.Sleep(dur(r, 300*time.Millisecond, 1, 20*time.Millisecond, 3*time.Second))
			c.WindowUpdate(rcv, 64256)
		}
		if c.Queued(s) > 0 {
			c.Sleep(rtt)
		}
	}
}

func (m *mix) body(r *rand.Rand, n int) []byte {
	off := r.IntN(len(m.text) - n)
	return m.text[off : off+n]
}

func (m *mix) httpSession(w capgen.FrameWriter, t time.Time, r *rand.Rand, id uint64) {
	host := m.names[r.IntN(len(m.names))]
	if r.IntN(2) == 0 {
		t = m.dns(w, t, r, netip.AddrPortFrom(m.client(id).Addr(), 0), host, m.servers[0]).Add(time.Millisecond)
	}
	c, rtt := m.conn(w, t, id, 80, r)
	imp := m.impair(r)
	c.Handshake(rtt)
	for i := range 1 + r.IntN(5) {
		target := fmt.Sprintf("/%s/%d.html", []string{"static", "api/v1/items", "img", "search"}[r.IntN(4)], r.IntN(100000))
		c.SendData(capgen.Client, capgen.HTTPRequest("GET", host, target, "User-Agent: Mozilla/5.0 (X11; Linux x86_64) capgen", "Accept: */*", "Accept-Encoding: gzip"))
		c.Sleep(rtt + dur(r, 15*time.Millisecond, 1.2, 100*time.Microsecond, 3*time.Second))
		status := 200
		switch x := r.Float64(); {
		case x < 0.05:
			status = 404
		case x < 0.07:
			status = []int{500, 502, 503, 504}[r.IntN(4)]
		case x < 0.09:
			status = 304
		}
		n := int(min(lognormal(r, 2000, 1.5), 1e6))
		if status != 200 {
			n = 100 + r.IntN(400)
		}
		resp := append(capgen.HTTPResponseHead(status, n, "Server: nginx", "Content-Type: text/html; charset=utf-8"), m.body(r, n)...)
		transfer(c, capgen.Server, resp, rtt, r, imp)
		if imp.rstAfter == i+1 {
			c.Rst(capgen.Client)
			return
		}
		c.Sleep(dur(r, 200*time.Millisecond, 1.5, time.Millisecond, 10*time.Second))
	}
	c.Close(capgen.Client)
}

func (m *mix) tlsSession(w capgen.FrameWriter, t time.Time, r *rand.Rand, id uint64) {
	host := m.names[r.IntN(len(m.names))]
	if r.IntN(3) == 0 {
		t = m.dns(w, t, r, netip.AddrPortFrom(m.client(id).Addr(), 0), host, m.servers[1]).Add(time.Millisecond)
	}
	c, rtt := m.conn(w, t, id, 443, r)
	imp := m.impair(r)
	c.Handshake(rtt)
	ch := capgen.ClientHello{SNI: host, GREASE: r.IntN(2) == 0}
	if r.IntN(10) == 0 {
		ch.Versions = []uint16{capgen.TLS12}
	}
	c.SendData(capgen.Client, capgen.TLSClientHello(ch))
	c.Sleep(rtt)
	switch x := r.Float64(); {
	case x < 0.02: // rejected by a middlebox
		c.Rst(capgen.Server)
		return
	case x < 0.03:
		c.SendData(capgen.Server, capgen.TLSAlert(capgen.AlertLevelFatal, capgen.AlertHandshakeFailure))
		c.Close(capgen.Server)
		return
	}
	ver := capgen.TLS13
	if len(ch.Versions) == 1 {
		ver = capgen.TLS12
	}
	flight := append(capgen.TLSServerHello(capgen.ServerHello{Version: ver, Seed: host}), m.record(r, 2500+r.IntN(2500))...)
	transfer(c, capgen.Server, flight, rtt, r, impairment{})
	c.SendData(capgen.Client, append(capgen.TLSChangeCipherSpec(), m.record(r, 53)...))
	for i := range 1 + r.IntN(6) {
		c.SendData(capgen.Client, m.record(r, 100+r.IntN(600)))
		c.Sleep(rtt + dur(r, 20*time.Millisecond, 1.2, 100*time.Microsecond, 3*time.Second))
		n := int(min(lognormal(r, 2000, 1.6), 2e6))
		var resp []byte
		for n > 0 {
			k := min(n, 16384)
			resp = append(resp, m.record(r, k)...)
			n -= k
		}
		transfer(c, capgen.Server, resp, rtt, r, imp)
		if imp.rstAfter == i+1 {
			c.Rst(capgen.Server)
			return
		}
		c.Sleep(dur(r, 300*time.Millisecond, 1.5, time.Millisecond, 20*time.Second))
	}
	c.SendData(capgen.Client, m.record(r, 19))
	c.Close(capgen.Client)
}

// record returns a TLS application data record of n bytes of ciphertext.
func (m *mix) record(r *rand.Rand, n int) []byte {
	off := r.IntN(len(m.cipher) - n)
	return capgen.TLSApplicationData(m.cipher[off : off+n])
}

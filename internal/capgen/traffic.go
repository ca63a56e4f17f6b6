package capgen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"
)

// Traffic is ordinary client traffic over a stretch of time, for tests of
// what happens over time (a ring of capture files, periods): HTTP
// connections of very different lengths (some open for most of the
// stretch, with a quiet gap), DNS lookups (a few never answered), and
// connections to a closed port. The frames are in time order.
type Traffic struct {
	Start    time.Time
	Duration time.Duration
	Seed     uint64
	// Every is the mean time between new connections (default 200 ms).
	Every time.Duration
}

// Frames returns the traffic's frames, in time order.
func (t Traffic) Frames() (Frames, error) {
	every := t.Every
	if every <= 0 {
		every = 200 * time.Millisecond
	}
	rng := rand.New(rand.NewPCG(t.Seed, 0x7261666669632e67))
	var fs Frames
	end := t.Start.Add(t.Duration)
	resolver := netip.MustParseAddr("10.0.0.53")
	eth := DefaultEthernet
	n := 0
	for at := t.Start; at.Before(end); at = at.Add(time.Duration(rng.Int64N(int64(2 * every)))) {
		n++
		cli := netip.AddrFrom4([4]byte{10, 1, byte(n % 7), byte(1 + n%200)})
		port := uint16(20000 + n%40000)
		srv := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + rng.IntN(20))})
		switch k := rng.IntN(10); {
		case k < 2: // a DNS lookup, one in six never answered
			id := uint16(n)
			name := fmt.Sprintf("host%d.example.com", rng.IntN(50))
			q := IP{Src: cli, Dst: resolver, ID: id}
			if err := fs.WriteFrame(Frame{Time: at, Data: eth.AppendFrame(nil, q.UDP(port, 53, DNSQuery(id, name, DNSTypeA)))}); err != nil {
				return nil, err
			}
			if rng.IntN(6) != 0 {
				r := IP{Src: resolver, Dst: cli, ID: id + 0x4000}
				rtt := time.Duration(1+rng.IntN(40)) * time.Millisecond
				ans := DNSResponse(id, name, DNSTypeA, 0, DNSAddr(name, 60, srv))
				if err := fs.WriteFrame(Frame{Time: at.Add(rtt), Data: eth.Reverse().AppendFrame(nil, r.UDP(53, port, ans))}); err != nil {
					return nil, err
				}
			}
		case k < 3: // a closed port
			c := NewTCPConn(&fs, netip.AddrPortFrom(cli, port), netip.AddrPortFrom(srv, 81), &TCPOptions{Start: at})
			c.Syn()
			c.Sleep(time.Millisecond)
			c.Rst(Server)
		default: // an HTTP exchange, sometimes a long keep-alive connection
			c := NewTCPConn(&fs, netip.AddrPortFrom(cli, port), netip.AddrPortFrom(srv, 80), &TCPOptions{Start: at})
			rtt := time.Duration(1+rng.IntN(30)) * time.Millisecond
			c.Handshake(rtt)
			requests := 1
			if rng.IntN(8) == 0 {
				requests = 2 + rng.IntN(6)
			}
			for i := range requests {
				c.Write(Client, HTTPRequest("GET", "www.example.com", fmt.Sprintf("/item/%d/%d", n, i)))
				sendQueued(c, Client)
				c.Sleep(rtt / 2)
				status := 200
				if rng.IntN(15) == 0 {
					status = 503
				}
				c.Write(Server, HTTPResponse(status, make([]byte, rng.IntN(20000))))
				sendQueued(c, Server)
				c.Sleep(rtt / 2)
				c.Ack(Client)
				if requests > 1 { // a quiet keep-alive gap of up to 5 s
					c.Sleep(time.Duration(rng.Int64N(int64(5 * time.Second))))
				}
			}
			if rng.IntN(12) != 0 { // some are left open at the end
				c.Close(Client)
			}
			if err := c.Err(); err != nil {
				return nil, err
			}
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Time.Before(fs[j].Time) })
	return fs, nil
}

// sendQueued sends what side s has queued, in segments of at most the
// segment size.
func sendQueued(c *TCPConn, s Side) {
	for c.Queued(s) > 0 {
		c.Send(s, min(c.Queued(s), c.SegmentSize()))
	}
}

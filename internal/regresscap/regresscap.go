// Package regresscap writes the captures the tests of pcapx check and
// pcapx diff compare: the same traffic captured twice (other client ports,
// another start time), and the traffic after a change (one problem fixed,
// one new). It is test tooling built on internal/capgen; the captures are
// written at test time, not committed.
package regresscap

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

// Options vary a capture.
type Options struct {
	// ClientPort is the first of the client's ephemeral ports: each
	// connection and DNS query takes the next one.
	ClientPort uint16
	// Start is the time of the first packet (default capgen.Epoch).
	Start time.Time
	// Changed is the traffic after a change: the NXDOMAIN answer is
	// fixed (dns-error resolved) and a second HTTP server answers 502
	// (a new http-server-error).
	Changed bool
}

// The hosts of the scenario.
var (
	Client   = netip.MustParseAddr("192.0.2.10")
	Resolver = netip.MustParseAddr("192.0.2.53")
	API      = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.20"), 80)  // answers 503
	Shop     = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.21"), 80)  // answers 502 after the change
	Blocked  = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.30"), 443) // resets the ClientHello
	WWW      = netip.AddrPortFrom(netip.MustParseAddr("198.51.100.40"), 80)  // answers 200
)

// Write writes the scenario's capture to path (pcap, Ethernet):
//
//   - DNS: www.example.com answered; nosuch.example.com NXDOMAIN (answered
//     after the change);
//   - HTTP GET api.example.com → 503 (http-server-error, error);
//   - TLS ClientHello for blocked.example.com reset by the server
//     (tls-handshake-rejected, error);
//   - HTTP GET www.example.com → 200;
//   - after the change: HTTP GET shop.example.com → 502.
func Write(path string, o Options) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	bw := bufio.NewWriter(f)
	w, err := capgen.NewPcapWriter(bw, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
	if err != nil {
		return err
	}
	s := &scenario{w: w, now: o.Start, port: o.ClientPort, id: 0x4100}
	if s.now.IsZero() {
		s.now = capgen.Epoch
	}
	if s.port == 0 {
		s.port = 40000
	}
	s.dns("www.example.com", capgen.RcodeNoError, netip.MustParseAddr("198.51.100.40"))
	if o.Changed {
		s.dns("nosuch.example.com", capgen.RcodeNoError, netip.MustParseAddr("198.51.100.41"))
	} else {
		s.dns("nosuch.example.com", capgen.RcodeNXDomain, netip.Addr{})
	}
	s.http(API, "api.example.com", "/v1/items", 503)
	s.tlsReset(Blocked, "blocked.example.com")
	s.http(WWW, "www.example.com", "/", 200)
	if o.Changed {
		s.http(Shop, "shop.example.com", "/cart", 502)
	}
	if s.err != nil {
		return s.err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}

type scenario struct {
	w    capgen.FrameWriter
	now  time.Time
	port uint16
	id   uint16
	err  error
}

const ms = time.Millisecond

func (s *scenario) next() netip.AddrPort {
	p := netip.AddrPortFrom(Client, s.port)
	s.port++
	return p
}

func (s *scenario) write(t time.Time, data []byte) {
	if s.err == nil {
		s.err = s.w.WriteFrame(capgen.Frame{Time: t, Data: data})
	}
}

// dns writes a query and its answer (an address, or none for an error
// rcode), 3 ms apart.
func (s *scenario) dns(name string, rcode uint8, answer netip.Addr) {
	cli := s.next()
	eth := capgen.DefaultEthernet
	q := capgen.IP{Src: Client, Dst: Resolver, ID: s.id}
	s.write(s.now, eth.AppendFrame(nil, q.UDP(cli.Port(), 53, capgen.DNSQuery(s.id, name, capgen.DNSTypeA))))
	var ans []capgen.DNSRecord
	if answer.IsValid() {
		ans = append(ans, capgen.DNSAddr(name, 300, answer))
	}
	r := capgen.IP{Src: Resolver, Dst: Client, ID: s.id ^ 0x5555}
	s.write(s.now.Add(3*ms), eth.Reverse().AppendFrame(nil, r.UDP(53, cli.Port(), capgen.DNSResponse(s.id, name, capgen.DNSTypeA, rcode, ans...))))
	s.id++
	s.now = s.now.Add(50 * ms)
}

// http writes a connection with one request and its response.
func (s *scenario) http(srv netip.AddrPort, host, target string, status int) {
	t := capgen.NewTCPConn(s.w, s.next(), srv, &capgen.TCPOptions{Start: s.now})
	t.Handshake(10 * ms)
	t.SendData(capgen.Client, capgen.HTTPRequest("GET", host, target, "User-Agent: regresscap"))
	t.Sleep(10 * ms)
	t.SendData(capgen.Server, capgen.HTTPResponse(status, []byte(fmt.Sprintf("status %d\n", status)), "Content-Type: text/plain"))
	t.Ack(capgen.Client)
	t.Close(capgen.Client)
	s.finish(t)
}

// tlsReset writes a ClientHello the server answers with a reset.
func (s *scenario) tlsReset(srv netip.AddrPort, sni string) {
	t := capgen.NewTCPConn(s.w, s.next(), srv, &capgen.TCPOptions{Start: s.now})
	t.Handshake(10 * ms)
	t.SendData(capgen.Client, capgen.TLSClientHello(capgen.ClientHello{SNI: sni}))
	t.Sleep(10 * ms)
	t.Rst(capgen.Server)
	s.finish(t)
}

func (s *scenario) finish(t *capgen.TCPConn) {
	if s.err == nil {
		s.err = t.Err()
	}
	s.now = t.Now().Add(50 * ms)
}

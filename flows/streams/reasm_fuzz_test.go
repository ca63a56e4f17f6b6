package streams

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/capgen"
)

// fuzzStreams are the bytes each direction sends, per application: the
// segments of a fuzz script are cut from them (or garbled), so that the
// parsers get far enough to skip bodies, records and messages.
var fuzzStreams = func() [3][2]string {
	var s [3][2]string
	body := strings.Repeat("b", 2500)
	s[0][C] = req("/1") + "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 700\r\n\r\n" + strings.Repeat("p", 700) + req("/3")
	s[0][S] = resp(body) + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + strings.Repeat("c", 0x400) + "\r\n0\r\n\r\n" + resp("x")
	cert := make([]byte, 4+3000)
	cert[0], cert[2], cert[3] = 11, 3000>>8, 3000&0xff
	rec := []byte{0x16, 3, 3, byte(len(cert) >> 8), byte(len(cert))}
	s[1][C] = string(capgen.TLSClientHello(capgen.ClientHello{SNI: "fuzz.example"})) + string(capgen.TLSChangeCipherSpec()) +
		string(capgen.TLSApplicationData(make([]byte, 2000)))
	s[1][S] = string(capgen.TLSServerHello(capgen.ServerHello{Seed: "fuzz"})) + string(rec) + string(cert) +
		string(capgen.TLSChangeCipherSpec()) + string(capgen.TLSApplicationData(make([]byte, 1500)))
	a := netip.MustParseAddr("192.0.2.7")
	s[2][C] = string(capgen.DNSOverTCP(capgen.DNSQuery(1, "a.example", capgen.DNSTypeA))) +
		string(capgen.DNSOverTCP(capgen.DNSQuery(2, "b.example", capgen.DNSTypeA)))
	s[2][S] = string(capgen.DNSOverTCP(capgen.DNSResponse(1, "a.example", capgen.DNSTypeA, capgen.RcodeNoError, capgen.DNSAddr("a.example", 60, a)))) +
		string(capgen.DNSOverTCP(capgen.DNSResponse(2, "b.example", capgen.DNSTypeA, capgen.RcodeNXDomain)))
	return s
}()

// FuzzReassembly plays a script of TCP segments through a Tracker: a
// header (application, buffer bounds, initial sequence numbers), then
// operations of 5 bytes: direction and flags, sequence offset (2 bytes, or
// a far jump), length, and what to send (the stream's bytes, garbled
// bytes, a snapshot-length cut, or a pause of minutes). Whatever the
// order, overlaps and flags, nothing may panic, the stored segments must
// stay sorted, apart, ahead of the position and within the bounds, the
// parsers must never be handed as a length bytes they want to read, and
// nothing may stay stored once the flow has ended.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte("\x00\x00\xff\xff\xff\xf0\x00\x00\x10\x00" + "\x00\x00\x00\x30\x00" + "\x01\x00\x00\xff\x00" + "\x01\x02\x00\xff\x00" + "\x01\x01\x00\xff\x00"))
	f.Add([]byte("\x01\x11\x00\x00\x00\x00\x00\x00\x00\x00" + "\x00\x00\x00\xff\x00" + "\x01\x00\x00\xff\x00" + "\x01\x04\x00\xff\x00" + "\x01\x08\x00\xff\x01" + "\x05\x02\x00\x40\x00"))
	f.Add([]byte("\x02\x00\x00\x00\x00\x01\x00\x00\x00\x02" + "\x00\x00\x00\x20\x00" + "\x01\x00\x10\x20\x00" + "\x01\x00\x00\x10\x03" + "\x01\x00\x00\x20\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 10 {
			return
		}
		app := int(b[0]) % 3
		cfg := Config{MaxPagesPerConn: 1 + int(b[1]&7), MaxPagesTotal: 1 + int(b[1]>>3)}
		isn := [2]uint32{binary.BigEndian.Uint32(b[2:]), binary.BigEndian.Uint32(b[6:])}
		pl := newPlayerPort(cfg, isn, [3]uint16{80, 443, 53}[app])
		streams := fuzzStreams[app]
		for b = b[10:]; len(b) >= 5; b = b[5:] {
			dir := flows.Dir(b[0] & 1)
			flags := [8]uint8{0, 0, 0, 0, flows.FlagFIN, flows.FlagRST, flows.FlagSYN, flows.FlagFIN | flows.FlagPSH}[b[0]>>1&7]
			off := uint32(binary.BigEndian.Uint16(b[1:]))
			if b[0]&0x10 != 0 {
				off = off<<16 | 0x8000_0000 // far away, past the wrap
			}
			n := int(b[3]) * 8
			s := seg{dir: dir, off: off, flags: flags}
			src := streams[dir]
			if int(off) < len(src) {
				s.data = src[off:min(len(src), int(off)+n)]
			} else {
				s.data = strings.Repeat("z", n)
			}
			switch b[4] & 3 {
			case 1: // different bytes
				g := []byte(s.data)
				for i := range g {
					g[i] ^= b[4]
				}
				s.data = string(g)
			case 2: // the snapshot length cut it
				s.wire = len(s.data)
				s.data = s.data[:len(s.data)/2]
			case 3:
				pl.now += int64(3 * time.Minute)
			}
			pl.send(s)
			checkInvariants(t, pl.t)
			if pl.t.skipMisses != 0 {
				t.Fatalf("%d bytes handed as a length to a parser that wanted to read them", pl.t.skipMisses)
			}
		}
		pl.end()
		if pl.t.pages != 0 || len(pl.t.active) != 0 || pl.t.skipMisses != 0 {
			t.Fatalf("after the end: %d pages stored, %d connections active, %d skip misses", pl.t.pages, len(pl.t.active), pl.t.skipMisses)
		}
	})
}

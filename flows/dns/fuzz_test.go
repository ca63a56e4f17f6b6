package dns

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var genSeeds = flag.Bool("genseeds", false, "rewrite the fuzz seed corpora in testdata/fuzz from the test builders")

func checkMessage(t *testing.T, m *Message) {
	for i := 0; i < len(m.QName); i++ {
		if c := m.QName[i]; c < 0x21 || c > 0x7e {
			t.Fatalf("raw byte %#x in qname %q", c, m.QName)
		}
	}
	if len(m.QName) > 4*maxNameWire {
		t.Fatalf("qname too long: %d", len(m.QName))
	}
	if len(m.Answers) > MaxAnswers || m.AnswerRRs > int(m.ANCount) {
		t.Fatalf("answers %d/%d of %d", len(m.Answers), m.AnswerRRs, m.ANCount)
	}
	if m.Rcode < 0 || m.Rcode > 0xfff || m.Rcode&0xf != int(m.HeaderRcode) {
		t.Fatalf("rcode %d header %d", m.Rcode, m.HeaderRcode)
	}
	for _, rr := range m.Answers {
		for i := 0; i < len(rr.Target); i++ {
			if c := rr.Target[i]; c < 0x21 || c > 0x7e {
				t.Fatalf("raw byte in target %q", rr.Target)
			}
		}
	}
}

func FuzzDNSMessage(f *testing.F) {
	tr := NewTracker(TrackerConfig{MaxPending: 64}, func(*Transaction[int]) {})
	var m Message
	var ts int64
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = m.Unpack(b)
		checkMessage(t, &m)
		ts += 1e6
		tr.Add(int(ts/1e6)%3, ts, &m)
		if ts%(50*1e6) == 0 {
			tr.Expire(ts)
		}
		if st := tr.Stats(); st.Pending > 64 {
			t.Fatalf("pending %d", st.Pending)
		}
	})
}

// FuzzDNSTCP reads its input as a stream cut into segments: each segment is
// a length byte then that many bytes; a length byte of 0xff means a gap of
// the next byte's value.
func FuzzDNSTCP(f *testing.F) {
	var m Message
	f.Fuzz(func(t *testing.T, b []byte) {
		s := TCPStream{MaxMessage: int(len(b) % 700)}
		for len(b) > 0 {
			n := int(b[0])
			b = b[1:]
			if n == 0xff && len(b) > 0 {
				s.Gap(int(b[0]))
				b = b[1:]
				continue
			}
			n = min(n, len(b))
			s.Feed(b[:n])
			b = b[n:]
			for msg, ok := s.Next(); ok; msg, ok = s.Next() {
				if s.MaxMessage > 0 && len(msg) > s.MaxMessage {
					t.Fatalf("message of %d > max %d", len(msg), s.MaxMessage)
				}
				_ = m.Unpack(msg)
				checkMessage(t, &m)
			}
			if s.Buffered() > 2+0xffff {
				t.Fatalf("buffered %d", s.Buffered())
			}
		}
	})
}

// tcpSegments writes a stream in FuzzDNSTCP's format, cut every step bytes.
func tcpSegments(stream []byte, step int) []byte {
	var out []byte
	for i := 0; i < len(stream); i += step {
		seg := stream[i:min(i+step, len(stream))]
		out = append(out, byte(len(seg)))
		out = append(out, seg...)
	}
	return out
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*genSeeds {
		t.Skip("run with -genseeds to rewrite testdata/fuzz")
	}
	loop := append(newMsg(hdr{qd: 1}).bytes(), 0xc0, 12, 0, 1, 0, 1)
	trunc := sampleResponse()
	trunc = trunc[:len(trunc)-9]
	write(t, "FuzzDNSMessage", map[string][]byte{
		"query":      sampleQuery(1, "www.example.com", TypeAAAA),
		"response":   sampleResponse(),
		"badcookie":  sampleBadCookie(),
		"nxdomain":   sampleNXDomain(),
		"loop":       loop,
		"truncated":  trunc,
		"escapes":    newMsg(hdr{qd: 1}).rawName("a.b", "c d\x00", "\\").u16(1).u16(1).bytes(),
		"shortflags": {0xbe, 0xef, 0x81, 0x83},
	})
	stream := tcpFrame(sampleQuery(1, "a.example", TypeA), sampleResponse(), sampleNXDomain())
	gapped := tcpSegments(stream[:40], 40)
	gapped = append(gapped, 0xff, 20)
	gapped = append(gapped, tcpSegments(stream[60:], 100)...)
	len0 := binary.BigEndian.AppendUint16(nil, 0)
	write(t, "FuzzDNSTCP", map[string][]byte{
		"whole":    tcpSegments(stream, len(stream)),
		"bytes":    tcpSegments(stream, 1),
		"odd":      tcpSegments(stream, 7),
		"gap":      gapped,
		"empty":    tcpSegments(append(len0, stream...), 5),
		"boundary": append(tcpSegments(stream[:len(sampleQuery(1, "a.example", TypeA))+2], 200), 0xff, 3),
	})
}

// write stores seeds in the file format of `go test -fuzz`.
func write(t *testing.T, name string, seeds map[string][]byte) {
	dir := filepath.Join("testdata", "fuzz", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", v)
		if err := os.WriteFile(filepath.Join(dir, "seed-"+k), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

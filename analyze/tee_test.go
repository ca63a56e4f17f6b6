package analyze

import (
	"path/filepath"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

// endSink counts records, and the flows it had when the input ended.
type endSink struct {
	flows, dns, http, tls int
	ended                 int // InputEnded calls
	flowsAtEnd            int
}

func (s *endSink) Flow(*flows.Record) error     { s.flows++; return nil }
func (s *endSink) DNS(*flows.DNSRecord) error   { s.dns++; return nil }
func (s *endSink) HTTP(*flows.HTTPRecord) error { s.http++; return nil }
func (s *endSink) TLS(*flows.TLSRecord) error   { s.tls++; return nil }
func (s *endSink) InputEnded()                  { s.ended++; s.flowsAtEnd = s.flows }

// plainSink is a Sink that is not an InputEnder.
type plainSink struct{ n int }

func (s *plainSink) Flow(*flows.Record) error     { s.n++; return nil }
func (s *plainSink) DNS(*flows.DNSRecord) error   { return nil }
func (s *plainSink) HTTP(*flows.HTTPRecord) error { return nil }
func (s *plainSink) TLS(*flows.TLSRecord) error   { return nil }

// TestInputEnded: Run tells an InputEnder once, after the last packet and
// before the flows still open are handed over (in a short capture, every
// flow comes after), directly and through Tee, and a Tee passes records to
// a sink that is not one as before.
func TestInputEnded(t *testing.T) {
	path := filepath.Join("..", "testdata", "captures", "demo.pcapng")
	direct := &endSink{}
	if _, err := Run(Config{Inputs: []string{path}}, direct); err != nil {
		t.Fatal(err)
	}
	if direct.ended != 1 || direct.flows == 0 || direct.flowsAtEnd != 0 {
		t.Errorf("direct: InputEnded %d times, after %d of %d flows; want once, before all", direct.ended, direct.flowsAtEnd, direct.flows)
	}
	a, b, plain := &endSink{}, &endSink{}, &plainSink{}
	if _, err := Run(Config{Inputs: []string{path}}, Tee(a, plain, Tee(b))); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*endSink{a, b} {
		if s.ended != 1 || s.flows != direct.flows || s.flowsAtEnd != 0 {
			t.Errorf("through Tee: InputEnded %d times, after %d of %d flows", s.ended, s.flowsAtEnd, s.flows)
		}
	}
	if plain.n != direct.flows {
		t.Errorf("plain sink got %d flows, want %d", plain.n, direct.flows)
	}
}

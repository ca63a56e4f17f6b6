package analyze

import (
	"path/filepath"
	"testing"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/run"
)

// countSink counts records.
type countSink struct{ flows, dns, http, tls int }

func (s *countSink) Flow(*flows.Record) error     { s.flows++; return nil }
func (s *countSink) DNS(*flows.DNSRecord) error   { s.dns++; return nil }
func (s *countSink) HTTP(*flows.HTTPRecord) error { s.http++; return nil }
func (s *countSink) TLS(*flows.TLSRecord) error   { s.tls++; return nil }

// TestTee: every sink of a Tee, nested or not, gets every record once.
func TestTee(t *testing.T) {
	path := filepath.Join("..", "testdata", "captures", "demo.pcapng")
	direct := &countSink{}
	if _, err := Run(Config{Inputs: []string{path}}, direct); err != nil {
		t.Fatal(err)
	}
	if direct.flows == 0 || direct.dns == 0 || direct.http == 0 || direct.tls == 0 {
		t.Fatalf("demo: %+v", direct)
	}
	a, b := &countSink{}, &countSink{}
	if _, err := Run(Config{Inputs: []string{path}}, run.Tee(a, nil, run.Tee(b))); err != nil {
		t.Fatal(err)
	}
	if *a != *direct || *b != *direct {
		t.Errorf("through Tee: %+v and %+v, want %+v", *a, *b, *direct)
	}
}

package dns

import (
	"testing"
)

func BenchmarkUnpackResponse(b *testing.B) {
	msg := sampleResponse()
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if err := m.Unpack(msg); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkTCPStream(b *testing.B) {
	stream := tcpFrame(sampleQuery(1, "a.example", TypeA), sampleResponse(), sampleNXDomain())
	var s TCPStream
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		// Two segments, the cut inside the second message.
		s.Feed(stream[:60])
		for _, ok := s.Next(); ok; _, ok = s.Next() {
		}
		s.Feed(stream[60:])
		for _, ok := s.Next(); ok; _, ok = s.Next() {
		}
	}
}

// BenchmarkTracker parses a query and its response and pairs them: the
// whole per-transaction cost of the DNS path.
func BenchmarkTracker(b *testing.B) {
	q, r := sampleQuery(0x1234, "www.example.com", TypeA), sampleResponse()
	n := 0
	tr := NewTracker(TrackerConfig{}, func(tx *Transaction[uint64]) { n++ })
	var m Message
	b.ReportAllocs()
	b.SetBytes(int64(len(q) + len(r)))
	ts := int64(0)
	for b.Loop() {
		ts += 1000
		_ = m.Unpack(q)
		tr.Add(1, ts, &m)
		_ = m.Unpack(r)
		tr.Add(1, ts+500, &m)
	}
	if n != b.N {
		b.Fatalf("%d transactions for %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

package tls

import "testing"

// modernClientHello is a current Chrome-sized ClientHello: the JA4 example
// lists plus an X25519MLKEM768 key share (1216 bytes), about 1.8 KB.
func modernClientHello() []byte {
	s := chromeLike("www.example.com")
	for i, e := range s.exts {
		if e.typ == ExtKeyShare {
			ks := append(u16list(0x11ec, 1216), make([]byte, 1216)...)
			ks = append(ks, append(u16list(0x001d, 32), make([]byte, 32)...)...)
			s.exts[i].data = vec16(ks)
		}
	}
	return clientHelloRecord(s)
}

// BenchmarkClientHello parses a whole ClientHello handed over in one Feed
// (the common case: it fits in one segment), fingerprints included.
func BenchmarkClientHello(b *testing.B) {
	rec := modernClientHello()
	p := NewParser()
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		p.Reset()
		p.Feed(rec, 1)
	}
	if len(p.Result().ClientHellos) != 1 {
		b.Fatal("no hello")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hellos/s")
}

// BenchmarkClientHelloSegmented: the same hello over three TCP segments
// (buffered path).
func BenchmarkClientHelloSegmented(b *testing.B) {
	rec := modernClientHello()
	p := NewParser()
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		p.Reset()
		p.Feed(rec[:700], 1)
		p.Feed(rec[700:1400], 1)
		p.Feed(rec[1400:], 1)
	}
	if len(p.Result().ClientHellos) != 1 {
		b.Fatal("no hello")
	}
}

// BenchmarkAfterHandshake feeds application data in 1448-byte segments
// once the handshake is over: no allocation, a few ns per segment.
func BenchmarkAfterHandshake(b *testing.B) {
	p := NewParser()
	p.Feed(modernClientHello(), 1)
	p.Feed(ccsRecord(VersionTLS12), 2)
	var stream []byte
	for len(stream) < 1<<20 {
		stream = append(stream, appDataRecord(16384+17)...)
	}
	const mss = 1448
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	segs := 0
	for b.Loop() {
		for off := 0; off < len(stream); off += mss {
			p.Feed(stream[off:min(off+mss, len(stream))], 3)
			segs++
		}
	}
	if p.Stopped() {
		b.Fatal("stopped")
	}
	b.ReportMetric(float64(segs)/b.Elapsed().Seconds(), "segments/s")
}

package http

import (
	"strings"
	"testing"
)

const (
	benchReq = "GET /static/app.js?v=3 HTTP/1.1\r\nHost: www.example.com\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Referer: https://www.example.com/\r\nConnection: keep-alive\r\nCookie: session=0123456789abcdef\r\n\r\n"
	benchRespHead = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
		"Content-Type: application/javascript\r\nContent-Length: 4000\r\nConnection: keep-alive\r\n" +
		"Cache-Control: max-age=3600\r\nETag: \"abc123\"\r\n\r\n"
)

// BenchmarkExchange parses a typical keep-alive exchange: the request in
// one segment, the response head with the start of its body in the first
// segment and the rest of the 4000-byte body in three more.
func BenchmarkExchange(b *testing.B) {
	body := strings.Repeat("x", 4000)
	first := []byte(benchRespHead + body[:1000])
	rest := []byte(body[1000:2000])
	req := []byte(benchReq)
	n := 0
	c := NewConn(Config{}, func(tx *Transaction) {
		if tx.Status == 200 && tx.Complete {
			n++
		}
	})
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(benchRespHead) + len(body)))
	ts := int64(0)
	for b.Loop() {
		ts += 1000
		c.ClientData(req, ts)
		c.ServerData(first, ts+10)
		c.ServerData(rest, ts+11)
		c.ServerData(rest, ts+12)
		c.ServerData(rest, ts+13)
	}
	if n != b.N {
		b.Fatalf("%d transactions for %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkExchangeSplitHead is the same with both heads split across
// segments, so they are buffered.
func BenchmarkExchangeSplitHead(b *testing.B) {
	req := []byte(benchReq)
	resp := []byte(benchRespHead + strings.Repeat("x", 4000))
	n := 0
	c := NewConn(Config{}, func(tx *Transaction) { n++ })
	b.ReportAllocs()
	b.SetBytes(int64(len(req) + len(resp)))
	ts := int64(0)
	for b.Loop() {
		ts += 1000
		c.ClientData(req[:100], ts)
		c.ClientData(req[100:], ts)
		c.ServerData(resp[:50], ts+10)
		c.ServerData(resp[50:], ts+11)
	}
	if n != b.N {
		b.Fatalf("%d transactions for %d", n, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
}

// BenchmarkChunked parses a chunked response of 64 chunks of 1 KiB.
func BenchmarkChunked(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := strings.Repeat("y", 1024)
	for range 64 {
		sb.WriteString("400\r\n" + chunk + "\r\n")
	}
	sb.WriteString("0\r\n\r\n")
	resp := []byte(sb.String())
	req := []byte(benchReq)
	c := NewConn(Config{}, func(tx *Transaction) {})
	b.ReportAllocs()
	b.SetBytes(int64(len(resp)))
	for b.Loop() {
		c.ClientData(req, 1)
		for i := 0; i < len(resp); i += 1448 {
			c.ServerData(resp[i:min(i+1448, len(resp))], 2)
		}
	}
}

// BenchmarkNewConnExchange is one exchange per connection (the common case
// of short connections): setup included.
func BenchmarkNewConnExchange(b *testing.B) {
	req := []byte(benchReq)
	resp := []byte(benchRespHead + strings.Repeat("x", 4000))
	b.ReportAllocs()
	var c Conn
	emit := func(tx *Transaction) {}
	for b.Loop() {
		c.Reset(Config{}, emit)
		c.ClientData(req, 1)
		c.ServerData(resp, 2)
		c.Close()
	}
}

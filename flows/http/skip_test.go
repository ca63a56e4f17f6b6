package http

import (
	"strings"
	"testing"
)

// TestSkipCountsAsData: bytes a reassembler hands over by length
// (ServerSkip, ClientSkip) within what Skippable allowed give the same
// transactions as the bytes themselves; states that read their next bytes
// allow none.
func TestSkipCountsAsData(t *testing.T) {
	body := strings.Repeat("x", 1000)
	post := "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\n"
	fixed := "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n"
	for _, tc := range []struct {
		name          string
		client, head  string
		server        bool
		wantSkippable int64
		tail          string // after the body
	}{
		{name: "request body", client: post, head: post, wantSkippable: 1000, tail: "GET /b HTTP/1.1\r\n\r\n"},
		{name: "content-length body", client: "GET / HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", head: fixed, server: true, wantSkippable: 1000, tail: "HTTP/1.1 204 No Content\r\n\r\n"},
		{name: "chunk", client: "GET / HTTP/1.1\r\n\r\n", head: chunked, server: true, wantSkippable: 1000, tail: "\r\n0\r\n\r\n"},
		{name: "until close", client: "GET / HTTP/1.1\r\n\r\n", head: "HTTP/1.0 200 OK\r\n\r\n", server: true, wantSkippable: noRead},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var whole, skipped []Transaction
			a := NewConn(Config{}, func(tx *Transaction) { whole = append(whole, *tx) })
			b := NewConn(Config{}, func(tx *Transaction) { skipped = append(skipped, *tx) })
			feed, skip, skippable := (*Conn).ClientData, (*Conn).ClientSkip, (*Conn).ClientSkippable
			if tc.server {
				feed, skip, skippable = (*Conn).ServerData, (*Conn).ServerSkip, (*Conn).ServerSkippable
				for _, c := range []*Conn{a, b} {
					c.ClientData([]byte(tc.client), 1)
				}
			}
			for _, c := range []*Conn{a, b} {
				if got := skippable(c); got != 0 {
					t.Fatalf("skippable %d before the head", got)
				}
				feed(c, []byte(tc.head), 2)
			}
			if got := skippable(b); got != tc.wantSkippable {
				t.Fatalf("skippable %d after the head, want %d", got, tc.wantSkippable)
			}
			feed(a, []byte(body[:400]), 3)
			feed(a, []byte(body[400:]), 4)
			skip(b, 400, 3)
			skip(b, 600, 4)
			for _, c := range []*Conn{a, b} {
				feed(c, []byte(tc.tail), 5)
				c.Close()
			}
			if len(whole) == 0 || len(whole) != len(skipped) {
				t.Fatalf("%d transactions with the bytes, %d skipped", len(whole), len(skipped))
			}
			for i := range whole {
				if whole[i] != skipped[i] {
					t.Errorf("transaction %d:\n%+v\nskipped:\n%+v", i, whole[i], skipped[i])
				}
			}
			if a.Stats() != b.Stats() {
				t.Errorf("stats %+v, skipped %+v", a.Stats(), b.Stats())
			}
		})
	}
}

// TestSkipPastSkippableIsAGap: bytes handed over by length beyond what the
// parser would only count are lost bytes to it.
func TestSkipPastSkippableIsAGap(t *testing.T) {
	var out []Transaction
	c := NewConn(Config{}, func(tx *Transaction) { out = append(out, *tx) })
	c.ClientData([]byte("GET / HTTP/1.1\r\n\r\n"), 1)
	c.ServerData([]byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"), 2)
	c.ServerSkip(30, 3)
	c.Close()
	if len(out) != 1 || !out[0].Complete || out[0].Gap || out[0].ResponseBytes != 10 || c.Stats().Gaps != 1 || c.Stats().LostSync != 1 {
		t.Errorf("transactions %+v stats %+v; want the response complete (and whole) at 10 bytes, then a gap that loses framing", out, c.Stats())
	}
}

// TestConnectWaitNotSkippable: a client waiting for the answer to CONNECT
// drops bytes but reads them again after a refusal, so they are not
// skippable.
func TestConnectWaitNotSkippable(t *testing.T) {
	c := NewConn(Config{}, nil)
	c.ClientData([]byte("CONNECT h:443 HTTP/1.1\r\n\r\n"), 1)
	if n := c.ClientSkippable(); n != 0 {
		t.Errorf("skippable %d while waiting for the CONNECT answer", n)
	}
}

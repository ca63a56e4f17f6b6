package http

import (
	"strings"
	"testing"
)

// step is one thing that happens on a connection in a test script.
type step struct {
	dir  byte // 'c' client data, 's' server data, 'C' client gap, 'S' server gap, 'x' close
	data string
	gap  int
}

func C(s string) step { return step{dir: 'c', data: s} }
func S(s string) step { return step{dir: 's', data: s} }
func CG(n int) step   { return step{dir: 'C', gap: n} }
func SG(n int) step   { return step{dir: 'S', gap: n} }

var closeConn = step{dir: 'x'}

const ms = int64(1e6)

// run plays steps at 1 ms intervals (step i at (i+1) ms).
func run(cfg Config, steps ...step) ([]Transaction, *Conn) {
	var out []Transaction
	c := NewConn(cfg, func(tx *Transaction) { out = append(out, *tx) })
	for i, st := range steps {
		ts := int64(i+1) * ms
		switch st.dir {
		case 'c':
			c.ClientData([]byte(st.data), ts)
		case 's':
			c.ServerData([]byte(st.data), ts)
		case 'C':
			c.ClientGap(st.gap)
		case 'S':
			c.ServerGap(st.gap)
		case 'x':
			c.Close()
		}
	}
	return out, c
}

// want lists the fields a test checks; zero values are checked too.
type want struct {
	method, target string
	status         int
	respBytes      int64
	reqBytes       int64
	complete       bool
	flags          string // letters: R NoRequest, N NoResponse, G Gap, O HeaderOverflow, B BadFraming, U Upgraded, K Capped, V Overflow
	info           int
}

func flags(tx *Transaction) string {
	var b strings.Builder
	for _, f := range []struct {
		on bool
		c  byte
	}{{tx.NoRequest, 'R'}, {tx.NoResponse, 'N'}, {tx.Gap, 'G'}, {tx.HeaderOverflow, 'O'}, {tx.BadFraming, 'B'},
		{tx.Upgraded, 'U'}, {tx.Capped, 'K'}, {tx.Overflow, 'V'}} {
		if f.on {
			b.WriteByte(f.c)
		}
	}
	return b.String()
}

func check(t *testing.T, got []Transaction, wants ...want) {
	t.Helper()
	if len(got) != len(wants) {
		for _, tx := range got {
			t.Logf("got %s %q %d resp=%d req=%d complete=%v flags=%s", tx.Method, tx.Target, tx.Status, tx.ResponseBytes, tx.RequestBodyBytes, tx.Complete, flags(&tx))
		}
		t.Fatalf("%d transactions, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		tx := &got[i]
		g := want{tx.Method, tx.Target, tx.Status, tx.ResponseBytes, tx.RequestBodyBytes, tx.Complete, flags(tx), tx.Informational}
		if g != w {
			t.Errorf("tx %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

const (
	get1 = "GET /a HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n\r\n"
	get2 = "GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n"
	ok5  = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
)

func TestKeepAlive(t *testing.T) {
	got, c := run(Config{}, C(get1), S(ok5), C(get2), S("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"), closeConn)
	check(t, got,
		want{"GET", "/a", 200, 5, 0, true, "", 0},
		want{"GET", "/b", 404, 3, 0, true, "", 0})
	tx := got[0]
	if tx.Host != "example.com" || tx.UserAgent != "curl/8.0" || tx.HTTPVersion != "HTTP/1.1" || tx.Reason != "OK" ||
		tx.ContentType != "text/plain" || tx.RequestTime != 1*ms || tx.FirstResponseByteTime != 2*ms ||
		tx.ResponseDoneTime != 2*ms || tx.TTFB() != 1*ms {
		t.Errorf("fields: %+v", tx)
	}
	if st := c.Stats(); st.Requests != 2 || st.Responses != 2 || st.LostSync != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPipelined(t *testing.T) {
	reqs := get1 + "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n" + "POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd" + get2
	resps := ok5 +
		"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + // HEAD: no body despite the length
		"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n" // 204 has no body whatever it says
	got, _ := run(Config{}, C(reqs), S(resps), closeConn)
	check(t, got,
		want{"GET", "/a", 200, 5, 0, true, "", 0},
		want{"HEAD", "/h", 200, 0, 0, true, "", 0},
		want{"POST", "/p", 201, 3, 4, true, "", 0},
		want{"GET", "/b", 204, 0, 0, true, "", 0})
}

func TestChunkedExtensionsTrailers(t *testing.T) {
	resp := "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
		"5;name=value;other=\"q\"\r\nhello\r\n" +
		"1A\r\n" + strings.Repeat("z", 26) + "\r\n" +
		"0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
	got, _ := run(Config{}, C(get1), S(resp), C(get2), S(ok5), closeConn)
	check(t, got,
		want{"GET", "/a", 200, 31, 0, true, "", 0},
		want{"GET", "/b", 200, 5, 0, true, "", 0})
	// A chunked request body.
	req := "POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"
	got, _ = run(Config{}, C(req), S(ok5), closeConn)
	check(t, got, want{"POST", "/up", 200, 5, 4, true, "", 0})
}

// TestSplitEverywhere feeds a whole exchange byte by byte, then in every
// two-way cut, and expects the same transactions as in one piece.
func TestSplitEverywhere(t *testing.T) {
	reqs := "POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd" + get2
	resps := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n" + ok5
	wants := []want{{"POST", "/p", 200, 5, 4, true, "", 0}, {"GET", "/b", 200, 5, 0, true, "", 0}}
	var steps []step
	for i := range reqs {
		steps = append(steps, C(reqs[i:i+1]))
	}
	for i := range resps {
		steps = append(steps, S(resps[i:i+1]))
	}
	got, _ := run(Config{}, append(steps, closeConn)...)
	check(t, got, wants...)
	for cut := 1; cut < len(resps); cut++ {
		got, _ := run(Config{}, C(reqs[:cut%len(reqs)]), C(reqs[cut%len(reqs):]), S(resps[:cut]), S(resps[cut:]), closeConn)
		check(t, got, wants...)
	}
}

func TestContinue(t *testing.T) {
	got, _ := run(Config{},
		C("POST /upload HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n"),
		S("HTTP/1.1 100 Continue\r\n\r\n"),
		C("0123456789"),
		S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
		closeConn)
	check(t, got, want{"POST", "/upload", 200, 2, 10, true, "", 1})
	if tx := got[0]; tx.InformationalTime != 2*ms || tx.FirstResponseByteTime != 4*ms || tx.RequestDoneTime != 3*ms {
		t.Errorf("times: %+v", tx)
	}
	// 103 Early Hints then the answer, in one segment.
	got, _ = run(Config{}, C(get1), S("HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"+ok5))
	check(t, got, want{"GET", "/a", 200, 5, 0, true, "", 1})
}

func TestNoBodyStatuses(t *testing.T) {
	got, _ := run(Config{},
		C(get1+get2+get1),
		S("HTTP/1.1 304 Not Modified\r\nContent-Length: 500\r\nETag: x\r\n\r\n"),
		S("HTTP/1.1 204 No Content\r\n\r\n"),
		S(ok5), closeConn)
	check(t, got,
		want{"GET", "/a", 304, 0, 0, true, "", 0},
		want{"GET", "/b", 204, 0, 0, true, "", 0},
		want{"GET", "/a", 200, 5, 0, true, "", 0})
}

func TestReadUntilClose(t *testing.T) {
	got, _ := run(Config{},
		C("GET /old HTTP/1.0\r\n\r\n"),
		S("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>"),
		S(strings.Repeat("x", 1000)),
		S("</html>"),
		closeConn)
	check(t, got, want{"GET", "/old", 200, 1013, 0, true, "", 0})
	if got[0].ConnectionClose {
		t.Error("no Connection: close was sent")
	}
	if got[0].ResponseDoneTime != 4*ms {
		t.Errorf("done at %d", got[0].ResponseDoneTime)
	}
	// Transfer-Encoding without chunked last is read until close too.
	got, _ = run(Config{}, C(get1), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc"), closeConn)
	check(t, got, want{"GET", "/a", 200, 3, 0, true, "", 0})
}

func TestGaps(t *testing.T) {
	// A gap inside a Content-Length body: counted, still in step.
	got, c := run(Config{},
		C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789"), SG(80), S("0123456789"),
		C(get2), S(ok5), closeConn)
	check(t, got,
		want{"GET", "/a", 200, 100, 0, true, "G", 0},
		want{"GET", "/b", 200, 5, 0, true, "", 0})
	if st := c.Stats(); st.LostSync != 0 || st.Gaps != 1 {
		t.Errorf("stats %+v", st)
	}
	// A gap inside a chunk: counted, still in step.
	got, _ = run(Config{},
		C(get1), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123"), SG(10), S("45\r\n0\r\n\r\n"),
		C(get2), S(ok5), closeConn)
	check(t, got,
		want{"GET", "/a", 200, 16, 0, true, "G", 0},
		want{"GET", "/b", 200, 5, 0, true, "", 0})
	// A gap running past the end of the body swallows the next head:
	// framing lost; the next response found again is paired with the
	// request sent after the loss.
	got, c = run(Config{},
		C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234"), C(get2), SG(30), S("rest of a lost head\r\n\r\nbody"),
		C("GET /c HTTP/1.1\r\n\r\n"), S(ok5), closeConn)
	check(t, got,
		want{"GET", "/a", 200, 5, 0, false, "G", 0},
		want{"GET", "/b", 0, 0, 0, false, "NG", 0},
		want{"GET", "/c", 200, 5, 0, true, "", 0})
	if st := c.Stats(); st.LostSync != 1 || st.Resyncs != 1 {
		t.Errorf("stats %+v", st)
	}
	// A gap in a read-until-close body is absorbed.
	got, _ = run(Config{}, C(get1), S("HTTP/1.0 200 OK\r\n\r\nabc"), SG(1000), S("def"), closeConn)
	check(t, got, want{"GET", "/a", 200, 1006, 0, true, "G", 0})
	// A client gap inside a request head: the request line and the fields
	// before the gap are kept; the requests after it are marked Gap
	// because their pairing is unsure.
	got, _ = run(Config{}, C("GET /lost HTTP/1.1\r\nHo"), CG(20), C("x: 1\r\n\r\n"+get2), S("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), closeConn)
	check(t, got,
		want{"GET", "/lost", 500, 0, 0, true, "G", 0},
		want{"GET", "/b", 0, 0, 0, false, "NG", 0})
}

func TestUpgradeAndConnect(t *testing.T) {
	got, c := run(Config{},
		C("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
		S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
		C("\x81\x85garbage that is not http"), S("HTTP/1.1 200 OK\r\n\r\n"), closeConn)
	check(t, got, want{"GET", "/chat", 101, 0, 0, true, "U", 0})
	if !c.Stats().Tunnel {
		t.Error("no tunnel")
	}
	got, _ = run(Config{},
		C("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
		S("HTTP/1.1 200 Connection established\r\n\r\n"),
		C("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), S("\x16\x03\x03\x00\x5a"), closeConn)
	check(t, got, want{"CONNECT", "example.com:443", 200, 0, 0, true, "U", 0})
	// CONNECT refused: back to HTTP.
	got, _ = run(Config{},
		C("CONNECT example.com:443 HTTP/1.1\r\n\r\n"),
		S("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"),
		C(get1), S(ok5), closeConn)
	check(t, got,
		want{"CONNECT", "example.com:443", 407, 0, 0, true, "", 0},
		want{"GET", "/a", 200, 5, 0, true, "", 0})
}

func TestHostileLengths(t *testing.T) {
	for _, cl := range []string{"-1", "99999999999999999999999", "12abc", "5, 6", "0x10", ""} {
		got, _ := run(Config{}, C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: "+cl+"\r\n\r\nbody"), closeConn)
		check(t, got, want{"GET", "/a", 200, 4, 0, true, "B", 0})
	}
	// Two fields with the same value are fine; a list of equal values too.
	got, _ := run(Config{}, C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5, 5\r\n\r\nhello"), C(get2), S(ok5), closeConn)
	check(t, got, want{"GET", "/a", 200, 5, 0, true, "", 0}, want{"GET", "/b", 200, 5, 0, true, "", 0})
	// A request with a bad length loses the client's framing.
	got, _ = run(Config{}, C("POST /x HTTP/1.1\r\nContent-Length: -5\r\n\r\nabc"), S("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"), closeConn)
	check(t, got, want{"POST", "/x", 400, 0, 0, true, "GB", 0})
	if !got[0].ConnectionClose {
		t.Error("Connection: close not seen")
	}
	// A huge chunk size.
	got, _ = run(Config{}, C(get1), S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc"), closeConn)
	check(t, got, want{"GET", "/a", 200, 0, 0, false, "GB", 0})
	// A huge but valid Content-Length: counted, never allocated.
	got, _ = run(Config{}, C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: 999999999999999999\r\n\r\nabc"), closeConn)
	check(t, got, want{"GET", "/a", 200, 3, 0, false, "", 0})
}

func TestHostileStrings(t *testing.T) {
	target := "/" + strings.Repeat("a", 10000)
	host := strings.Repeat("h", 300)
	ua := strings.Repeat("u", 2000) + "\x00\xff<script>"
	got, _ := run(Config{}, C("GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\nUser-Agent: "+ua+"\r\n\r\n"), S(ok5), closeConn)
	check(t, got, want{"GET", target[:MaxTarget], 200, 5, 0, true, "K", 0})
	if tx := got[0]; len(tx.Host) != MaxHost || len(tx.UserAgent) != MaxUserAgent {
		t.Errorf("caps: %d %d", len(tx.Host), len(tx.UserAgent))
	}
	// Raw bytes are kept as they are (below the caps).
	got, _ = run(Config{}, C("GET /\x01\xfe HTTP/1.1\r\nHost: <b>\r\n\r\n"), S(ok5), closeConn)
	if got[0].Target != "/\x01\xfe" || got[0].Host != "<b>" {
		t.Errorf("raw: %q %q", got[0].Target, got[0].Host)
	}
}

func TestHeaderOverflow(t *testing.T) {
	big := "X-Big: " + strings.Repeat("b", 100<<10) + "\r\n"
	// Content-Length before the cap still frames the body.
	got, c := run(Config{}, C(get1),
		S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"+big[:30000]), S(big[30000:]+"\r\nhello"), C(get2), S(ok5), closeConn)
	check(t, got, want{"GET", "/a", 200, 5, 0, true, "O", 0}, want{"GET", "/b", 200, 5, 0, true, "", 0})
	if st := c.Stats(); st.HeaderOverflows != 1 {
		t.Errorf("stats %+v", st)
	}
	if n := cap(c.sv.hdr); n > 2*(64<<10) {
		t.Errorf("header buffer grew to %d", n)
	}
	// The same in one piece (no copy path).
	got, _ = run(Config{MaxHeaderBytes: 1024}, C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"+big+"\r\nhello"), closeConn)
	check(t, got, want{"GET", "/a", 200, 5, 0, true, "O", 0})
}

func TestMidstreamAndOrphans(t *testing.T) {
	// The capture starts inside a response body: skipped until the next
	// status line, which has no request (NoRequest); the request whose
	// body we join is not a loss.
	got, _ := run(Config{},
		S("tail of an earlier body\r\nmore\r\n"), C("ody bytes of an earlier upload\n"+get2),
		S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), closeConn)
	check(t, got,
		want{"GET", "/b", 200, 0, 0, true, "", 0},
		want{"", "", 200, 0, 0, true, "R", 0})
	// A request never answered.
	got, _ = run(Config{}, C(get1), C(get2), S(ok5), closeConn)
	check(t, got, want{"GET", "/a", 200, 5, 0, true, "", 0}, want{"GET", "/b", 0, 0, 0, false, "N", 0})
	// A response cut by the end of the capture.
	got, _ = run(Config{}, C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nabc"), closeConn)
	check(t, got, want{"GET", "/a", 200, 3, 0, false, "", 0})
	// Leading empty lines before a request and a response are ignored.
	got, _ = run(Config{}, C("\r\n\r\n"+get1), S("\r\n"+ok5), closeConn)
	check(t, got, want{"GET", "/a", 200, 5, 0, true, "", 0})
}

func TestNotHTTP(t *testing.T) {
	tls := "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + strings.Repeat("\x00\x01", 1000)
	got, c := run(Config{MaxResync: 1000}, C(tls), C(tls), S(tls), closeConn)
	if len(got) != 0 || c.Stats().GaveUp != 2 {
		t.Fatalf("%d txs, stats %+v", len(got), c.Stats())
	}
	if n := cap(c.cli.hdr) + cap(c.sv.hdr); n > 64 {
		t.Errorf("buffered %d bytes of garbage", n)
	}
	// HTTP/2 prior knowledge.
	got, _ = run(Config{}, C("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), S("\x00\x00\x12\x04\x00"), closeConn)
	if len(got) != 0 {
		t.Fatalf("h2: %d", len(got))
	}
}

func TestPendingBound(t *testing.T) {
	var reqs, resps strings.Builder
	for range 10 {
		reqs.WriteString(get2)
		resps.WriteString(ok5)
	}
	got, c := run(Config{MaxPending: 4}, C(reqs.String()), S(resps.String()), closeConn)
	if len(got) != 10 || c.Stats().Overflow != 6 {
		t.Fatalf("%d txs, stats %+v", len(got), c.Stats())
	}
	for i, tx := range got {
		if (i < 4) == tx.Overflow || tx.Status != 200 {
			t.Errorf("tx %d: %+v", i, tx)
		}
	}
	// Queue stays bounded when responses keep coming during an upload.
	steps := []step{C("POST /big HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n")}
	for range 100 {
		steps = append(steps, S(ok5))
	}
	got, c = run(Config{MaxPending: 4}, steps...)
	if len(c.q) > 5 || len(got) < 90 {
		t.Fatalf("queue %d, emitted %d", len(c.q), len(got))
	}
}

package http

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var genSeeds = flag.Bool("genseeds", false, "rewrite the fuzz seed corpus in testdata/fuzz from the test scripts")

// FuzzHTTP reads its input as a connection script: a config byte, then
// operations of a kind byte (low 2 bits: 0 client data, 1 server data,
// 2 client gap, 3 server gap) and a length byte, followed for data by that
// many bytes. It checks the bounds and, when neither run lost framing,
// that feeding every byte separately gives the same transactions as
// feeding each operation's bytes at once.
func FuzzHTTP(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		cfg := Config{MaxHeaderBytes: 64 + int(b[0]&0x3f)*16, MaxPending: 1 + int(b[0]>>6), MaxResync: 512}
		whole, st1 := playFuzz(t, cfg, b[1:], false)
		split, st2 := playFuzz(t, cfg, b[1:], true)
		// Handing over by length what Skippable allows (as the TCP
		// reassembler does with bytes it did not keep) changes nothing.
		skipped, st3 := playFuzzMode(t, cfg, b[1:], modeSkip)
		if len(whole) != len(skipped) || st1 != st3 {
			t.Fatalf("%d transactions (stats %+v) in one piece, %d (%+v) with skips", len(whole), st1, len(skipped), st3)
		}
		for i := range whole {
			if whole[i] != skipped[i] {
				t.Fatalf("transaction %d differs with skips:\n%+v\n%+v", i, whole[i], skipped[i])
			}
		}
		if st1.LostSync == 0 && st2.LostSync == 0 && st1.GaveUp == 0 && st2.GaveUp == 0 {
			if len(whole) != len(split) {
				t.Fatalf("%d transactions in one piece, %d byte by byte", len(whole), len(split))
			}
			for i := range whole {
				if whole[i] != split[i] {
					t.Fatalf("transaction %d differs:\n%+v\n%+v", i, whole[i], split[i])
				}
			}
		}
	})
}

// How playFuzzMode feeds data: as each operation's bytes, byte by byte,
// or with the bytes the parser only counts handed over by length.
const (
	modeWhole = iota
	modeBytes
	modeSkip
)

func playFuzz(t *testing.T, cfg Config, b []byte, byteByByte bool) ([]Transaction, Stats) {
	if byteByByte {
		return playFuzzMode(t, cfg, b, modeBytes)
	}
	return playFuzzMode(t, cfg, b, modeWhole)
}

func playFuzzMode(t *testing.T, cfg Config, b []byte, mode int) ([]Transaction, Stats) {
	var out []Transaction
	c := NewConn(cfg, func(tx *Transaction) {
		checkTx(t, tx)
		out = append(out, *tx)
	})
	ts := int64(0)
	for len(b) >= 2 {
		kind, l := b[0]&3, int(b[1])
		b = b[2:]
		ts += 1000
		switch kind {
		case 0, 1:
			l = min(l, len(b))
			feed, skip, skippable := c.ClientData, c.ClientSkip, c.ClientSkippable
			if kind == 1 {
				feed, skip, skippable = c.ServerData, c.ServerSkip, c.ServerSkippable
			}
			switch mode {
			case modeBytes:
				for i := range l {
					feed(b[i:i+1], ts)
				}
				if l == 0 {
					feed(b[:0], ts) // as the other modes: an empty feed still sets the time
				}
			case modeSkip:
				k := int(min(int64(l), skippable()))
				skip(int64(k), ts)
				if k < l || l == 0 {
					feed(b[k:l], ts) // (an empty feed still sets the time)
				}
			default:
				feed(b[:l], ts)
			}
			b = b[l:]
		case 2:
			c.ClientGap(l)
		case 3:
			c.ServerGap(l)
		}
		if len(c.q) > cfg.MaxPending+1 {
			t.Fatalf("queue %d > %d", len(c.q), cfg.MaxPending+1)
		}
		if len(c.cli.hdr) > cfg.MaxHeaderBytes || len(c.sv.hdr) > cfg.MaxHeaderBytes {
			t.Fatalf("header buffers %d %d > %d", len(c.cli.hdr), len(c.sv.hdr), cfg.MaxHeaderBytes)
		}
	}
	c.Close()
	if len(c.q) != 0 {
		t.Fatalf("%d left after Close", len(c.q))
	}
	return out, c.Stats()
}

func checkTx(t *testing.T, tx *Transaction) {
	if len(tx.Target) > MaxTarget || len(tx.Host) > MaxHost || len(tx.UserAgent) > MaxUserAgent ||
		len(tx.Reason) > MaxReason || len(tx.Method) > MaxMethod || len(tx.ContentType) > MaxContentType ||
		len(tx.HTTPVersion) > MaxVersion || len(tx.ResponseVersion) > MaxVersion {
		t.Fatalf("string over its cap: %+v", tx)
	}
	if tx.ResponseBytes < 0 || tx.RequestBodyBytes < 0 {
		t.Fatalf("negative byte count: %+v", tx)
	}
	if tx.Status != 0 && (tx.Status < 100 || tx.Status > 999) {
		t.Fatalf("status %d", tx.Status)
	}
	if tx.NoRequest && tx.Method != "" {
		t.Fatalf("NoRequest with a method: %+v", tx)
	}
	if tx.Complete && tx.Status == 0 {
		t.Fatalf("complete without a status: %+v", tx)
	}
}

// script encodes steps in FuzzHTTP's format, cutting data into pieces of
// at most step bytes.
func script(cfg byte, step int, steps ...step) []byte {
	out := []byte{cfg}
	for _, st := range steps {
		switch st.dir {
		case 'c', 's':
			kind := byte(0)
			if st.dir == 's' {
				kind = 1
			}
			d := st.data
			for len(d) > 0 {
				n := min(len(d), step, 255)
				out = append(out, kind, byte(n))
				out = append(out, d[:n]...)
				d = d[n:]
			}
		case 'C':
			out = append(out, 2, byte(st.gap))
		case 'S':
			out = append(out, 3, byte(st.gap))
		}
	}
	return out
}

func TestWriteFuzzSeeds(t *testing.T) {
	if !*genSeeds {
		t.Skip("run with -genseeds to rewrite testdata/fuzz")
	}
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nT: 1\r\n\r\n"
	seeds := map[string][]byte{
		"keepalive": script(0xff, 255, C(get1), S(ok5), C(get2), S(ok5)),
		"pipelined": script(0xff, 40, C(get1+"HEAD /h HTTP/1.1\r\n\r\n"+get2), S(ok5+"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"+chunked)),
		"chunked":   script(0xff, 3, C(get1), S(chunked)),
		"continue": script(0xff, 255, C("POST /u HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"),
			S("HTTP/1.1 100 Continue\r\n\r\n"), C("abc"), S("HTTP/1.1 204 No Content\r\n\r\n")),
		"untilclose": script(0xff, 255, C("GET / HTTP/1.0\r\n\r\n"), S("HTTP/1.0 200 OK\r\n\r\nbody"), SG(9), S("more")),
		"gaps":       script(0xff, 255, C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\nab"), SG(40), S("x\r\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), CG(3), C(get2)),
		"upgrade":    script(0xff, 255, C("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"), S("HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x00"), C("\x81\x80")),
		"badlength":  script(0x02, 255, C(get1), S("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nzz"), C("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n")),
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzHTTP")
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

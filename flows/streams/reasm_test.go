package streams

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

// seg is one TCP segment of a test script. off is the sequence offset
// from the sender's first payload byte (ISN+1).
type seg struct {
	dir   flows.Dir
	off   uint32
	data  string
	flags uint8 // beyond ACK: FlagFIN, FlagRST, FlagSYN
	wire  int   // payload length on the wire when the capture cut it (0: len(data))
	pause int   // not a segment: minutes of capture time pass
}

// player drives a Tracker with hand-made packets of one HTTP connection
// (client 192.0.2.1:40000, server 192.0.2.2:80), as the flow table would.
type player struct {
	t    *Tracker
	f    *flows.Flow
	isn  [2]uint32
	now  int64
	n    int64
	http []flows.HTTPRecord
}

func newPlayer(cfg Config, isn [2]uint32) *player { return newPlayerPort(cfg, isn, 80) }

func newPlayerPort(cfg Config, isn [2]uint32, port uint16) *player {
	pl := &player{isn: isn, now: 1_700_000_000e9}
	pl.t = New(cfg, Sinks{HTTP: func(r *flows.HTTPRecord) { pl.http = append(pl.http, *r) }})
	cli, srv := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	pl.f = &flows.Flow{
		Key:    flows.Key{A: cli.As16(), B: srv.As16(), APort: 40000, BPort: port, Proto: flows.ProtoTCP},
		Client: flows.Endpoint{Addr: cli, Port: 40000},
		Server: flows.Endpoint{Addr: srv, Port: port},
		First:  pl.now,
	}
	return pl
}

func (pl *player) send(s seg) {
	pl.now += 1e6
	pl.n++
	ep := [2]flows.Endpoint{pl.f.Client, pl.f.Server}
	p := flows.Packet{
		Timestamp: pl.now, Frame: pl.n, Kind: flows.KindTCP, Proto: flows.ProtoTCP,
		Src: ep[s.dir].Addr, Dst: ep[1-s.dir].Addr, SrcPort: ep[s.dir].Port, DstPort: ep[1-s.dir].Port,
		Seq: pl.isn[s.dir] + 1 + s.off, Ack: pl.isn[1-s.dir] + 1, Flags: flows.FlagACK | s.flags,
		Payload: []byte(s.data), PayloadLen: len(s.data),
	}
	if s.flags&flows.FlagSYN != 0 {
		p.Seq--
	}
	if s.wire > 0 {
		p.PayloadLen = s.wire
	}
	pl.f.Last = pl.now
	pl.t.Packet(&p, pl.f, s.dir)
}

func (pl *player) end() {
	pl.f.End = flows.EndCapture
	pl.t.FlowEnd(pl.f)
	pl.t.Finish()
}

func (pl *player) conn() *conn { c, _ := pl.f.App.(*conn); return c }

// summary is what a test compares of an HTTP record.
func summary(r flows.HTTPRecord) string {
	return fmt.Sprintf("%s %d complete=%v gap=%v bytes=%d", r.Target, r.Status, r.Complete, r.Gap, r.ResponseBytes)
}

func req(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }

func resp(body string) string {
	return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}

// pieces cuts s at the given offsets into segments of dir.
func pieces(dir flows.Dir, s string, at ...int) []seg {
	var out []seg
	prev := 0
	for _, i := range append(at, len(s)) {
		out = append(out, seg{dir: dir, off: uint32(prev), data: s[prev:i]})
		prev = i
	}
	return out
}

func order(segs []seg, idx ...int) []seg {
	out := make([]seg, len(idx))
	for i, k := range idx {
		out[i] = segs[k]
	}
	return out
}

func cat(parts ...[]seg) []seg { return slices.Concat(parts...) }

const (
	C = flows.FromClient
	S = flows.FromServer
)

func TestReassemblyEdges(t *testing.T) {
	reqA, body := req("/a"), strings.Repeat("b", 3000)
	respB := resp(body)
	head := len(respB) - len(body)
	okA := "/a 200 complete=true gap=false bytes=3000"
	for _, tc := range []struct {
		name     string
		isn      [2]uint32
		cfg      Config
		segs     []seg
		want     []string
		gaps     int64
		gapBytes int64
	}{
		{name: "in order", segs: cat(pieces(C, reqA), pieces(S, respB, 1000, 2000)), want: []string{okA}},
		{
			name: "out of order within the window",
			segs: cat(order(pieces(C, reqA, 5, 20), 0, 2, 1), order(pieces(S, respB, 10, 1000, 2000), 2, 1, 3, 0)),
			want: []string{okA},
		},
		{
			name: "overlapping segments, same bytes",
			segs: cat([]seg{{dir: C, data: reqA[:20]}, {dir: C, off: 10, data: reqA[10:]}},
				[]seg{{dir: S, data: respB[:1500]}, {dir: S, off: 1000, data: respB[1000:2500]}, {dir: S, off: 2400, data: respB[2400:]}}),
			want: []string{okA},
		},
		{
			name: "retransmission with different bytes after delivery: the first bytes stay",
			segs: cat(pieces(C, reqA), []seg{{dir: C, data: req("/b")}}, pieces(S, respB)),
			want: []string{okA},
		},
		{
			name: "retransmission with different bytes while stored: the newest win",
			segs: cat([]seg{{dir: C, data: "GET "}, {dir: C, off: 5, data: req("/x")[5:]}, {dir: C, off: 5, data: req("/y")[5:]}, {dir: C, off: 4, data: "/"}},
				pieces(S, resp(""))),
			want: []string{"/y 200 complete=true gap=false bytes=0"},
		},
		{
			name: "retransmission covering a stored segment and more",
			segs: cat([]seg{{dir: C, data: reqA[:5]}, {dir: C, off: 10, data: "zzzz"}, {dir: C, off: 5, data: reqA[5:]}}, pieces(S, respB)),
			want: []string{okA},
		},
		{
			name:     "hole in a body: counted, the transaction marked",
			segs:     cat(pieces(C, reqA), order(pieces(S, respB, 1000, 2000), 0, 2)),
			want:     []string{"/a 200 complete=true gap=true bytes=3000"},
			gaps:     1,
			gapBytes: 1000,
		},
		{
			name: "hole in a request head: the head is kept as far as it came",
			segs: cat([]seg{{dir: C, data: "GET /cut HTTP/1.1\r\nHo"}, {dir: C, off: 30, data: "\r\n\r\n"}}),
			want: []string{"/cut 0 complete=false gap=true bytes=0"},
			gaps: 1, gapBytes: 9,
		},
		{
			name: "sequence numbers wrap inside the request and the response",
			isn:  [2]uint32{0xffff_fff0, 0xffff_f000},
			segs: cat(order(pieces(C, reqA, 8, 16), 0, 2, 1), order(pieces(S, respB, 1000, 3000), 1, 0, 2)),
			want: []string{okA},
		},
		{
			name: "FIN in the middle of a buffered head: bytes after it are not read",
			segs: []seg{{dir: C, data: "GET /half HTTP/1.1\r\nHost: h", flags: flows.FlagFIN}, {dir: C, off: 28, data: "\r\n\r\n"}},
			want: []string{"/half 0 complete=false gap=true bytes=0"},
		},
		{
			name: "FIN ahead of a hole ends the stream when the hole fills",
			segs: cat([]seg{{dir: C, data: reqA[:5]}, {dir: C, off: 10, data: reqA[10:], flags: flows.FlagFIN}, {dir: C, off: 5, data: reqA[5:10]},
				{dir: C, off: uint32(len(reqA)) + 1, data: req("/late")}}, pieces(S, respB)),
			want: []string{okA},
		},
		{
			name: "a retransmission inside a stored segment replaces its bytes",
			segs: cat([]seg{{dir: C, data: "GET "}, {dir: C, off: 5, data: req("/xq")[5:]}, {dir: C, off: 5, data: "y"}, {dir: C, off: 4, data: "/"}},
				pieces(S, resp(""))),
			want: []string{"/yq 200 complete=true gap=false bytes=0"},
		},
		{
			name: "RST ahead of the position is ignored, data and all",
			segs: cat(pieces(C, reqA), pieces(S, respB[:1000]), []seg{{dir: S, off: 1 << 20, data: "HTTP/1.1 500 X\r\n\r\n", flags: flows.FlagRST}},
				[]seg{{dir: S, off: 1000, data: respB[1000:]}}),
			want: []string{okA},
		},
		{
			name: "RST before the position is ignored",
			segs: cat(pieces(C, reqA), pieces(S, respB[:1000]), []seg{{dir: S, off: 500, flags: flows.FlagRST}}, []seg{{dir: S, off: 1000, data: respB[1000:]}}),
			want: []string{okA},
		},
		{
			name: "RST in order ends the half",
			segs: cat(pieces(C, reqA), pieces(S, respB[:1000]), []seg{{dir: S, off: 1000, flags: flows.FlagRST}}, []seg{{dir: S, off: 1000, data: respB[1000:]}}),
			want: []string{fmt.Sprintf("/a 200 complete=false gap=false bytes=%d", 1000-head)},
		},
		{
			name: "SYN with data on a started half is not stream data",
			segs: cat(pieces(C, reqA), []seg{{dir: C, off: uint32(len(reqA)), data: req("/syn"), flags: flows.FlagSYN}}, pieces(S, respB)),
			want: []string{okA},
		},
		{
			name: "bytes the snapshot length cut are skipped at once",
			segs: cat(pieces(C, reqA), []seg{{dir: S, data: respB[:600], wire: 1000}, {dir: S, off: 1000, data: respB[1000:]}}),
			want: []string{"/a 200 complete=true gap=true bytes=3000"},
			gaps: 1, gapBytes: 400,
		},
		{
			name: "a full buffer stops waiting for the hole",
			cfg:  Config{MaxPagesPerConn: 2},
			segs: cat(pieces(C, reqA), order(pieces(S, respB, 500, 1000, 1500, 2000, 2500), 0, 2, 3, 4, 5, 1)),
			want: []string{"/a 200 complete=true gap=true bytes=3000"},
			gaps: 1, gapBytes: 500,
		},
		{
			name: "pipelined requests out of order, the responses' heads stored",
			segs: cat(order(pieces(C, req("/1")+req("/2"), 7, 30), 0, 2, 1),
				order(pieces(S, resp("one")+resp("two"), 20, 41, 45), 3, 1, 2, 0)),
			want: []string{"/1 200 complete=true gap=false bytes=3", "/2 200 complete=true gap=false bytes=3"},
		},
		{
			// gopacket's glue started the half again at the segment, 500
			// bytes before what the parser had, which handed them over
			// twice: the body ended early and the next response was lost.
			name: "a connection idle for minutes starts again at its next new segment",
			segs: cat(pieces(C, reqA+req("/b")), pieces(S, respB[:1000]), []seg{{pause: 3}, {dir: S, off: 500, data: respB[500:1500]},
				{dir: S, off: 2000, data: respB[2000:] + resp("two")}}),
			want: []string{"/a 200 complete=true gap=true bytes=3000", "/b 200 complete=true gap=false bytes=3"},
			gaps: 1, gapBytes: 500,
		},
		{
			// Stored, the first would have had its head cut by the
			// second, and its tail would have lain half the sequence
			// space ahead: behind next (FuzzReassembly).
			name: "segments that end half the sequence space ahead are dropped",
			segs: cat(pieces(C, reqA), pieces(S, respB[:1000]), []seg{{dir: S, off: 1000 + 1<<31 - 8, data: strings.Repeat("z", 16)},
				{dir: S, off: 1000 + 1<<31 - 16, data: strings.Repeat("y", 20)}, {dir: S, off: 1000, data: respB[1000:]}}),
			want: []string{okA},
		},
		{
			name: "stored data waits two minutes at most",
			segs: cat(pieces(C, reqA), pieces(S, respB[:1000]), []seg{{dir: S, off: 2000, data: respB[2000:]}, {pause: 3}, {dir: C, off: uint32(len(reqA)), data: req("/b")},
				{dir: S, off: 1000, data: respB[1000:2000]}}),
			want: []string{"/a 200 complete=true gap=true bytes=3000", "/b 0 complete=false gap=false bytes=0"},
			gaps: 1, gapBytes: 1000,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := newPlayer(tc.cfg, tc.isn)
			for _, s := range tc.segs {
				if s.pause > 0 {
					pl.now += int64(s.pause) * 60e9
					continue
				}
				pl.send(s)
				checkInvariants(t, pl.t)
			}
			pl.end()
			var got []string
			for _, r := range pl.http {
				got = append(got, summary(r))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("records\n  %q\nwant\n  %q", got, tc.want)
			}
			if st := pl.t.Stats; st.Gaps != tc.gaps || st.GapBytes != tc.gapBytes {
				t.Errorf("gaps %d (%d bytes), want %d (%d)", st.Gaps, st.GapBytes, tc.gaps, tc.gapBytes)
			}
			if pl.t.pages != 0 || len(pl.t.active) != 0 {
				t.Errorf("after the end: %d pages stored, %d connections active", pl.t.pages, len(pl.t.active))
			}
		})
	}
}

// TestStoredBodyKeepsNoBytes: body segments after a hole are stored as
// their ranges only, since the parser only counts them; a head after the
// body is stored with its bytes.
func TestStoredBodyKeepsNoBytes(t *testing.T) {
	body := strings.Repeat("b", 3000)
	r := resp(body) + resp("next")
	head := len(r) - len(body) - len(resp("next"))
	pl := newPlayer(Config{}, [2]uint32{})
	pl.send(seg{dir: C, data: req("/1") + req("/2")})
	pl.send(seg{dir: S, data: r[:head+100]})
	pl.send(seg{dir: S, off: uint32(head + 1000), data: r[head+1000 : head+2000]})
	pl.send(seg{dir: S, off: uint32(head + 2000), data: r[head+2000:]})
	h := &pl.conn().half[S]
	if len(h.q) != 2 || !h.q[0].skip || h.q[0].data != nil || h.q[1].skip || string(h.q[1].data) != r[head+2000:] {
		t.Fatalf("stored %+v; want the body segment as a range, the one with the next head as bytes", h.q)
	}
	pl.send(seg{dir: S, off: uint32(head + 100), data: r[head+100 : head+1000]})
	pl.end()
	var got []string
	for _, r := range pl.http {
		got = append(got, summary(r))
	}
	want := []string{"/1 200 complete=true gap=false bytes=3000", "/2 200 complete=true gap=false bytes=4"}
	if !slices.Equal(got, want) || pl.t.Stats.Gaps != 0 {
		t.Errorf("records %q, %d gaps; want %q and none", got, pl.t.Stats.Gaps, want)
	}
}

// checkInvariants checks what the reassembler promises between packets:
// stored segments sorted, apart and after next, within the bounds, and
// the page counts right.
func checkInvariants(t *testing.T, tr *Tracker) {
	t.Helper()
	total := 0
	for _, c := range tr.active {
		pages := 0
		for d := range c.half {
			h := &c.half[d]
			hp := 0
			for i, s := range h.q {
				if seqDiff(s.seq, s.end) <= 0 || seqDiff(h.next, s.seq) <= 0 {
					t.Fatalf("dir %d: stored [%d,%d) with next %d", d, s.seq, s.end, h.next)
				}
				if i > 0 && seqDiff(h.q[i-1].end, s.seq) < 0 {
					t.Fatalf("dir %d: stored segments overlap or out of order: %+v", d, h.q)
				}
				if !s.skip && len(s.data) != s.len() {
					t.Fatalf("dir %d: stored [%d,%d) holds %d bytes", d, s.seq, s.end, len(s.data))
				}
				hp += int(s.pages)
			}
			if hp != h.pages {
				t.Fatalf("dir %d: %d pages counted, %d stored", d, h.pages, hp)
			}
			if h.pages >= tr.cfg.MaxPagesPerConn && h.pages > 0 {
				t.Fatalf("dir %d: %d pages stored, bound %d", d, h.pages, tr.cfg.MaxPagesPerConn)
			}
			pages += hp
		}
		total += pages
	}
	if total != tr.pages || tr.pages >= tr.cfg.MaxPagesTotal && tr.pages > 0 {
		t.Fatalf("%d pages stored, %d counted, bound %d", total, tr.pages, tr.cfg.MaxPagesTotal)
	}
}

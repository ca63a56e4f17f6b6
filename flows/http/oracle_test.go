package http

import (
	"fmt"
	"github.com/pcapx/pcapx/internal/testcap"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
)

// tsharkHTTPPorts are the TCP ports tshark 4.0 dissects as HTTP by default
// (`tshark -G decodes`: the http range plus DAAP 3689 and IPP 631, which
// run over HTTP).
var tsharkHTTPPorts = map[uint16]bool{80: true, 3128: true, 3132: true, 5985: true, 8080: true, 8088: true,
	11371: true, 1900: true, 2869: true, 2710: true, 3689: true, 631: true}

type httpCounts struct{ Resp, Err5xx int }

type connKey struct{ a, b testcap.DirKey }

// conn is one TCP connection under test: the parser and a simple
// reassembler per direction.
type conn struct {
	name     string
	resp     int
	c        *Conn
	cli, srv *testcap.SimpleTCP
	client   testcap.DirKey
}

// countHTTP parses every TCP connection (on the given ports, or all when
// ports is nil) and counts the response heads (1xx included, as tshark
// counts http.response.code occurrences).
func countHTTP(t *testing.T, path string, ports map[uint16]bool) (httpCounts, []Transaction, []*conn) {
	var cnt httpCounts
	var txs []Transaction
	var cur *conn
	emit := func(tx *Transaction) {
		txs = append(txs, *tx)
		n := tx.Informational
		if tx.Status > 0 {
			n++
			if tx.Status >= 500 {
				cnt.Err5xx++
			}
		}
		cnt.Resp += n
		cur.resp += n
	}
	conns := map[connKey]*conn{}
	var order []*conn
	testcap.ReadCapture(t, path, func(ci gopacket.CaptureInfo, p gopacket.Packet) {
		_, tcp := testcap.Transport(p)
		if tcp == nil || ports != nil && !(ports[uint16(tcp.SrcPort)] || ports[uint16(tcp.DstPort)]) {
			return
		}
		d := testcap.TCPDir(p, tcp)
		rev := testcap.DirKey{Src: d.Dst, Dst: d.Src, Sport: d.Dport, Dport: d.Sport}
		k := connKey{d, rev}
		if d.Src > rev.Src || d.Src == rev.Src && d.Sport > rev.Sport {
			k = connKey{rev, d}
		}
		cn := conns[k]
		if cn == nil || (tcp.SYN && !tcp.ACK && cn.client == d && cn.cli.SynSeen && tcp.Seq != cn.cli.ISN) {
			if cn != nil {
				cn.finish() // port reuse: a new connection on the same 4-tuple
			}
			// The client sent the SYN; without one, the side on a
			// well-known HTTP port is the server, else the lower port.
			client := d
			switch {
			case tcp.SYN:
				if tcp.ACK {
					client = rev
				}
			case tsharkHTTPPorts[uint16(tcp.SrcPort)] != tsharkHTTPPorts[uint16(tcp.DstPort)]:
				if tsharkHTTPPorts[uint16(tcp.SrcPort)] {
					client = rev
				}
			case tcp.SrcPort < tcp.DstPort:
				client = rev
			}
			srv := testcap.DirKey{Src: client.Dst, Dst: client.Src, Sport: client.Dport, Dport: client.Sport}
			cn = &conn{c: NewConn(Config{}, emit), client: client,
				name: fmt.Sprintf("%s:%d-%s:%d", client.Src, client.Sport, srv.Src, srv.Sport)}
			c := cn
			cn.cli = &testcap.SimpleTCP{Deliver: func(b []byte, ts int64) { cur = c; c.c.ClientData(b, ts) }, Gap: func(n int) { cur = c; c.c.ClientGap(n) }}
			cn.srv = &testcap.SimpleTCP{Deliver: func(b []byte, ts int64) { cur = c; c.c.ServerData(b, ts) }, Gap: func(n int) { cur = c; c.c.ServerGap(n) }}
			conns[k] = cn
			order = append(order, cn)
		}
		ts := ci.Timestamp.UnixNano()
		if d == cn.client {
			cn.cli.AddCut(tcp, testcap.WireLen(p, tcp), ts)
		} else {
			cn.srv.AddCut(tcp, testcap.WireLen(p, tcp), ts)
		}
	})
	for _, cn := range order {
		cn.finish()
	}
	return cnt, txs, order
}

func (cn *conn) finish() {
	cn.cli.Finish()
	cn.srv.Finish()
	cur := cn
	cn.cli.Deliver(nil, 0) // points the emit hook at this connection
	_ = cur
	cn.c.Close()
}

// explainedHTTP lists the captures where this parser and tshark 4.0 count
// differently, with what this parser counts and why (checked with tshark).
//
// Three tshark 4.0 defaults account for all of them:
//   - http.desegment_body is on: a response is shown (and counted) only on
//     the frame that completes its body. A body that lost a segment, or that
//     the capture cuts off, never completes, so tshark never counts that
//     response. This parser counts the head when it sees it. Rerun with
//     `-o http.desegment_body:FALSE` and tshark counts what this parser does.
//   - tcp.reassemble_out_of_order is off: segments that arrive before the
//     ones preceding them are not reassembled, and the heads in them are
//     lost to tshark. Rerun with `-o tcp.reassemble_out_of_order:TRUE`.
//   - tshark dissects some retransmitted segments again as new HTTP
//     messages; the reassembly here drops retransmitted bytes.
var explainedHTTP = map[string]struct {
	got    httpCounts
	reason string
}{
	"OISF__suricata-verify/tests__tls__tls-subjectaltname__input.pcap": {httpCounts{37, 0},
		"tshark 33: out-of-order segments (stream 19 gets its first response segment before the ones ahead of it; " +
			"stream 35 reuses the ports of a reset attempt). With tcp.reassemble_out_of_order:TRUE tshark counts 37."},
	"arkime__arkime/tests__pcap__wireshark-retrans.pcap": {httpCounts{4, 0},
		"tshark 6: frames 42 and 86 are fast retransmissions of frames 41 and 85 (same seq, same bytes) and tshark " +
			"dissects them as responses again. 4 requests, 4 responses."},
	"chrissanders__packets/http_espn.pcapng": {httpCounts{61, 0},
		"tshark 60: on 172.16.0.122:41835 the response to GET /photo/2010/0405/trv_detroit_134.jpg lost body " +
			"segments (\"previous segment not captured\" at frame 893), so its body never completes for tshark; " +
			"with http.desegment_body:FALSE tshark counts 7 on that connection, as here."},
	"ntop__nDPI/tests__cfgs__default__pcap__1kxun.pcap": {httpCounts{125, 4},
		"tshark 118: seven responses whose bodies are cut by lost segments or the end of the capture; " +
			"with http.desegment_body:FALSE tshark counts 125."},
	"seladb__PcapPlusPlus/Tests__Pcap++Test__PcapExamples__example.pcap": {httpCounts{338, 0},
		"tshark 336: two responses in out-of-order segments (ports 44152, 44153); " +
			"with tcp.reassemble_out_of_order:TRUE tshark counts 338."},
	"seladb__PcapPlusPlus/Tests__Pcap++Test__PcapExamples__example2.pcap": {httpCounts{155, 0},
		"tshark 153: two responses in out-of-order segments (ports 55282, 55297); " +
			"with tcp.reassemble_out_of_order:TRUE tshark counts 155."},
	"seladb__PcapPlusPlus/Tests__Pcap++Test__PcapExamples__raw_ip.pcap": {httpCounts{7, 0},
		"tshark 6: one response on the IPv6 connection has an incomplete body; with http.desegment_body:FALSE tshark counts 7."},
	"zeek__zeek/testing__btest__Traces__erspan.pcap": {httpCounts{17, 0},
		"tshark 14: the ERSPAN mirror truncated many inner segments, so three response bodies never complete; " +
			"with http.desegment_body:FALSE tshark counts 17."},
	"zeek__zeek/testing__btest__Traces__http__206_example_b.pcap": {httpCounts{3, 0},
		"tshark 2: the first 206 response (816896 body bytes) lost segments; with http.desegment_body:FALSE tshark counts 3."},
}

func TestOracleHTTP(t *testing.T) {
	rows := testcap.OracleRows(t)
	var files, agree int
	for _, row := range rows {
		file := row["file"]
		want := httpCounts{testcap.Atoi(row["http_resp"]), testcap.Atoi(row["http_5xx"])}
		// All TCP connections, not only tshark's HTTP ports: tshark 4.0
		// also enables its HTTP heuristic on TCP by default (`tshark -G
		// heuristic-decodes`: "tcp http T"), and finds HTTP on port 8002
		// (suricata detect-absent-file-multi) and 4000 (arkime
		// wireshark-retrans) that way. This parser gives up on
		// connections that do not carry HTTP.
		got, txs, _ := countHTTP(t, filepath.Join(testcap.SharedPcaps, file), nil)
		for _, tx := range txs {
			// A paired response never starts before its request.
			if !tx.NoRequest && tx.Status > 0 && tx.FirstResponseByteTime < tx.RequestTime {
				t.Errorf("%s: response before its request: %+v", file, tx)
			}
		}
		files++
		if got == want {
			agree++
			continue
		}
		if ex, ok := explainedHTTP[file]; ok {
			if got != ex.got {
				t.Errorf("%s: got %+v, explained as %+v (%s)", file, got, ex.got, ex.reason)
			}
			continue
		}
		t.Errorf("%s: got %+v, tshark %+v", file, got, want)
	}
	t.Logf("%d files, %d agree with tshark exactly, %d explained", files, agree, len(explainedHTTP))
}

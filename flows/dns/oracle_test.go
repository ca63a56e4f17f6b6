package dns

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
)

// dnsCounts are the ORACLE.tsv DNS columns: responses (QR=1) and their
// 4-bit header rcodes.
type dnsCounts struct {
	Resp, Err, FormErr, ServFail, NXDomain, NotImp, Refused, Other int
}

func (c *dnsCounts) add(m *Message) {
	if !m.Response {
		return
	}
	c.Resp++
	if m.HeaderRcode == 0 {
		return
	}
	c.Err++
	switch m.HeaderRcode {
	case 1:
		c.FormErr++
	case 2:
		c.ServFail++
	case 3:
		c.NXDomain++
	case 4:
		c.NotImp++
	case 5:
		c.Refused++
	default:
		c.Other++
	}
}

func oracleDNS(row map[string]string) dnsCounts {
	return dnsCounts{atoi(row["dns_resp"]), atoi(row["dns_err"]), atoi(row["dns_rc_formerr"]), atoi(row["dns_rc_servfail"]),
		atoi(row["dns_rc_nxdomain"]), atoi(row["dns_rc_notimp"]), atoi(row["dns_rc_refused"]), atoi(row["dns_rc_other"])}
}

func dnsPort(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }

// countCapture decodes every DNS message on UDP 53/5353/5355 and TCP
// 53/5353 (the ports tshark 4.0 gives DNS) with this package.
func countCapture(t *testing.T, path string) (c dnsCounts, bad int) {
	var m Message
	streams := map[dirKey]*simpleTCP{}
	var order []*simpleTCP
	readCapture(t, path, func(ci gopacket.CaptureInfo, p gopacket.Packet) {
		udp, tcp := transport(p)
		switch {
		case udp != nil && (dnsPort(uint16(udp.SrcPort)) || dnsPort(uint16(udp.DstPort))):
			if err := m.Unpack(udp.Payload); err == ErrShortHeader && len(udp.Payload) < 4 {
				bad++
				return
			}
			c.add(&m)
		case tcp != nil && (tcp.SrcPort == 53 || tcp.DstPort == 53 || tcp.SrcPort == 5353 || tcp.DstPort == 5353):
			k := tcpDir(p, tcp)
			st := streams[k]
			if st == nil {
				ds := &TCPStream{}
				st = &simpleTCP{deliver: func(data []byte, ts int64) {
					ds.Feed(data)
					for msg, ok := ds.Next(); ok; msg, ok = ds.Next() {
						if err := m.Unpack(msg); err == ErrShortHeader && len(msg) < 4 {
							bad++
							continue
						}
						c.add(&m)
					}
				}, gap: ds.Gap}
				streams[k] = st
				order = append(order, st)
			}
			st.add(tcp, ci.Timestamp.UnixNano())
		}
	})
	for _, st := range order {
		st.finish()
	}
	return c, bad
}

// explainedDNS lists the captures where this parser and tshark 4.0 count
// differently, with what this parser counts and why. Each reason was
// checked with tshark (see the comments).
var explainedDNS = map[string]struct {
	got    dnsCounts
	reason string
}{}

func TestOracleDNS(t *testing.T) {
	rows := oracleRows(t)
	var files, agree int
	for _, row := range rows {
		file := row["file"]
		want := oracleDNS(row)
		got, bad := countCapture(t, filepath.Join(sharedPcaps, file))
		files++
		if got == want {
			agree++
			continue
		}
		if ex, ok := explainedDNS[file]; ok {
			if got != ex.got {
				t.Errorf("%s: got %+v, explained as %+v (%s)", file, got, ex.got, ex.reason)
			}
			continue
		}
		t.Errorf("%s: got %+v (short %d), tshark %+v", file, got, bad, want)
	}
	t.Logf("%d files, %d agree with tshark exactly, %d explained", files, agree, len(explainedDNS))
	_ = fmt.Sprint
}

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/pcapx/pcapx/internal/capgen"
)

// describer turns frames into one-line summaries for the README, with
// sequence numbers relative to each direction's ISN as Wireshark shows
// them.
type describer struct {
	base   map[string]uint32
	client map[string]string
}

func newDescriber() describer {
	return describer{base: map[string]uint32{}, client: map[string]string{}}
}

func ep(ip net.IP, port uint16) string {
	if ip.To4() == nil {
		return fmt.Sprintf("[%s]:%d", ip, port)
	}
	return fmt.Sprintf("%s:%d", ip, port)
}

func (d *describer) describe(lt capgen.LinkType, data []byte) string {
	p := gopacket.NewPacket(data, layers.LinkType(lt), gopacket.Default)
	var src, dst net.IP
	var frag string
	for _, l := range p.Layers() {
		switch v := l.(type) {
		case *layers.IPv4:
			src, dst = v.SrcIP, v.DstIP
			if v.Flags&layers.IPv4MoreFragments != 0 || v.FragOffset != 0 {
				frag = fmt.Sprintf("IPv4 fragment id=%d off=%d%s", v.Id, int(v.FragOffset)*8, map[bool]string{true: " MF"}[v.Flags&layers.IPv4MoreFragments != 0])
			}
		case *layers.IPv6:
			src, dst = v.SrcIP, v.DstIP
		case *layers.IPv6Fragment:
			frag = fmt.Sprintf("IPv6 fragment id=%d off=%d%s", v.Identification, int(v.FragmentOffset)*8, map[bool]string{true: " M"}[v.MoreFragments])
		}
	}
	var prefix []string
	if p.Layer(layers.LayerTypeVXLAN) != nil {
		prefix = append(prefix, "VXLAN")
	}
	if p.Layer(layers.LayerTypeGRE) != nil {
		prefix = append(prefix, "GRE")
	}
	pre := strings.Join(prefix, "+")
	if pre != "" {
		pre += ": "
	}
	if frag != "" && (p.Layer(layers.LayerTypeTCP) == nil && p.Layer(layers.LayerTypeUDP) == nil || strings.Contains(frag, "off=0") == false) {
		return pre + fmt.Sprintf("%s → %s %s", src, dst, frag)
	}
	if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && p.Layer(layers.LayerTypeICMPv4) == nil && p.Layer(layers.LayerTypeICMPv6) == nil {
		s := d.tcp(src, dst, t)
		if frag != "" {
			s += " (" + frag + ")"
		}
		return pre + s
	}
	if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok && p.Layer(layers.LayerTypeICMPv4) == nil && p.Layer(layers.LayerTypeICMPv6) == nil {
		s := fmt.Sprintf("%s → %s UDP len=%d", ep(src, uint16(u.SrcPort)), ep(dst, uint16(u.DstPort)), len(u.Payload))
		if dns, ok := p.Layer(layers.LayerTypeDNS).(*layers.DNS); ok {
			s += " " + dnsSummary(dns)
		}
		if frag != "" {
			s += " (" + frag + ")"
		}
		return pre + s
	}
	if ic, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		return pre + fmt.Sprintf("%s → %s ICMP %s", src, dst, icmp4Summary(ic))
	}
	if ic, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
		return pre + fmt.Sprintf("%s → %s ICMPv6 %s", src, dst, icmp6Summary(ic))
	}
	if src != nil {
		return pre + fmt.Sprintf("%s → %s", src, dst)
	}
	return fmt.Sprintf("%d bytes (undecoded)", len(data))
}

func (d *describer) tcp(src, dst net.IP, t *layers.TCP) string {
	from, to := ep(src, uint16(t.SrcPort)), ep(dst, uint16(t.DstPort))
	key, rkey := from+">"+to, to+">"+from
	if t.SYN {
		if b, ok := d.base[key]; !ok || b != t.Seq {
			d.base[key] = t.Seq
			if !t.ACK {
				delete(d.base, rkey)
			}
		}
	} else if _, ok := d.base[key]; !ok {
		d.base[key] = t.Seq - 1
	}
	if _, ok := d.base[rkey]; !ok && t.ACK {
		d.base[rkey] = t.Ack - 1
	}
	var flags []string
	for _, f := range []struct {
		on   bool
		name string
	}{{t.SYN, "SYN"}, {t.FIN, "FIN"}, {t.RST, "RST"}, {t.PSH, "PSH"}, {t.ACK, "ACK"}} {
		if f.on {
			flags = append(flags, f.name)
		}
	}
	s := fmt.Sprintf("%s → %s [%s] seq=%d", from, to, strings.Join(flags, ","), t.Seq-d.base[key])
	if t.ACK {
		s += fmt.Sprintf(" ack=%d", t.Ack-d.base[rkey])
	}
	s += fmt.Sprintf(" win=%d len=%d", t.Window, len(t.Payload))
	for _, o := range t.Options {
		if o.OptionType == layers.TCPOptionKindSACK {
			var blocks []string
			for i := 0; i+8 <= len(o.OptionData); i += 8 {
				l := uint32(o.OptionData[i])<<24 | uint32(o.OptionData[i+1])<<16 | uint32(o.OptionData[i+2])<<8 | uint32(o.OptionData[i+3])
				r := uint32(o.OptionData[i+4])<<24 | uint32(o.OptionData[i+5])<<16 | uint32(o.OptionData[i+6])<<8 | uint32(o.OptionData[i+7])
				blocks = append(blocks, fmt.Sprintf("%d-%d", l-d.base[rkey], r-d.base[rkey]))
			}
			s += " sack=" + strings.Join(blocks, ",")
		}
	}
	if len(t.Payload) > 0 && len(t.Payload) < 200 && isText(t.Payload) {
		line, _, _ := bytes.Cut(t.Payload, []byte("\r\n"))
		if len(line) > 40 {
			line = append(line[:40:40], "…"...)
		}
		s += fmt.Sprintf(" %q", line)
	}
	return s
}

func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

func dnsSummary(d *layers.DNS) string {
	var q string
	if len(d.Questions) > 0 {
		q = fmt.Sprintf("%s %s", d.Questions[0].Type, readableName(d.Questions[0].Name))
	}
	kind := "DNS"
	switch {
	case d.OpCode != layers.DNSOpCodeQuery:
		kind += " " + strings.ToUpper(d.OpCode.String())
	case !d.RD:
		kind += " non-recursive (RD=0)"
	}
	if !d.QR {
		return fmt.Sprintf("%s query id=%d %s", kind, d.ID, q)
	}
	return fmt.Sprintf("%s response id=%d %s rcode=%s answers=%d", kind, d.ID, q, d.ResponseCode, len(d.Answers))
}

// readableName shows a DNS name as it is, or quoted with Go escapes when
// it holds bytes that would not read as text (controls, invalid UTF-8,
// format characters such as a right-to-left override).
func readableName(name []byte) string {
	for _, r := range string(name) {
		if r == utf8.RuneError || !unicode.IsGraphic(r) {
			return strconv.QuoteToGraphic(string(name))
		}
	}
	return string(name)
}

func icmp4Summary(ic *layers.ICMPv4) string {
	t, c := ic.TypeCode.Type(), ic.TypeCode.Code()
	switch t {
	case layers.ICMPv4TypeEchoRequest:
		return fmt.Sprintf("echo request id=%d seq=%d", ic.Id, ic.Seq)
	case layers.ICMPv4TypeEchoReply:
		return fmt.Sprintf("echo reply id=%d seq=%d", ic.Id, ic.Seq)
	case layers.ICMPv4TypeDestinationUnreachable:
		if c == 4 {
			return fmt.Sprintf("destination unreachable: fragmentation needed, next-hop MTU %d (quotes %d bytes)", ic.Seq, len(ic.Payload))
		}
		return fmt.Sprintf("destination unreachable code %d (quotes %d bytes)", c, len(ic.Payload))
	}
	return fmt.Sprintf("type %d code %d", t, c)
}

func icmp6Summary(ic *layers.ICMPv6) string {
	t, c := ic.TypeCode.Type(), ic.TypeCode.Code()
	switch t {
	case layers.ICMPv6TypeEchoRequest:
		return "echo request"
	case layers.ICMPv6TypeEchoReply:
		return "echo reply"
	case layers.ICMPv6TypePacketTooBig:
		var mtu uint32
		if len(ic.Payload) >= 4 {
			mtu = binary.BigEndian.Uint32(ic.Payload[:4])
		}
		return fmt.Sprintf("packet too big, MTU %d (quotes %d bytes)", mtu, len(ic.Payload)-4)
	}
	return fmt.Sprintf("type %d code %d", t, c)
}

// readme renders testdata/captures/README.md.
func (g *generator) readme() []byte {
	var b bytes.Buffer
	b.WriteString(readmeIntro)
	groups := []string{}
	byGroup := map[string][]*fixture{}
	for _, fx := range g.fixtures {
		if _, ok := byGroup[fx.Group]; !ok {
			groups = append(groups, fx.Group)
		}
		byGroup[fx.Group] = append(byGroup[fx.Group], fx)
	}
	b.WriteString("\nContents:\n\n")
	for _, grp := range groups {
		var names []string
		for _, fx := range byGroup[grp] {
			names = append(names, "`"+fx.Path+"`")
		}
		fmt.Fprintf(&b, "- %s: %s\n", grp, strings.Join(names, ", "))
	}
	for _, grp := range groups {
		fmt.Fprintf(&b, "\n## %s\n", grp)
		for _, fx := range byGroup[grp] {
			fmt.Fprintf(&b, "\n### `%s`\n\n", fx.Path)
			b.WriteString(strings.TrimSpace(fx.Desc))
			b.WriteString("\n\n")
			if fx.Format != "" {
				fmt.Fprintf(&b, "Format: %s, %d bytes, %d packets", fx.Format, len(fx.Data), fx.Packets)
				if fx.Error != "" {
					fmt.Fprintf(&b, "; a reader must report: %s", fx.Error)
				}
				b.WriteString(".\n")
			}
			if fx.Analysis {
				b.WriteString("\nExpected TCP analysis (Wireshark 4.0): ")
				var lines []string
				frames := make([]int, 0, len(fx.Expect))
				for n := range fx.Expect {
					frames = append(frames, n)
				}
				sort.Ints(frames)
				for i := 0; i < len(frames); {
					n := frames[i]
					fl := strings.ReplaceAll(flagList(fx.Expect[n]), ",", ", ")
					if k := runLength(frames[i:], fx.Expect); k >= minRun {
						lines = append(lines, fmt.Sprintf("frames %d, %d, …, %d (%d frames): %s", n, frames[i+1], frames[i+k-1], k, fl))
						i += k
						continue
					}
					lines = append(lines, fmt.Sprintf("frame %d: %s", n, fl))
					i++
				}
				if len(lines) == 0 {
					b.WriteString("no flags on any frame.\n")
				} else {
					b.WriteString(strings.Join(lines, "; ") + ".\n")
				}
			}
			if fx.Analysis || !fx.NoTable && len(fx.Frames) > 0 && len(fx.Frames) <= 40 && fx.Error == "" {
				b.WriteString("\n| # | time | packet | expected tcp.analysis |\n|---:|---:|---|---|\n")
				var t0 time.Time
				for i, fr := range fx.Frames {
					if i == 0 {
						t0 = fr.Time
					}
					if e := fx.Elide; fr.N >= e.From && fr.N <= e.To {
						if fr.N == e.From {
							fmt.Fprintf(&b, "| %d–%d | %s–%s | %s | |\n", e.From, e.To, relTime(fr.Time.Sub(t0)),
								relTime(fx.Frames[e.To-1].Time.Sub(t0)), e.Note)
						}
						continue
					}
					exp := ""
					if fx.Analysis {
						exp = strings.ReplaceAll(flagList(fx.Expect[fr.N]), ",", ", ")
						if exp == "-" {
							exp = ""
						}
					}
					fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", fr.N, relTime(fr.Time.Sub(t0)), strings.ReplaceAll(fr.Summary, "|", "\\|"), exp)
				}
			}
		}
	}
	return b.Bytes()
}

// minRun is the shortest run of frames with the same flags, evenly
// spaced, that the README lists as a range.
const minRun = 10

// runLength returns how many of frames, from the first, carry the same
// flags at a constant spacing.
func runLength(frames []int, expect map[int][]string) int {
	if len(frames) < 2 {
		return len(frames)
	}
	step, fl := frames[1]-frames[0], flagList(expect[frames[0]])
	k := 1
	for k < len(frames) && frames[k]-frames[k-1] == step && flagList(expect[frames[k]]) == fl {
		k++
	}
	return k
}

func relTime(d time.Duration) string {
	return fmt.Sprintf("%.6f", d.Seconds())
}

const readmeIntro = `# Capture fixtures

Generated by ` + "`go run ./testdata/gen`" + ` from the scripts in ` + "`testdata/gen`" + `
(package ` + "`internal/capgen`" + `). Do not edit by hand: change the script and run the
generator again; ` + "`go test ./testdata/gen`" + ` fails when a committed file is stale.

Conventions:

- Timestamps start at 2026-01-02T03:04:05Z (` + "`capgen.Epoch`" + `) unless said otherwise;
  times below are relative to the file's first packet.
- Addresses come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24,
  203.0.113.0/24, 2001:db8::/32); MACs are locally administered 02:00:5e:00:00:0x.
- TCP connections are Linux-like unless said otherwise: MSS 1460, window scale 7,
  SACK permitted, timestamps (full segments carry 1448 bytes), DF set. Sequence
  numbers below are relative, as Wireshark shows them; "win" is the raw header field.
- "Expected TCP analysis" lists the ` + "`tcp.analysis.*`" + ` fields Wireshark 4.0 sets on
  each frame (docs/tcp-analysis.md says what each means). A fast or spurious retransmission also carries
  ` + "`tcp.analysis.retransmission`" + `, as in Wireshark. The same expectations are in
  ` + "`expected-tcp-analysis.tsv`" + ` (one row per frame) and are checked against
  tshark by ` + "`go test ./testdata/gen`" + ` when tshark is installed.
- ` + "`index.tsv`" + ` lists every capture with its format, the number of packets a reader
  returns, and the error it must report for the damaged ones.
`

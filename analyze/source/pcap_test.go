package source

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

const t0 = int64(1_700_000_000_123_456_000) // a µs-exact timestamp

func TestPcapVariants(t *testing.T) {
	recs := []rec{r(t0, pkt(1, 60)), r(t0+1_000, pkt(2, 1514)), r(t0+2_000_000_000, pkt(3, 42))}
	for _, tc := range []struct {
		name string
		h    pcapHdr
		res  string
	}{
		{"le-us", pcapHdr{}, "µs"},
		{"be-us", pcapHdr{be: true}, "µs"},
		{"le-ns", pcapHdr{nsec: true}, "ns"},
		{"be-ns", pcapHdr{be: true, nsec: true}, "ns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readCapture(t, pcapFile(tc.h, recs...))
			if res.err != nil {
				t.Fatal(res.err)
			}
			noWarn(t, res)
			if len(res.pkts) != 3 {
				t.Fatalf("%d packets, want 3", len(res.pkts))
			}
			off := int64(24)
			for i, p := range res.pkts {
				if !bytes.Equal(p.Data, recs[i].data) || p.Timestamp != recs[i].ts || p.OrigLen != len(recs[i].data) ||
					p.LinkType != 1 || p.Frame != int64(i+1) || p.Offset != off || p.File != 0 || p.Interface != 0 {
					t.Errorf("packet %d = %+v", i, p)
				}
				off += 16 + int64(len(recs[i].data))
			}
			fi := res.files[0]
			if fi.Format != "pcap" || fi.TimeResolution != tc.res || fi.Snaplen != 65535 || fi.Packets != 3 ||
				fi.Bytes != 60+1514+42 || fi.First != t0 || fi.Last != t0+2e9 || fi.Compression != "" || len(fi.LinkTypes) != 1 {
				t.Errorf("FileInfo = %+v", fi)
			}
		})
	}
}

func TestPcapNanosecondTimestamp(t *testing.T) {
	ts := int64(1_700_000_000_123_456_789)
	res := readCapture(t, pcapFile(pcapHdr{nsec: true}, r(ts, pkt(0, 10))))
	if res.pkts[0].Timestamp != ts {
		t.Fatalf("ts = %d, want %d", res.pkts[0].Timestamp, ts)
	}
}

func TestPcapHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     []byte
		err   error
		frags []string
	}{
		{"major version 1", pcapFile(pcapHdr{major: 1, minor: 4}), ErrUnsupported, []string{"major version 1 unsupported"}},
		{"major version 3", pcapFile(pcapHdr{major: 3}), ErrUnsupported, []string{"major version 3"}},
		{"reserved link type bits", pcapFile(pcapHdr{linkType: 0x00300001}), ErrUnsupported, []string{"0x00300001", "reserved"}},
		{"empty", nil, ErrEmpty, nil},
		{"unknown magic", []byte("hello, this is not a capture file\n"), ErrNotCapture, []string{"unknown magic 68 65 6c 6c"}},
		{"three bytes", []byte{0xd4, 0xc3, 0xb2}, ErrNotCapture, nil},
		{"header cut short", pcapFile(pcapHdr{})[:20], ErrNotCapture, []string{"20 of 24"}},
		{"gzip garbage", []byte{0x1f, 0x8b, 0, 0, 0, 0}, ErrNotCapture, nil},
		{"gzip of nothing", gz(t, nil), ErrEmpty, nil},
		{"gzip of text", gz(t, []byte("plain text")), ErrNotCapture, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readCapture(t, tc.b)
			wantErr(t, res, tc.err, append(tc.frags, "open capture: ")...)
			if !strings.Contains(res.err.Error(), "cap") {
				t.Errorf("error %q does not name the file", res.err)
			}
		})
	}
}

func TestPcapFCSBitsMasked(t *testing.T) {
	// F bit (26) set and an FCS length of 2 words (bits 28-31): link type 1.
	res := readCapture(t, pcapFile(pcapHdr{linkType: 0x24000001}, r(t0, pkt(0, 64))))
	if res.err != nil {
		t.Fatal(res.err)
	}
	noWarn(t, res)
	if res.pkts[0].LinkType != 1 || res.files[0].LinkTypes[0] != 1 {
		t.Fatalf("link type %d, want 1", res.pkts[0].LinkType)
	}
}

func TestPcapOtherLinkTypes(t *testing.T) {
	for _, lt := range []uint32{0, 101, 113, 276, 228, 229, 108} {
		res := readCapture(t, pcapFile(pcapHdr{linkType: lt, setLT: true}, r(t0, pkt(0, 20))))
		if res.err != nil || res.pkts[0].LinkType != uint16(lt) {
			t.Errorf("link type %d: %v %+v", lt, res.err, res.pkts)
		}
	}
}

// Old pcap files (2.0-2.2) have caplen and origlen swapped; 2.3 files may.
func TestPcapSwappedLengths(t *testing.T) {
	data := pkt(0, 40)
	for _, minor := range []uint16{1, 2, 3} {
		h := pcapHdr{minor: minor}
		b := pcapFile(h)
		b = appendPcapRec(b, h, rec{ts: t0, data: data, orig: 40, caplen: 1500}) // writer put them swapped
		b[24+8], b[24+9], b[24+12], b[24+13] = 1500&0xff, 1500>>8, 40, 0         // caplen field = 1500, origlen = 40
		res := readCapture(t, b)
		if res.err != nil || len(res.pkts) != 1 || len(res.pkts[0].Data) != 40 || res.pkts[0].OrigLen != 1500 {
			t.Errorf("minor %d: %v %v", minor, res.err, res.warnText())
		}
	}
	// 2.3 with sane lengths is not swapped.
	res := readCapture(t, pcapFile(pcapHdr{minor: 3}, rec{ts: t0, data: data, orig: 1500, caplen: -1}))
	if len(res.pkts) != 1 || len(res.pkts[0].Data) != 40 || res.pkts[0].OrigLen != 1500 {
		t.Errorf("2.3 unswapped: %+v", res.pkts)
	}
}

func TestPcapHeaderOnly(t *testing.T) {
	res := readCapture(t, pcapFile(pcapHdr{}))
	if res.err != nil {
		t.Fatal(res.err)
	}
	noWarn(t, res)
	if len(res.pkts) != 0 || res.files[0].Format != "pcap" || res.files[0].Packets != 0 || res.files[0].Skipped {
		t.Fatalf("%+v", res.files)
	}
}

func TestPcapDamage(t *testing.T) {
	h := pcapHdr{snaplen: 2000}
	good := pcapFile(h, r(t0, pkt(1, 100)), r(t0+1000, pkt(2, 200)))
	goodLen := int64(len(good)) // the offset where the bad record starts
	for _, tc := range []struct {
		name    string
		b       []byte
		pkts    int
		frags   []string
		offset  int64
		frame   int64
		readAll bool // the packets after the bad one are read too
	}{
		{
			name:   "truncated data",
			b:      append(bytes.Clone(good), appendPcapRec(nil, h, r(t0+2000, pkt(3, 300)))[:16+150]...),
			pkts:   2,
			frags:  []string{"truncated record: 166 of 316 bytes", "file cut short or still being written"},
			offset: goodLen, frame: 3,
		},
		{
			name:   "truncated header",
			b:      append(bytes.Clone(good), appendPcapRec(nil, h, r(t0+2000, pkt(3, 300)))[:9]...),
			pkts:   2,
			frags:  []string{"truncated record header: 9 of 16 bytes", "file cut short or still being written"},
			offset: goodLen, frame: 3,
		},
		{
			name:   "beyond the sane maximum",
			b:      append(append(bytes.Clone(good), appendPcapRec(nil, h, rec{ts: t0, data: pkt(3, 300), caplen: 300_000})...), appendPcapRec(nil, h, r(t0, pkt(4, 10)))...),
			pkts:   2,
			frags:  []string{"record length 300000 beyond the sane maximum 262144", "stopped reading this file"},
			offset: goodLen, frame: 3,
		},
		{
			name: "beyond snaplen, twice",
			b: append(append(bytes.Clone(good), appendPcapRec(nil, h, r(t0+2000, pkt(3, 3000)))...),
				appendPcapRec(nil, h, r(t0+3000, pkt(4, 2500)))...),
			pkts:   4,
			frags:  []string{"record length 3000 exceeds the file's snapshot length 2000", "read it anyway"},
			offset: goodLen, frame: 3, readAll: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readCapture(t, tc.b)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if len(res.pkts) != tc.pkts {
				t.Fatalf("%d packets, want %d; warnings:\n%s", len(res.pkts), tc.pkts, res.warnText())
			}
			if len(res.warns) != 1 {
				t.Fatalf("want 1 warning, got:\n%s", res.warnText())
			}
			w := wantWarn(t, res, tc.frags...)
			if w.Offset != tc.offset || w.Frame != tc.frame || w.File == "" {
				t.Fatalf("warning at byte %d frame %d, want %d, %d: %v", w.Offset, w.Frame, tc.offset, tc.frame, w)
			}
			if !bytes.Equal(res.pkts[1].Data, pkt(2, 200)) {
				t.Fatal("packet before the damage altered")
			}
		})
	}
}

// Within one file the order is the file's, even when time goes backwards.
func TestPcapBackwardsTimestampsKeepFileOrder(t *testing.T) {
	res := readCapture(t, pcapFile(pcapHdr{}, r(t0+3000, pkt(1, 10)), r(t0+1000, pkt(2, 10)), r(t0+2000, pkt(3, 10))))
	for i, want := range []byte{1, 2, 3} {
		if res.pkts[i].Data[0] != want || res.pkts[i].Frame != int64(i+1) {
			t.Fatalf("order changed: %+v", res.pkts)
		}
	}
	if fi := res.files[0]; fi.First != t0+1000 || fi.Last != t0+3000 {
		t.Fatalf("First/Last = %d/%d", fi.First, fi.Last)
	}
}

// A record larger than the buffer is read into the owned buffer, and a
// later small one comes from the bufio buffer again.
func TestPcapRecordLargerThanBuffer(t *testing.T) {
	big := pkt(7, 200_000)
	b := pcapFile(pcapHdr{snaplen: 262144}, r(t0, pkt(1, 100)), r(t0+1, big), r(t0+2, pkt(3, 100)), r(t0+3, pkt(4, 150_000)))
	res := readAll(t, []string{"-"}, Options{BufferSize: 4096, Stdin: bytes.NewReader(b)})
	if res.err != nil || len(res.pkts) != 4 || !bytes.Equal(res.pkts[1].Data, big) || !bytes.Equal(res.pkts[3].Data, pkt(4, 150_000)) {
		t.Fatalf("%v %d %s", res.err, len(res.pkts), res.warnText())
	}
}

func TestCompressed(t *testing.T) {
	h := pcapHdr{}
	plain := pcapFile(h, r(t0, pkt(1, 100)), r(t0+1000, pkt(2, 200)))
	cut := append(bytes.Clone(plain), appendPcapRec(nil, h, r(t0+2000, pkt(3, 300)))[:100]...)
	for _, tc := range []struct {
		name, comp string
		b          []byte
	}{
		{"gzip", "gzip", gz(t, plain)},
		{"zstd", "zstd", zst(t, plain)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readCapture(t, tc.b)
			if res.err != nil {
				t.Fatal(res.err)
			}
			noWarn(t, res)
			if len(res.pkts) != 2 || res.files[0].Compression != tc.comp || res.pkts[1].Offset != 24+16+100 {
				t.Fatalf("%+v", res.files[0])
			}
		})
	}
	// A compressed file whose content is cut short: offsets are in the
	// decompressed stream, and the warning says so.
	for _, tc := range []struct {
		name string
		b    []byte
	}{{"gzip", gz(t, cut)}, {"zstd", zst(t, cut)}} {
		t.Run(tc.name+" content cut", func(t *testing.T) {
			res := readCapture(t, tc.b)
			if len(res.pkts) != 2 {
				t.Fatalf("%d packets", len(res.pkts))
			}
			w := wantWarn(t, res, "byte 356 (decompressed), frame 3: truncated record")
			if !w.Decompressed {
				t.Fatal("Decompressed not set")
			}
		})
	}
	// The compressed stream itself cut short (a .gz still being written).
	t.Run("gzip stream cut", func(t *testing.T) {
		big := pcapFile(h)
		for i := range 200 {
			big = appendPcapRec(big, h, r(t0+int64(i), pkt(byte(i), 500)))
		}
		z := gz(t, big)
		res := readCapture(t, z[:len(z)/2])
		if len(res.pkts) == 0 || len(res.pkts) >= 200 {
			t.Fatalf("%d packets", len(res.pkts))
		}
		wantWarn(t, res, "(decompressed)", "truncated record", "file cut short or still being written")
	})
	// A corrupt checksum at the end: all packets are there, and a warning.
	t.Run("gzip bad checksum", func(t *testing.T) {
		z := gz(t, plain)
		z[len(z)-8] ^= 0xff
		res := readCapture(t, z)
		if len(res.pkts) != 2 {
			t.Fatalf("%d packets", len(res.pkts))
		}
		wantWarn(t, res, "gzip data damaged")
	})
}

func TestWarningString(t *testing.T) {
	for _, tc := range []struct {
		w    Warning
		want string
	}{
		{Warning{File: "cap.pcap", Offset: 1234, Frame: 57, Msg: "bad; did x"}, "cap.pcap: byte 1234, frame 57: bad; did x"},
		{Warning{File: "cap.pcap.gz", Offset: 1234, Frame: 57, Msg: "bad; did x", Decompressed: true}, "cap.pcap.gz: byte 1234 (decompressed), frame 57: bad; did x"},
		{Warning{File: "d/x.pcap", Offset: -1, Msg: "empty file; skipped it"}, "d/x.pcap: empty file; skipped it"},
	} {
		if got := tc.w.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

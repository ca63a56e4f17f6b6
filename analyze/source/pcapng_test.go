package source

import (
	"bytes"
	"slices"
	"testing"
)

const us0 = uint64(1_700_000_000_123_456) // t0 in µs

func TestPcapngBasic(t *testing.T) {
	for _, be := range []bool{false, true} {
		w := &ngW{}
		w.shb(be, optS(optComment, "made by the test"), optS(shbOS, "Linux"), optS(shbUserAppl, "pcapx test")).
			idb(1, 262144, optS(ifName, "eth0"), optS(ifDescription, "uplink")).
			epb(0, us0, pkt(1, 60), 0).
			epb(0, us0+1, pkt(2, 1514), 9000, optS(optComment, "look here")).
			epb(0, us0+2, pkt(3, 3), 0)
		res := readCapture(t, w.b)
		if res.err != nil {
			t.Fatal(res.err)
		}
		noWarn(t, res)
		if len(res.pkts) != 3 {
			t.Fatalf("be=%v: %d packets", be, len(res.pkts))
		}
		for i, p := range res.pkts {
			if p.Frame != int64(i+1) || p.Timestamp != t0+int64(i)*1000 || p.LinkType != 1 || p.Interface != 0 {
				t.Errorf("packet %d = %+v", i, p)
			}
		}
		if !bytes.Equal(res.pkts[1].Data, pkt(2, 1514)) || res.pkts[1].OrigLen != 9000 || !bytes.Equal(res.pkts[2].Data, pkt(3, 3)) {
			t.Errorf("data or lengths wrong: %+v", res.pkts[1:])
		}
		fi := res.files[0]
		want := FileInfo{Name: fi.Name, Format: "pcapng", TimeResolution: "µs", Snaplen: 262144, LinkTypes: []uint16{1},
			Interfaces: []Interface{{Section: 0, ID: 0, LinkType: 1, Snaplen: 262144, Name: "eth0", Description: "uplink", TSResolution: "µs"}},
			Comments:   []string{"made by the test", "frame 2: look here"}, OS: "Linux", Application: "pcapx test",
			Packets: 3, Frames: 3, Bytes: 60 + 9000 + 3, First: t0, Last: t0 + 2000, Size: int64(len(w.b))}
		if !equalInfo(fi, want) {
			t.Errorf("be=%v:\n got %+v\nwant %+v", be, fi, want)
		}
	}
}

func equalInfo(a, b FileInfo) bool {
	return a.Name == b.Name && a.Format == b.Format && a.Compression == b.Compression && a.TimeResolution == b.TimeResolution &&
		a.Snaplen == b.Snaplen && slices.Equal(a.LinkTypes, b.LinkTypes) && slices.Equal(a.Interfaces, b.Interfaces) &&
		slices.Equal(a.Comments, b.Comments) && a.Hardware == b.Hardware && a.OS == b.OS && a.Application == b.Application &&
		a.Packets == b.Packets && a.Frames == b.Frames && a.Bytes == b.Bytes && a.First == b.First && a.Last == b.Last &&
		a.Size == b.Size && a.Skipped == b.Skipped
}

// Several sections, in both byte orders: interface ids restart per section.
func TestPcapngSections(t *testing.T) {
	w := &ngW{}
	w.shb(false).idb(1, 0).idb(101, 0).
		epb(1, us0, pkt(1, 20), 0).
		epb(0, us0+1, pkt(2, 20), 0)
	w.shb(true).idb(113, 0).
		epb(0, us0+2, pkt(3, 20), 0).
		epb(1, us0+3, pkt(4, 20), 0). // interface 1 belonged to the first section
		epb(0, us0+4, pkt(5, 20), 0)
	w.shb(false).idb(276, 0).
		epb(0, us0+5, pkt(6, 20), 0)
	res := readCapture(t, w.b)
	if res.err != nil {
		t.Fatal(res.err)
	}
	var lts []uint16
	var ifs []int
	var frames []int64
	for _, p := range res.pkts {
		lts = append(lts, p.LinkType)
		ifs = append(ifs, p.Interface)
		frames = append(frames, p.Frame)
	}
	if !slices.Equal(lts, []uint16{101, 1, 113, 113, 276}) || !slices.Equal(ifs, []int{1, 0, 0, 0, 0}) || !slices.Equal(frames, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("link types %v, interfaces %v, frames %v", lts, ifs, frames)
	}
	w4 := wantWarn(t, res, "packet on interface 1, but section 1 declares 1 interfaces; skipped the packet")
	if w4.Frame != 4 {
		t.Errorf("frame %d, want 4 (the skipped packet takes no frame number)", w4.Frame)
	}
	fi := res.files[0]
	if !slices.Equal(fi.LinkTypes, []uint16{1, 101, 113, 276}) || len(fi.Interfaces) != 4 || fi.Interfaces[2].Section != 1 || fi.Interfaces[3].Section != 2 {
		t.Fatalf("%+v", fi)
	}
}

func TestPcapngTimestamps(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []opt
		units  uint64
		want   int64
		resol  string
		offset int64
	}{
		{"default µs", nil, us0, t0, "µs", 0},
		{"ns", []opt{{ifTSResol, []byte{9}}}, uint64(t0), t0, "ns", 0},
		{"ms", []opt{{ifTSResol, []byte{3}}}, 1_700_000_000_123, 1_700_000_000_123_000_000, "ms", 0},
		{"seconds", []opt{{ifTSResol, []byte{0}}}, 1_700_000_000, 1_700_000_000_000_000_000, "s", 0},
		{"ps", []opt{{ifTSResol, []byte{12}}}, 1_700_000_000_123_456_789, 1_700_000_000_123_456, "ps", 0},
		{"2^-20", []opt{{ifTSResol, []byte{0x80 | 20}}}, 1_700_000_000<<20 | 1<<19, 1_700_000_000_500_000_000, "2^-20 s", 0},
		{"2^-0", []opt{{ifTSResol, []byte{0x80}}}, 5, 5_000_000_000, "2^-0 s", 0},
		{"2^-64", []opt{{ifTSResol, []byte{0x80 | 64}}}, 1 << 63, 500_000_000, "2^-64 s", 0},
		{"2^-127", []opt{{ifTSResol, []byte{0x80 | 127}}}, 1 << 63, 0, "2^-127 s", 0},
		{"10^-30", []opt{{ifTSResol, []byte{30}}}, 1 << 63, 0, "10^-30 s", 0},
		{"tsoffset", []opt{{ifTSOffset, le64(3600)}}, us0, t0 + 3600e9, "µs", 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &ngW{}
			w.shb(false).idb(1, 0, tc.opts...).epb(0, tc.units, pkt(0, 10), 0)
			res := readCapture(t, w.b)
			if res.err != nil || len(res.pkts) != 1 {
				t.Fatalf("%v %s", res.err, res.warnText())
			}
			if res.pkts[0].Timestamp != tc.want {
				t.Errorf("ts %d, want %d", res.pkts[0].Timestamp, tc.want)
			}
			ifc := res.files[0].Interfaces[0]
			if ifc.TSResolution != tc.resol || ifc.TSOffset != tc.offset || res.files[0].TimeResolution != tc.resol {
				t.Errorf("interface %+v", ifc)
			}
		})
	}
	// Interfaces with different resolutions: "mixed".
	w := &ngW{}
	w.shb(false).idb(1, 0).idb(1, 0, opt{ifTSResol, []byte{9}}).epb(0, us0, pkt(0, 10), 0).epb(1, uint64(t0), pkt(0, 10), 0)
	res := readCapture(t, w.b)
	if res.files[0].TimeResolution != "mixed" || res.pkts[0].Timestamp != t0 || res.pkts[1].Timestamp != t0 {
		t.Errorf("%+v %+v", res.files[0], res.pkts)
	}
}

func TestPcapngPacketBlocks(t *testing.T) {
	w := &ngW{}
	w.shb(false).idb(1, 100).
		epb(0, us0, pkt(1, 50), 0).
		spb(1500, pkt(2, 200)).   // snaplen 100 < body 200 < orig 1500
		spb(30, pkt(3, 32)).      // orig 30 < body (padded to 32)
		spb(1500, pkt(4, 64)).    // body 64 < snaplen and orig
		opb(0, us0+5, pkt(5, 70)) // obsolete Packet Block
	res := readCapture(t, w.b)
	if res.err != nil {
		t.Fatal(res.err)
	}
	noWarn(t, res)
	want := []struct {
		n    int
		orig int
		ts   int64
	}{{50, 50, t0}, {100, 1500, t0}, {30, 30, t0}, {64, 1500, t0}, {70, 70, t0 + 5000}}
	if len(res.pkts) != len(want) {
		t.Fatalf("%d packets", len(res.pkts))
	}
	for i, p := range res.pkts {
		if len(p.Data) != want[i].n || p.OrigLen != want[i].orig || p.Timestamp != want[i].ts || p.Data[0] != byte(i+1) || p.Frame != int64(i+1) {
			t.Errorf("packet %d: len %d orig %d ts %d frame %d", i, len(p.Data), p.OrigLen, p.Timestamp, p.Frame)
		}
	}
}

// Blocks that carry no packets are skipped by their length; those that
// Wireshark shows as frames still take a frame number.
func TestPcapngSkippedBlocks(t *testing.T) {
	w := &ngW{}
	w.shb(false).idb(1, 0).
		block(0x00000004, []byte{1, 0, 8, 0, 10, 0, 0, 1, 'h', 'o', 's', 't', 0, 0, 0, 0, 0, 0, 0, 0}). // NRB
		epb(0, us0, pkt(1, 20), 0).
		block(0x00000005, make([]byte, 12)).                    // ISB
		block(0x0000000A, make([]byte, 16)).                    // DSB
		block(0x12345678, make([]byte, 100)).                   // unknown
		block(0x80000001, make([]byte, 4)).                     // local use
		block(blockJournal, []byte("MESSAGE=hello\n\n")).       // a Wireshark frame
		block(0x00000BAD, append(le64(32473)[:4], 1, 2, 3, 4)). // custom: a Wireshark frame
		epb(0, us0+1, pkt(2, 20), 0)
	res := readCapture(t, w.b)
	if res.err != nil {
		t.Fatal(res.err)
	}
	noWarn(t, res)
	if len(res.pkts) != 2 || res.pkts[1].Frame != 4 || res.files[0].Frames != 4 || res.files[0].Packets != 2 {
		t.Fatalf("%+v %+v", res.pkts, res.files[0])
	}
}

func TestPcapngHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     []byte
		err   error
		frags []string
	}{
		{"version 2.0", (&ngW{}).shbV(false, 2, 0).idb(1, 0).epb(0, us0, pkt(0, 10), 0).b, ErrUnsupported, []string{"unknown pcapng section version 2.0"}},
		{"version 0.1", (&ngW{}).shbV(true, 0, 1).b, ErrUnsupported, []string{"version 0.1"}},
		{"shb option too long", shbOptionTooLong(), ErrNotCapture, []string{"section header option 4 of length 200 runs past the end of its block"}},
		{"bad byte-order magic", append([]byte{0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 1, 2, 3, 4}, make([]byte, 16)...), ErrNotCapture, []string{"byte-order magic"}},
		{"shb length not multiple of 4", patch((&ngW{}).shb(false).b, 4, 30), ErrNotCapture, []string{"not a multiple of 4"}},
		{"shb trailer mismatch", patch((&ngW{}).shb(false).b, 24, 32), ErrNotCapture, []string{"does not match its trailing copy"}},
		{"shb header cut short", (&ngW{}).shb(false).b[:10], ErrNotCapture, []string{"section header block cut short (10 of 12 bytes"}},
		{"shb body cut short", (&ngW{}).shb(false).b[:20], ErrNotCapture, []string{"section header block cut short (20 of 28 bytes"}},
		{"second section bad, no packets yet", (&ngW{}).shb(false).idb(1, 0).shbV(false, 3, 0).b, ErrUnsupported, []string{"version 3.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readCapture(t, tc.b)
			wantErr(t, res, tc.err, tc.frags...)
		})
	}
}

// shbOptionTooLong: an SHB whose shb_userappl option claims 200 bytes.
func shbOptionTooLong() []byte {
	w := &ngW{}
	var body []byte
	body = w.o().AppendUint32(body, 0x1A2B3C4D)
	body = w.o().AppendUint16(body, 1)
	body = w.o().AppendUint16(body, 0)
	body = w.o().AppendUint64(body, ^uint64(0))
	body = w.o().AppendUint16(body, shbUserAppl)
	body = w.o().AppendUint16(body, 200)
	body = append(body, "abcd"...)
	return w.block(blockSHB, body).idb(1, 0).epb(0, us0, pkt(0, 10), 0).b
}

// patch sets the little-endian u32 at off.
func patch(b []byte, off int, v uint32) []byte {
	b = bytes.Clone(b)
	b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	return b
}

func TestPcapngDamage(t *testing.T) {
	base := func() *ngW {
		w := &ngW{}
		return w.shb(false).idb(1, 0).epb(0, us0, pkt(1, 60), 0).epb(0, us0+1, pkt(2, 60), 0)
	}
	good := base().b
	goodLen := int64(len(good))
	third := (&ngW{}).epb(0, us0+2, pkt(3, 60), 0).b // 12+20+60 = 92 bytes
	fourth := (&ngW{}).epb(0, us0+3, pkt(4, 60), 0).b
	for _, tc := range []struct {
		name  string
		b     []byte
		pkts  int
		frags []string
		frame int64
	}{
		{"block cut short", append(bytes.Clone(good), third[:50]...), 2,
			[]string{"truncated enhanced packet block: 50 of 92 bytes", "file cut short or still being written"}, 3},
		{"block header cut short", append(bytes.Clone(good), third[:6]...), 2,
			[]string{"truncated block header: 6 of 12 bytes", "file cut short or still being written"}, 3},
		{"length not multiple of 4", append(patch(append(bytes.Clone(good), third...), int(goodLen)+4, 94), fourth...), 2,
			[]string{"enhanced packet block length 94 not a multiple of 4", "stopped reading this file"}, 3},
		{"length below 12", append(patch(append(bytes.Clone(good), third...), int(goodLen)+4, 8), fourth...), 2,
			[]string{"length 8 below the minimum 12"}, 3},
		{"length beyond maximum", append(patch(append(bytes.Clone(good), third...), int(goodLen)+4, 0x7fff_fff0), fourth...), 2,
			[]string{"length 2147483632 beyond the sane maximum 16777216"}, 3},
		{"trailer mismatch", append(patch(append(bytes.Clone(good), third...), int(goodLen)+88, 96), fourth...), 2,
			[]string{"length 92 does not match its trailing copy 96"}, 3},
		{"skipped block trailer mismatch", append(append(bytes.Clone(good), patch((&ngW{}).block(4, make([]byte, 8)).b, 16, 99)...), fourth...), 2,
			[]string{"block of type 0x00000004 length 20 does not match its trailing copy 99"}, 3},
		{"skipped block cut short", append(bytes.Clone(good), (&ngW{}).block(4, make([]byte, 100)).b[:60]...), 2,
			[]string{"truncated block of type 0x00000004: 60 of 112 bytes"}, 3},
		{"caplen past block", append(append(bytes.Clone(good), patch(third, 20, 61)...), fourth...), 3,
			[]string{"captured length 61 runs past the end of its block (60 bytes of data); skipped the packet"}, 3},
		{"undeclared interface", append(append(bytes.Clone(good), patch(third, 8, 7)...), fourth...), 3,
			[]string{"packet on interface 7, but section 0 declares 1 interfaces; skipped the packet"}, 3},
		{"epb option past block", append(append(bytes.Clone(good), epbBadOption()...), fourth...), 4,
			[]string{"packet option 1 of length 300 runs past the end of its block; kept the packet"}, 3},
		{"later section version 2", append(bytes.Clone(good), (&ngW{}).shbV(false, 2, 0).idb(1, 0).epb(0, us0+5, pkt(5, 60), 0).b...), 2,
			[]string{"unknown pcapng section version 2.0; kept the 2 packets before it and stopped reading this file"}, 3},
		{"later section option too long", append(bytes.Clone(good), shbOptionTooLong()...), 2,
			[]string{"section header option 4 of length 200 runs past the end of its block; kept the 2 packets"}, 3},
		{"idb option past block", append(append(bytes.Clone(good), patch((&ngW{}).idb(1, 0, optS(ifName, "eth1")).b, 16, 500<<16|ifName)...), fourth...), 3,
			[]string{"interface 1 option 2 of length 500 runs past the end of its block; kept the interface"}, 3},
		{"idb too short", append(append(bytes.Clone(good), (&ngW{}).block(blockIDB, []byte{1, 0, 0, 0}).b...), (&ngW{}).epb(1, us0+3, pkt(4, 60), 0).b...), 2,
			[]string{"interface description block of 4 bytes, below the minimum 8"}, 3},
		{"beyond snaplen", append((&ngW{}).shb(false).idb(1, 50).epb(0, us0, pkt(1, 40), 0).epb(0, us0, pkt(2, 60), 0).b, third...), 3,
			[]string{"captured length 60 exceeds the interface's snapshot length 50; read it anyway (reported once per file)"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readCapture(t, tc.b)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if len(res.pkts) != tc.pkts {
				t.Fatalf("%d packets, want %d:\n%s", len(res.pkts), tc.pkts, res.warnText())
			}
			if !bytes.Equal(res.pkts[1].Data, pkt(2, 60)) {
				t.Fatal("packet before the damage altered")
			}
			extra := 0
			if tc.name == "idb too short" {
				extra = 1 // and the packet on that interface is skipped
				wantWarn(t, res, "packet on unusable interface 1; skipped the packet")
			}
			if len(res.warns) != 1+extra {
				t.Fatalf("want 1 warning:\n%s", res.warnText())
			}
			w := wantWarn(t, res, tc.frags...)
			if w.Frame != tc.frame || w.Offset < 28 {
				t.Fatalf("frame %d offset %d: %v", w.Frame, w.Offset, w)
			}
			if tc.frame == 3 && w.Offset != goodLen {
				t.Fatalf("offset %d, want %d", w.Offset, goodLen)
			}
		})
	}
}

// epbBadOption is an EPB whose comment option claims 300 bytes.
func epbBadOption() []byte {
	w := &ngW{}
	w.epb(0, us0+2, pkt(3, 60), 0, opt{optComment, []byte("abcd")})
	// The option header sits after 8 (block header) + 20 + 60 bytes.
	b := bytes.Clone(w.b)
	b[88+2], b[88+3] = byte(300&0xff), byte(300>>8)
	return b
}

func TestPcapngNoInterfaces(t *testing.T) {
	w := &ngW{}
	w.shb(false).spb(10, pkt(0, 10)).epb(0, us0, pkt(0, 10), 0)
	res := readCapture(t, w.b)
	if res.err != nil || len(res.pkts) != 0 || len(res.warns) != 2 {
		t.Fatalf("%v %d:\n%s", res.err, len(res.pkts), res.warnText())
	}
}

func TestPcapngSectionOnly(t *testing.T) {
	res := readCapture(t, (&ngW{}).shb(false).b)
	if res.err != nil || len(res.pkts) != 0 || res.files[0].Format != "pcapng" {
		t.Fatalf("%v %+v", res.err, res.files)
	}
	noWarn(t, res)
}

func TestPcapngBlockLargerThanBuffer(t *testing.T) {
	big := pkt(9, 300_000) // pcapng blocks may exceed pcap's 256 KiB record limit
	w := &ngW{}
	w.shb(false).idb(1, 0).epb(0, us0, pkt(1, 60), 0).epb(0, us0+1, big, 0).epb(0, us0+2, pkt(3, 60), 0)
	res := readAll(t, []string{"-"}, Options{BufferSize: 1000, Stdin: bytes.NewReader(w.b)})
	if res.err != nil || len(res.pkts) != 3 || !bytes.Equal(res.pkts[1].Data, big) || !bytes.Equal(res.pkts[2].Data, pkt(3, 60)) {
		t.Fatalf("%v %d %s", res.err, len(res.pkts), res.warnText())
	}
}

// Simple Packet Blocks before any packet with a timestamp have no time to
// take (Wireshark shows them at 1970): they are read and numbered, but stay
// out of the file's span, which is the timestamped packets' (not 50 years).
// A file of SPBs only has the span of time 0, as in Wireshark.
func TestPcapngUntimedSPBs(t *testing.T) {
	w := &ngW{}
	w.shb(false).idb(1, 0).spb(60, pkt(1, 60)).spb(60, pkt(2, 60)).epb(0, us0, pkt(3, 60), 0).spb(60, pkt(4, 60)).epb(0, us0+7, pkt(5, 60), 0)
	res := readCapture(t, w.b)
	if res.err != nil || len(res.pkts) != 5 {
		t.Fatalf("%v, %d packets", res.err, len(res.pkts))
	}
	noWarn(t, res)
	for i, p := range res.pkts {
		if p.Frame != int64(i+1) {
			t.Errorf("packet %d: frame %d", i, p.Frame)
		}
	}
	if res.pkts[3].Timestamp != t0 {
		t.Errorf("an SPB after a timed packet takes its time: %d", res.pkts[3].Timestamp)
	}
	if fi := res.files[0]; fi.First != t0 || fi.Last != t0+7000 || fi.Packets != 5 {
		t.Errorf("span %d..%d, %d packets; want %d..%d, 5", fi.First, fi.Last, fi.Packets, t0, t0+7000)
	}
	res = readCapture(t, (&ngW{}).shb(false).idb(1, 0).spb(60, pkt(1, 60)).spb(60, pkt(2, 60)).b)
	if fi := res.files[0]; fi.First != 0 || fi.Last != 0 || fi.Packets != 2 {
		t.Errorf("SPBs only: span %d..%d, %d packets", fi.First, fi.Last, fi.Packets)
	}
}

// A record whose original length is below its captured length is damaged
// (a warning, so --strict fails), and counts the bytes it holds.
func TestOrigLenBelowCapLen(t *testing.T) {
	for name, b := range map[string][]byte{
		"pcap":   pcapFile(pcapHdr{}, rec{ts: t0, data: pkt(1, 60), orig: 30, caplen: -1}, rec{ts: t0, data: pkt(2, 60), orig: 20, caplen: -1}),
		"pcapng": (&ngW{}).shb(false).idb(1, 0).epb(0, us0, pkt(1, 60), 30).epb(0, us0, pkt(2, 60), 20).b,
	} {
		t.Run(name, func(t *testing.T) {
			res := readCapture(t, b)
			if res.err != nil || len(res.pkts) != 2 {
				t.Fatalf("%v, %d packets", res.err, len(res.pkts))
			}
			w := wantWarn(t, res, "frame 1: original length 30 is below the captured length 60; counted the 60 captured bytes (reported once per file)")
			if len(res.warns) != 1 || w.Frame != 1 {
				t.Errorf("warnings:\n%s", res.warnText())
			}
			if res.pkts[0].OrigLen != 60 || res.pkts[1].OrigLen != 60 || res.files[0].Bytes != 120 {
				t.Errorf("orig %d, %d, bytes %d: want the captured 60, 60, 120", res.pkts[0].OrigLen, res.pkts[1].OrigLen, res.files[0].Bytes)
			}
		})
	}
}

package capgen_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/pcapx/pcapx/internal/capgen"
)

var t0 = capgen.Epoch.Add(123456789 * time.Nanosecond)

func testFrames() []capgen.Frame {
	ip := capgen.IP{Src: v4a, Dst: v4b}
	var fs []capgen.Frame
	for i := range 5 {
		pkt := ip.UDP(1000, 53, bytes.Repeat([]byte{byte(i)}, 50*i))
		fs = append(fs, capgen.Frame{Time: t0.Add(time.Duration(i) * 1001 * time.Nanosecond), Data: capgen.DefaultEthernet.AppendFrame(nil, pkt)})
	}
	return fs
}

func TestPcapWriterRoundTrip(t *testing.T) {
	for _, o := range []capgen.PcapOptions{
		{LinkType: capgen.LinkTypeEthernet},
		{LinkType: capgen.LinkTypeEthernet, BigEndian: true},
		{LinkType: capgen.LinkTypeEthernet, Nanosecond: true},
		{LinkType: capgen.LinkTypeEthernet, Nanosecond: true, BigEndian: true},
		{LinkType: capgen.LinkTypeEthernet, Snaplen: 64},
		{LinkType: capgen.LinkTypeLinuxSLL2},
	} {
		var b bytes.Buffer
		w, err := capgen.NewPcapWriter(&b, o)
		if err != nil {
			t.Fatal(err)
		}
		fs := testFrames()
		for _, f := range fs {
			if err := w.WriteFrame(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if w.Count() != len(fs) || w.Offset() != int64(b.Len()) {
			t.Errorf("Count %d Offset %d, file %d bytes", w.Count(), w.Offset(), b.Len())
		}
		r, err := pcapgo.NewReader(&b)
		if err != nil {
			t.Fatal(err)
		}
		if r.LinkType() != layers.LinkType(o.LinkType) {
			t.Errorf("%+v: link type %v", o, r.LinkType())
		}
		if o.Snaplen != 0 && r.Snaplen() != o.Snaplen {
			t.Errorf("%+v: snaplen %d", o, r.Snaplen())
		}
		for i, f := range fs {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatalf("%+v: record %d: %v", o, i, err)
			}
			want := f.Time
			if !o.Nanosecond {
				want = want.Truncate(time.Microsecond)
			}
			if !ci.Timestamp.Equal(want) {
				t.Errorf("%+v: record %d at %v, want %v", o, i, ci.Timestamp, want)
			}
			wantData := f.Data
			if o.Snaplen != 0 && len(wantData) > int(o.Snaplen) {
				wantData = wantData[:o.Snaplen]
			}
			if !bytes.Equal(data, wantData) || ci.Length != len(f.Data) || ci.CaptureLength != len(wantData) {
				t.Errorf("%+v: record %d: %d/%d bytes", o, i, ci.CaptureLength, ci.Length)
			}
		}
		if _, _, err := r.ReadPacketData(); err != io.EOF {
			t.Errorf("%+v: after the last record: %v", o, err)
		}
	}
}

func TestPcapWriteRecordMayLie(t *testing.T) {
	var b bytes.Buffer
	w, _ := capgen.NewPcapWriter(&b, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
	w.WriteRecord(1, 2, 0x41414141, 0x41414141, []byte("AAAA"))
	w.Flush()
	r, err := pcapgo.NewReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.ReadPacketData(); err == nil {
		t.Fatal("a 0x41414141-byte record was accepted")
	}
}

func TestNgWriterRoundTrip(t *testing.T) {
	var b bytes.Buffer
	w, err := capgen.NewNgWriter(&b, capgen.NgSection{Comment: "hello", OS: "Linux"})
	if err != nil {
		t.Fatal(err)
	}
	eth, _ := w.AddInterface(capgen.NgInterface{LinkType: capgen.LinkTypeEthernet, Name: "eth0"})
	raw, _ := w.AddInterface(capgen.NgInterface{LinkType: capgen.LinkTypeRaw, Name: "tun0", TsResol: 9, Snaplen: 60})
	pow, _ := w.AddInterface(capgen.NgInterface{LinkType: capgen.LinkTypeEthernet, Name: "fpga", TsResol: 0x80 | 20})
	fs := testFrames()
	ip := capgen.IP{Src: v4a, Dst: v4b}
	rawPkt := ip.UDP(1, 2, make([]byte, 100))
	writes := []capgen.Frame{
		{Time: fs[0].Time, Data: fs[0].Data, Iface: eth, Comment: "first"},
		{Time: fs[1].Time, Data: rawPkt, Iface: raw},
		{Time: fs[2].Time, Data: fs[2].Data, Iface: pow},
		{Time: fs[3].Time, Data: fs[3].Data, Iface: eth},
	}
	for _, f := range writes {
		if err := w.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteSimple(fs[4].Data, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.InterfaceStats(eth, fs[4].Time, 3, 0); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(capgen.Frame{Iface: 9}); err == nil {
		t.Error("frame on an undefined interface accepted")
	}
	w.Flush()
	if w.Count() != 5 || w.Offset() != int64(b.Len()) {
		t.Errorf("Count %d Offset %d, file %d", w.Count(), w.Offset(), b.Len())
	}

	r, err := pcapgo.NewNgReader(bytes.NewReader(b.Bytes()), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range writes {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if ci.InterfaceIndex != f.Iface {
			t.Errorf("packet %d on interface %d, want %d", i, ci.InterfaceIndex, f.Iface)
		}
		tol := time.Microsecond
		switch f.Iface {
		case raw:
			tol = 0
		case pow:
			// One tick is 2^-20 s; gopacket's NgReader also scales
			// binary resolutions with a truncated 1e9/2^20 = 953, which
			// loses up to 0.07% of the fraction (tshark reads it exactly).
			tol = 100 * time.Microsecond
		}
		if d := ci.Timestamp.Sub(f.Time); d > 0 || d < -tol {
			t.Errorf("packet %d at %v, want %v (±%v)", i, ci.Timestamp, f.Time, tol)
		}
		want := f.Data
		if f.Iface == raw {
			want = want[:60]
		}
		if !bytes.Equal(data, want) || ci.Length != len(f.Data) {
			t.Errorf("packet %d: %d/%d bytes", i, len(data), ci.Length)
		}
	}
	data, _, err := r.ReadPacketData()
	if err != nil || !bytes.Equal(data, fs[4].Data) {
		t.Errorf("simple packet block: %v", err)
	}
	if _, _, err := r.ReadPacketData(); err != io.EOF {
		t.Errorf("after the last block: %v", err)
	}
}

func TestNgWriterSections(t *testing.T) {
	var b bytes.Buffer
	w, _ := capgen.NewNgWriter(&b, capgen.NgSection{})
	w.AddInterface(capgen.NgInterface{LinkType: capgen.LinkTypeEthernet})
	fs := testFrames()
	w.WriteFrame(fs[0])
	if err := w.NewSection(capgen.NgSection{BigEndian: true}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame(fs[1]); err == nil {
		t.Error("interface of the previous section still usable")
	}
	w.AddInterface(capgen.NgInterface{LinkType: capgen.LinkTypeEthernet, TsResol: 9})
	w.WriteFrame(fs[1])
	w.Flush()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b.Bytes()), pcapgo.NgReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(data, fs[i].Data) {
			t.Errorf("packet %d differs", i)
		}
		if i == 1 && !ci.Timestamp.Equal(fs[1].Time) {
			t.Errorf("ns timestamp in the big-endian section: %v, want %v", ci.Timestamp, fs[1].Time)
		}
	}
}

func TestNgRawBlockLies(t *testing.T) {
	var b bytes.Buffer
	w, _ := capgen.NewNgWriter(&b, capgen.NgSection{})
	start := w.Offset()
	w.WriteRawBlock(capgen.BlockEPB, make([]byte, 40), 52, 56)
	w.Flush()
	blk := b.Bytes()[start:]
	if len(blk) != 52 {
		t.Fatalf("block is %d bytes, want 52", len(blk))
	}
	if binary.LittleEndian.Uint32(blk[4:]) != 52 || binary.LittleEndian.Uint32(blk[48:]) != 56 {
		t.Errorf("lengths %d/%d, want 52/56", binary.LittleEndian.Uint32(blk[4:]), binary.LittleEndian.Uint32(blk[48:]))
	}
}

func TestCompress(t *testing.T) {
	data := bytes.Repeat([]byte("capture bytes "), 1000)
	for _, c := range []capgen.Compression{capgen.NoCompression, capgen.Gzip, capgen.Zstd} {
		var outs [2][]byte
		for i := range outs {
			var b bytes.Buffer
			w, err := capgen.Compress(&b, c)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			outs[i] = b.Bytes()
		}
		if !bytes.Equal(outs[0], outs[1]) {
			t.Errorf("%v: output not deterministic", c)
		}
		var got []byte
		switch c {
		case capgen.NoCompression:
			got = outs[0]
		case capgen.Gzip:
			if outs[0][0] != 0x1f || outs[0][1] != 0x8b {
				t.Errorf("gzip magic %x", outs[0][:2])
			}
			r, err := gzip.NewReader(bytes.NewReader(outs[0]))
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(r)
		case capgen.Zstd:
			r, err := zstd.NewReader(bytes.NewReader(outs[0]))
			if err != nil {
				t.Fatal(err)
			}
			got, _ = io.ReadAll(r)
			r.Close()
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%v: round trip differs", c)
		}
	}
}

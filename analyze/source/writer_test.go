package source

// A minimal pcap and pcapng writer for the tests: small captures built in
// memory, including deliberately broken ones. Kept apart from the reader so
// that a bug in one is not mirrored in the other.

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// pcapHdr is a pcap file header; zero fields get defaults from pcapFile.
type pcapHdr struct {
	be       bool
	nsec     bool
	major    uint16 // default 2
	minor    uint16 // default 4
	snaplen  uint32 // default 65535
	linkType uint32 // default 1 (Ethernet)
	setLT    bool   // linkType is meant even when 0
}

// rec is one pcap record. caplen < 0 means len(data); orig 0 means len(data).
type rec struct {
	ts     int64 // ns since the epoch
	data   []byte
	orig   int
	caplen int
}

func bo(be bool) binary.AppendByteOrder {
	if be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// pcapFile builds a pcap file.
func pcapFile(h pcapHdr, recs ...rec) []byte {
	if h.major == 0 {
		h.major = 2
	}
	if h.minor == 0 && h.major == 2 {
		h.minor = 4
	}
	if h.snaplen == 0 {
		h.snaplen = 65535
	}
	if h.linkType == 0 && !h.setLT {
		h.linkType = 1
	}
	o := bo(h.be)
	var b []byte
	magic := uint32(0xa1b2c3d4)
	if h.nsec {
		magic = 0xa1b23c4d
	}
	b = o.AppendUint32(b, magic)
	b = o.AppendUint16(b, h.major)
	b = o.AppendUint16(b, h.minor)
	b = o.AppendUint32(b, 0) // thiszone
	b = o.AppendUint32(b, 0) // sigfigs
	b = o.AppendUint32(b, h.snaplen)
	b = o.AppendUint32(b, h.linkType)
	for _, r := range recs {
		b = appendPcapRec(b, h, r)
	}
	return b
}

func appendPcapRec(b []byte, h pcapHdr, r rec) []byte {
	o := bo(h.be)
	sec := r.ts / 1e9
	frac := r.ts % 1e9
	if !h.nsec {
		frac /= 1e3
	}
	caplen := r.caplen
	if caplen < 0 {
		caplen = len(r.data)
	}
	orig := r.orig
	if orig == 0 {
		orig = len(r.data)
	}
	b = o.AppendUint32(b, uint32(sec))
	b = o.AppendUint32(b, uint32(frac))
	b = o.AppendUint32(b, uint32(caplen))
	b = o.AppendUint32(b, uint32(orig))
	return append(b, r.data...)
}

// pkt makes a recognisable payload: n bytes starting with the seed.
func pkt(seed byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

func r(tsNS int64, data []byte) rec { return rec{ts: tsNS, data: data, caplen: -1} }

// ngW builds a pcapng file block by block.
type ngW struct {
	b  []byte
	be bool
}

type opt struct {
	code uint16
	val  []byte
}

func optS(code uint16, s string) opt { return opt{code, []byte(s)} }

func (w *ngW) o() binary.AppendByteOrder { return bo(w.be) }

func (w *ngW) opts(b []byte, opts []opt) []byte {
	if len(opts) == 0 {
		return b
	}
	o := w.o()
	for _, op := range opts {
		b = o.AppendUint16(b, op.code)
		b = o.AppendUint16(b, uint16(len(op.val)))
		b = append(b, op.val...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
	}
	return append(b, 0, 0, 0, 0) // opt_endofopt
}

// block appends a block with correct lengths, padding the body to 4.
func (w *ngW) block(typ uint32, body []byte) *ngW {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	o := w.o()
	n := uint32(12 + len(body))
	w.b = o.AppendUint32(w.b, typ)
	w.b = o.AppendUint32(w.b, n)
	w.b = append(w.b, body...)
	w.b = o.AppendUint32(w.b, n)
	return w
}

// shb starts a section in byte order be, version 1.0.
func (w *ngW) shb(be bool, opts ...opt) *ngW { return w.shbV(be, 1, 0, opts...) }

func (w *ngW) shbV(be bool, major, minor uint16, opts ...opt) *ngW {
	w.be = be
	o := w.o()
	var body []byte
	body = o.AppendUint32(body, 0x1A2B3C4D)
	body = o.AppendUint16(body, major)
	body = o.AppendUint16(body, minor)
	body = o.AppendUint64(body, ^uint64(0)) // section length unknown
	body = w.opts(body, opts)
	return w.block(blockSHB, body)
}

func (w *ngW) idb(linkType uint16, snaplen uint32, opts ...opt) *ngW {
	o := w.o()
	var body []byte
	body = o.AppendUint16(body, linkType)
	body = o.AppendUint16(body, 0)
	body = o.AppendUint32(body, snaplen)
	body = w.opts(body, opts)
	return w.block(blockIDB, body)
}

// epb appends an Enhanced Packet Block; ts is in interface units.
func (w *ngW) epb(ifid uint32, ts uint64, data []byte, orig int, opts ...opt) *ngW {
	o := w.o()
	if orig == 0 {
		orig = len(data)
	}
	var body []byte
	body = o.AppendUint32(body, ifid)
	body = o.AppendUint32(body, uint32(ts>>32))
	body = o.AppendUint32(body, uint32(ts))
	body = o.AppendUint32(body, uint32(len(data)))
	body = o.AppendUint32(body, uint32(orig))
	body = append(body, data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	body = w.opts(body, opts)
	return w.block(blockEPB, body)
}

// opb appends an obsolete Packet Block.
func (w *ngW) opb(ifid uint16, ts uint64, data []byte) *ngW {
	o := w.o()
	var body []byte
	body = o.AppendUint16(body, ifid)
	body = o.AppendUint16(body, 0) // drops
	body = o.AppendUint32(body, uint32(ts>>32))
	body = o.AppendUint32(body, uint32(ts))
	body = o.AppendUint32(body, uint32(len(data)))
	body = o.AppendUint32(body, uint32(len(data)))
	body = append(body, data...)
	return w.block(blockOPB, body)
}

func (w *ngW) spb(orig uint32, data []byte) *ngW {
	body := w.o().AppendUint32(nil, orig)
	body = append(body, data...)
	return w.block(blockSPB, body)
}

func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func gz(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// writeFile writes b into dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

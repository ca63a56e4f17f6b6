package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/pcapx/pcapx/internal/capgen"
)

// ringWriter sends each frame to the ring file that holds its hour.
type ringWriter struct {
	files []*capture // by hour since start
	start time.Time
}

func (r *ringWriter) WriteFrame(f capgen.Frame) error {
	h := int(f.Time.Sub(r.start) / time.Hour)
	return r.files[min(h, len(r.files)-1)].WriteFrame(f)
}

func (g *generator) ring() {
	const grp = "Ring buffer"
	// tcpdump -G 3600 -W 3 style: the file names cycle, so after a
	// wrap ring-0 holds the newest hour.
	order := []struct {
		name string
		hour int
	}{{"ring/ring-1.pcap", 0}, {"ring/ring-2.pcap", 1}, {"ring/ring-0.pcap", 2}}
	rw := &ringWriter{start: capgen.Epoch}
	for _, o := range order {
		fx := g.add(&fixture{Path: o.name, Group: grp, Desc: fmt.Sprintf(`
Part of a three-file ring buffer (a fourth file, ring-3.pcap, exists but is
empty). This file holds hour %d of the capture (from %s). Names sort
ring-0, ring-1, ring-2 but time runs ring-1 → ring-2 → ring-0: a reader merging
a directory must order files (or packets) by time, not by name. One PostgreSQL-like
connection 192.0.2.10:51000 → 198.51.100.20:5432 spans all three files: its
handshake is in ring-1, a query every 20 minutes, its FIN close near the end of
ring-0; merged, TCP analysis flags nothing. Each file read alone starts
mid-stream (ring-2, ring-0).`, o.hour+1, capgen.Epoch.Add(time.Duration(o.hour)*time.Hour).Format(time.RFC3339))})
		rw.files = append(rw.files, pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet}))
	}
	db := netip.AddrPortFrom(srvEP.Addr(), 5432)
	t := capgen.NewTCPConn(rw, cliEP, db, &capgen.TCPOptions{Start: capgen.Epoch.Add(90 * time.Second)})
	dnsPair(rw, capgen.DefaultEthernet, 0, capgen.Epoch.Add(89*time.Second), netip.AddrPortFrom(cliEP.Addr(), 40000), resolver, 7, "db.example.com", db.Addr(), 2*ms)
	t.Handshake(2 * ms)
	for q := range 8 {
		t.SendData(C, pgQuery(fmt.Sprintf("SELECT count(*) FROM t%d;", q)))
		t.Sleep(5 * ms)
		t.SendData(S, bytes.Repeat([]byte("D"), 200+q))
		t.Ack(C)
		t.Sleep(20*time.Minute - 5*ms)
	}
	t.Close(C)
	for _, c := range rw.files {
		c.done()
	}
	g.add(&fixture{Path: "ring/ring-3.pcap", Group: grp, Format: "empty", Error: "empty file (0 bytes): a ring file not written yet; skip it, do not fail",
		Desc: "The fourth ring file, created but not yet written: 0 bytes. In a directory scan it must be skipped with at most a warning, and never abort the run."})
}

func (g *generator) bad() {
	const grp = "Damaged and hostile input"
	// The base file: the short exchange as pcap-le-us.
	base := &fixture{}
	c := pcapCapture(base, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
	exchange(c, cliEP, srvEP, nil)
	c.done()
	recs := pcapRecords(base.Data)
	last := recs[len(recs)-1]

	add := func(path, format, desc, errText string, packets int, data []byte) {
		g.add(&fixture{Path: path, Group: grp, Format: format, Desc: desc, Error: errText, Packets: packets, Data: data})
	}

	cut := last.off + 16 + (last.n / 2)
	add("bad/truncated-record.pcap", "pcap-le-us",
		"The short exchange with its last record cut in the middle of the packet data, as when the capture process was killed or the file is still being written.",
		fmt.Sprintf("truncated record: frame %d at offset %d declares %d bytes, %d present", len(recs), last.off, last.n, cut-last.off-16),
		len(recs)-1, base.Data[:cut])

	add("bad/truncated-file-header.pcap", "pcap-le-us",
		"Only the first 12 bytes of a pcap file header.",
		"truncated file header (12 of 24 bytes)", 0, base.Data[:12])

	// A record longer than the file's snapshot length.
	{
		fx := &fixture{}
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet, Snaplen: 128})
		exchange(capgen.FrameWriter(rawPcap{c, 128}), cliEP, srvEP, nil)
		c.done()
		r := pcapRecords(fx.Data)
		add("bad/record-beyond-snaplen.pcap", "pcap-le-us",
			fmt.Sprintf("The short exchange in a file whose header says snaplen 128, but the request and response records (frames 4 and 5) hold %d and %d bytes: incl_len beyond the snapshot length. The data is all there; a reader should keep the records and warn (tshark reads them silently).", r[3].n, r[4].n),
			"warning: frames 4 and 5 have incl_len > snaplen 128 (data present)", len(r), fx.Data)
	}

	huge := bytes.Clone(base.Data)
	binary.LittleEndian.PutUint32(huge[recs[2].off+8:], 0x41414141)
	add("bad/record-len-41414141.pcap", "pcap-le-us",
		fmt.Sprintf("The short exchange with the third record's incl_len replaced by 0x41414141 (1094795585, \"AAAA\") at offset %d: a reader must not try to allocate it.", recs[2].off+8),
		fmt.Sprintf("record length 1094795585 exceeds the maximum (frame 3 at offset %d)", recs[2].off), 2, huge)

	wrong := bytes.Clone(base.Data)
	binary.LittleEndian.PutUint32(wrong, 0xdeadbeef)
	add("bad/wrong-magic.pcap", "unknown",
		"The short exchange with the file magic replaced by 0xdeadbeef (stored ef be ad de): not pcap, pcapng, gzip or zstd.",
		"unknown file format (magic ef be ad de)", 0, wrong)

	add("bad/empty.pcap", "empty", "A file of 0 bytes.", "empty file (0 bytes)", 0, []byte{})

	{
		fx := g.add(&fixture{Path: "bad/header-only.pcap", Group: grp, Desc: "A valid pcap file (le, µs, Ethernet) with no records: zero packets, not an error."})
		c := pcapCapture(fx, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		c.done()
	}

	// pcapng blocks whose lengths lie.
	ngBase := func() (*fixture, *capture, *capgen.NgWriter) {
		fx := &fixture{}
		c, nw := ngCapture(fx, capgen.NgSection{}, capgen.NgInterface{LinkType: capgen.LinkTypeEthernet})
		return fx, c, nw
	}
	{
		fx, c, nw := ngBase()
		var fr capgen.Frames
		exchange(&fr, cliEP, srvEP, nil)
		for _, f := range fr[:3] {
			must(c.WriteFrame(f))
		}
		off := nw.Offset()
		body := epbBody(fr[3])
		must(nw.WriteRawBlock(capgen.BlockEPB, body[:64], 0x00100000, 0x00100000))
		c.done()
		add("bad/pcapng-block-length-beyond-eof.pcapng", "pcapng",
			fmt.Sprintf("pcapng: SHB, IDB, three EPBs, then an EPB at offset %d whose block total length says 1 MiB (0x00100000) while the file ends 76 bytes later.", off),
			fmt.Sprintf("block at offset %d claims 1048576 bytes beyond the end of the file", off), 3, fx.Data)
	}
	{
		fx, c, nw := ngBase()
		var fr capgen.Frames
		exchange(&fr, cliEP, srvEP, nil)
		for _, f := range fr[:2] {
			must(c.WriteFrame(f))
		}
		off := nw.Offset()
		body := epbBody(fr[2])
		l := uint32(12 + len(body))
		must(nw.WriteRawBlock(capgen.BlockEPB, body, l, l+64))
		for _, f := range fr[3:] {
			must(c.WriteFrame(f))
		}
		c.done()
		add("bad/pcapng-block-length-mismatch.pcapng", "pcapng",
			fmt.Sprintf("pcapng: the third EPB (offset %d) has a correct leading block length but a trailing copy 64 larger; the blocks after it are intact.", off),
			fmt.Sprintf("block at offset %d: trailing length %d does not match leading %d", off, l+64, l), 2, fx.Data)
	}
	{
		fx, c, nw := ngBase()
		var fr capgen.Frames
		exchange(&fr, cliEP, srvEP, nil)
		for _, f := range fr[:2] {
			must(c.WriteFrame(f))
		}
		off := nw.Offset()
		body := epbBody(fr[2])
		must(nw.WriteRawBlock(capgen.BlockEPB, body, 8, 8))
		c.done()
		add("bad/pcapng-block-length-too-small.pcapng", "pcapng",
			fmt.Sprintf("pcapng: the third EPB (offset %d) says its total length is 8, less than the 12-byte minimum of any block: a reader that trusts it loops or misparses.", off),
			fmt.Sprintf("block at offset %d: total length 8 is below the minimum of 12", off), 2, fx.Data)
	}

	// A gzip stream cut short.
	{
		z := compress(base.Data, capgen.Gzip)
		z = z[:len(z)*2/3]
		n := readablePackets(z)
		add("bad/gzip-truncated.pcap.gz", "pcap-le-us+gzip",
			"The gzip-compressed short exchange, cut after two thirds of the compressed bytes (no gzip trailer): decompression ends with an unexpected EOF. The packets decompressed before that are readable.",
			fmt.Sprintf("gzip: unexpected EOF after %d complete records", n), n, z)
	}
}

// pgQuery returns a PostgreSQL simple query message.
func pgQuery(q string) []byte {
	b := binary.BigEndian.AppendUint32([]byte{'Q'}, uint32(4+len(q)+1))
	return append(append(b, q...), 0)
}

// rawPcap writes frames with incl_len = len(data) even beyond the snapshot
// length.
type rawPcap struct {
	c       *capture
	snaplen int
}

func (r rawPcap) WriteFrame(f capgen.Frame) error {
	r.c.n++
	r.c.fx.Frames = append(r.c.fx.Frames, frameInfo{N: r.c.n, Time: f.Time, Summary: r.c.desc.describe(capgen.LinkTypeEthernet, f.Data)})
	pw := r.c.w.(*capgen.PcapWriter)
	ns := f.Time.UnixNano()
	return pw.WriteRecord(uint32(ns/1e9), uint32(ns%1e9/1000), uint32(len(f.Data)), uint32(len(f.Data)), f.Data)
}

type pcapRec struct{ off, n int }

// pcapRecords lists the records of a little-endian pcap.
func pcapRecords(b []byte) []pcapRec {
	var out []pcapRec
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		out = append(out, pcapRec{off, n})
		off += 16 + n
	}
	return out
}

// readablePackets decompresses as much of a gzip'd pcap as possible and
// counts its complete records.
func readablePackets(z []byte) int {
	r, err := gzip.NewReader(bytes.NewReader(z))
	must(err)
	var out bytes.Buffer
	io.Copy(&out, r) // ends with io.ErrUnexpectedEOF by design
	b := out.Bytes()
	n := 0
	for _, rec := range pcapRecords(b) {
		if rec.off+16+rec.n <= len(b) {
			n++
		}
	}
	return n
}

// epbBody returns the body of an EPB for f on interface 0, µs resolution.
func epbBody(f capgen.Frame) []byte {
	ts := uint64(f.Time.UnixNano() / 1000)
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(ts>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(ts))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(f.Data)))
	b = append(b, f.Data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

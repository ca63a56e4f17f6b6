package source

import (
	"encoding/binary"
	"fmt"
	"io"
	"math/bits"
	"strings"
)

// pcapng file format, as documented in draft-ietf-opsawg-pcapng: a sequence
// of blocks, each
//
//	block type u32, block total length u32, body, block total length u32
//
// in the byte order of the section they belong to. A Section Header Block
// (SHB) starts each section; its byte-order magic, which follows the length,
// tells the order. Interface Description Blocks (IDB) declare the interfaces
// of the section, numbered from 0; packets (EPB, SPB, obsolete PB) refer to
// them. Options are (code u16, length u16, value padded to 4 bytes), ended
// by code 0.

const (
	blockSHB     = 0x0A0D0D0A
	blockIDB     = 0x00000001
	blockOPB     = 0x00000002 // obsolete Packet Block
	blockSPB     = 0x00000003
	blockEPB     = 0x00000006
	blockJournal = 0x00000009 // systemd Journal Export Block

	optEnd     = 0
	optComment = 1

	shbHardware = 2
	shbOS       = 3
	shbUserAppl = 4

	ifName        = 2
	ifDescription = 3
	ifTSResol     = 9
	ifTSOffset    = 14

	ngBlockMin = 12
)

// ngIface is what a packet needs from its interface.
type ngIface struct {
	linkType uint16
	snaplen  uint32
	bad      bool // the IDB was too short to read: packets on it are skipped
	tsKind   uint8
	tsFactor uint64 // multiplier, divisor or shift, by tsKind
	tsOffset int64  // if_tsoffset in ns
}

const (
	tsMul  uint8 = iota // units * tsFactor = ns (resolution coarser than or equal to 1 ns)
	tsDiv               // units / tsFactor = ns (finer than 1 ns)
	tsPow2              // units / 2^tsFactor seconds
	tsZero              // a resolution so fine every timestamp rounds to 0
)

// setResolution applies an if_tsresol value: a power of 10, or of 2 when the
// high bit is set. It returns the resolution as text.
func (c *ngIface) setResolution(v uint8) string {
	e := uint64(v & 0x7f)
	if v&0x80 != 0 {
		c.tsKind, c.tsFactor = tsPow2, e
		return fmt.Sprintf("2^-%d s", e)
	}
	switch {
	case e <= 9:
		c.tsKind, c.tsFactor = tsMul, pow10(9-e)
	case e-9 <= 19: // 10^19 is the largest power of 10 in a uint64
		c.tsKind, c.tsFactor = tsDiv, pow10(e-9)
	default:
		c.tsKind = tsZero
	}
	switch e {
	case 0:
		return "s"
	case 3:
		return "ms"
	case 6:
		return "µs"
	case 9:
		return "ns"
	case 12:
		return "ps"
	}
	return fmt.Sprintf("10^-%d s", e)
}

func pow10(e uint64) uint64 {
	p := uint64(1)
	for range e {
		p *= 10
	}
	return p
}

// ns converts a timestamp in interface units to ns since the epoch.
// Overflow wraps silently (a garbage timestamp is still just a timestamp);
// it never panics.
func (c *ngIface) ns(units uint64) int64 {
	var ns uint64
	switch c.tsKind {
	case tsMul:
		ns = units * c.tsFactor
	case tsDiv:
		ns = units / c.tsFactor
	case tsPow2:
		sh := uint(c.tsFactor)
		var sec, frac uint64
		if sh >= 64 {
			frac = units
		} else {
			sec, frac = units>>sh, units&(1<<sh-1)
		}
		// frac * 1e9 / 2^sh, with a 128-bit product so no precision is lost.
		hi, lo := bits.Mul64(frac, 1e9)
		var f uint64
		switch {
		case sh == 0:
		case sh < 64:
			f = hi<<(64-sh) | lo>>sh
		default:
			f = hi >> (sh - 64)
		}
		ns = sec*1e9 + f
	}
	return int64(ns) + c.tsOffset
}

// wiresharkFrame tells the non-packet blocks that tshark 4.0 numbers as
// frames (checked by hand: a systemd Journal Export Block, custom blocks of
// any PEN, and sysdig event blocks each take a frame number; name
// resolution, statistics, decryption secrets and unknown blocks do not).
func wiresharkFrame(typ uint32) bool {
	switch typ {
	case blockJournal, 0x00000BAD, 0x40000BAD, 0x00000204, 0x00000216, 0x00000221:
		return true
	}
	return false
}

// checkBlockLen says what is wrong with a block total length, or "".
func checkBlockLen(n uint32) string {
	switch {
	case n < ngBlockMin:
		return fmt.Sprintf("below the minimum %d", ngBlockMin)
	case n%4 != 0:
		return "not a multiple of 4"
	case n > MaxBlockLen:
		return fmt.Sprintf("beyond the sane maximum %d", MaxBlockLen)
	}
	return ""
}

func blockName(t uint32) string {
	switch t {
	case blockSHB:
		return "section header block"
	case blockIDB:
		return "interface description block"
	case blockEPB:
		return "enhanced packet block"
	case blockSPB:
		return "simple packet block"
	case blockOPB:
		return "packet block"
	}
	return fmt.Sprintf("block of type 0x%08x", t)
}

// nextPcapng reads blocks until the next packet.
func (in *input) nextPcapng() (bool, error) {
	for {
		off := in.off
		h, err := in.br.Peek(ngBlockMin)
		if len(h) < ngBlockMin {
			if len(h) == 0 && err == io.EOF {
				return false, nil // the clean end
			}
			if in.section < 0 {
				return in.cutBlock(off, err, blockSHB, len(h), ngBlockMin)
			}
			return in.cut(off, err, "block header", len(h), ngBlockMin)
		}
		typ := u32(h, in.be) // 0x0A0D0D0A reads the same in both orders
		if typ == blockSHB {
			switch binary.LittleEndian.Uint32(h[8:]) {
			case 0x1A2B3C4D:
				in.be = false
			case 0x4D3C2B1A:
				in.be = true
			default:
				return in.sectionProblem(off, notCapture("unknown byte-order magic 0x%08x in section header block", binary.LittleEndian.Uint32(h[8:])))
			}
		}
		blen := u32(h[4:], in.be)
		if why := checkBlockLen(blen); why != "" {
			if typ == blockSHB {
				return in.sectionProblem(off, notCapture("section header block length %d %s", blen, why))
			}
			in.warn(off, in.frames+1, "%s length %d %s; %s and stopped reading this file (the blocks after it cannot be found)",
				blockName(typ), blen, why, in.kept())
			return false, nil
		}
		n := int(blen)
		switch typ {
		case blockSHB, blockIDB, blockEPB, blockSPB, blockOPB:
			b, err := in.take(n)
			if len(b) < n {
				return in.cutBlock(off, err, typ, len(b), n)
			}
			if t := u32(b[n-4:], in.be); t != blen {
				if typ == blockSHB {
					return in.sectionProblem(off, notCapture("section header block length %d does not match its trailing copy %d", blen, t))
				}
				in.warn(off, in.frames+1, "%s length %d does not match its trailing copy %d; %s and stopped reading this file (the block boundaries are lost)",
					blockName(typ), blen, t, in.kept())
				return false, nil
			}
			body := b[8 : n-4 : n-4]
			switch typ {
			case blockSHB:
				if err := in.ngSection(body); err != nil {
					return in.sectionProblem(off, err)
				}
			case blockIDB:
				in.ngInterface(off, body)
			case blockEPB:
				if in.ngPacket(off, body, false) {
					return true, nil
				}
			case blockOPB:
				if in.ngPacket(off, body, true) {
					return true, nil
				}
			case blockSPB:
				if in.ngSimple(off, body) {
					return true, nil
				}
			}
		default:
			// Name resolution, statistics, decryption secrets, custom
			// and unknown blocks: skipped by their length, but the
			// trailing copy is still checked to stay in step.
			if m, err := in.discard(n - 4); m < n-4 {
				return in.cut(off, err, blockName(typ), m, n)
			}
			t, err := in.take(4)
			if len(t) < 4 {
				return in.cut(off, err, blockName(typ), n-4+len(t), n)
			}
			if tl := u32(t, in.be); tl != blen {
				in.warn(off, in.frames+1, "%s length %d does not match its trailing copy %d; %s and stopped reading this file (the block boundaries are lost)",
					blockName(typ), blen, tl, in.kept())
				return false, nil
			}
			if wiresharkFrame(typ) {
				// Wireshark shows these records as frames; count
				// them so our frame numbers stay Wireshark's.
				in.frames++
				in.info.Frames = in.frames
			}
		}
	}
}

// sectionProblem handles a section header that cannot be used. Before the
// first packet of the file the file is not a capture we can read: an error
// (or a skip, inside a directory), as tshark reports it. After packets, the
// packets are kept and the rest of the file is dropped with a warning.
func (in *input) sectionProblem(off int64, err error) (bool, error) {
	if in.probing {
		return false, err
	}
	msg := err.Error()
	if fe, ok := err.(*formatError); ok && fe.msg != "" {
		msg = fe.msg
	}
	in.warn(off, in.frames+1, "%s; %s and stopped reading this file", msg, in.kept())
	return false, nil
}

// cutBlock ends the file at a block that is not all there. The very first
// section header cut short means the file is not (yet) a capture, as for a
// pcap file header; later it is a capture cut short.
func (in *input) cutBlock(off int64, err error, typ uint32, got, want int) (bool, error) {
	if in.section < 0 && in.ioErr == nil {
		return in.sectionProblem(off, notCapture("pcapng section header block cut short (%d of %d bytes; file cut short or still being written)", got, want))
	}
	return in.cut(off, err, blockName(typ), got, want)
}

// ngSection starts a new section: interfaces are numbered afresh.
func (in *input) ngSection(body []byte) error {
	if len(body) < 16 {
		return notCapture("section header block body of %d bytes, below the minimum 16", len(body))
	}
	major, minor := u16(body[4:], in.be), u16(body[6:], in.be)
	if major != 1 {
		// tshark: "pcapng: unknown SHB version 2.0".
		return unsupported("unknown pcapng section version %d.%d", major, minor)
	}
	// The section length (body[8:16]) is not used: it is often -1 and we
	// read sequentially anyway.
	in.section++
	in.ifaces = in.ifaces[:0]
	opts := optReader{b: body[16:], be: in.be}
	for {
		code, v, ok := opts.next()
		if !ok {
			break
		}
		switch code {
		case optComment:
			in.addComment(optString(v))
		case shbHardware:
			if in.info.Hardware == "" {
				in.info.Hardware = optString(v)
			}
		case shbOS:
			if in.info.OS == "" {
				in.info.OS = optString(v)
			}
		case shbUserAppl:
			if in.info.Application == "" {
				in.info.Application = optString(v)
			}
		}
	}
	if opts.bad {
		// tshark: "Not enough data to handle option of length 12336".
		return notCapture("section header option %d of length %d runs past the end of its block", opts.badCode, opts.badLen)
	}
	return nil
}

// ngInterface declares the next interface of the section.
func (in *input) ngInterface(off int64, body []byte) {
	if len(in.ifaces) >= maxInterfaces {
		if len(in.ifaces) == maxInterfaces {
			in.warn(off, in.frames+1, "more than %d interfaces in one section; ignored the rest (their packets are skipped)", maxInterfaces)
			in.ifaces = append(in.ifaces, ngIface{bad: true})
		}
		return
	}
	id := len(in.ifaces)
	if len(body) < 8 {
		in.warn(off, in.frames+1, "interface description block of %d bytes, below the minimum 8; declared interface %d unusable (its packets are skipped)", len(body), id)
		in.ifaces = append(in.ifaces, ngIface{bad: true})
		return
	}
	c := ngIface{linkType: u16(body, in.be), snaplen: u32(body[4:], in.be)}
	desc := Interface{Section: in.section, ID: id, LinkType: c.linkType, Snaplen: int(min(c.snaplen, 1<<31-1))}
	desc.TSResolution = c.setResolution(6) // the default: microseconds
	opts := optReader{b: body[8:], be: in.be}
	for {
		code, v, ok := opts.next()
		if !ok {
			break
		}
		switch code {
		case ifName:
			desc.Name = optString(v)
		case ifDescription:
			desc.Description = optString(v)
		case ifTSResol:
			if len(v) >= 1 {
				desc.TSResolution = c.setResolution(v[0])
			}
		case ifTSOffset:
			if len(v) >= 8 {
				desc.TSOffset = int64(u64(v, in.be))
				c.tsOffset = desc.TSOffset * 1e9
			}
		}
	}
	if opts.bad {
		in.warn(off, in.frames+1, "interface %d option %d of length %d runs past the end of its block; kept the interface, ignored the rest of its options",
			id, opts.badCode, opts.badLen)
	}
	in.ifaces = append(in.ifaces, c)
	fi := &in.info
	if len(fi.Interfaces) < maxInterfaces {
		fi.Interfaces = append(fi.Interfaces, desc)
	}
	if !containsU16(fi.LinkTypes, c.linkType) && len(fi.LinkTypes) < 1024 {
		fi.LinkTypes = append(fi.LinkTypes, c.linkType)
	}
	switch {
	case fi.TimeResolution == "":
		fi.TimeResolution = desc.TSResolution
	case fi.TimeResolution != desc.TSResolution:
		fi.TimeResolution = "mixed"
	}
	if c.snaplen == 0 {
		in.snapZero = true
	}
	if in.snapZero {
		fi.Snaplen = 0
	} else {
		fi.Snaplen = max(fi.Snaplen, desc.Snaplen)
	}
}

func containsU16(s []uint16, v uint16) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// iface returns the interface a packet refers to, or nil after warning.
// (Wireshark stops reading at a packet on an undeclared interface; pcapx
// skips it and reads on, keeping the packets after it. It takes no frame
// number, so the frames before it keep Wireshark's numbers.)
func (in *input) iface(off int64, id uint32) *ngIface {
	if uint64(id) >= uint64(len(in.ifaces)) {
		in.warn(off, in.frames+1, "packet on interface %d, but section %d declares %d interfaces; skipped the packet",
			id, in.section, len(in.ifaces))
		return nil
	}
	c := &in.ifaces[id]
	if c.bad {
		in.warn(off, in.frames+1, "packet on unusable interface %d; skipped the packet", id)
		return nil
	}
	return c
}

// ngPacket handles an Enhanced Packet Block, or the obsolete Packet Block
// (16-bit interface id and drop count instead of a 32-bit id).
func (in *input) ngPacket(off int64, body []byte, obsolete bool) bool {
	const fixed = 20
	if len(body) < fixed {
		typ := uint32(blockEPB)
		if obsolete {
			typ = blockOPB
		}
		in.warn(off, in.frames+1, "%s of %d bytes, below the minimum %d; skipped it", blockName(typ), len(body)+12, fixed+12)
		return false
	}
	var id uint32
	if obsolete {
		id = uint32(u16(body, in.be))
	} else {
		id = u32(body, in.be)
	}
	units := uint64(u32(body[4:], in.be))<<32 | uint64(u32(body[8:], in.be))
	caplen := u32(body[12:], in.be)
	origlen := u32(body[16:], in.be)
	if uint64(caplen) > uint64(len(body)-fixed) {
		in.warn(off, in.frames+1, "captured length %d runs past the end of its block (%d bytes of data); skipped the packet",
			caplen, len(body)-fixed)
		return false
	}
	c := in.iface(off, id)
	if c == nil {
		return false
	}
	end := fixed + int(caplen)
	data := body[fixed:end:end]
	in.checkSnap(off, caplen, c.snaplen)
	if pad := (end + 3) &^ 3; pad < len(body) {
		in.packetOptions(off, body[pad:])
	}
	in.timed = true
	in.emit(off, data, c.ns(units), int(origlen), c.linkType, int(id))
	return true
}

// ngSimple handles a Simple Packet Block: interface 0, no timestamp, and a
// captured length that is implied: min(original length, snaplen, block body).
func (in *input) ngSimple(off int64, body []byte) bool {
	if len(body) < 4 {
		in.warn(off, in.frames+1, "%s of %d bytes, below the minimum 16; skipped it", blockName(blockSPB), len(body)+12)
		return false
	}
	c := in.iface(off, 0)
	if c == nil {
		return false
	}
	origlen := u32(body, in.be)
	caplen := uint64(origlen)
	if c.snaplen > 0 {
		caplen = min(caplen, uint64(c.snaplen))
	}
	caplen = min(caplen, uint64(len(body)-4))
	// An SPB has no timestamp. It takes the previous packet's, so that
	// merging with other files leaves it where it is in its file. Before
	// any packet with a time it has none to take (Wireshark shows 1970):
	// it then stays out of the file's span, or an SPB followed by
	// timestamped packets would make a capture of 50 years.
	in.untimed = !in.timed
	in.emit(off, body[4:4+caplen:4+caplen], in.lastTS, int(origlen), c.linkType, 0)
	in.untimed = false
	return true
}

func (in *input) checkSnap(off int64, caplen, snaplen uint32) {
	if caplen > snaplen && snaplen > 0 && !in.warnedSnap {
		in.warnedSnap = true
		in.warn(off, in.frames+1, "captured length %d exceeds the interface's snapshot length %d; read it anyway (reported once per file)",
			caplen, snaplen)
	}
}

// packetOptions keeps the comments of a packet. Only blocks that carry
// options get here, so the common packet costs nothing.
func (in *input) packetOptions(off int64, b []byte) {
	opts := optReader{b: b, be: in.be}
	for {
		code, v, ok := opts.next()
		if !ok {
			break
		}
		if code == optComment {
			in.addComment(fmt.Sprintf("frame %d: %s", in.frames+1, optString(v)))
		}
	}
	if opts.bad {
		in.warn(off, in.frames+1, "packet option %d of length %d runs past the end of its block; kept the packet, ignored the rest of its options",
			opts.badCode, opts.badLen)
	}
}

// optReader iterates over pcapng options without allocating.
type optReader struct {
	b       []byte
	be      bool
	bad     bool // an option ran past the end of the block
	badCode int
	badLen  int
}

func (o *optReader) next() (code uint16, val []byte, ok bool) {
	if len(o.b) < 4 {
		return 0, nil, false // nothing, or padding too short to be an option
	}
	code = u16(o.b, o.be)
	l := int(u16(o.b[2:], o.be))
	if code == optEnd {
		return 0, nil, false
	}
	if 4+l > len(o.b) {
		o.bad, o.badCode, o.badLen = true, int(code), l
		return 0, nil, false
	}
	val = o.b[4 : 4+l]
	if next := 4 + (l+3)&^3; next < len(o.b) {
		o.b = o.b[next:]
	} else {
		o.b = nil
	}
	return code, val, true
}

// optString turns a UTF-8 option value into a string; some writers
// include a terminating NUL.
func optString(v []byte) string {
	return strings.TrimRight(string(v), "\x00")
}

package source

import (
	"encoding/binary"
	"io"
)

// pcap file format (libpcap), as documented in draft-ietf-opsawg-pcap:
//
//	file header, 24 bytes: magic u32, major u16, minor u16, thiszone i32,
//	    sigfigs u32, snaplen u32, linktype-and-flags u32
//	record header, 16 bytes: ts_sec u32, ts_frac u32 (µs or ns by magic),
//	    caplen u32, origlen u32; then caplen bytes of packet
//
// The byte order is the writer's, told by how the magic reads.

const (
	pcapHeaderLen = 24
	pcapRecordLen = 16

	// Link-type field layout (libpcap's LT_* macros): bits 0-15 the link
	// type, bits 16-25 reserved and zero, bit 26 "FCS length present",
	// bits 28-31 the FCS length in 16-bit words.
	linkTypeReserved = 0x03FF0000
)

// Files of pcap version 2.0 to 2.2 were written with caplen and origlen
// swapped, and 2.3 files may or may not be; libpcap and Wireshark swap them
// back (for 2.3 only when caplen > origlen, which cannot be right). Without
// this the old file in the shared corpus reads as one absurd record.
const (
	lenSwapNone uint8 = iota
	lenSwapAlways
	lenSwapMaybe
)

func (in *input) readPcapHeader() error {
	h, _ := in.br.Peek(pcapHeaderLen)
	if len(h) < pcapHeaderLen {
		if in.ioErr != nil {
			return ioError{in.info.Name, in.ioErr}
		}
		return notCapture("pcap file header cut short (%d of %d bytes; file cut short or still being written)", len(h), pcapHeaderLen)
	}
	switch binary.LittleEndian.Uint32(h) {
	case 0xa1b2c3d4:
		in.be, in.nsec = false, false
	case 0xd4c3b2a1:
		in.be, in.nsec = true, false
	case 0xa1b23c4d:
		in.be, in.nsec = false, true
	case 0x4d3cb2a1:
		in.be, in.nsec = true, true
	}
	major, minor := u16(h[4:], in.be), u16(h[6:], in.be)
	if major != 2 {
		// The same words as tshark's "pcap: major version 1 unsupported".
		return unsupported("pcap major version %d unsupported", major)
	}
	lt := u32(h[20:], in.be)
	if lt&linkTypeReserved != 0 {
		// tshark refuses these too: the field is not a link type we
		// could trust.
		return unsupported("pcap link type field 0x%08x has nonzero reserved bits 16-25", lt)
	}
	switch {
	case minor < 3:
		in.lenSwap = lenSwapAlways
	case minor == 3:
		in.lenSwap = lenSwapMaybe
	default:
		in.lenSwap = lenSwapNone
	}
	// FCS bits (28-31, 26) are masked: the frames may carry an FCS at the
	// end, which decoders of Ethernet handle; the link type is the low 16
	// bits.
	in.linkType = uint16(lt)
	in.snaplen = u32(h[16:], in.be)
	in.kind = kindPcap
	in.info.Format = "pcap"
	in.info.TimeResolution = "µs"
	if in.nsec {
		in.info.TimeResolution = "ns"
	}
	in.info.Snaplen = int(min(in.snaplen, 1<<31-1))
	in.info.LinkTypes = []uint16{in.linkType}
	in.br.Discard(pcapHeaderLen)
	in.off = pcapHeaderLen
	return nil
}

// nextPcap reads one record. This is the hot path: no allocation, and the
// packet data stays in the bufio buffer when the record fits.
func (in *input) nextPcap() (bool, error) {
	off := in.off
	h, err := in.br.Peek(pcapRecordLen)
	if len(h) < pcapRecordLen {
		if len(h) == 0 && err == io.EOF {
			return false, nil // the clean end
		}
		return in.cut(off, err, "record header", len(h), pcapRecordLen)
	}
	sec := u32(h[0:], in.be)
	frac := u32(h[4:], in.be)
	caplen := u32(h[8:], in.be)
	origlen := u32(h[12:], in.be)
	switch in.lenSwap {
	case lenSwapAlways:
		caplen, origlen = origlen, caplen
	case lenSwapMaybe:
		if caplen > origlen {
			caplen, origlen = origlen, caplen
		}
	}
	if caplen > MaxRecordLen {
		// Past this length the record boundaries are lost: what follows
		// would be read as headers made of packet bytes.
		in.warn(off, in.frames+1, "record length %d beyond the sane maximum %d; %s and stopped reading this file (what follows cannot be framed)",
			caplen, MaxRecordLen, in.kept())
		return false, nil
	}
	if caplen > in.snaplen && in.snaplen > 0 && !in.warnedSnap {
		in.warnedSnap = true
		in.warn(off, in.frames+1, "record length %d exceeds the file's snapshot length %d; read it anyway (reported once per file)",
			caplen, in.snaplen)
	}
	n := pcapRecordLen + int(caplen)
	rec, err := in.take(n)
	if len(rec) < n {
		return in.cut(off, err, "record", len(rec), n)
	}
	ts := int64(sec) * 1e9
	if in.nsec {
		ts += int64(frac)
	} else {
		ts += int64(frac) * 1e3
	}
	in.emit(off, rec[pcapRecordLen:n:n], ts, int(origlen), in.linkType, 0)
	return true, nil
}

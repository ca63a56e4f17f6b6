package source

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

type formatKind uint8

const (
	kindNone formatKind = iota
	kindPcap
	kindPcapng
)

// input reads one capture: file or stdin, decompression, format parsing,
// and the head packet the merge compares.
type input struct {
	r    *reader
	cand candidate
	idx  int // index in Files()
	info FileInfo

	regular bool // a regular file: its size is known and it can be reopened
	reopen  bool // closed after the probe, reopened by activate
	probing bool // before the first packet of the probe: format problems are errors

	f        *os.File
	gz       *gzip.Reader
	zd       *zstd.Decoder
	br       *bufio.Reader // the decompressed stream
	off      int64         // offset in the decompressed stream of br's next byte
	owned    []byte        // buffer for records larger than br
	ioErr    error         // first error of the underlying file (not of a decompressor)
	consumed atomic.Int64  // bytes of the underlying file read, for Progress

	kind formatKind
	be   bool // big-endian file (pcap) or section (pcapng)

	// pcap
	nsec     bool
	lenSwap  uint8 // lenSwapNone, lenSwapAlways, lenSwapMaybe
	snaplen  uint32
	linkType uint16

	// pcapng
	ifaces   []ngIface // interfaces of the current section
	section  int       // current section, -1 before the first SHB
	snapZero bool      // some interface has no snaplen limit

	pkt        Packet // the head packet, reused for every record
	outside    bool   // the record emit last saw is outside the time window: not a packet to return
	frames     int64  // frames numbered so far, as Wireshark numbers them
	lastTS     int64  // timestamp of the previous packet (for SPBs, which have none)
	hasFirst   bool
	firstTS    int64 // first packet's timestamp, found by the probe
	done       bool
	warnedSnap bool
	warnedOrig bool
	// timed is set once the file has given a packet with a timestamp;
	// untimed marks the packet being emitted as one without (an SPB
	// before any), which stays out of First and Last; spanSet says
	// whether First and Last hold a packet's time yet.
	timed, untimed, spanSet bool
	warnCount               int
	sink                    *[]Warning // where warnings go: pendingWarn while probing, then the reader's list
	pendingWarn             []Warning
}

type ioError struct {
	name string
	err  error
}

func (e ioError) Error() string { return "read capture: " + e.name + ": " + e.err.Error() }
func (e ioError) Unwrap() error { return e.err }

// formatError is a problem that makes a file unreadable as a capture: an
// error for a file named alone, a skip warning inside a directory.
type formatError struct {
	kind error // ErrEmpty, ErrNotCapture or ErrUnsupported
	msg  string
}

func (e *formatError) Error() string {
	if e.msg == "" {
		return e.kind.Error()
	}
	return e.kind.Error() + ": " + e.msg
}
func (e *formatError) Unwrap() error { return e.kind }

func notCapture(format string, args ...any) error {
	return &formatError{kind: ErrNotCapture, msg: fmt.Sprintf(format, args...)}
}

func unsupported(format string, args ...any) error {
	return &formatError{kind: ErrUnsupported, msg: fmt.Sprintf(format, args...)}
}

// countingReader counts the bytes read from the underlying file for
// Progress and remembers its first real error, so that a decompressor
// failure (damage: a warning) is not mistaken for an I/O failure (fatal).
type countingReader struct {
	in *input
	r  io.Reader
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.in.consumed.Add(int64(n))
	if err != nil && err != io.EOF && c.in.ioErr == nil {
		c.in.ioErr = err
	}
	return n, err
}

// probe opens the input and reads up to its first packet, so Open can fail
// early on files that are not captures and order the files by first packet
// time. A regular file is then closed again (see activate).
func (in *input) probe() error {
	bufSize := in.r.opts.BufferSize
	if !in.cand.stdin {
		st, err := os.Stat(in.cand.path)
		if err != nil {
			return unwrapPath(err)
		}
		in.regular = st.Mode().IsRegular()
		if in.regular {
			in.info.Size = st.Size()
			in.reopen = true
			bufSize = min(bufSize, probeBufferSize)
		}
	}
	in.sink = &in.pendingWarn
	in.probing = true
	defer func() { in.probing = false }()
	if err := in.open(bufSize); err != nil {
		return err
	}
	ok, err := in.advance()
	if err != nil {
		return err
	}
	if ok {
		in.hasFirst = true
		in.firstTS = in.pkt.Timestamp
		if in.reopen {
			in.close()
			in.consumed.Store(0)
			// Nothing is counted until the file is really read.
			fi := &in.info
			fi.Packets, fi.Frames, fi.Bytes, fi.First, fi.Last, fi.Outside = 0, 0, 0, 0, 0, 0
		}
	} else {
		in.finish()
	}
	return nil
}

// activate makes the input ready to deliver its first packet to the merge.
// A regular file is reopened and parsed again up to that packet; what the
// probe learnt (and warned about) is learnt again, so nothing is counted
// twice.
func (in *input) activate() (bool, error) {
	in.sink = &in.r.warnings
	if !in.reopen {
		return !in.done, nil // still open, head packet still in place
	}
	in.info = FileInfo{Name: in.info.Name, Size: in.info.Size}
	if err := in.open(in.r.opts.BufferSize); err != nil {
		if e := (ioError{}); errors.As(err, &e) {
			return false, err
		}
		// Changed or removed since Open (a ring buffer rotating).
		in.warn(-1, 0, "could not read it again: %v; skipped it", err)
		return false, nil
	}
	return in.advance()
}

// skip marks an input of a directory or glob that could not be read as a
// capture.
func (in *input) skip(err error) {
	in.info.Skipped = true
	in.done = true
	hint := ""
	switch {
	case errors.Is(err, ErrEmpty):
		hint = " (the newest file of a capture ring may not have its header yet)"
	case errors.Is(err, ErrNotCapture) && !strings.Contains(err.Error(), "still being written"):
		hint = " (not a capture, or a ring file whose header is still being written)"
	}
	in.pendingWarn = nil
	in.sink = &in.pendingWarn
	in.warnCount = 0
	in.warn(-1, 0, "%v; skipped it%s", err, hint)
	if in.regular {
		in.consumed.Store(in.info.Size)
	}
}

// reasonOf strips the file name from err, for messages that name the file
// themselves.
func reasonOf(err error) error {
	if e := (ioError{}); errors.As(err, &e) {
		return e.err
	}
	return unwrapPath(err)
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// open (re)opens the input, detects compression and format by magic bytes
// and reads the file header. All parse state is reset.
func (in *input) open(bufSize int) error {
	in.close()
	in.resetState()
	var src io.Reader
	if in.cand.stdin {
		src = in.r.opts.Stdin
	} else {
		f, err := os.Open(in.cand.path)
		if err != nil {
			return unwrapPath(err)
		}
		in.f = f
		src = f
	}
	raw := bufio.NewReaderSize(&countingReader{in: in, r: src}, bufSize)
	magic, _ := raw.Peek(4)
	if in.ioErr != nil {
		return ioError{in.info.Name, in.ioErr}
	}
	switch {
	case len(magic) == 0:
		return &formatError{kind: ErrEmpty}
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		gz, err := gzip.NewReader(raw) // multistream: concatenated members are read on
		if err != nil {
			if in.ioErr != nil {
				return ioError{in.info.Name, in.ioErr}
			}
			return notCapture("damaged gzip header: %v", err)
		}
		in.gz = gz
		in.info.Compression = "gzip"
		in.br = bufio.NewReaderSize(gz, bufSize)
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zd, err := zstd.NewReader(raw,
			zstd.WithDecoderConcurrency(1), // no decoder goroutines per file
			zstd.WithDecoderLowmem(true),
			// The zstd tool's own default limit: a hostile frame
			// cannot make us reserve gigabytes.
			zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return notCapture("zstd: %v", err)
		}
		in.zd = zd
		in.info.Compression = "zstd"
		in.br = bufio.NewReaderSize(zd, bufSize)
	default:
		in.br = raw
	}
	return in.readHeader()
}

func (in *input) resetState() {
	in.off = 0
	in.ioErr = nil
	in.kind = kindNone
	in.be = false
	in.ifaces = in.ifaces[:0]
	in.section = -1
	in.snapZero = false
	in.frames = 0
	in.lastTS = 0
	in.done = false
	in.warnedSnap = false
	in.warnedOrig = false
	in.timed, in.untimed, in.spanSet = false, false, false
	in.warnCount = 0
	in.pkt = Packet{File: in.idx}
}

// readHeader identifies the capture format by its magic bytes.
func (in *input) readHeader() error {
	b, err := in.br.Peek(4)
	if len(b) < 4 {
		if in.ioErr != nil {
			return ioError{in.info.Name, in.ioErr}
		}
		if len(b) == 0 && err == io.EOF {
			if in.info.Compression != "" {
				return &formatError{kind: ErrEmpty, msg: "nothing after decompression"}
			}
			return &formatError{kind: ErrEmpty}
		}
		if err != nil && err != io.EOF && in.info.Compression != "" {
			return notCapture("%s stream unreadable: %v", in.info.Compression, err)
		}
		return notCapture("only %d bytes", len(b))
	}
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		return in.readPcapHeader()
	case blockSHB:
		in.kind = kindPcapng
		in.info.Format = "pcapng"
		return nil // the section header is parsed as the first block
	}
	return notCapture("unknown magic %02x %02x %02x %02x", b[0], b[1], b[2], b[3])
}

// take returns the next n bytes of the decompressed stream and consumes
// them. When n fits the bufio buffer the bytes are not copied (Peek and
// Discard); otherwise they are read into in.owned, which grows as the data
// arrives, so a lying length cannot make us allocate more than the file
// holds. A short result comes with the error that cut it short.
func (in *input) take(n int) ([]byte, error) {
	if n <= in.br.Size() {
		b, err := in.br.Peek(n)
		if len(b) < n {
			return b, err
		}
		in.br.Discard(n)
		in.off += int64(n)
		return b, nil
	}
	buf := in.owned[:0]
	for len(buf) < n {
		chunk := min(n-len(buf), max(len(buf), in.br.Size()))
		if cap(buf)-len(buf) < chunk {
			nb := make([]byte, len(buf), len(buf)+chunk)
			copy(nb, buf)
			buf = nb
		}
		m, err := io.ReadFull(in.br, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+m]
		in.off += int64(m)
		if err != nil {
			in.owned = buf[:0]
			return buf, err
		}
	}
	in.owned = buf[:0]
	return buf, nil
}

// discard skips n bytes without looking at them (pcapng blocks we do not
// need). It returns how many were skipped and the error if fewer.
func (in *input) discard(n int) (int, error) {
	m, err := in.br.Discard(n)
	in.off += int64(m)
	return m, err
}

// cut ends the file after a record that could not be read whole: an I/O
// failure is returned (fatal), a file ending early or a decompressor
// failing is a warning, and the packets before it are kept.
func (in *input) cut(off int64, err error, what string, got, want int) (bool, error) {
	if in.ioErr != nil {
		return false, ioError{in.info.Name, in.ioErr}
	}
	if err == nil || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		in.warn(off, in.frames+1, "truncated %s: %d of %d bytes present (file cut short or still being written); %s",
			what, got, want, in.kept())
	} else {
		in.warn(off, in.frames+1, "%s unreadable: %s data damaged (%v); %s and stopped reading this file",
			what, in.info.Compression, err, in.kept())
	}
	return false, nil
}

// advance reads records until the next packet, which it leaves in in.pkt.
// It returns false at the end of the file or when damage stops it.
func (in *input) advance() (bool, error) {
	if in.done {
		return false, nil
	}
	for {
		var ok bool
		var err error
		switch in.kind {
		case kindPcap:
			ok, err = in.nextPcap()
		case kindPcapng:
			ok, err = in.nextPcapng()
		}
		if !ok || err != nil {
			in.done = true
			return false, err
		}
		if !in.outside {
			return true, nil
		}
		in.outside = false
	}
}

// kept says what was kept before a problem that ends the file.
func (in *input) kept() string {
	switch n := in.info.Packets; n {
	case 0:
		return "no packet came before it"
	case 1:
		return "kept the 1 packet before it"
	default:
		return fmt.Sprintf("kept the %d packets before it", n)
	}
}

// emit fills the head packet. It is on the per-packet path: no allocation.
func (in *input) emit(off int64, data []byte, ts int64, orig int, lt uint16, iface int) {
	if orig < len(data) {
		// A frame is never shorter on the wire than in the file: the
		// record is damaged. Its bytes are there, so they count.
		if !in.warnedOrig {
			in.warnedOrig = true
			in.warn(off, in.frames+1, "original length %d is below the captured length %d; counted the %d captured bytes (reported once per file)",
				orig, len(data), len(data))
		}
		orig = len(data)
	}
	in.frames++
	in.info.Frames = in.frames
	p := &in.pkt
	p.Data = data
	p.Timestamp = ts
	p.OrigLen = orig
	p.LinkType = lt
	p.Frame = in.frames
	p.Offset = off
	p.Interface = iface
	fi := &in.info
	if !in.r.opts.inWindow(ts) {
		// Skipped here, before anything decodes it; counted so the
		// summary can say how many the window left out. A packet was
		// read, so damage after it is a warning, even while probing.
		in.outside = true
		in.probing = false
		fi.Outside++
		in.lastTS = ts
		return
	}
	in.outside = false
	if !in.untimed {
		if !in.spanSet || ts < fi.First {
			fi.First = ts
		}
		if !in.spanSet || ts > fi.Last {
			fi.Last = ts
		}
		in.spanSet = true
	}
	fi.Packets++
	fi.Bytes += int64(orig)
	in.lastTS = ts
}

// warn records a warning about this file. After maxWarningsPerFile a single
// note says the rest are suppressed, so a file with a million bad packets
// cannot flood the report.
func (in *input) warn(off, frame int64, format string, args ...any) {
	in.warnCount++
	if in.warnCount > maxWarningsPerFile+1 {
		return
	}
	msg := "further warnings about this file suppressed"
	if in.warnCount <= maxWarningsPerFile {
		msg = fmt.Sprintf(format, args...)
	} else {
		off, frame = -1, 0
	}
	*in.sink = append(*in.sink, Warning{File: in.info.Name, Offset: off, Frame: frame, Msg: msg,
		Decompressed: in.info.Compression != "" && off >= 0})
}

// addComment keeps a capture comment, up to a cap on their number and
// length, so a hostile file cannot fill memory with comments.
func (in *input) addComment(s string) {
	if len(s) > maxCommentLen {
		s = strings.ToValidUTF8(s[:maxCommentLen], "") + "…"
	}
	if len(in.info.Comments) < maxCommentsPerFile {
		in.info.Comments = append(in.info.Comments, s)
	} else if len(in.info.Comments) == maxCommentsPerFile {
		in.info.Comments = append(in.info.Comments, "(further comments dropped)")
	}
}

// finish closes an input that has no more packets; its bytes all count as
// consumed, even when damage stopped the reading early.
func (in *input) finish() {
	in.close()
	in.done = true
	if in.regular {
		in.consumed.Store(in.info.Size)
	}
}

// close releases the file, decompressor and buffers. It may be called more
// than once.
func (in *input) close() error {
	var err error
	if in.gz != nil {
		in.gz.Close()
		in.gz = nil
	}
	if in.zd != nil {
		in.zd.Close()
		in.zd = nil
	}
	if in.f != nil {
		err = in.f.Close()
		in.f = nil
	}
	in.br = nil
	in.owned = nil
	return err
}

func u16(b []byte, be bool) uint16 {
	if be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func u32(b []byte, be bool) uint32 {
	if be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func u64(b []byte, be bool) uint64 {
	if be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

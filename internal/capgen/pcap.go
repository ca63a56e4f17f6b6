package capgen

import (
	"bufio"
	"encoding/binary"
	"io"
	"os"
	"time"
)

// Frame is one captured frame handed to a FrameWriter.
type Frame struct {
	Time time.Time
	Data []byte
	// OrigLen is the length of the frame on the wire; 0 means len(Data).
	// Writers truncate Data to their snapshot length and keep OrigLen.
	OrigLen int
	// Iface is the pcapng interface index (ignored by pcap).
	Iface int
	// Comment is written as the pcapng EPB comment (ignored by pcap).
	Comment string
}

// FrameWriter receives frames in capture order. Implementations must not
// keep f.Data after WriteFrame returns: builders reuse their buffers.
type FrameWriter interface {
	WriteFrame(f Frame) error
}

// Frames is an in-memory FrameWriter for tests: it keeps a copy of every
// frame.
type Frames []Frame

// WriteFrame appends a copy of f.
func (fs *Frames) WriteFrame(f Frame) error {
	f.Data = append([]byte(nil), f.Data...)
	*fs = append(*fs, f)
	return nil
}

// WritePcapFile writes the frames write makes to a new classic pcap file
// at path.
func WritePcapFile(path string, o PcapOptions, write func(w FrameWriter) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	pw, err := NewPcapWriter(f, o)
	if err == nil {
		err = write(pw)
	}
	if err == nil {
		err = pw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// DefaultSnaplen is the snapshot length used when none is given (tcpdump's
// default).
const DefaultSnaplen = 262144

// PcapOptions configure a classic pcap file.
type PcapOptions struct {
	LinkType   LinkType
	Snaplen    uint32 // 0: DefaultSnaplen
	Nanosecond bool   // nanosecond timestamps (magic a1b23c4d)
	BigEndian  bool   // write the file in big-endian byte order
}

// PcapWriter writes a classic libpcap file. It buffers: call Flush when
// done.
type PcapWriter struct {
	w       *bufio.Writer
	o       PcapOptions
	order   binary.ByteOrder
	hdr     [16]byte
	n       int
	written int64
}

// NewPcapWriter writes the file header to w and returns a writer for the
// records.
func NewPcapWriter(w io.Writer, o PcapOptions) (*PcapWriter, error) {
	if o.Snaplen == 0 {
		o.Snaplen = DefaultSnaplen
	}
	pw := &PcapWriter{w: bufio.NewWriterSize(w, 1<<20), o: o, order: binary.LittleEndian}
	if o.BigEndian {
		pw.order = binary.BigEndian
	}
	magic := uint32(0xa1b2c3d4)
	if o.Nanosecond {
		magic = 0xa1b23c4d
	}
	var h [24]byte
	pw.order.PutUint32(h[0:], magic)
	pw.order.PutUint16(h[4:], 2)
	pw.order.PutUint16(h[6:], 4)
	pw.order.PutUint32(h[16:], o.Snaplen)
	pw.order.PutUint32(h[20:], uint32(o.LinkType))
	_, err := pw.w.Write(h[:])
	pw.written = 24
	return pw, err
}

// WriteFrame writes one record, truncating the data to the snapshot length.
func (pw *PcapWriter) WriteFrame(f Frame) error {
	orig := f.OrigLen
	if orig == 0 {
		orig = len(f.Data)
	}
	data := f.Data
	if len(data) > int(pw.o.Snaplen) {
		data = data[:pw.o.Snaplen]
	}
	sec, frac := pw.splitTime(f.Time)
	return pw.WriteRecord(sec, frac, uint32(len(data)), uint32(orig), data)
}

func (pw *PcapWriter) splitTime(t time.Time) (sec, frac uint32) {
	ns := t.UnixNano()
	sec = uint32(ns / 1e9)
	frac = uint32(ns % 1e9)
	if !pw.o.Nanosecond {
		frac /= 1000
	}
	return sec, frac
}

// WriteRecord writes a record header with the given fields, which may lie
// about data (for corrupt fixtures), followed by data.
func (pw *PcapWriter) WriteRecord(sec, frac, inclLen, origLen uint32, data []byte) error {
	pw.order.PutUint32(pw.hdr[0:], sec)
	pw.order.PutUint32(pw.hdr[4:], frac)
	pw.order.PutUint32(pw.hdr[8:], inclLen)
	pw.order.PutUint32(pw.hdr[12:], origLen)
	if _, err := pw.w.Write(pw.hdr[:]); err != nil {
		return err
	}
	_, err := pw.w.Write(data)
	pw.n++
	pw.written += 16 + int64(len(data))
	return err
}

// Count returns the number of records written.
func (pw *PcapWriter) Count() int { return pw.n }

// Offset returns the number of bytes written so far (the file offset of the
// next record).
func (pw *PcapWriter) Offset() int64 { return pw.written }

// Flush writes buffered data to the underlying writer.
func (pw *PcapWriter) Flush() error { return pw.w.Flush() }

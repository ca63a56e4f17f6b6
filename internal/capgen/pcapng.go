package capgen

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// pcapng block types.
const (
	BlockSHB uint32 = 0x0a0d0d0a
	BlockIDB uint32 = 0x00000001
	BlockSPB uint32 = 0x00000003
	BlockISB uint32 = 0x00000005
	BlockEPB uint32 = 0x00000006
)

// pcapng option codes.
const (
	optEndOfOpt  = 0
	optComment   = 1
	optShbHW     = 2
	optShbOS     = 3
	optShbApp    = 4
	optIfName    = 2
	optIfDesc    = 3
	optIfTsresol = 9
	optEpbFlags  = 2
	optIsbStart  = 2
	optIsbEnd    = 3
	optIsbIfRecv = 4
	optIsbIfDrop = 5
)

// NgSection configures a pcapng section header block.
type NgSection struct {
	BigEndian bool
	Comment   string
	Hardware  string
	OS        string
	UserAppl  string // default "capgen"
}

// NgInterface configures an interface description block.
type NgInterface struct {
	LinkType    LinkType
	Snaplen     uint32 // 0: DefaultSnaplen
	Name        string
	Description string
	Comment     string
	// TsResol is the if_tsresol option byte: 6 (µs, the default when 0),
	// 9 (ns), 3 (ms), or 0x80|n for 2^-n seconds.
	TsResol uint8
}

// NgWriter writes a pcapng file. It buffers: call Flush when done.
type NgWriter struct {
	w     *bufio.Writer
	order interface {
		binary.ByteOrder
		binary.AppendByteOrder
	}
	ifaces []NgInterface
	n      int
	buf    []byte
	off    int64
}

// NewNgWriter writes a section header block to w and returns the writer.
// Add interfaces with AddInterface before writing frames.
func NewNgWriter(w io.Writer, s NgSection) (*NgWriter, error) {
	nw := &NgWriter{w: bufio.NewWriterSize(w, 1<<20)}
	return nw, nw.NewSection(s)
}

// NewSection starts another section: it writes a section header block and
// forgets the interfaces of the previous section.
func (nw *NgWriter) NewSection(s NgSection) error {
	nw.order = binary.LittleEndian
	if s.BigEndian {
		nw.order = binary.BigEndian
	}
	nw.ifaces = nil
	if s.UserAppl == "" {
		s.UserAppl = "capgen"
	}
	b := nw.order.AppendUint32(nil, 0x1a2b3c4d)
	b = nw.order.AppendUint16(b, 1)
	b = nw.order.AppendUint16(b, 0)
	b = nw.order.AppendUint64(b, math.MaxUint64) // section length unknown
	b = nw.appendStrOpt(b, optComment, s.Comment)
	b = nw.appendStrOpt(b, optShbHW, s.Hardware)
	b = nw.appendStrOpt(b, optShbOS, s.OS)
	b = nw.appendStrOpt(b, optShbApp, s.UserAppl)
	b = nw.endOpts(b)
	return nw.WriteBlock(BlockSHB, b)
}

func (nw *NgWriter) appendOpt(b []byte, code uint16, v []byte) []byte {
	b = nw.order.AppendUint16(b, code)
	b = nw.order.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (nw *NgWriter) appendStrOpt(b []byte, code uint16, v string) []byte {
	if v == "" {
		return b
	}
	return nw.appendOpt(b, code, []byte(v))
}

// endOpts terminates a non-empty option list.
func (nw *NgWriter) endOpts(b []byte) []byte {
	return append(b, 0, 0, 0, 0)
}

// AddInterface writes an interface description block and returns the
// interface's index for Frame.Iface.
func (nw *NgWriter) AddInterface(i NgInterface) (int, error) {
	if i.Snaplen == 0 {
		i.Snaplen = DefaultSnaplen
	}
	if i.TsResol == 0 {
		i.TsResol = 6
	}
	b := nw.order.AppendUint16(nil, uint16(i.LinkType))
	b = nw.order.AppendUint16(b, 0)
	b = nw.order.AppendUint32(b, i.Snaplen)
	n := len(b)
	b = nw.appendStrOpt(b, optComment, i.Comment)
	b = nw.appendStrOpt(b, optIfName, i.Name)
	b = nw.appendStrOpt(b, optIfDesc, i.Description)
	if i.TsResol != 6 {
		b = nw.appendOpt(b, optIfTsresol, []byte{i.TsResol})
	}
	if len(b) > n {
		b = nw.endOpts(b)
	}
	nw.ifaces = append(nw.ifaces, i)
	return len(nw.ifaces) - 1, nw.WriteBlock(BlockIDB, b)
}

// ticks converts t into units of the interface's time resolution.
func ticks(t time.Time, resol uint8) uint64 {
	ns := uint64(t.UnixNano())
	if resol&0x80 != 0 {
		// 2^-n seconds: split to keep precision without overflowing.
		n := uint(resol & 0x7f)
		sec, rem := ns/1e9, ns%1e9
		return sec<<n + (rem<<n)/1e9
	}
	switch {
	case resol == 9:
		return ns
	case resol < 9:
		d := uint64(1)
		for range 9 - int(resol) {
			d *= 10
		}
		return ns / d
	default:
		m := uint64(1)
		for range int(resol) - 9 {
			m *= 10
		}
		return ns * m
	}
}

// WriteFrame writes an enhanced packet block on interface f.Iface,
// truncating the data to the interface's snapshot length.
func (nw *NgWriter) WriteFrame(f Frame) error {
	if f.Iface < 0 || f.Iface >= len(nw.ifaces) {
		return fmt.Errorf("capgen: pcapng interface %d not defined", f.Iface)
	}
	ifc := nw.ifaces[f.Iface]
	orig := f.OrigLen
	if orig == 0 {
		orig = len(f.Data)
	}
	data := f.Data
	if len(data) > int(ifc.Snaplen) {
		data = data[:ifc.Snaplen]
	}
	ts := ticks(f.Time, ifc.TsResol)
	b := nw.buf[:0]
	b = nw.order.AppendUint32(b, uint32(f.Iface))
	b = nw.order.AppendUint32(b, uint32(ts>>32))
	b = nw.order.AppendUint32(b, uint32(ts))
	b = nw.order.AppendUint32(b, uint32(len(data)))
	b = nw.order.AppendUint32(b, uint32(orig))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	if f.Comment != "" {
		b = nw.appendStrOpt(b, optComment, f.Comment)
		b = nw.endOpts(b)
	}
	nw.buf = b
	nw.n++
	return nw.WriteBlock(BlockEPB, b)
}

// WriteSimple writes a simple packet block: no timestamp, no interface
// field (it belongs to interface 0), data truncated to interface 0's
// snapshot length.
func (nw *NgWriter) WriteSimple(data []byte, origLen int) error {
	if len(nw.ifaces) == 0 {
		return fmt.Errorf("capgen: simple packet block needs interface 0")
	}
	if origLen == 0 {
		origLen = len(data)
	}
	if len(data) > int(nw.ifaces[0].Snaplen) {
		data = data[:nw.ifaces[0].Snaplen]
	}
	b := nw.order.AppendUint32(nil, uint32(origLen))
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	nw.n++
	return nw.WriteBlock(BlockSPB, b)
}

// InterfaceStats writes an interface statistics block for iface at time t
// with the packets received and dropped counters.
func (nw *NgWriter) InterfaceStats(iface int, t time.Time, recv, drop uint64) error {
	if iface < 0 || iface >= len(nw.ifaces) {
		return fmt.Errorf("capgen: pcapng interface %d not defined", iface)
	}
	ts := ticks(t, nw.ifaces[iface].TsResol)
	b := nw.order.AppendUint32(nil, uint32(iface))
	b = nw.order.AppendUint32(b, uint32(ts>>32))
	b = nw.order.AppendUint32(b, uint32(ts))
	b = nw.appendOpt(b, optIsbIfRecv, nw.order.AppendUint64(nil, recv))
	b = nw.appendOpt(b, optIsbIfDrop, nw.order.AppendUint64(nil, drop))
	b = nw.endOpts(b)
	return nw.WriteBlock(BlockISB, b)
}

// WriteBlock writes a block of type typ with the given body (a multiple of
// 4 bytes for a well-formed file), framed by correct total lengths.
func (nw *NgWriter) WriteBlock(typ uint32, body []byte) error {
	l := uint32(12 + len(body))
	return nw.WriteRawBlock(typ, body, l, l)
}

// WriteRawBlock writes a block whose leading and trailing total-length
// fields are given explicitly, so they may lie (for corrupt fixtures).
func (nw *NgWriter) WriteRawBlock(typ uint32, body []byte, leadLen, trailLen uint32) error {
	var h [8]byte
	nw.order.PutUint32(h[0:], typ)
	nw.order.PutUint32(h[4:], leadLen)
	if _, err := nw.w.Write(h[:]); err != nil {
		return err
	}
	if _, err := nw.w.Write(body); err != nil {
		return err
	}
	nw.order.PutUint32(h[0:], trailLen)
	_, err := nw.w.Write(h[:4])
	nw.off += int64(12 + len(body))
	return err
}

// Count returns the number of packet blocks (EPB and SPB) written.
func (nw *NgWriter) Count() int { return nw.n }

// Offset returns the number of bytes written so far.
func (nw *NgWriter) Offset() int64 { return nw.off }

// Flush writes buffered data to the underlying writer.
func (nw *NgWriter) Flush() error { return nw.w.Flush() }

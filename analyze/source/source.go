package source

import (
	"errors"
	"io"
	"strconv"
	"strings"
)

// Packet is one captured frame. Data aliases the reader's internal buffer and
// is valid only until the next call to Next; so is the *Packet itself, which
// the reader reuses to avoid an allocation per packet.
type Packet struct {
	Data      []byte
	Timestamp int64  // nanoseconds since the Unix epoch, UTC
	OrigLen   int    // length on the wire
	LinkType  uint16 // LINKTYPE_* value (1 ether, 0 null, 101 raw, 113 sll, 276 sll2, 228/229 ipv4/ipv6, 108 loop, ...)
	File      int    // index into Reader.Files()
	Frame     int64  // 1-based frame number within its file, as Wireshark numbers them
	Offset    int64  // byte offset of the record in the (decompressed) file
	Interface int    // pcapng interface id within its section; 0 for pcap
}

// Warning is a problem in a capture that pcapx worked around: the packets
// before it are kept and the message says what was done. Offset and Frame
// locate the bad record; Offset is -1 when the problem concerns the whole
// file (an empty file skipped in a directory) and Frame is 0 when no record
// is involved.
type Warning struct {
	File   string // the name of the input, as given (joined with its directory)
	Offset int64  // byte offset of the bad record; in the decompressed stream when Decompressed
	Frame  int64  // the frame number the bad record would have had
	Msg    string // "<what was wrong>; <what pcapx did>"
	// Decompressed tells that Offset counts bytes of the decompressed
	// stream, not of the file on disk, so a person looking with a hex
	// editor is not misled.
	Decompressed bool
}

// String formats the warning as "cap.pcap: byte 1234, frame 57: <what was
// wrong>; <what pcapx did>", the form a person can act on: open the file in
// Wireshark and go to that frame, or look at that offset.
func (w Warning) String() string {
	var b strings.Builder
	b.WriteString(w.File)
	b.WriteString(": ")
	if w.Offset >= 0 {
		b.WriteString("byte ")
		b.WriteString(strconv.FormatInt(w.Offset, 10))
		if w.Decompressed {
			b.WriteString(" (decompressed)")
		}
		if w.Frame > 0 {
			b.WriteString(", frame ")
			b.WriteString(strconv.FormatInt(w.Frame, 10))
		}
		b.WriteString(": ")
	} else if w.Frame > 0 {
		b.WriteString("frame ")
		b.WriteString(strconv.FormatInt(w.Frame, 10))
		b.WriteString(": ")
	}
	b.WriteString(w.Msg)
	return b.String()
}

// Interface describes one pcapng interface (an Interface Description Block).
type Interface struct {
	Section      int    // 0-based pcapng section the interface belongs to
	ID           int    // interface id within its section (Packet.Interface)
	LinkType     uint16 // LINKTYPE_* value
	Snaplen      int    // 0 means no limit
	Name         string // if_name
	Description  string // if_description
	TSResolution string // if_tsresol as text: "µs" (the default), "ns", "2^-20 s", ...
	TSOffset     int64  // if_tsoffset in seconds, already added to Packet.Timestamp
}

// FileInfo describes one input. The counters (Packets, Frames, Bytes,
// First, Last, Comments) grow as records are read — a packet counts from
// the moment it is read, which can be a call to Next before it is returned
// — and are final once Next has returned io.EOF.
type FileInfo struct {
	Name           string
	Format         string // "pcap" | "pcapng"; "" for a skipped file
	Compression    string // "" | "gzip" | "zstd"
	TimeResolution string // "µs", "ns", ...; "mixed" when pcapng interfaces differ
	// Snaplen is the pcap header's snapshot length; for pcapng the largest
	// interface snaplen, 0 if any interface has no limit.
	Snaplen    int
	LinkTypes  []uint16    // distinct link types in order of appearance
	Interfaces []Interface // pcapng only
	// Comments holds SHB comments as they are and packet comments
	// prefixed "frame N: ".
	Comments []string
	// Hardware, OS and Application are the pcapng SHB's shb_hardware,
	// shb_os and shb_userappl options of the first section that has them.
	Hardware, OS, Application string
	Packets                   int64 // packets read (inside Options' time window)
	// Outside counts the packets read but skipped: outside the time
	// window of Options.Since and Until.
	Outside int64
	// Frames is the last frame number given, as Wireshark numbers
	// frames: it exceeds Packets when a pcapng file holds records
	// Wireshark shows as frames but that are not packets (systemd
	// journal entries, custom blocks, sysdig events).
	Frames int64
	Bytes  int64 // sum of their lengths on the wire (OrigLen)
	// First and Last are the earliest and latest packet timestamps (ns),
	// like capinfos; with backwards timestamps they are not the first and
	// last records.
	First, Last int64
	Size        int64 // bytes of the file on disk (compressed); 0 for stdin
	// Skipped is set for an empty or unrecognised file inside a directory
	// or glob: the newest file of a tcpdump -G/-W ring may not even have
	// its header yet, which must not stop the analysis of the others.
	Skipped bool
}

// Options tune Open.
type Options struct {
	// BufferSize is the size of each input's read buffer (default 1 MiB,
	// at least 64). Records up to this size are returned without copying;
	// larger ones are copied into a buffer the input reuses.
	BufferSize int
	// Stdin is read for the path "-" (default os.Stdin). It is read once
	// and never closed by the Reader.
	Stdin io.Reader
	// Since and Until, when not zero, keep only the packets with
	// Since <= timestamp < Until (ns since the epoch); the others are
	// read, counted in FileInfo.Outside and never returned. Frame numbers
	// still count them, so evidence names the frames Wireshark shows.
	Since, Until int64
}

// inWindow says whether a timestamp is inside Since and Until.
func (o *Options) inWindow(ts int64) bool {
	return (o.Since == 0 || ts >= o.Since) && (o.Until == 0 || ts < o.Until)
}

// Reader is a stream of packets from one or more captures, in timestamp
// order across files and in file order within each file.
type Reader interface {
	// Next returns the next packet, or io.EOF at the end of all inputs.
	// Other errors are I/O failures that make going on impossible; damage
	// in a capture is a Warning, not an error. The returned Packet and its
	// Data are valid only until the next call to Next.
	Next() (*Packet, error)
	// Warnings returns the warnings so far, oldest first. Later calls
	// return a longer slice with the same prefix; do not modify it.
	Warnings() []Warning
	// Files describes the inputs in merge order (by first packet time;
	// files without packets last). Packet.File indexes this slice.
	Files() []FileInfo
	// Progress reports bytes of the underlying (compressed) files consumed
	// and their total size, for a progress bar; total is 0 when unknown
	// (stdin). It may be called from another goroutine while Next runs.
	Progress() (done, total int64)
	// Close releases all files. It does not close Options.Stdin.
	Close() error
}

// Errors returned (wrapped, naming the file) by Open. Test with errors.Is.
var (
	// ErrEmpty: the file has no bytes at all.
	ErrEmpty = errors.New("empty file")
	// ErrNotCapture: the file is not pcap or pcapng (unknown magic, or a
	// header too damaged to read).
	ErrNotCapture = errors.New("not a pcap or pcapng capture")
	// ErrUnsupported: a pcap or pcapng variant we do not read (pcap major
	// version other than 2, reserved link-type bits, pcapng section
	// version other than 1.x); tshark rejects the same files.
	ErrUnsupported = errors.New("unsupported capture format")
)

// Limits on what a record may claim, so a corrupt length cannot make the
// reader allocate gigabytes.
const (
	// MaxRecordLen is the largest pcap record accepted, the limit libpcap
	// and Wireshark use for ordinary link types (262144).
	MaxRecordLen = 262144
	// MaxBlockLen is the largest pcapng block accepted.
	MaxBlockLen = 16 << 20
	// DefaultBufferSize is Options.BufferSize when it is zero.
	DefaultBufferSize = 1 << 20

	maxWarningsPerFile = 100   // beyond this, one "suppressed" note
	maxCommentsPerFile = 10000 // FileInfo.Comments cap
	maxCommentLen      = 4096  // longer comments are cut
	maxInterfaces      = 1 << 16
	probeBufferSize    = 64 << 10 // buffer of a regular file probed and reopened later
	minBufferSize      = 64       // room for any file or block header
	zstdMaxWindow      = 128 << 20
)

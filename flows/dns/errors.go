package dns

import "errors"

// Sentinel errors. They carry no offsets so that parsing never allocates;
// compare them with errors.Is.
var (
	// ErrShortHeader: fewer than the 12 bytes of a DNS header (the id and
	// flags are decoded when 4 bytes are there).
	ErrShortHeader = errors.New("dns: message shorter than its header")
	// ErrTruncated: the message ends before its section counts or a length
	// field say it should (snap length, a lost segment, or a lying count).
	ErrTruncated = errors.New("dns: message truncated")
	// ErrPointerLoop: compression pointers refer to each other in a cycle
	// (or form a chain longer than any legal name could need).
	ErrPointerLoop = errors.New("dns: compression pointer loop")
	// ErrBadPointer: a compression pointer points outside the message.
	ErrBadPointer = errors.New("dns: compression pointer out of range")
	// ErrBadLabel: a label type other than a length or a pointer (the
	// extended label types of RFC 6891 §5 and the reserved 0b10 prefix).
	ErrBadLabel = errors.New("dns: unsupported label type")
	// ErrNameTooLong: a name longer than 255 octets on the wire (RFC 1035 §2.3.4).
	ErrNameTooLong = errors.New("dns: name longer than 255 octets")
	// ErrBadRdata: an A/AAAA/CNAME record whose RDATA does not fit its type.
	ErrBadRdata = errors.New("dns: malformed rdata")
	// ErrStreamGap: bytes were lost in a DNS-over-TCP stream at a place where
	// the message boundaries cannot be recovered; the stream was abandoned.
	ErrStreamGap = errors.New("dns: bytes lost in TCP stream, framing lost")
)

package http

import (
	"bytes"
	"strings"
)

// Caps on the strings a Transaction keeps. Everything taken from a capture
// is hostile: the bytes are kept raw (not decoded, not validated as UTF-8)
// but never longer than these.
const (
	MaxMethod      = 32
	MaxTarget      = 8 << 10
	MaxHost        = 255
	MaxUserAgent   = 1 << 10
	MaxReason      = 256
	MaxContentType = 256
	MaxVersion     = 16
)

// maxCLDigits bounds a Content-Length: 18 decimal digits fit an int64 with
// room to add, and no real body comes close (a petabyte has 16 digits).
const maxCLDigits = 18

// lenState says what the Content-Length header fields amounted to.
type lenState uint8

const (
	lenNone    lenState = iota // no Content-Length
	lenValid                   // one value (possibly repeated identically)
	lenInvalid                 // not a number, negative, too large, or conflicting values
)

// head is a parsed message head. Its byte slices point into the header block.
type head struct {
	// request line
	method, target, version []byte
	// status line (version shared)
	status int
	reason []byte

	host, userAgent, contentType []byte

	cl        int64
	clState   lenState
	te        bool // Transfer-Encoding present
	chunked   bool // ... and chunked is the final coding
	connClose bool // Connection: close
}

// nextLine splits off the first line of b (LF-terminated, a CR before the
// LF removed). ok is false when b holds no complete line.
func nextLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	line = b[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, b[i+1:], true
}

func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// parseRequestLine splits "METHOD SP target SP HTTP/x.y". The target is
// everything between the first and the last space, so a hostile target
// with spaces in it is kept rather than refused.
func (h *head) parseRequestLine(line []byte) bool {
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || sp > MaxMethod {
		return false
	}
	for _, c := range line[:sp] {
		if !isTchar(c) {
			return false
		}
	}
	h.method = line[:sp]
	rest := line[sp+1:]
	last := bytes.LastIndexByte(rest, ' ')
	if last < 0 {
		return false // HTTP/0.9 or garbage
	}
	h.target, h.version = bytes.TrimLeft(rest[:last], " "), rest[last+1:]
	return bytes.HasPrefix(h.version, []byte("HTTP/")) && len(h.version) <= MaxVersion
}

// parseStatusLine splits "HTTP/x.y SP 3DIGIT SP reason".
func (h *head) parseStatusLine(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("HTTP/")) {
		return false
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || sp > MaxVersion {
		return false
	}
	h.version = line[:sp]
	rest := bytes.TrimLeft(line[sp+1:], " ")
	if len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return false
	}
	s := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return false
		}
		s = s*10 + int(c-'0')
	}
	if s < 100 {
		return false
	}
	h.status = s
	if len(rest) > 4 {
		h.reason = rest[4:]
	}
	return true
}

// parseFields reads header fields until the blank line or the end of b (a
// block cut by the header size cap ends without one; its last partial line
// is ignored). Obsolete line folding continues the previous field: the
// continuation is ignored, which only matters for the fields below.
func (h *head) parseFields(b []byte) {
	for {
		line, rest, ok := nextLine(b)
		if !ok || len(line) == 0 {
			return
		}
		b = rest
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name, value := line[:colon], trimOWS(line[colon+1:])
		switch {
		case equalFold(name, "host"):
			if h.host == nil {
				h.host = value
			}
		case equalFold(name, "user-agent"):
			if h.userAgent == nil {
				h.userAgent = value
			}
		case equalFold(name, "content-type"):
			if h.contentType == nil {
				h.contentType = value
			}
		case equalFold(name, "content-length"):
			h.addContentLength(value)
		case equalFold(name, "transfer-encoding"):
			h.te = true
			// The final coding decides (RFC 9112 §6.3); a later field
			// line continues the list.
			last := value
			if i := bytes.LastIndexByte(value, ','); i >= 0 {
				last = trimOWS(value[i+1:])
			}
			if len(value) > 0 {
				h.chunked = equalFold(last, "chunked")
			}
		case equalFold(name, "connection"):
			for tok := range bytes.SplitSeq(value, []byte(",")) {
				if equalFold(trimOWS(tok), "close") {
					h.connClose = true
				}
			}
		}
	}
}

// addContentLength folds one Content-Length field into h. A list of
// identical values ("5, 5") counts as one value (RFC 9110 §8.6); anything
// else that is not a single non-negative decimal number makes the length
// invalid, and so does a second field with another value.
func (h *head) addContentLength(v []byte) {
	if h.clState == lenInvalid {
		return
	}
	for tok := range bytes.SplitSeq(v, []byte(",")) {
		tok = trimOWS(tok)
		if len(tok) == 0 || len(tok) > maxCLDigits {
			h.clState = lenInvalid
			return
		}
		var n int64
		for _, c := range tok {
			if c < '0' || c > '9' {
				h.clState = lenInvalid
				return
			}
			n = n*10 + int64(c-'0')
		}
		if h.clState == lenValid && n != h.cl {
			h.clState = lenInvalid
			return
		}
		h.cl, h.clState = n, lenValid
	}
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b equals the lower-case ASCII string s,
// ignoring ASCII case in b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// capString converts b to a string of at most n bytes; capped reports a cut.
func capString(b []byte, n int, capped *bool) string {
	if len(b) > n {
		b = b[:n]
		*capped = true
	}
	return string(b)
}

// Common values are returned as constants so a typical exchange does not
// allocate for them.
var (
	knownMethods  = []string{"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "PROPFIND"}
	knownVersions = []string{"HTTP/1.1", "HTTP/1.0"}
	knownReasons  = []string{"OK", "Not Found", "Not Modified", "Found", "Moved Permanently", "No Content", "Continue",
		"Internal Server Error", "Bad Request", "Forbidden", "Unauthorized", "Service Unavailable", "Bad Gateway",
		"Gateway Timeout", "Partial Content", "Switching Protocols"}
)

func intern(b []byte, known []string, n int, capped *bool) string {
	for _, k := range known {
		if string(b) == k {
			return k
		}
	}
	return capString(b, n, capped)
}

package http

import "bytes"

// Transaction is one HTTP request and its response as seen on the wire.
// Times are capture times in nanoseconds since the Unix epoch (0: not seen).
type Transaction struct {
	// Request. RequestTime is the segment holding its first byte,
	// RequestDoneTime the one holding its last (head or body).
	RequestTime      int64
	RequestDoneTime  int64
	Method           string
	Target           string // request-target as sent (origin, absolute, authority or asterisk form)
	Host             string
	UserAgent        string
	HTTPVersion      string // of the request, e.g. "HTTP/1.1"
	RequestBodyBytes int64  // body bytes (decoded size when chunked)

	// Response. Status is 0 when no final response was seen.
	Status          int
	Reason          string
	ResponseVersion string
	ContentType     string
	// FirstResponseByteTime is the segment holding the first byte of the
	// final response's status line; ResponseDoneTime the one holding its
	// last byte (for a body read until close: the last body byte).
	FirstResponseByteTime int64
	ResponseDoneTime      int64
	ResponseBytes         int64 // body bytes (decoded size when chunked); 0 for HEAD, 204, 304
	// How the final response framed its body: the Content-Length it
	// announced (-1 when none), or chunked.
	ContentLength int64
	Chunked       bool
	// Informational counts the 1xx responses before the final one (100
	// Continue, 103 Early Hints); InformationalTime is the first of them.
	Informational     int
	InformationalTime int64

	// Complete: the final response was seen to its end (its length, the
	// last chunk, or the close of a read-until-close body). See Gap.
	Complete bool
	// NoRequest: a response whose request was not seen (capture started
	// late, or the request was lost). NoResponse: a request whose response
	// was not seen before the connection ended (or before framing was lost).
	NoRequest  bool
	NoResponse bool
	// Gap: bytes were missing in this exchange (counted in the byte totals
	// when the framing survived them), or the request and response may be
	// mispaired because a lost gap hid how many requests were sent.
	Gap bool
	// HeaderOverflow: a head exceeded Config.MaxHeaderBytes; fields past
	// the cap were not read. BadFraming: an invalid Content-Length,
	// Transfer-Encoding or chunk, handled as RFC 9112 §6.3 says (a
	// response is read until close; a request loses framing).
	HeaderOverflow bool
	BadFraming     bool
	// Capped: a kept string was longer than its cap and was cut.
	Capped bool
	// ConnectionClose: "Connection: close" in the request or the response:
	// this was meant to be the connection's last exchange.
	ConnectionClose bool
	// Upgraded: 101 Switching Protocols or a 2xx answer to CONNECT; the
	// connection left HTTP/1.x here and is not parsed any further.
	Upgraded bool
	// Overflow: the request was not recorded because Config.MaxPending
	// requests were already waiting; only the response is known.
	Overflow bool
}

// TTFB returns the time from the first request byte to the first byte of
// the final response, or -1 when either is missing.
func (t *Transaction) TTFB() int64 {
	if t.RequestTime == 0 || t.FirstResponseByteTime == 0 {
		return -1
	}
	return t.FirstResponseByteTime - t.RequestTime
}

// Config bounds a Conn. The zero value gives the defaults.
type Config struct {
	// MaxHeaderBytes caps the bytes buffered for one message head
	// (default 64 KiB). Fields past it are skipped, not buffered.
	MaxHeaderBytes int
	// MaxPending caps the requests waiting for their response (pipelining
	// depth; default 32). Further requests are only counted until the
	// queue drains, and their responses are emitted with Overflow set.
	MaxPending int
	// MaxResync caps the bytes a direction that has never produced a valid
	// message scans for one before the parser gives up on it (default 1 MiB).
	// A direction that did carry HTTP scans without limit (it costs a
	// memchr per line, no buffering).
	MaxResync int64
}

func (c *Config) defaults() {
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 64 << 10
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 32
	}
	if c.MaxResync <= 0 {
		c.MaxResync = 1 << 20
	}
}

// Stats counts what a Conn saw.
type Stats struct {
	Requests, Responses int64 // message heads parsed (Responses includes 1xx)
	Gaps                int64 // ClientGap/ServerGap calls
	LostSync            int64 // times a direction lost message framing
	Resyncs             int64 // times a direction found a message start again
	Overflow            int64 // requests not recorded (MaxPending)
	HeaderOverflows     int64
	GaveUp              int  // directions abandoned as not HTTP (0, 1 or 2)
	Tunnel              bool // the connection was upgraded (101, CONNECT)
}

type entry struct {
	tx       Transaction
	reqDone  bool
	respDone bool
}

// Conn parses one TCP connection carrying HTTP/1.x. Feed it each
// direction's reassembled bytes in order with ClientData and ServerData,
// in capture order across the two directions (a request must be fed before
// its response for them to pair), report holes with ClientGap/ServerGap,
// and call Close when the connection ends. Finished transactions go to the
// emit function in request order.
//
// Nothing is buffered but message heads (bounded by MaxHeaderBytes): a
// head that arrives whole in one call is parsed in place, without a copy.
// Bodies are only counted. Not safe for concurrent use.
type Conn struct {
	cfg       Config
	emit      func(*Transaction)
	q         []entry
	srv       int  // index in q of the request the server answers next (len(q): none waiting)
	ovf       int  // requests beyond q, in order after it, not recorded (Overflow)
	uncertain bool // the client lost framing once: later pairings are unsure
	closed    bool
	cli, sv   side
	stats     Stats
	scratch   Transaction // receives the body counts of unrecorded requests
}

// NewConn returns a Conn that hands each finished Transaction to emit.
// The pointer is valid only during the call; copy the value to keep it (a
// shallow copy is enough).
func NewConn(cfg Config, emit func(*Transaction)) *Conn {
	c := &Conn{}
	c.Reset(cfg, emit)
	return c
}

// Reset makes c ready for a new connection, keeping its buffers.
// Transactions still pending are dropped: call Close first to get them.
func (c *Conn) Reset(cfg Config, emit func(*Transaction)) {
	cfg.defaults()
	q, ch, sh := c.q[:0], c.cli.hdr[:0], c.sv.hdr[:0]
	*c = Conn{cfg: cfg, emit: emit, q: q}
	c.cli = side{hdr: ch, idx: -1}
	c.sv = side{hdr: sh, server: true, idx: -1}
}

// Stats returns the counters.
func (c *Conn) Stats() Stats { return c.stats }

// ClientData feeds the next in-order bytes sent by the client, captured
// at ts (ns). b is not retained.
func (c *Conn) ClientData(b []byte, ts int64) { c.data(&c.cli, b, ts) }

// ServerData feeds the next in-order bytes sent by the server.
func (c *Conn) ServerData(b []byte, ts int64) { c.data(&c.sv, b, ts) }

// ClientGap reports n bytes lost from the client's stream at the current
// position. Inside a body of known length the parser stays in step and
// counts them; elsewhere it loses framing and looks for the next request
// line (the affected transactions are marked Gap).
func (c *Conn) ClientGap(n int) { c.gap(&c.cli, int64(n)) }

// ServerGap is ClientGap for the server's stream. A body read until
// close absorbs any gap.
func (c *Conn) ServerGap(n int) { c.gap(&c.sv, int64(n)) }

// ClientSkippable returns how many of the client's next bytes the parser
// will only count, never read: the rest of a body of known length or of a
// chunk, everything of a direction that is not parsed any more (a tunnel,
// HTTP/2). 0 when the next bytes may be read (a head, chunk framing). A
// reassembler may keep the sequence numbers of such bytes instead of the
// bytes, and hand them over with ClientSkip.
func (c *Conn) ClientSkippable() int64 { return c.skippable(&c.cli) }

// ServerSkippable is ClientSkippable for the server's stream; a body read
// until the close is skippable to its end.
func (c *Conn) ServerSkippable() int64 { return c.skippable(&c.sv) }

// ClientSkip passes over the client's next n bytes, captured at ts,
// without their content: it counts them as ClientData would. n should not
// exceed ClientSkippable; bytes beyond it are handled as a gap (ClientGap),
// since the parser would have had to read them.
func (c *Conn) ClientSkip(n int64, ts int64) { c.skip(&c.cli, n, ts) }

// ServerSkip is ClientSkip for the server's stream.
func (c *Conn) ServerSkip(n int64, ts int64) { c.skip(&c.sv, n, ts) }

// noRead is what skippable returns for a stream that is never read again.
const noRead = 1<<63 - 1

// skippable says how many of s's next bytes are only counted. Only states
// whose count changes by s's own bytes alone qualify: a client waiting
// after CONNECT (stWait) drops bytes until the answer, after which it
// reads them again, so it is not skippable.
func (c *Conn) skippable(s *side) int64 {
	if c.closed {
		return noRead
	}
	switch s.st {
	case stBody, stChunkData:
		return s.remaining
	case stUntilClose, stDead:
		return noRead
	}
	return 0
}

func (c *Conn) skip(s *side, n int64, ts int64) {
	if c.closed || n <= 0 {
		return
	}
	s.lastTS = ts
	switch s.st {
	case stBody, stChunkData:
		k := min(n, s.remaining)
		c.count(s, k, ts)
		n -= k
		if s.remaining -= k; s.remaining == 0 {
			if s.st == stBody {
				c.bodyDone(s, ts)
			} else {
				s.st = stChunkCRLF
			}
		}
	case stUntilClose:
		c.count(s, n, ts)
		n = 0
	case stDead:
		n = 0
	}
	if n > 0 {
		c.gap(s, n)
	}
}

// Close ends the connection: a response read until close is complete,
// everything still pending is emitted (without response: NoResponse).
func (c *Conn) Close() {
	if c.closed {
		return
	}
	for _, s := range []*side{&c.cli, &c.sv} {
		if s.st == stHead && s.startOK {
			c.headCut(s)
			if s.st != stDead {
				c.lost(s) // what the head said about the body is moot
			}
		}
	}
	c.closed = true
	if c.srv < len(c.q) && c.sv.st == stUntilClose {
		c.q[c.srv].tx.Complete = true
	}
	for i := range c.q {
		c.q[i].reqDone, c.q[i].respDone = true, true
	}
	c.pop()
	c.ovf = 0
}

// sideState is where a direction is in its message.
type sideState uint8

const (
	stIdle       sideState = iota // between messages (empty lines are skipped)
	stHead                        // reading a message head
	stBody                        // Content-Length body: remaining bytes
	stChunkSize                   // chunked: size digits
	stChunkExt                    // chunked: rest of the size line (extensions)
	stChunkData                   // chunked: data, remaining bytes
	stChunkCRLF                   // chunked: the CRLF after the data
	stTrailer                     // chunked: trailer fields up to the blank line
	stUntilClose                  // response body delimited by the close
	stWait                        // client after CONNECT: waiting for the answer
	stResync                      // framing lost: looking for a start line
	stDead                        // not parsed any more
)

// maxPattern is the longest start-of-message pattern looked for in resync.
const maxPattern = 8

type side struct {
	server    bool
	st        sideState
	hdr       []byte // a head split across calls (at most MaxHeaderBytes)
	eoh       uint8  // end-of-head scanner state
	overflow  bool   // the head passed MaxHeaderBytes
	msgTS     int64  // time of the current message's first byte
	lastTS    int64  // time of the last bytes fed
	remaining int64  // body or chunk bytes left
	digits    int    // chunk size digits read
	idx       int    // client: q index of the request being read (-1: unrecorded)
	parsed    bool   // a message head was parsed in this direction
	gapped    bool   // bytes were lost in this direction
	startOK   bool   // the current head's start line was checked
	cut       bool   // the head being recorded was cut short (headCut)
	scanned   int64  // bytes scanned in resync before any message was parsed
	lineStart bool   // resync: the last byte seen was LF
	npart     int    // resync: bytes of a possible start line carried over
	part      [maxPattern]byte
}

func (c *Conn) data(s *side, b []byte, ts int64) {
	if c.closed {
		return
	}
	s.lastTS = ts
	if s.st == stResync && s.npart == 0 {
		// Segments often begin with a message: try the start of this one.
		s.lineStart = true
	}
	for len(b) > 0 {
		switch s.st {
		case stIdle:
			i := 0
			for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
				i++
			}
			if b = b[i:]; len(b) == 0 {
				return
			}
			s.st, s.msgTS, s.eoh, s.overflow, s.startOK = stHead, ts, 0, false, false
			s.hdr = s.hdr[:0]
		case stHead:
			b = c.head(s, b, ts)
		case stBody, stChunkData:
			k := min(int64(len(b)), s.remaining)
			c.count(s, k, ts)
			b = b[k:]
			if s.remaining -= k; s.remaining == 0 {
				if s.st == stBody {
					c.bodyDone(s, ts)
				} else {
					s.st = stChunkCRLF
				}
			}
		case stChunkSize:
			b = c.chunkSize(s, b)
		case stChunkExt:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				return
			}
			b = b[i+1:]
			if s.remaining == 0 {
				s.st, s.eoh = stTrailer, 1 // at the start of a line
			} else {
				s.st = stChunkData
			}
		case stChunkCRLF:
			switch b[0] {
			case '\r':
				b = b[1:]
			case '\n':
				b = b[1:]
				s.st, s.remaining, s.digits = stChunkSize, 0, 0
			default:
				c.tx(s).BadFraming = true
				c.lost(s)
			}
		case stTrailer:
			n := scanEOH(b, &s.eoh)
			if n < 0 {
				return
			}
			b = b[n:]
			c.bodyDone(s, ts)
		case stUntilClose:
			c.count(s, int64(len(b)), ts)
			return
		case stWait, stDead:
			return
		case stResync:
			b = c.resync(s, b, ts)
		}
	}
}

// head reads a message head; it returns the bytes after it.
func (c *Conn) head(s *side, b []byte, ts int64) []byte {
	max := c.cfg.MaxHeaderBytes
	if !s.startOK {
		// Check the start line as soon as it is complete, so that garbage
		// is neither buffered nor allowed to swallow a real message that
		// follows it on the next lines.
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(s.hdr)+len(b) > max || !plausible(s.hdr, b, s.server) {
				c.lost(s)
				return b
			}
			s.hdr = append(s.hdr, b...)
			return nil
		}
		if len(s.hdr)+i > max {
			c.lost(s)
			return b
		}
		l0 := len(s.hdr)
		line := b[:i] // in place when the line came whole
		if l0 > 0 {
			line = append(s.hdr, line...)
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		var h head
		ok := false
		if s.server {
			ok = h.parseStatusLine(line)
		} else {
			ok = h.parseRequestLine(line)
		}
		if l0 > 0 {
			s.hdr = line[:l0]
		}
		if !ok {
			c.lost(s)
			s.lineStart = true
			return b[i+1:]
		}
		s.startOK = true
	}
	n := scanEOH(b, &s.eoh)
	if n < 0 {
		room := max - len(s.hdr)
		if len(b) > room && !s.overflow {
			s.overflow = true
			c.stats.HeaderOverflows++
		}
		s.hdr = append(s.hdr, b[:min(room, len(b))]...)
		return nil
	}
	var block []byte
	if len(s.hdr) == 0 && !s.overflow {
		block = b[:n]
		if n > max {
			block = block[:max]
			s.overflow = true
			c.stats.HeaderOverflows++
		}
	} else {
		room := max - len(s.hdr)
		if n > room && !s.overflow {
			s.overflow = true
			c.stats.HeaderOverflows++
		}
		s.hdr = append(s.hdr, b[:min(n, room)]...)
		block = s.hdr
	}
	rest := b[n:]
	var h head
	line, fields, _ := nextLine(block)
	if s.server {
		h.parseStatusLine(line)
	} else {
		h.parseRequestLine(line)
	}
	h.parseFields(fields)
	s.parsed = true
	s.st = stIdle
	if s.server {
		c.response(s, &h, ts)
	} else {
		c.request(s, &h, ts)
	}
	s.hdr = s.hdr[:0]
	return rest
}

// plausible reports whether the start of a message head that is not
// complete yet can still be one, so garbage is not buffered up to the cap.
// The line so far is p1 followed by p2.
func plausible(p1, p2 []byte, server bool) bool {
	i := 0
	for _, p := range [2][]byte{p1, p2} {
		for _, c := range p {
			if server {
				if i >= 5 {
					return true
				}
				if c != "HTTP/"[i] {
					return false
				}
			} else {
				if c == ' ' {
					return i > 0
				}
				if i >= MaxMethod || !isTchar(c) {
					return false
				}
			}
			i++
		}
	}
	return true
}

// scanEOH finds the blank line that ends a head. It returns the index just
// past it in b, or -1; *st carries the state across calls: 0 inside a
// line, 1 at the start of a line, 2 after a CR at the start of a line.
func scanEOH(b []byte, st *uint8) int {
	for i := 0; i < len(b); {
		switch *st {
		case 0:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return -1
			}
			i += j + 1
			*st = 1
		default:
			switch b[i] {
			case '\n':
				*st = 0
				return i + 1
			case '\r':
				if *st == 1 {
					*st = 2
				} else {
					*st = 0
				}
			default:
				*st = 0
			}
			i++
		}
	}
	return -1
}

func (c *Conn) request(s *side, h *head, ts int64) {
	c.stats.Requests++
	if string(h.method) == "PRI" && string(h.version) == "HTTP/2.0" {
		// HTTP/2 with prior knowledge (RFC 9113 §3.3): not ours.
		c.cli.st, c.sv.st = stDead, stDead
		return
	}
	var tx *Transaction
	if c.ovf > 0 || len(c.q) >= c.cfg.MaxPending {
		c.ovf++
		c.stats.Overflow++
		s.idx = -1
		c.scratch = Transaction{}
		tx = &c.scratch
	} else {
		c.q = append(c.q, entry{})
		s.idx = len(c.q) - 1
		tx = &c.q[s.idx].tx
	}
	tx.RequestTime, tx.RequestDoneTime = s.msgTS, ts
	tx.Method = intern(h.method, knownMethods, MaxMethod, &tx.Capped)
	tx.Target = capString(h.target, MaxTarget, &tx.Capped)
	tx.HTTPVersion = intern(h.version, knownVersions, MaxVersion, &tx.Capped)
	if h.host != nil {
		tx.Host = capString(h.host, MaxHost, &tx.Capped)
	}
	if h.userAgent != nil {
		tx.UserAgent = capString(h.userAgent, MaxUserAgent, &tx.Capped)
	}
	tx.HeaderOverflow = s.overflow
	tx.Gap = c.uncertain || s.cut
	tx.ConnectionClose = h.connClose
	switch {
	case h.te && h.chunked:
		s.st, s.remaining, s.digits = stChunkSize, 0, 0
	case h.te:
		// A request's body must end in chunked (RFC 9112 §6.3 item 4).
		tx.BadFraming = true
		c.lost(s)
	case h.clState == lenInvalid:
		tx.BadFraming = true
		c.lost(s)
	case h.clState == lenValid && h.cl > 0:
		s.st, s.remaining = stBody, h.cl
	default:
		c.bodyDone(s, ts)
		if tx.Method == "CONNECT" {
			s.st = stWait // what follows is the tunnel if the answer is 2xx
		}
	}
}

func (c *Conn) response(s *side, h *head, ts int64) {
	c.stats.Responses++
	if c.srv == len(c.q) {
		// No request waiting: it was not seen, or not recorded.
		if len(c.q) >= c.cfg.MaxPending {
			// Answered entries are held back by a request still being
			// sent while responses keep coming: emit them now, so the
			// queue stays bounded (the client's counts go nowhere).
			for i := range c.q {
				c.q[i].reqDone = true
			}
			c.cli.idx = -1
			c.pop()
		}
		e := entry{reqDone: true}
		e.tx.NoRequest = true
		if c.ovf > 0 {
			c.ovf--
			e.tx.Overflow = true
		}
		c.q = append(c.q, e)
	}
	tx := &c.q[c.srv].tx
	tx.Gap = tx.Gap || s.cut
	if h.status < 200 && h.status != 101 {
		tx.Informational++
		if tx.InformationalTime == 0 {
			tx.InformationalTime = s.msgTS
		}
		return
	}
	tx.Status = h.status
	tx.ContentLength, tx.Chunked = -1, false
	tx.Reason = intern(h.reason, knownReasons, MaxReason, &tx.Capped)
	tx.ResponseVersion = intern(h.version, knownVersions, MaxVersion, &tx.Capped)
	if h.contentType != nil {
		tx.ContentType = capString(h.contentType, MaxContentType, &tx.Capped)
	}
	tx.FirstResponseByteTime = s.msgTS
	tx.ResponseDoneTime = ts
	tx.HeaderOverflow = tx.HeaderOverflow || s.overflow
	tx.ConnectionClose = tx.ConnectionClose || h.connClose
	connect := tx.Method == "CONNECT"
	if connect && c.cli.st == stWait {
		c.cli.st = stIdle
	}
	switch {
	case h.status == 101 || connect && h.status < 300:
		tx.Upgraded = true
		c.stats.Tunnel = true
		c.responseDone(ts)
		c.cli.st, c.sv.st = stDead, stDead
	case tx.Method == "HEAD" || h.status == 204 || h.status == 304:
		c.responseDone(ts)
	case h.te && h.chunked:
		tx.Chunked = true
		s.st, s.remaining, s.digits = stChunkSize, 0, 0
	case h.te:
		s.st = stUntilClose // RFC 9112 §6.3 item 4
	case h.clState == lenValid && h.cl == 0:
		tx.ContentLength = 0
		c.responseDone(ts)
	case h.clState == lenValid:
		tx.ContentLength = h.cl
		s.st, s.remaining = stBody, h.cl
	case h.clState == lenInvalid:
		tx.BadFraming = true // RFC 9112 §6.3 item 5: the client closes
		s.st = stUntilClose
	default:
		s.st = stUntilClose
	}
}

// tx returns the transaction whose body s is reading.
func (c *Conn) tx(s *side) *Transaction {
	if s.server {
		return &c.q[c.srv].tx
	}
	if s.idx < 0 {
		return &c.scratch
	}
	return &c.q[s.idx].tx
}

func (c *Conn) count(s *side, n int64, ts int64) {
	tx := c.tx(s)
	if s.server {
		tx.ResponseBytes += n
		tx.ResponseDoneTime = ts
	} else {
		tx.RequestBodyBytes += n
		tx.RequestDoneTime = ts
	}
}

func (c *Conn) bodyDone(s *side, ts int64) {
	s.st = stIdle
	if s.server {
		c.responseDone(ts)
		return
	}
	if s.idx >= 0 {
		e := &c.q[s.idx]
		e.reqDone = true
		e.tx.RequestDoneTime = ts
		s.idx = -1
		c.pop()
	}
}

func (c *Conn) responseDone(ts int64) {
	e := &c.q[c.srv]
	e.respDone = true
	e.tx.Complete = true
	e.tx.ResponseDoneTime = ts
	c.srv++
	c.sv.st = stIdle
	c.pop()
}

// pop emits the finished transactions at the front of the queue.
func (c *Conn) pop() {
	n := 0
	for n < len(c.q) && c.q[n].reqDone && c.q[n].respDone {
		tx := &c.q[n].tx
		tx.NoResponse = tx.Status == 0 && !tx.NoRequest
		if c.emit != nil {
			c.emit(tx)
		}
		n++
	}
	if n == 0 {
		return
	}
	m := copy(c.q, c.q[n:])
	clear(c.q[m:])
	c.q = c.q[:m]
	c.srv -= n
	if c.cli.idx >= 0 {
		c.cli.idx -= n
	}
}

// chunkSize reads the hex digits of a chunk size line.
func (c *Conn) chunkSize(s *side, b []byte) []byte {
	for i, ch := range b {
		var v byte
		switch {
		case '0' <= ch && ch <= '9':
			v = ch - '0'
		case 'a' <= ch && ch <= 'f':
			v = ch - 'a' + 10
		case 'A' <= ch && ch <= 'F':
			v = ch - 'A' + 10
		default:
			if s.digits == 0 {
				c.tx(s).BadFraming = true
				c.lost(s)
				return b[i:]
			}
			s.st = stChunkExt
			return b[i:]
		}
		if s.remaining > 1<<58 {
			c.tx(s).BadFraming = true // a chunk over 2^62 bytes: not a real one
			c.lost(s)
			return b[i:]
		}
		s.remaining = s.remaining<<4 | int64(v)
		s.digits++
	}
	return nil
}

// gap handles n lost bytes in one direction.
func (c *Conn) gap(s *side, n int64) {
	if n <= 0 || c.closed || s.st == stDead || s.st == stWait {
		return
	}
	c.stats.Gaps++
	s.gapped = true
	switch s.st {
	case stBody, stChunkData:
		if n <= s.remaining {
			c.tx(s).Gap = true
			c.count(s, n, s.lastTS)
			if s.remaining -= n; s.remaining == 0 {
				if s.st == stBody {
					c.bodyDone(s, s.lastTS)
				} else {
					s.st = stChunkCRLF
				}
			}
			return
		}
	case stUntilClose:
		c.tx(s).Gap = true
		c.count(s, n, s.lastTS)
		return
	case stResync:
		s.npart, s.lineStart = 0, false
		return
	case stHead:
		if s.startOK {
			c.headCut(s)
			if s.st == stDead {
				return
			}
		}
	}
	c.lost(s)
}

// headCut records a message whose head was cut short (by a gap, a snap
// length or the end of the connection) after a valid start line: the
// status or request line and the complete fields before the cut are worth
// keeping (a capture taken with a small snap length still shows status
// codes). The caller then gives up the message.
func (c *Conn) headCut(s *side) {
	var h head
	line, fields, _ := nextLine(s.hdr)
	ok := false
	if s.server {
		ok = h.parseStatusLine(line)
	} else {
		ok = h.parseRequestLine(line)
	}
	if !ok {
		return
	}
	h.parseFields(fields)
	s.parsed = true
	s.cut = true
	if s.server {
		c.response(s, &h, s.lastTS)
	} else {
		c.request(s, &h, s.lastTS)
	}
	s.cut = false
	s.hdr = s.hdr[:0]
}

// lost is called when a direction's framing is lost: the message in
// progress is given up and the direction looks for the next start line.
//
// Server: every request still waiting is emitted without a response
// (Gap): which of the responses after the hole answers which request can
// no longer be known. Client: the request in progress ends there, and the
// requests found after resynchronising are marked Gap, because requests
// lost in the hole will have responses too.
func (c *Conn) lost(s *side) {
	c.stats.LostSync++
	s.st = stResync
	s.npart, s.lineStart = 0, false
	s.hdr = s.hdr[:0]
	if s.server {
		for i := c.srv; i < len(c.q); i++ {
			c.q[i].tx.Gap = true
			c.q[i].respDone = true
		}
		c.srv = len(c.q)
		c.ovf = 0
	} else {
		if s.idx >= 0 {
			c.q[s.idx].tx.Gap = true
			c.q[s.idx].reqDone = true
			s.idx = -1
		}
		// Bytes the client sent were lost (or garbled): requests may be
		// among them. When the client's very first bytes are not a
		// request, the capture most likely started mid-connection; that
		// is not treated as a loss (see the package doc).
		if s.parsed || s.gapped {
			c.uncertain = true
		}
	}
	c.pop()
}

var (
	serverStarts = []string{"HTTP/1."}
	clientStarts = []string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}
)

// matchStart reports whether p begins a start line (match) or could still
// (more: p is a proper prefix of a pattern).
func matchStart(p []byte, server bool) (match, more bool) {
	pats := clientStarts
	if server {
		pats = serverStarts
	}
	for _, pat := range pats {
		if len(p) >= len(pat) {
			if string(p[:len(pat)]) == pat {
				return true, false
			}
		} else if string(p) == pat[:len(p)] {
			more = true
		}
	}
	return false, more
}

// resync looks for the start of a message at the beginning of a line. It
// buffers at most maxPattern bytes and returns the bytes from the start
// line on when it finds one.
func (c *Conn) resync(s *side, b []byte, ts int64) []byte {
	for len(b) > 0 {
		if s.lineStart || s.npart > 0 {
			var cand [maxPattern]byte
			k := copy(cand[:], s.part[:s.npart])
			used := copy(cand[k:], b)
			match, more := matchStart(cand[:k+used], s.server)
			switch {
			case match:
				c.stats.Resyncs++
				s.st, s.msgTS, s.eoh, s.overflow, s.startOK = stHead, ts, 0, false, false
				s.hdr = append(s.hdr[:0], s.part[:s.npart]...)
				s.npart, s.lineStart = 0, false
				return b
			case more && used == len(b):
				s.npart = copy(s.part[:], cand[:k+used])
				s.lineStart = false
				return nil
			}
			s.npart, s.lineStart = 0, false
		}
		i := bytes.IndexByte(b, '\n')
		if !s.parsed {
			scanned := len(b)
			if i >= 0 {
				scanned = i + 1
			}
			if s.scanned += int64(scanned); s.scanned > c.cfg.MaxResync {
				s.st = stDead
				c.stats.GaveUp++
				return nil
			}
		}
		if i < 0 {
			return nil
		}
		b = b[i+1:]
		s.lineStart = true
	}
	return nil
}

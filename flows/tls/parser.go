package tls

import (
	"encoding/binary"
	"fmt"
)

// Bounds on what one Parser keeps.
const (
	// MaxMessage bounds a buffered hello message (ClientHello or
	// ServerHello, the only messages buffered). A larger one is skipped and
	// Result.Truncated is set. Real hellos are 0.2–2 KiB (a few KiB with
	// post-quantum key shares, 16 KiB at most with padding).
	MaxMessage = 64 << 10
	// MaxHellos and MaxAlerts bound the results of one direction; the
	// excess is counted in Result.HellosDropped and Result.AlertsDropped.
	MaxHellos = 4
	MaxAlerts = 16

	// maxRecord is the largest record length accepted (TLS 1.2 ciphertext:
	// 2^14 + 2048, RFC 5246 §6.2.3). A longer length means not TLS.
	maxRecord = 1<<14 + 2048
	// maxPrefix is how far into a stream that does not start with a TLS
	// record the parser looks for a hello (SOCKS, HTTP CONNECT, STARTTLS).
	maxPrefix = 16 << 10
	// maxResync is how far after a gap the parser looks for a record start.
	maxResync = 64 << 10
	// scanWindow is the number of bytes needed to judge a candidate record
	// start (5 record header + 4 handshake header + 2 hello version).
	scanWindow = 11
)

// StopReason says why a Parser stopped looking at its stream.
type StopReason uint8

const (
	Running    StopReason = iota // still parsing (or skipping records cheaply)
	StopNotTLS                   // no TLS hello within the first 16 KiB
	StopDesync                   // a record header that is not TLS after records were in sync
	StopGap                      // lost bytes after the handshake, or no record start found after a gap
	StopSSLv2                    // the connection went on in SSLv2 after an SSLv2-compatible ClientHello
)

func (s StopReason) String() string {
	switch s {
	case Running:
		return "running"
	case StopNotTLS:
		return "not TLS"
	case StopDesync:
		return "record desync"
	case StopGap:
		return "gap"
	case StopSSLv2:
		return "SSLv2"
	}
	return fmt.Sprintf("stop(%d)", uint8(s))
}

// Alert is one alert record (or one alert of a record holding several).
type Alert struct {
	Time        int64 // capture time (ns) of the segment carrying the alert's first byte
	Level       uint8 // AlertLevelWarning or AlertLevelFatal; 0 when Encrypted
	Description uint8 // see AlertName; 0 when Encrypted
	// Encrypted is set for an alert record sent after the direction
	// switched to encrypted records (ChangeCipherSpec, application data):
	// its level and description are not visible. (TLS 1.3 hides alerts sent
	// after the ServerHello inside application_data records: those are not
	// seen as alerts at all.)
	Encrypted bool
}

// Fatal reports a plaintext fatal alert.
func (a Alert) Fatal() bool { return !a.Encrypted && a.Level == AlertLevelFatal }

func (a Alert) String() string {
	if a.Encrypted {
		return "encrypted alert"
	}
	return AlertLevelName(a.Level) + " " + AlertName(a.Description)
}

// Result is what one direction of a stream showed of the TLS handshake.
// The slices are shared with the Parser and only ever appended to.
type Result struct {
	// TLS is set once a record header that looks like TLS was seen.
	TLS bool
	// ClientHellos holds the ClientHellos in stream order: one, or two
	// after a HelloRetryRequest. ServerHellos likewise (a HelloRetryRequest
	// is a ServerHello with HelloRetryRequest set).
	ClientHellos []ClientHello
	ServerHellos []ServerHello
	// Alerts holds the alert records in stream order.
	Alerts        []Alert
	HellosDropped int // hellos beyond MaxHellos
	AlertsDropped int // alerts beyond MaxAlerts
	Malformed     int // hello messages that did not parse
	// Truncated is set when a hello could not be read whole: larger than
	// MaxMessage, cut by a gap, or (in a Result taken mid-stream) still
	// incomplete.
	Truncated bool

	// ChangeCipherSpec: the first ChangeCipherSpec record (TLS 1.2 and
	// earlier: everything after it is encrypted; TLS 1.3: a dummy record
	// for middleboxes).
	ChangeCipherSpec     bool
	ChangeCipherSpecTime int64
	// AppData: the first application_data record (TLS 1.3: the first
	// encrypted handshake record).
	AppData     bool
	AppDataTime int64

	Records  int64 // TLS record headers parsed (an SSLv2-compatible hello is not one)
	Skipped  int64 // bytes not parsed as records: a non-TLS prefix, bytes searched after a gap
	Gaps     int   // calls to Gap
	GapBytes int64 // bytes reported lost
	Resyncs  int   // times a record start was found again after a gap
	SSLv2    bool  // the stream starts with an SSLv2-compatible ClientHello (see ParseSSLv2ClientHello)
	Stop     StopReason
}

// Encrypted reports whether this direction has switched to encrypted records.
func (r *Result) Encrypted() bool { return r.ChangeCipherSpec || r.AppData }

// Parser states.
type pstate uint8

const (
	stStart   pstate = iota // nothing seen yet: the first record header is being read
	stHeader                // reading a record header (hdrN bytes in hdr)
	stBody                  // inside a record body (recLeft bytes to go)
	stScan                  // searching for a record start
	stStopped               // nothing more to do
)

// What a record body goes to.
type recMode uint8

const (
	modeSkip      recMode = iota // not needed: counted and dropped
	modeHandshake                // plaintext handshake messages
	modeAlert                    // plaintext alerts
	modePeek                     // handshake record after ChangeCipherSpec: plaintext hello or encrypted?
	modeSSLv2                    // SSLv2-compatible ClientHello: buffered whole (see sslv2.go)
)

// Parser parses the TLS handshake in one direction of a TCP stream. Feed it
// the stream's bytes in order; report lost bytes with Gap. The zero value is
// ready to use. A Parser is not safe for concurrent use.
type Parser struct {
	res Result
	st  pstate

	// Record layer.
	hdr     [5]byte
	hdrN    uint8
	mode    recMode
	recVer  uint16
	recLen  int
	recLeft int

	// Scanning for a record start.
	scanStrict bool // only a hello record will do (start of stream)
	scanLeft   int  // candidate positions still allowed
	carry      [scanWindow]byte
	carryN     uint8

	// Handshake layer: messages over the handshake records' contents.
	hsHdr    [4]byte
	hsHdrN   uint8
	hsInBody bool
	hsKeep   bool // buffering (or parsing in place) this message
	hsDesync bool // lost message framing: ignore until the next record
	hsType   uint8
	hsLeft   int
	hsTime   int64
	hsRecVer uint16
	msg      []byte

	// Alert layer.
	alert     [2]byte
	alertN    uint8
	alertTime int64

	// Post-ChangeCipherSpec handshake record: first bytes, to decide.
	peek  [6]byte
	peekN uint8
}

// NewParser returns a ready Parser (the zero value is ready too).
func NewParser() *Parser { return &Parser{} }

// Reset makes p ready for a new stream, keeping nothing.
func (p *Parser) Reset() { *p = Parser{} }

// Result returns what was parsed so far.
func (p *Parser) Result() Result {
	r := p.res
	if p.hsInBody && p.hsKeep {
		r.Truncated = true
	}
	return r
}

// Stopped reports that the parser ignores the rest of the stream.
func (p *Parser) Stopped() bool { return p.st == stStopped }

// Encrypted reports whether this direction has switched to encrypted
// records (sent ChangeCipherSpec or application data). Once application
// data was seen, Feed only follows record headers (for encrypted alerts),
// buffers nothing and does not allocate.
func (p *Parser) Encrypted() bool { return p.res.Encrypted() }

// Feed hands the parser the next bytes of the stream, captured at ts
// (nanoseconds). data is not retained.
func (p *Parser) Feed(data []byte, ts int64) {
	// Fast path: the middle of a record nobody needs (certificates,
	// application data): count and return.
	if p.st == stBody && p.mode == modeSkip && len(data) < p.recLeft {
		p.recLeft -= len(data)
		return
	}
	if p.st == stStopped {
		return
	}
	p.feed(data, ts)
}

func (p *Parser) feed(data []byte, ts int64) {
	for len(data) > 0 {
		switch p.st {
		case stStart, stHeader:
			var h []byte
			if p.hdrN == 0 && len(data) >= 5 {
				h, data = data[:5], data[5:]
			} else {
				n := copy(p.hdr[p.hdrN:], data)
				p.hdrN += uint8(n)
				data = data[n:]
				if p.hdrN < 5 {
					return
				}
				h, p.hdrN = p.hdr[:], 0
			}
			if p.record(h, ts) {
				continue
			}
			if p.st != stStart {
				if p.res.SSLv2 && p.res.Records == 0 {
					// The server answered the SSLv2-compatible hello in
					// SSLv2: the client goes on in SSLv2 records (its
					// master key, then encrypted), nothing to read.
					p.stop(StopSSLv2)
					return
				}
				p.stop(StopDesync)
				return
			}
			if n, ok := sslv2Header(h); ok {
				p.sslv2Record(h, n, ts)
				continue
			}
			// Not a record: look for a hello further on (after a SOCKS or
			// HTTP CONNECT exchange, a STARTTLS command...).
			p.startScan(true, maxPrefix)
			var hb [5]byte
			copy(hb[:], h) // h may alias p.hdr; scan may keep it in carry
			if rest := p.scanFeed(hb[:], ts); len(rest) > 0 {
				p.feed(rest, ts)
			}
		case stBody:
			n := min(len(data), p.recLeft)
			p.content(data[:n], ts)
			p.recLeft -= n
			data = data[n:]
			if p.recLeft == 0 {
				p.endRecord()
			}
		case stScan:
			data = p.scanFeed(data, ts)
		default:
			return
		}
	}
}

// scanFeed runs scan over data and, when a record start was found in bytes
// carried over from earlier calls, feeds those first. It returns what is
// left of data for the main loop.
func (p *Parser) scanFeed(data []byte, ts int64) []byte {
	var pre [scanWindow]byte
	n, rest := p.scan(data, &pre)
	if n > 0 {
		p.feed(pre[:n], ts)
	}
	return rest
}

func (p *Parser) stop(r StopReason) {
	if p.res.Stop == Running {
		p.res.Stop = r
	}
	if p.hsInBody && p.hsKeep {
		p.res.Truncated = true
	}
	p.st = stStopped
	p.msg = nil
	p.hsInBody, p.hsKeep = false, false
}

// record handles a record header; false when it is not a TLS record.
func (p *Parser) record(h []byte, ts int64) bool {
	typ := h[0]
	length := int(binary.BigEndian.Uint16(h[3:]))
	if typ < 20 || typ > 24 || h[1] != 3 || h[2] > 4 || length > maxRecord {
		return false
	}
	p.res.TLS = true
	p.res.Records++
	p.recVer = binary.BigEndian.Uint16(h[1:])
	p.recLen, p.recLeft = length, length
	p.mode = modeSkip
	switch typ {
	case 20: // change_cipher_spec
		if !p.res.ChangeCipherSpec {
			p.res.ChangeCipherSpec, p.res.ChangeCipherSpecTime = true, ts
			p.alertN = 0
		}
	case 21: // alert
		switch {
		case !p.res.Encrypted():
			p.mode = modeAlert
		case length == 2:
			// An encrypted alert is never 2 bytes long (MAC or AEAD tag):
			// this one is plaintext, e.g. after a TLS 1.3 dummy
			// ChangeCipherSpec (TLS 1.3 never sends an alert record
			// encrypted). Judged when the two bytes are in.
			p.mode = modeAlert
			p.alertN = 0
		default:
			p.addAlert(Alert{Time: ts, Encrypted: true})
		}
	case 22: // handshake
		switch {
		case p.res.AppData:
			// Encrypted (renegotiation, TLS 1.2 post-handshake): skip.
		case p.res.ChangeCipherSpec:
			p.mode, p.peekN = modePeek, 0
		default:
			p.mode = modeHandshake
		}
	case 23: // application_data
		if !p.res.AppData {
			p.res.AppData, p.res.AppDataTime = true, ts
			// No plaintext handshake message can follow: drop any
			// half-read hello and the buffer.
			if p.hsInBody && p.hsKeep {
				p.res.Truncated = true
			}
			p.resetHandshake()
			p.msg = nil
		}
	}
	p.st = stBody
	if length == 0 {
		p.endRecord()
	}
	return true
}

func (p *Parser) endRecord() {
	if p.mode == modeSSLv2 {
		p.sslv2Hello()
	}
	p.st = stHeader
	if p.hsDesync {
		p.resetHandshake()
	}
}

func (p *Parser) resetHandshake() {
	p.hsHdrN, p.hsInBody, p.hsKeep, p.hsDesync, p.hsLeft = 0, false, false, false, 0
}

// content dispatches a piece of the current record's body.
func (p *Parser) content(b []byte, ts int64) {
	switch p.mode {
	case modeHandshake:
		p.handshake(b, ts)
	case modeAlert:
		p.alerts(b, ts)
	case modeSSLv2:
		p.buffer(b)
		p.hsLeft -= len(b)
	case modePeek:
		n := copy(p.peek[p.peekN:], b)
		p.peekN += uint8(n)
		if p.peekN < uint8(len(p.peek)) {
			return
		}
		if !p.plaintextHello() {
			p.mode = modeSkip
			return
		}
		p.mode = modeHandshake
		p.handshake(p.peek[:], ts)
		p.handshake(b[n:], ts)
	}
}

// plaintextHello judges a handshake record that follows ChangeCipherSpec
// by its first six bytes. In TLS 1.2 it is the encrypted Finished; in TLS
// 1.3 the ChangeCipherSpec is a dummy, and a second ClientHello (after a
// HelloRetryRequest) or the real ServerHello follows it in plaintext.
// Plaintext means: hello type, a length that fills the record (or runs on
// past a full-size record), and a 3.x legacy_version.
func (p *Parser) plaintextHello() bool {
	if p.hsHdrN != 0 || p.hsInBody || p.hsDesync {
		return false
	}
	k := p.peek
	if k[0] != 1 && k[0] != 2 || k[4] != 3 || k[5] > 4 {
		return false
	}
	n := int(k[1])<<16 | int(k[2])<<8 | int(k[3])
	return n+4 <= p.recLen || p.recLen == 1<<14
}

// handshake consumes handshake-record content: it frames messages and
// keeps (or parses in place) only ClientHello and ServerHello.
func (p *Parser) handshake(b []byte, ts int64) {
	if p.hsDesync {
		return
	}
	for len(b) > 0 {
		if !p.hsInBody {
			var h []byte
			if p.hsHdrN == 0 && len(b) >= 4 {
				h, b = b[:4], b[4:]
				p.hsTime, p.hsRecVer = ts, p.recVer
			} else {
				if p.hsHdrN == 0 {
					p.hsTime, p.hsRecVer = ts, p.recVer
				}
				n := copy(p.hsHdr[p.hsHdrN:], b)
				p.hsHdrN += uint8(n)
				b = b[n:]
				if p.hsHdrN < 4 {
					return
				}
				h, p.hsHdrN = p.hsHdr[:], 0
			}
			p.hsType = h[0]
			p.hsLeft = int(h[1])<<16 | int(h[2])<<8 | int(h[3])
			p.hsInBody = true
			p.hsKeep = false
			if p.hsType == 1 || p.hsType == 2 {
				switch {
				case len(p.res.ClientHellos)+len(p.res.ServerHellos) >= MaxHellos:
					p.res.HellosDropped++
				case p.hsLeft > MaxMessage:
					p.res.Truncated = true
				default:
					p.hsKeep = true
				}
			}
			if p.hsKeep && len(b) >= p.hsLeft {
				// Whole message at hand: parse in place, no copy.
				p.message(b[:p.hsLeft])
				b = b[p.hsLeft:]
				p.hsInBody, p.hsKeep, p.hsLeft = false, false, 0
				continue
			}
		}
		take := min(len(b), p.hsLeft)
		if p.hsKeep {
			p.buffer(b[:take])
		}
		p.hsLeft -= take
		b = b[take:]
		if p.hsLeft == 0 {
			p.hsInBody = false
			if p.hsKeep {
				p.hsKeep = false
				p.message(p.msg)
				p.msg = nil // idle parsers keep no buffer
			}
		}
	}
}

// buffer appends to the message buffer, growing it at most to the
// message's declared length (itself at most MaxMessage), and only as bytes
// arrive: a length field alone never allocates.
func (p *Parser) buffer(b []byte) {
	need := len(p.msg) + len(b)
	if need > cap(p.msg) {
		c := min(max(2*cap(p.msg), need, 512), len(p.msg)+p.hsLeft)
		m := make([]byte, len(p.msg), c)
		copy(m, p.msg)
		p.msg = m
	}
	p.msg = append(p.msg, b...)
}

// message parses a complete ClientHello or ServerHello body.
func (p *Parser) message(body []byte) {
	switch p.hsType {
	case 1:
		p.res.ClientHellos = append(p.res.ClientHellos, ClientHello{})
		ch := &p.res.ClientHellos[len(p.res.ClientHellos)-1]
		if err := ch.parse(body); err != nil {
			p.res.ClientHellos = p.res.ClientHellos[:len(p.res.ClientHellos)-1]
			p.res.Malformed++
			return
		}
		ch.Time, ch.RecordVersion = p.hsTime, p.hsRecVer
	case 2:
		sh, err := ParseServerHello(body)
		if err != nil {
			p.res.Malformed++
			return
		}
		sh.Time, sh.RecordVersion = p.hsTime, p.hsRecVer
		p.res.ServerHellos = append(p.res.ServerHellos, *sh)
	}
}

// alerts consumes plaintext alert-record content, two bytes per alert.
func (p *Parser) alerts(b []byte, ts int64) {
	for len(b) > 0 {
		if p.alertN == 0 {
			p.alertTime = ts
		}
		n := copy(p.alert[p.alertN:], b)
		p.alertN += uint8(n)
		b = b[n:]
		if p.alertN < 2 {
			return
		}
		p.alertN = 0
		a := Alert{Time: p.alertTime, Level: p.alert[0], Description: p.alert[1]}
		if p.res.Encrypted() && a.Level != AlertLevelWarning && a.Level != AlertLevelFatal {
			a = Alert{Time: a.Time, Encrypted: true}
		}
		p.addAlert(a)
	}
}

func (p *Parser) addAlert(a Alert) {
	if len(p.res.Alerts) >= MaxAlerts {
		p.res.AlertsDropped++
		return
	}
	if p.res.Alerts == nil {
		p.res.Alerts = make([]Alert, 0, 2)
	}
	p.res.Alerts = append(p.res.Alerts, a)
}

// Skippable returns how many of the stream's next bytes the parser will
// only count, never read: the rest of a record body nobody needs
// (certificates, encrypted data), the rest of a handshake message that is
// not a hello, or anything once the parser stopped. 0 when the next bytes
// may be read. A reassembler may keep the sequence numbers of such bytes
// instead of the bytes, and hand them over with Skip.
func (p *Parser) Skippable() int {
	switch {
	case p.st == stStopped:
		return maxSkippable
	case p.st != stBody:
		return 0
	case p.mode == modeSkip || p.mode == modeHandshake && p.hsDesync:
		return p.recLeft
	case p.mode == modeHandshake && p.hsInBody && !p.hsKeep:
		return min(p.recLeft, p.hsLeft)
	}
	return 0
}

// maxSkippable is what Skippable returns once nothing more is read.
const maxSkippable = 1<<31 - 1

// Skip passes over the next n bytes of the stream without their content,
// as Feed would have. n should not exceed Skippable; bytes beyond it are
// handled as lost (Gap), since the parser would have had to read them.
func (p *Parser) Skip(n int) {
	if n <= 0 || p.st == stStopped {
		return
	}
	k := min(n, p.Skippable())
	if k > 0 {
		if p.mode == modeHandshake && !p.hsDesync {
			if p.hsLeft -= k; p.hsLeft == 0 {
				p.hsInBody = false
			}
		}
		if p.recLeft -= k; p.recLeft == 0 {
			p.endRecord()
		}
	}
	if n > k {
		p.Gap(n - k)
	}
}

// Gap reports that n bytes of the stream were not captured. Inside a
// record the parser stays in step (a hello cut by the gap is lost, see
// Result.Truncated). A gap across a record boundary loses the framing:
// before the handshake is over the parser searches the next 64 KiB for a
// record start; after it, it stops (nothing more of interest is visible).
func (p *Parser) Gap(n int) {
	if n <= 0 || p.st == stStopped {
		return
	}
	p.res.Gaps++
	p.res.GapBytes += int64(n)
	switch p.st {
	case stBody:
		if n <= p.recLeft {
			p.contentGap(n)
			p.recLeft -= n
			if p.recLeft == 0 {
				p.endRecord()
			}
			return
		}
	case stScan:
		p.res.Skipped += int64(p.carryN)
		p.carryN = 0
		p.scanLeft -= n
		if p.scanLeft <= 0 {
			p.stop(p.scanStopReason())
		}
		return
	}
	// The record framing is lost.
	if p.hsInBody && p.hsKeep {
		p.res.Truncated = true
	}
	p.resetHandshake()
	p.msg = nil
	p.hdrN, p.alertN = 0, 0
	if p.res.AppData {
		p.stop(StopGap)
		return
	}
	p.startScan(false, maxResync)
}

// contentGap handles n bytes lost inside the current record body.
func (p *Parser) contentGap(n int) {
	switch p.mode {
	case modeHandshake:
		if p.hsDesync {
			return
		}
		if p.hsInBody && n <= p.hsLeft {
			if p.hsKeep {
				p.hsKeep = false
				p.msg = nil
				p.res.Truncated = true
			}
			p.hsLeft -= n
			if p.hsLeft == 0 {
				p.hsInBody = false
			}
			return
		}
		if p.hsInBody && p.hsKeep {
			p.res.Truncated = true
		}
		p.resetHandshake()
		p.msg = nil
		p.hsDesync = true // until the next record
	case modeAlert, modePeek:
		p.mode = modeSkip
		p.alertN = 0
	case modeSSLv2:
		// The hello is lost; the record framing is kept.
		p.mode = modeSkip
		p.hsInBody, p.hsKeep, p.hsLeft = false, false, 0
		p.msg = nil
		p.res.Truncated = true
	}
}

func (p *Parser) startScan(strict bool, limit int) {
	p.st = stScan
	p.scanStrict = strict
	p.scanLeft = limit
	p.carryN = 0
}

func (p *Parser) scanStopReason() StopReason {
	if p.scanStrict {
		return StopNotTLS
	}
	return StopGap
}

// Candidate verdicts.
const (
	candNo = iota
	candYes
	candMore // not enough bytes to judge
)

// scan searches data (after the bytes carried from earlier calls) for a
// record start. When it finds one it switches to stHeader and returns the
// bytes from there on: n carried bytes copied to pre, then rest of data.
// The outcome does not depend on how the stream is cut into calls.
func (p *Parser) scan(data []byte, pre *[scanWindow]byte) (n int, rest []byte) {
	if c := int(p.carryN); c > 0 {
		var buf [2 * scanWindow]byte
		copy(buf[:], p.carry[:c])
		m := copy(buf[c:], data)
		win := buf[:c+m]
		for i := 0; i < c; i++ {
			if p.scanLeft <= 0 {
				p.res.Skipped += int64(i)
				p.stop(p.scanStopReason())
				return 0, nil
			}
			switch p.candidate(win[i:]) {
			case candYes:
				p.found(i)
				return copy(pre[:], p.carry[i:c]), data
			case candMore:
				// data is short: all of it joins the carry.
				p.carryN = uint8(copy(p.carry[:], win[i:]))
				p.res.Skipped += int64(i)
				return 0, nil
			}
			p.scanLeft--
		}
		p.res.Skipped += int64(c)
		p.carryN = 0
	}
	for i := 0; i < len(data); i++ {
		if p.scanLeft <= 0 {
			p.res.Skipped += int64(i)
			p.stop(p.scanStopReason())
			return 0, nil
		}
		if b := data[i]; b >= 20 && b <= 23 {
			switch p.candidate(data[i:]) {
			case candYes:
				p.found(i)
				return 0, data[i:]
			case candMore:
				p.carryN = uint8(copy(p.carry[:], data[i:]))
				p.res.Skipped += int64(i)
				return 0, nil
			}
		}
		p.scanLeft--
	}
	p.res.Skipped += int64(len(data))
	return 0, nil
}

func (p *Parser) found(skipped int) {
	p.res.Skipped += int64(skipped)
	p.carryN = 0
	p.st = stHeader
	if !p.scanStrict {
		p.res.Resyncs++
	}
}

// candidate judges whether b starts a TLS record. At the start of a stream
// (strict) only a ClientHello or ServerHello record will do; after a gap,
// also a ChangeCipherSpec, a plaintext alert, another handshake message or
// application data. Each check needs few enough false positives in
// encrypted data to be tried at every byte of a bounded window.
func (p *Parser) candidate(b []byte) int {
	t := b[0]
	if t < 20 || t > 23 || p.scanStrict && t != 22 {
		return candNo
	}
	if len(b) < 5 {
		// Check what is there.
		if len(b) >= 2 && b[1] != 3 || len(b) >= 3 && b[2] > 4 {
			return candNo
		}
		return candMore
	}
	if b[1] != 3 || b[2] > 4 {
		return candNo
	}
	length := int(b[3])<<8 | int(b[4])
	if length == 0 || length > maxRecord {
		return candNo
	}
	switch t {
	case 20:
		if length != 1 {
			return candNo
		}
		if len(b) < 6 {
			return candMore
		}
		if b[5] != 1 {
			return candNo
		}
		return candYes
	case 21:
		if length != 2 {
			return candNo
		}
		if len(b) < 7 {
			return candMore
		}
		if b[5] != AlertLevelWarning && b[5] != AlertLevelFatal {
			return candNo
		}
		if _, ok := alertNames[b[6]]; !ok {
			return candNo
		}
		return candYes
	case 22:
		if len(b) < 9 {
			return candMore
		}
		ht := b[5]
		hl := int(b[6])<<16 | int(b[7])<<8 | int(b[8])
		if ht == 1 || ht == 2 {
			if hl < 38 || hl > MaxMessage {
				return candNo
			}
			if len(b) < 11 {
				return candMore
			}
			if b[9] != 3 || b[10] > 4 {
				return candNo
			}
			return candYes
		}
		if p.scanStrict || !knownHandshakeType(ht) {
			return candNo
		}
		if hl+4 > length && length != 1<<14 {
			return candNo
		}
		return candYes
	default: // 23
		if b[2] == 0 || length < 16 {
			return candNo
		}
		return candYes
	}
}

// knownHandshakeType: the handshake message types of TLS 1.0–1.3.
func knownHandshakeType(t uint8) bool {
	switch t {
	case 0, 1, 2, 4, 5, 8, 11, 12, 13, 14, 15, 16, 20, 21, 22, 24:
		return true
	}
	return false
}

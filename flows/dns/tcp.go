package dns

import "encoding/binary"

// TCPStream splits one direction of a DNS-over-TCP connection into
// messages. Over TCP every message is preceded by its length as two bytes,
// big-endian (RFC 1035 §4.2.2, RFC 7766 §8).
//
// Use it like a scanner: Feed the next in-order bytes of the stream, then
// call Next until it returns false, then Feed again:
//
//	s.Feed(payload)
//	for msg, ok := s.Next(); ok; msg, ok = s.Next() {
//		err := m.Unpack(msg)
//		...
//	}
//
// A message that arrives whole inside one Feed is returned as a slice of
// the fed bytes (no copy); only a message split across segments is copied,
// into a buffer that holds at most one message (so at most 2+MaxMessage
// bytes). A returned message is valid until the next call to Next or Feed.
//
// When the caller learns that bytes were lost (a hole in the TCP sequence
// space) it calls Gap. A gap inside a message whose length is known costs
// that message only and the stream stays in step; a gap anywhere else
// leaves the message boundaries unknowable, and the stream stops with
// ErrStreamGap rather than guessing: a length prefix looks like any other
// two bytes, so resynchronising would produce invented messages.
type TCPStream struct {
	// MaxMessage is the longest message kept; longer ones are skipped
	// without being buffered and counted in Skipped. 0 means 65535 (no limit).
	MaxMessage int

	// Messages counts the messages returned by Next; Skipped the ones
	// passed over because they were too long or lost part of their bytes.
	Messages, Skipped int64

	data    []byte // fed bytes not consumed yet
	buf     []byte // a message being assembled across Feeds, with its prefix
	release bool   // buf was handed out by the last Next; clear it first
	skip    int    // bytes still to drop from the message being skipped
	err     error
}

// Feed hands the stream the next in-order bytes; data is retained until
// Next has consumed it. Call Next until it returns false before feeding
// again: complete messages still waiting in the previous data are dropped
// (and counted in Skipped) when Feed is called early.
func (s *TCPStream) Feed(data []byte) {
	s.drop()
	if s.err != nil {
		return
	}
	s.data = data
}

// drop consumes the fed bytes, discarding the complete messages among them.
func (s *TCPStream) drop() {
	for len(s.data) > 0 {
		if _, ok := s.Next(); !ok {
			break
		}
		s.Messages--
		s.Skipped++
	}
}

// Next returns the next complete message, or false when more bytes are
// needed (or the stream stopped: see Err).
func (s *TCPStream) Next() ([]byte, bool) {
	if s.release {
		s.buf = s.buf[:0]
		s.release = false
	}
	max := s.MaxMessage
	if max <= 0 || max > 0xffff {
		max = 0xffff
	}
	for s.err == nil {
		if s.skip > 0 {
			k := min(s.skip, len(s.data))
			s.data = s.data[k:]
			s.skip -= k
			if s.skip > 0 {
				return nil, false
			}
		}
		if len(s.buf) > 0 {
			if len(s.buf) == 1 {
				if len(s.data) == 0 {
					return nil, false
				}
				s.buf = append(s.buf, s.data[0])
				s.data = s.data[1:]
				n := int(binary.BigEndian.Uint16(s.buf))
				if n > max {
					s.buf = s.buf[:0]
					s.skip = n
					s.Skipped++
					continue
				}
			}
			need := 2 + int(binary.BigEndian.Uint16(s.buf)) - len(s.buf)
			k := min(need, len(s.data))
			s.buf = append(s.buf, s.data[:k]...)
			s.data = s.data[k:]
			if k < need {
				return nil, false
			}
			s.release = true
			s.Messages++
			return s.buf[2:], true
		}
		if len(s.data) < 2 {
			if len(s.data) == 1 {
				s.buf = append(s.buf[:0], s.data[0])
				s.data = nil
			}
			return nil, false
		}
		n := int(binary.BigEndian.Uint16(s.data))
		if n > max {
			s.data = s.data[2:]
			s.skip = n
			s.Skipped++
			continue
		}
		if 2+n <= len(s.data) {
			msg := s.data[2 : 2+n]
			s.data = s.data[2+n:]
			s.Messages++
			return msg, true
		}
		s.buf = append(s.buf[:0], s.data...)
		s.data = nil
		return nil, false
	}
	return nil, false
}

// Gap tells the stream that n bytes were lost at the current position
// (after everything fed so far). If they fall inside a message whose
// length is known, that message is dropped and the stream continues after
// it; otherwise the stream stops and Err returns ErrStreamGap.
func (s *TCPStream) Gap(n int) {
	if n <= 0 || s.err != nil {
		return
	}
	if s.release {
		s.buf = s.buf[:0]
		s.release = false
	}
	s.drop() // undrained bytes come before the gap
	if s.err != nil {
		return
	}
	switch {
	case s.skip > 0 && n <= s.skip:
		s.skip -= n
	case len(s.buf) >= 2:
		rest := 2 + int(binary.BigEndian.Uint16(s.buf)) - len(s.buf)
		if n > rest {
			s.stop()
			return
		}
		s.buf = s.buf[:0]
		s.skip = rest - n
		s.Skipped++
	default:
		// At a message boundary or inside a length prefix: the next
		// prefix is among the lost bytes.
		s.stop()
	}
}

func (s *TCPStream) stop() {
	s.err = ErrStreamGap
	s.buf = nil
	s.data = nil
	s.skip = 0
}

// Err returns ErrStreamGap once a gap made the stream give up, else nil.
func (s *TCPStream) Err() error { return s.err }

// Buffered returns the number of bytes held for a message split across Feeds.
func (s *TCPStream) Buffered() int { return len(s.buf) }

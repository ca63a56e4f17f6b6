package dns

import (
	"encoding/binary"
	"net/netip"
)

// MaxAnswers is how many A/AAAA/CNAME answers a Message keeps. The answer
// count (ANCount, AnswerRRs) is always complete; only the details are capped.
const MaxAnswers = 8

// headerLen is the size of the fixed DNS header (RFC 1035 §4.1.1).
const headerLen = 12

// Message is one decoded DNS message: the header, the first question, the
// A/AAAA addresses and CNAME targets of the answer section (at most
// MaxAnswers of them) and the EDNS OPT pseudo-record if present. It decodes
// only what a network engineer asks about and walks the rest of the
// message just to find OPT (and to report a truncated message).
//
// A Message can be reused: Unpack resets it and keeps its buffers, so a
// loop over many messages allocates only the strings it keeps (QName and
// CNAME targets).
type Message struct {
	ID                 uint16
	Response           bool  // QR bit
	Opcode             uint8 // see OpcodeName
	Authoritative      bool  // AA
	Truncated          bool  // TC: the answer did not fit (UDP): expect a retry over TCP
	RecursionDesired   bool  // RD
	RecursionAvailable bool  // RA
	AuthenticData      bool  // AD (RFC 4035)
	CheckingDisabled   bool  // CD (RFC 4035)

	// HeaderRcode is the 4-bit RCODE of the header. Rcode is the full
	// 12-bit rcode: HeaderRcode plus the OPT record's extended rcode shifted
	// left by 4 (RFC 6891 §6.1.3), e.g. header 7 + extended 1 = 23 BADCOOKIE.
	HeaderRcode uint8
	Rcode       int

	QDCount, ANCount, NSCount, ARCount uint16

	// The first question. HasQuestion is false when QDCount is 0 (some
	// FORMERR responses) or the question could not be decoded.
	HasQuestion bool
	QName       string // presentation form, see appendName
	QType       uint16
	QClass      uint16 // raw; mDNS sets the top bit for unicast responses

	// AnswerRRs counts the answer records actually decoded (ANCount when
	// the message is intact). Answers holds the first MaxAnswers A, AAAA
	// and CNAME records among them; it is reused by the next Unpack.
	AnswerRRs int
	Answers   []RR

	// EDNS (RFC 6891): set when an OPT record was found in the additional
	// section. Only the first OPT counts.
	EDNS        bool
	EDNSVersion uint8
	UDPSize     uint16 // requestor's payload size (the OPT class)
	DNSSECOK    bool   // DO bit

	nameBuf  []byte
	answers  [MaxAnswers]RR
	badRdata bool
}

// RR is one answer the Message keeps: an address (A, AAAA) or a CNAME target.
type RR struct {
	Type   uint16
	TTL    uint32
	Addr   netip.Addr // A, AAAA
	Target string     // CNAME, presentation form
}

// Parse decodes one DNS message into a new Message. See Message.Unpack.
func Parse(b []byte) (*Message, error) {
	m := new(Message)
	err := m.Unpack(b)
	return m, err
}

// Unpack decodes b into m, replacing what m held. b is not retained.
//
// On error m keeps everything decoded before the problem: with
// ErrShortHeader the id and flags (QR, opcode, rcode...) are still set when
// at least 4 bytes were given (a snap length cut the message; Wireshark
// shows those fields too) and the counts are zero; otherwise the whole
// header is valid. The question is valid when
// HasQuestion is set, and Answers/AnswerRRs hold the answers read so far.
// A damaged tail (a record cut by the snap length, a bad pointer in the
// authority section) therefore still yields a usable header and question,
// as Wireshark shows them. An A, AAAA or CNAME answer whose RDATA does not
// fit its type is skipped (its length still frames the next record) and
// Unpack returns ErrBadRdata after decoding the rest. Bytes after the last
// record are ignored.
func (m *Message) Unpack(b []byte) error {
	nb := m.nameBuf[:0]
	*m = Message{nameBuf: nb}
	m.Answers = m.answers[:0]
	if len(b) < 4 {
		return ErrShortHeader
	}
	m.ID = binary.BigEndian.Uint16(b)
	f1, f2 := b[2], b[3]
	m.Response = f1&0x80 != 0
	m.Opcode = f1 >> 3 & 0x0f
	m.Authoritative = f1&0x04 != 0
	m.Truncated = f1&0x02 != 0
	m.RecursionDesired = f1&0x01 != 0
	m.RecursionAvailable = f2&0x80 != 0
	m.AuthenticData = f2&0x20 != 0
	m.CheckingDisabled = f2&0x10 != 0
	m.HeaderRcode = f2 & 0x0f
	m.Rcode = int(m.HeaderRcode)
	if len(b) < headerLen {
		return ErrShortHeader
	}
	m.QDCount = binary.BigEndian.Uint16(b[4:])
	m.ANCount = binary.BigEndian.Uint16(b[6:])
	m.NSCount = binary.BigEndian.Uint16(b[8:])
	m.ARCount = binary.BigEndian.Uint16(b[10:])

	off := headerLen
	var err error
	for i := 0; i < int(m.QDCount); i++ {
		if i == 0 {
			m.nameBuf, off, err = appendName(m.nameBuf[:0], b, off)
		} else {
			off, err = skipName(b, off)
		}
		if err != nil {
			return err
		}
		if off+4 > len(b) {
			return ErrTruncated
		}
		if i == 0 {
			m.QName = string(m.nameBuf)
			m.QType = binary.BigEndian.Uint16(b[off:])
			m.QClass = binary.BigEndian.Uint16(b[off+2:])
			m.HasQuestion = true
		}
		off += 4
	}

	// Every record takes at least 11 bytes, so these loops are bounded by
	// len(b) whatever the counts claim.
	for i := 0; i < int(m.ANCount); i++ {
		if off, err = m.answer(b, off); err != nil {
			return err
		}
		m.AnswerRRs++
	}
	for i := 0; i < int(m.NSCount); i++ {
		if off, err = skipRR(b, off); err != nil {
			return err
		}
	}
	for i := 0; i < int(m.ARCount); i++ {
		if off, err = m.additional(b, off); err != nil {
			return err
		}
	}
	if m.badRdata {
		return ErrBadRdata
	}
	return nil
}

// rrHeader reads the fixed part of a record after its owner name.
func rrHeader(b []byte, off int) (typ, class uint16, ttl uint32, rdata, next int, err error) {
	if off, err = skipName(b, off); err != nil {
		return
	}
	if off+10 > len(b) {
		err = ErrTruncated
		return
	}
	typ = binary.BigEndian.Uint16(b[off:])
	class = binary.BigEndian.Uint16(b[off+2:])
	ttl = binary.BigEndian.Uint32(b[off+4:])
	rdlen := int(binary.BigEndian.Uint16(b[off+8:]))
	rdata = off + 10
	next = rdata + rdlen
	if next > len(b) {
		err = ErrTruncated
	}
	return
}

func skipRR(b []byte, off int) (int, error) {
	_, _, _, _, next, err := rrHeader(b, off)
	return next, err
}

// answer reads one answer record and keeps it if it is an A, AAAA or CNAME
// record of class IN and there is room.
func (m *Message) answer(b []byte, off int) (int, error) {
	typ, class, ttl, rdata, next, err := rrHeader(b, off)
	if err != nil {
		return 0, err
	}
	if len(m.Answers) >= MaxAnswers || class&0x7fff != ClassIN {
		return next, nil
	}
	rd := b[rdata:next]
	switch typ {
	case TypeA:
		if len(rd) != 4 {
			m.badRdata = true
			return next, nil
		}
		m.Answers = append(m.Answers, RR{Type: typ, TTL: ttl, Addr: netip.AddrFrom4([4]byte(rd))})
	case TypeAAAA:
		if len(rd) != 16 {
			m.badRdata = true
			return next, nil
		}
		m.Answers = append(m.Answers, RR{Type: typ, TTL: ttl, Addr: netip.AddrFrom16([16]byte(rd))})
	case TypeCNAME:
		// The target may point anywhere in the message, but what is in
		// place must fill the RDATA exactly.
		var end int
		m.nameBuf, end, err = appendName(m.nameBuf[:0], b, rdata)
		if err != nil || end != next {
			m.badRdata = true
			return next, nil
		}
		m.Answers = append(m.Answers, RR{Type: typ, TTL: ttl, Target: string(m.nameBuf)})
	}
	return next, nil
}

// additional reads one additional record, decoding it if it is the first OPT.
func (m *Message) additional(b []byte, off int) (int, error) {
	typ, class, ttl, _, next, err := rrHeader(b, off)
	if err != nil {
		return 0, err
	}
	if typ == TypeOPT && !m.EDNS {
		m.EDNS = true
		m.UDPSize = class
		m.Rcode = int(ttl>>24)<<4 | int(m.HeaderRcode)
		m.EDNSVersion = uint8(ttl >> 16)
		m.DNSSECOK = ttl&0x8000 != 0
	}
	return next, nil
}

// AnswerAddrs appends the A/AAAA addresses kept in m.Answers to dst.
func (m *Message) AnswerAddrs(dst []netip.Addr) []netip.Addr {
	for _, rr := range m.Answers {
		if rr.Addr.IsValid() {
			dst = append(dst, rr.Addr)
		}
	}
	return dst
}

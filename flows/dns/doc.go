// Package dns decodes DNS messages (RFC 1035, EDNS0 RFC 6891) as a network
// engineer asks about them, and pairs queries with responses.
//
// # What is decoded
//
// Message.Unpack reads the header, the first question, the A/AAAA
// addresses and CNAME targets among the answers (MaxAnswers of them; the
// answer count is always complete) and the EDNS OPT record, whose extended
// rcode completes the 4-bit header rcode: header 7 plus extended 1 is 23,
// BADCOOKIE (RFC 7873). Other records are walked over, not decoded. This is
// what the dns table and the DNS rules need; a full DNS library (miekg/dns)
// decodes every record type and costs allocations per record.
//
// Decoding is defensive and allocation-free apart from the strings kept
// (the query name and CNAME targets): lengths are checked against the
// buffer before every read, compression pointers may point anywhere in the
// message but at most 127 are followed per name (more than any legal name
// needs, so cycles end with ErrPointerLoop), names are limited to 255
// octets, and every loop consumes input, so the work per message is bounded
// by its length. A message damaged at its end (snap length, a bad record)
// keeps what was decoded before the damage, as Wireshark shows it: even 4
// bytes give the id and flags. Errors are sentinel values ("dns: ..."),
// compared with errors.Is.
//
// # Names
//
// Names are returned in presentation form, never raw: labels joined by
// dots, no trailing dot, "." for the root; inside a label a dot, backslash
// or zone-file special (" ( ) ; @ $) is escaped with a backslash and any byte
// outside printable ASCII is written \DDD (decimal), as zone files do. So a
// name is always printable ASCII; a label "a.b" is "a\.b" and cannot be
// confused with two labels. (Escaping for HTML is still the report's job:
// '<' is printable.)
//
// # TCP
//
// TCPStream splits one direction of a DNS-over-TCP connection into
// messages by their 2-byte length prefix (RFC 7766), without copying a
// message that arrives whole and buffering at most one message otherwise.
// A gap inside a message of known length costs that message only; any
// other gap stops the stream (ErrStreamGap): guessing the next length
// prefix would invent messages.
//
// # Transactions
//
// Tracker pairs queries and responses by (flow, id, question name, question
// type), names compared case-insensitively (DNS 0x20 randomisation), and
// emits one Transaction per exchange: latency from the first sending of the
// query, retransmissions (the same query again before the answer), rcode and
// its name, answers, the TC bit. Queries with no answer are emitted as
// Unanswered when the caller's Expire(now) finds them older than the timeout
// (capture time, never the wall clock) and at Flush (marked CaptureEnded when
// the capture ended before their timeout ran out). Responses whose query was
// not seen are emitted too (NoQuery): an error rcode matters even when the
// query was missed. The flow key is the caller's (any comparable value), the
// same for both directions; whether a message is a query is read from its QR
// bit, which is what defines a DNS message's direction. A FORMERR response
// without a question is paired by flow and id. Memory is bounded by
// TrackerConfig.MaxPending; the oldest query is evicted (and emitted,
// marked Evicted) when it is full.
//
// mDNS and LLMNR messages decode the same way (the mDNS class top bit is
// left in QClass). Their multicast answers have no query on their flow; a
// caller that tracks them gets NoQuery records for announcements.
//
// # Agreement with tshark
//
// The tests decode every shared real capture (../../../shared/pcaps) with
// gopacket and count responses per header rcode exactly as ORACLE.tsv does
// (tshark 4.0): all files agree.
package dns

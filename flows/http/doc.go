// Package http follows HTTP/1.x over one TCP connection and records each
// request with its response: method, host, target, user agent, status, body
// sizes and timing (time to first response byte, time to the last byte).
//
// # Design
//
// Conn is fed each direction's reassembled bytes in order (ClientData,
// ServerData) with the capture time of the segment that carried them, told
// about holes (ClientGap, ServerGap), and closed (Close). It buffers message
// heads only, at most Config.MaxHeaderBytes each, and parses a head that
// arrives whole in one call in place, without copying; bodies are counted
// and skipped, by Content-Length, by chunked framing (extensions and trailers
// included, never buffered) or until the close, as RFC 9112 §6.3 orders:
// HEAD, 1xx, 204 and 304 responses have no body; Transfer-Encoding overrides
// Content-Length; a response whose Transfer-Encoding does not end in chunked,
// or whose Content-Length is invalid (not a number, negative, 19 digits or
// more, or conflicting values), is read until the close and flagged
// BadFraming. A huge valid length is just counted down. Since bodies are
// only counted, a reassembler holding segments that arrived ahead of a
// hole need not keep their bytes when ClientSkippable/ServerSkippable say
// the parser will not read them: it hands them over by length
// (ClientSkip/ServerSkip) when the hole fills.
//
// Requests wait in a FIFO (bounded by Config.MaxPending) for their
// responses, which pairs them over keep-alive and pipelining. 1xx responses
// (100 Continue, 103 Early Hints) are counted on the transaction and the
// final response follows; 101 Switching Protocols and a 2xx answer to
// CONNECT end HTTP on the connection (the rest is another protocol), as does
// the HTTP/2 connection preface. A transaction is emitted when both its
// request and its response are complete, in request order, through a
// callback that receives a pointer valid for the call only: nothing per
// exchange is allocated but the strings kept (target, host, user agent,
// content type; common methods, versions and reasons are constants).
//
// # Losses and resynchronisation
//
// A gap inside a body of known remaining length (or in a body read until
// close) is counted as body bytes and the parser stays in step; the
// transaction is marked Gap. Elsewhere framing is lost: the message in
// progress is given up (a head cut after a valid start line is still
// recorded with what it said, so a capture with a small snap length shows
// status codes), and the direction looks for the next start line
// ("HTTP/1." from the server, a known method and a space from the client)
// at the start of a line or of a fed segment, checking it before buffering
// anything. Pairing across a loss is not guessed: when the server loses
// framing, the requests still waiting are emitted without a response, and
// responses found later pair only with requests sent after; when the client
// loses framing, later transactions are marked Gap, because requests lost
// in the hole will have answers too. When a direction's first bytes are not
// HTTP (the capture started mid-connection) the parser skips to the next
// message without calling it a loss, and gives up on a direction that shows
// no HTTP within Config.MaxResync bytes (TLS on port 80, say).
//
// Strings from the wire are kept raw (not decoded, not validated as UTF-8)
// but capped: target 8 KiB, host 255 bytes, user agent 1 KiB, reason and
// content type 256 bytes; a cut sets Capped. Escaping them for a report or
// a table is the sink's job.
//
// # Agreement with tshark
//
// The tests feed every TCP connection of the shared real captures
// (../../../shared/pcaps) to Conn and count response heads and 5xx as
// ORACLE.tsv does (tshark 4.0). Every file agrees or is explained in
// oracle_test.go; the differences come from three tshark defaults: it counts
// a response only when its body reassembly completes, it does not reassemble
// out-of-order segments, and it dissects some retransmissions again.
package http

// Package tls reads the TLS handshake out of a TCP stream: ClientHello (SNI,
// ALPN, offered versions, cipher suites, extensions, JA3, JA4), ServerHello
// (chosen version, cipher suite, ALPN), alerts, and when each direction
// switched to encrypted records. It decrypts nothing and needs no keys.
//
// # Design
//
// One Parser follows one direction of one TCP stream. The caller feeds the
// reassembled bytes in order with Feed(data, ts) and reports bytes the
// capture lost with Gap(n). Results are plain structs (Result, ClientHello,
// ServerHello, Alert); Summarize joins the two directions of a connection
// into a Handshake (negotiated version, established or not, handshake time).
//
// The parser works in layers and streams through its input rather than
// collecting records:
//
//   - Record layer: a 5-byte header (kept across calls in a fixed array),
//     then the body is handed on piece by piece as it arrives. Bodies that
//     are not needed (certificates, encrypted data) are only counted.
//   - Handshake layer: a 4-byte message header, then the body. Only
//     ClientHello and ServerHello bodies are kept; everything else is
//     skipped by length. A hello that sits whole in one Feed call is parsed
//     in place; one split over several TCP segments or several records is
//     buffered, up to MaxMessage (64 KiB) — beyond that it is skipped and
//     Result.Truncated is set. The buffer is released after each message.
//   - Alert layer: two bytes per alert while the direction is in
//     plaintext; once it has sent ChangeCipherSpec or application data, an
//     alert record is reported as Encrypted (level and description are not
//     visible), except a 2-byte one, which can only be plaintext (an
//     encrypted alert carries a MAC or AEAD tag).
//
// What is only counted can be handed over by length: Skippable says how
// many of the next bytes the parser will not read (the rest of a record or
// message it skips), and Skip passes over them, so a reassembler holding
// segments that arrived ahead of a hole need not keep their bytes.
//
// After a direction's first application_data record nothing is buffered:
// Feed follows record headers only, to see encrypted alerts, and returns at
// once for bytes in the middle of a record. It does not allocate there
// (apart from recording one of at most MaxAlerts alerts). A TLS 1.3
// ChangeCipherSpec is a dummy that may precede a second ClientHello (after
// a HelloRetryRequest) or the real ServerHello; a handshake record after
// ChangeCipherSpec is therefore judged by its first bytes (hello type, a
// length that fits the record, a 3.x version) before it is parsed, and
// skipped as encrypted otherwise (TLS 1.2's Finished).
//
// Streams that do not start with a record: the parser searches the first
// 16 KiB for a ClientHello or ServerHello record, which finds TLS after a
// SOCKS or HTTP CONNECT exchange or a STARTTLS command (Result.Skipped
// counts the bytes passed over), and stops with StopNotTLS otherwise. A
// stream may also start with an SSLv2-compatible ClientHello (2-byte
// record header with the high bit set, sent by very old clients and some
// scanners): it is parsed into a ClientHello with SSLv2 set (its version,
// the TLS cipher suites among its 3-byte cipher specs, no extensions, no
// JA3 or JA4; see ParseSSLv2ClientHello), and TLS records are expected
// after it. If the server answered in SSLv2 the client's next record is
// SSLv2 too and the parser stops (StopSSLv2).
//
// Gaps: a gap inside a record keeps the framing (the parser skips the lost
// bytes; a hello they cut is dropped and Result.Truncated set). A gap that
// crosses a record boundary loses the framing. Before the handshake is
// over the parser then searches the next 64 KiB for a record start, using
// checks strict enough to try at every byte (a ChangeCipherSpec record, a
// plaintext alert with a known description, a handshake header whose
// length fits its record, application data of plausible length); after the
// handshake it stops (StopGap), since only encrypted records remain. The
// outcome never depends on how the stream was cut into Feed calls.
//
// # Hostile input
//
// No length on the wire is trusted: every read is bounds-checked, a message
// buffer grows only as bytes arrive (never to a declared length alone), and
// results are capped (MaxHellos, MaxAlerts, MaxALPN names, MaxSNI bytes). SNI
// and ALPN are kept as the raw bytes of the capture: they may hold anything,
// and escaping them is the job of each output.
//
// # Fingerprints
//
// JA3 follows Salesforce's definition: SSLVersion,Ciphers,Extensions,
// EllipticCurves,EllipticCurvePointFormats in decimal, lists joined by '-',
// GREASE (RFC 8701) removed; JA3Hash is its MD5 (checked against tshark's
// JA3 on real captures). JA4 follows FoxIO's JA4 specification
// (BSD-3-Clause) and equals the reference implementation's output on all
// its published TCP test captures. Where the two disagree the reference
// output wins: an ALPN value starting with a non-ASCII byte gives "99" (the
// text asks for hex digits); the text is followed where the outputs are
// silent (GREASE is also left out of the signature algorithms). Only JA4,
// the client fingerprint, is implemented: JA4S, JA4H, JA4X and the rest of
// JA4+ are under the FoxIO License and must not be shipped.
//
// # Limits
//
// QUIC carries its hellos in CRYPTO frames, not in a byte stream: this
// package does not read QUIC, but ParseClientHello and JA4For('q') serve a
// QUIC reader. TLS 1.3 encrypts alerts sent after the ServerHello inside
// application_data records, so they are not seen.
package tls

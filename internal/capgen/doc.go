// Package capgen builds deterministic packet captures for tests.
//
// It is test tooling, not the hot path: it favours a small, readable API over
// generality, but it is fast enough to stream hundreds of megabytes of
// synthetic traffic for benchmarks (see testdata/gen -big).
//
// The package has four layers, each usable on its own:
//
//   - Packets: [IP] builds IPv4 or IPv6 packets (the family follows the
//     source address) carrying TCP ([IP.TCP]), UDP ([IP.UDP]) or ICMP
//     ([IP.ICMP]) with correct checksums; [FragmentIPv4] and [FragmentIPv6]
//     split a packet into fragments; [IPv6Ext] values add extension headers.
//   - Links: a [Link] puts the link-layer framing in front of a network packet:
//     [Ethernet] (with 802.1Q / 802.1ad tags), [SLL], [SLL2], [Null] (BSD
//     loopback, also LINKTYPE_LOOP), [Raw], and the tunnels [VXLAN] and [GRE]
//     that wrap a whole inner frame into an outer packet carried by another
//     Link.
//   - Writers: a [FrameWriter] receives timestamped frames. [PcapWriter] writes
//     classic pcap (µs or ns, either byte order, any link type, snaplen),
//     [NgWriter] writes pcapng (several interfaces and sections, EPB and SPB,
//     comments), [Compress] wraps a file in gzip or zstd, and [Frames] keeps
//     frames in memory for unit tests.
//   - Conversations: [TCPConn] scripts a TCP connection as a story
//     (Handshake, Send, Drop, Retransmit, ZeroWindow, Fin, ...) while it tracks
//     both sides' sequence numbers, acknowledgements, windows, SACK blocks and
//     timestamps.
//
// Everything is deterministic: there is no randomness (callers that want
// variety pass a seeded PRNG of their own) and the clock starts at [Epoch]
// unless told otherwise.
package capgen

import "time"

// Epoch is the default start time of every generated capture:
// 2026-01-02T03:04:05Z.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

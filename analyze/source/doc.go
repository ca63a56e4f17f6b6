// Package source reads packet captures — pcap (µs and ns, both byte orders),
// pcapng (several sections and interfaces), each optionally gzip- or
// zstd-compressed — from files, directories, globs and stdin, and hands them
// to the rest of pcapx as one stream of frames in capture-time order.
//
// The reader is our own code rather than gopacket/pcapgo because pcapx must
// say exactly where a capture is damaged (file, byte offset, frame number) and
// keep going where the damage allows it; pcapgo reports neither offsets nor
// recoverable problems.
//
// # Zero copy
//
// Each input is read through one bufio.Reader of Options.BufferSize bytes
// (1 MiB by default). A record that fits in the buffer is taken with
// Peek(n)+Discard(n): Packet.Data points straight into the bufio buffer and no
// byte is copied. A record larger than the buffer is read into a growable
// buffer owned by that input, which is reused for the next large record. The
// Packet value itself is embedded in the input and reused, so reading a
// packet allocates nothing (BenchmarkRead checks it). The price is the rule
// every caller must follow: Packet.Data, and the *Packet itself, are valid
// only until the next call to Next. Copy what you keep.
//
// # Lazy heap merge
//
// Several inputs become one stream merged in timestamp order by a min-heap
// (container/heap) of the inputs' head packets, ties broken by file order. Open
// probes every input up to its first packet and orders the files by that
// first timestamp, not by name (a ring of tcpdump -G files sorts by name only
// by accident), so Files() and Packet.File follow capture time.
//
// An input is advanced lazily: the input whose packet Next returned stays at
// the top of the heap untouched until the following call to Next, which then
// reads its next record and fixes the heap. That is what keeps the returned
// Data valid: nothing reads over the buffer it points into until the caller
// asks for the next packet. Merging only compares heads, so packets of one
// file are never reordered, even when that file's own timestamps go
// backwards; ordering within a file is the capture's business.
//
// Regular files are closed after the probe and reopened when the merge first
// needs them, so a directory of a thousand ring files holds only the files
// whose time ranges overlap open (usually one or two), not a thousand
// buffers and descriptors. Stdin and other non-regular inputs (pipes,
// /dev/fd/N) cannot be reopened and stay open from the probe on.
//
// # Warnings versus errors
//
// An error means pcapx cannot do what it was asked: a path that does not
// exist, a file named on the command line that is empty, is not a capture,
// or uses a format version we do not read (tshark refuses those too), or an
// I/O failure in the middle of reading. Open returns such errors before any
// packet is read; Next returns an error only for I/O failures that make
// going on impossible.
//
// Everything else is a Warning, kept apart from errors in the style of the
// Prometheus TSDB's Warnings(): a capture cut short (the file is still being
// written, or the copy was interrupted), a record length beyond any sane
// value, a pcapng block whose lengths lie, a packet on an undeclared
// interface, an empty or foreign file inside a ring directory. Each warning
// names the file, the byte offset of the bad record (in the decompressed
// stream for compressed files) and the frame number the bad record would
// have had, and says what pcapx did about it. Every packet read before the
// damage is kept: a truncated capture is analysed as far as it goes, never
// dropped.
package source

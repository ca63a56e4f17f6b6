package parquet

import (
	"fmt"
	"io"
	"sync"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// pageCodec replaces arrow-go's zstd block codec (the one Parquet pages
// are compressed with) by one that keeps its encoders. The library keeps
// them in a sync.Pool, which every garbage collection empties; a pcapx run
// collects often (its memory policy keeps the heap near the live size),
// and each new encoder allocates its history afresh (4 to 16 MiB): that
// made a third of the writer's allocations and most of its share of the
// live heap. Here the encoders live in a free list and are built for
// Parquet pages (at most a few hundred KiB: a small window loses nothing),
// so a run holds a few encoders of well under a MiB each. Decoding and the
// streaming API are the library's, unchanged. It is registered
// process-wide (compress.RegisterCodec is meant for this); pcapx is the
// only user of arrow-go in its process.
type pageCodec struct {
	lib  compress.Codec // the library's codec: decoding, streams
	mu   sync.Mutex
	free map[zstd.EncoderLevel][]*zstd.Encoder
}

func init() {
	lib, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic(fmt.Sprintf("parquet: arrow-go has no zstd codec: %v", err))
	}
	compress.RegisterCodec(compress.Codecs.Zstd, &pageCodec{lib: lib, free: map[zstd.EncoderLevel][]*zstd.Encoder{}})
}

func (c *pageCodec) encoder(level zstd.EncoderLevel) *zstd.Encoder {
	c.mu.Lock()
	if l := c.free[level]; len(l) > 0 {
		enc := l[len(l)-1]
		c.free[level] = l[:len(l)-1]
		c.mu.Unlock()
		return enc
	}
	c.mu.Unlock()
	enc, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(level),
		zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20),
		zstd.WithLowerEncoderMem(true),
		zstd.WithZeroFrames(true))
	if err != nil {
		panic(err) // only for invalid options
	}
	return enc
}

func (c *pageCodec) release(level zstd.EncoderLevel, enc *zstd.Encoder) {
	c.mu.Lock()
	if len(c.free[level]) < 8 { // more than the goroutines that encode at once
		c.free[level] = append(c.free[level], enc)
	}
	c.mu.Unlock()
}

// EncodeLevel compresses one page. Level is zstd's (1 fastest); the
// library's default level (compress.DefaultCompressionLevel) is zstd's 3.
func (c *pageCodec) EncodeLevel(dst, src []byte, level int) []byte {
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	enc := c.encoder(l)
	out := enc.EncodeAll(src, dst[:0])
	c.release(l, enc)
	return out
}

func (c *pageCodec) Encode(dst, src []byte) []byte {
	return c.EncodeLevel(dst, src, compress.DefaultCompressionLevel)
}

func (c *pageCodec) CompressBound(n int64) int64 { return c.lib.CompressBound(n) }
func (c *pageCodec) Decode(dst, src []byte) []byte {
	return c.lib.Decode(dst, src)
}

func (c *pageCodec) DecodeWithError(dst, src []byte) ([]byte, error) {
	return compress.Decode(c.lib, dst, src)
}

func (c *pageCodec) NewReader(r io.Reader) io.ReadCloser {
	return c.lib.(compress.StreamingCodec).NewReader(r)
}

func (c *pageCodec) NewWriter(w io.Writer) io.WriteCloser {
	return c.lib.(compress.StreamingCodec).NewWriter(w)
}

func (c *pageCodec) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return c.lib.(compress.StreamingCodec).NewWriterLevel(w, level)
}

package capgen

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compression selects a wrapper for a whole capture file.
type Compression int

// Compressions.
const (
	NoCompression Compression = iota
	Gzip
	Zstd
)

func (c Compression) String() string {
	switch c {
	case NoCompression:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// Compress wraps w so that what is written is compressed with c. The
// output is deterministic: no file name or modification time in the gzip
// header, and a single-threaded zstd encoder. Close the returned writer to
// finish the stream (it does not close w).
func Compress(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case NoCompression:
		return nopCloser{w}, nil
	case Gzip:
		return gzip.NewWriterLevel(w, gzip.DefaultCompression)
	case Zstd:
		return zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	}
	return nil, fmt.Errorf("capgen: unknown compression %d", int(c))
}

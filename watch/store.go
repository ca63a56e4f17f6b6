package watch

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/run"
)

// The records of a period still open wait in chunks, one per step and
// period, until the period ends and its partition is written from them.
// A chunk is a gob stream: its header (the step's input files, by the
// index the records' frame references use), then one entry per record.
// gob keeps every exported field of a record, those the JSON and the
// tables leave out included, so the rules see at the end what they would
// have seen during the run.

type chunkHeader struct {
	Files []string
}

// entry is one record; exactly one field is set.
type entry struct {
	Flow *flows.Record
	DNS  *flows.DNSRecord
	HTTP *flows.HTTPRecord
	TLS  *flows.TLSRecord
	ICMP *flows.ICMPRecord
}

// chunkWriter is the sink of one period's records in one step.
type chunkWriter struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	enc  *gob.Encoder
	n    int64
}

func newChunk(path string, files []string) (*chunkWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pending records: %w", err)
	}
	c := &chunkWriter{path: path, f: f, bw: bufio.NewWriterSize(f, 256<<10)}
	c.enc = gob.NewEncoder(c.bw)
	if err := c.enc.Encode(chunkHeader{Files: files}); err != nil {
		f.Close()
		return nil, fmt.Errorf("pending records %s: %w", path, err)
	}
	return c, nil
}

func (c *chunkWriter) put(e *entry) error {
	c.n++
	if err := c.enc.Encode(e); err != nil {
		return fmt.Errorf("pending records %s: %w", c.path, err)
	}
	return nil
}

func (c *chunkWriter) Flow(r *flows.Record) error     { return c.put(&entry{Flow: r}) }
func (c *chunkWriter) DNS(r *flows.DNSRecord) error   { return c.put(&entry{DNS: r}) }
func (c *chunkWriter) HTTP(r *flows.HTTPRecord) error { return c.put(&entry{HTTP: r}) }
func (c *chunkWriter) TLS(r *flows.TLSRecord) error   { return c.put(&entry{TLS: r}) }
func (c *chunkWriter) ICMP(r *flows.ICMPRecord) error { return c.put(&entry{ICMP: r}) }

// close completes the chunk on disk.
func (c *chunkWriter) close() error {
	err := c.bw.Flush()
	if err == nil {
		err = c.f.Sync()
	}
	if cerr := c.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pending records %s: %w", c.path, err)
	}
	return nil
}

// dropped counts the records of a period already written (a file that
// arrived late), which are not kept.
type dropped struct{ n *int64 }

func (d dropped) Flow(*flows.Record) error     { *d.n++; return nil }
func (d dropped) DNS(*flows.DNSRecord) error   { *d.n++; return nil }
func (d dropped) HTTP(*flows.HTTPRecord) error { *d.n++; return nil }
func (d dropped) TLS(*flows.TLSRecord) error   { *d.n++; return nil }
func (d dropped) ICMP(*flows.ICMPRecord) error { *d.n++; return nil }

// replayChunk hands the chunk's records to sink, their file indexes
// changed by file (from the step's input files to the period's).
func replayChunk(path string, sink run.Sink, file func(step []string, i int) int) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pending records: %w", err)
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReaderSize(f, 256<<10))
	var h chunkHeader
	if err := dec.Decode(&h); err != nil {
		return fmt.Errorf("pending records %s: %w", path, err)
	}
	remap := func(i int) int {
		if i < 0 || i >= len(h.Files) {
			return -1
		}
		return file(h.Files, i)
	}
	is, _ := sink.(run.ICMPSink)
	for {
		var e entry
		if err := dec.Decode(&e); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("pending records %s: %w", path, err)
		}
		flows.RemapFiles(&e, remap) // whichever record the entry holds
		switch {
		case e.Flow != nil:
			err = sink.Flow(e.Flow)
		case e.DNS != nil:
			err = sink.DNS(e.DNS)
		case e.HTTP != nil:
			err = sink.HTTP(e.HTTP)
		case e.TLS != nil:
			err = sink.TLS(e.TLS)
		case e.ICMP != nil && is != nil:
			err = is.ICMP(e.ICMP)
		}
		if err != nil {
			return err
		}
	}
}

package analyze

import "io"

// stopReader is the standard input of a run that can be stopped
// (Config.Stop): a pump goroutine reads the input, and Read returns what it
// read until Stop is closed, then io.EOF at once, even while the pump is
// still blocked in a read of a quiet pipe (the pump is abandoned there; the
// process is about to end). So Ctrl-C on `tcpdump ... | pcapx analyze -`
// ends the input, and the run goes on to analyse and report what it read.
type stopReader struct {
	chunks chan []byte
	free   chan []byte
	stop   <-chan struct{}
	cur    []byte
	back   []byte // the buffer cur is in, returned once read
	err    error
	// pumpErr has the error that ended the pump's reading (io.EOF at the
	// end of the input).
	pumpErr chan error
}

const stopChunk = 64 << 10

func newStopReader(r io.Reader, stop <-chan struct{}) *stopReader {
	s := &stopReader{chunks: make(chan []byte, 4), free: make(chan []byte, 4), stop: stop}
	for range 4 {
		s.free <- make([]byte, stopChunk)
	}
	errc := make(chan error, 1)
	go func() {
		for b := range s.free {
			n, err := r.Read(b)
			if n > 0 {
				s.chunks <- b[:n]
			} else {
				s.free <- b
			}
			if err != nil {
				errc <- err
				close(s.chunks)
				return
			}
		}
	}()
	s.pumpErr = errc
	return s
}

func (s *stopReader) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		if s.back != nil {
			s.free <- s.back[:cap(s.back)]
			s.back = nil
		}
		if s.err != nil {
			return 0, s.err
		}
		select {
		case <-s.stop:
			s.err = io.EOF
			return 0, io.EOF
		case b, ok := <-s.chunks:
			if !ok {
				s.err = <-s.pumpErr
				return 0, s.err
			}
			s.cur, s.back = b, b
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

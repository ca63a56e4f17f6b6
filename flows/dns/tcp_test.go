package dns

import (
	"bytes"
	"errors"
	"testing"
)

func collect(s *TCPStream) [][]byte {
	var out [][]byte
	for msg, ok := s.Next(); ok; msg, ok = s.Next() {
		out = append(out, bytes.Clone(msg))
	}
	return out
}

func TestTCPStreamSplits(t *testing.T) {
	msgs := [][]byte{sampleQuery(1, "a.example", TypeA), sampleResponse(), {}, sampleNXDomain()}
	stream := tcpFrame(msgs...)
	// Every way of cutting the stream into two, and byte by byte.
	for cut := 0; cut <= len(stream); cut++ {
		var s TCPStream
		var got [][]byte
		for _, part := range [][]byte{stream[:cut], stream[cut:]} {
			s.Feed(part)
			got = append(got, collect(&s)...)
		}
		if len(got) != len(msgs) {
			t.Fatalf("cut %d: %d messages", cut, len(got))
		}
		for i := range msgs {
			if !bytes.Equal(got[i], msgs[i]) {
				t.Fatalf("cut %d msg %d differs", cut, i)
			}
		}
	}
	var s TCPStream
	var got [][]byte
	for i := range stream {
		s.Feed(stream[i : i+1])
		got = append(got, collect(&s)...)
	}
	if len(got) != len(msgs) || s.Messages != int64(len(msgs)) || s.Buffered() != 0 {
		t.Fatalf("byte by byte: %d messages, %d buffered", len(got), s.Buffered())
	}
}

func TestTCPStreamMaxMessage(t *testing.T) {
	big := make([]byte, 3000)
	stream := tcpFrame(sampleQuery(1, "a.example", TypeA), big, sampleNXDomain())
	for _, step := range []int{1, 7, 1000, len(stream)} {
		s := TCPStream{MaxMessage: 512}
		var got [][]byte
		for i := 0; i < len(stream); i += step {
			s.Feed(stream[i:min(i+step, len(stream))])
			got = append(got, collect(&s)...)
		}
		if len(got) != 2 || s.Skipped != 1 || s.Buffered() > 514 {
			t.Errorf("step %d: %d msgs, %d skipped", step, len(got), s.Skipped)
		}
	}
}

func TestTCPStreamGap(t *testing.T) {
	a, b, c := sampleQuery(1, "a.example", TypeA), sampleResponse(), sampleNXDomain()
	stream := tcpFrame(a, b, c)
	startB := 2 + len(a)
	// Gap inside b (its length known): b is lost, c still comes out.
	var s TCPStream
	s.Feed(stream[:startB+10])
	got := collect(&s)
	s.Gap(20)
	s.Feed(stream[startB+30:])
	got = append(got, collect(&s)...)
	if len(got) != 2 || !bytes.Equal(got[1], c) || s.Skipped != 1 || s.Err() != nil {
		t.Fatalf("gap in message: %d msgs, skipped %d, err %v", len(got), s.Skipped, s.Err())
	}
	// Gap at a boundary: framing lost, stream stops.
	s = TCPStream{}
	s.Feed(stream[:startB])
	collect(&s)
	s.Gap(5)
	s.Feed(stream[startB+5:])
	if got := collect(&s); len(got) != 0 || !errors.Is(s.Err(), ErrStreamGap) {
		t.Fatalf("gap at boundary: %d msgs, err %v", len(got), s.Err())
	}
	// Gap running past the end of the message: stops too.
	s = TCPStream{}
	s.Feed(stream[:startB+10])
	collect(&s)
	s.Gap(len(b) + 5)
	if !errors.Is(s.Err(), ErrStreamGap) {
		t.Fatal("gap past message end accepted")
	}
	// Gap inside a skipped (too long) message stays in step.
	s = TCPStream{MaxMessage: 100}
	s.Feed(stream[:startB+10])
	collect(&s)
	s.Gap(20)
	s.Feed(stream[startB+30:])
	if got := collect(&s); len(got) != 1 || s.Err() != nil {
		t.Fatalf("gap in skipped message: %d %v", len(got), s.Err())
	}
}

func TestTCPStreamFeedWithoutDrain(t *testing.T) {
	a, b := sampleQuery(1, "a.example", TypeA), sampleNXDomain()
	var s TCPStream
	s.Feed(tcpFrame(a, b)[:len(a)+5])
	s.Feed(tcpFrame(a, b)[len(a)+5:]) // a was never taken: dropped, counted
	got := collect(&s)
	if len(got) != 1 || !bytes.Equal(got[0], b) || s.Skipped != 1 || s.Messages != 1 {
		t.Fatalf("%d msgs, skipped %d, messages %d", len(got), s.Skipped, s.Messages)
	}
}

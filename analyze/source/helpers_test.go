package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// gotPkt is a copy of a Packet (Data is only valid until the next Next).
type gotPkt struct {
	Data      []byte
	Timestamp int64
	OrigLen   int
	LinkType  uint16
	File      int
	Frame     int64
	Offset    int64
	Interface int
}

type result struct {
	pkts  []gotPkt
	warns []Warning
	files []FileInfo
	err   error // from Open or Next
}

func (r result) warnText() string {
	var b strings.Builder
	for _, w := range r.warns {
		b.WriteString(w.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// readAll opens paths and reads every packet, copying each one.
func readAll(t testing.TB, paths []string, opts Options) result {
	t.Helper()
	rd, err := Open(paths, opts)
	if err != nil {
		return result{err: err}
	}
	defer rd.Close()
	var res result
	for {
		p, err := rd.Next()
		if err == io.EOF {
			if _, err2 := rd.Next(); err2 != io.EOF {
				t.Errorf("Next after EOF = %v, want io.EOF again", err2)
			}
			break
		}
		if err != nil {
			res.err = err
			break
		}
		res.pkts = append(res.pkts, gotPkt{bytes.Clone(p.Data), p.Timestamp, p.OrigLen, p.LinkType, p.File, p.Frame, p.Offset, p.Interface})
	}
	res.warns = rd.Warnings()
	res.files = rd.Files()
	return res
}

// readCapture reads one capture four ways — as a file and as stdin, with
// the default buffer and with a 16-byte buffer (so every record takes the
// copying path) — checks that all four agree, and returns the file
// reading with the default buffer. Any difference is a bug in the
// zero-copy / owned-buffer split or in the probe-and-reopen logic.
func readCapture(t testing.TB, b []byte) result {
	t.Helper()
	dir := t.TempDir()
	p := writeFile(t, dir, "cap", b)
	var base result
	for i, v := range []struct {
		stdin bool
		buf   int
	}{{false, 0}, {false, 64}, {true, 0}, {true, 64}} {
		paths := []string{p}
		opts := Options{BufferSize: v.buf}
		if v.stdin {
			paths = []string{"-"}
			opts.Stdin = bytes.NewReader(b)
		}
		res := readAll(t, paths, opts)
		if i == 0 {
			base = res
			continue
		}
		if err := sameResult(base, res); err != nil {
			t.Fatalf("stdin=%v buffer=%d differs from a file read with the default buffer: %v", v.stdin, v.buf, err)
		}
	}
	return base
}

// sameResult compares two readings of the same bytes, ignoring names.
func sameResult(a, b result) error {
	if (a.err == nil) != (b.err == nil) {
		return fmt.Errorf("error %v vs %v", a.err, b.err)
	}
	if len(a.pkts) != len(b.pkts) {
		return fmt.Errorf("%d vs %d packets", len(a.pkts), len(b.pkts))
	}
	for i := range a.pkts {
		if !reflect.DeepEqual(a.pkts[i], b.pkts[i]) {
			return fmt.Errorf("packet %d: %+v vs %+v", i, a.pkts[i], b.pkts[i])
		}
	}
	if len(a.warns) != len(b.warns) {
		return fmt.Errorf("warnings:\n%s vs\n%s", a.warnText(), b.warnText())
	}
	for i := range a.warns {
		wa, wb := a.warns[i], b.warns[i]
		wa.File, wb.File = "", ""
		if wa != wb {
			return fmt.Errorf("warning %d: %v vs %v", i, wa, wb)
		}
	}
	if len(a.files) != len(b.files) {
		return fmt.Errorf("%d vs %d files", len(a.files), len(b.files))
	}
	for i := range a.files {
		fa, fb := a.files[i], b.files[i]
		fa.Name, fb.Name = "", ""
		fa.Size, fb.Size = 0, 0
		if !reflect.DeepEqual(fa, fb) {
			return fmt.Errorf("file %d: %+v vs %+v", i, fa, fb)
		}
	}
	return nil
}

// wantWarn checks that exactly one warning contains every fragment.
func wantWarn(t testing.TB, res result, frags ...string) Warning {
	t.Helper()
	var found []Warning
	for _, w := range res.warns {
		s := w.String()
		ok := true
		for _, f := range frags {
			if !strings.Contains(s, f) {
				ok = false
			}
		}
		if ok {
			found = append(found, w)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one warning with %q, got %d among:\n%s", frags, len(found), res.warnText())
	}
	return found[0]
}

func noWarn(t testing.TB, res result) {
	t.Helper()
	if len(res.warns) > 0 {
		t.Fatalf("unexpected warnings:\n%s", res.warnText())
	}
}

func wantErr(t testing.TB, res result, target error, frags ...string) {
	t.Helper()
	if res.err == nil {
		t.Fatalf("want error %v, got none (%d packets)", target, len(res.pkts))
	}
	if target != nil && !errors.Is(res.err, target) {
		t.Fatalf("error %q is not %v", res.err, target)
	}
	for _, f := range frags {
		if !strings.Contains(res.err.Error(), f) {
			t.Fatalf("error %q lacks %q", res.err, f)
		}
	}
}

// sharedDir is ../../../shared, present in CI and on the team's machines.
func sharedDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "..", "shared"))
	if err != nil {
		t.Skip(err)
	}
	if !exists(d) {
		t.Skipf("%s absent: skipping tests over the shared captures", d)
	}
	return d
}

package analyze_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
)

// failAfter reads its bytes, then fails as a disk or a pipe would.
type failAfter struct{ b []byte }

func (f *failAfter) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, errors.New("input/output error")
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// A read that fails half way is an error naming the input once, with
// what failed.
func TestReadErrorNamesInput(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(captures, "demo.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = analyze.Run(analyze.Config{Inputs: []string{"-"}, Stdin: &failAfter{bytes.Clone(b[:len(b)/2])}}, nil)
	if err == nil {
		t.Fatal("no error")
	}
	if msg := err.Error(); msg != "read capture: stdin: input/output error" || strings.Count(msg, "read capture") != 1 {
		t.Errorf("error %q", msg)
	}
}

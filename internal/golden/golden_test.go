package golden

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEqual(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	prev := *update
	defer func() { *update = prev }()

	*update = true
	if !Equal(t, path, []byte("one")) {
		t.Fatal("with -update: false")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "one" {
		t.Fatalf("with -update the file holds %q, %v", b, err)
	}
	*update = false
	if !Equal(t, path, []byte("one")) {
		t.Error("same bytes: not equal")
	}
	if Equal(t, path, []byte("two")) {
		t.Error("different bytes: equal")
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("without -update the file changed to %q", b)
	}
}

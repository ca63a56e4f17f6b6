package parquet

import (
	"testing"
	"unsafe"
)

// TestPoolAllocator: buffers are zeroed, 64-byte aligned, of the size
// asked; a freed buffer is handed out again (zeroed); reallocation keeps
// the contents.
func TestPoolAllocator(t *testing.T) {
	a := &poolAllocator{}
	for _, n := range []int{0, 1, 63, 64, 65, 1000, 4096, 1 << 20, 20 << 20} {
		b := a.Allocate(n)
		if len(b) != n {
			t.Fatalf("Allocate(%d): len %d", n, len(b))
		}
		if n > 0 && uintptr(unsafe.Pointer(&b[0]))%64 != 0 {
			t.Errorf("Allocate(%d) not 64-byte aligned", n)
		}
		for i := range b {
			if b[i] != 0 {
				t.Fatalf("Allocate(%d): byte %d not zero", n, i)
			}
			b[i] = 0xAA
		}
		a.Free(b)
	}
	// Reuse: the same class comes back, zeroed.
	b := a.Allocate(1000)
	for i := range b {
		b[i] = 0x55
	}
	p := &b[0]
	a.Free(b)
	reused := false
	for range 10 { // sync.Pool may drop an item; a few tries
		c := a.Allocate(900)
		for i := range c {
			if c[i] != 0 {
				t.Fatalf("reused buffer byte %d = %#x, want 0", i, c[i])
			}
		}
		if &c[0] == p {
			reused = true
			break
		}
	}
	if !reused {
		t.Log("the freed buffer was not handed out again (sync.Pool may drop items); contents checked only")
	}
	// Reallocate keeps what was written.
	d := a.Allocate(100)
	for i := range d {
		d[i] = byte(i)
	}
	d = a.Reallocate(5000, d)
	if len(d) != 5000 {
		t.Fatalf("Reallocate: len %d", len(d))
	}
	for i := range 100 {
		if d[i] != byte(i) {
			t.Fatalf("Reallocate lost byte %d", i)
		}
	}
	// Growing within the capacity: the added bytes are zero, whatever the
	// buffer held before.
	e := a.Allocate(1024)
	for i := range e {
		e[i] = 0xAA
	}
	e = a.Reallocate(1000, e)[:10]
	e = a.Reallocate(1000, e)
	for i := 10; i < len(e); i++ {
		if e[i] != 0 {
			t.Fatalf("Reallocate within capacity: byte %d = %#x, want 0", i, e[i])
		}
	}
}

package parquet

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// poolAllocator is the Arrow allocator of the tables' builders: it
// recycles the buffers of a batch once the Parquet writer has encoded it
// (the record is released, which frees them), where Arrow's GoAllocator
// leaves every buffer to the garbage collector. The builders need a fresh
// set of buffers for every batch (batchRows); with GoAllocator that was
// most of what the Writer allocated (about 70 MB per 60k rows on the
// benchmark capture), and the collections it caused slowed the analysis
// running beside the Writer as much as the encoding did.
//
// Buffers come in power-of-two sizes from 64 bytes to 16 MiB, one
// sync.Pool per size, 64-byte aligned as Arrow wants; larger requests go
// to the GoAllocator. Memory handed out is zeroed, as GoAllocator's is,
// the bytes a Reallocate adds within the capacity included.
type poolAllocator struct {
	classes [numClasses]sync.Pool // class c: buffers of capacity 64<<c
}

const numClasses = 19 // 64 B .. 16 MiB

var tableAllocator memory.Allocator = &poolAllocator{}

func classOf(size int) int {
	if size <= 64 {
		return 0
	}
	return bits.Len(uint(size-1)) - 6
}

func aligned(b []byte) bool { return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64 == 0 }

func (a *poolAllocator) Allocate(size int) []byte {
	c := classOf(size)
	if c >= numClasses {
		return memory.DefaultAllocator.Allocate(size)
	}
	if p, ok := a.classes[c].Get().(*[]byte); ok {
		b := (*p)[:size]
		clear(b)
		return b
	}
	// A power-of-two size of at least 64 bytes lands on a 64-byte
	// boundary in Go's allocator; checked, not assumed.
	b := make([]byte, 64<<c)
	if !aligned(b) {
		return memory.DefaultAllocator.Allocate(size)
	}
	return b[:size]
}

func (a *poolAllocator) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		if size > len(b) {
			clear(b[len(b):size]) // left from the buffer's previous use
		}
		return b[:size]
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b) // Arrow never uses a buffer after reallocating it
	return nb
}

func (a *poolAllocator) Free(b []byte) {
	n := cap(b)
	if n < 64 || n&(n-1) != 0 || !aligned(b) {
		return // not one of ours (or not poolable): the GC takes it
	}
	c := classOf(n)
	if c >= numClasses {
		return
	}
	b = b[:n]
	a.classes[c].Put(&b)
}

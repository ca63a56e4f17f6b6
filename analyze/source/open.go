package source

import (
	"cmp"
	"container/heap"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// candidate is one input after expanding directories and globs.
type candidate struct {
	name  string // shown in FileInfo.Name and warnings
	path  string // "" for stdin
	stdin bool
	// lenient inputs come from a directory or a glob: an empty or foreign
	// file among them is skipped with a warning instead of failing the run.
	lenient bool
	order   int // position after expansion, the tie-breaker
}

// Open expands paths (files, directories, globs, "-" for stdin), probes every
// input up to its first packet and returns a Reader merging them in
// timestamp order. Errors name the file and are wrapped "open capture: ...".
func Open(paths []string, opts Options) (Reader, error) {
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	opts.BufferSize = max(opts.BufferSize, minBufferSize)
	if opts.Stdin == nil {
		opts.Stdin = os.Stdin
	}
	r := &reader{opts: opts}
	cands, err := r.expand(paths)
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		in := &input{r: r, cand: c, idx: c.order}
		in.info.Name = c.name
		if err := in.probe(); err != nil {
			in.close()
			if !c.lenient {
				r.Close()
				return nil, fmt.Errorf("open capture: %s: %w", c.name, reasonOf(err))
			}
			// A file of a ring directory that is empty, not yet a
			// capture, unreadable or vanished: skip it, say so.
			in.skip(reasonOf(err))
		}
		r.inputs = append(r.inputs, in)
	}
	r.order()
	return r, nil
}

// expand turns the command-line paths into candidates: a directory gives its
// regular, non-hidden files (not recursive), a path with glob metacharacters
// that is not itself a file gives its matches, "-" gives stdin once.
func (r *reader) expand(paths []string) ([]candidate, error) {
	var out []candidate
	seen := map[string]bool{}
	add := func(c candidate) {
		if c.path != "" {
			key := c.path
			if abs, err := filepath.Abs(c.path); err == nil {
				key = abs
			}
			if seen[key] {
				r.warnings = append(r.warnings, Warning{File: c.name, Offset: -1,
					Msg: "named more than once; read it once"})
				return
			}
			seen[key] = true
		}
		c.order = len(out)
		out = append(out, c)
	}
	stdinSeen := false
	if len(paths) == 0 {
		return nil, errors.New("open capture: no input files")
	}
	for _, p := range paths {
		if p == "-" {
			if stdinSeen {
				return nil, errors.New(`open capture: "-" (stdin) named more than once`)
			}
			stdinSeen = true
			add(candidate{name: "stdin", stdin: true})
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && hasGlobMeta(p) {
				matches, gerr := filepath.Glob(p)
				if gerr != nil {
					return nil, fmt.Errorf("open capture: %s: %w", p, gerr)
				}
				n := 0
				for _, m := range matches {
					if hidden(m) && !hidden(p) {
						continue
					}
					if mst, err := os.Stat(m); err == nil && mst.IsDir() {
						continue // non-recursive: a glob's directories are not opened
					}
					add(candidate{name: m, path: m, lenient: true})
					n++
				}
				if n == 0 {
					return nil, fmt.Errorf("open capture: %s: no files match", p)
				}
				continue
			}
			return nil, fmt.Errorf("open capture: %w", err)
		}
		if !st.IsDir() {
			add(candidate{name: p, path: p})
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("open capture: %w", err)
		}
		n := 0
		for _, e := range ents { // ReadDir sorts by name
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			full := filepath.Join(p, e.Name())
			typ := e.Type()
			if typ&fs.ModeSymlink != 0 {
				est, err := os.Stat(full)
				if err != nil {
					r.warnings = append(r.warnings, Warning{File: full, Offset: -1,
						Msg: fmt.Sprintf("cannot follow link: %v; skipped it", err)})
					continue
				}
				typ = est.Mode().Type()
			}
			if !typ.IsRegular() {
				// Subdirectories, FIFOs, sockets, devices: not part of
				// a ring, and a FIFO would block the run. Not read, but
				// said, so nothing is left out unnoticed.
				r.warnings = append(r.warnings, Warning{File: full, Offset: -1,
					Msg: fmt.Sprintf("%s, not a regular file; skipped it (directories are not read recursively)", fileKind(typ))})
				continue
			}
			add(candidate{name: full, path: full, lenient: true})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("open capture: %s: no capture files in directory", p)
		}
	}
	return out, nil
}

// fileKind names what a directory entry that is not a regular file is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a file"
}

func hasGlobMeta(p string) bool { return strings.ContainsAny(p, "*?[") }

func hidden(p string) bool { return strings.HasPrefix(filepath.Base(p), ".") }

// reader merges the inputs. See the package documentation.
type reader struct {
	opts     Options
	inputs   []*input // in Files() order once ordered
	heap     inputHeap
	pending  []*input // inputs with packets not yet in the heap, by first timestamp
	last     *input   // input whose packet was returned last; still heap[0]
	warnings []Warning
	err      error
	total    int64
	closed   bool
}

// order sorts the probed inputs by first packet time (files without packets
// last, keeping their order), numbers them, and queues them for the merge.
func (r *reader) order() {
	slices.SortStableFunc(r.inputs, func(a, b *input) int {
		if a.hasFirst != b.hasFirst {
			if a.hasFirst {
				return -1
			}
			return 1
		}
		if a.hasFirst {
			if c := cmp.Compare(a.firstTS, b.firstTS); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.cand.order, b.cand.order)
	})
	for i, in := range r.inputs {
		in.idx = i
		in.pkt.File = i
		r.total += in.info.Size
		switch {
		case in.hasFirst:
			if in.reopen {
				in.pendingWarn = nil // the real read reports them again
			} else {
				r.flush(in)
			}
			r.pending = append(r.pending, in)
		default:
			r.flush(in)
		}
	}
	if r.total > 0 {
		for _, in := range r.inputs {
			if in.cand.stdin || !in.regular {
				r.total = 0 // unknown size: no meaningful progress total
			}
		}
	}
}

// flush moves the warnings an input gathered while probing into the
// reader's list, now that the input's place in Files() is known.
func (r *reader) flush(in *input) {
	r.warnings = append(r.warnings, in.pendingWarn...)
	in.pendingWarn = nil
	in.sink = &r.warnings
}

// Next implements Reader.
func (r *reader) Next() (*Packet, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.closed {
		return nil, errors.New("read capture: reader closed")
	}
	if in := r.last; in != nil {
		// Advance the input whose packet the caller has now finished
		// with; only now may its buffer be overwritten.
		r.last = nil
		ok, err := in.advance()
		if err != nil {
			r.err = err
			return nil, err
		}
		if ok {
			if len(r.heap) > 1 { // one input (the usual case): nothing to reorder
				r.heap.fix0()
			}
		} else {
			r.heap.pop0()
			in.finish()
		}
	}
	// Bring in inputs whose first packet is due before the current head.
	for len(r.pending) > 0 {
		p := r.pending[0]
		if len(r.heap) > 0 && !before(p.firstTS, p.idx, r.heap[0]) {
			break
		}
		r.pending = r.pending[1:]
		ok, err := p.activate()
		if err != nil {
			r.err = err
			return nil, err
		}
		if ok {
			r.heap.push(p)
		} else {
			p.finish()
		}
	}
	if len(r.heap) == 0 {
		return nil, io.EOF
	}
	r.last = r.heap[0]
	return &r.last.pkt, nil
}

// Warnings implements Reader.
func (r *reader) Warnings() []Warning { return slices.Clip(r.warnings) }

// Files implements Reader.
func (r *reader) Files() []FileInfo {
	out := make([]FileInfo, len(r.inputs))
	for i, in := range r.inputs {
		out[i] = in.info
	}
	return out
}

// Progress implements Reader.
func (r *reader) Progress() (done, total int64) {
	for _, in := range r.inputs {
		done += in.consumed.Load()
	}
	if r.total > 0 && done > r.total {
		done = r.total // a file still being written grew after Open
	}
	return done, r.total
}

// Close implements Reader.
func (r *reader) Close() error {
	r.closed = true
	var first error
	for _, in := range r.inputs {
		if err := in.close(); err != nil && first == nil {
			first = err
		}
	}
	r.heap = nil
	r.pending = nil
	r.last = nil
	return first
}

// before reports whether a packet at ts of input idx comes before the head
// of input h: earlier time, or the same time and an earlier file.
func before(ts int64, idx int, h *input) bool {
	if ts != h.pkt.Timestamp {
		return ts < h.pkt.Timestamp
	}
	return idx < h.idx
}

// inputHeap is a min-heap (container/heap) of inputs ordered by their head
// packet. The input at the top is the one whose packet Next returns; it stays
// there while the caller uses the packet, and is then advanced in place and
// sifted down with heap.Fix — one sift per packet instead of a Pop and a Push.
type inputHeap []*input

func (h *inputHeap) push(in *input) { heap.Push(h, in) }
func (h *inputHeap) fix0()          { heap.Fix(h, 0) }
func (h *inputHeap) pop0()          { heap.Pop(h) }

func (h inputHeap) Len() int           { return len(h) }
func (h inputHeap) Less(i, j int) bool { return before(h[i].pkt.Timestamp, h[i].idx, h[j]) }
func (h inputHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *inputHeap) Push(x any)        { *h = append(*h, x.(*input)) }
func (h *inputHeap) Pop() any {
	old := *h
	n := len(old) - 1
	x := old[n]
	old[n] = nil
	*h = old[:n]
	return x
}

package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// payload is what packet i of file f carries, so any mix-up shows.
func payload(f, i int) []byte {
	b := pkt(byte(f*37+i), 80+i%50)
	b[0], b[1] = byte(f), byte(i)
	return b
}

// pcapAt builds a pcap file whose packets have the given timestamps (µs
// after t0) and payload(file, i).
func pcapAt(file int, us ...int64) []byte {
	var recs []rec
	for i, u := range us {
		recs = append(recs, r(t0+u*1000, payload(file, i)))
	}
	return pcapFile(pcapHdr{}, recs...)
}

func pcapngAt(file int, us ...int64) []byte {
	w := &ngW{}
	w.shb(false).idb(1, 0)
	for i, u := range us {
		w.epb(0, us0+uint64(u), payload(file, i), 0)
	}
	return w.b
}

type seen struct {
	file  int
	us    int64
	frame int64
}

func sequence(t *testing.T, res result) []seen {
	t.Helper()
	var out []seen
	for _, p := range res.pkts {
		out = append(out, seen{p.File, (p.Timestamp - t0) / 1000, p.Frame})
	}
	return out
}

func TestMergeOrdersFilesByFirstPacket(t *testing.T) {
	dir := t.TempDir()
	late := writeFile(t, dir, "1-late.pcap", pcapAt(1, 20, 40, 60))
	early := writeFile(t, dir, "2-early.pcapng", pcapngAt(2, 10, 30, 50))
	for _, buf := range []int{0, 64} {
		res := readAll(t, []string{late, early}, Options{BufferSize: buf})
		if res.err != nil {
			t.Fatal(res.err)
		}
		noWarn(t, res)
		got := sequence(t, res)
		want := []seen{{0, 10, 1}, {1, 20, 1}, {0, 30, 2}, {1, 40, 2}, {0, 50, 3}, {1, 60, 3}}
		if !slices.Equal(got, want) {
			t.Fatalf("buffer %d: got %v, want %v", buf, got, want)
		}
		if res.files[0].Name != early || res.files[1].Name != late || res.files[0].Format != "pcapng" {
			t.Fatalf("files %v", res.files)
		}
		// Each packet's data is what its file holds at that frame.
		for _, p := range res.pkts {
			src := 2
			if p.File == 1 {
				src = 1
			}
			if !bytes.Equal(p.Data, payload(src, int(p.Frame-1))) {
				t.Fatalf("buffer %d: packet %+v has the wrong data", buf, p)
			}
		}
	}
}

func TestMergeTiesByFileOrder(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.pcap", pcapAt(1, 10, 20, 20))
	b := writeFile(t, dir, "b.pcap", pcapAt(2, 10, 20))
	res := readAll(t, []string{b, a}, Options{}) // b named first: b is file 0 on a tie
	got := sequence(t, res)
	want := []seen{{0, 10, 1}, {1, 10, 1}, {0, 20, 2}, {1, 20, 2}, {1, 20, 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Merging compares heads only: a file whose time goes backwards keeps its
// own order.
func TestMergeNeverReordersWithinAFile(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.pcap", pcapAt(1, 100, 50, 200))
	b := writeFile(t, dir, "b.pcap", pcapAt(2, 60, 150))
	res := readAll(t, []string{a, b}, Options{})
	got := sequence(t, res)
	want := []seen{{0, 60, 1}, {1, 100, 1}, {1, 50, 2}, {0, 150, 2}, {1, 200, 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// The packet returned stays intact while the caller looks at it, even
// when every record is copied into the owned buffer (a reader that read
// ahead would overwrite it).
func TestPacketValidUntilNext(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for f := range 3 {
		var us []int64
		for i := range 50 {
			us = append(us, int64(i*3+f))
		}
		paths = append(paths, writeFile(t, dir, fmt.Sprintf("f%d.pcap", f), pcapAt(f, us...)))
	}
	rd, err := Open(paths, Options{BufferSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	n := 0
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := payload(p.File, int(p.Frame-1)) // files are named in time order here
		rd.Warnings()
		rd.Files()
		rd.Progress()
		if !bytes.Equal(p.Data, want) {
			t.Fatalf("packet %d (file %d frame %d) data changed", n, p.File, p.Frame)
		}
		n++
	}
	if n != 150 {
		t.Fatalf("%d packets", n)
	}
}

func TestDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "b.pcap", pcapAt(1, 30, 40))
	writeFile(t, dir, "a.pcap.gz", gz(t, pcapAt(2, 10, 35)))
	writeFile(t, dir, "c.cap", zst(t, pcapngAt(3, 20)))         // compression by magic, not name
	writeFile(t, dir, ".hidden.pcap", pcapAt(4, 1))             // skipped silently
	writeFile(t, dir, "d-empty.pcap", nil)                      // ring: newest file not started
	writeFile(t, dir, "e-partial.pcap", pcapAt(5, 50)[:12])     // ring: header being written
	writeFile(t, dir, "f-notes.txt", []byte("not a capture\n")) // foreign file
	writeFile(t, dir, "g-headeronly.pcap", pcapAt(6))           // valid, empty
	writeFile(t, dir, "h-v1.pcap", pcapFile(pcapHdr{major: 1})) // unsupported
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sub"), "x.pcap", pcapAt(7, 5)) // not recursive
	res := readAll(t, []string{dir}, Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	got := sequence(t, res)
	want := []seen{{0, 10, 1}, {1, 20, 1}, {2, 30, 1}, {0, 35, 2}, {2, 40, 2}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	var names []string
	var skipped []bool
	for _, f := range res.files {
		names = append(names, filepath.Base(f.Name))
		skipped = append(skipped, f.Skipped)
	}
	wantNames := []string{"a.pcap.gz", "c.cap", "b.pcap", "d-empty.pcap", "e-partial.pcap", "f-notes.txt", "g-headeronly.pcap", "h-v1.pcap"}
	if !slices.Equal(names, wantNames) {
		t.Fatalf("files %v, want %v", names, wantNames)
	}
	if !slices.Equal(skipped, []bool{false, false, false, true, true, true, false, true}) {
		t.Fatalf("skipped %v", skipped)
	}
	if res.files[0].Compression != "gzip" || res.files[1].Compression != "zstd" || res.files[1].Format != "pcapng" {
		t.Fatalf("%+v", res.files[:2])
	}
	wantWarn(t, res, "d-empty.pcap: empty file; skipped it")
	wantWarn(t, res, "e-partial.pcap: not a pcap or pcapng capture: pcap file header cut short (12 of 24 bytes")
	wantWarn(t, res, "f-notes.txt: not a pcap or pcapng capture: unknown magic")
	wantWarn(t, res, "h-v1.pcap: unsupported capture format: pcap major version 1 unsupported; skipped it")
	wantWarn(t, res, "sub: a directory, not a regular file; skipped it (directories are not read recursively)")
	if len(res.warns) != 5 {
		t.Fatalf("warnings:\n%s", res.warnText())
	}
}

func TestGlob(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ring1.pcap", pcapAt(1, 10))
	writeFile(t, dir, "ring2.pcap", pcapAt(2, 20))
	writeFile(t, dir, "ring3.pcap", nil) // being written
	writeFile(t, dir, "other.pcap", pcapAt(3, 15))
	res := readAll(t, []string{filepath.Join(dir, "ring*.pcap")}, Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := sequence(t, res); !slices.Equal(got, []seen{{0, 10, 1}, {1, 20, 1}}) {
		t.Fatalf("%v", got)
	}
	wantWarn(t, res, "ring3.pcap: empty file; skipped it")
	// A file whose name has glob characters is opened as named.
	odd := writeFile(t, dir, "odd[1].pcap", pcapAt(4, 1))
	res = readAll(t, []string{odd}, Options{})
	if res.err != nil || len(res.pkts) != 1 {
		t.Fatalf("%v %d", res.err, len(res.pkts))
	}
}

func TestInputErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.pcap", pcapAt(1, 10))
	empty := writeFile(t, dir, "empty.pcap", nil)
	if err := os.Mkdir(filepath.Join(dir, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		paths []string
		is    error
		frags []string
	}{
		{"nonexistent", []string{good, filepath.Join(dir, "nope.pcap")}, fs.ErrNotExist, []string{"open capture: ", "nope.pcap"}},
		{"empty named alone", []string{good, empty}, ErrEmpty, []string{"open capture: ", "empty.pcap: empty file"}},
		{"glob without match", []string{filepath.Join(dir, "*.pcapng")}, nil, []string{"no files match"}},
		{"bad glob", []string{filepath.Join(dir, "[.pcap")}, filepath.ErrBadPattern, nil},
		{"empty directory", []string{filepath.Join(dir, "emptydir")}, nil, []string{"no capture files in directory"}},
		{"stdin twice", []string{"-", "-"}, nil, []string{"more than once"}},
		{"nothing", nil, nil, []string{"no input files"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := readAll(t, tc.paths, Options{Stdin: bytes.NewReader(nil)})
			wantErr(t, res, tc.is, tc.frags...)
		})
	}
}

func TestStdin(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "f.pcap", pcapAt(1, 20))
	res := readAll(t, []string{f, "-"}, Options{Stdin: bytes.NewReader(gz(t, pcapngAt(2, 10, 30)))})
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got := sequence(t, res); !slices.Equal(got, []seen{{0, 10, 1}, {1, 20, 1}, {0, 30, 2}}) {
		t.Fatalf("%v", got)
	}
	if res.files[0].Name != "stdin" || res.files[0].Compression != "gzip" || res.files[0].Size != 0 {
		t.Fatalf("%+v", res.files[0])
	}
}

func TestDuplicatePathReadOnce(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "f.pcap", pcapAt(1, 10, 20))
	res := readAll(t, []string{f, dir}, Options{})
	if res.err != nil || len(res.pkts) != 2 || len(res.files) != 1 {
		t.Fatalf("%v %d %d", res.err, len(res.pkts), len(res.files))
	}
	wantWarn(t, res, "named more than once; read it once")
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.pcap", pcapAt(1, 10, 20, 30))
	b := writeFile(t, dir, "b.pcap.gz", gz(t, pcapAt(2, 15, 25)))
	cut := writeFile(t, dir, "c.pcap", pcapAt(3, 5, 6)[:70]) // stops early
	var total int64
	for _, p := range []string{a, b, cut} {
		st, _ := os.Stat(p)
		total += st.Size()
	}
	rd, err := Open([]string{a, b, cut}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	done, tot := rd.Progress()
	if tot != total || done < 0 || done > tot {
		t.Fatalf("progress %d/%d before reading, total should be %d", done, tot, total)
	}
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
		d, _ := rd.Progress()
		if d < done {
			t.Fatalf("progress went back: %d after %d", d, done)
		}
		done = d
	}
	done, tot = rd.Progress()
	if done != total || tot != total {
		t.Fatalf("progress at the end %d/%d, want %d", done, tot, total)
	}
	rs, err := Open([]string{"-"}, Options{Stdin: bytes.NewReader(pcapAt(1, 10))})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for {
		if _, err := rs.Next(); err != nil {
			break
		}
	}
	if d, tot := rs.Progress(); tot != 0 || d != int64(len(pcapAt(1, 10))) {
		t.Fatalf("stdin progress %d/%d", d, tot)
	}
}

// A ring of many files is read with only the files whose time ranges
// overlap open at once, and files are closed as soon as they end.
func TestRingKeepsFewFilesOpen(t *testing.T) {
	dir := t.TempDir()
	const files, per = 40, 25
	for f := range files {
		var us []int64
		for i := range per {
			us = append(us, int64(f*per+i)*10)
		}
		// Names in reverse time order: the order must come from the
		// timestamps.
		writeFile(t, dir, fmt.Sprintf("ring-%02d.pcap", files-f), pcapAt(f, us...))
	}
	rd, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	maxOpen, n := 0, 0
	last := int64(0)
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Timestamp < last {
			t.Fatalf("out of order at packet %d", n)
		}
		last = p.Timestamp
		open := 0
		for _, in := range rd.(*reader).inputs {
			if in.f != nil {
				open++
			}
		}
		maxOpen = max(maxOpen, open)
		n++
	}
	if n != files*per {
		t.Fatalf("%d packets", n)
	}
	if maxOpen > 2 {
		t.Fatalf("%d files open at once", maxOpen)
	}
	for i, f := range rd.Files() {
		if want := fmt.Sprintf("ring-%02d.pcap", files-i); filepath.Base(f.Name) != want || f.Packets != per {
			t.Fatalf("file %d is %s with %d packets, want %s", i, f.Name, f.Packets, want)
		}
	}
}

// A ring file removed between Open and its turn (tcpdump -W rotating) is
// skipped with a warning; the others are read.
func TestFileVanishesBeforeItsTurn(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.pcap", pcapAt(1, 10, 20))
	b := writeFile(t, dir, "b.pcap", pcapAt(2, 30, 40))
	rd, err := Open([]string{dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if _, err := rd.Next(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	n := 1
	for {
		_, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	_ = a
	if n != 2 || len(rd.Warnings()) != 1 || !strings.Contains(rd.Warnings()[0].String(), "b.pcap: could not read it again") {
		t.Fatalf("%d packets, %v", n, rd.Warnings())
	}
}

// An I/O failure in the middle of stdin is an error from Next, after the
// packets before it.
func TestIOErrorIsFatal(t *testing.T) {
	b := pcapAt(1, 10, 20, 30)
	boom := errors.New("boom")
	stdin := io.MultiReader(bytes.NewReader(b[:150]), iotestErr{boom}) // the first packet whole, then a failure
	rd, err := Open([]string{"-"}, Options{Stdin: stdin, BufferSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var n int
	for {
		_, err = rd.Next()
		if err != nil {
			break
		}
		n++
	}
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "read capture: stdin: boom") || n != 1 {
		t.Fatalf("err %v after %d packets", err, n)
	}
	if _, err2 := rd.Next(); !errors.Is(err2, boom) {
		t.Fatalf("error not sticky: %v", err2)
	}
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

// Progress may be polled from another goroutine (a progress bar) while
// Next runs; go test -race checks it.
func TestProgressConcurrent(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.pcap", genPcap(5000, 0))
	b := writeFile(t, dir, "b.pcap.gz", gz(t, genPcap(5000, 5)))
	rd, err := Open([]string{a, b}, Options{BufferSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	stop := make(chan struct{})
	polled := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				polled <- n
				return
			default:
				if d, tot := rd.Progress(); d > tot {
					t.Errorf("progress %d/%d", d, tot)
				}
				n++
			}
		}
	}()
	for {
		if _, err := rd.Next(); err != nil {
			break
		}
	}
	close(stop)
	<-polled
	if d, tot := rd.Progress(); d != tot {
		t.Fatalf("progress %d/%d at the end", d, tot)
	}
}

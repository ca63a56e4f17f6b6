package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/capgen"
	"github.com/pcapx/pcapx/report/parquet"
	"github.com/pcapx/pcapx/watch"
)

// ringWriter writes frames as a capture ring does: a new file every
// `every` of capture time, the current one growing while watch runs.
type ringWriter struct {
	t     *testing.T
	dir   string
	every time.Duration
	f     *os.File
	w     *capgen.PcapWriter
	end   time.Time
	files []string
}

func (r *ringWriter) write(fr capgen.Frame) {
	if r.w == nil || !fr.Time.Before(r.end) {
		r.rotate(fr.Time)
	}
	if err := r.w.WriteFrame(fr); err != nil {
		r.t.Fatal(err)
	}
}

func (r *ringWriter) rotate(at time.Time) {
	r.close()
	name := filepath.Join(r.dir, fmt.Sprintf("cap_%s.pcap", at.UTC().Format("150405")))
	f, err := os.Create(name)
	if err != nil {
		r.t.Fatal(err)
	}
	w, err := capgen.NewPcapWriter(f, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet, Nanosecond: true})
	if err != nil {
		r.t.Fatal(err)
	}
	r.f, r.w, r.end = f, w, at.Truncate(r.every).Add(r.every)
	r.files = append(r.files, name)
}

// flush makes what was written visible to a reader (the file stays open).
func (r *ringWriter) flush() {
	if r.w != nil {
		if err := r.w.Flush(); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *ringWriter) close() {
	if r.w != nil {
		r.flush()
		r.f.Close()
		r.w = nil
	}
}

// TestWatchRing follows a ring as it is written: watch --once after every
// few hundred packets (the newest file still growing), once with its state
// put back as a step killed before saving it would leave it, then
// --drain. The partitions' tables must count every packet once, hold every
// flow once (as many as one analysis of the whole ring finds, a flow
// across files being one flow), and be one per period of --every.
func TestWatchRing(t *testing.T) {
	frames, err := capgen.Traffic{Start: time.Date(2026, 11, 21, 23, 59, 33, 0, time.Local), Duration: 50 * time.Second, Seed: 3}.Frames()
	if err != nil {
		t.Fatal(err)
	}
	dir, out := t.TempDir(), t.TempDir()
	ring := &ringWriter{t: t, dir: dir, every: 6 * time.Second}
	watchOnce := func(extra ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args := append([]string{"watch", "--every", "10s", "--settle", "1h", "--partition", "host=web1", dir, "-o", out}, extra...)
		if code := run(args, nil, &stdout, &stderr); code != 0 {
			t.Fatalf("pcapx %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		return stdout.String() + stderr.String()
	}

	steps, restored := 0, false
	// One file is removed after watch saw it being written and before it
	// read it (as a ring overwrites a file a lagging watch has not read).
	var doomed string
	var lost int
	var output strings.Builder
	for i, fr := range frames {
		if doomed != "" && !fr.Time.Before(ring.end) {
			ring.write(fr) // the next file: the doomed one is complete
			n, err := countFrames(doomed)
			if err != nil {
				t.Fatal(err)
			}
			lost += n
			os.Remove(doomed)
			doomed = ""
			continue
		}
		ring.write(fr)
		if i%250 != 249 {
			continue
		}
		ring.flush()
		steps++
		if steps == 5 && os.Getenv("NORESTORE") == "" {
			// A step killed after writing partitions and before saving
			// its state: the next step does its work again.
			saved := t.TempDir()
			copyDir(t, filepath.Join(out, ".pcapx-watch"), saved)
			watchOnce("--once")
			os.RemoveAll(filepath.Join(out, ".pcapx-watch"))
			copyDir(t, saved, filepath.Join(out, ".pcapx-watch"))
			restored = true
			continue
		}
		output.WriteString(watchOnce("--once"))
		if steps == 8 {
			doomed = ring.files[len(ring.files)-1]
		}
	}
	ring.close()
	if !restored && os.Getenv("NORESTORE") == "" || len(ring.files) < 8 {
		t.Fatalf("%d steps over %d files: want a restored step and at least 8 files", steps, len(ring.files))
	}
	// Before the drain, every period but the last two (the one being
	// written and the one its open flows may still end in) is written.
	before, _ := filepath.Glob(filepath.Join(out, "date=*", "*", "host=web1"))
	output.WriteString(watchOnce("--drain"))
	if lost == 0 || !strings.Contains(output.String(), "removed before pcapx read it") {
		t.Errorf("no warning for the file removed unread (%d packets):\n%s", lost, output.String())
	}

	// One analysis of the whole ring, for the flows.
	whole, err := analyze.Run(analyze.Config{Inputs: []string{dir}}, nil)
	if err != nil {
		t.Fatal(err)
	}

	periods := watch.Periods{Every: 10 * time.Second, Loc: time.Local}
	wantParts := map[string]bool{}
	for _, fr := range frames {
		s, _ := periods.Of(fr.Time.UnixNano())
		wantParts[periods.Partition(s)+"/host=web1"] = true
	}
	parts, _ := filepath.Glob(filepath.Join(out, "date=*", "*", "host=web1"))
	if len(before) < len(wantParts)-2 {
		t.Errorf("%d partitions written before --drain, want at least %d of the %d", len(before), len(wantParts)-2, len(wantParts))
	}
	if len(parts) != len(wantParts) {
		t.Errorf("%d partitions, want %d (one per period with packets)", len(parts), len(wantParts))
	}
	var packets int64
	var warned bool
	seen := map[string]string{}
	var flowsSeen int64
	for _, p := range parts {
		rel, _ := filepath.Rel(out, p)
		if !wantParts[filepath.ToSlash(rel)] {
			t.Errorf("partition %s: no packets of the ring fall in it", rel)
		}
		if _, err := os.Stat(filepath.Join(p, "report.html")); err != nil {
			t.Errorf("partition %s: %v", rel, err)
		}
		keys := &flowKeys{}
		res, err := parquet.Replay(p, keys)
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		packets += res.Capture.Packets
		for _, w := range res.Capture.Warnings {
			warned = warned || strings.Contains(w, "removed before pcapx read it")
		}
		start, end := periods.Of(res.Capture.FirstNS)
		if res.Capture.LastNS >= end || periods.Partition(start)+"/host=web1" != filepath.ToSlash(rel) {
			t.Errorf("partition %s: packets from %s to %s", rel, res.Capture.First, res.Capture.Last)
		}
		for _, k := range keys.keys {
			if prev, dup := seen[k]; dup {
				t.Errorf("flow %s in %s and in %s", k, prev, rel)
			}
			seen[k] = rel
			flowsSeen++
		}
	}
	if packets != int64(len(frames)-lost) {
		t.Errorf("the partitions' capture tables count %d packets, the ring has %d (%d written, %d removed unread)", packets, len(frames)-lost, len(frames), lost)
	}
	if !warned {
		t.Error("no partition's capture table has the warning for the file removed unread")
	}
	if flowsSeen != whole.Capture.Flows {
		t.Errorf("the partitions hold %d flows, one analysis of the ring %d", flowsSeen, whole.Capture.Flows)
	}
}

// flowKeys collects the flows' identities from a partition's table.
type flowKeys struct{ keys []string }

func (k *flowKeys) Flow(r *flows.Record) error {
	k.keys = append(k.keys, fmt.Sprintf("%s %d", r.CommunityID, r.FirstNS))
	return nil
}
func (k *flowKeys) DNS(*flows.DNSRecord) error   { return nil }
func (k *flowKeys) HTTP(*flows.HTTPRecord) error { return nil }
func (k *flowKeys) TLS(*flows.TLSRecord) error   { return nil }

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// countFrames counts the packets of a capture file.
func countFrames(name string) (int, error) {
	res, err := analyze.Run(analyze.Config{Inputs: []string{name}}, nil)
	if err != nil {
		return 0, err
	}
	return int(res.Capture.Packets), nil
}

// lockedBuffer is a bytes.Buffer a child process writes while the test
// reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWatchFollowsUntilSIGTERM runs the built command as a service would:
// pcapx watch without --once keeps following the directory, reads a file
// once a newer one appears, and ends on SIGTERM with its state saved and
// exit status 0.
func TestWatchFollowsUntilSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "pcapx")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir, out := filepath.Join(tmp, "ring"), filepath.Join(tmp, "out")
	os.Mkdir(dir, 0o755)
	ring := filepath.Join("..", "..", "testdata", "captures", "ring")
	cp := func(name string) {
		b, err := os.ReadFile(filepath.Join(ring, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp("ring-1.pcap")
	cmd := exec.Command(bin, "watch", "--poll", "50ms", "--every", "1h", dir, "-o", out)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	waitFor := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !strings.Contains(stdout.String(), what); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q after 20 s; stdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			}
		}
	}
	time.Sleep(200 * time.Millisecond) // a few polls: ring-1 is the newest, still "being written"
	if strings.Contains(stdout.String(), "read") {
		t.Fatalf("read the newest file before it was complete:\n%s", stdout.String())
	}
	cp("ring-2.pcap") // ring-1 is complete now
	waitFor("read 1 files")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stopped; the state") {
		t.Errorf("stderr: %s", stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, ".pcapx-watch", "state.json"))
	if err != nil || !strings.Contains(string(b), "ring-1.pcap") {
		t.Errorf("state after SIGTERM (%v): %s", err, b)
	}
}

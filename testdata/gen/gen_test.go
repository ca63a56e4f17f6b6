package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestDeterministic generates the fixtures twice and checks the bytes are
// identical, then compares them with the committed files so a stale fixture
// fails the test.
func TestDeterministic(t *testing.T) {
	a, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) {
		t.Fatalf("two runs made %d and %d files", len(a), len(b))
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	if _, err := writeFiles(dirA, a); err != nil {
		t.Fatal(err)
	}
	if _, err := writeFiles(dirB, b); err != nil {
		t.Fatal(err)
	}
	for _, f := range a {
		x, err := os.ReadFile(filepath.Join(dirA, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(dirB, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs", f.Path)
		}
	}

	committed := filepath.Join("..", "captures")
	for _, f := range a {
		old, err := os.ReadFile(filepath.Join(committed, filepath.FromSlash(f.Path)))
		if err != nil {
			t.Errorf("%s: not committed (%v); run: go run ./testdata/gen", f.Path, err)
			continue
		}
		if !bytes.Equal(old, f.Data) {
			t.Errorf("testdata/captures/%s is stale; run: go run ./testdata/gen", f.Path)
		}
	}
	// Files in testdata/captures that the generator no longer makes.
	want := map[string]bool{}
	for _, f := range a {
		want[f.Path] = true
	}
	filepath.WalkDir(committed, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(committed, p)
		if !want[filepath.ToSlash(rel)] {
			t.Errorf("testdata/captures/%s is not made by the generator; remove it", filepath.ToSlash(rel))
		}
		return nil
	})
}

var (
	pdmlPacket = regexp.MustCompile(`(?s)<packet>.*?</packet>`)
	pdmlFrame  = regexp.MustCompile(`<field name="frame.number"[^>]*show="(\d+)"`)
	pdmlFlag   = regexp.MustCompile(`<field name="tcp\.analysis\.([a-z_]+)"`)
)

// tsharkFlags runs tshark on a file and returns the analysis flags of each
// frame.
func tsharkFlags(t *testing.T, path string) map[int][]string {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", path, "-T", "pdml",
		"-o", "tcp.analyze_sequence_numbers:TRUE", "-o", "tcp.relative_sequence_numbers:TRUE").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", path, err)
	}
	res := map[int][]string{}
	for _, pkt := range pdmlPacket.FindAll(out, -1) {
		m := pdmlFrame.FindSubmatch(pkt)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(string(m[1]))
		var flags []string
		for _, f := range pdmlFlag.FindAllSubmatch(pkt, -1) {
			if slices.Contains(allFlags, string(f[1])) {
				flags = append(flags, string(f[1]))
			}
		}
		if len(flags) > 0 {
			res[n] = flags
		}
	}
	return res
}

// TestTSharkAgrees checks the documented per-frame TCP analysis against
// tshark, when it is installed (Wireshark 4.0 semantics).
func TestTSharkAgrees(t *testing.T) {
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed; skipping the Wireshark conformance check")
	}
	files, err := generateFixtures()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, fx := range files {
		if !fx.Analysis {
			continue
		}
		t.Run(strings.TrimSuffix(fx.Path, ".pcap"), func(t *testing.T) {
			p := filepath.Join(dir, filepath.Base(fx.Path))
			if err := os.WriteFile(p, fx.Data, 0o644); err != nil {
				t.Fatal(err)
			}
			got := tsharkFlags(t, p)
			for _, fr := range fx.Frames {
				w, g := flagList(fx.Expect[fr.N]), flagList(got[fr.N])
				if w != g {
					t.Errorf("frame %d (%s): documented %s, tshark says %s", fr.N, fr.Summary, w, g)
				}
			}
		})
	}
}

// TestBig writes a small -big capture twice: same bytes, and every frame
// decodes.
func TestBig(t *testing.T) {
	dir := t.TempDir()
	var outs [2][]byte
	for i := range outs {
		p := filepath.Join(dir, "big"+strconv.Itoa(i)+".pcap")
		st, err := writeBig(p, BigOptions{Size: 2 << 20, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if st.Bytes < 2<<20 || st.Packets == 0 || st.TCPConns == 0 || st.DNS == 0 {
			t.Fatalf("stats %+v", st)
		}
		outs[i], err = os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("two runs with the same seed differ")
	}
	r, err := pcapgo.NewReader(bytes.NewReader(outs[0]))
	if err != nil {
		t.Fatal(err)
	}
	var last time.Time
	for n := 0; ; n++ {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
		if ci.Timestamp.Before(last) {
			t.Fatalf("record %d goes back in time", n)
		}
		last = ci.Timestamp
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.NoCopy)
		if p.ErrorLayer() != nil {
			t.Fatalf("record %d: %v", n, p.ErrorLayer().Error())
		}
	}
	for in, want := range map[string]int64{"250MB": 250e6, "1GiB": 1 << 30, "10k": 10e3, "512": 512} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// BenchmarkBig measures the -big generator (it must stay well above
// 50 MB/s).
func BenchmarkBig(b *testing.B) {
	p := filepath.Join(b.TempDir(), "big.pcap")
	const size = 20 << 20
	b.SetBytes(size)
	b.ReportAllocs()
	var pkts int64
	for b.Loop() {
		st, err := writeBig(p, BigOptions{Size: size, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		pkts += st.Packets
	}
	b.ReportMetric(float64(pkts)/b.Elapsed().Seconds(), "packets/s")
}

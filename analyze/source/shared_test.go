package source

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// deliberate lists the shared captures where pcapx reads a different
// number of packets than tshark 4.0 on purpose, with the reason.
var deliberate = map[string]struct {
	packets int
	reason  string
}{
	"OISF__suricata-verify/tests__bug-6875-01__fuzz.pcap": {1,
		"a fuzzer's file: its second record claims 1409179648 bytes. tshark reacts by guessing " +
			"the 1999 SuSE 'modified pcap' layout (24-byte record headers) for the whole file, which " +
			"misframes even the first packet (its frame 1 starts 8 bytes into the real Ethernet " +
			"header) and yields a bogus frame 2 (1 byte captured of 1 MiB) before it fails too. " +
			"pcapx keeps the one correct packet and warns at byte 228, frame 2"},
}

type oracleRow struct {
	file    string
	packets int
	rc      string
	stderr  string
}

func readOracle(t *testing.T, path string) []oracleRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var cols map[string]int
	var rows []oracleRow
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range fields {
				cols[c] = i
			}
			for _, c := range []string{"file", "packets", "tshark_rc", "tshark_stderr"} {
				if _, ok := cols[c]; !ok {
					t.Fatalf("ORACLE.tsv lacks column %q", c)
				}
			}
			continue
		}
		get := func(c string) string {
			if i := cols[c]; i < len(fields) {
				return fields[i]
			}
			return ""
		}
		n, err := strconv.Atoi(get("packets"))
		if err != nil {
			t.Fatalf("ORACLE.tsv %s: packets %q", get("file"), get("packets"))
		}
		rows = append(rows, oracleRow{get("file"), n, get("tshark_rc"), get("tshark_stderr")})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestSharedCapturesAgreeWithTshark reads every capture in shared/pcaps
// alone and compares the packet count with tshark's (ORACLE.tsv): equal
// where tshark read the file cleanly; where tshark failed (rc 2), at least
// as many packets and a warning or an error from us.
func TestSharedCapturesAgreeWithTshark(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "pcaps")
	rows := readOracle(t, filepath.Join(dir, "ORACLE.tsv"))
	if len(rows) == 0 {
		t.Fatal("ORACLE.tsv has no rows")
	}
	inOracle := map[string]bool{}
	agree := 0
	for _, row := range rows {
		inOracle[row.file] = true
		res := readAll(t, []string{filepath.Join(dir, row.file)}, Options{})
		n := len(res.pkts)
		problem := res.err != nil || len(res.warns) > 0
		what := "ok"
		switch {
		case res.err != nil:
			what = "error: " + res.err.Error()
		case len(res.warns) > 0:
			what = "warning: " + res.warns[0].String()
		}
		if d, ok := deliberate[row.file]; ok {
			t.Logf("DIFFERS ON PURPOSE %s: tshark %d (rc %s), pcapx %d (%s)\n\twhy: %s", row.file, row.packets, row.rc, n, what, d.reason)
			if n != d.packets || !problem {
				t.Errorf("%s: want %d packets and a warning or error, got %d (%s)", row.file, d.packets, n, what)
			}
			continue
		}
		switch row.rc {
		case "0":
			if res.err != nil || n != row.packets {
				t.Errorf("%s: tshark read %d packets cleanly, pcapx %d (%s)", row.file, row.packets, n, what)
				continue
			}
			if len(res.warns) > 0 {
				t.Errorf("%s: tshark read it cleanly, pcapx warns:\n%s", row.file, res.warnText())
			}
			agree++
		case "2":
			t.Logf("tshark failed on %s after %d packets (%s); pcapx %d packets (%s)", row.file, row.packets, row.stderr, n, what)
			if n < row.packets || !problem {
				t.Errorf("%s: tshark read %d packets then failed; pcapx must read at least as many and warn or fail, got %d (%s)",
					row.file, row.packets, n, what)
				continue
			}
			if n > row.packets {
				t.Logf("  pcapx reads %d more packets than tshark", n-row.packets)
			}
			agree++
		default:
			t.Errorf("%s: unexpected tshark_rc %q", row.file, row.rc)
		}
	}
	t.Logf("%d of %d files agree with tshark; %d differ on purpose (see above)", agree, len(rows), len(deliberate))

	// Everything else in the folder is either a lab capture (checked
	// against its truth file) or not a capture at all.
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if inOracle[rel] || strings.HasPrefix(rel, ".") || strings.Contains(rel, "/.") {
			return nil
		}
		switch filepath.Ext(rel) {
		case ".json", ".tsv", ".md", ".sh":
			return nil
		}
		want, ok := labPackets(t, p)
		res := readAll(t, []string{p}, Options{})
		switch {
		case !ok:
			t.Errorf("%s: not in ORACLE.tsv and no truth file", rel)
		case res.err != nil || len(res.pkts) != want || len(res.warns) > 0:
			t.Errorf("%s: tshark %d packets, pcapx %d (%v)\n%s", rel, want, len(res.pkts), res.err, res.warnText())
		default:
			t.Logf("%s: %d packets, as tshark (truth file)", rel, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// labPackets finds tshark's packet count for a lab capture in the
// *.truth.json beside it.
func labPackets(t *testing.T, capture string) (int, bool) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(capture), "*.truth.json"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		var truth struct {
			Tshark map[string]struct {
				Packets int `json:"packets"`
			} `json:"tshark"`
		}
		if err := json.Unmarshal(b, &truth); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if v, ok := truth.Tshark[filepath.Base(capture)]; ok {
			return v.Packets, true
		}
	}
	return 0, false
}

// TestSharedDirectoriesMerged opens all capture folders at once, as a ring
// directory would be: foreign and broken files are skipped with warnings,
// and every packet of every readable file comes out exactly once, in its
// file's order.
func TestSharedDirectoriesMerged(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "pcaps")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, filepath.Join(dir, e.Name()))
		}
	}
	res := readAll(t, dirs, Options{})
	if res.err != nil {
		t.Fatal(res.err)
	}
	next := make([]int64, len(res.files))
	for _, p := range res.pkts {
		if p.Frame <= next[p.File] {
			t.Fatalf("file %s: frame %d after %d", res.files[p.File].Name, p.Frame, next[p.File])
		}
		next[p.File] = p.Frame
	}
	var sum int64
	skipped := 0
	for i, f := range res.files {
		sum += f.Packets
		if f.Skipped {
			skipped++
			continue
		}
		alone := readAll(t, []string{f.Name}, Options{})
		if int64(len(alone.pkts)) != f.Packets || next[i] != f.Frames {
			t.Errorf("%s: %d packets merged, %d alone", f.Name, f.Packets, len(alone.pkts))
		}
	}
	if sum != int64(len(res.pkts)) {
		t.Fatalf("files count %d packets, stream had %d", sum, len(res.pkts))
	}
	t.Logf("%d files (%d skipped), %d packets merged, %d warnings", len(res.files), skipped, len(res.pkts), len(res.warns))
}

// TestVectorCapturesOpen: the captures beside the Community ID and JA4 test
// vectors must read without error or warning.
func TestVectorCapturesOpen(t *testing.T) {
	base := filepath.Join(sharedDir(t), "vectors")
	var paths []string
	for _, g := range []string{"community-id/*.pcap", "ja4/pcap/*"} {
		m, err := filepath.Glob(filepath.Join(base, g))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		t.Skip("no vector captures")
	}
	for _, p := range paths {
		res := readAll(t, []string{p}, Options{})
		if res.err != nil || len(res.warns) > 0 || len(res.pkts) == 0 {
			t.Errorf("%s: %v, %d packets\n%s", p, res.err, len(res.pkts), res.warnText())
		}
	}
	t.Logf("%d vector captures read", len(paths))
}

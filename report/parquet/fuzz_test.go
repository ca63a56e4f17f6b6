package parquet

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

// smallRun writes the tables of a small run into dir and returns them by
// name: a few records of every kind, with lists (empty and not), NULLs
// and row groups of two rows, so that every kind of column and level is
// read back from files of a few KB (which the fuzzer mutates fast).
func smallRun(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	w, err := New(dir, Options{MaxRows: 2, Version: "small"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	ref := flows.FlowRef{CommunityID: "1:abc=", Proto: "tcp", SrcAddr: "10.0.0.1", SrcPort: 40000, DstAddr: "10.0.0.2", DstPort: 443, Stream: 0}
	for i := range 3 {
		w.Flow(&flows.Record{CommunityID: ref.CommunityID, Proto: "tcp", SrcAddr: ref.SrcAddr, SrcPort: ref.SrcPort + uint16(i), DstAddr: ref.DstAddr, DstPort: 443,
			State: "SF", FirstNS: 1_700_000_000_000_000_000 + int64(i), LastNS: 1_700_000_001_000_000_000, Duration: 1, OrigBytes: int64(100 * i), SNI: "example.com"})
	}
	w.DNS(&flows.DNSRecord{FlowRef: ref, QueryNS: 1_700_000_000_000_000_001, QName: "a.example.", Rcode: -1, Unanswered: true})
	w.DNS(&flows.DNSRecord{FlowRef: ref, QueryNS: 1_700_000_000_000_000_002, ResponseNS: 1_700_000_000_000_000_003, ResponseTime: 1, QName: "b.example.", AnswerAddrs: []string{"192.0.2.1", "::1"}})
	w.HTTP(&flows.HTTPRecord{FlowRef: ref, RequestNS: 1_700_000_000_200_000_000, Method: "GET", Host: "example.com", Target: "/", Status: 503})
	w.TLS(&flows.TLSRecord{FlowRef: ref, ClientHelloNS: 1_700_000_000_100_000_000, SNI: "example.com", ALPN: []string{"h2", "http/1.1"}, OfferedVersions: []string{"TLS 1.3"}})
	w.ICMP(&flows.ICMPRecord{TimeNS: 1_700_000_000_300_000_000, CommunityID: "1:icmp=", Proto: "icmp", Type: 3, Code: 4, NextHopMTU: 1400, QuotedCommunityID: ref.CommunityID})
	w.ICMP(&flows.ICMPRecord{TimeNS: 1_700_000_000_400_000_000, CommunityID: "1:icmp=", Proto: "icmp", Type: 11})
	res := sampleResult()
	res.Capture = run.Capture{Files: []run.File{{Name: "a.pcap", Format: "pcap", Packets: 7, LinkTypes: []string{"ether"}}, {Name: "b.pcap", Format: "pcapng", Comments: []string{"c"}}},
		Packets: 9, Bytes: 900, FirstNS: 1_700_000_000_000_000_000, LastNS: 1_700_000_002_000_000_000, LinkTypes: []string{"ether"}, Warnings: []string{}}
	res.TopTalkers = []run.Talker{{Addr: "10.0.0.1", Bytes: 900, Flows: 3}, {Addr: "10.0.0.2", Bytes: 800, Flows: 3}}
	res.Suppressed = map[string]int64{"dns-error": 2}
	res.Timeline = run.Timeline{Start: 1_700_000_000_000_000_000, Width: 1e9, Buckets: []run.Bucket{{Packets: 5, Bytes: 500}, {}, {Packets: 4, Bytes: 400, Resets: 1}}}
	res.Findings = append(res.Findings, rules.Finding{Rule: "x", Severity: rules.Info, Count: 1, Evidence: []rules.Evidence{}})
	if err := w.Finish(res); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, name := range tableNames {
		b, err := os.ReadFile(filepath.Join(dir, name+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	return out
}

// FuzzReplay: a damaged or hostile table makes Replay (pcapx report DIR)
// return an error naming it, never panic or hang. The seeds are the
// tables of smallRun, a few KB each; the fuzzer replaces one of them
// (chosen by which) with its mutated bytes among the others, in memory
// (no files to write per input), and the whole of Replay runs on them.
// One seed is a table with two bytes of its footer changed on which the
// Parquet library panics (damagedFooter): without the recovery in
// readFrom, the fuzzer fails on it at once.
func FuzzReplay(f *testing.F) {
	tables := smallRun(f, f.TempDir())
	for i, name := range tableNames {
		b := tables[name]
		f.Add(uint8(i), b)
		f.Add(uint8(i), b[:len(b)/2])                                   // cut short
		f.Add(uint8(i), append(b[:len(b)-9:len(b)-9], b[len(b)-8:]...)) // footer shifted
	}
	f.Add(uint8(slices.Index(tableNames, "findings")), damagedFooter(f, tables, "findings"))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		target := tableNames[int(which)%len(tableNames)]
		fsys := tablesFS(tables)
		fsys[target+".parquet"] = &fstest.MapFile{Data: data}
		// Either outcome is fine; a panic or a hang is not.
		done := make(chan error, 1)
		go func() {
			_, err := replay(fsys, "out", nil)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil && !strings.HasPrefix(err.Error(), "out"+string(filepath.Separator)) {
				t.Errorf("error %q does not name the table", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Replay hangs on a damaged %s table", target)
		}
	})
}

// tablesFS is a directory of tables in memory.
func tablesFS(tables map[string][]byte) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, b := range tables {
		fsys[name+".parquet"] = &fstest.MapFile{Data: b}
	}
	return fsys
}

// damagedFooter is table name with two bytes of its footer changed such
// that reading it panics inside the Parquet library (the first such
// change from the footer's start, trying each byte flipped and the pair
// set to 0xffff): what made pcapx report crash when the panic was on a
// goroutine of pqarrow's. readFrom must turn it into an error.
func damagedFooter(t testing.TB, tables map[string][]byte, name string) []byte {
	b := tables[name]
	footer := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	for i := len(b) - 8 - footer; i < len(b)-9; i++ {
		for _, v := range [][2]byte{{b[i] ^ 1, b[i+1]}, {0xff, 0xff}} {
			d := bytes.Clone(b)
			d[i], d[i+1] = v[0], v[1]
			fsys := tablesFS(tables)
			fsys[name+".parquet"] = &fstest.MapFile{Data: d}
			if _, err := replay(fsys, "out", nil); err != nil && strings.Contains(err.Error(), "panicked") {
				return d
			}
		}
	}
	t.Fatalf("no change of two bytes in %s's footer makes the Parquet library panic", name)
	return nil
}

// TestDamagedFooter: pcapx report on a table whose footer is damaged so
// that the Parquet library panics returns an error naming the table.
func TestDamagedFooter(t *testing.T) {
	dir := t.TempDir()
	tables := smallRun(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "findings.parquet"), damagedFooter(t, tables, "findings"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Replay(dir, nil)
	if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(dir, "findings.parquet")+": damaged table") {
		t.Errorf("Replay = %v, want a damaged findings table named", err)
	}
}

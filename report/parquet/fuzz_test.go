package parquet

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pcapx/pcapx/analyze"
)

// FuzzReplay: a damaged or hostile table makes Replay (pcapx report DIR)
// return an error naming it, never panic. The seeds are the tables of a
// real run of the demo capture; the fuzzer replaces one of them (chosen by
// which) with its mutated bytes in an otherwise complete directory.
func FuzzReplay(f *testing.F) {
	src := f.TempDir()
	pw, err := New(src, Options{MaxRows: 16}) // several row groups
	if err != nil {
		f.Fatal(err)
	}
	res, err := analyze.Run(analyze.Config{Inputs: []string{filepath.Join(capturesDir(f), "demo.pcapng")}}, pw)
	if err != nil {
		f.Fatal(err)
	}
	if err := pw.Finish(res); err != nil {
		f.Fatal(err)
	}
	tables := make(map[string][]byte, len(tableNames))
	for i, name := range tableNames {
		b, err := os.ReadFile(filepath.Join(src, name+".parquet"))
		if err != nil {
			f.Fatal(err)
		}
		tables[name] = b
		f.Add(uint8(i), b)
		if len(b) > 64 {
			f.Add(uint8(i), b[:len(b)/2])                                   // cut short
			f.Add(uint8(i), append(b[:len(b)-9:len(b)-9], b[len(b)-8:]...)) // footer shifted
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		dir := t.TempDir()
		target := tableNames[int(which)%len(tableNames)]
		for name, b := range tables {
			if name == target {
				b = data
			}
			if err := os.WriteFile(filepath.Join(dir, name+".parquet"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Either outcome is fine; a panic or a hang is not.
		done := make(chan struct{})
		go func() {
			defer close(done)
			Replay(dir, nil)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Replay hangs on a damaged %s table", target)
		}
	})
}

//go:build unix

package source

import (
	"path/filepath"
	"syscall"
	"testing"
)

// A FIFO in a ring directory is not opened (reading it would block the
// run until something writes to it) and the warning says it was skipped.
func TestDirectoryFIFO(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.pcap", pcapAt(1, 10))
	if err := syscall.Mkfifo(filepath.Join(dir, "live.pcap"), 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	res := readAll(t, []string{dir}, Options{})
	if res.err != nil || len(res.pkts) != 1 || len(res.files) != 1 {
		t.Fatalf("err %v, %d packets, files %+v", res.err, len(res.pkts), res.files)
	}
	wantWarn(t, res, "live.pcap: a FIFO, not a regular file; skipped it")
}

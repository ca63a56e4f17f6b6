//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/pcapx/pcapx/internal/capgen"
)

// TestLiveInputInterrupt runs the built command as a user would:
// `tcpdump -w - | pcapx analyze --format json -o DIR -`, then Ctrl-C while
// the capture is still running. pcapx must end the input, not the run:
// print the document and write the tables for the packets it read, and
// exit 130.
func TestLiveInputInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pcapx")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "analyze", "--format", "json", "-o", out, "-")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	const n = 40
	w, err := capgen.NewPcapWriter(stdin, capgen.PcapOptions{LinkType: capgen.LinkTypeRaw})
	if err != nil {
		t.Fatal(err)
	}
	ip := capgen.IP{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.53")}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		w.WriteFrame(capgen.Frame{Time: start.Add(time.Duration(i) * time.Millisecond), Data: ip.UDP(uint16(1000+i), 53, capgen.DNSQuery(uint16(i), "x.example", capgen.DNSTypeA))})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	// Wait until pcapx has read the packets out of the pipe (it then waits
	// for more: the pipe stays open), however busy the machine: a fixed
	// sleep flaked under the full parallel test run.
	waitDrained(t, stdin.(*os.File))
	time.Sleep(200 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("pcapx did not end after Ctrl-C; stderr:\n%s", stderr.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit status %d (%v), want 130; stderr:\n%s", code, err, stderr.String())
	}
	var doc struct {
		Capture struct {
			Packets  int64    `json:"packets"`
			Warnings []string `json:"warnings"`
		} `json:"capture"`
		Flows []json.RawMessage `json:"flows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("the document did not come out whole: %v\n%s", err, stdout.String())
	}
	if doc.Capture.Packets != n || len(doc.Flows) != n || !strings.Contains(strings.Join(doc.Capture.Warnings, "\n"), "interrupted") {
		t.Errorf("%d packets, %d flows, warnings %q; want %d and a warning", doc.Capture.Packets, len(doc.Flows), doc.Capture.Warnings, n)
	}
	for _, f := range []string{"flows.parquet", "capture.parquet", "report.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("-o: %v", err)
		}
	}
	if !strings.Contains(stderr.String(), "input ended") {
		t.Errorf("stderr does not say the input ended:\n%s", stderr.String())
	}
}

// waitDrained waits until the reader of the pipe w writes to has taken
// everything written (FIONREAD on the pipe counts the bytes in it), for
// up to a minute.
func waitDrained(t *testing.T, w *os.File) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var n int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, w.Fd(), syscall.TIOCINQ, uintptr(unsafe.Pointer(&n))); e != 0 {
			t.Fatalf("FIONREAD on the pipe: %v", e)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("pcapx did not read its input within a minute")
}

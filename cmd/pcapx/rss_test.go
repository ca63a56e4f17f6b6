package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pcapx/pcapx/internal/capgen"
)

// TestHostileRSS runs the built command on the hostile captures of issue
// #13 — a SYN flood of 1M flows, 20,000 slowloris connections with bytes
// behind holes, 1M DNS queries for distinct names, 1M fragments that
// never complete — and 500,000 connections opened and closed within 5 s
// (their tombstones), with and without -o, and requires the peak RSS to stay
// within the memory budget (--memory, default 256MB) plus 16 MB. It
// generates about 760 MB of captures, one at a time, and takes a minute
// and a half: opt-in, `make rss` (PCAPX_RSS=1).
func TestHostileRSS(t *testing.T) {
	if os.Getenv("PCAPX_RSS") == "" {
		t.Skip("opt-in: PCAPX_RSS=1 (make rss)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "pcapx")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	floods := map[string]func(w capgen.FrameWriter) error{
		"syn-flood":   func(w capgen.FrameWriter) error { return capgen.WriteSYNFlood(w, capgen.Flood{N: 1_000_000}) },
		"slowloris":   func(w capgen.FrameWriter) error { return capgen.WriteSlowloris(w, capgen.Flood{N: 20_000}) },
		"dns-flood":   func(w capgen.FrameWriter) error { return capgen.WriteDNSFlood(w, capgen.Flood{N: 1_000_000}) },
		"close-flood": func(w capgen.FrameWriter) error { return capgen.WriteCloseFlood(w, capgen.Flood{N: 500_000}) },
		"fragment-flood": func(w capgen.FrameWriter) error {
			return capgen.WriteFragFlood(w, capgen.FragFlood{Fragments: 1_000_000, PerDatagram: 10000, Overlap: true})
		},
	}
	const budget, slack = 256 << 20, 16 << 20
	for name, write := range floods {
		path := filepath.Join(dir, name+".pcap")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		bw := bufio.NewWriterSize(f, 1<<20)
		pw, err := capgen.NewPcapWriter(bw, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
		if err == nil {
			err = write(pw)
		}
		if err == nil {
			err = pw.Flush()
		}
		if err == nil {
			err = bw.Flush()
		}
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"analyze", path}, {"analyze", "-o", filepath.Join(dir, name+"-out"), path}} {
			cmd := exec.Command(bin, args...)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("pcapx %v: %v\n%s", args, err, out)
			}
			rss := int64(cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss) << 10
			t.Logf("%s %v: peak RSS %d MB", name, args[1:len(args)-1], rss>>20)
			if rss > budget+slack {
				t.Errorf("%s %v: peak RSS %d MB, over the budget (%d MB) + %d MB", name, args[1:len(args)-1], rss>>20, budget>>20, slack>>20)
			}
		}
		os.Remove(path)
	}
}

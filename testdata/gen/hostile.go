package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/pcapx/pcapx/internal/capgen"
)

// hostile are the captures an attacker's traffic makes, written on request
// (-hostile KIND PATH) for trying pcapx as a hostile user would; they are
// not fixtures. The same generators feed the benchmarks and bound tests of
// the packages they attack.
var hostile = map[string]struct {
	desc  string
	write func(w capgen.FrameWriter, n int) error
}{
	"fragment-flood": {"IPv4 fragments that never complete, half of them overlapping (flows: defragmentation bounds)",
		func(w capgen.FrameWriter, n int) error {
			return capgen.WriteFragFlood(w, capgen.FragFlood{Fragments: n, PerDatagram: 10000, Overlap: true})
		}},
	"syn-flood": {"SYNs from distinct addresses, never answered: a half-open flow each (flows: the flow table's bound)",
		func(w capgen.FrameWriter, n int) error { return capgen.WriteSYNFlood(w, capgen.Flood{N: n}) }},
	"slowloris": {"connections that send request bytes behind a hole, n/10 of them (streams: the bytes held ahead of holes)",
		func(w capgen.FrameWriter, n int) error {
			return capgen.WriteSlowloris(w, capgen.Flood{N: max(1, n/10)})
		}},
	"dns-flood": {"queries for distinct names, never answered (dns: pending queries, the rules' groups)",
		func(w capgen.FrameWriter, n int) error { return capgen.WriteDNSFlood(w, capgen.Flood{N: n}) }},
}

func hostileKinds() string {
	var k []string
	for name := range hostile {
		k = append(k, name)
	}
	sort.Strings(k)
	return strings.Join(k, ", ")
}

// writeHostile writes the hostile capture kind with n packets to path
// (pcap, Ethernet).
func writeHostile(kind, path string, n int) error {
	h, ok := hostile[kind]
	if !ok {
		return fmt.Errorf("-hostile %q: want one of %s", kind, hostileKinds())
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	pw, err := capgen.NewPcapWriter(bw, capgen.PcapOptions{LinkType: capgen.LinkTypeEthernet})
	if err == nil {
		err = h.write(pw, n)
	}
	if err == nil {
		err = pw.Flush()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("-hostile %s: %w", kind, err)
	}
	fmt.Fprintf(os.Stderr, "gen: wrote %s: %s, %d packets\n", path, h.desc, n)
	return nil
}

// Command gen writes the deterministic capture fixtures of testdata/captures
// and, on request, a large synthetic capture for benchmarks.
//
//	go run ./testdata/gen                       # rewrite testdata/captures
//	go run ./testdata/gen -out DIR              # write the fixtures elsewhere
//	go run ./testdata/gen -big PATH -size 250MB # large mixed capture (not committed)
//	go run ./testdata/gen -hostile KIND PATH    # a hostile capture (not committed), see hostile.go
//
// Every fixture is built in memory from a script (see the fixture files of
// this directory) and written only when its bytes differ from the file on
// disk, so running it twice changes nothing. testdata/captures/README.md
// and expected-tcp-analysis.tsv are generated from the same scripts.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "testdata/captures", "directory to write the fixtures to")
	big := flag.String("big", "", "write a large mixed-traffic capture to this path instead of the fixtures")
	size := flag.String("size", "250MB", "target size of the -big capture (KB, MB, GB; KiB, MiB, GiB)")
	seed := flag.Uint64("seed", 1, "PRNG seed of the -big capture")
	format := flag.String("format", "pcap", "file format of the -big capture: pcap or pcapng")
	hostile := flag.String("hostile", "", "write a hostile capture of this kind to the path given as argument instead of the fixtures: "+hostileKinds())
	count := flag.Int("count", 100_000, "packets of the -hostile capture")
	flag.Parse()

	if *hostile != "" {
		if flag.NArg() != 1 {
			return fmt.Errorf("-hostile %s: want one output path", *hostile)
		}
		return writeHostile(*hostile, flag.Arg(0), *count)
	}

	if *big != "" {
		n, err := parseSize(*size)
		if err != nil {
			return err
		}
		start := time.Now()
		st, err := writeBig(*big, BigOptions{Size: n, Seed: *seed, PcapNG: *format == "pcapng"})
		if err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Fprintf(os.Stderr, "gen: wrote %s: %d bytes, %d packets (avg %.0f bytes/packet), %d TCP connections, %d DNS transactions in %v (%.0f MB/s)\n",
			*big, st.Bytes, st.Packets, float64(st.FrameBytes)/float64(max(st.Packets, 1)), st.TCPConns, st.DNS, el.Round(time.Millisecond),
			float64(st.Bytes)/1e6/el.Seconds())
		return nil
	}
	files, err := generate()
	if err != nil {
		return err
	}
	changed, err := writeFiles(*out, files)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %d files in %s, %d changed\n", len(files), *out, changed)
	return nil
}

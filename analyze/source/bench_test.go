package source

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// genPackets makes n small, varied packets (60-250 bytes, like a mix of
// ACKs, DNS and small requests) with increasing timestamps. start offsets
// the timestamps so several generated files interleave.
func genPackets(n int, start int64) []rec {
	rng := rand.New(rand.NewPCG(uint64(n), uint64(start)))
	recs := make([]rec, n)
	data := pkt(0, 256)
	ts := t0 + start
	for i := range recs {
		ts += 1000 + rng.Int64N(50_000)
		size := 60 + rng.IntN(190)
		recs[i] = rec{ts: ts, data: data[:size], caplen: -1}
	}
	return recs
}

func genPcap(n int, start int64) []byte {
	return pcapFile(pcapHdr{nsec: true}, genPackets(n, start)...)
}

func genPcapng(n int, start int64) []byte {
	w := &ngW{}
	w.shb(false).idb(1, 0, opt{ifTSResol, []byte{9}})
	for _, r := range genPackets(n, start) {
		w.epb(0, uint64(r.ts), r.data, 0)
	}
	return w.b
}

// stdinOpener reopens the same in-memory capture(s) as stdin or as files.
type opener func() Reader

func memOpener(tb testing.TB, data []byte) opener {
	return func() Reader {
		rd, err := Open([]string{"-"}, Options{Stdin: bytes.NewReader(data)})
		if err != nil {
			tb.Fatal(err)
		}
		return rd
	}
}

func fileOpener(tb testing.TB, files ...[]byte) opener {
	dir := tb.TempDir()
	var paths []string
	for i, b := range files {
		paths = append(paths, writeFile(tb, dir, fmt.Sprintf("f%d", i), b))
	}
	return func() Reader {
		rd, err := Open(paths, Options{})
		if err != nil {
			tb.Fatal(err)
		}
		return rd
	}
}

const benchPackets = 100_000

// BenchmarkRead measures the per-packet cost of Next: one op is one
// packet, so allocs/op must be 0 (the few allocations of Open, repeated
// every 100k packets, round down to 0) and MB/s is packet bytes read.
func BenchmarkRead(b *testing.B) {
	pcap := genPcap(benchPackets, 0)
	ng := genPcapng(benchPackets, 0)
	for _, bc := range []struct {
		name  string
		open  func(testing.TB) opener
		bytes int
	}{
		{"pcap-mem", func(tb testing.TB) opener { return memOpener(tb, pcap) }, len(pcap)},
		{"pcap-file", func(tb testing.TB) opener { return fileOpener(tb, pcap) }, len(pcap)},
		{"pcapng-mem", func(tb testing.TB) opener { return memOpener(tb, ng) }, len(ng)},
		{"pcap-gzip", func(tb testing.TB) opener { return memOpener(tb, gz(tb, pcap)) }, len(pcap)},
		{"pcap-zstd", func(tb testing.TB) opener { return memOpener(tb, zst(tb, pcap)) }, len(pcap)},
		{"merge-4-files", func(tb testing.TB) opener {
			return fileOpener(tb, genPcap(benchPackets/4, 0), genPcap(benchPackets/4, 7), genPcapng(benchPackets/4, 13), genPcap(benchPackets/4, 29))
		}, len(pcap)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			open := bc.open(b)
			b.SetBytes(int64(bc.bytes / benchPackets))
			b.ReportAllocs()
			rd := open()
			sum := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := rd.Next()
				if err == io.EOF {
					b.StopTimer()
					rd.Close()
					rd = open()
					b.StartTimer()
					p, err = rd.Next()
				}
				if err != nil {
					b.Fatal(err)
				}
				sum += len(p.Data)
			}
			b.StopTimer()
			rd.Close()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
			if sum == 0 {
				b.Fatal("no data")
			}
		})
	}
}

// BenchmarkOpenRead is one whole 100k-packet capture per op: the fixed
// cost of Open (buffers, probe) next to the reading.
func BenchmarkOpenRead(b *testing.B) {
	data := genPcap(benchPackets, 0)
	open := memOpener(b, data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd := open()
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
		rd.Close()
	}
	b.ReportMetric(float64(b.N)*benchPackets/b.Elapsed().Seconds(), "pkts/s")
}

// TestNoAllocsPerPacket holds the zero-allocation promise as a test, not
// only as a benchmark number.
func TestNoAllocsPerPacket(t *testing.T) {
	const n = 20_000
	for _, tc := range []struct {
		name string
		open opener
	}{
		{"pcap stdin", memOpener(t, genPcap(n, 0))},
		{"pcap file", fileOpener(t, genPcap(n, 0))},
		{"pcapng", memOpener(t, genPcapng(n, 0))},
		{"gzip", memOpener(t, gz(t, genPcap(n, 0)))},
		{"merge", fileOpener(t, genPcap(n/2, 0), genPcapng(n/2, 3), genPcap(n/2, 11))},
	} {
		rd := tc.open()
		// Warm up: the first calls bring the files in (activation
		// allocates their buffers once).
		for range 10 {
			if _, err := rd.Next(); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(n/2, func() {
			if _, err := rd.Next(); err != nil {
				t.Fatal(err)
			}
		})
		rd.Close()
		if allocs != 0 {
			t.Errorf("%s: %v allocations per packet, want 0", tc.name, allocs)
		}
	}
}

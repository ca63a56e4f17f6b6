// Command readloop reads every packet of the captures and does nothing else:
// the raw read loop of analyze/source (open, decompress, merge files in time
// order, hand out each record without a copy), with no decoding, no flow
// table and no output. It is the floor `make bench-compare` measures pcapx
// analyze against.
//
//	go run ./internal/tools/readloop FILE|DIR|- ...
//
// It prints the packets and bytes read, and the capture's warnings on stderr.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/pcapx/pcapx/analyze/source"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: readloop FILE|DIR|- ...")
		os.Exit(1)
	}
	rd, err := source.Open(os.Args[1:], source.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "readloop:", err)
		os.Exit(1)
	}
	defer rd.Close()
	var packets, bytes int64
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "readloop:", err)
			os.Exit(1)
		}
		packets++
		bytes += int64(len(p.Data))
	}
	for _, w := range rd.Warnings() {
		fmt.Fprintln(os.Stderr, "readloop: warning:", w)
	}
	fmt.Printf("%d packets, %d captured bytes\n", packets, bytes)
}

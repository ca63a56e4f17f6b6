// Command pcapx turns packet captures into answers: it reads pcap/pcapng in
// one streaming pass, tracks every flow, analyses TCP the way Wireshark does,
// and prints a summary a person reads in ten seconds (or JSON for scripts).
package main

import (
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

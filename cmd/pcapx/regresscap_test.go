package main

import (
	"flag"
	"os"
	"path/filepath"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/pcapx/pcapx/internal/regresscap"
)

// regresscapCmd is the testscript command regresscap.
func regresscapCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! regresscap")
	}
	fs := flag.NewFlagSet("regresscap", flag.ContinueOnError)
	port := fs.Uint("port", 40000, "first client port")
	start := fs.String("start", "", "time of the first packet (RFC 3339)")
	changed := fs.Bool("changed", false, "the traffic after the change")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		ts.Fatalf("usage: regresscap [-port N] [-start RFC3339] [-changed] FILE")
	}
	o := regresscap.Options{ClientPort: uint16(*port), Changed: *changed}
	if *start != "" {
		t, err := time.Parse(time.RFC3339Nano, *start)
		ts.Check(err)
		o.Start = t
	}
	path := ts.MkAbs(fs.Arg(0))
	ts.Check(os.MkdirAll(filepath.Dir(path), 0o755))
	ts.Check(regresscap.Write(path, o))
}

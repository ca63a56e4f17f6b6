package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"pcapx": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script. $CAPTURES
// is the repository's fixture directory (testdata/captures).
func TestScripts(t *testing.T) {
	caps, err := filepath.Abs("../../testdata/captures")
	if err != nil {
		t.Fatal(err)
	}
	xsd, err := filepath.Abs("../../regress/testdata/junit.xsd")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("CAPTURES", caps)
			env.Setenv("JUNIT_XSD", xsd)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// regresscap FILE [-port N] [-start RFC3339] [-changed]: write
			// internal/regresscap's capture (the same traffic with other
			// client ports and times, or after a change).
			"regresscap": regresscapCmd,
			// exitcode N CMD ARGS...: run CMD and require exit status N
			// (testscript's exec only knows zero and non-zero).
			"exitcode": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: exitcode N command args...")
				}
				want, err := strconv.Atoi(args[0])
				ts.Check(err)
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				if err != nil {
					if ee, ok := err.(interface{ ExitCode() int }); ok {
						got = ee.ExitCode()
					} else {
						ts.Fatalf("%v", err)
					}
				}
				if got != want {
					ts.Fatalf("exit status %d, want %d", got, want)
				}
			},
		},
	})
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/analyze/source"
	"github.com/pcapx/pcapx/regress"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/rules"
)

type checkFlags struct {
	failOn        string
	junit         string
	summaryMD     string
	baseline      string
	writeBaseline string
	rules         string
	mem           memoryFlags
	verbose       bool
	window        windowFlags
}

func newCheck(stdout, stderr io.Writer) *cobra.Command {
	var fl checkFlags
	cmd := &cobra.Command{
		Use:   "check [flags] FILE|DIR ...",
		Short: "Check captures one by one for CI: a verdict per capture, JUnit, baselines",
		Long: `Analyse each capture on its own (unlike analyze, which merges its inputs into
one) and fail when a capture has a new finding at or above --fail-on. A
directory argument is a set of captures, each its own (files that are not
captures are skipped with a warning). To check a tcpdump ring directory as one
capture, use "pcapx analyze --fail-on SEVERITY DIR" instead.

Without --baseline every finding is new. --write-baseline FILE records the
findings of this run as accepted (a small, sorted JSON file meant to be
committed); --baseline FILE then fails only on findings not in it, and reports
the ones in it that are no longer found as resolved. Findings are matched by
their fingerprint: the capture's path (relative to the working directory), the
rule, and what survives a capture taken again (server address and port, SNI,
HTTP host, DNS server and rcode, status class), never a client's port, a time
or a frame number. A finding more severe than when it was accepted is new.

Output on a terminal lists every finding; otherwise (a CI log) one line per
capture and per new or resolved finding (-v for all of it). --junit writes a
JUnit XML report (a testsuite per capture, a testcase per rule) and
--summary-md a short Markdown table for a CI job summary.

Exit status: 0 no new finding at or above --fail-on (or --write-baseline);
3 a capture has one; 1 could not do the job (bad flag, unreadable capture,
baseline or report file).`,
		Example: `  pcapx check fixtures/                          # every capture in fixtures/
  pcapx check --write-baseline pcapx-baseline.json fixtures/
  pcapx check --baseline pcapx-baseline.json --junit junit.xml --summary-md summary.md fixtures/
  pcapx check --fail-on warning a.pcap b.pcapng`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd, fl, args, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.failOn, "fail-on", "error", "exit 3 when a capture has a new finding of `SEVERITY` or worse: info, warning, error, critical")
	f.StringVar(&fl.junit, "junit", "", "write a JUnit XML report to `FILE`")
	f.StringVar(&fl.summaryMD, "summary-md", "", "write a short Markdown summary to `FILE` (e.g. $GITHUB_STEP_SUMMARY)")
	f.StringVar(&fl.baseline, "baseline", "", "accept the findings recorded in `FILE`: fail only on new ones, report the resolved ones")
	f.StringVar(&fl.writeBaseline, "write-baseline", "", "record this run's findings as accepted in `FILE` (replacing it) and exit 0")
	f.StringVar(&fl.rules, "rules", "", "YAML rules `FILE` (as for analyze)")
	f.BoolVarP(&fl.verbose, "verbose", "v", false, "list every finding with its key and filter, also when stdout is not a terminal")
	fl.window.register(cmd)
	fl.mem.register(cmd, ", per capture")
	return cmd
}

// checkInput is a capture to check; fromDir when it was found in a
// directory argument (where a file that is no capture is skipped).
type checkInput struct {
	path    string
	fromDir bool
}

// checkInputs expands the arguments: a directory is each file in it
// (hidden ones aside), by name.
func checkInputs(args []string) ([]checkInput, error) {
	var out []checkInput
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, checkInput{path: a})
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, e := range ents {
			if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			out = append(out, checkInput{path: filepath.Join(a, e.Name()), fromDir: true})
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%s: no files in the directory", a)
		}
	}
	return out, nil
}

// enabledRules are the ids of the rules a run with cfg runs, in registry
// order, the custom ones last: a JUnit testcase each.
func enabledRules(cfg *rules.Config) []string {
	var ids []string
	for _, r := range append(rules.All(), cfg.CustomRules()...) {
		if cfg != nil {
			if rc, ok := cfg.Rules[r.ID]; ok && rc.Enabled != nil && !*rc.Enabled {
				continue
			}
		}
		ids = append(ids, r.ID)
	}
	return ids
}

func runCheck(cmd *cobra.Command, fl checkFlags, args []string, stdout, stderr io.Writer) error {
	failOn, err := rules.ParseSeverity(fl.failOn)
	if err != nil {
		return &codeError{exitError, fmt.Errorf("--fail-on: %w", err)}
	}
	var rcfg *rules.Config
	if fl.rules != "" {
		if rcfg, err = rules.LoadConfig(fl.rules); err != nil {
			return &codeError{exitError, err}
		}
	}
	var base *regress.Baseline
	if fl.baseline != "" {
		if base, err = regress.ReadBaseline(fl.baseline); err != nil {
			return &codeError{exitError, err}
		}
	}
	cfg := analyze.Config{Rules: rcfg}
	if err := fl.window.apply(&cfg); err != nil {
		return &codeError{exitError, err}
	}
	if _, err := fl.mem.apply(cmd, &cfg); err != nil {
		return &codeError{exitError, err}
	}
	inputs, err := checkInputs(args)
	if err != nil {
		return &codeError{exitError, err}
	}
	check := &regress.Check{FailOn: failOn, HasBaseline: base != nil}
	ids := enabledRules(rcfg)
	var failed []string // captures that could not be analysed
	for _, in := range inputs {
		cfg.Inputs = []string{in.path}
		start := time.Now()
		res, err := analyze.Run(cfg, nil)
		if err != nil {
			if in.fromDir && (errors.Is(err, source.ErrNotCapture) || errors.Is(err, source.ErrEmpty) || errors.Is(err, source.ErrUnsupported)) {
				fmt.Fprintf(stderr, "pcapx: warning: %s: skipped\n", report.TermSafe(err.Error()))
				continue
			}
			// The other captures are still checked, and this one is an
			// error in the reports: a CI server shows it.
			fmt.Fprintf(stderr, "pcapx: %s\n", report.TermSafe(err.Error()))
			failed = append(failed, in.path)
			check.Captures = append(check.Captures, regress.Capture{Path: regress.CapturePath(in.path), Err: err.Error(), Duration: time.Since(start)})
			continue
		}
		for _, w := range res.RuleWarnings {
			fmt.Fprintf(stderr, "pcapx: warning: %s: rules: %s\n", report.TermSafe(in.path), report.TermSafe(w))
		}
		c := regress.Judge(regress.CapturePath(in.path), ids, res.Findings, base)
		c.Packets, c.Duration, c.Warnings = res.Capture.Packets, time.Since(start), res.Capture.Warnings
		check.Captures = append(check.Captures, c)
	}
	if len(check.Captures) == 0 {
		return &codeError{exitError, errors.New("no captures to check")}
	}
	if err := check.Text(stdout, !fl.verbose && !isTerminal(stdout)); err != nil {
		return &codeError{exitError, err}
	}
	if fl.junit != "" {
		var b strings.Builder
		if err := check.JUnit(&b, versionString()); err != nil {
			return &codeError{exitError, err}
		}
		if err := regress.WriteFile(fl.junit, []byte(b.String())); err != nil {
			return &codeError{exitError, err}
		}
	}
	if fl.summaryMD != "" {
		var b strings.Builder
		if err := check.Markdown(&b); err != nil {
			return &codeError{exitError, err}
		}
		// Written whole: GitHub gives each step its own
		// $GITHUB_STEP_SUMMARY file.
		if err := regress.WriteFile(fl.summaryMD, []byte(b.String())); err != nil {
			return &codeError{exitError, err}
		}
	}
	if len(failed) > 0 {
		return &codeError{exitError, fmt.Errorf("could not check %d capture(s): %s", len(failed), report.TermSafe(strings.Join(failed, ", ")))}
	}
	if fl.writeBaseline != "" {
		b := check.Baseline()
		if err := regress.WriteBaseline(fl.writeBaseline, b); err != nil {
			return &codeError{exitError, err}
		}
		fmt.Fprintf(stderr, "pcapx: wrote %s: %d accepted finding(s)\n", fl.writeBaseline, len(b.Entries))
		return nil
	}
	if check.Failed() {
		return &codeError{exitFindings, nil}
	}
	return nil
}

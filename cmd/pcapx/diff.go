package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/regress"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/report/parquet"
	"github.com/pcapx/pcapx/rules"
)

type diffFlags struct {
	format    string
	failOnNew string
	rules     string
	mem       memoryFlags
	window    windowFlags
}

func newDiff(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var fl diffFlags
	cmd := &cobra.Command{
		Use:   "diff [flags] OLD NEW",
		Short: "Compare two runs: new, resolved and unchanged findings, and metric deltas",
		Long: `Compare two runs of the same traffic, before and after a change. Each side is
a capture, a directory or glob of captures analysed as one (as analyze reads
them: a tcpdump ring directory is one capture), or an output directory of
"pcapx analyze -o DIR" (or one of its --partition directories), whose Parquet
tables are read back without the capture.

Findings are matched by rule and key (server address and port, SNI, HTTP
host, DNS server and rcode, status class; never a client's port or a time):
new ones are only in NEW, resolved ones only in OLD, unchanged ones in both.
The metrics compared: TCP retransmission rate, zero-window time, TCP
handshake round trip (median and 95th percentile), DNS failure rate (error
rcode or no answer), HTTP 5xx rate and TLS handshakes rejected.

Exit status: 0 done; 3 with --fail-on-new when a new finding (or one that
became more severe) is at or above that severity; 1 could not do the job.`,
		Example: `  pcapx diff before.pcap after.pcap
  pcapx diff --format json out-monday/ out-tuesday/ | jq '.metrics'
  pcapx diff --fail-on-new error baseline.pcapng candidate.pcapng
  pcapx diff 'ring-old/*.pcap' /var/capture/`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, fl, args, stdin, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.format, "format", "text", "output `FORMAT`: text or json")
	f.StringVar(&fl.failOnNew, "fail-on-new", "", "exit 3 when a new finding (or one grown this severe) is `SEVERITY` or worse: info, warning, error, critical")
	f.StringVar(&fl.rules, "rules", "", "YAML rules `FILE` for the sides that are captures (as for analyze)")
	fl.window.register(cmd)
	fl.mem.register(cmd, ", per side")
	cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runDiff(cmd *cobra.Command, fl diffFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if fl.format != "text" && fl.format != "json" {
		return &codeError{exitError, fmt.Errorf("--format %q: want text or json", fl.format)}
	}
	var failOn *rules.Severity
	if fl.failOnNew != "" {
		sev, err := rules.ParseSeverity(fl.failOnNew)
		if err != nil {
			return &codeError{exitError, fmt.Errorf("--fail-on-new: %w", err)}
		}
		failOn = &sev
	}
	cfg := analyze.Config{Stdin: stdin}
	if _, err := fl.mem.apply(cmd, &cfg); err != nil {
		return &codeError{exitError, err}
	}
	if fl.rules != "" {
		var err error
		if cfg.Rules, err = rules.LoadConfig(fl.rules); err != nil {
			return &codeError{exitError, err}
		}
	}
	if err := fl.window.apply(&cfg); err != nil {
		return &codeError{exitError, err}
	}
	var sides [2]*regress.Side
	for i, arg := range args {
		s, err := loadSide(arg, cfg, fl.window.set(), stderr)
		if err != nil {
			return &codeError{exitError, err}
		}
		sides[i] = s
	}
	d := regress.Compare(sides[0], sides[1])
	var err error
	if fl.format == "json" {
		err = d.JSON(stdout)
	} else {
		err = d.Text(stdout)
	}
	if err != nil {
		return &codeError{exitError, err}
	}
	if failOn != nil {
		if n := len(d.Failing(*failOn)); n > 0 {
			return &codeError{exitFindings, fmt.Errorf("%d new finding(s) at or above %s (--fail-on-new)", n, *failOn)}
		}
	}
	return nil
}

// isTables says whether dir holds the tables of pcapx analyze -o.
func isTables(path string) bool {
	st, err := os.Stat(filepath.Join(path, "capture.parquet"))
	return err == nil && st.Mode().IsRegular()
}

// loadSide analyses a side, or reads it back from its tables.
func loadSide(arg string, cfg analyze.Config, window bool, stderr io.Writer) (*regress.Side, error) {
	col := regress.NewCollector()
	side := &regress.Side{Name: arg}
	if isTables(arg) {
		if window {
			return nil, fmt.Errorf("%s: --since/--until select packets from captures; this is a directory of tables", arg)
		}
		res, err := parquet.Replay(arg, col)
		if err != nil {
			return nil, err
		}
		side.Findings = res.Findings
	} else {
		cfg.Inputs = []string{arg}
		res, err := analyze.Run(cfg, col)
		if err != nil {
			return nil, err
		}
		for _, w := range res.Capture.Warnings {
			fmt.Fprintf(stderr, "pcapx: warning: %s\n", report.TermSafe(w))
		}
		side.Findings = res.Findings
	}
	side.Metrics = col.Metrics()
	return side, nil
}

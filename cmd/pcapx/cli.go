package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/report/html"
	"github.com/pcapx/pcapx/report/parquet"
	"github.com/pcapx/pcapx/rules"
	runmodel "github.com/pcapx/pcapx/run"
)

// Exit codes, as docs/cli.md#exit-status documents them. They are a
// contract with CI jobs.
const (
	exitOK       = 0 // done, whatever was found
	exitError    = 1 // could not do the job: bad flag, unreadable or non-capture input
	exitDamaged  = 2 // --strict only: the capture was damaged (warnings); everything readable was analysed
	exitFindings = 3 // reserved for --fail-on: findings at or above the threshold
)

// exitError carries an exit code through cobra.
type codeError struct {
	code int
	err  error
}

func (e *codeError) Error() string { return e.err.Error() }
func (e *codeError) Unwrap() error { return e.err }

// version is set at build time with -ldflags "-X main.version=..."; otherwise
// the module's build info is used.
var version = ""

func versionString() string {
	v := version
	if v == "" {
		v = "devel"
		if bi, ok := debug.ReadBuildInfo(); ok {
			if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					v += "+" + s.Value[:12]
				}
			}
		}
	}
	return v
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ce *codeError
	if errors.As(err, &ce) {
		if ce.err != nil {
			fmt.Fprintf(stderr, "pcapx: %v\n", ce.err)
		}
		return ce.code
	}
	fmt.Fprintf(stderr, "pcapx: %v\n", err)
	return exitError
}

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "pcapx",
		Short: "Turn packet captures into answers",
		Long: `pcapx reads pcap and pcapng captures (also gzip/zstd-compressed, several files
or a tcpdump ring directory as one capture) in one streaming pass, tracks every
flow and analyses TCP the way Wireshark does.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyze(stdin, stdout, stderr), newReport(stdout), newRules(stdout), newVersion(stdout),
		newCheck(stdout, stderr), newDiff(stdin, stdout, stderr), newWatch(stdout, stderr))
	return root
}

func newVersion(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the pcapx version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(stdout, "pcapx %s\n", versionString())
			return nil
		},
	}
}

type analyzeFlags struct {
	format   string
	records  bool // --records: ndjson streams every record
	failOn   string
	rules    string
	mem      memoryFlags
	workers  int
	strict   bool
	progress string
	top      int
	byVLAN   bool
	outDir   string // -o: directory for the Parquet tables
	outPart  string // --partition: Hive partition path under -o
	window   windowFlags
}

func newAnalyze(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	var fl analyzeFlags
	cmd := &cobra.Command{
		Use:   "analyze [flags] FILE|DIR|- ...",
		Short: "Analyse captures and print a summary",
		Long: `Analyse one or more captures as one: files are merged in timestamp order
(a tcpdump -G/-W ring buffer directory is read as one capture, with flows
continuing across files). "-" reads a capture from standard input.

A damaged or truncated capture is analysed as far as it can be read; the
problem is reported as a warning naming the file, byte offset and frame.

Findings (what the rules diagnosed) are listed most severe first, each with
the frames that show it and a Wireshark display filter.

Exit status: 0 done (findings or not); 3 with --fail-on when a finding is at
or above that severity; 1 could not do the job (bad flag, unreadable file, not
a capture); 2 with --strict when a capture was damaged.`,
		Example: `  pcapx analyze capture.pcap
  pcapx analyze --format json capture.pcapng.gz | jq '.tcp'
  pcapx analyze --format ndjson --records big.pcap | jq -c 'select(.event_type=="dns")'
  tcpdump -i eth0 -w - | pcapx analyze -
  pcapx analyze /var/capture/          # a ring buffer directory
  pcapx analyze --fail-on error fixtures/*.pcapng   # CI: exit 3 on errors
  pcapx analyze --rules rules.yaml capture.pcap     # tuned thresholds
  pcapx analyze -o out --partition date=2026-11-21,host=web1 capture.pcap   # Parquet tables
  pcapx analyze --since 2026-11-21 --until 2026-11-22 /var/capture/   # one day of a ring`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd, fl, args, stdin, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.format, "format", "text", "output format: text (summary), json (one document), ndjson (one finding per line, for log pipelines)")
	f.BoolVar(&fl.records, "records", false, "with --format ndjson: also every record (flow, dns, http, tls, icmp), a line each as the run completes it, then the findings and a summary line; streamed, nothing held")
	f.StringVar(&fl.failOn, "fail-on", "", "exit 3 when a finding has this severity or worse: info, warning, error, critical")
	f.StringVar(&fl.rules, "rules", "", "YAML file tuning the rules (enable, severity, thresholds) and adding custom CEL rules; see pcapx rules and docs/rules.md")
	f.BoolVar(&fl.strict, "strict", false, "exit 2 when a capture is damaged (truncated, bad records)")
	f.StringVar(&fl.progress, "progress", "auto", "progress bar on stderr: auto (terminal and large input), always, never")
	f.IntVar(&fl.top, "top", 10, "how many top talkers the summary lists")
	f.IntVar(&fl.workers, "workers", 0, "flow workers sharing the analysis (0: one per core); the output is the same for any number")
	f.BoolVar(&fl.byVLAN, "flow-key-vlan", false, "make the VLAN id part of the flow key (off by default: the two directions of one connection often carry different tags)")
	f.StringVarP(&fl.outDir, "out", "o", "", "write the Parquet tables (flows, findings, dns, http, tls, icmp, capture, timeline) and report.html into `DIR`; see docs/schema.md")
	f.StringVar(&fl.outPart, "partition", "", "with -o: write under a Hive partition, e.g. date=2026-11-21,host=web1 (DIR/date=.../host=.../)")
	fl.window.register(cmd)
	fl.mem.register(cmd, "")
	cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"text", "json", "ndjson"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runAnalyze(cmd *cobra.Command, fl analyzeFlags, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if fl.format != "text" && fl.format != "json" && fl.format != "ndjson" {
		return &codeError{exitError, fmt.Errorf("--format %q: want text, json or ndjson", fl.format)}
	}
	if fl.records && fl.format != "ndjson" {
		return &codeError{exitError, fmt.Errorf("--records needs --format ndjson")}
	}
	switch fl.progress {
	case "auto", "always", "never":
	default:
		return &codeError{exitError, fmt.Errorf("--progress %q: want auto, always or never", fl.progress)}
	}
	if fl.workers < 0 {
		return &codeError{exitError, fmt.Errorf("--workers %d: want 0 (one per core) or more", fl.workers)}
	}
	if fl.top < 1 {
		return &codeError{exitError, fmt.Errorf("--top %d: want at least 1 (top talkers listed)", fl.top)}
	}
	var failOn *rules.Severity
	if fl.failOn != "" {
		sev, err := rules.ParseSeverity(fl.failOn)
		if err != nil {
			return &codeError{exitError, fmt.Errorf("--fail-on: %w", err)}
		}
		failOn = &sev
	}
	var rcfg *rules.Config
	if fl.rules != "" {
		var err error
		if rcfg, err = rules.LoadConfig(fl.rules); err != nil {
			return &codeError{exitError, err}
		}
	}
	cfg := analyze.Config{
		Rules:      rcfg,
		Inputs:     args,
		Stdin:      stdin,
		Flows:      flows.Config{KeyByVLAN: fl.byVLAN},
		Workers:    fl.workers,
		TopTalkers: fl.top,
	}
	if err := fl.window.apply(&cfg); err != nil {
		return &codeError{exitError, err}
	}
	// --max-flows zero or less would not mean "no limit" to the flow
	// table (it takes the budget's share), so it is refused.
	budget, err := fl.mem.apply(cmd, &cfg)
	if err != nil {
		return &codeError{exitError, err}
	}
	bar := newProgress(fl.progress, stderr)
	if bar != nil {
		cfg.Progress = bar.update
	}
	var sink runmodel.Sink
	var js *report.JSON
	if fl.format == "json" {
		var err error
		if js, err = report.NewJSON(stdout); err != nil {
			return &codeError{exitError, err}
		}
		sink = js
	}
	var recs *report.Records
	if fl.records {
		recs = report.NewRecords(stdout)
		sink = recs
	}
	// Live input: the first Ctrl-C ends the input, not the run.
	var live *liveInput
	if slices.Contains(args, "-") {
		stop := make(chan struct{})
		cfg.Stop = stop
		live = watchLiveInput(stop, stderr)
		defer live.release()
	}
	var pw *parquet.Writer
	stopSignals := func() {}
	if fl.outDir != "" {
		var err error
		if pw, err = parquet.New(fl.outDir, parquet.Options{Partition: fl.outPart, Version: versionString(), MaxRows: budget.ParquetRows()}); err != nil {
			return &codeError{exitError, err}
		}
		defer pw.Abort() // removes the temporary files unless Finish completed them
		// Killed by SIGINT or SIGTERM, a run removes them too (a deferred
		// call would not run); what SIGKILL leaves, the next run removes.
		interrupted := func(sig os.Signal) {
			if pw.Interrupt() {
				fmt.Fprintf(stderr, "pcapx: %v: stopped; the unfinished tables in %s were removed\n", sig, pw.Dir())
			} else {
				fmt.Fprintf(stderr, "pcapx: %v: stopped; the tables in %s were already complete\n", sig, pw.Dir())
			}
		}
		if live != nil {
			live.onAbort(func() { interrupted(live.signal()) })
		} else {
			stopSignals = exitOnSignal(interrupted)
			defer stopSignals()
		}
		sink = runmodel.Tee(sink, pw)
	} else if fl.outPart != "" {
		return &codeError{exitError, errors.New("--partition needs -o DIR")}
	}
	res, err := analyze.Run(cfg, sink)
	if bar != nil {
		bar.finish()
	}
	if err != nil {
		if recs != nil {
			// The records already streamed stay readable: the output
			// ends with the last whole line (no summary line says the
			// run completed).
			recs.Flush()
		}
		return &codeError{exitError, err}
	}
	if pw != nil {
		// The page is one of the run's set of files: the Writer writes it
		// under a temporary name and renames it with the tables, so a run
		// that fails (a full disk while writing the page) leaves the
		// previous run's tables and page as they were. It is rendered
		// while the tables are completed (both only read res).
		page := make(chan rendered, 1)
		go func() {
			b, err := renderReport(html.FromResult(res, html.Options{}))
			page <- rendered{b, err}
		}()
		if err := pw.AddFile(reportHTML, func(w io.Writer) error {
			r := <-page
			if r.err != nil {
				return r.err
			}
			return writePageTo(w, r.page)
		}); err != nil {
			return &codeError{exitError, err}
		}
		if err := pw.Finish(res); err != nil {
			return &codeError{exitError, err}
		}
		// The tables and the page are complete: from here a signal
		// simply ends the process (the usual way), nothing to clean up.
		stopSignals()
	}
	// Warnings go to stderr whatever the format, so they are seen even
	// when stdout is piped into jq.
	for _, w := range res.Capture.Warnings {
		fmt.Fprintf(stderr, "pcapx: warning: %s\n", report.TermSafe(w))
	}
	// The rules' own problems (a custom rule failing on some records) are
	// warnings too, but not capture damage: --strict ignores them.
	for _, w := range res.RuleWarnings {
		fmt.Fprintf(stderr, "pcapx: warning: rules: %s\n", report.TermSafe(w))
	}
	switch fl.format {
	case "json":
		if err := js.Finish(res); err != nil {
			return &codeError{exitError, err}
		}
	case "ndjson":
		finish := func() error { return report.NDJSON(stdout, res.Findings) }
		if recs != nil {
			finish = func() error { return recs.Finish(res) }
		}
		if err := finish(); err != nil {
			return &codeError{exitError, err}
		}
	default:
		if err := report.Text(stdout, res); err != nil {
			return &codeError{exitError, err}
		}
	}
	if live != nil {
		if sig := live.signal(); sig != nil {
			// The report is out; the exit status still says the input was
			// interrupted, as a shell expects of Ctrl-C.
			return &codeError{signalCode(sig), nil}
		}
	}
	if failOn != nil {
		for _, f := range res.Findings {
			if f.Severity >= *failOn {
				return &codeError{exitFindings, fmt.Errorf("findings at or above %s (--fail-on)", *failOn)}
			}
		}
	}
	if fl.strict && len(res.Capture.Warnings) > 0 {
		return &codeError{exitDamaged, nil}
	}
	return nil
}

func newRules(stdout io.Writer) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "rules [--rules FILE] [ID]",
		Short: "List the rules, or explain one",
		Long: `Without an argument, list every rule pcapx runs with its default severity.
With a rule id, explain it: what a finding means, likely causes, what to check
next, and its thresholds (tune them with analyze --rules FILE).

With --rules FILE, the file's custom rules (CEL expressions over the records)
are listed too, marked custom, and the severities and enabled state are the
file's; "pcapx rules --rules FILE ID" shows a custom rule's expression.`,
		Example: "  pcapx rules\n  pcapx rules tcp-zero-window\n  pcapx rules --rules rules.yaml\n  pcapx rules --rules rules.yaml api-rate-limited",
		Args:    cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			var ids []string
			for _, r := range rules.All() {
				ids = append(ids, r.ID)
			}
			return ids, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var cfg *rules.Config
			if file != "" {
				var err error
				if cfg, err = rules.LoadConfig(file); err != nil {
					return &codeError{exitError, err}
				}
			}
			if len(args) == 1 {
				r := cfg.Lookup(args[0])
				if r == nil {
					return &codeError{exitError, fmt.Errorf("no rule %q (pcapx rules lists them)", args[0])}
				}
				fmt.Fprint(stdout, r.Explain())
				return nil
			}
			for _, r := range append(rules.All(), cfg.CustomRules()...) {
				sev, note := r.Severity.String(), ""
				if cfg != nil {
					if rc, ok := cfg.Rules[r.ID]; ok {
						if rc.Severity != nil {
							sev = rc.Severity.String()
						}
						if rc.Enabled != nil && !*rc.Enabled {
							note = "  (disabled)"
						}
					}
				}
				if r.IsCustom() {
					on, _, _ := r.Expr()
					note = "  [custom, on " + on + "]" + note
				}
				fmt.Fprintf(stdout, "%-24s %-8s %s%s\n", r.ID, sev, report.TermSafe(r.Title), note)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "rules", "", "YAML rules file: list its custom rules too and show its severities")
	return cmd
}

// isTerminal says whether w is a terminal (for the progress bar).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/report"
	"github.com/pcapx/pcapx/report/html"
	"github.com/pcapx/pcapx/report/parquet"
	"github.com/pcapx/pcapx/rules"
	runmodel "github.com/pcapx/pcapx/run"
	"github.com/pcapx/pcapx/watch"
)

type watchFlags struct {
	out       string
	every     string
	settle    time.Duration
	poll      time.Duration
	once      bool
	drain     bool
	partition string
	rules     string
	mem       memoryFlags
	workers   int
}

func newWatch(stdout, stderr io.Writer) *cobra.Command {
	var fl watchFlags
	cmd := &cobra.Command{
		Use:   "watch DIR -o OUT",
		Short: "Follow a capture ring directory and write a partition of tables and a report per period",
		Long: `Follow a directory that tcpdump -G or dumpcap -b keeps writing. Each file is
read once it is complete (a newer file exists, or it has not changed for
--settle); flows continue across files. Capture time is cut into periods of
--every (aligned to local midnight); when a period has ended, its Parquet
tables and report.html are written to OUT/date=YYYY-MM-DD/ (shorter periods
add hour=HH or time=HHMMSS), the same tables as analyze -o.

The state in OUT/.pcapx-watch lets a new run go on where the last ended:
every packet is counted once, across runs and restarts. Without --once, watch
keeps following (every --poll) until SIGINT or SIGTERM, which end it after
the current step. docs/watch.md has the details.`,
		Example: `  pcapx watch /var/capture -o /srv/pcapx                # follow, daily partitions
  pcapx watch --once /var/capture -o /srv/pcapx         # from cron: what is complete, then exit
  pcapx watch --every 1h --partition host=web1 --once /var/capture -o /srv/pcapx
  pcapx watch --drain /var/capture -o /srv/pcapx        # at shutdown: write the open period too`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWatch(cmd, fl, args[0], stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&fl.out, "out", "o", "", "output `DIR`: a partition per period, and the state (.pcapx-watch)")
	f.StringVar(&fl.every, "every", "24h", "period length: whole seconds, aligned to local midnight (24h, 1h, 10s)")
	f.DurationVar(&fl.settle, "settle", time.Minute, "the newest file is complete when unchanged this long")
	f.DurationVar(&fl.poll, "poll", 10*time.Second, "without --once: how often to look for new files")
	f.BoolVar(&fl.once, "once", false, "read what is complete, write the periods that ended, and exit (cron, systemd timers)")
	f.BoolVar(&fl.drain, "drain", false, "treat every file as complete, end the open flows and write the open period too, then exit")
	f.StringVar(&fl.partition, "partition", "", "more Hive partition keys under each period's, e.g. host=web1")
	f.StringVar(&fl.rules, "rules", "", "YAML file tuning the rules (as for analyze)")
	f.IntVar(&fl.workers, "workers", 0, "flow workers (0: one per core)")
	fl.mem.register(cmd, "")
	return cmd
}

func runWatch(cmd *cobra.Command, fl watchFlags, dir string, stdout, stderr io.Writer) error {
	if fl.out == "" {
		return &codeError{exitError, errors.New("watch: -o OUT is required")}
	}
	every, err := watch.ParseEvery(fl.every)
	if err != nil {
		return &codeError{exitError, err}
	}
	if fl.partition != "" {
		if _, err := parquet.ParsePartition(fl.partition); err != nil {
			return &codeError{exitError, err}
		}
	}
	if fl.workers < 0 || fl.poll <= 0 || fl.settle <= 0 {
		return &codeError{exitError, errors.New("watch: --workers 0 or more, --poll and --settle above 0")}
	}
	acfg := analyze.Config{Workers: fl.workers}
	budget, err := fl.mem.apply(cmd, &acfg)
	if err != nil {
		return &codeError{exitError, err}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return &codeError{exitError, fmt.Errorf("watch: %s is not a directory", dir)}
	}
	if fl.rules != "" {
		if acfg.Rules, err = rules.LoadConfig(fl.rules); err != nil {
			return &codeError{exitError, err}
		}
	}
	cfg := watch.Config{
		Dir: dir, Out: fl.out,
		Periods:   watch.Periods{Every: every, Loc: time.Local},
		Settle:    fl.settle,
		Drain:     fl.drain,
		Partition: fl.partition,
		Analyze:   acfg,
		MaxRows:   budget.ParquetRows(),
		Version:   versionString(),
		Render: func(r *runmodel.Result) ([]byte, error) {
			return renderReport(html.FromResult(r, html.Options{}))
		},
	}
	// A signal ends the loop after the current step: the step's files
	// are read, its state saved, no partition is left half written.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	for {
		rep, err := watch.Step(cfg)
		if err != nil {
			return &codeError{exitError, err}
		}
		printStep(stdout, stderr, rep)
		if fl.once || fl.drain {
			return nil
		}
		select {
		case sig := <-sigs:
			fmt.Fprintf(stderr, "pcapx: %v: stopped; the state in %s is saved\n", sig, fl.out)
			return nil
		case <-time.After(fl.poll):
		}
	}
}

// printStep says what a step did, one line per partition written.
func printStep(stdout, stderr io.Writer, rep *watch.Report) {
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "pcapx: warning: %s\n", report.TermSafe(w))
	}
	for _, p := range rep.Written {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	if len(rep.Read) > 0 || len(rep.Written) > 0 {
		fmt.Fprintf(stdout, "read %d files (%d again), %d waiting, %d periods open\n", len(rep.Read), len(rep.Reread), len(rep.Waiting), rep.Open)
	}
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcapx/pcapx/report/html"
	"github.com/pcapx/pcapx/report/parquet"
)

// reportHTML is the page beside the tables. It is made from the run
// (analyze -o) or, later, from the tables alone (pcapx report): the
// Parquet tables hold the whole run, the capture overview and the
// timeline included (docs/schema.md), so nothing else is kept.
const reportHTML = "report.html"

// writeReport writes dir/report.html for d.
func writeReport(dir string, d *html.Data) error {
	page, err := renderReport(d)
	if err != nil {
		return err
	}
	return writePage(dir, page)
}

// renderReport renders the page for d, stamped with pcapx's version and
// the time.
func renderReport(d *html.Data) ([]byte, error) {
	d.Tool = "pcapx " + versionString()
	d.Generated = time.Now().UTC().Format(time.RFC3339)
	var b bytes.Buffer
	if err := html.Render(&b, d); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return b.Bytes(), nil
}

// writePage writes a rendered page as dir's report.html.
func writePage(dir string, page []byte) error {
	if err := html.WritePage(filepath.Join(dir, reportHTML), page); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// rendered is a page rendered on another goroutine.
type rendered struct {
	page []byte
	err  error
}

// writePageTo writes a rendered page to w (a test makes it fail, as a full
// disk would).
var writePageTo = func(w io.Writer, page []byte) error {
	_, err := w.Write(page)
	return err
}

// reportFromTables rebuilds the page's data from the tables in dir: the
// run's result as parquet.Replay rebuilds it (the records through the same
// summariser as in the run).
func reportFromTables(dir string) (*html.Data, error) {
	res, err := parquet.Replay(dir, nil)
	if err != nil {
		return nil, err
	}
	return html.FromResult(res, html.Options{}), nil
}

func newReport(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Rebuild report.html from the Parquet tables in a directory written by analyze -o",
		Long: `Rebuild the HTML report of an output directory (written by pcapx analyze -o
DIR, or one of its --partition directories) from the Parquet tables there, for
instance after upgrading pcapx, or for tables copied off a server without the
page. The capture is not needed.`,
		Example: "  pcapx report out/\n  pcapx report out/date=2026-11-21/host=web1/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			d, err := reportFromTables(dir)
			if err != nil {
				return &codeError{exitError, fmt.Errorf("report: %w", err)}
			}
			if err := writeReport(dir, d); err != nil {
				return &codeError{exitError, err}
			}
			fmt.Fprintf(stdout, "wrote %s\n", filepath.Join(dir, reportHTML))
			return nil
		},
	}
}

// exitOnSignal makes SIGINT and SIGTERM run cleanup and end the process
// (exit status 130 or 143, as a shell reports a process killed by them),
// until the returned stop is called. analyze -o uses it to remove its
// unfinished tables: the analysis cannot be stopped half way, but its
// temporary files can be removed under it.
func exitOnSignal(cleanup func(os.Signal)) (stop func()) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-c:
			cleanup(sig)
			code := 128 + 2
			if s, ok := sig.(syscall.Signal); ok && s != syscall.SIGINT {
				code = 128 + int(s)
			}
			os.Exit(code)
		case <-done:
		}
	}()
	var stopped bool
	return func() {
		if !stopped {
			stopped = true
			signal.Stop(c)
			close(done)
		}
	}
}

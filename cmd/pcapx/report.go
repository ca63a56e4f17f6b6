package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcapx/pcapx/report/html"
)

// The HTML report's data is kept beside the tables as report.json: the
// Parquet tables hold the records, but not the capture overview, the
// timeline or the counters the page shows, so the page is rebuilt from
// this file (which the tables' rows agree with).
const (
	reportHTML = "report.html"
	reportData = "report.json"
)

func writeReport(dir string, d *html.Data) error {
	d.Tool = "pcapx " + versionString()
	d.Generated = time.Now().UTC().Format(time.RFC3339)
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("report data: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".report.json.tmp-*")
	if err != nil {
		return fmt.Errorf("report data: %w", err)
	}
	tmp.Chmod(0o644)
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("report data: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("report data: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, reportData)); err != nil {
		return fmt.Errorf("report data: %w", err)
	}
	if err := html.WriteFile(filepath.Join(dir, reportHTML), d); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func newReport(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "report DIR",
		Short: "Rebuild report.html in a directory written by analyze -o",
		Long: `Rebuild the HTML report of an output directory (written by pcapx analyze -o
DIR, or one of its --partition directories) from the report data kept there
(report.json), for instance after upgrading pcapx.`,
		Example: "  pcapx report out/\n  pcapx report out/date=2026-11-21/host=web1/",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			b, err := os.ReadFile(filepath.Join(dir, reportData))
			if err != nil {
				return &codeError{exitError, fmt.Errorf("report: %w (is %s an output directory of pcapx analyze -o?)", err, dir)}
			}
			var d html.Data
			if err := json.Unmarshal(b, &d); err != nil {
				return &codeError{exitError, fmt.Errorf("report: %s: %w", filepath.Join(dir, reportData), err)}
			}
			path := filepath.Join(dir, reportHTML)
			if err := html.WriteFile(path, &d); err != nil {
				return &codeError{exitError, fmt.Errorf("report: %w", err)}
			}
			fmt.Fprintf(stdout, "wrote %s\n", path)
			return nil
		},
	}
}

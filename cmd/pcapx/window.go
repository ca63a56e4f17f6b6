package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/pcapx/pcapx/analyze"
)

// windowFlags are --since and --until: a time window of packets, for
// "yesterday's" report from a ring that holds more.
type windowFlags struct {
	since, until string
}

func (w *windowFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&w.since, "since", "", "analyse only packets at or after `TIME`: RFC 3339 (2026-11-21T08:00:00Z), or local time as 2026-11-21T08:00:00 or a date, 2026-11-21 (its midnight)")
	f.StringVar(&w.until, "until", "", "analyse only packets before `TIME` (same forms as --since; a date is its midnight, so --since 2026-11-21 --until 2026-11-22 is that day)")
}

func (w *windowFlags) set() bool { return w.since != "" || w.until != "" }

// apply parses the flags into cfg's window.
func (w *windowFlags) apply(cfg *analyze.Config) error {
	var err error
	if w.since != "" {
		if cfg.Since, err = parseTime(w.since); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
	}
	if w.until != "" {
		if cfg.Until, err = parseTime(w.until); err != nil {
			return fmt.Errorf("--until: %w", err)
		}
	}
	if !cfg.Since.IsZero() && !cfg.Until.IsZero() && !cfg.Since.Before(cfg.Until) {
		return fmt.Errorf("--since %s is not before --until %s: the window holds no time", w.since, w.until)
	}
	return nil
}

// timeForms are what --since and --until accept besides RFC 3339 (which
// carries its zone): local times, as an operator reads a clock.
var timeForms = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, f := range timeForms {
		if t, err := time.ParseInLocation(f, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-11-21T08:00:00Z), a local time (2026-11-21T08:00:00) or a date (2026-11-21)", s)
}

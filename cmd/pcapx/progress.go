package main

import (
	"io"

	"github.com/schollz/progressbar/v3"
)

// progressMinBytes: below this the run is over before a bar would help.
const progressMinBytes = 64 << 20

// progress draws a bar on stderr, only on a terminal (never in CI logs) and
// only once the input is known to be large.
type progress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
	on  bool
}

func newProgress(mode string, stderr io.Writer) *progress {
	if mode == "never" || (mode == "auto" && !isTerminal(stderr)) {
		return nil
	}
	return &progress{w: stderr, on: mode == "always"}
}

func (p *progress) update(done, total int64) {
	if p.bar == nil {
		if total <= 0 || (!p.on && total < progressMinBytes) {
			return
		}
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription("reading"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(100e6),
			progressbar.OptionClearOnFinish(),
		)
	}
	p.bar.Set64(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}

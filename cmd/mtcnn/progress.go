package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal; tests replace it.
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress is detect's progress bar on stderr: done/total, images/s and
// the time left. It shows only when stderr is a terminal and -quiet is
// not given; otherwise every method does nothing. Not safe for
// concurrent use (runBatch calls it from its delivering goroutine).
type progress struct {
	bar *progressbar.ProgressBar
}

func newProgress(w io.Writer, total int, quiet bool) *progress {
	if quiet || total == 0 || !isTerminal(w) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("detect"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("images"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth(),
	)}
}

func (p *progress) enabled() bool { return p.bar != nil }

// add counts one finished image.
func (p *progress) add() {
	if p.bar != nil {
		p.bar.Add(1)
	}
}

// clear erases the bar so that a line can be printed; the next add
// draws it again.
func (p *progress) clear() {
	if p.bar != nil {
		p.bar.Clear()
	}
}

// finish removes the bar.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar.Clear()
	}
}

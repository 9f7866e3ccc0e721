package report

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress is a bar on stderr for reports slow enough to wait for; in a
// pipe, a test or for a short report (slow false) there is none.
type Progress struct {
	bar     *progressbar.ProgressBar
	started bool
}

// NewProgress makes a bar of steps stages on stderr when it is a terminal
// and slow is true.
func NewProgress(stderr io.Writer, slow bool, steps int) *Progress {
	f, ok := stderr.(*os.File)
	if !ok || !slow || !term.IsTerminal(int(f.Fd())) {
		return &Progress{}
	}
	return &Progress{bar: progressbar.NewOptions(steps, progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("report"), progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(false))}
}

// Next marks the previous stage done and names the one starting.
func (p *Progress) Next(what string) {
	if p.bar == nil {
		return
	}
	if p.started {
		p.bar.Add(1)
	}
	p.started = true
	p.bar.Describe(what)
}

// Finish clears the bar.
func (p *Progress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cueroom/cueroom/engine/analysis"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
)

const reportUsage = `Usage: cueroom report SESSION [SESSION…] [--out FILE.html] [--plots svg|png] [--json] [--force]
                      [--scr-threshold US] [--scr-relative F] [--decompose filter|cvxeda]

Writes the cue reactivity report of recorded sessions as one self-contained
HTML file (plots embedded, nothing loaded from the network): the session, the
cue manifest, reactivity per step and per cue, habituation within steps, over
repeats and — given several sessions of one participant, in order — across
sessions. --json prints the same numbers on stdout (and writes HTML only
with --out). The report is never written into a session folder, and an
existing file is kept unless --force.

Flags:
`

// progressBytes is how much recording makes a report slow enough (a few
// seconds) to be worth a progress bar.
var progressBytes int64 = 40 << 20

func cmdReport(args []string) error {
	return reportCmd(args, os.Stdout, os.Stderr)
}

func reportCmd(args []string, stdout, stderr io.Writer) error {
	var (
		out, plots    string
		asJSON, force bool
	)
	flags := flag.NewFlagSet("report", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.StringVar(&out, "out", "", "the HTML file to write (default report.html here; with --json, none unless given)")
	flags.StringVar(&plots, "plots", "svg", "how plots are embedded: svg (inline) or png (data: URIs)")
	flags.BoolVar(&asJSON, "json", false, "print the report's numbers as JSON on stdout")
	flags.BoolVar(&force, "force", false, "overwrite --out if it exists")
	thr := flags.Float64("scr-threshold", 0.01, "smallest SCR amplitude, µS")
	base := flags.Float64("baseline", 3, "seconds before each onset for the onset-locked baseline")
	resp := flags.Float64("response", 4, "seconds after each onset for the onset-locked response")
	scr := addSCRFlags(flags)

	dirs, err := parseInterleaved(flags, args)
	if errors.Is(err, flag.ErrHelp) {
		flags.SetOutput(stdout)
		fmt.Fprint(stdout, reportUsage)
		flags.PrintDefaults()
		return nil
	}
	if err != nil {
		return usagef("report: %v (see 'cueroom report -h')", err)
	}
	if len(dirs) == 0 {
		return usagef("report: give at least one session folder (usage: cueroom report SESSION [SESSION…] [--out FILE.html])")
	}
	format, err := report.ParseFormat(plots)
	if err != nil {
		return usagef("report: --%v", err)
	}
	if !(*thr > 0) || !(*base > 0) || !(*resp > 0) || math.IsInf(*thr+*base+*resp, 0) {
		return usagef("report: --scr-threshold, --baseline and --response must be positive numbers")
	}
	if out == "" && !asJSON {
		out = "report.html"
	}
	for _, d := range dirs {
		if err := checkSessionDir(d); err != nil {
			return err
		}
	}
	if out != "" {
		if err := report.CheckPlace(out, dirs, force); err != nil {
			return outError(out, err)
		}
	}

	opt := analysis.Options{SCRThreshold: *thr, Baseline: *base, Response: *resp, SCRFrom: 1, SCRTo: 4, EndWindow: 3}
	if err := scr.apply(&opt); err != nil {
		return usagef("report: %v", err)
	}
	var size int64
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, record.DataFile)); err == nil {
			size += st.Size()
		}
	}
	// Stages: reading and analysing each session, then its plots (and one
	// across sessions).
	stages := 2 * len(dirs)
	if out != "" {
		stages += report.Figures(&report.Report{Sessions: make([]report.Session, len(dirs))})
		if len(dirs) > 1 {
			stages++
		}
	}
	prog := report.NewProgress(stderr, size >= progressBytes, stages)
	defer prog.Finish()

	rep := &report.Report{Generated: time.Now(), Software: "cueroom " + version, Settings: opt.Settings()}
	var analysed []*analysis.Result
	for _, dir := range dirs {
		prog.Next("reading " + filepath.Base(dir))
		x, err := record.OpenIndex(dir)
		if err != nil {
			return usageError{strings.TrimPrefix(err.Error(), "record: ") + "; give a folder made by 'cueroom run'"}
		}
		warnRead(stderr, dir, x, "analysed")
		prog.Next("analysing " + filepath.Base(dir))
		rs, a, err := analysis.Report(analysis.FromIndex(x), opt)
		x.Close()
		if err != nil {
			return fmt.Errorf("report: %s: %w", dir, err)
		}
		if rs.Measured.Note != "" {
			fmt.Fprintf(stderr, "cueroom: warning: %s: %s\n", dir, rs.Measured.Note)
		}
		rep.Sessions = append(rep.Sessions, rs)
		if a != nil {
			analysed = append(analysed, a)
		}
	}
	rep.Across = analysis.Across(analysed)
	for i := 1; i < len(rep.Sessions); i++ {
		if rep.Sessions[i].Start.Before(rep.Sessions[i-1].Start) {
			fmt.Fprintf(stderr, "cueroom: warning: %s started before %s: sessions are compared in the order given\n",
				rep.Sessions[i].Dir, rep.Sessions[i-1].Dir)
			break
		}
	}

	if out != "" {
		if err := report.WriteFile(out, rep, report.Options{Plots: format, Progress: prog.Next}, force); err != nil {
			return outError(out, err)
		}
	}
	prog.Finish()
	if asJSON {
		if err := printJSON(stdout, "  ", rep); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if out != "" {
		w := stdout
		if asJSON {
			w = stderr
		}
		fmt.Fprintf(w, "report of %d session(s) written to %s\n", len(rep.Sessions), out)
	}
	return nil
}

// checkSessionDir tells a missing folder or a file from a session before
// anything is read.
func checkSessionDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("report: %s: no such session folder", dir)
	case err != nil:
		return fmt.Errorf("report: %w", err)
	case !st.IsDir():
		return usagef("report: %s is a file; give the session folder that holds %s and %s", dir, record.MetaFile, record.DataFile)
	}
	return nil
}

// outError says why the report could not be written to out.
func outError(out string, err error) error {
	var pe *report.PlaceError
	switch {
	case errors.Is(err, report.ErrExists):
		return usagef("report: --out %s already exists; choose another name, or --force to overwrite it", out)
	case errors.As(err, &pe):
		return usagef("report: --out %v", err)
	}
	return fmt.Errorf("report: %w", err)
}

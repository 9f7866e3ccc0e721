package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/cueroom/cueroom/engine/analysis"
	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

const analyzeUsage = "usage: cueroom analyze FILE.csv --rate HZ [--ecg COL] [--ppg COL] [--eda COL] [--events COL] [--scr-threshold US] [--scr-relative F] [--decompose filter|cvxeda] [--trust-rate] [--json], or cueroom analyze SESSION... [--scr-threshold US] [--scr-relative F] [--decompose filter|cvxeda] [--json]"

// cmdAnalyze runs the offline physiology analysis on recorded sessions, or
// on a CSV recording made anywhere, so researchers can apply the same
// measures to their own data.
func cmdAnalyze(args []string) error {
	return analyze(args, os.Stdout)
}

func analyze(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rate := fs.Float64("rate", 0, "sampling rate in Hz (required: CSV files do not say)")
	var cols analysis.Columns
	fs.StringVar(&cols.ECG, "ecg", "", "ECG column: header name or 1-based number")
	fs.StringVar(&cols.PPG, "ppg", "", "PPG column")
	fs.StringVar(&cols.EDA, "eda", "", "skin conductance column, µS")
	fs.StringVar(&cols.Events, "events", "", "event marker column: onsets are where it leaves its usual value")
	thr := fs.Float64("scr-threshold", 0.01, "smallest SCR amplitude, µS")
	scr := addSCRFlags(fs)
	trustRate := fs.Bool("trust-rate", false, "analyse even when --rate does not seem to fit the signal")
	base := fs.Float64("baseline", 3, "seconds before each event for the baseline")
	resp := fs.Float64("response", 4, "seconds after each event for the response means")
	asJSON := fs.Bool("json", false, "print the full report as JSON")

	// Flags may come before or after the file name.
	files, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printHelp(fs, strings.Replace(analyzeUsage, "usage: ", "Usage: ", 1)+"\n\nFlags:\n")
		return nil
	}
	if err != nil {
		return usagef("analyze: %v (%s)", err, analyzeUsage)
	}
	opt := analysis.Options{SCRThreshold: *thr, Baseline: *base, Response: *resp, TrustRate: *trustRate}
	badWindows := !(*thr > 0) || !(*base > 0) || !(*resp > 0)
	if err := scr.apply(&opt); err != nil {
		return usagef("analyze: %v", err)
	}
	if len(files) > 0 {
		if st, err := os.Stat(files[0]); err == nil && st.IsDir() {
			// Recorded sessions: their own events mark the cues and steps.
			if badWindows {
				return usagef("analyze: --scr-threshold, --baseline and --response must be positive numbers")
			}
			return analyzeSessions(files, opt, *asJSON, stdout)
		}
	}
	if len(files) != 1 {
		return usagef("analyze: give one CSV file (%s)", analyzeUsage)
	}
	file := files[0]
	if !(*rate > 0) || math.IsInf(*rate, 0) {
		return usagef("analyze: --rate HZ is required and must be positive: CSV files do not record their sampling rate")
	}
	if badWindows {
		return usagef("analyze: --scr-threshold, --baseline and --response must be positive numbers")
	}
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return usagef("analyze: %s: no such file: give the path of a CSV recording", file)
		}
		return fmt.Errorf("analyze: %w", err)
	}
	defer f.Close()
	out, err := analysis.CSV(f, file, *rate, cols, opt)
	if errors.Is(err, analysis.ErrNoColumns) {
		return usagef("analyze: %s: say which columns to analyse with --ecg, --ppg or --eda (no column is named ECG, PPG or EDA)", file)
	}
	var rateErr *offline.RateError
	if errors.As(err, &rateErr) {
		return usagef("analyze: %v, or pass --trust-rate to analyse it anyway", err)
	}
	if err != nil {
		return usagef("analyze: %v", err)
	}
	if *asJSON {
		return printJSON(stdout, " ", out)
	}
	return out.WriteText(stdout)
}

// scrFlags are the SCR scoring options analyze and report share.
type scrFlags struct {
	rel    *float64
	decomp *string
}

func addSCRFlags(fs *flag.FlagSet) scrFlags {
	return scrFlags{
		rel:    fs.Float64("scr-relative", 0, "also drop SCRs under this fraction of the largest (0..1, 0.1: 10 %)"),
		decomp: fs.String("decompose", "", "split skin conductance into tonic and phasic parts: filter (fast) or cvxeda"),
	}
}

// apply checks the flags and sets them in opt.
func (f scrFlags) apply(opt *analysis.Options) error {
	if !(*f.rel >= 0 && *f.rel <= 1) {
		return fmt.Errorf("--scr-relative must be a fraction of the largest SCR between 0 and 1 (0.1: 10 %%), not %g", *f.rel)
	}
	opt.SCRRelative = *f.rel
	if *f.decomp != "" {
		m, err := eda.ParseMethod(*f.decomp)
		if err != nil {
			return fmt.Errorf("--decompose %q: use filter (fast) or cvxeda", *f.decomp)
		}
		opt.Decomposition = m
	}
	return nil
}

// parseInterleaved parses flags given before, between or after the
// positional arguments, and returns those.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// printJSON prints v indented, as every --json does.
func printJSON(w io.Writer, indent string, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", indent)
	return enc.Encode(v)
}

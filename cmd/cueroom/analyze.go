package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

const analyzeUsage = "usage: cueroom analyze FILE.csv --rate HZ [--ecg COL] [--ppg COL] [--eda COL] [--events COL] [--scr-threshold US] [--json], or cueroom analyze SESSION... [--json]"

// analyzeReport is what --json prints: the file and the offline report.
type analyzeReport struct {
	File string `json:"file"`
	*offline.Report
	EventsColumn string `json:"events_column,omitempty"`
}

// cmdAnalyze runs the offline physiology analysis on a CSV recording made
// anywhere, so researchers can apply the same measures to their own data.
func cmdAnalyze(args []string) error {
	return analyze(args, os.Stdout)
}

func analyze(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	rate := fs.Float64("rate", 0, "sampling rate in Hz (required: CSV files do not say)")
	ecgCol := fs.String("ecg", "", "ECG column: header name or 1-based number")
	ppgCol := fs.String("ppg", "", "PPG column")
	edaCol := fs.String("eda", "", "skin conductance column, µS")
	evCol := fs.String("events", "", "event marker column: onsets are where it leaves its usual value")
	thr := fs.Float64("scr-threshold", 0.01, "smallest SCR amplitude, µS")
	base := fs.Float64("baseline", 3, "seconds before each event for the baseline")
	resp := fs.Float64("response", 4, "seconds after each event for the response means")
	asJSON := fs.Bool("json", false, "print the full report as JSON")

	// Flags may come before or after the file name.
	var files []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return usagef("analyze: %s", analyzeUsage)
			}
			return usagef("analyze: %v (%s)", err, analyzeUsage)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(files) > 0 {
		if st, err := os.Stat(files[0]); err == nil && st.IsDir() {
			// Recorded sessions: their own events mark the cues and steps.
			if !(*thr > 0) || !(*base > 0) || !(*resp > 0) {
				return usagef("analyze: --scr-threshold, --baseline and --response must be positive numbers")
			}
			cfg := offline.Config{SCR: eda.Config{Threshold: *thr}, Baseline: *base, Response: *resp}
			return analyzeSessions(files, cfg, *asJSON, stdout)
		}
	}
	if len(files) != 1 {
		return usagef("analyze: give one CSV file (%s)", analyzeUsage)
	}
	file := files[0]
	if !(*rate > 0) || math.IsInf(*rate, 0) {
		return usagef("analyze: --rate HZ is required and must be positive: CSV files do not record their sampling rate")
	}
	if !(*thr > 0) || !(*base > 0) || !(*resp > 0) {
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

	sel := map[string]*string{"ECG": ecgCol, "PPG": ppgCol, "EDA": edaCol}
	if *ecgCol == "" && *ppgCol == "" && *edaCol == "" {
		// No column named: take the ones whose header says what they are.
		head, err := header(f)
		if err != nil {
			return usagef("analyze: %s: %v", file, err)
		}
		for _, h := range head {
			for k, p := range sel {
				if strings.EqualFold(strings.TrimSpace(h), k) && *p == "" {
					*p = strings.TrimSpace(h)
				}
			}
		}
		if *ecgCol == "" && *ppgCol == "" && *edaCol == "" {
			return usagef("analyze: %s: say which columns to analyse with --ecg, --ppg or --eda (no column is named ECG, PPG or EDA)", file)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
	}
	var names []string
	var targets []*[]float64
	var labels []*string
	in := offline.Input{Rate: *rate}
	add := func(col string, dst *[]float64, label *string) {
		if col != "" {
			names = append(names, col)
			targets = append(targets, dst)
			labels = append(labels, label)
		}
	}
	var evVals []float64
	var evName string
	add(*ecgCol, &in.ECG, &in.ECGName)
	add(*ppgCol, &in.PPG, &in.PPGName)
	add(*edaCol, &in.EDA, &in.EDAName)
	add(*evCol, &evVals, &evName)
	cols, err := offline.ReadCSV(f, file, names)
	if err != nil {
		return usagef("analyze: %v", err)
	}
	for i, c := range cols {
		*targets[i] = c.Values
		*labels[i] = c.Name
		if c.Gaps == len(c.Values) {
			return usagef("analyze: %s: column %q (%d) has no numbers at all: check the column you chose", file, c.Name, c.Number)
		}
	}
	if evVals != nil {
		in.Events = offline.EventsFromColumn(evVals, *rate)
	}
	rep, err := offline.Analyze(in, offline.Config{SCR: eda.Config{Threshold: *thr}, Baseline: *base, Response: *resp})
	if err != nil {
		return usagef("analyze: %s: %v", file, err)
	}
	out := analyzeReport{File: file, Report: rep, EventsColumn: evName}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		return enc.Encode(out)
	}
	return printSummary(stdout, out)
}

// header reads the first row that is not a comment.
func header(r io.Reader) ([]string, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	row, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the file is empty")
	}
	if err != nil {
		return nil, err
	}
	if len(row) == 1 && strings.ContainsAny(row[0], "\t;") {
		row = strings.FieldsFunc(row[0], func(r rune) bool { return r == '\t' || r == ';' })
	}
	return row, nil
}

func printSummary(w io.Writer, r analyzeReport) error {
	fmt.Fprintf(w, "%s: %d samples at %g Hz (%.1f s)\n", r.File, r.Samples, r.Rate, r.Duration)
	for _, h := range []*offline.Heart{r.ECG, r.PPG} {
		if h == nil {
			continue
		}
		s := h.Summary
		fmt.Fprintf(w, "%s: %d beats; heart rate %.1f bpm (sd %.1f, %.1f–%.1f) over %d intervals, %d rejected, %d corrected\n",
			h.Column, s.Beats, s.Mean, s.SD, s.Min, s.Max, s.Intervals, s.Rejected, s.Corrected)
	}
	if r.EDA != nil {
		fmt.Fprintf(w, "%s: %d SCRs of at least %.3g µS; skin conductance %.2f µS on average (%.2f–%.2f)\n",
			r.EDA.Column, len(r.EDA.SCRs), r.EDA.Threshold, r.EDA.Mean, r.EDA.Min, r.EDA.Max)
	}
	if r.EventsColumn != "" {
		fmt.Fprintf(w, "%s: %d events\n", r.EventsColumn, len(r.Events))
	}
	if len(r.Events) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "onset s\tlabel\trepeat\tΔHR bpm\tΔSC µS\tSCRs %g–%g s\tmax amp µS\t\n", r.Settings.SCRFrom, r.Settings.SCRTo)
		for _, e := range r.Events {
			dhr, dsc := "–", "–"
			if e.HR != nil {
				dhr = fmt.Sprintf("%+.1f", e.HR.Delta)
			}
			if e.SC != nil {
				dsc = fmt.Sprintf("%+.3f", e.SC.Delta)
			}
			fmt.Fprintf(tw, "%.2f\t%s\t%d\t%s\t%s\t%d\t%.3f\t\n", e.T, e.Label, e.Repeat, dhr, dsc, e.SCR.Count, e.SCR.MaxAmplitude)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "(--json prints beats, the heart-rate series, every SCR and all per-event measures)")
	return err
}

package analysis

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cueroom/cueroom/sensors/physio/hrv"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// Columns names the columns of a CSV recording to analyse, each a header
// name or a 1-based number; "" for none.
type Columns struct {
	ECG, PPG, EDA string
	Events        string // event markers: onsets are where it leaves its usual value
}

// CSVResult is the offline analysis of a CSV recording made anywhere, so
// researchers can apply the same measures to their own data.
type CSVResult struct {
	File string `json:"file"`
	*offline.Report
	EventsColumn string `json:"events_column,omitempty"`
	// BlankLines is how many blank lines were read as rows of gaps (one
	// sample each, so the samples after them keep their times).
	BlankLines int `json:"blank_lines,omitempty"`
}

// ErrNoColumns: no column was named and none is called ECG, PPG or EDA.
var ErrNoColumns = errors.New("no column is named ECG, PPG or EDA")

// findColumns reads the header (the first row that is not a comment) and
// takes the columns whose name says what they hold: ECG, PPG or EDA, in any
// case. It returns r as it was, the bytes it read put back.
func findColumns(r io.Reader) (Columns, io.Reader, error) {
	var head bytes.Buffer
	cr := csv.NewReader(io.TeeReader(r, &head))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	row, err := cr.Read()
	if err == io.EOF {
		return Columns{}, nil, errors.New("the file is empty")
	}
	if err != nil {
		return Columns{}, nil, err
	}
	if len(row) == 1 && strings.ContainsAny(row[0], "\t;") {
		row = strings.FieldsFunc(row[0], func(r rune) bool { return r == '\t' || r == ';' })
	}
	var c Columns
	for _, h := range row {
		h = strings.TrimSpace(h)
		for _, p := range []struct {
			name string
			dst  *string
		}{{"ECG", &c.ECG}, {"PPG", &c.PPG}, {"EDA", &c.EDA}} {
			if strings.EqualFold(h, p.name) && *p.dst == "" {
				*p.dst = h
			}
		}
	}
	return c, io.MultiReader(&head, r), nil
}

// CSV analyses the columns cols of a CSV (or TSV) recording sampled at
// rate Hz; file names it in errors and in the result. With no signal column
// named (ECG, PPG or EDA), it takes those whose header says what they hold,
// and fails with ErrNoColumns when none does. Every error is about the
// input and starts with file.
func CSV(r io.Reader, file string, rate float64, cols Columns, opt Options) (*CSVResult, error) {
	if cols.ECG == "" && cols.PPG == "" && cols.EDA == "" {
		found, rest, err := findColumns(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if found == (Columns{}) {
			return nil, fmt.Errorf("%s: %w", file, ErrNoColumns)
		}
		cols.ECG, cols.PPG, cols.EDA, r = found.ECG, found.PPG, found.EDA, rest
	}
	var names []string
	var targets []*[]float64
	var labels []*string
	in := offline.Input{Rate: rate}
	add := func(col string, dst *[]float64, label *string) {
		if col != "" {
			names = append(names, col)
			targets = append(targets, dst)
			labels = append(labels, label)
		}
	}
	var evVals []float64
	var evName string
	add(cols.ECG, &in.ECG, &in.ECGName)
	add(cols.PPG, &in.PPG, &in.PPGName)
	add(cols.EDA, &in.EDA, &in.EDAName)
	add(cols.Events, &evVals, &evName)
	read, err := offline.ReadCSV(r, file, names)
	if err != nil {
		return nil, err
	}
	blank := 0
	for i, c := range read {
		blank = max(blank, c.BlankLines)
		*targets[i] = c.Values
		*labels[i] = c.Name
		if c.Gaps == len(c.Values) {
			return nil, fmt.Errorf("%s: column %q (%d) has no numbers at all: check the column you chose", file, c.Name, c.Number)
		}
	}
	if evVals != nil {
		in.Events = offline.EventsFromColumn(evVals, rate)
	}
	// A wrong --rate gives plausible-looking numbers, so the signal is
	// asked first (the error is an *offline.RateError).
	if err := offline.CheckRate(in); err != nil && !opt.TrustRate {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	rep, err := offline.Analyze(in, opt.offline())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &CSVResult{File: file, Report: rep, EventsColumn: evName, BlankLines: blank}, nil
}

// WriteText writes the summary analyze prints for a CSV recording: what was
// found in each column, and a table of the per-event measures.
func (r *CSVResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s: %d samples at %g Hz (%.1f s)\n", r.File, r.Samples, r.Rate, r.Duration)
	if r.BlankLines > 0 {
		fmt.Fprintf(w, "%d blank lines read as gaps (one missing sample each; the samples after them keep their times)\n", r.BlankLines)
	}
	for _, h := range []*offline.Heart{r.ECG, r.PPG} {
		if h == nil {
			continue
		}
		s := h.Summary
		fmt.Fprintf(w, "%s: %d beats; heart rate %.1f bpm (sd %.1f, %.1f–%.1f) over %d intervals, %d rejected, %d corrected%s\n",
			h.Column, s.Beats, s.Mean, s.SD, s.Min, s.Max, s.Intervals, s.Rejected, s.Corrected, gapNote(h.Gaps))
	}
	WriteHeartNotes(w, r.Report)
	if r.EDA != nil {
		fmt.Fprintf(w, "%s: %d SCRs of at least %.3g µS; skin conductance %.2f µS on average (%.2f–%.2f)%s\n",
			r.EDA.Column, len(r.EDA.SCRs), r.EDA.Threshold, r.EDA.Mean, r.EDA.Min, r.EDA.Max, gapNote(r.EDA.Gaps))
	}
	if r.EventsColumn != "" {
		fmt.Fprintf(w, "%s: %d events\n", r.EventsColumn, len(r.Events))
	}
	if len(r.Events) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "onset s\tlabel\trepeat\tΔHR bpm\tΔSC µS\tSCRs %g–%g s\tmax amp µS\tRMSSD ms\t\n", r.Settings.SCRFrom, r.Settings.SCRTo)
		for _, e := range r.Events {
			dhr, dsc := "–", "–"
			if e.HR != nil {
				dhr = fmt.Sprintf("%+.1f", e.HR.Delta)
			}
			if e.SC != nil {
				dsc = fmt.Sprintf("%+.3f", e.SC.Delta)
			}
			fmt.Fprintf(tw, "%.2f\t%s\t%d\t%s\t%s\t%d\t%.3f\t%s\t\n", e.T, e.Label, e.Repeat, dhr, dsc, e.SCR.Count, e.SCR.MaxAmplitude, RMSSDText(e.HRV))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, "(--json prints beats, the heart-rate series, every SCR and all per-event measures)")
	return err
}

// RMSSDText is a window's RMSSD, or a dash when it was withheld.
func RMSSDText(h *hrv.Result) string {
	if h == nil || h.Time == nil {
		return "—"
	}
	return fmt.Sprintf("%.1f", h.Time.RMSSD)
}

// WriteHeartNotes prints the whole session's HRV and what the ECG's
// quality index withheld: the table alone would hide both.
func WriteHeartNotes(w io.Writer, r *offline.Report) {
	if r == nil {
		return
	}
	if h := r.HRV; h != nil {
		line := fmt.Sprintf("HRV, whole recording: %d NN intervals (%d corrected)", h.NN, h.Corrected)
		if t := h.Time; t != nil {
			line += fmt.Sprintf("; mean NN %.0f ms, SDNN %.1f ms, RMSSD %.1f ms, pNN50 %.1f %%", t.MeanNN, t.SDNN, t.RMSSD, t.PNN50)
		} else {
			line += "; time domain withheld: " + h.TimeWhy
		}
		if f := h.Freq; f != nil {
			line += fmt.Sprintf("; LF %.0f ms², HF %.0f ms², LF/HF %.2f", f.LF, f.HF, f.LFHF)
		} else {
			line += "; frequency domain withheld: " + h.FreqWhy
		}
		fmt.Fprintln(w, line)
	}
	if e := r.ECG; e != nil && len(e.Unusable) > 0 {
		total := 0.0
		for _, s := range e.Unusable {
			total += s.To - s.From
		}
		fmt.Fprintf(w, "signal quality: the ECG was too noisy for beats in %d stretch(es), %.1f s in all; %d intervals withheld from heart rate and HRV\n",
			len(e.Unusable), total, e.Summary.Withheld)
	}
	for _, h := range []*offline.Heart{r.ECG, r.PPG} {
		if h != nil && h.Warning != "" {
			fmt.Fprintf(w, "warning: %s (%s)\n", h.Warning, h.Column)
		}
	}
}

// gapNote says how many samples of a channel were missing (blank lines,
// empty cells); "" with none, so complete recordings read as before.
func gapNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d samples missing (gaps)", n)
}

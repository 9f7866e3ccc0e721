package analysis

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

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
	for i, c := range read {
		*targets[i] = c.Values
		*labels[i] = c.Name
		if c.Gaps == len(c.Values) {
			return nil, fmt.Errorf("%s: column %q (%d) has no numbers at all: check the column you chose", file, c.Name, c.Number)
		}
	}
	if evVals != nil {
		in.Events = offline.EventsFromColumn(evVals, rate)
	}
	rep, err := offline.Analyze(in, opt.offline())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &CSVResult{File: file, Report: rep, EventsColumn: evName}, nil
}

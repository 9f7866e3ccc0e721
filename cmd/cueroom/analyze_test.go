package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// physioData is the folder of real recordings beside the repository.
func physioData(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", "physio", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real recording %s not found (shared/ must sit beside the repository)", p)
	}
	return p
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func TestAnalyzeBadInputIsAUsageError(t *testing.T) {
	good := writeFile(t, "ok.csv", "ECG,EDA\n0,1\n0,1\n")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"no file", []string{"--rate", "100"}, []string{"give one CSV file", "usage:"}},
		{"two files", []string{good, good, "--rate", "100"}, []string{"give one CSV file"}},
		{"no rate", []string{good}, []string{"--rate HZ is required"}},
		{"negative rate", []string{good, "--rate", "-5"}, []string{"--rate"}},
		{"unknown flag", []string{good, "--rate", "100", "--colour", "red"}, []string{"flag provided but not defined", "usage:"}},
		{"missing file", []string{"/nonexistent/rec.csv", "--rate", "100"}, []string{"/nonexistent/rec.csv", "no such file"}},
		{"unknown column", []string{good, "--rate", "100", "--ppg", "PULSE"}, []string{"ok.csv:1", `no column named "PULSE"`}},
		{"no column to analyse", []string{writeFile(t, "x.csv", "a,b\n1,2\n"), "--rate", "100"}, []string{"x.csv", "--ecg, --ppg or --eda"}},
		{"not a number", []string{writeFile(t, "bad.csv", "ECG\n0.1\n0.2\nzero\n"), "--rate", "100"}, []string{"bad.csv:4", `column "ECG" (1)`, `"zero" is not a number`}},
		{"ragged line", []string{writeFile(t, "rag.csv", "ECG,EDA\n1,2\n3\n"), "--rate", "100"}, []string{"rag.csv:3", "same columns"}},
		{"rate too low for ECG", []string{good, "--rate", "10"}, []string{"ecg", "too low"}},
		{"column of text", []string{writeFile(t, "txt.csv", "ECG,EDA\n,1\n,2\n"), "--rate", "100", "--ecg", "ECG"}, []string{"no numbers at all"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := analyze(c.args, &out)
			require.Error(t, err)
			var ue usageError
			assert.True(t, errors.As(err, &ue), "a usage error (exit 2): %v", err)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Empty(t, out.String(), "nothing printed on error")
			assert.Equal(t, 2, exitCode(err))
		})
	}
}

// exitCode mirrors run's mapping of errors to exit codes.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

// jsonReport is the part of the --json output the tests read.
type jsonReport struct {
	File         string  `json:"file"`
	Rate         float64 `json:"rate"`
	Samples      int     `json:"samples"`
	EventsColumn string  `json:"events_column"`
	ECG          *struct {
		Column  string  `json:"column"`
		Beats   []int64 `json:"beats"`
		HR      []struct{ T, BPM float64 }
		Summary struct {
			Mean  float64 `json:"mean_bpm"`
			Beats int     `json:"beats"`
		} `json:"summary"`
	} `json:"ecg"`
	PPG *struct {
		Summary struct {
			Mean float64 `json:"mean_bpm"`
		} `json:"summary"`
	} `json:"ppg"`
	EDA *struct {
		SCRs []struct {
			Onset     int64   `json:"onset"`
			Peak      int64   `json:"peak"`
			Amplitude float64 `json:"amplitude_us"`
		} `json:"scrs"`
	} `json:"eda"`
	Events []struct {
		Onset int64   `json:"onset"`
		T     float64 `json:"onset_s"`
		SCR   struct {
			Count        int     `json:"count"`
			MaxAmplitude float64 `json:"max_amplitude_us"`
		} `json:"scr"`
		HR *struct{ Baseline, Response, Delta float64 } `json:"hr"`
	} `json:"events"`
}

func TestAnalyzeEventRelatedRecordingJSON(t *testing.T) {
	file := physioData(t, "bio_eventrelated_100hz.csv")
	var out bytes.Buffer
	require.NoError(t, analyze([]string{file, "--rate", "100", "--ecg", "ECG", "--eda", "2", "--events", "Photosensor", "--json"}, &out))
	var r jsonReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	assert.Equal(t, file, r.File)
	assert.Equal(t, 15000, r.Samples)
	assert.Equal(t, "Photosensor", r.EventsColumn)
	require.NotNil(t, r.ECG)
	assert.Len(t, r.ECG.Beats, 152)
	assert.Equal(t, 152, r.ECG.Summary.Beats)
	assert.InDelta(t, 61.3, r.ECG.Summary.Mean, 0.5)
	assert.Len(t, r.ECG.HR, 151)
	require.NotNil(t, r.EDA)
	assert.GreaterOrEqual(t, len(r.EDA.SCRs), 12)
	require.Len(t, r.Events, 4)
	for i, want := range []int64{1024, 4957, 9224, 12984} {
		assert.Equal(t, want, r.Events[i].Onset)
		require.NotNil(t, r.Events[i].HR, "event %d", i)
	}
	assert.Equal(t, 1, r.Events[0].SCR.Count, "SCR after the first picture")
	assert.Equal(t, 1, r.Events[3].SCR.Count, "SCR after the last picture")
}

func TestAnalyzeFindsColumnsByName(t *testing.T) {
	file := physioData(t, "bio_resting_5min_100hz.csv")
	var out bytes.Buffer
	require.NoError(t, analyze([]string{"--json", file, "--rate=100"}, &out), "flags before and after the file")
	var r jsonReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r))
	require.NotNil(t, r.ECG)
	require.NotNil(t, r.PPG)
	assert.Nil(t, r.EDA)
	assert.InDelta(t, r.ECG.Summary.Mean, r.PPG.Summary.Mean, 1, "ECG and PPG heart rates agree")
}

// A synthetic recording written as a TSV with a trigger column; the text
// summary names what it found.
func TestAnalyzeTextSummary(t *testing.T) {
	var b strings.Builder
	b.WriteString("# made by the test\ntime\tsc\ttrigger\n")
	const rate = 20
	for i := range 60 * rate {
		ts, sc, trig := analysistest.TriggeredSCR(i, rate)
		fmt.Fprintf(&b, "%.2f\t%.4f\t%d\n", ts, sc, trig)
	}
	file := writeFile(t, "rec.tsv", b.String())
	var out bytes.Buffer
	require.NoError(t, analyze([]string{file, "--rate", "20", "--eda", "sc", "--events", "trigger"}, &out))
	text := out.String()
	assert.Contains(t, text, "1200 samples at 20 Hz (60.0 s)")
	assert.Contains(t, text, "sc: 1 SCRs of at least 0.01 µS")
	assert.Contains(t, text, "trigger: 1 events")
	assert.Regexp(t, `20\.00\s+8\s+1\s+–\s+\+0\.\d+\s+1\s+0\.\d+`, text)
}

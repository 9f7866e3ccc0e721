package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A plausible but wrong --rate is a usage error that suggests the rate the
// signal shows; the right one, or --trust-rate, analyses.
func TestAnalyzeRateMustFitTheSignal(t *testing.T) {
	file := physioData(t, "ecg_1000hz.csv")
	cases := []struct {
		name string
		args []string
		want []string // in the error; nil: it analyses
	}{
		{"1 kHz read as 100 Hz", []string{file, "--rate", "100"},
			[]string{file, "100 Hz", "1000 Hz", "--rate 1000", "--trust-rate"}},
		{"the right rate", []string{file, "--rate", "1000"}, nil},
		{"trusted anyway", []string{file, "--rate", "100", "--trust-rate"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := analyze(append(c.args, "--json"), &out)
			if c.want != nil {
				require.Error(t, err)
				assert.Equal(t, 2, exitCode(err), "a usage error: %v", err)
				for _, w := range c.want {
					assert.Contains(t, err.Error(), w)
				}
				assert.Empty(t, out.String(), "nothing printed on error")
				return
			}
			require.NoError(t, err)
			var r jsonReport
			require.NoError(t, json.Unmarshal(out.Bytes(), &r))
			require.NotNil(t, r.ECG)
			assert.Equal(t, 50000, r.Samples)
			assert.NotZero(t, r.ECG.Summary.Beats)
		})
	}
}

// Blank lines in a one-column CSV are gaps: one missing sample each, so
// later samples keep their times; --json and the text summary say so.
func TestAnalyzeBlankLinesAreGaps(t *testing.T) {
	const rate, n = 20, 60 * 20
	var b strings.Builder
	b.WriteString("EDA\n")
	blank := map[int]bool{200: true, 201: true, 700: true}
	for i := range n {
		if blank[i] {
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(&b, "%.4f\n", 2+0.1*math.Sin(float64(i)/rate))
	}
	file := writeFile(t, "sc.csv", b.String())

	var out bytes.Buffer
	require.NoError(t, analyze([]string{file, "--rate", "20", "--json"}, &out))
	var r struct {
		Samples    int `json:"samples"`
		BlankLines int `json:"blank_lines"`
		EDA        *struct {
			Gaps int `json:"gap_samples"`
		} `json:"eda"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	assert.Equal(t, n, r.Samples, "a blank line is a sample, not dropped")
	assert.Equal(t, 3, r.BlankLines)
	require.NotNil(t, r.EDA)
	assert.Equal(t, 3, r.EDA.Gaps)

	out.Reset()
	require.NoError(t, analyze([]string{file, "--rate", "20"}, &out))
	assert.Contains(t, out.String(), "3 blank lines read as gaps")
	assert.Contains(t, out.String(), "3 samples missing (gaps)")
}

func TestAnalyzeSCROptions(t *testing.T) {
	good := writeFile(t, "ok.csv", "EDA\n1\n1\n")
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"relative above 1", []string{"--scr-relative", "2"}, "--scr-relative"},
		{"relative negative", []string{"--scr-relative", "-0.1"}, "--scr-relative"},
		{"relative not a number", []string{"--scr-relative", "NaN"}, "--scr-relative"},
		{"unknown decomposition", []string{"--decompose", "ledalab"}, "filter (fast) or cvxeda"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := analyze(append([]string{good, "--rate", "20"}, c.args...), &out)
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), "a usage error: %v", err)
			assert.Contains(t, err.Error(), c.want)
			assert.Empty(t, out.String())
		})
	}

	file := physioData(t, "bio_eventrelated_100hz.csv")
	for _, m := range []string{"filter", "cvxeda"} {
		t.Run(m, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, analyze([]string{file, "--rate", "100", "--eda", "EDA", "--events", "Photosensor",
				"--scr-relative", "0.1", "--decompose", m, "--json"}, &out))
			var r struct {
				Settings struct {
					Relative      float64 `json:"scr_relative"`
					Decomposition string  `json:"decomposition"`
				} `json:"settings"`
			}
			require.NoError(t, json.Unmarshal(out.Bytes(), &r))
			assert.Equal(t, 0.1, r.Settings.Relative)
			assert.Equal(t, m, r.Settings.Decomposition)
		})
	}
}

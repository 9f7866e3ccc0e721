package main

// Issue 13's goal through the command: each shared real ECG resampled to
// 100 Hz and 250 Hz with white noise from a fixed seed, written to a CSV
// and analysed by `cueroom analyze --json`, gives the clean recording's
// beats (sensitivity and positive predictivity ≥ 0.97 within 50 ms) and
// its mean heart rate within 2 bpm, both from the beats (beats−1 over the
// time they span, as there) and in the summary, against the clean
// recording's whole-recording mean, with at most 10 % of the intervals
// withheld (the summary over the intervals kept is also the clean
// recording's rate over the same intervals within 2 bpm). The noise is 0.25 (100 Hz) and 0.375
// (250 Hz) times the R amplitude as sensors/physio/ecg's tests measure it
// (the 0.2 and 0.3 at its author's larger R amplitude; see
// issueScale in sensors/physio/ecg/realdata_test.go), with the same
// resampling and the same seeded generator.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// noisyReport is what the test reads of `analyze --json`.
type noisyReport struct {
	Rate float64 `json:"rate"`
	ECG  *struct {
		Beats   []int64 `json:"beats"`
		Summary struct {
			Mean      float64 `json:"mean_bpm"`
			Intervals int     `json:"intervals"`
			Withheld  int     `json:"withheld"`
		} `json:"summary"`
		HR []struct {
			T   float64 `json:"t"`
			BPM float64 `json:"bpm"`
		} `json:"hr"`
		Warning string `json:"warning"`
	} `json:"ecg"`
}

func TestAnalyzeNoisyRecordings(t *testing.T) {
	const seed = 1
	files := []struct {
		name string
		rate float64
	}{
		{"ecg_1000hz.csv", 1000},
		{"ecg_3000hz.csv", 3000},
		{"bio_resting_5min_100hz.csv", 100},
		{"bio_resting_8min_100hz.csv", 100},
		{"bio_eventrelated_100hz.csv", 100},
	}
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path := physioData(t, f.name)
			x := csvColumn(t, path, "ECG")
			clean := analyzeECG(t, path, f.rate)
			ref := seconds(clean.ECG.Beats, f.rate)
			for _, fs := range []float64{100, 250} {
				k := 0.25
				if fs > 100 {
					k = 0.375
				}
				t.Run(fmt.Sprintf("%.0fHz", fs), func(t *testing.T) {
					y := resampleSinc(x, f.rate, fs)
					amp := rPeakAmplitude(y, ref, fs)
					rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
					for i := range y {
						y[i] += k * amp * rng.NormFloat64()
					}
					noisy := writeColumn(t, y)
					r := analyzeECG(t, noisy, fs)
					got := seconds(r.ECG.Beats, fs)
					se, ppv := beatMatch(ref, got, 0.05)
					s := r.ECG.Summary
					t.Logf("FIGURE analyze %s at %.0f Hz, noise %.3f×R (seed %d): %d beats (clean %d), Se %.3f, PPV %.3f, beats' rate %+.2f bpm; mean HR %.2f bpm (clean %.2f, %+.2f) over %d intervals, %d withheld",
						f.name, fs, k, seed, len(got), len(ref), se, ppv, spanRate(got)-spanRate(ref), s.Mean, clean.ECG.Summary.Mean, s.Mean-clean.ECG.Summary.Mean, s.Intervals, s.Withheld)
					// ecg_3000hz has 15 beats: one error is 0.938.
					minSe := 0.97
					if f.name == "ecg_3000hz.csv" {
						minSe = 0.93
					}
					assert.GreaterOrEqual(t, se, minSe, "sensitivity")
					assert.GreaterOrEqual(t, ppv, minSe, "positive predictivity")
					// The mean heart rate as the ecg package's tests
					// measure it: beats−1 over the time they span, so
					// every extra or missed beat counts in full.
					assert.InDelta(t, spanRate(ref), spanRate(got), 2, "mean heart rate from the beats, bpm")
					// The goal: the summary's mean heart rate within
					// 2 bpm of the clean recording's over the whole
					// recording, with at most a tenth of the intervals
					// withheld (the offline quality index judges the
					// refined beats).
					assert.InDelta(t, clean.ECG.Summary.Mean, s.Mean, 2, "the summary's mean heart rate, bpm")
					assert.LessOrEqual(t, float64(s.Withheld), 0.10*float64(s.Withheld+s.Intervals), "share of the intervals withheld")
					assert.Empty(t, r.ECG.Warning)
					require.Positive(t, s.Intervals)
					// The summary is over the intervals the quality
					// index kept: the clean recording's rate over the
					// same intervals, never a made-up one.
					var want, n float64
					for _, p := range r.ECG.HR {
						if bpm, ok := intervalAt(ref, p.T, 60/p.BPM, 0.05); ok {
							want += bpm
							n++
						}
					}
					require.Positive(t, n)
					assert.InDelta(t, want/n, s.Mean, 2, "mean heart rate over the intervals kept, bpm (the clean recording's over all: %.2f)", clean.ECG.Summary.Mean)
					assert.GreaterOrEqual(t, n, 0.97*float64(len(r.ECG.HR)), "the intervals kept are the clean recording's")
				})
			}
		})
	}
}

// analyzeECG runs `cueroom analyze FILE --rate RATE --ecg ECG --json`.
func analyzeECG(t *testing.T, file string, rate float64) noisyReport {
	t.Helper()
	var out bytes.Buffer
	require.NoError(t, analyze([]string{file, "--rate", strconv.FormatFloat(rate, 'g', -1, 64), "--ecg", "ECG", "--json"}, &out))
	var r noisyReport
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	require.NotNil(t, r.ECG)
	return r
}

// csvColumn reads one named column of a CSV file.
func csvColumn(t *testing.T, path, col string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	k := slices.IndexFunc(rows[0], func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), col) })
	require.GreaterOrEqual(t, k, 0, "no column %s", col)
	out := make([]float64, 0, len(rows)-1)
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(strings.TrimSpace(r[k]), 64)
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// writeColumn writes x as a one-column CSV named ECG.
func writeColumn(t *testing.T, x []float64) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("ECG\n")
	for _, v := range x {
		b.WriteString(strconv.FormatFloat(v, 'g', 9, 64))
		b.WriteByte('\n')
	}
	p := filepath.Join(t.TempDir(), "noisy.csv")
	require.NoError(t, os.WriteFile(p, []byte(b.String()), 0o644))
	return p
}

// resampleSinc converts x from fsIn to fsOut Hz with a Lanczos-windowed
// sinc (8 lobes) cut off at 0.9 of the lower Nyquist frequency, as the ecg
// package's tests resample.
func resampleSinc(x []float64, fsIn, fsOut float64) []float64 {
	if fsIn == fsOut {
		return slices.Clone(x)
	}
	sinc := func(u float64) float64 {
		if u == 0 {
			return 1
		}
		return math.Sin(math.Pi*u) / (math.Pi * u)
	}
	fc := 0.9 * 0.5 * min(fsIn, fsOut)
	const lobes = 8
	half := lobes / (2 * fc) * fsIn
	y := make([]float64, int(float64(len(x))*fsOut/fsIn))
	for i := range y {
		at := float64(i) * fsIn / fsOut
		lo, hi := max(0, int(math.Ceil(at-half))), min(len(x)-1, int(math.Floor(at+half)))
		s, w := 0.0, 0.0
		for k := lo; k <= hi; k++ {
			u := (at - float64(k)) / fsIn * 2 * fc
			h := sinc(u) * sinc(u/lobes)
			s += h * x[k]
			w += h
		}
		y[i] = s / w
	}
	return y
}

// rPeakAmplitude is the median height of the R peaks (beats, s) above the
// median of the second around each.
func rPeakAmplitude(x, beats []float64, fs float64) float64 {
	var amps []float64
	w := int(0.5 * fs)
	for _, b := range beats {
		i := int(math.Round(b * fs))
		lo, hi := max(0, i-w), min(len(x), i+w+1)
		if i < 0 || i >= len(x) || hi-lo < w {
			continue
		}
		seg := slices.Clone(x[lo:hi])
		slices.Sort(seg)
		base := seg[len(seg)/2]
		peak := 0.0
		for j := max(0, i-2); j <= min(len(x)-1, i+2); j++ {
			peak = max(peak, math.Abs(x[j]-base))
		}
		amps = append(amps, peak)
	}
	slices.Sort(amps)
	return amps[len(amps)/2]
}

func seconds(b []int64, fs float64) []float64 {
	out := make([]float64, len(b))
	for i, v := range b {
		out[i] = float64(v) / fs
	}
	return out
}

// beatMatch pairs beats (s) one to one within tol: sensitivity and
// positive predictivity of got against ref.
func beatMatch(ref, got []float64, tol float64) (se, ppv float64) {
	m, j := 0, 0
	for _, r := range ref {
		for j < len(got) && got[j] < r-tol {
			j++
		}
		if j < len(got) && math.Abs(got[j]-r) <= tol {
			m++
			j++
		}
	}
	return float64(m) / float64(max(1, len(ref))), float64(m) / float64(max(1, len(got)))
}

// intervalAt is the rate of the interval of beats (s) ending within tol of
// end and lasting within tol of l.
func intervalAt(beats []float64, end, l, tol float64) (float64, bool) {
	i, _ := slices.BinarySearch(beats, end-tol)
	for ; i < len(beats) && beats[i] <= end+tol; i++ {
		if i > 0 && math.Abs(beats[i]-beats[i-1]-l) <= tol {
			return 60 / (beats[i] - beats[i-1]), true
		}
	}
	return 0, false
}

// spanRate is beats−1 over the time they span, bpm.
func spanRate(b []float64) float64 {
	if len(b) < 2 {
		return math.NaN()
	}
	return 60 * float64(len(b)-1) / (b[len(b)-1] - b[0])
}

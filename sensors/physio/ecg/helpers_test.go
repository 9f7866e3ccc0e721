package ecg_test

// Helpers for the tests on the shared real recordings: reading the ECG
// column, resampling, adding white noise from a fixed seed, and matching
// beats.

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// recordings are the shared real ECGs and their rates.
var recordings = []struct {
	file string
	rate float64
}{
	{"ecg_1000hz.csv", 1000},
	{"ecg_3000hz.csv", 3000},
	{"bio_resting_5min_100hz.csv", 100},
	{"bio_resting_8min_100hz.csv", 100},
	{"bio_eventrelated_100hz.csv", 100},
}

// noiseLevel is the white noise of the goal, in R amplitudes: 0.2 at 100 Hz,
// 0.3 at 250 Hz.
func noiseLevel(rate float64) float64 {
	if rate <= 100 {
		return 0.2
	}
	return 0.3
}

// readECG reads the column named ECG of a shared recording.
func readECG(tb testing.TB, file string) []float64 {
	tb.Helper()
	return testsig.SharedColumns(tb, file, "ECG")[0]
}

// readRef reads the reference beats of a shared recording: one 0-based
// sample index per line.
func readRef(tb testing.TB, file string) []float64 {
	tb.Helper()
	return testsig.RefBeats(tb, strings.TrimSuffix(file, ".csv")+".ecg.txt")
}

// resample converts x from fsIn to fsOut Hz with a Lanczos-windowed sinc
// whose cut-off is 0.9 of the lower Nyquist frequency: an anti-aliasing
// low-pass when decimating, band-limited interpolation when upsampling.
func resample(x []float64, fsIn, fsOut float64) []float64 {
	if fsIn == fsOut {
		return slices.Clone(x)
	}
	fc := 0.9 * 0.5 * min(fsIn, fsOut) // Hz
	const lobes = 8                    // sinc lobes each side
	half := lobes / (2 * fc) * fsIn    // kernel half-width, input samples
	y := make([]float64, int(float64(len(x))*fsOut/fsIn))
	for i := range y {
		t := float64(i) * fsIn / fsOut // position in input samples
		lo, hi := max(0, int(math.Ceil(t-half))), min(len(x)-1, int(math.Floor(t+half)))
		s, w := 0.0, 0.0
		for k := lo; k <= hi; k++ {
			u := (t - float64(k)) / fsIn * 2 * fc // in sinc zero crossings
			h := sinc(u) * sinc(u/lobes)
			s += h * x[k]
			w += h
		}
		y[i] = s / w
	}
	return y
}

func sinc(u float64) float64 {
	if u == 0 {
		return 1
	}
	return math.Sin(math.Pi*u) / (math.Pi * u)
}

// rAmplitude is the median height of the R peaks of x (beats: sample
// indices of x) above the median of the second around each: the R
// amplitude the noise is scaled to.
func rAmplitude(x []float64, beats []float64, fs float64) float64 {
	var amps []float64
	w := int(0.5 * fs)
	for _, b := range beats {
		i := int(math.Round(b))
		lo, hi := max(0, i-w), min(len(x), i+w+1)
		if i < 0 || i >= len(x) || hi-lo < w {
			continue
		}
		seg := slices.Clone(x[lo:hi])
		slices.Sort(seg)
		base := seg[len(seg)/2]
		peak := 0.0
		for j := max(0, i-2); j <= min(len(x)-1, i+2); j++ { // the resampled peak may move a sample
			peak = max(peak, math.Abs(x[j]-base))
		}
		amps = append(amps, peak)
	}
	slices.Sort(amps)
	return amps[len(amps)/2]
}

// addNoise returns x plus white Gaussian noise of standard deviation sd.
func addNoise(x []float64, sd float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v + sd*rng.NormFloat64()
	}
	return y
}

// run feeds x to a new detector and returns the beats in seconds and every
// quality verdict.
func run(tb testing.TB, x []float64, fs float64) (beats []float64, verdicts []ecg.Quality) {
	tb.Helper()
	d, err := ecg.New(fs, ecg.Auto)
	require.NoError(tb, err)
	var seq int64
	for _, v := range x {
		for _, b := range d.Push(v) {
			beats = append(beats, b/fs)
		}
		if q := d.Quality(); q.Seq != seq {
			seq = q.Seq
			verdicts = append(verdicts, q)
		}
	}
	return beats, verdicts
}

// matchStats compares detections with reference beats (both in seconds),
// one to one within a tolerance.
type matchStats struct {
	ref, got, matched int
	se, ppv           float64
	hrRef, hrGot      float64 // bpm over the whole span (meanRate)
	errMs             float64 // median |timing error| of the matched beats
	missed, extra     []float64
}

func matchBeats(ref, got []float64, tol float64) matchStats {
	s := matchStats{ref: len(ref), got: len(got)}
	used := make([]bool, len(got))
	var errs []float64
	j := 0
	for _, r := range ref {
		for j < len(got) && got[j] < r-tol {
			j++
		}
		if j < len(got) && math.Abs(got[j]-r) <= tol {
			used[j] = true
			errs = append(errs, 1000*math.Abs(got[j]-r))
			s.matched++
			j++
		} else {
			s.missed = append(s.missed, r)
		}
	}
	for i, u := range used {
		if !u {
			s.extra = append(s.extra, got[i])
		}
	}
	s.se = float64(s.matched) / float64(max(1, s.ref))
	s.ppv = float64(s.matched) / float64(max(1, s.got))
	s.hrRef, s.hrGot = meanRate(ref), meanRate(got)
	if len(errs) > 0 {
		slices.Sort(errs)
		s.errMs = errs[len(errs)/2]
	}
	return s
}

// meanRate is the heart rate over the whole span: beats−1 intervals over
// the time they take, so every extra or missed beat counts in full (no
// interval correction).
func meanRate(b []float64) float64 {
	if len(b) < 2 {
		return math.NaN()
	}
	return 60 * float64(len(b)-1) / (b[len(b)-1] - b[0])
}

// scaled returns x times f.
func scaled(x []float64, f float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = v * f
	}
	return y
}

package ecg_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
	"github.com/cueroom/cueroom/sensors/synth"
)

func detect(t *testing.T, x []float64, fs float64, pol ecg.Polarity) []float64 {
	t.Helper()
	d, err := ecg.New(fs, pol)
	require.NoError(t, err)
	var got []float64
	for _, v := range x {
		for _, b := range d.Push(v) {
			got = append(got, b/fs)
		}
	}
	return got
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}

func meanHR(beats []float64) float64 {
	return 60 * float64(len(beats)-1) / (beats[len(beats)-1] - beats[0])
}

// The simulator's R peaks are the truth; noise from clean to heavy.
func TestDetectsSimulatedBeats(t *testing.T) {
	cases := []struct {
		name  string
		rate  float64
		hr    float64
		noise float64 // mV, R wave is about 1 mV
	}{
		{"clean 250 Hz", 250, 70, 0.005},
		{"noisy 250 Hz", 250, 70, 0.05},
		{"very noisy 250 Hz", 250, 70, 0.15},
		{"100 Hz", 100, 70, 0.05},
		{"1000 Hz", 1000, 70, 0.05},
		{"fast heart 500 Hz", 500, 150, 0.05},
		{"slow heart", 250, 45, 0.05},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := testsig.Make(testsig.Config{Seed: uint64(10 + i), Rate: c.rate, Duration: 120 * time.Second,
				Synth: synth.Config{HeartRate: c.hr, ECGNoise: c.noise}})
			got := detect(t, rec.ECG, c.rate, ecg.Auto)
			truth := rec.Beats
			m, errs := testsig.Match(truth, got, 0.05)
			assert.GreaterOrEqual(t, float64(m)/float64(len(truth)), 0.99, "sensitivity: %d of %d beats", m, len(truth))
			assert.GreaterOrEqual(t, float64(m)/float64(len(got)), 0.99, "positive predictivity: %d of %d detections", m, len(got))
			assert.LessOrEqual(t, median(errs), 0.008, "median timing error, s")
			assert.InDelta(t, meanHR(truth), meanHR(got), 1, "mean heart rate, bpm")
		})
	}
}

func TestInvertedLead(t *testing.T) {
	rec := testsig.Make(testsig.Config{Seed: 3, Rate: 250, Duration: 60 * time.Second, Synth: synth.Config{ECGNoise: 0.02}})
	inv := make([]float64, len(rec.ECG))
	for i, v := range rec.ECG {
		inv[i] = -v
	}
	for _, pol := range []ecg.Polarity{ecg.Auto, ecg.Negative} {
		got := detect(t, inv, 250, pol)
		m, errs := testsig.Match(rec.Beats, got, 0.05)
		assert.GreaterOrEqual(t, m, len(rec.Beats)-2, "polarity %d", pol)
		assert.LessOrEqual(t, median(errs), 0.008, "polarity %d: R is the negative peak", pol)
	}
}

// One huge artefact must not blind the detector: beats come back within
// a few seconds.
func TestRecoversAfterSpike(t *testing.T) {
	rec := testsig.Make(testsig.Config{Seed: 4, Rate: 250, Duration: 60 * time.Second})
	x := slices.Clone(rec.ECG)
	for i := 7500; i < 7510; i++ {
		x[i] = 1e6
	}
	got := detect(t, x, 250, ecg.Auto)
	var after []float64
	for _, b := range rec.Beats {
		if b > 36 {
			after = append(after, b)
		}
	}
	m, _ := testsig.Match(after, got, 0.05)
	assert.GreaterOrEqual(t, m, len(after)-1, "beats from 6 s after the spike on")
	for _, v := range got {
		assert.False(t, math.IsNaN(v))
	}
}

func TestNoBeatsInFlatOrNoise(t *testing.T) {
	flat := make([]float64, 5000)
	assert.Empty(t, detect(t, flat, 250, ecg.Auto), "flat line")
}

func TestRejectsLowRate(t *testing.T) {
	for _, fs := range []float64{0, -1, 10, 49.9, math.NaN(), math.Inf(1)} {
		_, err := ecg.New(fs, ecg.Auto)
		assert.Error(t, err, "rate %g", fs)
	}
	_, err := ecg.New(50, ecg.Auto)
	assert.NoError(t, err)
}

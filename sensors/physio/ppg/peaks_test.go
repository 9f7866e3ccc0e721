package ppg_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
	"github.com/cueroom/cueroom/sensors/physio/ppg"
	"github.com/cueroom/cueroom/sensors/synth"
)

func detect(t *testing.T, x []float64, fs float64) []float64 {
	t.Helper()
	d, err := ppg.New(fs)
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

// The systolic peaks of a PPG built on the simulator's beats are the truth.
func TestDetectsSimulatedPulses(t *testing.T) {
	cases := []struct {
		name  string
		rate  float64
		hr    float64
		noise float64 // in pulse amplitudes
	}{
		{"clean 100 Hz", 100, 70, 0},
		{"noisy 100 Hz", 100, 70, 0.05},
		{"very noisy 100 Hz", 100, 70, 0.15},
		{"50 Hz", 50, 70, 0.05},
		{"1000 Hz", 1000, 70, 0.05},
		{"fast heart", 250, 140, 0.05},
		{"slow heart", 250, 45, 0.05},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := testsig.Make(testsig.Config{Seed: uint64(20 + i), Rate: c.rate, Duration: 120 * time.Second,
				Synth: synth.Config{HeartRate: c.hr}, PPGNoise: c.noise})
			got := detect(t, rec.PPG, c.rate)
			// The first pulses come while the windows fill.
			truth := rec.Pulses[2:]
			for len(got) > 0 && got[0] < truth[0]-0.05 {
				got = got[1:]
			}
			m, errs := testsig.Match(truth, got, 0.05)
			assert.GreaterOrEqual(t, float64(m)/float64(len(truth)), 0.98, "sensitivity: %d of %d", m, len(truth))
			assert.GreaterOrEqual(t, float64(m)/float64(len(got)), 0.98, "positive predictivity: %d of %d", m, len(got))
			assert.LessOrEqual(t, median(errs), 0.015, "median timing error, s")
		})
	}
}

func TestNothingFromFlatSignal(t *testing.T) {
	assert.Empty(t, detect(t, make([]float64, 3000), 100))
}

func TestRejectsLowRate(t *testing.T) {
	for _, fs := range []float64{0, 5, 19, math.NaN(), math.Inf(1)} {
		_, err := ppg.New(fs)
		assert.Error(t, err, "rate %g", fs)
	}
}

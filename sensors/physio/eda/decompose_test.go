package eda_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// synthetic is a known tonic level (a slow drift and wobble) plus Bateman
// responses (τ0 2 s, τ1 0.7 s: cvxEDA's model) to driver bursts at the
// given times, scaled to the given peak amplitudes, plus white noise.
func synthetic(fs, dur float64, at, amp []float64, noise float64, seed uint64) (x, tonic, phasic []float64) {
	n := int(dur * fs)
	x, tonic, phasic = make([]float64, n), make([]float64, n), make([]float64, n)
	// Peak of e^(−t/2) − e^(−t/0.7): at t = ln(2/0.7)·(2·0.7)/(2−0.7).
	tp := math.Log(2/0.7) * 2 * 0.7 / (2 - 0.7)
	hp := math.Exp(-tp/2) - math.Exp(-tp/0.7)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range n {
		t := float64(i) / fs
		tonic[i] = 5 + 0.8*t/dur + 0.15*math.Sin(2*math.Pi*t/70)
		for k, a := range at {
			if u := t - a; u > 0 {
				phasic[i] += amp[k] * (math.Exp(-u/2) - math.Exp(-u/0.7)) / hp
			}
		}
		x[i] = tonic[i] + phasic[i] + noise*rng.NormFloat64()
	}
	return x, tonic, phasic
}

func rms(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += (a[i] - b[i]) * (a[i] - b[i])
	}
	return math.Sqrt(s / float64(len(a)))
}

func TestDecompose(t *testing.T) {
	at := []float64{15, 40, 47, 80, 100, 104, 140}
	amp := []float64{0.8, 0.3, 0.5, 1.2, 0.2, 0.6, 0.4}
	cases := []struct {
		name      string
		method    eda.Method
		fs        float64
		tonicRMS  float64 // µS, largest RMS error of the tonic level
		phasicRMS float64
	}{
		{"filter, 100 Hz", eda.Filter, 100, 0.2, 0.2},
		{"cvxEDA, 100 Hz", eda.CvxEDA, 100, 0.03, 0.03},
		{"cvxEDA, 1000 Hz", eda.CvxEDA, 1000, 0.03, 0.03},
		{"cvxEDA, 10 Hz", eda.CvxEDA, 10, 0.03, 0.03},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, tonic, phasic := synthetic(c.fs, 160, at, amp, 0.005, 1)
			d, err := eda.Decompose(x, c.fs, c.method, 0, eda.CvxConfig{})
			require.NoError(t, err)
			require.Len(t, d.Tonic, len(x))
			require.Len(t, d.Phasic, len(x))
			assert.Equal(t, c.method, d.Method)
			eT, eP := rms(d.Tonic, tonic), rms(d.Phasic, phasic)
			t.Logf("%s: tonic RMS error %.3f µS, phasic %.3f µS", c.name, eT, eP)
			assert.Less(t, eT, c.tonicRMS)
			assert.Less(t, eP, c.phasicRMS)
			sum := make([]float64, len(x))
			for i := range x {
				sum[i] = d.Tonic[i] + d.Phasic[i]
			}
			if c.method == eda.Filter {
				assert.InDelta(t, 0, rms(sum, x), 1e-9, "filter: tonic + phasic is the signal")
				assert.Nil(t, d.Driver)
				return
			}
			assert.Less(t, rms(sum, x), 0.02, "cvxEDA: tonic + phasic fits the signal to within its noise")
			// The driver is non-negative and sparse, and bursts where the
			// responses start.
			big, busy := 0.0, 0
			for _, v := range d.Driver {
				require.GreaterOrEqual(t, v, 0.0)
				big = max(big, v)
			}
			for _, v := range d.Driver {
				if v > 0.05*big {
					busy++
				}
			}
			assert.Less(t, float64(busy)/float64(len(x)), 0.1, "driver active under 10 % of the time")
			for k, a := range at {
				peak, pos := 0.0, 0.0
				for i := int((a - 1) * c.fs); i < int((a+1)*c.fs); i++ {
					if d.Driver[i] > peak {
						peak, pos = d.Driver[i], float64(i)/c.fs
					}
				}
				assert.Greater(t, peak, 0.05*big, "a driver burst for the response at %g s", a)
				assert.InDelta(t, a, pos, 0.5, "burst %d", k)
			}
		})
	}
}

func TestDecomposeEdges(t *testing.T) {
	for _, m := range []eda.Method{eda.Filter, eda.CvxEDA} {
		for _, x := range [][]float64{nil, {5}, {5, 5, 5}, make([]float64, 1000)} {
			d, err := eda.Decompose(x, 100, m, 0, eda.CvxConfig{})
			require.NoError(t, err, "%s, %d samples", m, len(x))
			assert.Len(t, d.Tonic, len(x))
			for i := range x {
				assert.InDelta(t, x[i], d.Tonic[i]+d.Phasic[i], 1e-9)
			}
		}
	}
	_, err := eda.Decompose([]float64{1, 2}, 0, eda.Filter, 0, eda.CvxConfig{})
	assert.Error(t, err)
	_, err = eda.Decompose([]float64{1, 2}, 10, "ledalab", 0, eda.CvxConfig{})
	assert.ErrorContains(t, err, "unknown decomposition")
}

func TestParseMethod(t *testing.T) {
	for in, want := range map[string]eda.Method{"": eda.Filter, "filter": eda.Filter, "cvxeda": eda.CvxEDA} {
		m, err := eda.ParseMethod(in)
		require.NoError(t, err)
		assert.Equal(t, want, m)
	}
	_, err := eda.ParseMethod("cda")
	assert.ErrorContains(t, err, `"filter" or "cvxeda"`)
}

// On the real event-related recording cvxEDA converges, its driver is
// non-negative and its phasic part is nowhere much below zero, and it is
// quick (see BenchmarkCvxEDA).
func TestCvxEDARealRecording(t *testing.T) {
	x := sharedEDA(t, "bio_eventrelated_100hz.csv", "EDA")
	d, err := eda.Decompose(x, 100, eda.CvxEDA, 0, eda.CvxConfig{})
	require.NoError(t, err)
	for i := range x {
		require.GreaterOrEqual(t, d.Driver[i], 0.0)
		require.Greater(t, d.Phasic[i], -0.05, "sample %d", i)
		require.False(t, math.IsNaN(d.Tonic[i]))
	}
	// Before the first response (0–9 s) the signal is all tonic.
	for i := 0; i < 900; i++ {
		require.Less(t, math.Abs(d.Phasic[i]), 0.05, "sample %d", i)
	}
}

func BenchmarkCvxEDA(b *testing.B) {
	x, _, _ := synthetic(100, 300, []float64{15, 40, 47, 80, 100, 104, 140, 200, 250}, []float64{0.8, 0.3, 0.5, 1.2, 0.2, 0.6, 0.4, 1, 0.1}, 0.005, 2)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eda.Decompose(x, 100, eda.CvxEDA, 0, eda.CvxConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(300/(b.Elapsed().Seconds()/float64(b.N)), "x-realtime")
}

// sharedEDA reads a column of a shared recording, or skips.
func sharedEDA(t *testing.T, file, col string) []float64 {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "..", "shared", "data", "physio")
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		t.Skipf("real recordings not found at %s (shared/ must sit beside the repository)", dir)
	}
	defer f.Close()
	cols, err := offline.ReadCSV(f, file, []string{col})
	require.NoError(t, err)
	return cols[0].Values
}

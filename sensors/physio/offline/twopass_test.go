package offline_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// The second pass always finds the most regular sequence of beats, even in
// noise; the first pass's quality verdicts must still withhold the heart
// rate wherever the ECG is not ECG: never a made-up rhythm.
func TestTwoPassWithholdsWhatIsNotECG(t *testing.T) {
	const fs = 250.0
	const n = int(5 * 60 * fs)
	rng := rand.New(rand.NewPCG(21, 3))
	noise := make([]float64, n)
	for i := range noise {
		noise[i] = rng.NormFloat64()
	}
	clean := shared(t, "bio_resting_8min_100hz.csv", "ECG")[0]
	ref, err := offline.Analyze(offline.Input{Rate: 100, ECG: clean}, offline.Config{})
	require.NoError(t, err)
	amp := rAmplitude(clean, ref.ECG.Beats, 100)
	// Lead-off from 120 to 240 s: the amplifier rails, with a little
	// noise and mains hum on it.
	leadOff := slices.Clone(clean)
	for i := 12000; i < 24000; i++ {
		tt := float64(i) / 100
		leadOff[i] = 20*amp + 0.05*amp*rng.NormFloat64() + 0.1*amp*math.Sin(2*math.Pi*50*tt+0.3)
	}
	// A stretch of noise many R amplitudes strong, then a lead off.
	noisy := slices.Clone(clean)
	for i := 12000; i < 24000; i++ {
		noisy[i] += 3 * amp * rng.NormFloat64()
	}
	cases := []struct {
		name     string
		x        []float64
		rate     float64
		from, to float64 // s of the stretch that is not ECG; 0, 0: all
	}{
		{"white noise", noise, fs, 0, 0},
		{"flat line", make([]float64, n), fs, 0, 0},
		{"random walk", cumsum(noise), fs, 0, 0},
		{"lead off for two minutes", leadOff, 100, 120, 240},
		{"noise 3× R for two minutes", noisy, 100, 120, 240},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := offline.Analyze(offline.Input{Rate: c.rate, ECG: c.x}, offline.Config{})
			require.NoError(t, err)
			h := rep.ECG
			t.Logf("%d beats, %d intervals (mean %.1f bpm), %d withheld, unusable %v; %q",
				len(h.Beats), h.Summary.Intervals, h.Summary.Mean, h.Summary.Withheld, h.Unusable, h.Warning)
			if c.to == 0 {
				assert.Zero(t, h.Summary.Intervals, "no heart rate from what is not an ECG")
				assert.Empty(t, h.HR)
				assert.Zero(t, h.Summary.Mean)
				assert.Contains(t, h.Warning, "too noisy")
				return
			}
			// The ECG around the stretch still gives its heart rate;
			// nothing inside the stretch does.
			assert.InDelta(t, ref.ECG.Summary.Mean, h.Summary.Mean, 2)
			assert.Positive(t, h.Summary.Withheld)
			for _, p := range h.HR {
				mid := p.T - 30/p.BPM
				assert.False(t, mid > c.from && mid < c.to, "a heart rate of %.1f bpm at %.2f s, inside %v–%v s", p.BPM, p.T, c.from, c.to)
			}
		})
	}
}

func cumsum(x []float64) []float64 {
	out := make([]float64, len(x))
	s := 0.0
	for i, v := range x {
		s += v
		out[i] = s
	}
	return out
}

// A long recording is refined a window at a time: across gaps and window
// boundaries no beat is lost or doubled, so a noisy 20-minute ECG at 250 Hz
// gives the clean one's beats.
func TestTwoPassLongRecordingWithGaps(t *testing.T) {
	clean := shared(t, "bio_resting_8min_100hz.csv", "ECG")[0]
	// 20 minutes: the recording two and a half times, joined where the
	// ECG is near its baseline would not matter (the joins are gaps).
	var x []float64
	for range 3 {
		x = append(x, clean...)
	}
	x = x[:120000]
	for i := 50000; i < 50100; i++ { // a 1 s gap
		x[i] = math.NaN()
	}
	ref, err := offline.Analyze(offline.Input{Rate: 100, ECG: x}, offline.Config{})
	require.NoError(t, err)
	amp := rAmplitude(clean, ref.ECG.Beats[:400], 100)
	rng := rand.New(rand.NewPCG(5, 5))
	y := slices.Clone(x)
	for i := range y {
		y[i] += 0.25 * amp * rng.NormFloat64()
	}
	got, err := offline.Analyze(offline.Input{Rate: 100, ECG: y}, offline.Config{})
	require.NoError(t, err)
	se, ppv := matchIdx(ref.ECG.Beats, got.ECG.Beats, 5)
	t.Logf("clean %d beats, noisy %d: Se %.4f, PPV %.4f; mean HR %.2f vs %.2f bpm, %d of %d intervals withheld",
		len(ref.ECG.Beats), len(got.ECG.Beats), se, ppv, got.ECG.Summary.Mean, ref.ECG.Summary.Mean, got.ECG.Summary.Withheld, got.ECG.Summary.Withheld+got.ECG.Summary.Intervals)
	assert.GreaterOrEqual(t, se, 0.99)
	assert.GreaterOrEqual(t, ppv, 0.99)
	for i := 1; i < len(got.ECG.Beats); i++ {
		assert.Greater(t, got.ECG.Beats[i]-got.ECG.Beats[i-1], int64(25), "beats at %d and %d", got.ECG.Beats[i-1], got.ECG.Beats[i])
	}
}

// matchIdx pairs beats (sample indices) within tol samples: sensitivity and
// positive predictivity of got against ref.
func matchIdx(ref, got []int64, tol int64) (se, ppv float64) {
	i, j, m := 0, 0, 0
	for i < len(ref) && j < len(got) {
		switch d := got[j] - ref[i]; {
		case d < -tol:
			j++
		case d > tol:
			i++
		default:
			m++
			i++
			j++
		}
	}
	return float64(m) / float64(max(1, len(ref))), float64(m) / float64(max(1, len(got)))
}

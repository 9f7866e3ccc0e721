package offline

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What is not an ECG must score below the offline quality index's
// threshold in every window, with margin: white noise, a random walk,
// mains hum (with a little noise), a lead off (the rail with hum) and a
// flat line, at 100 and 250 Hz, give no heart rate; the highest window
// score each reaches is logged (VALIDATION.md).
func TestSQINotECGScoresLow(t *testing.T) {
	for _, fs := range []float64{100, 250} {
		n := int(5 * 60 * fs)
		rng := rand.New(rand.NewPCG(7, uint64(fs)))
		gen := map[string]func(i int) float64{
			"white noise": func(int) float64 { return rng.NormFloat64() },
			"flat line":   func(int) float64 { return 0 },
			"mains hum": func(i int) float64 {
				return math.Sin(2*math.Pi*50*float64(i)/fs) + 0.05*rng.NormFloat64()
			},
			"lead off": func(i int) float64 {
				return 20 + 0.05*rng.NormFloat64() + 0.1*math.Sin(2*math.Pi*60*float64(i)/fs+0.3)
			},
		}
		walk := 0.0
		gen["random walk"] = func(int) float64 { walk += rng.NormFloat64(); return walk }
		for _, name := range []string{"white noise", "flat line", "mains hum", "lead off", "random walk"} {
			x := make([]float64, n)
			for i := range x {
				x[i] = gen[name](i)
			}
			hs, err := newHeartStream(fs, Config{}, true)
			require.NoError(t, err)
			for _, v := range x {
				hs.add(v)
			}
			h := hs.finish()
			top := 0.0
			for _, q := range hs.lastVerdicts.Verdicts() {
				top = max(top, q.Corr)
			}
			t.Logf("FIGURE %s at %.0f Hz: %d beats, highest window score %.2f (threshold %.1f), %d intervals", name, fs, len(h.Beats), top, minScore, h.Summary.Intervals)
			assert.Less(t, top, minScore/1.15, "%s at %.0f Hz: a window scored near an ECG's", name, fs)
			assert.Zero(t, h.Summary.Intervals, "%s at %.0f Hz", name, fs)
			assert.Contains(t, h.Warning, "too noisy")
		}
	}
}

package ecg_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// windowHR is the heart rate of the beats (s) in [from, to), as a verdict
// computes it; ok false under 2 beats.
func windowHR(beats []float64, from, to float64) (float64, bool) {
	var in []float64
	for _, b := range beats {
		if b >= from && b < to {
			in = append(in, b)
		}
	}
	if len(in) < 2 {
		return 0, false
	}
	return meanRate(in), true
}

// The signal-quality verdicts on the shared recordings with white noise from
// none to five times the goal's: a window judged usable never has a heart
// rate more than 5 % off the clean recording's (where that one is usable
// itself), the goal's noise leaves most windows usable, and from three
// times the goal's noise on every window is unusable.
func TestQualityOnNoisyRecordings(t *testing.T) {
	const seed = 1
	for _, r := range recordings {
		ref := reference(t, r.file, r.rate)
		refOK := map[int64]bool{} // window end (s) → usable on the clean recording
		for _, v := range ref.verdicts {
			refOK[int64(math.Round(v.To/r.rate))] = v.Usable()
		}
		for _, fs := range []float64{100, 250} {
			for _, mult := range []float64{0, 1, 1.5, 2, 3, 5} {
				k := mult * noiseLevel(fs)
				t.Run(fmt.Sprintf("%s/%.0fHz/noise%.2f", r.file, fs, k), func(t *testing.T) {
					_, verdicts := run(t, ref.noisy(fs, k, seed), fs)
					require.NotEmpty(t, verdicts)
					usable, comparable, usableOfComparable := 0, 0, 0
					worst := 0.0
					for _, v := range verdicts {
						from, to := v.From/fs, v.To/fs
						ok := refOK[int64(math.Round(to))]
						if ok {
							comparable++
						}
						if !v.Usable() {
							continue
						}
						usable++
						if !ok {
							continue // the clean recording gives no trustworthy rate here
						}
						usableOfComparable++
						hr, _ := windowHR(ref.beats, from, to)
						e := math.Abs(v.HR-hr) / hr
						worst = max(worst, e)
						assert.LessOrEqual(t, e, 0.05, "usable window %.0f–%.0f s: %.1f bpm, clean recording %.1f bpm", from, to, v.HR, hr)
					}
					share := float64(usableOfComparable) / float64(max(1, comparable))
					t.Logf("FIGURE sqi %s at %.0f Hz, noise %.2f×R: %d of %d windows usable (%.0f %% of those usable on the clean recording); worst HR error in a usable window %.1f %%",
						r.file, fs, k, usable, len(verdicts), 100*share, 100*worst)
					switch {
					case mult <= 1:
						assert.GreaterOrEqual(t, share, 0.8, "the goal's noise leaves most windows usable")
					case mult == 2:
						assert.LessOrEqual(t, float64(usable)/float64(len(verdicts)), 0.05)
					case mult >= 3:
						assert.Zero(t, usable, "the signal is unusable and must say so")
					}
				})
			}
		}
	}
}

func TestQualityWithoutECG(t *testing.T) {
	const fs = 250.0
	cases := []struct {
		name string
		x    func(i int) float64
	}{
		{"flat line", func(int) float64 { return 0.1 }},
		{"white noise", func() func(int) float64 {
			n := addNoise(make([]float64, 30*int(fs)), 0.3, 7)
			return func(i int) float64 { return n[i] }
		}()},
		{"mains hum", func(i int) float64 { return 0.5 * math.Sin(2*math.Pi*50*float64(i)/fs) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := ecg.New(fs, ecg.Auto)
			require.NoError(t, err)
			var seq int64
			verdicts := 0
			for i := range 30 * int(fs) {
				d.Push(c.x(i))
				if q := d.Quality(); q.Seq != seq {
					seq = q.Seq
					verdicts++
					assert.False(t, q.Usable(), "%.0f s: %+v", q.To/fs, q)
				}
			}
			assert.Greater(t, verdicts, 20)
		})
	}
}

// After a gap the verdict is "too few beats" at once, and usable again once
// enough new signal is judged.
func TestQualityAfterReset(t *testing.T) {
	ref := reference(t, "bio_eventrelated_100hz.csv", 100)
	d, err := ecg.New(100, ecg.Auto)
	require.NoError(t, err)
	assert.Zero(t, d.Quality().Seq, "no verdict before any signal")
	assert.False(t, d.Quality().Usable())
	for _, v := range ref.x[:3000] {
		d.Push(v)
	}
	before := d.Quality()
	require.True(t, before.Usable(), "%+v", before)
	d.Reset()
	after := d.Quality()
	assert.Greater(t, after.Seq, before.Seq)
	assert.Equal(t, ecg.FewBeats, after.Problem)
	for i, v := range ref.x[3000:4000] {
		d.Push(v)
		if i < 500 {
			assert.False(t, d.Quality().Usable(), "%d samples after the gap", i)
		}
	}
	assert.True(t, d.Quality().Usable(), "%+v", d.Quality())
	assert.GreaterOrEqual(t, d.Quality().From, 3000.0, "no window spans the gap")
}

func TestProblemString(t *testing.T) {
	assert.Equal(t, "ok", ecg.Problem(0).String())
	assert.Equal(t, "irregular intervals, noise", (ecg.Irregular | ecg.Noise).String())
}

func TestQualityLog(t *testing.T) {
	ref := reference(t, "bio_resting_5min_100hz.csv", 100)
	d, err := ecg.New(100, ecg.Auto)
	require.NoError(t, err)
	log := ecg.QualityLog{Rate: 100}
	for i, v := range ref.x {
		if i == 15000 {
			d.Reset() // a gap in the middle
		}
		d.Push(v)
		log.Add(d.Quality())
		log.Add(d.Quality()) // repeats are ignored
	}
	vs := log.Verdicts()
	for k := 1; k < len(vs); k++ {
		require.Greater(t, vs[k].Seq, vs[k-1].Seq)
	}
	// One a second, less the 5 s after the gap before the first new one,
	// plus the gap's own.
	assert.Equal(t, len(ref.verdicts)-5+1, len(vs))
	q, ok := log.At(100)
	assert.True(t, ok && q.From == 0, "the first window covers the first second")
	q, ok = log.At(14950)
	assert.True(t, ok && q.To == 14900, "the last second before the gap takes the last window before it")
	_, ok = log.At(40000)
	assert.False(t, ok, "past the end")
	q, ok = log.At(15100)
	assert.True(t, ok && q.From == 15000, "the first window after the gap starts at it")
	for _, i := range []float64{700, 3000, 14850, 15600, 20000, 28850} {
		q, ok := log.At(i)
		require.True(t, ok, "sample %g", i)
		assert.LessOrEqual(t, q.From, i)
		assert.Greater(t, q.To, i)
		if i == 3000 || i == 20000 { // away from the ends and the gap
			assert.InDelta(t, i, (q.From+q.To)/2, 50, "the window centred nearest")
		}
	}
	unusable := 0
	for i := 0.0; i < 30000; i += 100 {
		if q, ok := log.At(i); ok && !q.Usable() {
			unusable++
		}
	}
	t.Logf("FIGURE sqi-log bio_resting_5min_100hz: %d of 300 seconds unusable (the movement artefacts)", unusable)
	assert.Less(t, unusable, 60)
}

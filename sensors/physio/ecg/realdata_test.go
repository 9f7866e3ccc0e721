package ecg_test

// The goal of issue 13 on the shared real recordings: each ECG resampled to
// 100 Hz and 250 Hz, with white noise of 0.2 (100 Hz) or 0.3 (250 Hz) times
// the R amplitude from a fixed seed, must give sensitivity and positive
// predictivity of at least 0.97 against the beats found on the clean
// recording at its own rate (within 50 ms) and a mean heart rate within
// 2 bpm. Run with -v for the figures (lines starting FIGURE).

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// clean is a recording at its own rate and what the detector found on it.
type clean struct {
	x        []float64
	rate     float64
	beats    []float64 // s
	verdicts []ecg.Quality
	at       map[float64][]float64 // resampled to a rate
	amp      map[float64]float64   // R amplitude at that rate
}

var (
	cleanMu  sync.Mutex
	cleanRun = map[string]*clean{}
)

// reference runs the detector on a recording at its own rate, once.
func reference(tb testing.TB, file string, rate float64) *clean {
	tb.Helper()
	cleanMu.Lock()
	defer cleanMu.Unlock()
	if c, ok := cleanRun[file]; ok {
		return c
	}
	c := &clean{x: readECG(tb, file), rate: rate, at: map[float64][]float64{}, amp: map[float64]float64{}}
	c.beats, c.verdicts = run(tb, c.x, rate)
	cleanRun[file] = c
	return c
}

// noisy is the recording resampled to fs with white noise of k R amplitudes
// (the R amplitude measured on the resampled clean signal at the reference
// beats).
func (c *clean) noisy(fs, k float64, seed uint64) []float64 {
	cleanMu.Lock()
	y, ok := c.at[fs]
	if !ok {
		y = resample(c.x, c.rate, fs)
		c.at[fs], c.amp[fs] = y, rAmplitude(y, scaled(c.beats, fs), fs)
	}
	amp := c.amp[fs]
	cleanMu.Unlock()
	if k == 0 {
		return y
	}
	return addNoise(y, k*amp, seed)
}

func TestNoisyRecordings(t *testing.T) {
	const seed = 1
	for _, r := range recordings {
		for _, fs := range []float64{100, 250} {
			for _, mult := range []float64{0, 1} {
				k := mult * noiseLevel(fs)
				t.Run(fmt.Sprintf("%s/%.0fHz/noise%.1f", r.file, fs, k), func(t *testing.T) {
					ref := reference(t, r.file, r.rate)
					got, _ := run(t, ref.noisy(fs, k, seed), fs)
					s := matchBeats(ref.beats, got, 0.05)
					ind := matchBeats(scaled(readRef(t, r.file), 1/r.rate), got, 0.05)
					t.Logf("FIGURE ecg %s at %.0f Hz, noise %.1f×R: ref %d, ours %d, Se %.3f, PPV %.3f, |error| median %.1f ms; mean HR %.2f vs %.2f bpm (%+.2f); against the independent reference: Se %.3f, PPV %.3f",
						r.file, fs, k, s.ref, s.got, s.se, s.ppv, s.errMs, s.hrGot, s.hrRef, s.hrGot-s.hrRef, ind.se, ind.ppv)
					if len(s.missed)+len(s.extra) > 0 {
						t.Logf("  missed %.2f, extra %.2f (s)", s.missed, s.extra)
					}
					assert.GreaterOrEqual(t, s.se, 0.97, "sensitivity")
					assert.GreaterOrEqual(t, s.ppv, 0.97, "positive predictivity")
					assert.InDelta(t, s.hrRef, s.hrGot, 2, "mean heart rate, bpm")
				})
			}
		}
	}
}

// Against the independent reference beats of sensors/physio/testdata/ref (a non-causal
// re-implementation of NeuroKit2's default method, see the README there),
// on the clean recordings at their own rate.
func TestCleanRecordingsAgainstIndependentReference(t *testing.T) {
	for _, r := range recordings {
		t.Run(r.file, func(t *testing.T) {
			ref := reference(t, r.file, r.rate)
			s := matchBeats(scaled(readRef(t, r.file), 1/r.rate), ref.beats, 0.05)
			t.Logf("FIGURE ecg-independent %s: ref %d, ours %d, Se %.3f, PPV %.3f, |error| median %.1f ms; missed %.2f, extra %.2f (s)",
				r.file, s.ref, s.got, s.se, s.ppv, s.errMs, s.missed, s.extra)
			// The two disagree only at the edges of the short files (a
			// T wave of a beat cut off at 0.22 s in ecg_3000hz, an R
			// peak at 0.02 s in ecg_1000hz that the reference misses)
			// and in the movement artefacts of bio_resting_5min
			// (92.7 s, 217–262 s, 295 s), where both guess.
			assert.GreaterOrEqual(t, s.se, 0.93)
			assert.GreaterOrEqual(t, s.ppv, 0.97)
			assert.LessOrEqual(t, s.errMs, 10.0)
		})
	}
}

// A beat is never reported twice: the clean recordings have no two beats
// within 360 ms (the PVC-like complex at 127 s and the artefact at 92.8 s of
// bio_resting_5min once gave two each).
func TestNoDoubleBeats(t *testing.T) {
	for _, r := range recordings {
		ref := reference(t, r.file, r.rate)
		for i := 1; i < len(ref.beats); i++ {
			assert.GreaterOrEqual(t, ref.beats[i]-ref.beats[i-1], 0.36, "%s: beats at %.2f and %.2f s", r.file, ref.beats[i-1], ref.beats[i])
		}
	}
}

// Premature wide complexes (PVC-like: twice the size, twice as wide,
// inverted, 60 % of an interval after a beat) pasted into a clean
// recording are counted once each or not at all, never twice, and do not
// cost the normal beats around them.
func TestEctopicBeatsCountedOnce(t *testing.T) {
	ref := reference(t, "bio_resting_8min_100hz.csv", 100)
	const fs = 100.0
	x := resample(ref.x, ref.rate, fs)
	// The QRS ±60 ms around the 20th beat is the shape pasted.
	r0 := int(math.Round(ref.beats[20] * fs))
	var qrs []float64
	for k := -6; k <= 6; k++ {
		qrs = append(qrs, x[r0+k]-x[r0-6])
	}
	var pvcs []float64
	for i := 30; i+1 < len(ref.beats); i += 25 {
		at := ref.beats[i] + 0.6*(ref.beats[i+1]-ref.beats[i])
		c := int(math.Round(at * fs))
		for k := -12; k <= 12; k++ { // twice as wide: each sample of the shape twice
			x[c+k] -= 2 * qrs[(k+12)/2]
		}
		pvcs = append(pvcs, at)
	}
	got, _ := run(t, x, fs)
	s := matchBeats(ref.beats, got, 0.05)
	t.Logf("FIGURE ectopic: %d PVC-like complexes pasted; normal beats Se %.3f; %d extra detections", len(pvcs), s.se, len(s.extra))
	assert.GreaterOrEqual(t, s.se, 0.99, "normal beats around the ectopic ones")
	assert.LessOrEqual(t, len(s.extra), len(pvcs), "at most one detection per ectopic beat")
	for _, p := range pvcs {
		n := 0
		for _, e := range s.extra {
			if math.Abs(e-p) < 0.3 {
				n++
			}
		}
		assert.LessOrEqual(t, n, 1, "PVC at %.2f s", p)
	}
}

func TestLowRateEdgeCases(t *testing.T) {
	d, err := ecg.New(ecg.MinRate, ecg.Auto)
	require.NoError(t, err)
	for range 10 * ecg.MinRate {
		assert.Empty(t, d.Push(0))
	}
	assert.False(t, d.Quality().Usable(), "a flat line")
}

package eda_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
	"github.com/cueroom/cueroom/sensors/synth"
)

func run(t *testing.T, x []float64, fs float64, cfg eda.Config) ([]eda.SCR, []eda.Levels) {
	t.Helper()
	d, err := eda.New(fs, cfg)
	require.NoError(t, err)
	var scrs []eda.SCR
	var lv []eda.Levels
	for _, v := range x {
		l, evs := d.Push(v)
		lv = append(lv, l)
		for _, e := range evs {
			if !e.Recovered {
				scrs = append(scrs, e.SCR)
				continue
			}
			for i := range scrs {
				if scrs[i].Peak == e.SCR.Peak {
					scrs[i].HalfRecovery = e.SCR.HalfRecovery
				}
			}
		}
	}
	return scrs, lv
}

// response is a flat 5 µS level with one SCR: a raised-cosine rise of amp
// over rise seconds from onset, then exponential recovery with tau.
func response(fs, dur, onset, amp, rise, tau float64) []float64 {
	x := make([]float64, int(dur*fs))
	for i := range x {
		u := float64(i)/fs - onset
		v := 5.0
		switch {
		case u < 0:
		case u < rise:
			v += amp * (1 - math.Cos(math.Pi*u/rise)) / 2
		default:
			v += amp * math.Exp(-(u-rise)/tau)
		}
		x[i] = v
	}
	return x
}

func TestSingleResponse(t *testing.T) {
	cases := []struct {
		name      string
		fs        float64
		amp       float64
		threshold float64
		found     bool
	}{
		{"typical", 100, 0.5, 0, true},
		{"small but above 0.01", 100, 0.02, 0, true},
		{"below the default threshold", 100, 0.005, 0, false},
		{"found with a lower threshold", 100, 0.005, 0.002, true},
		{"10 Hz device", 10, 0.3, 0, true},
		{"1000 Hz device", 1000, 0.3, 0, true},
	}
	const onset, rise, tau = 10.0, 1.5, 4.0
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := response(c.fs, 40, onset, c.amp, rise, tau)
			for name, scrs := range map[string][]eda.SCR{
				"live":    must(run(t, x, c.fs, eda.Config{Threshold: c.threshold})),
				"offline": mustFind(t, x, c.fs, eda.Config{Threshold: c.threshold}),
			} {
				if !c.found {
					assert.Empty(t, scrs, name)
					continue
				}
				require.Len(t, scrs, 1, name)
				s := scrs[0]
				assert.InDelta(t, onset, s.Onset/c.fs, 0.25, "%s: onset, s", name)
				assert.InDelta(t, onset+rise, s.Peak/c.fs, 0.15, "%s: peak, s", name)
				assert.InDelta(t, c.amp, s.Amplitude, 0.03*c.amp, "%s: amplitude", name)
				assert.InDelta(t, tau*math.Ln2, s.HalfRecovery/c.fs, 0.25, "%s: half recovery, s", name)
			}
		})
	}
}

func must(s []eda.SCR, _ []eda.Levels) []eda.SCR { return s }

func mustFind(t *testing.T, x []float64, fs float64, cfg eda.Config) []eda.SCR {
	s, y, err := eda.Find(x, fs, cfg)
	require.NoError(t, err)
	require.Len(t, y, len(x))
	return s
}

func TestNoResponseFromSlowDriftOrSteps(t *testing.T) {
	const fs = 50.0
	ramp := make([]float64, int(60*fs))
	for i := range ramp {
		ramp[i] = 4 + 0.05*float64(i)/fs // +3 µS over a minute, no response shape
	}
	scrs, lv := run(t, ramp, fs, eda.Config{})
	assert.Empty(t, scrs, "a slow tonic rise is not an SCR")
	last := lv[len(lv)-1]
	assert.InDelta(t, last.SC, last.SCL+last.Phasic, 1e-12)
	assert.LessOrEqual(t, last.SCL, last.SC)

	// A quantised signal whose last bit toggles: no "responses" of one step.
	q := make([]float64, int(60*fs))
	for i := range q {
		q[i] = 5 + 0.024*float64((i/37)%2)
	}
	d, err := eda.New(fs, eda.Config{})
	require.NoError(t, err)
	n := 0
	for _, v := range q {
		_, evs := d.Push(v)
		n += len(evs)
	}
	assert.Zero(t, n)
	assert.InDelta(t, 0.036, d.Threshold(), 1e-9, "threshold raised to 1.5 quantisation steps")
}

// The simulator's stimulus-evoked SCRs are the truth, at several noise levels.
func TestFindsSimulatedResponses(t *testing.T) {
	// The simulator's tonic drift includes a random walk whose 1 s steps
	// (s.d. 0.06 µS at its default 0.6 µS) are shaped like small SCRs; with
	// drift on, the threshold is raised and a few extra responses allowed.
	cases := []struct {
		name      string
		rate      float64
		noise     float64 // µS, on top of the simulator's own 0.003
		drift     float64 // µS; <0 none
		threshold float64
		extra     int     // responses found that the simulator did not evoke
		missed    int     // evoked responses not found
		ampTol    float64 // µS, on top of 15 %
	}{
		{"quiet 100 Hz", 100, 0, -1, 0, 1, 0, 0.01},
		{"noisy 100 Hz", 100, 0.005, -1, 0, 1, 0, 0.01},
		{"very noisy 100 Hz", 100, 0.01, -1, 0, 1, 0, 0.01},
		{"10 Hz", 10, 0.003, -1, 0, 1, 0, 0.01},
		{"with tonic drift", 100, 0.003, 0.2, 0.05, 4, 1, 0.06},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := synth.Config{SpontaneousPerMin: -1, Drift: c.drift}
			var stim []time.Duration
			for k := range 8 {
				stim = append(stim, time.Duration(10+20*k)*time.Second)
			}
			rec := testsig.Make(testsig.Config{Seed: uint64(40 + i), Rate: c.rate, Duration: 170 * time.Second,
				Synth: sc, EDANoise: c.noise, Stimuli: stim})
			for name, scrs := range map[string][]eda.SCR{
				"live":    must(run(t, rec.EDA, c.rate, eda.Config{Threshold: c.threshold})),
				"offline": mustFind(t, rec.EDA, c.rate, eda.Config{Threshold: c.threshold}),
			} {
				found := 0
				for _, tr := range rec.SCRs {
					for _, s := range scrs {
						if math.Abs(s.Onset/c.rate-tr.Onset.Seconds()) < 0.5 {
							found++
							assert.InDelta(t, float64(tr.Amplitude), s.Amplitude, 0.15*float64(tr.Amplitude)+c.ampTol,
								"%s: amplitude of the SCR at %v", name, tr.Onset)
							break
						}
					}
				}
				assert.GreaterOrEqual(t, found, len(rec.SCRs)-c.missed, "%s: evoked SCRs found", name)
				assert.LessOrEqual(t, len(scrs), len(rec.SCRs)+c.extra, "%s: responses not evoked", name)
			}
		})
	}
}

func TestRejectsBadRate(t *testing.T) {
	for _, fs := range []float64{0, 0.5, -3, math.NaN(), math.Inf(1)} {
		_, err := eda.New(fs, eda.Config{})
		assert.Error(t, err, "rate %g", fs)
	}
}

// The live tonic level is the conductance below 0.05 Hz: after a step it
// settles with that filter's time constant, and Phasic is SC − SCL.
func TestLiveTonicIsLowPass(t *testing.T) {
	const fs = 20.0
	x := make([]float64, int(200*fs))
	for i := range x {
		x[i] = 5
		if i >= int(50*fs) {
			x[i] = 7
		}
	}
	_, lv := run(t, x, fs, eda.Config{})
	for i, l := range lv {
		require.InDelta(t, l.SC-l.SCL, l.Phasic, 1e-12)
		if i < int(50*fs) {
			require.InDelta(t, 5, l.SCL, 1e-9, "steady before the step")
		}
	}
	at := func(s float64) float64 { return lv[int(s*fs)].SCL }
	assert.Less(t, at(53), 6.0, "3 s after the step the tonic level has risen less than half of it")
	assert.InDelta(t, 7, at(199), 0.01, "150 s after it, it has settled")
	// A faster tonic cut-off follows sooner.
	_, fast := run(t, x, fs, eda.Config{TonicCutoff: 0.5})
	assert.Greater(t, fast[int(53*fs)].SCL, 6.5)
}

func TestKeepAbove(t *testing.T) {
	mk := func(amps ...float64) []eda.SCR {
		var out []eda.SCR
		for i, a := range amps {
			out = append(out, eda.SCR{Onset: float64(10 * i), Peak: float64(10*i + 5), Amplitude: a})
		}
		return out
	}
	cases := []struct {
		name     string
		amps     []float64
		abs, rel float64
		kept     int
		thr      float64
	}{
		{"absolute only", []float64{0.005, 0.01, 0.5, 3}, 0.01, 0, 3, 0.01},
		{"10 % of the largest", []float64{0.005, 0.01, 0.2, 0.36, 3.5}, 0.01, 0.1, 2, 0.35},
		{"absolute wins when higher", []float64{0.02, 0.06, 0.1}, 0.05, 0.1, 2, 0.05},
		{"none", nil, 0.01, 0.1, 0, 0.01},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, thr := eda.KeepAbove(mk(c.amps...), c.abs, c.rel)
			assert.Len(t, got, c.kept)
			assert.InDelta(t, c.thr, thr, 1e-12)
			for _, s := range got {
				assert.GreaterOrEqual(t, s.Amplitude, thr)
			}
		})
	}
	// Find applies Config.Relative to the recording.
	x := response(100, 40, 10, 1, 1.5, 4)
	small := response(100, 40, 25, 0.05, 1.5, 4)
	for i := range x {
		x[i] += small[i] - 5
	}
	all := mustFind(t, x, 100, eda.Config{})
	assert.Len(t, all, 2)
	rel := mustFind(t, x, 100, eda.Config{Relative: 0.1})
	require.Len(t, rel, 1)
	assert.InDelta(t, 1, rel[0].Amplitude, 0.03)
}

// A recording exported with a level staircase (plateaus 0.012 µS apart
// that wiggle by 0.0003 µS, as NeuroKit2's BIOPAC example at 100 Hz): a
// single step up is no response, a small gradual rise over the same
// staircase is.
func TestStaircaseStepIsNoResponse(t *testing.T) {
	const fs, q = 100.0, 0.012
	stair := func(v float64, i int) float64 {
		return math.Round(v/q)*q + 0.0003*math.Sin(float64(i)*1.7)
	}
	flat := make([]float64, int(40*fs))
	for i := range flat {
		v := 13.5
		if i >= int(20*fs) {
			v += q // one level up, and it stays
		}
		flat[i] = stair(v, i)
	}
	assert.Empty(t, mustFind(t, flat, fs, eda.Config{}), "one step of the staircase")

	rise := response(fs, 40, 20, 0.04, 1.5, 4)
	for i := range rise {
		rise[i] = stair(rise[i]+8.5, i)
	}
	got := mustFind(t, rise, fs, eda.Config{})
	require.Len(t, got, 1, "a 0.04 µS response over the staircase")
	assert.InDelta(t, 20, got[0].Onset/fs, 0.5)
}

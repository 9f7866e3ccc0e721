package offline_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
	"github.com/cueroom/cueroom/sensors/physio/offline"
	"github.com/cueroom/cueroom/sensors/synth"
)

func TestEventsFromColumn(t *testing.T) {
	type ev struct {
		at, dur int64
		label   string
	}
	cases := []struct {
		name string
		col  []float64
		rate float64
		want []ev
	}{
		{"photosensor with transitional values", []float64{5, 5, 1, 0, 0, 0, 0, 5, 5, 5, 2.5, 0, 0, 0, 3.5, 5, 5, 5},
			100, []ev{{2, 5, "0"}, {10, 4, "0"}}},
		{"trigger codes", []float64{0, 0, 3, 3, 0, 0, 0, 7, 7, 7, 0, 0, 0, 0}, 100, []ev{{2, 2, "3"}, {7, 3, "7"}}},
		{"one-sample pulses", []float64{0, 1, 0, 0, 0, 1, 0, 0, 0, 0}, 100, []ev{{1, 1, "1"}, {5, 1, "1"}}},
		{"new code without a return to rest", []float64{0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 0}, 100, []ev{{3, 3, "1"}, {6, 3, "2"}}},
		{"gaps count as rest", []float64{0, math.NaN(), 0, 4, 4, math.NaN(), 0, 0, 0}, 100, []ev{{3, 2, "4"}}},
		{"nothing happens", []float64{5, 5, 5}, 100, nil},
		{"empty", nil, 100, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []ev
			for _, e := range offline.EventsFromColumn(c.col, c.rate) {
				got = append(got, ev{e.Index, e.Duration, e.Label})
			}
			assert.Equal(t, c.want, got)
		})
	}
}

// marker returns a photosensor-like column: 5 at rest, 0 for 3 s from each
// stimulus.
func marker(n int, rate float64, stim []time.Duration) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = 5
	}
	for _, s := range stim {
		i0 := int(s.Seconds() * rate)
		for i := i0; i < min(n, i0+int(3*rate)); i++ {
			v[i] = 0
		}
	}
	return v
}

// Five repeats of one cue: the simulator's responses shrink by 0.7 each time.
func TestAnalyzeSimulatedCues(t *testing.T) {
	const rate = 100.0
	var stim []time.Duration
	for k := range 5 {
		stim = append(stim, time.Duration(30+30*k)*time.Second)
	}
	rec := testsig.Make(testsig.Config{Seed: 5, Rate: rate, Duration: 190 * time.Second,
		Synth: synth.Config{SpontaneousPerMin: -1, Drift: -1}, Stimuli: stim, PPGNoise: 0.02})
	events := offline.EventsFromColumn(marker(len(rec.ECG), rate, stim), rate)
	require.Len(t, events, 5)
	rep, err := offline.Analyze(offline.Input{Rate: rate, ECG: rec.ECG, PPG: rec.PPG, EDA: rec.EDA, Events: events}, offline.Config{})
	require.NoError(t, err)

	// Beats and heart rate against the truth.
	m, _ := testsig.Match(rec.Beats, toSeconds(rep.ECG.Beats, rate), 0.05)
	assert.GreaterOrEqual(t, m, len(rec.Beats)-1)
	assert.Len(t, rep.ECG.Beats, len(rec.Beats))
	_, trueSum := offline.HeartRate(toSamples(rec.Beats, rate), rate, offline.Config{})
	assert.InDelta(t, trueSum.Mean, rep.ECG.Summary.Mean, 0.5, "mean HR, bpm")
	assert.InDelta(t, rep.ECG.Summary.Mean, rep.PPG.Summary.Mean, 1, "ECG and PPG agree")
	assert.Zero(t, rep.ECG.Summary.Rejected)
	assert.Equal(t, "ECG", rep.Settings.HRSource)

	// One SCR per cue, 1–4 s after onset, when the simulator put one there.
	require.Len(t, rep.Events, 5)
	for i, e := range rep.Events {
		tr := rec.SCRs[i]
		lat := tr.Onset.Seconds() - e.T
		if lat > 1.2 && lat < 3.8 {
			assert.Equal(t, 1, e.SCR.Count, "event %d (true latency %.2f s)", i, lat)
			assert.InDelta(t, float64(tr.Amplitude), e.SCR.MaxAmplitude, 0.15*float64(tr.Amplitude))
			assert.InDelta(t, lat, e.SCR.Latency, 0.4)
		}
		assert.Equal(t, i+1, e.Repeat)
		require.NotNil(t, e.SC)
		require.NotNil(t, e.HR)
		assert.InDelta(t, 3.0, e.Duration, 0.01)
		require.NotNil(t, e.Recovery, "SC rose after event %d", i)
		assert.Greater(t, *e.Recovery, 0.5, "and mostly recovered within 30 s")
	}
	require.Len(t, rep.Repeats, 1)
	h := rep.Repeats[0]
	assert.Equal(t, 5, h.Repeats)
	assert.Negative(t, h.SCRSlope, "responses habituate")
	assert.InDelta(t, math.Pow(0.7, 4), h.FirstToLast, 0.12)

	// The report's SCR list matches the simulator's.
	require.Len(t, rep.EDA.SCRs, len(rec.SCRs))
	for i, s := range rep.EDA.SCRs {
		assert.InDelta(t, rec.SCRs[i].Onset.Seconds(), s.OnsetS, 0.4)
		assert.Positive(t, s.HalfRecovery)
	}
	assert.Equal(t, 0.01, rep.EDA.Threshold)
}

func TestAnalyzeHandlesGaps(t *testing.T) {
	const rate = 250.0
	rec := testsig.Make(testsig.Config{Seed: 6, Rate: rate, Duration: 60 * time.Second})
	ecg := slices.Clone(rec.ECG)
	eda := slices.Clone(rec.EDA)
	for i := int(20 * rate); i < int(25*rate); i++ {
		ecg[i], eda[i] = math.NaN(), math.NaN()
	}
	rep, err := offline.Analyze(offline.Input{Rate: rate, ECG: ecg, EDA: eda}, offline.Config{})
	require.NoError(t, err)
	assert.Equal(t, int(5*rate), rep.ECG.Gaps)
	assert.Equal(t, int(5*rate), rep.EDA.Gaps)
	for _, p := range rep.ECG.HR {
		assert.False(t, p.T > 20 && p.T < 25.5, "no heart rate across the gap (t=%.2f)", p.T)
		assert.InDelta(t, 70, p.BPM, 15)
	}
	for _, s := range rep.EDA.SCRs {
		assert.False(t, s.OnsetS < 25 && s.PeakS > 20, "no SCR over the gap")
	}
	m, _ := testsig.Match(rec.Beats, toSeconds(rep.ECG.Beats, rate), 0.05)
	assert.GreaterOrEqual(t, m, len(rec.Beats)-8, "beats outside the gap")
}

func TestAnalyzeRejectsNothingToDo(t *testing.T) {
	_, err := offline.Analyze(offline.Input{Rate: 100}, offline.Config{})
	assert.ErrorContains(t, err, "no signal")
	_, err = offline.Analyze(offline.Input{Rate: 0, EDA: []float64{1}}, offline.Config{})
	assert.ErrorContains(t, err, "rate")
	_, err = offline.Analyze(offline.Input{Rate: 20, ECG: []float64{1, 2}}, offline.Config{})
	assert.ErrorContains(t, err, "too low")
	rep, err := offline.Analyze(offline.Input{Rate: 10, EDA: []float64{math.NaN(), math.NaN()}}, offline.Config{})
	require.NoError(t, err, "an all-gap channel is reported, not an error")
	assert.Equal(t, 2, rep.EDA.Gaps)
}

func TestHeartRateCorrection(t *testing.T) {
	beats := []float64{0, 100, 200, 300, 330, 400, 500, 700, 800, 900, 1000, 1100}
	hr, sum := offline.HeartRate(beats, 100, offline.Config{})
	assert.Equal(t, 1, sum.Corrected-1, "one extra beat merged, one missed beat split")
	assert.Equal(t, 0, sum.Rejected)
	for _, p := range hr {
		assert.InDelta(t, 60, p.BPM, 1e-9)
	}
	assert.Len(t, hr, 11)
}

func toSeconds(idx []int64, rate float64) []float64 {
	out := make([]float64, len(idx))
	for i, v := range idx {
		out[i] = float64(v) / rate
	}
	return out
}

func toSamples(sec []float64, rate float64) []float64 {
	out := make([]float64, len(sec))
	for i, v := range sec {
		out[i] = v * rate
	}
	return out
}

package offline_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// TestStreamMatchesAnalyze: a Stream with one window gives Analyze's
// reports to the byte; in 60-s windows (over a 10-minute recording with
// gaps, one across a window boundary) the same beats and, within a sample
// and 1 %, the same SCRs, and the events' numbers within 1e-9.
func TestStreamMatchesAnalyze(t *testing.T) {
	const rate = 50.0
	var stim []time.Duration
	for k := range 18 {
		stim = append(stim, time.Duration(20+31*k)*time.Second)
	}
	rec := testsig.Make(testsig.Config{Seed: 9, Rate: rate, Duration: 600 * time.Second, Stimuli: stim})
	for _, g := range [][2]int{{int(100 * rate), int(103 * rate)}, {int(238 * rate), int(241 * rate)}} {
		for i := g[0]; i < g[1]; i++ {
			rec.ECG[i], rec.EDA[i] = math.NaN(), math.NaN()
		}
	}
	var cues, steps []offline.Event
	for k, s := range stim {
		i := int64(s.Seconds() * rate)
		cues = append(cues, offline.Event{Index: i, Duration: int64(3 * rate), Label: "cue"})
		if k%3 == 0 {
			steps = append(steps, offline.Event{Index: i - 50, Label: []string{"a", "b"}[k%2]})
		}
	}
	cfg := offline.Config{}
	stream := func(window float64) []*offline.Report {
		s, err := offline.NewStream(offline.StreamInput{Rate: rate, ECG: true, EDA: true, ECGName: "ecg", EDAName: "eda",
			Events: [][]offline.Event{cues, steps}, Window: window}, cfg)
		require.NoError(t, err)
		for i := range rec.ECG {
			require.NoError(t, s.Push(rec.ECG[i], math.NaN(), rec.EDA[i]))
		}
		out, err := s.Finish()
		require.NoError(t, err)
		return out
	}
	whole := stream(1e6)
	windowed := stream(60)
	for k, evs := range [][]offline.Event{cues, steps} {
		want, err := offline.Analyze(offline.Input{Rate: rate, ECG: rec.ECG, EDA: rec.EDA, Events: evs,
			ECGName: "ecg", EDAName: "eda"}, cfg)
		require.NoError(t, err)
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(whole[k])
		require.Equal(t, string(wj), string(gj), "one window is Analyze")

		got := windowed[k]
		assert.Equal(t, want.ECG.Beats, got.ECG.Beats)
		assert.Equal(t, want.ECG.Summary, got.ECG.Summary)
		require.Greater(t, len(want.EDA.SCRs), 10)
		require.Len(t, got.EDA.SCRs, len(want.EDA.SCRs))
		for i, c := range want.EDA.SCRs {
			d := got.EDA.SCRs[i]
			assert.InDelta(t, c.Onset, d.Onset, 1)
			assert.InDelta(t, c.Peak, d.Peak, 1)
			assert.InEpsilon(t, c.Amplitude, d.Amplitude, 0.01)
			assert.InDelta(t, c.HalfRecovery, d.HalfRecovery, 1.5/rate)
		}
		assert.InDelta(t, want.EDA.Mean, got.EDA.Mean, 1e-9)
		assert.Equal(t, want.EDA.Gaps, got.EDA.Gaps)
		assert.Equal(t, want.EDA.Threshold, got.EDA.Threshold)
		require.Len(t, got.Events, len(want.Events))
		for i, e := range want.Events {
			g := got.Events[i]
			assert.Equal(t, e.HR, g.HR)
			assert.Equal(t, e.SCR.Count, g.SCR.Count)
			assert.InDelta(t, e.SCR.MaxAmplitude, g.SCR.MaxAmplitude, 0.01*e.SCR.MaxAmplitude)
			require.Equal(t, e.SC == nil, g.SC == nil)
			if e.SC != nil {
				assert.InDelta(t, e.SC.Baseline, g.SC.Baseline, 1e-9)
				assert.InDelta(t, e.SC.Response, g.SC.Response, 1e-9)
				assert.InDelta(t, e.SC.Peak, g.SC.Peak, 1e-9)
			}
			require.Equal(t, e.Recovery == nil, g.Recovery == nil)
			if e.Recovery != nil {
				assert.InDelta(t, *e.Recovery, *g.Recovery, 1e-9)
			}
		}
	}
}

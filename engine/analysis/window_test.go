package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/cueroom/cueroom/event"
)

// TestWindowedMatchesWhole: a 35-minute session (over six windows of skin
// conductance) analysed in windows gives what it gives analysed whole (one
// window as long as the session): the same beats, the same SCRs (onset and
// peak within a sample, amplitude within 1 %), and every number of the
// analysis and of the report within 1e-9 relative (the windows' low-passed
// skin conductance differs from the whole signal's in the last bits only;
// the commands print 3 to 4 significant digits). The session has a gap
// across a window boundary and a patient stop.
func TestWindowedMatchesWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("records a 35-minute session")
	}
	steps := []analysistest.Step{{ID: "baseline", Neutral: true, Dur: 120}}
	ids := []string{"bottle", "glass", "bar"}
	for i := 0; len(steps) < 24; i++ {
		steps = append(steps, analysistest.Step{ID: ids[i%3], Intensity: 1 + i%4, Dur: 60 + float64(i%4)*20,
			Arousal: 0.2 + 0.1*float64(i%7), Craving: []*int{event.Int(10 * (i % 10))}})
		if i%5 == 4 {
			steps = append(steps, analysistest.Step{ID: "rest", Neutral: true, Dur: 45})
		}
	}
	total := 0.0
	for _, s := range steps {
		total += s.Dur
	}
	require.Greater(t, total, 2*(window+2*89), "longer than two windows and their margins")
	// Skin conductance: a slow drift, a response 1.5 s after each cue
	// step's onset and one every 37 s besides.
	var at []float64
	on := 0.0
	for _, s := range steps {
		if !s.Neutral {
			at = append(at, on+1.5)
		}
		on += s.Dur
	}
	for x := 10.0; x < total; x += 37 {
		at = append(at, x)
	}
	skin := func(t float64) float64 {
		v := 5 + 0.3*math.Sin(2*math.Pi*t/600) + 0.002*math.Sin(2*math.Pi*t*1.7)
		for k, t0 := range at {
			if d := t - t0; d > 0 && d < 60 {
				v += (0.08 + 0.05*math.Sin(float64(k))) * 1.6 * (math.Exp(-d/4) - math.Exp(-d/0.75))
			}
		}
		return v
	}
	dir := analysistest.Record(t, t.TempDir(), analysistest.Spec{Rate: 250, Steps: steps, Seed: 7, EDA: skin,
		Gap: [2]float64{684, 694}, StopAt: 1500})
	opt := Options{SCRThreshold: 0.01, Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4, EndWindow: 3}

	run := func(span float64) (*Result, []byte) {
		defer func(w float64) { window = w }(window)
		window = span
		rec := recordAndOpen(t, func(testing.TB, string) string { return dir })
		rs, a, err := Report(rec, opt)
		require.NoError(t, err)
		b, err := json.Marshal(rs)
		require.NoError(t, err)
		return a, b
	}
	whole, wholeRep := run(1e7)
	win, winRep := run(window)

	for _, k := range []string{"cues", "steps"} {
		w, x := whole.Cues, win.Cues
		if k == "steps" {
			w, x = whole.Steps, win.Steps
		}
		require.NotNil(t, w.ECG)
		require.NotNil(t, w.EDA)
		assert.Equal(t, w.ECG.Beats, x.ECG.Beats, "%s: beats", k)
		assert.Equal(t, w.ECG.HR, x.ECG.HR, "%s: heart rate", k)
		require.Len(t, x.EDA.SCRs, len(w.EDA.SCRs), "%s: SCRs", k)
		require.Greater(t, len(w.EDA.SCRs), 20)
		for i, c := range w.EDA.SCRs {
			d := x.EDA.SCRs[i]
			assert.InDelta(t, c.Onset, d.Onset, 1, "%s: SCR %d onset", k, i)
			assert.InDelta(t, c.Peak, d.Peak, 1, "%s: SCR %d peak", k, i)
			assert.InEpsilon(t, c.Amplitude, d.Amplitude, 0.01, "%s: SCR %d amplitude", k, i)
		}
	}
	closeJSON(t, "analysis", mustJSON(t, whole), mustJSON(t, win))
	closeJSON(t, "report", wholeRep, winRep)
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// closeJSON compares two JSON documents: the same shape and strings, and
// numbers within 1e-9 relative (1e-12 absolute near 0).
func closeJSON(t *testing.T, what string, a, b []byte) {
	t.Helper()
	var x, y any
	require.NoError(t, json.Unmarshal(a, &x))
	require.NoError(t, json.Unmarshal(b, &y))
	n := 0
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		switch xv := x.(type) {
		case map[string]any:
			yv, ok := y.(map[string]any)
			if !assert.True(t, ok, "%s %s: not an object", what, path) {
				return
			}
			assert.Equal(t, len(xv), len(yv), "%s %s: keys", what, path)
			for k, v := range xv {
				walk(path+"."+k, v, yv[k])
			}
		case []any:
			yv, ok := y.([]any)
			if !assert.True(t, ok, "%s %s: not an array", what, path) || !assert.Len(t, yv, len(xv), "%s %s", what, path) {
				return
			}
			for i := range xv {
				walk(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i])
			}
		case float64:
			yv, ok := y.(float64)
			n++
			if assert.True(t, ok, "%s %s: not a number", what, path) {
				assert.LessOrEqual(t, math.Abs(xv-yv), max(1e-12, 1e-9*math.Abs(xv)), "%s %s: %v vs %v", what, path, xv, yv)
			}
		default:
			assert.Equal(t, x, y, "%s %s", what, path)
		}
	}
	walk("", x, y)
	t.Logf("%s: %d numbers compared", what, n)
}

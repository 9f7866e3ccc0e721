package offline_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/hrv"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// Issue 13: white noise beyond what a detector can recover must not give a
// doubled heart rate with no word: the signal quality index withholds the
// intervals it judges unusable, and the summary is either close to the
// clean recording's or absent with a warning.
func TestNoisyECGHeartRateWithheldOrRight(t *testing.T) {
	const file, rate = "bio_resting_8min_100hz.csv", 100.0
	clean := shared(t, file, "ECG")[0]
	ref, err := offline.Analyze(offline.Input{Rate: rate, ECG: clean}, offline.Config{})
	require.NoError(t, err)
	require.Zero(t, ref.ECG.Summary.Withheld, "the clean recording is usable throughout")
	require.Empty(t, ref.ECG.Unusable)
	require.Empty(t, ref.ECG.Warning)
	amp := rAmplitude(clean, ref.ECG.Beats, rate)
	cases := []struct {
		name     string
		noise    float64 // sd, R amplitudes
		seed     uint64
		from, to float64 // s of noise; 0, 0: all
	}{
		{"1.0× R", 1.0, 13, 0, 0},
		{"1.0× R, another seed", 1.0, 14, 0, 0},
		{"1.0× R for two minutes", 1.0, 13, 120, 240},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := slices.Clone(clean)
			rng := rand.New(rand.NewPCG(c.seed, 1))
			for i := range x {
				if t := float64(i) / rate; c.to == 0 || (t >= c.from && t < c.to) {
					x[i] += c.noise * amp * rng.NormFloat64()
				}
			}
			rep, err := offline.Analyze(offline.Input{Rate: rate, ECG: x}, offline.Config{})
			require.NoError(t, err)
			h := rep.ECG
			// A Stream gives the same, byte for byte.
			s, err := offline.NewStream(offline.StreamInput{Rate: rate, ECG: true, Events: [][]offline.Event{nil}}, offline.Config{})
			require.NoError(t, err)
			for _, v := range x {
				require.NoError(t, s.Push(v, math.NaN(), math.NaN()))
			}
			reps, err := s.Finish()
			require.NoError(t, err)
			wj, _ := json.Marshal(rep)
			gj, _ := json.Marshal(reps[0])
			require.Equal(t, string(wj), string(gj))

			t.Logf("mean %.1f bpm (clean %.1f) over %d intervals, %d withheld, %d unusable spans; %q",
				h.Summary.Mean, ref.ECG.Summary.Mean, h.Summary.Intervals, h.Summary.Withheld, len(h.Unusable), h.Warning)
			assert.NotEmpty(t, h.Unusable, "the noise is judged")
			if h.Summary.Intervals == 0 {
				assert.Zero(t, h.Summary.Mean, "no mean heart rate")
				assert.Contains(t, h.Warning, "too noisy")
				assert.Empty(t, h.HR)
			} else {
				assert.InEpsilon(t, ref.ECG.Summary.Mean, h.Summary.Mean, 0.05)
				assert.Len(t, h.HR, h.Summary.Intervals)
			}
			if c.to > 0 {
				assert.Positive(t, h.Summary.Intervals, "the clean part gives a heart rate")
				assert.Positive(t, h.Summary.Withheld)
				assert.Empty(t, h.Warning)
				for _, s := range h.Unusable {
					assert.True(t, s.From > c.from-ecgWindow && s.To < c.to+ecgWindow, "unusable %.1f–%.1f s, noise %.0f–%.0f s", s.From, s.To, c.from, c.to)
				}
			}
			// Withheld intervals are the ones inside the unusable spans.
			for _, p := range h.HR {
				for _, s := range h.Unusable {
					assert.False(t, p.T-60/p.BPM/2 > s.From && p.T-60/p.BPM/2 < s.To, "interval ending %.2f s lies in an unusable span", p.T)
				}
			}
			// The unusable spans are merged: in order, apart.
			for i := 1; i < len(h.Unusable); i++ {
				assert.Greater(t, h.Unusable[i].From, h.Unusable[i-1].To)
			}
			// No NN interval in an unusable stretch either.
			bad := 0.0
			for _, s := range h.Unusable {
				bad += s.To - s.From
			}
			require.NotNil(t, rep.HRV)
			assert.LessOrEqual(t, rep.HRV.Seconds, rep.Duration-bad)
		})
	}
}

// Issue 13: HRV per session in `analyze --json`: SDNN and RMSSD from the
// report's beats agree with hrv's on the same beats within 3 %.
func TestHRVInReport(t *testing.T) {
	const file, rate = "bio_resting_8min_100hz.csv", 100.0
	ecgCol := shared(t, file, "ECG")[0]
	rep, err := offline.Analyze(offline.Input{Rate: rate, ECG: ecgCol,
		Events: []offline.Event{{Index: 6000, Duration: int64(120 * rate), Label: "long"}, {Index: 30000, Duration: int64(3 * rate), Label: "short"}}},
		offline.Config{})
	require.NoError(t, err)
	require.NotNil(t, rep.HRV)

	// In the JSON.
	var j struct {
		HRV struct {
			Time *struct {
				SDNN  *float64 `json:"sdnn_ms"`
				RMSSD *float64 `json:"rmssd_ms"`
			} `json:"time"`
		} `json:"hrv"`
	}
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &j))
	require.NotNil(t, j.HRV.Time, "time domain in the JSON")
	require.NotNil(t, j.HRV.Time.SDNN)
	require.NotNil(t, j.HRV.Time.RMSSD)

	beats := make([]float64, len(rep.ECG.Beats))
	for i, b := range rep.ECG.Beats {
		beats[i] = float64(b) / rate
	}
	want := hrv.Correct(beats, nil, hrv.Correction{}).Whole(hrv.Options{})
	require.NotNil(t, want.Time)
	t.Logf("SDNN %.2f ms (hrv %.2f), RMSSD %.2f ms (hrv %.2f)", *j.HRV.Time.SDNN, want.Time.SDNN, *j.HRV.Time.RMSSD, want.Time.RMSSD)
	assert.InEpsilon(t, want.Time.SDNN, *j.HRV.Time.SDNN, 0.03)
	assert.InEpsilon(t, want.Time.RMSSD, *j.HRV.Time.RMSSD, 0.03)

	// Per event with a duration: two minutes are enough, three seconds not.
	require.Len(t, rep.Events, 2)
	long, short := rep.Events[0].HRV, rep.Events[1].HRV
	require.NotNil(t, long)
	require.NotNil(t, short)
	assert.NotNil(t, long.Time, long.TimeWhy)
	assert.InDelta(t, 60, long.From, 1e-9)
	assert.InDelta(t, 180, long.To, 1e-9)
	assert.Nil(t, short.Time)
	assert.Contains(t, short.TimeWhy, "not enough data")
}

// ecgWindow is how far, s, a verdict on the ECG's quality reaches: one
// window of ecg.QualityWindow plus its lag.
const ecgWindow = 11.0

// rAmplitude is the median height of the R peaks of x (beats: sample
// indices) above the median of the second around each: the R amplitude the
// noise is scaled to, as in the ecg package's noise tests.
func rAmplitude(x []float64, beats []int64, fs float64) float64 {
	var amps []float64
	w := int(0.5 * fs)
	for _, b := range beats {
		i := int(b)
		lo, hi := max(0, i-w), min(len(x), i+w+1)
		if i < 0 || i >= len(x) || hi-lo < w {
			continue
		}
		seg := slices.Clone(x[lo:hi])
		slices.Sort(seg)
		base := seg[len(seg)/2]
		peak := 0.0
		for j := max(0, i-2); j <= min(len(x)-1, i+2); j++ {
			peak = max(peak, math.Abs(x[j]-base))
		}
		amps = append(amps, peak)
	}
	slices.Sort(amps)
	return amps[len(amps)/2]
}

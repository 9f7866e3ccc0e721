package physio_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio"
)

// rAmplitude is the median height of the R peaks the detector finds in x
// above the signal's median: the scale of the added noise.
func rAmplitude(t *testing.T, x []float64, rate float64) float64 {
	t.Helper()
	s := slices.Sorted(slices.Values(x))
	mid := s[len(s)/2]
	var h []float64
	for _, b := range liveECG(t, x, rate) {
		h = append(h, math.Abs(x[int(math.Round(b))]-mid))
	}
	require.NotEmpty(t, h)
	slices.Sort(h)
	return h[len(h)/2]
}

// Live ECG drowned in white noise (sd 1.0× the R amplitude, far beyond what
// a detector can recover) must not give a heart rate silently: the channel
// is flagged "unreliable heart rate" and Levels withhold HR rather than
// show a doubled one (issue #13).
func TestNoisyECGWithholdsHeartRate(t *testing.T) {
	const rate = 100.0
	x := readCols(t, "bio_resting_8min_100hz.csv", "ECG")[0]
	amp := rAmplitude(t, x, rate)
	clean := feed(t, newProc(t, stream(rate, "ECG"), physio.Config{}), rate, [][]float64{x}, nil)
	cleanLv := ofKind(clean, physio.KindLevels, "")

	cases := []struct {
		name     string
		from, to time.Duration // the noisy part; empty: clean
	}{
		{"clean", 0, 0},
		{"noisy from the start", 0, 360 * time.Second},
		{"noisy in the middle", 120 * time.Second, 360 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := slices.Clone(x)
			r := rand.New(rand.NewPCG(13, 1))
			for i := range y {
				if at := time.Duration(float64(i) / rate * float64(time.Second)); at >= c.from && at < c.to {
					y[i] += amp * r.NormFloat64()
				}
			}
			p := newProc(t, stream(rate, "ECG"), physio.Config{})
			out := feed(t, p, rate, [][]float64{y}, nil)
			noisy := func(at time.Duration) bool { return at >= c.from && at < c.to }

			var raised, cleared int
			for _, a := range ofKind(out, physio.KindAlert, "ecg") {
				if a.Raised&physio.Noisy != 0 {
					raised++
					assert.True(t, noisy(a.T), "Noisy raised at %v, outside the noise", a.T)
					assert.Contains(t, a.Message(), "unreliable heart rate")
				}
				if a.Cleared&physio.Noisy != 0 {
					cleared++
				}
			}
			var unreliable int
			for _, d := range ofKind(out, physio.KindHR, "ecg") {
				if d.Unreliable {
					unreliable++
				}
			}
			lv := ofKind(out, physio.KindLevels, "")
			require.Len(t, lv, len(cleanLv))
			var ticks, withHR, off int
			for i, d := range lv {
				if !noisy(d.T) {
					continue
				}
				ticks++
				if !d.Levels.HasHR {
					continue
				}
				withHR++
				if ref := cleanLv[i].Levels; ref.HasHR && math.Abs(float64(d.Levels.HR/ref.HR)-1) > 0.1 {
					off++
					t.Errorf("t=%v: HR %.1f shown, clean %.1f", d.T, d.Levels.HR, ref.HR)
				}
			}
			t.Logf("R amplitude %.3f; Noisy raised %d, cleared %d; noisy ticks %d, with HR %d (%d off >10%%); unreliable HR values %d",
				amp, raised, cleared, ticks, withHR, off, unreliable)
			if c.to == 0 {
				assert.Zero(t, raised, "no Noisy flag on the clean recording")
				assert.Zero(t, unreliable)
				for _, d := range after(lv, 10*time.Second) {
					assert.True(t, d.Levels.HasHR, "clean HR at %v", d.T)
				}
				return
			}
			assert.Positive(t, raised, "Noisy raised")
			assert.Equal(t, raised, cleared, "and cleared once the noise stops")
			assert.Positive(t, unreliable, "HR values found while flagged say so")
			assert.Less(t, float64(withHR), 0.1*float64(ticks), "HR withheld for most of the noisy part")
			assert.Zero(t, p.State().Quality["ecg"], "ok at the end")
		})
	}
}

func TestUnreliableJSON(t *testing.T) {
	b, err := json.Marshal(physio.Derived{Kind: physio.KindHR, Source: "ecg", HR: 120, Unreliable: true})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"unreliable":true`)
	var d physio.Derived
	require.NoError(t, json.Unmarshal(b, &d))
	assert.True(t, d.Unreliable)
	b, err = json.Marshal(physio.Derived{Kind: physio.KindHR, Source: "ecg", HR: 60})
	require.NoError(t, err)
	assert.NotContains(t, string(b), "unreliable", "left out when false")
	b, err = json.Marshal(physio.Noisy)
	require.NoError(t, err)
	assert.JSONEq(t, `["unreliable heart rate"]`, string(b))
}

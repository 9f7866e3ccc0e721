package offline_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// Missing samples before the first valid one (a recording that starts with
// blank cells) keep their place: the beats, heart rate and unusable spans
// come 2 s later when 2 s are missing first, never at the same index.
func TestLeadingGapKeepsBeatTimes(t *testing.T) {
	x := shared(t, "bio_resting_8min_100hz.csv", "ECG")[0][:6000]
	const lead = 200
	y := append(make([]float64, lead), x...)
	for i := range lead {
		y[i] = math.NaN()
	}
	for i := 3000; i < 3500; i++ { // noise, so there is an unusable span
		x[i] += 5 * math.Sin(float64(i)*1.7)
		y[i+lead] = x[i]
	}
	a, err := offline.Analyze(offline.Input{Rate: 100, ECG: x}, offline.Config{})
	require.NoError(t, err)
	b, err := offline.Analyze(offline.Input{Rate: 100, ECG: y}, offline.Config{})
	require.NoError(t, err)
	require.Equal(t, len(a.ECG.Beats), len(b.ECG.Beats))
	for i := range a.ECG.Beats {
		assert.Equal(t, a.ECG.Beats[i]+lead, b.ECG.Beats[i])
	}
	require.Equal(t, len(a.ECG.HR), len(b.ECG.HR))
	for i := range a.ECG.HR {
		assert.InDelta(t, a.ECG.HR[i].T+2, b.ECG.HR[i].T, 1e-9)
	}
	require.NotEmpty(t, a.ECG.Unusable)
	require.Equal(t, len(a.ECG.Unusable), len(b.ECG.Unusable))
	for i := range a.ECG.Unusable {
		assert.InDelta(t, a.ECG.Unusable[i].From+2, b.ECG.Unusable[i].From, 1e-9)
	}
	assert.Equal(t, lead, b.ECG.Gaps)
}

package hrv_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors/physio/hrv"
)

type liveIv struct {
	end, length float64
	corrected   bool
	brk         bool // Break before it
}

// liveRef is Live's definition computed from scratch over all intervals
// given so far: pairs of adjacent, uncorrected intervals within 20 % of
// each other, the later one wholly in (now − window, now].
func liveRef(ivs []liveIv, now, window float64) (float64, bool) {
	var sum, cover float64
	n := 0
	for i := 1; i < len(ivs); i++ {
		a, b := ivs[i-1], ivs[i]
		if b.brk || a.corrected || b.corrected || math.Abs(b.end-b.length-a.end) > 1e-3 ||
			math.Abs(b.length-a.length) > 0.2*a.length || b.end-b.length < now-window || b.end > now {
			continue
		}
		d := 1000 * (b.length - a.length)
		sum += d * d
		cover += b.length
		n++
	}
	if n < 2 || cover < window/2 {
		return 0, false
	}
	return math.Sqrt(sum / float64(n)), true
}

func TestLiveMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	beats := synthAR(12, 900, 0.8, 0.03, 0.8, mod{0.04, 0.1}, mod{0.03, 0.25})
	l := hrv.NewLive(0)
	require.Equal(t, hrv.DefaultLiveWindow, l.Window())
	var ivs []liveIv
	okSeen := 0
	for i := 1; i < len(beats); i++ {
		iv := liveIv{end: beats[i], length: beats[i] - beats[i-1]}
		switch r := rng.Float64(); {
		case r < 0.02:
			iv.corrected = true
		case r < 0.03:
			iv.length *= 1.4 // an artefact the tracker let through: the 20 % rule drops it
		case r < 0.035:
			iv.brk = true
		}
		if i > 300 && i < 340 {
			continue // 30 s without beats: the value lapses
		}
		if iv.brk {
			l.Break()
		}
		ivs = append(ivs, iv)
		got, ok := l.Add(iv.end, iv.length, iv.corrected)
		want, wantOK := liveRef(ivs, iv.end, 60)
		require.Equal(t, wantOK, ok, "beat %d at %.1f s", i, iv.end)
		if ok {
			okSeen++
			require.InDelta(t, want, got, 1e-9*want, "beat %d", i)
		}
	}
	assert.Greater(t, okSeen, len(beats)/2)
	// Long after the last beat, nothing is reported.
	_, ok := l.At(beats[len(beats)-1] + 61)
	assert.False(t, ok)
}

func TestLiveIgnoresBadInput(t *testing.T) {
	l := hrv.NewLive(30)
	var last float64
	var ok bool
	for i := 1; i <= 60; i++ {
		last, ok = l.Add(float64(i), 1+0.01*float64(i%2), false)
	}
	require.True(t, ok)
	for _, bad := range [][2]float64{{math.NaN(), 1}, {70, math.NaN()}, {70, -1}, {70, 0}, {math.Inf(1), 1}, {70, math.Inf(1)}, {30, 1}} {
		v, ok2 := l.Add(bad[0], bad[1], false)
		assert.Equal(t, last, v, "%v", bad)
		assert.Equal(t, ok, ok2)
	}
	l.Reset()
	_, ok = l.At(60)
	assert.False(t, ok)
}

// TestLiveAgreesWithOffline: on the clean recording, the live value at the
// end equals the offline RMSSD of the last minute.
func TestLiveAgreesWithOffline(t *testing.T) {
	beats := toSeconds(readRef(t, "bio_resting_8min_100hz.ecg.txt"), 100)
	l := hrv.NewLive(60)
	var v float64
	var ok bool
	for i := 1; i < len(beats); i++ {
		v, ok = l.Add(beats[i], beats[i]-beats[i-1], false)
	}
	require.True(t, ok)
	end := beats[len(beats)-1]
	r := hrv.Correct(beats, nil, hrv.Correction{}).Analyze(end-60, end, hrv.Options{MinTime: 30})
	require.NotNil(t, r.Time, r.TimeWhy)
	t.Logf("live %.2f ms, offline last minute %.2f ms", v, r.Time.RMSSD)
	assert.InDelta(t, r.Time.RMSSD, v, 0.02*r.Time.RMSSD)
}

func TestLiveAllocationFree(t *testing.T) {
	l := hrv.NewLive(60)
	t0 := 0.0
	allocs := testing.AllocsPerRun(10000, func() {
		t0 += 0.8
		l.Add(t0, 0.8+0.01*math.Sin(t0), false)
		l.At(t0)
	})
	assert.Zero(t, allocs)
}

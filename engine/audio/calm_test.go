package audio

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCalmSoundIsSoftAndBreathes reads the calm sound's samples: never
// silent, soft (well below full scale), without clicks, swelling with the
// breath (louder at full lungs than at empty ones), endless, and the same
// every time.
func TestCalmSoundIsSoftAndBreathes(t *testing.T) {
	const secs = 15 // a breath and a half
	s := Calm()
	buf := make([][2]float64, Rate.N(secs*time.Second))
	for at := 0; at < len(buf); {
		n, ok := s.Stream(buf[at:min(at+1000, len(buf))])
		require.True(t, ok, "the calm sound does not end")
		require.Positive(t, n)
		at += n
	}
	require.NoError(t, s.Err())
	rms := func(from, to int) float64 {
		sum := 0.0
		for _, f := range buf[from:to] {
			sum += f[0]*f[0] + f[1]*f[1]
		}
		return math.Sqrt(sum / float64(2*(to-from)))
	}
	peak, jump, bad := 0.0, 0.0, 0
	for i, f := range buf {
		for ch := range 2 {
			if math.IsNaN(f[ch]) || math.IsInf(f[ch], 0) {
				bad++
			}
			peak = max(peak, math.Abs(f[ch]))
			if i > 0 {
				jump = max(jump, math.Abs(f[ch]-buf[i-1][ch]))
			}
		}
	}
	require.Zero(t, bad, "samples that are not numbers")
	assert.Less(t, peak, 0.35, "soft: peaks below -9 dBFS")
	assert.Less(t, jump, 0.02, "no clicks: low-passed, no step between samples")
	tenth := Rate.N(100 * time.Millisecond)
	for at := 0; at+tenth <= len(buf); at += tenth {
		assert.Greater(t, rms(at, at+tenth), 0.004, "never silent (at %.1f s)", float64(at)/float64(Rate))
	}
	whole := rms(0, len(buf))
	assert.True(t, whole > 0.01 && whole < 0.12, "quiet but audible: RMS %.3f", whole)
	// A breath is 10 s: full lungs at 4 s, empty at 0 and 10 s.
	around := func(at float64) float64 { i := Rate.N(time.Duration(at * 1e9)); return rms(i-tenth, i+tenth) }
	assert.Greater(t, around(4), 2*around(9.9), "louder at full lungs (4 s) than near empty ones (9.9 s)")
	assert.Greater(t, around(14), 2*around(10.1), "and in the next breath")

	again := make([][2]float64, 1000)
	Calm().Stream(again)
	assert.Equal(t, buf[:1000], again, "the same sound every time")
}

func TestBreathShape(t *testing.T) {
	for _, tt := range []struct{ ph, want float64 }{{0, 0}, {0.2, 0.5}, {0.4, 1}, {0.7, 0.5}, {1, 0}} {
		assert.InDelta(t, tt.want, Breath(tt.ph), 1e-9, "phase %v", tt.ph)
	}
}

// TestPlayCalmFadesInAndStops: the calm sound plays on the output, rising
// from near silence over its fade, and ends when stopped.
func TestPlayCalmFadesInAndStops(t *testing.T) {
	o := Open(Options{NoDevice: true})
	defer o.Close()
	o.SetPaused(true) // the null sink leaves the voices to the test's mixing
	v := o.PlayCalm()
	require.NotNil(t, v)
	var at int64
	mix := func(d time.Duration) [][2]float64 {
		out := make([][2]float64, Rate.N(d))
		o.mu.Lock()
		defer o.mu.Unlock()
		o.mixLocked(out, at)
		at += int64(len(out))
		return out
	}
	rms := func(b [][2]float64) float64 {
		sum := 0.0
		for _, f := range b {
			sum += f[0] * f[0]
		}
		return math.Sqrt(sum / float64(len(b)))
	}
	first := mix(100 * time.Millisecond)
	mix(3 * time.Second)
	faded := mix(time.Second)
	assert.Less(t, rms(first), rms(faded)/10, "the fade starts from near silence")
	assert.Greater(t, rms(faded), 0.01, "heard once faded in")
	o.Stop(v, 100*time.Millisecond)
	mix(200 * time.Millisecond)
	assert.Zero(t, o.Playing(), "ended once stopped")
}

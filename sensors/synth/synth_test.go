package synth

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ms = time.Millisecond

// run advances g by d at the given step and returns the points.
func run(g *Generator, d, step time.Duration) []Point {
	out := make([]Point, 0, d/step)
	for range d / step {
		out = append(out, g.Next(step))
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a := run(New(Config{Seed: 42}), 20*time.Second, 4*ms)
	b := run(New(Config{Seed: 42}), 20*time.Second, 4*ms)
	c := run(New(Config{Seed: 43}), 20*time.Second, 4*ms)
	require.Equal(t, a, b, "same seed, same signals")
	assert.NotEqual(t, a, c, "another seed, other signals")
	assert.Equal(t, 20*time.Second, a[len(a)-1].T)
}

func meanSD(x []float64) (m, sd float64) {
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	for _, v := range x {
		sd += (v - m) * (v - m)
	}
	return m, math.Sqrt(sd / float64(len(x)-1))
}

// rrs returns RR intervals (s) and the time of the beat ending each.
func rrs(beats []time.Duration) (rr, at []float64) {
	for i := 1; i < len(beats); i++ {
		rr = append(rr, (beats[i] - beats[i-1]).Seconds())
		at = append(at, beats[i].Seconds())
	}
	return rr, at
}

func TestHeartRate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		meanHR  float64
		minSDRR float64 // s
		maxSDRR float64
	}{
		{"resting defaults", Config{Seed: 1}, 70, 0.02, 0.08},
		{"faster, no variability", Config{Seed: 2, HeartRate: 90, RSA: -1, HRJitter: -1}, 90, 0, 1e-9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New(tc.cfg)
			run(g, 3*time.Minute, 5*ms)
			beats := g.Beats()
			require.NotEmpty(t, beats)
			assert.LessOrEqual(t, beats[len(beats)-1], g.Now(), "no future beats in the truth")
			rr, _ := rrs(beats)
			m, sd := meanSD(rr)
			assert.InDelta(t, tc.meanHR, 60/m, 3, "mean heart rate")
			assert.GreaterOrEqual(t, sd, tc.minSDRR, "RR variability")
			assert.LessOrEqual(t, sd, tc.maxSDRR, "RR variability")
		})
	}
}

// The heart rate swings with breathing: projecting the instantaneous heart
// rate on the breathing frequency finds about RSA/2 of amplitude.
func TestRespiratorySinusArrhythmia(t *testing.T) {
	for _, rsa := range []float64{6, 12} {
		g := New(Config{Seed: 5, RSA: rsa, HRJitter: 0.5, BreathRate: 12})
		run(g, 4*time.Minute, 5*ms)
		rr, at := rrs(g.Beats())
		w := 2 * math.Pi * 12.0 / 60
		var hr []float64
		for _, r := range rr {
			hr = append(hr, 60/r)
		}
		m, _ := meanSD(hr)
		var a, b float64
		for i, h := range hr {
			a += (h - m) * math.Sin(w*at[i])
			b += (h - m) * math.Cos(w*at[i])
		}
		amp := 2 * math.Hypot(a, b) / float64(len(hr))
		assert.InDelta(t, rsa/2, amp, rsa/4, "RSA %v bpm peak to peak", rsa)
	}
}

// Every true beat shows as an R peak of about 1 mV in the ECG, the
// waveform stays within ±1.5 mV, and a simple detector finds as many peaks
// as there are beats.
func TestECGShape(t *testing.T) {
	g := New(Config{Seed: 9})
	const step = 2 * ms
	pts := run(g, time.Minute, step)
	at := func(d time.Duration) int { return int(d/step) - 1 }
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = min(lo, float64(p.ECG)), max(hi, float64(p.ECG))
	}
	assert.Greater(t, lo, -1.5)
	assert.Less(t, hi, 1.5)
	beats := g.Beats()
	for _, b := range beats {
		i := at(b)
		if i < 10 || i+10 >= len(pts) {
			continue
		}
		peak := math.Inf(-1)
		for j := i - 5; j <= i+5; j++ { // ±10 ms
			peak = max(peak, float64(pts[j].ECG))
		}
		assert.InDelta(t, 1.0, peak, 0.2, "R peak at %v", b)
		// the Q and S dips around it are negative-going
		assert.Less(t, float64(pts[i+15].ECG), peak-0.8, "S after %v", b) // +30 ms
	}
	// detector: local maxima above 0.6 mV, at least 250 ms apart
	var found int
	last := -1000
	for i := 1; i+1 < len(pts); i++ {
		v := float64(pts[i].ECG)
		if v > 0.6 && v >= float64(pts[i-1].ECG) && v >= float64(pts[i+1].ECG) && i-last > 125 {
			found++
			last = i
		}
	}
	assert.InDelta(t, len(beats), found, 1)
	// HR ground truth in the points matches the beats
	rr, _ := rrs(beats)
	m, _ := meanSD(rr)
	var hrSum float64
	for _, p := range pts[len(pts)/10:] {
		hrSum += float64(p.HR)
	}
	assert.InDelta(t, 60/m, hrSum/float64(len(pts)-len(pts)/10), 3)
}

func TestTonicLevel(t *testing.T) {
	g := New(Config{Seed: 3, SpontaneousPerMin: -1})
	pts := run(g, 10*time.Minute, 50*ms)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = min(lo, float64(p.EDA)), max(hi, float64(p.EDA))
		assert.InDelta(t, float64(p.SCL), float64(p.EDA), 0.02, "no SCRs: EDA is the tonic level plus noise")
	}
	assert.GreaterOrEqual(t, lo, 2.0)
	assert.LessOrEqual(t, hi, 10.0)
	assert.Greater(t, hi-lo, 0.3, "the level drifts")
	assert.Empty(t, g.SCRs())
}

func TestArousal(t *testing.T) {
	base := Config{Seed: 4, SpontaneousPerMin: -1, Drift: -1} // no drift: the levels compare exactly
	calm, tense := New(base), New(base)
	tense.SetArousal(1)
	cp := run(calm, 2*time.Minute, 10*ms)
	tp := run(tense, 2*time.Minute, 10*ms)
	hr := func(g *Generator, from time.Duration) float64 {
		var rr []float64
		b := g.Beats()
		for i := 1; i < len(b); i++ {
			if b[i] > from {
				rr = append(rr, (b[i] - b[i-1]).Seconds())
			}
		}
		m, _ := meanSD(rr)
		return 60 / m
	}
	assert.InDelta(t, 25, hr(tense, time.Minute)-hr(calm, time.Minute), 5, "heart rate rises")
	last := len(cp) - 1
	assert.InDelta(t, 4*(1-math.Exp(-120.0/20)), float64(tp[last].SCL-cp[last].SCL), 0.1, "tonic level rises")
	assert.Less(t, float64(tp[100].SCL-cp[100].SCL), 1.0, "gradually")

	clamp := New(base)
	clamp.SetArousal(7)
	run(clamp, time.Minute, 10*ms)
	assert.InDelta(t, hr(tense, 30*time.Second), hr(clamp, 30*time.Second), 5, "arousal is clamped to 1")
}

// A stimulus gives an SCR 1–3 s later that rises over 1–2 s to its
// amplitude and then recovers exponentially; repeated stimuli give smaller
// responses.
func TestStimulusResponses(t *testing.T) {
	g := New(Config{Seed: 8, SpontaneousPerMin: -1, Drift: -1})
	const step = 10 * ms
	var pts []Point
	var amps []float64
	for i := range 6 {
		pts = append(pts, run(g, 10*time.Second, step)...)
		at := g.Now()
		onset := g.Stimulus()
		assert.GreaterOrEqual(t, onset-at, time.Second, "latency")
		assert.LessOrEqual(t, onset-at, 3*time.Second, "latency")
		pts = append(pts, run(g, 40*time.Second, step)...)
		scrs := g.SCRs()
		require.Len(t, scrs, i+1)
		s := scrs[i]
		assert.True(t, s.Stimulus)
		assert.Equal(t, at, s.StimulusAt)
		assert.Equal(t, onset, s.Onset)
		assert.GreaterOrEqual(t, s.Rise, time.Second)
		assert.LessOrEqual(t, s.Rise, 2*time.Second)
		assert.GreaterOrEqual(t, float64(s.Amplitude), 0.05)
		assert.LessOrEqual(t, float64(s.Amplitude), 1.0)
		amps = append(amps, float64(s.Amplitude))

		// the signal: flat before onset, up by the amplitude at the peak
		idx := func(d time.Duration) int { return int(d/step) - 1 }
		before := float64(pts[idx(s.Onset)].EDA - pts[idx(s.Onset)].SCL)
		peak := float64(pts[idx(s.Onset+s.Rise)].EDA - pts[idx(s.Onset+s.Rise)].SCL)
		later := float64(pts[idx(s.Onset+s.Rise+s.Recovery)].EDA - pts[idx(s.Onset+s.Rise+s.Recovery)].SCL)
		assert.InDelta(t, float64(s.Amplitude), peak-before, 0.02, "peak")
		assert.InDelta(t, float64(s.Amplitude)/math.E, later-before, 0.03, "one time constant later")
	}
	for i := 1; i < len(amps); i++ {
		assert.Less(t, amps[i], amps[i-1], "habituation: response %d", i)
	}
	assert.Less(t, amps[5], amps[0]/3)
}

func TestSpontaneousSCRs(t *testing.T) {
	tests := []struct {
		name     string
		perMin   float64
		arousal  float64
		min, max int
	}{
		{"rest", 2, 0, 10, 34},
		{"aroused doubles the rate", 2, 1, 25, 60},
		{"off", -1, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := New(Config{Seed: 12, SpontaneousPerMin: tc.perMin})
			g.SetArousal(tc.arousal)
			run(g, 11*time.Minute, 50*ms)
			scrs := g.SCRs()
			assert.GreaterOrEqual(t, len(scrs), tc.min)
			assert.LessOrEqual(t, len(scrs), tc.max)
			for _, s := range scrs {
				assert.False(t, s.Stimulus)
				assert.LessOrEqual(t, s.Onset, g.Now())
				assert.GreaterOrEqual(t, float64(s.Amplitude), 0.05)
				assert.LessOrEqual(t, float64(s.Amplitude), 0.3)
			}
		})
	}
}

// Stimulus and SetArousal may be called while another goroutine steps the
// generator (run with -race).
func TestConcurrentUse(t *testing.T) {
	g := New(Config{Seed: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(g, 5*time.Second, ms)
	}()
	for i := range 20 {
		g.Stimulus()
		g.SetArousal(float64(i) / 20)
		_ = g.Beats()
		_ = g.SCRs()
	}
	<-done
	assert.Equal(t, 5*time.Second, g.Now())
}

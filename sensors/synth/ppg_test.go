package synth

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The optical signals draw from their own random source: changing their
// settings leaves ECG, heart rate and skin conductance as they were.
func TestOpticsIndependent(t *testing.T) {
	a := run(New(Config{Seed: 42}), 30*time.Second, 4*ms)
	b := run(New(Config{Seed: 42, PPGNoise: 0.3, SpO2: 91}), 30*time.Second, 4*ms)
	for i := range a {
		require.Equal(t, a[i].ECG, b[i].ECG)
		require.Equal(t, a[i].HR, b[i].HR)
		require.Equal(t, a[i].EDA, b[i].EDA)
	}
	assert.NotEqual(t, a[100].PPG, b[100].PPG)
	c := run(New(Config{Seed: 42, PPGNoise: 0.3, SpO2: 91}), 30*time.Second, 4*ms)
	assert.Equal(t, b, c, "deterministic")
}

// One pulse per heartbeat, PulseTransit after it; its systolic peak, about
// 1, comes 0.1–0.2 s after the foot, well above the foot.
func TestPPGPulses(t *testing.T) {
	g := New(Config{Seed: 9, PPGNoise: -1})
	const step = 2 * ms
	pts := run(g, time.Minute, step)
	var pulses []time.Duration
	for _, p := range pts {
		if p.Pulse {
			pulses = append(pulses, p.T)
		}
		assert.False(t, p.FingerOut)
		assert.False(t, p.Motion)
	}
	beats := g.Beats()
	var want []time.Duration
	for _, b := range beats {
		if b+PulseTransit <= g.Now() && b+PulseTransit > 0 {
			want = append(want, b+PulseTransit)
		}
	}
	require.Len(t, pulses, len(want))
	for i := range want {
		assert.InDelta(t, want[i], pulses[i], float64(step), "pulse %d", i)
	}
	at := func(d time.Duration) int { return int(d/step) - 1 }
	for _, f := range want[1 : len(want)-1] {
		i := at(f)
		peak, when := math.Inf(-1), 0
		for j := i; j < i+150; j++ { // 0.3 s
			if pts[j].PPG > peak {
				peak, when = pts[j].PPG, j-i
			}
		}
		assert.InDelta(t, 1.0, peak, 0.2, "peak after %v", f)
		assert.InDelta(t, 75, when, 25, "peak 0.1–0.2 s after the foot")
		assert.Less(t, pts[i].PPG, peak-0.6, "the foot is low")
	}
}

func TestFingerOut(t *testing.T) {
	g := New(Config{Seed: 3})
	run(g, 5*time.Second, 10*ms)
	g.SetFingerOut(true)
	for _, p := range run(g, 5*time.Second, 10*ms) {
		require.True(t, p.FingerOut)
		require.Zero(t, p.PPG, "flat")
		require.False(t, p.Pulse)
	}
	g.SetFingerOut(false)
	pulses := 0
	for _, p := range run(g, 5*time.Second, 10*ms) {
		require.False(t, p.FingerOut)
		if p.Pulse {
			pulses++
		}
	}
	assert.InDelta(t, 6, pulses, 2, "pulses again at about 70 bpm")
}

func TestMotion(t *testing.T) {
	base := Config{Seed: 5, PPGNoise: -1, SpontaneousPerMin: -1}
	calm, moved := New(base), New(base)
	run(calm, 10*time.Second, 10*ms)
	run(moved, 10*time.Second, 10*ms)
	moved.Motion(3 * time.Second)
	cp := run(calm, 5*time.Second, 10*ms)
	mp := run(moved, 5*time.Second, 10*ms)
	span := func(ps []Point) float64 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, p := range ps {
			lo, hi = min(lo, p.PPG), max(hi, p.PPG)
		}
		return hi - lo
	}
	assert.Greater(t, span(mp[:300]), 1.5*span(cp[:300]), "the PPG swings")
	for i := range mp {
		if i < 298 || i > 300 { // 3 s of 10 ms steps; the boundary step is up to float rounding
			assert.Equal(t, i < 298, mp[i].Motion, "ground truth at %v", mp[i].T)
		}
		assert.InDelta(t, float64(cp[i].EDA), float64(mp[i].EDA), 0.3, "a small EDA artefact")
	}
	assert.Equal(t, cp[400].PPG, mp[400].PPG, "over once it has passed")
}

func TestRandomMotion(t *testing.T) {
	g := New(Config{Seed: 6, MotionPerMin: 3})
	bursts, was := 0, false
	for _, p := range run(g, 10*time.Minute, 50*ms) {
		if p.Motion && !was {
			bursts++
		}
		was = p.Motion
	}
	assert.InDelta(t, 30, bursts, 14)
	none := 0
	for _, p := range run(New(Config{Seed: 6}), time.Minute, 50*ms) {
		if p.Motion {
			none++
		}
	}
	assert.Zero(t, none, "off by default")
}

func TestSpO2(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		mean float64
	}{{Config{Seed: 1}, 97.5}, {Config{Seed: 1, SpO2: 92}, 92}, {Config{Seed: 1, SpO2: 99.8}, 99.6}} {
		sum, n := 0.0, 0
		for _, p := range run(New(tc.cfg), 5*time.Minute, 100*ms) {
			v := float64(p.SpO2)
			require.LessOrEqual(t, v, 100.0)
			assert.InDelta(t, tc.mean, v, 1)
			sum += v
			n++
		}
		assert.InDelta(t, tc.mean, sum/float64(n), 0.3)
	}
}

// SetFingerOut and Motion may be called while another goroutine steps the
// generator (run with -race).
func TestOpticsConcurrentUse(t *testing.T) {
	g := New(Config{Seed: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(g, 5*time.Second, ms)
	}()
	for i := range 20 {
		g.SetFingerOut(i%2 == 0)
		g.Motion(time.Duration(i) * ms)
	}
	<-done
	assert.Equal(t, 5*time.Second, g.Now())
}

// Scheduled faults happen in the windows given, in generator time, and
// nowhere else; finger-out leaves ECG and skin conductance as they were.
func TestScheduledFaults(t *testing.T) {
	s := time.Second
	tests := []struct {
		name      string
		cfg       Config
		fingerOut []Window // where FingerOut must be true
		motion    []Window // where Motion must be true
	}{
		{name: "none", cfg: Config{}},
		{name: "finger out twice",
			cfg:       Config{FingerOutAt: []Window{{2 * s, 4 * s}, {6 * s, 7 * s}}},
			fingerOut: []Window{{2 * s, 4 * s}, {6 * s, 7 * s}}},
		{name: "finger out for good", cfg: Config{FingerOutAt: []Window{{5 * s, 0}}}, fingerOut: []Window{{5 * s, 11 * s}}},
		{name: "back to back", cfg: Config{FingerOutAt: []Window{{3 * s, 5 * s}, {5 * s, 6 * s}}},
			fingerOut: []Window{{3 * s, 6 * s}}},
		{name: "motion, given out of order",
			cfg:    Config{MotionAt: []Window{{7 * s, 8 * s}, {1 * s, 3 * s}}},
			motion: []Window{{1 * s, 3 * s}, {7 * s, 8 * s}}},
		{name: "motion without an end is ignored", cfg: Config{MotionAt: []Window{{2 * s, 0}}}},
	}
	in := func(ws []Window, d time.Duration) bool {
		for _, w := range ws {
			if d >= w.From && d < w.To {
				return true
			}
		}
		return false
	}
	near := func(ws []Window, d time.Duration) bool { // the boundary step: up to float rounding
		for _, w := range ws {
			if (d-w.From).Abs() <= 10*ms || (d-w.To).Abs() <= 10*ms {
				return true
			}
		}
		return false
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Seed = 11
			pts := run(New(cfg), 10*time.Second, 10*ms)
			plain := run(New(Config{Seed: 11}), 10*time.Second, 10*ms)
			outs, moves := 0, 0
			for i, p := range pts {
				if !near(tc.fingerOut, p.T) {
					require.Equal(t, in(tc.fingerOut, p.T), p.FingerOut, "finger out at %v", p.T)
				}
				if !near(tc.motion, p.T) {
					require.Equal(t, in(tc.motion, p.T), p.Motion, "motion at %v", p.T)
				}
				if p.FingerOut {
					outs++
					require.Zero(t, p.PPG, "flat while out")
				}
				if p.Motion {
					moves++
				}
				require.Equal(t, plain[i].ECG, p.ECG, "ECG untouched")
				if len(tc.motion) == 0 {
					require.Equal(t, plain[i].EDA, p.EDA, "EDA untouched without motion")
				}
			}
			assert.Equal(t, len(tc.fingerOut) > 0, outs > 0)
			assert.Equal(t, len(tc.motion) > 0, moves > 0)
		})
	}
}

// SetFingerOut holds until the next scheduled change.
func TestScheduleAndSetFingerOut(t *testing.T) {
	g := New(Config{Seed: 2, FingerOutAt: []Window{{3 * time.Second, 4 * time.Second}}})
	g.SetFingerOut(true)
	for _, p := range run(g, 2*time.Second, 10*ms) {
		require.True(t, p.FingerOut, "set by hand at %v", p.T)
	}
	pts := run(g, 3*time.Second, 10*ms) // 2 s .. 5 s
	assert.True(t, pts[50].FingerOut, "2.5 s: still out")
	assert.True(t, pts[150].FingerOut, "3.5 s: scheduled out")
	assert.False(t, pts[250].FingerOut, "4.5 s: back in at the window's end")
}

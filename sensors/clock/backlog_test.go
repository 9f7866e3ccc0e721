package clock

import (
	"math"
	"testing"
	"time"
)

// TestStartInBacklog: the connection starts while our process is behind
// (a loaded machine: the reader starved, then catching up only a little
// faster than the device sends), so every sample of the first hold arrives
// late, by less and less. The anchor must not learn its line from that
// falling backlog: nothing re-anchors, nothing is counted lost, the drift
// is not pushed to its bound, and the times stay on one line, one period
// apart (CI saw 4 anchors, -500 ppm, and 89 times in a row 1 ns apart).
func TestStartInBacklog(t *testing.T) {
	tests := []struct {
		name         string
		stall, drain time.Duration
	}{
		{"300 ms behind, drains 10 % faster", 300 * time.Millisecond, 900 * time.Microsecond},
		{"100 ms behind, drains 2 % faster", 100 * time.Millisecond, 980 * time.Microsecond},
		{"1 s behind, drains 5 % faster", time.Second, 950 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base(time.Minute)
			s.DriftPPM = 30
			s.StallAt, s.Stall, s.Drain = s.Offset, tt.stall, tt.drain
			r := run(t, s, Config{Rate: s.Rate, Counter: s.Counter})
			t.Logf("max deviation %v (sample %d), drift %.1f ppm, anchors %d, lost %d",
				r.maxDev, r.worst, r.stats.DriftPPM, r.stats.Anchors, r.lost)
			if r.maxDev > time.Millisecond || r.stats.Anchors != 1 || r.lost != 0 {
				t.Errorf("max deviation %v, %d anchors, %d lost; want ≤ 1 ms, 1, 0", r.maxDev, r.stats.Anchors, r.lost)
			}
			if d := r.stats.DriftPPM - s.DriftPPM; math.Abs(d) > 5 {
				t.Errorf("drift %.1f ppm, want %.0f ± 5", r.stats.DriftPPM, s.DriftPPM)
			}
			// The slew bounds an interval's error to slewRate of the
			// period, measured on the device's clock.
			if w := worstInterval(s, Config{Rate: s.Rate, Counter: s.Counter}); w > (slewRate+math.Abs(s.DriftPPM)*1e-6)/s.Rate+2e-9 {
				t.Errorf("an interval between emitted times is %.1f µs off the period", w*1e6)
			}
		})
	}
}

// worstInterval maps s and returns how far, at worst, an interval between
// consecutive emitted times is off the device's period times the samples
// it spans, in seconds.
func worstInterval(s stream, cfg Config) float64 {
	var prev sample
	var prevT time.Duration
	var worst float64
	n := 0
	m := New(cfg, func(x sample, at time.Duration, _ uint64) {
		if n > 0 {
			want := float64(x.i-prev.i) / s.Rate * (1 + s.DriftPPM*1e-6)
			worst = max(worst, math.Abs((at-prevT).Seconds()-want))
		}
		prev, prevT = x, at
		n++
	})
	s.samples(func(x sample) { m.Push(x, x.seq, x.arrival) })
	m.Flush()
	return worst
}

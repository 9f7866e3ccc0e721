package lsl

import (
	"math"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// LocalClock is CLOCK_MONOTONIC, liblsl's lsl_clock on Linux.
func TestLocalClockIsMonotonicClock(t *testing.T) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Skip(err)
	}
	mono := float64(ts.Sec) + float64(ts.Nsec)/1e9
	if d := LocalClock() - mono; d < 0 || d > 0.001 {
		t.Errorf("LocalClock is %.6f s from CLOCK_MONOTONIC", d)
	}
	if clockError > 0.0001 {
		t.Errorf("calibrated within %.1f µs", clockError*1e6)
	}
}

func TestSessionClock(t *testing.T) {
	start := time.Now()
	c := SessionClockAt(start)
	if d := math.Abs(c.Origin - FromTime(start)); d != 0 {
		t.Errorf("origin off by %v", d)
	}
	for _, st := range []time.Duration{0, time.Nanosecond, 1234567890 * time.Nanosecond, 10 * time.Hour} {
		if back := c.Session(c.LSL(st)); back != st {
			t.Errorf("%v → %v", st, back)
		}
	}
	// A session time maps to the LSL time of the moment it names.
	later := start.Add(1500 * time.Millisecond)
	if d := math.Abs(c.LSL(1500*time.Millisecond) - FromTime(later)); d > 1e-9 {
		t.Errorf("off by %v s", d)
	}
	if d := ToTime(FromTime(later)).Sub(later); d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("ToTime off by %v", d)
	}
}

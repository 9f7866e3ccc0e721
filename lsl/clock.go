package lsl

import (
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// LSL's clock (liblsl's local_clock, lsl_clock) is the machine's monotonic
// clock in seconds: std::chrono::steady_clock, which on Linux is
// CLOCK_MONOTONIC. Two programs on one machine therefore share it, and the
// time correction between them reads 0.
//
// Go's own monotonic readings (the ones inside time.Now) come from the same
// CLOCK_MONOTONIC but count from the process start, so the two differ by an
// offset that is fixed for the life of the process. It is measured once, and
// LocalClock adds it to Go's monotonic time: no system call per reading, and
// time.Time values convert exactly (FromTime).
var (
	clockBase  time.Time // a Go time with a monotonic reading...
	clockMono  float64   // ...and CLOCK_MONOTONIC seconds at that instant
	clockError float64   // half the window the two readings were taken in
)

func init() { clockBase, clockMono, clockError = calibrate() }

// calibrate pairs a Go time with a CLOCK_MONOTONIC reading, keeping the
// tightest of a few tries (a preemption between the reads widens one).
func calibrate() (time.Time, float64, float64) {
	var bestT time.Time
	best, bestW := 0.0, math.Inf(1)
	for range 16 {
		a := time.Now()
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) != nil {
			// No CLOCK_MONOTONIC: count from now. Other programs'
			// clocks then differ, which time correction measures.
			return a, 1, 0
		}
		b := time.Now()
		if w := b.Sub(a).Seconds(); w < bestW {
			bestW = w
			bestT = a.Add(b.Sub(a) / 2)
			best = float64(ts.Sec) + float64(ts.Nsec)/1e9
		}
	}
	return bestT, best, bestW / 2
}

// LocalClock is the current time on LSL's clock, in seconds.
func LocalClock() float64 { return FromTime(time.Now()) }

// FromTime converts a time.Time taken in this process (so carrying a
// monotonic reading) to LSL's clock.
func FromTime(t time.Time) float64 { return clockMono + t.Sub(clockBase).Seconds() }

// ToTime converts a time on LSL's clock back to a time.Time of this process.
func ToTime(lsl float64) time.Time {
	return clockBase.Add(time.Duration(math.Round((lsl - clockMono) * 1e9)))
}

// SessionClock maps cueroom's session clock (a time.Duration since session
// start, see engine.Clock) onto LSL's clock: an LSL time is Origin plus the
// session time in seconds. Origin is fixed when the session starts, so the
// map never drifts: both clocks are the same monotonic clock.
//
// A live session takes its origin from the session's start
// (SessionClockAt(clock.Start())). A replay, whose session clock is the
// recording's, takes LocalClock() minus the position it starts playing
// from, so markers reach LSL when they are replayed.
type SessionClock struct {
	Origin float64 // LSL time of session time 0, seconds
}

// SessionClockAt is the map for a session that started at start (a
// time.Time of this process, e.g. engine.Clock.Start()).
func SessionClockAt(start time.Time) SessionClock { return SessionClock{Origin: FromTime(start)} }

// LSL converts a session time to LSL's clock.
func (c SessionClock) LSL(t time.Duration) float64 { return c.Origin + t.Seconds() }

// Session converts a time on LSL's local clock to the session clock, to the
// nearest nanosecond. A sample received from another machine is first put
// on the local clock by adding its stream's time correction.
func (c SessionClock) Session(lsl float64) time.Duration {
	return time.Duration(math.Round((lsl - c.Origin) * 1e9))
}

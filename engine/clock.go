// Package engine runs a session: the state machine over a protocol's steps,
// the session clock, and the seams to the window (Snapshot), the sound
// (CuePlayer) and everything downstream (the bus).
package engine

import "time"

// Clock is the session's time base: monotonic, zero at session start. Every
// sample, frame and event is stamped with it.
type Clock struct {
	start time.Time
	now   func() time.Time // time.Now; a test's own clock
}

// NewClock starts a clock now.
func NewClock() *Clock { return NewClockFunc(time.Now) }

// NewClockFunc starts a clock that reads the time from now (starting at
// its first reading): tests move time themselves instead of sleeping.
func NewClockFunc(now func() time.Time) *Clock { return &Clock{start: now(), now: now} }

// Now is the time since the session started.
func (c *Clock) Now() time.Duration { return c.now().Sub(c.start) }

// Wall converts a session time to wall-clock time.
func (c *Clock) Wall(t time.Duration) time.Time { return c.start.Add(t) }

// Start is the wall-clock time of session start.
func (c *Clock) Start() time.Time { return c.start }

// Package engine runs a session: the state machine over a protocol's steps,
// the session clock, and the seams to the window (Snapshot), the sound
// (CuePlayer) and everything downstream (the bus).
package engine

import "time"

// Clock is the session's time base: monotonic, zero at session start. Every
// sample, frame and event is stamped with it.
type Clock struct{ start time.Time }

// NewClock starts a clock now.
func NewClock() *Clock { return &Clock{start: time.Now()} }

// Now is the time since the session started.
func (c *Clock) Now() time.Duration { return time.Since(c.start) }

// Wall converts a session time to wall-clock time.
func (c *Clock) Wall(t time.Duration) time.Time { return c.start.Add(t) }

// Start is the wall-clock time of session start.
func (c *Clock) Start() time.Time { return c.start }

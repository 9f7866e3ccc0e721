package pipeline

import (
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/replay"
)

// Live drives a pipeline with a live session.
type Live struct{ *engine.Session }

// State is the session's snapshot.
func (l Live) State() any { return l.Snapshot() }

// Replay is nil: this is a live session.
func (Live) Replay() *feed.ReplayInfo { return nil }

// Commands are the therapist's commands on the session.
func (l Live) Commands() *feed.Commands {
	s := l.Session
	return feed.NewCommands(nil).
		Handle(feed.CmdStart, func(c feed.Command) error { return s.Start(c.From) }).
		Handle(feed.CmdPause, func(c feed.Command) error { return s.Pause(c.From) }).
		Handle(feed.CmdResume, func(c feed.Command) error { return s.Resume(c.From) }).
		Handle(feed.CmdNext, func(c feed.Command) error { return s.Next(c.From) }).
		Handle(feed.CmdRepeat, func(c feed.Command) error { return s.Repeat(c.From) }).
		Handle(feed.CmdBack, func(c feed.Command) error { return s.Back(c.From) }).
		Handle(feed.CmdRate, func(c feed.Command) error { return s.AskRating(c.Scale(), c.From) }).
		Handle(feed.CmdEnd, func(c feed.Command) error { s.End("ended by therapist " + c.From); return nil }).
		Handle(feed.CmdPanic, func(c feed.Command) error { return s.Calm("panic", c.From) }).
		Handle(feed.CmdMarker, func(c feed.Command) error { return s.Mark(c.Text(), c.From) })
}

// Replay drives a pipeline with a recorded session played back.
type Replay struct {
	*replay.Player
	Info feed.ReplayInfo // the folder, its start, whether a window shows
}

// State is the replay's status: the snapshot at the position, and where
// the replay stands.
func (r Replay) State() any { return r.Status() }

// Replay says it is a replay, of what and how long.
func (r Replay) Replay() *feed.ReplayInfo {
	info := r.Info
	info.Duration = r.Duration()
	return &info
}

// Commands map the dashboard's transport onto the replay; what would
// change the recorded session is refused.
func (r Replay) Commands() *feed.Commands {
	p := r.Player
	play := func(feed.Command) error { return p.Play() }
	return feed.NewCommands(replay.ErrReadOnly).
		Handle(feed.CmdPause, func(feed.Command) error { return p.Pause() }).
		Handle(feed.CmdResume, play).
		Handle(feed.CmdStart, play).
		Handle(feed.CmdNext, func(feed.Command) error { return p.NextStep() }).
		Handle(feed.CmdBack, func(feed.Command) error { return p.PrevStep() }).
		Handle(feed.CmdSeek, func(c feed.Command) error {
			if t, step, byStep := c.Seek(); !byStep {
				p.Seek(t)
				return nil
			} else {
				return p.SeekStep(step)
			}
		}).
		Handle(feed.CmdSpeed, func(c feed.Command) error { return p.SetSpeed(c.Speed()) }).
		Handle(feed.CmdEnd, func(feed.Command) error { p.End("ended from the dashboard"); return nil })
}

// Package replay plays a recorded session back: the scene the patient saw
// at each moment, rebuilt from the recorded events, and the recorded samples
// and events, on a clock that can pause, change speed and seek. It feeds the
// same window and the same dashboard feed as a live session, so what a
// researcher sees in replay is what the therapist saw live.
package replay

import (
	"math"
	"sort"
	"time"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
)

// Timeline is what the patient's screen showed over the session: a list of
// segments, each starting at an event that changed the session's state. The
// state is the recorded events folded through engine.Apply, as the live
// session folded them when it emitted them, so a replay shows at each time
// what the live session showed then.
type Timeline struct {
	steps  []scenes.Step
	segs   []seg
	starts []StepStart
	looks  []look
	end    time.Duration
}

// look is where the patient looked in a 360° cue from t on.
type look struct {
	t          time.Duration
	cue        string
	yaw, pitch float64 // degrees
}

// StepStart is one presentation of a step (a repeated step starts twice).
type StepStart struct {
	T    time.Duration
	Step int
}

// seg is the state from t until the next segment.
type seg struct {
	t    time.Duration
	snap engine.Snapshot // the state as of t; At(now) shows it later
	// Sound cues (re)start with a step and after the patient's stop:
	// epoch counts those starts, soundFrom is the step time of the last.
	epoch     int
	soundFrom time.Duration
}

// NewTimeline rebuilds the scene from events (in time order, as
// record.Open returns them). steps is the protocol's played order; events
// naming a step outside it are ignored, so a recording that does not match
// its protocol shows what it can rather than failing.
func NewTimeline(events []event.Event, steps []scenes.Step) *Timeline {
	tl := &Timeline{steps: steps}
	cur := seg{snap: engine.NewSnapshot(len(steps))}
	tl.segs = append(tl.segs, cur)
	for _, e := range events {
		if e.T > tl.end {
			tl.end = e.T
		}
		switch d := e.Data.(type) {
		case event.StepStart:
			if e.Step < 0 || e.Step >= len(steps) {
				continue
			}
			e.Data = complete(d, steps[e.Step])
		case event.Look:
			if d.Cue != "" && !math.IsNaN(d.YawDeg+d.PitchDeg) && !math.IsInf(d.YawDeg+d.PitchDeg, 0) {
				tl.looks = append(tl.looks, look{t: e.T, cue: d.Cue, yaw: d.YawDeg, pitch: d.PitchDeg})
			}
			continue
		}
		snap := engine.Apply(cur.snap, e)
		if snap == cur.snap {
			continue // changed nothing
		}
		next := seg{t: max(e.T, cur.t), snap: snap, epoch: cur.epoch, soundFrom: cur.soundFrom}
		switch {
		case snap.Presentation != cur.snap.Presentation:
			next.epoch, next.soundFrom = cur.epoch+1, 0
			tl.starts = append(tl.starts, StepStart{T: next.t, Step: snap.Step})
		case cur.snap.State == engine.Calm && snap.State == engine.Running:
			// The calm scene faded the sounds out; the resume starts them again.
			next.epoch, next.soundFrom = cur.epoch+1, snap.StepTime(next.t)
		}
		cur = next
		tl.segs = append(tl.segs, cur)
	}
	return tl
}

// complete fills in what a step_start lacks (a hand-made or partial
// recording) from the protocol's step; what the recording says stands.
func complete(d event.StepStart, st scenes.Step) event.StepStart {
	if d.ID == "" {
		d.ID = st.ID
	}
	if d.Name == "" {
		d.Name = st.Name
	}
	if d.Intensity == 0 {
		d.Intensity = st.Intensity
	}
	if d.Duration <= 0 {
		d.Duration = event.Secs(st.Duration)
	}
	return d
}

// End is the time of the last event.
func (tl *Timeline) End() time.Duration { return tl.end }

// Starts lists every step presentation in time order.
func (tl *Timeline) Starts() []StepStart { return tl.starts }

// Step returns the step at index i of the played order.
func (tl *Timeline) Step(i int) (scenes.Step, bool) {
	if i < 0 || i >= len(tl.steps) {
		return scenes.Step{}, false
	}
	return tl.steps[i], true
}

// index is the segment showing at t.
func (tl *Timeline) index(t time.Duration) int {
	return sort.Search(len(tl.segs), func(i int) bool { return tl.segs[i].t > t }) - 1
}

// At is the scene at session time t, as the live session's Snapshot was.
func (tl *Timeline) At(t time.Duration) engine.Snapshot {
	return tl.segs[max(tl.index(t), 0)].snap.At(t)
}

// LookAt is where the patient looked in the 360° cue at t: the last
// recorded direction, or where the protocol starts it.
func (tl *Timeline) LookAt(cue string, t time.Duration) (yaw, pitch float64, ok bool) {
	i := sort.Search(len(tl.looks), func(i int) bool { return tl.looks[i].t > t }) - 1
	for ; i >= 0; i-- {
		if tl.looks[i].cue == cue {
			return tl.looks[i].yaw, tl.looks[i].pitch, true
		}
	}
	for _, st := range tl.steps {
		for _, c := range st.Cues {
			if c.ID == cue {
				return c.Yaw, 0, true
			}
		}
	}
	return 0, 0, false
}

// sound says which sound cues were playing at t: the epoch of their start
// and how far into them, or ok false when none were.
func (tl *Timeline) sound(t time.Duration) (epoch, step int, offset time.Duration, paused, ok bool) {
	i := tl.index(t)
	if i < 0 {
		return 0, 0, 0, false, false
	}
	sg := tl.segs[i]
	switch sg.snap.State {
	case engine.Running, engine.Paused:
	default:
		return 0, 0, 0, false, false
	}
	return sg.epoch, sg.snap.Step, sg.snap.StepTime(t) - sg.soundFrom, sg.snap.State == engine.Paused, true
}

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
	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/scenes"
)

// Timeline is what the patient's screen showed over the session: a list of
// segments, each starting at an event that changed the scene.
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

// seg is the scene from t until the next segment.
type seg struct {
	t       time.Duration
	state   engine.State
	step    int
	elapsed time.Duration // the step's own clock at t (pauses excluded)
	prompt  *engine.Prompt
	// Sound cues (re)start with a step and after the patient's stop:
	// epoch counts those starts, soundFrom is the step time of the last.
	epoch     int
	soundFrom time.Duration
	pres      uint64 // step starts so far
}

// NewTimeline rebuilds the scene from events (in time order, as
// record.Open returns them). steps is the protocol's played order; events
// naming a step outside it are ignored, so a recording that does not match
// its protocol shows what it can rather than failing.
func NewTimeline(events []bus.Event, steps []scenes.Step) *Timeline {
	tl := &Timeline{steps: steps}
	cur := seg{state: engine.Ready, step: -1}
	tl.segs = append(tl.segs, cur)
	push := func(t time.Duration, change func(*seg)) {
		if t < cur.t {
			t = cur.t // never back in time, whatever the file says
		}
		if cur.state == engine.Running {
			cur.elapsed += t - cur.t
		}
		cur.t = t
		change(&cur)
		tl.segs = append(tl.segs, cur)
	}
	for _, e := range events {
		if e.T > tl.end {
			tl.end = e.T
		}
		switch e.Kind {
		case bus.StepStart:
			if e.Step < 0 || e.Step >= len(steps) {
				continue
			}
			push(e.T, func(s *seg) {
				s.state, s.step, s.elapsed, s.prompt = engine.Running, e.Step, 0, nil
				s.pres++
				s.epoch, s.soundFrom = s.epoch+1, 0
			})
			tl.starts = append(tl.starts, StepStart{T: e.T, Step: e.Step})
		case bus.PatientStop:
			push(e.T, func(s *seg) { s.state, s.prompt = engine.Calm, nil })
		case bus.Command:
			switch e.Data["cmd"] {
			case "pause":
				push(e.T, func(s *seg) { s.state = engine.Paused })
			case "panic":
				push(e.T, func(s *seg) { s.state, s.prompt = engine.Calm, nil })
			case "resume":
				push(e.T, func(s *seg) {
					if s.state == engine.Calm {
						s.epoch, s.soundFrom = s.epoch+1, s.elapsed
					}
					s.state = engine.Running
				})
			}
		case bus.RatingPrompt:
			scale, _ := e.Data["scale"].(string)
			q, _ := e.Data["question"].(string)
			push(e.T, func(s *seg) { s.prompt = &engine.Prompt{Scale: scale, Question: q, Since: e.T} })
		case bus.Rating:
			push(e.T, func(s *seg) { s.prompt = nil })
		case bus.Look:
			cue, _ := e.Data["cue"].(string)
			yaw, ok1 := e.Data["yaw_deg"].(float64)
			pitch, ok2 := e.Data["pitch_deg"].(float64)
			if cue != "" && ok1 && ok2 && !math.IsNaN(yaw+pitch) && !math.IsInf(yaw+pitch, 0) {
				tl.looks = append(tl.looks, look{t: e.T, cue: cue, yaw: yaw, pitch: pitch})
			}
		case bus.SessionEnd:
			push(e.T, func(s *seg) { s.state, s.prompt = engine.Ended, nil })
		}
	}
	return tl
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
	i := max(tl.index(t), 0)
	sg := tl.segs[i]
	snap := engine.Snapshot{State: sg.state, Step: sg.step, Steps: len(tl.steps), Prompt: sg.prompt, Scene: uint64(i) + 1, Presentation: sg.pres, Now: t}
	if st, ok := tl.Step(sg.step); ok {
		snap.StepID, snap.StepName, snap.Intensity = st.ID, st.Name, st.Intensity
		el := sg.elapsed
		if sg.state == engine.Running {
			el += t - sg.t
		}
		el = min(el, st.Duration)
		snap.Elapsed, snap.Remaining = el, st.Duration-el
	}
	return snap
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
	switch sg.state {
	case engine.Running, engine.Paused:
	default:
		return 0, 0, 0, false, false
	}
	el := sg.elapsed
	if sg.state == engine.Running {
		el += t - sg.t
	}
	return sg.epoch, sg.step, el - sg.soundFrom, sg.state == engine.Paused, true
}

package engine

import (
	"encoding/json"
	"math"
	"time"

	"github.com/cueroom/cueroom/event"
)

// State is where a session is.
type State string

const (
	Ready   State = "ready"   // loaded, not started
	Running State = "running" // a step is playing
	Paused  State = "paused"  // the therapist paused: timers, video and sound frozen
	Calm    State = "calm"    // patient stop or panic: calm scene, waiting for the therapist
	Ended   State = "ended"
)

// Duration is a time span, or a session time, that JSON carries in seconds
// (a number), as the feed and the recording's event data write times.
type Duration time.Duration

// Duration is d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Seconds())
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*d = Duration(fromSeconds(s))
	return nil
}

// fromSeconds rounds to the nanosecond, so a duration that went through
// seconds (a step_start's duration) comes back exactly.
func fromSeconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// Prompt is a rating the patient is being asked for.
type Prompt struct {
	Scale    string        `json:"scale"`
	Question string        `json:"question"`
	Since    time.Duration `json:"-"` // session time of the prompt
	// AtEnd marks the step's closing prompt, asked when the step's time is
	// up: answering it (or its timing out) ends the step.
	AtEnd bool `json:"at_end"`
	// Timeout is how long the prompt waits for an answer, on the step's
	// clock (a pause stops it): the snapshot's PromptLeft counts it down.
	Timeout Duration `json:"timeout"`
	// Marker is where the patient's mark stands on the scale (0–100) while
	// they choose, nil until they place one (Session.MoveMarker). It is
	// live only, the one part of a snapshot no event makes: the recording
	// has the answer, and a replay shows no marker.
	Marker *int `json:"marker,omitempty"`

	at time.Duration // the step's clock when the prompt opened
}

// Snapshot is what the window and the dashboard read: the session's state
// as its events made it (see Apply), seen at session time Now (see At). A
// copy, never shared. Its JSON is the dashboard's "state" object.
type Snapshot struct {
	State     State    `json:"status"`
	Step      int      `json:"step_index"` // index into Protocol.All(), -1 before the start
	StepID    string   `json:"step_id,omitempty"`
	StepName  string   `json:"step_name,omitempty"`
	Intensity int      `json:"intensity"`
	Steps     int      `json:"steps"`
	Elapsed   Duration `json:"step_elapsed"`     // in the step, pauses and calm excluded, at most its duration
	Remaining Duration `json:"step_remaining"`   // of the step's duration
	Prompt    *Prompt  `json:"prompt,omitempty"` // shared: read only
	// PromptLeft is the open prompt's time left before it times out (0
	// with no prompt): a Duration here, not in the shared Prompt, so a
	// snapshot per frame allocates nothing.
	PromptLeft Duration `json:"prompt_remaining,omitempty"`
	Now        Duration `json:"t"` // the session time the snapshot shows
	// Scene changes whenever what the patient should see changes; the
	// window logs cue onsets on the first frame that shows a new Scene.
	// Not sent: the dashboard has the events themselves.
	Scene uint64 `json:"-"`
	// Presentation counts step starts: a repeated step is a new
	// presentation, and its cues new onsets, though the picture stays.
	Presentation uint64 `json:"-"`

	// The step's own clock: it read clock at session time since (the last
	// change) and runs on from there while Running. At shows it as Elapsed
	// and Remaining; only Apply moves it.
	length time.Duration // the step's duration
	since  time.Duration
	clock  time.Duration // not capped at length
}

// NewSnapshot is a session of steps steps before its start: ready, no step.
func NewSnapshot(steps int) Snapshot { return Snapshot{State: Ready, Step: -1, Steps: steps} }

// StepTime is the step's own clock at session time now: the time spent in
// the step, pauses and the calm scene excluded, not capped at its duration
// (a closing prompt holds a step past it).
func (s Snapshot) StepTime(now time.Duration) time.Duration {
	if s.State == Running && now > s.since {
		return s.clock + now - s.since
	}
	return s.clock
}

// At is the snapshot as seen at session time now (not before the event
// that made it): the step's Elapsed and Remaining then.
func (s Snapshot) At(now time.Duration) Snapshot {
	s.Now, s.Elapsed, s.Remaining, s.PromptLeft = Duration(now), 0, 0, 0
	if s.Step >= 0 {
		el := min(s.StepTime(now), s.length)
		s.Elapsed, s.Remaining = Duration(el), Duration(s.length-el)
	}
	if s.Prompt != nil {
		s.PromptLeft = Duration(max(s.promptLeft(now), 0))
	}
	return s
}

// promptLeft is the open prompt's time left at session time now, on the
// step's clock (negative once it has timed out); there must be a prompt.
func (s Snapshot) promptLeft(now time.Duration) time.Duration {
	p := s.Prompt
	return p.Timeout.Duration() - (s.StepTime(now) - p.at)
}

// Apply is the session's state machine: the snapshot after event e. It is a
// pure function of the two, so the live session (which applies each event
// it emits) and a replay (which applies the recorded ones) show the same
// state at the same time by construction.
//
// An event that cannot happen in s's state (a pause while not running, a
// rating with no prompt open, anything after the end) changes nothing, as
// do the kinds that never change what the patient sees or the dashboard's
// state: Apply then returns s unchanged. Otherwise the result is seen at
// e.T (never earlier than the last change). Steps and their durations come
// from the step_start payloads: no protocol is needed.
func Apply(s Snapshot, e event.Event) Snapshot {
	t := max(e.T, s.since)
	next := s
	next.clock, next.since = s.StepTime(t), t
	switch d := e.Data.(type) {
	case event.SessionStart:
		if d.Steps <= 0 || d.Steps == s.Steps {
			return s // a recording without the count keeps the protocol's
		}
		next.Steps = d.Steps
	case event.StepStart:
		if s.State == Ended || e.Step < 0 || (s.Steps > 0 && e.Step >= s.Steps) {
			return s
		}
		next.State, next.Step, next.Prompt = Running, e.Step, nil
		next.StepID, next.StepName, next.Intensity = d.ID, d.Name, d.Intensity
		next.length, next.clock = fromSeconds(float64(d.Duration)), 0
		next.Scene++
		next.Presentation++
	case event.PatientStop:
		if s.State == Ended {
			return s
		}
		next.State, next.Prompt = Calm, nil
		next.Scene++
	case event.Command:
		switch d.Cmd {
		case "pause":
			if s.State != Running {
				return s
			}
			next.State = Paused
		case "resume":
			switch {
			case s.State == Calm && s.Step < 0:
				next.State = Ready // stopped on the waiting screen: waiting again
			case s.State == Paused || s.State == Calm:
				next.State = Running
			default:
				return s
			}
		case "panic": // as the patient's stop
			if s.State == Ended {
				return s
			}
			next.State, next.Prompt = Calm, nil
		default:
			// next, repeat, back: the step_end and step_start (or
			// session_end) that follow change the state. rate: its prompt.
			return s
		}
		next.Scene++
	case event.RatingPrompt:
		if s.State != Running {
			return s
		}
		// A closing prompt says so; recordings from before at_end asked it
		// when, and only when, the step's time was up.
		next.Prompt = &Prompt{Scale: d.Scale, Question: d.Question, Since: t, AtEnd: d.AtEnd || next.clock >= next.length,
			Timeout: Duration(PromptTimeout), at: next.clock}
		next.Scene++
	case event.Rating:
		if s.Prompt == nil {
			return s
		}
		next.Prompt = nil
		next.Scene++
	case event.SessionEnd:
		if s.State == Ended {
			return s
		}
		next.State, next.Prompt = Ended, nil
		next.Scene++
	default:
		// step_end (what follows it changes the scene), cue onsets and
		// offsets, looks, markers, alerts, sensor events: not the state.
		return s
	}
	return next.At(t)
}

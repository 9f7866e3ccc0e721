package xr

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cueroom/cueroom/event"
)

// Session is what a display acts on: the live session and its clock. The
// pipeline implements it over engine.Session and the bus.
type Session interface {
	// Now is the session clock.
	Now() time.Duration
	// Showing is the current step index (−1 before the start) and the
	// snapshot's Scene counter, which changes whenever what the patient
	// should see changes (engine.Snapshot.Scene).
	Showing() (step int, scene uint64)
	// Publish puts an event on the bus stamped t.
	Publish(t time.Duration, step int, d event.Data)
	// PatientStop is the patient's stop: engine.Session.Calm("patient_stop", by).
	PatientStop(by string) error
	// Answer records the patient's rating of the open prompt, refusing a
	// scale other than the prompt's: engine.Session.Answer(value, by).
	Answer(scale string, value int, by string) error
}

// By is who display actions are recorded as (event data "by").
const By = "headset"

// Limits of what one display may send, beyond ParseDisplay's: looks and
// pings are rate-limited (token buckets: rate a second, burst), frame
// reports are taken once per cue and scene.
const (
	lookRate, lookBurst = 10, 5 // the page sends ≤ 10 a second; the way may bunch them
	pingRate, pingBurst = 5, 12 // 10 a second for the first 0.8 s, then 2
)

// Display is one display connection's handling of what it sends: the feed
// creates one per display client and passes it every message it reads. Safe
// for one goroutine (the client's read loop); Refusals may be read from any.
type Display struct {
	plan *Plan
	s    Session

	look, ping bucket
	onsets     map[onsetKey]bool // frame reports taken in the current scene
	alerted    map[onsetKey]bool // cues whose refused media were reported
	scene      uint64

	mu      sync.Mutex
	refused map[string]int // by reason (an error code, or "rate", "duplicate", "not_showing")
}

type onsetKey struct {
	cue   string
	scene uint64
}

// NewDisplay handles a display of plan's session s.
func NewDisplay(plan *Plan, s Session) *Display {
	return &Display{plan: plan, s: s, onsets: map[onsetKey]bool{}, alerted: map[onsetKey]bool{}, refused: map[string]int{},
		look: bucket{rate: lookRate, burst: lookBurst}, ping: bucket{rate: pingRate, burst: pingBurst}}
}

// Handle applies one message from the display, read at session time (Now
// is called once, first). reply is what to send back at once (a pong), nil
// for none; err is a refusal (an *Error, whose Code and Msg the feed sends
// as an "error" message), counted in Refusals. A duplicate frame report
// (the same cue shown again in the same scene) is ignored, not an error.
func (d *Display) Handle(raw []byte) (reply []byte, err error) {
	at := d.s.Now()
	m, err := ParseDisplay(raw)
	if err == nil {
		err = m.CheckTime(at)
	}
	if err != nil {
		var e *Error
		code := CodeBadJSON
		if errors.As(err, &e) {
			code = e.Code
		}
		d.count(code)
		return nil, err
	}
	switch m.Cmd {
	case CmdPing:
		if !d.ping.take(at) {
			return nil, d.refuse("rate", m.ID, "more than %d pings a second", pingRate)
		}
		return Pong(m, at), nil
	case CmdLook:
		if !d.look.take(at) {
			return nil, d.refuse("rate", m.ID, "more than %d looks a second", lookRate)
		}
		step, _ := d.s.Showing()
		d.s.Publish(at, step, m.Look())
	case CmdFrame:
		return nil, d.frame(m, at)
	case CmdPatientStop:
		if err := d.s.PatientStop(By); err != nil {
			return nil, d.refuse(CodeBadArgs, m.ID, "stop: %v", err)
		}
	case CmdAnswer:
		if err := d.s.Answer(m.Scale, m.Value, By); err != nil {
			return nil, d.refuse(CodeBadArgs, m.ID, "answer: %v", err)
		}
	}
	return nil, nil
}

// frame records a cue's first displayed frame on the headset, once per cue
// and scene (after a calm scene the cue is shown anew, as the window
// records it), for a cue of the step being shown; or, for a refused file
// (of any step: the page fetches ahead), an alert for the therapist.
func (d *Display) frame(m Msg, at time.Duration) error {
	step, scene := d.s.Showing()
	c, ok := d.plan.Cue(m.Cue)
	if ok && m.Refused != "" {
		// Refused while fetching ahead, too: the sooner the therapist
		// knows the better. Once per cue and connection.
		k := onsetKey{cue: m.Cue}
		if d.alerted[k] {
			d.count("duplicate")
			return nil
		}
		d.alerted[k] = true
		why := map[string]string{
			RefusedSHA256: "its file differs from the one in the manifest (SHA-256)",
			RefusedFetch:  "its file could not be fetched",
			RefusedDecode: "its file could not be decoded",
		}[m.Refused]
		d.s.Publish(at, step, event.Alert{Source: "headset", Level: event.LevelWarning, Incident: "headset:" + c.ID, Cue: c.ID,
			Detail: c.File, Message: fmt.Sprintf("The headset cannot show cue %s: %s", c.ID, why)})
		return nil
	}
	if !ok || step < 0 || step >= len(d.plan.Steps) || !inStep(d.plan.Steps[step], m.Cue) {
		return d.refuse("not_showing", m.ID, "cue %q is not in the step being shown", clip(m.Cue))
	}
	if scene != d.scene {
		clear(d.onsets)
		d.scene = scene
	}
	k := onsetKey{m.Cue, scene}
	if d.onsets[k] {
		d.count("duplicate")
		return nil
	}
	d.onsets[k] = true
	if on, ok := d.plan.Onset(m); ok {
		d.s.Publish(m.TSession, step, on)
	}
	return nil
}

func inStep(st PlanStep, cue string) bool {
	for _, c := range st.Cues {
		if c.ID == cue {
			return true
		}
	}
	return false
}

func (d *Display) refuse(reason, id, format string, a ...any) error {
	d.count(reason)
	code := reason
	if reason == "rate" {
		code = "rate_limited"
	} else if reason == "not_showing" {
		code = CodeBadArgs
	}
	return &Error{Code: code, ID: id, Msg: fmt.Sprintf(format, a...)}
}

func (d *Display) count(reason string) {
	d.mu.Lock()
	d.refused[reason]++
	d.mu.Unlock()
}

// Refusals counts what was refused or ignored, by reason: an error code of
// ParseDisplay, "rate" (looks or pings over their limit), "not_showing"
// (a frame report for a cue not on screen), "duplicate" (a frame report
// already taken), bad_args for a stop or answer the session refused.
func (d *Display) Refusals() map[string]int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]int, len(d.refused))
	for k, v := range d.refused {
		out[k] = v
	}
	return out
}

// Lost is the alert for the therapist when the display's connection drops
// (or goes silent: the page pings every 0.5 s); Back resolves it.
func Lost(reason string) event.Alert {
	return event.Alert{Source: "headset", Level: event.LevelWarning, Incident: "headset",
		Message: "The headset lost its connection: the patient may be seeing the calm screen", Detail: reason}
}

// Back says the display is connected again.
func Back() event.Alert {
	return event.Alert{Source: "headset", Level: event.LevelWarning, Incident: "headset", Resolved: true,
		Message: "The headset is connected again"}
}

// bucket is a token bucket on the session clock.
type bucket struct {
	rate, burst float64
	tokens      float64
	last        time.Duration
	started     bool
}

func (b *bucket) take(now time.Duration) bool {
	if !b.started {
		b.started, b.tokens, b.last = true, b.burst, now
	}
	if now > b.last {
		b.tokens = min(b.burst, b.tokens+(now-b.last).Seconds()*b.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

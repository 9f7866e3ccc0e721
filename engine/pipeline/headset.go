package pipeline

import (
	"fmt"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/xr"
	"github.com/cueroom/cueroom/event"
)

// Headset is the live session as a headset's display acts on it
// (xr.Session): the engine.Session and the bus. The feed hands each
// display message to an xr.Display over it; what the Display decides is
// published here: cue onsets with source "headset" (stamped at the frame
// the headset showed), look events, the refused-media alerts and the
// feed's lost/back alerts. The patient's stop is the window's Esc
// (by "headset"), answers are the patient's rating.
type Headset struct {
	s     *engine.Session
	bus   *bus.Bus
	clock *engine.Clock

	mu   sync.Mutex
	look headLook
}

// headLook is the display's latest look, and the step it was for.
type headLook struct {
	yaw, pitch float64
	step       int
	ok         bool
}

// NewHeadset is the headset's view of live session s on b.
func NewHeadset(s *engine.Session, b *bus.Bus, clock *engine.Clock) *Headset {
	return &Headset{s: s, bus: b, clock: clock}
}

var _ xr.Session = (*Headset)(nil)

// Now is the session clock.
func (h *Headset) Now() time.Duration { return h.clock.Now() }

// Showing is the step shown and the snapshot's scene counter.
func (h *Headset) Showing() (int, uint64) {
	snap := h.s.Snapshot()
	return snap.Step, snap.Scene
}

// Publish puts the display's event on the bus stamped t (a headset onset
// is stamped at the frame it reports, a little before now).
func (h *Headset) Publish(t time.Duration, step int, d event.Data) {
	switch v := d.(type) {
	case event.Look:
		h.mu.Lock()
		h.look = headLook{yaw: v.YawDeg, pitch: v.PitchDeg, step: step, ok: true}
		h.mu.Unlock()
	case event.Alert:
		if v.Source == "headset" && v.Incident == "headset" && !v.Resolved {
			// The connection is lost: its direction is no longer known.
			h.mu.Lock()
			h.look.ok = false
			h.mu.Unlock()
		}
	}
	h.bus.Publish(bus.Msg{Event: &event.Event{T: t, Wall: h.clock.Wall(t), Step: step, Data: d}})
}

// PatientStop is the patient's stop from the headset: the window's Esc.
func (h *Headset) PatientStop(by string) error { return h.s.Calm("patient_stop", by) }

// Answer records the patient's rating of the open prompt; a scale other
// than the prompt's is refused (the page answered a prompt since closed).
func (h *Headset) Answer(scale string, value int, by string) error {
	snap := h.s.Snapshot()
	if snap.Prompt == nil {
		return fmt.Errorf("rating: no prompt is open: %w", engine.ErrState)
	}
	if snap.Prompt.Scale != scale {
		return fmt.Errorf("rating: the open prompt is %s, not %s: %w", snap.Prompt.Scale, scale, engine.ErrState)
	}
	return h.s.Answer(value, by)
}

// HeadView is where the patient looks in the headset, as its latest look
// event says (degrees: yaw from the scene's reference, positive right;
// pitch positive down, as the window records looks); ok is false with no
// headset connected, before its first look, and once the step it looked
// in has ended. Give it to the window (window.Options.HeadView) so the
// therapist's window shows what the patient sees. Safe from any
// goroutine; it allocates nothing.
func (h *Headset) HeadView() (yawDeg, pitchDeg float64, ok bool) {
	h.mu.Lock()
	l := h.look
	h.mu.Unlock()
	if !l.ok || h.s.Snapshot().Step != l.step {
		return 0, 0, false
	}
	return l.yaw, l.pitch, true
}

// Package present turns what was presented to the patient into events: it is
// the one place cue onsets, cue offsets and look events are made.
//
// The window reports each frame it presented (which visual cues it showed,
// and where the patient looked in a 360° scene); the sound player reports
// when a sound reaches the speaker and when it stops. The Presenter compares
// each frame with the one before and sends the events to a sink: the bus in
// a live session, nothing in a replay (whose events are recorded already).
//
// A frame's time is when it was presented: the window stamps each frame
// after the buffer swap that put it on screen (see package window for how,
// and its uncertainty), never when drawing started, so no onset precedes
// the event that made its picture.
//
// Renderers stay free of event logic, and the rules below are tested without
// a window:
//   - a visual cue's onset is the time of the first frame that showed it; its
//     offset is the time of the last frame that showed it;
//   - a new presentation (a repeated step) is a new onset though the picture
//     stays; a pause keeps its cues on screen, the calm scene takes them off;
//   - a cue that leaves the screen and comes back (a video that opened late,
//     a rating prompt hidden by a pause) is a new onset each time, and so is
//     a new showing of the same cue (Cue.Instance) in consecutive frames;
//   - a 360° view is recorded when its scene comes on, then whenever it has
//     moved by at least LookStep and LookEvery has passed since the last;
//   - during a crossfade between steps a frame shows the new step only (its
//     Step, Presentation and Visible cues), though the old picture still
//     fades out beneath: the new cues' onsets are the fade's first frame,
//     where they are first drawn at all, and the old cues' offsets the frame
//     before, their last at full opacity; so one step's offsets never come
//     after the next one's onsets (see scenes/FORMAT.md).
package present

import (
	"math"
	"sync"
	"time"

	"github.com/cueroom/cueroom/event"
)

// Cue names a cue as its events do.
type Cue struct {
	ID       string // the protocol's cue ID ("s1.c1"), or "<step>.rating" for a rating prompt
	Modality string // its kind: image, video, text, sound, ...; "rating" for a rating prompt
	File     string // its file, "" for one drawn from code
	// Instance tells apart showings of one cue within one presentation
	// that follow each other without a frame between them (one rating
	// prompt, then the next); 0 for the protocol's cues. Not in events.
	Instance uint64
}

// View is where the patient looks in a 360° scene, in degrees.
type View struct {
	Cue        string
	Yaw, Pitch float64 // pitch > 0 looks down
}

// Frame is one frame the window presented.
type Frame struct {
	T            time.Duration // when it was presented, on the session clock
	Seq          uint64        // the window's frame number, from 1
	Step         int           // the step shown, -1 before the first
	Presentation uint64        // step starts so far: a repeat is a new one
	// Visible are the visual cues on screen. The window may reuse the slice
	// once Presented returns.
	Visible []Cue
	// Look is the patient's view when a 360° scene is shown and the patient
	// steers it; nil otherwise (a replay shows the recorded view).
	Look *View
}

// Sound is a sound cue reaching the speaker or stopping.
type Sound struct {
	// T is when its sample reaches the speaker: the session time it left
	// the mixer plus the output's latency.
	T    time.Duration
	Step int
	Cue  Cue
	Sink string // the audio output that plays it
}

// Failure is a cue that could not be presented (a video that opened at load
// but not when its step started).
type Failure struct {
	T    time.Duration
	Step int
	Cue  Cue
	Err  error
}

// Where the patient looks is recorded when it has moved by LookStep, at most
// every LookEvery: enough to replay the view, without an event per frame.
const (
	LookStep  = 0.5 // degrees
	LookEvery = 100 * time.Millisecond
)

// Presenter makes the presentation events. Its methods are safe for
// concurrent use: frames come from the render thread, sounds from the mixer.
type Presenter struct {
	sink func(event.Event)
	wall func(time.Duration) time.Time

	mu        sync.Mutex
	shown     []Cue // visual cues on screen in the last frame
	shownStep int
	shownPres uint64
	last      time.Duration // the last frame's time
	looked    View          // the last view recorded
	lookedAt  time.Duration
	hasLooked bool
}

// New makes a Presenter that sends its events to sink (nil: nowhere) with
// their Wall set by wall (nil: left zero), e.g. the session clock's Wall.
func New(sink func(event.Event), wall func(time.Duration) time.Time) *Presenter {
	return &Presenter{sink: sink, wall: wall, shownStep: -1}
}

// Presented is told of each frame the window presented, in order. It
// allocates nothing unless it sends an event.
func (p *Presenter) Presented(f Frame) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Cues that left went off with the last frame that showed them; the
	// ones that came, with this one.
	for _, c := range p.shown {
		if !stays(c, f.Visible, p.shownPres, f.Presentation) {
			p.emit(p.last, p.shownStep, event.CueOffset(visual(c)))
		}
	}
	for _, c := range f.Visible {
		if Comes(c, f.Presentation, p.shown, p.shownPres) {
			p.emit(f.T, f.Step, event.CueOnset(visual(c)))
		}
	}
	p.shown = append(p.shown[:0], f.Visible...) // a copy: the window reuses Visible
	p.shownStep, p.shownPres, p.last = f.Step, f.Presentation, f.T
	if f.Look != nil {
		p.look(f.T, f.Step, *f.Look)
	}
}

// Closed is told the window presents no more frames: what it showed went
// off with its last frame.
func (p *Presenter) Closed() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.shown {
		p.emit(p.last, p.shownStep, event.CueOffset(visual(c)))
	}
	p.shown = p.shown[:0]
}

// Comes says whether cue c, in a frame of presentation pres, comes on
// there: an onset, because the frame before (prev, of presentation
// prevPres) did not show it. The window lights its sync patch by it.
func Comes(c Cue, pres uint64, prev []Cue, prevPres uint64) bool {
	return !stays(c, prev, pres, prevPres)
}

// stays says whether c, shown in presentation pres, is still in (or was
// already in) the cues of presentation inPres.
func stays(c Cue, in []Cue, pres, inPres uint64) bool {
	if pres != inPres {
		return false
	}
	for _, d := range in {
		if d.ID == c.ID && d.Instance == c.Instance {
			return true
		}
	}
	return false
}

func visual(c Cue) event.Cue {
	return event.Cue{Cue: c.ID, Modality: c.Modality, File: c.File, Channel: "visual"}
}

// look records the view when a 360° scene comes on (where the protocol
// points it, or where the patient left it when the same scene stayed), then
// every move.
func (p *Presenter) look(t time.Duration, step int, v View) {
	if p.hasLooked && p.looked.Cue == v.Cue {
		moved := math.Abs(math.Remainder(v.Yaw-p.looked.Yaw, 360)) >= LookStep || math.Abs(v.Pitch-p.looked.Pitch) >= LookStep
		if !moved || t-p.lookedAt < LookEvery {
			return
		}
	}
	p.looked, p.lookedAt, p.hasLooked = v, t, true
	p.emit(t, step, event.Look{Cue: v.Cue, YawDeg: tenth(v.Yaw), PitchDeg: tenth(v.Pitch)})
}

func tenth(deg float64) float64 { return math.Round(deg*10) / 10 }

// SoundStarted is told a sound cue's first sample reached the speaker.
func (p *Presenter) SoundStarted(s Sound) {
	p.emit(s.T, s.Step, event.CueOnset(audible(s)))
}

// SoundEnded is told a sound cue stopped (it ended, or faded out).
func (p *Presenter) SoundEnded(s Sound) {
	p.emit(s.T, s.Step, event.CueOffset(audible(s)))
}

func audible(s Sound) event.Cue {
	return event.Cue{Cue: s.Cue.ID, Modality: s.Cue.Modality, File: s.Cue.File, Channel: "audio", Sink: s.Sink}
}

// Failed is told a cue could not be presented: an alert for the therapist,
// from the cue's kind ("video").
func (p *Presenter) Failed(f Failure) {
	msg := ""
	if f.Err != nil {
		msg = f.Err.Error()
	}
	p.emit(f.T, f.Step, event.Alert{Source: f.Cue.Modality, Cue: f.Cue.ID, Message: msg})
}

func (p *Presenter) emit(t time.Duration, step int, d event.Data) {
	if p.sink == nil {
		return
	}
	e := event.Event{T: t, Step: step, Data: d}
	if p.wall != nil {
		e.Wall = p.wall(t)
	}
	p.sink(e)
}

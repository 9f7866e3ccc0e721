package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/scenes"
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

// CuePlayer plays a step's sound cues. The session tells it what to play;
// it logs onsets when the first sample goes out.
type CuePlayer interface {
	StartStep(step int, cues []scenes.Cue)
	StopAll(fade time.Duration)
	SetPaused(bool)
}

// Arousal answers the habituation question of a step's end_when from live
// physiology (see sensors/physio).
type Arousal interface {
	// SCLRecovered says whether skin conductance, since session time from,
	// rose and has come back within pct percent of that rise above its level
	// at from, and stayed there for hold. known is false while there is no
	// usable skin-conductance signal.
	SCLRecovered(from time.Duration, pct float64, hold time.Duration) (ok, known bool)
}

// habituationCheck is how often a step with end_when looks again.
const habituationCheck = 250 * time.Millisecond

// PromptTimeout is how long a rating prompt waits before the step moves on.
var PromptTimeout = 30 * time.Second

// Prompt is a rating the patient is being asked for.
type Prompt struct {
	Scale    string        `json:"scale"`
	Question string        `json:"question"`
	Since    time.Duration `json:"-"` // session time of the prompt
	AtEnd    bool          `json:"at_end"`
}

// Snapshot is what the window and the dashboard read: a copy, never shared.
type Snapshot struct {
	State     State         `json:"state"`
	Step      int           `json:"step"` // index into Protocol.All(), -1 before start
	StepID    string        `json:"step_id"`
	StepName  string        `json:"step_name"`
	Intensity int           `json:"intensity"`
	Steps     int           `json:"steps"`
	Elapsed   time.Duration `json:"elapsed"`          // in the step, pauses excluded
	Remaining time.Duration `json:"remaining"`        // of the step's duration
	Prompt    *Prompt       `json:"prompt,omitempty"` // shared: read only
	// Scene changes whenever what the patient should see changes; the window
	// logs cue onsets on the first frame that shows a new Scene.
	Scene uint64 `json:"scene"`
	// Presentation counts step starts: a repeated step is a new
	// presentation, and its cues new onsets, though the picture stays.
	Presentation uint64 `json:"presentation"`
	Now          time.Duration
}

// Session is the state machine over a protocol. All methods are safe for
// concurrent use: the window, the dashboard and the timer goroutine call them.
type Session struct {
	p      *scenes.Protocol
	steps  []scenes.Step
	bus    *bus.Bus
	clock  *Clock
	player CuePlayer

	mu           sync.Mutex
	state        State
	idx          int
	stepBegan    time.Duration // session time the step (re)started, shifted by pauses
	frozenAt     time.Duration // when paused or calm: the step's elapsed time
	prompt       *Prompt
	presentation uint64 // step starts so far
	scene        uint64
	wake         chan struct{}
	done         chan struct{}
	endReason    string
	exposed      time.Duration // time spent in exposure steps before this one
	hold         bool          // Run waits for Start
	started      chan struct{}
	startedBy    string
	arousal      Arousal
	craving      float64       // the last craving rating in this step, -1: none yet
	nextEvery    time.Duration // step time of the next periodic rating
}

// New makes a session; Run plays it.
func New(p *scenes.Protocol, b *bus.Bus, c *Clock, player CuePlayer) *Session {
	return &Session{
		p: p, steps: p.All(), bus: b, clock: c, player: player,
		state: Ready, idx: -1,
		wake: make(chan struct{}, 1), done: make(chan struct{}), started: make(chan struct{}),
	}
}

// HoldForStart makes Run wait for Start (the therapist's button) before the
// baseline begins. Call it before Run.
func (s *Session) HoldForStart() {
	s.mu.Lock()
	s.hold = true
	s.mu.Unlock()
}

// Start lets a held session begin.
func (s *Session) Start(by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The patient may press stop on the waiting screen: the therapist can
	// still start (the first step replaces the calm scene).
	waiting := s.state == Ready || (s.state == Calm && s.idx < 0)
	if !s.hold || !waiting || s.startedBy != "" {
		return fmt.Errorf("start: session is %s: %w", s.state, ErrState)
	}
	s.startedBy = by
	close(s.started)
	return nil
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Run plays the steps in order until the last ends, End is called or ctx is
// cancelled.
func (s *Session) Run(ctx context.Context) {
	if s.hold {
		// Wait for the therapist's Start (or the end).
		select {
		case <-s.started:
		case <-ctx.Done():
			s.End("interrupted")
			return
		case <-s.done:
			return
		}
	}
	s.mu.Lock()
	if s.state == Ended {
		s.mu.Unlock()
		return
	}
	s.emit(bus.SessionStart, -1, map[string]any{"title": s.p.Title, "substance": s.p.Substance, "steps": len(s.steps), "by": s.startedBy})
	s.startStepLocked(0)
	s.mu.Unlock()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.state == Ended {
			s.mu.Unlock()
			return
		}
		wait := s.advanceLocked()
		s.mu.Unlock()
		if wait < 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			s.End("interrupted")
		case <-timer.C:
		case <-s.wake:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// advanceLocked moves on when something is due — the step's end, a rating
// prompt, a prompt's timeout, a safety limit — and returns how long to wait
// before looking again (-1: look again at once).
func (s *Session) advanceLocked() time.Duration {
	if s.state != Running {
		return time.Hour
	}
	now := s.clock.Now()
	st := s.steps[s.idx]
	el := now - s.stepBegan
	wait := time.Hour
	consider := func(d time.Duration) {
		if d < wait {
			wait = d
		}
	}

	// Safety limits first: they end a step whatever it is waiting for.
	if max := s.p.MaxStep; max > 0 {
		if el >= max {
			s.limitLocked("max_step", fmt.Sprintf("step %q reached the protocol's limit of %v per step", st.Name, max))
			s.nextLocked("max_step")
			return -1
		}
		consider(max - el)
	}
	if max := s.p.MaxExposure; max > 0 && !st.Neutral {
		if s.exposed+el >= max {
			s.limitLocked("max_exposure", fmt.Sprintf("the session reached the protocol's limit of %v of exposure", max))
			s.toRecoveryLocked("max_exposure")
			return -1
		}
		consider(max - s.exposed - el)
	}

	if p := s.prompt; p != nil {
		left := PromptTimeout - (now - p.Since)
		if left <= 0 {
			s.emit(bus.Rating, s.idx, map[string]any{"scale": p.Scale, "answered": false, "prompt_t": p.Since.Seconds()})
			s.prompt = nil
			s.scene++
			if p.AtEnd {
				s.nextLocked("duration")
			}
			return -1
		}
		consider(left)
		if p.AtEnd {
			return wait
		}
	}
	if r := st.Rating; r != nil && r.Every > 0 && s.prompt == nil && el < st.Duration {
		if due := s.nextEvery - el; due <= 0 {
			s.nextEvery += r.Every
			s.openPromptLocked(r, now, false)
			return -1
		} else {
			consider(due)
		}
	}
	if e := st.EndWhen; e != nil && el >= e.Min && s.habituatedLocked(e) {
		s.emit(bus.Alert, s.idx, map[string]any{"source": "session", "message": fmt.Sprintf("step %q ended early: arousal and craving habituated", st.Name), "level": "info"})
		s.nextLocked("habituated")
		return -1
	} else if e != nil {
		consider(max(habituationCheck, e.Min-el))
	}
	if left := st.Duration - el; left > 0 {
		consider(left)
		return wait
	}
	if st.Rating != nil && st.Rating.At != "start" {
		s.openPromptLocked(st.Rating, now, true)
		return -1
	}
	s.nextLocked("duration")
	return -1
}

// habituatedLocked evaluates a step's end_when; a condition that cannot be
// evaluated (no signal, no rating yet) is not met.
func (s *Session) habituatedLocked(e *scenes.EndWhen) bool {
	if e.CravingBelow >= 0 && (s.craving < 0 || s.craving >= e.CravingBelow) {
		return false
	}
	if e.SCLWithin >= 0 {
		if s.arousal == nil {
			return false
		}
		ok, known := s.arousal.SCLRecovered(s.stepBegan, e.SCLWithin, e.Hold)
		if !ok || !known {
			return false
		}
	}
	return true
}

// SetArousal gives the session live physiology for end_when conditions.
func (s *Session) SetArousal(a Arousal) {
	s.mu.Lock()
	s.arousal = a
	s.mu.Unlock()
	s.poke()
}

func (s *Session) openPromptLocked(r *scenes.Rating, now time.Duration, atEnd bool) {
	s.prompt = &Prompt{Scale: r.Scale, Question: r.Question, Since: now, AtEnd: atEnd}
	s.scene++
	s.emit(bus.RatingPrompt, s.idx, map[string]any{"scale": r.Scale, "question": r.Question})
}

// limitLocked tells the therapist a safety limit acted.
func (s *Session) limitLocked(kind, msg string) {
	s.emit(bus.Alert, s.idx, map[string]any{"source": "session", "limit": kind, "message": msg})
}

// toRecoveryLocked ends exposure: on to the recovery step, or the end.
func (s *Session) toRecoveryLocked(reason string) {
	last := len(s.steps) - 1
	if s.p.Recovery != nil && s.idx < last {
		s.endStepLocked(reason)
		s.startStepLocked(last)
		return
	}
	s.endStepLocked(reason)
	s.endLocked(reason)
}

func (s *Session) startStepLocked(i int) {
	s.idx = i
	s.state = Running
	s.stepBegan = s.clock.Now()
	s.prompt = nil
	s.scene++
	s.presentation++
	st := s.steps[i]
	if st.Rating != nil {
		s.nextEvery = st.Rating.Every
	}
	s.craving = -1
	s.emit(bus.StepStart, i, map[string]any{
		"id": st.ID, "name": st.Name, "intensity": st.Intensity,
		"duration": st.Duration.Seconds(), "neutral": st.Neutral,
	})
	if st.Rating != nil && st.Rating.At == "start" {
		s.openPromptLocked(st.Rating, s.stepBegan, false)
	}
	if s.player != nil {
		s.player.StartStep(i, st.Cues)
	}
}

func (s *Session) nextLocked(reason string) {
	s.endStepLocked(reason)
	if s.idx+1 >= len(s.steps) {
		s.endLocked("completed")
		return
	}
	s.startStepLocked(s.idx + 1)
}

func (s *Session) endStepLocked(reason string) {
	if s.idx < 0 {
		return
	}
	if !s.steps[s.idx].Neutral {
		el := s.clock.Now() - s.stepBegan
		if s.state == Paused || s.state == Calm {
			el = s.frozenAt
		}
		s.exposed += el
	}
	if s.player != nil {
		s.player.StopAll(0)
	}
	s.emit(bus.StepEnd, s.idx, map[string]any{"id": s.steps[s.idx].ID, "reason": reason})
}

func (s *Session) endLocked(reason string) {
	if s.state == Ended {
		return
	}
	s.state = Ended
	s.prompt = nil
	s.scene++
	s.endReason = reason
	s.emit(bus.SessionEnd, s.idx, map[string]any{"reason": reason})
	close(s.done)
	s.poke()
}

// emit publishes an event stamped now. Callers hold s.mu, so events are in order.
func (s *Session) emit(kind string, step int, data map[string]any) {
	t := s.clock.Now()
	s.bus.Publish(bus.Msg{Event: &bus.Event{T: t, Wall: s.clock.Wall(t), Kind: kind, Step: step, Data: data}})
}

func (s *Session) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// ErrState says a command does not apply in the session's current state.
var ErrState = errors.New("not possible now")

// Snapshot copies the state for a frame or the dashboard.
func (s *Session) Snapshot() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	snap := Snapshot{State: s.state, Step: s.idx, Steps: len(s.steps), Scene: s.scene, Presentation: s.presentation, Now: now}
	if s.idx >= 0 {
		st := s.steps[s.idx]
		snap.StepID, snap.StepName, snap.Intensity = st.ID, st.Name, st.Intensity
		el := now - s.stepBegan
		if s.state == Paused || s.state == Calm {
			el = s.frozenAt
		}
		el = min(el, st.Duration)
		snap.Elapsed, snap.Remaining = el, st.Duration-el
	}
	// A prompt is never changed once opened (a new one replaces it), so the
	// snapshot can share it: no allocation per frame.
	snap.Prompt = s.prompt
	return snap
}

// Step returns the step at index i of the played order.
func (s *Session) Step(i int) (scenes.Step, bool) {
	if i < 0 || i >= len(s.steps) {
		return scenes.Step{}, false
	}
	return s.steps[i], true
}

// freezeLocked stops the step's clock; thawLocked restarts it where it was.
func (s *Session) freezeLocked() { s.frozenAt = s.clock.Now() - s.stepBegan }
func (s *Session) thawLocked()   { s.stepBegan = s.clock.Now() - s.frozenAt }

// Pause freezes the step: its timer, its sound.
func (s *Session) Pause(by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Running {
		return fmt.Errorf("pause: session is %s: %w", s.state, ErrState)
	}
	s.freezeLocked()
	s.state = Paused
	s.scene++
	if s.player != nil {
		s.player.SetPaused(true)
	}
	s.emit(bus.Command, s.idx, map[string]any{"cmd": "pause", "by": by})
	s.poke()
	return nil
}

// Resume continues a paused step, or the step the patient stopped in.
func (s *Session) Resume(by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.state == Calm && s.idx < 0:
		// Stopped on the waiting screen: back to waiting for Start.
		s.state = Ready
		s.scene++
		s.emit(bus.Command, s.idx, map[string]any{"cmd": "resume", "by": by})
		s.poke()
		return nil
	case s.state == Paused:
		if s.player != nil {
			s.player.SetPaused(false)
		}
	case s.state == Calm:
		// The cue sounds were faded out: start them again with the scene.
		if s.player != nil {
			s.player.StartStep(s.idx, s.steps[s.idx].Cues)
		}
	default:
		return fmt.Errorf("resume: session is %s: %w", s.state, ErrState)
	}
	s.thawLocked()
	s.state = Running
	s.scene++
	s.emit(bus.Command, s.idx, map[string]any{"cmd": "resume", "by": by})
	s.poke()
	return nil
}

// Next ends the current step now and starts the next one.
func (s *Session) Next(by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == Ended || s.idx < 0 {
		return fmt.Errorf("next: session is %s: %w", s.state, ErrState)
	}
	if s.state == Paused && s.player != nil {
		s.player.SetPaused(false)
	}
	s.emit(bus.Command, s.idx, map[string]any{"cmd": "next", "by": by})
	s.nextLocked("next")
	s.poke()
	return nil
}

// Repeat plays the current step again from its start.
func (s *Session) Repeat(by string) error {
	return s.jump(0, "repeat", by)
}

// Back goes back to the previous step: the therapist backs off when the
// exposure is too intense.
func (s *Session) Back(by string) error {
	return s.jump(-1, "back", by)
}

func (s *Session) jump(delta int, cmd, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == Ended || s.idx < 0 {
		return fmt.Errorf("%s: session is %s: %w", cmd, s.state, ErrState)
	}
	to := s.idx + delta
	if to < 0 {
		return fmt.Errorf("%s: already at the first step: %w", cmd, ErrState)
	}
	if s.player != nil {
		s.player.SetPaused(false)
	}
	s.emit(bus.Command, s.idx, map[string]any{"cmd": cmd, "by": by})
	s.endStepLocked(cmd)
	s.startStepLocked(to)
	s.poke()
	return nil
}

// Calm switches to the calm neutral scene at once and fades the sound out:
// the patient's stop key (reason "patient_stop") or the therapist's panic
// button. The session then waits for the therapist to resume or end.
func (s *Session) Calm(reason, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == Ended {
		return fmt.Errorf("%s: session has ended: %w", reason, ErrState)
	}
	if s.state == Running {
		s.freezeLocked()
	}
	if s.player != nil {
		s.player.SetPaused(false)
		s.player.StopAll(500 * time.Millisecond)
	}
	s.state = Calm
	s.prompt = nil
	s.scene++
	kind := bus.Command
	if reason == "patient_stop" {
		kind = bus.PatientStop
	}
	s.emit(kind, s.idx, map[string]any{"cmd": reason, "by": by})
	s.poke()
	return nil
}

// Answer records the patient's rating for the open prompt.
func (s *Session) Answer(value int, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prompt == nil {
		return fmt.Errorf("rating: no prompt is open: %w", ErrState)
	}
	if value < 0 || value > 100 {
		return fmt.Errorf("rating %d: must be 0..100", value)
	}
	p := s.prompt
	s.prompt = nil
	s.scene++
	if p.Scale == scenes.ScaleCraving {
		s.craving = float64(value)
	}
	s.emit(bus.Rating, s.idx, map[string]any{
		"scale": p.Scale, "value": value, "answered": true, "by": by,
		"prompt_t": p.Since.Seconds(),
	})
	if p.AtEnd {
		s.nextLocked("rating")
	}
	s.poke()
	return nil
}

// AskRating opens a rating prompt now, at the therapist's request.
func (s *Session) AskRating(scale, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != Running {
		return fmt.Errorf("rate: session is %s: %w", s.state, ErrState)
	}
	if s.prompt != nil {
		return fmt.Errorf("rate: the patient is already being asked: %w", ErrState)
	}
	if scale == "" {
		scale = scenes.ScaleCraving
	}
	q := "How strong is your craving right now?"
	if scale == scenes.ScaleSUDS {
		q = "How distressed do you feel right now?"
	}
	s.emit(bus.Command, s.idx, map[string]any{"cmd": "rate", "scale": scale, "by": by})
	s.openPromptLocked(&scenes.Rating{Scale: scale, Question: q}, s.clock.Now(), false)
	s.poke()
	return nil
}

// Mark records a therapist's marker or note.
func (s *Session) Mark(text, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emit(bus.Marker, s.idx, map[string]any{"text": text, "by": by})
	return nil
}

// End ends the session (the therapist's End, a signal, or the window closed).
func (s *Session) End(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == Ended {
		return
	}
	if s.state == Running || s.state == Paused || s.state == Calm {
		s.endStepLocked("ended")
	}
	s.endLocked(reason)
}

// EndReason says why the session ended ("completed", "ended by ...").
func (s *Session) EndReason() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endReason
}

// Emit publishes an event from outside the state machine (the window's cue
// onsets) on the session's bus.
func (s *Session) Emit(e bus.Event) {
	if e.Wall.IsZero() {
		e.Wall = s.clock.Wall(e.T)
	}
	s.bus.Publish(bus.Msg{Event: &e})
}

// MarshalJSON writes times in seconds, as the feed and recording do.
func (s Snapshot) MarshalJSON() ([]byte, error) {
	type view struct {
		State     State   `json:"status"`
		Step      int     `json:"step_index"`
		StepID    string  `json:"step_id,omitempty"`
		StepName  string  `json:"step_name,omitempty"`
		Intensity int     `json:"intensity"`
		Steps     int     `json:"steps"`
		Elapsed   float64 `json:"step_elapsed"`
		Remaining float64 `json:"step_remaining"`
		Prompt    *Prompt `json:"prompt,omitempty"`
		T         float64 `json:"t"`
	}
	return json.Marshal(view{s.State, s.Step, s.StepID, s.StepName, s.Intensity, s.Steps,
		s.Elapsed.Seconds(), s.Remaining.Seconds(), s.Prompt, s.Now.Seconds()})
}

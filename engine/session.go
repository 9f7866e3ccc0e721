package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
)

// CuePlayer plays a step's sound cues. The session tells it what to play;
// it logs onsets when the first sample goes out.
type CuePlayer interface {
	StartStep(step int, cues []scenes.Cue)
	StopAll(fade time.Duration)
	SetPaused(bool)
}

// CalmPlayer is a CuePlayer that also plays the calm screen's sound (the
// sound player); the calm scene is silent without one.
type CalmPlayer interface {
	Calm()
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

// PromptTimeout is how long a rating prompt waits before the step moves
// on, on the step's clock: a pause stops it (the patient cannot answer
// then).
var PromptTimeout = 30 * time.Second

// Session plays a protocol: it decides when steps start and end, prompts
// open and limits act, and emits an event for each. Its state is the fold
// of those events (Apply), so a replay of them shows the same. All methods
// are safe for concurrent use: the window, the dashboard and the timer
// goroutine call them.
type Session struct {
	p      *scenes.Protocol
	steps  []scenes.Step
	bus    *bus.Bus
	clock  *Clock
	player CuePlayer

	mu sync.Mutex
	// snap is every event emitted so far applied in order: the state, the
	// step, its clock, the prompt. The rest is the session's own
	// bookkeeping for its decisions.
	snap      Snapshot
	wake      chan struct{}
	done      chan struct{}
	endReason string
	exposed   time.Duration // time spent in exposure steps before this one
	hold      bool          // Run waits for Start
	started   chan struct{}
	startedBy string
	arousal   Arousal
	craving   float64       // the last craving rating in this step, -1: none yet
	nextEvery time.Duration // step time of the next periodic rating
}

// New makes a session; Run plays it.
func New(p *scenes.Protocol, b *bus.Bus, c *Clock, player CuePlayer) *Session {
	return &Session{
		p: p, steps: p.All(), bus: b, clock: c, player: player,
		snap: NewSnapshot(len(p.All())),
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
	waiting := s.snap.State == Ready || (s.snap.State == Calm && s.snap.Step < 0)
	if !s.hold || !waiting || s.startedBy != "" {
		return fmt.Errorf("start: session is %s: %w", s.snap.State, ErrState)
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
	if s.snap.State == Ended {
		s.mu.Unlock()
		return
	}
	s.emit(-1, event.SessionStart{Title: s.p.Title, Substance: s.p.Substance, Steps: len(s.steps), By: s.startedBy})
	s.startStepLocked(0)
	s.mu.Unlock()

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.snap.State == Ended {
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
	if s.snap.State != Running {
		return time.Hour
	}
	now := s.clock.Now()
	idx := s.snap.Step
	st := s.steps[idx]
	el := s.snap.StepTime(now)
	wait := time.Hour
	consider := func(d time.Duration) {
		if d < wait {
			wait = d
		}
	}

	// Safety limits first: they end a step whatever it is waiting for.
	if max := s.p.MaxStep; max > 0 {
		if el >= max {
			s.limitLocked("max_step", fmt.Sprintf("step %q reached the protocol's limit of %s per step — moving on", st.Name, plainDuration(max)))
			s.nextLocked("max_step")
			return -1
		}
		consider(max - el)
	}
	if max := s.p.MaxExposure; max > 0 && !st.Neutral {
		if s.exposed+el >= max {
			then := "ending the session"
			if s.p.Recovery != nil && idx < len(s.steps)-1 {
				then = "going to the recovery step"
			}
			s.limitLocked("max_exposure", fmt.Sprintf("the session reached the protocol's limit of %s of exposure — %s", plainDuration(max), then))
			s.toRecoveryLocked("max_exposure")
			return -1
		}
		consider(max - s.exposed - el)
	}

	if p := s.snap.Prompt; p != nil {
		left := s.snap.promptLeft(now)
		if left <= 0 {
			s.emit(idx, event.Rating{Scale: p.Scale, Answered: false, PromptT: event.Secs(p.Since)})
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
	// Prompts are stamped now, the time they were decided at: Apply tells
	// the closing prompt (the step's time up) from the others by it.
	if r := st.Rating; r != nil && r.Every > 0 && s.snap.Prompt == nil && el < st.Duration {
		if due := s.nextEvery - el; due <= 0 {
			s.nextEvery += r.Every
			s.openPromptLocked(r, now, false)
			return -1
		} else {
			consider(due)
		}
	}
	if e := st.EndWhen; e != nil && el >= e.Min && s.habituatedLocked(e, now-el) {
		s.emit(idx, event.Alert{Source: "session", Level: event.LevelInfo, Incident: "habituated:" + st.ID,
			Message: fmt.Sprintf("step %q ended early: arousal and craving habituated", st.Name)})
		if closingRating(st) {
			// The step's end rating is still asked: a habituated step
			// is the one whose rating a study needs most.
			s.openPromptLocked(st.Rating, now, true)
			return -1
		}
		s.nextLocked("habituated")
		return -1
	} else if e != nil {
		consider(max(habituationCheck, e.Min-el))
	}
	if left := st.Duration - el; left > 0 {
		consider(left)
		return wait
	}
	if closingRating(st) {
		s.openPromptLocked(st.Rating, now, true)
		return -1
	}
	s.nextLocked("duration")
	return -1
}

// habituatedLocked evaluates a step's end_when for the step that (pauses
// excluded) began at session time began; a condition that cannot be
// evaluated (no signal, no rating yet) is not met.
func (s *Session) habituatedLocked(e *scenes.EndWhen, began time.Duration) bool {
	if e.CravingBelow >= 0 && (s.craving < 0 || s.craving >= e.CravingBelow) {
		return false
	}
	if e.SCLWithin >= 0 {
		if s.arousal == nil {
			return false
		}
		ok, known := s.arousal.SCLRecovered(began, e.SCLWithin, e.Hold)
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

// openPromptLocked asks for a rating at session time now; Apply makes it
// the closing prompt if the step's time is up then.
func (s *Session) openPromptLocked(r *scenes.Rating, now time.Duration, atEnd bool) {
	s.emitAt(now, s.snap.Step, event.RatingPrompt{Scale: r.Scale, Question: r.Question, AtEnd: atEnd})
}

// closingRating says whether a step asks a rating at its end.
func closingRating(st scenes.Step) bool { return st.Rating != nil && st.Rating.At != scenes.AtStart }

// limitLocked tells the therapist a safety limit acted: an alarm, one
// incident per limit.
func (s *Session) limitLocked(kind, msg string) {
	s.emit(s.snap.Step, event.Alert{Source: "session", Level: event.LevelAlarm, Incident: "limit:" + kind,
		Limit: &event.Limit{Name: kind}, Message: msg})
}

// plainDuration says d as a person would: "90 s", "2 min", "1 h 30 min".
func plainDuration(d time.Duration) string {
	switch {
	case d < 100*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
	case d < time.Hour:
		return strconv.FormatFloat(math.Round(d.Minutes()*10)/10, 'f', -1, 64) + " min"
	}
	h := int(d / time.Hour)
	m := int(math.Round((d - time.Duration(h)*time.Hour).Minutes()))
	if m == 60 {
		h, m = h+1, 0
	}
	if m == 0 {
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// toRecoveryLocked ends exposure: on to the recovery step, or the end.
func (s *Session) toRecoveryLocked(reason string) {
	last := len(s.steps) - 1
	if s.p.Recovery != nil && s.snap.Step < last {
		s.endStepLocked(reason)
		s.startStepLocked(last)
		return
	}
	s.endStepLocked(reason)
	s.endLocked(reason)
}

func (s *Session) startStepLocked(i int) {
	st := s.steps[i]
	if st.Rating != nil {
		s.nextEvery = st.Rating.Every
	}
	s.craving = -1
	s.emit(i, event.StepStart{ID: st.ID, Name: st.Name, Intensity: st.Intensity,
		Duration: event.Secs(st.Duration), Neutral: st.Neutral})
	if st.Rating != nil && st.Rating.At == "start" {
		s.openPromptLocked(st.Rating, s.clock.Now(), false)
	}
	if s.player != nil {
		s.player.StartStep(i, st.Cues)
	}
}

func (s *Session) nextLocked(reason string) {
	s.endStepLocked(reason)
	if s.snap.Step+1 >= len(s.steps) {
		s.endLocked("completed")
		return
	}
	s.startStepLocked(s.snap.Step + 1)
}

func (s *Session) endStepLocked(reason string) {
	idx := s.snap.Step
	if idx < 0 {
		return
	}
	if !s.steps[idx].Neutral {
		s.exposed += s.snap.StepTime(s.clock.Now())
	}
	if s.player != nil {
		s.player.StopAll(0)
	}
	s.emit(idx, event.StepEnd{ID: s.steps[idx].ID, Reason: reason})
}

func (s *Session) endLocked(reason string) {
	if s.snap.State == Ended {
		return
	}
	s.endReason = reason
	s.emit(s.snap.Step, event.SessionEnd{Reason: reason})
	close(s.done)
	s.poke()
}

// emit publishes an event stamped now. Callers hold s.mu, so events are in order.
func (s *Session) emit(step int, d event.Data) { s.emitAt(s.clock.Now(), step, d) }

// emitAt publishes an event stamped t (not before the last one) and applies
// it to the session's state: the state changes with its events, only.
func (s *Session) emitAt(t time.Duration, step int, d event.Data) {
	e := &event.Event{T: t, Wall: s.clock.Wall(t), Step: step, Data: d}
	s.snap = Apply(s.snap, *e)
	s.bus.Publish(bus.Msg{Event: e})
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
	// A prompt is never changed once opened (a new one replaces it), so the
	// snapshot can share it: no allocation per frame.
	return s.snap.At(s.clock.Now())
}

// Step returns the step at index i of the played order.
func (s *Session) Step(i int) (scenes.Step, bool) {
	if i < 0 || i >= len(s.steps) {
		return scenes.Step{}, false
	}
	return s.steps[i], true
}

// Pause freezes the step: its timer, its sound.
func (s *Session) Pause(by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap.State != Running {
		return fmt.Errorf("pause: session is %s: %w", s.snap.State, ErrState)
	}
	if s.player != nil {
		s.player.SetPaused(true)
	}
	s.emit(s.snap.Step, event.Command{Cmd: "pause", By: by})
	s.poke()
	return nil
}

// Resume continues a paused step, or the step the patient stopped in.
func (s *Session) Resume(by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch idx := s.snap.Step; {
	case s.snap.State == Calm && idx < 0:
		// Stopped on the waiting screen: back to waiting for Start.
	case s.snap.State == Paused:
		if s.player != nil {
			s.player.SetPaused(false)
		}
	case s.snap.State == Calm:
		// The cue sounds were faded out: start them again with the scene.
		if s.player != nil {
			s.player.StartStep(idx, s.steps[idx].Cues)
		}
	default:
		return fmt.Errorf("resume: session is %s: %w", s.snap.State, ErrState)
	}
	s.emit(s.snap.Step, event.Command{Cmd: "resume", By: by})
	s.poke()
	return nil
}

// Next ends the current step now and starts the next one.
func (s *Session) Next(by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap.State == Ended || s.snap.Step < 0 {
		return fmt.Errorf("next: session is %s: %w", s.snap.State, ErrState)
	}
	if s.snap.State == Paused && s.player != nil {
		s.player.SetPaused(false)
	}
	s.emit(s.snap.Step, event.Command{Cmd: "next", By: by})
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
	if s.snap.State == Ended || s.snap.Step < 0 {
		return fmt.Errorf("%s: session is %s: %w", cmd, s.snap.State, ErrState)
	}
	to := s.snap.Step + delta
	if to < 0 {
		return fmt.Errorf("%s: already at the first step: %w", cmd, ErrState)
	}
	if s.player != nil {
		s.player.SetPaused(false)
	}
	s.emit(s.snap.Step, event.Command{Cmd: cmd, By: by})
	s.endStepLocked(cmd)
	s.startStepLocked(to)
	s.poke()
	return nil
}

// Calm switches to the calm neutral scene at once and fades the sound out:
// the patient's stop key (reason "patient_stop") or the therapist's panic
// button (reason "panic"). The session then waits for the therapist to
// resume or end.
func (s *Session) Calm(reason, by string) error {
	var d event.Data
	switch reason {
	case "patient_stop":
		d = event.PatientStop{Cmd: reason, By: by}
	case "panic":
		d = event.Command{Cmd: reason, By: by}
	default:
		return fmt.Errorf("calm: reason %q: give patient_stop or panic", reason)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap.State == Ended {
		return fmt.Errorf("%s: session has ended: %w", reason, ErrState)
	}
	if s.player != nil {
		s.player.SetPaused(false)
		s.player.StopAll(500 * time.Millisecond)
		if c, ok := s.player.(CalmPlayer); ok {
			c.Calm()
		}
	}
	if p := s.snap.Prompt; p != nil {
		// A stop during a rating is recorded as that rating cancelled,
		// never as an answer and never silently.
		s.emit(s.snap.Step, event.Rating{Scale: p.Scale, Answered: false, Cancelled: true, By: by, PromptT: event.Secs(p.Since)})
	}
	s.emit(s.snap.Step, d)
	s.poke()
	return nil
}

// Answer records the patient's rating for the open prompt.
func (s *Session) Answer(value int, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.snap.Prompt
	if p == nil {
		return fmt.Errorf("rating: no prompt is open: %w", ErrState)
	}
	if value < 0 || value > 100 {
		return fmt.Errorf("rating %d: must be 0..100", value)
	}
	if p.Scale == scenes.ScaleCraving {
		s.craving = float64(value)
	}
	s.emit(s.snap.Step, event.Rating{Scale: p.Scale, Value: event.Int(value), Answered: true, By: by,
		PromptT: event.Secs(p.Since)})
	if p.AtEnd {
		s.nextLocked("rating")
	}
	s.poke()
	return nil
}

// MoveMarker records where the patient's mark stands on the open prompt's
// scale (0–100) while they choose, for the dashboard (Prompt.Marker); by
// is who moved it. It is not an event: the answer is (Answer).
func (s *Session) MoveMarker(value int, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.snap.Prompt
	if p == nil {
		return fmt.Errorf("marker: no prompt is open: %w", ErrState)
	}
	if value < 0 || value > 100 {
		return fmt.Errorf("marker %d: must be 0..100", value)
	}
	if p.Marker != nil && *p.Marker == value {
		return nil
	}
	// Snapshots share the prompt read only: a moved marker is a new copy.
	moved := *p
	moved.Marker = &value
	s.snap.Prompt = &moved
	return nil
}

// AskRating opens a rating prompt now, at the therapist's request.
func (s *Session) AskRating(scale, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap.State != Running {
		return fmt.Errorf("rate: session is %s: %w", s.snap.State, ErrState)
	}
	if s.snap.Prompt != nil {
		return fmt.Errorf("rate: the patient is already being asked: %w", ErrState)
	}
	now := s.clock.Now()
	if st := s.steps[s.snap.Step]; s.snap.StepTime(now) >= st.Duration {
		// The timer goroutine is about to close the step (its own prompt,
		// or the next step): a prompt now would be taken for the closing one.
		return fmt.Errorf("rate: the step's time is up: %w", ErrState)
	}
	if scale == "" {
		scale = scenes.ScaleCraving
	}
	q := "How strong is your craving right now?"
	if scale == scenes.ScaleSUDS {
		q = "How distressed do you feel right now?"
	}
	s.emitAt(now, s.snap.Step, event.Command{Cmd: "rate", Scale: scale, By: by})
	s.openPromptLocked(&scenes.Rating{Scale: scale, Question: q}, now, false)
	s.poke()
	return nil
}

// Mark records a therapist's marker or note.
func (s *Session) Mark(text, by string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emit(s.snap.Step, event.Marker{Text: text, By: by})
	return nil
}

// End ends the session (the therapist's End, a signal, or the window closed).
func (s *Session) End(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snap.State == Ended {
		return
	}
	if s.snap.State == Running || s.snap.State == Paused || s.snap.State == Calm {
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

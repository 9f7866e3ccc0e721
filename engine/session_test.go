package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/scenes"
)

// fakePlayer records what the session asked of the sound.
type fakePlayer struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakePlayer) add(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }
func (f *fakePlayer) StartStep(step int, cues []scenes.Cue) {
	f.add("start:" + string(rune('0'+step)))
}
func (f *fakePlayer) StopAll(time.Duration) { f.add("stop") }
func (f *fakePlayer) SetPaused(p bool) {
	if p {
		f.add("pause")
	} else {
		f.add("unpause")
	}
}
func (f *fakePlayer) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func protocol(t *testing.T, src string) *scenes.Protocol {
	t.Helper()
	p, err := scenes.Parse("t.yaml", []byte(src), fstest.MapFS{})
	require.NoError(t, err)
	return p
}

const threeSteps = `cueroom: 1
title: T
substance: alcohol
baseline:
  duration: %s
  cues: [{text: "calm"}]
steps:
  - name: A
    intensity: 1
    duration: %s
    cues: [{text: "a"}]
    rating: {scale: craving, at: end, question: "Craving?"}
recovery:
  duration: %s
  cues: [{text: "r"}]
`

type harness struct {
	s      *Session
	sub    *bus.Sub
	player *fakePlayer
	done   chan struct{}
}

func start(t *testing.T, p *scenes.Protocol) *harness {
	b := bus.New()
	h := &harness{sub: b.Subscribe(64, true), player: &fakePlayer{}, done: make(chan struct{})}
	h.s = New(p, b, NewClock(), h.player)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.s.Run(ctx); close(h.done) }()
	t.Cleanup(func() { cancel(); <-h.done; b.Close() })
	return h
}

func (h *harness) next(t *testing.T, kind string) bus.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-h.sub.C:
			if m.Event != nil && m.Event.Kind == kind {
				return *m.Event
			}
		case <-timeout:
			t.Fatalf("no %s event", kind)
		}
	}
}

func src(a, b, c string) string {
	return sprintf(threeSteps, a, b, c)
}

func TestStepsPlayInOrderWithTheirDurations(t *testing.T) {
	h := start(t, protocol(t, src("80ms", "80ms", "80ms")))
	b0 := h.next(t, bus.StepStart)
	assert.Equal(t, "baseline", b0.Data["id"])
	s1 := h.next(t, bus.StepStart)
	assert.Equal(t, "s1", s1.Data["id"])
	assert.GreaterOrEqual(t, s1.T-b0.T, 80*time.Millisecond, "the baseline lasted its duration")

	// The step's time is up: the craving prompt holds it until answered.
	h.next(t, bus.RatingPrompt)
	require.NotNil(t, h.s.Snapshot().Prompt)
	require.Error(t, h.s.Answer(101, "patient"), "out of range")
	require.NoError(t, h.s.Answer(42, "patient"))
	r := h.next(t, bus.Rating)
	assert.Equal(t, 42, r.Data["value"])
	assert.Equal(t, true, r.Data["answered"])
	assert.Equal(t, "rating", h.next(t, bus.StepEnd).Data["reason"])

	assert.Equal(t, "recovery", h.next(t, bus.StepStart).Data["id"])
	end := h.next(t, bus.SessionEnd)
	assert.Equal(t, "completed", end.Data["reason"])
	<-h.done
	assert.Equal(t, Ended, h.s.Snapshot().State)
	assert.Equal(t, []string{"start:0", "stop", "start:1", "stop", "start:2", "stop"}, h.player.got())
}

func TestPauseFreezesAndResumeContinues(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, bus.StepStart)
	require.NoError(t, h.s.Pause("therapist"))
	require.ErrorIs(t, h.s.Pause("therapist"), ErrState, "already paused")
	a := h.s.Snapshot()
	assert.Equal(t, Paused, a.State)
	c := h.next(t, bus.Command)
	assert.Equal(t, "pause", c.Data["cmd"])
	assert.Equal(t, "therapist", c.Data["by"])
	// The step clock does not move while paused, whatever the wall clock does.
	require.Eventually(t, func() bool { return h.s.Snapshot().Now-a.Now > 20*time.Millisecond }, 5*time.Second, time.Millisecond)
	assert.Equal(t, a.Elapsed, h.s.Snapshot().Elapsed)
	require.NoError(t, h.s.Resume("therapist"))
	require.Eventually(t, func() bool { return h.s.Snapshot().Elapsed > a.Elapsed }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"start:0", "pause", "unpause"}, h.player.got())
}

func TestCalmStopsSoundAndWaitsForTherapist(t *testing.T) {
	h := start(t, protocol(t, src("50ms", "1h", "1h")))
	h.next(t, bus.StepStart)
	h.next(t, bus.StepStart) // s1
	require.NoError(t, h.s.Calm("patient_stop", "patient"))
	ev := h.next(t, bus.PatientStop)
	assert.Equal(t, 1, ev.Step)
	snap := h.s.Snapshot()
	assert.Equal(t, Calm, snap.State)
	assert.Contains(t, h.player.got(), "stop")
	// It stays calm: the step's time does not run out meanwhile.
	require.Eventually(t, func() bool { return h.s.Snapshot().Now-snap.Now > 20*time.Millisecond }, 5*time.Second, time.Millisecond)
	assert.Equal(t, Calm, h.s.Snapshot().State)
	assert.Equal(t, snap.Elapsed, h.s.Snapshot().Elapsed)
	// The therapist resumes: the step's sounds start again.
	require.NoError(t, h.s.Resume("therapist"))
	assert.Equal(t, Running, h.s.Snapshot().State)
	assert.Equal(t, "start:1", h.player.got()[len(h.player.got())-1])
}

func TestNextAndEnd(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, bus.StepStart)
	require.NoError(t, h.s.Next("therapist"))
	assert.Equal(t, "next", h.next(t, bus.StepEnd).Data["reason"])
	assert.Equal(t, 1, h.s.Snapshot().Step)
	require.NoError(t, h.s.Mark("patient looks tense", "therapist"))
	assert.Equal(t, "patient looks tense", h.next(t, bus.Marker).Data["text"])
	h.s.End("ended by therapist")
	assert.Equal(t, "ended by therapist", h.next(t, bus.SessionEnd).Data["reason"])
	<-h.done
	h.s.End("again") // idempotent
	require.ErrorIs(t, h.s.Next("x"), ErrState)
	require.ErrorIs(t, h.s.Calm("panic", "x"), ErrState)
	assert.Equal(t, "ended by therapist", h.s.EndReason())
}

func TestUnansweredPromptMovesOn(t *testing.T) {
	old := PromptTimeout
	PromptTimeout = 50 * time.Millisecond
	t.Cleanup(func() { PromptTimeout = old })
	h := start(t, protocol(t, src("10ms", "10ms", "1h")))
	h.next(t, bus.RatingPrompt)
	r := h.next(t, bus.Rating)
	assert.Equal(t, false, r.Data["answered"])
	assert.Equal(t, "recovery", h.next(t, bus.StepStart).Data["id"])
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }

func TestRepeatAndBackOff(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, bus.StepStart)
	require.ErrorIs(t, h.s.Back("therapist"), ErrState, "nothing before the baseline")
	require.NoError(t, h.s.Next("therapist"))
	assert.Equal(t, "s1", h.next(t, bus.StepStart).Data["id"])
	require.NoError(t, h.s.Repeat("therapist"))
	assert.Equal(t, "repeat", h.next(t, bus.StepEnd).Data["reason"])
	assert.Equal(t, "s1", h.next(t, bus.StepStart).Data["id"])
	require.NoError(t, h.s.Back("therapist"))
	assert.Equal(t, "back", h.next(t, bus.StepEnd).Data["reason"])
	assert.Equal(t, "baseline", h.next(t, bus.StepStart).Data["id"])
	assert.Equal(t, 0, h.s.Snapshot().Step)
}

func TestSafetyLimits(t *testing.T) {
	t.Run("per step", func(t *testing.T) {
		p := protocol(t, src("10ms", "1h", "1h"))
		p.MaxStep = 60 * time.Millisecond
		h := start(t, p)
		h.next(t, bus.StepStart)
		h.next(t, bus.StepStart) // s1, an hour long
		a := h.next(t, bus.Alert)
		assert.Equal(t, "max_step", a.Data["limit"])
		assert.Equal(t, "max_step", h.next(t, bus.StepEnd).Data["reason"])
	})
	t.Run("per session goes to recovery", func(t *testing.T) {
		p := protocol(t, src("10ms", "1h", "1h"))
		p.MaxExposure = 60 * time.Millisecond
		h := start(t, p)
		h.next(t, bus.StepStart)
		s1 := h.next(t, bus.StepStart)
		a := h.next(t, bus.Alert)
		assert.Equal(t, "max_exposure", a.Data["limit"])
		assert.GreaterOrEqual(t, a.T-s1.T, 60*time.Millisecond)
		assert.Equal(t, "recovery", h.next(t, bus.StepStart).Data["id"], "exposure ends on the recovery step")
	})
}

func TestPeriodicRating(t *testing.T) {
	p := protocol(t, src("10ms", "1h", "1h"))
	p.Steps[0].Rating.Every = 40 * time.Millisecond
	h := start(t, p)
	h.next(t, bus.StepStart)
	s1 := h.next(t, bus.StepStart)
	pr := h.next(t, bus.RatingPrompt)
	assert.GreaterOrEqual(t, pr.T-s1.T, 40*time.Millisecond)
	require.NoError(t, h.s.Answer(30, "patient"))
	assert.Equal(t, 30, h.next(t, bus.Rating).Data["value"])
	assert.Equal(t, 1, h.s.Snapshot().Step, "a periodic rating does not end the step")
	pr2 := h.next(t, bus.RatingPrompt)
	assert.GreaterOrEqual(t, pr2.T-s1.T, 80*time.Millisecond, "asked again one period later")
}

func TestTherapistAsksForARating(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, bus.StepStart)
	require.NoError(t, h.s.AskRating("suds", "therapist"))
	pr := h.next(t, bus.RatingPrompt)
	assert.Equal(t, "suds", pr.Data["scale"])
	require.ErrorIs(t, h.s.AskRating("", "therapist"), ErrState, "one prompt at a time")
	require.NoError(t, h.s.Answer(70, "patient"))
	assert.Equal(t, 70, h.next(t, bus.Rating).Data["value"])
	assert.Equal(t, 0, h.s.Snapshot().Step, "the step goes on")
}

type fakeArousal struct {
	mu        sync.Mutex
	recovered bool
	asked     int
}

func (f *fakeArousal) set(v bool) { f.mu.Lock(); f.recovered = v; f.mu.Unlock() }
func (f *fakeArousal) SCLRecovered(from time.Duration, pct float64, hold time.Duration) (bool, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked++
	return f.recovered, true
}
func (f *fakeArousal) calls() int { f.mu.Lock(); defer f.mu.Unlock(); return f.asked }

const habituation = `cueroom: 1
title: H
substance: alcohol
baseline:
  duration: 10ms
  cues: [{text: calm}]
steps:
  - name: A
    intensity: 1
    duration: 1h
    cues: [{text: a}]
    end_when:
      %s
      min: 30ms
recovery:
  duration: 1h
  cues: [{text: r}]
`

func TestStepEndsWhenHabituated(t *testing.T) {
	t.Run("skin conductance back near baseline", func(t *testing.T) {
		f := &fakeArousal{}
		h := start(t, protocol(t, sprintf(habituation, "scl_within: 20\n      hold: 1s")))
		h.s.SetArousal(f)
		h.next(t, bus.StepStart)
		s1 := h.next(t, bus.StepStart)
		// Not yet: the session keeps asking and the step goes on.
		require.Eventually(t, func() bool { return f.calls() >= 2 }, 10*time.Second, time.Millisecond)
		assert.Equal(t, 1, h.s.Snapshot().Step)
		f.set(true)
		end := h.next(t, bus.StepEnd)
		assert.Equal(t, "habituated", end.Data["reason"])
		assert.GreaterOrEqual(t, end.T-s1.T, 30*time.Millisecond, "never before min")
	})
	t.Run("craving below", func(t *testing.T) {
		h := start(t, protocol(t, sprintf(habituation, "craving_below: 30")))
		h.next(t, bus.StepStart)
		h.next(t, bus.StepStart)
		require.NoError(t, h.s.AskRating("craving", "therapist"))
		require.NoError(t, h.s.Answer(55, "patient"))
		h.next(t, bus.Rating)
		require.NoError(t, h.s.AskRating("craving", "therapist"))
		assert.Equal(t, 1, h.s.Snapshot().Step, "55 is not below 30")
		require.NoError(t, h.s.Answer(20, "patient"))
		assert.Equal(t, "habituated", h.next(t, bus.StepEnd).Data["reason"])
	})
}

func TestHeldSessionWaitsForStart(t *testing.T) {
	b := bus.New()
	sub := b.Subscribe(64, true)
	s := New(protocol(t, src("1h", "1h", "1h")), b, NewClock(), nil)
	s.HoldForStart()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })
	assert.Equal(t, Ready, s.Snapshot().State, "nothing plays before Start")
	require.NoError(t, s.Start("therapist"))
	require.ErrorIs(t, s.Start("therapist"), ErrState, "once")
	h := &harness{s: s, sub: sub}
	st := h.next(t, bus.SessionStart)
	assert.Equal(t, "therapist", st.Data["by"])
	assert.Equal(t, "baseline", h.next(t, bus.StepStart).Data["id"])
}

// The patient may press stop on the waiting screen: the calm scene shows,
// the therapist's Resume goes back to waiting, and Start still starts.
func TestStopBeforeTheStart(t *testing.T) {
	for _, then := range []string{"resume then start", "start"} {
		t.Run(then, func(t *testing.T) {
			b := bus.New()
			sub := b.Subscribe(64, true)
			s := New(protocol(t, src("1h", "1h", "1h")), b, NewClock(), nil)
			s.HoldForStart()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { s.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done; b.Close() })
			require.NoError(t, s.Calm("patient_stop", "patient"))
			assert.Equal(t, Calm, s.Snapshot().State)
			if then == "resume then start" {
				require.NoError(t, s.Resume("therapist"))
				assert.Equal(t, Ready, s.Snapshot().State, "back to waiting: no step to resume")
			}
			require.NoError(t, s.Start("therapist"))
			h := &harness{s: s, sub: sub}
			assert.Equal(t, "baseline", h.next(t, bus.StepStart).Data["id"])
			assert.Equal(t, Running, s.Snapshot().State)
		})
	}
}

package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
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
func (f *fakePlayer) Calm()                 { f.add("calm") }
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
	// folded is every event the session emitted that the test has read,
	// applied in order: at the end it must be the state the session reports.
	folded Snapshot
}

// setup varies how a harness runs its session.
type setup struct {
	clock    *Clock // NewClock() when nil
	hold     bool   // HoldForStart
	noPlayer bool   // no CuePlayer
}

func start(t *testing.T, p *scenes.Protocol) *harness { return run(t, p, setup{}) }

// run plays p until the test ends. Then, whatever the test did, the state
// the session reports must be the fold of the events it emitted: what a
// replay of them shows.
func run(t *testing.T, p *scenes.Protocol, o setup) *harness {
	b := bus.New()
	h := &harness{sub: b.Subscribe(64, true), player: &fakePlayer{}, done: make(chan struct{}), folded: NewSnapshot(len(p.All()))}
	clk := o.clock
	if clk == nil {
		clk = NewClock()
	}
	var player CuePlayer = h.player
	if o.noPlayer {
		player = nil
	}
	h.s = New(p, b, clk, player)
	if o.hold {
		h.s.HoldForStart()
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.s.Run(ctx); close(h.done) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
		final := h.s.Snapshot()
		b.Close()
		for m := range h.sub.C {
			h.apply(m)
		}
		assert.Equal(t, final, h.folded.At(final.Now.Duration()), "the session's state is its events folded")
	})
	return h
}

func (h *harness) apply(m bus.Msg) {
	if m.Event != nil {
		h.folded = Apply(h.folded, *m.Event)
	}
}

func (h *harness) next(t *testing.T, kind event.Kind) event.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-h.sub.C:
			h.apply(m)
			if m.Event != nil && m.Event.Kind() == kind {
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
	b0 := h.next(t, event.KindStepStart)
	assert.Equal(t, "baseline", field(b0, "id"))
	s1 := h.next(t, event.KindStepStart)
	assert.Equal(t, "s1", field(s1, "id"))
	assert.GreaterOrEqual(t, s1.T-b0.T, 80*time.Millisecond, "the baseline lasted its duration")

	// The step's time is up: the craving prompt holds it until answered.
	h.next(t, event.KindRatingPrompt)
	require.NotNil(t, h.s.Snapshot().Prompt)
	require.Error(t, h.s.Answer(101, "patient"), "out of range")
	require.NoError(t, h.s.Answer(42, "patient"))
	r := h.next(t, event.KindRating)
	assert.Equal(t, event.Int(42), r.Data.(event.Rating).Value)
	assert.Equal(t, true, field(r, "answered"))
	assert.Equal(t, "rating", field(h.next(t, event.KindStepEnd), "reason"))

	assert.Equal(t, "recovery", field(h.next(t, event.KindStepStart), "id"))
	end := h.next(t, event.KindSessionEnd)
	assert.Equal(t, "completed", field(end, "reason"))
	<-h.done
	assert.Equal(t, Ended, h.s.Snapshot().State)
	assert.Equal(t, []string{"start:0", "stop", "start:1", "stop", "start:2", "stop"}, h.player.got())
}

func TestPauseFreezesAndResumeContinues(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, event.KindStepStart)
	require.NoError(t, h.s.Pause("therapist"))
	require.ErrorIs(t, h.s.Pause("therapist"), ErrState, "already paused")
	a := h.s.Snapshot()
	assert.Equal(t, Paused, a.State)
	c := h.next(t, event.KindCommand)
	assert.Equal(t, "pause", field(c, "cmd"))
	assert.Equal(t, "therapist", field(c, "by"))
	// The step clock does not move while paused, whatever the wall clock does.
	require.Eventually(t, func() bool { return (h.s.Snapshot().Now - a.Now).Duration() > 20*time.Millisecond }, 5*time.Second, time.Millisecond)
	assert.Equal(t, a.Elapsed, h.s.Snapshot().Elapsed)
	require.NoError(t, h.s.Resume("therapist"))
	require.Eventually(t, func() bool { return h.s.Snapshot().Elapsed > a.Elapsed }, 5*time.Second, time.Millisecond)
	assert.Equal(t, []string{"start:0", "pause", "unpause"}, h.player.got())
}

func TestCalmStopsSoundAndWaitsForTherapist(t *testing.T) {
	h := start(t, protocol(t, src("50ms", "1h", "1h")))
	h.next(t, event.KindStepStart)
	h.next(t, event.KindStepStart) // s1
	require.NoError(t, h.s.Calm("patient_stop", "patient"))
	ev := h.next(t, event.KindPatientStop)
	assert.Equal(t, 1, ev.Step)
	snap := h.s.Snapshot()
	assert.Equal(t, Calm, snap.State)
	got := h.player.got()
	require.GreaterOrEqual(t, len(got), 2)
	assert.Equal(t, []string{"stop", "calm"}, got[len(got)-2:], "the step's sounds stop, the calm sound plays")
	// It stays calm: the step's time does not run out meanwhile.
	require.Eventually(t, func() bool { return (h.s.Snapshot().Now - snap.Now).Duration() > 20*time.Millisecond }, 5*time.Second, time.Millisecond)
	assert.Equal(t, Calm, h.s.Snapshot().State)
	assert.Equal(t, snap.Elapsed, h.s.Snapshot().Elapsed)
	// The therapist resumes: the step's sounds start again.
	require.NoError(t, h.s.Resume("therapist"))
	assert.Equal(t, Running, h.s.Snapshot().State)
	assert.Equal(t, "start:1", h.player.got()[len(h.player.got())-1])
}

// TestStopDuringARatingCancelsIt: Esc (or panic) while the patient is
// being asked records that rating as cancelled, by whom, before the stop.
func TestStopDuringARatingCancelsIt(t *testing.T) {
	for _, c := range []struct{ reason, by string }{{"patient_stop", "patient"}, {"panic", "therapist"}} {
		t.Run(c.reason, func(t *testing.T) {
			h := start(t, protocol(t, src("1h", "1h", "1h")))
			h.next(t, event.KindStepStart)
			require.NoError(t, h.s.AskRating("craving", "therapist"))
			pr := h.next(t, event.KindRatingPrompt)
			require.NoError(t, h.s.Calm(c.reason, c.by))
			r := h.next(t, event.KindRating)
			assert.Equal(t, event.Rating{Scale: "craving", Cancelled: true, By: c.by, PromptT: event.Secs(pr.T)}, r.Data)
			assert.Nil(t, h.s.Snapshot().Prompt)
			assert.Equal(t, Calm, h.s.Snapshot().State)
			require.ErrorIs(t, h.s.Answer(40, "patient"), ErrState, "nothing left to answer")
		})
	}
}

func TestNextAndEnd(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, event.KindStepStart)
	require.NoError(t, h.s.Next("therapist"))
	assert.Equal(t, "next", field(h.next(t, event.KindStepEnd), "reason"))
	assert.Equal(t, 1, h.s.Snapshot().Step)
	require.NoError(t, h.s.Mark("patient looks tense", "therapist"))
	assert.Equal(t, "patient looks tense", field(h.next(t, event.KindMarker), "text"))
	h.s.End("ended by therapist")
	assert.Equal(t, "ended by therapist", field(h.next(t, event.KindSessionEnd), "reason"))
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
	h.next(t, event.KindRatingPrompt)
	r := h.next(t, event.KindRating)
	assert.Equal(t, false, field(r, "answered"))
	assert.Equal(t, "recovery", field(h.next(t, event.KindStepStart), "id"))
}

// The patient's marker shows in the snapshot while they choose, on a copy
// of the prompt (earlier snapshots keep theirs); a new prompt starts
// without one. The prompt's time left stops while paused, and the prompt
// times out when it is used up.
func TestMoveMarkerAndPromptTimeLeft(t *testing.T) {
	w := newWall()
	h := run(t, protocol(t, src("1h", "1h", "1h")), setup{clock: NewClockFunc(w.read)})
	s := h.s
	h.next(t, event.KindStepStart)
	require.ErrorIs(t, s.MoveMarker(50, "patient"), ErrState, "no prompt")

	w.at(10 * sec)
	require.NoError(t, s.AskRating("craving", "therapist"))
	h.next(t, event.KindRatingPrompt)
	before := s.Snapshot()
	require.NotNil(t, before.Prompt)
	assert.Nil(t, before.Prompt.Marker, "no marker until the patient places one")
	for _, bad := range []int{-1, 101} {
		assert.Error(t, s.MoveMarker(bad, "patient"), "%d", bad)
	}
	require.NoError(t, s.MoveMarker(40, "patient"))
	v := s.Snapshot()
	require.NotNil(t, v.Prompt.Marker)
	assert.Equal(t, 40, *v.Prompt.Marker)
	assert.Nil(t, before.Prompt.Marker, "an earlier snapshot's prompt is not changed")
	require.NoError(t, s.MoveMarker(40, "patient"))
	assert.Same(t, v.Prompt, s.Snapshot().Prompt, "the same place: no new copy")
	require.NoError(t, s.MoveMarker(55, "patient"))
	b, err := json.Marshal(s.Snapshot())
	require.NoError(t, err)
	assert.Contains(t, string(b), `"at_end":false,"timeout":30,"marker":55},"prompt_remaining":30,`)

	w.at(14 * sec)
	assert.Equal(t, 26*sec, s.Snapshot().PromptLeft.Duration())
	require.NoError(t, s.Pause("therapist"))
	w.at(50 * sec)
	assert.Equal(t, 26*sec, s.Snapshot().PromptLeft.Duration(), "a pause stops it")
	assert.Equal(t, 55, *s.Snapshot().Prompt.Marker, "the marker stays through a pause")
	require.NoError(t, s.Resume("therapist"))
	w.at(60 * sec)
	s.poke()
	assert.Equal(t, 16*sec, s.Snapshot().PromptLeft.Duration())
	require.NotNil(t, s.Snapshot().Prompt, "not timed out: the pause did not count")
	w.at(76 * sec)
	s.poke()
	r := h.next(t, event.KindRating)
	assert.Equal(t, false, field(r, "answered"), "timed out 30 s of the step's clock after it opened")
	assert.Equal(t, 76*sec, r.T)
	require.ErrorIs(t, s.MoveMarker(50, "patient"), ErrState, "no prompt any more")

	w.at(80 * sec)
	require.NoError(t, s.AskRating("suds", "therapist"))
	h.next(t, event.KindRatingPrompt)
	assert.Nil(t, s.Snapshot().Prompt.Marker, "a new prompt starts without a marker")
	require.NoError(t, s.Answer(20, "patient"))
	h.next(t, event.KindRating)
}

func TestPlainDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{60 * time.Millisecond, "0.06 s"}, {90 * time.Second, "90 s"}, {2 * time.Minute, "2 min"},
		{150 * time.Second, "2.5 min"}, {time.Hour, "1 h"}, {90 * time.Minute, "1 h 30 min"},
		{2*time.Hour - time.Second, "2 h"},
	} {
		assert.Equal(t, c.want, plainDuration(c.d), "%v", c.d)
	}
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }

func TestRepeatAndBackOff(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, event.KindStepStart)
	require.ErrorIs(t, h.s.Back("therapist"), ErrState, "nothing before the baseline")
	require.NoError(t, h.s.Next("therapist"))
	assert.Equal(t, "s1", field(h.next(t, event.KindStepStart), "id"))
	require.NoError(t, h.s.Repeat("therapist"))
	assert.Equal(t, "repeat", field(h.next(t, event.KindStepEnd), "reason"))
	assert.Equal(t, "s1", field(h.next(t, event.KindStepStart), "id"))
	require.NoError(t, h.s.Back("therapist"))
	assert.Equal(t, "back", field(h.next(t, event.KindStepEnd), "reason"))
	assert.Equal(t, "baseline", field(h.next(t, event.KindStepStart), "id"))
	assert.Equal(t, 0, h.s.Snapshot().Step)
}

func TestSafetyLimits(t *testing.T) {
	t.Run("per step", func(t *testing.T) {
		p := protocol(t, src("10ms", "1h", "1h"))
		p.MaxStep = 60 * time.Millisecond
		h := start(t, p)
		h.next(t, event.KindStepStart)
		h.next(t, event.KindStepStart) // s1, an hour long
		a := h.next(t, event.KindAlert)
		assert.Equal(t, "max_step", field(a, "limit"))
		assert.Equal(t, []any{event.LevelAlarm, "limit:max_step"}, []any{a.Data.(event.Alert).Level, a.Data.(event.Alert).Incident})
		assert.Equal(t, `step "A" reached the protocol's limit of 0.06 s per step — moving on`, a.Data.(event.Alert).Message)
		assert.Equal(t, "max_step", field(h.next(t, event.KindStepEnd), "reason"))
	})
	t.Run("per session goes to recovery", func(t *testing.T) {
		p := protocol(t, src("10ms", "1h", "1h"))
		p.MaxExposure = 60 * time.Millisecond
		h := start(t, p)
		h.next(t, event.KindStepStart)
		s1 := h.next(t, event.KindStepStart)
		a := h.next(t, event.KindAlert)
		assert.Equal(t, "max_exposure", field(a, "limit"))
		assert.Equal(t, []any{event.LevelAlarm, "limit:max_exposure"}, []any{a.Data.(event.Alert).Level, a.Data.(event.Alert).Incident})
		assert.Contains(t, a.Data.(event.Alert).Message, "— going to the recovery step")
		assert.GreaterOrEqual(t, a.T-s1.T, 60*time.Millisecond)
		assert.Equal(t, "recovery", field(h.next(t, event.KindStepStart), "id"), "exposure ends on the recovery step")
	})
}

func TestPeriodicRating(t *testing.T) {
	p := protocol(t, src("10ms", "1h", "1h"))
	p.Steps[0].Rating.Every = 40 * time.Millisecond
	h := start(t, p)
	h.next(t, event.KindStepStart)
	s1 := h.next(t, event.KindStepStart)
	pr := h.next(t, event.KindRatingPrompt)
	assert.GreaterOrEqual(t, pr.T-s1.T, 40*time.Millisecond)
	require.NoError(t, h.s.Answer(30, "patient"))
	assert.Equal(t, event.Int(30), h.next(t, event.KindRating).Data.(event.Rating).Value)
	assert.Equal(t, 1, h.s.Snapshot().Step, "a periodic rating does not end the step")
	pr2 := h.next(t, event.KindRatingPrompt)
	assert.GreaterOrEqual(t, pr2.T-s1.T, 80*time.Millisecond, "asked again one period later")
}

func TestTherapistAsksForARating(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, event.KindStepStart)
	require.NoError(t, h.s.AskRating("suds", "therapist"))
	pr := h.next(t, event.KindRatingPrompt)
	assert.Equal(t, "suds", field(pr, "scale"))
	require.ErrorIs(t, h.s.AskRating("", "therapist"), ErrState, "one prompt at a time")
	require.NoError(t, h.s.Answer(70, "patient"))
	assert.Equal(t, event.Int(70), h.next(t, event.KindRating).Data.(event.Rating).Value)
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
		h.next(t, event.KindStepStart)
		s1 := h.next(t, event.KindStepStart)
		// Not yet: the session keeps asking and the step goes on.
		require.Eventually(t, func() bool { return f.calls() >= 2 }, 10*time.Second, time.Millisecond)
		assert.Equal(t, 1, h.s.Snapshot().Step)
		f.set(true)
		note := h.next(t, event.KindAlert).Data.(event.Alert)
		assert.Equal(t, []any{event.LevelInfo, "habituated:s1"}, []any{note.Level, note.Incident}, "a notice, not an alarm")
		end := h.next(t, event.KindStepEnd)
		assert.Equal(t, "habituated", field(end, "reason"))
		assert.GreaterOrEqual(t, end.T-s1.T, 30*time.Millisecond, "never before min")
	})
	t.Run("craving below", func(t *testing.T) {
		h := start(t, protocol(t, sprintf(habituation, "craving_below: 30")))
		h.next(t, event.KindStepStart)
		h.next(t, event.KindStepStart)
		require.NoError(t, h.s.AskRating("craving", "therapist"))
		require.NoError(t, h.s.Answer(55, "patient"))
		h.next(t, event.KindRating)
		require.NoError(t, h.s.AskRating("craving", "therapist"))
		assert.Equal(t, 1, h.s.Snapshot().Step, "55 is not below 30")
		require.NoError(t, h.s.Answer(20, "patient"))
		assert.Equal(t, "habituated", field(h.next(t, event.KindStepEnd), "reason"))
	})
	t.Run("the end rating is still asked", func(t *testing.T) {
		f := &fakeArousal{}
		f.set(true)
		withRating := strings.Replace(habituation, "    end_when:", "    rating: {scale: craving, at: end, question: \"Craving?\"}\n    end_when:", 1)
		h := start(t, protocol(t, sprintf(withRating, "scl_within: 20\n      hold: 1s")))
		h.s.SetArousal(f)
		h.next(t, event.KindStepStart)
		s1 := h.next(t, event.KindStepStart)
		pr := h.next(t, event.KindRatingPrompt)
		assert.True(t, pr.Data.(event.RatingPrompt).AtEnd, "the closing prompt says so")
		assert.Less(t, pr.T-s1.T, time.Hour, "asked when the step habituated, long before its hour")
		snap := h.s.Snapshot()
		require.NotNil(t, snap.Prompt)
		assert.True(t, snap.Prompt.AtEnd)
		assert.Equal(t, 1, snap.Step, "the step waits for the answer")
		require.NoError(t, h.s.Answer(12, "patient"))
		r := h.next(t, event.KindRating)
		assert.Equal(t, event.Int(12), r.Data.(event.Rating).Value)
		assert.Equal(t, "rating", field(h.next(t, event.KindStepEnd), "reason"))
		assert.Equal(t, "recovery", field(h.next(t, event.KindStepStart), "id"))
	})
}

func TestHeldSessionWaitsForStart(t *testing.T) {
	h := run(t, protocol(t, src("1h", "1h", "1h")), setup{hold: true, noPlayer: true})
	s := h.s
	assert.Equal(t, Ready, s.Snapshot().State, "nothing plays before Start")
	require.NoError(t, s.Start("therapist"))
	require.ErrorIs(t, s.Start("therapist"), ErrState, "once")
	st := h.next(t, event.KindSessionStart)
	assert.Equal(t, "therapist", field(st, "by"))
	assert.Equal(t, "baseline", field(h.next(t, event.KindStepStart), "id"))
}

// The patient may press stop on the waiting screen: the calm scene shows,
// the therapist's Resume goes back to waiting, and Start still starts.
func TestStopBeforeTheStart(t *testing.T) {
	for _, then := range []string{"resume then start", "start"} {
		t.Run(then, func(t *testing.T) {
			h := run(t, protocol(t, src("1h", "1h", "1h")), setup{hold: true, noPlayer: true})
			s := h.s
			require.NoError(t, s.Calm("patient_stop", "patient"))
			assert.Equal(t, Calm, s.Snapshot().State)
			if then == "resume then start" {
				require.NoError(t, s.Resume("therapist"))
				assert.Equal(t, Ready, s.Snapshot().State, "back to waiting: no step to resume")
			}
			require.NoError(t, s.Start("therapist"))
			assert.Equal(t, "baseline", field(h.next(t, event.KindStepStart), "id"))
			assert.Equal(t, Running, s.Snapshot().State)
		})
	}
}

// field reads one field of an event's data as the JSON edge shows it
// (numbers as float64).
func field(e event.Event, key string) any { return event.Fields(e.Data)[key] }

// wall is a wall clock the test moves: the session's time stands still
// between the test's steps, so its snapshots are exact.
type wall struct {
	mu    sync.Mutex
	start time.Time
	now   time.Time
}

func newWall() *wall            { t := time.Unix(1000, 0); return &wall{start: t, now: t} }
func (w *wall) read() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }

// at sets the session time.
func (w *wall) at(d time.Duration) { w.mu.Lock(); w.now = w.start.Add(d); w.mu.Unlock() }

// agree checks that the events read so far, folded, are the state the
// session reports. A marker, emitted after everything before it, says
// when all of them have been read.
func (h *harness) agree(t *testing.T) Snapshot {
	t.Helper()
	require.NoError(t, h.s.Mark("sync", "test"))
	h.next(t, event.KindMarker)
	snap := h.s.Snapshot()
	require.Equal(t, snap, h.folded.At(snap.Now.Duration()), "the session's state is its events folded")
	return snap
}

// The live session's state is, at every step, the fold of the events it
// emitted: commands, the timer's own moves (the step's end, periodic and
// closing prompts) and the end.
func TestSessionStateIsItsEventsFolded(t *testing.T) {
	p := protocol(t, src("10s", "20s", "1h"))
	p.Steps[0].Rating.Every = 8 * time.Second
	w := newWall()
	h := run(t, p, setup{clock: NewClockFunc(w.read)})
	s := h.s
	// moveOn lets the timer goroutine look at the time now, as its timer would.
	moveOn := func(to time.Duration, kind event.Kind) {
		t.Helper()
		w.at(to)
		s.poke()
		h.next(t, kind)
	}
	step := func(to time.Duration, do func() error) Snapshot {
		t.Helper()
		w.at(to)
		require.NoError(t, do())
		return h.agree(t)
	}

	h.next(t, event.KindStepStart)
	assert.Equal(t, Running, h.agree(t).State)
	v := step(3*sec, func() error { return s.Pause("therapist") })
	assert.Equal(t, []any{Paused, 3 * sec}, []any{v.State, v.Elapsed.Duration()})
	v = step(5*sec, func() error { return s.Resume("therapist") })
	assert.Equal(t, 3*sec, v.Elapsed.Duration(), "the pause did not count")
	v = step(6*sec, func() error { return s.Calm("patient_stop", "patient") })
	assert.Equal(t, []any{Calm, 4 * sec}, []any{v.State, v.Elapsed.Duration()})
	step(9*sec, func() error { return s.Resume("therapist") })
	v = step(10*sec, func() error { return s.AskRating("suds", "therapist") })
	require.NotNil(t, v.Prompt)
	assert.Equal(t, Prompt{Scale: "suds", Question: v.Prompt.Question, Since: 10 * sec,
		Timeout: Duration(PromptTimeout), at: 5 * sec}, *v.Prompt, "opened 5 s into the step (3 s paused or calm)")
	step(11*sec, func() error { return s.Answer(50, "patient") })

	// The baseline's 10 s are up at 16 s (3 s stood still): step A.
	moveOn(16*sec, event.KindStepStart)
	v = h.agree(t)
	assert.Equal(t, []any{1, time.Duration(0), uint64(2)}, []any{v.Step, v.Elapsed.Duration(), v.Presentation})
	// Its periodic rating after 8 s is not the closing one.
	moveOn(24*sec, event.KindRatingPrompt)
	v = h.agree(t)
	require.NotNil(t, v.Prompt)
	assert.False(t, v.Prompt.AtEnd)
	v = step(25*sec, func() error { return s.Answer(30, "patient") })
	assert.Equal(t, 1, v.Step, "a periodic rating does not end the step")

	v = step(26*sec, func() error { return s.Repeat("therapist") })
	assert.Equal(t, []any{1, time.Duration(0), uint64(3)}, []any{v.Step, v.Elapsed.Duration(), v.Presentation})
	step(27*sec, func() error { return s.Calm("panic", "therapist") })
	step(28*sec, func() error { return s.Resume("therapist") })
	moveOn(36*sec, event.KindRatingPrompt)
	step(37*sec, func() error { return s.Answer(30, "patient") })
	// 21 s into a 20 s step: the closing prompt holds it.
	moveOn(48*sec, event.KindRatingPrompt)
	v = h.agree(t)
	require.NotNil(t, v.Prompt)
	assert.True(t, v.Prompt.AtEnd)
	assert.Equal(t, []any{20 * sec, time.Duration(0)}, []any{v.Elapsed.Duration(), v.Remaining.Duration()})
	require.ErrorIs(t, s.AskRating("suds", "therapist"), ErrState, "the closing prompt is open")
	v = step(49*sec, func() error { return s.Answer(20, "patient") })
	assert.Equal(t, "recovery", v.StepID)

	step(50*sec, func() error { return s.Back("therapist") })
	step(51*sec, func() error { return s.Next("therapist") })
	w.at(52 * sec)
	s.End("ended by therapist")
	<-h.done
	v = h.agree(t)
	assert.Equal(t, []any{Ended, 2, 1 * sec}, []any{v.State, v.Step, v.Elapsed.Duration()})
	w.at(99 * sec)
	assert.Equal(t, 1*sec, s.Snapshot().Elapsed.Duration(), "frozen at the end")
}

// The therapist cannot open a prompt in the moment between the step's time
// running out and the session moving on: it would be taken for the step's
// closing prompt. (No Run goroutine here: the test is that moment.)
func TestNoRatingOnceTheStepsTimeIsUp(t *testing.T) {
	w := newWall()
	b := bus.New()
	t.Cleanup(b.Close)
	s := New(protocol(t, src("10s", "1h", "1h")), b, NewClockFunc(w.read), nil)
	s.mu.Lock()
	s.startStepLocked(0)
	s.mu.Unlock()
	w.at(9 * time.Second)
	require.NoError(t, s.AskRating("suds", "therapist"))
	require.NoError(t, s.Answer(10, "patient"))
	w.at(10 * time.Second)
	require.ErrorIs(t, s.AskRating("suds", "therapist"), ErrState)
	s.mu.Lock()
	s.advanceLocked()
	s.mu.Unlock()
	assert.Equal(t, "s1", s.Snapshot().StepID, "the session moved on")
}

func TestCalmWantsAReason(t *testing.T) {
	h := start(t, protocol(t, src("1h", "1h", "1h")))
	h.next(t, event.KindStepStart)
	require.Error(t, h.s.Calm("nap", "therapist"))
	assert.Equal(t, Running, h.s.Snapshot().State)
}

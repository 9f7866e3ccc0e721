package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/event/eventtest"
	"github.com/cueroom/cueroom/scenes"
	"github.com/cueroom/cueroom/sensors"
)

const s = time.Second

var steps = []scenes.Step{
	{ID: "baseline", Name: "Baseline", Duration: 10 * s, Neutral: true, Cues: []scenes.Cue{{ID: "b.c1", Kind: scenes.KindImage}}},
	{ID: "bottle", Name: "Bottle", Intensity: 3, Duration: 20 * s, Cues: []scenes.Cue{{ID: "s1.c1", Kind: scenes.KindImage}, {ID: "s1.c2", Kind: scenes.KindSound}}},
	{ID: "recovery", Name: "Recovery", Duration: 10 * s, Neutral: true},
}

func ev(t time.Duration, kind event.Kind, step int, data map[string]any) event.Event {
	return eventtest.New(t, kind, step, data)
}

// sessionEvents: baseline 0–10 s; bottle from 10 s, paused 14–16 s, a craving
// prompt at 18 s answered at 19 s, patient stop at 20 s, resumed at 25 s,
// back to baseline (repeat) at 30 s, bottle again 33 s, recovery 50 s,
// end 60 s.
func sessionEvents() []event.Event {
	return []event.Event{
		ev(0, event.KindSessionStart, -1, nil),
		ev(0, event.KindStepStart, 0, map[string]any{"id": "baseline"}),
		ev(10*s, event.KindStepEnd, 0, nil),
		ev(10*s, event.KindStepStart, 1, map[string]any{"id": "bottle"}),
		ev(14*s, event.KindCommand, 1, map[string]any{"cmd": "pause"}),
		ev(16*s, event.KindCommand, 1, map[string]any{"cmd": "resume"}),
		ev(18*s, event.KindRatingPrompt, 1, map[string]any{"scale": "craving", "question": "How strong?"}),
		ev(19*s, event.KindRating, 1, map[string]any{"scale": "craving", "value": 40.0}),
		ev(20*s, event.KindPatientStop, 1, map[string]any{"cmd": "patient_stop"}),
		ev(25*s, event.KindCommand, 1, map[string]any{"cmd": "resume"}),
		ev(30*s, event.KindCommand, 1, map[string]any{"cmd": "back"}),
		ev(30*s, event.KindStepStart, 0, map[string]any{"id": "baseline"}),
		ev(33*s, event.KindStepStart, 1, map[string]any{"id": "bottle"}),
		ev(50*s, event.KindStepStart, 2, map[string]any{"id": "recovery"}),
		ev(60*s, event.KindSessionEnd, 2, map[string]any{"reason": "completed"}),
		ev(99*s, event.KindStepStart, 7, nil), // a step the protocol does not have: ignored
	}
}

// session is events recorded with one 10 Hz device (0.0..59.9 s), read
// back as cueroom replay reads it.
func session(t testing.TB) *record.Index {
	t.Helper()
	meta := record.Meta{Title: "replay test", Start: time.Date(2025, 1, 31, 14, 25, 0, 0, time.UTC),
		Streams: []sensors.Stream{{Device: "dev", Rate: 10}}}
	dir := recordTo(t, t.TempDir(), meta, func(emit func(bus.Msg)) {
		for _, e := range sessionEvents() {
			emit(bus.Msg{Event: &e})
		}
		for i := range 600 {
			smp := sensors.Sample{Device: "dev", T: time.Duration(i) * 100 * time.Millisecond, Seq: uint32(i), N: 1}
			smp.Values[0] = float64(i)
			emit(bus.Msg{Sample: &smp})
		}
	})
	x, err := record.OpenIndex(dir)
	require.NoError(t, err)
	t.Cleanup(func() { x.Close() })
	require.Nil(t, x.Recovered)
	return x
}

// recordTo records a session under root through the real writer, send
// giving it what the bus would, and returns its folder.
func recordTo(t testing.TB, root string, meta record.Meta, send func(emit func(bus.Msg))) string {
	t.Helper()
	w, err := record.Create(root, meta, []byte("cueroom: 1\n"))
	require.NoError(t, err)
	// A bounded queue: the bus's lossless one would hold a long fixture
	// whole in memory.
	q := make(chan bus.Msg, 4096)
	done := make(chan error, 1)
	go func() { done <- w.Run(&bus.Sub{C: q}) }()
	send(func(m bus.Msg) { q <- m })
	close(q)
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	return w.Dir()
}

func TestTimelineRebuildsTheScene(t *testing.T) {
	tl := NewTimeline(sessionEvents(), steps)
	cases := []struct {
		at      time.Duration
		state   engine.State
		step    int
		elapsed time.Duration
		prompt  bool
	}{
		{5 * s, engine.Running, 0, 5 * s, false},
		{12 * s, engine.Running, 1, 2 * s, false},
		{15 * s, engine.Paused, 1, 4 * s, false},  // frozen at the pause
		{17 * s, engine.Running, 1, 5 * s, false}, // 4 s + 1 s after the resume
		{18500 * time.Millisecond, engine.Running, 1, 6500 * time.Millisecond, true},
		{22 * s, engine.Calm, 1, 8 * s, false},
		{26 * s, engine.Running, 1, 9 * s, false},
		{31 * s, engine.Running, 0, 1 * s, false},
		{45 * s, engine.Running, 1, 12 * s, false},
		{55 * s, engine.Running, 2, 5 * s, false},
		{70 * s, engine.Ended, 2, 10 * s, false}, // clamped to the step's length
	}
	for _, c := range cases {
		snap := tl.At(c.at)
		assert.Equal(t, c.state, snap.State, "at %v", c.at)
		assert.Equal(t, c.step, snap.Step, "at %v", c.at)
		assert.Equal(t, c.elapsed, snap.Elapsed.Duration(), "at %v", c.at)
		assert.Equal(t, c.prompt, snap.Prompt != nil, "prompt at %v", c.at)
		assert.Equal(t, steps[c.step].ID, snap.StepID)
	}
	assert.Equal(t, engine.Ready, tl.At(-s).State)
	assert.Equal(t, []StepStart{{0, 0}, {10 * s, 1}, {30 * s, 0}, {33 * s, 1}, {50 * s, 2}}, tl.Starts())
	assert.Equal(t, 99*s, tl.End())

	// Sound restarts after the patient's stop, from the step time of the resume.
	e1, st, off, paused, ok := tl.sound(12 * s)
	require.True(t, ok)
	assert.Equal(t, []any{1, 2 * s, false}, []any{st, off, paused})
	_, _, _, paused, _ = tl.sound(15 * s)
	assert.True(t, paused)
	_, _, _, _, ok = tl.sound(22 * s)
	assert.False(t, ok, "no sound on the calm scene")
	e2, _, off, _, ok := tl.sound(26 * s)
	require.True(t, ok)
	assert.NotEqual(t, e1, e2)
	assert.Equal(t, 1*s, off)
}

// fakeClock is a wall clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// cueLog records what the player asked of the cues.
type cueLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *cueLog) add(s string) { l.mu.Lock(); l.calls = append(l.calls, s); l.mu.Unlock() }
func (l *cueLog) StartStepAt(step int, _ []scenes.Cue, off time.Duration) {
	l.add("start " + steps[step].ID + " " + off.String())
}
func (l *cueLog) StopAll(time.Duration) { l.add("stop") }
func (l *cueLog) SetPaused(p bool) {
	if p {
		l.add("pause")
	} else {
		l.add("play")
	}
}
func (l *cueLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

func TestLookFollowsTheRecording(t *testing.T) {
	st := append([]scenes.Step(nil), steps...)
	st[1].Cues = append([]scenes.Cue{{ID: "pano", Kind: scenes.KindPanorama, Yaw: 30}}, st[1].Cues...)
	events := append(sessionEvents(),
		ev(12*s, event.KindLook, 1, map[string]any{"cue": "pano", "yaw_deg": -20.5, "pitch_deg": 5.0}),
		ev(13*s, event.KindLook, 1, map[string]any{"cue": "other", "yaw_deg": 90.0, "pitch_deg": 0.0}),
		// What a recording's reader cannot type stays a look it does not know.
		event.Event{T: 14 * s, Step: 1, Data: event.Unknown{Name: event.KindLook, Raw: []byte(`{"cue":"pano","yaw_deg":"bad"}`)}})
	sort.SliceStable(events, func(i, j int) bool { return events[i].T < events[j].T })
	tl := NewTimeline(events, st)
	cases := []struct {
		at         time.Duration
		yaw, pitch float64
	}{
		{11 * s, 30, 0},    // before any look: where the protocol starts it
		{12 * s, -20.5, 5}, // from the look on
		{15 * s, -20.5, 5}, // another cue's look and a malformed one change nothing
	}
	for _, c := range cases {
		yaw, pitch, ok := tl.LookAt("pano", c.at)
		require.True(t, ok)
		assert.Equal(t, []float64{c.yaw, c.pitch}, []float64{yaw, pitch}, "at %v", c.at)
	}
	_, _, ok := tl.LookAt("nowhere", 15*s)
	assert.False(t, ok)
}

func TestPlayerPacesSeeksAndChangesSpeed(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	b := bus.New()
	sub := b.Subscribe(1<<16, true)
	cues := &cueLog{}
	p := New(session(t), steps, b, Options{Now: clk.Now, Cues: cues, Context: 2 * s})
	assert.Equal(t, 99*s, p.Duration())

	p.step()
	assert.Equal(t, time.Duration(0), p.Now())
	clk.Add(12 * s)
	p.step()
	assert.Equal(t, 12*s, p.Now())
	// Everything up to 12 s went out, in order, nothing after.
	b.Close()
	var last time.Duration
	n := 0
	for m := range sub.C {
		if m.Sample != nil {
			assert.LessOrEqual(t, m.Sample.T, 12*s)
			assert.GreaterOrEqual(t, m.Sample.T, last)
			last = m.Sample.T
			n++
		}
	}
	assert.Equal(t, 121, n, "samples at 0.0..12.0 s")
	assert.Equal(t, []string{"stop", "play", "start baseline 0s", "stop", "play", "start bottle 2s"}, cues.take()[:6], "the tick landed 2 s into the step")

	// Double speed: 3 s of wall time is 6 s of session.
	require.NoError(t, p.SetSpeed(2))
	clk.Add(3 * s)
	assert.Equal(t, 18*s, p.Now())
	p.step()
	assert.Equal(t, []string{"stop", "pause", "start bottle 6s"}, cues.take(), "away from 1× the cues are held at the position")
	assert.Error(t, p.SetSpeed(0.1))
	assert.Error(t, p.SetSpeed(17))
	require.NoError(t, p.SetSpeed(1))

	// Seek into the bottle step after the stop: sound from 1 s after the
	// resume (the step's time 9 s, sounds restarted at 8 s).
	p.Seek(26 * s)
	p.step()
	assert.Equal(t, []string{"stop", "play", "start bottle 1s"}, cues.take())
	snap := p.Snapshot()
	assert.Equal(t, engine.Running, snap.State)
	assert.Equal(t, "bottle", snap.StepID)

	// Pause holds the position and pauses the cues.
	require.NoError(t, p.Pause())
	clk.Add(10 * s)
	p.step()
	assert.Equal(t, 26*s, p.Now())
	assert.Equal(t, []string{"pause"}, cues.take())
	require.NoError(t, p.Play())
	clk.Add(s)
	assert.Equal(t, 27*s, p.Now())

	// Steps: next goes to the next presentation, back to this one's start
	// (or the one before within 2 s of it).
	require.NoError(t, p.NextStep())
	assert.Equal(t, 30*s, p.Now())
	require.NoError(t, p.PrevStep())
	assert.Equal(t, 10*s, p.Now(), "within 2 s of the start: the one before")
	clk.Add(5 * s)
	require.NoError(t, p.PrevStep())
	assert.Equal(t, 10*s, p.Now())
	require.NoError(t, p.SeekStep(2))
	assert.Equal(t, 50*s, p.Now())
	assert.Error(t, p.SeekStep(5))

	// At the end it holds the last picture and stops.
	clk.Add(time.Hour)
	p.step()
	assert.Equal(t, 99*s, p.Now())
	assert.False(t, p.Status().Playing)
	assert.ErrorIs(t, p.Answer(50, "x"), ErrReadOnly)
}

func TestSeekSendsContextAfterTheSeekEvent(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	b := bus.New()
	p := New(session(t), steps, b, Options{Now: clk.Now, Context: 2 * s, Paused: true})
	sub := b.Subscribe(1<<16, true)
	p.Seek(40 * s)
	p.step()
	b.Close()
	var msgs []bus.Msg
	for m := range sub.C {
		msgs = append(msgs, m)
	}
	require.NotEmpty(t, msgs)
	require.NotNil(t, msgs[0].Event)
	assert.Equal(t, event.ReplaySeek{From: 0, To: 40}, msgs[0].Event.Data)
	var ts []time.Duration
	var state []string
	for _, m := range msgs[1:] {
		if m.Sample != nil {
			ts = append(ts, m.Sample.T)
		}
		if m.Event != nil {
			state = append(state, fmt.Sprint(m.Event.Kind(), "@", m.Event.T))
		}
	}
	// Before the context: the rating and the step under way (its start is
	// older than the 2 s of context), so the dashboard shows them.
	assert.Equal(t, []string{"rating@19s", "step_start@33s"}, state)
	require.Len(t, ts, 20, "the 2 s of context before 40 s: 38.1..40.0")
	assert.Equal(t, 38100*time.Millisecond, ts[0])
	assert.Equal(t, 40*s, ts[len(ts)-1])
}

func TestRunStopsOnEndAndAnnouncesStreams(t *testing.T) {
	b := bus.New()
	sub := b.Subscribe(1<<16, true)
	p := New(session(t), steps, b, Options{Paused: true})
	done := make(chan struct{})
	go func() { p.Run(context.Background()); close(done) }()
	m := <-sub.C
	require.NotNil(t, m.Stream)
	assert.Equal(t, "dev", m.Stream.Device)
	p.End("test")
	<-done
	<-p.Done()
}

func TestStatusJSON(t *testing.T) {
	clk := &fakeClock{now: time.Unix(1000, 0)}
	p := New(session(t), steps, nil, Options{Now: clk.Now, Speed: 4})
	clk.Add(3 * s)
	b, err := json.Marshal(p.Status())
	require.NoError(t, err)
	assert.JSONEq(t, `{"status":"running","step_index":1,"step_id":"bottle","step_name":"Bottle","intensity":3,"steps":3,
		"step_elapsed":2,"step_remaining":18,"t":12,"replay":{"position_s":12,"duration_s":99,"speed":4,"playing":true}}`, string(b))
}

// wall is a wall clock the test moves, for a live session.
type wall struct {
	mu  sync.Mutex
	now time.Time
}

func (w *wall) read() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }
func (w *wall) add(d time.Duration) {
	w.mu.Lock()
	w.now = w.now.Add(d)
	w.mu.Unlock()
}

// A replay of a live session's events shows, at each moment, the state the
// live session reported then.
func TestReplayShowsWhatTheLiveSessionShowed(t *testing.T) {
	p, err := scenes.Parse("p.yaml", []byte(`cueroom: 1
title: T
substance: alcohol
baseline:
  duration: 1h
  cues: [{text: calm}]
steps:
  - name: A
    intensity: 2
    duration: 1h
    cues: [{text: a}]
    rating: {scale: craving, at: start, question: "Craving?"}
recovery:
  duration: 1h
  cues: [{text: r}]
`), fstest.MapFS{})
	require.NoError(t, err)
	w := &wall{now: time.Unix(1000, 0)}
	b := bus.New()
	sub := b.Subscribe(64, true)
	s := engine.New(p, b, engine.NewClockFunc(w.read), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; b.Close() })

	var events []event.Event
	// read reads events up to one of kind ("": all, until the bus closes).
	read := func(kind event.Kind) {
		t.Helper()
		for m := range sub.C {
			if m.Event != nil {
				events = append(events, *m.Event)
				if m.Event.Kind() == kind {
					return
				}
			}
		}
		require.Empty(t, kind, "no %s event", kind)
	}
	read(event.KindStepStart)
	var seen []engine.Snapshot
	// look sees the state now, then time moves on: a replay shows, at a
	// moment, the state after the events of that moment.
	look := func() {
		seen = append(seen, s.Snapshot())
		w.add(700 * time.Millisecond)
	}
	look()
	for _, do := range []func() error{
		func() error { return s.Pause("t") }, func() error { return s.Resume("t") },
		func() error { return s.Next("t") }, // A, with a prompt at its start
		func() error { return s.Answer(40, "patient") },
		func() error { return s.Calm("patient_stop", "patient") }, func() error { return s.Resume("t") },
		func() error { return s.AskRating("suds", "t") }, func() error { return s.Calm("panic", "t") },
		func() error { return s.Resume("t") }, func() error { return s.Repeat("t") },
		func() error { return s.Pause("t") }, func() error { return s.Back("t") },
		func() error { s.End("ended by therapist"); return nil },
	} {
		look()
		require.NoError(t, do())
		look()
	}
	<-done
	b.Close()
	read("")

	tl := NewTimeline(events, p.All())
	for _, snap := range seen {
		assert.Equal(t, snap, tl.At(snap.Now.Duration()), "at %v", snap.Now)
	}
}

// A data.rec that cannot be read on (here cut short after it was indexed)
// silences the samples past the damage, says so once, and the events go
// on.
func TestReadErrorIsReported(t *testing.T) {
	x := session(t)
	path := filepath.Join(x.Dir, record.DataFile)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, st.Size()/2))

	clk := &fakeClock{now: time.Unix(1000, 0)}
	b := bus.New()
	sub := b.Subscribe(1<<16, true)
	var logged []string
	p := New(x, steps, b, Options{Now: clk.Now, Logf: func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) }})
	clk.Add(time.Hour)
	p.step()
	b.Close()
	samples, events := 0, 0
	for m := range sub.C {
		switch {
		case m.Sample != nil:
			samples++
		case m.Event != nil:
			events++
		}
	}
	assert.Less(t, samples, 600)
	assert.Equal(t, len(x.Events), events, "every event")
	require.Error(t, p.Err())
	require.Len(t, logged, 1)
	assert.Contains(t, logged[0], record.DataFile)
}

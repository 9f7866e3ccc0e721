package pipeline

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/xr"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/scenes"
)

const headsetProtocol = `cueroom: 1
title: "Headset adapter"
substance: other
baseline:
  duration: 60s
  cues:
    - text: "Breathe."
steps:
  - {id: s1, name: One, intensity: 1, duration: 60s, cues: [{text: "A word."}]}
`

// The pipeline's Headset is the xr.Session over the live session and the
// bus: looks and onsets go on the bus stamped as the display says, the
// stop is the patient's (by headset), an answer needs its prompt, and
// HeadView follows the latest look until the connection is lost.
func TestHeadsetAdapter(t *testing.T) {
	leakcheck.Check(t)
	p, err := scenes.Parse("h.yaml", []byte(headsetProtocol), fstest.MapFS{})
	require.NoError(t, err)
	clock := engine.NewClock()
	pl, err := New(clock, Options{Title: p.Title, Steps: p.All(), Headset: p, Feed: feed.Config{Listen: "127.0.0.1:0"}})
	require.NoError(t, err)
	defer pl.Close()
	sub := pl.Bus.Subscribe(256, true)
	sess := engine.New(p, pl.Bus, clock, nil)
	require.NoError(t, pl.Listen(Live{Session: sess}))
	require.NotNil(t, pl.Headset)
	assert.Contains(t, pl.Feed.DisplayURL(), "/xr?token=")
	var h xr.Session = pl.Headset

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sess.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	next := func(kind event.Kind) event.Event {
		t.Helper()
		for {
			select {
			case m := <-sub.C:
				if m.Event != nil && m.Event.Kind() == kind {
					return *m.Event
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("no %s on the bus", kind)
			}
		}
	}
	next(event.KindStepStart)
	step, scene := h.Showing()
	assert.Equal(t, 0, step)
	assert.NotZero(t, scene)

	_, _, ok := pl.Headset.HeadView()
	assert.False(t, ok, "no look yet")
	at := h.Now() - 20*time.Millisecond
	h.Publish(at, 0, event.Look{Cue: "baseline.c1", YawDeg: 12.5, PitchDeg: -3})
	e := next(event.KindLook)
	assert.Equal(t, at, e.T)
	assert.Equal(t, clock.Wall(at), e.Wall)
	yaw, pitch, ok := pl.Headset.HeadView()
	assert.True(t, ok)
	assert.Equal(t, [2]float64{12.5, -3}, [2]float64{yaw, pitch})

	require.Error(t, h.Answer("craving", 40, xr.By), "no prompt open")
	require.NoError(t, sess.AskRating("craving", "c1"))
	require.Error(t, h.Answer("suds", 40, xr.By), "another scale's prompt")
	require.NoError(t, h.Answer("craving", 40, xr.By))
	r := next(event.KindRating)
	assert.Equal(t, "headset", r.Data.(event.Rating).By)

	require.NoError(t, h.PatientStop(xr.By))
	stop := next(event.KindPatientStop)
	assert.Equal(t, event.PatientStop{Cmd: "patient_stop", By: "headset"}, stop.Data)
	assert.Equal(t, engine.Calm, sess.Snapshot().State)

	h.Publish(h.Now(), 0, xr.Lost("gone"))
	_, _, ok = pl.Headset.HeadView()
	assert.False(t, ok, "lost: the direction is not known")
}

// A replay has no headset.
func TestNoHeadsetForReplay(t *testing.T) {
	p, err := scenes.Parse("h.yaml", []byte(headsetProtocol), fstest.MapFS{})
	require.NoError(t, err)
	pl, err := New(engine.NewClock(), Options{Headset: p, Feed: feed.Config{Listen: "127.0.0.1:0"}})
	require.NoError(t, err)
	defer pl.Close()
	f := newFake(pl)
	require.NoError(t, pl.Listen(f))
	assert.Nil(t, pl.Headset)
	assert.Empty(t, pl.Feed.DisplayURL())
}

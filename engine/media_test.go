package engine

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/scenes"
)

const aheadProtocol = `cueroom: 1
title: Ahead
substance: alcohol
baseline:
  duration: 1h
  cues:
    - image: pic.png
steps:
  - name: Video
    intensity: 1
    duration: 1h
    cues:
      - video: clip.mpg
`

func aheadMedia(t *testing.T) (*scenes.Protocol, *Media) {
	t.Helper()
	clip, err := os.ReadFile("video/testdata/silent.mpg")
	require.NoError(t, err)
	// An NRGBA picture: stored as packed RGBA, alpha premultiplied.
	src := image.NewNRGBA(image.Rect(0, 0, 4, 2))
	src.SetNRGBA(1, 0, color.NRGBA{200, 100, 50, 128})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, src))
	p, err := scenes.Parse("ahead.yaml", []byte(aheadProtocol), fstest.MapFS{
		"clip.mpg": {Data: clip}, "pic.png": {Data: b.Bytes()}})
	require.NoError(t, err)
	m, err := LoadMedia(p)
	require.NoError(t, err)
	return p, m
}

func TestPicturesAreStoredAsPackedRGBA(t *testing.T) {
	_, m := aheadMedia(t)
	defer m.Close()
	img, ok := m.Images["baseline.c1"].(*image.RGBA)
	require.True(t, ok, "got %T", m.Images["baseline.c1"])
	assert.Equal(t, image.Rect(0, 0, 4, 2), img.Rect)
	assert.Equal(t, 16, img.Stride)
	assert.Equal(t, color.RGBA{100, 50, 25, 128}, img.RGBAAt(1, 0), "premultiplied")
	assert.Equal(t, image.Pt(128, 72), m.VideoSizes["s1.c1"], "the video's size is known at load")
}

// A video opened ahead plays as soon as its step starts: it is on screen
// (in Playing) when StartStep returns, which happens under the session's
// lock, so the step's first frame shows it.
func TestAVideoOpenedAheadIsOnScreenWhenItsStepStarts(t *testing.T) {
	leakcheck.Check(t)
	p, m := aheadMedia(t)
	defer m.Close()
	out := audio.Open(audio.Options{NoDevice: true})
	defer out.Close()
	sp := NewSoundPlayer(out, m, NewClock(), nil)
	defer sp.StopAll(0)
	step := p.Steps[0]
	cue := step.Cues[0]

	m.Ahead(step.Cues)
	require.Eventually(t, func() bool {
		m.ahead.mu.Lock()
		defer m.ahead.mu.Unlock()
		return m.ahead.open[cue.ID].opened()
	}, 10*time.Second, time.Millisecond)
	ahead, opening := m.AheadVideo(cue.ID)
	require.NotNil(t, ahead, "opened ahead: its poster may be taken")
	assert.False(t, opening)
	sp.StartStep(1, step.Cues)
	v := m.Playing.Get(cue.ID)
	require.NotNil(t, v, "the video opened ahead is playing when StartStep returns")
	assert.Same(t, ahead, v)
	taken, opening := m.AheadVideo(cue.ID)
	assert.Nil(t, taken, "taken for its step")
	assert.False(t, opening, "taken: no longer worth waiting for")
	img, _ := v.Frame(v.Time())
	assert.Equal(t, image.Pt(128, 72), img.Rect.Size())

	// Each opened video serves one presentation: a repeat opens another
	// (the window asks again for the steps reachable from the new one).
	m.ahead.mu.Lock()
	assert.Nil(t, m.ahead.open[cue.ID], "taken")
	m.ahead.mu.Unlock()
	sp.StopAll(0)
	sp.StartStep(1, step.Cues) // not opened ahead: opened now, off the caller's goroutine
	require.Eventually(t, func() bool { return m.Playing.Get(cue.ID) != nil }, 10*time.Second, time.Millisecond)
}

// Videos no longer reachable are closed, those still opening once they
// open; Close waits for them all.
func TestVideosOpenedAheadAreClosed(t *testing.T) {
	leakcheck.Check(t)
	p, m := aheadMedia(t)
	step := p.Steps[0]
	m.Ahead(step.Cues)
	m.Ahead(nil) // dropped, perhaps while opening
	m.Ahead(step.Cues)
	m.Ahead(p.Baseline.Cues) // no video
	m.ahead.mu.Lock()
	assert.Empty(t, m.ahead.open)
	m.ahead.mu.Unlock()
	m.Ahead(step.Cues)
	m.Close()
	m.Ahead(step.Cues) // after Close: nothing
	m.ahead.mu.Lock()
	assert.Empty(t, m.ahead.open)
	m.ahead.mu.Unlock()
}

// TestCalmSound: the calm scene's soft sound plays once however often it
// is asked for, and fades out when the next step starts (or all stops).
func TestCalmSound(t *testing.T) {
	leakcheck.Check(t)
	_, m := aheadMedia(t)
	defer m.Close()
	out := audio.Open(audio.Options{NoDevice: true})
	defer out.Close()
	sp := NewSoundPlayer(out, m, NewClock(), nil)
	defer sp.StopAll(0)
	sp.Calm()
	sp.Calm()
	assert.Equal(t, 1, out.Playing(), "one calm sound")
	sp.StartStep(0, nil)
	require.Eventually(t, func() bool { return out.Playing() == 0 }, 10*time.Second, time.Millisecond, "faded out when the step starts")
	sp.Calm()
	assert.Equal(t, 1, out.Playing())
	sp.StopAll(0)
	require.Eventually(t, func() bool { return out.Playing() == 0 }, 10*time.Second, time.Millisecond)
}

// gatedFS holds every Open until gate is closed.
type gatedFS struct {
	fs.FS
	gate chan struct{}
}

func (g gatedFS) Open(name string) (fs.File, error) { <-g.gate; return g.FS.Open(name) }

// TestAheadVideoSaysWhatIsWorthWaitingFor: the window waits for a video's
// poster only while it is opening; a video never asked for, or one that
// failed to open, is not worth waiting for.
func TestAheadVideoSaysWhatIsWorthWaitingFor(t *testing.T) {
	p, m := aheadMedia(t)
	defer m.Close()
	cue := p.Steps[0].Cues[0]
	v, opening := m.AheadVideo(cue.ID)
	assert.Nil(t, v)
	assert.False(t, opening, "never asked for")

	gate := make(chan struct{})
	m.fs = gatedFS{FS: fstest.MapFS{"clip.mpg": {Data: []byte("not a video")}}, gate: gate}
	m.Ahead(p.Steps[0].Cues)
	v, opening = m.AheadVideo(cue.ID)
	assert.Nil(t, v)
	assert.True(t, opening, "still opening")
	close(gate)
	require.Eventually(t, func() bool { _, opening = m.AheadVideo(cue.ID); return !opening }, 10*time.Second, time.Millisecond)
	v, _ = m.AheadVideo(cue.ID)
	assert.Nil(t, v, "failed to open")
}

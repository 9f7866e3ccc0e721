package window

import (
	"image"
	"image/color"
	"math"
	"testing"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/present"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
)

// stubSource shows one step with a 360° cue; it may know where to look.
type stubSource struct {
	step scenes.Step
	look map[string][2]float64
}

func (s *stubSource) Snapshot() engine.Snapshot {
	return engine.Snapshot{State: engine.Running, Step: 0, Presentation: 1}
}
func (s *stubSource) Step(i int) (scenes.Step, bool) { return s.step, i == 0 }
func (s *stubSource) Done() <-chan struct{}          { return nil }
func (s *stubSource) End(string)                     {}
func (s *stubSource) Calm(string, string) error      { return nil }
func (s *stubSource) Answer(int, string) error       { return nil }
func (s *stubSource) LookAt(cue string) (float64, float64, bool) {
	v, ok := s.look[cue]
	return v[0], v[1], ok
}

type stubClock struct{ t time.Duration }

func (c *stubClock) Now() time.Duration { return c.t }

var barCue = scenes.Cue{ID: "bar.c1", Kind: scenes.KindPanorama, Path: "bar.png", FOV: 90, Yaw: 30}

// panoGame is a Game over src that shows barCue, reporting to a presenter
// whose events land in the returned slice.
func panoGame(t *testing.T, src Source, clk Clock) (*Game, *[]event.Event) {
	t.Helper()
	<-host.started // drawing needs the game loop running
	events := &[]event.Event{}
	m := &engine.Media{Images: map[string]image.Image{barCue.ID: image.NewRGBA(image.Rect(0, 0, 64, 32))}}
	g, err := New(src, m, clk, Options{Present: present.New(func(e event.Event) { *events = append(*events, e) }, nil)})
	require.NoError(t, err)
	g.w, g.h = 320, 180
	return g, events
}

// show draws a frame and has it presented (its buffer swapped) at once.
func show(g *Game, screen *ebiten.Image) {
	g.Draw(screen)
	g.presented()
}

func looks(events []event.Event) []event.Event {
	var out []event.Event
	for _, e := range events {
		if e.Kind() == event.KindLook {
			out = append(out, e)
		}
	}
	return out
}

func TestWhereThePatientLooksIsRecorded(t *testing.T) {
	clk := &stubClock{}
	// Without LookAt: a live session's source.
	g, events := panoGame(t, struct{ Source }{&stubSource{step: scenes.Step{Cues: []scenes.Cue{barCue}}}}, clk)
	screen := ebiten.NewImage(320, 180)
	defer screen.Deallocate()
	deg := math.Pi / 180

	show(g, screen) // the scene comes on: where the view starts
	require.Len(t, looks(*events), 1)
	assert.Equal(t, event.Event{T: 0, Step: 0, Data: event.Look{Cue: "bar.c1", YawDeg: 30}}, looks(*events)[0])
	assert.Equal(t, event.Event{T: 0, Step: 0, Data: event.CueOnset{Cue: "bar.c1", Modality: "panorama", File: "bar.png", Channel: "visual"}}, (*events)[0])

	clk.t = time.Second
	g.view.yaw = 45 * deg
	show(g, screen)
	require.Len(t, looks(*events), 2)
	assert.Equal(t, event.Event{T: time.Second, Step: 0, Data: event.Look{Cue: "bar.c1", YawDeg: 45}}, looks(*events)[1])

	// Within 100 ms, or by less than half a degree: not again.
	clk.t += 50 * time.Millisecond
	g.view.yaw = 60 * deg
	show(g, screen)
	clk.t += 100 * time.Millisecond
	g.view.yaw = 45.2 * deg
	show(g, screen)
	assert.Len(t, looks(*events), 2)
	g.view.pitch = -10 * deg
	show(g, screen)
	require.Len(t, looks(*events), 3)
	assert.Equal(t, event.Look{Cue: "bar.c1", YawDeg: 45.2, PitchDeg: -10}, looks(*events)[2].Data)
	assert.Len(t, *events, 4, "one onset, three looks")
}

func TestAReplayLooksWhereThePatientLooked(t *testing.T) {
	src := &stubSource{step: scenes.Step{Cues: []scenes.Cue{barCue}}, look: map[string][2]float64{"bar.c1": {-90, 12}}}
	g, events := panoGame(t, src, &stubClock{})
	g.look(barCue, false)
	assert.InDelta(t, -90, g.view.yaw*180/math.Pi, 1e-9)
	assert.InDelta(t, 12, g.view.pitch*180/math.Pi, 1e-9)
	screen := ebiten.NewImage(320, 180)
	defer screen.Deallocate()
	show(g, screen)
	assert.Empty(t, looks(*events), "a replay records no look: the recording has the patient's")
}

// quadrants is a 64×32 equirectangular picture: by longitude, blue from
// -180°, red from -90°, green from 0°, yellow from 90°; its rows more than
// 60° below the horizon magenta.
func quadrants() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	bands := []color.RGBA{{20, 20, 220, 255}, {220, 20, 20, 255}, {20, 200, 40, 255}, {220, 220, 20, 255}}
	for y := range 32 {
		for x := range 64 {
			c := bands[x/16]
			if y >= 27 {
				c = color.RGBA{220, 20, 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// TestTheHeadsetTurnsTheView: with Options.HeadView answering, the 360°
// scene looks where the headset looks (pitch positive down), marked
// "headset view", and the window records no look of its own; without an
// answer, the window's own view is drawn and recorded, from where the
// headset last looked.
func TestTheHeadsetTurnsTheView(t *testing.T) {
	<-host.started
	var head struct {
		yaw, pitch float64
		ok         bool
	}
	events := &[]event.Event{}
	m := &engine.Media{Images: map[string]image.Image{barCue.ID: quadrants()}}
	clk := &stubClock{}
	g, err := New(struct{ Source }{&stubSource{step: scenes.Step{Cues: []scenes.Cue{barCue}}}}, m, clk, Options{
		Present:  present.New(func(e event.Event) { *events = append(*events, e) }, nil),
		HeadView: func() (float64, float64, bool) { return head.yaw, head.pitch, head.ok },
	})
	require.NoError(t, err)
	g.w, g.h = 320, 180
	screen := ebiten.NewImage(320, 180)
	defer screen.Deallocate()
	pix := make([]byte, 4*320*180)
	frame := func() (centre color.RGBA, label int) {
		clk.t += time.Second
		show(g, screen)
		g.look(barCue, false) // the next tick: the keys may turn the view
		screen.ReadPixels(pix)
		at := func(x, y int) color.RGBA {
			i := 4 * (y*320 + x)
			return color.RGBA{pix[i], pix[i+1], pix[i+2], pix[i+3]}
		}
		// The label's light letters in the top-left corner, where the
		// view is one plain colour.
		for y := range 24 {
			for x := range 110 {
				if c := at(x, y); min(c.R, c.G, c.B) > 60 {
					label++
				}
			}
		}
		return at(160, 90), label
	}
	isRed := func(c color.RGBA) bool { return c.R > 150 && c.G < 60 && c.B < 60 }
	isGreen := func(c color.RGBA) bool { return c.G > 150 && c.R < 60 }
	isMagenta := func(c color.RGBA) bool { return c.R > 150 && c.B > 150 && c.G < 60 }

	c, label := frame()
	assert.True(t, isGreen(c), "no headset: the cue's own direction (30°): %v", c)
	assert.Zero(t, label, "no label without a headset")
	require.Len(t, looks(*events), 1, "the window's view is recorded")

	head.yaw, head.ok = -45, true
	c, label = frame()
	assert.True(t, isRed(c), "the headset looks at -45°: %v", c)
	assert.Positive(t, label, "the headset's view is labelled")
	head.pitch = 75
	c, _ = frame()
	assert.True(t, isMagenta(c), "pitch 75° looks down: %v", c)
	head.pitch = -75
	c, _ = frame()
	assert.False(t, isMagenta(c), "pitch -75° looks up: %v", c)
	assert.Len(t, looks(*events), 1, "no look recorded while the headset looks")

	head.ok = false
	head.pitch = 0
	c, label = frame()
	assert.True(t, isRed(c), "the view stays where the headset last looked: %v", c)
	assert.Zero(t, label)
	require.Len(t, looks(*events), 2, "the window's own view is recorded again")
	last := looks(*events)[1].Data.(event.Look)
	assert.InDelta(t, -45, last.YawDeg, 0.01)
	assert.InDelta(t, -75, last.PitchDeg, 0.01)
}

package window

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/scenes"
)

// stubSource records what the window emits; it may know where to look.
type stubSource struct {
	events []bus.Event
	look   map[string][2]float64
}

func (s *stubSource) Snapshot() engine.Snapshot    { return engine.Snapshot{} }
func (s *stubSource) Step(int) (scenes.Step, bool) { return scenes.Step{}, false }
func (s *stubSource) Done() <-chan struct{}        { return nil }
func (s *stubSource) End(string)                   {}
func (s *stubSource) Calm(string, string) error    { return nil }
func (s *stubSource) Answer(int, string) error     { return nil }
func (s *stubSource) Emit(e bus.Event)             { s.events = append(s.events, e) }
func (s *stubSource) LookAt(cue string) (float64, float64, bool) {
	v, ok := s.look[cue]
	return v[0], v[1], ok
}

type stubClock struct{ t time.Duration }

func (c *stubClock) Now() time.Duration { return c.t }

func TestWhereThePatientLooksIsRecorded(t *testing.T) {
	src, clk := &stubSource{}, &stubClock{}
	g, err := New(struct{ Source }{src}, nil, clk, Options{})
	require.NoError(t, err)
	deg := math.Pi / 180
	g.view = view{cue: "bar.c1", yaw: 30 * deg}

	g.logLook("bar.c1") // the scene comes on: where the view starts
	require.Len(t, src.events, 1)
	assert.Equal(t, 30.0, src.events[0].Data["yaw_deg"])
	src.events = nil
	clk.t = time.Second
	g.view.yaw = 45 * deg
	g.logLook("bar.c1")
	require.Len(t, src.events, 1)
	e := src.events[0]
	assert.Equal(t, bus.Look, e.Kind)
	assert.Equal(t, time.Second, e.T)
	assert.Equal(t, map[string]any{"cue": "bar.c1", "yaw_deg": 45.0, "pitch_deg": 0.0}, e.Data)

	// Within 100 ms, or by less than half a degree: not again.
	clk.t += 50 * time.Millisecond
	g.view.yaw = 60 * deg
	g.logLook("bar.c1")
	clk.t += 100 * time.Millisecond
	g.view.yaw += 0.2 * deg
	g.view.yaw -= 15 * deg // back to 45.2°
	g.logLook("bar.c1")
	assert.Len(t, src.events, 1)
	g.view.pitch = -10 * deg
	g.logLook("bar.c1")
	require.Len(t, src.events, 2)
	assert.Equal(t, -10.0, src.events[1].Data["pitch_deg"])
}

func TestAReplayLooksWhereThePatientLooked(t *testing.T) {
	src := &stubSource{look: map[string][2]float64{"bar.c1": {-90, 12}}}
	g, err := New(src, nil, &stubClock{}, Options{})
	require.NoError(t, err)
	g.look(scenes.Cue{ID: "bar.c1", Kind: scenes.KindPanorama, FOV: 90}, false)
	assert.InDelta(t, -90, g.view.yaw*180/math.Pi, 1e-9)
	assert.InDelta(t, 12, g.view.pitch*180/math.Pi, 1e-9)
	assert.Empty(t, src.events, "a replay records nothing")
}

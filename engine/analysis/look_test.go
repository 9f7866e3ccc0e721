package analysis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
)

// TestLookDwell: each view holds until the next look, the offset or a
// pause; the dwell adds up by 45° sector, pitch band and "ahead".
func TestLookDwell(t *testing.T) {
	at := func(s float64, d event.Data) event.Event {
		return event.Event{T: time.Duration(s * float64(time.Second)), Step: 0, Data: d}
	}
	look := func(s, yaw, pitch float64) event.Event {
		return at(s, event.Look{Cue: "bar.c1", YawDeg: yaw, PitchDeg: pitch})
	}
	evs := []event.Event{
		at(0, event.StepStart{ID: "bar", Intensity: 5}),
		at(10, event.CueOnset{Cue: "bar.c1", Modality: "panorama", Channel: "visual"}),
		look(10, 10, 0),    // 5 s ahead (opened here), sector 0
		look(15, 90, 30),   // 5 s right, looking down (pitch > 0)
		look(20, -170, -5), // 2 s behind (sector 4), then paused 2 s, then 6 s
		at(22, event.PatientStop{}),
		at(24, event.Command{Cmd: "resume", By: "therapist"}),
		look(30, 40, -30), // 5 s, sector 1 (22.5…67.5°), looking up
		at(35, event.CueOffset{Cue: "bar.c1", Modality: "panorama", Channel: "visual"}),
		look(36, 0, 0), // after the offset: not this presentation's
	}
	steps, cues := presentations(evs, 40)
	require.Len(t, steps, 1)
	require.Len(t, cues, 1)
	got := looks(evs, cues, pauses(evs, 40))
	l := got[0]
	require.NotNil(t, l)
	assert.Equal(t, 4, l.Looks)
	assert.InDelta(t, 23, l.Seconds, 1e-9, "25 s shown less the 2 s pause")
	assert.InDelta(t, 5, l.AheadS, 1e-9)
	assert.InDelta(t, 5, l.UpS, 1e-9)
	assert.InDelta(t, 5, l.DownS, 1e-9)
	assert.InDelta(t, 13, l.LevelS, 1e-9)
	assert.Equal(t, 10.0, l.OpenYaw)
	want := map[float64]float64{0: 5, 45: 5, 90: 5, 180: 8}
	for _, s := range l.Sectors {
		assert.InDelta(t, want[s.Yaw], s.Seconds, 1e-9, "sector %g°", s.Yaw)
	}
	assert.Greater(t, l.Concentration, 0.0)
	assert.Less(t, l.Concentration, 1.0)

	// A picture (no looks) has no dwell.
	assert.Len(t, got, 1)
}

func TestSectorOf(t *testing.T) {
	for _, tc := range []struct {
		yaw  float64
		want int
	}{{0, 0}, {22.4, 0}, {22.6, 1}, {90, 2}, {180, 4}, {-180, 4}, {-22.6, 7}, {-90, 6}, {-157.4, 5}} {
		assert.Equal(t, tc.want, sectorOf(wrap(tc.yaw)), "%g°", tc.yaw)
	}
}

// TestSessionLooks: analyze (Result.Looks) and the report (each cue's
// Look) measure the dwell from a recorded session's look events.
func TestSessionLooks(t *testing.T) {
	steps := analysistest.DemoSteps()
	steps[2].Looks = [][3]float64{{0.02, 0, 0}, {5.02, 120, 10}, {15.02, -60, -25}}
	dir := analysistest.Record(t, t.TempDir(), analysistest.Spec{Steps: steps})
	s, err := record.Open(dir)
	require.NoError(t, err)
	a, err := Session(FromSession(s), Options{})
	require.NoError(t, err)
	require.Len(t, a.Looks, 1)
	l := a.Looks[0]
	assert.Equal(t, "glass.c1", l.Cue)
	// 25 s step: the cue is on from 0.02 s to 24.99 s.
	assert.InDelta(t, 24.97, l.Seconds, 1e-6)
	assert.InDelta(t, 5, l.AheadS, 1e-6)
	assert.InDelta(t, 9.97, l.UpS, 1e-6, "pitch −25°: looking up")
	rs, _, err := Report(FromSession(s), Options{})
	require.NoError(t, err)
	var found int
	for _, c := range rs.Cues {
		if c.Look != nil {
			found++
			assert.Equal(t, l.Look, *c.Look)
		}
	}
	assert.Equal(t, 1, found)
}

package xr

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

// fakeSession records what a display did to it.
type fakeSession struct {
	now     time.Duration
	step    int
	scene   uint64
	prompt  string // the open prompt's scale, "" for none
	ended   bool
	events  []event.Event
	stops   []string
	answers []string
}

func (f *fakeSession) Now() time.Duration     { return f.now }
func (f *fakeSession) Showing() (int, uint64) { return f.step, f.scene }
func (f *fakeSession) Publish(t time.Duration, step int, d event.Data) {
	f.events = append(f.events, event.Event{T: t, Step: step, Data: d})
}
func (f *fakeSession) PatientStop(by string) error {
	if f.ended {
		return errors.New("session has ended")
	}
	f.stops = append(f.stops, by)
	return nil
}
func (f *fakeSession) Answer(scale string, value int, by string) error {
	if f.prompt == "" || f.prompt != scale {
		return fmt.Errorf("no %s prompt is open", scale)
	}
	f.answers = append(f.answers, fmt.Sprintf("%s %d %s", scale, value, by))
	f.prompt = ""
	return nil
}

func testPlan() *Plan {
	return &Plan{V: 1, Steps: []PlanStep{
		{ID: "base", Cues: []PlanCue{{ID: "b.c1", Kind: "breathing", BPM: 6}}},
		{ID: "bar", Cues: []PlanCue{{ID: "bar.c1", Kind: "image", File: "m/beer.jpg"}, {ID: "bar.c2", Kind: "sound", File: "m/pour.wav"}}},
		{ID: "pano", Cues: []PlanCue{{ID: "p.c1", Kind: "panorama", File: "m/pub.jpg", Yaw: 90}}},
	}}
}

func frameMsg(cue string, t float64) string {
	return fmt.Sprintf(`{"type":"display","cmd":"frame","cue":%q,"step":1,"instance":60,"t_session":%g,"uncertainty":0.001}`, cue, t)
}

func TestDisplayFrames(t *testing.T) {
	s := &fakeSession{now: 61 * time.Second, step: 1, scene: 7}
	d := NewDisplay(testPlan(), s)
	reply, err := d.Handle([]byte(frameMsg("bar.c1", 60.98)))
	require.NoError(t, err)
	assert.Nil(t, reply)
	require.Len(t, s.events, 1)
	assert.Equal(t, event.Event{T: 60980 * time.Millisecond, Step: 1,
		Data: event.CueOnset{Channel: "visual", Cue: "bar.c1", File: "m/beer.jpg", Modality: "image", Source: SourceHeadset}}, s.events[0])

	// Again in the same scene: ignored. After a calm scene (a new Scene):
	// a new onset, as the window records a cue that comes back.
	_, err = d.Handle([]byte(frameMsg("bar.c1", 61)))
	require.NoError(t, err)
	assert.Len(t, s.events, 1)
	s.scene = 9
	_, err = d.Handle([]byte(frameMsg("bar.c1", 61)))
	require.NoError(t, err)
	assert.Len(t, s.events, 2)

	// Refused: a cue of another step, a sound (nothing to see is no
	// onset, and no error), a time far from the clock.
	_, err = d.Handle([]byte(frameMsg("p.c1", 61)))
	assert.ErrorContains(t, err, "not in the step being shown")
	_, err = d.Handle([]byte(frameMsg("bar.c2", 61)))
	assert.NoError(t, err)
	_, err = d.Handle([]byte(frameMsg("bar.c1", 50)))
	var e *Error
	require.True(t, errors.As(err, &e))
	assert.Equal(t, CodeBadArgs, e.Code)
	assert.Len(t, s.events, 2)
	assert.Equal(t, map[string]int{"not_showing": 1, "duplicate": 1, CodeBadArgs: 1}, d.Refusals())
}

func TestDisplayRefusedMedia(t *testing.T) {
	s := &fakeSession{now: 10 * time.Second, step: 1, scene: 3}
	d := NewDisplay(testPlan(), s)
	// The page fetches ahead: a refusal for the next step's panorama is
	// an alert now, once.
	for range 2 {
		_, err := d.Handle([]byte(`{"type":"display","cmd":"frame","cue":"p.c1","step":1,"refused":"sha256"}`))
		require.NoError(t, err)
	}
	require.Len(t, s.events, 1)
	a, ok := s.events[0].Data.(event.Alert)
	require.True(t, ok)
	assert.Equal(t, "headset:p.c1", a.Incident)
	assert.Equal(t, event.LevelWarning, a.Level)
	assert.Contains(t, a.Message, "differs from the one in the manifest")
	assert.Equal(t, "m/pub.jpg", a.Detail)
	_, err := d.Handle([]byte(`{"type":"display","cmd":"frame","cue":"nope","step":1,"refused":"sha256"}`))
	assert.Error(t, err)
}

func TestDisplayPingLookStopAnswer(t *testing.T) {
	s := &fakeSession{now: 5 * time.Second, step: 2, scene: 1}
	d := NewDisplay(testPlan(), s)

	reply, err := d.Handle([]byte(`{"type":"display","cmd":"ping","id":"p1","t_client":1.5}`))
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"pong","v":1,"id":"p1","t_client":1.5,"t_session":5}`, string(reply))

	_, err = d.Handle([]byte(`{"type":"display","cmd":"look","cue":"p.c1","yaw_deg":120.04,"pitch_deg":-3}`))
	require.NoError(t, err)
	assert.Equal(t, event.Event{T: 5 * time.Second, Step: 2, Data: event.Look{Cue: "p.c1", YawDeg: 120, PitchDeg: -3}}, s.events[0])

	_, err = d.Handle([]byte(`{"type":"display","cmd":"answer","scale":"craving","value":40}`))
	assert.ErrorContains(t, err, "no craving prompt")
	s.prompt = "suds"
	_, err = d.Handle([]byte(`{"type":"display","cmd":"answer","scale":"suds","value":40}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"suds 40 headset"}, s.answers)

	_, err = d.Handle([]byte(`{"type":"display","cmd":"patient_stop","id":"s1"}`))
	require.NoError(t, err)
	assert.Equal(t, []string{"headset"}, s.stops)
	s.ended = true
	_, err = d.Handle([]byte(`{"type":"display","cmd":"patient_stop"}`))
	assert.Error(t, err)

	// A therapist's command from the display: refused, counted.
	_, err = d.Handle([]byte(`{"type":"command","v":1,"id":"1","cmd":"end"}`))
	require.Error(t, err)
	assert.Equal(t, 1, d.Refusals()[CodeUnknownType])
}

// TestDisplayFloods: looks and pings beyond their rates are refused and
// counted; the session sees at most the rate.
func TestDisplayFloods(t *testing.T) {
	s := &fakeSession{now: 5 * time.Second, step: 2, scene: 1}
	d := NewDisplay(testPlan(), s)
	var looks, pongs int
	for i := range 200 { // 2 s of 100 looks and 100 pings a second
		s.now = 5*time.Second + time.Duration(i)*10*time.Millisecond
		if _, err := d.Handle([]byte(`{"type":"display","cmd":"look","cue":"p.c1","yaw_deg":1,"pitch_deg":0}`)); err == nil {
			looks++
		}
		if r, err := d.Handle([]byte(`{"type":"display","cmd":"ping","id":"x","t_client":1}`)); err == nil && r != nil {
			pongs++
		}
	}
	assert.LessOrEqual(t, looks, lookBurst+2*lookRate+1)
	assert.GreaterOrEqual(t, looks, 2*lookRate)
	assert.LessOrEqual(t, pongs, pingBurst+2*pingRate+1)
	assert.Len(t, s.events, looks)
	assert.Equal(t, 400-looks-pongs, d.Refusals()["rate"])
}

func TestLostBack(t *testing.T) {
	l, b := Lost("read: EOF"), Back()
	assert.Equal(t, l.Incident, b.Incident)
	assert.True(t, b.Resolved)
	assert.False(t, l.Resolved)
	assert.Equal(t, "headset", l.Source)
}

// FuzzDisplay: whatever a display sends, Handle never panics, refusals are
// *Errors, and the session only ever sees valid looks and onsets.
func FuzzDisplay(f *testing.F) {
	for _, s := range []string{
		frameMsg("bar.c1", 60.98), `{"type":"display","cmd":"frame","cue":"p.c1","step":1,"refused":"sha256"}`,
		`{"type":"display","cmd":"ping","id":"p1","t_client":1.5}`, `{"type":"display","cmd":"look","cue":"p.c1","yaw_deg":120,"pitch_deg":-3}`,
		`{"type":"display","cmd":"answer","scale":"suds","value":40}`, `{"type":"display","cmd":"patient_stop"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &fakeSession{now: 61 * time.Second, step: 1, scene: 1, prompt: "suds"}
		d := NewDisplay(testPlan(), s)
		if _, err := d.Handle(b); err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("refusal is not an *Error with a code: %v", err)
			}
		}
		for _, e := range s.events {
			switch d := e.Data.(type) {
			case event.Look:
				if d.YawDeg < -180 || d.YawDeg > 180 || d.PitchDeg < -90 || d.PitchDeg > 90 {
					t.Fatalf("bad look %+v", d)
				}
			case event.CueOnset:
				if d.Cue != "bar.c1" || e.T < 56*time.Second || e.T > 62*time.Second {
					t.Fatalf("bad onset %+v at %v", d, e.T)
				}
			case event.Alert:
			default:
				t.Fatalf("published %T", d)
			}
		}
	})
}

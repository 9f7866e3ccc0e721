package engine

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

const sec = time.Second

func at(t time.Duration, step int, d event.Data) event.Event { return event.New(t, step, d) }

func fold(s Snapshot, evs ...event.Event) Snapshot {
	for _, e := range evs {
		s = Apply(s, e)
	}
	return s
}

// Three steps: a 10 s baseline, a 20 s exposure step, a recovery.
var (
	baselineStart = event.StepStart{ID: "baseline", Name: "Baseline", Duration: 10, Neutral: true}
	bottleStart   = event.StepStart{ID: "bottle", Name: "Bottle", Intensity: 3, Duration: 20}
	// The session ran the baseline and then the bottle from 10 s on.
	toBottle = []event.Event{
		at(0, -1, event.SessionStart{Steps: 3, Title: "T"}),
		at(0, 0, baselineStart),
		at(10*sec, 0, event.StepEnd{ID: "baseline", Reason: "duration"}),
		at(10*sec, 1, bottleStart),
	}
)

func after(evs ...event.Event) Snapshot {
	all := append(append([]event.Event(nil), toBottle...), evs...)
	return fold(NewSnapshot(3), all...)
}

func cmd(t time.Duration, c string) event.Event {
	return at(t, 1, event.Command{Cmd: c, By: "therapist"})
}

func TestApply(t *testing.T) {
	running := after()
	paused := after(cmd(14*sec, "pause"))
	calm := after(at(14*sec, 1, event.PatientStop{Cmd: "patient_stop", By: "patient"}))
	prompted := after(at(12*sec, 1, event.RatingPrompt{Scale: "craving", Question: "How strong?"}))
	ended := after(at(15*sec, 1, event.SessionEnd{Reason: "ended"}))
	stoppedWaiting := fold(NewSnapshot(3), at(sec, -1, event.PatientStop{Cmd: "patient_stop"}))

	type want struct {
		state     State
		step      int
		elapsed   time.Duration // at the event
		prompt    string        // the open prompt's scale
		atEnd     bool
		scene     uint64 // more than before
		presented uint64 // more than before
	}
	cases := []struct {
		name string
		from Snapshot
		e    event.Event
		want *want // nil: nothing changes
	}{
		{"session start counts the steps", NewSnapshot(0), at(0, -1, event.SessionStart{Steps: 3}),
			&want{state: Ready, step: -1}},
		{"session start without a count keeps the protocol's", NewSnapshot(3), at(0, -1, event.SessionStart{}), nil},
		{"step start", NewSnapshot(3), at(sec, 0, baselineStart), &want{state: Running, step: 0, scene: 1, presented: 1}},
		{"step start again: a new presentation", running, at(15*sec, 1, bottleStart),
			&want{state: Running, step: 1, scene: 1, presented: 1}},
		{"step start clears the prompt", prompted, at(13*sec, 2, event.StepStart{ID: "recovery", Duration: 10}),
			&want{state: Running, step: 2, scene: 1, presented: 1}},
		{"step start from the calm scene before the start", stoppedWaiting, at(2*sec, 0, baselineStart),
			&want{state: Running, step: 0, scene: 1, presented: 1}},
		{"step start of a step the session does not have", running, at(15*sec, 3, bottleStart), nil},
		{"step start of no step", running, at(15*sec, -1, bottleStart), nil},
		{"step start after the end", ended, at(16*sec, 2, bottleStart), nil},
		{"step end: what follows changes the scene", running, at(15*sec, 1, event.StepEnd{ID: "bottle", Reason: "next"}), nil},
		{"pause", running, cmd(14*sec, "pause"), &want{state: Paused, step: 1, elapsed: 4 * sec, scene: 1}},
		{"pause while paused", paused, cmd(15*sec, "pause"), nil},
		{"pause in the calm scene", calm, cmd(15*sec, "pause"), nil},
		{"resume after a pause: the step's clock stood still", paused, cmd(20*sec, "resume"),
			&want{state: Running, step: 1, elapsed: 4 * sec, scene: 1}},
		{"resume after the patient's stop", calm, cmd(20*sec, "resume"),
			&want{state: Running, step: 1, elapsed: 4 * sec, scene: 1}},
		{"resume on the waiting screen: waiting again", stoppedWaiting, at(2*sec, -1, event.Command{Cmd: "resume"}),
			&want{state: Ready, step: -1, scene: 1}},
		{"resume while running", running, cmd(14*sec, "resume"), nil},
		{"resume after the end", ended, cmd(16*sec, "resume"), nil},
		{"patient stop", prompted, at(14*sec, 1, event.PatientStop{Cmd: "patient_stop"}),
			&want{state: Calm, step: 1, elapsed: 4 * sec, scene: 1}},
		{"patient stop while paused", paused, at(16*sec, 1, event.PatientStop{Cmd: "patient_stop"}),
			&want{state: Calm, step: 1, elapsed: 4 * sec, scene: 1}},
		{"patient stop on the waiting screen", NewSnapshot(3), at(sec, -1, event.PatientStop{Cmd: "patient_stop"}),
			&want{state: Calm, step: -1, scene: 1}},
		{"patient stop after the end", ended, at(16*sec, 1, event.PatientStop{Cmd: "patient_stop"}), nil},
		{"panic", running, cmd(13*sec, "panic"), &want{state: Calm, step: 1, elapsed: 3 * sec, scene: 1}},
		{"panic after the end", ended, cmd(16*sec, "panic"), nil},
		{"next: the step end and start that follow change it", running, cmd(13*sec, "next"), nil},
		{"repeat", running, cmd(13*sec, "repeat"), nil},
		{"back", running, cmd(13*sec, "back"), nil},
		{"rate: its prompt changes it", running, at(13*sec, 1, event.Command{Cmd: "rate", Scale: "suds"}), nil},
		{"rating prompt", running, at(12*sec, 1, event.RatingPrompt{Scale: "suds", Question: "?"}),
			&want{state: Running, step: 1, elapsed: 2 * sec, prompt: "suds", scene: 1}},
		{"rating prompt when the step's time is up: the closing prompt", running,
			at(30*sec, 1, event.RatingPrompt{Scale: "craving", Question: "?"}),
			&want{state: Running, step: 1, elapsed: 20 * sec, prompt: "craving", atEnd: true, scene: 1}},
		{"rating prompt while paused", paused, at(15*sec, 1, event.RatingPrompt{Scale: "suds"}), nil},
		{"rating closes the prompt", prompted, at(13*sec, 1, event.Rating{Answered: true, Scale: "craving", Value: event.Int(4)}),
			&want{state: Running, step: 1, elapsed: 3 * sec, scene: 1}},
		{"unanswered rating closes it too", prompted, at(13*sec, 1, event.Rating{Scale: "craving"}),
			&want{state: Running, step: 1, elapsed: 3 * sec, scene: 1}},
		{"rating with no prompt open", running, at(13*sec, 1, event.Rating{Scale: "craving"}), nil},
		{"session end keeps the step, frozen", prompted, at(15*sec, 1, event.SessionEnd{Reason: "completed"}),
			&want{state: Ended, step: 1, elapsed: 5 * sec, scene: 1}},
		{"session end twice", ended, at(16*sec, 1, event.SessionEnd{Reason: "again"}), nil},
		{"marker", running, at(13*sec, 1, event.Marker{Text: "x"}), nil},
		{"cue onset", running, at(13*sec, 1, event.CueOnset{Cue: "c"}), nil},
		{"alert", running, at(13*sec, 1, event.Alert{Source: "session", Message: "m"}), nil},
		{"unknown kind", running, at(13*sec, 1, event.Unknown{Name: "future"}), nil},
	}
	changed := map[event.Kind]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Apply(c.from, c.e)
			if c.want == nil {
				assert.Equal(t, c.from, got, "nothing changes")
				return
			}
			changed[c.e.Kind()] = true
			w := c.want
			assert.Equal(t, w.state, got.State)
			assert.Equal(t, w.step, got.Step)
			assert.Equal(t, w.elapsed, got.Elapsed.Duration(), "elapsed")
			assert.Equal(t, c.e.T, got.Now.Duration(), "seen at the event")
			assert.Equal(t, c.from.Scene+w.scene, got.Scene, "scene")
			assert.Equal(t, c.from.Presentation+w.presented, got.Presentation, "presentation")
			if w.prompt == "" {
				assert.Nil(t, got.Prompt)
			} else if assert.NotNil(t, got.Prompt) {
				assert.Equal(t, Prompt{Scale: w.prompt, Question: got.Prompt.Question, Since: c.e.T, AtEnd: w.atEnd,
					Timeout: Duration(PromptTimeout), at: w.elapsed}, *got.Prompt)
			}
			if d, ok := c.e.Data.(event.StepStart); ok {
				assert.Equal(t, []any{d.ID, d.Name, d.Intensity}, []any{got.StepID, got.StepName, got.Intensity})
				assert.Equal(t, d.Duration.Duration(), got.Remaining.Duration(), "the whole step to go")
			}
		})
	}

	// Every kind is either one that changes the state (and a case above
	// shows how) or one that never does: a new kind must be placed here,
	// and in Apply if it changes what the patient sees.
	never := map[event.Kind]bool{
		event.KindStepEnd: true, event.KindCueOnset: true, event.KindCueOffset: true, event.KindMarker: true,
		event.KindAlert: true, event.KindGap: true, event.KindSCR: true, event.KindLook: true,
		event.KindBaseline: true, event.KindQuality: true, event.KindDevice: true, event.KindReplaySeek: true,
	}
	for _, k := range event.Kinds() {
		if never[k] {
			for _, s := range []Snapshot{NewSnapshot(3), running, paused, calm, prompted, ended} {
				assert.Equal(t, s, Apply(s, at(13*sec, 1, event.Zero(k))), "%s never changes the state", k)
			}
			continue
		}
		assert.True(t, changed[k], "kind %s: neither known to change the state (no case above) nor listed as never changing it", k)
	}
}

// The step's clock runs only while the step is running: pauses and the
// calm scene stop it, and a repeat starts it again from zero.
func TestApplySequence(t *testing.T) {
	s := after(
		cmd(14*sec, "pause"), cmd(16*sec, "resume"), // 2 s paused
		at(18*sec, 1, event.RatingPrompt{Scale: "craving", Question: "?"}),
		at(19*sec, 1, event.Rating{Answered: true, Scale: "craving", Value: event.Int(40)}),
		at(20*sec, 1, event.PatientStop{Cmd: "patient_stop"}), cmd(25*sec, "resume"), // 5 s calm
	)
	for _, c := range []struct{ at, elapsed time.Duration }{{25 * sec, 8 * sec}, {26 * sec, 9 * sec}, {40 * sec, 20 * sec}, {time.Hour, 20 * sec}} {
		v := s.At(c.at)
		assert.Equal(t, c.elapsed, v.Elapsed.Duration(), "at %v", c.at)
		assert.Equal(t, 20*sec-c.elapsed, v.Remaining.Duration(), "at %v", c.at)
		assert.Equal(t, c.at, v.Now.Duration())
	}
	assert.Equal(t, 23*sec, s.StepTime(40*sec), "not capped at the step's duration")
	// baseline, bottle, pause, resume, prompt, rating, stop, resume
	assert.Equal(t, []uint64{8, 2}, []uint64{s.Scene, s.Presentation})

	s = fold(s, cmd(30*sec, "repeat"), at(30*sec, 1, event.StepEnd{ID: "bottle", Reason: "repeat"}), at(30*sec, 1, bottleStart))
	assert.Equal(t, []uint64{9, 3}, []uint64{s.Scene, s.Presentation}, "a repeat is a new presentation")
	assert.Equal(t, 3*sec, s.At(33*sec).Elapsed.Duration(), "from zero again")

	s = fold(s, cmd(33*sec, "panic"))
	assert.Equal(t, 3*sec, s.At(50*sec).Elapsed.Duration(), "frozen in the calm scene")
	s = fold(s, at(60*sec, 1, event.SessionEnd{Reason: "ended"}))
	assert.Equal(t, Ended, s.State)
	assert.Equal(t, 3*sec, s.At(90*sec).Elapsed.Duration(), "frozen at the end")

	// An event stamped before the last change is taken as at it: the
	// step's clock never runs backwards.
	r := after(cmd(14*sec, "pause"), cmd(12*sec, "resume"))
	assert.Equal(t, 5*sec, r.At(15*sec).Elapsed.Duration())
}

func TestSnapshotJSONIsItsType(t *testing.T) {
	ready, err := json.Marshal(NewSnapshot(3).At(0))
	require.NoError(t, err)
	assert.Equal(t, `{"status":"ready","step_index":-1,"intensity":0,"steps":3,"step_elapsed":0,"step_remaining":0,"t":0}`, string(ready))

	s := after(at(12*sec, 1, event.RatingPrompt{Scale: "craving", Question: "How strong?"})).At(12500 * time.Millisecond)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	const want = `{"status":"running","step_index":1,"step_id":"bottle","step_name":"Bottle","intensity":3,"steps":3,` +
		`"step_elapsed":2.5,"step_remaining":17.5,"prompt":{"scale":"craving","question":"How strong?","at_end":false,"timeout":30},` +
		`"prompt_remaining":29.5,"t":12.5}`
	assert.Equal(t, want, string(b))

	// It reads back: what the wire carries is the type's own fields.
	var back Snapshot
	require.NoError(t, json.Unmarshal(b, &back))
	wire := s
	wire.Scene, wire.Presentation, wire.length, wire.since, wire.clock = 0, 0, 0, 0, 0
	p := *s.Prompt
	p.Since, p.at = 0, 0
	wire.Prompt = &p
	assert.Equal(t, wire, back)
}

func TestDurationsThroughSecondsComeBackExactly(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 7*time.Millisecond + 3, 1100 * time.Millisecond, 90 * time.Second,
		time.Hour + 1, 4*time.Hour + 123456789, 1<<50 + 7} {
		assert.Equal(t, d, fromSeconds(float64(event.Secs(d))), "%v", d)
	}
}

// A prompt's time left runs on the step's clock: a pause stops it, and it
// never goes below zero.
func TestPromptLeft(t *testing.T) {
	prompt := at(12*sec, 1, event.RatingPrompt{Scale: "craving", Question: "?"})
	for _, c := range []struct {
		name string
		s    Snapshot
		at   time.Duration
		left time.Duration
	}{
		{"no prompt", after(), 13 * sec, 0},
		{"just opened", after(prompt), 12 * sec, PromptTimeout},
		{"running", after(prompt), 20 * sec, PromptTimeout - 8*sec},
		{"paused at 14 s: frozen", after(prompt, cmd(14*sec, "pause")), 40 * sec, PromptTimeout - 2*sec},
		{"resumed at 40 s", after(prompt, cmd(14*sec, "pause"), cmd(40*sec, "resume")), 41 * sec, PromptTimeout - 3*sec},
		{"timed out: zero, not less", after(prompt), time.Hour, 0},
		{"answered", after(prompt, at(13*sec, 1, event.Rating{Answered: true, Scale: "craving", Value: event.Int(3)})), 14 * sec, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := c.s.At(c.at)
			assert.Equal(t, c.left, v.PromptLeft.Duration())
			if v.Prompt != nil {
				assert.Equal(t, PromptTimeout, v.Prompt.Timeout.Duration())
			}
		})
	}
}

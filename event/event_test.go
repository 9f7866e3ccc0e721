package event_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

// samples has one filled-in payload of every kind; TestEveryKindHasASample
// keeps it complete.
var samples = map[event.Kind]event.Data{
	event.KindSessionStart: event.SessionStart{Title: "Alcohol", Substance: "alcohol", Steps: 5, By: "127.0.0.1/c1"},
	event.KindSessionEnd:   event.SessionEnd{Reason: "completed"},
	event.KindStepStart:    event.StepStart{ID: "s1", Name: "Bottle", Intensity: 3, Duration: 20, Neutral: false},
	event.KindStepEnd:      event.StepEnd{ID: "s1", Reason: "duration"},
	event.KindCueOnset:     event.CueOnset{Cue: "s1.c1", Modality: "image", File: "bottle.png", Channel: "visual"},
	event.KindCueOffset:    event.CueOffset{Cue: "s1.c2", Modality: "sound", File: "pour.wav", Channel: "audio", Sink: "pulse"},
	event.KindPatientStop:  event.PatientStop{Cmd: "patient_stop", By: "patient"},
	event.KindRating:       event.Rating{Scale: "craving", Value: event.Int(42), Answered: true, By: "patient", PromptT: 12.5},
	event.KindRatingPrompt: event.RatingPrompt{Scale: "craving", Question: "How strong?", AtEnd: true},
	event.KindCommand:      event.Command{Cmd: "rate", Scale: "suds", By: "therapist"},
	event.KindAlert:        event.Alert{Source: "arousal", Limit: &event.Limit{Value: 2.5}, Value: event.Float(3.1), Message: "arousal 3.1", Level: event.LevelAlarm, Incident: "arousal", Resolved: true, Detail: "z against baseline"},
	event.KindGap:          event.Gap{Source: "sensor", Device: "bitalino", Start: 10, End: 12.5, Reason: "unplugged"},
	event.KindSCR:          event.SCR{Device: "bitalino", Source: "eda", Onset: 3, Peak: 5.5, Amplitude: 0.12, Rise: 2.5},
	event.KindMarker:       event.Marker{Text: "tense", By: "therapist"},
	event.KindDevice:       event.DeviceInfo{Device: "bitalino", Info: "firmware 5.2"},
	event.KindLook:         event.Look{Cue: "bar", YawDeg: -20.5, PitchDeg: 5},
	event.KindBaseline:     event.Baseline{From: 0, To: 60, Lo: -1, Hi: 1},
	event.KindQuality:      event.Quality{Device: "bitalino", Channel: "eda", Flags: []string{"flat"}},
	event.KindReplaySeek:   event.ReplaySeek{From: 10, To: 40},
}

func TestEveryKindHasASample(t *testing.T) {
	for _, k := range event.Kinds() {
		d, ok := samples[k]
		require.True(t, ok, "kind %s has no sample here: add one", k)
		assert.Equal(t, k, d.Kind())
		assert.NotEmpty(t, event.Describe(k), "kind %s needs a description (kinds.go)", k)
		assert.Equal(t, k, event.Zero(k).Kind())
	}
	assert.Len(t, samples, len(event.Kinds()))
}

// TestRoundTrip: every kind encodes and decodes to itself, with its time,
// wall time and step.
func TestRoundTrip(t *testing.T) {
	wall := time.Date(2026, 12, 6, 12, 0, 0, 123456789, time.UTC)
	for k, d := range samples {
		t.Run(string(k), func(t *testing.T) {
			e := event.Event{T: 1500 * time.Millisecond, Wall: wall, Step: 2, Data: d}
			b, err := json.Marshal(e)
			require.NoError(t, err)
			var got event.Event
			require.NoError(t, json.Unmarshal(b, &got), "%s", b)
			assert.Equal(t, e.T, got.T)
			assert.True(t, e.Wall.Equal(got.Wall))
			assert.Equal(t, e.Step, got.Step)
			assert.Equal(t, d, got.Data)
		})
	}
}

// TestSameBytesAsMaps: each payload encodes exactly as the map-based events
// of earlier versions did (keys sorted), so recordings, the feed and the
// exports keep their bytes.
func TestSameBytesAsMaps(t *testing.T) {
	for k, d := range samples {
		typed, err := event.MarshalData(d)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(typed, &m))
		asMap, err := json.Marshal(m)
		require.NoError(t, err)
		assert.Equal(t, string(asMap), string(typed), "kind %s: declare its fields in the order of their JSON names", k)
	}
}

// TestReadsEarlierRecordings: events as the map-based recorder wrote them.
func TestReadsEarlierRecordings(t *testing.T) {
	for _, c := range []struct {
		line string
		want event.Data
	}{
		{`{"t":1500000000,"wall":"2026-11-20T10:00:01Z","kind":"cue_onset","step":1,"data":{"channel":"visual","cue":"s1.c1","file":"bottle.png","modality":"image"}}`,
			event.CueOnset{Channel: "visual", Cue: "s1.c1", File: "bottle.png", Modality: "image"}},
		{`{"t":5,"wall":"0001-01-01T00:00:00Z","kind":"rating","step":1,"data":{"answered":false,"prompt_t":30.5,"scale":"craving"}}`,
			event.Rating{Scale: "craving", PromptT: 30.5}},
		{`{"t":5,"wall":"0001-01-01T00:00:00Z","kind":"alert","step":-1,"data":{"limit":"max_step","message":"m","source":"session"}}`,
			event.Alert{Source: "session", Limit: &event.Limit{Name: "max_step"}, Message: "m"}},
		{`{"t":5,"wall":"0001-01-01T00:00:00Z","kind":"session_start","step":-1}`, event.SessionStart{}},
		{`{"t":5,"wall":"0001-01-01T00:00:00Z","kind":"marker","step":-1,"data":{"by":"x","text":"t","extra":1}}`, event.Marker{By: "x", Text: "t"}},
	} {
		var e event.Event
		require.NoError(t, json.Unmarshal([]byte(c.line), &e), c.line)
		assert.Equal(t, c.want, e.Data, c.line)
	}
}

// TestUnknownKindsAreKept: a newer recording's kind is carried verbatim.
func TestUnknownKindsAreKept(t *testing.T) {
	line := `{"t":7,"wall":"0001-01-01T00:00:00Z","kind":"heart_beat_v9","step":3,"data":{"z":1,"a":[1,2]}}`
	var e event.Event
	require.NoError(t, json.Unmarshal([]byte(line), &e))
	assert.Equal(t, event.Kind("heart_beat_v9"), e.Kind())
	assert.False(t, event.Known(e.Kind()))
	b, err := json.Marshal(e)
	require.NoError(t, err)
	assert.JSONEq(t, line, string(b))
	assert.Equal(t, map[string]any{"z": 1.0, "a": []any{1.0, 2.0}}, event.Fields(e.Data))
}

// TestBadDataNamesTheKindAndField: a known kind whose data has the wrong
// type is an error that says which, never a panic.
func TestBadDataNamesTheKindAndField(t *testing.T) {
	var e event.Event
	err := json.Unmarshal([]byte(`{"t":1,"kind":"look","step":0,"data":{"cue":"bar","yaw_deg":"left"}}`), &e)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "event look")
	assert.Contains(t, err.Error(), "yaw_deg")
}

func TestLimitIsANameOrANumber(t *testing.T) {
	for _, c := range []struct {
		json string
		l    event.Limit
	}{{`"max_exposure"`, event.Limit{Name: "max_exposure"}}, {`2.5`, event.Limit{Value: 2.5}}} {
		var l event.Limit
		require.NoError(t, json.Unmarshal([]byte(c.json), &l))
		assert.Equal(t, c.l, l)
		b, err := json.Marshal(l)
		require.NoError(t, err)
		assert.Equal(t, c.json, string(b))
	}
	var l event.Limit
	assert.Error(t, json.Unmarshal([]byte(`{}`), &l))
}

func TestNaNDoesNotEncode(t *testing.T) {
	_, err := json.Marshal(event.Event{Data: event.Alert{Value: event.Float(math.NaN())}})
	require.Error(t, err, "the recorder and the feed handle this case (they keep the event with a note)")
	assert.Contains(t, err.Error(), "event alert")
}

func TestSecondsComeBackToTheNanosecond(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 999_999_999, 1_234_567_891, 3*time.Hour + 7} {
		assert.Equal(t, d, event.Secs(d).Duration())
	}
}

// FuzzDecode: no input panics the decoder, and what decodes re-encodes to
// something that decodes to the same event.
func FuzzDecode(f *testing.F) {
	for _, d := range samples {
		b, _ := json.Marshal(event.Event{T: 5, Step: 1, Data: d})
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"look","data":{"yaw_deg":"x"}}`))
	f.Add([]byte(`{"kind":"","data":null}`))
	f.Add([]byte(`{"kind":"alert","data":{"limit":[1]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e event.Event
		if json.Unmarshal(b, &e) != nil {
			return
		}
		again, err := json.Marshal(e)
		if err != nil {
			return // e.g. a wall time outside 0000-9999
		}
		var e2 event.Event
		require.NoError(t, json.Unmarshal(again, &e2), "%s", again)
		assert.Equal(t, e.Kind(), e2.Kind())
		assert.Equal(t, e.T, e2.T)
		assert.Equal(t, e.Step, e2.Step)
	})
}

// TestAlertLevels: an alert without a level, as every recording before
// levels holds, reads as a warning; the levels and incidents round-trip and
// stay out of the bytes when unset, so old recordings re-encode unchanged.
func TestAlertLevels(t *testing.T) {
	for _, c := range []struct {
		line     string
		severity event.Level
		want     event.Alert
	}{
		{`{"message":"m","source":"sensor"}`, event.LevelWarning, event.Alert{Source: "sensor", Message: "m"}},
		{`{"level":"info","message":"m","source":"session"}`, event.LevelInfo, event.Alert{Source: "session", Message: "m", Level: event.LevelInfo}},
		{`{"level":"warning","message":"m","source":"signal"}`, event.LevelWarning, event.Alert{Source: "signal", Message: "m", Level: event.LevelWarning}},
		{`{"incident":"arousal","level":"alarm","message":"m","source":"arousal"}`, event.LevelAlarm,
			event.Alert{Source: "arousal", Message: "m", Level: event.LevelAlarm, Incident: "arousal"}},
		{`{"detail":"read /dev/pts/3: input/output error","device":"bitalino","incident":"sensor:bitalino","level":"warning","message":"m","resolved":true,"source":"sensor"}`,
			event.LevelWarning, event.Alert{Source: "sensor", Device: "bitalino", Message: "m", Level: event.LevelWarning,
				Incident: "sensor:bitalino", Resolved: true, Detail: "read /dev/pts/3: input/output error"}},
	} {
		line := `{"t":5,"wall":"0001-01-01T00:00:00Z","kind":"alert","step":-1,"data":` + c.line + `}`
		var e event.Event
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		assert.Equal(t, c.want, e.Data, line)
		assert.Equal(t, c.severity, e.Data.(event.Alert).Severity(), line)
		b, err := event.MarshalData(e.Data)
		require.NoError(t, err)
		assert.Equal(t, c.line, string(b), "re-encoded byte for byte")
	}
}

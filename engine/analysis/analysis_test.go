package analysis

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/offline"
	"github.com/cueroom/cueroom/sensors/synth"
)

// recordAndOpen records a fixture and reads it back as the commands do.
func recordAndOpen(t *testing.T, f fixture) Recording {
	t.Helper()
	x, err := record.OpenIndex(f(t, t.TempDir()))
	require.NoError(t, err)
	t.Cleanup(func() { x.Close() })
	return FromIndex(x)
}

// TestHabituationAcrossSessions: a baseline and one cue step, recorded
// twice; the simulated skin responds less the second time (earlier
// stimuli carry over), and the craving rating is followed.
func TestHabituationAcrossSessions(t *testing.T) {
	root := t.TempDir()
	var all []*Result
	for _, c := range []struct {
		stimuli, craving int
	}{{0, 70}, {6, 30}} {
		s, err := record.Open(analysistest.RecordCueStep(t, root, 1, c.stimuli, c.craving))
		require.NoError(t, err)
		a, err := Session(FromSession(s), analyzeOptions)
		require.NoError(t, err)
		all = append(all, a)
	}
	s := all[0]
	assert.Equal(t, "bitalino", s.Device)
	require.Len(t, s.Steps.Events, 2, "baseline and bottle")
	bottle := s.Steps.Events[1]
	assert.Equal(t, "bottle", bottle.Label)
	require.NotNil(t, bottle.SC)
	assert.Greater(t, bottle.SC.Delta, 0.0, "skin conductance rises after the cue")
	assert.GreaterOrEqual(t, bottle.SCR.Count, 1, "an SCR 1–4 s after onset")
	require.Len(t, s.Cues.Events, 1)
	assert.Equal(t, "bottle.c1", s.Cues.Events[0].Label)
	assert.NotNil(t, s.Ratings)
	require.NotNil(t, s.LastRating("bottle", 1, "craving"))
	assert.Equal(t, 70.0, *s.LastRating("bottle", 1, "craving"))
	assert.Nil(t, s.LastRating("bottle", 2, "craving"), "no second presentation")
	assert.Nil(t, s.LastRating("baseline", 1, "craving"), "no rating in the baseline")

	across := Across(all)
	var x *report.Across
	for i := range across {
		if across[i].Step == "bottle" {
			x = &across[i]
		}
	}
	require.NotNil(t, x, "the step is followed across sessions")
	require.Len(t, x.SCRAmp, 2)
	assert.Less(t, x.SCRAmp[1], x.SCRAmp[0], "the response habituates from session to session")
	assert.Less(t, x.SCRSlope, 0.0)
	require.Len(t, x.Craving, 2)
	require.NotNil(t, x.Craving[0])
	assert.Equal(t, 70.0, *x.Craving[0])
	assert.Equal(t, 30.0, *x.Craving[1])

	assert.Nil(t, Across(all[:1]), "one session: nothing to compare")
	assert.Empty(t, Across([]*Result{all[0], nil}), "a session that measured nothing is skipped")
}

// TestTwoDevices: heart rate from an oximeter's pulse wave (60 Hz) and skin
// conductance from a GSR rig (10 Hz, started 0.35 s later), as in a clinic
// that owns one of each. Both are measured, on the session clock.
func TestTwoDevices(t *testing.T) {
	rec := recordAndOpen(t, analysistest.RecordTwoDevices)
	s, err := Session(rec, analyzeOptions)
	require.NoError(t, err)
	assert.Equal(t, "contec + grove", s.Device)
	require.Len(t, s.Steps.Events, 2)
	bottle := s.Steps.Events[1]
	require.NotNil(t, bottle.HR, "heart rate from the oximeter")
	assert.InDelta(t, 72, bottle.HR.Baseline, 8)
	require.NotNil(t, bottle.SC, "skin conductance from the rig")
	assert.Greater(t, bottle.SC.Delta, 0.0)
	assert.GreaterOrEqual(t, bottle.SCR.Count, 1, "the SCR 1–4 s after the cue, found on the rig's signal")

	rs, _, err := Report(rec, reportOptions)
	require.NoError(t, err)
	require.NotNil(t, rs.Measured.HR)
	require.NotNil(t, rs.Measured.SCL)
	assert.Equal(t, "PPG (contec pleth)", *rs.Measured.HR)
	assert.Equal(t, "EDA (grove gsr)", *rs.Measured.SCL)
}

// TestResampleOnto: the rig's samples are interpolated linearly at the
// other device's sample times, NaN outside its recording and across gaps.
func TestResampleOnto(t *testing.T) {
	g := &signals{in: offline.Input{Rate: 10, EDA: make([]float64, 8)}, t0: 1.0}
	h := &signals{in: offline.Input{Rate: 2, EDA: []float64{1, 2, math.NaN(), 4}}, t0: 1.25}
	got := resampleOnto(h, g)
	// g's times 1.0 … 1.7; h's samples at 1.25, 1.75, 2.25, 2.75.
	want := []float64{math.NaN(), math.NaN(), math.NaN(), 1.1, 1.3, 1.5, 1.7, 1.9}
	require.Len(t, got, len(want))
	for i := range want {
		if math.IsNaN(want[i]) {
			assert.True(t, math.IsNaN(got[i]), "sample %d: %v", i, got[i])
			continue
		}
		assert.InDelta(t, want[i], got[i], 1e-9, "sample %d", i)
	}
	h.t0 = 0 // now g's first time falls between 3 and NaN
	got = resampleOnto(h, g)
	assert.True(t, math.IsNaN(got[0]), "NaN in, NaN out")
}

// TestReportMatchesSession: the report's onset-locked numbers are the
// offline analysis of the session's own events — what Session gives — on
// the session clock.
func TestReportMatchesSession(t *testing.T) {
	root := t.TempDir()
	var analysed []*Result
	var sessions []report.Session
	var dirs []string
	for _, spec := range []analysistest.Spec{
		{Steps: analysistest.DemoSteps(), Derived: true},
		{Steps: analysistest.DemoSteps(), Stimuli: 6},
	} {
		s, err := record.Open(analysistest.Record(t, root, spec))
		require.NoError(t, err)
		dirs = append(dirs, s.Dir)
		rec := FromSession(s)
		a, err := Session(rec, analyzeOptions)
		require.NoError(t, err)
		got, ra, err := Report(rec, reportOptions)
		require.NoError(t, err)
		require.NotNil(t, ra)
		analysed = append(analysed, ra)
		sessions = append(sessions, got)

		t0 := s.Samples["bitalino"][0].T.Seconds()
		assert.Equal(t, "Report test", got.Title)
		assert.Equal(t, "completed", got.EndReason)
		assert.True(t, got.Complete)
		require.NotNil(t, got.Measured.HR)
		require.NotNil(t, got.Measured.SCL)
		assert.Equal(t, "ECG (bitalino ecg)", *got.Measured.HR)
		assert.Equal(t, "EDA (bitalino eda)", *got.Measured.SCL)

		require.Len(t, got.Steps, 5)
		require.Len(t, a.Steps.Events, 5)
		for k, want := range a.Steps.Events {
			p := got.Steps[k]
			assert.Equal(t, want.Label, p.ID)
			assert.Equal(t, want.Repeat, p.Repeat, p.ID)
			assert.InDelta(t, t0+want.T, p.Onset, 0.011, "onset on the session clock")
			assert.Equal(t, want.HR, p.HR, "step %d HR", k)
			assert.Equal(t, want.SC, p.SCL, "step %d SCL", k)
			require.NotNil(t, p.SCR)
			assert.Equal(t, want.SCR, *p.SCR, "step %d SCRs", k)
		}
		require.Len(t, got.Cues, len(a.Cues.Events))
		for k, want := range a.Cues.Events {
			assert.Equal(t, want.Label, got.Cues[k].ID)
			assert.Equal(t, want.SC, got.Cues[k].SCL)
			assert.Equal(t, want.SCR, *got.Cues[k].SCR)
		}
		// bottle is shown twice: habituation over repeats, for the step and its cue.
		require.Len(t, got.Repeats, 2)
		assert.Equal(t, "step", got.Repeats[0].Kind)
		assert.Equal(t, "bottle", got.Repeats[0].Label)
		assert.Equal(t, a.Steps.Repeats[0], got.Repeats[0].Habituation)
		assert.Equal(t, "cue", got.Repeats[1].Kind)
	}

	s := sessions[0]
	assert.Equal(t, []string{"baseline", "bottle", "glass", "bottle", "recovery"}, ids(s.Steps))
	assert.Equal(t, 2, s.Steps[3].Repeat, "the second bottle")
	// Ratings: answered, unanswered, and another scale in the same step.
	require.Len(t, s.Steps[1].Ratings, 1)
	assert.Equal(t, 40.0, *s.Steps[1].Ratings[0].Value)
	require.Len(t, s.Steps[2].Ratings, 2)
	assert.Nil(t, s.Steps[2].Ratings[0].Value, "unanswered")
	assert.Equal(t, "suds", s.Steps[2].Ratings[1].Scale)
	assert.Equal(t, 30.0, *s.Steps[2].Ratings[1].Value)
	// Exposure: the cue steps, no pauses.
	assert.InDelta(t, 65, s.Exposure, 1e-6)
	assert.InDelta(t, 100, s.Duration, 1e-6)
	// The baseline step and the level of each step against it.
	require.NotNil(t, s.Baseline)
	assert.InDelta(t, 20, s.Baseline.To, 1e-6)
	require.NotNil(t, s.Baseline.HR)
	assert.InDelta(t, 70, *s.Baseline.HR, 3, "the simulated resting heart rate")
	glass := s.Steps[2]
	require.NotNil(t, glass.HRLevel)
	assert.Greater(t, glass.HRLevel.Delta, 5.0, "heart rate is up in the arousing step")
	require.NotNil(t, glass.SCLLevel)
	assert.Greater(t, glass.SCLLevel.Delta, 0.1, "so is skin conductance")
	require.NotNil(t, glass.Within)
	require.NotNil(t, glass.Within.ArousalPeak)
	assert.InDelta(t, 0.9, *glass.Within.ArousalPeak, 1e-9, "the recorded live index")
	assert.True(t, s.Measured.Arousal)
	assert.False(t, sessions[1].Measured.Arousal, "the second session has no live physio stream")
	// The marker is in the log.
	require.NotEmpty(t, s.Log)
	assert.Equal(t, "marker", s.Log[0].Kind)
	assert.Contains(t, s.Log[0].Text, "urge <b>6/10</b>")
	// The manifest as recorded.
	require.Len(t, s.Manifest, 5)
	assert.Equal(t, "media/bottle.png", s.Manifest[1].File)
	assert.Equal(t, strings.Repeat("ab", 32), s.Manifest[1].SHA256)
	assert.Equal(t, "test.yaml", s.ProtocolFile)

	// Across sessions: the later session responds less.
	var bottle *report.Across
	for _, x := range Across(analysed) {
		if x.Step == "bottle" {
			bottle = &x
		}
	}
	require.NotNil(t, bottle)
	assert.Equal(t, dirs, bottle.Sessions)
	require.Len(t, bottle.SCRAmp, 2)
	assert.Less(t, bottle.SCRAmp[1], bottle.SCRAmp[0])
	assert.Equal(t, 40.0, *bottle.Craving[0])
}

func ids(ps []report.Presentation) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// TestReport checks the report of sessions whose answers are known.
func TestReport(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  analysistest.Spec
		check func(t *testing.T, s report.Session)
	}{{
		// Habituation within a step on a skin conductance of known shape:
		// 2 µS before the step, up to 3 µS 5 s in, down to 2.5 µS at its
		// end 20 s in.
		name: "within a step",
		spec: analysistest.Spec{EDA: withinShape, Channels: edaOnly, Steps: []analysistest.Step{
			{ID: "baseline", Neutral: true, Dur: 10}, {ID: "cue", Intensity: 5, Dur: 20}, {ID: "recovery", Neutral: true, Dur: 10}}},
		check: func(t *testing.T, s report.Session) {
			assert.Nil(t, s.Measured.HR, "no ECG or PPG: heart rate not measured")
			require.Len(t, s.Steps, 3)
			cue := s.Steps[1]
			assert.Nil(t, cue.HR)
			assert.Nil(t, cue.HRLevel)
			w := cue.Within
			require.NotNil(t, w)
			require.NotNil(t, w.SCLOnset)
			assert.InDelta(t, 2, *w.SCLOnset, 1e-9)
			// The highest 1-s mean, found by brute force on the shape itself.
			peak, peakAt := math.Inf(-1), 0.0
			for a := 10.0; a+1 <= 30; a += 0.001 {
				m := 0.0
				for k := 0; k < 100; k++ {
					m += withinShape(a+(float64(k)+0.5)/100) / 100
				}
				if m > peak {
					peak, peakAt = m, a+0.5-10
				}
			}
			require.NotNil(t, w.SCLPeak)
			assert.InDelta(t, peak, *w.SCLPeak, 0.005)
			assert.InDelta(t, peakAt, *w.SCLPeakAt, 0.05)
			end := 2.5 + (0.5/15)*1.5 // mean over the last 3 s
			assert.InDelta(t, end, *w.SCLEnd, 0.01)
			require.NotNil(t, w.SCLRecovered)
			assert.InDelta(t, (peak-end)/(peak-2), *w.SCLRecovered, 0.02)
			assert.Nil(t, w.ArousalPeak, "no live arousal recorded")
			// Level against the baseline step (2 µS): the step's mean.
			require.NotNil(t, cue.SCLLevel)
			assert.InDelta(t, 2, cue.SCLLevel.Baseline, 1e-9)
			want := (5*2.5 + 15*2.75) / 20 // mean of the rise and the fall
			assert.InDelta(t, want, cue.SCLLevel.During, 0.01)
		},
	}, {
		// A sensor lost for 10 s and reconnected. What follows the gap is
		// measured at its own time, not shifted by the missing samples.
		name: "gap",
		spec: analysistest.Spec{EDA: gapShape, Channels: edaOnly, Gap: [2]float64{15, 25}, Steps: []analysistest.Step{
			{ID: "baseline", Neutral: true, Dur: 10}, {ID: "a", Intensity: 3, Dur: 30}, {ID: "b", Intensity: 5, Dur: 20}}},
		check: func(t *testing.T, s report.Session) {
			assert.Equal(t, 1000, s.Measured.GapSamples, "10 s at 100 Hz")
			b := s.Steps[2]
			require.Equal(t, "b", b.ID)
			require.NotNil(t, b.SCL)
			// Zero-phase low-pass: a little of the rise shows before it.
			assert.InDelta(t, 3, b.SCL.Baseline, 0.05, "the 3 s before 40 s, not 10 s later")
			assert.InDelta(t, 4, b.SCL.Response, 0.05, "the 4 s after")
			require.NotEmpty(t, s.Log)
			assert.Equal(t, "gap", s.Log[0].Kind)
			assert.Contains(t, s.Log[0].Text, "no data from 0:15 to 0:25")
		},
	}, {
		// A patient stop (5 s of calm, then resumed) is not exposure.
		name: "patient stop",
		spec: analysistest.Spec{Steps: analysistest.DemoSteps(), Derived: true, StopAt: 50},
		check: func(t *testing.T, s report.Session) {
			assert.InDelta(t, 65, s.Exposure, 1e-6)
			assert.InDelta(t, 30, s.Steps[2].End-s.Steps[2].Onset, 1e-6)
			assert.InDelta(t, 25, s.Steps[2].Exposure, 1e-6)
			assert.Equal(t, []float64{50}, s.Series.Stops)
			var log []string
			for _, l := range s.Log {
				log = append(log, l.Kind+": "+l.Text)
			}
			assert.Contains(t, log, "patient stop: the patient stopped the exposure (patient)")
			assert.Contains(t, log, "command: resume — by remote/c1")
		},
	}, {
		// No skin conductance: "not measured" (null), never zeros.
		name: "ECG only",
		spec: analysistest.Spec{Steps: analysistest.DemoSteps(), Channels: []sensors.Channel{{Label: "ecg", Unit: "mV", Type: "ECG"}}},
		check: func(t *testing.T, s report.Session) {
			assert.NotNil(t, s.Measured.HR)
			assert.Nil(t, s.Measured.SCL)
			for _, p := range s.Steps {
				assert.Nil(t, p.SCL, p.ID)
				assert.Nil(t, p.SCR, p.ID)
				assert.Nil(t, p.SCLLevel, p.ID)
			}
			assert.NotNil(t, s.Steps[2].HR)
			assert.Empty(t, s.Series.SCL)
			assert.NotEmpty(t, s.Series.HR)
		},
	}, {
		// No sensor: the session, its steps and ratings are still reported.
		name: "no sensor",
		spec: analysistest.Spec{Steps: analysistest.DemoSteps(), NoSensor: true},
		check: func(t *testing.T, s report.Session) {
			assert.Contains(t, s.Measured.Note, "no ECG, PPG or skin-conductance channel was recorded")
			assert.Nil(t, s.Measured.HR)
			assert.Nil(t, s.Measured.SCL)
			require.Len(t, s.Steps, 5)
			assert.Equal(t, 40.0, *s.Steps[1].Ratings[0].Value)
			assert.Nil(t, s.Steps[1].HR)
			assert.Empty(t, s.Repeats)
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := recordAndOpen(t, spec(tc.spec))
			s, a, err := Report(rec, reportOptions)
			require.NoError(t, err)
			if s.Measured.HR == nil && s.Measured.SCL == nil {
				assert.Nil(t, a, "nothing measured: no analysis")
			}
			tc.check(t, s)
			// The report's JSON always encodes (no NaN slips through).
			_, err = json.Marshal(report.Report{Sessions: []report.Session{s}})
			require.NoError(t, err)
		})
	}
}

// TestSessionRefusesNothingMeasured: analyze has nothing to say about a
// session without a signal it reads, and says so.
func TestSessionRefusesNothingMeasured(t *testing.T) {
	rec := recordAndOpen(t, spec(analysistest.Spec{Steps: analysistest.DemoSteps()[:2], NoSensor: true}))
	_, err := Session(rec, analyzeOptions)
	assert.ErrorIs(t, err, ErrNoSignal)
}

// TestPresentations: step and cue spans from the events alone.
func TestPresentations(t *testing.T) {
	at := func(s float64, d event.Data) event.Event { return event.New(analysistest.Dur(s), 0, d) }
	for _, tc := range []struct {
		name        string
		events      []event.Event
		end         float64
		steps, cues [][2]float64
		reasons     []string
	}{{
		name: "ended steps, cue offsets per channel: the last one ends the cue",
		events: []event.Event{
			at(0, event.StepStart{ID: "a"}), at(0.1, event.CueOnset{Cue: "a.c1", Channel: "visual"}),
			at(0.1, event.CueOnset{Cue: "a.c1", Channel: "audio"}), at(4, event.CueOffset{Cue: "a.c1", Channel: "visual"}),
			at(4.5, event.CueOffset{Cue: "a.c1", Channel: "audio"}), at(5, event.StepEnd{ID: "a", Reason: "duration"}),
		},
		end: 9, steps: [][2]float64{{0, 5}}, cues: [][2]float64{{0.1, 4.5}}, reasons: []string{"duration"},
	}, {
		name: "a step never ended ends at the next; the last at the end; a cue without offset at its step's end",
		events: []event.Event{
			at(0, event.StepStart{ID: "a"}), at(1, event.CueOnset{Cue: "a.c1"}),
			at(3, event.StepStart{ID: "b"}), at(3, event.CueOnset{Cue: "b.c1"}),
		},
		end: 7, steps: [][2]float64{{0, 3}, {3, 7}}, cues: [][2]float64{{1, 3}, {3, 7}}, reasons: []string{"", ""},
	}, {
		name: "a cue shown again in the same step counts once; in a repeat of its step, again",
		events: []event.Event{
			at(0, event.StepStart{ID: "a"}), at(1, event.CueOnset{Cue: "x"}), at(2, event.CueOnset{Cue: "x"}),
			at(3, event.StepStart{ID: "a"}), at(4, event.CueOnset{Cue: "x"}),
		},
		end: 5, steps: [][2]float64{{0, 3}, {3, 5}}, cues: [][2]float64{{1, 3}, {4, 5}}, reasons: []string{"", ""},
	}, {
		name:   "a cue before any step ends at the session's end; unknown kinds are skipped",
		events: []event.Event{at(1, event.CueOnset{Cue: "x"}), at(2, event.Unknown{Name: "future"})},
		end:    6, cues: [][2]float64{{1, 6}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			steps, cues := presentations(tc.events, tc.end)
			spans := func(ps []shown) [][2]float64 {
				var out [][2]float64
				for _, p := range ps {
					out = append(out, [2]float64{p.on, p.off})
				}
				return out
			}
			assert.InDeltaSlice(t, flat(tc.steps), flat(spans(steps)), 1e-9)
			assert.InDeltaSlice(t, flat(tc.cues), flat(spans(cues)), 1e-9)
			var reasons []string
			for _, s := range steps {
				reasons = append(reasons, s.endReason)
			}
			assert.Equal(t, tc.reasons, reasons)
		})
	}
}

func flat(v [][2]float64) []float64 {
	out := []float64{}
	for _, x := range v {
		out = append(out, x[0], x[1])
	}
	return out
}

// TestPauses: a pause, a panic and a patient stop stop the exposure clock
// until resumed, the next step or the end.
func TestPauses(t *testing.T) {
	at := func(s float64, d event.Data) event.Event { return event.New(analysistest.Dur(s), 0, d) }
	evs := []event.Event{
		at(0, event.StepStart{ID: "a"}),
		at(2, event.Command{Cmd: "pause"}), at(3, event.Command{Cmd: "panic"}), at(4, event.Command{Cmd: "resume"}),
		at(5, event.PatientStop{Cmd: "patient_stop"}), at(7, event.StepStart{ID: "b"}),
		at(8, event.Command{Cmd: "next"}), at(9, event.Command{Cmd: "pause"}),
	}
	got := pauses(evs, 12)
	assert.Equal(t, [][2]float64{{2, 4}, {5, 7}, {9, 12}}, got)
	assert.InDelta(t, 2+1, overlap(got, 0, 6), 1e-9)
}

// TestLog: what the clinician sees of commands, markers, alerts and gaps.
func TestLog(t *testing.T) {
	at := func(s float64, d event.Data) event.Event { return event.New(analysistest.Dur(s), 0, d) }
	got := sessionLog([]event.Event{
		at(1, event.Command{Cmd: "rate", Scale: "craving", By: "remote/c1"}),
		at(2, event.Command{Cmd: "pause"}),
		at(3, event.Marker{Text: "note"}),
		at(4, event.Alert{Message: "sensor lost", Source: "sensor"}),
		at(5, event.Gap{Device: "grove", Start: 60, End: 75.2}),
		at(6, event.Gap{Device: "grove", Message: "grove reconnected"}), // no times recorded
		at(7, event.StepStart{ID: "a"}),
		at(8, event.PatientStop{Cmd: "patient_stop"}),
	})
	want := []report.LogEntry{
		{T: 1, Kind: "command", Text: "asked for a craving rating — by remote/c1"},
		{T: 2, Kind: "command", Text: "pause"},
		{T: 3, Kind: "marker", Text: "note"},
		{T: 4, Kind: "alert", Text: "sensor lost"},
		{T: 5, Kind: "gap", Text: "grove: no data from 1:00 to 1:15 (15.2 s)"},
		{T: 6, Kind: "gap", Text: "grove reconnected"},
		{T: 8, Kind: "patient stop", Text: "the patient stopped the exposure"},
	}
	assert.Equal(t, want, got)
}

// TestThin: long series are averaged down, gaps kept.
func TestThin(t *testing.T) {
	var pts []report.Point
	for i := 0; i < 10; i++ {
		v := float64(i)
		if i >= 4 && i < 6 {
			v = math.NaN()
		}
		pts = append(pts, report.Point{T: float64(i), V: v})
	}
	got := thin(pts, 5)
	require.Len(t, got, 5)
	assert.Equal(t, report.Point{T: 0.5, V: 0.5}, got[0])
	assert.True(t, math.IsNaN(got[2].V), "an all-gap bin stays a gap")
	assert.Equal(t, report.Point{T: 8.5, V: 8.5}, got[4])
	assert.Len(t, thin(pts, 20), 10, "short series untouched")
}

// FuzzReport feeds arbitrary recorded events (they come from a file) to
// the report: it must never panic, and its JSON and HTML must render.
func FuzzReport(f *testing.F) {
	f.Add([]byte(`[{"t":0,"kind":"step_start","data":{"id":"baseline","neutral":true}},{"t":1000000000,"kind":"cue_onset","data":{"cue":"x","channel":"visual"}},{"t":2000000000,"kind":"rating","data":{"scale":"craving","value":50}},{"t":3000000000,"kind":"step_end","data":{"id":"baseline","reason":"duration"}}]`))
	f.Add([]byte(`[{"t":-5,"kind":"step_end"},{"t":9e18,"kind":"step_start","data":{"id":"7","intensity":-3}},{"t":1,"kind":"command","data":{"cmd":"pause"}},{"t":0,"kind":"gap","data":{"device":"bitalino","gap_start":1,"gap_end":-1e300}}]`))
	f.Add([]byte(`[{"t":100,"kind":"cue_offset","data":{"cue":null}},{"t":50,"kind":"patient_stop"},{"t":40,"kind":"gap","data":{"device":"bitalino","gap_start":0.1,"gap_end":0.3}},{"t":1,"kind":"rating","data":{"value":9223372036854775807}}]`))
	f.Add([]byte(`[{"t":1,"kind":"step_start","data":{"record_error":"json: unsupported value: NaN"}},{"t":2,"kind":"from_the_future","data":{"x":1}}]`))
	const rate = 50
	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: rate, Channels: analysistest.EDAECG}
	g := synth.New(synth.Config{Seed: 3})
	var samples []sensors.Sample
	for i := 0; i < 8*rate; i++ {
		p := g.Next(time.Second / rate)
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Second / rate, N: 2}
		s.Values[0], s.Values[1] = float64(p.EDA), float64(p.ECG)
		samples = append(samples, s)
	}
	opt := Options{Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4, EndWindow: 3}
	f.Fuzz(func(t *testing.T, b []byte) {
		var events []event.Event
		if json.Unmarshal(b, &events) != nil {
			return
		}
		s := &record.Session{Folder: record.Folder{Dir: "fuzz", Meta: record.Meta{Title: "fuzz", Manifest: []any{map[string]any{"id": 3}}}},
			Events: events, Streams: []sensors.Stream{st}, Samples: map[string][]sensors.Sample{"bitalino": samples}}
		rs, _, err := Report(FromSession(s), opt)
		if err != nil {
			return
		}
		r := &report.Report{Sessions: []report.Session{rs}, Settings: opt.Settings()}
		_, err = json.Marshal(r)
		require.NoError(t, err)
		require.NoError(t, report.WriteHTML(io.Discard, r, report.Options{}))
	})
}

// TestCSV: columns named by the caller, or found by their header names;
// errors name the file and say what is wrong.
func TestCSV(t *testing.T) {
	var rec, named strings.Builder
	rec.WriteString("# made by the test\ntime\tsc\tecg\ttrigger\n")
	named.WriteString("time;Eda;Marker\n")
	const rate = 20
	for i := range 60 * rate {
		ts, sc, trig := analysistest.TriggeredSCR(i, rate)
		fmt.Fprintf(&rec, "%.2f\t%.4f\t0\t%d\n", ts, sc, trig)
		fmt.Fprintf(&named, "%.2f;%.4f;%d\n", ts, sc, trig)
	}
	opt := Options{SCRThreshold: 0.01, Baseline: 3, Response: 4}
	for _, tc := range []struct {
		name, body string
		cols       Columns
		want       string // an error's text; "" for none
		check      func(t *testing.T, r *CSVResult)
	}{
		{name: "columns named", body: rec.String(), cols: Columns{EDA: "sc", Events: "trigger"}, check: func(t *testing.T, r *CSVResult) {
			assert.Equal(t, "rec.tsv", r.File)
			assert.Equal(t, 1200, r.Samples)
			require.NotNil(t, r.EDA)
			assert.Equal(t, "sc", r.EDA.Column)
			assert.Len(t, r.EDA.SCRs, 1)
			assert.Nil(t, r.ECG)
			assert.Equal(t, "trigger", r.EventsColumn)
			require.Len(t, r.Events, 1)
			assert.InDelta(t, 20, r.Events[0].T, 1e-9)
			require.NotNil(t, r.Events[0].SC)
			assert.Greater(t, r.Events[0].SC.Delta, 0.0)
		}},
		{name: "found by the header", body: named.String(), check: func(t *testing.T, r *CSVResult) {
			require.NotNil(t, r.EDA)
			assert.Equal(t, "Eda", r.EDA.Column)
			assert.Len(t, r.EDA.SCRs, 1)
			assert.Empty(t, r.Events, "no events column asked for")
		}},
		{name: "none to find", body: "a,b\n1,2\n", want: "rec.tsv: no column is named ECG, PPG or EDA"},
		{name: "empty", body: "", want: "rec.tsv: the file is empty"},
		{name: "comments only", body: "# nothing\n", want: "rec.tsv: the file is empty"},
		{name: "no numbers", body: "ECG,EDA\n,1\n,2\n", cols: Columns{ECG: "ECG"}, want: `rec.tsv: column "ECG" (1) has no numbers at all`},
		{name: "not a number", body: "ECG\n0.1\nzero\n", cols: Columns{ECG: "1"}, want: "rec.tsv:3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := CSV(strings.NewReader(tc.body), "rec.tsv", rate, tc.cols, opt)
			if tc.want != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.want)
				return
			}
			require.NoError(t, err)
			tc.check(t, r)
		})
	}
	_, err := CSV(strings.NewReader("a,b\n1,2\n"), "x.csv", rate, Columns{}, opt)
	assert.ErrorIs(t, err, ErrNoColumns)

	// The header found, the whole file is still read.
	cols, rest, err := findColumns(strings.NewReader("ECG,eda, PPG ,x\n1,2,3,4\n"))
	require.NoError(t, err)
	assert.Equal(t, Columns{ECG: "ECG", PPG: "PPG", EDA: "eda"}, cols)
	all, err := io.ReadAll(rest)
	require.NoError(t, err)
	assert.Equal(t, "ECG,eda, PPG ,x\n1,2,3,4\n", string(all))
}

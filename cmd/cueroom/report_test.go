package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/offline"
	"github.com/cueroom/cueroom/sensors/synth"
)

// step is one step of a recorded test session.
type step struct {
	id        string
	neutral   bool
	intensity int
	dur       float64 // s
	arousal   float64 // the simulated body's arousal during the step (0–1)
	ratings   []any   // craving values; nil for a prompt left unanswered
	suds      []any
}

// sessionSpec describes a test session recorded through record.Create and
// the bus, as cueroom run records one.
type sessionSpec struct {
	rate     float64
	channels []sensors.Channel // default EDA + ECG
	steps    []step
	seed     uint64
	stimuli  int                     // earlier sessions' cues: habituation carries over
	eda      func(t float64) float64 // replaces the simulated skin conductance
	derived  bool                    // also record the live physio stream (arousal = the step's arousal)
	gap      [2]float64              // the sensor lost from gap[0] to gap[1] (reconnected, with a gap event)
	stopAt   float64                 // a patient stop, resumed 5 s later
	noSensor bool                    // no sensor at all
}

var edaECG = []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}

func demoSteps() []step {
	return []step{
		{id: "baseline", neutral: true, dur: 20},
		{id: "bottle", intensity: 2, dur: 20, arousal: 0.4, ratings: []any{40.0}},
		{id: "glass", intensity: 4, dur: 25, arousal: 0.9, ratings: []any{nil}, suds: []any{30.0}},
		{id: "bottle", intensity: 2, dur: 20, arousal: 0.3, ratings: []any{20.0}},
		{id: "recovery", neutral: true, dur: 15},
	}
}

func recordSession(t testing.TB, root string, spec sessionSpec) string {
	t.Helper()
	if spec.rate == 0 {
		spec.rate = 100
	}
	if spec.channels == nil {
		spec.channels = edaECG
	}
	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: spec.rate, Channels: spec.channels,
		Settings: map[string]string{"firmware": "test"}}
	phys := sensors.Stream{Device: "physio", Kind: "derived", Rate: 4, Channels: []sensors.Channel{
		{Label: "hr", Unit: "bpm", Type: "HR"}, {Label: "scl", Unit: "uS", Type: "EDA"}, {Label: "arousal", Unit: "z", Type: "MISC"}}}
	var streams []sensors.Stream
	if !spec.noSensor {
		streams = append(streams, st)
	}
	if spec.derived {
		streams = append(streams, phys)
	}
	var manifest []engine.ManifestCue
	for _, s := range spec.steps {
		manifest = append(manifest, engine.ManifestCue{ID: s.id + ".c1", Step: s.id, StepName: "Step " + s.id, Intensity: s.intensity,
			Neutral: s.neutral, Modality: "image", Substance: "alcohol", Duration: s.dur, File: "media/" + s.id + ".png",
			SHA256: strings.Repeat("ab", 32), Description: "a picture of " + s.id})
	}
	w, err := record.Create(root, record.Meta{Title: "Report test", Substance: "alcohol", Software: "cueroom test",
		Streams: streams, Manifest: manifest, Extra: map[string]any{"protocol_file": "test.yaml"}}, []byte("cueroom: 1\n"))
	require.NoError(t, err)
	b := bus.New()
	sub := b.Subscribe(1024, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	ev := func(at float64, kind string, data map[string]any) {
		b.Publish(bus.Msg{Event: &bus.Event{T: dur(at), Kind: kind, Step: 0, Data: data}})
	}
	g := synth.New(synth.Config{Seed: spec.seed + 1, Drift: -1, SpontaneousPerMin: -1, RSA: -1, HRJitter: -1})
	for i := 0; i < spec.stimuli; i++ {
		g.Stimulus()
	}
	for _, s := range streams {
		b.Publish(bus.Msg{Stream: &s})
	}
	ev(0, bus.SessionStart, map[string]any{"title": "Report test"})
	at := 0.0
	n := 0
	dt := 1 / spec.rate
	gapSent := false
	sample := func(upTo float64, arousal float64) {
		for ; float64(n)*dt < upTo; n++ {
			tt := float64(n) * dt
			if spec.gap[1] > 0 && tt >= spec.gap[1] && !gapSent {
				gapSent = true
				ev(spec.gap[1], bus.Gap, map[string]any{"device": "bitalino", "gap_start": spec.gap[0], "gap_end": spec.gap[1],
					"message": "reconnected", "source": "sensor"})
			}
			p := g.Next(dur(dt))
			if spec.noSensor || (tt >= spec.gap[0] && tt < spec.gap[1]) {
				if spec.derived && n%int(spec.rate/4) == 0 {
					s := sensors.Sample{Device: "physio", T: dur(tt), N: 3}
					s.Values = [8]float64{math.NaN(), math.NaN(), arousal}
					b.Publish(bus.Msg{Sample: &s})
				}
				continue
			}
			s := sensors.Sample{Device: "bitalino", T: dur(tt), Seq: uint32(n & 15), N: len(spec.channels)}
			for k, c := range spec.channels {
				switch c.Type {
				case "EDA":
					s.Values[k] = float64(p.EDA)
					if spec.eda != nil {
						s.Values[k] = spec.eda(tt)
					}
				case "ECG":
					s.Values[k] = float64(p.ECG)
				}
			}
			b.Publish(bus.Msg{Sample: &s})
			if spec.derived && n%int(spec.rate/4) == 0 {
				d := sensors.Sample{Device: "physio", T: dur(tt), N: 3}
				d.Values = [8]float64{70, s.Values[0], arousal}
				b.Publish(bus.Msg{Sample: &d})
			}
		}
	}
	for i, s := range spec.steps {
		ev(at, bus.StepStart, map[string]any{"id": s.id, "name": "Step " + s.id, "intensity": s.intensity, "neutral": s.neutral, "duration": s.dur})
		ev(at+0.02, bus.CueOnset, map[string]any{"cue": s.id + ".c1", "channel": "visual", "modality": "image"})
		g.SetArousal(s.arousal)
		if !s.neutral {
			g.Stimulus()
		}
		end := at + s.dur
		if spec.stopAt > at && spec.stopAt < end {
			sample(spec.stopAt, s.arousal)
			ev(spec.stopAt, bus.PatientStop, map[string]any{"cmd": "patient_stop", "by": "patient"})
			sample(spec.stopAt+5, s.arousal)
			ev(spec.stopAt+5, bus.Command, map[string]any{"cmd": "resume", "by": "remote/c1"})
			end += 5
		}
		sample(end-2, s.arousal)
		for _, r := range s.ratings {
			ev(end-1, bus.Rating, map[string]any{"scale": "craving", "value": r, "answered": r != nil})
		}
		for _, r := range s.suds {
			ev(end-1, bus.Rating, map[string]any{"scale": "suds", "value": r, "answered": r != nil})
		}
		if i == 1 {
			ev(end-1.5, bus.Marker, map[string]any{"text": "urge <b>6/10</b>", "by": "remote/c1"})
		}
		sample(end, s.arousal)
		ev(end-0.01, bus.CueOffset, map[string]any{"cue": s.id + ".c1", "channel": "visual", "modality": "image"})
		ev(end, bus.StepEnd, map[string]any{"id": s.id, "reason": "duration"})
		at = end
	}
	ev(at, bus.SessionEnd, map[string]any{"reason": "completed"})
	b.Close()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	return w.Dir()
}

func dur(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// reportJSON runs the command with --json and decodes what it prints.
func reportJSON(t *testing.T, args ...string) (report.Report, string) {
	t.Helper()
	var out, errb bytes.Buffer
	require.NoError(t, reportCmd(append(args, "--json"), &out, &errb), errb.String())
	var r report.Report
	require.NoError(t, json.Unmarshal(out.Bytes(), &r), out.String())
	return r, errb.String()
}

// TestReportJSONMatchesAnalyze: the report's numbers are the offline
// analysis of the session's own events — the same as 'cueroom analyze'
// gives — on the session clock, and --json alone writes no HTML.
func TestReportJSONMatchesAnalyze(t *testing.T) {
	root := t.TempDir()
	first := recordSession(t, root, sessionSpec{steps: demoSteps(), derived: true})
	later := recordSession(t, root, sessionSpec{steps: demoSteps(), stimuli: 6})
	t.Chdir(t.TempDir())

	r, _ := reportJSON(t, first, later)
	_, err := os.Stat("report.html")
	assert.ErrorIs(t, err, os.ErrNotExist, "--json alone writes no HTML")
	require.Len(t, r.Sessions, 2)
	assert.Equal(t, 3.0, r.Settings.Baseline)
	assert.Equal(t, 4.0, r.Settings.Response)
	assert.Equal(t, 1.0, r.Settings.SCRFrom)
	assert.Equal(t, 4.0, r.Settings.SCRTo)

	for i, dir := range []string{first, later} {
		s, err := record.Open(dir)
		require.NoError(t, err)
		a, err := analyzeSession(s, offline.Config{SCR: eda.Config{Threshold: 0.01}, Baseline: 3, Response: 4})
		require.NoError(t, err)
		t0 := s.Samples["bitalino"][0].T.Seconds()
		got := r.Sessions[i]
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

	s := r.Sessions[0]
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
	assert.False(t, r.Sessions[1].Measured.Arousal, "the second session has no live physio stream")
	// The marker is in the log.
	require.NotEmpty(t, s.Log)
	assert.Equal(t, "marker", s.Log[0].Kind)
	assert.Contains(t, s.Log[0].Text, "urge <b>6/10</b>")
	// The manifest as recorded.
	require.Len(t, s.Manifest, 5)
	assert.Equal(t, "media/bottle.png", s.Manifest[1].File)
	assert.Equal(t, strings.Repeat("ab", 32), s.Manifest[1].SHA256)

	// Across sessions: acrossSessions's numbers; the later session responds less.
	var bottle *report.Across
	for i := range r.Across {
		if r.Across[i].Step == "bottle" {
			bottle = &r.Across[i]
		}
	}
	require.NotNil(t, bottle)
	assert.Equal(t, []string{first, later}, bottle.Sessions)
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

// TestReportWithinStep checks habituation within a step on a skin
// conductance of known shape: 2 µS before the step, up to 3 µS 5 s in,
// down to 2.5 µS at its end 20 s in.
func TestReportWithinStep(t *testing.T) {
	shape := func(t float64) float64 {
		switch {
		case t < 10:
			return 2
		case t < 15:
			return 2 + (t-10)/5
		case t < 30:
			return 3 - 0.5*(t-15)/15
		default:
			return 2.5
		}
	}
	dir := recordSession(t, t.TempDir(), sessionSpec{eda: shape, channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}},
		steps: []step{{id: "baseline", neutral: true, dur: 10}, {id: "cue", intensity: 5, dur: 20}, {id: "recovery", neutral: true, dur: 10}}})
	r, _ := reportJSON(t, dir)
	s := r.Sessions[0]
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
			m += shape(a+(float64(k)+0.5)/100) / 100
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
}

// TestReportHTML renders real sessions and checks the page: every step in
// the table, one plot per figure, self-contained, hostile text escaped.
func TestReportHTML(t *testing.T) {
	root := t.TempDir()
	dir := recordSession(t, root, sessionSpec{steps: demoSteps(), derived: true, stopAt: 50})
	other := recordSession(t, root, sessionSpec{steps: demoSteps(), stimuli: 4})
	out := filepath.Join(t.TempDir(), "r.html")

	for _, tc := range []struct {
		name  string
		args  []string
		plots int // figures: overview, within, repeats per session, + across
		png   bool
	}{
		{"one session, svg", []string{dir, "--out", out}, 3, false},
		{"two sessions, png", []string{dir, other, "--out", out, "--plots", "png", "--force"}, 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.NoError(t, reportCmd(tc.args, &stdout, &stderr))
			assert.Contains(t, stdout.String(), "written to "+out)
			assert.Empty(t, stderr.String(), "no progress bar or warning in a test")
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			page := string(b)
			assert.True(t, strings.HasPrefix(page, "<!DOCTYPE html>"))
			assert.True(t, strings.HasSuffix(strings.TrimSpace(page), "</html>"))
			// Self-contained: no link, script or resource from anywhere.
			assert.NotRegexp(t, `(?i)https?://|<script|<link|@import|url\(`, page)
			for _, m := range regexp.MustCompile(`(?i)\ssrc="([^"]*)"`).FindAllStringSubmatch(page, -1) {
				assert.True(t, strings.HasPrefix(m[1], "data:image/png;base64,"), "src %q", m[1][:min(40, len(m[1]))])
			}
			if tc.png {
				imgs := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindAllStringSubmatch(page, -1)
				assert.Len(t, imgs, tc.plots)
				assert.NotContains(t, page, "<svg")
				for _, m := range imgs {
					raw, err := base64.StdEncoding.DecodeString(m[1])
					require.NoError(t, err)
					img, err := png.Decode(bytes.NewReader(raw))
					require.NoError(t, err)
					assert.Greater(t, img.Bounds().Dx(), 1000, "144 dpi")
				}
			} else {
				assert.Equal(t, tc.plots, strings.Count(page, "<svg "))
				assert.Equal(t, tc.plots, strings.Count(page, "</svg>"))
			}
			// Every step presentation is a row of the step table, numbered.
			steps := section(t, page, "Reactivity per step", "Reactivity per cue")
			for i, id := range []string{"baseline", "bottle", "glass", "bottle", "recovery"} {
				assert.Regexp(t, `<td class="num">`+itoa(i+1)+`</td><td>`+id+`<small>`, steps)
			}
			assert.Contains(t, steps, "no answer")
			assert.Contains(t, steps, ">40<", "the craving rating")
			// The manifest with its hashes, the log with the escaped marker.
			assert.Contains(t, page, strings.Repeat("ab", 32))
			assert.Contains(t, page, "urge &lt;b&gt;6/10&lt;/b&gt;")
			assert.NotContains(t, page, "<b>6/10</b>")
			assert.Contains(t, page, "the patient stopped the exposure")
			// Header facts.
			assert.Contains(t, page, "Report test")
			assert.Contains(t, page, "completed")
			assert.Contains(t, page, "bitalino (bitalino), 100 Hz")
			if len(tc.args) > 3 && tc.args[1] == other {
				assert.Contains(t, page, "Across sessions")
			}
		})
	}
	// The patient stop (5 s calm) is not exposure.
	r, _ := reportJSON(t, dir)
	assert.InDelta(t, 65, r.Sessions[0].Exposure, 1e-6)
	assert.InDelta(t, 30, r.Sessions[0].Steps[2].End-r.Sessions[0].Steps[2].Onset, 1e-6)
	assert.InDelta(t, 25, r.Sessions[0].Steps[2].Exposure, 1e-6)
	assert.Equal(t, []float64{50}, stopsOf(t, dir))
}

func stopsOf(t *testing.T, dir string) []float64 {
	s, err := record.Open(dir)
	require.NoError(t, err)
	rs, _, err := buildSession(s, offline.Config{Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4}, report.Settings{Baseline: 3, EndWindow: 3})
	require.NoError(t, err)
	return rs.Series.Stops
}

func itoa(i int) string { return string(rune('0' + i)) }

// section cuts the page between two headings.
func section(t *testing.T, page, from, to string) string {
	t.Helper()
	i := strings.Index(page, from)
	require.GreaterOrEqual(t, i, 0, from)
	j := strings.Index(page[i:], to)
	require.GreaterOrEqual(t, j, 0, to)
	return page[i : i+j]
}

// TestReportNotMeasured: with no skin conductance, or no sensor at all,
// the report says "not measured" where numbers would be, never zeros.
func TestReportNotMeasured(t *testing.T) {
	root := t.TempDir()
	ecgOnly := recordSession(t, root, sessionSpec{steps: demoSteps(), channels: []sensors.Channel{{Label: "ecg", Unit: "mV", Type: "ECG"}}})
	nothing := recordSession(t, root, sessionSpec{steps: demoSteps(), noSensor: true})
	out := t.TempDir()

	r, _ := reportJSON(t, ecgOnly)
	s := r.Sessions[0]
	assert.NotNil(t, s.Measured.HR)
	assert.Nil(t, s.Measured.SCL)
	for _, p := range s.Steps {
		assert.Nil(t, p.SCL, p.ID)
		assert.Nil(t, p.SCR, p.ID)
		assert.Nil(t, p.SCLLevel, p.ID)
	}
	assert.NotNil(t, s.Steps[2].HR)

	var stdout, stderr bytes.Buffer
	require.NoError(t, reportCmd([]string{ecgOnly, "--out", filepath.Join(out, "ecg.html")}, &stdout, &stderr))
	page := readFile(t, filepath.Join(out, "ecg.html"))
	steps := section(t, page, "Reactivity per step", "Reactivity per cue")
	assert.Contains(t, steps, `<td class="nm">not measured</td>`)
	assert.Contains(t, page, "skin conductance not measured", "in the plot too")
	assert.Contains(t, page, "skin conductance: not measured")

	// No sensor: the session, its steps and ratings are still reported.
	r, warn := reportJSON(t, nothing)
	assert.Contains(t, warn, "no ECG, PPG or skin-conductance channel was recorded")
	s = r.Sessions[0]
	assert.Nil(t, s.Measured.HR)
	assert.Nil(t, s.Measured.SCL)
	require.Len(t, s.Steps, 5)
	assert.Equal(t, 40.0, *s.Steps[1].Ratings[0].Value)
	assert.Nil(t, s.Steps[1].HR)
	require.NoError(t, reportCmd([]string{nothing, "--out", filepath.Join(out, "none.html")}, &stdout, &stderr))
	page = readFile(t, filepath.Join(out, "none.html"))
	assert.Contains(t, page, "heart rate not measured")
	assert.NotRegexp(t, `<td class="num">[+−]?0\.0+</td>`, section(t, page, "Reactivity per step", "Reactivity per cue"))
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// TestReportGap: a sensor lost for 10 s and reconnected. What follows the
// gap is measured at its own time, not shifted by the missing samples.
func TestReportGap(t *testing.T) {
	shape := func(t float64) float64 { // a step of 1 µS at 40 s
		if t < 40 {
			return 3
		}
		return 4
	}
	dir := recordSession(t, t.TempDir(), sessionSpec{eda: shape, channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}},
		gap: [2]float64{15, 25}, steps: []step{{id: "baseline", neutral: true, dur: 10}, {id: "a", intensity: 3, dur: 30}, {id: "b", intensity: 5, dur: 20}}})
	r, _ := reportJSON(t, dir)
	s := r.Sessions[0]
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
}

// TestReportBadInput: bad input is a usage error (exit 2) naming the
// folder or file and what to do; nothing is written and nothing panics.
func TestReportBadInput(t *testing.T) {
	good := recordSession(t, t.TempDir(), sessionSpec{steps: demoSteps()[:2]})
	dir := t.TempDir()
	file := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(file, []byte("hello"), 0o644))
	foreign := filepath.Join(dir, "holiday-photos")
	require.NoError(t, os.MkdirAll(foreign, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "beach.jpg"), []byte("jpeg"), 0o644))
	otherMeta := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(otherMeta, record.MetaFile), []byte(`{"format":"other-tool/3"}`), 0o644))
	otherData := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(otherData, record.DataFile), []byte("PK\x03\x04zip"), 0o644))
	brokenMeta := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(brokenMeta, record.MetaFile), []byte(`{"format": "cueroom-session/1", "streams": [`), 0o644))
	taken := filepath.Join(dir, "taken.html")
	require.NoError(t, os.WriteFile(taken, []byte("precious"), 0o644))
	folder := filepath.Join(dir, "x.html")
	require.NoError(t, os.Mkdir(folder, 0o755))
	out := func() string { return filepath.Join(t.TempDir(), "r.html") }

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"--out", out()}, "give at least one session folder"},
		{"missing session", []string{filepath.Join(dir, "nope"), "--out", out()}, "nope: no such session folder"},
		{"a file", []string{file, "--out", out()}, "notes.txt is a file"},
		{"foreign folder", []string{foreign, "--out", out()}, "holiday-photos is not a session folder"},
		{"foreign session.json", []string{otherMeta, "--out", out()}, "not a cueroom session"},
		{"foreign data.rec", []string{otherData, "--out", out()}, "data.rec byte 0: not a cueroom recording"},
		{"session.json cut short", []string{brokenMeta, "--out", out()}, "session.json byte"},
		{"good then foreign", []string{good, foreign, "--out", out()}, "holiday-photos is not a session folder"},
		{"out exists", []string{good, "--out", taken}, "taken.html already exists; choose another name, or --force"},
		{"out in the session", []string{good, "--out", filepath.Join(good, "r.html")}, "inside the session folder"},
		{"out folder missing", []string{good, "--out", filepath.Join(dir, "no", "r.html")}, "does not exist"},
		{"out not html", []string{good, "--out", filepath.Join(dir, "r.pdf")}, "ends in .html"},
		{"out is a folder", []string{good, "--out", folder}, "x.html is a folder"},
		{"bad plots", []string{good, "--plots", "gif", "--out", out()}, `--plots "gif": choose svg or png`},
		{"bad threshold", []string{good, "--scr-threshold", "-1", "--out", out()}, "must be positive"},
		{"unknown flag", []string{good, "--bogus"}, "-bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := reportCmd(tc.args, &stdout, &stderr)
			require.Error(t, err)
			var ue usageError
			require.True(t, errors.As(err, &ue), "a usage error (exit 2), got %T: %v", err, err)
			assert.Contains(t, err.Error(), tc.want)
			for i, a := range tc.args {
				if a == "--out" && tc.args[i+1] != taken && tc.args[i+1] != folder {
					_, statErr := os.Stat(tc.args[i+1])
					assert.ErrorIs(t, statErr, os.ErrNotExist, "nothing written")
				}
			}
		})
	}
	assert.Equal(t, "precious", readFile(t, taken), "never overwritten")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".tmp"), "no temporary file left: %s", e.Name())
	}

	// The default out is report.html here; a second run refuses it, --force replaces it.
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	require.NoError(t, reportCmd([]string{good}, &stdout, &stderr))
	first := readFile(t, "report.html")
	err = reportCmd([]string{good}, &stdout, &stderr)
	var ue usageError
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "report.html already exists")
	require.NoError(t, os.WriteFile("report.html", []byte("old"), 0o644))
	require.NoError(t, reportCmd([]string{good, "--force"}, &stdout, &stderr))
	assert.Equal(t, len(first), len(readFile(t, "report.html")), "replaced by a new report")
	// Run from inside the session folder, the default would land in it.
	t.Chdir(good)
	err = reportCmd([]string{"."}, &stdout, &stderr)
	require.ErrorAs(t, err, &ue)
	assert.Contains(t, err.Error(), "inside the session folder")
}

// TestReportDamagedRecording: a torn tail (a crash) and a corrupt region are
// reported with the reader's note, not refused.
func TestReportDamagedRecording(t *testing.T) {
	good := recordSession(t, t.TempDir(), sessionSpec{steps: demoSteps()})
	data, err := os.ReadFile(filepath.Join(good, record.DataFile))
	require.NoError(t, err)
	torn := copySession(t, good)
	require.NoError(t, os.WriteFile(filepath.Join(torn, record.DataFile), data[:len(data)-37], 0o644))
	corrupt := copySession(t, good)
	bad := bytes.Clone(data)
	for i := len(bad) / 2; i < len(bad)/2+200; i++ {
		bad[i] ^= 0x5a
	}
	require.NoError(t, os.WriteFile(filepath.Join(corrupt, record.DataFile), bad, 0o644))

	for _, tc := range []struct {
		name, dir, want string
	}{
		{"torn tail", torn, "torn tail"},
		{"corrupt region", corrupt, "skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "r.html")
			var stdout, stderr bytes.Buffer
			require.NoError(t, reportCmd([]string{tc.dir, "--out", out}, &stdout, &stderr))
			assert.Contains(t, stderr.String(), "warning: "+tc.dir)
			assert.Contains(t, stderr.String(), tc.want)
			page := readFile(t, out)
			assert.Contains(t, page, `<p class="warn">The recording was damaged and has been read around the damage: data.rec byte`)
			assert.Contains(t, page, tc.want)
			r, _ := reportJSON(t, tc.dir)
			assert.Contains(t, r.Sessions[0].Recovered, tc.want)
			assert.NotEmpty(t, r.Sessions[0].Steps)
		})
	}
}

// TestReportProgressBar: on a terminal a long report shows a progress bar
// on stderr; in a pipe (every other test) there is none.
func TestReportProgressBar(t *testing.T) {
	dir := recordSession(t, t.TempDir(), sessionSpec{steps: demoSteps()[:3]})
	old := progressBytes
	progressBytes = 0 // every report is long enough
	t.Cleanup(func() { progressBytes = old })
	master, tty, err := pty.Open()
	require.NoError(t, err)
	t.Cleanup(func() { master.Close(); tty.Close() })
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(master) // until tty closes
		got <- string(b)
	}()
	var stdout bytes.Buffer
	require.NoError(t, reportCmd([]string{dir, "--out", filepath.Join(t.TempDir(), "r.html")}, &stdout, tty))
	require.NoError(t, tty.Close())
	out := <-got
	assert.Contains(t, out, "reading "+filepath.Base(dir))
	assert.Contains(t, out, "plotting Report test")
	var pct []int
	for _, m := range regexp.MustCompile(`(\d+)% \|`).FindAllStringSubmatch(out, -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		pct = append(pct, n)
	}
	require.NotEmpty(t, pct)
	assert.IsNonDecreasing(t, pct, "the bar never goes back")
	assert.GreaterOrEqual(t, pct[len(pct)-1], 75, "and gets near the end before it is cleared")
	assert.Contains(t, stdout.String(), "written to", "the result still goes to stdout")

	var pipe bytes.Buffer
	require.NoError(t, reportCmd([]string{dir, "--out", filepath.Join(t.TempDir(), "r.html")}, &stdout, &pipe))
	assert.Empty(t, pipe.String(), "no bar in a pipe")
}

// TestManifestFieldsMatchEngine: report.Cue reads the manifest the engine
// writes, field for field.
func TestManifestFieldsMatchEngine(t *testing.T) {
	in := engine.ManifestCue{ID: "a.c1", Step: "a", StepName: "A", Intensity: 3, Neutral: true, Modality: "sound",
		Duration: 12, Personalised: true, Description: "d", File: "f.wav", SHA256: "00ff", Text: "t", Voice: "en"}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	var out report.Cue
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, report.Cue{ID: "a.c1", Step: "a", StepName: "A", Intensity: 3, Neutral: true, Modality: "sound",
		Duration: 12, Personalised: true, Description: "d", File: "f.wav", SHA256: "00ff", Text: "t", Voice: "en"}, out)
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

// FuzzBuildSession feeds arbitrary recorded events (they come from a file)
// to the report: it must never panic, and its JSON must encode.
func FuzzBuildSession(f *testing.F) {
	f.Add([]byte(`[{"t":0,"kind":"step_start","data":{"id":"baseline","neutral":true}},{"t":1000000000,"kind":"cue_onset","data":{"cue":"x","channel":"visual"}},{"t":2000000000,"kind":"rating","data":{"scale":"craving","value":50}},{"t":3000000000,"kind":"step_end","data":{"id":"baseline","reason":"duration"}}]`))
	f.Add([]byte(`[{"t":-5,"kind":"step_end"},{"t":9e18,"kind":"step_start","data":{"id":7,"intensity":"x"}},{"t":1,"kind":"command","data":{"cmd":"pause"}},{"t":0,"kind":"gap","data":{"device":"bitalino","gap_start":1,"gap_end":"a"}}]`))
	f.Add([]byte(`[{"t":100,"kind":"cue_offset","data":{"cue":null}},{"t":50,"kind":"patient_stop"},{"t":40,"kind":"gap","data":{"device":"bitalino","gap_start":0.1,"gap_end":0.3}},{"t":1,"kind":"rating","data":{"value":1e308}}]`))
	const rate = 50
	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: rate, Channels: edaECG}
	g := synth.New(synth.Config{Seed: 3})
	var samples []sensors.Sample
	for i := 0; i < 8*rate; i++ {
		p := g.Next(time.Second / rate)
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Second / rate, N: 2}
		s.Values[0], s.Values[1] = float64(p.EDA), float64(p.ECG)
		samples = append(samples, s)
	}
	cfg := offline.Config{Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4}
	set := report.Settings{Baseline: 3, Response: 4, SCRFrom: 1, SCRTo: 4, EndWindow: 3}
	f.Fuzz(func(t *testing.T, b []byte) {
		var events []bus.Event
		if json.Unmarshal(b, &events) != nil {
			return
		}
		s := &record.Session{Dir: "fuzz", Meta: record.Meta{Title: "fuzz", Manifest: []any{map[string]any{"id": 3}}},
			Events: events, Streams: []sensors.Stream{st}, Samples: map[string][]sensors.Sample{"bitalino": samples}}
		rs, _, err := buildSession(s, cfg, set)
		if err != nil {
			return
		}
		r := &report.Report{Sessions: []report.Session{rs}, Settings: set}
		_, err = json.Marshal(r)
		require.NoError(t, err)
		require.NoError(t, report.WriteHTML(io.Discard, r, report.Options{}))
	})
}

// BenchmarkReport: an hour-long session (EDA and ECG at 100 Hz, 40 steps)
// from reading the folder to the written HTML.
func BenchmarkReport(b *testing.B) {
	var steps []step
	steps = append(steps, step{id: "baseline", neutral: true, dur: 120})
	for i := 0; len(steps) < 40; i++ {
		id := []string{"bottle", "glass", "bar"}[i%3]
		steps = append(steps, step{id: id, intensity: 2 + 2*(i%3), dur: 85, arousal: 0.2 * float64(i%4), ratings: []any{float64(60 - i)}})
	}
	dir := recordSession(b, b.TempDir(), sessionSpec{steps: steps, derived: true})
	out := filepath.Join(b.TempDir(), "r.html")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var stdout, stderr bytes.Buffer
		if err := reportCmd([]string{dir, "--out", out, "--force"}, &stdout, &stderr); err != nil {
			b.Fatal(err)
		}
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/synth"
)

// fakeSession records 60 s of simulated EDA and ECG at 100 Hz with a
// baseline and one cue step starting at 20 s (the simulated skin responds
// to it, less in a later session), and a craving rating.
func fakeSession(t *testing.T, root string, seed uint64, stimuli int, craving float64) string {
	t.Helper()
	const rate = 100
	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: rate, Channels: []sensors.Channel{
		{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}}
	w, err := record.Create(root, record.Meta{Title: "Analysis test", Substance: "alcohol", Streams: []sensors.Stream{st}}, []byte("cueroom: 1\n"))
	require.NoError(t, err)
	b := bus.New()
	sub := b.Subscribe(1024, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	g := synth.New(synth.Config{Seed: seed, Drift: -1, SpontaneousPerMin: -1})
	// Earlier sessions' stimuli: habituation carries over.
	for i := 0; i < stimuli; i++ {
		g.Stimulus()
	}
	ev := func(at time.Duration, kind string, data map[string]any) {
		b.Publish(bus.Msg{Event: &bus.Event{T: at, Kind: kind, Step: 0, Data: data}})
	}
	b.Publish(bus.Msg{Stream: &st})
	ev(0, bus.StepStart, map[string]any{"id": "baseline"})
	for i := 0; i < 60*rate; i++ {
		at := time.Duration(i) * time.Second / rate
		if i == 20*rate {
			ev(at, bus.StepStart, map[string]any{"id": "bottle"})
			ev(at, bus.CueOnset, map[string]any{"cue": "bottle.c1", "channel": "visual"})
			g.Stimulus()
		}
		if i == 50*rate {
			ev(at, bus.Rating, map[string]any{"scale": "craving", "value": craving})
		}
		p := g.Next(time.Second / rate)
		s := sensors.Sample{Device: "bitalino", T: at, Seq: uint32(i), N: 2}
		s.Values[0], s.Values[1] = float64(p.EDA), float64(p.ECG)
		b.Publish(bus.Msg{Sample: &s})
	}
	b.Close()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())
	return w.Dir()
}

func TestAnalyzeRecordedSessions(t *testing.T) {
	root := t.TempDir()
	first := fakeSession(t, root, 1, 0, 70)
	later := fakeSession(t, root, 1, 6, 30)

	var out bytes.Buffer
	require.NoError(t, analyze([]string{first, later, "--json"}, &out))
	var got struct {
		Sessions []SessionAnalysis `json:"sessions"`
		Across   []AcrossSessions  `json:"across_sessions"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
	require.Len(t, got.Sessions, 2)
	s := got.Sessions[0]
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

	var step *AcrossSessions
	for i := range got.Across {
		if got.Across[i].Step == "bottle" {
			step = &got.Across[i]
		}
	}
	require.NotNil(t, step, "the step is followed across sessions")
	require.Len(t, step.SCRAmp, 2)
	assert.Less(t, step.SCRAmp[1], step.SCRAmp[0], "the response habituates from session to session")
	assert.Less(t, step.SCRSlope, 0.0)
	require.Len(t, step.Craving, 2)
	require.NotNil(t, step.Craving[0])
	assert.Equal(t, 70.0, *step.Craving[0])
	assert.Equal(t, 30.0, *step.Craving[1])

	// The text form names the step and the trend.
	out.Reset()
	require.NoError(t, analyze([]string{first, later}, &out))
	assert.Contains(t, out.String(), "step bottle over 2 sessions")
}

// TestAnalyzeTwoDevices: heart rate from an oximeter's pulse wave (60 Hz)
// and skin conductance from a GSR rig (10 Hz, started 0.35 s later), as in
// a clinic that owns one of each. Both are measured, on the session clock.
func TestAnalyzeTwoDevices(t *testing.T) {
	const ox, gsr = 60, 10
	oxSt := sensors.Stream{Device: "contec", Kind: "contec", Rate: ox, Channels: []sensors.Channel{{Label: "pleth", Unit: "", Type: "PPG"}}}
	gsrSt := sensors.Stream{Device: "grove", Kind: "grove", Rate: gsr, Channels: []sensors.Channel{{Label: "gsr", Unit: "uS", Type: "EDA"}}}
	w, err := record.Create(t.TempDir(), record.Meta{Title: "Two devices", Streams: []sensors.Stream{oxSt, gsrSt}}, []byte("cueroom: 1\n"))
	require.NoError(t, err)
	b := bus.New()
	sub := b.Subscribe(1024, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	ev := func(at time.Duration, kind string, data map[string]any) {
		b.Publish(bus.Msg{Event: &bus.Event{T: at, Kind: kind, Step: 0, Data: data}})
	}
	b.Publish(bus.Msg{Stream: &oxSt})
	b.Publish(bus.Msg{Stream: &gsrSt})
	g := synth.New(synth.Config{Seed: 3, Drift: -1, SpontaneousPerMin: -1, HeartRate: 72})
	ev(0, bus.StepStart, map[string]any{"id": "baseline"})
	const offset = 350 * time.Millisecond
	k := 0
	for i := 0; i < 60*ox; i++ {
		at := time.Duration(i) * time.Second / ox
		if i == 20*ox {
			ev(at, bus.StepStart, map[string]any{"id": "bottle"})
			ev(at, bus.CueOnset, map[string]any{"cue": "bottle.c1", "channel": "visual"})
			g.Stimulus()
		}
		p := g.Next(time.Second / ox)
		s := sensors.Sample{Device: "contec", T: at, Seq: uint32(i), N: 1}
		s.Values[0] = float64(p.PPG)
		b.Publish(bus.Msg{Sample: &s})
		// The rig reads every sixth of the oximeter's samples, later.
		if i%(ox/gsr) == 0 {
			e := sensors.Sample{Device: "grove", T: at + offset, Seq: uint32(k), N: 1}
			e.Values[0] = float64(p.EDA)
			k++
			b.Publish(bus.Msg{Sample: &e})
		}
	}
	b.Close()
	require.NoError(t, <-done)
	require.NoError(t, w.Close())

	var out bytes.Buffer
	require.NoError(t, analyze([]string{w.Dir(), "--json"}, &out))
	var got struct {
		Sessions []SessionAnalysis `json:"sessions"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
	s := got.Sessions[0]
	assert.Equal(t, "contec + grove", s.Device)
	require.Len(t, s.Steps.Events, 2)
	bottle := s.Steps.Events[1]
	require.NotNil(t, bottle.HR, "heart rate from the oximeter")
	assert.InDelta(t, 72, bottle.HR.Baseline, 8)
	require.NotNil(t, bottle.SC, "skin conductance from the rig")
	assert.Greater(t, bottle.SC.Delta, 0.0)
	assert.GreaterOrEqual(t, bottle.SCR.Count, 1, "the SCR 1–4 s after the cue, found on the rig's signal")
}

// Package analysistest records fixture sessions for the tests of the
// analysis and of the commands that print it: simulated physiology (package
// synth, seeded, so a fixture is the same every time) and the events of a
// protocol, written through the bus and the recorder as `cueroom run` writes
// them.
package analysistest

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/synth"
)

// Step is one step of a fixture session.
type Step struct {
	ID        string
	Neutral   bool
	Intensity int
	Dur       float64 // s
	Arousal   float64 // the simulated body's arousal during the step (0–1)
	Craving   []*int  // ratings near the step's end; nil for a prompt left unanswered
	SUDS      []*int
	// Looks make the step's cue a 360° panorama the patient looks around
	// in: each is {seconds after the step's start, yaw°, pitch°}.
	Looks [][3]float64
}

// Spec describes a fixture session: one sensor ("bitalino") and, if asked,
// the live physio stream, through a protocol of steps with one picture cue
// each, a rating prompt near each step's end and a marker in the second.
type Spec struct {
	Rate     float64           // Hz; default 100
	Channels []sensors.Channel // default EDAECG
	Steps    []Step
	Seed     uint64
	Stimuli  int                        // earlier sessions' cues: habituation carries over
	EDA      func(t float64) float64    // replaces the simulated skin conductance
	ECG      func(t, v float64) float64 // changes the simulated ECG v at t (noise), called in time order
	Derived  bool                       // also record the live physio stream (arousal = the step's arousal)
	Gap      [2]float64                 // the sensor lost from Gap[0] to Gap[1] (reconnected, with a gap event)
	StopAt   float64                    // a patient stop, resumed 5 s later
	NoSensor bool                       // no sensor at all
	Start    time.Time                  // session.json's start; zero: now
}

// EDAECG are a BITalino's skin conductance and ECG channels.
var EDAECG = []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}

// DemoSteps are a baseline, three cue steps (one shown twice, one rated
// unanswered and on a second scale) and a recovery: 100 s.
func DemoSteps() []Step {
	return []Step{
		{ID: "baseline", Neutral: true, Dur: 20},
		{ID: "bottle", Intensity: 2, Dur: 20, Arousal: 0.4, Craving: []*int{event.Int(40)}},
		{ID: "glass", Intensity: 4, Dur: 25, Arousal: 0.9, Craving: []*int{nil}, SUDS: []*int{event.Int(30)}},
		{ID: "bottle", Intensity: 2, Dur: 20, Arousal: 0.3, Craving: []*int{event.Int(20)}},
		{ID: "recovery", Neutral: true, Dur: 15},
	}
}

// Dur is seconds as a duration, rounded to the nanosecond.
func Dur(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// recording is a session being written through the bus.
type recording struct {
	tb   testing.TB
	w    *record.Writer
	b    *bus.Bus
	done chan error
}

func create(tb testing.TB, root string, meta record.Meta) *recording {
	tb.Helper()
	w, err := record.Create(root, meta, []byte("cueroom: 1\n"))
	if err != nil {
		tb.Fatal(err)
	}
	r := &recording{tb: tb, w: w, b: bus.New(), done: make(chan error, 1)}
	sub := r.b.Subscribe(1024, true)
	go func() { r.done <- w.Run(sub) }()
	return r
}

func (r *recording) event(at time.Duration, d event.Data) {
	e := event.New(at, 0, d)
	r.b.Publish(bus.Msg{Event: &e})
}

func (r *recording) sample(s sensors.Sample) { r.b.Publish(bus.Msg{Sample: &s}) }
func (r *recording) stream(s sensors.Stream) { r.b.Publish(bus.Msg{Stream: &s}) }

// close ends the recording and returns its folder.
func (r *recording) close() string {
	r.tb.Helper()
	r.b.Close()
	if err := <-r.done; err != nil {
		r.tb.Fatal(err)
	}
	if err := r.w.Close(); err != nil {
		r.tb.Fatal(err)
	}
	return r.w.Dir()
}

// Record records the session spec describes into a new folder under root
// and returns the folder.
func Record(tb testing.TB, root string, spec Spec) string {
	tb.Helper()
	if spec.Rate == 0 {
		spec.Rate = 100
	}
	if spec.Channels == nil {
		spec.Channels = EDAECG
	}
	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: spec.Rate, Channels: spec.Channels,
		Settings: map[string]string{"firmware": "test"}}
	phys := sensors.Stream{Device: "physio", Kind: "derived", Rate: 4, Channels: []sensors.Channel{
		{Label: "hr", Unit: "bpm", Type: "HR"}, {Label: "scl", Unit: "uS", Type: "EDA"}, {Label: "arousal", Unit: "z", Type: "MISC"}}}
	var streams []sensors.Stream
	if !spec.NoSensor {
		streams = append(streams, st)
	}
	if spec.Derived {
		streams = append(streams, phys)
	}
	var manifest []engine.ManifestCue
	for _, s := range spec.Steps {
		manifest = append(manifest, engine.ManifestCue{ID: s.ID + ".c1", Step: s.ID, StepName: "Step " + s.ID, Intensity: s.Intensity,
			Neutral: s.Neutral, Modality: "image", Substance: "alcohol", Duration: s.Dur, File: "media/" + s.ID + ".png",
			SHA256: strings.Repeat("ab", 32), Description: "a picture of " + s.ID})
	}
	r := create(tb, root, record.Meta{Title: "Report test", Substance: "alcohol", Software: "cueroom test", Start: spec.Start,
		Streams: streams, Manifest: manifest, Extra: map[string]any{"protocol_file": "test.yaml"}})
	ev := func(at float64, d event.Data) { r.event(Dur(at), d) }
	g := synth.New(synth.Config{Seed: spec.Seed + 1, Drift: -1, SpontaneousPerMin: -1, RSA: -1, HRJitter: -1})
	for i := 0; i < spec.Stimuli; i++ {
		g.Stimulus()
	}
	for _, s := range streams {
		r.stream(s)
	}
	ev(0, event.SessionStart{Title: "Report test"})
	at := 0.0
	n := 0
	dt := 1 / spec.Rate
	gapSent := false
	sample := func(upTo float64, arousal float64) {
		for ; float64(n)*dt < upTo; n++ {
			tt := float64(n) * dt
			if spec.Gap[1] > 0 && tt >= spec.Gap[1] && !gapSent {
				gapSent = true
				ev(spec.Gap[1], event.Gap{Device: "bitalino", Start: event.Seconds(spec.Gap[0]), End: event.Seconds(spec.Gap[1]),
					Message: "reconnected", Source: "sensor"})
			}
			p := g.Next(Dur(dt))
			if spec.NoSensor || (tt >= spec.Gap[0] && tt < spec.Gap[1]) {
				if spec.Derived && n%int(spec.Rate/4) == 0 {
					s := sensors.Sample{Device: "physio", T: Dur(tt), N: 3}
					s.Values = [sensors.MaxChannels]float64{math.NaN(), math.NaN(), arousal}
					r.sample(s)
				}
				continue
			}
			s := sensors.Sample{Device: "bitalino", T: Dur(tt), Seq: uint32(n & 15), N: len(spec.Channels)}
			for k, c := range spec.Channels {
				switch c.Type {
				case "EDA":
					s.Values[k] = float64(p.EDA)
					if spec.EDA != nil {
						s.Values[k] = spec.EDA(tt)
					}
				case "ECG":
					s.Values[k] = float64(p.ECG)
					if spec.ECG != nil {
						s.Values[k] = spec.ECG(tt, s.Values[k])
					}
				}
			}
			r.sample(s)
			if spec.Derived && n%int(spec.Rate/4) == 0 {
				d := sensors.Sample{Device: "physio", T: Dur(tt), N: 3}
				d.Values = [sensors.MaxChannels]float64{70, s.Values[0], arousal}
				r.sample(d)
			}
		}
	}
	rating := func(at float64, scale string, v *int) {
		ev(at, event.Rating{Scale: scale, Value: v, Answered: v != nil})
	}
	for i, s := range spec.Steps {
		ev(at, event.StepStart{ID: s.ID, Name: "Step " + s.ID, Intensity: s.Intensity, Neutral: s.Neutral, Duration: event.Seconds(s.Dur)})
		cue := event.Cue{Cue: s.ID + ".c1", Channel: "visual", Modality: "image"}
		if len(s.Looks) > 0 {
			cue.Modality = "panorama"
		}
		ev(at+0.02, event.CueOnset(cue))
		for _, l := range s.Looks {
			ev(at+l[0], event.Look{Cue: cue.Cue, YawDeg: l[1], PitchDeg: l[2]})
		}
		g.SetArousal(s.Arousal)
		if !s.Neutral {
			g.Stimulus()
		}
		end := at + s.Dur
		if spec.StopAt > at && spec.StopAt < end {
			sample(spec.StopAt, s.Arousal)
			ev(spec.StopAt, event.PatientStop{Cmd: "patient_stop", By: "patient"})
			sample(spec.StopAt+5, s.Arousal)
			ev(spec.StopAt+5, event.Command{Cmd: "resume", By: "remote/c1"})
			end += 5
		}
		sample(end-2, s.Arousal)
		for _, v := range s.Craving {
			rating(end-1, "craving", v)
		}
		for _, v := range s.SUDS {
			rating(end-1, "suds", v)
		}
		if i == 1 {
			ev(end-1.5, event.Marker{Text: "urge <b>6/10</b>", By: "remote/c1"})
		}
		sample(end, s.Arousal)
		ev(end-0.01, event.CueOffset(cue))
		ev(end, event.StepEnd{ID: s.ID, Reason: "duration"})
		at = end
	}
	ev(at, event.SessionEnd{Reason: "completed"})
	return r.close()
}

// RecordCueStep records 60 s of simulated EDA and ECG at 100 Hz with a
// baseline and one cue step ("bottle") starting at 20 s, and a craving
// rating at 50 s. The simulated skin responds to the cue, less after
// stimuli earlier ones (a later session).
func RecordCueStep(tb testing.TB, root string, seed uint64, stimuli int, craving int) string {
	tb.Helper()
	const rate = 100
	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: rate, Channels: EDAECG}
	r := create(tb, root, record.Meta{Title: "Analysis test", Substance: "alcohol", Streams: []sensors.Stream{st}})
	g := synth.New(synth.Config{Seed: seed, Drift: -1, SpontaneousPerMin: -1})
	for i := 0; i < stimuli; i++ {
		g.Stimulus()
	}
	r.stream(st)
	r.event(0, event.StepStart{ID: "baseline"})
	for i := 0; i < 60*rate; i++ {
		at := time.Duration(i) * time.Second / rate
		if i == 20*rate {
			r.event(at, event.StepStart{ID: "bottle"})
			r.event(at, event.CueOnset{Cue: "bottle.c1", Channel: "visual"})
			g.Stimulus()
		}
		if i == 50*rate {
			r.event(at, event.Rating{Scale: "craving", Value: event.Int(craving)})
		}
		p := g.Next(time.Second / rate)
		s := sensors.Sample{Device: "bitalino", T: at, Seq: uint32(i), N: 2}
		s.Values[0], s.Values[1] = float64(p.EDA), float64(p.ECG)
		r.sample(s)
	}
	return r.close()
}

// RecordTwoDevices records heart rate from an oximeter's pulse wave (60 Hz)
// and skin conductance from a GSR rig (10 Hz, its samples 0.35 s later), as
// in a clinic that owns one of each: 60 s, a cue step at 20 s.
func RecordTwoDevices(tb testing.TB, root string) string {
	tb.Helper()
	const ox, gsr = 60, 10
	oxSt := sensors.Stream{Device: "contec", Kind: "contec", Rate: ox, Channels: []sensors.Channel{{Label: "pleth", Unit: "", Type: "PPG"}}}
	gsrSt := sensors.Stream{Device: "grove", Kind: "grove", Rate: gsr, Channels: []sensors.Channel{{Label: "gsr", Unit: "uS", Type: "EDA"}}}
	r := create(tb, root, record.Meta{Title: "Two devices", Streams: []sensors.Stream{oxSt, gsrSt}})
	r.stream(oxSt)
	r.stream(gsrSt)
	g := synth.New(synth.Config{Seed: 3, Drift: -1, SpontaneousPerMin: -1, HeartRate: 72})
	r.event(0, event.StepStart{ID: "baseline"})
	const offset = 350 * time.Millisecond
	k := 0
	for i := 0; i < 60*ox; i++ {
		at := time.Duration(i) * time.Second / ox
		if i == 20*ox {
			r.event(at, event.StepStart{ID: "bottle"})
			r.event(at, event.CueOnset{Cue: "bottle.c1", Channel: "visual"})
			g.Stimulus()
		}
		p := g.Next(time.Second / ox)
		s := sensors.Sample{Device: "contec", T: at, Seq: uint32(i), N: 1}
		s.Values[0] = float64(p.PPG)
		r.sample(s)
		// The rig reads every sixth of the oximeter's samples, later.
		if i%(ox/gsr) == 0 {
			e := sensors.Sample{Device: "grove", T: at + offset, Seq: uint32(k), N: 1}
			e.Values[0] = float64(p.EDA)
			k++
			r.sample(e)
		}
	}
	return r.close()
}

// TriggeredSCR is sample i at rate Hz of a minute-long synthetic recording
// for CSV tests: skin conductance at 4 µS with one SCR 2 s after a trigger
// (value 8) held from 20 s to 21 s.
func TriggeredSCR(i, rate int) (t, sc float64, trigger int) {
	t = float64(i) / float64(rate)
	sc = 4.0
	if u := t - 22; u > 0 { // an SCR 2 s after the trigger at 20 s
		sc += 0.5 * (1 - 1/(1+u*u)) / (1 + u/8)
	}
	if i >= 20*rate && i < 21*rate {
		trigger = 8
	}
	return t, sc, trigger
}

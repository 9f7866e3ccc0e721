package feed

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cueroom/cueroom/internal/browsertest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

var physioStream = sensors.Stream{Device: "physio", Kind: "derived", Rate: 4, Settings: map[string]string{"source": "bitalino"},
	Channels: []sensors.Channel{{Label: "hr", Unit: "bpm", Type: "HR"}, {Label: "scl", Unit: "uS", Type: "EDA"},
		{Label: "arousal", Unit: "z", Type: "arousal"}, {Label: "arousal_lo", Unit: "z"}, {Label: "arousal_hi", Unit: "z"},
		{Label: "rmssd", Unit: "ms", Type: "MISC"}}}

// playwright finds node and Chromium for a browser test, or skips it.
func playwright(t *testing.T) (node, chromium string) {
	t.Helper()
	return browsertest.Tools(t, "ui", "engine/feed/ui", "playwright-core")
}

func TestDashboardPlaywright(t *testing.T) {
	node, chromium := playwright(t)

	// A session the page drives: commands change the state as the engine
	// would, and a marker "test:noisy" / "test:clean" makes the ECG noisy /
	// clean again (quality and a signal alert, as sensors/physio says it).
	var mu sync.Mutex
	var got []string
	var seqNow atomic.Uint32
	seqNow.Store(64000)
	st := map[string]any{"status": "running", "step_index": 1, "step_id": "bar", "step_name": "Bar scene",
		"intensity": 3, "steps": 3, "step_elapsed": 4.0, "step_remaining": 116.0}
	state := func() any {
		mu.Lock()
		defer mu.Unlock()
		out := maps.Clone(st)
		out["t"] = float64(seqNow.Load()) / 1000
		return out
	}
	var s *Server
	var b *bus.Bus
	ev := func(sec float64, step int, data event.Data) {
		b.Publish(bus.Msg{Event: &event.Event{T: time.Duration(sec * float64(time.Second)), Step: step, Data: data}})
	}
	now := func() float64 { return float64(seqNow.Load()) / 1000 }
	var closing sync.WaitGroup
	t.Cleanup(closing.Wait)
	onCommand := func(c Command) Ack {
		mu.Lock()
		got = append(got, c.Cmd+" "+c.Text())
		mu.Unlock()
		set := func(kv ...any) {
			mu.Lock()
			for i := 0; i < len(kv); i += 2 {
				st[kv[i].(string)] = kv[i+1]
			}
			mu.Unlock()
		}
		switch c.Cmd {
		case CmdPause:
			set("status", "paused")
		case CmdResume:
			set("status", "running")
		case CmdNext:
			ev(now(), 2, event.StepStart{Duration: 120, ID: "pour", Intensity: 6, Name: "Pouring"})
			set("step_index", 2, "step_id", "pour", "step_name", "Pouring", "intensity", 6, "step_elapsed", 0.0, "step_remaining", 120.0)
		case CmdRate:
			ev(now(), 1, event.RatingPrompt{Scale: c.Scale(), Question: "How strong is your craving?"})
			set("prompt", map[string]any{"scale": c.Scale(), "question": "How strong is your craving?", "at_end": false, "marker": 40, "timeout": 30}, "prompt_remaining", 27.5)
		case CmdPanic:
			ev(now(), 2, event.Command{Cmd: CmdPanic, By: c.From})
			set("status", "calm", "prompt", nil, "prompt_remaining", nil)
		case CmdMarker:
			switch c.Text() {
			case "test:noisy":
				ev(now(), -1, event.Quality{Device: "bitalino", Channel: "ecg", Flags: []string{"unreliable heart rate"}})
				ev(now(), -1, event.Alert{Source: "signal", Device: "bitalino", Channel: "ecg", Quality: []string{"unreliable heart rate"},
					Raised: []string{"unreliable heart rate"}, Message: "ecg: unreliable heart rate — check the electrode contact; ask the client to sit still"})
			case "test:clean":
				ev(now(), -1, event.Quality{Device: "bitalino", Channel: "ecg", Flags: []string{}})
			case "test:stop": // the patient presses Esc
				ev(now(), 2, event.PatientStop{By: "patient", Cmd: "patient_stop"})
			default:
				ev(now(), -1, event.Marker{Text: c.Text(), By: c.From})
			}
		case CmdEnd:
			ev(now(), -1, event.SessionEnd{Reason: "therapist"})
			set("status", "ended", "prompt", nil, "prompt_remaining", nil)
			// As cueroom run does: the session is over, the feed closes.
			closing.Add(1)
			go func() { defer closing.Done(); s.Close() }()
		}
		return Ack{OK: true}
	}
	s, _ = startServer(t, Config{
		ObserverToken: obsToken,
		Hello: func() any {
			return map[string]any{"title": "Playwright session", "substance": "alcohol", "steps": []any{
				Step{ID: "base", Name: "Baseline", Intensity: 0, Duration: 60, Neutral: true},
				Step{ID: "bar", Name: "Bar scene", Intensity: 3, Duration: 120, Cues: []StepCue{
					{ID: "bar.c1", Kind: "image", File: "cues/beer.jpg", Description: "A cold beer on the bar"}}},
				Step{ID: "pour", Name: "Pouring", Intensity: 6, Duration: 120},
			}}
		},
		State:     state,
		OnCommand: onCommand,
	}, nil)
	b, _ = runBus(t, s)
	b.Publish(bus.Msg{Stream: &testStream})
	b.Publish(bus.Msg{Stream: &physioStream})
	ev(0.1, 0, event.StepStart{Duration: 60, ID: "base", Name: "Baseline", Neutral: true})
	ev(60, 0, event.StepEnd{ID: "base", Reason: "done"})
	ev(60, -1, event.Baseline{From: 0.1, To: 60, Lo: -1, Hi: 1})
	ev(60, 1, event.StepStart{Duration: 120, ID: "bar", Intensity: 3, Name: "Bar scene"})
	ev(60.2, 1, event.CueOnset{Channel: "visual", Cue: "bar.c1", File: "cues/beer.jpg", Modality: "image"})
	ev(62, -1, event.SCR{Amplitude: 0.12, Device: "physio", Onset: 62, Peak: 63.5, Rise: 1.5, Source: "bitalino"})
	ev(63, 1, event.Rating{Answered: true, By: "patient", PromptT: 62.5, Scale: "craving", Value: event.Int(6)})
	// Three alerts at once: an alarm, a warning and a setup notice.
	ev(64, 1, event.Alert{Source: "arousal", Incident: "arousal", Level: event.LevelAlarm, Message: "arousal above the ceiling", Limit: &event.Limit{Value: 2.5}})
	ev(64, -1, event.Alert{Source: "signal", Device: "bitalino", Channel: "eda", Quality: []string{"flat line"}, Raised: []string{"flat line"},
		Message: "eda: flat line — check the sensor is connected"})
	ev(64, -1, event.Alert{Source: "sound", Incident: "sound", Level: event.LevelInfo, Message: "No sound device: sound cues are silent"})

	// A live session from t = 64 s: every 20 ms, 20 BITalino samples; 4 Hz
	// physio; 2 views per second. At 67 s the link drops 2.5 s of samples
	// (the bridge reports the gap).
	var pic bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	img.Set(80, 45, color.White)
	require.NoError(t, jpeg.Encode(&pic, img, nil))
	ctx, cancel := context.WithCancel(context.Background())
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		seq := uint32(64000)
		gapped := false
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if !gapped && seq >= 67000 {
				gapped = true
				ev(67, -1, event.Gap{Device: "bitalino", Start: 67, End: 69.5, Source: "sensor", Reason: "test: link dropped"})
				seq += 2500
			}
			for range 20 {
				sec := float64(seq) / 1000
				sm := sensors.Sample{Device: "bitalino", T: time.Duration(seq) * time.Millisecond, Seq: seq, N: 2}
				sm.Values[0] = 5 + 0.5*math.Sin(sec/3)
				sm.Values[1] = math.Sin(sec * 2 * math.Pi * 1.2)
				b.Publish(bus.Msg{Sample: &sm})
				seq++
			}
			seqNow.Store(seq)
			if n%12 == 0 {
				sec := float64(seq) / 1000
				p := sensors.Sample{Device: "physio", T: time.Duration(seq) * time.Millisecond, Seq: uint32(n), N: 6}
				p.Values = [sensors.MaxChannels]float64{72 + 5*math.Sin(sec/5), 5 + 0.4*math.Sin(sec/3), 1.5 + 1.2*math.Sin(sec/4), -1, 1, 42 + 3*math.Sin(sec/7)}
				b.Publish(bus.Msg{Sample: &p})
			}
			if n%25 == 0 {
				s.SetView(time.Duration(seq)*time.Millisecond, pic.Bytes())
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-pubDone })

	cmd := exec.Command(node, "--test", "--test-reporter=spec", "--test-concurrency=1", filepath.Join("ui", "test", "dashboard.test.mjs"))
	cmd.Env = append(os.Environ(), "FEED_URL="+s.URL(), "FEED_OBSERVER_URL="+s.ObserverURL(), "CHROMIUM="+chromium,
		"FEED_SHOTS="+os.Getenv("FEED_SHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above)")

	// The commands the page sent reached the session, in order; the
	// observer's never did.
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"pause ", "resume ", "rate ", "marker test:noisy", "marker test:clean", "next ", "panic ", "marker test:stop", "end "}, got)
}

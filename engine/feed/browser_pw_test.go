package feed

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

var physioStream = sensors.Stream{Device: "physio", Kind: "derived", Rate: 4, Channels: []sensors.Channel{
	{Label: "hr", Unit: "bpm", Type: "HR"}, {Label: "scl", Unit: "uS", Type: "EDA"},
	{Label: "arousal", Unit: "z", Type: "arousal"}, {Label: "arousal_lo", Unit: "z"}, {Label: "arousal_hi", Unit: "z"}}}

// TestDashboardPlaywright serves a live synthetic session (BITalino at
// 1000 Hz, derived physiology at 4 Hz, events, state, patient view) and runs
// ui/test/dashboard.test.mjs, where playwright-core drives Chromium through
// it. Without ui/node_modules it is skipped, unless CI is set: then it fails.
// FEED_SHOTS=/some/dir keeps the screenshots.
func TestDashboardPlaywright(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := os.Stat("ui/node_modules/playwright-core"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ui/node_modules/playwright-core is missing (CI is set, so this is an error): run npm ci --prefix engine/feed/ui")
		}
		t.Skip("ui/node_modules missing: run npm ci --prefix engine/feed/ui to run the browser test")
	}
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is needed for the browser test")
	chromium := "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		chromium, err = exec.LookPath("chromium")
		require.NoError(t, err, "chromium is needed for the browser test (scripts/deps.sh installs it)")
	}

	applied := make(chan Command, 16)
	s, _ := startServer(t, Config{
		ObserverToken: obsToken,
		Hello: func() any {
			return map[string]any{"title": "Playwright session", "substance": "alcohol", "steps": []map[string]any{
				{"id": "base", "name": "Baseline", "intensity": 0, "duration": 60, "neutral": true},
				{"id": "bar", "name": "Bar scene", "intensity": 3, "duration": 120},
				{"id": "pour", "name": "Pouring", "intensity": 6, "duration": 120},
			}}
		},
		OnCommand: func(c Command) Ack { applied <- c; return Ack{OK: true} },
	}, nil)
	b, _ := runBus(t, s)
	b.Publish(bus.Msg{Stream: &testStream})
	b.Publish(bus.Msg{Stream: &physioStream})
	ev := func(sec float64, step int, data event.Data) {
		b.Publish(bus.Msg{Event: &event.Event{T: time.Duration(sec * float64(time.Second)), Step: step, Data: data}})
	}
	ev(0.1, 0, event.StepStart{Duration: 60, ID: "base", Name: "Baseline", Neutral: true})
	ev(60, 0, event.StepEnd{ID: "base", Reason: "done"})
	ev(60, 1, event.StepStart{Duration: 120, ID: "bar", Intensity: 3, Name: "Bar scene"})
	ev(60.2, 1, event.CueOnset{Channel: "visual", Cue: "beer.jpg", File: "cues/beer.jpg", Modality: "image"})
	ev(62, -1, event.SCR{Amplitude: 0.12, Device: "physio", Onset: 62, Peak: 63.5, Rise: 1.5, Source: "bitalino"})
	ev(63, 1, event.Rating{Answered: true, By: "patient", PromptT: 62.5, Scale: "craving", Value: event.Int(6)})
	ev(64, 1, event.Alert{Source: "arousal", Message: "arousal above the ceiling", Limit: &event.Limit{Value: 2.5}})
	s.SetState(map[string]any{"status": "running", "step_index": 1, "step_id": "bar", "step_name": "Bar scene",
		"intensity": 3, "steps": 3, "step_elapsed": 4, "step_remaining": 116, "t": 64})

	// A live session from t = 64 s: every 20 ms, 20 BITalino samples; 4 Hz
	// physio; 2 views per second.
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
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for range 20 {
				sec := float64(seq) / 1000
				sm := sensors.Sample{Device: "bitalino", T: time.Duration(seq) * time.Millisecond, Seq: seq, N: 2}
				sm.Values[0] = 5 + 0.5*math.Sin(sec/3)
				sm.Values[1] = math.Sin(sec * 2 * math.Pi * 1.2)
				b.Publish(bus.Msg{Sample: &sm})
				seq++
			}
			if n%12 == 0 {
				sec := float64(seq) / 1000
				p := sensors.Sample{Device: "physio", T: time.Duration(seq) * time.Millisecond, Seq: uint32(n), N: 5}
				p.Values = [sensors.MaxChannels]float64{72 + 5*math.Sin(sec/5), 5 + 0.4*math.Sin(sec/3), 1.5 * math.Sin(sec/4), -1, 1}
				b.Publish(bus.Msg{Sample: &p})
			}
			if n%25 == 0 {
				s.SetView(time.Duration(seq)*time.Millisecond, pic.Bytes())
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-pubDone })

	cmd := exec.Command(node, "--test", "--test-reporter=spec", filepath.Join("ui", "test", "dashboard.test.mjs"))
	cmd.Env = append(os.Environ(), "FEED_URL="+s.URL(), "FEED_OBSERVER_URL="+s.ObserverURL(), "CHROMIUM="+chromium,
		"FEED_SHOTS="+os.Getenv("FEED_SHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above)")

	// The commands the page sent reached the session, with who sent them.
	got := []string{(<-applied).Cmd, (<-applied).Cmd}
	assert.Equal(t, []string{CmdPause, CmdRate}, got)
	select {
	case c := <-applied:
		t.Fatalf("unexpected command %v (the observer's must be refused)", c)
	default:
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cueroom/cueroom/internal/browsertest"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
)

// headsetUI is the headset page's npm project (playwright-core for the
// browser test).
const headsetUI = "../../engine/xr/ui"

// headsetBrowser finds node and Chromium for the headset test, or skips it.
func headsetBrowser(t *testing.T) (node, chromium string) {
	t.Helper()
	return browsertest.Tools(t, headsetUI, "engine/xr/ui", "playwright-core")
}

var reHeadset = regexp.MustCompile(`headset:\s+(http://\S+/xr\?token=\S+)`)

// TestHeadsetRunPlaywright runs `cueroom run` (the demo, a simulated
// BITalino, the window under Xvfb) and drives its printed headset: page in
// headless Chromium (engine/xr/ui/test/run.test.mjs): the display token is
// refused every therapist command, the page's clock estimate matches the
// session's, a second headset is refused, and the recording gets the
// headset's onsets, its looks, its stop (which calms the session) and the
// lost/back alerts of a display that left and came back. XR_SHOTS=/dir
// keeps screenshots.
func TestHeadsetRunPlaywright(t *testing.T) {
	node, chromium := headsetBrowser(t)
	p := startRun(t, t.TempDir(), "../../assets/demo/protocol.yaml")
	var headset string
	for _, line := range p.head {
		if m := reHeadset.FindStringSubmatch(line); m != nil {
			headset = m[1]
		}
	}
	require.NotEmpty(t, headset, "no headset: line among %q", p.head)
	hu, err := url.Parse(headset)
	require.NoError(t, err)
	du, err := url.Parse(p.url)
	require.NoError(t, err)
	assert.Equal(t, du.Host, hu.Host, "the headset page is on the dashboard's server")
	assert.NotEqual(t, du.Query().Get("token"), hu.Query().Get("token"), "the headset has its own token")

	ctl := p.dial(t)
	readUntil(t, ctl, 30*time.Second, func(m feedMsg) bool { return m.Type == "state" && m.State["status"] == "running" })

	// The display token: a display connection, refused every therapist
	// command. It then leaves: the therapist is told (lost), and told
	// again when the page connects (back).
	ws := url.URL{Scheme: "ws", Host: hu.Host, Path: "/ws", RawQuery: hu.RawQuery}
	dsp, _, err := websocket.DefaultDialer.Dial(ws.String(), nil)
	require.NoError(t, err)
	require.NoError(t, dsp.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, raw, err := dsp.ReadMessage()
	require.NoError(t, err)
	var hello struct {
		Type, Role string
		Session    map[string]any
	}
	require.NoError(t, json.Unmarshal(raw, &hello))
	assert.Equal(t, "hello", hello.Type)
	assert.Equal(t, "display", hello.Role)
	assert.NotContains(t, string(raw), "lcohol", "the headset's hello names no substance or title")
	assert.Contains(t, hello.Session, "state")
	for i, cmd := range []string{"start", "pause", "resume", "next", "back", "repeat", "panic", "end", "rate", "marker"} {
		msg := map[string]any{"type": "command", "id": fmt.Sprint("x", i), "cmd": cmd}
		switch cmd {
		case "rate":
			msg["args"] = map[string]any{"scale": "craving"}
		case "marker":
			msg["args"] = map[string]any{"text": "from the headset"}
		}
		b, _ := json.Marshal(msg)
		require.NoError(t, dsp.WriteMessage(websocket.TextMessage, b))
		got := readUntil(t, dsp, 10*time.Second, func(m feedMsg) bool { return m.Type == "error" })
		e := got[len(got)-1]
		assert.Equal(t, fmt.Sprint("x", i), e.ID, cmd)
		assert.Contains(t, e.Error, "cannot send commands", cmd)
		for _, m := range got {
			assert.NotContains(t, []string{"samples", "stream", "view"}, m.Type, "a display gets no %s", m.Type)
		}
	}
	require.NoError(t, dsp.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)))
	dsp.Close()

	cmd := exec.Command(node, "--test", "--test-reporter=spec", "--test-concurrency=1", filepath.Join(headsetUI, "test", "run.test.mjs"))
	cmd.Env = append(os.Environ(), "XR_URL="+headset, "CHROMIUM="+chromium, "XR_SHOTS="+os.Getenv("XR_SHOTS"))
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	require.NoError(t, err, "the browser test failed (output above); cueroom said: %s", p.stderr)
	var res struct {
		Start float64 `json:"start"`
		Sync  struct {
			Offset, RTT float64
		} `json:"sync"`
	}
	m := regexp.MustCompile(`(?m)^RESULT (.*)$`).FindSubmatch(out)
	require.NotNil(t, m, "no RESULT line")
	require.NoError(t, json.Unmarshal(m[1], &res))

	// The headset's stop calmed the session: the therapist sees it.
	stop := readUntil(t, ctl, 10*time.Second, func(m feedMsg) bool { return m.Type == "event" && m.Kind == string(event.KindPatientStop) })
	assert.Equal(t, "headset", stop[len(stop)-1].Data["by"])
	readUntil(t, ctl, 10*time.Second, func(m feedMsg) bool { return m.Type == "state" && m.State["status"] == "calm" })
	b, _ := json.Marshal(map[string]any{"type": "command", "id": "e1", "cmd": "end"})
	require.NoError(t, ctl.WriteMessage(websocket.TextMessage, b))
	p.wait(t, 60*time.Second)

	s, err := record.Open(p.dir)
	require.NoError(t, err)
	var onsets, looks, lost, back int
	var stops []string
	for _, e := range s.Events {
		switch d := e.Data.(type) {
		case event.CueOnset:
			if d.Source == "headset" {
				onsets++
				assert.Equal(t, "visual", d.Channel)
			}
		case event.Look:
			looks++
		case event.PatientStop:
			stops = append(stops, d.By)
		case event.Alert:
			if d.Incident == "headset" {
				if d.Resolved {
					back++
				} else {
					lost++
				}
			}
		}
	}
	assert.Positive(t, onsets, "headset onsets recorded")
	assert.GreaterOrEqual(t, looks, 2, "look events recorded")
	assert.Equal(t, []string{"headset"}, stops)
	// Lost twice: the display-token connection above left, and the
	// browser closed at the end of the page's tests while the session
	// was calm (before the therapist ended it); back once, the page.
	assert.Equal(t, 2, lost, "the headset's connection was lost twice")
	assert.Equal(t, 1, back, "and came back once")
	// How far the headset's onsets lie from the window's, for the log
	// (both on this loaded machine's software renderers).
	window := map[string]time.Duration{}
	for _, e := range s.Events {
		if d, ok := e.Data.(event.CueOnset); ok && d.Channel == "visual" {
			if d.Source == "headset" {
				if w, ok := window[d.Cue]; ok {
					t.Logf("cue %s: headset onset %v after the window's", d.Cue, e.T-w)
				}
			} else if _, seen := window[d.Cue]; !seen {
				window[d.Cue] = e.T
			}
		}
	}

	// The page's clock estimate: the session's start it implies lies
	// within 2 ms of the recording's own (loopback).
	require.NotEmpty(t, s.Events)
	start := s.Events[0].Wall.Add(-s.Events[0].T)
	diff := (res.Start - float64(start.UnixNano())/1e9) * 1000
	t.Logf("page's session start vs the recording's: %+.3f ms (best round trip %.3f ms)", diff, res.Sync.RTT*1000)
	assert.LessOrEqual(t, math.Abs(diff), 2.0, "clock offset off by %.3f ms", diff)
}

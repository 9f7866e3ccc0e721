package feed

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/xr"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/sensors"
)

const dspToken = "d15p1a7d15p1a7d15p1a7d15p1a7d15p"

// headsetSession is an xr.Session that records what displays did to it.
type headsetSession struct {
	start time.Time

	mu     sync.Mutex
	step   int
	prompt string
	events []event.Event
	stops  []string
	ch     chan event.Event // every published event, for waiting on one
}

func newHeadsetSession() *headsetSession {
	return &headsetSession{start: time.Now(), step: 1, ch: make(chan event.Event, 64)}
}

func (h *headsetSession) Now() time.Duration { return 100*time.Second + time.Since(h.start) }
func (h *headsetSession) Showing() (int, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.step, 1
}
func (h *headsetSession) Publish(t time.Duration, step int, d event.Data) {
	e := event.Event{T: t, Step: step, Data: d}
	h.mu.Lock()
	h.events = append(h.events, e)
	h.mu.Unlock()
	h.ch <- e
}
func (h *headsetSession) PatientStop(by string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stops = append(h.stops, by)
	return nil
}
func (h *headsetSession) Answer(scale string, value int, by string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.prompt != scale {
		return errors.New("no such prompt is open")
	}
	return nil
}

// next waits for the next published event.
func (h *headsetSession) next(t *testing.T) event.Event {
	t.Helper()
	select {
	case e := <-h.ch:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("nothing published")
		return event.Event{}
	}
}

func headsetPlan() *xr.Plan {
	return &xr.Plan{V: 1, Steps: []xr.PlanStep{
		{ID: "base", Cues: []xr.PlanCue{{ID: "b.c1", Kind: "breathing", BPM: 6}}},
		{ID: "bar", Cues: []xr.PlanCue{{ID: "bar.c1", Kind: "image", File: "m/beer.png", SHA256: strings.Repeat("a", 64)}}},
	}}
}

func startHeadset(t *testing.T, cfg Config, tune func(*limits)) (*Server, *headsetSession) {
	t.Helper()
	hs := newHeadsetSession()
	cfg.ObserverToken = obsToken
	cfg.DisplayToken = dspToken
	cfg.Headset = &Headset{Plan: headsetPlan(), Session: hs,
		Media: fstest.MapFS{"m/beer.png": {Data: []byte("png")}, "m/other.png": {Data: []byte("no")}}}
	cfg.State = func() any { return map[string]any{"status": "running", "step_index": 1} }
	s, _ := startServer(t, cfg, tune)
	return s, hs
}

func dialDisplay(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	c, _, err := dialRaw(t, s, dialOpts{token: dspToken})
	require.NoError(t, err)
	return c
}

// The headset page and its plan and media need the display token; the
// dashboard page does not open with it; DisplayURL names /xr.
func TestDisplayRoutes(t *testing.T) {
	s, _ := startHeadset(t, Config{}, nil)
	assert.Equal(t, "http://"+s.Addr()+"/xr?token="+dspToken, s.DisplayURL())
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/xr?token=" + dspToken, http.StatusOK},
		{"/xr/plan?token=" + dspToken, http.StatusOK},
		{"/xr/media/m/beer.png?token=" + dspToken, http.StatusOK},
		{"/xr/media/m/other.png?token=" + dspToken, http.StatusNotFound}, // not in the plan
		{"/xr/xr.js", http.StatusOK},                                     // code: no session data
		{"/xr", http.StatusUnauthorized},
		{"/xr?token=" + testToken, http.StatusUnauthorized}, // the therapist's link is not the headset's
		{"/xr/plan?token=" + obsToken, http.StatusUnauthorized},
		{"/xr/media/m/beer.png?token=wrong", http.StatusUnauthorized},
		{"/?token=" + dspToken, http.StatusUnauthorized}, // the display token opens no dashboard
		{"/?token=" + testToken, http.StatusOK},
	} {
		resp := httpGet(t, s, tc.path, "", nil)
		assert.Equal(t, tc.want, resp.StatusCode, tc.path)
	}
	// Behind the Host check like everything else.
	resp := httpGet(t, s, "/xr?token="+dspToken, "evil.example:"+s.port, nil)
	assert.Equal(t, http.StatusMisdirectedRequest, resp.StatusCode)

	// Without a headset there is no display role and no /xr.
	plain, _ := startServer(t, Config{ObserverToken: obsToken, DisplayToken: dspToken}, nil)
	assert.Empty(t, plain.DisplayURL())
	assert.Equal(t, http.StatusNotFound, httpGet(t, plain, "/xr?token="+dspToken, "", nil).StatusCode)
	_, resp2, err := dialRaw(t, plain, dialOpts{token: dspToken})
	require.Error(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp2.StatusCode)
}

func TestDisplayTokensDiffer(t *testing.T) {
	hs := &Headset{Plan: headsetPlan(), Session: newHeadsetSession()}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"as control", Config{Token: testToken, DisplayToken: testToken, Headset: hs}, "display token must differ"},
		{"as observer", Config{Token: testToken, ObserverToken: obsToken, DisplayToken: obsToken, Headset: hs}, "display token must differ"},
		{"no session", Config{Headset: &Headset{Plan: headsetPlan()}}, "needs the Plan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Listen = "127.0.0.1:0"
			_, err := New(tc.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	s, err := New(Config{Listen: "127.0.0.1:0", Headset: hs})
	require.NoError(t, err)
	assert.Len(t, s.cfg.DisplayToken, 32, "a generated display token")
	assert.NotEqual(t, s.cfg.DisplayToken, s.cfg.Token)
	assert.NotEqual(t, s.cfg.DisplayToken, s.cfg.ObserverToken)
}

// A display gets hello (the state only), state and the events that change
// what it draws: no samples, streams, views, markers or alerts. What it
// sends goes to its xr.Display: pongs back, looks and the stop to the
// session; every therapist command is refused (unknown_type), audited, and
// never reaches the session.
func TestDisplayRole(t *testing.T) {
	leakcheck.Check(t)
	audit := newAuditLog()
	applied := make(chan Command, 8)
	s, hs := startHeadset(t, Config{Audit: audit.add, Hello: func() any { return map[string]any{"title": "Alcohol cues"} },
		OnCommand: func(c Command) Ack { applied <- c; return Ack{OK: true} }}, nil)
	b, _ := runBus(t, s)

	ctl := dial(t, s)
	readType(t, ctl, "hello")
	assert.Equal(t, AuditConnect, audit.next(t).Event)
	dsp := dialDisplay(t, s)
	hello := readType(t, dsp, "hello")
	assert.Equal(t, RoleDisplay, hello["role"])
	assert.Equal(t, map[string]any{"state": map[string]any{"status": "running", "step_index": float64(1)}}, hello["session"],
		"the headset's hello has the state, not the protocol's title")
	assert.Equal(t, "state", readMsg(t, dsp).typ())
	e := audit.next(t)
	assert.Equal(t, AuditConnect, e.Event)
	assert.Equal(t, RoleDisplay, e.Role)

	// What the bus carries: the display gets the step and the command,
	// not the stream, samples, marker or alert; the dashboard gets all.
	b.Publish(bus.Msg{Stream: &sensors.Stream{Device: "sim", Rate: 100, Channels: []sensors.Channel{{Label: "eda", Unit: "uS"}}}})
	b.Publish(bus.Msg{Sample: &sensors.Sample{Device: "sim", T: time.Second, N: 1, Values: [sensors.MaxChannels]float64{1}}})
	b.Publish(bus.Msg{Event: &event.Event{T: 2 * time.Second, Step: 1, Data: event.Marker{Text: "craving talk", By: "c1"}}})
	b.Publish(bus.Msg{Event: &event.Event{T: 2 * time.Second, Step: 1, Data: event.Alert{Source: "sensor", Message: "EDA flat"}}})
	b.Publish(bus.Msg{Event: &event.Event{T: 3 * time.Second, Step: 1, Data: event.StepStart{ID: "bar", Name: "The bar"}}})
	b.Publish(bus.Msg{Event: &event.Event{T: 4 * time.Second, Step: 1, Data: event.Command{Cmd: "pause", By: "c1"}}})
	for _, want := range []string{"stream", "samples", "marker", "alert", "step_start", "command"} {
		m := readMsg(t, ctl)
		for m.typ() == "state" { // polled: whenever it comes
			m = readMsg(t, ctl)
		}
		got := m.typ()
		if got == "event" {
			got, _ = m["kind"].(string)
		}
		assert.Equal(t, want, got)
	}
	var kinds []any
	for len(kinds) < 2 {
		m := readMsg(t, dsp)
		require.Contains(t, []string{"state", "event"}, m.typ(), "a display got %v", m)
		if m.typ() == "event" {
			kinds = append(kinds, m["kind"])
		}
	}
	assert.Equal(t, []any{"step_start", "command"}, kinds)
	s.SetView(time.Second, []byte{0xff, 0xd8})
	readType(t, ctl, "view")

	// A ping is answered at once with a pong (and the display got no view).
	sendJSON(t, dsp, map[string]any{"type": "display", "v": 1, "cmd": "ping", "id": "p1", "t_client": 1.5})
	pong := readMsg(t, dsp)
	assert.Equal(t, "pong", pong.typ())
	assert.Equal(t, "p1", pong["id"])
	assert.Greater(t, pong["t_session"], 100.0)

	// Every therapist command is refused, audited, never applied.
	for _, cmd := range []map[string]any{
		{"type": "command", "id": "x1", "cmd": "end"},
		{"type": "command", "id": "x2", "cmd": "panic"},
		{"type": "command", "id": "x3", "cmd": "next"},
		{"type": "command", "id": "x4", "cmd": "marker", "args": map[string]any{"text": "hi"}},
		{"type": "command", "id": "x5", "cmd": "rate", "args": map[string]any{"scale": "craving"}},
	} {
		sendJSON(t, dsp, cmd)
		m := readType(t, dsp, "error")
		assert.Equal(t, codeUnknownType, m["code"], "%v", cmd)
		assert.Equal(t, cmd["id"], m["id"])
		assert.Contains(t, m["error"], "cannot send commands")
		e := audit.next(t)
		assert.Equal(t, AuditCommand, e.Event)
		assert.Equal(t, RoleDisplay, e.Role)
		assert.Equal(t, cmd["cmd"], e.Cmd)
		assert.False(t, e.OK)
	}
	select {
	case c := <-applied:
		t.Fatalf("a display's command reached the session: %v", c)
	default:
	}

	// A look becomes a look event; a bad one is refused with its code.
	sendJSON(t, dsp, map[string]any{"type": "display", "cmd": "look", "cue": "bar.c1", "yaw_deg": 12.34, "pitch_deg": -3, "roll_deg": 0})
	look := hs.next(t)
	assert.Equal(t, event.Look{Cue: "bar.c1", YawDeg: 12.3, PitchDeg: -3}, look.Data)
	assert.Equal(t, 1, look.Step)
	sendJSON(t, dsp, map[string]any{"type": "display", "cmd": "look", "cue": "bar.c1", "yaw_deg": 500, "pitch_deg": 0, "roll_deg": 0})
	assert.Equal(t, "bad_args", readType(t, dsp, "error")["code"])

	// The patient's stop reaches the session as the headset's, audited.
	sendJSON(t, dsp, map[string]any{"type": "display", "cmd": "patient_stop", "id": "s1"})
	e = audit.next(t)
	assert.Equal(t, AuditEntry{Event: AuditCommand, Client: "c2", Remote: e.Remote, Role: RoleDisplay, Cmd: "patient_stop", ID: "s1", OK: true}, e)
	hs.mu.Lock()
	assert.Equal(t, []string{"headset"}, hs.stops)
	hs.mu.Unlock()
	// An answer with no prompt open is refused and audited.
	sendJSON(t, dsp, map[string]any{"type": "display", "cmd": "answer", "id": "a1", "scale": "craving", "value": 40})
	assert.Equal(t, "bad_args", readType(t, dsp, "error")["code"])
	e = audit.next(t)
	assert.Equal(t, "answer", e.Cmd)
	assert.False(t, e.OK)
	assert.Equal(t, map[string]any{"scale": "craving", "value": 40}, e.Args)
}

// One display at a time: a second is refused clearly (an error, then close
// code 1008); a dashboard still connects.
func TestDisplayOne(t *testing.T) {
	leakcheck.Check(t)
	audit := newAuditLog()
	s, _ := startHeadset(t, Config{Audit: audit.add}, func(l *limits) { l.displayQuiet = time.Minute })

	first := dialDisplay(t, s)
	readType(t, first, "hello")
	assert.Equal(t, AuditConnect, audit.next(t).Event)

	second := dialDisplay(t, s)
	m := readMsg(t, second)
	assert.Equal(t, "error", m.typ())
	assert.Equal(t, codeDisplayBusy, m["code"])
	assert.Contains(t, m["error"], "another headset is connected")
	_, _, err := second.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, websocket.ClosePolicyViolation, ce.Code)
	assert.Equal(t, CloseDisplayBusy, ce.Text)
	e := audit.next(t)
	assert.Equal(t, AuditRefused, e.Event)
	assert.Contains(t, e.Result, "another headset")
	// A dashboard is no display: it still connects.
	readType(t, dial(t, s), "hello")
	assert.Equal(t, AuditConnect, audit.next(t).Event)
}

// Losing the display raises the lost alert, its return the back alert;
// silence counts as lost, pings keep it.
func TestDisplayLost(t *testing.T) {
	leakcheck.Check(t)
	audit := newAuditLog()
	const quiet = 2 * time.Second
	s, hs := startHeadset(t, Config{Audit: audit.add}, func(l *limits) { l.displayQuiet = quiet })
	first := dialDisplay(t, s)
	readType(t, first, "hello")
	assert.Equal(t, AuditConnect, audit.next(t).Event)

	// It goes silent (it reads, but sends nothing, not even pongs to the
	// server's pings, which come far later): lost.
	lost := hs.next(t)
	a, ok := lost.Data.(event.Alert)
	require.True(t, ok, "%v", lost.Data)
	assert.Equal(t, xr.Lost(a.Detail), a)
	assert.Contains(t, a.Detail, "nothing heard for 2s")
	e := audit.next(t)
	assert.Equal(t, AuditDisconnect, e.Event)
	assert.Equal(t, RoleDisplay, e.Role)

	// It comes back (the slot is free again): the alert resolves.
	again := dialDisplay(t, s)
	readType(t, again, "hello")
	back := hs.next(t)
	assert.Equal(t, xr.Back(), back.Data)
	// Pings keep it alive past the quiet limit.
	for i := range 12 { // 3 s: past the quiet limit, 4 pings a second (xr allows 5)
		sendJSON(t, again, map[string]any{"type": "display", "cmd": "ping", "id": fmt.Sprint("p", i), "t_client": float64(i)})
		readType(t, again, "pong")
		time.Sleep(250 * time.Millisecond) // the scenario: a page pinging
	}
	// The page is closed: lost, with why.
	require.NoError(t, again.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second)))
	lost = hs.next(t)
	assert.Equal(t, xr.Lost("the page was closed"), lost.Data)
}

// At the session's end the headset is let go, not lost.
func TestDisplayNotLostAtEnd(t *testing.T) {
	leakcheck.Check(t)
	hs := newHeadsetSession()
	var mu sync.Mutex
	status := "running"
	s, _ := startServer(t, Config{DisplayToken: dspToken, Headset: &Headset{Plan: headsetPlan(), Session: hs},
		State: func() any { mu.Lock(); defer mu.Unlock(); return map[string]any{"status": status} }}, nil)
	dsp := dialDisplay(t, s)
	readType(t, dsp, "hello")
	mu.Lock()
	status = "ended"
	mu.Unlock()
	s.SetState(map[string]any{"status": "ended"})
	for st := readType(t, dsp, "state"); st["state"].(map[string]any)["status"] != "ended"; st = readType(t, dsp, "state") {
	}
	require.NoError(t, s.Close())
	_, _, err := dsp.ReadMessage()
	var ce *websocket.CloseError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, CloseSessionEnded, ce.Text)
	hs.mu.Lock()
	defer hs.mu.Unlock()
	assert.Empty(t, hs.events, "no lost alert at the end")
}

// The display's message limit and rate are its own: xr.MaxMessage bytes
// (too_large, the connection stays), more than the dashboards' 20 a second
// (pings and looks at once).
func TestDisplayLimits(t *testing.T) {
	s, _ := startHeadset(t, Config{}, nil)
	dsp := dialDisplay(t, s)
	readType(t, dsp, "hello")
	big, _ := json.Marshal(map[string]any{"type": "display", "cmd": "ping", "id": strings.Repeat("x", xr.MaxMessage)})
	require.NoError(t, dsp.WriteMessage(websocket.TextMessage, big))
	assert.Equal(t, "too_large", readType(t, dsp, "error")["code"])
	for i := range 30 {
		if i%2 == 0 {
			sendJSON(t, dsp, map[string]any{"type": "display", "cmd": "look", "cue": "bar.c1", "yaw_deg": i, "pitch_deg": 0, "roll_deg": 0})
		} else {
			sendJSON(t, dsp, map[string]any{"type": "display", "cmd": "ping", "id": fmt.Sprint("p", i), "t_client": 1})
		}
	}
	for range 10 { // the pings within xr's own burst are answered
		readType(t, dsp, "pong")
	}
	sendJSON(t, dsp, map[string]any{"type": "display", "cmd": "patient_stop"})
	// No feed-level rate_limited: only xr's own (looks over 5 at once).
	for {
		require.NoError(t, dsp.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
		_, b, err := dsp.ReadMessage()
		if err != nil {
			break
		}
		assert.NotContains(t, string(b), "messages per second", "the feed's dashboard limit applied to a display")
	}
}

package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/sensors"
)

var physio = sensors.Stream{Device: "physio", Kind: "derived", Rate: 4, Channels: []sensors.Channel{
	{Label: "hr", Unit: "bpm"}, {Label: "scl", Unit: "uS"}, {Label: "arousal", Unit: "z"}, {Label: "rmssd", Unit: "ms"}}}

// vitals publishes a derived sample, a state and an alert on a station's bus.
func (n *node) vitals(hr, scl, arousal float64) {
	n.bus.Publish(bus.Msg{Stream: &physio})
	s := sensors.Sample{Device: "physio", T: n.t, N: 4}
	s.Values[0], s.Values[1], s.Values[2] = hr, scl, arousal
	n.bus.Publish(bus.Msg{Sample: &s})
	e := event.New(n.t, 1, event.Alert{Source: "arousal", Incident: "arousal", Level: event.LevelAlarm, Message: "Arousal above the ceiling"})
	n.bus.Publish(bus.Msg{Event: &e})
}

type testState struct {
	Status    string  `json:"status"`
	StepIndex int     `json:"step_index"`
	StepName  string  `json:"step_name"`
	Steps     int     `json:"steps"`
	Remaining float64 `json:"step_remaining"`
}

func wsDial(t *testing.T, page, token string) *websocket.Conn {
	t.Helper()
	u, err := url.Parse(page)
	require.NoError(t, err)
	ws := "ws://" + u.Host + "/ws?token=" + url.QueryEscape(token)
	c, resp, err := websocket.DefaultDialer.Dial(ws, http.Header{"Origin": {"http://" + u.Host}})
	require.NoError(t, err)
	resp.Body.Close()
	t.Cleanup(func() { c.Close() })
	return c
}

func readUntil(t *testing.T, c *websocket.Conn, typ string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(20*time.Second)))
	for {
		_, b, err := c.ReadMessage()
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(b, &m))
		if m["type"] == typ && (ok == nil || ok(m)) {
			return m
		}
	}
}

func TestMonitorTilesTokensAndCommands(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := startHub(t, t.TempDir(), "", func(c *hub.Config) {
		c.Token, c.ObserverToken = "ctl-token", "obs-token"
		c.Stale, c.Offline = time.Second, 2*time.Second
	})
	cmds := make(chan string, 4)
	n := startStation(t, h.NATSURL(), "room1", storeOf(t, "room1"), func(c *station.Config) {
		c.State = func() any { return testState{"running", 2, "Bar scene", 8, 95.5} }
		c.OnCommand = func(b []byte) ([]byte, error) {
			if strings.Contains(string(b), "panic") {
				return nil, errors.New("no panic in this test")
			}
			cmds <- string(b)
			return []byte(`{"type":"ack","v":1,"id":"c1","ok":true,"data":{"status":"paused"}}`), nil
		}
	})
	require.NoError(t, n.st.Wait(ctx, connected))
	n.vitals(72, 5.25, 1.5)

	page := h.MonitorURL()
	require.Contains(t, page, "token=ctl-token")
	base := page[:strings.Index(page, "?")]
	for _, c := range []struct {
		url, host string
		code      int
	}{
		{base, "", http.StatusUnauthorized},
		{base + "?token=wrong", "", http.StatusUnauthorized},
		{page, "", http.StatusOK},
		{h.ObserverURL(), "", http.StatusOK},
		{page, "evil.example:80", http.StatusMisdirectedRequest},
	} {
		req, err := http.NewRequest("GET", c.url, nil)
		require.NoError(t, err)
		if c.host != "" {
			req.Host = c.host
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, c.code, resp.StatusCode, "%s host %q", c.url, c.host)
		if c.code == http.StatusOK {
			assert.Contains(t, string(body), "cueroom stations")
		}
	}
	u, _ := url.Parse(page)
	_, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws?token=ctl-token", http.Header{"Origin": {"http://evil.example"}})
	require.Error(t, err, "a foreign page may not open the socket")
	resp.Body.Close()

	obs := wsDial(t, page, "obs-token")
	hello := readUntil(t, obs, "hello", nil)
	assert.Equal(t, "observe", hello["role"])
	tiles := readUntil(t, obs, "tiles", func(m map[string]any) bool {
		ts := m["tiles"].([]any)
		return len(ts) == 1 && ts[0].(map[string]any)["hr"] != nil && ts[0].(map[string]any)["step_name"] != nil && len(ts[0].(map[string]any)["alerts"].([]any)) > 0
	})
	tile := tiles["tiles"].([]any)[0].(map[string]any)
	assert.Equal(t, "room1", tile["station"])
	assert.Equal(t, "live", tile["conn"])
	assert.EqualValues(t, 72, tile["hr"])
	assert.EqualValues(t, 5.25, tile["scl"])
	assert.EqualValues(t, 1.5, tile["arousal"])
	assert.Equal(t, "Bar scene", tile["step_name"])
	assert.EqualValues(t, 95.5, tile["step_remaining"])
	assert.Equal(t, "Arousal above the ceiling", tile["alerts"].([]any)[0].(map[string]any)["message"])

	require.NoError(t, obs.WriteJSON(map[string]any{"type": "command", "id": "o1", "site": "clinic", "station": "room1", "cmd": "pause"}))
	ack := readUntil(t, obs, "ack", nil)
	assert.Equal(t, false, ack["ok"])
	assert.Contains(t, ack["error"], "forbidden")

	ctl := wsDial(t, page, "ctl-token")
	assert.Equal(t, "control", readUntil(t, ctl, "hello", nil)["role"])
	require.NoError(t, ctl.WriteJSON(map[string]any{"type": "command", "id": "c1", "site": "clinic", "station": "room1", "cmd": "pause"}))
	ack = readUntil(t, ctl, "ack", nil)
	assert.Equal(t, true, ack["ok"], ack["error"])
	assert.Equal(t, "c1", ack["id"])
	assert.Equal(t, map[string]any{"status": "paused"}, ack["data"])
	got := <-cmds
	assert.JSONEq(t, `{"type":"command","v":1,"id":"c1","cmd":"pause","args":null}`, got)
	require.NoError(t, ctl.WriteJSON(map[string]any{"type": "command", "id": "c2", "site": "clinic", "station": "room1", "cmd": "panic"}))
	ack = readUntil(t, ctl, "ack", nil)
	assert.Equal(t, false, ack["ok"])
	assert.Equal(t, "no panic in this test", ack["error"])

	// The station goes away: stale, then offline, its last picture kept.
	n.close()
	for _, want := range []string{hub.ConnStale, hub.ConnOffline} {
		waitFor(ctx, t, want, func() (bool, string) {
			ts := h.Stations()
			return ts[0].Conn == want, ts[0].Conn
		})
	}
	assert.Equal(t, "Bar scene", h.Stations()[0].StepName)
}

package feed

import (
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
)

// TestCommandsTable: a session's table applies its commands, one at a time,
// answers with the state that followed, and refuses the rest.
func TestCommandsTable(t *testing.T) {
	var state atomic.Value
	state.Store(map[string]any{"status": "running"})
	marks := make(chan string, 1)
	cmds := NewCommands(errors.New("this is a replay")).
		Handle(CmdPause, func(Command) error {
			state.Store(map[string]any{"status": "paused"})
			return nil
		}).
		Handle(CmdNext, func(Command) error { return errors.New("already at the last step") }).
		Handle(CmdMarker, func(c Command) error { marks <- c.Text() + " by " + c.From; return nil })
	s, _ := startServer(t, Config{Commands: cmds, State: func() any { return state.Load() }}, func(l *limits) { l.rate, l.burst = 1000, 1000 })
	c := dial(t, s)
	require.Equal(t, "hello", readMsg(t, c).typ())

	tests := []struct {
		send    map[string]any
		ok      bool
		errText string
		data    any
	}{
		{send: map[string]any{"cmd": "pause"}, ok: true, data: map[string]any{"status": "paused"}},
		{send: map[string]any{"cmd": "next"}, errText: "already at the last step"},
		{send: map[string]any{"cmd": "marker", "args": map[string]any{"text": "urge 7/10"}}, ok: true, data: map[string]any{"status": "paused"}},
		{send: map[string]any{"cmd": "rate"}, errText: "rate: this is a replay"},
	}
	for i, tt := range tests {
		tt.send["type"], tt.send["id"] = "command", string(rune('a'+i))
		sendJSON(t, c, tt.send)
		m := readType(t, c, "ack")
		assert.Equal(t, tt.send["id"], m["id"])
		assert.Equal(t, tt.ok, m["ok"], "%v", m)
		if tt.ok {
			assert.Equal(t, tt.data, m["data"])
		} else {
			assert.Equal(t, tt.errText, m["error"])
		}
	}
	assert.Regexp(t, `^urge 7/10 by 127\.0\.0\.1:\d+/c1$`, <-marks)

	// Without a reason of its own, a table says the command is not here.
	assert.EqualError(t, NewCommands(nil).Apply(Command{Cmd: CmdSeek}), "seek is not available in this session")
}

// TestCommandsOneAtATime: a table's handlers run under the lock that
// keeps commands from several dashboards from running at once.
func TestCommandsOneAtATime(t *testing.T) {
	var s *Server
	held := make(chan bool, 2)
	cmds := NewCommands(nil).Handle(CmdPause, func(Command) error {
		free := s.cmdMu.TryLock()
		if free {
			s.cmdMu.Unlock()
		}
		held <- !free
		return nil
	})
	s, _ = startServer(t, Config{Commands: cmds}, nil)
	a, b := dial(t, s), dial(t, s)
	for _, c := range []*websocket.Conn{a, b} {
		require.Equal(t, "hello", readMsg(t, c).typ())
		sendJSON(t, c, map[string]any{"type": "command", "id": "1", "cmd": "pause"})
	}
	for _, c := range []*websocket.Conn{a, b} {
		m := readType(t, c, "ack")
		assert.Equal(t, true, m["ok"])
		assert.NotContains(t, m, "data", "no State: no data")
		assert.True(t, <-held, "a handler ran without the command lock")
	}
}

func TestCommandsHandleMistakes(t *testing.T) {
	assert.PanicsWithValue(t, `feed: Commands.Handle("reboot"): not a command of the protocol`, func() {
		NewCommands(nil).Handle("reboot", func(Command) error { return nil })
	})
	assert.PanicsWithValue(t, `feed: Commands.Handle("pause") twice`, func() {
		NewCommands(nil).Handle(CmdPause, func(Command) error { return nil }).Handle(CmdPause, func(Command) error { return nil })
	})
	_, err := New(Config{Commands: NewCommands(nil), OnCommand: func(Command) Ack { return Ack{} }})
	assert.ErrorContains(t, err, "not both")
}

// TestCommandArgs: handlers read a validated command's arguments typed.
func TestCommandArgs(t *testing.T) {
	parse := func(s string) Command {
		t.Helper()
		c, perr := parseClientMessage([]byte(s))
		require.Nil(t, perr)
		return c
	}
	assert.Equal(t, "urge 7/10", parse(`{"type":"command","id":"1","cmd":"marker","args":{"text":"urge 7/10"}}`).Text())
	assert.Equal(t, "suds", parse(`{"type":"command","id":"1","cmd":"rate","args":{"scale":"suds"}}`).Scale())
	assert.Equal(t, "", parse(`{"type":"command","id":"1","cmd":"rate"}`).Scale())
	at, step, byStep := parse(`{"type":"command","id":"1","cmd":"seek","args":{"t":90.5}}`).Seek()
	assert.Equal(t, 90500*time.Millisecond, at)
	assert.False(t, byStep)
	assert.Zero(t, step)
	at, step, byStep = parse(`{"type":"command","id":"1","cmd":"seek","args":{"step":2}}`).Seek()
	assert.Equal(t, 2, step)
	assert.True(t, byStep)
	assert.Zero(t, at)
	assert.Equal(t, 0.25, parse(`{"type":"command","id":"1","cmd":"speed","args":{"x":0.25}}`).Speed())
}

// TestStateFollowed: Config.State reaches every dashboard when it changes,
// not before it exists, and not again while it stays the same.
func TestStateFollowed(t *testing.T) {
	var step atomic.Int64 // 0: no session yet
	polled := make(chan struct{}, 1)
	s, _ := startServer(t, Config{State: func() any {
		select {
		case polled <- struct{}{}:
		default:
		}
		if n := step.Load(); n > 0 {
			return map[string]any{"step_index": n}
		}
		return nil
	}}, func(l *limits) { l.stateEvery = time.Millisecond })
	c := dial(t, s)
	require.Equal(t, "hello", readMsg(t, c).typ())
	// Polled without a session: nothing is sent.
	<-polled
	<-polled
	step.Store(1)
	assert.Equal(t, map[string]any{"step_index": 1.0}, readMsg(t, c)["state"])
	step.Store(2)
	assert.Equal(t, map[string]any{"step_index": 2.0}, readMsg(t, c)["state"], "one message per change, none in between")
	// A dashboard that connects now gets the state right after hello.
	late := dial(t, s)
	require.Equal(t, "hello", readMsg(t, late).typ())
	assert.Equal(t, map[string]any{"step_index": 2.0}, readMsg(t, late)["state"])
}

func TestSessionInfoJSON(t *testing.T) {
	info := SessionInfo{Title: "Alcohol, session 3", Substance: "alcohol",
		Steps:   []Step{{ID: "base", Name: "Baseline", Duration: 60, Neutral: true}, {ID: "bar", Name: "Bar scene", Intensity: 3, Duration: 120}},
		Streams: []sensors.Stream{{Device: "bitalino", Kind: "bitalino", Rate: 1000}},
	}
	live, err := json.Marshal(info)
	require.NoError(t, err)
	assert.JSONEq(t, `{"title":"Alcohol, session 3","substance":"alcohol",
		"steps":[{"id":"base","name":"Baseline","intensity":0,"duration":60,"neutral":true},
		         {"id":"bar","name":"Bar scene","intensity":3,"duration":120,"neutral":false}],
		"streams":[{"device":"bitalino","kind":"bitalino","rate":1000,"channels":null}]}`, string(live))

	info.State = map[string]any{"status": "paused"}
	info.Replay = &ReplayInfo{Dir: "/s/2025-05-01", Start: time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC), Duration: 90 * time.Second}
	replay, err := json.Marshal(info)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(replay, &m))
	assert.Equal(t, true, m["replay"])
	assert.Equal(t, "/s/2025-05-01", m["dir"])
	assert.Equal(t, "2025-05-01T10:00:00Z", m["start"])
	assert.Equal(t, 90.0, m["duration_s"])
	assert.Equal(t, false, m["window"], "the page hides the view only on an explicit false")
	assert.Equal(t, map[string]any{"status": "paused"}, m["state"])
	assert.Equal(t, "Alcohol, session 3", m["title"])
}

// A step's cues ride the hello so the page names a cue by its description;
// left out when there are none (older sessions, as above).
func TestStepCuesJSON(t *testing.T) {
	st := Step{ID: "bottle", Name: "Bottle", Intensity: 1, Duration: 30, Cues: []StepCue{
		{ID: "bottle.c1", Kind: "image", File: "media/bottle.png", Description: "Closed beer bottle on a wooden table"},
		{ID: "bottle.c2", Kind: "text", Text: "Notice any urges."}}}
	b, err := json.Marshal(st)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"bottle","name":"Bottle","intensity":1,"duration":30,"neutral":false,"cues":[
		{"id":"bottle.c1","kind":"image","file":"media/bottle.png","description":"Closed beer bottle on a wooden table"},
		{"id":"bottle.c2","kind":"text","text":"Notice any urges."}]}`, string(b))
}

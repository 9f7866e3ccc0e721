package pipeline

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
	"github.com/cueroom/cueroom/sensors"
)

const token = "0123456789abcdef0123456789abcdef"

// fakeDriver publishes a marker per command and ends on "end".
type fakeDriver struct {
	p        *Pipeline
	mu       sync.Mutex
	paused   bool
	done     chan struct{}
	endOnce  sync.Once
	endedWhy string
}

func newFake(p *Pipeline) *fakeDriver { return &fakeDriver{p: p, done: make(chan struct{})} }

func (d *fakeDriver) Snapshot() engine.Snapshot {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := engine.Running
	if d.paused {
		st = engine.Paused
	}
	return engine.Snapshot{State: st, Step: 0, Steps: 1}
}
func (d *fakeDriver) Step(int) (scenes.Step, bool) { return scenes.Step{}, false }
func (d *fakeDriver) Done() <-chan struct{}        { return d.done }
func (d *fakeDriver) Calm(string, string) error    { return nil }
func (d *fakeDriver) Answer(int, string) error     { return nil }
func (d *fakeDriver) MoveMarker(int, string) error { return nil }
func (d *fakeDriver) Run(ctx context.Context)      { <-d.done }
func (d *fakeDriver) State() any                   { return d.Snapshot() }
func (d *fakeDriver) Replay() *feed.ReplayInfo {
	return &feed.ReplayInfo{Dir: "somewhere", Duration: time.Minute}
}
func (d *fakeDriver) End(why string) {
	d.endOnce.Do(func() {
		d.mu.Lock()
		d.endedWhy = why
		d.mu.Unlock()
		d.p.Publish(-1, event.SessionEnd{Reason: why})
		close(d.done)
	})
}

func (d *fakeDriver) Commands() *feed.Commands {
	return feed.NewCommands(errors.New("not here")).
		Handle(feed.CmdPause, func(c feed.Command) error {
			d.mu.Lock()
			d.paused = true
			d.mu.Unlock()
			d.p.Publish(0, event.Command{Cmd: "pause", By: c.From})
			return nil
		}).
		Handle(feed.CmdEnd, func(feed.Command) error { d.End("ended by therapist"); return nil })
}

func dial(t *testing.T, p *Pipeline) *websocket.Conn {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", "http://"+p.Feed.Addr())
	c, _, err := websocket.DefaultDialer.Dial("ws://"+p.Feed.Addr()+"/ws?token="+token, h)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// lastStatus is the status of the last state message any readType saw.
var lastStatus sync.Map // *websocket.Conn → string

func readType(t *testing.T, c *websocket.Conn, typ string) map[string]any {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
	for {
		var m map[string]any
		require.NoError(t, c.ReadJSON(&m))
		if st, ok := m["state"].(map[string]any); ok && m["type"] == "state" {
			lastStatus.Store(c, st["status"])
		}
		if m["type"] == typ {
			return m
		}
	}
}

// TestRunWiresAndShutsDownInOrder: one hello with the pipeline's and the
// driver's fields, commands dispatched to the driver and acknowledged, the
// state ticker, and an ordered shutdown in which the recording keeps every
// message a producer published before it was stopped.
func TestRunWiresAndShutsDownInOrder(t *testing.T) {
	clock := engine.NewClock()
	dev := sensors.Stream{Device: "dev", Kind: "test", Rate: 100, Channels: []sensors.Channel{{Label: "x", Unit: "V"}}}
	p, err := New(clock, Options{
		Title: "T", Substance: "alcohol",
		Steps:  []scenes.Step{{ID: "s1", Name: "One", Duration: time.Minute}},
		Feed:   feed.Config{Listen: "127.0.0.1:0", Token: token, Logf: t.Logf},
		Record: true,
	})
	require.NoError(t, err)
	d := newFake(p)
	p.Streams = func() []sensors.Stream { return []sensors.Stream{dev} }
	require.NoError(t, p.Listen(d))
	rec, err := record.Create(t.TempDir(), record.Meta{Title: "T", Start: clock.Start(), Streams: []sensors.Stream{dev}}, nil)
	require.NoError(t, err)

	// A producer that publishes until it is told to stop.
	stop := make(chan struct{})
	var published int
	var prodWG sync.WaitGroup
	prodWG.Add(1)
	p.Bus.Publish(bus.Msg{Stream: &dev})
	go func() {
		defer prodWG.Done()
		for i := 0; i < 20000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s := sensors.Sample{Device: "dev", T: time.Duration(i) * 10 * time.Millisecond, Seq: uint32(i), N: 1}
			p.Bus.Publish(bus.Msg{Sample: &s})
			published++
		}
		<-stop
	}()

	resc := make(chan Result, 1)
	go func() {
		resc <- p.Run(context.Background(), Run{Driver: d, Recorder: rec,
			StopProducers: func() { close(stop); prodWG.Wait() }})
	}()

	c := dial(t, p)
	hello := readType(t, c, "hello")
	sess, _ := hello["session"].(map[string]any)
	require.NotNil(t, sess, "hello carries the session: %v", hello)
	assert.Equal(t, "T", sess["title"])
	assert.Equal(t, true, sess["replay"], "the driver's own hello fields")
	assert.Equal(t, 60.0, sess["duration_s"])
	require.Len(t, sess["steps"], 1)
	assert.Equal(t, "running", sess["state"].(map[string]any)["status"])

	require.NoError(t, c.WriteJSON(map[string]any{"type": "command", "v": 1, "id": "p1", "cmd": "pause"}))
	ack := readType(t, c, "ack")
	assert.Equal(t, "p1", ack["id"])
	assert.Equal(t, true, ack["ok"], "%v", ack)
	pauseAck := ack
	require.NoError(t, c.WriteJSON(map[string]any{"type": "command", "v": 1, "id": "x1", "cmd": "next"}))
	ack = readType(t, c, "ack")
	assert.Equal(t, false, ack["ok"])
	assert.Equal(t, "next: not here", ack["error"])
	ack = pauseAck
	assert.Equal(t, "paused", ack["data"].(map[string]any)["status"], "the ack carries the state after the command")
	// The ticker sends the state the driver now reports.
	for {
		if st, _ := lastStatus.Load(c); st == "paused" {
			break
		}
		readType(t, c, "state")
	}
	require.NoError(t, c.WriteJSON(map[string]any{"type": "command", "v": 1, "id": "e1", "cmd": "end"}))

	var res Result
	select {
	case res = <-resc:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the driver ended")
	}
	require.NoError(t, res.RecordErr)
	assert.NoError(t, res.WindowErr)

	got, err := record.Open(rec.Dir())
	require.NoError(t, err)
	assert.True(t, got.Complete)
	assert.Len(t, got.Samples["dev"], published, "every sample published before the producer stopped is recorded")
	var kinds []event.Kind
	for _, e := range got.Events {
		kinds = append(kinds, e.Kind())
	}
	assert.Equal(t, []event.Kind{event.KindCommand, event.KindSessionEnd}, kinds)
}

func TestOptionsRefuseForeignHandlers(t *testing.T) {
	_, err := New(engine.NewClock(), Options{Feed: feed.Config{OnCommand: func(feed.Command) feed.Ack { return feed.Ack{} }}})
	require.Error(t, err)
}

// The recording's trouble is one alarm incident: the failure, then its
// end when recording resumes; the message in words, the error apart.
func TestRecordingAlert(t *testing.T) {
	full := errors.New("write data.rec: no space left on device")
	for _, c := range []struct {
		name     string
		trouble  record.Trouble
		resolved bool
	}{
		{"failed", record.Trouble{Kind: record.TroubleFailed, Err: full, Segment: "data.rec"}, false},
		{"resumed", record.Trouble{Kind: record.TroubleResumed, Err: full, Segment: "data.2.rec"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := RecordingAlert(c.trouble)
			assert.Equal(t, []any{"recording", event.LevelAlarm, IncidentRecording, c.resolved},
				[]any{a.Source, a.Level, a.Incident, a.Resolved})
			assert.Equal(t, c.trouble.Message(), a.Message)
			assert.Equal(t, full.Error(), a.Detail)
		})
	}
}

// TestStepListDescribesCues: the dashboard's step list names each cue by
// its kind, file, words (clipped) and description.
func TestStepListDescribesCues(t *testing.T) {
	long := strings.Repeat("word ", 30)
	got := StepList([]scenes.Step{{ID: "bar", Name: "Bar", Intensity: 3, Cues: []scenes.Cue{
		{ID: "bar.c1", Kind: scenes.KindImage, Path: "media/bottle.png", Description: "a bottle of lager"},
		{ID: "bar.c2", Kind: scenes.KindText, Text: long},
	}}})
	require.Len(t, got, 1)
	require.Len(t, got[0].Cues, 2)
	assert.Equal(t, feed.StepCue{ID: "bar.c1", Kind: "image", File: "media/bottle.png", Description: "a bottle of lager"}, got[0].Cues[0])
	assert.Len(t, []rune(got[0].Cues[1].Text), 80)
	assert.True(t, strings.HasSuffix(got[0].Cues[1].Text, "…"))
}

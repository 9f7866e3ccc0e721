package feed

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/bus"
)

// A dashboard opened in the middle of a session must list every event of
// the history, not only the first few: in a real session the events are
// separated by hundreds of sample batches (1 kHz, 2 channels, 50 ms
// batches), so the history a late client replays is mostly samples.

// timelineEvent is one bus event of the test session, at ms on its clock.
type timelineEvent struct {
	ms   int
	kind string
	step int
	cue  string // data.cue when not empty
}

// lateTimeline mimics the demo protocol's first 15 s: events just after
// the start, then a step change 15 s later, with one event in between.
var lateTimeline = []timelineEvent{
	{100, bus.SessionStart, -1, ""},
	{100, bus.StepStart, 0, ""},
	{150, bus.CueOnset, 0, "baseline.c1"},
	{300, bus.CueOnset, 0, "baseline.c2"},
	{7500, bus.Marker, -1, ""},
	{15100, bus.StepEnd, 0, ""},
	{15100, bus.StepStart, 1, ""},
	{15150, bus.CueOffset, 0, "baseline.c1"},
	{15200, bus.CueOnset, 1, "bottle.c1"},
	{15200, bus.CueOnset, 1, "bottle.c2"},
}

const lateSamples = 15300 // samples 0..lateSamples-1, one per ms

func (e timelineEvent) event() *bus.Event {
	ev := &bus.Event{T: time.Duration(e.ms) * time.Millisecond, Kind: e.kind, Step: e.step}
	if e.cue != "" {
		ev.Data = map[string]any{"cue": e.cue}
	}
	return ev
}

// pageText is how the dashboard lists the event: time, kind, step, data.
func (e timelineEvent) pageText() string {
	s := fmt.Sprintf("%d:%04.1f%s", e.ms/60000, float64(e.ms%60000)/1000, e.kind)
	if e.step >= 0 {
		s += fmt.Sprintf(" · step %d", e.step+1)
	}
	if e.cue != "" {
		s += fmt.Sprintf(` · cue=%q`, e.cue)
	}
	return s
}

// publishLateTimeline publishes the stream, the state, every sample
// (values seq*10 and seq*10+1) with the timeline's events in time order,
// each event before the sample of the same ms, and returns once Run has put
// the last message in the history.
func publishLateTimeline(t *testing.T, s *Server, b *bus.Bus) {
	t.Helper()
	b.Publish(bus.Msg{Stream: &testStream})
	s.SetState(map[string]any{"status": "running", "step_index": 1, "step_name": "Beer bottle"})
	next := 0
	for seq := range lateSamples {
		for next < len(lateTimeline) && lateTimeline[next].ms == seq {
			b.Publish(bus.Msg{Event: lateTimeline[next].event()})
			next++
		}
		pubSample(b, "bitalino", uint32(seq), float64(seq)*10, float64(seq)*10+1)
	}
	require.Equal(t, len(lateTimeline), next, "timeline events must fall inside the samples")
	// The marker that ends the history tells when Run has handled it all.
	b.Publish(bus.Msg{Event: &bus.Event{T: lateSamples * time.Millisecond, Kind: bus.Marker, Step: -1,
		Data: map[string]any{"name": "last"}}})
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := s.hist.len()
		return n > 0 && strings.Contains(string(s.hist.items[len(s.hist.items)-1].msg), `"name":"last"`)
	}, 10*time.Second, 5*time.Millisecond, "Run did not forward the timeline")
}

// TestLateClientGetsWholeHistory: a client connecting after the timeline
// gets hello, stream, state, then every sample and every event in bus
// order, whatever the batch size (so whatever the number of batches
// between two events).
func TestLateClientGetsWholeHistory(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxBatch int
	}{
		{"batches of 5 (thousands of messages)", 5},
		{"batches of 50, as at 1 kHz", 50},
		{"flushed only by events and the ticker", 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := startServer(t, Config{}, func(l *limits) { l.maxBatch = tc.maxBatch })
			b, _ := runBus(t, s)
			publishLateTimeline(t, s, b)

			c := dial(t, s)
			for _, typ := range []string{"hello", "stream", "state"} {
				require.Equal(t, typ, readMsg(t, c).typ())
			}
			var (
				seqs     []uint32
				kinds    []string
				eventPos []int // samples received before each event
				batches  int
			)
			for {
				require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
				_, raw, err := c.ReadMessage()
				require.NoError(t, err, "after %d samples, %d events", len(seqs), len(kinds))
				var m struct {
					Type string
					Kind string
					Seq  []uint32
					Data map[string]any
				}
				require.NoError(t, json.Unmarshal(raw, &m))
				if m.Type == "samples" {
					batches++
					seqs = append(seqs, m.Seq...)
					continue
				}
				require.Equal(t, "event", m.Type, "%s", raw)
				if m.Kind == bus.Marker && m.Data["name"] == "last" {
					break
				}
				kinds = append(kinds, m.Kind)
				eventPos = append(eventPos, len(seqs))
			}
			require.Equal(t, seqRange(0, lateSamples), seqs, "every sample once, in order")
			var wantKinds []string
			var wantPos []int
			for _, e := range lateTimeline {
				wantKinds = append(wantKinds, e.kind)
				wantPos = append(wantPos, e.ms)
			}
			assert.Equal(t, wantKinds, kinds)
			assert.Equal(t, wantPos, eventPos, "each event right before the sample of its ms")
			// Events flush pending samples: at least one batch per event time.
			assert.GreaterOrEqual(t, batches, max(lateSamples/tc.maxBatch, 8))
		})
	}
}

// TestLateDashboardListsWholeHistory is the browser side of the same: a
// dashboard opened after the timeline lists all its events (newest first),
// shows the latest values, then adds live events on top.
func TestLateDashboardListsWholeHistory(t *testing.T) {
	s, _ := startServer(t, Config{}, func(l *limits) { l.maxBatch = 50 })
	b, _ := runBus(t, s)
	publishLateTimeline(t, s, b)

	// Oldest first: the timeline, then the marker that ended it.
	var want []string
	for _, e := range lateTimeline {
		want = append(want, e.pageText())
	}
	want = append(want, `0:15.3marker · name="last"`)

	br := startBrowser(t)
	_, err := br.call("Page.navigate", map[string]any{"url": s.URL()})
	require.NoError(t, err)
	events := func() []string {
		v, err := br.eval(`[...document.querySelectorAll("#events li")].map((li) => li.textContent)`)
		if err != nil {
			return nil
		}
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return out
	}
	newestFirst := slices.Clone(want)
	slices.Reverse(newestFirst)
	// Poll, then compare once more so a failure shows what the page lists.
	assert.Eventually(t, func() bool { return slices.Equal(events(), newestFirst) },
		10*time.Second, 20*time.Millisecond)
	require.Equal(t, newestFirst, events())
	last := float64(lateSamples - 1)
	assert.Eventually(t, func() bool {
		return strings.Contains(br.text("#values"), fmt.Sprintf("eda%.0f µS", last*10))
	}, 5*time.Second, 20*time.Millisecond)
	assert.Contains(t, br.text("#values"), fmt.Sprintf("eda%.0f µS", last*10))
	assert.Contains(t, br.text("#values"), fmt.Sprintf("ecg%.0f mV", last*10+1))
	assert.Equal(t, "2. Beer bottle", br.text("#stepname"))

	// Live traffic after the history: more samples, then an event on top.
	for seq := lateSamples; seq < lateSamples+200; seq++ {
		pubSample(b, "bitalino", uint32(seq), float64(seq)*10, float64(seq)*10+1)
	}
	live := timelineEvent{lateSamples + 200, bus.RatingPrompt, 1, ""}
	b.Publish(bus.Msg{Event: live.event()})
	withLive := append([]string{live.pageText()}, newestFirst...)
	assert.Eventually(t, func() bool { return slices.Equal(events(), withLive) },
		10*time.Second, 20*time.Millisecond)
	require.Equal(t, withLive, events())
	br.screenshot(t, "late")
}

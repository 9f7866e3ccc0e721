package feed

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
)

// A dashboard opened in the middle of a session must list every event of
// the history, not only the first few: in a real session the events are
// separated by hundreds of sample batches (1 kHz, 2 channels, 50 ms
// batches), so the history a late client replays is mostly samples.

// timelineEvent is one bus event of the test session, at ms on its clock.
type timelineEvent struct {
	ms   int
	step int
	data event.Data
}

func cueOn(cue string) event.Data {
	return event.CueOnset{Channel: "visual", Cue: cue, File: cue + ".jpg", Modality: "image"}
}

// lateTimeline mimics the demo protocol's first 15 s: events just after
// the start, then a step change 15 s later, with one event in between.
var lateTimeline = []timelineEvent{
	{100, -1, event.SessionStart{By: "therapist", Steps: 2, Substance: "alcohol", Title: "Late join"}},
	{100, 0, event.StepStart{Duration: 15, ID: "baseline", Name: "Baseline", Neutral: true}},
	{150, 0, cueOn("baseline.c1")},
	{300, 0, cueOn("baseline.c2")},
	{7500, -1, event.Marker{By: "therapist", Text: "calm"}},
	{15100, 0, event.StepEnd{ID: "baseline", Reason: "done"}},
	{15100, 1, event.StepStart{Duration: 120, ID: "bottle", Intensity: 2, Name: "Beer bottle"}},
	{15150, 0, event.CueOffset{Channel: "visual", Cue: "baseline.c1", File: "baseline.c1.jpg", Modality: "image"}},
	{15200, 1, cueOn("bottle.c1")},
	{15200, 1, cueOn("bottle.c2")},
}

const lateSamples = 15300 // samples 0..lateSamples-1, one per ms

// lastEvent ends the history: seeing it tells that Run has handled it all.
var lastEvent = timelineEvent{lateSamples, -1, event.Marker{By: "test", Text: "last"}}

func (e timelineEvent) event() *event.Event {
	return &event.Event{T: time.Duration(e.ms) * time.Millisecond, Step: e.step, Data: e.data}
}

// pageText is how the dashboard lists the event: time, kind, step, and
// the first six fields of its data as key=JSON, in the wire's order.
func (e timelineEvent) pageText(t *testing.T) string {
	t.Helper()
	s := fmt.Sprintf("%d:%04.1f%s", e.ms/60000, float64(e.ms%60000)/1000, e.data.Kind())
	if e.step >= 0 {
		s += fmt.Sprintf(" · step %d", e.step+1)
	}
	raw, err := event.MarshalData(e.data)
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(raw))
	_, err = dec.Token() // {
	require.NoError(t, err)
	var parts []string
	for dec.More() && len(parts) < 6 {
		k, err := dec.Token()
		require.NoError(t, err)
		var v json.RawMessage
		require.NoError(t, dec.Decode(&v))
		parts = append(parts, fmt.Sprintf("%s=%.60s", k, v))
	}
	if len(parts) > 0 {
		s += " · " + strings.Join(parts, " ")
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
	b.Publish(bus.Msg{Event: lastEvent.event()})
	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		n := s.hist.len()
		return n > 0 && strings.Contains(string(s.hist.items[len(s.hist.items)-1].msg), `"text":"last"`)
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
				if event.Kind(m.Kind) == event.KindMarker && m.Data["text"] == "last" {
					break
				}
				kinds = append(kinds, m.Kind)
				eventPos = append(eventPos, len(seqs))
			}
			require.Equal(t, seqRange(0, lateSamples), seqs, "every sample once, in order")
			var wantKinds []string
			var wantPos []int
			for _, e := range lateTimeline {
				wantKinds = append(wantKinds, string(e.data.Kind()))
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
		want = append(want, e.pageText(t))
	}
	want = append(want, lastEvent.pageText(t))
	require.Equal(t, `0:15.3marker · by="test" text="last"`, lastEvent.pageText(t))

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
	live := timelineEvent{lateSamples + 200, 1, event.RatingPrompt{Question: "How strong is your craving?", Scale: "craving"}}
	b.Publish(bus.Msg{Event: live.event()})
	withLive := append([]string{live.pageText(t)}, newestFirst...)
	assert.Eventually(t, func() bool { return slices.Equal(events(), withLive) },
		10*time.Second, 20*time.Millisecond)
	require.Equal(t, withLive, events())
	br.screenshot(t, "late")
}

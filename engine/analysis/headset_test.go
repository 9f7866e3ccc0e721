package analysis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

// Double onsets: with a headset, the window and the headset both report a
// cue's onset. Analysis uses the headset's (what the patient saw), in
// whatever order they were recorded; without one, the first onset as
// before; a sound has no headset onset.
func TestHeadsetOnsetWins(t *testing.T) {
	at := func(s float64, d event.Data) event.Event {
		return event.Event{T: time.Duration(s * float64(time.Second)), Data: d}
	}
	win := func(cue, mod string) event.CueOnset {
		return event.CueOnset{Channel: "visual", Cue: cue, Modality: mod}
	}
	hs := func(cue, mod string) event.CueOnset {
		return event.CueOnset{Channel: "visual", Cue: cue, Modality: mod, Source: SourceHeadset}
	}
	tests := []struct {
		name string
		evs  []event.Event
		want map[string]float64 // cue → onset used
		hs   map[string]bool    // cue → the headset's
	}{
		{"window first, headset later", []event.Event{
			at(0, event.StepStart{ID: "s1"}), at(0.10, win("pic", "image")), at(0.13, hs("pic", "image")),
		}, map[string]float64{"pic": 0.13}, map[string]bool{"pic": true}},
		{"headset recorded after a later event, stamped earlier", []event.Event{
			at(0, event.StepStart{ID: "s1"}), at(0.10, win("pic", "image")), at(0.30, win("txt", "text")), at(0.12, hs("pic", "image")),
		}, map[string]float64{"pic": 0.12, "txt": 0.30}, map[string]bool{"pic": true}},
		{"headset first: the window's later onset is not taken", []event.Event{
			at(0, event.StepStart{ID: "s1"}), at(0.09, hs("pic", "image")), at(0.10, win("pic", "image")),
		}, map[string]float64{"pic": 0.09}, map[string]bool{"pic": true}},
		{"the headset's first onset in the presentation (a calm scene shows it again)", []event.Event{
			at(0, event.StepStart{ID: "s1"}), at(0.10, win("pic", "image")), at(0.12, hs("pic", "image")),
			at(3, win("pic", "image")), at(3.02, hs("pic", "image")),
		}, map[string]float64{"pic": 0.12}, map[string]bool{"pic": true}},
		{"no headset: the first onset, on any channel", []event.Event{
			at(0, event.StepStart{ID: "s1"}), at(0.05, event.CueOnset{Channel: "audio", Cue: "vid", Modality: "video"}), at(0.10, win("vid", "video")),
		}, map[string]float64{"vid": 0.05}, map[string]bool{}},
		{"a video's sound first, then the headset's frame", []event.Event{
			at(0, event.StepStart{ID: "s1"}), at(0.05, event.CueOnset{Channel: "audio", Cue: "vid", Modality: "video"}), at(0.11, hs("vid", "video")),
		}, map[string]float64{"vid": 0.11}, map[string]bool{"vid": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, cues := presentations(tc.evs, 10)
			require.Len(t, cues, len(tc.want))
			for _, c := range cues {
				assert.InDelta(t, tc.want[c.id], c.on, 1e-9, c.id)
				assert.Equal(t, tc.hs[c.id], c.headset, c.id)
			}
		})
	}
	// Each presentation of a step has its own: a repeat takes the
	// headset's onset of the repeat.
	evs := []event.Event{
		at(0, event.StepStart{ID: "s1"}), at(0.1, win("pic", "image")), at(0.12, hs("pic", "image")),
		at(5, event.StepStart{ID: "s1"}), at(5.1, win("pic", "image")), at(5.15, hs("pic", "image")),
	}
	_, cues := presentations(evs, 10)
	require.Len(t, cues, 2)
	assert.InDelta(t, 0.12, cues[0].on, 1e-9)
	assert.InDelta(t, 5.15, cues[1].on, 1e-9)
	assert.InDelta(t, 5, cues[0].off, 1e-9, "the first presentation ends at the repeat")
}

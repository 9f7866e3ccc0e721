package analysis

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/event"
)

// A rating prompt is on screen like a cue (it has visual onsets and
// offsets, for the photodiode) but it is not a cue: cue reactivity leaves
// it out.
func TestRatingPromptIsNotACue(t *testing.T) {
	at := func(s float64, d event.Data) event.Event {
		return event.Event{T: time.Duration(s * float64(time.Second)), Step: 0, Data: d}
	}
	evs := []event.Event{
		at(0, event.StepStart{ID: "s1", Duration: 10}),
		at(0.1, event.CueOnset{Channel: "visual", Cue: "s1.c1", Modality: "image"}),
		at(8, event.CueOnset{Channel: "visual", Cue: "s1.rating", Modality: event.ModalityRating}),
		at(9, event.CueOffset{Channel: "visual", Cue: "s1.rating", Modality: event.ModalityRating}),
		at(10, event.CueOffset{Channel: "visual", Cue: "s1.c1", Modality: "image"}),
		at(10, event.StepEnd{ID: "s1", Reason: "time"}),
	}
	steps, cues := presentations(evs, 10)
	assert.Len(t, steps, 1)
	if assert.Len(t, cues, 1) {
		assert.Equal(t, "s1.c1", cues[0].id)
		assert.InDelta(t, 10, cues[0].off, 1e-9)
	}
}

// Package bus carries samples and session events from their producers (the
// sensor bridge, physiology, the session, the presenter) to their consumers
// (recording, physiology, feed, session rules). It sits below both sensors
// and the engine: it knows samples (package sensors) and events (package
// event), nothing else.
//
// Publishing never blocks: the render thread publishes cue onsets, and a slow
// consumer must not stall it. A lossless subscriber (the recording) gets an
// unbounded queue; a lossy one (a live view) a bounded queue that counts drops.
package bus

import (
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Msg is what travels on the bus: exactly one field is set.
type Msg struct {
	Event  *event.Event
	Sample *sensors.Sample
	Stream *sensors.Stream // a device announcing its channels
}

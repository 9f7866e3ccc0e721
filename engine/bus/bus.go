// Package bus carries samples and session events from their producers (the
// sensor bridge, the session) to their consumers (recording, feed, rules).
//
// Publishing never blocks: the render thread publishes cue onsets, and a slow
// consumer must not stall it. A lossless subscriber (the recording) gets an
// unbounded queue; a lossy one (a live view) a bounded queue that counts drops.
package bus

import (
	"time"

	"github.com/cueroom/cueroom/sensors"
)

// Event is something that happened in a session, on the session clock.
type Event struct {
	T    time.Duration  `json:"t"`              // session clock, monotonic
	Wall time.Time      `json:"wall"`           // wall clock, for humans
	Kind string         `json:"kind"`           // see the Kind constants
	Step int            `json:"step"`           // step index, -1 when none
	Data map[string]any `json:"data,omitempty"` // kind-specific fields
}

// Event kinds.
const (
	SessionStart = "session_start"
	SessionEnd   = "session_end"
	StepStart    = "step_start"
	StepEnd      = "step_end"
	CueOnset     = "cue_onset"
	CueOffset    = "cue_offset"
	PatientStop  = "patient_stop"
	Rating       = "rating"
	RatingPrompt = "rating_prompt"
	Command      = "command"
	Alert        = "alert"
	Gap          = "gap" // a sensor's data is missing between gap_start and gap_end
	SCR          = "scr" // a skin conductance response (derived), at its peak
	Marker       = "marker"
	DeviceInfo   = "device"
	Look         = "look" // where the patient looks in a 360° scene: cue, yaw_deg, pitch_deg
)

// Msg is what travels on the bus: exactly one field is set.
type Msg struct {
	Event  *Event
	Sample *sensors.Sample
	Stream *sensors.Stream // a device announcing its channels
}

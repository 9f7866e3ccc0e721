package event

import "sort"

// The kinds, as they are written on the wire.
const (
	KindSessionStart Kind = "session_start"
	KindSessionEnd   Kind = "session_end"
	KindStepStart    Kind = "step_start"
	KindStepEnd      Kind = "step_end"
	KindCueOnset     Kind = "cue_onset"
	KindCueOffset    Kind = "cue_offset"
	KindPatientStop  Kind = "patient_stop"
	KindRating       Kind = "rating"
	KindRatingPrompt Kind = "rating_prompt"
	KindCommand      Kind = "command"
	KindAlert        Kind = "alert"
	KindGap          Kind = "gap"
	KindSCR          Kind = "scr"
	KindMarker       Kind = "marker"
	KindDevice       Kind = "device"
	KindLook         Kind = "look"
	KindBaseline     Kind = "baseline"
	KindQuality      Kind = "quality"
	KindReplaySeek   Kind = "replay_seek"
)

// registry makes an empty payload of each known kind, for decoding. It is
// the one list of kinds: Kinds, Describe and the dashboard's kinds.js come
// from it.
var registry = map[Kind]struct {
	zero func() Data
	// about says what the kind means, for export sidecars and the docs.
	about string
}{
	KindSessionStart: {func() Data { return &SessionStart{} }, "the session started (data: title, substance, steps, by)"},
	KindSessionEnd:   {func() Data { return &SessionEnd{} }, "the session ended (data: reason)"},
	KindStepStart:    {func() Data { return &StepStart{} }, "a protocol step started (data: id, name, intensity, duration, neutral)"},
	KindStepEnd:      {func() Data { return &StepEnd{} }, "a protocol step ended (data: id, reason)"},
	KindCueOnset:     {func() Data { return &CueOnset{} }, "a cue was first presented (data: cue, modality, file, channel, sink, source)"},
	KindCueOffset:    {func() Data { return &CueOffset{} }, "a cue was taken off (data: cue, modality, file, channel, sink, source)"},
	KindPatientStop:  {func() Data { return &PatientStop{} }, "the patient stopped the exposure: calm scene (data: by)"},
	KindRating:       {func() Data { return &Rating{} }, "the patient's rating, 0-100, or an unanswered prompt (data: scale, value, answered, prompt_t, by)"},
	KindRatingPrompt: {func() Data { return &RatingPrompt{} }, "the patient was asked for a rating (data: scale, question)"},
	KindCommand:      {func() Data { return &Command{} }, "a therapist's command (data: cmd, by, scale)"},
	KindAlert:        {func() Data { return &Alert{} }, "an alert to the therapist (data: source, message in plain words, level info|warning|alarm, none = warning; incident: alerts with the same key update one entry, resolved: its condition cleared; detail: the technical cause; limit, value, device, channel, cue)"},
	KindGap:          {func() Data { return &Gap{} }, "a sensor's data is missing between gap_start and gap_end (data: device, reason)"},
	KindSCR:          {func() Data { return &SCR{} }, "a skin conductance response, at its onset (data: device, onset, peak, amplitude, rise)"},
	KindMarker:       {func() Data { return &Marker{} }, "a therapist's marker or note (data: text, by)"},
	KindDevice:       {func() Data { return &DeviceInfo{} }, "a device's description (data: device, info)"},
	KindLook:         {func() Data { return &Look{} }, "where the patient looks in a 360° scene (data: cue, yaw_deg, pitch_deg, roll_deg)"},
	KindBaseline:     {func() Data { return &Baseline{} }, "the baseline period the live arousal index is measured against (data: from, to in seconds)"},
	KindQuality:      {func() Data { return &Quality{} }, "a sensor signal's quality changed (data: device, channel, flags; no flags = good)"},
	KindReplaySeek:   {func() Data { return &ReplaySeek{} }, "a replay jumped (data: from, to in seconds); never recorded"},
}

// Kinds lists every known kind, sorted.
func Kinds() []Kind {
	out := make([]Kind, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Known says whether k is a kind this version knows.
func Known(k Kind) bool { _, ok := registry[k]; return ok }

// Describe says what a kind means ("" for an unknown kind).
func Describe(k Kind) string { return registry[k].about }

// Zero returns an empty payload of kind k (nil for an unknown kind): tests
// use it to walk every kind.
func Zero(k Kind) Data {
	r, ok := registry[k]
	if !ok {
		return nil
	}
	return deref(r.zero())
}

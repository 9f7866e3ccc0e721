// Package event is cueroom's vocabulary: every kind of thing that happens in
// a session is a Go type here, with one JSON encoding that the recording, the
// feed, the exports, replay and reports all use.
//
// The package is a leaf: it imports only the standard library, so sensors,
// the engine, exports and commands can all speak it. Maps exist only at the
// JSON edge (Unknown keeps a kind this version does not know, verbatim).
//
// Adding a kind: declare its payload type below with a Kind method, add it
// to the registry in kinds.go; TestEveryKind then names each place that must
// learn it (BIDS descriptions, the dashboard's kinds.js, the state fold).
package event

import (
	"math"
	"time"
)

// Kind names an event kind on the wire ("cue_onset", ...).
type Kind string

// Data is an event's typed payload; its Kind says which kind the event is.
type Data interface {
	Kind() Kind
}

// Event is something that happened in a session, on the session clock.
type Event struct {
	T    time.Duration // session clock, monotonic
	Wall time.Time     // wall clock, for humans
	Step int           // step index, -1 when none
	Data Data          // never nil in an event built by New or decoded
}

// New makes an event of payload d at session time t.
func New(t time.Duration, step int, d Data) Event {
	return Event{T: t, Step: step, Data: d}
}

// Kind is the kind of the event's payload ("" if it has none).
func (e Event) Kind() Kind {
	if e.Data == nil {
		return ""
	}
	return e.Data.Kind()
}

// Seconds is a time span or session time in seconds, as the wire carries
// times inside event data.
type Seconds float64

// Secs converts a duration to Seconds.
func Secs(d time.Duration) Seconds { return Seconds(d.Seconds()) }

// Duration converts back, to the nearest nanosecond (seconds as a float64
// do not always hold a whole number of them).
func (s Seconds) Duration() time.Duration {
	return time.Duration(math.Round(float64(s) * float64(time.Second)))
}

// The payloads. JSON field names are the recording's since the first
// version; fields are listed in the order of their names so an encoded
// payload reads as the earlier map-based encoding did, byte for byte.

// SessionStart opens a session.
type SessionStart struct {
	By        string `json:"by"`
	Steps     int    `json:"steps"`
	Substance string `json:"substance"`
	Title     string `json:"title"`
}

// SessionEnd closes a session; Reason is "completed", "ended by ...", ....
type SessionEnd struct {
	Reason string `json:"reason"`
}

// StepStart starts a step (a presentation: a repeat is a new one).
type StepStart struct {
	Duration  Seconds `json:"duration"`
	ID        string  `json:"id"`
	Intensity int     `json:"intensity"`
	Name      string  `json:"name"`
	Neutral   bool    `json:"neutral"`
}

// StepEnd ends one.
type StepEnd struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// Cue says which cue came on or went off, and through which channel.
type Cue struct {
	Channel  string `json:"channel"` // "visual" or "audio"
	Cue      string `json:"cue"`
	File     string `json:"file"`
	Modality string `json:"modality"`       // the cue's kind: image, sound, video, ...
	Sink     string `json:"sink,omitempty"` // audio: the output that played it
	// Source says who saw the presentation: "" (the window) or "headset".
	Source string `json:"source,omitempty"`
}

// ModalityRating is the modality of a rating prompt's onset and offset: the
// prompt is on screen like a cue (the photodiode sees it) but is not one,
// so analyses of cue reactivity leave it out.
const ModalityRating = "rating"

// CueOnset is when a cue was first presented; CueOffset when it went off.
type (
	CueOnset  Cue
	CueOffset Cue
)

// Command is a therapist's (or the system's) command that changed the
// session: pause, resume, next, repeat, back, panic, rate, start, end.
type Command struct {
	By    string `json:"by"`
	Cmd   string `json:"cmd"`
	Scale string `json:"scale,omitempty"`
}

// PatientStop is the patient's own stop (Esc): the calm scene at once.
type PatientStop struct {
	By  string `json:"by"`
	Cmd string `json:"cmd"` // "patient_stop"
}

// RatingPrompt asks the patient for a rating.
type RatingPrompt struct {
	// AtEnd marks the step's closing rating: the step moves on once it is
	// answered (or times out). Recordings made before this field have none;
	// their closing prompts came exactly when the step's time was up.
	AtEnd    bool   `json:"at_end,omitempty"`
	Question string `json:"question"`
	Scale    string `json:"scale"`
}

// Rating is the patient's answer, or a prompt that went unanswered
// (Answered false): it timed out, or it was cancelled by a stop (the
// patient's Esc or the therapist's panic; By says whose).
type Rating struct {
	Answered  bool    `json:"answered"`
	By        string  `json:"by,omitempty"`
	Cancelled bool    `json:"cancelled,omitempty"`
	PromptT   Seconds `json:"prompt_t"` // session time of the prompt
	Scale     string  `json:"scale"`
	Value     *int    `json:"value,omitempty"` // nil when unanswered
}

// Marker is a therapist's marker or note.
type Marker struct {
	By   string `json:"by"`
	Text string `json:"text"`
}

// Alert tells the therapist something needs attention (or, Level "info",
// that something happened on its own).
//
// Alerts about one condition form an incident: those with the same
// Incident key ("sensor:bitalino", "arousal", "signal:bitalino:ecg") update
// one entry on the dashboard instead of adding another, and the one with
// Resolved set says the condition cleared (the sensor is back, arousal is
// under the ceiling again, the signal is usable); it keeps the incident's
// level. An alert with no Incident stands alone, as every alert of
// recordings made before these fields does.
type Alert struct {
	Channel string   `json:"channel,omitempty"`
	Cleared []string `json:"cleared,omitempty"`
	Cue     string   `json:"cue,omitempty"`
	// Detail is the technical cause (a serial error, a file name), kept
	// apart so Message stays in plain words.
	Detail   string `json:"detail,omitempty"`
	Device   string `json:"device,omitempty"`
	Incident string `json:"incident,omitempty"`
	Level    Level  `json:"level,omitempty"` // "" reads as LevelWarning
	// Limit names the safety limit that acted ("max_step", "max_exposure")
	// or, for the arousal ceiling, the ceiling's value.
	Limit    *Limit   `json:"limit,omitempty"`
	Message  string   `json:"message"`
	Quality  []string `json:"quality,omitempty"`
	Raised   []string `json:"raised,omitempty"`
	Resolved bool     `json:"resolved,omitempty"`
	Source   string   `json:"source"` // session, sensor, signal, arousal, sound, video, recording
	Value    *float64 `json:"value,omitempty"`
}

// Level is how urgent an alert is.
type Level string

// Alert levels. The empty level, all that recordings made before levels
// hold (but for habituation notices, "info"), is a warning.
const (
	// LevelInfo: something happened on its own or a setup notice (no
	// sound device, a step ended early); nothing to do now.
	LevelInfo Level = "info"
	// LevelWarning: the data or the setup needs attention (a sensor lost,
	// a noisy signal, a gap); the session itself is safe.
	LevelWarning Level = "warning"
	// LevelAlarm: the patient or the session needs the therapist now
	// (panic, the arousal ceiling, a safety limit, the recording failing).
	LevelAlarm Level = "alarm"
)

// Severity is the alert's level, LevelWarning when it has none.
func (a Alert) Severity() Level {
	if a.Level == "" {
		return LevelWarning
	}
	return a.Level
}

// Gap says a sensor's data is missing between Start and End.
type Gap struct {
	Device  string  `json:"device"`
	End     Seconds `json:"gap_end"`
	Start   Seconds `json:"gap_start"`
	Message string  `json:"message,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Source  string  `json:"source,omitempty"`
}

// SCR is a skin conductance response (derived), recorded at its onset.
type SCR struct {
	Amplitude float64 `json:"amplitude"` // µS
	Device    string  `json:"device"`
	Onset     Seconds `json:"onset"`
	Peak      Seconds `json:"peak"`
	Rise      Seconds `json:"rise"`
	Source    string  `json:"source"`
}

// Look is where the patient looks in a 360° scene.
type Look struct {
	Cue      string  `json:"cue"`
	PitchDeg float64 `json:"pitch_deg"`
	RollDeg  float64 `json:"roll_deg,omitempty"`
	YawDeg   float64 `json:"yaw_deg"`
}

// Baseline is the period the live arousal index is measured against.
type Baseline struct {
	From Seconds `json:"from"`
	Hi   float64 `json:"hi"`
	Lo   float64 `json:"lo"`
	To   Seconds `json:"to"`
}

// Quality says a sensor signal's quality changed (no flags: good).
type Quality struct {
	Channel string   `json:"channel"`
	Device  string   `json:"device"`
	Flags   []string `json:"flags"`
}

// DeviceInfo describes a device as the session saw it.
type DeviceInfo struct {
	Device string `json:"device"`
	Info   string `json:"info,omitempty"`
}

// ReplaySeek is published by a replay when it jumps: consumers drop what
// they show and take the context that follows.
type ReplaySeek struct {
	From Seconds `json:"from"`
	To   Seconds `json:"to"`
}

// Unknown is a kind this version does not know (a newer recording): kept
// verbatim so it is shown, exported and re-encoded unchanged.
type Unknown struct {
	Name Kind
	Raw  []byte // the data object's JSON, nil when absent
}

func (SessionStart) Kind() Kind { return KindSessionStart }
func (SessionEnd) Kind() Kind   { return KindSessionEnd }
func (StepStart) Kind() Kind    { return KindStepStart }
func (StepEnd) Kind() Kind      { return KindStepEnd }
func (CueOnset) Kind() Kind     { return KindCueOnset }
func (CueOffset) Kind() Kind    { return KindCueOffset }
func (Command) Kind() Kind      { return KindCommand }
func (PatientStop) Kind() Kind  { return KindPatientStop }
func (RatingPrompt) Kind() Kind { return KindRatingPrompt }
func (Rating) Kind() Kind       { return KindRating }
func (Marker) Kind() Kind       { return KindMarker }
func (Alert) Kind() Kind        { return KindAlert }
func (Gap) Kind() Kind          { return KindGap }
func (SCR) Kind() Kind          { return KindSCR }
func (Look) Kind() Kind         { return KindLook }
func (Baseline) Kind() Kind     { return KindBaseline }
func (Quality) Kind() Kind      { return KindQuality }
func (DeviceInfo) Kind() Kind   { return KindDevice }
func (ReplaySeek) Kind() Kind   { return KindReplaySeek }
func (u Unknown) Kind() Kind    { return u.Name }

// CueOf returns the cue reference of a cue onset or offset.
func CueOf(d Data) (Cue, bool) {
	switch c := d.(type) {
	case CueOnset:
		return Cue(c), true
	case CueOffset:
		return Cue(c), true
	}
	return Cue{}, false
}

// Int is a helper for Rating.Value.
func Int(v int) *int { return &v }

// Float is a helper for Alert.Value.
func Float(v float64) *float64 { return &v }

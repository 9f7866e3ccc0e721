// Package report renders the reactivity report of recorded cue exposure
// sessions as one self-contained HTML page: the session's header, the cue
// manifest, per-step and per-cue reactivity, habituation within a step,
// over repeats and across sessions, and plots drawn with gonum/plot and
// embedded in the page (inline SVG or PNG data: URIs), so the file can be
// mailed or archived and still open years later without a network.
//
// The numbers are computed elsewhere (package engine/analysis builds a
// Report's sessions from recordings); this package lays them out, and
// writes the file whole or not at all, never into a session folder. The
// same Report marshals to the JSON of `cueroom report --json`.
package report

import (
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio/hrv"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// Report is the reactivity report of one or more sessions of a participant.
type Report struct {
	Generated time.Time `json:"generated"`
	Software  string    `json:"software"` // what made the report
	Settings  Settings  `json:"settings"`
	Sessions  []Session `json:"sessions"`
	// Across follows each step's first presentation from session to
	// session, in the order the sessions were given (two sessions at least).
	Across []Across `json:"across_sessions,omitempty"`
}

// Settings are the analysis windows, the same for every session.
type Settings struct {
	Baseline     float64 `json:"baseline_s"`       // before an onset, for the onset-locked baseline
	Response     float64 `json:"response_s"`       // after an onset, for the onset-locked response
	SCRFrom      float64 `json:"scr_from_s"`       // SCRs counted when they start this long after onset…
	SCRTo        float64 `json:"scr_to_s"`         // …up to this long
	SCRThreshold float64 `json:"scr_threshold_us"` // smallest SCR amplitude asked for
	EndWindow    float64 `json:"end_window_s"`     // the end of a step, for habituation within it
	// SCRRelative drops SCRs under this fraction of the session's largest
	// (0: none); Decomposition names the tonic/phasic method asked for.
	SCRRelative   float64 `json:"scr_relative,omitempty"`
	Decomposition string  `json:"decomposition,omitempty"`
}

// Session is one recorded session.
type Session struct {
	Dir          string     `json:"dir"`
	Title        string     `json:"title"`
	Substance    string     `json:"substance"`
	Software     string     `json:"software"` // what recorded it
	ProtocolFile string     `json:"protocol_file,omitempty"`
	Start        time.Time  `json:"start"`
	End          *time.Time `json:"end"`        // null: never closed (a crash)
	Duration     float64    `json:"duration_s"` // session clock, start to end (or to the last record)
	EndReason    string     `json:"end_reason"` // "" when no session_end was recorded
	Complete     bool       `json:"complete"`   // closed normally, nothing lost
	Exposure     float64    `json:"exposure_s"` // time in non-neutral steps, pauses excluded

	// Recovered is the reader's note when data.rec was damaged (torn tail,
	// corrupt region): everything else was read. Notes are session.json's
	// notes (repairs); RecordingError the write error that stopped recording.
	Recovered      string   `json:"recovered,omitempty"`
	Notes          []string `json:"notes,omitempty"`
	RecordingError string   `json:"recording_error,omitempty"`

	Devices  []sensors.Stream `json:"devices"`
	Measured Measured         `json:"measured"`
	Baseline *Baseline        `json:"baseline"` // null: no baseline step was recorded
	Manifest []Cue            `json:"manifest"`
	Steps    []Presentation   `json:"steps"` // every step presentation, in order
	Cues     []Presentation   `json:"cues"`  // every cue onset, in order
	Repeats  []Habituation    `json:"habituation"`
	Log      []LogEntry       `json:"log"`

	// HRV is the whole session's heart rate variability (Task Force 1996
	// measures over the corrected NN series); null when no beats.
	HRV *hrv.Result `json:"hrv,omitempty"`
	// Quality is what the ECG's signal quality index withheld; null when
	// it withheld nothing (or the heart rate is not from an ECG).
	Quality *Quality `json:"signal_quality,omitempty"`

	Series *Series `json:"-"` // for the plots
}

// Measured says which signals the numbers come from. A null source means
// the signal was not measured, and every value from it is null.
type Measured struct {
	Device       string  `json:"device,omitempty"` // the sensor analysed
	HR           *string `json:"hr"`               // e.g. "ECG (bitalino ecg)"
	SCL          *string `json:"scl"`              // e.g. "EDA (bitalino eda)"
	Arousal      bool    `json:"arousal"`          // the live arousal index was recorded
	SCRThreshold float64 `json:"scr_threshold_us,omitempty"`
	GapSamples   int     `json:"gap_samples"` // samples missing from the sensor's stream
	Note         string  `json:"note,omitempty"`
}

// Quality says where the heart rate was withheld because the ECG was too
// noisy to find beats in (times are session time).
type Quality struct {
	Unusable []offline.Span `json:"unusable"`
	Seconds  float64        `json:"unusable_s"` // their total length
	Withheld int            `json:"withheld"`   // beat intervals left out
	Warning  string         `json:"warning,omitempty"`
}

// Baseline is the session's resting level: the baseline step.
type Baseline struct {
	From float64  `json:"from_s"`
	To   float64  `json:"to_s"`
	HR   *float64 `json:"hr_bpm"`
	SCL  *float64 `json:"scl_us"`
}

// Cue is one entry of the cue manifest, as recorded in session.json.
type Cue struct {
	ID           string  `json:"id"`
	Step         string  `json:"step"`
	StepName     string  `json:"step_name"`
	Intensity    int     `json:"intensity"`
	Neutral      bool    `json:"neutral"`
	Modality     string  `json:"modality"`
	Duration     float64 `json:"duration_s"`
	Personalised bool    `json:"personalised"`
	Description  string  `json:"description,omitempty"`
	File         string  `json:"file,omitempty"`
	SHA256       string  `json:"sha256,omitempty"`
	Text         string  `json:"text,omitempty"`
	Voice        string  `json:"voice,omitempty"`
}

// Presentation is one step presentation or one cue onset and the response
// to it. Onset-locked measures compare Settings.Baseline seconds before the
// onset with Settings.Response seconds after it; levels (steps only)
// compare the session's baseline step with the whole presentation.
type Presentation struct {
	N         int     `json:"n"`    // 1-based, in session order
	ID        string  `json:"id"`   // step id, or cue id
	Step      string  `json:"step"` // the step (a cue's own step)
	Name      string  `json:"name,omitempty"`
	Modality  string  `json:"modality,omitempty"` // cues: image, sound, text…
	Intensity int     `json:"intensity"`
	Neutral   bool    `json:"neutral"`
	Repeat    int     `json:"repeat"`     // 1 for the first presentation of this id
	Onset     float64 `json:"onset_s"`    // session clock
	End       float64 `json:"end_s"`      // step end, or cue offset
	Exposure  float64 `json:"exposure_s"` // End − Onset less pauses
	EndReason string  `json:"end_reason,omitempty"`

	HR       *offline.Change `json:"hr"`  // bpm; null: not measured or too little clean signal
	SCL      *offline.Change `json:"scl"` // µS
	SCR      *offline.SCRSum `json:"scr"` // SCRs starting SCRFrom–SCRTo s after onset; null: not measured
	HRLevel  *Level          `json:"hr_level,omitempty"`
	SCLLevel *Level          `json:"scl_level,omitempty"`
	Ratings  []Rating        `json:"ratings,omitempty"`
	Within   *Within         `json:"within,omitempty"` // steps
	// HRV over the presentation (onset to end), when it is long enough;
	// its from_s/to_s are session time.
	HRV *hrv.Result `json:"hrv,omitempty"`
	// Look is where the patient looked, for cues with recorded looks (360°
	// scenes, on the desktop or in a headset).
	Look *Look `json:"look,omitempty"`
}

// Look is the head (or view) direction's dwell over one cue presentation,
// pauses excluded. Yaw 0° is the picture's centre, positive to the right;
// pitch positive down (as the window records it).
type Look struct {
	Seconds   float64 `json:"seconds"` // time with a known view
	Looks     int     `json:"looks"`   // look events
	OpenYaw   float64 `json:"open_yaw_deg"`
	OpenPitch float64 `json:"open_pitch_deg"`
	AheadS    float64 `json:"ahead_s"` // within ±30° yaw and ±20° pitch of the opening direction
	MeanYaw   float64 `json:"mean_yaw_deg"`
	// Concentration is the mean resultant length of the yaw (1: one
	// direction throughout; 0: all round evenly).
	Concentration float64  `json:"concentration"`
	UpS           float64  `json:"up_s"` // looking up: pitch below −20°
	LevelS        float64  `json:"level_s"`
	DownS         float64  `json:"down_s"` // looking down: pitch above +20°
	Sectors       []Sector `json:"sectors"`
}

// Sector is the dwell in one 45° yaw sector around Yaw.
type Sector struct {
	Yaw     float64 `json:"yaw_deg"`
	Seconds float64 `json:"seconds"`
}

// Level compares the session's baseline with a whole presentation.
type Level struct {
	Baseline float64 `json:"baseline"`
	During   float64 `json:"during"`
	Delta    float64 `json:"delta"`
}

// Rating is one answer to a rating prompt; Value is null when the prompt
// timed out unanswered.
type Rating struct {
	Scale string   `json:"scale"` // craving or suds, 0–100
	Value *float64 `json:"value"`
	T     float64  `json:"t_s"`
	By    string   `json:"by,omitempty"`
}

// Within is habituation within one step presentation: how far skin
// conductance and arousal came down from their peak by the step's end.
type Within struct {
	SCLOnset     *float64 `json:"scl_onset_us"`  // mean over the Baseline seconds before onset
	SCLPeak      *float64 `json:"scl_peak_us"`   // highest 1-s mean during the step
	SCLPeakAt    *float64 `json:"scl_peak_s"`    // seconds after onset
	SCLEnd       *float64 `json:"scl_end_us"`    // mean over the step's last EndWindow seconds
	SCLRecovered *float64 `json:"scl_recovered"` // (peak − end) / (peak − onset); null when SCL rose < 0.05 µS
	ArousalPeak  *float64 `json:"arousal_peak"`  // z against the baseline, live index
	ArousalAt    *float64 `json:"arousal_peak_s"`
	ArousalEnd   *float64 `json:"arousal_end"`
}

// Habituation follows one step's or cue's responses over its repeats in
// the session.
type Habituation struct {
	Kind string `json:"kind"` // step or cue
	offline.Habituation
}

// Across follows one step over a participant's sessions, in the order
// given: does the response fade from session to session?
type Across struct {
	Step     string     `json:"step"`
	Sessions []string   `json:"sessions"`
	SCRAmp   []float64  `json:"scr_max_amplitude_us"` // first presentation in each session
	SCDelta  []*float64 `json:"sc_delta_us"`          // null where not measurable
	HRDelta  []*float64 `json:"hr_delta_bpm"`
	Craving  []*float64 `json:"craving"` // last craving rating of the step, null when none
	SCRSlope float64    `json:"scr_amplitude_slope_per_session"`
}

// LogEntry is something worth a clinician's notice: a patient stop, a
// therapist's command or marker, an alert, a sensor gap.
type LogEntry struct {
	T    float64 `json:"t_s"`
	Kind string  `json:"kind"`
	Text string  `json:"text"`
}

// Series are the session's signals on the session clock, for the plots. A
// NaN value breaks a line (a gap).
type Series struct {
	HR      []Point // bpm, one per accepted inter-beat interval
	SCL     []Point // µS, short-window means of the skin conductance
	Arousal []Point // z, the live arousal index as recorded
	SCRs    []Point // T: peak time, V: amplitude µS
	Stops   []float64
}

// Point is one value of a series.
type Point struct{ T, V float64 }

// Package scenes is the protocol model and its loader: a Protocol is a
// baseline step, graded exposure steps and an optional recovery step, each
// presenting cues (images, sounds, narration, text) for a duration.
//
// Protocols are YAML files written by hand by clinicians, so every problem is
// reported with its file and line and says what to do. Parse checks the file
// itself; Check then opens every media file. Nothing here renders or plays.
package scenes

import (
	"io/fs"
	"time"
)

// Version is the protocol format version this package reads (the cueroom: key).
const Version = 1

// Protocol is a whole cue exposure session plan.
type Protocol struct {
	Version     int
	Title       string
	Substance   string // alcohol, cocaine, heroin, nicotine, cannabis, methamphetamine, gambling or other
	Description string

	File   string // the protocol file as given, for messages
	FS     fs.FS  // media paths resolve against this: the protocol's folder
	Source []byte // the file exactly as read, recorded with each session

	// Safety limits (zero: none). MaxStep bounds one step's time including
	// waits for a rating; MaxExposure bounds the time spent in exposure
	// steps over the session, after which the session goes to recovery.
	MaxStep     time.Duration
	MaxExposure time.Duration

	// Crossfade is the fade into each step that gives no crossfade of its
	// own (crossfade: at the top; DefaultCrossfade when absent, 0 for hard
	// cuts). Each Step carries the one it uses.
	Crossfade time.Duration

	Baseline Step   // neutral, always first
	Steps    []Step // exposure steps, low to high intensity
	Recovery *Step  // neutral, optional, last
}

// All returns the steps in the order a session plays them: baseline, the
// exposure steps, then recovery if there is one. The slice is a fresh copy.
func (p *Protocol) All() []Step {
	all := make([]Step, 0, len(p.Steps)+2)
	all = append(all, p.Baseline)
	all = append(all, p.Steps...)
	if p.Recovery != nil {
		all = append(all, *p.Recovery)
	}
	return all
}

// Step is one scene: its cues are presented together for Duration.
type Step struct {
	ID        string // unique in the protocol: given, or "baseline", "s1".., "recovery"
	Name      string
	Intensity int // 0 for neutral steps, else 1..10
	Duration  time.Duration
	Cues      []Cue
	Rating    *Rating  // optional prompt for the patient
	EndWhen   *EndWhen // optional: end early once arousal and craving have habituated
	Neutral   bool     // baseline, recovery, or a step marked neutral: true
	// Crossfade is how long the window takes to dissolve the picture on
	// screen into this step's when the step starts after another one
	// (next, back, repeat or a jump; never out of or into the calm scene):
	// its own crossfade:, else the protocol's, at most half its Duration.
	// 0 is a hard cut.
	Crossfade time.Duration
	Line      int // where the step starts in the protocol file
}

// EndWhen ends an exposure step early, after at least Min, once arousal has
// habituated: skin conductance back within SCLWithin percent of its rise
// above the step's pre-cue level, held for Hold, and the last craving rating
// below CravingBelow (each part only when given; -1 means not given). The
// step's Duration stays its longest time.
type EndWhen struct {
	SCLWithin    float64 // percent of the rise, -1: not a condition
	Hold         time.Duration
	CravingBelow float64 // 0..100, -1: not a condition
	Min          time.Duration
	Line         int
}

// Kind is what a cue presents.
type Kind string

// Cue kinds. Each has its own YAML key holding the media path or the text.
const (
	KindImage     Kind = "image"
	KindSound     Kind = "sound"
	KindNarration Kind = "narration"
	KindText      Kind = "text"
	// KindBreathing is an animated breathing pacer for coping practice; its
	// value is the pace in breaths per minute.
	KindBreathing Kind = "breathing"
	// KindPanorama is a 360° equirectangular picture (exactly 2:1) the
	// patient looks around in.
	KindPanorama Kind = "panorama"
	// KindVideo is an MPEG-1 video with its sound.
	KindVideo Kind = "video"
)

// Kinds returns every cue kind, in a fixed order: the one closed list. A
// test fails when a Kind constant is missing from it, and each package that
// handles cues (parsing, loading, the manifest, drawing) has a test walking
// it, so a new kind is pointed out everywhere it must be handled. The slice
// is a fresh copy.
func Kinds() []Kind {
	return []Kind{KindImage, KindSound, KindNarration, KindText, KindBreathing, KindPanorama, KindVideo}
}

// Cue is one stimulus within a step.
type Cue struct {
	ID   string // unique in the protocol: given, or "<step id>.c1"..
	Kind Kind
	Path string // media file, slash-separated, relative to the protocol's folder; "" for text
	Text string // the text of a text cue

	BreathsPerMin float64 // breathing only: the pacer's rate

	FOV float64 // panorama only: horizontal field of view, degrees
	Yaw float64 // panorama only: starting direction, degrees (0 = picture centre)

	Subtitles string    // narration only, optional: shown for the whole narration
	Captions  []Caption // narration only, optional: timed subtitles
	Voice     string    // narration spoken from Text by espeak-ng ("say:"): its voice
	Fit       string    // image only: FitFit (default) or FitFill
	Zoom      float64   // image only: slow zoom reaching this scale at the step's end (0 or 1: none)
	Pan       string    // image only: slow pan towards left, right, up or down ("": none)

	Loop    bool          // sound; and video, set when End is VideoLoop
	End     string        // video only: VideoLoop (default), VideoHold or VideoBlank
	GainDB  float64       // sound and narration: -60..+12 dB
	FadeIn  time.Duration // sound and narration
	FadeOut time.Duration // sound and narration

	Description  string // what the cue shows, for the cue manifest
	Personalised bool   // made for this patient (their own photos, recordings)

	Line int // line of the cue's kind key (image:, sound:, ...)
	col  int
}

// Caption is one timed subtitle of a narration, shown from At (after the
// narration starts) until the next caption.
type Caption struct {
	At   time.Duration
	Text string
}

// Spoken says whether a narration is spoken from its text rather than played
// from a file.
func (c Cue) Spoken() bool { return c.Kind == KindNarration && c.Path == "" && c.Text != "" }

// What a video shows after its last picture while its step goes on (end:).
const (
	VideoLoop  = "loop"  // start again, pictures and sound (the default)
	VideoHold  = "hold"  // keep the last picture on screen
	VideoBlank = "blank" // take the picture off (the step's other cues stay)
)

// Crossfades between steps: the default and the longest.
const (
	DefaultCrossfade = 500 * time.Millisecond
	MaxCrossfade     = 10 * time.Second
)

// Image fit modes.
const (
	FitFit  = "fit"  // whole image visible, letterboxed
	FitFill = "fill" // screen covered, edges cropped
)

// Rating is a prompt the patient answers on a 0-100 scale.
type Rating struct {
	Scale    string // ScaleCraving or ScaleSUDS
	Question string
	At       string        // AtStart or AtEnd (default) of the step
	Every    time.Duration // also ask every so often during the step (0: never)
	Line     int           // of the rating: key
}

// Rating scales and moments.
const (
	ScaleCraving = "craving" // craving visual analogue scale, 0-100
	ScaleSUDS    = "suds"    // subjective units of distress, 0-100
	AtStart      = "start"
	AtEnd        = "end"
)

// substances lists the accepted values of the substance key.
var substances = []string{"alcohol", "cocaine", "heroin", "nicotine", "cannabis", "methamphetamine", "gambling", "other"}

// Limits of the format.
const (
	maxDuration  = 2 * time.Hour // of a step, and of a fade
	minIntensity = 1
	maxIntensity = 10
	minGainDB    = -60
	maxGainDB    = 12
	maxSteps     = 100
	maxCues      = 50   // per step
	maxTextRunes = 2000 // text cues, subtitles, questions, descriptions
	maxIDLen     = 64
)

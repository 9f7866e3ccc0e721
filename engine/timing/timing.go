// Package timing checks when visual cues really reached the screen, from a
// photodiode recorded with the session: `cueroom run --sync-patch` lights a
// small patch in a corner of the window on each visual onset, a light
// sensor on the patch feeds an analog input of the sensor (a BITalino's LUX
// sensor, any photodiode on an analog input, or the simulator's
// photodiode=A5), and Analyze finds the light's edges in that channel and
// matches each visual cue onset to the first rising edge after it: the
// onset → light latency, per cue kind.
//
// How: the channel's samples are read twice from data.rec (bounded memory
// for any length). The first pass histograms them and splits the values in
// two classes (Otsu's threshold, which holds when the light is on for a
// small share of the session); the medians of the two classes are the dark
// and the light level, and they must stand apart from the noise within
// each (else there are no edges, and the error says so). The second pass
// finds the crossings of the midway threshold, with a hysteresis of a tenth
// of the swing, each timed by linear interpolation between the samples
// either side (at 1 kHz, good to about ±0.5 ms plus the sample clock's own
// error). Onsets at the same time (one frame) share an edge; onsets in
// order each claim the first rising edge not yet claimed that comes within
// Options.Window after them (or up to Options.Early before: the
// interpolation's uncertainty). An onset less than Options.Lit after the
// one before it, which lit the patch, finds the patch white already: it
// has no edge of its own and is counted as shared, not as unmatched.
package timing

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// What a session may lack for the analysis (cueroom timing exits 2 on
// them: the session or the request is wrong, not the machine). Errors
// returned wrap one of them and say what to do.
var (
	ErrNoChannel = errors.New("no analog channel")
	ErrChannel   = errors.New("channel not found or ambiguous")
	ErrNoEdges   = errors.New("no light edges")
)

// wrapped is an error of one of the kinds above with its own words.
type wrapped struct {
	msg string
	is  error
}

func (e wrapped) Error() string { return e.msg }
func (e wrapped) Unwrap() error { return e.is }

func errorf(is error, format string, a ...any) error { return wrapped{fmt.Sprintf(format, a...), is} }

// Options tune the analysis; zero values take the defaults.
type Options struct {
	// Channel names the photodiode's channel: its label ("a5", "lux"), the
	// analog input it is on ("A5"), or DEVICE:LABEL; case does not matter.
	// "" picks the one analog channel, or the one named for light.
	Channel string
	// Window is how long after an onset its light may come; default 500 ms.
	Window time.Duration
	// Early is how long before an onset an edge may still be its light
	// (the edge's timing is uncertain by about half a sample period);
	// default one sample period. Negative: none.
	Early time.Duration
	// Lit is how long the sync patch stays white after an onset's frame
	// (the window's PatchOn); default DefaultLit. Negative: onsets never
	// share a white period.
	Lit time.Duration
}

// DefaultLit is Options.Lit's default: cueroom run --sync-patch keeps the
// patch white this long after each visual onset (window.PatchOn; a test in
// cmd/cueroom keeps the two equal).
const DefaultLit = 100 * time.Millisecond

// DefaultWindow is Options.Window's default.
const DefaultWindow = 500 * time.Millisecond

// Report is the analysis of one session.
type Report struct {
	Session  string  `json:"session"`
	Channel  Channel `json:"channel"`
	Samples  int     `json:"samples"`
	Levels   Levels  `json:"levels"`
	WindowMS float64 `json:"window_ms"` // Options.Window
	EarlyMS  float64 `json:"early_ms"`  // Options.Early
	Rises    int     `json:"rising_edges"`
	// Untimed are rising edges across a gap in the samples: the light
	// came on then, but when is not known. They are left out.
	Untimed int `json:"untimed_edges"`
	// Kinds are the statistics per cue kind (image, text, video…), by
	// name; All over every visual onset.
	Kinds []Stats `json:"kinds"`
	All   Stats   `json:"all"`
	// Onsets are every visual onset, in time order, with its light.
	Onsets []Onset `json:"onsets"`
	// UnmatchedEdges are the session times (s) of the rising edges no
	// onset claimed.
	UnmatchedEdges []float64 `json:"unmatched_edges"`
}

// Stats sums up the latencies of a set of onsets.
type Stats struct {
	Kind      string   `json:"kind"`
	Count     int      `json:"count"`                // onsets matched to a light edge
	Unmatched int      `json:"unmatched"`            // onsets with no light edge
	Shared    int      `json:"shared"`               // onsets that came while the patch was white already
	Latency   *Latency `json:"latency_ms,omitempty"` // nil when Count is 0
}

// Latency is onset → light, in milliseconds. SD is the sample standard
// deviation (0 for a single onset).
type Latency struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// Onset is a visual cue onset and the light edge matched to it.
type Onset struct {
	T    float64 `json:"t"` // session time, s
	Cue  string  `json:"cue"`
	Kind string  `json:"kind"` // the cue's modality
	// Edge is the session time (s) of its light; LatencyMS is Edge − T.
	Edge      *float64 `json:"edge,omitempty"`
	LatencyMS *float64 `json:"latency_ms,omitempty"`
	// Unmatched says why it has no edge.
	Unmatched string `json:"unmatched,omitempty"`
	// Shared: it came while the patch was still white from an earlier
	// onset, so it has no edge of its own.
	Shared bool `json:"shared,omitempty"`

	at time.Duration // T as recorded
}

// Analyze measures onset → light latencies in the session x indexes.
func Analyze(x *record.Index, opt Options) (*Report, error) {
	all := channels(streamsOf(x), func(dev string) bool { return x.Stats(dev).Count > 0 })
	ch, err := choose(all, opt.Channel)
	if err != nil {
		return nil, err
	}
	st := x.Stats(ch.Device)
	period := time.Duration(0)
	if ch.Rate > 0 {
		period = time.Duration(float64(time.Second) / ch.Rate)
	} else if st.Count > 1 {
		period = (st.Max - st.Min) / time.Duration(st.Count-1)
	}
	opt = opt.withDefaults(period)

	var h histogram
	n := 0
	for s := range x.Samples(ch.Device) {
		if s.N > ch.Index {
			h.add(s.Values[ch.Index])
			n++
		}
	}
	if err := x.Err(); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errorf(ErrNoEdges, "%v: %s recorded no values in this column", ErrNoEdges, ch)
	}
	lv, err := h.levels()
	if err != nil {
		return nil, errorf(ErrNoEdges, "%s: %v", ch, err)
	}
	d := detector{lv: lv, maxGap: max(period*5/2, time.Millisecond)}
	for s := range x.Samples(ch.Device) {
		if s.N > ch.Index {
			d.add(s.T, s.Values[ch.Index])
		}
	}
	if err := x.Err(); err != nil {
		return nil, err
	}
	var rises []time.Duration
	untimed := 0
	for _, e := range d.edges {
		switch {
		case e.Rise && e.Untimed:
			untimed++
		case e.Rise:
			rises = append(rises, e.T)
		}
	}
	if len(rises) == 0 {
		return nil, errorf(ErrNoEdges, "%v in %s: the light never came on with samples either side to time it (%d times across gaps)",
			ErrNoEdges, ch, untimed)
	}
	r := &Report{Session: x.Dir, Channel: ch, Samples: n, Levels: lv, Rises: len(rises), Untimed: untimed,
		WindowMS: toMS(opt.Window), EarlyMS: toMS(opt.Early)}
	r.match(visualOnsets(x.Events), rises, opt, st)
	return r, nil
}

func (o Options) withDefaults(period time.Duration) Options {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	switch {
	case o.Lit < 0:
		o.Lit = 0
	case o.Lit == 0:
		o.Lit = DefaultLit
	}
	switch {
	case o.Early < 0:
		o.Early = 0
	case o.Early == 0:
		o.Early = max(period, time.Millisecond)
	}
	return o
}

// streamsOf lists the streams as announced in data.rec, then those only
// session.json knows.
func streamsOf(x *record.Index) []sensors.Stream {
	out := append([]sensors.Stream(nil), x.Meta.Streams...)
	return append(out, x.Streams...) // later announcements win
}

// visualModalities are the cue kinds shown in the window. Recordings say
// the channel ("visual"); this list serves those that do not.
var visualModalities = map[string]bool{"image": true, "panorama": true, "video": true, "text": true,
	"breathing": true, "pacer": true, "rating": true, "rating_prompt": true}

// visualOnsets are the onsets of cues shown in the window (not on a
// headset, which the photodiode does not see), in time order.
func visualOnsets(evs []event.Event) []Onset {
	var out []Onset
	for _, e := range evs {
		c, ok := e.Data.(event.CueOnset)
		if !ok {
			continue
		}
		visual := c.Channel == "visual" || c.Channel == "" && visualModalities[c.Modality]
		if !visual || c.Source == "headset" {
			continue
		}
		kind := c.Modality
		if kind == "" {
			kind = "visual"
		}
		out = append(out, Onset{T: e.T.Seconds(), Cue: c.Cue, Kind: kind, at: e.T})
	}
	return out
}

// match gives each group of onsets (the same time: one frame) the first
// unclaimed rising edge in [T − Early, T + Window], and sums up.
func (r *Report) match(onsets []Onset, rises []time.Duration, opt Options, st record.SampleStats) {
	claimed := make([]bool, len(rises))
	j := 0
	var litUntil time.Duration
	lit := false // the onsets before lit the patch, which is white until litUntil
	for i := 0; i < len(onsets); {
		k := i + 1
		t := onsets[i].at
		for k < len(onsets) && onsets[k].at == t {
			k++
		}
		for j < len(rises) && rises[j] < t-opt.Early {
			j++
		}
		shared := lit && opt.Lit > 0 && t < litUntil
		if opt.Lit > 0 {
			litUntil = t + opt.Lit
		}
		switch {
		case shared:
			for g := i; g < k; g++ {
				onsets[g].Shared = true
			}
		case t < st.Min || t > st.Max:
			lit = false
			for g := i; g < k; g++ {
				onsets[g].Unmatched = "no samples of the channel then"
			}
		case j < len(rises) && rises[j] <= t+opt.Window:
			claimed[j] = true
			lit = true
			for g := i; g < k; g++ {
				edge, lat := rises[j].Seconds(), toMS(rises[j]-t)
				onsets[g].Edge, onsets[g].LatencyMS = &edge, &lat
			}
			j++
		default:
			lit = false
			for g := i; g < k; g++ {
				onsets[g].Unmatched = fmt.Sprintf("no light within %v", opt.Window)
			}
		}
		i = k
	}
	r.Onsets = onsets
	if r.Onsets == nil {
		r.Onsets = []Onset{}
	}
	r.UnmatchedEdges = []float64{}
	for j, t := range rises {
		if !claimed[j] {
			r.UnmatchedEdges = append(r.UnmatchedEdges, t.Seconds())
		}
	}
	byKind := map[string][]Onset{}
	var kinds []string
	for _, o := range onsets {
		if _, ok := byKind[o.Kind]; !ok {
			kinds = append(kinds, o.Kind)
		}
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	slices.Sort(kinds)
	r.Kinds = []Stats{}
	for _, k := range kinds {
		r.Kinds = append(r.Kinds, stats(k, byKind[k]))
	}
	r.All = stats("all", onsets)
}

func stats(kind string, onsets []Onset) Stats {
	s := Stats{Kind: kind}
	var lats []float64
	for _, o := range onsets {
		if o.Shared {
			s.Shared++
			continue
		}
		if o.LatencyMS == nil {
			s.Unmatched++
			continue
		}
		lats = append(lats, *o.LatencyMS)
	}
	s.Count = len(lats)
	if s.Count == 0 {
		return s
	}
	l := Latency{Min: lats[0], Max: lats[0]}
	for _, v := range lats {
		l.Mean += v
		l.Min, l.Max = min(l.Min, v), max(l.Max, v)
	}
	l.Mean /= float64(len(lats))
	if len(lats) > 1 {
		var ss float64
		for _, v := range lats {
			ss += (v - l.Mean) * (v - l.Mean)
		}
		l.SD = math.Sqrt(ss / float64(len(lats)-1))
	}
	s.Latency = &l
	return s
}

func toMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

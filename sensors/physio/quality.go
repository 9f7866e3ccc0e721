package physio

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

// Quality is a set of signal-quality flags for one channel. Any flag keeps
// that channel out of the arousal index and out of the baseline.
type Quality uint16

// Quality flags.
const (
	Flat         Quality = 1 << iota // the signal stays within a hair of one value
	Saturated                        // stuck at the input range's limit, or clipped
	ElectrodeOff                     // ECG flat or saturated for 1 s; EDA under 0.05 µS for 1 s
	FingerOut                        // PPG flat or saturated for 1 s, or no pulse for 5 s
	NoBeats                          // ECG/PPG/HR: no beat (or no valid device HR) for 5 s
	Missing                          // blank or non-finite values
	Gap                              // samples were lost (the arrival clock jumped)
	// Noisy: the ECG detector judged its latest window unusable (implausible
	// rate, gaps, irregular intervals, unlike beats or noise), so the beats
	// may include noise or miss real ones; its heart rate is withheld.
	Noisy
)

var qualityNames = []struct {
	q          Quality
	name, hint string
}{
	{Flat, "flat line", "check the sensor is connected"},
	{Saturated, "saturated", "check electrode contact or lower the gain"},
	{ElectrodeOff, "electrode off", "re-attach the electrodes"},
	{FingerOut, "finger out", "put the finger back in the sensor"},
	{NoBeats, "no beats", "check the sensor's placement"},
	{Missing, "missing values", "check the device link"},
	{Gap, "gap in the data", "check the device link"},
	{Noisy, "unreliable heart rate", "check the electrode contact; ask the client to sit still"},
}

// String lists the flags, e.g. "flat line, electrode off"; "ok" when none.
func (q Quality) String() string {
	if q == 0 {
		return "ok"
	}
	var parts []string
	for _, n := range qualityNames {
		if q&n.q != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ", ")
}

// Hint says what the therapist can do about the flags.
func (q Quality) Hint() string {
	var parts []string
	for _, n := range qualityNames {
		if q&n.q != 0 && !containsStr(parts, n.hint) {
			parts = append(parts, n.hint)
		}
	}
	return strings.Join(parts, "; ")
}

func containsStr(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Names returns the flag names, for JSON.
func (q Quality) Names() []string {
	out := []string{}
	for _, n := range qualityNames {
		if q&n.q != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// MarshalJSON writes the flags as a list of names, e.g. ["flat line"].
func (q Quality) MarshalJSON() ([]byte, error) { return json.Marshal(q.Names()) }

// UnmarshalJSON reads a list of flag names.
func (q *Quality) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	*q = 0
	for _, s := range names {
		found := false
		for _, n := range qualityNames {
			if n.name == s {
				*q |= n.q
				found = true
			}
		}
		if !found {
			return fmt.Errorf("physio: unknown quality flag %q", s)
		}
	}
	return nil
}

// qualityCheck tracks the flags of one channel, sample by sample, in O(1).
type qualityCheck struct {
	kind    kind
	fs      float64
	rng     Range
	hasRng  bool
	flatEps float64
	flatWin int64

	n         int64
	runStart  float64 // value where the current "flat" run began
	runLen    int64
	same      int64 // identical consecutive values
	prev      float64
	envHi     float64
	envLo     float64
	envDecay  float64
	railRun   int64
	badRun    int64 // flat or saturated
	lowRun    int64 // EDA under the electrode-off level
	lastSeen  [16]int64
	hold      int64
	clipRun   int64
	oneSecond int64
}

func newQualityCheck(k kind, fs float64, r Range, hasRange bool) *qualityCheck {
	q := &qualityCheck{kind: k, fs: fs, rng: r, hasRng: hasRange}
	q.oneSecond = max(1, int64(math.Round(fs)))
	q.hold = q.oneSecond
	q.clipRun = max(3, int64(math.Round(0.1*fs)))
	switch k {
	case kindECG:
		q.flatEps, q.flatWin = 0.002, 2*q.oneSecond
	case kindEDA:
		q.flatEps, q.flatWin = 0, 60*q.oneSecond
	case kindPPG:
		q.flatEps, q.flatWin = 0, 2*q.oneSecond
	default: // a device's HR may well hold one value
		q.flatEps, q.flatWin = 0, math.MaxInt64
	}
	q.envDecay = math.Exp(-1 / (5 * fs))
	for i := range q.lastSeen {
		q.lastSeen[i] = math.MinInt64 / 2
	}
	return q
}

func (q *qualityCheck) set(f Quality) {
	for i := range q.lastSeen {
		if f&(1<<i) != 0 {
			q.lastSeen[i] = q.n
		}
	}
}

// flags returns the flags seen within the last second: a flag clears only
// after a second without its condition, so alerts do not flap.
func (q *qualityCheck) flags() Quality {
	var f Quality
	for i := range q.lastSeen {
		if q.n-q.lastSeen[i] <= q.hold {
			f |= 1 << i
		}
	}
	return f
}

// push checks one sample. missing says the value was not usable (v is then
// the last good value, held).
func (q *qualityCheck) push(v float64, missing bool) {
	q.n++
	if missing {
		q.set(Missing)
	}
	if q.n == 1 {
		q.runStart, q.prev, q.envHi, q.envLo = v, v, v, v
	}
	// Flat: stays within flatEps of where the run began.
	if math.Abs(v-q.runStart) <= q.flatEps {
		q.runLen++
	} else {
		q.runStart, q.runLen = v, 1
	}
	flat := q.runLen >= q.flatWin
	// Clipping: a run of identical values at the edge of the recent
	// envelope while the signal was moving before.
	if v == q.prev {
		q.same++
	} else {
		q.same = 1
	}
	q.prev = v
	q.envHi = max(v, v+(q.envHi-v)*q.envDecay)
	q.envLo = min(v, v+(q.envLo-v)*q.envDecay)
	sat := false
	if q.hasRng && (v <= q.rng.Min || v >= q.rng.Max) {
		q.railRun++
		sat = q.railRun >= 3
	} else {
		q.railRun = 0
	}
	if q.kind == kindECG || q.kind == kindPPG {
		moving := q.envHi-q.envLo > max(q.flatEps, 1e-12*math.Abs(v))
		if q.same >= q.clipRun && moving && (v >= q.envHi || v <= q.envLo) {
			sat = true
		}
	}
	if q.kind == kindEDA && v > maxSC {
		sat = true
	}
	if flat {
		q.set(Flat)
	}
	if sat {
		q.set(Saturated)
	}
	if flat || sat {
		q.badRun++
	} else {
		q.badRun = 0
	}
	switch q.kind {
	case kindECG:
		if q.badRun >= q.oneSecond {
			q.set(ElectrodeOff)
		}
	case kindPPG:
		if q.badRun >= q.oneSecond {
			q.set(FingerOut)
		}
	case kindEDA:
		if v < minSC {
			q.lowRun++
		} else {
			q.lowRun = 0
		}
		if q.lowRun >= q.oneSecond {
			q.set(ElectrodeOff)
		}
	}
}

// Skin conductance outside [minSC, maxSC] µS is not skin: an open circuit
// below, a short or a wrong conversion above.
const (
	minSC = 0.05
	maxSC = 100
)

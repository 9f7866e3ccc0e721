package offline

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
	"github.com/cueroom/cueroom/sensors/physio/eda"
)

// A CSV file does not say its sampling rate, and a wrong --rate gives
// plausible-looking numbers (1 kHz ECG read as 100 Hz gave 114 bpm: the
// detector, tuned to physical frequencies, hunts noise at its own pace). So
// the rate is judged from the signal:
//
//   - ECG: at the right rate the QRS detector finds a rhythm (at least 70 %
//     of beat intervals within 20 % of their median), a heart rate of
//     25–250 bpm, and QRS complexes whose R wave, averaged over the beats,
//     is 10–150 ms wide at half height. A rhythm with an impossible rate or
//     width is a wrong rate. No rhythm at all may be noise, or a wrong rate:
//     it is a wrong rate when at a usual device rate 2.5 or more times away
//     the same samples give a clear rhythm (85 % regular, 30–200 bpm, R
//     15–100 ms wide), which is then suggested.
//   - EDA: the largest skin conductance responses (found trough to peak
//     with no limit on their rise time) rise in 0.4–8 s at the right rate
//     (0.5–5 s is the textbook range). A recording without clear responses
//     is not judged.
//
// Measured on the shared recordings (VALIDATION.md): rates 10 times too
// low or too high are caught; a factor of 3 is caught for some recordings
// and not others (a heart rate of 56 or 169 bpm are both possible).

// RateError says the sampling rate given does not fit the signal.
type RateError struct {
	Channel string  // "ECG", "EDA"
	Given   float64 // Hz
	Likely  float64 // Hz, a usual device rate; 0 when none fits
	Why     string  // what the signal shows at the given rate
}

func (e *RateError) Error() string {
	s := fmt.Sprintf("a sampling rate of %g Hz does not fit the %s: %s", e.Given, e.Channel, e.Why)
	if e.Likely > 0 {
		s += fmt.Sprintf("; it looks like %g Hz: check the rate (--rate %g)", e.Likely, e.Likely)
	} else {
		s += "; check the rate"
	}
	return s
}

// commonRates are sampling rates physiological recorders use.
var commonRates = []float64{10, 16, 20, 25, 32, 50, 64, 100, 125, 128, 200, 250, 256, 300, 360, 400, 500, 512,
	1000, 1024, 2000, 2048, 3000, 4000, 5000, 8000, 10000}

// Typical values at the right rate, and the ranges accepted.
const (
	hrMin      = 25.0 // bpm
	hrMax      = 250.0
	rWidthMin  = 0.010 // s, R wave at half height, averaged over beats
	rWidthMax  = 0.150
	rWidthTyp  = 0.030
	hrTyp      = 70.0
	edaRiseTyp = 1.8 // s, the largest responses' rise time
	edaRiseMin = 0.4
	edaRiseMax = 8.0
)

// rateExcerpt caps the samples judged: enough beats at any rate, and fast.
const rateExcerpt = 1 << 16

// CheckRate judges in.Rate against the ECG and EDA of in (PPG is not
// judged) and returns a *RateError when it does not fit; nil when it fits
// or the signal cannot tell.
func CheckRate(in Input) error {
	if in.ECG != nil && in.Rate >= ecg.MinRate {
		if err := judgeECG(excerpt(in.ECG), in.Rate); err != nil {
			return err
		}
	}
	if in.EDA != nil {
		if r, ok := edaRise(in.EDA, in.Rate); ok {
			if err := judgeEDA(r, in.Rate); err != nil {
				return err
			}
		}
	}
	return nil
}

// rhythm is what the QRS detector finds in an ECG at one rate.
type rhythm struct {
	beats   int
	regular float64 // share of intervals within 20 % of the median
	hr      float64 // bpm, from the median interval
	width   float64 // s, the mean R wave's width at half height
}

func findRhythm(x []float64, rate float64) (rhythm, bool) {
	d, err := ecg.New(rate, ecg.Auto)
	if err != nil {
		return rhythm{}, false
	}
	var beats []float64
	for _, v := range x {
		beats = append(beats, d.Push(v)...)
	}
	if len(beats) < 8 {
		return rhythm{beats: len(beats)}, false
	}
	rr := make([]float64, 0, len(beats)-1)
	for i := 1; i < len(beats); i++ {
		rr = append(rr, beats[i]-beats[i-1])
	}
	slices.Sort(rr)
	med := rr[len(rr)/2]
	reg := 0
	for _, v := range rr {
		if math.Abs(v-med) < 0.2*med {
			reg++
		}
	}
	return rhythm{beats: len(beats), regular: float64(reg) / float64(len(rr)), hr: 60 * rate / med,
		width: rWidth(x, beats, max(2, int(0.3*rate))) / rate}, true
}

// rWidth is the width, in samples, at half height of the mean of x around
// the beats (each beat's stretch with its own mean removed: baseline wander
// cancels), over ±half samples, 3-point median filtered.
func rWidth(x, beats []float64, half int) float64 {
	acc := make([]float64, 2*half+1)
	n := 0
	for _, b := range beats {
		c := int(math.Round(b))
		if c-half < 0 || c+half >= len(x) {
			continue
		}
		m := 0.0
		for k := -half; k <= half; k++ {
			m += x[c+k]
		}
		m /= float64(2*half + 1)
		for k := -half; k <= half; k++ {
			acc[k+half] += x[c+k] - m
		}
		n++
	}
	if n == 0 {
		return 0
	}
	// A 3-point median first: each beat is placed at its noisy maximum, so
	// with much noise the mean has a one-sample spike there.
	med := make([]float64, len(acc))
	for i := range acc {
		a, b, c := acc[max(0, i-1)], acc[i], acc[min(len(acc)-1, i+1)]
		med[i] = max(min(a, b), min(max(a, b), c))
	}
	acc = med
	pk := math.Abs(acc[half])
	l, r := half, half
	for l > 0 && math.Abs(acc[l]) > pk/2 {
		l--
	}
	for r < 2*half && math.Abs(acc[r]) > pk/2 {
		r++
	}
	return float64(r - l)
}

func (r rhythm) regularAt(min float64) bool { return r.beats >= 8 && r.regular >= min }

func judgeECG(x []float64, rate float64) error {
	if len(x) < int(10*rate) && len(x) < 2000 {
		return nil // too short to tell
	}
	at, ok := findRhythm(x, rate)
	if ok && at.regularAt(0.7) {
		if at.hr >= hrMin && at.hr <= hrMax && at.width >= rWidthMin && at.width <= rWidthMax {
			return nil
		}
	}
	// Another usual rate with a clear rhythm?
	best, bestCost := 0.0, math.Inf(1)
	for _, c := range commonRates {
		if c < ecg.MinRate || c == rate || math.Abs(math.Log(c/rate)) < math.Log(2.5) || c > 30*rate || c < rate/30 {
			continue
		}
		o, ok := findRhythm(x, c)
		if !ok || !o.regularAt(0.85) || o.hr < 30 || o.hr > 200 || o.width < 0.015 || o.width > 0.1 {
			continue
		}
		k := (1-o.regular)*10 + math.Abs(math.Log2(o.width/rWidthTyp)) + math.Abs(math.Log2(o.hr/hrTyp))
		if tenfold(c, rate) {
			k -= 2 // a digit too many or too few is the usual slip
		}
		if k < bestCost {
			best, bestCost = c, k
		}
	}
	var why string
	switch {
	case ok && at.regularAt(0.7):
		why = fmt.Sprintf("at that rate its heart rate would be %.0f bpm and its R waves %s wide", at.hr, fmtDur(at.width))
	case best > 0:
		why = "at that rate no heart rhythm is found in it"
	default:
		return nil // no rhythm here or elsewhere: noise, not a rate we can judge
	}
	return &RateError{Channel: "ECG", Given: rate, Likely: best, Why: why}
}

// tenfold reports whether a/b is a power of ten.
func tenfold(a, b float64) bool {
	l := math.Log10(a / b)
	return math.Abs(l-math.Round(l)) < 1e-9
}

func judgeEDA(rise, rate float64) error {
	s := rise / rate
	if s >= edaRiseMin && s <= edaRiseMax {
		return nil
	}
	best, cost := 0.0, math.Inf(1)
	for _, c := range commonRates {
		sc := rise / c
		if sc < edaRiseMin || sc > edaRiseMax || c > 2000 {
			continue // nobody records skin conductance above 2 kHz
		}
		k := math.Abs(math.Log2(sc / edaRiseTyp))
		if tenfold(c, rate) {
			k -= 2 // a digit too many or too few is the usual slip
		}
		if k < cost {
			best, cost = c, k
		}
	}
	why := fmt.Sprintf("at that rate its responses would rise in about %s (they take 0.5–5 s)", fmtDur(s))
	return &RateError{Channel: "EDA", Given: rate, Likely: best, Why: why}
}

func fmtDur(s float64) string {
	switch {
	case s < 1:
		return strconv.FormatFloat(s*1000, 'f', 0, 64) + " ms"
	default:
		return strings.TrimSuffix(strconv.FormatFloat(s, 'f', 1, 64), ".0") + " s"
	}
}

// excerpt is up to rateExcerpt samples of x from its middle, gaps held at
// the last value (dropped before the first).
func excerpt(x []float64) []float64 {
	from := max(0, (len(x)-rateExcerpt)/2)
	out := make([]float64, 0, min(len(x), rateExcerpt))
	last, have := 0.0, false
	for _, v := range x[from:min(len(x), from+rateExcerpt)] {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) >= 1e12 {
			if !have {
				continue
			}
			v = last
		}
		out = append(out, v)
		last, have = v, true
	}
	return out
}

// edaRise is the median rise time, in samples, of the largest skin
// conductance responses (at least 0.05 µS and 10 % of the largest; up to
// 5), found trough to peak at the given rate; ok is false with none.
func edaRise(x []float64, rate float64) (float64, bool) {
	x = excerpt(x)
	if len(x) < 20 {
		return 0, false
	}
	// The response rules with no rise-time limits (up to 100 s), on the
	// signal low-passed at 3 Hz at the rate given: at a rate 10 times too
	// high that smooths responses, and they still look far too fast.
	scrs, _, err := eda.Find(x, rate, eda.Config{Threshold: 0.05, Relative: 0.1, LowPass: 3, MinRise: 1e-9, MaxRise: 100})
	if err != nil || len(scrs) == 0 {
		return 0, false
	}
	slices.SortFunc(scrs, func(a, b eda.SCR) int { return cmp.Compare(b.Amplitude, a.Amplitude) })
	scrs = scrs[:min(5, len(scrs))]
	rises := make([]float64, len(scrs))
	for i, s := range scrs {
		rises[i] = s.Rise()
	}
	slices.Sort(rises)
	return rises[len(rises)/2], true
}

package xdftest

import "math"

// pyxdf's jitter-removal defaults (load_xdf's jitter_break_threshold_seconds
// and jitter_break_threshold_samples).
const (
	pyxdfBreakSeconds = 1.0
	pyxdfBreakSamples = 500
)

// Segments is the number of segments pyxdf's de-jittering splits a stream
// with these time stamps into, at its default thresholds. Each segment
// gets its own straight-line fit, so a clean recording must be one.
//
// The rule, from pyxdf (github.com/xdf-modules/pyxdf, src/pyxdf/pyxdf.py
// at 8ceb102, 2026-06: _jitter_removal, _detect_breaks and
// _find_segment_indices): a stream with nominal rate 0 is one segment; any
// other breaks wherever |t[i+1] − t[i]| > max(1 s, 500 × tdiff), with
// tdiff = 1/nominal rate (0 for a negative rate), and a break starts a new
// segment. A stream with no samples has none. (pyxdf sorts nothing first,
// so a step back in time counts by its size as a step forward does; a NaN
// step is never a break, as NumPy compares it.) Streams whose header says
// they can drop samples are not de-jittered by pyxdf; cueroom writes none.
func Segments(times []float64, nominalRate float64) int {
	if len(times) == 0 {
		return 0
	}
	if nominalRate == 0 {
		return 1
	}
	tdiff := 0.0
	if nominalRate > 0 {
		tdiff = 1 / nominalRate
	}
	limit := math.Max(pyxdfBreakSeconds, pyxdfBreakSamples*tdiff)
	n := 1
	for i := 1; i < len(times); i++ {
		if math.Abs(times[i]-times[i-1]) > limit {
			n++
		}
	}
	return n
}

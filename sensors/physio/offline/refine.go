package offline

import (
	"math"
	"slices"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// The ECG's beats are found twice: by the live detector as the samples
// come, then again by ecg.Refiner (a matched filter and a beat-sequence
// search, which need the signal on both sides of a beat) over stretches of
// refineWindow seconds with refineMargin seconds of context each side, so a
// recording of any length is refined in bounded memory. A segment (between
// gaps) no longer than one window and a margin is refined whole.
const (
	refineWindow = 300.0 // s
	refineMargin = 30.0  // s
	minBeatGap   = 0.25  // s: two beats closer than this where windows meet are one
)

// twoPass follows one ECG: it keeps what the Refiner needs of the current
// window, the refined beats and the first pass's.
type twoPass struct {
	r           *ecg.Refiner
	win, margin int64 // samples
	gap         float64
	n           int64 // samples pushed
	segStart    int64
	core        int64     // first sample whose beats are not refined yet
	first       []float64 // first-pass beats of the segment from core−margin on
	out         []float64 // refined beats
	score       []float64 // each refined beat's matched-filter score (ecg.Refiner.Score)
	all         []float64 // first-pass beats
	starts      []int64   // sample at which each segment after the first starts
}

func newTwoPass(fs float64) *twoPass {
	return &twoPass{
		r:      ecg.NewRefiner(fs),
		win:    int64(refineWindow * fs),
		margin: int64(refineMargin * fs),
		gap:    minBeatGap * fs,
	}
}

// push keeps the next sample and the first pass's beats it confirmed.
func (t *twoPass) push(v float64, beats []float64) {
	t.r.Push(v)
	t.n++
	t.first = append(t.first, beats...)
	t.all = append(t.all, beats...)
	if t.n >= t.core+t.win+t.margin {
		t.refine(t.core+t.win, false)
	}
}

// endSegment ends the segment at a gap: the next sample starts another.
func (t *twoPass) endSegment() {
	t.refine(t.n, true)
	t.starts = append(t.starts, t.n)
	t.segStart, t.core, t.first = t.n, t.n, t.first[:0]
	t.r.Forget(t.n)
}

// finish returns the beats, their scores (NaN for a first-pass beat the
// second pass did not refine) and, for each segment after the first, the
// index of its first beat. The refined beats stand where the first pass's
// quality verdicts (l) cover them; elsewhere (a segment's last second,
// which no verdict reaches, or a segment too short for one) the first
// pass's do, so a verdict judges every beat the second pass adds or moves.
func (t *twoPass) finish(l *ecg.QualityLog) ([]float64, []float64, []int) {
	t.refine(t.n, true)
	covered := func(b float64) bool {
		_, ok := l.At(b)
		return ok
	}
	beats := make([]float64, 0, len(t.out))
	score := make([]float64, 0, len(t.out))
	seg := 0 // segment of the last beat kept
	add := func(b, sc float64) {
		s := seg
		for s < len(t.starts) && b >= float64(t.starts[s]) {
			s++
		}
		if n := len(beats); n > 0 && s == seg && b-beats[n-1] < t.gap {
			return
		}
		beats, score, seg = append(beats, b), append(score, sc), s
	}
	i, j := 0, 0
	for i < len(t.out) || j < len(t.all) {
		switch {
		case i < len(t.out) && !covered(t.out[i]):
			i++
		case j < len(t.all) && covered(t.all[j]):
			j++
		case j >= len(t.all) || (i < len(t.out) && t.out[i] <= t.all[j]):
			add(t.out[i], t.score[i])
			i++
		default:
			add(t.all[j], math.NaN())
			j++
		}
	}
	segs := make([]int, len(t.starts))
	for k, s := range t.starts {
		segs[k] = sortedFrom(beats, float64(s))
	}
	return beats, score, segs
}

// refine refines the beats of [core, to) with the margin's context on each
// side (only what was pushed, at the segment's end), and moves core to to.
func (t *twoPass) refine(to int64, last bool) {
	if to <= t.core {
		return
	}
	from := max(t.segStart, t.core-t.margin)
	end := min(t.n, to+t.margin)
	if last {
		end = t.n
	}
	i := sortedFrom(t.first, float64(from))
	k := sortedFrom(t.first, float64(end))
	got := t.r.Refine(t.first[i:k], from, end) // it copies what it keeps
	sc := t.r.Score(got, from, end)
	for n, b := range got {
		if b < float64(t.core) || (!last && b >= float64(to)) {
			continue
		}
		// Where two windows meet, each may place a beat the first pass
		// did not find at a slightly different sample.
		if n := len(t.out); n > 0 && b-t.out[n-1] < t.gap && t.out[n-1] >= float64(t.segStart) {
			continue
		}
		t.out = append(t.out, b)
		t.score = append(t.score, sc[n])
	}
	t.core = to
	keep := to - t.margin
	t.first = t.first[:copy(t.first, t.first[sortedFrom(t.first, float64(keep)):])]
	t.r.Forget(keep)
}

// sortedFrom is the index of the first of the ascending xs at or after v.
func sortedFrom(xs []float64, v float64) int {
	i, _ := slices.BinarySearch(xs, v)
	return i
}

package offline

import (
	"math"
	"slices"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// The offline signal quality index judges the beats the second pass found,
// not the live detector's: over the same 10 s windows, a second apart, the
// beats must give a plausible rhythm (40–180 bpm, no 3 s without a beat,
// few intervals off the window's median) and stand out of the matched
// filter's noise floor (ecg.Refiner.Score). The live verdicts fail a
// window at the goal's noise where the refined beats are right (the beat
// shape correlation falls with noise; the live detector's own misses look
// irregular); these do not, and what is not ECG still fails: the second
// pass's beats there score no higher than noise does.
const (
	sqiMinHR, sqiMaxHR = 40.0, 180.0
	sqiMaxGap          = 3.0 // s
	sqiShort, sqiLong  = 0.7, 1.5
	sqiMaxOff          = 0.2 // share of a window's intervals allowed outside sqiShort–sqiLong × its median
	// minScore: the median score of a window's beats must reach it. What
	// is not ECG (white noise, a random walk, mains hum, a lead off, at
	// 100 and 250 Hz) reaches at most 3.14 in any window (sqi_test.go);
	// the shared ECGs with the goal's noise score 4.5 and more.
	minScore = 3.8
)

// verdicts judges the windows of every segment by the beats (samples, as
// pushed) and their scores (NaN: not scored, a first-pass beat the second
// pass did not reach; it counts for the rhythm, not for the score).
func (t *twoPass) verdicts(beats, score []float64, fs float64) *ecg.QualityLog {
	l := &ecg.QualityLog{Rate: fs}
	starts := append([]int64{0}, t.starts...)
	win, step, minW := int64(ecg.QualityWindow*fs), max(1, int64(ecg.QualityStep*fs)), int64(5*fs)
	var seq int64
	judge := func(from, to int64) {
		seq++
		l.Add(judgeWindow(seq, float64(from), float64(to), beats, score, fs))
	}
	for k, s := range starts {
		e := t.n
		if k+1 < len(starts) {
			e = starts[k+1]
		}
		if e-s < minW {
			continue
		}
		if e-s <= win {
			judge(s, e)
			continue
		}
		a := s
		for ; a+win <= e; a += step {
			judge(a, a+win)
		}
		if a-step+win < e {
			judge(e-win, e)
		}
	}
	return l
}

func judgeWindow(seq int64, from, to float64, beats, score []float64, fs float64) ecg.Quality {
	q := ecg.Quality{Seq: seq, From: from, To: to}
	i, j := sortedFrom(beats, from), sortedFrom(beats, to)
	bs, sc := beats[i:j], score[i:j]
	q.Beats = len(bs)
	if len(bs) < 2 {
		q.Problem |= ecg.FewBeats | ecg.Gap
		return q
	}
	if len(bs) < 5 {
		q.Problem |= ecg.FewBeats
	}
	q.HR = 60 * fs * float64(len(bs)-1) / (bs[len(bs)-1] - bs[0])
	if q.HR < sqiMinHR || q.HR > sqiMaxHR {
		q.Problem |= ecg.Rate
	}
	rr := make([]float64, len(bs)-1)
	maxRR := 0.0
	for k := range rr {
		rr[k] = bs[k+1] - bs[k]
		maxRR = max(maxRR, rr[k])
	}
	if max(bs[0]-from, to-bs[len(bs)-1], maxRR) > sqiMaxGap*fs {
		q.Problem |= ecg.Gap
	}
	s := slices.Clone(rr)
	slices.Sort(s)
	med := s[len(s)/2]
	off := 0
	for _, l := range rr {
		if l < sqiShort*med || l > sqiLong*med {
			off++
		}
	}
	if float64(off) > sqiMaxOff*float64(len(rr)) {
		q.Problem |= ecg.Irregular
	}
	var all []float64
	for _, v := range sc {
		if !math.IsNaN(v) {
			all = append(all, v)
		}
	}
	if len(all) > 0 {
		slices.Sort(all)
		// Corr holds the window's median score: the offline verdict has
		// no beat-shape correlation.
		q.Corr = all[len(all)/2]
	}
	if len(all) < 2 || !(q.Corr >= minScore) {
		q.Problem |= ecg.Noise
	}
	return q
}

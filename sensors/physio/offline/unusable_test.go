package offline

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// unusable gives exactly the positions where QualityLog.At finds a judged
// verdict, so the spans reported are the ones intervals were withheld in:
// verdicts laid out as the detector makes them (a verdict a second on the
// last 10 s, the first after 5 s of signal, a reset after a gap), with
// random problems.
func TestUnusableMatchesAt(t *testing.T) {
	const fs = 10.0
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 2))
		l := &ecg.QualityLog{Rate: fs}
		seq := int64(0)
		add := func(q ecg.Quality) {
			seq++
			q.Seq = seq
			l.Add(q)
		}
		start := 0.0
		for range 3 { // segments, a gap between them
			n := 5 + rng.IntN(40)
			var end float64
			for k := range n {
				end = start + (5+float64(k))*fs
				q := ecg.Quality{From: max(start, end-ecg.QualityWindow*fs), To: end, Beats: 10}
				switch rng.IntN(4) {
				case 0:
					q.Problem = ecg.Noise
				case 1:
					q.Problem = ecg.FewBeats
				}
				add(q)
			}
			add(ecg.Quality{From: end, To: end, Problem: ecg.FewBeats}) // the reset
			start = end + (2+float64(rng.IntN(5)))*fs
		}
		spans := unusable(l)
		assert.NotEmpty(t, spans)
		for i := -5.0; i < start+5*fs; i += 0.25 {
			q, ok := l.At(i)
			want := ok && judged(q)
			in := false
			for _, s := range spans {
				in = in || (i >= s.From && i < s.To)
			}
			// On a boundary At and the spans may each pick the other
			// window: both are half-way.
			if in != want && !onBoundary(i, spans) {
				assert.Equal(t, want, in, "seed %d, sample %.2f (verdict %+v, ok %v)", seed, i, q, ok)
			}
		}
	}
}

func onBoundary(i float64, spans []Span) bool {
	for _, s := range spans {
		if i == s.From || i == s.To {
			return true
		}
	}
	return false
}

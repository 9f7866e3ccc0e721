package ecg_test

import (
	"testing"

	"github.com/cueroom/cueroom/sensors/physio/ecg"
)

// loop1k is the real 1 kHz recording, repeated to make n samples.
func loop1k(b *testing.B, n int) []float64 {
	b.Helper()
	x := readECG(b, "ecg_1000hz.csv")
	out := make([]float64, n)
	for i := range out {
		out[i] = x[i%len(x)]
	}
	return out
}

// BenchmarkPush is the live cost of one 1 kHz ECG sample (detector and
// quality verdicts), per sample; it must not allocate.
func BenchmarkPush(b *testing.B) {
	const rate = 1000.0
	x := loop1k(b, 60*int(rate))
	d, err := ecg.New(rate, ecg.Auto)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Push(x[i%len(x)])
		_ = d.Quality()
		i++
	}
	b.ReportMetric(1/(b.Elapsed().Seconds()/float64(b.N)*rate), "x-realtime")
}

// BenchmarkTwoHours is the detector's share of `cueroom analyze` on 2 h of
// 1 kHz ECG (the budget for the whole analysis is 3 CPU-s).
func BenchmarkTwoHours(b *testing.B) {
	const rate = 1000.0
	x := loop1k(b, 2*3600*int(rate))
	b.ResetTimer()
	beats := 0
	for b.Loop() {
		d, err := ecg.New(rate, ecg.Auto)
		if err != nil {
			b.Fatal(err)
		}
		var log ecg.QualityLog
		beats = 0
		for _, v := range x {
			beats += len(d.Push(v))
			log.Add(d.Quality())
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/2h")
	b.ReportMetric(float64(beats), "beats")
}

// A sample costs no allocation once the detector runs (beats, verdicts and
// all), so the live path adds no garbage.
func TestPushDoesNotAllocate(t *testing.T) {
	x := readECG(t, "bio_resting_5min_100hz.csv")
	d, err := ecg.New(100, ecg.Auto)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range x[:3000] {
		d.Push(v)
	}
	i := 3000
	allocs := testing.AllocsPerRun(20, func() {
		for range 1000 { // 10 s: beats, search-back, verdicts
			d.Push(x[i%len(x)])
			_ = d.Quality()
			i++
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 1000 samples", allocs)
	}
}

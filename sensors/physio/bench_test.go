package physio_test

import (
	"slices"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
	"github.com/cueroom/cueroom/sensors/physio/internal/testsig"
	"github.com/cueroom/cueroom/sensors/synth"
)

// BenchmarkProcessorPush is the live cost of one 1000 Hz sample carrying
// ECG, PPG and EDA.
func BenchmarkProcessorPush(b *testing.B) {
	const rate = 1000.0
	rec := testsig.Make(testsig.Config{Seed: 1, Rate: rate, Duration: 60 * time.Second,
		Stimuli: []time.Duration{20 * time.Second, 40 * time.Second}})
	samples := make([]sensors.Sample, len(rec.ECG))
	for i := range samples {
		s := sensors.Sample{T: time.Duration(float64(i) / rate * float64(time.Second)), N: 3}
		s.Values[0], s.Values[1], s.Values[2] = rec.ECG[i], rec.PPG[i], rec.EDA[i]
		samples[i] = s
	}
	p, err := physio.New(stream(rate, "ECG", "PPG", "EDA"), physio.Config{})
	if err != nil {
		b.Fatal(err)
	}
	out := make([]physio.Derived, 0, 16)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		out = p.Push(samples[i%len(samples)], out[:0])
		i++
	}
	perSample := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(1/(perSample*rate), "x-realtime")
}

// BenchmarkLatency runs a 2-minute simulated session at 250 Hz and reports
// how long after it happened each kind of value is known (Known − T, the
// algorithmic delay; the compute time per sample is BenchmarkProcessorPush).
func BenchmarkLatency(b *testing.B) {
	const rate = 250.0
	rec := testsig.Make(testsig.Config{Seed: 2, Rate: rate, Duration: 120 * time.Second,
		Synth:   synth.Config{SpontaneousPerMin: 3},
		Stimuli: []time.Duration{30 * time.Second, 60 * time.Second, 90 * time.Second}, PPGNoise: 0.03})
	lat := map[physio.Kind]map[string][]float64{}
	for b.Loop() {
		clear(lat)
		p, err := physio.New(stream(rate, "ECG", "PPG", "EDA"), physio.Config{})
		if err != nil {
			b.Fatal(err)
		}
		var out []physio.Derived
		for i := range rec.ECG {
			s := sensors.Sample{T: time.Duration(float64(i) / rate * float64(time.Second)), N: 3}
			s.Values[0], s.Values[1], s.Values[2] = rec.ECG[i], rec.PPG[i], rec.EDA[i]
			out = p.Push(s, out[:0])
			for _, d := range out {
				if d.T < 3*time.Second { // the ECG's learning period
					continue
				}
				if lat[d.Kind] == nil {
					lat[d.Kind] = map[string][]float64{}
				}
				lat[d.Kind][d.Source] = append(lat[d.Kind][d.Source], float64(d.Known-d.T)/float64(time.Millisecond))
			}
		}
	}
	report := func(k physio.Kind, src, name string) {
		v := slices.Clone(lat[k][src])
		if len(v) == 0 {
			b.Fatalf("no %s from %q", k, src)
		}
		slices.Sort(v)
		b.ReportMetric(v[len(v)/2], name+"-p50-ms")
		b.ReportMetric(v[len(v)-1], name+"-max-ms")
	}
	report(physio.KindBeat, "ecg", "ecg-beat")
	report(physio.KindBeat, "ppg", "ppg-beat")
	report(physio.KindHR, "ecg", "ecg-hr")
	report(physio.KindSCR, "eda", "scr-peak")
}

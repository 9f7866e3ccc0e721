package hrv_test

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors/physio/hrv"
)

// day is 24 h of beats (about 108 000) with RSA, Mayer waves, slow drift
// and 1 % artefacts of each kind.
func day() []float64 {
	b := synthAR(21, 86400, 0.8, 0.04, 0.9, mod{0.03, 0.1}, mod{0.02, 0.27}, mod{0.1, 1.0 / 7200})
	rng := rand.New(rand.NewPCG(22, 23))
	out := make([]float64, 0, len(b)+len(b)/50)
	for i := range b {
		switch r := rng.Float64(); {
		case i < 2 || i+2 >= len(b):
			out = append(out, b[i])
		case r < 0.01:
			out = append(out, b[i], b[i]+0.4*(b[i+1]-b[i])) // extra
		case r < 0.02: // missed
		case r < 0.03:
			out = append(out, b[i]-0.25*(b[i]-b[i-1])) // ectopic
		default:
			out = append(out, b[i])
		}
	}
	return out
}

// BenchmarkDay is the target: HRV of 24 h of beats in at most 1 s
// (correction, then time and frequency domain over the whole day, the
// spectrum averaged over 288 five-minute segments).
//
// cpu-s/op is the process's CPU time per day analysed: on a machine shared
// with other work the wall time (ns/op) overstates the cost.
func BenchmarkDay(b *testing.B) {
	beats := day()
	b.ReportAllocs()
	var r hrv.Result
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	n := 0
	for b.Loop() {
		r = hrv.Correct(beats, nil, hrv.Correction{}).Whole(hrv.Options{})
		n++
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if r.Time == nil || r.Freq == nil {
		b.Fatalf("withheld: %s / %s", r.TimeWhy, r.FreqWhy)
	}
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(cpu.Seconds()/float64(n), "cpu-s/op")
	b.ReportMetric(float64(len(beats)), "beats")
}

// BenchmarkStepWindows is a session's worth of per-step windows (one an
// every 5 minutes over the day) on a series corrected once.
func BenchmarkStepWindows(b *testing.B) {
	s := hrv.Correct(day(), nil, hrv.Correction{})
	for b.Loop() {
		for from := 0.0; from < 86400; from += 300 {
			s.Analyze(from, from+180, hrv.Options{})
		}
	}
}

// BenchmarkLiveAdd is the live cost per beat.
func BenchmarkLiveAdd(b *testing.B) {
	l := hrv.NewLive(60)
	t := 0.0
	b.ReportAllocs()
	for b.Loop() {
		t += 0.8
		l.Add(t, 0.8, false)
	}
}

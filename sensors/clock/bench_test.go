package clock

import (
	"testing"
	"time"
)

// BenchmarkPush maps a 1 kHz BITalino-like stream (4 ms bursts, jitter,
// drift) in steady state: the envelope full, blocks completing once a
// second. It fails if a steady-state Push allocates.
func BenchmarkPush(b *testing.B) {
	s := base(16 * time.Minute) // a whole number of wraps: 960000 samples
	s.DriftPPM = 50
	type in struct {
		seq uint32
		at  time.Duration
	}
	var stream []in
	s.samples(func(x sample) { stream = append(stream, in{x.seq, x.arrival}) })
	n := len(stream)
	var sink time.Duration
	m := New(Config{Rate: s.Rate, Counter: s.Counter}, func(_ int, t time.Duration, _ uint64) { sink = t })
	i := 0
	push := func() {
		// Past the end, the stream goes on: the same samples, later.
		loop := i / n
		x := stream[i%n]
		m.Push(i, x.seq+uint32(loop*n), x.at+time.Duration(float64(loop)*float64(s.Length)*(1+s.DriftPPM*1e-6)))
		i++
	}
	for range 11 * 60 * 1000 { // past the 10 min window
		push()
	}
	if a := testing.AllocsPerRun(5000, push); a != 0 {
		b.Fatalf("%v allocations per Push in steady state, want 0", a)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		push()
	}
	_ = sink
	if st := m.Stats(); st.Anchors != 1 || st.Lost != 0 {
		b.Fatalf("stats %+v: the stream was not steady", st)
	}
}

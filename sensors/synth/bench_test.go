package synth

import (
	"testing"
	"time"
)

// The simulator calls Next once per frame: at 1000 Hz it must cost far
// less than a millisecond.
func BenchmarkNext(b *testing.B) {
	g := New(Config{Seed: 1})
	b.ReportAllocs()
	for b.Loop() {
		g.Next(time.Millisecond)
	}
}

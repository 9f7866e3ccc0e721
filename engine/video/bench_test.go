package video

import (
	"runtime"
	"testing"
	"time"
)

// BenchmarkDecode720p measures the decoder goroutine's throughput at
// 1280×720 (decode and RGBA conversion) as the window would see it: each
// iteration asks for the next frame and waits until it is there.
func BenchmarkDecode720p(b *testing.B) {
	v := openClip(b, "hd.mpg")
	v.SetLoop(true)
	v.Start()
	b.ReportAllocs()
	b.ResetTimer()
	at := time.Duration(0)
	for i := 0; i < b.N; i++ {
		at += v.frameDur
		for v.Frame(at); v.cur.t < at-v.frameDur/2; v.Frame(at) {
			runtime.Gosched()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkFrame is the window's per-frame call at 60 Hz on a 25 fps video:
// mostly nothing new, sometimes a frame to take from the queue.
func BenchmarkFrame(b *testing.B) {
	v := openClip(b, "silent.mpg")
	v.SetLoop(true)
	v.Start()
	b.ReportAllocs()
	at := time.Duration(0)
	for i := 0; i < b.N; i++ {
		at += time.Second / 60
		v.Frame(at)
	}
}

package video

import (
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cueroom/cueroom/internal/leakcheck"
)

// FuzzOpen feeds Open damaged and made-up files. Whatever it accepts must
// play without panicking or hanging, within bounded memory, and Close must
// end its goroutines.
func FuzzOpen(f *testing.F) {
	// Small seeds: the fuzzer minimises every new input it finds, and
	// that is slow on a file of many packets.
	tiny := readClip(f, "tiny.mpg")
	f.Add(tiny)
	f.Add(tiny[:1000])
	for name, n := range map[string]int{
		"clip.mpg": 4096, "silent.mpg": 4096, "mpeg2video.mpg": 4096,
		"mp3sound.mpg": 6144, "lowrate.mpg": 6144, "dvd.vob": 2048,
	} {
		f.Add(readClip(f, name)[:n])
	}
	f.Add([]byte("\x00\x00\x01\xba\x21\x00\x01\x00\x01\x80\x00\x01\x00\x00\x01\xbb\x00\x06\x80\x00\x01\x04\xe1\xff"))
	f.Add([]byte{})
	// Pictures up to 256×256 keep each run cheap; the real limit is tested
	// in TestOpenRejectsFilesItCannotPlay.
	defer func(n int) { maxPixels = n }(maxPixels)
	maxPixels = 256 * 256
	f.Fuzz(func(t *testing.T, b []byte) {
		// At the end: no decoder left running. Only the decoder: a fuzz
		// worker has goroutines of its own.
		leakcheck.CheckFunc(t, decoder)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)

		v, err := Open(fstest.MapFS{"f.mpg": {Data: b}}, "f.mpg")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.mpg: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		t.Cleanup(func() { v.Close() }) // when a check below stops the test
		if s := v.Size(); s.X*s.Y > maxPixels || s.X <= 0 || s.Y <= 0 {
			t.Fatalf("accepted a %v picture", s)
		}
		if v.Duration() <= 0 {
			t.Fatalf("accepted a video of %v", v.Duration())
		}
		v.SetLoop(len(b)%2 == 0)
		v.Start()
		for i := 0; i < 12; i++ {
			if img, _ := v.Frame(time.Duration(i) * v.frameDur); img == nil {
				t.Fatal("no picture")
			}
		}
		if s := v.Audio(); s != nil {
			buf := make([][2]float64, 1024)
			for i := 0; i < 8; i++ {
				if _, ok := s.Stream(buf); !ok {
					break
				}
			}
		}
		v.Close()
		runtime.ReadMemStats(&after)
		// Frames of 256×256 cost under 3 MB, the reader's buffers about 1 MB.
		if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
			t.Fatalf("allocated %d MB", got>>20)
		}
	})
}

package window

import (
	"image/color"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/stretchr/testify/require"
)

// The frame benchmarks draw into a 1920×1080 image beside the running game
// loop and read one pixel back, which waits for the GPU to finish: so a
// frame's cost includes the GPU's, as far as Mesa's software renderer under
// Xvfb lets us measure it. Compare them as a ratio (frame/empty) in one run.

const benchProtocol = `cueroom: 1
title: Bench
substance: alcohol
baseline:
  duration: 1h
  cues:
    - panorama: pano.png
    - video: clip.mpg
      loop: true
    - text: "Look around the bar. Notice the urge, and let it be there."
  rating:
    scale: craving
    question: "How strong is your craving right now?"
    at: start
steps:
  - name: S
    intensity: 1
    duration: 1h
    cues:
      - text: x
`

func benchFrame(b *testing.B, draw func(dst *ebiten.Image)) {
	<-host.started
	dst := ebiten.NewImage(1920, 1080)
	defer dst.Deallocate()
	// Reading back a 1×1 copy of the frame waits for the frame to be drawn
	// without copying the whole frame back.
	one := ebiten.NewImage(1, 1)
	defer one.Deallocate()
	px := make([]byte, 4)
	op := &ebiten.DrawImageOptions{}
	op.GeoM.Scale(1.0/1920, 1.0/1080)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		draw(dst)
		one.DrawImage(dst, op)
		one.ReadPixels(px)
	}
}

func BenchmarkFrameEmpty(b *testing.B) {
	benchFrame(b, func(dst *ebiten.Image) { dst.Fill(color.Black) })
}

// BenchmarkFramePanoramaWithOverlay: the 360° shader, a playing video, an
// instruction band and the craving scale over them.
func BenchmarkFramePanoramaWithOverlay(b *testing.B) {
	r := newDetachedRig(b, benchProtocol, benchFS(b), Options{})
	require.Eventually(b, func() bool { return r.s.Snapshot().Prompt != nil }, 10*time.Second, time.Millisecond)
	r.g.w, r.g.h = 1920, 1080
	benchFrame(b, func(dst *ebiten.Image) { r.g.drawScene(dst, r.s.Snapshot()) })
}

func benchFS(b testing.TB) fstest.MapFS {
	clip, err := os.ReadFile("../video/testdata/hd.mpg")
	require.NoError(b, err)
	return fstest.MapFS{"pano.png": {Data: bandsPNG()}, "clip.mpg": {Data: clip}}
}

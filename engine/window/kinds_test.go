package window

import (
	"image"
	"image/color"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Pixels read back for the cue kinds not covered elsewhere: video frames
// advancing, the breathing pacer, and instruction text.

const kindsProtocol = `cueroom: 1
title: Kinds
substance: alcohol
baseline:
  duration: 60s
  cues:
    - video: clip.mpg
      fit: fill
      loop: true
steps:
  - name: Pacer
    intensity: 1
    duration: 60s
    cues:
      - breathing: 6
      - text: "Breathe with the circle."
`

func TestVideoPacerAndTextAreDrawn(t *testing.T) {
	clip, err := os.ReadFile("../video/testdata/silent.mpg")
	require.NoError(t, err)
	// The caption band's brightest pixel, read in the frame hook.
	bright := make(chan uint8, 4096)
	probe := func(screen *ebiten.Image, _ time.Duration) {
		w, h := screen.Bounds().Dx(), screen.Bounds().Dy()
		row := screen.SubImage(image.Rect(w/4, h*85/100, 3*w/4, h*97/100)).(*ebiten.Image)
		px := make([]byte, 4*row.Bounds().Dx()*row.Bounds().Dy())
		row.ReadPixels(px)
		var m uint8
		for i := 0; i < len(px); i += 4 {
			m = max(m, px[i], px[i+1], px[i+2])
		}
		select {
		case bright <- m:
		default:
		}
	}
	r := newRigOpts(t, kindsProtocol, fstest.MapFS{"clip.mpg": {Data: clip}}, Options{OnFrame: probe})

	// The clip's bars flash with the frame number's bits: a band that shows
	// both light and dark over a second means frames are drawn as they come.
	var light, dark bool
	deadline := time.After(15 * time.Second)
	for !(light && dark) {
		select {
		case f := <-r.frames:
			light = light || f.left.R > 200
			dark = dark || (f.left.R < 50 && f.state == "running")
		case <-deadline:
			t.Fatalf("video not animating: light %v dark %v", light, dark)
		}
	}

	require.NoError(t, r.s.Next("test"))
	isLung := func(c color.RGBA) bool { return c.G > 150 && c.B > 150 && c.R < 200 }
	r.waitFrame(t, isLung)
	// Instruction text: white glyphs in the caption band.
	for len(bright) > 0 {
		<-bright
	}
	assert.Eventually(t, func() bool {
		select {
		case m := <-bright:
			return m > 200
		default:
			return false
		}
	}, 10*time.Second, time.Millisecond, "no text in the caption band")
}

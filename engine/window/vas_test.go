package window

import (
	"image"
	"image/color"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/event"
)

const vasProtocol = `cueroom: 1
title: VAS
substance: alcohol
baseline:
  duration: 1h
  cues:
    - image: green.png
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

// TestNoMarkerBeforeThePatientPlacesOne: the rating scale opens with no
// marker on it (a marker pre-placed at 50 anchors the answer).
func TestNoMarkerBeforeThePatientPlacesOne(t *testing.T) {
	marks := make(chan color.RGBA, 64)
	var r *rig
	opt := Options{OnFrame: func(screen *ebiten.Image, _ time.Duration) {
		if r == nil || !drewPrompt(r.g) {
			return
		}
		// Where a marker at 50 would stand: the middle of the scale, just
		// above the bar.
		x, y, w, _ := r.g.vasRect()
		px := make([]byte, 4)
		mx, my := int(x+w/2), int(y-10)
		screen.SubImage(image.Rect(mx, my, mx+1, my+1)).(*ebiten.Image).ReadPixels(px)
		select {
		case marks <- color.RGBA{px[0], px[1], px[2], px[3]}:
		default:
		}
	}}
	r = newDetachedRig(t, vasProtocol, fstest.MapFS{"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})}}, opt)
	host.set(r.g)
	t.Cleanup(func() { host.set(nil) })
	select {
	case c := <-marks:
		orange := markerSet.(color.RGBA)
		assert.NotEqual(t, orange, c, "no placed marker")
		assert.False(t, c.R == c.G && c.G == c.B && c.R > 60, "no grey idle marker either: %v", c)
		assert.Less(t, int(c.G), 120, "the scale's dark band shows there: %v", c)
	case <-time.After(20 * time.Second):
		t.Fatal("no frame with the rating scale")
	}
}

// drewPrompt says whether the frame just drawn showed the rating scale
// (render thread, in OnFrame): the snapshot, read after drawing, may
// already have a prompt the frame did not show.
func drewPrompt(g *Game) bool {
	for _, c := range g.pend.Visible {
		if c.Modality == event.ModalityRating {
			return true
		}
	}
	return false
}

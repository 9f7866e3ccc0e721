package main

import (
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// perspective renders a view of an equirectangular picture the way the
// window's panorama shader does (engine/window/panorama.go): yaw and pitch
// in degrees (yaw > 0 turns right, pitch > 0 looks down), fov the
// horizontal field of view.
func perspective(src image.Image, yaw, pitch, fov float64, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	sw, sh := float64(src.Bounds().Dx()), float64(src.Bounds().Dy())
	tanHalf := math.Tan(fov * math.Pi / 360)
	cy, sy := math.Cos(yaw*math.Pi/180), math.Sin(yaw*math.Pi/180)
	cp, sp := math.Cos(pitch*math.Pi/180), math.Sin(pitch*math.Pi/180)
	for j := 0; j < h; j++ {
		for i := 0; i < w; i++ {
			px := (float64(i)+0.5)/float64(w)*2 - 1
			py := (float64(j)+0.5)/float64(h)*2 - 1
			d := [3]float64{px * tanHalf, py * tanHalf * float64(h) / float64(w), 1}
			n := math.Sqrt(d[0]*d[0] + d[1]*d[1] + d[2]*d[2])
			d = [3]float64{d[0] / n, d[1] / n, d[2] / n}
			d = [3]float64{d[0], d[1]*cp + d[2]*sp, -d[1]*sp + d[2]*cp}
			d = [3]float64{d[0]*cy + d[2]*sy, d[1], -d[0]*sy + d[2]*cy}
			lon := math.Atan2(d[0], d[2])
			lat := math.Asin(clamp(d[1], -1, 1))
			x := int((lon/(2*math.Pi) + 0.5) * sw)
			y := int((lat/math.Pi + 0.5) * sh)
			out.Set(i, j, src.At(min(x, int(sw)-1), min(y, int(sh)-1)))
		}
	}
	return out
}

// mean is the average colour of img over the rectangle r.
func mean(img *image.RGBA, r image.Rectangle) (red, green, blue float64) {
	n := 0.0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.RGBAAt(x, y)
			red, green, blue = red+float64(c.R), green+float64(c.G), blue+float64(c.B)
			n++
		}
	}
	return red / n, green / n, blue / n
}

func readPanorama(t *testing.T) image.Image {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "demo", "media", "bar_pano.png"))
	require.NoError(t, err)
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	return img
}

func TestPanoramaIsTwoToOne(t *testing.T) {
	img := readPanorama(t)
	assert.Equal(t, image.Pt(panoW, panoH), img.Bounds().Size())
	assert.Equal(t, 2*img.Bounds().Dy(), img.Bounds().Dx())
	st, err := os.Stat(filepath.Join("..", "demo", "media", "bar_pano.png"))
	require.NoError(t, err)
	assert.Less(t, st.Size(), int64(1500<<10), "keep the demo small")
}

// TestPanoramaRegionsByYaw checks the layout documented in panorama.go in
// perspective views, as the patient would see them.
func TestPanoramaRegionsByYaw(t *testing.T) {
	img := readPanorama(t)
	const w, h = 160, 90
	centre := image.Rect(w/2-6, h/2-6, w/2+6, h/2+6)
	tests := []struct {
		name       string
		yaw, pitch float64
		check      func(t *testing.T, r, g, b float64)
	}{
		{"yaw 0: the glass of beer", 0, 15, func(t *testing.T, r, g, b float64) {
			assert.Greater(t, r, 150.0, "bright")
			assert.Greater(t, r, g, "amber: red over green")
			assert.Greater(t, g, b+40, "amber: green well over blue")
		}},
		{"yaw 0: the neon sign", 0, -35, func(t *testing.T, r, g, b float64) {
			assert.Greater(t, r, 180.0, "bright")
			assert.Greater(t, r, 1.3*b, "warm")
		}},
		{"yaw 180: the door's window", 180, -8, func(t *testing.T, r, g, b float64) {
			assert.Greater(t, b, r+50, "cool light: blue over red")
			assert.Greater(t, b, 150.0, "bright")
		}},
		{"yaw -180 is the same door", -180, -8, func(t *testing.T, r, g, b float64) {
			assert.Greater(t, b, r+50)
		}},
		{"yaw 90: the wine rack", 90, 0, func(t *testing.T, r, g, b float64) {
			assert.Less(t, r+g+b, 3*90.0, "dark bottle ends")
		}},
		{"yaw -90: the dartboard wall", -90, 0, func(t *testing.T, r, g, b float64) {
			assert.Greater(t, r, b, "warm wood")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view := perspective(img, tt.yaw, tt.pitch, 40, w, h)
			if dir := os.Getenv("CUEROOM_VIEWS"); dir != "" { // to look at them
				f, err := os.Create(filepath.Join(dir, tt.name+".png"))
				require.NoError(t, err)
				require.NoError(t, png.Encode(f, view))
				f.Close()
			}
			r, g, b := mean(view, centre)
			t.Logf("centre colour %.0f %.0f %.0f", r, g, b)
			tt.check(t, r, g, b)
		})
	}
}

// Nothing else in the room is as blue as the door: a test of "looking at
// yaw 180 shows the door" must not pass by chance elsewhere.
func TestOnlyTheDoorIsBlue(t *testing.T) {
	img := readPanorama(t)
	for yaw := -150.0; yaw <= 150; yaw += 30 {
		view := perspective(img, yaw, -8, 40, 64, 36)
		r, _, b := mean(view, image.Rect(26, 12, 38, 24))
		assert.Less(t, b, r+30, "yaw %v looks blue", yaw)
	}
}

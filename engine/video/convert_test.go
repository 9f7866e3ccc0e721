package video

import (
	"image"
	"image/draw"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bt601 is the studio-range conversion in floating point.
func bt601(y, cb, cr uint8) [3]float64 {
	l := 1.164383 * (float64(y) - 16)
	u, v := float64(cb)-128, float64(cr)-128
	c := func(x float64) float64 { return math.Max(0, math.Min(255, x)) }
	return [3]float64{c(l + 1.596027*v), c(l - 0.391762*u - 0.812968*v), c(l + 2.017232*u)}
}

func TestToRGBAIsStudioRangeBT601(t *testing.T) {
	tests := []struct {
		name      string
		y, cb, cr uint8
		want      [3]uint8 // exact where the standard says so
		exact     bool
	}{
		{"black", 16, 128, 128, [3]uint8{0, 0, 0}, true},
		{"white", 235, 128, 128, [3]uint8{255, 255, 255}, true},
		{"below black clips", 0, 128, 128, [3]uint8{0, 0, 0}, true},
		{"above white clips", 255, 128, 128, [3]uint8{255, 255, 255}, true},
		{"red", 81, 90, 240, [3]uint8{255, 0, 0}, false},
		{"beer amber", 120, 80, 170, [3]uint8{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := image.NewYCbCr(image.Rect(0, 0, 3, 3), image.YCbCrSubsampleRatio420)
			for i := range src.Y {
				src.Y[i] = tt.y
			}
			for i := range src.Cb {
				src.Cb[i], src.Cr[i] = tt.cb, tt.cr
			}
			dst := image.NewRGBA(image.Rect(0, 0, 3, 3))
			toRGBA(dst, src)
			want := bt601(tt.y, tt.cb, tt.cr)
			for i := 0; i < len(dst.Pix); i += 4 {
				for c := 0; c < 3; c++ {
					if tt.exact {
						require.Equal(t, tt.want[c], dst.Pix[i+c], "pixel %d channel %d", i/4, c)
					}
					require.InDelta(t, want[c], float64(dst.Pix[i+c]), 1, "pixel %d channel %d", i/4, c)
				}
				require.Equal(t, uint8(255), dst.Pix[i+3])
			}
		})
	}
}

func TestToRGBAUsesTheRightChromaSample(t *testing.T) {
	// Odd sizes: the last column and row share their chroma sample.
	src := image.NewYCbCr(image.Rect(0, 0, 5, 3), image.YCbCrSubsampleRatio420)
	for i := range src.Y {
		src.Y[i] = 126
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = 128, uint8(100+10*i) // a different red shift per sample
	}
	dst := image.NewRGBA(src.Rect)
	toRGBA(dst, src)
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			ci := src.COffset(x, y)
			want := bt601(126, 128, src.Cr[ci])
			assert.InDelta(t, want[0], float64(dst.RGBAAt(x, y).R), 1, "(%d,%d)", x, y)
		}
	}
}

func BenchmarkToRGBA720p(b *testing.B) {
	src := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	dst := image.NewRGBA(src.Rect)
	b.ReportAllocs()
	for b.Loop() {
		toRGBA(dst, src)
	}
}

// The standard library's conversion, for comparison (and full range).
func BenchmarkDrawYCbCr720p(b *testing.B) {
	src := image.NewYCbCr(image.Rect(0, 0, 1280, 720), image.YCbCrSubsampleRatio420)
	dst := image.NewRGBA(src.Rect)
	for b.Loop() {
		draw.Draw(dst, dst.Rect, src, image.Point{}, draw.Src)
	}
}

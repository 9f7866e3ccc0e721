package main

import (
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/video"
)

func TestPourState(t *testing.T) {
	tests := []struct {
		name        string
		at          float64
		pouring     bool
		level, foam [2]float64 // ranges, pint units
	}{
		{"empty before the tap opens", 0.5, false, [2]float64{22, 22}, [2]float64{0, 0}},
		{"filling", 2.5, true, [2]float64{100, 230}, [2]float64{10, 50}},
		{"nearly full", 4.1, true, [2]float64{290, 315}, [2]float64{40, 55}},
		{"settled", 7.9, false, [2]float64{310, 320}, [2]float64{30, 45}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			level, top, stream := pourState(tt.at)
			assert.Equal(t, tt.pouring, stream > 0.5, "stream %.2f", stream)
			assert.GreaterOrEqual(t, level, tt.level[0])
			assert.LessOrEqual(t, level, tt.level[1])
			assert.GreaterOrEqual(t, top-level, tt.foam[0])
			assert.LessOrEqual(t, top-level, tt.foam[1])
		})
	}
	// The beer only rises, and the glass never overflows.
	prev := 0.0
	for f := 0; f < vidSecs*vidFPS; f++ {
		level, top, _ := pourState(float64(f) / vidFPS)
		require.GreaterOrEqual(t, level, prev, "frame %d", f)
		require.Less(t, top, 400.0, "frame %d", f)
		prev = level
	}
}

// poured counts the pixels of r that a frame changed from the empty glass's
// and that are now beer-coloured (warm: red well over blue). Comparing with
// the empty glass leaves out the amber bottles seen through it.
func poured(empty, c *canvas, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			p, q := c.px[y*c.W+x], empty.px[y*c.W+x]
			if math.Abs(p.R-q.R)+math.Abs(p.G-q.G)+math.Abs(p.B-q.B) > 0.1 && p.R > 0.2 && p.R > 4*p.B {
				n++
			}
		}
	}
	return n
}

// glassRect is the inside of the glass in the video's frames.
var glassRect = image.Rect(int(glassX)-40, int(glassBase)-300, int(glassX)+40, int(glassBase)-20)

func TestVideoFramesShowTheGlassFilling(t *testing.T) {
	bg := videoBackground()
	frame := func(at float64) *canvas {
		c := newCanvas(vidW, vidH)
		drawVideoFrame(c, bg, at)
		return c
	}
	empty := frame(0.5)
	var counts []int
	for _, at := range []float64{0.9, 2.5, 6.0} {
		counts = append(counts, poured(empty, frame(at), glassRect))
	}
	t.Logf("beer pixels in the glass: %v", counts)
	assert.Less(t, counts[0], 100, "still empty just before the tap opens")
	assert.Greater(t, counts[1], 3000)
	assert.Greater(t, counts[2], counts[1]+3000)

	// Drawing is deterministic: the same time gives the same frame.
	assert.Equal(t, frame(3.3).px, frame(3.3).px)
}

func TestVideoSound(t *testing.T) {
	s := synthVideoSound()
	require.Len(t, s, secs(vidSecs))
	peak := 0.0
	for _, v := range s {
		peak = math.Max(peak, math.Abs(v))
	}
	assert.InDelta(t, math.Pow(10, -3.0/20), peak, 1e-9)
	rms := func(from, to float64) float64 {
		sum := 0.0
		for _, v := range s[secs(from):secs(to)] {
			sum += v * v
		}
		return math.Sqrt(sum / float64(secs(to)-secs(from)))
	}
	before, pour, after := rms(0.2, 0.95), rms(1.3, 4.1), rms(5.5, 7.5)
	t.Logf("rms before %.3f, pouring %.3f, after %.3f", before, pour, after)
	assert.Greater(t, pour, 2*before, "the pour is heard over the bar")
	assert.Greater(t, pour, 2*after, "and stops")
	assert.Greater(t, before, 0.01, "the bar is heard throughout")
}

// The committed bar.mpg is what the player (engine/video) accepts, and it
// shows the glass empty at first and full at the end.
func TestCommittedVideoPlays(t *testing.T) {
	v, err := video.Open(os.DirFS(filepath.Join("..", "demo", "media")), "bar.mpg")
	require.NoError(t, err)
	defer v.Close()
	assert.Equal(t, image.Pt(vidW, vidH), v.Size())
	assert.Equal(t, float64(vidFPS), v.FrameRate())
	assert.Equal(t, time.Duration(vidSecs)*time.Second, v.Duration())
	require.True(t, v.HasAudio())

	st, err := os.Stat(filepath.Join("..", "demo", "media", "bar.mpg"))
	require.NoError(t, err)
	assert.Less(t, st.Size(), int64(1500<<10), "keep the demo small")

	// As in TestVideoFramesShowTheGlassFilling, on the decoded pictures.
	first, _ := v.Frame(0)
	empty := image.NewRGBA(first.Rect)
	copy(empty.Pix, first.Pix)
	beer := func(img *image.RGBA) int {
		n := 0
		for y := glassRect.Min.Y; y < glassRect.Max.Y; y++ {
			for x := glassRect.Min.X; x < glassRect.Max.X; x++ {
				p, q := img.RGBAAt(x, y), empty.RGBAAt(x, y)
				diff := math.Abs(float64(p.R)-float64(q.R)) + math.Abs(float64(p.G)-float64(q.G)) + math.Abs(float64(p.B)-float64(q.B))
				if diff > 40 && p.R > 120 && int(p.R) > 2*int(p.B) {
					n++
				}
			}
		}
		return n
	}
	v.Start()
	// The decoder reaches 7 s as fast as the machine lets it (seconds when
	// quiet, much longer under load): wait for it, with a deadline only for
	// a decoder that never gets there.
	var full int
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(3 * time.Minute); ; <-tick.C {
		img, _ := v.Frame(7 * time.Second)
		if full = beer(img); full > 8000 {
			break
		}
		require.True(t, time.Now().Before(deadline), "beer pixels at 7 s: %d", full)
	}
	t.Logf("beer pixels at 7 s: %d of %d", full, glassRect.Dx()*glassRect.Dy())

	// Its sound is the whole 8 s at the output rate.
	n := 0
	buf := make([][2]float64, 4096)
	for {
		k, ok := v.Audio().Stream(buf)
		n += k
		if !ok {
			break
		}
	}
	assert.InDelta(t, 8*48000, n, 8)
	assert.NoError(t, v.Err())
}

func TestRunKeepsTheVideoWithoutFFmpeg(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo", "media")
	require.NoError(t, os.MkdirAll(out, 0o755))
	t.Setenv("PATH", "") // no ffmpeg
	err := run(io.Discard, out, "bar.mpg")
	require.ErrorIs(t, err, errNoFFmpeg)

	require.NoError(t, os.WriteFile(filepath.Join(out, "bar.mpg"), []byte("old"), 0o644))
	require.NoError(t, run(io.Discard, out, "bar.mpg"))
	b, err := os.ReadFile(filepath.Join(out, "bar.mpg"))
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
}

func TestFFmpegArgs(t *testing.T) {
	args := ffmpegArgs("in.wav", "out.mpg")
	for _, want := range [][]string{
		{"-c:v", "mpeg1video"}, {"-c:a", "mp2"}, {"-ar", "48000"},
		{"-s", "854x480"}, {"-r", "25"}, {"-threads", "1"}, {"-fflags", "+bitexact"},
	} {
		assert.Subset(t, args, want)
		i := indexOf(args, want[0])
		require.GreaterOrEqual(t, i, 0, want[0])
		assert.Equal(t, want[1], args[i+1], want[0])
	}
	assert.Equal(t, []string{"-f", "mpeg", "out.mpg"}, args[len(args)-3:])
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

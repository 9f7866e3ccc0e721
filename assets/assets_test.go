package assets_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"io/fs"
	"math"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/assets"
	"github.com/cueroom/cueroom/scenes"
)

var mediaFiles = []string{
	"neutral.png", "bottle.png", "glass.png", "bar.png",
	"pour.wav", "clink.wav", "bar.wav", "calm.wav", "script.wav", "breathe.wav",
	"bar.mpg", "bar_pano.png",
}

func TestDemoFSHoldsTheDemo(t *testing.T) {
	fsys := assets.DemoFS()
	want := []string{"protocol.yaml", "short.yaml", "LICENSE.md"}
	for _, m := range mediaFiles {
		want = append(want, "media/"+m)
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			st, err := fs.Stat(fsys, name)
			require.NoError(t, err)
			assert.True(t, st.Mode().IsRegular())
			assert.Positive(t, st.Size())
			// The same file through the embed root.
			b1, err := fs.ReadFile(fsys, name)
			require.NoError(t, err)
			b2, err := fs.ReadFile(assets.Demo, "demo/"+name)
			require.NoError(t, err)
			assert.Equal(t, b1, b2)
		})
	}
	// Nothing stray is shipped, such as a generator temp file.
	var got []string
	require.NoError(t, fs.WalkDir(fsys, "media", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			got = append(got, path.Base(p))
		}
		return err
	}))
	assert.ElementsMatch(t, mediaFiles, got)
}

func TestDemoMediaSizeStaysSmall(t *testing.T) {
	var total int64
	for _, m := range mediaFiles {
		st, err := fs.Stat(assets.DemoFS(), "media/"+m)
		require.NoError(t, err)
		total += st.Size()
	}
	// The media go into every binary; keep them to a few megabytes.
	assert.Less(t, total, int64(6<<20), "media total %d bytes", total)
}

func TestDemoImages(t *testing.T) {
	for _, name := range []string{"neutral.png", "bottle.png", "glass.png", "bar.png"} {
		t.Run(name, func(t *testing.T) {
			b, err := fs.ReadFile(assets.DemoFS(), "media/"+name)
			require.NoError(t, err)
			img, err := png.Decode(bytes.NewReader(b))
			require.NoError(t, err)
			assert.Equal(t, image.Rect(0, 0, 1280, 720), img.Bounds())
			// A drawn picture, not a blank: the brightness varies widely
			// and no pixel is transparent.
			lo, hi := math.Inf(1), math.Inf(-1)
			for y := 0; y < 720; y += 7 {
				for x := 0; x < 1280; x += 7 {
					r, g, b, a := img.At(x, y).RGBA()
					require.Equal(t, uint32(0xffff), a, "pixel %d,%d", x, y)
					l := 0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)
					lo, hi = math.Min(lo, l), math.Max(hi, l)
				}
			}
			assert.Greater(t, (hi-lo)/0xffff, 0.5, "brightness range")
		})
	}
}

// wavInfo reads the header and samples of a canonical mono 16-bit WAV.
func wavInfo(t *testing.T, b []byte) (rate int, s []int16) {
	t.Helper()
	require.GreaterOrEqual(t, len(b), 44)
	require.Equal(t, "RIFF", string(b[0:4]))
	require.Equal(t, "WAVE", string(b[8:12]))
	require.Equal(t, "fmt ", string(b[12:16]))
	require.Equal(t, uint16(1), binary.LittleEndian.Uint16(b[20:]), "PCM")
	require.Equal(t, uint16(1), binary.LittleEndian.Uint16(b[22:]), "mono")
	require.Equal(t, uint16(16), binary.LittleEndian.Uint16(b[34:]), "16-bit")
	require.Equal(t, "data", string(b[36:40]))
	n := int(binary.LittleEndian.Uint32(b[40:]))
	require.Equal(t, len(b)-44, n, "data size")
	s = make([]int16, n/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[44+2*i:]))
	}
	return int(binary.LittleEndian.Uint32(b[24:])), s
}

func TestDemoSounds(t *testing.T) {
	tests := []struct {
		name     string
		rate     int
		min, max time.Duration
		loop     bool
	}{
		{"pour.wav", 44100, 3500 * time.Millisecond, 4500 * time.Millisecond, false},
		{"clink.wav", 44100, 1200 * time.Millisecond, 1800 * time.Millisecond, false},
		{"bar.wav", 44100, 7 * time.Second, 9 * time.Second, true},
		{"calm.wav", 44100, 7 * time.Second, 9 * time.Second, true},
		{"script.wav", 22050, 12 * time.Second, 19 * time.Second, false},
		{"breathe.wav", 22050, 8 * time.Second, 13 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := fs.ReadFile(assets.DemoFS(), "media/"+tt.name)
			require.NoError(t, err)
			rate, s := wavInfo(t, b)
			assert.Equal(t, tt.rate, rate)
			dur := time.Duration(len(s)) * time.Second / time.Duration(rate)
			assert.GreaterOrEqual(t, dur, tt.min)
			assert.LessOrEqual(t, dur, tt.max)

			peak, step := 0, 0
			for i, v := range s {
				peak = max(peak, abs(int(v)))
				if i > 0 {
					step = max(step, abs(int(v)-int(s[i-1])))
				}
			}
			// Loud enough to hear, with headroom: no clipping.
			assert.Greater(t, peak, 32767/10, "peak")
			assert.Less(t, peak, 32767*9/10, "peak")
			if tt.loop {
				// The jump from the last sample back to the first is no
				// bigger than the jumps inside the sound: no click.
				seam := abs(int(s[0]) - int(s[len(s)-1]))
				assert.LessOrEqual(t, seam, step, "loop seam")
			} else {
				// One-shots start and end at silence.
				assert.Less(t, abs(int(s[0])), 300, "first sample")
				assert.Less(t, abs(int(s[len(s)-1])), 300, "last sample")
			}
		})
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestDemoProtocolsLoadAndCheck(t *testing.T) {
	tests := []struct {
		file            string
		steps           int
		total           time.Duration
		ratings         int
		wantIntensities []int
	}{
		{"protocol.yaml", 6, 150 * time.Second, 2, []int{2, 4, 5, 6, 8}},
		{"short.yaml", 2, 9 * time.Second, 0, []int{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := scenes.LoadFS(assets.DemoFS(), tt.file)
			require.NoError(t, err)
			require.NoError(t, p.Check())
			assert.Equal(t, "alcohol", p.Substance)
			require.Len(t, p.Steps, tt.steps)
			require.NotNil(t, p.Recovery)

			var total time.Duration
			var ratings int
			var intensities []int
			for _, st := range p.All() {
				total += st.Duration
				if st.Rating != nil {
					ratings++
					assert.Equal(t, scenes.ScaleCraving, st.Rating.Scale)
				}
				if !st.Neutral {
					intensities = append(intensities, st.Intensity)
				}
				for _, c := range st.Cues {
					assert.NotEmpty(t, c.Description, "cue %s has no description for the manifest", c.ID)
					if c.Kind == scenes.KindNarration {
						assert.NotEmpty(t, c.Subtitles, "narration %s has no subtitles", c.ID)
					}
				}
			}
			assert.Equal(t, tt.total, total)
			assert.Equal(t, tt.ratings, ratings)
			assert.Equal(t, tt.wantIntensities, intensities)
		})
	}
}

func TestDemoProtocolUsesEveryMediaFile(t *testing.T) {
	p, err := scenes.LoadFS(assets.DemoFS(), "protocol.yaml")
	require.NoError(t, err)
	used := map[string]bool{}
	for _, st := range p.All() {
		for _, c := range st.Cues {
			if c.Path != "" {
				used[c.Path] = true
			}
		}
	}
	for _, m := range mediaFiles {
		assert.True(t, used["media/"+m], "%s is shipped but the demo never plays it", m)
	}
}

func TestLicenseCoversEveryMediaFile(t *testing.T) {
	b, err := fs.ReadFile(assets.DemoFS(), "LICENSE.md")
	require.NoError(t, err)
	lic := string(b)
	for _, m := range mediaFiles {
		assert.Contains(t, lic, "`media/"+m+"`")
	}
	for _, s := range []string{"CC0 1.0", "espeak-ng", "go run ./assets/gen"} {
		assert.True(t, strings.Contains(lic, s), "LICENSE.md should mention %q", s)
	}
}

package scenes

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzParse: any bytes give either a protocol that keeps every promise of
// the model, or a bounded list of positioned errors; never a panic.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*/*.yaml")
	require.NoError(f, err)
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte("cueroom: 1\nsteps: [{name: a, intensity: 1, duration: 1, cues: [{text: x}]}]\nbaseline: {duration: 1, cues: [{text: y}]}\ntitle: t\nsubstance: other\n"))
	f.Add([]byte("cueroom: 1\ncrossfade: 2s\nsteps: [{name: a, intensity: 1, duration: 3, crossfade: 0, cues: [{video: v.mpg, end: blank}]}]\nbaseline: {duration: 1, cues: [{text: y}]}\ntitle: t\nsubstance: other\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("fuzz.yaml", src, nil)
		if err != nil {
			require.Nil(t, p)
			var list ErrorList
			require.True(t, errors.As(err, &list), "%T", err)
			require.NotEmpty(t, list)
			require.LessOrEqual(t, len(list), maxErrors+1)
			// YAML ends lines at \n, \r\n, a lone \r, and U+0085, U+2028, U+2029.
			norm := strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(string(src))
			lines := strings.Count(norm, "\n") + 2
			for _, e := range list {
				require.Equal(t, "fuzz.yaml", e.File)
				require.GreaterOrEqual(t, e.Line, 0)
				require.LessOrEqual(t, e.Line, lines, "%v", e)
				require.NotEmpty(t, e.Msg)
			}
			return
		}
		require.Equal(t, Version, p.Version)
		require.NotEmpty(t, p.Title)
		require.Contains(t, substances, p.Substance)
		require.NotEmpty(t, p.Steps)
		require.LessOrEqual(t, len(p.Steps), maxSteps)
		ids := map[string]bool{}
		for i, s := range p.All() {
			require.False(t, ids[s.ID], "duplicate id %q", s.ID)
			ids[s.ID] = true
			require.Positive(t, s.Duration)
			require.LessOrEqual(t, s.Duration, maxDuration)
			require.True(t, s.Crossfade >= 0 && s.Crossfade <= MaxCrossfade && s.Crossfade <= s.Duration/2, "crossfade %v of a %v step", s.Crossfade, s.Duration)
			if s.Neutral {
				require.Zero(t, s.Intensity)
			} else {
				require.True(t, i > 0 && s.Intensity >= minIntensity && s.Intensity <= maxIntensity, "step %q intensity %d", s.ID, s.Intensity)
			}
			require.NotEmpty(t, s.Cues)
			for _, c := range s.Cues {
				require.False(t, ids[c.ID], "duplicate id %q", c.ID)
				ids[c.ID] = true
				require.Contains(t, []Kind{KindImage, KindSound, KindNarration, KindText, KindBreathing, KindPanorama, KindVideo}, c.Kind)
				if c.Kind == KindBreathing {
					require.True(t, c.BreathsPerMin >= minBreaths && c.BreathsPerMin <= maxBreaths)
					require.Empty(t, c.Path)
					continue
				}
				if c.Kind == KindText {
					require.NotEmpty(t, c.Text)
					require.Empty(t, c.Path)
					continue
				}
				if c.Kind == KindVideo {
					require.Contains(t, []string{VideoLoop, VideoHold, VideoBlank}, c.End)
					require.Equal(t, c.End == VideoLoop, c.Loop)
				} else {
					require.Empty(t, c.End)
				}
				require.True(t, fs.ValidPath(c.Path), "path %q", c.Path)
				require.False(t, c.Path == ".." || strings.HasPrefix(c.Path, "../"), "path %q escapes", c.Path)
				require.GreaterOrEqual(t, c.GainDB, float64(minGainDB))
				require.LessOrEqual(t, c.GainDB, float64(maxGainDB))
				require.GreaterOrEqual(t, c.FadeIn, time.Duration(0))
				require.GreaterOrEqual(t, c.FadeOut, time.Duration(0))
				require.LessOrEqual(t, c.FadeIn+c.FadeOut, s.Duration)
			}
		}
	})
}

// FuzzProbe: any bytes under any media extension give nil or a message,
// never a panic; and no library decoder panics on input the checks let
// through (guard would hide that, so it is looked for here).
func FuzzProbe(f *testing.F) {
	exts := []string{".png", ".jpg", ".wav", ".mp3", ".ogg", ".flac"}
	files, err := filepath.Glob("testdata/valid/media/*")
	require.NoError(f, err)
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		i := slices.Index(exts, strings.Replace(filepath.Ext(file), ".jpeg", ".jpg", 1))
		require.GreaterOrEqual(f, i, 0, file)
		f.Add(b, uint8(i))
	}
	f.Add(withID3(makeMP3(2), 10), uint8(3))
	f.Add(makePNG(f, 16, 16), uint8(0))
	old := maxImagePixels
	maxImagePixels = 1 << 20 // keep each run's allocations small
	f.Cleanup(func() { maxImagePixels = old })
	f.Fuzz(func(t *testing.T, data []byte, ext uint8) {
		name := "media/x" + exts[int(ext)%len(exts)]
		done := make(chan error, 1)
		go func() { done <- probe(name, bytes.NewReader(data), int64(len(data))) }()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("probe of %s did not finish in 5 s", name) // a decoder loops: the input is saved
		}
		if err != nil {
			require.NotEmpty(t, err.Error())
			require.NotContains(t, err.Error(), "the decoder failed", "a decoder panicked on input the checks accepted")
		}
	})
}

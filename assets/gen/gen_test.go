package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// The subtitles in the protocols must be the narration word for word.
func TestSubtitlesAreTheNarrationTexts(t *testing.T) {
	want := map[string]string{
		"media/script.wav":  scriptText,
		"media/breathe.wav": breatheText,
	}
	tests := []struct {
		file       string
		narrations int
	}{
		{"protocol.yaml", 2},
		{"short.yaml", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "demo", tt.file))
			require.NoError(t, err)
			var p struct {
				Baseline, Recovery struct{ Cues []map[string]any }
				Steps              []struct{ Cues []map[string]any }
			}
			require.NoError(t, yaml.Unmarshal(b, &p))
			cues := append(p.Baseline.Cues, p.Recovery.Cues...)
			for _, s := range p.Steps {
				cues = append(cues, s.Cues...)
			}
			n := 0
			for _, c := range cues {
				file, ok := c["narration"].(string)
				if !ok {
					continue
				}
				n++
				require.Contains(t, want, file)
				assert.Equal(t, want[file], c["subtitles"], "subtitles of %s", file)
			}
			assert.Equal(t, tt.narrations, n)
		})
	}
}

func TestWAVRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want []float64 // nil: same as in, to 16-bit precision
		rate int
	}{
		{"empty", nil, nil, 44100},
		{"values", []float64{0, 0.5, -0.5, 0.25, -1, 1}, nil, 44100},
		{"clipped", []float64{1.5, -2, 0.1}, []float64{1, -1, 0.1}, 22050},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeWAV(tt.in, tt.rate)
			assert.Len(t, b, 44+2*len(tt.in))
			s, rate, err := decodeWAV(b)
			require.NoError(t, err)
			assert.Equal(t, tt.rate, rate)
			want := tt.want
			if want == nil {
				want = tt.in
			}
			require.Len(t, s, len(want))
			for i := range want {
				assert.InDelta(t, want[i], s[i], 2.0/32768, "sample %d", i)
			}
		})
	}
}

func TestDecodeWAVErrors(t *testing.T) {
	good := encodeWAV([]float64{0.1, 0.2}, 22050)
	with := func(off int, v []byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], v)
		return b
	}
	u16 := func(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no RIFF/WAVE header"},
		{"not riff", with(0, []byte("RIFX")), "no RIFF/WAVE header"},
		{"stereo", with(22, u16(2)), "2 channels"},
		{"float", with(20, u16(3)), "format 3"},
		{"8 bit", with(34, u16(8)), "8 bits"},
		{"odd rate", with(24, u32(100)), "sample rate 100 Hz"},
		{"short fmt", with(16, u32(8)), "fmt chunk at byte 12 is 8 bytes"},
		{"no data", good[:36], "no data chunk"},
		{"data first", append(append([]byte("RIFF\x00\x00\x00\x00WAVE"), good[36:]...), good[12:36]...), "before the fmt chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeWAV(tt.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestDecodeWAVReadsUnfinishedDataSize(t *testing.T) {
	// espeak-ng writing to a pipe leaves the data size at its maximum.
	b := encodeWAV([]float64{0.5, -0.5, 0.25}, 22050)
	binary.LittleEndian.PutUint32(b[40:], 0xffffffff)
	s, _, err := decodeWAV(b)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{0.5, -0.5, 0.25}, s, 2.0/32768)
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(encodeWAV([]float64{0, 0.5, -0.5}, 22050))
	f.Add(encodeWAV(nil, 44100))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVELIST\x04\x00\x00\x00abcd"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, rate, err := decodeWAV(b)
		if err != nil {
			return
		}
		if len(s) > len(b)/2 {
			t.Fatalf("%d samples from %d bytes", len(s), len(b))
		}
		if rate < 8000 || rate > 192000 {
			t.Fatalf("accepted rate %d", rate)
		}
	})
}

func TestTrimSilence(t *testing.T) {
	const rate = 1000 // so the kept pad is 10 samples
	quiet := make([]float64, 50)
	loud := []float64{0.5, -0.5, 0.5}
	tests := []struct {
		name string
		in   []float64
		want int
	}{
		{"silent both ends", append(append(append([]float64{}, quiet...), loud...), quiet...), 3 + 20},
		{"no silence", loud, 3},
		{"all silent", quiet, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Len(t, trimSilence(tt.in, rate), tt.want)
		})
	}
}

func TestSynthesisedSounds(t *testing.T) {
	tests := []struct {
		name    string
		synth   func() []float64
		seconds float64
		peakDB  float64
		loop    bool
	}{
		{"pour", synthPour, 4, -3, false},
		{"clink", synthClink, 1.5, -3, false},
		{"bar", synthBar, 8, -6, true},
		{"calm", synthCalm, 8, -6, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.synth()
			require.Len(t, s, secs(tt.seconds))
			peak, step := 0.0, 0.0
			for i, v := range s {
				require.False(t, math.IsNaN(v), "sample %d is NaN", i)
				peak = math.Max(peak, math.Abs(v))
				if i > 0 {
					step = math.Max(step, math.Abs(v-s[i-1]))
				}
			}
			assert.InDelta(t, math.Pow(10, tt.peakDB/20), peak, 1e-9)
			if tt.loop {
				assert.LessOrEqual(t, math.Abs(s[0]-s[len(s)-1]), step, "loop seam")
			} else {
				assert.InDelta(t, 0, s[0], 1e-3)
				assert.InDelta(t, 0, s[len(s)-1], 1e-3)
			}
			// Same seeds, same sound.
			assert.Equal(t, s, tt.synth())
		})
	}
}

func TestCalmLoopIsExactlyPeriodic(t *testing.T) {
	// Each partial completes whole cycles in the loop, so the pad one loop
	// later is the pad now, and calm.wav joins without a seam.
	for _, k := range []int{0, 1, 2, 1000, 44099} {
		at := float64(k) / sampleRate
		assert.InDelta(t, calmAt(at), calmAt(at+calmLoop), 1e-6, "sample %d", k)
	}
	assert.NotEqual(t, calmAt(0), calmAt(1.0/sampleRate))
}

func TestShapes(t *testing.T) {
	tests := []struct {
		name string
		s    shape
		x, y float64
		want float64
	}{
		{"circle centre", circle(10, 10, 5), 10, 10, -5},
		{"circle outside", circle(10, 10, 5), 20, 10, 5},
		{"rect inside", rect(0, 0, 10, 20), 5, 10, -5},
		{"rect corner", rect(0, 0, 10, 10), 13, 14, 5},
		{"ellipse on axis", ellipse(0, 0, 10, 5), 12, 0, 2},
		{"ellipse inside", ellipse(0, 0, 10, 5), 0, 0, -5},
		{"capsule side", capsule(0, 0, 10, 0, 2), 5, 5, 3},
		{"poly inside", poly(0, 0, 10, 0, 10, 10, 0, 10), 5, 3, -3},
		{"poly outside", poly(0, 0, 10, 0, 10, 10, 0, 10), -4, 5, 4},
		{"union", union(circle(0, 0, 1), circle(10, 0, 1)), 10, 0, -1},
		{"intersect", intersect(circle(0, 0, 5), circle(6, 0, 5)), 0, 0, 1},
		{"subtract", subtract(circle(0, 0, 5), circle(0, 0, 3)), 0, 0, 3},
		{"below", below(func(float64) float64 { return 10 }, 0, 100, 0, 100), 50, 15, -5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.InDelta(t, tt.want, tt.s.d(tt.x, tt.y), 1e-9)
		})
	}
}

func TestFillIsAntiAliased(t *testing.T) {
	c := newCanvas(40, 40)
	c.fill(circle(20, 20, 10.3), 1, solid(rgb{1, 1, 1}))
	area, partial := 0.0, 0
	for _, p := range c.px {
		area += p.R
		if p.R > 0.02 && p.R < 0.98 {
			partial++
		}
	}
	assert.InDelta(t, math.Pi*10.3*10.3, area, 3, "covered area")
	assert.Greater(t, partial, 40, "edge pixels with partial coverage")
	assert.Equal(t, 1.0, c.px[20*40+20].R)
	assert.Equal(t, 0.0, c.px[0].R)
}

func TestColourConversionRoundTrips(t *testing.T) {
	for _, v := range []uint32{0x000000, 0xffffff, 0x808080, 0x4c7fbe, 0xe6cfac} {
		c := hex(v)
		got := uint32(math.Round(unlin(c.R)*255))<<16 | uint32(math.Round(unlin(c.G)*255))<<8 | uint32(math.Round(unlin(c.B)*255))
		assert.Equal(t, v, got, "%06x", v)
	}
}

func TestGlyphsCoverTheWordsDrawn(t *testing.T) {
	for _, w := range []string{"LAGER", "BAR"} {
		for _, r := range w {
			assert.NotEmpty(t, glyphs[r], "no glyph for %q", r)
		}
		s := text(w, 0, 0, 40, 2, 0.25)
		// The box is the text's width plus the last letter's tracking and
		// the stroke's round ends.
		assert.InDelta(t, textWidth(w, 40, 0.25)+0.25*40+2*2, s.x1-s.x0, 1e-9)
	}
}

func TestCommittedPicturesAreUpToDate(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("redraws every picture: run without -short and -race")
	}
	for _, j := range jobs() {
		if filepath.Ext(j.name) != ".png" {
			continue
		}
		t.Run(j.name, func(t *testing.T) {
			b, err := j.make()
			require.NoError(t, err)
			// The committed file was made by another run of the generator,
			// so equal bytes also show the drawing is deterministic.
			committed, err := os.ReadFile(filepath.Join("..", "demo", "media", j.name))
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(committed), sha256.Sum256(b), "%s is stale: run go run ./assets/gen", j.name)
		})
	}
}

func TestCommittedSoundsAreUpToDate(t *testing.T) {
	for _, j := range jobs() {
		if filepath.Ext(j.name) != ".wav" {
			continue
		}
		t.Run(j.name, func(t *testing.T) {
			b, err := j.make()
			if err == errNoSpeech {
				t.Skip(err)
			}
			require.NoError(t, err)
			committed, err := os.ReadFile(filepath.Join("..", "demo", "media", j.name))
			require.NoError(t, err)
			assert.Equal(t, sha256.Sum256(committed), sha256.Sum256(b), "%s is stale: run go run ./assets/gen", j.name)
		})
	}
}

func TestRunWritesFilesAndKeepsNarrationWithoutEspeak(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "demo", "media")
	require.NoError(t, os.MkdirAll(filepath.Dir(out), 0o755))

	require.NoError(t, run(io.Discard, out, "clink.wav"))
	b, err := os.ReadFile(filepath.Join(out, "clink.wav"))
	require.NoError(t, err)
	assert.Equal(t, encodeWAV(synthClink(), sampleRate), b)
	left, err := filepath.Glob(filepath.Join(out, ".gen-*"))
	require.NoError(t, err)
	assert.Empty(t, left, "temporary files left behind")

	t.Setenv("PATH", "") // no espeak-ng
	err = run(io.Discard, out, "script.wav")
	require.ErrorIs(t, err, errNoSpeech)

	require.NoError(t, os.WriteFile(filepath.Join(out, "script.wav"), []byte("old"), 0o644))
	require.NoError(t, run(io.Discard, out, "script.wav"))
	b, err = os.ReadFile(filepath.Join(out, "script.wav"))
	require.NoError(t, err)
	assert.Equal(t, "old", string(b))
}

func TestRunRejectsUnknownNames(t *testing.T) {
	out := filepath.Join(t.TempDir(), "media")
	err := run(io.Discard, out, "clink.wav,bottel.png")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no media file "bottel.png"`)
	_, err = os.Stat(filepath.Join(out, "clink.wav"))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing is made when a name is wrong")
}

func TestRunNeedsTheDemoFolder(t *testing.T) {
	err := run(io.Discard, filepath.Join(t.TempDir(), "nowhere", "media"), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "run from the repository root")
}

func TestSpeechIsDeterministic(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng is not installed")
	}
	a, err := speak("Breathe in.")
	require.NoError(t, err)
	b, err := speak("Breathe in.")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	s, rate, err := decodeWAV(a)
	require.NoError(t, err)
	assert.Equal(t, 22050, rate)
	// Lead-in silence, then speech.
	assert.Zero(t, s[0])
	assert.Greater(t, len(s), rate)
}

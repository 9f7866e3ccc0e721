package engine

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/engine/present"
	"github.com/cueroom/cueroom/scenes"
)

// LoadMedia's switch on the cue kind has no default branch: a kind it
// forgets is silently never loaded. So every kind in scenes.Kinds() needs a
// row here saying what loading makes of it; a kind without one fails.

// loadedAs is what LoadMedia makes of a cue.
type loadedAs int

const (
	asNothing loadedAs = iota // drawn from code: text, breathing
	asImage                   // decoded into Media.Images
	asSound                   // decoded into Media.Sounds
	asVideo                   // checked, listed in Media.Videos
)

func (l loadedAs) String() string {
	return [...]string{"nothing", "an image", "a sound", "a video"}[l]
}

// cueKindMedia is, for each cue kind, one cue as a protocol writes it (media
// from assets/demo, short ones: loading resamples sounds; scenes/cuekinds_test.go
// has the same cues), what
// LoadMedia makes of it, and whether the sound player plays it.
var cueKindMedia = map[scenes.Kind]struct {
	cue     []string
	loads   loadedAs
	audible bool
}{
	scenes.KindImage:     {[]string{"image: media/bottle.png"}, asImage, false},
	scenes.KindSound:     {[]string{"sound: media/clink.wav"}, asSound, true},
	scenes.KindNarration: {[]string{"narration: media/clink.wav", `subtitles: "It is Friday evening."`}, asSound, true},
	scenes.KindText:      {[]string{`text: "Notice the urge."`}, asNothing, false},
	scenes.KindBreathing: {[]string{"breathing: 6"}, asNothing, false},
	scenes.KindPanorama:  {[]string{"panorama: media/bar_pano.png"}, asImage, false},
	scenes.KindVideo:     {[]string{"video: media/bar.mpg"}, asVideo, true},
}

// oneCueProtocol parses a protocol whose one exposure step (s1) has the cue,
// with its media in the bundled demo's folder.
func oneCueProtocol(t *testing.T, cue []string) *scenes.Protocol {
	t.Helper()
	var b strings.Builder
	b.WriteString("cueroom: 1\ntitle: One cue\nsubstance: other\nbaseline:\n  duration: 10s\n  cues:\n    - text: Relax.\n")
	b.WriteString("steps:\n  - name: Exposure\n    intensity: 1\n    duration: 10s\n    cues:\n")
	for i, l := range cue {
		if i == 0 {
			fmt.Fprintf(&b, "      - %s\n", l)
		} else {
			fmt.Fprintf(&b, "        %s\n", l)
		}
	}
	p, err := scenes.Parse("kind.yaml", []byte(b.String()), os.DirFS("../assets/demo"))
	require.NoError(t, err)
	return p
}

// soundLog hears the sound player.
type soundLog struct {
	started chan present.Sound
	failed  chan present.Failure
}

func (s soundLog) SoundStarted(x present.Sound) {
	select {
	case s.started <- x:
	default:
	}
}
func (soundLog) SoundEnded(present.Sound) {}
func (s soundLog) Failed(f present.Failure) {
	select {
	case s.failed <- f:
	default:
	}
}

// TestCueKindsLoad: for a cue of every kind, LoadMedia loads what the kind
// needs, the sound player plays it when it has sound, and the manifest has
// its row with the kind as modality.
func TestCueKindsLoad(t *testing.T) {
	const files = "engine/media.go (LoadMedia, SoundPlayer.StartStepAt) and engine/manifest.go (Manifest)"
	for _, k := range scenes.Kinds() {
		want, ok := cueKindMedia[k]
		if !ok {
			t.Errorf("cue kind %q has no test: add it to cueKindMedia in engine/cuekinds_test.go (what LoadMedia makes of it), and handle it in %s", k, files)
			continue
		}
		t.Run(string(k), func(t *testing.T) {
			p := oneCueProtocol(t, want.cue)
			c := p.Steps[0].Cues[0]
			require.Equal(t, k, c.Kind)

			m, err := LoadMedia(p)
			require.NoError(t, err)
			got := asNothing
			n := 0
			if m.Images[c.ID] != nil {
				got, n = asImage, n+1
			}
			if m.Sounds[c.ID] != nil {
				got, n = asSound, n+1
			}
			if m.Videos[c.ID] {
				got, n = asVideo, n+1
			}
			assert.LessOrEqual(t, n, 1, "LoadMedia loaded the %s cue more than once", k)
			assert.Equal(t, want.loads, got, "LoadMedia made %v of the %s cue, want %v: handle the kind in LoadMedia in engine/media.go", got, k, want.loads)

			if want.audible {
				out := audio.Open(audio.Options{NoDevice: true})
				defer out.Close()
				log := soundLog{make(chan present.Sound, 4), make(chan present.Failure, 4)}
				sp := NewSoundPlayer(out, m, NewClock(), log)
				sp.StartStep(1, p.Steps[0].Cues)
				defer sp.StopAll(0)
				select {
				case s := <-log.started:
					assert.Equal(t, present.Cue{ID: c.ID, Modality: string(k), File: c.Path}, s.Cue)
				case f := <-log.failed:
					t.Errorf("the sound player failed to play the %s cue: %v", k, f.Err)
				case <-time.After(10 * time.Second):
					t.Errorf("the sound player did not play the %s cue within 10 s: handle the kind in SoundPlayer.StartStepAt in engine/media.go", k)
				}
			}

			rows, err := Manifest(p)
			require.NoError(t, err, "the manifest of a %s cue: handle the kind in Manifest in engine/manifest.go", k)
			i := slices.IndexFunc(rows, func(r ManifestCue) bool { return r.ID == c.ID })
			require.GreaterOrEqual(t, i, 0, "the manifest has no row for the %s cue: handle the kind in Manifest in engine/manifest.go", k)
			r := rows[i]
			assert.Equal(t, string(k), r.Modality, "engine/manifest.go: a %s cue's modality", k)
			assert.Equal(t, "s1", r.Step)
			assert.Equal(t, c.Path, r.File, "engine/manifest.go: a %s cue's file", k)
			if want.loads != asNothing {
				assert.Regexp(t, "^[0-9a-f]{64}$", r.SHA256, "engine/manifest.go: a %s cue's file needs its SHA-256", k)
			} else {
				assert.Empty(t, r.SHA256, "engine/manifest.go: a %s cue has no file to hash", k)
			}
			if c.Text != "" {
				assert.Equal(t, c.Text, r.Text, "engine/manifest.go: a %s cue's text", k)
			}
		})
	}
	for k := range cueKindMedia {
		assert.True(t, slices.Contains(scenes.Kinds(), k), "cueKindMedia in engine/cuekinds_test.go has %q, which scenes.Kinds() does not list", k)
	}
}

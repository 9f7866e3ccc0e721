package window

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/engine/present"
	"github.com/cueroom/cueroom/scenes"
)

// drawStep's switch on the cue kind has no default branch: a kind it
// forgets is silently never drawn. So every kind in scenes.Kinds() needs a
// row here saying whether it shows on screen; a kind without one fails.

// cueKindDraw is, for each cue kind, one cue as a protocol writes it (media
// from assets/demo; scenes/cuekinds_test.go has the same cues) and whether
// it is audio-only: nothing on screen, not reported as visible. Every other
// kind must change the picture and be reported visible in the frame.
var cueKindDraw = map[scenes.Kind]struct {
	cue       []string
	audioOnly bool
}{
	scenes.KindImage: {[]string{"image: media/bottle.png"}, false},
	scenes.KindSound: {[]string{"sound: media/clink.wav"}, true},
	// With subtitles, which the window shows; a narration without any is
	// heard only.
	scenes.KindNarration: {[]string{"narration: media/clink.wav", `subtitles: "It is Friday evening."`}, false},
	scenes.KindText:      {[]string{`text: "Notice the urge."`}, false},
	scenes.KindBreathing: {[]string{"breathing: 6"}, false},
	scenes.KindPanorama:  {[]string{"panorama: media/bar_pano.png"}, false},
	scenes.KindVideo:     {[]string{"video: media/bar.mpg"}, false},
}

// shot is one drawn frame: what the window reported and its pixels.
type shot struct {
	step    int
	visible []present.Cue
	px      []byte
}

// camera takes the next frame the window draws when asked: it reads the
// frame's pixels while it is drawn (OnFrame) and hands them over with the
// window's report of that frame once it is on screen (Presented), which
// comes before the next frame is drawn.
type camera struct {
	req     chan struct{}
	out     chan shot
	pending []byte // render thread only
}

func newCamera() *camera { return &camera{req: make(chan struct{}, 1), out: make(chan shot, 1)} }

func (c *camera) Presented(f present.Frame) {
	if c.pending == nil {
		return
	}
	s := shot{step: f.Step, visible: slices.Clone(f.Visible), px: c.pending}
	c.pending = nil
	select {
	case c.out <- s:
	default: // the test gave up waiting
	}
}

func (c *camera) Closed() {}

func (c *camera) onFrame(screen *ebiten.Image, _ time.Duration) {
	select {
	case <-c.req:
	default:
		return
	}
	b := screen.Bounds()
	px := make([]byte, 4*b.Dx()*b.Dy())
	screen.ReadPixels(px)
	c.pending = px
}

// take returns the next frame drawn.
func (c *camera) take(t *testing.T) shot {
	t.Helper()
	c.req <- struct{}{}
	select {
	case s := <-c.out:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no frame drawn within 10 s")
		return shot{}
	}
}

// stillSource shows one step, running, for ever.
type stillSource struct{ step scenes.Step }

func (s stillSource) Snapshot() engine.Snapshot {
	return engine.Snapshot{State: engine.Running, Step: 0, Steps: 1, Presentation: 1}
}
func (s stillSource) Step(i int) (scenes.Step, bool) { return s.step, i == 0 }
func (stillSource) Done() <-chan struct{}            { return nil }
func (stillSource) End(string)                       {}
func (stillSource) Calm(string, string) error        { return nil }
func (stillSource) Answer(int, string) error         { return nil }

// emptyStep draws a running step without cues and returns its pixels.
func emptyStep(t *testing.T) []byte {
	cam := newCamera()
	g, err := New(stillSource{scenes.Step{ID: "empty", Duration: time.Minute}},
		&engine.Media{Playing: &engine.Videos{}}, engine.NewClock(), Options{Present: cam, OnFrame: cam.onFrame})
	require.NoError(t, err)
	host.set(g)
	defer host.set(nil)
	cam.take(t) // the first may be drawn before its layout
	return cam.take(t).px
}

// cueKindSession runs a session whose baseline (step 0) has the one cue,
// with sound and video playing as in a session to a silent sink, and
// shows it in the test window.
func cueKindSession(t *testing.T, cue []string) (*scenes.Protocol, *camera) {
	t.Helper()
	var b strings.Builder
	b.WriteString("cueroom: 1\ntitle: One cue\nsubstance: other\nbaseline:\n  duration: 60s\n  cues:\n")
	fsys := fstest.MapFS{}
	for i, l := range cue {
		if i == 0 {
			fmt.Fprintf(&b, "    - %s\n", l)
		} else {
			fmt.Fprintf(&b, "      %s\n", l)
		}
		if _, file, ok := strings.Cut(l, ": "); ok && strings.HasPrefix(file, "media/") {
			data, err := os.ReadFile("../../assets/demo/" + file)
			require.NoError(t, err)
			fsys[file] = &fstest.MapFile{Data: data}
		}
	}
	b.WriteString("steps:\n  - name: Exposure\n    intensity: 1\n    duration: 60s\n    cues:\n      - text: x\n")
	p, err := scenes.Parse("kind.yaml", []byte(b.String()), fsys)
	require.NoError(t, err)
	media, err := engine.LoadMedia(p)
	require.NoError(t, err)

	out := audio.Open(audio.Options{NoDevice: true})
	t.Cleanup(func() { out.Close() })
	bs := bus.New()
	clock := engine.NewClock()
	s := engine.New(p, bs, clock, engine.NewSoundPlayer(out, media, clock, nil))
	cam := newCamera()
	g, err := New(s, media, clock, Options{Present: cam, OnFrame: cam.onFrame})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		bs.Close()
	})
	host.set(g)
	t.Cleanup(func() { host.set(nil) })
	return p, cam
}

// changed counts the pixels that differ between two frames.
func changed(a, b []byte) int {
	if len(a) != len(b) {
		return len(a) / 4
	}
	n := 0
	for i := 0; i < len(a); i += 4 {
		for j := range 3 {
			if d := int(a[i+j]) - int(b[i+j]); d > 8 || d < -8 {
				n++
				break
			}
		}
	}
	return n
}

// TestCueKindsAreDrawn: a step with one cue of each kind is drawn: the
// picture differs from an empty step's and the frame reports the cue as
// visible, or, for an audio-only kind, neither.
func TestCueKindsAreDrawn(t *testing.T) {
	<-host.started
	empty := emptyStep(t)
	for _, k := range scenes.Kinds() {
		want, ok := cueKindDraw[k]
		if !ok {
			t.Errorf("cue kind %q has no test: add it to cueKindDraw in engine/window/cuekinds_test.go (drawn or audio-only), and handle it in drawStep in engine/window/window.go", k)
			continue
		}
		t.Run(string(k), func(t *testing.T) {
			p, cam := cueKindSession(t, want.cue)
			c := p.Baseline.Cues[0]
			require.Equal(t, k, c.Kind)
			ref := present.Cue{ID: c.ID, Modality: string(k), File: c.Path}
			// A video shows once it has opened and decoded its first
			// picture: wait for the picture to change, within a bound.
			deadline := time.Now().Add(15 * time.Second)
			var s shot
			var diff, running int
			for time.Now().Before(deadline) {
				s = cam.take(t)
				if s.step != 0 {
					continue // not started yet
				}
				running++
				diff = changed(s.px, empty)
				if (want.audioOnly && running >= 3) || (!want.audioOnly && diff > len(empty)/4/100) {
					break
				}
			}
			require.Positive(t, running, "the session never drew its baseline")
			t.Logf("%d pixels differ from an empty step; visible: %v", diff, s.visible)
			if want.audioOnly {
				assert.Zero(t, diff, "an audio-only %s cue changed %d pixels: declare it drawn in cueKindDraw, or draw nothing for it in drawStep in engine/window/window.go", k, diff)
				assert.NotContains(t, s.visible, ref, "an audio-only %s cue was reported visible: see drawStep in engine/window/window.go", k)
				return
			}
			assert.Greater(t, diff, len(empty)/4/100, "a %s cue changed only %d pixels of an empty step: draw it in drawStep in engine/window/window.go", k, diff)
			assert.Contains(t, s.visible, ref, "a drawn %s cue was not reported visible (so it gets no onset): report it from drawStep in engine/window/window.go", k)
		})
	}
	for k := range cueKindDraw {
		assert.True(t, slices.Contains(scenes.Kinds(), k), "cueKindDraw in engine/window/cuekinds_test.go has %q, which scenes.Kinds() does not list", k)
	}
}

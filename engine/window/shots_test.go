package window

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
)

// grabber grabs the whole frame the first time a condition on the session
// holds while it is drawn (render thread), for tests that look at a frame
// as a whole and for screenshots.
type grabber struct {
	r    *rig
	want atomic.Pointer[func(engine.Snapshot) bool]
	got  chan *image.RGBA
	// also, when set, runs on the render thread with the grabbed frame,
	// where the Game's state may be read.
	also func()
}

func newGrabber() *grabber { return &grabber{got: make(chan *image.RGBA, 1)} }

func (c *grabber) onFrame(screen *ebiten.Image, _ time.Duration) {
	w := c.want.Load()
	if w == nil || c.r == nil || !(*w)(c.r.s.Snapshot()) {
		return
	}
	c.want.Store(nil)
	b := screen.Bounds()
	img := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	screen.ReadPixels(img.Pix)
	if c.also != nil {
		c.also()
	}
	c.got <- img
}

// shoot returns the first frame drawn from now on while cond holds.
func (c *grabber) shoot(t testing.TB, cond func(engine.Snapshot) bool) *image.RGBA {
	t.Helper()
	c.want.Store(&cond)
	select {
	case img := <-c.got:
		return img
	case <-time.After(20 * time.Second):
		t.Fatal("no frame showed what was waited for within 20 s")
		return nil
	}
}

// demoFS is the bundled demo's media.
func demoFS(t testing.TB) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, f := range []string{"bar.mpg", "bar_pano.png", "bottle.png", "bar.png", "glass.png", "neutral.png"} {
		data, err := os.ReadFile("../../assets/demo/media/" + f)
		require.NoError(t, err)
		fsys[f] = &fstest.MapFile{Data: data}
	}
	return fsys
}

const shotsProtocol = `cueroom: 1
title: Screenshots
substance: alcohol
crossfade: 2s
baseline:
  duration: 1h
  cues:
    - image: neutral.png
    - text: "Sit comfortably and breathe normally."
steps:
  - name: Bottle
    intensity: 2
    duration: 1h
    cues:
      - image: bottle.png
      - text: "Look at the bottle. Notice what you feel, and let it be there."
  - name: Bar
    intensity: 4
    duration: 1h
    cues:
      - image: bar.png
      - text: "Your usual bar. Notice the urge rise, and let it pass like a wave."
    rating:
      scale: craving
      question: "How strong is your craving for a drink right now?"
      at: start
  - name: In the bar
    intensity: 5
    duration: 1h
    cues:
      - panorama: bar_pano.png
      - text: "Look around the bar."
`

// TestScreenshots saves the patient's screen in the states the issue
// named (a step with its caption and the Esc reminder, mid-crossfade, the
// rating prompt, in stereo too, a panorama above its caption, and the calm
// screen) as PNGs in the folder WINDOW_SHOTS names, at 1280×720, for a
// person to look at. Skipped without it.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("WINDOW_SHOTS")
	if dir == "" {
		t.Skip("set WINDOW_SHOTS to a folder to save screenshots in")
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	ebiten.SetWindowSize(1280, 720)
	t.Cleanup(func() { ebiten.SetWindowSize(640, 360) })
	save := func(name string, img *image.RGBA) {
		f, err := os.Create(filepath.Join(dir, name))
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		require.NoError(t, f.Close())
	}
	for _, stereo := range []bool{false, true} {
		cam := newGrabber()
		r := newRigOpts(t, shotsProtocol, demoFS(t), Options{Stereo: stereo, OnFrame: cam.onFrame})
		cam.r = r
		at := func(step int, from time.Duration) func(engine.Snapshot) bool {
			return func(s engine.Snapshot) bool {
				return s.State == engine.Running && s.Step == step && s.Elapsed.Duration() >= from && r.g.w == 1280
			}
		}
		cam.shoot(t, at(0, 0))
		require.NoError(t, r.s.Next("test"))
		if !stereo {
			save("crossfade-mid.png", cam.shoot(t, at(1, 900*time.Millisecond)))
			save("caption-esc.png", cam.shoot(t, at(1, 2500*time.Millisecond)))
		}
		require.NoError(t, r.s.Next("test"))
		prompt := func(s engine.Snapshot) bool { return at(2, 2500*time.Millisecond)(s) && drewPrompt(r.g) }
		if stereo {
			save("stereo-rating.png", cam.shoot(t, prompt))
			continue
		}
		save("rating.png", cam.shoot(t, prompt))
		require.NoError(t, r.s.Answer(40, "patient"))
		require.NoError(t, r.s.Next("test"))
		save("panorama-caption.png", cam.shoot(t, at(3, 2500*time.Millisecond)))
		require.NoError(t, r.s.Calm("patient_stop", "patient"))
		since := r.s.Snapshot().Now.Duration()
		save("calm.png", cam.shoot(t, func(s engine.Snapshot) bool {
			return s.State == engine.Calm && s.Now.Duration()-since > 2500*time.Millisecond
		}))
		host.set(nil)
	}
}

package window

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/present"
	"github.com/cueroom/cueroom/event"
)

// patchShot is a frame in which the sync patch changed: its pixels, read
// while it was drawn, and when it was presented.
type patchShot struct {
	t           time.Duration
	left, right bool // the patch at the bottom left of the screen, and of its right half
	state       engine.State
	img         *image.RGBA
}

// patchCamera keeps the frames in which the patch at the bottom left
// changed (render thread: OnFrame reads, Presented stamps).
type patchCamera struct {
	r       *rig
	out     chan patchShot
	pending *patchShot
	last    bool
	patches chan [2]any // OnPatch's calls: on, t
}

func newPatchCamera() *patchCamera {
	return &patchCamera{out: make(chan patchShot, 64), patches: make(chan [2]any, 64)}
}

func (c *patchCamera) onFrame(screen *ebiten.Image, _ time.Duration) {
	b := screen.Bounds()
	px := make([]byte, 4*b.Dx()*b.Dy())
	white := func(x, y int) bool {
		i := 4 * (y*b.Dx() + x)
		return px[i] > 240 && px[i+1] > 240 && px[i+2] > 240
	}
	screen.ReadPixels(px)
	left := white(3, b.Dy()-3)
	if left == c.last {
		return
	}
	c.last = left
	img := &image.RGBA{Pix: px, Stride: 4 * b.Dx(), Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
	c.pending = &patchShot{left: left, right: white(b.Dx()/2+3, b.Dy()-3), state: c.r.s.Snapshot().State, img: img}
}

func (c *patchCamera) Presented(f present.Frame) {
	if c.pending == nil {
		return
	}
	c.pending.t = f.T
	c.out <- *c.pending
	c.pending = nil
}

func (c *patchCamera) Closed() {}

func (c *patchCamera) next(t *testing.T) patchShot {
	t.Helper()
	select {
	case s := <-c.out:
		return s
	case <-time.After(15 * time.Second):
		t.Fatal("the patch did not change within 15 s")
		return patchShot{}
	}
}

func (c *patchCamera) patch(t *testing.T) (bool, time.Duration) {
	t.Helper()
	select {
	case p := <-c.patches:
		return p[0].(bool), p[1].(time.Duration)
	case <-time.After(15 * time.Second):
		t.Fatal("OnPatch was not called within 15 s")
		return false, 0
	}
}

// savePNG writes a screenshot for a person to look at.
func savePNG(t *testing.T, name string, img *image.RGBA) {
	path := "/tmp/cueroom-" + name + ".png"
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, png.Encode(f, img))
	t.Logf("screenshot: %s", path)
}

func patchRig(t *testing.T, stereo bool) (*rig, *patchCamera) {
	cam := newPatchCamera()
	r := newDetachedRig(t, vasProtocol+`  - name: T
    intensity: 2
    duration: 1h
    cues:
      - image: green.png
`, fstest.MapFS{"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})}},
		Options{Stereo: stereo, SyncPatch: true, OnFrame: cam.onFrame, Present: cam,
			OnPatch: func(on bool, t time.Duration) { cam.patches <- [2]any{on, t} }})
	cam.r = r
	host.set(r.g)
	t.Cleanup(func() { host.set(nil) })
	return r, cam
}

// TestTheSyncPatchIsWhiteOnEachOnset: the patch turns white on the frame
// of a visual onset (here the baseline's picture and its rating scale),
// black PatchOn later, stays black over the calm scene, and turns white
// again when the step comes back; OnPatch hears each change with the time
// of the frame that showed it.
func TestTheSyncPatchIsWhiteOnEachOnset(t *testing.T) {
	r, cam := patchRig(t, false)
	on := cam.next(t)
	require.True(t, on.left)
	onset := r.nextEvent(t, event.KindCueOnset)
	assert.Equal(t, onset.T, on.t, "white on the onset's frame")
	lit, at := cam.patch(t)
	assert.Equal(t, []any{true, on.t}, []any{lit, at}, "OnPatch: on, at the frame's time")
	savePNG(t, "patch-on", on.img)

	off := cam.next(t)
	require.False(t, off.left)
	lit, at = cam.patch(t)
	assert.Equal(t, []any{false, off.t}, []any{lit, at})
	t.Logf("white for %v (PatchOn %v)", off.t-on.t, PatchOn)
	assert.GreaterOrEqual(t, off.t-on.t, PatchOn, "white for PatchOn at least")
	savePNG(t, "patch-off", off.img)

	// The calm scene: no onset, the patch black on top of it.
	require.NoError(t, r.s.Calm("patient_stop", "patient"))
	calm := r.waitFrame(t, isCalm)
	assert.Equal(t, engine.Calm, calm.state)
	require.NoError(t, r.s.Resume("therapist"))
	again := cam.next(t)
	assert.True(t, again.left, "white again when the step's cues come back")
	assert.Equal(t, engine.Running, again.state)
	savePNG(t, "patch-again", again.img)
}

// TestTheSyncPatchIsOnTopOfTheCalmScene: the patch is drawn last, white
// while an onset's PatchOn lasts, then black.
func TestTheSyncPatchIsOnTopOfTheCalmScene(t *testing.T) {
	shots := make(chan *image.RGBA, 1)
	var r *rig
	r = newDetachedRig(t, testProtocol, fstest.MapFS{
		"red.png":   {Data: solidPNG(color.RGBA{220, 20, 20, 255})},
		"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})},
	}, Options{SyncPatch: true, OnFrame: func(screen *ebiten.Image, _ time.Duration) {
		if r == nil || r.s.Snapshot().State != engine.Calm {
			return
		}
		b := screen.Bounds()
		px := make([]byte, 4*b.Dx()*b.Dy())
		screen.ReadPixels(px)
		if i := 4 * ((b.Dy()-3)*b.Dx() + 3); px[i] != 0 {
			return // still white from the picture's onset
		}
		select {
		case shots <- &image.RGBA{Pix: px, Stride: 4 * b.Dx(), Rect: b}:
		default:
		}
	}})
	host.set(r.g)
	t.Cleanup(func() { host.set(nil) })
	r.waitFrame(t, isRed)
	require.NoError(t, r.s.Calm("patient_stop", "patient"))
	var img *image.RGBA
	select {
	case img = <-shots:
	case <-time.After(15 * time.Second):
		t.Fatal("no calm frame")
	}
	savePNG(t, "patch-calm", img)
	h := img.Rect.Dy()
	assert.Equal(t, color.RGBA{0, 0, 0, 255}, img.RGBAAt(3, h-3), "the patch, black")
	assert.True(t, isCalm(img.RGBAAt(PatchSize+10, h-3)), "beside it, the calm scene: %v", img.RGBAAt(PatchSize+10, h-3))
}

// TestStereoHasAPatchPerEye: side by side, each eye's half has its patch.
func TestStereoHasAPatchPerEye(t *testing.T) {
	_, cam := patchRig(t, true)
	on := cam.next(t)
	assert.True(t, on.left && on.right, "both eyes' patches white on the onset's frame")
	savePNG(t, "patch-stereo-on", on.img)
	off := cam.next(t)
	assert.False(t, off.left || off.right, "both black after")
	w, h := on.img.Rect.Dx(), on.img.Rect.Dy()
	// Between them, the picture (not a patch).
	mid := on.img.RGBAAt(w/4, h-3)
	assert.False(t, mid.R > 240 && mid.G > 240 && mid.B > 240, "the middle of the left eye is not white: %v", mid)
}

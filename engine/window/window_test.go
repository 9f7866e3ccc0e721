package window

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"sync"
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
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/event/eventtest"
	"github.com/cueroom/cueroom/scenes"
)

// The window tests draw in a real window: ebiten wants the main thread, so
// TestMain runs the game loop and the tests run beside it, handing it the
// Game under test.
var host = &hostGame{started: make(chan struct{})}

type hostGame struct {
	mu      sync.Mutex
	g       *Game
	done    bool
	started chan struct{} // closed when the game loop first draws
	once    sync.Once
	measure *measuringGame // draws instead of g, counting allocations
}

func (h *hostGame) set(g *Game) { h.mu.Lock(); h.g = g; h.mu.Unlock() }
func (h *hostGame) cur() *Game  { h.mu.Lock(); defer h.mu.Unlock(); return h.g }

func (h *hostGame) Update() error {
	h.mu.Lock()
	done := h.done
	h.mu.Unlock()
	if done {
		return ebiten.Termination
	}
	if g := h.cur(); g != nil {
		if err := g.Update(); err == ebiten.Termination {
			h.set(nil)
		}
	}
	return nil
}

func (h *hostGame) Draw(screen *ebiten.Image) {
	h.once.Do(func() { close(h.started) })
	h.mu.Lock()
	m := h.measure
	h.mu.Unlock()
	if m != nil {
		m.draw(screen)
		return
	}

	if g := h.cur(); g != nil {
		if watchDraw != nil {
			defer watchDraw()()
		}
		g.Draw(screen)
	}
}

// watchDraw, when set, is called as each Draw starts and the function it
// returns as it ends (the step-change benchmark's stall trace).
var watchDraw func() func()

func (h *hostGame) Layout(w, hh int) (int, int) {
	if g := h.cur(); g != nil {
		return g.Layout(w, hh)
	}
	return w, hh
}

func TestMain(m *testing.M) {
	if os.Getenv("DISPLAY") == "" {
		fmt.Println("window tests need a display: run them with 'make test' (it starts Xvfb)")
		os.Exit(1)
	}
	code := make(chan int, 1)
	go func() {
		c := m.Run()
		host.mu.Lock()
		host.done = true
		host.mu.Unlock()
		code <- c
	}()
	ebiten.SetWindowSize(640, 360)
	ebiten.SetWindowTitle("cueroom window test")
	ebiten.SetRunnableOnUnfocused(true)
	if err := ebiten.RunGame(host); err != nil {
		fmt.Println("ebiten:", err)
		os.Exit(1)
	}
	os.Exit(<-code)
}

func solidPNG(c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 36))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

const testProtocol = `cueroom: 1
title: Window test
substance: alcohol
baseline:
  name: Baseline
  duration: 60s
  cues:
    - image: red.png
      fit: fill
steps:
  - name: Green
    intensity: 2
    duration: 60s
    cues:
      - image: green.png
        fit: fill
      - text: "Notice the urge"
`

// frame is what the test sees of one drawn frame.
type frame struct {
	t      time.Duration // when it was presented
	drawn  time.Duration // when drawing it began (its snapshot is from then on)
	center color.RGBA
	state  engine.State
	// left and right are the middles of the screen's halves; top is near
	// the top of the left half.
	left, right, top color.RGBA
}

type rig struct {
	g      *Game
	s      *engine.Session
	events *bus.Sub
	frames chan frame
	cancel context.CancelFunc
	// drawn is the last frame's pixels, read while it was drawn; it goes to
	// frames with its presentation time once the window reports it on
	// screen (render thread only).
	drawn    frame
	drawnSeq uint64
}

// rigReporter hands each presented frame to the presenter, then the rig's
// pixels of that frame, stamped with its presentation time, to the test.
type rigReporter struct {
	r    *rig
	next FrameReporter
}

func (rr rigReporter) Presented(f present.Frame) {
	rr.next.Presented(f)
	r := rr.r
	if r.drawnSeq != f.Seq {
		return // drawn before the rig's probe was on (or not probed)
	}
	d := r.drawn
	d.t = f.T
	select {
	case r.frames <- d:
	default:
	}
}

func (rr rigReporter) Closed() { rr.next.Closed() }

func newRig(t *testing.T) *rig {
	return newRigWith(t, testProtocol, redGreen())
}

func redGreen() fstest.MapFS {
	return fstest.MapFS{
		"red.png":   {Data: solidPNG(color.RGBA{220, 20, 20, 255})},
		"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})},
	}
}

// hardCuts sets a protocol's crossfade to 0: the tests of onsets against
// pixels at a step change; for a crossfade see patient_test.go.
func hardCuts(src string) string {
	return strings.Replace(src, "\nsubstance: alcohol\n", "\nsubstance: alcohol\ncrossfade: 0\n", 1)
}

func newRigWith(t *testing.T, src string, fsys fstest.MapFS) *rig {
	return newRigOpts(t, src, fsys, Options{})
}

func newRigOpts(t testing.TB, src string, fsys fstest.MapFS, opt Options) *rig {
	r := newDetachedRig(t, src, fsys, opt)
	host.set(r.g)
	t.Cleanup(func() { host.set(nil) })
	return r
}

// newDetachedRig makes the session and its Game without handing the Game to
// the game loop (benchmarks draw it themselves).
func newDetachedRig(t testing.TB, src string, fsys fstest.MapFS, opt Options) *rig {
	p, err := scenes.Parse("test.yaml", []byte(src), fsys)
	require.NoError(t, err)
	media, err := engine.LoadMedia(p)
	require.NoError(t, err)
	t.Cleanup(media.Close)
	b := bus.New()
	r := &rig{events: b.Subscribe(1024, true), frames: make(chan frame, 4096)}
	clock := engine.NewClock()
	// The presenter makes the events from what was drawn and played, as in
	// a session.
	pres := present.New(func(e event.Event) { b.Publish(bus.Msg{Event: &e}) }, clock.Wall)
	var also FrameReporter = pres
	if opt.Present != nil {
		also = tee{pres, opt.Present}
	}
	opt.Present = rigReporter{r, also}
	// Sound and video play as in a session, to a silent paced sink.
	out := audio.Open(audio.Options{NoDevice: true})
	t.Cleanup(func() { out.Close() })
	r.s = engine.New(p, b, clock, engine.NewSoundPlayer(out, media, clock, pres))
	alsoFrame := opt.OnFrame
	opt.OnFrame = func(screen *ebiten.Image, ft time.Duration) {
		if alsoFrame != nil {
			alsoFrame(screen, ft)
		}
		w, h := screen.Bounds().Dx(), screen.Bounds().Dy()
		at := func(x, y int) color.RGBA {
			px := make([]byte, 4)
			screen.SubImage(image.Rect(x, y, x+1, y+1)).(*ebiten.Image).ReadPixels(px)
			return color.RGBA{px[0], px[1], px[2], px[3]}
		}
		r.drawn = frame{drawn: ft, center: at(w/2, h/3), state: r.s.Snapshot().State,
			left: at(w/4, h/2), right: at(3*w/4, h/2), top: at(w/4, 5)}
		r.drawnSeq = r.g.frame
	}
	g, err := New(r.s, media, clock, opt)
	require.NoError(t, err)
	r.g = g
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	done := make(chan struct{})
	go func() { r.s.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		b.Close()
	})
	return r
}

// tee reports to two reporters.
type tee [2]FrameReporter

func (t tee) Presented(f present.Frame) { t[0].Presented(f); t[1].Presented(f) }
func (t tee) Closed()                   { t[0].Closed(); t[1].Closed() }

// waitFrame returns the first frame whose centre pixel matches want.
func (r *rig) waitFrame(t *testing.T, want func(color.RGBA) bool) frame {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f := <-r.frames:
			if want(f.center) {
				return f
			}
		case <-deadline:
			t.Fatal("no frame showed the expected scene within 10 s")
		}
	}
}

// nextEvent returns the next event of the given kind.
func (r *rig) nextEvent(t *testing.T, kind event.Kind) event.Event {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-r.events.C:
			if m.Event != nil && m.Event.Kind() == kind {
				return *m.Event
			}
		case <-deadline:
			t.Fatalf("no %s event within 10 s", kind)
		}
	}
}

func isRed(c color.RGBA) bool   { return c.R > 180 && c.G < 60 && c.B < 60 }
func isGreen(c color.RGBA) bool { return c.G > 160 && c.R < 60 && c.B < 80 }
func isCalm(c color.RGBA) bool  { return c.B > 100 && c.G > 80 && c.R < 90 }

func TestCueOnsetIsTheFirstFrameThatShowsIt(t *testing.T) {
	r := newRigWith(t, hardCuts(testProtocol), redGreen())
	first := r.waitFrame(t, isRed)
	on := r.nextEvent(t, event.KindCueOnset)
	assert.Equal(t, "baseline.c1", eventtest.Field(on, "cue"))
	assert.Equal(t, first.t, on.T, "onset must carry the time of the first frame that drew the red image")

	require.NoError(t, r.s.Next("test"))
	green := r.waitFrame(t, isGreen)
	off := r.nextEvent(t, event.KindCueOffset)
	assert.Equal(t, "baseline.c1", eventtest.Field(off, "cue"))
	assert.Less(t, off.T, green.t, "offset is the last frame that showed red, before the first green one")
	on = r.nextEvent(t, event.KindCueOnset)
	assert.Equal(t, "s1.c1", eventtest.Field(on, "cue"))
	assert.Equal(t, green.t, on.T)
}

func TestRepeatIsANewPresentation(t *testing.T) {
	r := newRig(t)
	r.waitFrame(t, isRed)
	on := r.nextEvent(t, event.KindCueOnset)
	require.Equal(t, "baseline.c1", eventtest.Field(on, "cue"))
	// The same picture stays on screen, yet the repeat is a new
	// presentation: the first one's offset, then a new onset, both logged.
	require.NoError(t, r.s.Repeat("test"))
	start := r.nextEvent(t, event.KindStepStart)
	off := r.nextEvent(t, event.KindCueOffset)
	assert.Equal(t, "baseline.c1", eventtest.Field(off, "cue"))
	again := r.nextEvent(t, event.KindCueOnset)
	assert.Equal(t, "baseline.c1", eventtest.Field(again, "cue"))
	assert.GreaterOrEqual(t, again.T, start.T, "the new onset is drawn after the repeat")
	assert.Less(t, off.T, again.T)
}

func TestStopShowsCalmSceneOnTheNextFrame(t *testing.T) {
	r := newRig(t)
	r.waitFrame(t, isRed)
	require.NoError(t, r.s.Calm("patient_stop", "patient"))
	stop := r.nextEvent(t, event.KindPatientStop)
	// The first frame drawn after the stop is the calm scene: not one more
	// frame of the cue. (A frame drawn just before the stop is presented
	// after it: frames are picked by when their drawing began.)
	f := <-r.frames
	for f.drawn < stop.T {
		f = <-r.frames
	}
	assert.True(t, isCalm(f.center), "first frame after the stop shows %v, not the calm scene", f.center)
	assert.Equal(t, engine.Calm, f.state)
}

func TestPauseFreezesTheStepTimer(t *testing.T) {
	r := newRig(t)
	r.waitFrame(t, isRed)
	require.NoError(t, r.s.Pause("test"))
	a := r.s.Snapshot()
	// Several frames later the step's clock has not moved.
	for i := 0; i < 10; i++ {
		<-r.frames
	}
	b := r.s.Snapshot()
	assert.Equal(t, engine.Paused, b.State)
	assert.Equal(t, a.Elapsed, b.Elapsed)
	assert.Greater(t, b.Now, a.Now)
	require.NoError(t, r.s.Resume("test"))
	require.Eventually(t, func() bool { return r.s.Snapshot().Elapsed > b.Elapsed }, 5*time.Second, time.Millisecond)
}

// bandsPNG is a 2:1 panorama in four bands of longitude: red, green, blue,
// yellow from left (−180°) to right (+180°).
func bandsPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 256, 128))
	bands := []color.RGBA{{220, 20, 20, 255}, {20, 200, 40, 255}, {30, 40, 220, 255}, {230, 220, 30, 255}}
	for y := 0; y < 128; y++ {
		for x := 0; x < 256; x++ {
			img.SetRGBA(x, y, bands[x/64])
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

const panoProtocol = `cueroom: 1
title: Panorama test
substance: alcohol
baseline:
  duration: 60s
  cues:
    - panorama: pano.png
      yaw: 45
steps:
  - name: Behind
    intensity: 1
    duration: 60s
    cues:
      - panorama: pano.png
        yaw: -135
`

func isBlue(c color.RGBA) bool { return c.B > 180 && c.R < 60 && c.G < 80 }

// TestTheViewIsRecordedWithTheFrameThatShowsIt: a 360° scene records where
// the view starts, stamped with the first frame that drew it.
func TestTheViewIsRecordedWithTheFrameThatShowsIt(t *testing.T) {
	r := newRigWith(t, hardCuts(panoProtocol), fstest.MapFS{"pano.png": {Data: bandsPNG()}})
	first := r.waitFrame(t, isBlue)
	l := r.nextEvent(t, event.KindLook)
	assert.Equal(t, first.t, l.T, "the view is recorded with the first frame that showed the scene")
	assert.Equal(t, event.Look{Cue: "baseline.c1", YawDeg: 45}, l.Data)
	assert.Equal(t, 0, l.Step)

	require.NoError(t, r.s.Next("test"))
	behind := r.waitFrame(t, isRed)
	l = r.nextEvent(t, event.KindLook)
	assert.Equal(t, behind.t, l.T)
	assert.Equal(t, event.Look{Cue: "s1.c1", YawDeg: -135}, l.Data)
	assert.Equal(t, 1, l.Step)
}

// TestPanoramaShowsTheRegionAtItsYaw: looking 45° right of the picture's
// centre is the third band (blue); looking 135° left is the first (red).
func TestPanoramaShowsTheRegionAtItsYaw(t *testing.T) {
	r := newRigWith(t, hardCuts(panoProtocol), fstest.MapFS{"pano.png": {Data: bandsPNG()}})
	r.waitFrame(t, isBlue)
	require.NoError(t, r.s.Next("test"))
	f := r.waitFrame(t, func(c color.RGBA) bool { return !isBlue(c) })
	assert.True(t, isRed(f.center), "yaw -135° shows %v, want the red band", f.center)
}

// TestHundredsOfOnsetsMatchTheFramesThatDrewThem plays 100 short steps (the
// most a protocol has) that alternate two pictures, each with a line of
// text, and checks every logged onset against the frames: a picture's onset
// carries the time of a frame that showed it, and the frame before did not;
// the text came with the same frame.
func TestHundredsOfOnsetsMatchTheFramesThatDrewThem(t *testing.T) {
	const n = 100
	var b strings.Builder
	b.WriteString("cueroom: 1\ntitle: Timing\nsubstance: alcohol\ncrossfade: 0\nbaseline:\n  duration: 50ms\n  cues:\n    - image: green.png\n      fit: fill\nsteps:\n")
	for i := 0; i < n; i++ {
		img := "red.png"
		if i%2 == 1 {
			img = "green.png"
		}
		fmt.Fprintf(&b, "  - name: S%d\n    intensity: 1\n    duration: 100ms\n    cues:\n      - image: %s\n        fit: fill\n      - text: step %d\n", i, img, i)
	}
	r := newRigWith(t, b.String(), fstest.MapFS{
		"red.png":   {Data: solidPNG(color.RGBA{220, 20, 20, 255})},
		"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})},
	})
	var frames []frame
	var onsets []event.Event
	deadline := time.After(60 * time.Second)
	for done := false; !done; {
		select {
		case f := <-r.frames:
			frames = append(frames, f)
		case m := <-r.events.C:
			if m.Event == nil {
				continue
			}
			if m.Event.Kind() == event.KindCueOnset {
				onsets = append(onsets, *m.Event)
			}
			done = m.Event.Kind() == event.KindSessionEnd
		case <-deadline:
			t.Fatal("the session did not end within 60 s")
		}
	}
	// The frame that drew the last onset is handed over just after the
	// onset is emitted, so it may still be on its way: wait for it, then
	// drain what is buffered.
	require.NotEmpty(t, onsets)
	for lastOnset := onsets[len(onsets)-1].T; len(frames) == 0 || frames[len(frames)-1].t < lastOnset; {
		select {
		case f := <-r.frames:
			frames = append(frames, f)
		case <-deadline:
			t.Fatal("the frame of the last onset never arrived")
		}
	}
	for len(r.frames) > 0 {
		frames = append(frames, <-r.frames)
	}
	byTime := map[time.Duration]int{}
	for i, f := range frames {
		byTime[f.t] = i
	}
	// A step shorter than a frame may never be drawn: on a quiet machine
	// nearly all are (a frame takes ~7–17 ms), on one loaded by other work
	// (frames of 100–200 ms) about half; every onset logged is checked.
	require.GreaterOrEqual(t, len(onsets), n, "onsets logged (of %d cues)", 2*n)
	prevStep := -2
	for _, on := range onsets {
		i, ok := byTime[on.T]
		require.True(t, ok, "onset of %v at %v is not the time of any drawn frame", eventtest.Field(on, "cue"), on.T)
		if eventtest.Field(on, "modality") == "text" {
			continue
		}
		want := isRed
		if eventtest.Field(on, "file") == "green.png" {
			want = isGreen
		}
		assert.True(t, want(frames[i].center), "frame at %v shows %v for %v", on.T, frames[i].center, eventtest.Field(on, "file"))
		// The frame before showed the other picture, unless the step in
		// between was too short to be drawn at all (then both show the same
		// picture, and the onset still names the right frame).
		if i > 0 && on.Step == prevStep+1 {
			assert.False(t, want(frames[i-1].center), "the frame before the onset of %v already showed it", eventtest.Field(on, "cue"))
		}
		prevStep = on.Step
	}
	t.Logf("%d onsets checked against %d frames", len(onsets), len(frames))
}

// TestStereoDrawsTheSceneOncePerEye: side by side, each half shows the whole
// picture, letterboxed for a half-width screen.
func TestStereoDrawsTheSceneOncePerEye(t *testing.T) {
	r := newRigOpts(t, strings.Replace(testProtocol, "fit: fill", "fit: fit", 1), fstest.MapFS{
		"red.png":   {Data: solidPNG(color.RGBA{220, 20, 20, 255})},
		"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})},
	}, Options{Stereo: true})
	var f frame
	deadline := time.After(10 * time.Second)
	for !isRed(f.left) {
		select {
		case f = <-r.frames:
		case <-deadline:
			t.Fatal("no frame showed the picture")
		}
	}
	assert.True(t, isRed(f.right), "right eye shows %v", f.right)
	assert.False(t, isRed(f.top), "a 16:9 picture in a half-width eye is letterboxed: the top is %v", f.top)
}

// TestViewSamplerSendsThePatientsScreen: the dashboard's picture of the
// patient's view is a small JPEG of what the window drew.
func TestViewSamplerSendsThePatientsScreen(t *testing.T) {
	got := make(chan []byte, 16)
	vs := NewViewSampler(100*time.Millisecond, 160, 90, func(_ time.Duration, b []byte) {
		select {
		case got <- b:
		default:
		}
	})
	t.Cleanup(vs.Close)
	r := newRigOpts(t, testProtocol, fstest.MapFS{
		"red.png":   {Data: solidPNG(color.RGBA{220, 20, 20, 255})},
		"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})},
	}, Options{OnFrame: vs.OnFrame})
	r.waitFrame(t, isRed)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case b := <-got:
			img, err := jpeg.Decode(bytes.NewReader(b))
			require.NoError(t, err)
			require.Equal(t, image.Rect(0, 0, 160, 90), img.Bounds())
			r8, g8, b8, _ := img.At(80, 30).RGBA()
			if isRed(color.RGBA{uint8(r8 >> 8), uint8(g8 >> 8), uint8(b8 >> 8), 255}) {
				return
			}
		case <-deadline:
			t.Fatal("no view showing the red picture within 10 s")
		}
	}
}

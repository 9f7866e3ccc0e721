// Package window is the patient's view: an ebiten Game that draws a session
// Snapshot and turns the patient's keys into session commands. It owns no
// session logic and makes no events: it reports each frame it presented
// (its time, the visual cues in it, the patient's view of a 360° scene) to a
// presenter (package present), which stamps cue onsets with the time of the
// frame that first showed them.
//
// # When a frame is presented
//
// A frame's time is taken after the buffer swap that shows it, not when it
// is drawn. Ebiten (v2.10, internal/ui/context.go) runs each frame as
// Layout, Update (0 to n times), Draw, then flushes the drawing and swaps
// the buffers; with vsync on (ebiten's default, which cueroom keeps) that
// flush waits on the calling goroutine until the swap has returned. So the
// frame drawn by Draw N is stamped by the first of our hooks to run after
// it: Layout of the next frame, which ebiten calls every frame before
// Update and Draw (Update may not run at all in a frame, when the display
// is faster than 60 ticks a second). Update and Draw stamp it too, should
// Layout not come first (another host loop, such as the tests').
//
// What the stamp does not see, and so the uncertainty of an onset:
//   - from the swap's return to the stamp: ebiten polls window events and
//     sets up the frame first, well under a millisecond on an idle machine,
//     more when the process is descheduled;
//   - where the driver ignores vsync (Xvfb, some VMs) ebiten paces the loop
//     by sleeping after the swap, so the stamp trails it by up to a frame;
//   - a driver that queues frames returns from the swap before the flip
//     (up to a frame early); a compositor adds up to a frame in a window
//     (none in exclusive fullscreen); the display adds its input lag, its
//     scan-out (the bottom of the screen lights up to a frame after the
//     top) and its pixels' response time.
//
// The sync patch (Options.SyncPatch) measures the whole chain with a
// photodiode: `cueroom timing` compares each onset with the light.
//
// # Crossfades and the patient's screen
//
// A step that starts after another dissolves in from the frame on screen
// over its Crossfade (scenes.Step); the fade's first frame is the new
// cues' onset, and lights the sync patch. Words sit in a band at the
// bottom that the step's pictures stay out of; the rating scale is laid
// out above that band; text wraps to the width it is drawn in (an eye's in
// stereo); a dim "Esc stops" stays in the top-right corner; the pointer is
// hidden unless a rating may be given with the mouse; the calm screen has
// a breathing pacer. See layout.go.
//
// # Preloading
//
// Before a step starts, what it needs is already on the GPU: the images and
// text of the steps reachable from the one on screen (next, repeat, back,
// the last step, and the calm and pause screens) are uploaded a bounded
// amount per frame (see preload.go), the videos are opened ahead
// (engine.Media.Ahead) and their textures made, so a step change draws
// from memory instead of stalling the frame.
package window

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
	"golang.org/x/image/font/gofont/goregular"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/engine/present"
	"github.com/cueroom/cueroom/engine/video"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
)

// Options configure the window.
type Options struct {
	Title      string
	Width      int // windowed size in device-independent pixels
	Height     int
	Fullscreen bool
	// Stereo draws the scene side by side, once per eye, for a headset
	// used as a display.
	Stereo bool
	// OnFrame, when set, receives each drawn frame (for the dashboard's
	// patient view) and the time its drawing started (it is presented a
	// little later); it is called on the render thread, so it must be quick.
	OnFrame func(screen *ebiten.Image, t time.Duration)
	// OnUpdate, when set, runs at the start of every tick on the main
	// thread, before the patient's input is handled (replay's keys).
	OnUpdate func()
	// ReadOnly shows the rating scale but takes no answer (a replay: the
	// patient answered in the session).
	ReadOnly bool
	// Caption, when set, is drawn small at the top left of every frame
	// (replay's position and speed; never shown to a patient).
	Caption func() string
	// Present, when set, is told of every frame presented and, once, that
	// the window closed (a *present.Presenter, which makes the cue onsets,
	// offsets and look events from them).
	Present FrameReporter
	// SyncPatch draws a PatchSize square in the bottom-left corner, on top
	// of everything (the calm scene, the rating scale, the pause's dimming):
	// white for PatchOn from each frame with a visual onset, black
	// otherwise, for a photodiode taped over it. With Stereo there is one
	// in each eye's half, at the bottom left of each. Onsets less than
	// PatchOn apart share one white period (one rising edge).
	SyncPatch bool
	// OnPatch, when set, hears each change of the sync patch (on: white)
	// with the time of the frame that first showed it, stamped after the
	// buffer swap as onsets are. Called on the render thread: keep it quick.
	OnPatch func(on bool, t time.Duration)
	// HeadView, when set, says where a connected headset looks: yaw and
	// pitch in degrees (pitch positive looks down, as the window's look
	// events), ok false while no headset is connected or it sends no pose.
	// While it answers ok, a 360° scene is drawn looking that way with a
	// small "headset view" label, the keys and the mouse do not turn it,
	// and the window reports no view of its own: the headset's looks are
	// the patient's. Called on the render thread: keep it quick.
	HeadView func() (yawDeg, pitchDeg float64, ok bool)
}

// The sync patch: its side in device-independent pixels, and how long it
// stays white after an onset (6 frames at 60 Hz; at least 4 samples of a
// 100 Hz photodiode even at 144 Hz).
const (
	PatchSize = 40
	PatchOn   = 100 * time.Millisecond
)

// FrameReporter hears what the window presented. Presented is called on the
// render thread once a frame is on screen (after its buffer swap: see the
// package comment), so it must be quick; the frame's Visible slice is
// reused afterwards. Closed is called on the main thread when the window
// stops drawing, after the last frame was reported.
type FrameReporter interface {
	Presented(present.Frame)
	Closed()
}

// Source is what the window shows and where the patient's input goes: the
// live *engine.Session, or a replay of a recorded one.
type Source interface {
	Snapshot() engine.Snapshot
	Step(i int) (scenes.Step, bool)
	// Done is closed when the window should close.
	Done() <-chan struct{}
	End(reason string)
	Calm(reason, by string) error // the patient's stop key
	Answer(value int, by string) error
}

// Clock is the time frames are stamped with: the session clock, or the
// replay position.
type Clock interface{ Now() time.Duration }

// Game adapts a session to ebiten.
type Game struct {
	s     Source
	media *engine.Media
	clock Clock
	opt   Options

	images map[string]*picture // on the GPU (see preload.go)
	face   *text.GoTextFace
	small  *text.GoTextFace

	vas    int  // the rating marker, 0..100
	vasSet bool // the patient has moved the marker
	// The marker as last told to the source (MarkerMover).
	markerSent bool
	markerAt   int
	markerFor  time.Duration // the prompt (its Since) the marker is on
	stick      float64
	pads       []ebiten.GamepadID

	videos   map[string]*videoTex // a video's picture on the GPU, by cue
	faces    map[faceKey]*text.GoTextFace
	sprites  map[textKey]*textSprite
	spriteOp ebiten.DrawImageOptions
	frame    uint64
	hints    [101]string   // "Your rating: N — ..." by N, made once
	vis      []present.Cue // the visual cues drawn in this frame
	panoDrew bool          // this frame drew a 360° scene
	headDrew bool          // it drew it looking where the headset looks
	seen     present.View  // its view, as reported
	lines    []string
	capLines []string // the caption's lines as last joined
	capText  string
	uni      [3][]float32 // the panorama shader's uniforms
	wrapped  struct {     // the last caption laid out, reused while it stays
		text  string
		width float64
		face  *text.GoTextFace
		lines []string
	}
	pano   *ebiten.Shader
	panoOp ebiten.DrawTrianglesShaderOptions
	view   view
	vs     []ebiten.Vertex
	is     []uint16
	w, h   int     // framebuffer size in pixels
	scale  float64 // device pixels per device-independent pixel

	// The frame drawn last, reported once it is on screen.
	pend      present.Frame
	pendOK    bool
	pendLit   bool // its sync patch is white
	pendOnset bool // it has a visual onset
	// The sync patch.
	lit       bool          // as last presented
	litFrom   time.Duration // when the last onset was presented
	anyOnset  bool
	prevVis   []present.Cue // the cues of the frame drawn before
	prevPres  uint64
	promptFor string // the step promptID was made for
	promptID  string // "<step>.rating"

	pre preload

	// The patient's screen kept calm and legible (layout.go).
	fade        fade
	fadeOp      ebiten.DrawImageOptions
	canv        canvases
	canvasUse   int8 // 0 not decided yet, 1 a canvas, -1 the screen (useCanvas)
	blitOp      ebiten.DrawImageOptions
	dropped     []dropped // textures to release a few frames on (layout.go)
	shownStep   bool      // the frame drawn last showed a step
	shownPres   uint64    // its presentation
	reserve     reserve
	lastReserve int // the caption band of the step drawn last
	area        struct {
		of   *ebiten.Image
		rect image.Rectangle
		img  *ebiten.Image
	}
	wraps      map[wrapKey]string
	shrinks    map[wrapKey]*text.GoTextFace
	promptFrac float64 // the rating box's top, a part of the height (0: not laid out yet)
	cursor     ebiten.CursorModeType
	cursorSet  bool
	calmFrom   time.Duration // when the calm screen came
	inCalm     bool
}

// New makes the Game for a session.
func New(s Source, m *engine.Media, c Clock, opt Options) (*Game, error) {
	src, err := text.NewGoTextFaceSource(bytes.NewReader(goregular.TTF))
	if err != nil {
		return nil, err
	}
	if opt.Width == 0 {
		opt.Width, opt.Height = 1280, 720
	}
	return &Game{
		s: s, media: m, clock: c, opt: opt,
		images: map[string]*picture{},
		face:   &text.GoTextFace{Source: src, Size: 36},
		small:  &text.GoTextFace{Source: src, Size: 22},
		vas:    50,
	}, nil
}

// Run opens the window and plays until the session ends. It must be called
// on the main goroutine (ebiten's rule).
//
// The window's title is Options.Title, "cueroom session" when empty: the
// patient sees it, so it names no substance. The screen is cleared every
// frame, as ebiten does by default: a crossfade starts from a canvas the
// window drew (layout.go), never from the screen.
func (g *Game) Run() error {
	title := g.opt.Title
	if title == "" {
		title = DefaultTitle
	}
	ebiten.SetWindowTitle(title)
	g.setCursor(g.s.Snapshot())
	ebiten.SetWindowSize(g.opt.Width, g.opt.Height)
	ebiten.SetWindowResizingMode(ebiten.WindowResizingModeEnabled)
	ebiten.SetFullscreen(g.opt.Fullscreen)
	ebiten.SetWindowClosingHandled(true)
	return ebiten.RunGame(g)
}

// DefaultTitle is the window's title when Options.Title is empty: neutral,
// as the patient sees it.
const DefaultTitle = "cueroom session"

// Update handles the patient's input; the session does the rest.
func (g *Game) Update() error {
	g.presented()
	if g.opt.OnUpdate != nil {
		g.opt.OnUpdate()
	}
	snap := g.s.Snapshot()
	if g.done() {
		// The last scene's cues went off with the last frame that drew them.
		g.closed()
		return ebiten.Termination
	}
	if ebiten.IsWindowBeingClosed() {
		g.closed()
		g.s.End("window closed")
		return ebiten.Termination
	}
	g.setCursor(snap)
	g.pads = ebiten.AppendGamepadIDs(g.pads[:0])
	// The stop key comes first: the next frame drawn is the calm scene.
	if (inpututil.IsKeyJustPressed(ebiten.KeyEscape) || g.padJustPressed(stopButtons...)) && snap.State != engine.Calm {
		_ = g.s.Calm("patient_stop", "patient")
		return nil
	}
	if snap.Prompt != nil && snap.State == engine.Running && !g.opt.ReadOnly {
		g.rate(snap.Prompt)
	}
	_, replaying := g.s.(Looker)
	if snap.State == engine.Running || (replaying && snap.State == engine.Paused) {
		if st, ok := g.s.Step(snap.Step); ok {
			for _, c := range st.Cues {
				if c.Kind == scenes.KindPanorama {
					g.look(c, snap.Prompt != nil)
				}
			}
		}
	}
	return nil
}

// corner draws a line of text on a dark band at the top left.
func (g *Game) corner(screen *ebiten.Image, s string) {
	f := g.scaled(g.small, 0.8)
	w, h := text.Measure(s, f, 0)
	pad := f.Size / 2
	vector.FillRect(screen, 0, 0, float32(w+2*pad), float32(h+pad), dimmed, false)
	op := &text.DrawOptions{}
	op.GeoM.Translate(pad, pad/2)
	op.ColorScale.ScaleWithColor(white)
	text.Draw(screen, s, f, op)
}

func (g *Game) done() bool {
	select {
	case <-g.s.Done():
		return true
	default:
		return false
	}
}

// rate lets the patient place the marker with arrows or the mouse and
// confirm with Enter, Space or a click.
func (g *Game) rate(p *engine.Prompt) {
	if p.Since != g.markerFor {
		// A new prompt starts with no marker, even when the last one
		// closed without an answer (a stop, the therapist moving on).
		g.markerFor = p.Since
		g.vas, g.vasSet, g.markerSent = 50, false, false
	}
	step := 1
	if ebiten.IsKeyPressed(ebiten.KeyShift) {
		step = 10
	}
	// No marker stands on the scale until the patient places one (a
	// pre-placed marker anchors the answer): the first key press puts it
	// in the middle, the next ones move it; a click puts it where clicked.
	left := inpututil.IsKeyJustPressed(ebiten.KeyArrowLeft) || repeat(ebiten.KeyArrowLeft) || g.padJustPressed(ebiten.StandardGamepadButtonLeftLeft)
	right := inpututil.IsKeyJustPressed(ebiten.KeyArrowRight) || repeat(ebiten.KeyArrowRight) || g.padJustPressed(ebiten.StandardGamepadButtonLeftRight)
	switch {
	case (left || right) && !g.vasSet:
		g.vas, g.vasSet = 50, true
	case left:
		g.vas = max(0, g.vas-step)
	case right:
		g.vas = min(100, g.vas+step)
	}
	// The left stick moves the marker smoothly, proportional to the tilt.
	for _, id := range g.pads {
		if ebiten.IsStandardGamepadLayoutAvailable(id) {
			if a := ebiten.StandardGamepadAxisValue(id, ebiten.StandardGamepadAxisLeftStickHorizontal); math.Abs(a) > 0.25 {
				g.stick += a * 1.5
				if math.Abs(g.stick) >= 1 {
					if !g.vasSet {
						g.vas = 50 // placed in the middle, then moved
					}
					g.vas = max(0, min(100, g.vas+int(g.stick)))
					g.stick -= float64(int(g.stick))
					g.vasSet = true
				}
			}
		}
	}
	mx, my := ebiten.CursorPosition()
	if g.opt.Stereo {
		// The scale is drawn in each eye's half: use the pointer's place
		// within its half.
		full := g.w
		g.w = max(full/2, 1)
		mx %= g.w
		defer func() { g.w = full }()
	}
	x, y, w, h := g.vasRect()
	inBar := float64(mx) >= x-10 && float64(mx) <= x+w+10 && float64(my) >= y-30 && float64(my) <= y+h+30
	if inBar && ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft) {
		g.vas = int(math.Round(math.Max(0, math.Min(1, (float64(mx)-x)/w)) * 100))
		g.vasSet = true
	}
	g.reportMarker()
	confirm := inpututil.IsKeyJustPressed(ebiten.KeyEnter) || inpututil.IsKeyJustPressed(ebiten.KeySpace) ||
		g.padJustPressed(ebiten.StandardGamepadButtonRightBottom) ||
		(inBar && inpututil.IsMouseButtonJustReleased(ebiten.MouseButtonLeft))
	if confirm && g.vasSet {
		if g.s.Answer(g.vas, "patient") == nil {
			g.vas, g.vasSet, g.markerSent = 50, false, false
		}
	}
}

// MarkerMover is a Source that follows the rating marker while the patient
// moves it (the live session, for the therapist's dashboard: see
// engine.Session.MoveMarker); a replay has none.
type MarkerMover interface {
	MoveMarker(value int, by string) error
}

// reportMarker tells the source where the patient's marker stands, when it
// moved since it was last told.
func (g *Game) reportMarker() {
	m, ok := g.s.(MarkerMover)
	if !ok || !g.vasSet || (g.markerSent && g.markerAt == g.vas) {
		return
	}
	if m.MoveMarker(g.vas, "patient") == nil {
		g.markerSent, g.markerAt = true, g.vas
	}
}

// stopButtons end the exposure from a gamepad: Start, or B (the usual
// "back" button), for patients in a headset without a keyboard at hand.
var stopButtons = []ebiten.StandardGamepadButton{ebiten.StandardGamepadButtonCenterRight, ebiten.StandardGamepadButtonRightRight}

func (g *Game) padJustPressed(buttons ...ebiten.StandardGamepadButton) bool {
	for _, id := range g.pads {
		if !ebiten.IsStandardGamepadLayoutAvailable(id) {
			continue
		}
		for _, b := range buttons {
			if inpututil.IsStandardGamepadButtonJustPressed(id, b) {
				return true
			}
		}
	}
	return false
}

func repeat(k ebiten.Key) bool {
	d := inpututil.KeyPressDuration(k)
	return d > 20 && d%3 == 0
}

// Layout draws at the device's real resolution, so the scene is sharp on
// HiDPI screens; everything below is laid out relative to it.
//
// Ebiten calls it first in every frame, after the previous frame's buffer
// swap: the previous frame is reported presented here.
func (g *Game) Layout(outsideW, outsideH int) (int, int) {
	g.presented()
	s := ebiten.Monitor().DeviceScaleFactor()
	g.scale = s
	g.w, g.h = int(float64(outsideW)*s), int(float64(outsideH)*s)
	return g.w, g.h
}

func (g *Game) closed() {
	g.presented()
	if g.opt.Present != nil {
		g.opt.Present.Closed()
	}
	if g.media != nil {
		g.media.Ahead(nil) // close the videos opened for steps that will not come
	}
}

// presented reports the frame drawn last, now on screen, stamped now: the
// first hook to run after its buffer swap calls it (see the package
// comment).
func (g *Game) presented() {
	if !g.pendOK {
		return
	}
	g.pendOK = false
	t := g.clock.Now()
	g.pend.T = t
	if g.opt.Present != nil {
		g.opt.Present.Presented(g.pend)
	}
	if g.pendOnset {
		g.litFrom, g.anyOnset = t, true
	}
	if g.pendLit != g.lit {
		g.lit = g.pendLit
		if g.opt.OnPatch != nil {
			g.opt.OnPatch(g.lit, t)
		}
	}
}

// Draw renders the snapshot; the frame is reported to the presenter once it
// is on screen (see presented). OnFrame gets the time drawing started.
func (g *Game) Draw(screen *ebiten.Image) {
	g.presented()
	g.frame++
	g.reap()
	now := g.clock.Now()
	snap := g.s.Snapshot()
	if b := screen.Bounds(); g.w != b.Dx() || g.h != b.Dy() {
		// Laid out at the screen's size, should Layout not have run for
		// this Game yet (a host that switches games between frames).
		g.w, g.h = b.Dx(), b.Dy()
	}
	// A step that starts after another fades in from the frame on screen.
	isStep := snap.State == engine.Running || snap.State == engine.Paused
	if isStep && g.shownStep && snap.Presentation != g.shownPres {
		g.startFade(snap)
	} else if !isStep {
		g.fade.on = false
	}
	g.shownStep, g.shownPres = isStep, snap.Presentation
	if calm := snap.State == engine.Calm; calm != g.inCalm {
		g.inCalm, g.calmFrom = calm, now
	}
	// The scene is drawn on a canvas (see layout.go; straight on the
	// screen when no step crossfades, in mono), then copied to the screen:
	// once, or in stereo twice, side by side. A headset used as a
	// display shows the left half to the left eye and the right half to the
	// right: the same scene, laid out for a half-width screen.
	w := g.w
	if g.opt.Stereo {
		g.w = w / 2
	}
	canvas := screen
	if g.useCanvas() {
		canvas = g.canvas(g.w, g.h)
	}
	visible := g.drawScene(canvas, snap)
	g.canv.step = isStep && canvas != screen
	g.w = w
	if canvas != screen {
		op := &g.blitOp
		op.GeoM.Reset()
		op.Blend = ebiten.BlendCopy
		screen.DrawImage(canvas, op)
		if g.opt.Stereo {
			op.GeoM.Translate(float64(w/2), 0)
			screen.DrawImage(canvas, op)
			if w%2 == 1 { // the column the halves leave, black as the rest
				vector.FillRect(screen, float32(w-1), 0, 1, float32(g.h), black, false)
			}
		}
	}
	if g.opt.Caption != nil {
		g.corner(screen, g.opt.Caption())
	}
	lit, onset := false, false
	if g.opt.SyncPatch {
		lit, onset = g.patch(now, snap.Presentation, visible)
		g.drawPatch(screen, lit)
	}
	// Reported once on screen: visible (g.vis) and the view stay as they
	// are until then.
	g.pend, g.pendOK, g.pendLit, g.pendOnset = g.report(snap, visible), true, lit, onset
	if g.opt.OnFrame != nil {
		g.opt.OnFrame(screen, now)
	}
	g.preload(snap)
}

// patch says whether the sync patch is white in the frame drawn at now
// showing vis, and whether the frame has an onset (by the rule the
// presenter applies). An onset's frame is white, and so are the frames
// drawn less than PatchOn after it was presented: the patch shows white
// for PatchOn at least (a frame more at most).
func (g *Game) patch(now time.Duration, pres uint64, vis []present.Cue) (lit, onset bool) {
	for _, c := range vis {
		if present.Comes(c, pres, g.prevVis, g.prevPres) {
			onset = true
			break
		}
	}
	g.prevVis, g.prevPres = append(g.prevVis[:0], vis...), pres
	return onset || (g.anyOnset && now-g.litFrom < PatchOn), onset
}

// drawPatch draws the sync patch at the bottom left of the screen, and of
// each eye's half in stereo.
func (g *Game) drawPatch(screen *ebiten.Image, lit bool) {
	c := black
	if lit {
		c = white
	}
	s := float32(math.Round(PatchSize * max(g.scale, 1)))
	w, h := float32(screen.Bounds().Dx()), float32(screen.Bounds().Dy())
	vector.FillRect(screen, 0, h-s, s, s, c, false)
	if g.opt.Stereo {
		vector.FillRect(screen, float32(int(w)/2), h-s, s, s, c, false)
	}
}

// report describes the frame just drawn; its time is set when it is on
// screen.
func (g *Game) report(snap engine.Snapshot, visible []present.Cue) present.Frame {
	f := present.Frame{Seq: g.frame, Step: snap.Step, Presentation: snap.Presentation, Visible: visible}
	// A replay's view follows the recording, where the patient's looks are
	// already: only a view the patient steers is reported.
	if _, replaying := g.s.(Looker); g.panoDrew && !replaying && !g.headDrew {
		g.seen = present.View{Cue: g.view.cue, Yaw: g.view.yaw * 180 / math.Pi, Pitch: g.view.pitch * 180 / math.Pi}
		f.Look = &g.seen
	}
	return f
}

// drawScene draws what the patient sees now and returns the visual cues in it.
func (g *Game) drawScene(screen *ebiten.Image, snap engine.Snapshot) []present.Cue {
	var visible []present.Cue
	g.panoDrew, g.headDrew = false, false
	switch snap.State {
	case engine.Ready:
		g.drawWaiting(screen)
		g.drawEscHint(screen)
	case engine.Calm:
		g.drawCalm(screen, g.clock.Now()-g.calmFrom)
	case engine.Running, engine.Paused:
		st, _ := g.s.Step(snap.Step)
		elapsed := snap.Elapsed.Duration()
		reserve := g.captionReserve(st)
		visible = g.drawStep(screen, st, elapsed, reserve)
		g.drawFade(screen, snap.Presentation, elapsed, reserve)
		g.lastReserve = reserve
		g.drawEscHint(screen)
		if snap.Prompt != nil && snap.State == engine.Running {
			// Above the caption band: never over the captions.
			g.promptFrac = promptTop(reserve, g.h)
			g.drawPrompt(screen, snap.Prompt)
			// The scale is a visual cue of its own, with an onset and an
			// offset; each prompt is a showing of its own.
			g.vis = append(visible, g.promptCue(st.ID, snap.Prompt))
			visible = g.vis
		}
		if snap.State == engine.Paused {
			vector.FillRect(screen, 0, 0, float32(g.w), float32(g.h), dimmed, false)
			g.text(screen, "Paused", g.face, float64(g.w)/2, float64(g.h)/2, white)
		}
	default:
		screen.Fill(black)
		if snap.State == engine.Ended {
			// Seen only in a replay that reached the recording's end.
			g.text(screen, "The session has ended.", g.small, float64(g.w)/2, float64(g.h)/2, white)
		}
	}
	return visible
}

// drawStep draws a step's visual cues and returns them: pictures above the
// caption band the step reserves (reserve pixels from the bottom), words in
// it.
func (g *Game) drawStep(screen *ebiten.Image, st scenes.Step, elapsed time.Duration, reserve int) []present.Cue {
	screen.Fill(stageBg)
	area := g.pictureArea(screen, reserve)
	// Reused every frame: the render thread allocates nothing in steady state.
	vis := g.vis[:0]
	lines := g.lines[:0]
	for _, c := range st.Cues {
		switch c.Kind {
		case scenes.KindVideo:
			if img := g.videoFrame(c); img != nil {
				drawImage(area, img, c, 0)
				vis = append(vis, shown(c))
			}
		case scenes.KindPanorama:
			if pic := g.image(c); pic != nil {
				g.drawPanorama(area, pic.strips[0].tex, c)
				if g.headDrew {
					g.drawHeadLabel(area)
				}
				vis = append(vis, shown(c))
			}
		case scenes.KindImage:
			if pic := g.image(c); pic != nil {
				progress := 0.0
				if st.Duration > 0 {
					progress = min(1, elapsed.Seconds()/st.Duration.Seconds())
				}
				drawPicture(area, pic, c, progress)
				vis = append(vis, shown(c))
			}
		case scenes.KindText:
			lines = append(lines, c.Text)
			vis = append(vis, shown(c))
		case scenes.KindBreathing:
			g.drawPacer(area, c.BreathsPerMin, elapsed)
			vis = append(vis, shown(c))
		case scenes.KindNarration:
			if t := caption(c, elapsed); t != "" {
				lines = append(lines, t)
			}
			if c.Subtitles != "" || len(c.Captions) > 0 {
				vis = append(vis, shown(c))
			}
		}
	}
	g.vis, g.lines = vis, lines
	if len(lines) > 0 {
		if !slices.Equal(lines, g.capLines) {
			g.capLines = append(g.capLines[:0], lines...)
			g.capText = strings.Join(lines, "\n")
		}
		g.caption(screen, g.capText)
	}
	return vis
}

// promptCue names a rating prompt for the presenter: "<step>.rating",
// modality "rating".
func (g *Game) promptCue(step string, p *engine.Prompt) present.Cue {
	if g.promptID == "" || g.promptFor != step {
		g.promptFor, g.promptID = step, step+".rating"
	}
	// Since, the prompt's session time, tells one prompt from the next.
	return present.Cue{ID: g.promptID, Modality: event.ModalityRating, Instance: uint64(p.Since) + 1}
}

// shown names a drawn cue for the presenter.
func shown(c scenes.Cue) present.Cue {
	return present.Cue{ID: c.ID, Modality: string(c.Kind), File: c.Path}
}

// videoFrame returns the playing video's current frame as a GPU image,
// uploaded only when the frame changed; nil before its first frame, and
// after its last one when the cue says end: blank.
func (g *Game) videoFrame(c scenes.Cue) *ebiten.Image {
	cue := c.ID
	v := g.playing(cue)
	if v == nil {
		return nil
	}
	if c.End == scenes.VideoBlank && v.Ended() {
		return nil
	}
	frame, changed := v.Frame(v.Time())
	if frame == nil {
		return nil
	}
	vt := g.videos[cue]
	if vt == nil || vt.img.Bounds().Size() != frame.Rect.Size() {
		if vt != nil {
			g.drop(vt.img)
		}
		vt = &videoTex{img: ebiten.NewImageWithOptions(frame.Rect, &ebiten.NewImageOptions{Unmanaged: true})}
		if g.videos == nil {
			g.videos = map[string]*videoTex{}
		}
		g.videos[cue] = vt
	}
	// Frame's first call says "unchanged" when the preloader had the
	// poster uploaded: true only of the texture that holds it.
	if changed || vt.src != v {
		vt.img.WritePixels(frame.Pix)
		vt.src = v
	}
	return vt.img
}

// videoTex is a video cue's texture and the video whose picture it holds
// (nil: none yet).
type videoTex struct {
	img *ebiten.Image
	src *video.Video
}

// caption is the subtitle due at a step's elapsed time: the whole text, or
// the timed caption whose time has come.
func caption(c scenes.Cue, elapsed time.Duration) string {
	if len(c.Captions) == 0 {
		return c.Subtitles
	}
	t := ""
	for _, cp := range c.Captions {
		if cp.At > elapsed {
			break
		}
		t = cp.Text
	}
	return t
}

// drawImage scales img to fit inside (letterboxed) or fill (cropped) the
// screen, with the cue's slow zoom and pan at progress (0..1) of the step.
func drawImage(dst, img *ebiten.Image, c scenes.Cue, progress float64) {
	s, x, y := place(dst, img.Bounds().Dx(), img.Bounds().Dy(), c, progress)
	op := &ebiten.DrawImageOptions{Filter: ebiten.FilterLinear}
	op.GeoM.Scale(s, s)
	op.GeoM.Translate(x, y)
	dst.DrawImage(img, op)
}

// drawPicture draws a picture as drawImage does, strip by strip.
func drawPicture(dst *ebiten.Image, pic *picture, c scenes.Cue, progress float64) {
	s, x, y := place(dst, pic.w, pic.h, c, progress)
	op := &ebiten.DrawImageOptions{Filter: ebiten.FilterLinear}
	for i := range pic.strips {
		st := &pic.strips[i]
		op.GeoM.Reset()
		op.GeoM.Translate(0, float64(st.y0))
		op.GeoM.Scale(s, s)
		op.GeoM.Translate(x, y)
		dst.DrawImage(st.sub, op)
	}
}

// place is the scale and position of an iw×ih picture on dst (the part of
// the screen above the caption band: a sub-image at the screen's origin).
func place(dst *ebiten.Image, iwi, ihi int, c scenes.Cue, progress float64) (s, x, y float64) {
	dw, dh := float64(dst.Bounds().Dx()), float64(dst.Bounds().Dy())
	iw, ih := float64(iwi), float64(ihi)
	s = math.Min(dw/iw, dh/ih)
	if c.Fit == scenes.FitFill {
		s = math.Max(dw/iw, dh/ih)
	}
	// Ease in and out so motion starts and stops gently.
	e := (1 - math.Cos(math.Pi*progress)) / 2
	zoom := 1.0
	if c.Zoom > 1 {
		zoom = 1 + (c.Zoom-1)*e
	}
	// A pan needs room to move: it zooms by 10 % at least.
	if c.Pan != "" {
		zoom = max(zoom, 1.1)
	}
	s *= zoom
	x, y = (dw-iw*s)/2, (dh-ih*s)/2
	// The room to move is what the zoom pushed off screen.
	mx, my := math.Max(0, (iw*s-dw)/2), math.Max(0, (ih*s-dh)/2)
	switch c.Pan {
	case "left":
		x += mx * (1 - 2*e)
	case "right":
		x -= mx * (1 - 2*e)
	case "up":
		y += my * (1 - 2*e)
	case "down":
		y -= my * (1 - 2*e)
	}
	return s, x, y
}

// caption draws instruction text or subtitles on a band at the bottom.
func (g *Game) caption(screen *ebiten.Image, s string) {
	face := g.captionFace()
	wr := &g.wrapped
	if wr.text != s || wr.width != float64(g.w)*0.8 || wr.face != face {
		wr.text, wr.width, wr.face = s, float64(g.w)*0.8, face
		wr.lines = wrap(s, face, wr.width)
	}
	lines := wr.lines
	lh := face.Size * 1.4
	bandH := lh*float64(len(lines)) + face.Size
	y0 := float64(g.h) - bandH - float64(g.h)*captionMargin
	vector.FillRect(screen, float32(g.w)*0.08, float32(y0), float32(g.w)*0.84, float32(bandH), captionBand, false)
	for i, l := range lines {
		g.text(screen, l, face, float64(g.w)/2, y0+face.Size*0.5+lh*float64(i)+lh/2, white)
	}
}

// drawPacer draws a breathing guide in dst (the part of the screen above
// the caption band): a circle that grows while breathing in (40 % of each
// breath) and shrinks while breathing out. Its phase follows the step's
// clock, so it stops when the step is paused.
func (g *Game) drawPacer(dst *ebiten.Image, perMin float64, elapsed time.Duration) {
	w, h := float32(dst.Bounds().Dx()), float32(dst.Bounds().Dy())
	g.pacerAt(dst, w/2, h*0.42, min(w, h), perMin, elapsed)
}

// pacerAt draws the pacer centred on (cx, cy), its ring 0.3 unit wide.
func (g *Game) pacerAt(dst *ebiten.Image, cx, cy, unit float32, perMin float64, elapsed time.Duration) {
	period := 60 / perMin
	ph := math.Mod(elapsed.Seconds(), period) / period
	size := audio.Breath(ph) // 0 = empty lungs, 1 = full
	label := "Breathe in"
	if ph >= 0.4 {
		label = "Breathe out"
	}
	vector.FillCircle(dst, cx, cy, unit*0.30, pacerRing, true)
	vector.FillCircle(dst, cx, cy, unit*(0.10+0.18*float32(size)), pacerLung, true)
	g.text(dst, label, g.pacerFace(), float64(cx), float64(cy), pacerText)
}

func (g *Game) pacerFace() *text.GoTextFace { return g.scaled(g.face, 0.9) }

// Colours, boxed as color.Color once: passing a colour value where an
// interface is expected would allocate on every frame.
var (
	dimmed      color.Color = color.RGBA{0, 0, 0, 150}
	stageBg     color.Color = color.RGBA{12, 12, 14, 255}
	captionBand color.Color = color.RGBA{0, 0, 0, 170}
	pacerRing   color.Color = color.NRGBA{40, 90, 110, 90}
	pacerLung   color.Color = color.NRGBA{150, 215, 225, 235}
	pacerText   color.Color = color.RGBA{20, 40, 50, 255}
	calmText    color.Color = color.RGBA{230, 240, 240, 255}
	promptBg    color.Color = color.RGBA{0, 0, 0, 200}
	scaleBar    color.Color = color.RGBA{200, 200, 200, 255}
	markerSet   color.Color = color.RGBA{255, 170, 60, 255}
	hintText    color.Color = color.RGBA{255, 220, 160, 255}
	white       color.Color = color.White
	black       color.Color = color.Black
	calmStripes             = func() (out [32]color.Color) {
		for i := range out {
			t := float32(i) / 31
			out[i] = color.RGBA{uint8(40 + 30*t), uint8(90 + 50*t), uint8(110 + 40*t), 255}
		}
		return out
	}()
)

// drawWaiting is shown before the therapist starts a held session.
func (g *Game) drawWaiting(screen *ebiten.Image) {
	h := float32(g.h)
	for i, c := range calmStripes {
		vector.FillRect(screen, 0, h*float32(i)/32, float32(g.w), h/32+1, c, false)
	}
	g.textIn(screen, "Welcome. The session will begin when your therapist starts it.", g.scaled(g.small, 1.1), float64(g.w)/2, float64(g.h)*0.45, float64(g.w)*0.9, white)
}

// The calm screen's words.
const (
	calmTitle = "You are safe. The exposure has stopped."
	calmLine  = "Breathe slowly with the circle. Your therapist will be with you in a moment."
)

// drawCalm is the neutral scene the stop key and the panic button lead to:
// drawn from code so it can never fail to load, with a breathing pacer at
// the calm sound's pace, since (the time on it) from its start.
func (g *Game) drawCalm(screen *ebiten.Image, since time.Duration) {
	h := float32(g.h)
	for i, c := range calmStripes {
		vector.FillRect(screen, 0, h*float32(i)/32, float32(g.w), h/32+1, c, false)
	}
	w := float64(g.w)
	g.textIn(screen, calmTitle, g.scaled(g.face, 1), w/2, float64(g.h)*0.13, w*0.9, white)
	unit := min(float32(g.w), h*0.62)
	g.pacerAt(screen, float32(g.w)/2, h*0.5, unit, calmPace, since)
	g.textIn(screen, calmLine, g.scaled(g.small, 1), w/2, float64(g.h)*0.88, w*0.9, calmText)
}

// drawPrompt draws the 0–100 visual analogue scale in a box half the
// screen high, its top at promptFrac of the height; its words wrap within
// the width it is drawn in (an eye's, in stereo).
func (g *Game) drawPrompt(screen *ebiten.Image, p *engine.Prompt) {
	top := float64(g.h) * g.top()
	w := float64(g.w)
	vector.FillRect(screen, 0, float32(top), float32(g.w), float32(g.h)*0.5, promptBg, false)
	q := p.Question
	if q == "" {
		q = "How strong is your craving right now?"
	}
	// The question centred in the box's upper part, or from its top when
	// it wraps to many lines.
	qf := g.scaled(g.face, 0.9)
	qTop := top + float64(g.h)*0.02
	if sp := g.sprite(g.fit(q, qf, w*0.9), qf); sp != nil {
		qTop = max(qTop, top+float64(g.h)*0.09-sp.h/2)
	}
	g.textAt(screen, q, qf, w/2, qTop, w*0.9, 0, white)
	x, y, w, h := g.vasRect()
	vector.FillRect(screen, float32(x), float32(y), float32(w), float32(h), scaleBar, false)
	if g.vasSet {
		mx := x + w*float64(g.vas)/100
		vector.FillRect(screen, float32(mx-4), float32(y-18), 8, float32(h+36), markerSet, false)
	}
	lo, hi := "0 — no craving", "strongest craving — 100"
	if p.Scale == "suds" {
		lo, hi = "0 — no distress", "worst distress — 100"
	}
	// The ends' labels under the scale's ends, then the hint under them:
	// laid out top-down, so words wrapped in a narrow eye never overlap.
	f := g.scaled(g.small, 0.9)
	s := float64(max(g.h, 240)) / 720 // the layout's unit: a 720-pixel-high screen
	below := y + h + 22*s
	lf := g.shrunk(lo, f, w*0.48)
	if hf := g.shrunk(hi, f, w*0.48); hf.Size < lf.Size {
		lf = hf // the two ends alike
	}
	b1 := g.textAt(screen, lo, lf, x, below, w*0.48, -1, white)
	b2 := g.textAt(screen, hi, lf, x+w, below, w*0.48, 1, white)
	hint := "Click the line, or press ← or →, to place your mark; then press Enter"
	if g.vasSet {
		if g.hints[g.vas] == "" {
			g.hints[g.vas] = "Your rating: " + strconv.Itoa(g.vas) + " — press Enter to confirm"
		}
		hint = g.hints[g.vas]
	}
	hw := float64(g.w) * 0.9
	g.textAt(screen, hint, g.shrunk(hint, f, hw), float64(g.w)/2, max(b1, b2)+18*s, hw, 0, hintText)
}

// top is the rating box's top, a part of the height: where it was last
// laid out, or a quarter down.
func (g *Game) top() float64 {
	if g.promptFrac > 0 {
		return g.promptFrac
	}
	return 0.25
}

func (g *Game) vasRect() (x, y, w, h float64) {
	return float64(g.w) * 0.15, float64(g.h) * (g.top() + 0.23), float64(g.w) * 0.7, float64(g.h) * 0.012
}

// scaled returns a face sized for the current framebuffer (layout is relative
// to a 720-pixel-high screen).
func (g *Game) scaled(f *text.GoTextFace, k float64) *text.GoTextFace {
	return g.sized(f, math.Round(f.Size*k*float64(max(g.h, 240))/720*4)/4)
}

// sized returns f's font at size: one face per size, kept, since a face
// caches its glyphs (a new one each frame would shape and allocate every
// string again).
func (g *Game) sized(f *text.GoTextFace, size float64) *text.GoTextFace {
	key := faceKey{f, size}
	if c, ok := g.faces[key]; ok {
		return c
	}
	c := &text.GoTextFace{Source: f.Source, Size: size}
	if g.faces == nil {
		g.faces = map[faceKey]*text.GoTextFace{}
	}
	g.faces[key] = c
	return c
}

type faceKey struct {
	base *text.GoTextFace
	size float64
}

// text draws s centred on (cx, cy). Each string is laid out and rasterised
// once into an image of its own and then only copied: shaping text every
// frame would allocate on the render thread.
func (g *Game) text(dst *ebiten.Image, s string, f *text.GoTextFace, cx, cy float64, clr color.Color) {
	sp := g.sprite(s, f)
	if sp == nil {
		return
	}
	op := &g.spriteOp
	op.GeoM.Reset()
	op.ColorScale.Reset()
	op.Filter = ebiten.FilterNearest
	op.GeoM.Translate(math.Round(cx-sp.w/2), math.Round(cy-sp.h/2))
	op.ColorScale.ScaleWithColor(clr)
	dst.DrawImage(sp.img, op)
}

type textKey struct {
	s string
	f *text.GoTextFace
}

type textSprite struct {
	img  *ebiten.Image
	w, h float64
	used uint64 // frame last drawn
}

// maxSprites bounds the text cache; the least recently drawn go first.
const maxSprites = 256

func (g *Game) sprite(s string, f *text.GoTextFace) *textSprite {
	k := textKey{s, f}
	if sp, ok := g.sprites[k]; ok {
		sp.used = g.frame
		return sp
	}
	w, h := text.Measure(s, f, f.Size*1.4)
	if w < 1 || h < 1 {
		return nil
	}
	if g.sprites == nil {
		g.sprites = map[textKey]*textSprite{}
	}
	if len(g.sprites) >= maxSprites {
		var oldest textKey
		var at uint64 = math.MaxUint64
		for key, sp := range g.sprites {
			if sp.used < at {
				oldest, at = key, sp.used
			}
		}
		g.drop(g.sprites[oldest].img)
		delete(g.sprites, oldest)
	}
	img := ebiten.NewImage(int(math.Ceil(w))+2, int(math.Ceil(h))+2)
	op := &text.DrawOptions{}
	op.PrimaryAlign, op.SecondaryAlign = text.AlignCenter, text.AlignCenter
	op.LineSpacing = f.Size * 1.4
	op.GeoM.Translate(float64(img.Bounds().Dx())/2, float64(img.Bounds().Dy())/2)
	text.Draw(img, s, f, op)
	sp := &textSprite{img: img, w: float64(img.Bounds().Dx()), h: float64(img.Bounds().Dy()), used: g.frame}
	g.sprites[k] = sp
	return sp
}

// wrap breaks s into lines no wider than width.
func wrap(s string, f text.Face, width float64) []string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			try := w
			if line != "" {
				try = line + " " + w
			}
			if line != "" && text.Advance(try, f) > width {
				out = append(out, line)
				line = w
				continue
			}
			line = try
		}
		out = append(out, line)
	}
	return out
}

package window

import (
	"image"
	"image/color"
	"math"
	"strings"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/scenes"
)

// What keeps the patient's screen calm and legible: crossfades between
// steps, a band for captions that pictures stay out of, the rating scale
// laid out above that band, text wrapped to the width it is drawn in (an
// eye's half in stereo), a discreet reminder that Esc stops, the calm
// screen's pacer, and the pointer hidden while nothing needs it.

// # Crossfades
//
// The scene is drawn into a canvas of its own (one eye's in stereo) and
// copied to the screen; there are two canvases. When a step starts after
// another (its presentation changes while a step was on screen) and has a
// Crossfade, the canvases swap: the one holding the old step's last frame
// becomes the still, and is drawn over the new step, fading out over the
// new step's Crossfade. Nothing reads the screen (ebiten's, cleared every
// frame): the still is a frame the window drew itself, kept by not drawing
// over it, with no copy and no texture made at the change. (The previous
// design copied the screen into a still made on demand, with the screen's
// clearing turned off; a fresh-clone CI run crashed in Mesa's llvmpipe
// once in 60–80 launches with it. See scripts/window-stress.sh.)
//
// Only pictures dissolve: the caption band (the old step's or the new
// one's, whichever is taller) cuts at once, since two texts over each other
// read as neither.
//
// Onsets: the fade's first frame reports the new step's cues, as a hard
// cut's would: a cue's onset is the first frame that draws it at all, and
// the old step's cues went off with the frame before (their last at full
// opacity). See scenes/FORMAT.md. fadeLead makes sure that first frame
// already shows the new picture, faintly.

// fadeLead is how far into the fade its first frame is drawn: a frame's
// worth at 60 Hz, so the onset's frame shows the new cues (at 1/60 s of
// the fade's opacity) even when it is drawn the instant the step starts.
const fadeLead = time.Second / 60

type fade struct {
	on    bool
	still *ebiten.Image // the canvas with the last frame before the change
	pres  uint64        // the presentation fading in
	dur   time.Duration
	from  int // the caption band the old step kept, pixels from the bottom
	// The part of the still drawn, kept while it stays the same.
	part     *ebiten.Image
	partOf   *ebiten.Image
	partRect image.Rectangle
}

// canvases holds the two scene canvases, the one drawn now at cur.
type canvases struct {
	img  [2]*ebiten.Image
	cur  int
	step bool // the current one holds a step's frame (a fade may start from it)
}

// useCanvas says whether the scene is drawn on a canvas: in stereo (drawn
// once for both eyes), and when any step has a crossfade; a protocol of
// hard cuts draws straight on the screen, one full-screen copy a frame
// less.
func (g *Game) useCanvas() bool {
	if g.canvasUse == 0 {
		g.canvasUse = -1
		for i := 0; ; i++ {
			st, ok := g.s.Step(i)
			if !ok {
				break
			}
			if st.Crossfade > 0 {
				g.canvasUse = 1
				break
			}
		}
		if g.opt.Stereo {
			g.canvasUse = 1
		}
	}
	return g.canvasUse > 0
}

// canvas returns the canvas to draw this frame's scene in, w×h; made when
// the window opens and again only when the scene's size changes (the old
// ones are released a few frames later: see drop).
func (g *Game) canvas(w, h int) *ebiten.Image {
	c := &g.canv
	w, h = max(w, 1), max(h, 1)
	if c.img[0] == nil || c.img[0].Bounds().Size() != image.Pt(w, h) {
		for i, img := range c.img {
			if img != nil {
				g.drop(img)
			}
			// A texture of its own, like the screen ebiten hands Draw:
			// never on an atlas, so never moved or copied by ebiten.
			c.img[i] = ebiten.NewImageWithOptions(image.Rect(0, 0, w, h), &ebiten.NewImageOptions{Unmanaged: true})
		}
		c.step = false
		g.fade.on, g.fade.part, g.fade.partOf = false, nil, nil
	}
	return c.img[c.cur]
}

// startFade, at the first frame of a step that starts after another,
// keeps the canvas holding the old step's last frame as the still when the
// new step has a crossfade, and draws on the other one from now on.
// Called before the step's first frame is drawn.
func (g *Game) startFade(snap engine.Snapshot) {
	g.fade.on = false
	st, ok := g.s.Step(snap.Step)
	c := &g.canv
	if !ok || st.Crossfade <= 0 || !c.step || c.img[0] == nil {
		return // a hard cut
	}
	f := &g.fade
	f.still = c.img[c.cur]
	c.cur = 1 - c.cur
	f.on, f.pres, f.dur, f.from = true, snap.Presentation, st.Crossfade, g.lastReserve
}

// # Releasing textures
//
// A texture is deallocated a few frames after it was last drawn, never in
// the frame that drew it: ebiten queues the frame's drawing and runs it at
// the frame's end, and though it orders a release after the draws queued
// before it, Mesa's software renderer is spared any chance of freeing a
// texture that drawing still reads.

// dropAfter is how many frames a released texture waits.
const dropAfter = 3

type dropped struct {
	at   uint64 // the frame from which it may go
	img  *ebiten.Image
	then func() // instead of Deallocate, when set (a panorama back to its pool)
}

// drop deallocates img dropAfter frames from now.
func (g *Game) drop(img *ebiten.Image) {
	g.dropped = append(g.dropped, dropped{at: g.frame + dropAfter, img: img})
}

// later runs f dropAfter frames from now.
func (g *Game) later(f func()) {
	g.dropped = append(g.dropped, dropped{at: g.frame + dropAfter, then: f})
}

// reap releases the textures whose wait is over (at the start of a frame).
func (g *Game) reap() {
	if len(g.dropped) == 0 || g.dropped[0].at > g.frame {
		return
	}
	n := 0
	for _, d := range g.dropped {
		if d.at > g.frame {
			g.dropped[n] = d
			n++
			continue
		}
		if d.then != nil {
			d.then()
		} else {
			d.img.Deallocate()
		}
	}
	clear(g.dropped[n:])
	g.dropped = g.dropped[:n]
}

// drawFade draws the still over the step, as much as is left of the fade
// at elapsed into the step, above the caption bands (the new step keeps
// reserve pixels from the bottom).
func (g *Game) drawFade(dst *ebiten.Image, pres uint64, elapsed time.Duration, reserve int) {
	f := &g.fade
	if !f.on || f.pres != pres {
		f.on = false
		return
	}
	p := float64(elapsed+fadeLead) / float64(f.dur)
	if p >= 1 {
		f.on = false
		return
	}
	// The scene's width: an eye's in stereo, whose halves showed the same.
	b := dst.Bounds()
	rect := image.Rect(0, 0, b.Dx(), b.Dy()-max(reserve, f.from))
	if rect.Empty() {
		return
	}
	if f.part == nil || f.partOf != f.still || f.partRect != rect {
		f.part, f.partOf, f.partRect = f.still.SubImage(rect).(*ebiten.Image), f.still, rect
	}
	src := f.part
	op := &g.fadeOp
	op.GeoM.Reset()
	op.ColorScale.Reset()
	op.ColorScale.ScaleAlpha(float32(1 - p)) // premultiplied: all channels
	dst.DrawImage(src, op)
}

// # The caption band

// captionFace is the face captions are drawn in.
func (g *Game) captionFace() *text.GoTextFace { return g.scaled(g.small, 1.2) }

// Where the caption band sits: its bottom margin and the gap above it, in
// parts of the screen's height; and the most of the screen it may take,
// so the rating scale (half the height) and the Esc reminder still fit
// above it.
const (
	captionMargin = 0.04
	captionGap    = 0.02
	maxReserve    = 0.42
)

// reserve is the caption band kept for one step at one size.
type reserve struct {
	ok   bool
	step string
	w, h int
	px   int // from the bottom of the screen
}

// captionReserve is the height, from the bottom, that a step keeps free of
// pictures for its captions: the band of its longest caption (instruction
// text with each subtitle in turn), for the whole step, so the picture
// never moves when a timed caption comes. 0 when it shows no words.
func (g *Game) captionReserve(st scenes.Step) int {
	r := &g.reserve
	if r.ok && r.step == st.ID && r.w == g.w && r.h == g.h {
		return r.px
	}
	face := g.captionFace()
	width := float64(g.w) * 0.8
	var texts, subs []string
	for _, c := range st.Cues {
		switch c.Kind {
		case scenes.KindText:
			texts = append(texts, c.Text)
		case scenes.KindNarration:
			if c.Subtitles != "" {
				subs = append(subs, c.Subtitles)
			}
			for _, cp := range c.Captions {
				subs = append(subs, cp.Text)
			}
		}
	}
	base := strings.Join(texts, "\n")
	lines := 0
	count := func(s string) {
		if s != "" {
			lines = max(lines, len(wrap(s, face, width)))
		}
	}
	count(base)
	for _, s := range subs {
		if base != "" {
			s = base + "\n" + s
		}
		count(s)
	}
	px := 0
	if lines > 0 {
		band := face.Size*1.4*float64(lines) + face.Size
		px = int(math.Ceil(min(band+(captionMargin+captionGap)*float64(g.h), maxReserve*float64(g.h))))
	}
	*r = reserve{ok: true, step: st.ID, w: g.w, h: g.h, px: px}
	return px
}

// pictureArea is the part of dst above the caption band reserved (px from
// the bottom): a sub-image kept while it stays the same, so a frame
// allocates nothing.
func (g *Game) pictureArea(dst *ebiten.Image, px int) *ebiten.Image {
	if px <= 0 {
		return dst
	}
	b := dst.Bounds()
	rect := image.Rect(b.Min.X, b.Min.Y, b.Max.X, b.Max.Y-px)
	if g.area.of != dst || g.area.rect != rect {
		g.area.of, g.area.rect = dst, rect
		g.area.img = dst.SubImage(rect).(*ebiten.Image)
	}
	return g.area.img
}

// # The rating scale's place

// promptTop places the rating scale's box (half the screen high) in the
// picture's part of the screen, above the caption band and below the Esc
// reminder, as a part of the screen's height.
func promptTop(reservePx, h int) float64 {
	if h <= 0 {
		return 0.25
	}
	bottom := 1 - float64(reservePx)/float64(h)
	return max(escBand, min(0.25, bottom-0.5-0.01))
}

// # Text within a width

type wrapKey struct {
	s     string
	f     *text.GoTextFace
	width int
}

// maxWraps bounds the cache of wrapped strings.
const maxWraps = 512

// fit returns s broken into lines no wider than width (joined with
// newlines, drawn centred line by line), the same string when it fits;
// kept, so a frame allocates nothing.
func (g *Game) fit(s string, f *text.GoTextFace, width float64) string {
	k := wrapKey{s, f, int(width)}
	if v, ok := g.wraps[k]; ok {
		return v
	}
	v := s
	if text.Advance(s, f) > width || strings.Contains(s, "\n") {
		v = strings.Join(wrap(s, f, width), "\n")
	}
	if g.wraps == nil || len(g.wraps) >= maxWraps {
		g.wraps = map[wrapKey]string{}
	}
	g.wraps[k] = v
	return v
}

// textIn draws s centred on (cx, cy), wrapped to width, and moved sideways
// as needed to stay inside dst's width (a label near the scale's end).
func (g *Game) textIn(dst *ebiten.Image, s string, f *text.GoTextFace, cx, cy, width float64, clr color.Color) {
	s = g.fit(s, f, width)
	if sp := g.sprite(s, f); sp != nil {
		w := float64(dst.Bounds().Dx())
		margin := w * 0.02
		cx = max(sp.w/2+margin, min(w-sp.w/2-margin, cx))
	}
	g.text(dst, s, f, cx, cy, clr)
}

// shrunk returns f made smaller, down to 70 %, so that the one line s fits
// in width (a label under the scale's end in a narrow eye reads better
// smaller than broken); f when it fits. Kept, so a frame allocates nothing.
func (g *Game) shrunk(s string, f *text.GoTextFace, width float64) *text.GoTextFace {
	k := wrapKey{s, f, int(width)}
	if v, ok := g.shrinks[k]; ok {
		return v
	}
	v := f
	// Step down: advances do not shrink smoothly with the size (glyphs
	// are placed on whole pixels).
	for size := f.Size; text.Advance(s, v) > width && size > f.Size*0.7; {
		size -= 0.5
		v = g.sized(f, size)
	}
	if g.shrinks == nil || len(g.shrinks) >= maxWraps {
		g.shrinks = map[wrapKey]*text.GoTextFace{}
	}
	g.shrinks[k] = v
	return v
}

// textAt draws s wrapped to width with its top at top: its left edge at x
// (align -1), its centre (0) or its right edge (1), kept inside dst's
// width; it returns the bottom of what it drew.
func (g *Game) textAt(dst *ebiten.Image, s string, f *text.GoTextFace, x, top, width float64, align int, clr color.Color) float64 {
	s = g.fit(s, f, width)
	sp := g.sprite(s, f)
	if sp == nil {
		return top
	}
	cx := x - float64(align)*sp.w/2
	w := float64(dst.Bounds().Dx())
	margin := w * 0.02
	cx = max(sp.w/2+margin, min(w-sp.w/2-margin, cx))
	g.text(dst, s, f, cx, top+sp.h/2, clr)
	return top + sp.h
}

// # The Esc reminder

// escBand is the top of the screen the reminder lives in, as a part of its
// height.
const escBand = 0.07

// EscHint is the reminder shown in the top-right corner while the patient
// can stop.
const EscHint = "Esc stops"

// drawEscHint draws the reminder small and dim in the top-right corner
// (of each eye), on a faint dark pill so it reads on any picture without
// drawing the eye.
func (g *Game) drawEscHint(dst *ebiten.Image) {
	f := g.escFace()
	sp := g.sprite(EscHint, f)
	if sp == nil {
		return
	}
	w := float64(dst.Bounds().Dx())
	m := float64(g.h) * 0.02
	cx, cy := w-m-sp.w/2-f.Size*0.4, m+sp.h/2
	vector.FillRect(dst, float32(cx-sp.w/2-f.Size*0.4), float32(cy-sp.h/2), float32(sp.w+f.Size*0.8), float32(sp.h), escPill, false)
	g.text(dst, EscHint, f, cx, cy, escText)
}

// escFace is the reminder's: small, yet legible on a small screen.
func (g *Game) escFace() *text.GoTextFace {
	f := g.scaled(g.small, 0.7)
	if f.Size < minEscSize {
		f = g.sized(g.small, minEscSize)
	}
	return f
}

// minEscSize is the reminder's smallest size, in pixels.
const minEscSize = 11

var (
	escText color.Color = color.NRGBA{200, 200, 200, 130}
	escPill color.Color = color.RGBA{0, 0, 0, 60}
)

// # The pointer

// setCursor hides the pointer during the session, and shows it while the
// patient may answer a rating with the mouse (and always in a replay,
// which a therapist watches).
func (g *Game) setCursor(snap engine.Snapshot) {
	mode := ebiten.CursorModeHidden
	if g.opt.ReadOnly || (snap.Prompt != nil && snap.State == engine.Running) {
		mode = ebiten.CursorModeVisible
	}
	if !g.cursorSet || g.cursor != mode {
		g.cursor, g.cursorSet = mode, true
		ebiten.SetCursorMode(mode)
	}
}

// # The calm screen's pacer

// calmPace is the calm screen's breathing pace, that of its sound.
const calmPace = audio.CalmBreathsPerMin

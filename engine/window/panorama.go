package window

import (
	"math"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"github.com/cueroom/cueroom/scenes"
)

// panoramaShader renders an equirectangular picture in perspective: each
// screen pixel becomes a view ray, turned by the patient's yaw and pitch,
// and looked up by longitude and latitude (bilinear, wrapping at ±180°).
var panoramaShader = []byte(`//kage:unit pixels

package main

var Yaw float
var Pitch float
var TanHalf float

func Fragment(dst vec4, src vec2, col vec4) vec4 {
	size := imageDstSize()
	p := (dst.xy-imageDstOrigin())/size*2 - 1
	d := normalize(vec3(p.x*TanHalf, p.y*TanHalf*size.y/size.x, 1))
	cp := cos(Pitch)
	sp := sin(Pitch)
	d = vec3(d.x, d.y*cp+d.z*sp, -d.y*sp+d.z*cp)
	cy := cos(Yaw)
	sy := sin(Yaw)
	d = vec3(d.x*cy+d.z*sy, d.y, -d.x*sy+d.z*cy)
	lon := atan2(d.x, d.z)
	lat := asin(clamp(d.y, -1, 1))
	pi := 3.14159265358979
	ssize := imageSrc0Size()
	origin := imageSrc0Origin()
	pos := vec2(lon/(2*pi)+0.5, lat/pi+0.5)*ssize - 0.5
	f := fract(pos)
	b := floor(pos)
	x0 := mod(b.x, ssize.x)
	x1 := mod(b.x+1, ssize.x)
	y0 := clamp(b.y, 0, ssize.y-1)
	y1 := clamp(b.y+1, 0, ssize.y-1)
	c00 := imageSrc0UnsafeAt(origin + vec2(x0, y0) + 0.5)
	c10 := imageSrc0UnsafeAt(origin + vec2(x1, y0) + 0.5)
	c01 := imageSrc0UnsafeAt(origin + vec2(x0, y1) + 0.5)
	c11 := imageSrc0UnsafeAt(origin + vec2(x1, y1) + 0.5)
	return mix(mix(c00, c10, f.x), mix(c01, c11, f.x), f.y)
}
`)

// view is where the patient looks in a panorama.
type view struct {
	cue        string
	yaw, pitch float64 // radians; pitch > 0 looks down
	dragX      int
	dragY      int
	dragging   bool
}

// maxPitch keeps the view off the poles, where equirectangular pictures
// are stretched thin.
const maxPitch = 80 * math.Pi / 180

// look turns the view with a mouse drag, the arrow keys or a gamepad's
// right stick. Arrow keys are left to the rating scale while it is open.
func (g *Game) look(c scenes.Cue, prompt bool) {
	v := &g.view
	if v.cue != c.ID {
		*v = view{cue: c.ID, yaw: c.Yaw * math.Pi / 180}
	}
	if g.headDrew {
		return // the headset turns the view (Options.HeadView)
	}
	if l, ok := g.s.(Looker); ok {
		// A replay: the view goes where the patient looked.
		if yaw, pitch, ok := l.LookAt(c.ID); ok {
			v.yaw, v.pitch = yaw*math.Pi/180, pitch*math.Pi/180
			return
		}
	}
	fov := c.FOV * math.Pi / 180
	perPixel := fov / float64(max(g.w, 1))
	mx, my := ebiten.CursorPosition()
	switch {
	case prompt:
		// The mouse answers the rating scale meanwhile.
		v.dragging = false
	case inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft):
		v.dragging, v.dragX, v.dragY = true, mx, my
	case v.dragging && ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft):
		// Dragging pulls the scene along, as on a phone.
		v.yaw -= float64(mx-v.dragX) * perPixel
		v.pitch -= float64(my-v.dragY) * perPixel
		v.dragX, v.dragY = mx, my
	default:
		v.dragging = false
	}
	const keyRate = 90 * math.Pi / 180 / 60 // 90°/s at 60 ticks per second
	if !prompt {
		if ebiten.IsKeyPressed(ebiten.KeyArrowLeft) {
			v.yaw -= keyRate
		}
		if ebiten.IsKeyPressed(ebiten.KeyArrowRight) {
			v.yaw += keyRate
		}
		if ebiten.IsKeyPressed(ebiten.KeyArrowUp) {
			v.pitch -= keyRate
		}
		if ebiten.IsKeyPressed(ebiten.KeyArrowDown) {
			v.pitch += keyRate
		}
	}
	for _, id := range g.pads {
		if !ebiten.IsStandardGamepadLayoutAvailable(id) {
			continue
		}
		ax := ebiten.StandardGamepadAxisValue(id, ebiten.StandardGamepadAxisRightStickHorizontal)
		ay := ebiten.StandardGamepadAxisValue(id, ebiten.StandardGamepadAxisRightStickVertical)
		if math.Abs(ax) > 0.15 {
			v.yaw += ax * keyRate
		}
		if math.Abs(ay) > 0.15 {
			v.pitch += ay * keyRate
		}
	}
	v.yaw = math.Remainder(v.yaw, 2*math.Pi)
	v.pitch = max(-maxPitch, min(maxPitch, v.pitch))
}

// Looker is a Source that knows where the patient looked in a 360° cue
// (a replay): yaw and pitch in degrees, ok false when it does not. Its
// frames are reported without a view: the recording has the patient's.
type Looker interface {
	LookAt(cue string) (yaw, pitch float64, ok bool)
}

// drawPanorama fills dst with the perspective view of pano.
func (g *Game) drawPanorama(dst, pano *ebiten.Image, c scenes.Cue) {
	if g.pano == nil {
		g.panoShader()
	}
	if g.view.cue != c.ID {
		g.view = view{cue: c.ID, yaw: c.Yaw * math.Pi / 180}
	}
	g.panoDrew = true // the frame reports this view
	if hv := g.opt.HeadView; hv != nil {
		if yaw, pitch, ok := hv(); ok && !math.IsNaN(yaw+pitch) && !math.IsInf(yaw+pitch, 0) {
			// The headset's view; kept as the window's, so the view
			// stays there should the headset go.
			g.view.yaw = math.Remainder(yaw*math.Pi/180, 2*math.Pi)
			g.view.pitch = max(-maxPitch, min(maxPitch, pitch*math.Pi/180))
			g.view.dragging = false
			g.headDrew = true
		}
	}
	w, h := float32(dst.Bounds().Dx()), float32(dst.Bounds().Dy())
	sw, sh := float32(pano.Bounds().Dx()), float32(pano.Bounds().Dy())
	g.vs = append(g.vs[:0],
		ebiten.Vertex{DstX: 0, DstY: 0, SrcX: 0, SrcY: 0, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		ebiten.Vertex{DstX: w, DstY: 0, SrcX: sw, SrcY: 0, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		ebiten.Vertex{DstX: 0, DstY: h, SrcX: 0, SrcY: sh, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		ebiten.Vertex{DstX: w, DstY: h, SrcX: sw, SrcY: sh, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
	)
	g.is = append(g.is[:0], 0, 1, 2, 1, 3, 2)
	op := &g.panoOp
	op.Images[0] = pano
	if op.Uniforms == nil {
		// The map holds the slices once; each frame only writes their
		// element, so nothing is boxed (allocated) per frame.
		g.uni = [3][]float32{make([]float32, 1), make([]float32, 1), make([]float32, 1)}
		op.Uniforms = map[string]any{"Yaw": g.uni[0], "Pitch": g.uni[1], "TanHalf": g.uni[2]}
	}
	g.uni[0][0] = float32(g.view.yaw)
	g.uni[1][0] = float32(g.view.pitch)
	g.uni[2][0] = float32(math.Tan(c.FOV * math.Pi / 360))
	dst.DrawTrianglesShader(g.vs, g.is, g.pano, op)
}

// HeadLabel marks a 360° scene drawn where the headset looks
// (Options.HeadView).
const HeadLabel = "headset view"

// drawHeadLabel draws HeadLabel small in dst's top-left corner, as the Esc
// reminder is drawn in the top-right one.
func (g *Game) drawHeadLabel(dst *ebiten.Image) {
	f := g.escFace()
	sp := g.sprite(HeadLabel, f)
	if sp == nil {
		return
	}
	m := float64(g.h) * 0.02
	cx, cy := m+f.Size*0.4+sp.w/2, m+sp.h/2
	vector.FillRect(dst, float32(cx-sp.w/2-f.Size*0.4), float32(cy-sp.h/2), float32(sp.w+f.Size*0.8), float32(sp.h), escPill, false)
	g.text(dst, HeadLabel, f, cx, cy, escText)
}

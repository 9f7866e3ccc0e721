package window

import (
	"image"
	"sync/atomic"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/video"
	"github.com/cueroom/cueroom/scenes"
)

// Preloading: a step change must not stall the picture while its media go
// to the GPU (a 2048×1024 panorama is 8 MB of pixels, a 4K picture 33 MB).
// Each frame, after drawing, the window readies a bounded share of what the
// steps reachable from the one on screen need, so no one frame takes long:
//   - pictures, uploaded uploadBudget bytes of rows per frame into textures
//     of their own (unmanaged: ebiten never moves them between atlases);
//   - text, rasterised one string per frame (captions wrapped as they will
//     be drawn, the pacer's labels, the rating scale's, the calm scene's);
//   - videos: opened ahead by the media (engine.Media.Ahead) and their
//     textures made at their size, so their first picture is one upload
//     like every later one.
//
// Two first times cost more than any upload, and are paid when the window
// opens (warmGPU), before any step: a shader's first draw (Mesa's
// software renderer compiles each shader, for each blend it is drawn with,
// at its first draw: 20-100 ms each here, the pacer's three and the 360°
// one included), and a texture's first draw (touch: a texel drawn off
// screen as the step will draw it, once the texture is whole).
//
// The preloader rests on a step's first frames (restFrames): they draw
// the new step's media for the first time, and its own work would land on
// the very frames the step-change gap is measured on.
//
// Reachable from step i: i+1 (next, and the first step before the start),
// i (repeat, and the resume after the calm scene), i-1 (back) and the last
// step (the recovery an early end goes to). Pictures of steps no longer
// reachable are released, so GPU memory holds at most four steps' media.

// uploadBudget is how many bytes of pictures go to the GPU per frame; at
// about 1 GB/s (Mesa's software renderer here) a millisecond or so.
const uploadBudget = 1 << 20

// preloadTime caps the preloading work of one frame.
const preloadTime = 4 * time.Millisecond

// restFrames is how many frames the preloader rests after the scene
// changes (a step, a presentation, the state).
const restFrames = 3

// noPreload turns preloading off, for the benchmark that measures what it
// saves.
var noPreload atomic.Bool

type preload struct {
	// The step, presentation and state the plan is for.
	step      int
	pres      uint64
	state     engine.State
	planned   bool
	fixed     bool   // the texts every session may show are queued
	restUntil uint64 // the first frame after the rest (restFrames)

	cues    []scenes.Cue                    // the reachable steps' cues
	images  []string                        // picture cue IDs to upload, in order
	posters []string                        // video cues whose poster is not up yet
	texts   []textJob                       // the reachable steps' texts
	always  []textJob                       // the texts any session may show (fixedTexts)
	up      map[string]*upload              // pictures partly uploaded
	keep    map[string]bool                 // pictures and videos of the reachable steps
	pool    map[image.Point][]*ebiten.Image // spare panorama textures, by size
	scratch *ebiten.Image                   // small, for warmGPU and touch
	tiny    *ebiten.Image                   // a small source, for warmGPU

	// Late counts pictures the window had to upload whole while drawing,
	// the preloading not having reached them (tests and benchmarks read
	// it: after warm-up it stays 0).
	late int
}

// textJob is a string to rasterise as drawn: in face base scaled by k,
// wrapped to the caption's width when caption is set, or to width (a part
// of the scene's width) as textIn draws it.
type textJob struct {
	s       string
	base    *text.GoTextFace
	k       float64
	caption bool
	width   float64
	shrink  bool // made smaller to fit width on one line, as the scale's labels
	esc     bool // the Esc reminder, in its face
}

// preload plans for the steps reachable from snap's when it changed, then
// does this frame's share of the work.
func (g *Game) preload(snap engine.Snapshot) {
	if noPreload.Load() {
		return
	}
	p := &g.pre
	if !p.planned || p.step != snap.Step || p.pres != snap.Presentation || p.state != snap.State {
		if p.planned && p.restUntil == 0 {
			p.restUntil = g.frame + restFrames
		}
		if g.frame < p.restUntil {
			return
		}
		p.restUntil = 0
		p.step, p.pres, p.state, p.planned = snap.Step, snap.Presentation, snap.State, true
		g.plan(snap)
	}
	if len(p.images) == 0 && len(p.texts) == 0 && len(p.always) == 0 && len(p.posters) == 0 {
		return
	}
	start := time.Now()
	budget, newTex := uploadBudget, 1
	for budget > 0 && len(p.images) > 0 && time.Since(start) < preloadTime {
		sent, made, wait := g.uploadSome(p.images[0], budget, newTex)
		budget, newTex = budget-sent, newTex-made
		if wait {
			break
		}
	}
	if time.Since(start) >= preloadTime {
		return
	}
	if len(p.posters) > 0 {
		// One a frame: a picture of 854×480 is 1.6 MB. One still opening
		// waits its turn behind the others.
		id := p.posters[0]
		p.posters = p.posters[1:]
		if !g.poster(id) {
			p.posters = append(p.posters, id)
		}
	}
	// The reachable steps' texts first; those any session may show (the
	// calm scene's, the prompts') in the frames left.
	if len(p.texts) > 0 {
		g.warmText(p.texts[0])
		p.texts = p.texts[1:]
	} else if len(p.always) > 0 {
		g.warmText(p.always[0])
		p.always = p.always[1:]
	}
}

// plan lists what the steps reachable from snap's step need, releases what
// none of them needs, and opens their videos ahead.
func (g *Game) plan(snap engine.Snapshot) {
	p := &g.pre
	p.cues, p.images, p.texts, p.posters = p.cues[:0], p.images[:0], p.texts[:0], p.posters[:0]
	if !p.fixed {
		p.fixed = true
		g.warmGPU()
		g.fixedTexts()
		g.fillPool()
	}
	clear(p.keep)
	if p.keep == nil {
		p.keep = map[string]bool{}
	}
	cur := snap.Step
	for _, i := range [...]int{cur + 1, cur, cur - 1, snap.Steps - 1} {
		st, ok := g.s.Step(i)
		if !ok || i < 0 {
			continue
		}
		g.planStep(st)
	}
	// Release the pictures and video textures of steps left behind.
	for id, pic := range g.images {
		if !p.keep[id] {
			g.release(pic)
			delete(g.images, id)
		}
	}
	for id, u := range p.up {
		if !p.keep[id] {
			g.release(u.pic)
			delete(p.up, id)
		}
	}
	for id, vt := range g.videos {
		if !p.keep[id] && g.playing(id) == nil {
			g.drop(vt.img)
			delete(g.videos, id)
		}
	}
	if g.media != nil {
		g.media.Ahead(p.cues)
	}
}

// planStep queues what one step needs.
func (g *Game) planStep(st scenes.Step) {
	p := &g.pre
	var lines []string
	for _, c := range st.Cues {
		if p.keep[c.ID] {
			continue // the step was planned already (the last one, say)
		}
		p.cues = append(p.cues, c)
		switch c.Kind {
		case scenes.KindImage, scenes.KindPanorama:
			p.keep[c.ID] = true
			if _, ok := g.images[c.ID]; !ok && g.media != nil && g.media.Images[c.ID] != nil {
				p.images = append(p.images, c.ID)
				if p.up[c.ID] == nil {
					g.startUpload(c.ID, g.halvings(c), c.Kind == scenes.KindPanorama)
				}
			}
		case scenes.KindVideo:
			p.keep[c.ID] = true
			g.videoTexture(c.ID)
			p.posters = append(p.posters, c.ID)
		case scenes.KindText:
			lines = append(lines, c.Text)
		case scenes.KindNarration:
			if t := caption(c, 0); t != "" {
				lines = append(lines, t)
			}
		case scenes.KindBreathing:
			p.texts = append(p.texts, textJob{s: "Breathe in", base: g.face, k: 0.9}, textJob{s: "Breathe out", base: g.face, k: 0.9})

		}
	}
	if len(lines) > 0 {
		p.texts = append(p.texts, textJob{s: joinLines(lines), base: g.small, k: 1.2, caption: true})
	}
	if r := st.Rating; r != nil {
		p.texts = g.promptTexts(p.texts, r.Question, r.Scale)
	}
}

// fixedTexts queues what any session may show at any moment: the calm
// scene, the pause, and the therapist's rating prompts. They stay queued
// across step changes until done.
func (g *Game) fixedTexts() {
	p := &g.pre
	p.always = append(p.always,
		textJob{s: calmTitle, base: g.face, k: 1, width: 0.9},
		textJob{s: calmLine, base: g.small, k: 1, width: 0.9},
		textJob{s: "Breathe in", base: g.face, k: 0.9},
		textJob{s: "Breathe out", base: g.face, k: 0.9},
		textJob{s: EscHint, esc: true},
		textJob{s: "Paused", base: g.face, k: 0})
	if g.opt.HeadView != nil {
		p.always = append(p.always, textJob{s: HeadLabel, esc: true})
	}
	p.always = g.promptTexts(p.always, "", scenes.ScaleCraving)
	p.always = g.promptTexts(p.always, "How distressed do you feel right now?", scenes.ScaleSUDS)
}

// warmGPU draws, off screen and once, with every shader and blend the
// window draws with, so that none is compiled during a step: pictures and
// videos (linear filter), text and fills (nearest), the canvas copy, the
// crossfade's still (a colour scale), the 360° shader, and the pacer's
// anti-aliased circles (the vector package's shaders, and its offscreen
// buffers). It runs with the first frame, when the window opens.
func (g *Game) warmGPU() {
	p := &g.pre
	if p.tiny == nil {
		p.tiny = ebiten.NewImageWithOptions(image.Rect(0, 0, 4, 4), &ebiten.NewImageOptions{Unmanaged: true})
		p.tiny.Fill(stageBg)
	}
	dst, src := g.touchDst(), p.tiny
	op := &ebiten.DrawImageOptions{Filter: ebiten.FilterLinear}
	dst.DrawImage(src, op)
	op = &ebiten.DrawImageOptions{Blend: ebiten.BlendCopy}
	dst.DrawImage(src, op)
	op = &ebiten.DrawImageOptions{}
	op.ColorScale.ScaleAlpha(0.5)
	dst.DrawImage(src, op)
	if g.pano == nil {
		g.panoShader()
	}
	g.panoTouch(dst, src)
	g.pacerAt(dst, 8, 8, 16, 6, 0)
}

// panoTouch draws pano once with the 360° shader into dst's corner.
func (g *Game) panoTouch(dst, pano *ebiten.Image) {
	sw, sh := float32(pano.Bounds().Dx()), float32(pano.Bounds().Dy())
	vs := []ebiten.Vertex{
		{DstX: 0, DstY: 0, SrcX: 0, SrcY: 0, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		{DstX: 1, DstY: 0, SrcX: sw, SrcY: 0, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		{DstX: 0, DstY: 1, SrcX: 0, SrcY: sh, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
		{DstX: 1, DstY: 1, SrcX: sw, SrcY: sh, ColorR: 1, ColorG: 1, ColorB: 1, ColorA: 1},
	}
	op := &ebiten.DrawTrianglesShaderOptions{}
	op.Images[0] = pano
	op.Uniforms = map[string]any{"Yaw": float32(0), "Pitch": float32(0), "TanHalf": float32(1)}
	dst.DrawTrianglesShader(vs, []uint16{0, 1, 2, 1, 3, 2}, g.pano, op)
}

// promptTexts adds the rating scale's texts, as drawPrompt draws them, to q.
func (g *Game) promptTexts(q []textJob, question, scale string) []textJob {
	if question == "" {
		question = "How strong is your craving right now?"
	}
	lo, hi := "0 — no craving", "strongest craving — 100"
	if scale == "suds" {
		lo, hi = "0 — no distress", "worst distress — 100"
	}
	return append(q,
		textJob{s: question, base: g.face, k: 0.9, width: 0.9},
		textJob{s: lo, base: g.small, k: 0.9, width: 0.7 * 0.48, shrink: true},
		textJob{s: hi, base: g.small, k: 0.9, width: 0.7 * 0.48, shrink: true},
		textJob{s: "Click the line, or press ← or →, to place your mark; then press Enter", base: g.small, k: 0.9, width: 0.9, shrink: true})
}

func joinLines(lines []string) string {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	b := make([]byte, 0, n)
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l...)
	}
	return string(b)
}

// warmText rasterises a string as it will be drawn, in the scene's width
// (an eye's in stereo).
func (g *Game) warmText(j textJob) {
	full := g.w
	if g.opt.Stereo {
		g.w = max(full/2, 1)
	}
	defer func() { g.w = full }()
	if j.esc {
		g.sprite(j.s, g.escFace())
		return
	}
	f := j.base
	if j.k > 0 {
		f = g.scaled(j.base, j.k)
	}
	if j.width > 0 {
		width := j.width * float64(g.w)
		if j.shrink {
			f = g.shrunk(j.s, f, width)
		}
		g.sprite(g.fit(j.s, f, width), f)
		return
	}
	if !j.caption {
		g.sprite(j.s, f)
		return
	}
	// As caption draws it.
	f = g.scaled(j.base, j.k)
	for _, l := range wrap(j.s, f, float64(g.w)*0.8) {
		g.sprite(l, f)
	}
}

// panoShader compiles the 360° shader.
func (g *Game) panoShader() {
	s, err := ebiten.NewShader(panoramaShader)
	if err != nil {
		panic("panorama shader: " + err.Error()) // a programming error, caught by the tests
	}
	g.pano = s
}

// videoTexture makes a video cue's texture at its picture's size.
func (g *Game) videoTexture(id string) {
	if g.media == nil {
		return
	}
	size, ok := g.media.VideoSizes[id]
	if !ok || size.X < 1 || size.Y < 1 {
		return
	}
	if vt := g.videos[id]; vt != nil && vt.img.Bounds().Size() == size {
		return
	}
	if g.videos == nil {
		g.videos = map[string]*videoTex{}
	}
	if old := g.videos[id]; old != nil {
		if g.playing(id) != nil {
			return // in use at another size: videoFrame remakes it
		}
		g.drop(old.img)
	}
	tex := ebiten.NewImageWithOptions(image.Rect(0, 0, size.X, size.Y), &ebiten.NewImageOptions{Unmanaged: true})
	// Written once now: the texture is made and cleared during the step
	// before, not with the video's first picture.
	tex.SubImage(image.Rect(0, 0, size.X, 1)).(*ebiten.Image).WritePixels(make([]byte, 4*size.X))
	g.videos[id] = &videoTex{img: tex}
	g.touchImage(tex)
}

// poster uploads, into its texture, the first picture of a video opened
// ahead for a cue of a reachable step (its poster: see video.Poster), so
// the step's first frame only draws it. Not while the cue plays (a repeat:
// its texture is on screen). It says whether the cue is done with: false
// only while its video is still opening, so it is tried again; a video
// that failed, was taken for its step or dropped, or whose picture does not
// fit the texture, gets no poster (its first frame uploads it).
func (g *Game) poster(id string) (done bool) {
	vt := g.videos[id]
	if vt == nil || g.media == nil || g.playing(id) != nil {
		return true
	}
	v, opening := g.media.AheadVideo(id)
	if v == nil || vt.src == v {
		return !opening
	}
	v.Poster(func(img *image.RGBA) {
		if img.Rect.Size() == vt.img.Bounds().Size() {
			vt.img.WritePixels(img.Pix)
			vt.src = v
		}
	})
	return true
}

// touch draws each of a picture's textures off screen once, as the step
// will (a panorama with its shader, a picture with the linear filter): the
// first draw from a new texture costs the GPU (Mesa's software renderer
// took 15-25 ms for a 4096×2048 panorama), better paid now than on the
// step's first frame.
func (g *Game) touch(pic *picture) {
	for _, s := range pic.strips {
		if pic.pano {
			if g.pano == nil {
				g.panoShader()
			}
			g.panoTouch(g.touchDst(), s.tex)
			continue
		}
		g.touchImage(s.tex)
	}
}

// touchImage draws a texel of img off screen with the linear filter.
func (g *Game) touchImage(img *ebiten.Image) {
	op := &ebiten.DrawImageOptions{Filter: ebiten.FilterLinear}
	g.touchDst().DrawImage(img.SubImage(image.Rect(0, 0, 2, 2)).(*ebiten.Image), op)
}

func (g *Game) touchDst() *ebiten.Image {
	if g.pre.scratch == nil {
		g.pre.scratch = ebiten.NewImage(16, 16)
	}
	return g.pre.scratch
}

// playing is the video playing for a cue, or nil.
func (g *Game) playing(id string) *video.Video {
	if g.media == nil || g.media.Playing == nil {
		return nil
	}
	return g.media.Playing.Get(id)
}

// uploadSome sends up to budget bytes of picture id to the GPU, making at
// most newTex textures, and says what it sent and made; wait, when the
// picture is still being reduced and nothing else is queued. The picture
// leaves the queue once whole.
func (g *Game) uploadSome(id string, budget, newTex int) (sent, made int, wait bool) {
	p := &g.pre
	u := p.up[id]
	if u == nil {
		p.images = p.images[1:] // uploaded whole while drawing, or not a picture
		return 0, 0, false
	}
	select {
	case <-u.ready:
	default:
		if len(p.images) > 1 {
			p.images = append(p.images[1:], id) // the others meanwhile
			return 0, 0, false
		}
		return 0, 0, true
	}
	sent, made = g.send(u, budget, newTex)
	if u.done() {
		g.uploaded(id, u)
		g.touch(u.pic)
		p.images = p.images[1:]
	}
	return sent, made, sent == 0
}

// halvings is how many times a picture cue can be halved and still be
// drawn at no less than its own size on the scene now (at the start of its
// zoom): a 4K picture on a 1080p screen is uploaded at 1920×1080. Drawn
// smaller than half its size, the GPU would make its mipmaps when it is
// first drawn, a stall of its own; a picture at most twice its size on
// screen needs none. Panoramas are sampled by their shader at full size.
func (g *Game) halvings(c scenes.Cue) int {
	src := g.media.Images[c.ID]
	if src == nil || c.Kind != scenes.KindImage {
		return 0
	}
	dw, dh := float64(g.w), float64(g.h)
	if g.opt.Stereo {
		dw = float64(max(g.w/2, 1))
	}
	iw, ih := float64(src.Bounds().Dx()), float64(src.Bounds().Dy())
	if dw < 1 || dh < 1 || iw < 1 || ih < 1 {
		return 0
	}
	s := min(dw/iw, dh/ih)
	if c.Fit == scenes.FitFill {
		s = max(dw/iw, dh/ih)
	}
	if c.Pan != "" {
		s *= 1.1 // as drawImage: a pan zooms by 10 % at least
	}
	k := 0
	for s*2 <= 1 && iw >= 4 && ih >= 4 {
		s, iw, ih = s*2, iw/2, ih/2
		k++
	}
	return k
}

// halve returns src at half its size, each pixel the mean of four
// (premultiplied, so a box filter is right for alpha too).
func halve(src *image.RGBA) *image.RGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	w, h := (sw+1)/2, (sh+1)/2
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		y0, y1 := 2*y, min(2*y+1, sh-1)
		r0, r1 := src.Pix[y0*src.Stride:], src.Pix[y1*src.Stride:]
		d := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			x0, x1 := 8*x, 4*min(2*x+1, sw-1)
			for c := 0; c < 4; c++ {
				sum := int(r0[x0+c]) + int(r0[x1+c]) + int(r1[x0+c]) + int(r1[x1+c])
				d[4*x+c] = uint8((sum + 2) / 4)
			}
		}
	}
	return dst
}

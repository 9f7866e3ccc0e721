package window

import (
	"image"
	"image/draw"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/cueroom/cueroom/scenes"
)

// A picture cue on the GPU. A new texture is cleared when it is first
// written (ebiten's atlas does so), and a big one makes a frame wait on the
// GPU: a 4096×2048 texture took about 90 ms here (Mesa's software
// renderer). So a picture is kept as horizontal strips of about stripBytes
// each, made one per frame, and a panorama (which the shader samples as
// one texture) takes a texture from a pool filled when the window opens,
// one per size for each panorama of that size, up to maxPooled.

// stripBytes is a strip's size: its clear and its upload take a
// millisecond or two.
const stripBytes = 1 << 20

// maxPooled bounds the spare panorama textures kept per size.
const maxPooled = 3

// picture is a picture's texture: strips from top to bottom.
type picture struct {
	w, h   int
	pano   bool // one texture from the pool
	strips []strip
}

// strip is rows y0..y1 of a picture. Its texture holds one more row above
// and below (from the neighbouring strips) so that linear filtering across
// the seam reads the true neighbours: sub, the part drawn, starts at row
// top of it.
type strip struct {
	y0, y1 int
	top    int
	tex    *ebiten.Image
	sub    *ebiten.Image
}

// texRows is the strip's texture height.
func (s *strip) texRows(h int) int {
	n := s.y1 - s.y0 + s.top
	if s.y1 < h {
		n++
	}
	return n
}

// upload is a picture going to the GPU. A picture much larger than it is
// drawn is first reduced on a goroutine (ready is closed when src is set):
// see halvings.
type upload struct {
	ready chan struct{}
	src   *image.RGBA
	pic   *picture
	strip int // the strip being written
	row   int // its texture's rows written so far
}

// startUpload queues picture id, halved k times (see halvings); a
// panorama goes whole into one texture.
func (g *Game) startUpload(id string, k int, pano bool) *upload {
	src := packed(g.media.Images[id])
	if src == nil {
		return nil
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	for range k {
		w, h = (w+1)/2, (h+1)/2
	}
	u := &upload{ready: make(chan struct{}), pic: layout(w, h, pano)}
	if k == 0 {
		u.src = src
		close(u.ready)
	} else {
		go func() {
			for range k {
				src = halve(src)
			}
			u.src = src
			close(u.ready)
		}()
	}
	if g.pre.up == nil {
		g.pre.up = map[string]*upload{}
	}
	g.pre.up[id] = u
	return u
}

// layout cuts a w×h picture into strips.
func layout(w, h int, pano bool) *picture {
	pic := &picture{w: w, h: h, pano: pano}
	rows := h
	if !pano {
		rows = max(1, stripBytes/(4*w))
	}
	for y := 0; y < h; y += rows {
		s := strip{y0: y, y1: min(h, y+rows)}
		if y > 0 {
			s.top = 1
		}
		pic.strips = append(pic.strips, s)
	}
	return pic
}

// send writes up to budget bytes of the picture (one row at least), making
// at most newTex new textures, and returns the bytes written and the
// textures made. The picture is whole when u.strip reaches its last strip.
func (g *Game) send(u *upload, budget, newTex int) (sent, made int) {
	pic := u.pic
	stride := u.src.Stride
	for u.strip < len(pic.strips) && (sent == 0 || sent < budget) {
		s := &pic.strips[u.strip]
		n := s.texRows(pic.h)
		if s.tex == nil {
			if made >= newTex {
				break
			}
			s.tex = g.newTexture(pic.w, n, pic.pano)
			s.sub = s.tex
			if s.top > 0 || n > s.y1-s.y0 {
				s.sub = s.tex.SubImage(image.Rect(0, s.top, pic.w, s.top+s.y1-s.y0)).(*ebiten.Image)
			}
			made++
		}
		rows := min(n-u.row, max(1, (budget-sent)/stride))
		from := s.y0 - s.top + u.row // the picture's row at the texture's row u.row
		band := s.tex.SubImage(image.Rect(0, u.row, pic.w, u.row+rows)).(*ebiten.Image)
		band.WritePixels(u.src.Pix[from*stride : (from+rows)*stride])
		sent += rows * stride
		if u.row += rows; u.row == n {
			u.strip, u.row = u.strip+1, 0
		}
	}
	return sent, made
}

// done says whether the whole picture is on the GPU.
func (u *upload) done() bool { return u.strip == len(u.pic.strips) }

// newTexture makes a texture of its own (never on an atlas, which ebiten
// would move between pages), from the pool for a panorama.
func (g *Game) newTexture(w, h int, pano bool) *ebiten.Image {
	size := image.Pt(w, h)
	if free := g.pre.pool[size]; pano && len(free) > 0 {
		tex := free[len(free)-1]
		g.pre.pool[size] = free[:len(free)-1]
		return tex
	}
	return ebiten.NewImageWithOptions(image.Rect(0, 0, w, h), &ebiten.NewImageOptions{Unmanaged: true})
}

// release frees a picture's textures; a panorama's goes back to the pool.
// Either happens a few frames on (see drop): the frame that releases a
// picture may have drawn it, and a texture back in the pool may be written
// at once by the next upload.
func (g *Game) release(pic *picture) {
	for _, s := range pic.strips {
		if s.tex == nil {
			continue
		}
		tex := s.tex
		if !pic.pano {
			g.drop(tex)
			continue
		}
		g.later(func() {
			size := tex.Bounds().Size()
			if len(g.pre.pool[size]) >= maxPooled {
				tex.Deallocate()
				return
			}
			if g.pre.pool == nil {
				g.pre.pool = map[image.Point][]*ebiten.Image{}
			}
			g.pre.pool[size] = append(g.pre.pool[size], tex)
		})
	}
}

// fillPool makes and clears, once, the textures the protocol's panoramas
// will need, so that no texture of theirs is first cleared during a step:
// one per panorama of each size, up to maxPooled. It runs when the window
// opens (the welcome screen, or the first frames of the baseline).
func (g *Game) fillPool() {
	if g.media == nil {
		return
	}
	need := map[image.Point]int{}
	for i := 0; ; i++ {
		st, ok := g.s.Step(i)
		if !ok {
			break
		}
		for _, c := range st.Cues {
			if img := g.media.Images[c.ID]; c.Kind == scenes.KindPanorama && img != nil {
				need[img.Bounds().Size()]++
			}
		}
	}
	for size, n := range need {
		if size.X < 1 || size.Y < 1 {
			continue
		}
		if g.pre.pool == nil {
			g.pre.pool = map[image.Point][]*ebiten.Image{}
		}
		row := make([]byte, 4*size.X)
		for range min(n, maxPooled) - len(g.pre.pool[size]) {
			tex := ebiten.NewImageWithOptions(image.Rect(0, 0, size.X, size.Y), &ebiten.NewImageOptions{Unmanaged: true})
			// Written once: made and cleared now, not when first used.
			tex.SubImage(image.Rect(0, 0, size.X, 1)).(*ebiten.Image).WritePixels(row)
			g.pre.pool[size] = append(g.pre.pool[size], tex)
		}
	}
}

// image returns a picture cue's texture. Preloading has normally made it;
// if not (the first step, a replay's jump), the rest is uploaded now.
func (g *Game) image(c scenes.Cue) *picture {
	id := c.ID
	if pic, ok := g.images[id]; ok {
		return pic
	}
	if g.media == nil || g.media.Images[id] == nil {
		return nil
	}
	u := g.pre.up[id]
	if u == nil {
		if u = g.startUpload(id, 0, c.Kind == scenes.KindPanorama); u == nil {
			return nil
		}
	}
	<-u.ready
	for !u.done() {
		g.send(u, len(u.src.Pix), len(u.pic.strips))
	}
	g.uploaded(id, u)
	g.pre.late++
	return u.pic
}

func (g *Game) uploaded(id string, u *upload) {
	delete(g.pre.up, id)
	if g.images == nil {
		g.images = map[string]*picture{}
	}
	g.images[id] = u.pic
}

// packed returns img as packed RGBA rows at origin 0 (as engine.LoadMedia
// stores pictures; others are converted).
func packed(img image.Image) *image.RGBA {
	if img == nil {
		return nil
	}
	b := img.Bounds()
	if b.Dx() < 1 || b.Dy() < 1 {
		return nil
	}
	if rgba, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) && rgba.Stride == 4*b.Dx() {
		return rgba
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

package main

import (
	"image"
	"image/color"
	"math"
)

// The drawing is done with signed distance functions: every shape says how
// far a point is from its edge, which gives anti-aliased edges (and soft
// shadows, with a wider ramp) without a rasteriser library. Colours are mixed
// in linear light so edges and glows do not darken.

// rgb is a colour in linear light, 0..1 per channel (may exceed 1 for glow).
type rgb struct{ R, G, B float64 }

// hex converts an sRGB colour written as 0xRRGGBB to linear light.
func hex(v uint32) rgb {
	return rgb{
		lin(float64(v>>16&0xff) / 255),
		lin(float64(v>>8&0xff) / 255),
		lin(float64(v&0xff) / 255),
	}
}

func lin(v float64) float64 {
	if v <= 0.04045 {
		return v / 12.92
	}
	return math.Pow((v+0.055)/1.055, 2.4)
}

func unlin(v float64) float64 {
	v = clamp(v, 0, 1)
	if v <= 0.0031308 {
		return v * 12.92
	}
	return 1.055*math.Pow(v, 1/2.4) - 0.055
}

func (a rgb) mix(b rgb, t float64) rgb {
	return rgb{a.R + (b.R-a.R)*t, a.G + (b.G-a.G)*t, a.B + (b.B-a.B)*t}
}

func (a rgb) scale(k float64) rgb { return rgb{a.R * k, a.G * k, a.B * k} }
func (a rgb) add(b rgb) rgb       { return rgb{a.R + b.R, a.G + b.G, a.B + b.B} }

// grad picks a colour along evenly spaced stops, t in 0..1.
func grad(t float64, stops ...rgb) rgb {
	t = clamp(t, 0, 1) * float64(len(stops)-1)
	i := int(t)
	if i >= len(stops)-1 {
		return stops[len(stops)-1]
	}
	return stops[i].mix(stops[i+1], smooth(t-float64(i)))
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// smooth is the smoothstep ease of t in 0..1.
func smooth(t float64) float64 {
	t = clamp(t, 0, 1)
	return t * t * (3 - 2*t)
}

// canvas is a linear-light picture, drawn back to front.
type canvas struct {
	W, H int
	px   []rgb
}

func newCanvas(w, h int) *canvas { return &canvas{W: w, H: h, px: make([]rgb, w*h)} }

// shape is a signed distance in pixels (negative inside) and the box
// outside which the shape is surely empty.
type shape struct {
	d              func(x, y float64) float64
	x0, y0, x1, y1 float64
}

// paint gives the colour and opacity of a shape at a point.
type paint func(x, y float64) (rgb, float64)

func solid(c rgb) paint { return func(float64, float64) (rgb, float64) { return c, 1 } }

// span calls f for every pixel centre within the box grown by m pixels.
func (c *canvas) span(x0, y0, x1, y1, m float64, f func(i int, x, y float64)) {
	ix0 := max(0, int(math.Floor(x0-m)))
	iy0 := max(0, int(math.Floor(y0-m)))
	ix1 := min(c.W, int(math.Ceil(x1+m))+1)
	iy1 := min(c.H, int(math.Ceil(y1+m))+1)
	for y := iy0; y < iy1; y++ {
		for x := ix0; x < ix1; x++ {
			f(y*c.W+x, float64(x)+0.5, float64(y)+0.5)
		}
	}
}

// coverage turns a distance into how much of the pixel the shape covers;
// soft widens the edge ramp for shadows and out-of-focus things.
func coverage(d, soft float64) float64 {
	if soft <= 1 {
		return clamp(0.5-d, 0, 1)
	}
	return smooth(0.5 - d/soft)
}

// fill blends a shape over the picture.
func (c *canvas) fill(s shape, soft float64, p paint) {
	c.span(s.x0, s.y0, s.x1, s.y1, soft+1, func(i int, x, y float64) {
		cov := coverage(s.d(x, y), soft)
		if cov <= 0 {
			return
		}
		col, a := p(x, y)
		a *= cov
		if a <= 0 {
			return
		}
		c.px[i] = c.px[i].mix(col, a)
	})
}

// light adds light within a shape (highlights, glows), never darkening.
func (c *canvas) light(s shape, soft float64, p paint) {
	c.span(s.x0, s.y0, s.x1, s.y1, soft+1, func(i int, x, y float64) {
		cov := coverage(s.d(x, y), soft)
		if cov <= 0 {
			return
		}
		col, a := p(x, y)
		c.px[i] = c.px[i].add(col.scale(a * cov))
	})
}

// glow adds a gaussian blob of light of radius r.
func (c *canvas) glow(cx, cy, r float64, col rgb, k float64) {
	c.glowXY(cx, cy, r, r, col, k)
}

// glowXY is glow stretched into an ellipse.
func (c *canvas) glowXY(cx, cy, rx, ry float64, col rgb, k float64) {
	c.span(cx-3*rx, cy-3*ry, cx+3*rx, cy+3*ry, 0, func(i int, x, y float64) {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		g := math.Exp(-(dx*dx + dy*dy))
		c.px[i] = c.px[i].add(col.scale(k * g))
	})
}

// vignette darkens the corners a little, as a lens does, to hold the eye
// in the middle of the picture.
func (c *canvas) vignette(k float64) {
	c.span(0, 0, float64(c.W), float64(c.H), 0, func(i int, x, y float64) {
		dx := (x/float64(c.W) - 0.5) * 2
		dy := (y/float64(c.H) - 0.5) * 2
		r := dx*dx*0.8 + dy*dy
		c.px[i] = c.px[i].scale(1 - k*smooth(r/1.6))
	})
}

// image converts to 8-bit sRGB. There is no dither: at this size the
// gradients show no bands, and noise would double the PNG files.
func (c *canvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.W, c.H))
	q := func(v float64) uint8 { return uint8(math.Floor(unlin(v)*255 + 0.5)) }
	for y := 0; y < c.H; y++ {
		for x := 0; x < c.W; x++ {
			p := c.px[y*c.W+x]
			img.SetNRGBA(x, y, color.NRGBA{q(p.R), q(p.G), q(p.B), 255})
		}
	}
	return img
}

// Shapes.

func circle(cx, cy, r float64) shape {
	return shape{func(x, y float64) float64 { return math.Hypot(x-cx, y-cy) - r }, cx - r, cy - r, cx + r, cy + r}
}

func ellipse(cx, cy, rx, ry float64) shape {
	return shape{func(x, y float64) float64 {
		// Distance estimate: exact on the axes, close enough elsewhere for a
		// one-pixel edge ramp.
		px, py := (x-cx)/rx, (y-cy)/ry
		k0 := math.Hypot(px, py)
		k1 := math.Hypot(px/rx, py/ry)
		if k1 == 0 {
			return -math.Min(rx, ry)
		}
		return k0 * (k0 - 1) / k1
	}, cx - rx, cy - ry, cx + rx, cy + ry}
}

func roundRect(x0, y0, x1, y1, r float64) shape {
	cx, cy := (x0+x1)/2, (y0+y1)/2
	hx, hy := (x1-x0)/2-r, (y1-y0)/2-r
	return shape{func(x, y float64) float64 {
		qx, qy := math.Abs(x-cx)-hx, math.Abs(y-cy)-hy
		out := math.Hypot(math.Max(qx, 0), math.Max(qy, 0))
		return out + math.Min(math.Max(qx, qy), 0) - r
	}, x0, y0, x1, y1}
}

func rect(x0, y0, x1, y1 float64) shape { return roundRect(x0, y0, x1, y1, 0) }

// capsule is a line segment with round ends: strokes of letters, cords, rails.
func capsule(ax, ay, bx, by, r float64) shape {
	return shape{func(x, y float64) float64 {
		return segDist(x, y, ax, ay, bx, by) - r
	}, math.Min(ax, bx) - r, math.Min(ay, by) - r, math.Max(ax, bx) + r, math.Max(ay, by) + r}
}

func segDist(x, y, ax, ay, bx, by float64) float64 {
	px, py := x-ax, y-ay
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	h := 0.0
	if l2 > 0 {
		h = clamp((px*dx+py*dy)/l2, 0, 1)
	}
	return math.Hypot(px-dx*h, py-dy*h)
}

// poly is a closed polygon given as x, y pairs.
func poly(xy ...float64) shape {
	n := len(xy) / 2
	s := shape{x0: math.Inf(1), y0: math.Inf(1), x1: math.Inf(-1), y1: math.Inf(-1)}
	for i := 0; i < n; i++ {
		s.x0, s.x1 = math.Min(s.x0, xy[2*i]), math.Max(s.x1, xy[2*i])
		s.y0, s.y1 = math.Min(s.y0, xy[2*i+1]), math.Max(s.y1, xy[2*i+1])
	}
	s.d = func(x, y float64) float64 {
		d := math.Inf(1)
		inside := false
		for i, j := 0, n-1; i < n; j, i = i, i+1 {
			ax, ay, bx, by := xy[2*i], xy[2*i+1], xy[2*j], xy[2*j+1]
			d = math.Min(d, segDist(x, y, ax, ay, bx, by))
			if (ay > y) != (by > y) && x < (bx-ax)*(y-ay)/(by-ay)+ax {
				inside = !inside
			}
		}
		if inside {
			return -d
		}
		return d
	}
	return s
}

// below is the region under the curve y = h(x) down to bottom.
func below(h func(x float64) float64, x0, x1, top, bottom float64) shape {
	return shape{func(x, y float64) float64 {
		slope := (h(x+0.5) - h(x-0.5))
		d := (h(x) - y) / math.Sqrt(1+slope*slope)
		return math.Max(d, y-bottom)
	}, x0, top, x1, bottom}
}

// lathe is a round object seen from slightly above: half-width w(y) between
// top and bottom, whose ends bulge into ellipse arcs of height ry.
func lathe(cx, top, bottom float64, w func(y float64) float64, maxW, ry float64) shape {
	return shape{func(x, y float64) float64 {
		wy := w(y)
		slope := (w(y+0.5) - w(y-0.5))
		side := (math.Abs(x-cx) - wy) / math.Sqrt(1+slope*slope)
		end := func(at float64) float64 {
			t := (x - cx) / w(at)
			return ry * math.Sqrt(math.Max(0, 1-t*t))
		}
		up := top - end(top) - y
		down := y - (bottom + end(bottom))
		return math.Max(side, math.Max(up, down))
	}, cx - maxW, top - ry, cx + maxW, bottom + ry}
}

func union(a, b shape) shape {
	return shape{func(x, y float64) float64 { return math.Min(a.d(x, y), b.d(x, y)) },
		math.Min(a.x0, b.x0), math.Min(a.y0, b.y0), math.Max(a.x1, b.x1), math.Max(a.y1, b.y1)}
}

func intersect(a, b shape) shape {
	return shape{func(x, y float64) float64 { return math.Max(a.d(x, y), b.d(x, y)) },
		math.Max(a.x0, b.x0), math.Max(a.y0, b.y0), math.Min(a.x1, b.x1), math.Min(a.y1, b.y1)}
}

func subtract(a, b shape) shape {
	return shape{func(x, y float64) float64 { return math.Max(a.d(x, y), -b.d(x, y)) }, a.x0, a.y0, a.x1, a.y1}
}

// Noise: a hashed value-noise lattice, so textures are deterministic and
// need no random state.

func hash2(ix, iy int, seed uint32) float64 {
	h := uint32(ix)*0x27d4eb2d ^ uint32(iy)*0x165667b1 ^ seed*0x9e3779b9
	h ^= h >> 15
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return float64(h) / float64(math.MaxUint32)
}

func vnoise(x, y float64, seed uint32) float64 {
	ix, iy := math.Floor(x), math.Floor(y)
	fx, fy := smooth(x-ix), smooth(y-iy)
	i, j := int(ix), int(iy)
	a := hash2(i, j, seed)
	b := hash2(i+1, j, seed)
	c := hash2(i, j+1, seed)
	d := hash2(i+1, j+1, seed)
	return a + (b-a)*fx + (c-a)*fy + (a-b-c+d)*fx*fy
}

// fbm sums octaves of noise; the result is roughly 0..1.
func fbm(x, y float64, oct int, seed uint32) float64 {
	sum, amp, norm := 0.0, 0.5, 0.0
	for i := 0; i < oct; i++ {
		sum += amp * vnoise(x, y, seed+uint32(i)*101)
		norm += amp
		amp *= 0.5
		x, y = x*2.03, y*2.03
	}
	return sum / norm
}

// rng is a small deterministic generator (xorshift64*) for placing things.
type rng struct{ s uint64 }

func newRNG(seed uint64) *rng { return &rng{s: seed*0x9e3779b97f4a7c15 + 1} }

func (r *rng) next() uint64 {
	r.s ^= r.s >> 12
	r.s ^= r.s << 25
	r.s ^= r.s >> 27
	return r.s * 0x2545f4914f6cdd1d
}

// float returns a number in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// rangef returns a number in [lo, hi).
func (r *rng) rangef(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// norm returns a roughly normal number (sum of uniforms), mean 0, sd 1.
func (r *rng) norm() float64 {
	s := 0.0
	for i := 0; i < 6; i++ {
		s += r.float()
	}
	return (s - 3) * math.Sqrt2
}

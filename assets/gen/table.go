package main

import "math"

// The drink cues: a beer bottle, then a poured glass beside it, on a wooden
// table against a warm wall. Both share the room, bottle and glass drawing
// so the steps read as one story.

const tableTop = 468.0

// light falls from the upper left, the way the lamp in the room would.
var lightDir = [3]float64{-0.55, -0.35, 0.76}

// cyl is the diffuse shading of a vertical cylinder at t, the horizontal
// position across it from -1 (left edge) to 1 (right edge).
func cyl(t float64) float64 {
	t = clamp(t, -1, 1)
	return math.Max(0, t*lightDir[0]+math.Sqrt(1-t*t)*lightDir[2])
}

func sq(v float64) float64 { return v * v }

// room paints the wall and the table top.
func room(c *canvas) {
	c.span(0, 0, 1280, tableTop+1, 0, func(i int, x, y float64) {
		d := math.Hypot((x-260)/1.3, y-60) / 900
		col := hex(0xe6cfac).mix(hex(0x8a6a4c), smooth(d))
		col = col.scale(0.96 + 0.06*fbm(x*0.004, y*0.004, 3, 5))
		col = col.scale(1 - 0.35*math.Exp(-(tableTop-y)/30)) // the table shades the wall above it
		c.px[i] = col
	})
	// Planks run left to right, drawn in perspective: world depth is
	// 1/(y - eye), so seams crowd together towards the wall.
	const eye = 250.0
	c.span(0, tableTop, 1280, 720, 0, func(i int, x, y float64) {
		depth := 1000 / (y - eye)
		wx := (x - 640) * depth * 0.004
		plank := math.Floor(depth / 0.62)
		off := hash2(int(plank), 0, 9) * 50
		g := fbm(wx*0.35+off, depth*14, 4, 13)
		streak := 0.5 + 0.5*math.Sin(depth*90+g*9+wx*0.3)
		col := hex(0x6e3f1f).mix(hex(0xa96b3b), g*0.75+streak*0.2)
		col = col.scale(0.85 + 0.3*hash2(int(plank), 1, 9))
		// Dark seams between planks, about a pixel wide whatever the depth.
		px := 1000 / sq(y-eye) // depth covered by one pixel row
		f := depth/0.62 - plank
		seam := math.Min(f, 1-f) * 0.62 / px
		col = col.scale(0.45 + 0.55*smooth(seam/1.6))
		// The lamp's sheen on the varnish, strongest far back on the left.
		sheen := math.Exp(-sq((x-420)/420) - sq((y-tableTop-40)/90))
		col = col.add(hex(0xffe2b8).scale(0.10 * sheen))
		col = col.scale(0.8 + 0.2*smooth((720-y)/250))
		c.px[i] = col
	})
	c.fill(rect(0, tableTop-1, 1280, tableTop+2), 1, solid(hex(0x3a2010)))
	c.light(rect(0, tableTop+1.5, 1280, tableTop+3), 1, solid(hex(0xffd9a8).scale(0.25)))
}

// shadow lays a soft shadow on the table.
func shadow(c *canvas, cx, cy, rx, ry, soft, k float64) {
	c.fill(ellipse(cx, cy, rx, ry), soft, func(float64, float64) (rgb, float64) { return hex(0x1a0d05), k })
}

// bottleProfile is the half-width of the bottle at height u above its base
// (at scale 1): a long body, a rounded shoulder, a slim neck and a lip.
func bottleProfile(u float64) float64 {
	switch {
	case u < 10:
		return 55 + 5*smooth(u/10)
	case u < 228:
		return 60
	case u < 330:
		return 20 + 40*(1-smooth((u-228)/102))
	case u < 418:
		return 20 - 2*(u-330)/88
	default:
		// Past the top too, so the edge slope stays finite at the mouth.
		return 18 + 4.5*smooth((u-418)/4) - 1.5*smooth((u-434)/4)
	}
}

// bottle draws a brown beer bottle standing at (cx, base). A closed one
// wears its crown cap; an open one shows the dark mouth.
func bottle(c *canvas, cx, base, s float64, open bool, seed uint64) {
	const height, ry = 438.0, 7.0
	w := func(y float64) float64 { return bottleProfile((base-y)/s) * s }
	body := lathe(cx, base-height*s, base, w, 61*s, ry*s)

	shadow(c, cx+60*s, base+6*s, 140*s, 18*s, 40*s, 0.45)
	shadow(c, cx+8*s, base+3*s, 66*s, 9*s, 8*s, 0.5)

	tOf := func(x, y float64) float64 {
		wy := w(y)
		if wy <= 0 {
			return 0
		}
		return clamp((x-cx)/wy, -1, 1)
	}
	c.fill(body, 1, func(x, y float64) (rgb, float64) {
		t := tOf(x, y)
		nz := math.Sqrt(1 - t*t)
		col := hex(0x220e03).mix(hex(0x5e2e0c), math.Pow(nz, 1.4))
		// Light passing through the glass glows on the side away from the lamp.
		col = col.add(hex(0xb8601c).scale(0.45 * math.Exp(-sq((t-0.4)/0.32))))
		col = col.scale(0.75 + 0.4*cyl(t))
		return col, 1
	})
	drops(c, cx, base, s, seed, w)
	label(c, cx, base, s)
	neckFoil(c, cx, base, s, w)

	// Reflections of the lamp and the room on the glass.
	c.light(body, 1, func(x, y float64) (rgb, float64) {
		t := tOf(x, y)
		u := (base - y) / s
		shoulder := math.Exp(-sq((u - 280) / 40))
		a := 0.75 * math.Exp(-sq((t+0.55)/(0.07+0.05*shoulder)))
		a += 0.15 * math.Exp(-sq((t-0.8)/0.05))
		a += 0.25 * shoulder * math.Exp(-sq((t+0.2)/0.25))
		if u > 55 && u < 195 { // the label hides the glass there
			a *= 0.15
		}
		return hex(0xfff4e4), a
	})

	top := base - height*s
	if open {
		c.fill(ellipse(cx, top, 17*s, 4.5*s), 1, solid(hex(0x120602)))
		c.light(subtract(ellipse(cx, top, 22*s, 6.5*s), ellipse(cx, top, 17*s, 4.5*s)), 1, solid(hex(0xffe8c8).scale(0.35)))
		return
	}
	crownCap(c, cx, top, s)
}

// crownCap draws the gold crimped cap on the bottle's lip at top.
func crownCap(c *canvas, cx, top, s float64) {
	capTop, capBot := top-14*s, top+5*s
	capW := 24.5 * s
	cp := lathe(cx, capTop, capBot, func(y float64) float64 {
		return capW - 2.5*s*smooth((capTop+5*s-y)/(5*s)) + 1.5*s*smooth((y-capBot+5*s)/(5*s))
	}, capW+2*s, 5*s)
	c.fill(cp, 1, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/capW, -1, 1)
		ridge := 0.5 + 0.5*math.Cos(math.Asin(t)*21) // the crimps
		shade := cyl(t)*0.8 + 0.2*ridge
		col := hex(0x5a4312).mix(hex(0xe8c66a), shade)
		col = col.add(hex(0xfff2c8).scale(0.6 * math.Exp(-sq((t+0.5)/0.12))))
		return col, 1
	})
	c.fill(ellipse(cx, capTop, capW-2*s, 6*s), 1, func(x, y float64) (rgb, float64) {
		return hex(0xcaa448).mix(hex(0xf6e2a0), smooth(0.5-(x-cx)/(capW*1.6))), 1
	})
}

// label draws the paper label wrapped round the body. Its artwork is laid
// out flat and mapped onto the cylinder, so letters narrow towards the edges.
func label(c *canvas, cx, base, s float64) {
	r := 60 * s
	top, bot := base-195*s, base-55*s
	ry := 7 * s
	curve := func(x float64) float64 {
		t := clamp((x-cx)/r, -1, 1)
		return ry * math.Sqrt(1-t*t)
	}
	shp := shape{func(x, y float64) float64 {
		k := curve(x)
		return math.Max(math.Abs(x-cx)-r+0.6, math.Max(top+k-y, y-(bot+k)))
	}, cx - r, top, cx + r, bot + ry}

	mid := (top + bot) / 2
	word := "LAGER"
	th := 22 * s
	tw := textWidth(word, th, 0.25)
	letters := text(word, cx-tw/2, mid-th/2, th, 2.4*s, 0.25)
	emblem := ellipse(cx, mid, 64*s, 40*s)
	band := 15 * s

	c.fill(shp, 1, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/r, -1, 1)
		fx := cx + r*math.Asin(t) // flat coordinates on the unrolled label
		fy := y - curve(x)
		// One flat pixel spans 1/cos screen pixels near the edges; widen
		// the edge ramps to match so they stay smooth.
		stretch := 1 / math.Max(0.15, math.Sqrt(1-t*t))
		on := func(d float64) float64 { return clamp(0.5-d/stretch, 0, 1) }
		col := hex(0xf0e4c4)
		red := hex(0x8c1a17)
		gold := hex(0xc39a3e)
		col = col.mix(red, math.Max(on(fy-(top+band)), on((bot-band)-fy)))
		for _, gl := range []float64{top + band + 3*s, bot - band - 3*s} {
			col = col.mix(gold, on(math.Abs(fy-gl)-1*s))
		}
		col = col.mix(gold, on(emblem.d(fx, fy)))
		col = col.mix(red, on(emblem.d(fx, fy)+3*s))
		col = col.mix(hex(0xf6ecd2), on(letters.d(fx, fy)))
		for _, sx := range []float64{-55, 55} { // little stars either side
			col = col.mix(gold, on(math.Hypot(fx-cx-sx*s, fy-mid)-2.5*s))
		}
		col = col.scale(0.55 + 0.55*cyl(t))
		return col, 1
	})
}

// neckFoil is the gold band round the neck.
func neckFoil(c *canvas, cx, base, s float64, w func(float64) float64) {
	top, bot := base-405*s, base-352*s
	ry := 3 * s
	shp := shape{func(x, y float64) float64 {
		wy := w(y) + 0.4*s
		t := clamp((x-cx)/wy, -1, 1)
		k := ry * math.Sqrt(1-t*t)
		return math.Max(math.Abs(x-cx)-wy, math.Max(top+k-y, y-(bot+k)))
	}, cx - 22*s, top, cx + 22*s, bot + ry}
	c.fill(shp, 1, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/w(y), -1, 1)
		k := ry * math.Sqrt(1-t*t)
		fy := y - k
		col := hex(0x8a6a22).mix(hex(0xf2d27a), cyl(t))
		stripe := clamp(0.5-(math.Abs(fy-(top+24*s))-6*s), 0, 1)
		col = col.mix(hex(0x5a0f0c).mix(hex(0xb0261f), cyl(t)), stripe)
		col = col.add(hex(0xfff6d8).scale(0.7 * math.Exp(-sq((t+0.55)/0.1))))
		return col, 1
	})
}

// drops scatters beads of condensation over the cold glass.
func drops(c *canvas, cx, base, s float64, seed uint64, w func(float64) float64) {
	r := newRNG(seed)
	for k := 0; k < 70; k++ {
		u := r.rangef(12, 330)
		if u > 50 && u < 200 { // not on the paper label
			continue
		}
		y := base - u*s
		wy := w(y)
		t := r.rangef(-0.9, 0.9)
		x := cx + t*wy
		rad := r.rangef(1.2, 3.6) * s
		drop(c, x, y, rad*math.Sqrt(1-t*t), rad, 1)
	}
}

// drop is one bead of water: it darkens its rim, gathers light at the
// bottom like a lens and shows the lamp as a bright point.
func drop(c *canvas, x, y, rx, ry, k float64) {
	c.fill(ellipse(x, y, rx, ry), 1, func(px, py float64) (rgb, float64) {
		return hex(0x000000), 0.25 * k
	})
	c.light(ellipse(x, y+ry*0.25, rx*0.7, ry*0.6), 1, solid(hex(0xffe0b0).scale(0.25*k)))
	c.light(circle(x-rx*0.35, y-ry*0.4, math.Max(0.7, ry*0.28)), 1, solid(hex(0xffffff).scale(0.8*k)))
}

// pint draws a glass of beer with a head of foam standing at (cx, base).
func pint(c *canvas, cx, base, s float64, seed uint64) {
	const height = 400.0
	ry := 13 * s
	w := func(y float64) float64 {
		u := (base - y) / s
		return (60 + 26*clamp(u/height, 0, 1) + 4*math.Exp(-sq((u-345)/22))) * s
	}
	inner := func(y float64) float64 { return w(y) - 5*s }
	at := func(u float64) float64 { return base - u*s }
	tOf := func(x, y float64) float64 { return clamp((x-cx)/w(y), -1, 1) }

	shadow(c, cx+70*s, base+8*s, 150*s, 20*s, 40*s, 0.4)
	shadow(c, cx+6*s, base+4*s, 66*s, 10*s, 8*s, 0.45)
	// Light through the beer throws an amber glow on the table.
	c.glowXY(cx+95*s, base+10*s, 95*s, 14*s, hex(0xffa830), 0.22)

	whole := lathe(cx, at(height), base, w, 92*s, ry)
	c.fill(whole, 1, func(x, y float64) (rgb, float64) {
		t := tOf(x, y)
		return hex(0xfff8f0), 0.02 + 0.3*math.Pow(math.Abs(t), 8)
	})

	beerTop, foamTop := 300.0, 378.0
	beer := lathe(cx, at(beerTop), at(22), inner, 92*s, ry)
	c.fill(beer, 1, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/inner(y), -1, 1)
		u := (base - y) / s
		col := hex(0x8a3e04).mix(hex(0xe0921a), smooth(u/beerTop)*0.6+0.4*math.Sqrt(1-t*t))
		col = col.add(hex(0xffb030).scale(0.25 * math.Exp(-sq((t-0.35)/0.35)) * smooth(u/200)))
		col = col.scale(0.7 + 0.45*cyl(t))
		return col, 1
	})
	// Streams of bubbles rising from points at the bottom.
	r := newRNG(seed)
	for k := 0; k < 7; k++ {
		t0 := r.rangef(-0.7, 0.7)
		for u := 30 + r.rangef(0, 20); u < beerTop-6; u += r.rangef(8, 30) {
			y := at(u)
			x := cx + t0*inner(y) + r.norm()*2*s
			rad := (0.6 + u/beerTop*1.2) * s
			c.light(circle(x, y, rad), 1, solid(hex(0xffe6a0).scale(0.3)))
		}
	}

	// The head: a creamy band, its top seen as an ellipse.
	foam := lathe(cx, at(foamTop), at(beerTop+4), inner, 92*s, ry)
	c.fill(foam, 1.2, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/inner(y), -1, 1)
		u := (base - y) / s
		n := fbm(x*0.12, y*0.12, 3, 77)
		col := hex(0xe9d2a0).mix(hex(0xfdf6e6), smooth((u-beerTop)/18)*0.8+n*0.2)
		col = col.scale(0.6 + 0.5*cyl(t))
		return col, 1
	})
	c.fill(ellipse(cx, at(foamTop), inner(at(foamTop)), ry), 1.2, func(x, y float64) (rgb, float64) {
		n := fbm(x*0.09, y*0.2, 3, 79)
		lit := smooth(0.6 - (x-cx)/(inner(at(foamTop))*2.2))
		return hex(0xe8dcc4).mix(hex(0xfffcf4), lit*0.8+n*0.2), 1
	})

	// The thick glass foot, lit amber from the beer above it.
	foot := lathe(cx, at(22), base, w, 92*s, ry)
	c.fill(foot, 1, func(x, y float64) (rgb, float64) {
		u := (base - y) / s
		return hex(0xd49a50).mix(hex(0xfff0d8), 1-u/22), 0.45
	})

	// Condensation: a fine mist with larger beads, a few of them running.
	c.fill(lathe(cx, at(beerTop), at(26), w, 92*s, ry), 1, func(x, y float64) (rgb, float64) {
		n := fbm(x*0.05, y*0.05, 3, 81)
		return hex(0xfff4e0), 0.01 + 0.04*n
	})
	for k := 0; k < 260; k++ {
		u := r.rangef(28, foamTop-4)
		y := at(u)
		t := r.rangef(-0.92, 0.92)
		x := cx + t*w(y)
		rad := math.Pow(r.float(), 2.5)*4.5*s + 1.1*s
		drop(c, x, y, rad*math.Sqrt(1-t*t), rad*1.1, 1)
	}
	for k := 0; k < 5; k++ {
		u0 := r.rangef(150, 330)
		t := r.rangef(-0.6, 0.7)
		x := cx + t*w(at(u0))
		l := r.rangef(40, 110) * s
		y0 := at(u0)
		c.light(capsule(x, y0, x+r.rangef(-2, 2)*s, y0+l, 1.6*s), 1, solid(hex(0xfff0d8).scale(0.18)))
		drop(c, x, y0+l, 3.5*s*math.Sqrt(1-t*t), 4.5*s, 1.2)
	}

	// The glass: bright edges, the rim, and the lamp's reflection.
	c.light(whole, 1, func(x, y float64) (rgb, float64) {
		t := tOf(x, y)
		a := 0.7 * math.Exp(-sq((t+0.62)/0.06))
		a += 0.2 * math.Exp(-sq((t+0.45)/0.03))
		a += 0.18 * math.Exp(-sq((t-0.85)/0.05))
		a += 0.25 * math.Pow(math.Abs(t), 12)
		return hex(0xffffff), a
	})
	rimW := w(at(height))
	c.light(subtract(ellipse(cx, at(height), rimW, ry), ellipse(cx, at(height), rimW-2.2*s, ry-1.6*s)), 1,
		func(x, y float64) (rgb, float64) {
			a := 0.25
			if y > at(height) { // the near edge of the rim catches more light
				a = 0.55
			}
			return hex(0xffffff), a
		})
}

// lyingCap is a crown cap lying upside down on the table, crimps showing.
func lyingCap(c *canvas, cx, cy, s float64) {
	shadow(c, cx+6*s, cy+5*s, 30*s, 9*s, 8*s, 0.4)
	c.fill(ellipse(cx, cy, 26*s, 9*s), 1, func(x, y float64) (rgb, float64) {
		a := math.Atan2((y-cy)/9, (x-cx)/26)
		ridge := 0.5 + 0.5*math.Cos(a*21)
		return hex(0x7a5a18).mix(hex(0xe8c66a), 0.3+0.5*ridge*smooth(0.5-(x-cx)/(60*s))), 1
	})
	c.fill(ellipse(cx, cy-2*s, 21*s, 6.5*s), 1, func(x, y float64) (rgb, float64) {
		return hex(0x9a8a70).mix(hex(0xd8d0c0), smooth(0.5+(x-cx)/(40*s))), 1
	})
}

func drawBottle() *canvas {
	c := newCanvas(1280, 720)
	room(c)
	c.glow(260, 90, 380, hex(0xffe2b0), 0.12)
	bottle(c, 640, 668, 1.2, false, 17)
	c.vignette(0.3)
	return c
}

func drawGlass() *canvas {
	c := newCanvas(1280, 720)
	room(c)
	c.glow(260, 90, 380, hex(0xffe2b0), 0.12)
	bottle(c, 505, 622, 1.08, true, 19)
	lyingCap(c, 345, 652, 1)
	pint(c, 775, 668, 0.95, 23)
	c.vignette(0.3)
	return c
}

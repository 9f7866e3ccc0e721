package main

import "math"

// The bar: the strongest visual cue of the demo. A warmly lit back bar with
// shelves of bottles, a sign, beer taps, and a full glass on the counter in
// front of the viewer, as if just served.

const (
	counterTop  = 548.0 // far edge of the counter's top surface
	counterEdge = 606.0 // its rounded near edge
	counterFace = 622.0 // where the front panel starts
)

func drawBar() *canvas {
	c := newCanvas(1280, 720)

	// Back wall: dark wood, lit amber from behind the shelves.
	c.span(0, 0, 1280, counterTop, 0, func(i int, x, y float64) {
		n := fbm(x*0.004, y*0.05, 3, 201)
		col := hex(0x1e120a).mix(hex(0x3a2414), n)
		back := math.Exp(-sq((x-640)/520) - sq((y-330)/230))
		col = col.add(hex(0xc2702a).scale(0.22 * back))
		c.px[i] = col
	})
	// Lit panel behind the bottles, brightest just above each shelf where
	// the strip lights are.
	shelves := []float64{246, 384, 512}
	c.fill(roundRect(70, 122, 1210, 530, 6), 1, func(x, y float64) (rgb, float64) {
		col := hex(0x4a2a14).mix(hex(0x7a4a22), math.Exp(-sq((x-640)/560)))
		for _, sy := range shelves {
			if y < sy {
				col = col.add(hex(0xffa040).scale(0.5 * math.Exp(-(sy-y)/55)))
				break
			}
		}
		return col, 1
	})
	neon(c, 640, 48)

	r := newRNG(404)
	for row, sy := range shelves {
		x := 92.0
		for x < 1190 {
			b := randomBottle(r)
			if row == 0 { // leave room under the lamps
				b.height = math.Min(b.height, 108)
				b.body = math.Min(b.body, b.height*0.6)
			}
			if x+b.bw*2 > 1190 {
				break
			}
			cx := x + b.bw
			shelfBottle(c, cx, sy, b)
			x = cx + b.bw + r.rangef(3, 14)
			if r.float() < 0.08 && row < 2 {
				x += r.rangef(20, 40)
			}
		}
		// The shelf board, its front edge catching the light.
		if row < 2 {
			c.fill(rect(70, sy, 1210, sy+11), 1, func(x, y float64) (rgb, float64) {
				return hex(0x6a4020).mix(hex(0x2a170a), (y-sy)/11), 1
			})
			c.light(rect(70, sy, 1210, sy+2), 1, solid(hex(0xffc080).scale(0.4)))
		}
	}

	lamp(c, 250, 100)
	lamp(c, 1030, 100)
	bokeh(c)

	counter(c)
	taps(c, 440)
	pint(c, 725, 598, 0.8, 29)
	// The glass shows faintly in the polished top.
	c.glowXY(725, 606, 70, 8, hex(0xffa030), 0.12)
	c.vignette(0.35)
	return c
}

// shelfBottleKind is the shape and colour of one bottle on the back bar.
type shelfBottleKind struct {
	bw, body, shoulder, nw, height float64 // half-widths and heights
	glass, labelCol                rgb
	square, label, gold            bool
}

func randomBottle(r *rng) shelfBottleKind {
	glasses := []uint32{0x1f4a22, 0x4a220a, 0x9a4e10, 0xa8b8b0, 0x1c3a6e, 0x6a1420, 0x2a2a2a, 0xb06a18}
	labels := []uint32{0xefe3c4, 0x1a1a1a, 0xd8c07a, 0xf4f4f0, 0x8a1a17, 0x223a5a}
	b := shelfBottleKind{
		bw:       r.rangef(15, 26),
		height:   r.rangef(92, 128),
		nw:       r.rangef(5, 8),
		glass:    hex(glasses[int(r.float()*float64(len(glasses)))]),
		labelCol: hex(labels[int(r.float()*float64(len(labels)))]),
		square:   r.float() < 0.3,
		label:    r.float() < 0.85,
		gold:     r.float() < 0.4,
	}
	b.body = b.height * r.rangef(0.45, 0.65)
	b.shoulder = r.rangef(8, 26)
	if b.square {
		b.shoulder = r.rangef(5, 9)
	}
	return b
}

// shelfBottle draws one bottle standing on a shelf at (cx, base).
func shelfBottle(c *canvas, cx, base float64, b shelfBottleKind) {
	w := func(y float64) float64 {
		u := base - y
		switch {
		case u < b.body:
			return b.bw
		case u < b.body+b.shoulder:
			return b.nw + (b.bw-b.nw)*(1-smooth((u-b.body)/b.shoulder))
		default:
			return b.nw
		}
	}
	ry := 2.5
	if b.square {
		ry = 0.5
	}
	shp := lathe(cx, base-b.height, base, w, b.bw, ry)
	c.fill(shp, 1, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/w(y), -1, 1)
		shade := 0.45 + 0.8*cyl(t)
		if b.square { // flat faces: one lit, one in shade
			shade = 0.9
			if t > 0.15 {
				shade = 0.55
			}
		}
		col := b.glass.scale(shade)
		col = col.add(b.glass.scale(0.9 * math.Exp(-sq((t-0.3)/0.35)))) // backlight through the glass
		return col, 1
	})
	if b.label {
		top, bot := base-b.body*0.85, base-b.body*0.3
		c.fill(rect(cx-b.bw+1, top, cx+b.bw-1, bot), 1, func(x, y float64) (rgb, float64) {
			t := clamp((x-cx)/b.bw, -1, 1)
			col := b.labelCol.scale(0.45 + 0.6*cyl(t))
			if math.Abs(y-(top+bot)/2) < (bot-top)*0.12 {
				col = col.mix(hex(0xc39a3e), 0.7)
			}
			return col, 1
		})
	}
	capCol := hex(0x222222)
	if b.gold {
		capCol = hex(0xc8a040)
	}
	c.fill(rect(cx-b.nw-1, base-b.height-9, cx+b.nw+1, base-b.height+2), 1, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/(b.nw+1), -1, 1)
		return capCol.scale(0.5 + 0.8*cyl(t)), 1
	})
	c.light(shp, 1, func(x, y float64) (rgb, float64) {
		t := clamp((x-cx)/w(y), -1, 1)
		return hex(0xffe6c0), 0.55*math.Exp(-sq((t+0.55)/0.1)) + 0.15*math.Exp(-sq((t-0.85)/0.06))
	})
}

// neon draws a glowing BAR sign centred at (cx, top).
func neon(c *canvas, cx, top float64) {
	const h = 46.0
	w := textWidth("BAR", h, 0.45)
	sign := text("BAR", cx-w/2, top, h, 3.2, 0.45)
	c.fill(roundRect(cx-w/2-30, top-18, cx+w/2+30, top+h+18, 8), 1, solid(hex(0x140c08)))
	c.light(sign, 40, solid(hex(0xff5a28).scale(0.35)))
	c.light(sign, 10, solid(hex(0xff6a30).scale(0.6)))
	c.fill(sign, 1, solid(hex(0xffd6b8)))
}

// lamp is a pendant light hanging from the ceiling above the counter.
func lamp(c *canvas, cx, bottom float64) {
	c.fill(capsule(cx, 0, cx, bottom-48, 1.5), 1, solid(hex(0x0c0806)))
	c.light(intersect(rect(0, bottom, 1280, counterTop), poly(cx-34, bottom, cx+34, bottom, cx+260, counterTop, cx-260, counterTop)), 80,
		func(x, y float64) (rgb, float64) { return hex(0xffc070), 0.07 * (1 - (y-bottom)/(counterTop-bottom)) })
	c.glow(cx, bottom+10, 190, hex(0xffa850), 0.35)
	c.fill(poly(cx-12, bottom-50, cx+12, bottom-50, cx+40, bottom, cx-40, bottom), 1, func(x, y float64) (rgb, float64) {
		return hex(0x2a1a10).mix(hex(0x7a5230), smooth(0.5-(x-cx)/50)), 1
	})
	c.fill(ellipse(cx, bottom, 40, 7), 1, solid(hex(0xfff0d0)))
	c.glow(cx, bottom+4, 40, hex(0xffe0a0), 0.9)
}

// bokeh scatters the blurred discs of far lights, as a camera focused on
// the glass would see them.
func bokeh(c *canvas) {
	r := newRNG(505)
	for k := 0; k < 14; k++ {
		x := r.rangef(100, 1180)
		y := r.rangef(140, 500)
		rad := r.rangef(8, 22)
		col := hex(0xffa040).mix(hex(0xffd090), r.float())
		c.light(circle(x, y, rad), 5, solid(col.scale(r.rangef(0.04, 0.09))))
	}
}

// counter draws the bar top, its rounded edge and the panelled front.
func counter(c *canvas) {
	c.span(0, counterTop, 1280, 720, 0, func(i int, x, y float64) {
		switch {
		case y < counterEdge:
			n := fbm(x*0.003, y*0.12, 3, 211)
			col := hex(0x3a1c0c).mix(hex(0x6a3818), n)
			// Reflections of the lamps and the lit shelves in the varnish.
			for _, lx := range []float64{250, 1030} {
				col = col.add(hex(0xffb060).scale(0.25 * math.Exp(-sq((x-lx)/120)-sq((y-counterTop-8)/14))))
			}
			col = col.add(hex(0xc07030).scale(0.12 * math.Exp(-sq((x-640)/600)) * math.Exp(-(y-counterTop)/20)))
			c.px[i] = col
		case y < counterFace:
			e := (y - counterEdge) / (counterFace - counterEdge)
			c.px[i] = hex(0xc07a40).mix(hex(0x2a140a), smooth(e))
		default:
			col := hex(0x2e180c).mix(hex(0x40220f), fbm(x*0.01, y*0.01, 3, 221))
			pos := math.Mod(x+40, 160)
			groove := math.Min(pos, 160-pos)
			col = col.scale(0.55 + 0.45*smooth(groove/3))
			if pos > 3 && pos < 6 {
				col = col.add(hex(0xffb070).scale(0.06))
			}
			col = col.scale(1 - 0.4*smooth((y-counterFace)/100))
			c.px[i] = col
		}
	})
	// A brass foot rail.
	c.fill(capsule(-10, 684, 1290, 684, 7), 1, func(x, y float64) (rgb, float64) {
		return hex(0x5a3e12).mix(hex(0xf0c870), smooth((690-y)/12)), 1
	})
}

// taps is a chrome beer tower with three handles, standing on the counter.
func taps(c *canvas, cx float64) {
	base := 590.0
	chrome := func(x0, x1 float64) paint {
		return func(x, y float64) (rgb, float64) {
			t := clamp((x-(x0+x1)/2)/((x1-x0)/2), -1, 1)
			col := hex(0x3a3a3e).mix(hex(0xe8e8ee), cyl(t))
			col = col.add(hex(0xffffff).scale(0.6 * math.Exp(-sq((t+0.45)/0.12))))
			col = col.add(hex(0xff9a40).scale(0.15 * math.Exp(-sq((t-0.7)/0.2))))
			return col, 1
		}
	}
	shadow(c, cx+30, base+4, 110, 10, 16, 0.5)
	c.fill(ellipse(cx, base, 60, 9), 1, solid(hex(0x222226)))                            // drip tray
	c.fill(rect(cx-16, 440, cx+16, base), 1, chrome(cx-16, cx+16))                       // column
	c.fill(roundRect(cx-80, 424, cx+80, 452, 12), 1, func(x, y float64) (rgb, float64) { // bar
		v := (y - 424) / 28
		return hex(0x3a3a3e).mix(hex(0xe8e8ee), 1-math.Abs(v-0.35)*1.6), 1
	})
	handles := []uint32{0x151515, 0x8c1a17, 0x1f4a22}
	for k, hx := range []float64{cx - 55, cx, cx + 55} {
		c.fill(rect(hx-5, 452, hx+5, 474), 1, chrome(hx-5, hx+5))
		c.fill(roundRect(hx-7, 470, hx+7, 480, 3), 1, chrome(hx-7, hx+7))
		col := hex(handles[k])
		c.fill(roundRect(hx-9, 352, hx+9, 426, 6), 1, func(x, y float64) (rgb, float64) {
			t := clamp((x-hx)/9, -1, 1)
			return col.scale(0.4 + 0.9*cyl(t)).add(hex(0xffffff).scale(0.3 * math.Exp(-sq((t+0.5)/0.15)))), 1
		})
	}
}

package main

import (
	"cmp"
	"math"
	"slices"
)

// bar_pano.png is a 360° equirectangular panorama of a bar, seen from a
// stool at the bar counter, for the panorama cue (looked around in
// perspective by the window's shader).
//
// It is ray-cast: each pixel is a direction from the eye, which hits the
// floor, the ceiling, a wall, a counter or one of a few upright cards (the
// glass, the taps, the lamps), all simple planes. The walls and cards are
// pictures drawn with the 2D helpers of this package, in metres scaled to
// pixels; the floor, ceiling and counter tops are textured from noise in
// world coordinates. Light comes from the pendant lamps (falling off with
// distance), plus what glows by itself: the back bar's strip lights, the
// neon sign, the door's window.
//
// Layout, by yaw (the shader's: 0 = image centre, positive = to the right,
// ±180° = the image's left and right edges), pitch 0 = the horizon at
// mid-height:
//
//	yaw    0°  the bar: counter in front (0.5 m), a full glass of beer on it
//	           straight ahead just below the horizon (pitch ≈ +15°, down),
//	           the beer taps to its left (yaw ≈ -17°), the lit back bar
//	           with shelves of bottles, a red-orange neon "BAR" sign above
//	           (pitch ≈ -35°)
//	yaw  +90°  right wall: shelves of wine bottles, a clock
//	yaw ±180°  the door: dark wood with a bright cold-white window and a
//	           blue "OPEN" sign in it, the only cool light in the room
//	yaw  -90°  left wall: a dartboard and a chalk board
//
// A narrow counter runs round the walls at 1.05 m (but for the door), lamps
// hang above the bar, wooden floor below, beams above. The test
// TestPanoramaRegionsByYaw checks these regions in perspective views.

const (
	panoW, panoH = 2048, 1024
	panoSS       = 2 // rays per pixel along each axis

	eyeY    = 1.3 // seated on a bar stool
	roomX   = 3.5 // side walls at x = ±roomX
	frontZ  = 1.9 // back-bar wall
	backZ   = -4.5
	ceilY   = 3.0
	barNear = 0.5 // bar counter's front face
	barFar  = 1.1
	barTopY = 1.08
	cabZ    = 1.5 // back-bar cabinet front
	cabTopY = 0.95
	ledgeY  = 1.05 // the counter round the other walls
	ledgeD  = 0.3
	doorW   = 0.55 // half-width of the door
	doorH   = 2.15
)

// lamps are the pendant lamps' bulbs.
var lamps = [][3]float64{{-1.6, 2.3, 0.8}, {0, 2.3, 0.8}, {1.6, 2.3, 0.8}, {0, 2.85, -2.2}}

// wallTex is a wall's picture: albedo (lit by the lamps) and light of its
// own; x0 is the wall coordinate at the picture's left edge, ppm its
// pixels per metre, and y runs down from the ceiling.
type wallTex struct {
	albedo, glow *canvas
	ppm          float64
}

func newWallTex(widthM, ppm float64) *wallTex {
	w, h := int(widthM*ppm), int(ceilY*ppm)
	return &wallTex{albedo: newCanvas(w, h), glow: newCanvas(w, h), ppm: ppm}
}

// px converts wall metres (along, height) to picture pixels.
func (t *wallTex) px(along, y float64) (float64, float64) { return along * t.ppm, (ceilY - y) * t.ppm }

// card is an upright picture facing the viewer at depth z: premultiplied
// colour and coverage, made by drawing it over black and over white.
type card struct {
	z, x0, y1, ppm float64 // left edge and top, in metres
	col            *canvas
	alpha          []float64
}

func newCard(z, x0, y1, wM, hM, ppm float64, draw func(c *canvas)) *card {
	w, h := int(wM*ppm), int(hM*ppm)
	black, white := newCanvas(w, h), newCanvas(w, h)
	for i := range white.px {
		white.px[i] = rgb{1, 1, 1}
	}
	draw(black)
	draw(white)
	k := &card{z: z, x0: x0, y1: y1, ppm: ppm, col: black, alpha: make([]float64, w*h)}
	for i := range black.px {
		// Over black the colour is a·C; over white a·C + (1-a).
		d := (white.px[i].R - black.px[i].R + white.px[i].G - black.px[i].G + white.px[i].B - black.px[i].B) / 3
		k.alpha[i] = clamp(1-d, 0, 1)
	}
	return k
}

// sample is the bilinear colour of c at pixel coordinates (x, y).
func (c *canvas) sample(x, y float64) rgb {
	x, y = clamp(x-0.5, 0, float64(c.W-1)), clamp(y-0.5, 0, float64(c.H-1))
	i, j := int(x), int(y)
	i1, j1 := min(i+1, c.W-1), min(j+1, c.H-1)
	fx, fy := x-float64(i), y-float64(j)
	a := c.px[j*c.W+i].mix(c.px[j*c.W+i1], fx)
	b := c.px[j1*c.W+i].mix(c.px[j1*c.W+i1], fx)
	return a.mix(b, fy)
}

// at is the card's colour and coverage where the ray at distance t along
// d crosses its plane (ok false if it misses the picture).
func (k *card) at(d [3]float64) (rgb, float64, bool) {
	if d[2] <= 0 {
		return rgb{}, 0, false
	}
	t := k.z / d[2]
	x, y := (d[0]*t-k.x0)*k.ppm, (k.y1-(eyeY+d[1]*t))*k.ppm
	if x < 0 || y < 0 || x >= float64(k.col.W) || y >= float64(k.col.H) {
		return rgb{}, 0, false
	}
	i := int(y)*k.col.W + int(x)
	return k.col.sample(x, y), k.alpha[i], true
}

// scene is everything the rays can hit.
type scene struct {
	front, right, back, left *wallTex
	cards                    []*card // far to near
}

func drawPanorama() *canvas {
	s := &scene{
		front: frontWall(),
		right: rightWall(),
		back:  backWall(),
		left:  leftWall(),
	}
	for _, l := range lamps[:3] {
		s.cards = append(s.cards, newCard(l[2], l[0]-0.25, ceilY, 0.5, ceilY-l[1]+0.2, 500, func(c *canvas) {
			pendant(c, 0.25*500, (ceilY-l[1])*500, 500)
		}))
	}
	s.cards = append(s.cards,
		newCard(0.95, -0.55, barTopY+0.62, 0.5, 0.64, 700, func(c *canvas) { tapTower(c, 0.25*700, 0.62*700, 700) }),
		newCard(0.78, -0.16, barTopY+0.22, 0.32, 0.26, 900, func(c *canvas) {
			// pint draws a glass 400·s pixels tall standing at its base:
			// 0.17 m at 900 px/m.
			pint(c, 0.16*900, 0.22*900, 0.17*900/400, 31)
		}),
	)
	slices.SortStableFunc(s.cards, func(a, b *card) int { return cmp.Compare(b.z, a.z) })

	c := newCanvas(panoW, panoH)
	c.span(0, 0, panoW, panoH, 0, func(i int, x, y float64) {
		var sum rgb
		for sy := 0; sy < panoSS; sy++ {
			for sx := 0; sx < panoSS; sx++ {
				u := (x - 0.5 + (float64(sx)+0.5)/panoSS) / panoW
				v := (y - 0.5 + (float64(sy)+0.5)/panoSS) / panoH
				lon, lat := (u-0.5)*2*math.Pi, (0.5-v)*math.Pi
				d := [3]float64{math.Cos(lat) * math.Sin(lon), math.Sin(lat), math.Cos(lat) * math.Cos(lon)}
				sum = sum.add(s.ray(d))
			}
		}
		c.px[i] = sum.scale(1.0 / (panoSS * panoSS))
	})
	return c
}

// ray is the light coming to the eye from direction d (unit length).
func (s *scene) ray(d [3]float64) rgb {
	col, depth := s.solid(d)
	for _, k := range s.cards {
		if d[2] <= 0 || k.z/d[2] > depth {
			continue
		}
		if c, a, ok := k.at(d); ok {
			col = c.add(col.scale(1 - a))
		}
	}
	return col
}

// solid finds the nearest surface along d and shades it.
func (s *scene) solid(d [3]float64) (rgb, float64) {
	best := math.Inf(1)
	var shade func(p [3]float64) rgb
	try := func(t float64, ok bool, f func(p [3]float64) rgb) {
		if ok && t > 1e-6 && t < best {
			best, shade = t, f
		}
	}
	at := func(t float64) [3]float64 { return [3]float64{d[0] * t, eyeY + d[1]*t, d[2] * t} }
	// Horizontal surfaces: floor, ceiling, counter tops.
	if d[1] < 0 {
		t := -eyeY / d[1]
		try(t, true, func(p [3]float64) rgb { return floor(p) })
		t = (barTopY - eyeY) / d[1]
		p := at(t)
		try(t, p[2] >= barNear && p[2] <= barFar, func(p [3]float64) rgb { return barWood(p, 0) })
		t = (cabTopY - eyeY) / d[1]
		p = at(t)
		try(t, p[2] >= cabZ && p[2] <= frontZ, func(p [3]float64) rgb { return barWood(p, 1) })
		t = (ledgeY - eyeY) / d[1]
		p = at(t)
		onLedge := math.Abs(p[0]) >= roomX-ledgeD && p[2] < barNear ||
			p[2] <= backZ+ledgeD && math.Abs(p[0]) > doorW+0.15
		try(t, onLedge, func(p [3]float64) rgb { return barWood(p, 2) })
	} else if d[1] > 0 {
		try((ceilY-eyeY)/d[1], true, ceiling)
	}
	// Vertical faces: counter fronts, then the walls.
	if d[2] > 0 {
		t := barNear / d[2]
		try(t, at(t)[1] <= barTopY, func(p [3]float64) rgb { return panelFace(p, p[0]) })
		t = cabZ / d[2]
		try(t, at(t)[1] <= cabTopY, func(p [3]float64) rgb { return panelFace(p, p[0]+0.37) })
		t = frontZ / d[2]
		try(t, true, func(p [3]float64) rgb { return s.wall(s.front, p, p[0]+roomX, [3]float64{0, 0, -1}) })
	} else if d[2] < 0 {
		t := (backZ + ledgeD) / d[2]
		p := at(t)
		try(t, p[1] <= ledgeY && math.Abs(p[0]) > doorW+0.15, func(p [3]float64) rgb { return panelFace(p, p[0]) })
		t = backZ / d[2]
		try(t, true, func(p [3]float64) rgb { return s.wall(s.back, p, roomX-p[0], [3]float64{0, 0, 1}) })
	}
	if d[0] != 0 {
		side := math.Copysign(1, d[0])
		t := side * (roomX - ledgeD) / d[0]
		p := at(t)
		try(t, p[1] <= ledgeY && p[2] < barNear, func(p [3]float64) rgb { return panelFace(p, p[2]) })
		t = side * roomX / d[0]
		if side > 0 {
			try(t, true, func(p [3]float64) rgb { return s.wall(s.right, p, frontZ-p[2], [3]float64{-1, 0, 0}) })
		} else {
			try(t, true, func(p [3]float64) rgb { return s.wall(s.left, p, p[2]-backZ, [3]float64{1, 0, 0}) })
		}
	}
	return shade(at(best)), best
}

// light is how much lamp light falls on a surface at p with normal n.
func light(p, n [3]float64) float64 {
	sum := 0.22 // light bounced about the room
	for _, l := range lamps {
		v := [3]float64{l[0] - p[0], l[1] - p[1], l[2] - p[2]}
		d2 := v[0]*v[0] + v[1]*v[1] + v[2]*v[2]
		cos := (v[0]*n[0] + v[1]*n[1] + v[2]*n[2]) / math.Sqrt(d2)
		if cos > 0 {
			sum += 1.1 * cos / (d2 + 0.3)
		}
	}
	return sum
}

func (s *scene) wall(w *wallTex, p [3]float64, along float64, n [3]float64) rgb {
	x, y := w.px(along, p[1])
	return w.albedo.sample(x, y).scale(light(p, n)).add(w.glow.sample(x, y))
}

func floor(p [3]float64) rgb {
	plank := math.Floor(p[0] / 0.16)
	g := fbm(p[0]*3+hash2(int(plank), 0, 41)*20, p[2]*0.6, 3, 43)
	col := hex(0x3a2212).mix(hex(0x6a4226), g)
	f := p[0]/0.16 - plank
	col = col.scale(0.6 + 0.4*smooth(math.Min(f, 1-f)*20))
	return col.scale(light(p, [3]float64{0, 1, 0}))
}

func ceiling(p [3]float64) rgb {
	col := hex(0x2a1a10).mix(hex(0x3e281a), fbm(p[0]*2, p[2]*2, 3, 47))
	if f := math.Mod(p[2]+10, 1.2); f < 0.22 { // beams across the room
		col = hex(0x1c110a).mix(hex(0x4a3020), fbm(p[0]*4, f*10, 2, 49))
	}
	return col.scale(light(p, [3]float64{0, -1, 0}))
}

// barWood is varnished dark wood; kind picks a slightly different wood
// for the bar, the back bar and the ledge.
func barWood(p [3]float64, kind int) rgb {
	g := fbm(p[0]*1.5, p[2]*12+float64(kind)*7, 4, 51+uint32(kind))
	col := hex(0x3a1c0c).mix(hex(0x7a4420), g)
	lit := light(p, [3]float64{0, 1, 0})
	col = col.scale(lit)
	// The varnish mirrors the lamps above the bar as soft streaks.
	for _, l := range lamps[:3] {
		col = col.add(hex(0xffb060).scale(0.35 * math.Exp(-sq((p[0]-l[0])/0.18)-sq((p[2]-l[2])/0.12))))
	}
	return col
}

// panelFace is the panelled front of a counter, with a brass foot rail on
// the bar; along is the position along the face.
func panelFace(p [3]float64, along float64) rgb {
	col := hex(0x2e180c).mix(hex(0x4a2812), fbm(along*3, p[1]*3, 3, 53))
	f := math.Mod(along+20, 0.6)
	col = col.scale(0.55 + 0.45*smooth(math.Min(f, 0.6-f)*80))
	if math.Abs(p[1]-0.25) < 0.025 && math.Abs(p[2]-barNear) < 0.01 {
		col = hex(0x8a6420).mix(hex(0xf0c870), smooth((0.265-p[1])/0.04))
	}
	n := [3]float64{0, 0, -1}
	switch {
	case p[2] < backZ+ledgeD+0.01:
		n = [3]float64{0, 0, 1}
	case math.Abs(p[0]) > roomX-ledgeD-0.01 && p[2] < barNear-0.01:
		n = [3]float64{-math.Copysign(1, p[0]), 0, 0}
	}
	return col.scale(light(p, n))
}

// frontWall is the back bar: a lit panel with three shelves of bottles and
// the neon sign above them.
func frontWall() *wallTex {
	w := newWallTex(2*roomX, 300)
	paintWall(w, hex(0x2a180c), hex(0x4a2c16), 61)
	x0, _ := w.px(0.5, 0)
	x1, _ := w.px(2*roomX-0.5, 0)
	_, top := w.px(0, 2.45)
	_, bot := w.px(0, cabTopY)
	w.albedo.fill(rect(x0, top, x1, bot), 1, solid(hex(0x3a2010)))
	var shelfY []float64
	for _, y := range []float64{1.0, 1.45, 1.9} {
		_, py := w.px(0, y)
		shelfY = append(shelfY, py)
	}
	// Strip lights under each shelf wash the panel and the bottles.
	w.glow.span(x0, top, x1, bot, 0, func(i int, x, y float64) {
		g := 0.0
		for _, sy := range shelfY {
			if y < sy {
				g = math.Exp(-(sy - y) / 45)
				break
			}
		}
		w.glow.px[i] = hex(0xffa040).scale(0.45 * g * (0.6 + 0.4*math.Exp(-sq((x-(x0+x1)/2)/900))))
	})
	shelves(w, x0+20, x1-20, shelfY, 404)
	// The neon sign, glowing in the glow texture only.
	const h = 110.0
	tw := textWidth("BAR", h, 0.45)
	cx, _ := w.px(roomX, 0)
	_, sy := w.px(0, 2.82)
	w.albedo.fill(roundRect(cx-tw/2-40, sy-25, cx+tw/2+40, sy+h+25, 10), 1, solid(hex(0x140c08)))
	sign := text("BAR", cx-tw/2, sy, h, 7, 0.45)
	w.glow.light(sign, 60, solid(hex(0xff5a28).scale(0.3)))
	w.glow.light(sign, 14, solid(hex(0xff6a30).scale(0.6)))
	w.glow.fill(sign, 1, solid(hex(0xffd6b8).scale(1.2)))
	return w
}

// paintWall gives a wall its base of dark wood panelling.
func paintWall(w *wallTex, a, b rgb, seed uint32) {
	c := w.albedo
	c.span(0, 0, float64(c.W), float64(c.H), 0, func(i int, x, y float64) {
		col := a.mix(b, fbm(x*0.01, y*0.002, 3, seed))
		if f := math.Mod(x, 0.5*w.ppm); f < 3 { // panel joints
			col = col.scale(0.6)
		}
		c.px[i] = col
	})
}

// shelves stands rows of bottles on boards at the given picture rows.
func shelves(w *wallTex, x0, x1 float64, rows []float64, seed uint64) {
	r := newRNG(seed)
	for _, sy := range rows {
		for x := x0; x < x1; {
			b := randomBottle(r)
			if x+b.bw*2 > x1 {
				break
			}
			shelfBottle(w.albedo, x+b.bw, sy, b)
			x += 2*b.bw + r.rangef(3, 14)
		}
		w.albedo.fill(rect(x0-20, sy, x1+20, sy+10), 1, func(x, y float64) (rgb, float64) {
			return hex(0x6a4020).mix(hex(0x2a170a), (y-sy)/10), 1
		})
		w.glow.light(rect(x0-20, sy, x1+20, sy+2), 1, solid(hex(0xffc080).scale(0.3)))
	}
}

// rightWall holds a rack of wine bottles lying down and a clock.
func rightWall() *wallTex {
	w := newWallTex(frontZ-backZ, 200)
	paintWall(w, hex(0x3a2414), hex(0x583820), 63)
	x0, top := w.px(0.8, 2.4)
	x1, bot := w.px(3.6, 1.25)
	w.albedo.fill(rect(x0, top, x1, bot), 1, solid(hex(0x24140a)))
	r := newRNG(505)
	wines := []uint32{0x2a0a10, 0x1c2a12, 0x3a0c0c, 0x141414}
	for y := top + 14; y < bot-10; y += 26 {
		for x := x0 + 14; x < x1-10; x += 26 {
			col := hex(wines[int(r.float()*float64(len(wines)))])
			w.albedo.fill(circle(x, y, 11), 1, func(px, py float64) (rgb, float64) {
				return col.add(hex(0x806040).scale(0.3 * math.Exp(-sq((px-x+4)/4)-sq((py-y+4)/4)))), 1
			})
			if r.float() < 0.5 {
				w.albedo.fill(circle(x, y, 4), 1, solid(hex(0xc8a050)))
			}
		}
	}
	cx, cy := w.px(4.8, 2.1)
	w.albedo.fill(circle(cx, cy, 36), 1, solid(hex(0x1a1208)))
	w.albedo.fill(circle(cx, cy, 31), 1, solid(hex(0xeee4cc)))
	for k := 0; k < 12; k++ {
		a := float64(k) * math.Pi / 6
		w.albedo.fill(capsule(cx+26*math.Cos(a), cy+26*math.Sin(a), cx+29*math.Cos(a), cy+29*math.Sin(a), 1.2), 1, solid(hex(0x222222)))
	}
	w.albedo.fill(capsule(cx, cy, cx+14, cy-10, 2), 1, solid(hex(0x222222)))
	w.albedo.fill(capsule(cx, cy, cx-4, cy-24, 1.5), 1, solid(hex(0x222222)))
	return w
}

// backWall has the door, the room's one cool light: a cold white window
// with a blue OPEN sign in it.
func backWall() *wallTex {
	w := newWallTex(2*roomX, 200)
	paintWall(w, hex(0x3a2414), hex(0x583820), 65)
	x0, top := w.px(roomX-doorW, doorH)
	x1, bot := w.px(roomX+doorW, 0)
	w.albedo.fill(rect(x0-14, top-14, x1+14, bot), 1, solid(hex(0x1a0e06)))
	w.albedo.fill(rect(x0, top, x1, bot), 1, func(x, y float64) (rgb, float64) {
		return hex(0x4a2a14).mix(hex(0x6a3e1e), fbm(x*0.05, y*0.004, 3, 67)), 1
	})
	wx0, wy0 := x0+28, top+30
	wx1, wy1 := x1-28, top+(bot-top)*0.5
	w.albedo.fill(rect(wx0, wy0, wx1, wy1), 1, solid(hex(0x000000)))
	w.glow.fill(rect(wx0, wy0, wx1, wy1), 1, func(x, y float64) (rgb, float64) {
		// Daylight outside: a blue sky over a street.
		return hex(0x9cc4ff).mix(hex(0x5a7ab8), smooth((y-wy0)/(wy1-wy0))), 1
	})
	sh := (wy1 - wy0) * 0.16
	sw := textWidth("OPEN", sh, 0.3)
	sx, sy := (wx0+wx1)/2-sw/2, wy0+(wy1-wy0)*0.55
	sign := text("OPEN", sx, sy, sh, 2.2, 0.3)
	w.glow.light(sign, 14, solid(hex(0x2060ff).scale(0.5)))
	w.glow.fill(sign, 1, solid(hex(0xd0e4ff).scale(1.3)))
	w.albedo.fill(roundRect(x0+20, top+(bot-top)*0.55, x1-20, top+(bot-top)*0.55+10, 5), 1, solid(hex(0xb0b0b8)))
	// Posters either side.
	for _, px := range []float64{1.4, 2*roomX - 1.4} {
		cx, cy := w.px(px, 1.7)
		w.albedo.fill(rect(cx-50, cy-70, cx+50, cy+70), 1, solid(hex(0x141010)))
		w.albedo.fill(rect(cx-44, cy-64, cx+44, cy+64), 1, solid(hex(0xb03a20).mix(hex(0xe0b040), px/(2*roomX))))
	}
	return w
}

// leftWall has a dartboard and a chalk board.
func leftWall() *wallTex {
	w := newWallTex(frontZ-backZ, 200)
	paintWall(w, hex(0x3a2414), hex(0x583820), 69)
	cx, cy := w.px(2.0, 1.75)
	w.albedo.fill(circle(cx, cy, 50), 1, solid(hex(0x151515)))
	for k := 0; k < 20; k++ {
		a0 := float64(k) * math.Pi / 10
		col := hex(0x1a1a1a)
		if k%2 == 0 {
			col = hex(0xe8dcc0)
		}
		ring := hex(0xb01818)
		if k%2 == 0 {
			ring = hex(0x107030)
		}
		wedge := intersect(circle(cx, cy, 40), poly(cx, cy, cx+60*math.Cos(a0), cy+60*math.Sin(a0), cx+60*math.Cos(a0+math.Pi/10), cy+60*math.Sin(a0+math.Pi/10)))
		w.albedo.fill(wedge, 1, solid(col))
		w.albedo.fill(intersect(wedge, subtract(circle(cx, cy, 40), circle(cx, cy, 36))), 1, solid(ring))
		w.albedo.fill(intersect(wedge, subtract(circle(cx, cy, 25), circle(cx, cy, 22))), 1, solid(ring))
	}
	w.albedo.fill(circle(cx, cy, 4), 1, solid(hex(0xb01818)))
	bx, by := w.px(3.6, 2.2)
	w.albedo.fill(rect(bx, by, bx+260, by+170), 1, solid(hex(0x5a3a1a)))
	w.albedo.fill(rect(bx+8, by+8, bx+252, by+162), 1, solid(hex(0x1c221e)))
	for i, word := range []string{"BEER", "PORTER", "LAGER"} {
		w.albedo.fill(text(word, bx+24, by+22+float64(i)*46, 30, 2, 0.3), 1, solid(hex(0xd8d8d0)))
	}
	return w
}

// pendant is a lamp shade hanging on its cord, its bulb glowing; the shade's
// bottom is at (cx, bottom) in the card's pixels.
func pendant(c *canvas, cx, bottom, ppm float64) {
	c.fill(capsule(cx, 0, cx, bottom-0.12*ppm, 0.004*ppm), 1, solid(hex(0x0c0806)))
	r0, r1, h := 0.03*ppm, 0.12*ppm, 0.12*ppm
	c.fill(poly(cx-r0, bottom-h, cx+r0, bottom-h, cx+r1, bottom, cx-r1, bottom), 1, func(x, y float64) (rgb, float64) {
		return hex(0x1a2a1a).mix(hex(0x3a5a3a), smooth(0.5-(x-cx)/(r1*2))), 1
	})
	c.fill(ellipse(cx, bottom, r1, 0.015*ppm), 1, solid(hex(0xfff0d0).scale(1.6)))
	c.glow(cx, bottom+0.01*ppm, 0.05*ppm, hex(0xffd090), 1.2)
}

// tapTower is a chrome beer tower with three handles, standing on the
// counter at (cx, base) in the card's pixels.
func tapTower(c *canvas, cx, base, ppm float64) {
	m := func(v float64) float64 { return v * ppm }
	chrome := func(x0, x1 float64) paint {
		return func(x, y float64) (rgb, float64) {
			t := clamp((x-(x0+x1)/2)/((x1-x0)/2), -1, 1)
			col := hex(0x3a3a3e).mix(hex(0xe8e8ee), cyl(t))
			col = col.add(hex(0xffffff).scale(0.6 * math.Exp(-sq((t+0.45)/0.12))))
			return col.add(hex(0xff9a40).scale(0.15 * math.Exp(-sq((t-0.7)/0.2)))), 1
		}
	}
	c.fill(ellipse(cx, base, m(0.16), m(0.02)), 1, solid(hex(0x222226))) // drip tray
	top := base - m(0.36)
	c.fill(rect(cx-m(0.035), top, cx+m(0.035), base), 1, chrome(cx-m(0.035), cx+m(0.035)))
	c.fill(roundRect(cx-m(0.19), top-m(0.03), cx+m(0.19), top+m(0.03), m(0.025)), 1, chrome(cx-m(0.19), cx+m(0.19)))
	handles := []uint32{0x151515, 0x8c1a17, 0x1f4a22}
	for k, hx := range []float64{cx - m(0.13), cx, cx + m(0.13)} {
		c.fill(rect(hx-m(0.01), top+m(0.03), hx+m(0.01), top+m(0.08)), 1, chrome(hx-m(0.01), hx+m(0.01)))
		col := hex(handles[k])
		c.fill(roundRect(hx-m(0.018), top-m(0.2), hx+m(0.018), top-m(0.03), m(0.012)), 1, func(x, y float64) (rgb, float64) {
			t := clamp((x-hx)/m(0.018), -1, 1)
			return col.scale(0.4 + 0.9*cyl(t)).add(hex(0xffffff).scale(0.3 * math.Exp(-sq((t+0.5)/0.15)))), 1
		})
	}
}

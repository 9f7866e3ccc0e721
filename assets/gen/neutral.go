package main

import "math"

// The neutral scene: a calm lake at a warm, hazy hour. It is shown at
// baseline and recovery, so it holds nothing that hints at drinking.

const horizon = 412.0

func skyColor(y float64) rgb {
	return grad(y/horizon, hex(0x4c7fbe), hex(0x79a6d8), hex(0xa9c8e6), hex(0xdcdfe0), hex(0xf6d8b4))
}

func farHills(x float64) float64 {
	return 352 - 46*fbm(x*0.0035, 1.5, 4, 11) - 22*math.Sin(x*0.0042+1.3)
}

func midHills(x float64) float64 {
	return 392 - 34*fbm(x*0.005+7, 2.5, 4, 23) - 12*math.Sin(x*0.0065+0.4) + 8*math.Cos(x*0.002)
}

func treeLine(x float64) float64 {
	return horizon - 4 - 9*fbm(x*0.045, 3.5, 3, 37) - 5*smooth(fbm(x*0.006, 9, 2, 41)*2-0.6)
}

func bankTop(x float64) float64 {
	// High on the left, dipping under the water, rising again at the right.
	left := 548 + 150*smooth(x/980) + 14*math.Sin(x*0.011) - 10*fbm(x*0.02, 4, 3, 53)
	right := 735 - 115*smooth((x-930)/350) - 8*fbm(x*0.02, 6, 3, 57)
	return math.Min(left, right)
}

func drawNeutral() *canvas {
	c := newCanvas(1280, 720)
	sunX, sunY := 905.0, 312.0

	// Sky with soft clouds lit warm from below.
	c.span(0, 0, 1280, horizon+2, 0, func(i int, x, y float64) {
		col := skyColor(y)
		n := fbm(x*0.0028+3, y*0.011, 5, 5)
		band := smooth(1-math.Abs(y-170)/150) * 0.8
		a := smooth((n-0.5)*4) * band
		cloud := hex(0xfdf6ef).mix(hex(0xf1c9b5), smooth((y-120)/180))
		c.px[i] = col.mix(cloud, a*0.75)
	})
	c.fill(circle(sunX, sunY, 24), 3, solid(hex(0xfff6e2)))
	c.glow(sunX, sunY, 210, hex(0xffd7a0), 0.35)
	c.glow(sunX, sunY, 60, hex(0xfff0d0), 0.6)

	// Two birds far off.
	for _, b := range [][3]float64{{360, 150, 9}, {392, 168, 7}} {
		x, y, s := b[0], b[1], b[2]
		c.fill(union(capsule(x-s, y-s*0.35, x, y, 1.1), capsule(x, y, x+s, y-s*0.4, 1.1)), 1, solid(hex(0x4a5868)))
	}

	// Hills, each hazier with distance.
	haze := hex(0xe6dcd2)
	c.fill(below(farHills, 0, 1280, 280, horizon+1), 1, func(x, y float64) (rgb, float64) {
		return hex(0x7f9bc2).mix(haze, 0.35+0.4*smooth((y-300)/110)), 1
	})
	c.fill(below(midHills, 0, 1280, 340, horizon+1), 1, func(x, y float64) (rgb, float64) {
		lit := fbm(x*0.01, y*0.02, 3, 29)
		base := hex(0x5f8a82).mix(hex(0x7ea08c), lit*0.6)
		return base.mix(haze, 0.15+0.35*smooth((y-370)/45)), 1
	})
	c.fill(below(treeLine, 0, 1280, 380, horizon+1), 1, func(x, y float64) (rgb, float64) {
		return hex(0x3d5f4f).mix(hex(0x56786a), fbm(x*0.05, y*0.1, 2, 31)*0.5), 1
	})

	// Water: the sky and hills mirrored, broken by ripples.
	c.span(0, horizon, 1280, 720, 0, func(i int, x, y float64) {
		dy := y - horizon
		wob := (2 + dy*0.04) * math.Sin(y*0.35+math.Sin(x*0.01)) * smooth(dy/60)
		mx := x + wob
		my := horizon - dy*1.05
		col := skyColor(math.Max(my, 0)).scale(0.82)
		switch {
		case my > treeLine(mx):
			col = hex(0x33503f).mix(col, 0.35)
		case my > midHills(mx):
			col = hex(0x55786f).mix(col, 0.45)
		case my > farHills(mx):
			col = hex(0x7890b0).mix(col, 0.65)
		}
		deep := hex(0x2f5878)
		col = col.mix(deep, 0.35*smooth(dy/300))
		rip := 0.05 * math.Sin(dy*dy*0.004+fbm(x*0.01, y*0.1, 2, 3)*6)
		c.px[i] = col.scale(1 + rip)
	})
	// The sun's path on the water: short glints, fewer further down.
	r := newRNG(7)
	for k := 0; k < 90; k++ {
		y := horizon + 3 + math.Pow(r.float(), 1.6)*200
		spread := 10 + (y-horizon)*0.35
		x := sunX + r.norm()*spread*0.45
		l := r.rangef(6, 20) * (0.6 + (y-horizon)/150)
		c.light(capsule(x-l, y, x+l, y, 0.9), 1, solid(hex(0xffe2b0).scale(0.7*(1-(y-horizon)/240))))
	}
	// A bright line where the far shore meets the water.
	c.light(rect(0, horizon-0.5, 1280, horizon+1.5), 1, solid(hex(0xfff2dc).scale(0.12)))

	// Grassy bank in the foreground with a few trees.
	c.fill(below(bankTop, 0, 1280, 520, 720), 1.5, func(x, y float64) (rgb, float64) {
		d := y - bankTop(x)
		n := fbm(x*0.012, y*0.03, 4, 61)
		col := hex(0x7aa652).mix(hex(0x4f7f3a), n)
		col = col.mix(hex(0x37602c), smooth(d/160)*0.7)
		return col, 1
	})
	c.light(below(bankTop, 0, 1280, 520, 720), 1, func(x, y float64) (rgb, float64) {
		d := y - bankTop(x)
		return hex(0xffe8b0), 0.18 * math.Exp(-d/3)
	})
	for _, t := range [][3]float64{{150, 0, 1.0}, {228, 0, 0.78}, {88, 0, 0.62}} {
		x := t[0]
		conifer(c, x, bankTop(x)+6, t[2])
	}
	roundTree(c, 1190, bankTop(1190)+8, 0.75)
	c.vignette(0.22)
	return c
}

// conifer draws a fir tree standing at (x, base), s = scale.
func conifer(c *canvas, x, base, s float64) {
	c.fill(ellipse(x+18*s, base+2, 46*s, 7*s), 8, func(float64, float64) (rgb, float64) { return rgb{}, 0.25 })
	c.fill(rect(x-4*s, base-40*s, x+4*s, base+2), 1, solid(hex(0x4a3422)))
	for k := 0; k < 5; k++ {
		top := base - 230*s + float64(k)*38*s
		w := (26 + float64(k)*11) * s
		bot := top + 70*s
		c.fill(poly(x, top, x+w, bot, x+w*0.4, bot-6*s, x, bot+2*s, x-w*0.4, bot-6*s, x-w, bot), 1,
			func(px, py float64) (rgb, float64) {
				lit := smooth(0.5 - (px-x)/(w*1.6))
				return hex(0x24452c).mix(hex(0x4f7a44), lit*0.8), 1
			})
	}
}

// roundTree draws a leafy tree whose crown is a cluster of shaded balls.
func roundTree(c *canvas, x, base, s float64) {
	c.fill(rect(x-7*s, base-150*s, x+7*s, base), 1, solid(hex(0x4d3826)))
	r := newRNG(uint64(x))
	for k := 0; k < 14; k++ {
		bx := x + r.norm()*45*s
		by := base - 190*s + r.norm()*40*s
		br := r.rangef(32, 52) * s
		c.fill(circle(bx, by, br), 1.2, func(px, py float64) (rgb, float64) {
			lit := smooth(0.5 - ((px-bx)+(py-by))/(br*2.2))
			n := fbm(px*0.08, py*0.08, 2, 71)
			return hex(0x2e5530).mix(hex(0x6a9a4e), lit*0.85).scale(0.9 + 0.2*n), 1
		})
	}
}

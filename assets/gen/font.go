package main

import "math"

// A tiny stroke font for the few words on labels and the bar sign: each
// letter is polylines in a box 0.6 wide and 1 high, y down.
var glyphs = map[rune][][]float64{
	'A': {{0, 1, 0.3, 0, 0.6, 1}, {0.1, 0.66, 0.5, 0.66}},
	'B': {{0, 0, 0, 1}, append(append([]float64{0, 0}, arc(0.28, 0.25, 0.25, 90, -90, 0.28, 0.5)...), 0, 0.5), append(append([]float64{0, 0.5}, arc(0.3, 0.75, 0.25, 90, -90, 0.3, 1)...), 0, 1)},
	'E': {{0.55, 0, 0, 0, 0, 1, 0.55, 1}, {0, 0.5, 0.45, 0.5}},
	'G': {append(arcXY(0.3, 0.5, 0.3, 0.5, 40, 320), 0.6, 0.55, 0.35, 0.55)},
	'L': {{0, 0, 0, 1, 0.55, 1}},
	'N': {{0, 1, 0, 0, 0.6, 1, 0.6, 0}},
	'O': {arcXY(0.3, 0.5, 0.3, 0.5, 0, -360)},
	'P': {append([]float64{0, 1, 0, 0}, append(arc(0.3, 0.27, 0.27, 90, -90, 0.3, 0.54), 0, 0.54)...)},
	'R': {append([]float64{0, 1, 0, 0}, append(arc(0.3, 0.27, 0.27, 90, -90, 0.3, 0.54), 0, 0.54)...), {0.28, 0.54, 0.6, 1}},
	'S': {append(arcXY(0.3, 0.25, 0.28, 0.25, 20, 270), arcXY(0.3, 0.75, 0.28, 0.25, 90, -160)...)},
	'T': {{0, 0, 0.6, 0}, {0.3, 0, 0.3, 1}},
	' ': {},
}

// arc draws a half circle bulging right from (cx, cy-r) to (cx, cy+r) and
// then continues to (ex, ey); the angles are in degrees, 90 = up.
func arc(cx, cy, r, from, to, ex, ey float64) []float64 {
	pts := arcXY(cx, cy, r, r, from, to)
	return append(pts, ex, ey)
}

// arcXY is an elliptic arc from angle from to angle to (degrees, 0 = right,
// 90 = up, negative = clockwise on screen).
func arcXY(cx, cy, rx, ry, from, to float64) []float64 {
	const n = 16
	var pts []float64
	for i := 0; i <= n; i++ {
		a := (from + (to-from)*float64(i)/n) * math.Pi / 180
		pts = append(pts, cx+rx*math.Cos(a), cy-ry*math.Sin(a))
	}
	return pts
}

// text returns the strokes of s as one shape: letters of height h, stroke
// half-width r, starting at (x, y) top-left, spaced by track (in h).
func text(s string, x, y, h, r, track float64) shape {
	var segs [][4]float64
	cx := x
	for _, ch := range s {
		for _, line := range glyphs[ch] {
			for i := 0; i+3 < len(line); i += 2 {
				segs = append(segs, [4]float64{cx + line[i]*h, y + line[i+1]*h, cx + line[i+2]*h, y + line[i+3]*h})
			}
		}
		cx += (0.6 + track) * h
	}
	return shape{func(px, py float64) float64 {
		d := math.Inf(1)
		for _, sg := range segs {
			d = math.Min(d, segDist(px, py, sg[0], sg[1], sg[2], sg[3]))
		}
		return d - r
	}, x - r, y - r, cx + r, y + h + r}
}

// textWidth is how wide text draws s.
func textWidth(s string, h, track float64) float64 {
	n := float64(len([]rune(s)))
	return n*(0.6+track)*h - track*h
}

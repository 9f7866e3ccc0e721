package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
)

// bar.mpg is the video cue: a glass of beer filled at the tap, in close-up,
// with the pour heard over the bar's murmur. Frames are drawn here; ffmpeg
// encodes them as MPEG-1 video with MP2 sound, the one format the player
// (engine/video) reads.
//
// Timeline: the empty glass stands under the tap; at pourStart the tap
// opens and the beer rises with a growing head for pourLen (the length of
// synthPour's stream, so picture and sound agree); then the stream stops,
// the head settles and the glass mists over.

const (
	vidW, vidH = 854, 480
	vidFPS     = 25
	vidSecs    = 8
	pourStart  = 1.0
	pourLen    = 3.2 // synthPour's pourEnd

	glassX     = 427.0 // the glass's axis in the picture
	glassBase  = 452.0
	glassScale = 0.82 // pint units: the glass is 400·glassScale pixels tall
	nozzleY    = 58.0 // where the beer leaves the tap
)

// errNoFFmpeg says ffmpeg could not be run; the existing bar.mpg is kept.
var errNoFFmpeg = errors.New("ffmpeg not found: install it (apt-get install ffmpeg) to remake the video")

// ffmpegArgs encodes raw RGB frames from stdin and a WAV file: MPEG-1 video
// with MP2 sound at the player's 48 kHz, single-threaded and bit-exact so
// the same ffmpeg gives the same file.
func ffmpegArgs(wav, out string) []string {
	return []string{
		"-hide_banner", "-loglevel", "error", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", vidW, vidH), "-r", fmt.Sprint(vidFPS), "-i", "pipe:0",
		"-i", wav,
		"-c:v", "mpeg1video", "-q:v", "5", "-g", "12", "-bf", "2",
		"-c:a", "mp2", "-b:a", "128k", "-ar", "48000", "-ac", "1",
		"-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
		"-f", "mpeg", out,
	}
}

// makeBarVideo draws every frame, synthesises the sound and has ffmpeg
// encode them.
func makeBarVideo() ([]byte, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, errNoFFmpeg
	}
	dir, err := os.MkdirTemp("", "cueroom-gen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	wav, out := filepath.Join(dir, "sound.wav"), filepath.Join(dir, "bar.mpg")
	if err := os.WriteFile(wav, encodeWAV(synthVideoSound(), sampleRate), 0o644); err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, ffmpegArgs(wav, out)...)
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	werr := writeFrames(stdin)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("ffmpeg: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	if werr != nil {
		return nil, werr
	}
	return os.ReadFile(out)
}

func writeFrames(w io.Writer) error {
	bg := videoBackground()
	frame := newCanvas(vidW, vidH)
	buf := make([]byte, vidW*vidH*3)
	for i := 0; i < vidSecs*vidFPS; i++ {
		drawVideoFrame(frame, bg, float64(i)/vidFPS)
		toRGB24(buf, frame)
		if _, err := w.Write(buf); err != nil {
			return fmt.Errorf("writing frame %d to ffmpeg: %w", i, err)
		}
	}
	return nil
}

// toRGB24 converts a canvas to packed 8-bit sRGB, as canvas.image does.
func toRGB24(dst []byte, c *canvas) {
	for i, p := range c.px {
		dst[3*i] = uint8(math.Floor(unlin(p.R)*255 + 0.5))
		dst[3*i+1] = uint8(math.Floor(unlin(p.G)*255 + 0.5))
		dst[3*i+2] = uint8(math.Floor(unlin(p.B)*255 + 0.5))
	}
}

// synthVideoSound is the video's sound track: the bar's murmur throughout,
// the pour from pourStart.
func synthVideoSound() []float64 {
	s := make([]float64, secs(vidSecs))
	for i, v := range synthBar() {
		if i < len(s) {
			s[i] = 0.3 * v
		}
	}
	at := secs(pourStart)
	for i, v := range synthPour() {
		if at+i < len(s) {
			s[at+i] += 0.8 * v
		}
	}
	fadeEnds(s, 0.05, 0.3)
	return normalize(s, -3)
}

// pourState is the glass at time t: how high the beer and the top of the
// head stand (in pint units above the base) and how strongly it pours.
func pourState(t float64) (level, foamTop, stream float64) {
	x := clamp((t-pourStart)/pourLen, 0, 1)
	// The glass widens upwards, so the level climbs more slowly as it fills.
	level = 22 + 290*math.Pow(x, 0.85)
	foam := 4 + 48*smooth(x*1.3)
	if t > pourStart+pourLen { // the head settles: some foam turns to beer
		k := 1 - math.Exp(-(t-pourStart-pourLen)/1.2)
		level += 6 * k
		foam -= 14 * k
	}
	stream = smooth((t-pourStart)/0.12) * (1 - smooth((t-pourStart-pourLen)/0.2))
	if t < pourStart {
		foam = 0
	}
	return level, level + foam, stream
}

// videoBackground is the bar behind the glass, out of focus: lit shelves
// of bottles as soft shapes and bokeh, the counter top below.
func videoBackground() *canvas {
	c := newCanvas(vidW, vidH)
	const top = 372.0 // the counter's far edge
	c.span(0, 0, vidW, top, 0, func(i int, x, y float64) {
		col := hex(0x1e120a).mix(hex(0x3a2414), fbm(x*0.006, y*0.02, 3, 301))
		col = col.add(hex(0xc2702a).scale(0.3 * math.Exp(-sq((x-430)/420)-sq((y-190)/170))))
		c.px[i] = col
	})
	r := newRNG(303)
	glasses := []uint32{0x1f4a22, 0x4a220a, 0x9a4e10, 0xa8b8b0, 0x6a1420, 0xb06a18}
	for _, sy := range []float64{150, 300} {
		c.light(rect(0, sy-70, vidW, sy), 30, solid(hex(0xffa040).scale(0.12)))
		for x := r.rangef(0, 30); x < vidW+40; x += r.rangef(42, 70) {
			h, w := r.rangef(90, 130), r.rangef(16, 24)
			col := hex(glasses[int(r.float()*float64(len(glasses)))])
			c.fill(union(roundRect(x-w, sy-h*0.6, x+w, sy, 6), roundRect(x-w*0.35, sy-h, x+w*0.35, sy-h*0.5, 4)), 14,
				func(float64, float64) (rgb, float64) { return col.scale(1.4), 0.85 })
		}
		c.fill(rect(0, sy, vidW, sy+10), 8, solid(hex(0x5a3418)))
	}
	for k := 0; k < 18; k++ {
		x, y, rad := r.rangef(0, vidW), r.rangef(40, 340), r.rangef(10, 26)
		c.light(circle(x, y, rad), 4, solid(hex(0xffa040).mix(hex(0xffd090), r.float()).scale(r.rangef(0.04, 0.1))))
	}
	c.span(0, top, vidW, vidH, 0, func(i int, x, y float64) {
		col := hex(0x3a1c0c).mix(hex(0x6a3818), fbm(x*0.004, y*0.08, 3, 305))
		col = col.add(hex(0xffb060).scale(0.2 * math.Exp(-sq((x-glassX)/200)-sq((y-top-10)/20))))
		c.px[i] = col.scale(1 - 0.3*smooth((y-top)/110))
	})
	c.fill(rect(0, top-1, vidW, top+1.5), 1, solid(hex(0x1a0c04)))
	return c
}

// drawVideoFrame draws the frame at time t over the background.
func drawVideoFrame(c, bg *canvas, t float64) {
	copy(c.px, bg.px)
	level, foamTop, stream := pourState(t)
	fillingGlass(c, t, level, foamTop, stream)
	tapNozzle(c)
	c.vignette(0.3)
}

// tapNozzle is the chrome spout coming down from above the picture.
func tapNozzle(c *canvas) {
	x0, x1 := glassX-16, glassX+16
	chrome := func(x, y float64) (rgb, float64) {
		t := clamp((x-glassX)/16, -1, 1)
		col := hex(0x3a3a3e).mix(hex(0xe8e8ee), cyl(t))
		return col.add(hex(0xffffff).scale(0.6 * math.Exp(-sq((t+0.45)/0.12)))), 1
	}
	c.fill(roundRect(x0, -20, x1, nozzleY-14, 6), 1, chrome)
	c.fill(roundRect(glassX-9, nozzleY-20, glassX+9, nozzleY, 3), 1, chrome)
	c.fill(ellipse(glassX, nozzleY, 8, 2.5), 1, solid(hex(0x101010)))
}

// fillingGlass is the pint glass with beer up to level and foam up to
// foamTop (pint units), the stream falling into it with strength stream.
func fillingGlass(c *canvas, t, level, foamTop, stream float64) {
	const s, height = glassScale, 400.0
	cx, base := glassX, glassBase
	ry := 13 * s
	w := func(y float64) float64 {
		u := (base - y) / s
		return (60 + 26*clamp(u/height, 0, 1) + 4*math.Exp(-sq((u-345)/22))) * s
	}
	inner := func(y float64) float64 { return w(y) - 5*s }
	at := func(u float64) float64 { return base - u*s }
	tOf := func(x, y float64) float64 { return clamp((x-cx)/w(y), -1, 1) }

	shadow(c, cx+55*s, base+6*s, 130*s, 16*s, 30*s, 0.45)
	if level > 40 { // light through the beer glows on the counter
		c.glowXY(cx+80*s, base+8*s, 85*s, 12*s, hex(0xffa830), 0.2*smooth((level-40)/200))
	}
	whole := lathe(cx, at(height), base, w, 92*s, ry)
	c.fill(whole, 1, func(x, y float64) (rgb, float64) {
		return hex(0xfff8f0), 0.03 + 0.3*math.Pow(math.Abs(tOf(x, y)), 8)
	})

	// The beer, livelier and paler near the top while it pours.
	if level > 24 {
		beer := lathe(cx, at(level), at(22), inner, 92*s, ry)
		c.fill(beer, 1, func(x, y float64) (rgb, float64) {
			tt := clamp((x-cx)/inner(y), -1, 1)
			u := (base - y) / s
			col := hex(0x8a3e04).mix(hex(0xe0921a), smooth(u/300)*0.6+0.4*math.Sqrt(1-tt*tt))
			col = col.add(hex(0xffb030).scale(0.25 * math.Exp(-sq((tt-0.35)/0.35))))
			churn := stream * math.Exp(-(level-u)/40)
			col = col.mix(hex(0xf0c070), 0.5*churn*(0.6+0.4*fbm(x*0.08, y*0.08+t*6, 2, 307)))
			return col.scale(0.7 + 0.45*cyl(tt)), 1
		})
		// Bubbles rising from fixed points, each at its own speed.
		r := newRNG(309)
		for k := 0; k < 40; k++ {
			t0 := r.rangef(-0.7, 0.7)
			speed := r.rangef(60, 140) * (1 + stream)
			phase := r.rangef(0, 400)
			for j := 0; j < 6; j++ {
				u := 26 + math.Mod(phase+float64(j)*67+t*speed, 400)
				if u > level-3 {
					continue
				}
				y := at(u)
				x := cx + t0*inner(y) + 2*s*math.Sin(t*7+float64(k))
				c.light(circle(x, y, (0.6+u/300)*s*1.4), 1, solid(hex(0xffe6a0).scale(0.35)))
			}
		}
	}

	// The head: a creamy band and its top seen as an ellipse.
	if foamTop > level+1 {
		foam := lathe(cx, at(foamTop), at(level-2), inner, 92*s, ry)
		c.fill(foam, 1.2, func(x, y float64) (rgb, float64) {
			tt := clamp((x-cx)/inner(y), -1, 1)
			u := (base - y) / s
			n := fbm(x*0.12, y*0.12+t*0.3, 3, 311)
			col := hex(0xe9d2a0).mix(hex(0xfdf6e6), smooth((u-level)/14)*0.8+n*0.2)
			return col.scale(0.6 + 0.5*cyl(tt)), 1
		})
		top := at(foamTop)
		c.fill(ellipse(cx, top, inner(top), ry), 1.2, func(x, y float64) (rgb, float64) {
			n := fbm(x*0.09, y*0.2+t*0.5, 3, 313)
			lit := smooth(0.6 - (x-cx)/(inner(top)*2.2))
			return hex(0xe8dcc4).mix(hex(0xfffcf4), lit*0.8+n*0.2), 1
		})
	} else if level > 24 {
		top := at(level)
		c.fill(ellipse(cx, top, inner(top), ry), 1, solid(hex(0xe0a040)))
	}

	// The stream from the tap into the glass, with a splash where it lands.
	if stream > 0.01 {
		land := at(math.Max(foamTop, level) - 4)
		wob := func(y float64) float64 { return 1.2 * math.Sin(y*0.09+t*40) }
		c.fill(shape{func(x, y float64) float64 {
			return math.Abs(x-cx-wob(y)) - 4.5*stream
		}, cx - 8, nozzleY, cx + 8, land}, 1, func(x, y float64) (rgb, float64) {
			tt := (x - cx - wob(y)) / 4.5
			col := hex(0xc06810).mix(hex(0xffc050), 0.5+0.5*math.Cos(tt*2))
			return col.add(hex(0xffffff).scale(0.4 * math.Exp(-sq((tt+0.4)/0.25)))), 0.9
		})
		c.light(ellipse(cx, land, 18*stream, 5*stream), 4, solid(hex(0xfff0d0).scale(0.5)))
	}

	// The glass base, then mist that gathers once the cold beer is in.
	foot := lathe(cx, at(22), base, w, 92*s, ry)
	full := smooth((level - 22) / 30) // the base shows the beer's colour
	c.fill(foot, 1, func(x, y float64) (rgb, float64) {
		u := (base - y) / s
		return hex(0xd8d4cc).mix(hex(0xd49a50), full).mix(hex(0xfff0d8), 1-u/22), 0.45
	})
	if mist := smooth((t - pourStart - 1) / 4); mist > 0 {
		r := newRNG(317)
		for k := 0; k < 160; k++ {
			u := r.rangef(28, 300)
			tt := r.rangef(-0.9, 0.9)
			rad := math.Pow(r.float(), 2.5)*4*s + 1.1*s
			if r.float() < mist && u < level-4 {
				y := at(u)
				drop(c, cx+tt*w(y), y, rad*math.Sqrt(1-tt*tt), rad*1.1, mist)
			}
		}
	}

	// Bright edges and the rim.
	c.light(whole, 1, func(x, y float64) (rgb, float64) {
		tt := tOf(x, y)
		a := 0.7*math.Exp(-sq((tt+0.62)/0.06)) + 0.2*math.Exp(-sq((tt+0.45)/0.03))
		a += 0.18*math.Exp(-sq((tt-0.85)/0.05)) + 0.25*math.Pow(math.Abs(tt), 12)
		return hex(0xffffff), a
	})
	rimW := w(at(height))
	c.light(subtract(ellipse(cx, at(height), rimW, ry), ellipse(cx, at(height), rimW-2.2*s, ry-1.6*s)), 1,
		func(x, y float64) (rgb, float64) {
			if y > at(height) {
				return hex(0xffffff), 0.55
			}
			return hex(0xffffff), 0.25
		})
}

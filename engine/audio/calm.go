package audio

import (
	"math"
	"time"

	"github.com/gopxl/beep/v2"
)

// The calm screen's sound: a soft surf, filtered noise whose loudness
// swells and ebbs with a slow breath (CalmBreathsPerMin, in for 40 % of
// each breath, out for 60 %, as the window's pacer), over a faint low hum.
// It is made here, sample by sample, so there is no file to ship, license
// or fail to load, and it never repeats audibly (the noise does not loop).

// CalmBreathsPerMin is the calm screen's breathing pace, the sound's and
// the pacer's.
const CalmBreathsPerMin = 6

// Levels of the calm sound, linear (1 is full scale): quiet, well below a
// cue's level, so it soothes rather than startles (about -26 dBFS RMS at
// the top of a breath, -35 at its bottom).
const (
	calmNoise = 0.22 // the surf at the top of a breath, before its filter
	calmHum   = 0.012
	calmFloor = 0.3 // the surf's loudness at empty lungs, of its top
)

// Calm returns the calm screen's sound: stereo at Rate, endless (stop it
// with Output.Stop). Two streams made by Calm are identical.
func Calm() beep.Streamer {
	return &calm{rng: [2]uint64{0x9E3779B97F4A7C15, 0xD1B54A32D192ED03}}
}

type calm struct {
	n   int64     // frames made so far
	rng [2]uint64 // a noise source per channel: a wide, soft stereo image
	lp  [2][3]float64
}

// Breath is the breathing shape at phase ph (0..1 of a breath): 0 with
// empty lungs, 1 with full ones; in over the first 40 %, out over the
// rest, eased at both ends.
func Breath(ph float64) float64 {
	if ph < 0.4 {
		return (1 - math.Cos(math.Pi*ph/0.4)) / 2
	}
	return (1 + math.Cos(math.Pi*(ph-0.4)/0.6)) / 2
}

func (c *calm) Stream(buf [][2]float64) (int, bool) {
	period := float64(Rate) * 60 / CalmBreathsPerMin
	// Three one-pole low-pass stages at about 400 Hz: a rumble of surf,
	// not a hiss.
	a := 1 - math.Exp(-2*math.Pi*400/float64(Rate))
	for i := range buf {
		ph := math.Mod(float64(c.n), period) / period
		env := calmFloor + (1-calmFloor)*Breath(ph)
		hum := calmHum * math.Sin(2*math.Pi*110*float64(c.n)/float64(Rate))
		for ch := range 2 {
			x := c.white(ch) * calmNoise
			for k := range c.lp[ch] {
				c.lp[ch][k] += a * (x - c.lp[ch][k])
				x = c.lp[ch][k]
			}
			// The filters take the noise's level down about fourfold:
			// made up here.
			buf[i][ch] = 4*x*env + hum
		}
		c.n++
	}
	return len(buf), true
}

func (c *calm) Err() error { return nil }

// white is uniform noise in -1..1 (xorshift64*: fast, and the same sound
// every time).
func (c *calm) white(ch int) float64 {
	x := c.rng[ch]
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	c.rng[ch] = x
	return float64(x*2685821657736338717>>11)/(1<<52) - 1
}

// CalmFadeIn is how the calm sound comes in: slowly enough not to startle,
// soon enough to be heard with the calm screen.
const CalmFadeIn = 2 * time.Second

// PlayCalm starts the calm screen's sound (Calm), fading in over
// CalmFadeIn; stop it with Stop (its fade out: 2 s, or Stop's own) when
// the calm screen goes. It is not a cue: it has no onset or offset.
func (o *Output) PlayCalm() *Voice {
	return o.PlayStream(Calm(), PlayOptions{FadeIn: CalmFadeIn, FadeOut: 2 * time.Second})
}

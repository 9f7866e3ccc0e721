package window

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/event/eventtest"
)

// The patient's screen at a clinic: crossfades, the caption band, the
// rating scale above it, text laid out per eye, the calm screen's pacer,
// video ends, the pointer, the Esc reminder and the rating marker.

func isPureRed(c color.RGBA) bool { return isRed(c) && c.G <= 22 }

// TestCrossfadeBlendsTheTwoSteps: at a step change with a crossfade, the
// frames go from the old picture to the new one through blends of both;
// the new cue's onset is the fade's first frame, which already shows the
// new picture faintly, and the old cue's offset is the frame before it,
// the last one that showed the old picture whole.
func TestCrossfadeBlendsTheTwoSteps(t *testing.T) {
	src := strings.Replace(testProtocol, "    duration: 60s\n    cues:\n      - image: green.png", "    duration: 60s\n    crossfade: 1s\n    cues:\n      - image: green.png", 1)
	require.NotEqual(t, testProtocol, src)
	r := newRigWith(t, src, redGreen())
	frames := []frame{r.waitFrame(t, isPureRed)}
	require.NoError(t, r.s.Next("test"))
	for f := <-r.frames; !isGreen(f.center) || f.center.R > 25; f = <-r.frames {
		frames = append(frames, f)
	}
	var on, off event.Event
	for on.T == 0 || off.T == 0 {
		e := <-r.events.C
		if e.Event == nil {
			continue
		}
		switch d := e.Event.Data.(type) {
		case event.CueOnset:
			if d.Cue == "s1.c1" {
				on = *e.Event
			}
		case event.CueOffset:
			if d.Cue == "baseline.c1" {
				off = *e.Event
			}
		}
	}
	i := -1
	for k, f := range frames {
		if f.t == on.T {
			i = k
		}
	}
	require.Positive(t, i, "the onset (%v) is a frame after the last pure red one (frames from %v)", on.T, frames[0].t)
	first := frames[i].center
	assert.True(t, first.G > 22 && first.R > first.G, "the fade's first frame shows the green picture faintly over the red: %v", first)
	assert.True(t, isPureRed(frames[i-1].center), "the frame before the onset shows red alone: %v", frames[i-1].center)
	assert.Equal(t, frames[i-1].t, off.T, "the red picture's offset is its last frame at full opacity")
	blends, prevG := 0, uint8(0)
	for _, f := range frames[i:] {
		c := f.center
		// A mix of red (220,20,20) and green (20,200,40) at opacity p:
		// both channels say the same p. Any p well inside the fade counts
		// (0.1–0.9: 800 ms of a 1 s fade, wider than a frame takes even
		// on a loaded machine).
		pr, pg := (220-float64(c.R))/200, (float64(c.G)-20)/180
		assert.InDelta(t, pr, pg, 0.06, "a frame is a mix of the two pictures: %v", c)
		if pg > 0.1 && pg < 0.9 {
			blends++
		}
		assert.GreaterOrEqual(t, int(c.G)+3, int(prevG), "the green picture only grows stronger")
		prevG = c.G
	}
	assert.Positive(t, blends, "some mid-fade frames are blends of both pictures")
	fadeTime := frames[len(frames)-1].t - on.T
	assert.Greater(t, fadeTime, 700*time.Millisecond, "the fade takes about its second")
}

// frameOf grabs the first frame drawn while cond holds (called on the
// render thread, where the Game may be read; the snapshot is read after
// the frame was drawn, and may be a little ahead of it); also, when not
// nil, runs there with the frame grabbed.
func frameOf(t *testing.T, src string, fsys fstest.MapFS, opt Options, cond func(*rig, engine.Snapshot) bool, also func(*rig)) (*rig, *image.RGBA) {
	cam := newGrabber()
	opt.OnFrame = cam.onFrame
	r := newRigOpts(t, src, fsys, opt)
	cam.r = r
	if also != nil {
		cam.also = func() { also(r) }
	}
	img := cam.shoot(t, func(s engine.Snapshot) bool { return cond(r, s) })
	return r, img
}

// dump saves img for a person to look at when WINDOW_SHOTS names a folder.
func dump(t *testing.T, img *image.RGBA) {
	if dir := os.Getenv("WINDOW_SHOTS"); dir != "" {
		f, err := os.Create(filepath.Join(dir, t.Name()+".png"))
		require.NoError(t, err)
		require.NoError(t, png.Encode(f, img))
		require.NoError(t, f.Close())
	}
}

func rgba(img *image.RGBA, x, y int) color.RGBA {
	i := img.PixOffset(x, y)
	return color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3]}
}

const captionProtocol = `cueroom: 1
title: Captions
substance: alcohol
baseline:
  duration: 1h
  cues:
    - image: green.png
      fit: fill
    - text: "Notice the urge, and let it pass like a wave; it rises, peaks and falls away."
  rating:
    scale: craving
    question: "How strong is your craving right now?"
    at: start
steps:
  - name: S
    intensity: 1
    duration: 1h
    cues:
      - text: x
`

// TestCaptionsAreNeverOverThePicture: a step with words keeps a band at
// the bottom free of its picture (a picture that fills the screen fills
// the part above it): no row with caption letters has picture in it. And
// the rating scale is laid out above the band, with picture between them:
// no overlay is stacked on another. (Columns are read 12 pixels in from
// the left edge, where linear filtering of the scaled picture does not
// blur.)
func TestCaptionsAreNeverOverThePicture(t *testing.T) {
	_, img := frameOf(t, captionProtocol, redGreen(), Options{}, func(r *rig, s engine.Snapshot) bool {
		return drewPrompt(r.g)
	}, nil)
	dump(t, img)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	white := func(c color.RGBA) bool { return c.R > 200 && c.G > 200 && c.B > 200 }
	// Down the left side: picture, the scale's dark box, picture again,
	// then no picture to the bottom.
	var runs []bool // green or not, run by run
	bottom := 0     // the picture's last row
	for y := 0; y < h; y++ {
		g := isGreen(rgba(img, 12, y))
		if g {
			bottom = y
		}
		if len(runs) == 0 || runs[len(runs)-1] != g {
			runs = append(runs, g)
		}
	}
	assert.Equal(t, []bool{true, false, true, false}, runs, "the rating box ends above the picture's end, and the picture above the band")
	assert.Greater(t, bottom, h/2, "the picture fills most of the screen")
	captionRows := 0
	for y := bottom + 1; y < h; y++ {
		letters, picture := false, false
		for x := 0; x < w; x++ {
			c := rgba(img, x, y)
			letters = letters || white(c)
			picture = picture || isGreen(c)
		}
		if letters {
			captionRows++
		}
		require.False(t, picture, "picture at row %d, below its end (%d), in the caption band", y, bottom)
	}
	assert.Positive(t, captionRows, "the caption is drawn below the picture")
}

// TestTheBandDoesNotMoveWithTimedCaptions: a narration's timed captions
// come one after another; the picture keeps one place for the whole step.
func TestTheBandDoesNotMoveWithTimedCaptions(t *testing.T) {
	clink, err := os.ReadFile("../../assets/demo/media/clink.wav")
	require.NoError(t, err)
	fsys := redGreen()
	fsys["clink.wav"] = &fstest.MapFile{Data: clink}
	src := `cueroom: 1
title: Timed
substance: alcohol
baseline:
  duration: 1h
  cues:
    - image: green.png
      fit: fill
    - narration: clink.wav
      subtitles:
        - at: 0s
          text: "One."
        - at: 600ms
          text: "A much longer caption, which takes two lines or more on this small screen, and so a taller band than the first one."
steps:
  - name: S
    intensity: 1
    duration: 1h
    cues:
      - text: x
`
	edge := func(img *image.RGBA) int { // the first row, from the bottom, of picture
		h := img.Rect.Dy()
		for y := h - 1; y >= 0; y-- {
			if isGreen(rgba(img, 12, y)) {
				return h - 1 - y
			}
		}
		return -1
	}
	cam := newGrabber()
	r := newRigOpts(t, src, fsys, Options{OnFrame: cam.onFrame})
	cam.r = r
	early := cam.shoot(t, func(s engine.Snapshot) bool {
		d := s.Elapsed.Duration()
		return s.State == engine.Running && d > 100*time.Millisecond && d < 500*time.Millisecond
	})
	late := cam.shoot(t, func(s engine.Snapshot) bool { return s.Elapsed.Duration() > 800*time.Millisecond })
	assert.Positive(t, edge(early))
	assert.Equal(t, edge(early), edge(late), "the picture's bottom edge, before and after the long caption came")
}

// TestStereoTextFitsEachEye: in stereo each half gets the whole rating
// question, its labels and hint, within its own width: no letter touches
// an eye's edge, and both eyes show the same words.
func TestStereoTextFitsEachEye(t *testing.T) {
	src := `cueroom: 1
title: Stereo
substance: alcohol
baseline:
  duration: 1h
  cues:
    - text: "Sit comfortably."
  rating:
    scale: craving
    question: "How strong is your craving for a drink right now, at this very moment?"
    at: start
steps:
  - name: S
    intensity: 1
    duration: 1h
    cues:
      - text: x
`
	_, img := frameOf(t, src, redGreen(), Options{Stereo: true}, func(r *rig, s engine.Snapshot) bool {
		return drewPrompt(r.g)
	}, nil)
	dump(t, img)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	bright := func(c color.RGBA) bool { return c.R > 150 && c.G > 150 && c.B > 100 }
	edges := []int{0, w/2 - 1, w / 2, w - 1}
	count := [2]int{}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if !bright(rgba(img, x, y)) {
				continue
			}
			count[x*2/w]++
			for _, e := range edges {
				require.False(t, x >= e-3 && x <= e+3, "text at (%d, %d) touches an eye's edge (x=%d)", x, y, e)
			}
		}
	}
	assert.Positive(t, count[0], "the left eye shows the words")
	assert.InDelta(t, count[0], count[1], float64(count[0])/50+5, "both eyes show the same words")
}

// pacerWidth is how wide the pacer's light inner circle is on the row
// through its centre.
func pacerWidth(img *image.RGBA, cy int) int {
	n := 0
	for x := 0; x < img.Rect.Dx(); x++ {
		c := rgba(img, x, cy)
		if c.R > 120 && c.G > 180 && c.B > 190 {
			n++
		}
	}
	return n
}

// TestCalmScreenBreathes: the calm screen shows a breathing pacer that
// grows while breathing in (its first 4 s).
func TestCalmScreenBreathes(t *testing.T) {
	cam := newGrabber()
	r := newRigOpts(t, testProtocol, redGreen(), Options{OnFrame: cam.onFrame})
	cam.r = r
	r.waitFrame(t, isRed)
	require.NoError(t, r.s.Calm("patient_stop", "patient"))
	stop := r.nextEvent(t, event.KindPatientStop).T
	at := func(d time.Duration) func(engine.Snapshot) bool {
		return func(s engine.Snapshot) bool { return s.State == engine.Calm && s.Now.Duration()-stop > d }
	}
	a := cam.shoot(t, at(300*time.Millisecond))
	b := cam.shoot(t, at(2*time.Second))
	cy := a.Rect.Dy() / 2
	wa, wb := pacerWidth(a, cy), pacerWidth(b, cy)
	assert.Positive(t, wa, "the pacer is drawn")
	assert.Greater(t, wb, wa+wa/5, "it grows while breathing in")
}

// videoEndProtocol plays the 2-second test clip in a long step.
func videoEndProtocol(end string) string {
	return strings.Replace(videoRepeatProtocol, "      - video: clip.mpg\n        fit: fill\n", "      - video: clip.mpg\n        fit: fill\n        end: "+end+"\n", 1)
}

// TestVideoEnds: a video that ends before its step goes off the screen at
// its end with end: blank (the step's text stays), and stays on it, on its
// last picture, with end: hold.
func TestVideoEnds(t *testing.T) {
	for _, end := range []string{"blank", "hold"} {
		t.Run(end, func(t *testing.T) {
			src := videoEndProtocol(end)
			require.Contains(t, src, "end: "+end)
			r := newRigWith(t, src, videoRepeatFS(t))
			r.untilEvent(t, visualOnsetOf("baseline.c1"))
			require.NoError(t, r.s.Next("test"))
			on := r.untilEvent(t, visualOnsetOf("s1.c1"))
			onT := on[len(on)-1].T
			// The video plays from its step's start, whenever its first
			// frame is drawn (later on a loaded machine).
			var start time.Duration
			for _, e := range on {
				if e.Kind() == event.KindStepStart && e.Step == 1 {
					start = e.T
				}
			}
			require.Positive(t, start, "the step's start")
			offOf := func(cue string) func(event.Event) bool {
				return func(e event.Event) bool {
					off, ok := e.Data.(event.CueOffset)
					return ok && off.Cue == cue && off.Channel == "visual"
				}
			}
			if end == "blank" {
				evs := r.untilEvent(t, offOf("s1.c1"))
				off := evs[len(evs)-1]
				assert.Equal(t, 1, r.s.Snapshot().Step, "the step goes on")
				assert.InDelta(t, 2.0, (off.T - start).Seconds(), 0.5, "the video went off at its end (2 s into the step)")
				for _, e := range evs {
					assert.False(t, offOf("s1.c2")(e), "the text stays")
				}
				return
			}
			require.Eventually(t, func() bool { return r.s.Snapshot().Elapsed.Duration() > 3*time.Second }, 15*time.Second, 10*time.Millisecond)
			require.NoError(t, r.s.Next("test"))
			evs := r.untilEvent(t, offOf("s1.c1"))
			off := evs[len(evs)-1]
			assert.Greater(t, off.T-start, 2500*time.Millisecond, "the last picture (at 2 s) stayed until the step ended (after 3 s)")
			assert.Greater(t, off.T, onT)
			assert.Equal(t, "s1.c1", eventtest.Field(off, "cue"))
		})
	}
}

// TestPointerHiddenWhileNotNeeded: the pointer is hidden during the
// session and shown while a rating may be given with the mouse.
func TestPointerHiddenWhileNotNeeded(t *testing.T) {
	r := newRigWith(t, vasProtocol, fstest.MapFS{"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})}})
	require.Eventually(t, func() bool {
		return r.s.Snapshot().Prompt != nil && ebiten.CursorMode() == ebiten.CursorModeVisible
	}, 10*time.Second, time.Millisecond, "shown for the rating")
	require.NoError(t, r.s.Answer(30, "patient"))
	require.Eventually(t, func() bool { return ebiten.CursorMode() == ebiten.CursorModeHidden }, 10*time.Second, time.Millisecond, "hidden again")
}

// TestEscReminder: a small, dim "Esc stops" sits in the top-right corner
// during a step, and is gone from the calm screen.
func TestEscReminder(t *testing.T) {
	cam := newGrabber()
	r := newRigOpts(t, testProtocol, redGreen(), Options{OnFrame: cam.onFrame})
	cam.r = r
	// Letters in the top-right corner: pixels lighter than the background
	// (grey on red raises green and blue; on the calm screen's teal, red).
	corner := func(img *image.RGBA, letter func(color.RGBA) bool) (light, bright int) {
		w, h := img.Rect.Dx(), img.Rect.Dy()
		for y := 0; y < h/10; y++ {
			for x := w * 3 / 4; x < w; x++ {
				c := rgba(img, x, y)
				if letter(c) {
					light++
				}
				if c.R > 235 && c.G > 235 && c.B > 235 {
					bright++
				}
			}
		}
		return light, bright
	}
	step := cam.shoot(t, func(s engine.Snapshot) bool {
		return s.State == engine.Running && s.Elapsed.Duration() > 200*time.Millisecond
	})
	dump(t, step)
	light, bright := corner(step, func(c color.RGBA) bool { return c.G > 60 && c.B > 60 })
	assert.Positive(t, light, "the reminder's letters")
	assert.Zero(t, bright, "dim: no white at full strength")
	require.NoError(t, r.s.Calm("patient_stop", "patient"))
	stop := r.nextEvent(t, event.KindPatientStop).T
	calm := cam.shoot(t, func(s engine.Snapshot) bool {
		return s.State == engine.Calm && s.Now.Duration()-stop > 200*time.Millisecond
	})
	light, _ = corner(calm, func(c color.RGBA) bool { return c.R > 110 })
	assert.Zero(t, light, "not on the calm screen")
}

// TestTheMarkerIsReportedAsItMoves: the live session hears where the
// patient's marker stands (for the dashboard), once per move; a new prompt
// starts without a marker, even when the last one closed unanswered.
func TestTheMarkerIsReportedAsItMoves(t *testing.T) {
	r := newDetachedRig(t, vasProtocol, fstest.MapFS{"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})}}, Options{})
	require.Eventually(t, func() bool { return r.s.Snapshot().Prompt != nil }, 10*time.Second, time.Millisecond)
	g := r.g
	p := r.s.Snapshot().Prompt
	g.rate(p) // no key down: nothing placed
	assert.Nil(t, r.s.Snapshot().Prompt.Marker, "no marker until the patient places one")
	g.vas, g.vasSet = 62, true // as an arrow key or a click does
	g.rate(p)
	require.NotNil(t, r.s.Snapshot().Prompt.Marker)
	assert.Equal(t, 62, *r.s.Snapshot().Prompt.Marker)

	// The patient stops and the therapist asks again: the new prompt has
	// no marker of the last.
	require.NoError(t, r.s.Calm("patient_stop", "patient"))
	require.NoError(t, r.s.Resume("test"))
	require.NoError(t, r.s.AskRating("suds", "therapist"))
	next := r.s.Snapshot().Prompt
	require.NotNil(t, next)
	require.NotEqual(t, p.Since, next.Since)
	g.rate(next)
	assert.False(t, g.vasSet, "no marker carried over")
	assert.Nil(t, r.s.Snapshot().Prompt.Marker)
}

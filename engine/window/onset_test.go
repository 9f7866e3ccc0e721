package window

import (
	"cmp"
	"image"
	"image/color"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/video"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/event/eventtest"
)

const videoRepeatProtocol = `cueroom: 1
title: Video repeats
substance: alcohol
baseline:
  duration: 1h
  cues:
    - image: red.png
      fit: fill
steps:
  - name: Video
    intensity: 1
    duration: 1h
    cues:
      - video: clip.mpg
        fit: fill
      - text: "Watch."
`

func videoRepeatFS(t *testing.T) fstest.MapFS {
	clip, err := os.ReadFile("../video/testdata/silent.mpg")
	require.NoError(t, err)
	return fstest.MapFS{"red.png": {Data: solidPNG(color.RGBA{220, 20, 20, 255})}, "clip.mpg": {Data: clip}}
}

// untilEvent returns the events up to and including the first that
// matches.
func (r *rig) untilEvent(t *testing.T, match func(event.Event) bool) []event.Event {
	t.Helper()
	var got []event.Event
	deadline := time.After(15 * time.Second)
	for {
		select {
		case m := <-r.events.C:
			if m.Event == nil {
				continue
			}
			got = append(got, *m.Event)
			if match(*m.Event) {
				return got
			}
		case <-deadline:
			t.Fatalf("no matching event within 15 s; got %d events", len(got))
		}
	}
}

func visualOnsetOf(cue string) func(event.Event) bool {
	return func(e event.Event) bool {
		on, ok := e.Data.(event.CueOnset)
		return ok && on.Cue == cue && on.Channel == "visual"
	}
}

// TestEveryVideoPresentationHasItsOnsetAfterItsStart: a video step played
// and repeated, its picture on time (opened ahead) or late (opened when
// the step starts): every presentation has one visual onset of the video
// and of the text, and one offset, and, with the events in time order as
// the recording's reader puts them, each onset comes after its step's
// start. (Stamped when drawing began, an onset could precede the step
// start its frame showed, and sorted before it, it was counted in the
// step before: a repeated step then had no onset of its own.)
func TestEveryVideoPresentationHasItsOnsetAfterItsStart(t *testing.T) {
	for _, mode := range []string{"opened ahead", "opened late"} {
		t.Run(mode, func(t *testing.T) {
			noPreload.Store(mode == "opened late")
			defer noPreload.Store(false)
			r := newRigWith(t, videoRepeatProtocol, videoRepeatFS(t))
			evs := r.untilEvent(t, visualOnsetOf("baseline.c1"))
			const presentations = 5
			for i := range presentations {
				if i == 0 {
					require.NoError(t, r.s.Next("test"))
				} else {
					require.NoError(t, r.s.Repeat("test"))
				}
				evs = append(evs, r.untilEvent(t, visualOnsetOf("s1.c1"))...)
			}
			require.NoError(t, r.s.Next("test")) // the end: the last offsets
			evs = append(evs, r.untilEvent(t, func(e event.Event) bool { return e.Kind() == event.KindSessionEnd })...)
			for _, cue := range []string{"s1.c1", "s1.c2"} { // taken off when the window closes
				evs = append(evs, r.untilEvent(t, func(e event.Event) bool {
					off, ok := e.Data.(event.CueOffset)
					return ok && off.Cue == cue && off.Channel == "visual"
				})...)
			}

			// In time order, as the recording's reader sorts them (the bus
			// order is not time order: the test's Repeat may come between
			// two onsets of one frame), each cue's onsets and offsets
			// alternate, one pair per presentation, each onset after its
			// own step start.
			slices.SortStableFunc(evs, func(a, b event.Event) int { return cmp.Compare(a.T, b.T) })
			seq := map[string]string{}
			starts := map[int]time.Duration{} // by presentation
			onsetOf := map[*event.Event]int{}
			n := 0
			for i := range evs {
				e := &evs[i]
				switch d := e.Data.(type) {
				case event.StepStart:
					if e.Step == 1 {
						n++
						starts[n] = e.T
					}
				case event.CueOnset:
					if d.Channel == "visual" && e.Step == 1 {
						require.Positive(t, n, "onset of %s at %v before its step started", d.Cue, e.T)
						seq[d.Cue] += "+"
						onsetOf[e] = n
					}
				case event.CueOffset:
					if d.Channel == "visual" && e.Step == 1 {
						seq[d.Cue] += "-"
					}
				}
			}
			pairs := strings.Repeat("+-", presentations)
			assert.Equal(t, map[string]string{"s1.c1": pairs, "s1.c2": pairs}, seq, "onsets (+) and offsets (-) of the video and the text")
			// In time order, as the recording's reader sorts them, each
			// onset still follows its own step start.
			for e, k := range onsetOf {
				assert.GreaterOrEqual(t, e.T, starts[k], "onset of %v", e.Data)
			}
		})
	}
}

// TestARatingPromptIsAVisualCue: the rating scale has an onset when it
// comes on screen and an offset when the answer takes it off.
func TestARatingPromptIsAVisualCue(t *testing.T) {
	r := newRigWith(t, vasProtocol, fstest.MapFS{"green.png": {Data: solidPNG(color.RGBA{20, 200, 40, 255})}})
	evs := r.untilEvent(t, visualOnsetOf("baseline.rating"))
	on := evs[len(evs)-1]
	assert.Equal(t, "rating", eventtest.Field(on, "modality"))
	var prompt event.Event
	for _, e := range evs {
		if e.Kind() == event.KindRatingPrompt {
			prompt = e
		}
	}
	assert.Greater(t, on.T, prompt.T, "the scale is on screen after it was asked for")
	require.NoError(t, r.s.Answer(40, "patient"))
	evs = r.untilEvent(t, func(e event.Event) bool {
		off, ok := e.Data.(event.CueOffset)
		return ok && off.Cue == "baseline.rating"
	})
	off := evs[len(evs)-1]
	// The offset is the last frame that showed it: the onset's own frame
	// when the patient answered at once.
	assert.GreaterOrEqual(t, off.T, on.T)
}

// TestTheNextStepIsReadyBeforeItStarts: once the next step's picture and
// video were preloaded, its first frame shows them: no picture uploaded
// while drawing, the video's first picture already in its texture (its
// poster) before the step, and the video's onset is the step's first frame
// (that of its text).
func TestTheNextStepIsReadyBeforeItStarts(t *testing.T) {
	fsys := videoRepeatFS(t)
	first := firstPicture(t, fsys, "clip.mpg")
	var ready, late atomic.Int64
	var poster atomic.Value // the texture's centre, once the poster is up
	var r *rig
	probe := func(*ebiten.Image, time.Duration) {
		if r == nil {
			return
		}
		g := r.g // render thread: its preload state may be read here
		vt := g.videos["s1.c1"]
		if vt != nil && vt.src != nil && ready.Load() == 0 {
			b := vt.img.Bounds()
			poster.Store(vt.img.At(b.Dx()/2, b.Dy()/2))
		}
		if len(g.pre.images) == 0 && len(g.pre.texts) == 0 && len(g.pre.posters) == 0 && vt != nil && vt.src != nil {
			ready.Store(1)
		}
		late.Store(int64(g.pre.late))
	}
	r = newDetachedRig(t, videoRepeatProtocol, fsys, Options{OnFrame: probe})
	host.set(r.g)
	t.Cleanup(func() { host.set(nil) })
	r.untilEvent(t, visualOnsetOf("baseline.c1"))
	require.Eventually(t, func() bool {
		return ready.Load() == 1 && r.g.media.AheadReady("s1.c1")
	}, 15*time.Second, time.Millisecond)
	lateBefore := late.Load() // the first step's picture, drawn before any preloading
	b := first.Bounds()
	assert.Equal(t, first.At(b.Dx()/2, b.Dy()/2), color.RGBAModel.Convert(poster.Load().(color.Color)), "the video's first picture is on the GPU before its step")
	require.NoError(t, r.s.Next("test"))
	evs := r.untilEvent(t, visualOnsetOf("s1.c2")) // the text: on the step's first frame
	var video event.Event
	for _, e := range evs {
		if visualOnsetOf("s1.c1")(e) {
			video = e
		}
	}
	assert.Equal(t, evs[len(evs)-1].T, video.T, "the video shows on the step's first frame, with its text")
	assert.Equal(t, lateBefore, late.Load(), "no picture uploaded while drawing")
}

// firstPicture decodes a video's first picture, as the player shows it.
func firstPicture(t *testing.T, fsys fstest.MapFS, name string) *image.RGBA {
	v, err := video.Open(fsys, name)
	require.NoError(t, err)
	defer v.Close()
	img, _ := v.Frame(0)
	return img
}

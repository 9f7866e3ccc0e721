package present

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

const ms = time.Millisecond

var (
	red   = Cue{ID: "baseline.c1", Modality: "image", File: "red.png"}
	green = Cue{ID: "s1.c1", Modality: "image", File: "green.png"}
	words = Cue{ID: "s1.c2", Modality: "text"}
	clip  = Cue{ID: "s2.c1", Modality: "video", File: "clip.mpg"}
	bar   = Cue{ID: "bar.c1", Modality: "panorama", File: "bar.jpg"}
	hall  = Cue{ID: "hall.c1", Modality: "panorama", File: "hall.jpg"}
	bell  = Cue{ID: "s1.c3", Modality: "sound", File: "bell.wav"}
	// Two rating prompts of one step presentation, one after the other.
	ask1 = Cue{ID: "s1.rating", Modality: "rating", Instance: 1}
	ask2 = Cue{ID: "s1.rating", Modality: "rating", Instance: 2}
)

// frame is a presented frame at t ms.
func frame(t, step int, pres uint64, cues ...Cue) func(*Presenter) {
	return func(p *Presenter) {
		p.Presented(Frame{T: time.Duration(t) * ms, Step: step, Presentation: pres, Visible: cues})
	}
}

// looking is a frame of a 360° scene with the view at yaw, pitch.
func looking(t, step int, c Cue, yaw, pitch float64) func(*Presenter) {
	return func(p *Presenter) {
		p.Presented(Frame{T: time.Duration(t) * ms, Step: step, Presentation: 1, Visible: []Cue{c},
			Look: &View{Cue: c.ID, Yaw: yaw, Pitch: pitch}})
	}
}

func closed(p *Presenter) { p.Closed() }

func on(t, step int, c Cue) event.Event {
	return event.Event{T: time.Duration(t) * ms, Step: step, Data: event.CueOnset(visual(c))}
}

func off(t, step int, c Cue) event.Event {
	return event.Event{T: time.Duration(t) * ms, Step: step, Data: event.CueOffset(visual(c))}
}

func look(t, step int, c Cue, yaw, pitch float64) event.Event {
	return event.Event{T: time.Duration(t) * ms, Step: step, Data: event.Look{Cue: c.ID, YawDeg: yaw, PitchDeg: pitch}}
}

func TestPresenter(t *testing.T) {
	tests := []struct {
		name  string
		input []func(*Presenter)
		want  []event.Event
	}{{
		name:  "onset at the first frame that shows a cue, once",
		input: []func(*Presenter){frame(0, -1, 0), frame(16, 0, 1, red), frame(33, 0, 1, red), frame(50, 0, 1, red)},
		want:  []event.Event{on(16, 0, red)},
	}, {
		name: "next step: offset at the last frame that showed the cue, onset at the first of the next",
		input: []func(*Presenter){frame(16, 0, 1, red), frame(33, 0, 1, red),
			frame(50, 1, 2, green, words), frame(66, 1, 2, green, words)},
		want: []event.Event{on(16, 0, red), off(33, 0, red), on(50, 1, green), on(50, 1, words)},
	}, {
		name: "a cue that stays into the next step's frame is not taken off",
		input: []func(*Presenter){frame(16, 1, 2, green), frame(33, 1, 2, green, words),
			frame(50, 1, 2, words)},
		want: []event.Event{on(16, 1, green), on(33, 1, words), off(33, 1, green)},
	}, {
		name: "a repeat is a new presentation though the picture stays",
		input: []func(*Presenter){frame(16, 0, 1, red), frame(33, 0, 1, red),
			frame(50, 0, 2, red), frame(66, 0, 2, red)},
		want: []event.Event{on(16, 0, red), off(33, 0, red), on(50, 0, red)},
	}, {
		name: "a pause keeps the cues on screen; the calm scene takes them off",
		input: []func(*Presenter){frame(16, 1, 2, green, words),
			frame(33, 1, 2, green, words), // paused: dimmed, still shown
			frame(50, 1, 2, green, words),
			frame(66, 1, 2), // calm
			frame(83, 1, 2)},
		want: []event.Event{on(16, 1, green), on(16, 1, words), off(50, 1, green), off(50, 1, words)},
	}, {
		name: "a cue that comes back after the calm scene is a new onset",
		input: []func(*Presenter){frame(16, 1, 2, green), frame(33, 1, 2),
			frame(50, 1, 2, green)},
		want: []event.Event{on(16, 1, green), off(16, 1, green), on(50, 1, green)},
	}, {
		name: "a video's onset is the first frame that shows its picture, not the step's first",
		input: []func(*Presenter){frame(16, 2, 3), frame(33, 2, 3),
			frame(50, 2, 3, clip), frame(66, 2, 3, clip)},
		want: []event.Event{on(50, 2, clip)},
	}, {
		name: "a repeated video step whose picture comes late: offset, then onset when it shows",
		input: []func(*Presenter){frame(16, 2, 3, clip, words), frame(33, 2, 3, clip, words),
			frame(50, 2, 4, words), frame(66, 2, 4, words), // repeat: the video is opening
			frame(83, 2, 4, clip, words)},
		want: []event.Event{on(16, 2, clip), on(16, 2, words), off(33, 2, clip), off(33, 2, words),
			on(50, 2, words), on(83, 2, clip)},
	}, {
		name: "a rating prompt is a visual cue; the next prompt is a new onset though no frame lies between",
		input: []func(*Presenter){frame(16, 1, 2, green), frame(33, 1, 2, green, ask1),
			frame(50, 1, 2, green, ask1), frame(66, 1, 2, green, ask2), frame(83, 1, 2, green)},
		want: []event.Event{on(16, 1, green), on(33, 1, ask1), off(50, 1, ask1), on(66, 1, ask2), off(66, 1, ask2)},
	}, {
		name: "the window closing takes off what it showed, at its last frame",
		input: []func(*Presenter){frame(16, 1, 2, green, words), frame(33, 1, 2, green, words),
			closed, closed},
		want: []event.Event{on(16, 1, green), on(16, 1, words), off(33, 1, green), off(33, 1, words)},
	}, {
		name:  "nothing shown, nothing to take off",
		input: []func(*Presenter){frame(16, -1, 0), closed},
	}, {
		name: "the view is recorded when a 360° scene comes on, then when it moved",
		input: []func(*Presenter){
			looking(0, 0, bar, 30, 0),
			looking(1000, 0, bar, 45, 0),
			looking(1050, 0, bar, 60, 0),   // within 100 ms
			looking(1150, 0, bar, 45.2, 0), // by less than ½°
			looking(1150, 0, bar, 45.2, -10),
		},
		want: []event.Event{on(0, 0, bar), look(0, 0, bar, 30, 0), look(1000, 0, bar, 45, 0), look(1150, 0, bar, 45.2, -10)},
	}, {
		name: "a still view is recorded once",
		input: []func(*Presenter){looking(0, 0, bar, 30, 5), looking(200, 0, bar, 30, 5),
			looking(400, 0, bar, 30.4, 5.4)},
		want: []event.Event{on(0, 0, bar), look(0, 0, bar, 30, 5)},
	}, {
		name: "yaw wraps at ±180°: across it is a small move",
		input: []func(*Presenter){looking(0, 0, bar, 179.9, 0), looking(200, 0, bar, -179.8, 0),
			looking(400, 0, bar, -179, 0)},
		want: []event.Event{on(0, 0, bar), look(0, 0, bar, 179.9, 0), look(400, 0, bar, -179, 0)},
	}, {
		name: "another 360° scene is recorded at once; angles to a tenth of a degree",
		input: []func(*Presenter){looking(0, 0, bar, 10, 0),
			func(p *Presenter) {
				p.Presented(Frame{T: 16 * ms, Step: 1, Presentation: 2, Visible: []Cue{hall},
					Look: &View{Cue: hall.ID, Yaw: -134.96, Pitch: 12.345}})
			}},
		want: []event.Event{on(0, 0, bar), look(0, 0, bar, 10, 0),
			off(0, 0, bar), on(16, 1, hall), look(16, 1, hall, -135, 12.3)},
	}, {
		name:  "a frame without a view records none",
		input: []func(*Presenter){frame(0, 0, 1, bar), frame(200, 0, 1, bar)},
		want:  []event.Event{on(0, 0, bar)},
	}, {
		name: "sounds: onset when the first sample reaches the speaker, offset when it stops",
		input: []func(*Presenter){
			func(p *Presenter) {
				p.SoundStarted(Sound{T: 120 * ms, Step: 1, Cue: bell, Sink: "null"})
			},
			frame(130, 1, 2, green),
			func(p *Presenter) { p.SoundEnded(Sound{T: 2500 * ms, Step: 1, Cue: bell, Sink: "null"}) },
		},
		want: []event.Event{
			{T: 120 * ms, Step: 1, Data: event.CueOnset{Cue: bell.ID, Modality: "sound", File: "bell.wav", Channel: "audio", Sink: "null"}},
			on(130, 1, green),
			{T: 2500 * ms, Step: 1, Data: event.CueOffset{Cue: bell.ID, Modality: "sound", File: "bell.wav", Channel: "audio", Sink: "null"}},
		},
	}, {
		name: "a video that cannot be played is an alert",
		input: []func(*Presenter){func(p *Presenter) {
			p.Failed(Failure{T: time.Second, Step: 2, Cue: clip, Err: errors.New("clip.mpg: truncated")})
		}},
		want: []event.Event{{T: time.Second, Step: 2, Data: event.Alert{Source: "video", Cue: clip.ID, Message: "clip.mpg: truncated"}}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []event.Event
			p := New(func(e event.Event) { got = append(got, e) }, nil)
			for _, in := range tc.input {
				in(p)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestEventsCarryTheWallClock(t *testing.T) {
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	var got []event.Event
	p := New(func(e event.Event) { got = append(got, e) }, func(t time.Duration) time.Time { return start.Add(t) })
	p.Presented(Frame{T: 2 * time.Second, Visible: []Cue{red}})
	p.SoundStarted(Sound{T: 3 * time.Second, Cue: bell})
	require.Len(t, got, 2)
	assert.Equal(t, start.Add(2*time.Second), got[0].Wall)
	assert.Equal(t, start.Add(3*time.Second), got[1].Wall)
}

func TestNoSinkSendsNothing(t *testing.T) {
	p := New(nil, nil)
	p.Presented(Frame{T: time.Second, Visible: []Cue{red}, Look: &View{Cue: red.ID}})
	p.SoundStarted(Sound{Cue: bell})
	p.Failed(Failure{Cue: clip})
	p.Closed()
}

func TestComes(t *testing.T) {
	tests := []struct {
		name     string
		c        Cue
		pres     uint64
		prev     []Cue
		prevPres uint64
		want     bool
	}{
		{"first frame", red, 1, nil, 0, true},
		{"still on", red, 1, []Cue{words, red}, 1, false},
		{"new presentation", red, 2, []Cue{red}, 1, true},
		{"another cue was on", green, 1, []Cue{red}, 1, true},
		{"next prompt", ask2, 1, []Cue{ask1}, 1, true},
		{"same prompt", ask1, 1, []Cue{ask1}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Comes(tc.c, tc.pres, tc.prev, tc.prevPres))
		})
	}
}

// The window reuses its slice of visible cues for the next frame.
func TestVisibleIsCopied(t *testing.T) {
	var got []event.Event
	p := New(func(e event.Event) { got = append(got, e) }, nil)
	vis := []Cue{red}
	p.Presented(Frame{T: 16 * ms, Step: 0, Presentation: 1, Visible: vis})
	vis[0] = green
	p.Presented(Frame{T: 33 * ms, Step: 0, Presentation: 1, Visible: vis[:0]})
	assert.Equal(t, []event.Event{on(16, 0, red), off(16, 0, red)}, got)
}

// Frames are reported on the render thread: a frame that changes nothing
// allocates nothing.
func TestASteadyFrameAllocatesNothing(t *testing.T) {
	p := New(func(event.Event) {}, nil)
	vis := []Cue{bar, words}
	view := &View{Cue: bar.ID, Yaw: 30}
	f := Frame{Step: 0, Presentation: 1, Visible: vis, Look: view}
	p.Presented(f)
	allocs := testing.AllocsPerRun(100, func() {
		f.T += 16 * ms
		view.Yaw += 0.01
		p.Presented(f)
	})
	assert.Zero(t, allocs)
}

// Sounds are reported from the mixer while frames come from the render
// thread (run with -race).
func TestSoundsAndFramesConcurrently(t *testing.T) {
	var mu sync.Mutex
	n := 0
	p := New(func(event.Event) { mu.Lock(); n++; mu.Unlock() }, nil)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range 100 {
			p.SoundStarted(Sound{T: time.Duration(i) * ms, Cue: bell})
			p.SoundEnded(Sound{T: time.Duration(i) * ms, Cue: bell})
		}
	}()
	go func() {
		defer wg.Done()
		for i := range 100 {
			p.Presented(Frame{T: time.Duration(i) * ms, Presentation: uint64(i), Visible: []Cue{red}})
		}
		p.Closed()
	}()
	wg.Wait()
	assert.Equal(t, 400, n)
}

package engine

import (
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/jpeg" // image cues may be JPEG
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cueroom/cueroom/engine/audio"
	"github.com/cueroom/cueroom/engine/present"
	"github.com/cueroom/cueroom/engine/tts"
	"github.com/cueroom/cueroom/engine/video"
	"github.com/cueroom/cueroom/scenes"
)

// Media holds every cue decoded before the session starts, so a bad asset
// stops the run before the patient sees anything and nothing is decoded
// while the session plays.
type Media struct {
	// Images are by cue ID; LoadMedia stores them as *image.RGBA (alpha
	// premultiplied, origin 0, rows packed), the layout the GPU takes
	// as is, so the window uploads them without converting a pixel.
	Images map[string]image.Image
	Sounds map[string]*audio.Sound // by cue ID
	// Videos are checked at load and opened afresh for each presentation
	// of their step (ahead of it when the window asks: see Ahead); Playing
	// holds the ones on screen now.
	Videos map[string]bool // by cue ID
	// VideoSizes are the videos' picture sizes in pixels, by cue ID: the
	// window makes their textures before their steps start.
	VideoSizes map[string]image.Point
	Playing    *Videos
	fs         fs.FS
	ahead      ahead
}

// Videos is the set of videos playing now, shared by the sound player
// (which opens, starts and closes them with their steps) and the window
// (which shows their frames).
type Videos struct {
	mu sync.Mutex
	m  map[string]*video.Video
}

// Get returns the playing video of a cue, or nil.
func (v *Videos) Get(cue string) *video.Video {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[cue]
}

func (v *Videos) set(cue string, vid *video.Video) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]*video.Video{}
	}
	v.m[cue] = vid
}

// takeAll empties the set and returns what was in it.
func (v *Videos) takeAll() []*video.Video {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []*video.Video
	for _, vid := range v.m {
		out = append(out, vid)
	}
	v.m = nil
	return out
}

func (v *Videos) each(f func(*video.Video)) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, vid := range v.m {
		f(vid)
	}
}

// LoadMedia decodes every image and sound cue of p. All errors are
// returned together, each naming the protocol line and the file.
func LoadMedia(p *scenes.Protocol) (*Media, error) {
	m := &Media{Images: map[string]image.Image{}, Sounds: map[string]*audio.Sound{},
		Videos: map[string]bool{}, VideoSizes: map[string]image.Point{}, Playing: &Videos{}, fs: p.FS}
	var errs []error
	for _, st := range p.All() {
		for _, c := range st.Cues {
			switch c.Kind {
			case scenes.KindImage, scenes.KindPanorama:
				img, err := decodeImage(p, c)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: %w", p.File, c.Line, err))
					continue
				}
				m.Images[c.ID] = packedRGBA(img)
			case scenes.KindVideo:
				v, err := video.Open(p.FS, c.Path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: %w", p.File, c.Line, err))
					continue
				}
				m.VideoSizes[c.ID] = v.Size()
				v.Close()
				m.Videos[c.ID] = true
			case scenes.KindSound, scenes.KindNarration:
				var snd *audio.Sound
				var err error
				switch {
				case c.Spoken():
					snd, err = speak(c)
				case c.Path != "":
					snd, err = audio.Load(p.FS, c.Path)
				default:
					continue
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: %w", p.File, c.Line, err))
					continue
				}
				m.Sounds[c.ID] = snd
			}
		}
	}
	return m, errors.Join(errs...)
}

// Speech speaks narrations given as text; its cache outlives the session.
var Speech = &tts.Speaker{}

func speak(c scenes.Cue) (*audio.Sound, error) {
	file, err := Speech.Speak(c.Text, c.Voice)
	if err != nil {
		return nil, fmt.Errorf("narration %s: %w", c.ID, err)
	}
	return audio.Load(os.DirFS(filepath.Dir(file)), filepath.Base(file))
}

func decodeImage(p *scenes.Protocol, c scenes.Cue) (image.Image, error) {
	f, err := p.FS.Open(c.Path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decode image: %v: save it as PNG or JPEG", c.Path, err)
	}
	return img, nil
}

// packedRGBA returns img as an *image.RGBA at origin 0 with packed rows:
// PNGs without alpha already are; others (NRGBA, JPEG's YCbCr, paletted)
// are converted here, at load, never on the render thread.
func packedRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	if rgba, ok := img.(*image.RGBA); ok && b.Min == (image.Point{}) && rgba.Stride == 4*b.Dx() {
		return rgba
	}
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	return out
}

// SoundPlayer plays a step's sound and narration cues on the audio output
// and tells its reporter when each reaches the speaker and when it stops.
type SoundPlayer struct {
	out   *audio.Output
	media *Media
	clock *Clock
	rep   SoundReporter

	mu     sync.Mutex
	voices []*audio.Voice
	gen    int          // bumped by StopAll: a video opened for an older step is dropped
	paused bool         // a video that opens while paused starts paused
	calm   *audio.Voice // the calm screen's soft sound, while it plays
}

// SoundReporter is told when a sound cue reaches the speaker and when it
// stops, and of a video that cannot be played: the presenter
// (*present.Presenter), which makes the events from them.
type SoundReporter interface {
	SoundStarted(present.Sound)
	SoundEnded(present.Sound)
	Failed(present.Failure)
}

// NewSoundPlayer ties the output to the session's media and clock; r (nil:
// no one) hears what was played.
func NewSoundPlayer(out *audio.Output, m *Media, c *Clock, r SoundReporter) *SoundPlayer {
	return &SoundPlayer{out: out, media: m, clock: c, rep: r}
}

// StartStep starts the step's sound cues and videos, each sound reported
// when its first sample leaves the mixer (a video's frames are reported by
// the window that draws them).
func (sp *SoundPlayer) StartStep(step int, cues []scenes.Cue) { sp.StartStepAt(step, cues, 0) }

// StartStepAt starts the step's sound and video cues as they were at offset
// into the step (a replay seeking into it).
func (sp *SoundPlayer) StartStepAt(step int, cues []scenes.Cue, offset time.Duration) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.stopCalmLocked()
	for _, c := range cues {
		if c.Kind == scenes.KindVideo && sp.media.Videos[c.ID] {
			o := sp.media.ahead.take(c.ID)
			if o.opened() && offset == 0 {
				// Opened ahead: it plays from now, under the caller's lock,
				// so the first frame that shows the step shows its picture.
				if o.err == nil {
					sp.playLocked(step, c, o.v)
				} else {
					sp.failed(step, c, o.err)
				}
				continue
			}
			// Opening checks the whole file: not under the session's lock,
			// which the render thread takes every frame.
			go sp.startVideo(step, c, sp.gen, offset, o)
			continue
		}
		snd := sp.media.Sounds[c.ID]
		if snd == nil {
			continue
		}
		c := c
		v := sp.out.Play(snd, audio.PlayOptions{
			Loop: c.Loop, GainDB: c.GainDB, FadeIn: c.FadeIn, FadeOut: c.FadeOut, Offset: offset,
			OnStart: func(time.Duration) { sp.log(true, step, c) },
			OnEnd:   func(time.Duration) { sp.log(false, step, c) },
		})
		if v != nil {
			sp.voices = append(sp.voices, v)
		}
	}
}

func (sp *SoundPlayer) log(onset bool, step int, c scenes.Cue) {
	if sp.rep == nil {
		return
	}
	// The sample left the mixer now and reaches the speaker after the
	// output's buffers.
	s := present.Sound{T: sp.clock.Now() + sp.out.Latency(), Step: step, Cue: cueOf(c), Sink: sp.out.Sink()}
	if onset {
		sp.rep.SoundStarted(s)
	} else {
		sp.rep.SoundEnded(s)
	}
}

// cueOf names a cue for its presentation events.
func cueOf(c scenes.Cue) present.Cue {
	return present.Cue{ID: c.ID, Modality: string(c.Kind), File: c.Path}
}

// startVideo plays a video opened ahead (o, waited for) or opened now,
// with its sound track, which the mixer pulls live (the video's clock
// follows it).
func (sp *SoundPlayer) startVideo(step int, c scenes.Cue, gen int, offset time.Duration, o *opening) {
	var v *video.Video
	var err error
	if o != nil {
		<-o.done
		v, err = o.v, o.err
	} else {
		v, err = video.Open(sp.media.fs, c.Path)
	}
	if err == nil {
		v.SetLoop(c.Loop)
		if err = v.Skip(offset); err != nil {
			v.Close()
		}
	}
	if err != nil {
		sp.failed(step, c, err)
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.gen != gen {
		v.Close() // its step is over already
		return
	}
	sp.playLocked(step, c, v)
}

// failed reports a video that opened at load but not for its step: an
// alert, never the session stopped for it.
func (sp *SoundPlayer) failed(step int, c scenes.Cue, err error) {
	if sp.rep != nil {
		sp.rep.Failed(present.Failure{T: sp.clock.Now(), Step: step, Cue: cueOf(c), Err: err})
	}
}

// playLocked starts an opened video and its sound and puts it on screen.
func (sp *SoundPlayer) playLocked(step int, c scenes.Cue, v *video.Video) {
	v.SetLoop(c.Loop)
	if snd := v.Audio(); snd != nil {
		voice := sp.out.PlayStream(snd, audio.PlayOptions{GainDB: c.GainDB,
			OnStart: func(time.Duration) { sp.log(true, step, c) },
			OnEnd:   func(time.Duration) { sp.log(false, step, c) },
		})
		sp.voices = append(sp.voices, voice)
	}
	v.Start()
	if sp.paused {
		v.Pause(true)
	}
	sp.media.Playing.set(c.ID, v)
}

// StopAll fades out every playing cue and stops the videos.
func (sp *SoundPlayer) StopAll(fade time.Duration) {
	sp.mu.Lock()
	vs := sp.voices
	sp.voices = nil
	sp.gen++
	sp.stopCalmLocked()
	sp.mu.Unlock()
	for _, v := range vs {
		sp.out.Stop(v, fade)
	}
	for _, v := range sp.media.Playing.takeAll() {
		v.Close()
	}
}

// Calm plays the calm screen's soft sound (audio.Calm: a slow breath of
// filtered noise at the pacer's pace) until the next step starts or
// everything stops.
func (sp *SoundPlayer) Calm() {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.calm == nil {
		sp.calm = sp.out.PlayCalm()
	}
}

func (sp *SoundPlayer) stopCalmLocked() {
	if sp.calm != nil {
		sp.out.Stop(sp.calm, time.Second)
		sp.calm = nil
	}
}

// SetPaused freezes or continues the sound and the videos.
func (sp *SoundPlayer) SetPaused(p bool) {
	sp.mu.Lock()
	sp.paused = p
	sp.mu.Unlock()
	sp.out.SetPaused(p)
	sp.media.Playing.each(func(v *video.Video) { v.Pause(p) })
}

// Ahead opens the videos among cues before their steps start, each on a
// goroutine of its own, so a step's video shows its first picture on the
// step's first frame instead of after opening (which reads the whole file).
// The sound player's StartStep takes a video opened ahead instead of
// opening it; each opened video serves one presentation. Videos opened
// ahead for cues not in cues are closed. The window calls it with the
// steps reachable from the one on screen; it returns at once.
func (m *Media) Ahead(cues []scenes.Cue) {
	a := &m.ahead
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	want := map[string]scenes.Cue{}
	for _, c := range cues {
		if c.Kind == scenes.KindVideo && m.Videos[c.ID] {
			want[c.ID] = c
		}
	}
	for id, o := range a.open {
		if _, ok := want[id]; !ok {
			delete(a.open, id)
			a.dropLocked(o)
		}
	}
	for id, c := range want {
		if a.open[id] == nil {
			a.startLocked(m.fs, c)
		}
	}
}

// AheadReady says whether the video of a cue has been opened ahead and
// waits for its step.
func (m *Media) AheadReady(cue string) bool {
	m.ahead.mu.Lock()
	defer m.ahead.mu.Unlock()
	o := m.ahead.open[cue]
	return o.opened() && o.err == nil
}

// AheadVideo is the video opened ahead for a cue, once it has opened: for
// its Poster only, since its step may take it and start it at any moment.
// It is nil while the video is still opening (then opening is true), and
// after an error, once dropped or taken for its step, or when none was
// asked for.
func (m *Media) AheadVideo(cue string) (v *video.Video, opening bool) {
	m.ahead.mu.Lock()
	defer m.ahead.mu.Unlock()
	o := m.ahead.open[cue]
	switch {
	case o == nil || o.drop:
		return nil, false
	case !o.opened():
		return nil, true
	case o.err != nil:
		return nil, false
	}
	return o.v, false
}

// Close closes the videos opened ahead, waiting for those still opening.
// Ahead does nothing after it.
func (m *Media) Close() {
	a := &m.ahead
	a.mu.Lock()
	a.closed = true
	for id, o := range a.open {
		delete(a.open, id)
		a.dropLocked(o)
	}
	a.mu.Unlock()
	a.wg.Wait()
}

// ahead holds the videos opened before their steps.
type ahead struct {
	mu     sync.Mutex
	open   map[string]*opening // by cue ID
	closed bool
	wg     sync.WaitGroup
}

// opening is a video being opened ahead; v and err are set when done is
// closed.
type opening struct {
	done chan struct{}
	v    *video.Video
	err  error
	drop bool // under ahead.mu: close it as soon as it has opened
}

// opened says, without waiting, whether o has opened (v or err is set);
// false for nil.
func (o *opening) opened() bool {
	if o == nil {
		return false
	}
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

func (a *ahead) startLocked(fsys fs.FS, c scenes.Cue) {
	o := &opening{done: make(chan struct{})}
	if a.open == nil {
		a.open = map[string]*opening{}
	}
	a.open[c.ID] = o
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		v, err := video.Open(fsys, c.Path)
		a.mu.Lock()
		o.v, o.err = v, err
		close(o.done) // under the lock: dropLocked sees it opened, or sets drop first
		drop := o.drop
		a.mu.Unlock()
		if drop && v != nil {
			v.Close()
		}
	}()
}

// dropLocked closes a video opened ahead that is no longer wanted, or has
// it closed once it opens.
func (a *ahead) dropLocked(o *opening) {
	if o.opened() {
		if o.v != nil {
			o.v.Close()
		}
		return
	}
	o.drop = true
}

// take hands over the video opened ahead for a cue (still opening, maybe),
// or nil.
func (a *ahead) take(id string) *opening {
	a.mu.Lock()
	defer a.mu.Unlock()
	o := a.open[id]
	delete(a.open, id)
	return o
}

package engine

import (
	"errors"
	"fmt"
	"image"
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
	Images map[string]image.Image  // by cue ID
	Sounds map[string]*audio.Sound // by cue ID
	// Videos are checked at load and opened afresh each time their step
	// starts; Playing holds the ones on screen now.
	Videos  map[string]bool // by cue ID
	Playing *Videos
	fs      fs.FS
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
		Videos: map[string]bool{}, Playing: &Videos{}, fs: p.FS}
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
				m.Images[c.ID] = img
			case scenes.KindVideo:
				v, err := video.Open(p.FS, c.Path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: %w", p.File, c.Line, err))
					continue
				}
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

// SoundPlayer plays a step's sound and narration cues on the audio output
// and tells its reporter when each reaches the speaker and when it stops.
type SoundPlayer struct {
	out   *audio.Output
	media *Media
	clock *Clock
	rep   SoundReporter

	mu     sync.Mutex
	voices []*audio.Voice
	gen    int  // bumped by StopAll: a video opened for an older step is dropped
	paused bool // a video that opens while paused starts paused
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
	for _, c := range cues {
		if c.Kind == scenes.KindVideo && sp.media.Videos[c.ID] {
			// Opening checks the whole file: not under the session's lock,
			// which the render thread takes every frame.
			go sp.startVideo(step, c, sp.gen, offset)
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

// startVideo opens a video afresh and plays it with its sound track, which
// the mixer pulls live (the video's clock follows it).
func (sp *SoundPlayer) startVideo(step int, c scenes.Cue, gen int, offset time.Duration) {
	v, err := video.Open(sp.media.fs, c.Path)
	if err == nil {
		v.SetLoop(c.Loop)
		if err = v.Skip(offset); err != nil {
			v.Close()
		}
	}
	if err != nil {
		// It opened at load: report, never stop the session for it.
		if sp.rep != nil {
			sp.rep.Failed(present.Failure{T: sp.clock.Now(), Step: step, Cue: cueOf(c), Err: err})
		}
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.gen != gen {
		v.Close() // its step is over already
		return
	}
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
	sp.mu.Unlock()
	for _, v := range vs {
		sp.out.Stop(v, fade)
	}
	for _, v := range sp.media.Playing.takeAll() {
		v.Close()
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

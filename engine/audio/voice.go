package audio

import (
	"math"
	"time"

	"github.com/gopxl/beep/v2"
)

// Sound is a decoded cue, resampled to Rate and held in memory, so nothing
// is decoded while a session plays.
type Sound struct {
	buf *beep.Buffer
}

// Decode reads a whole stream into memory at the output rate.
func Decode(s beep.Streamer, f beep.Format) *Sound {
	var src beep.Streamer = s
	if f.SampleRate != Rate {
		src = beep.Resample(4, f.SampleRate, Rate, s)
	}
	b := beep.NewBuffer(beep.Format{SampleRate: Rate, NumChannels: 2, Precision: 4})
	b.Append(src)
	return &Sound{buf: b}
}

// Len is the sound's duration.
func (s *Sound) Len() time.Duration { return Rate.D(s.buf.Len()) }

// PlayOptions shape one voice.
type PlayOptions struct {
	Loop    bool
	GainDB  float64
	FadeIn  time.Duration
	FadeOut time.Duration // used by Stop
	// Offset starts the sound this far in (within the loop when looping):
	// a replay that seeks into the middle of a step. Play returns nil when
	// a sound that does not loop is over by then.
	Offset time.Duration
	// OnStart is called with the output position of the voice's first
	// sample; OnEnd when its last sample (or the end of its fade) went out.
	// They run inside the mixer: they must be quick and must not call the
	// Output. The position is when the sample left the mixer; the device's
	// own buffer (about 40 ms) comes after it.
	OnStart func(pos time.Duration)
	OnEnd   func(pos time.Duration)
}

// Voice is one playing sound.
type Voice struct {
	s       beep.Streamer
	seek    beep.StreamSeeker // nil for a live stream, which cannot loop
	opt     PlayOptions
	gain    float64
	played  int // frames of this voice mixed so far
	fadeIn  int
	fadeOut int // frames left in the fade-out, -1 when not fading
	fadeLen int
	started bool
	ended   bool
}

// Play starts a voice on the output's next pull.
func (o *Output) Play(snd *Sound, opt PlayOptions) *Voice {
	st := snd.buf.Streamer(0, snd.buf.Len())
	if at := Rate.N(opt.Offset); at > 0 {
		if n := snd.buf.Len(); opt.Loop && n > 0 {
			at %= n
		} else if at >= n {
			return nil
		}
		if err := st.Seek(at); err != nil {
			return nil
		}
	}
	return o.play(&Voice{
		s:       st,
		seek:    st,
		opt:     opt,
		gain:    math.Pow(10, opt.GainDB/20),
		fadeIn:  Rate.N(opt.FadeIn),
		fadeOut: -1,
	})
}

// PlayStream plays a live stream (a video's sound track), pulled by the
// mixer as it plays rather than decoded ahead. It is stereo at Rate. Loop is
// the stream's own business: opt.Loop is ignored.
func (o *Output) PlayStream(s beep.Streamer, opt PlayOptions) *Voice {
	opt.Loop = false
	return o.play(&Voice{s: s, opt: opt, gain: math.Pow(10, opt.GainDB/20), fadeIn: Rate.N(opt.FadeIn), fadeOut: -1})
}

func (o *Output) play(v *Voice) *Voice {
	o.mu.Lock()
	o.voices = append(o.voices, v)
	o.mu.Unlock()
	return v
}

// Stop fades a voice out over its FadeOut (or fade, when > 0) and ends it.
func (o *Output) Stop(v *Voice, fade time.Duration) {
	if fade <= 0 {
		fade = v.opt.FadeOut
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if v.ended || v.fadeOut >= 0 {
		return
	}
	n := Rate.N(fade)
	if n < 1 {
		n = 1
	}
	v.fadeOut, v.fadeLen = n, n
}

// StopAll fades every voice out: the patient's stop and the panic button.
func (o *Output) StopAll(fade time.Duration) {
	o.mu.Lock()
	vs := append([]*Voice(nil), o.voices...)
	o.mu.Unlock()
	for _, v := range vs {
		o.Stop(v, fade)
	}
}

// Playing counts the voices not yet ended.
func (o *Output) Playing() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.voices)
}

// mixLocked adds every voice into out; start is the output frame of out[0].
func (o *Output) mixLocked(out [][2]float64, start int64) {
	var tmp [512][2]float64
	keep := o.voices[:0]
	for _, v := range o.voices {
		pos := 0
		for pos < len(out) && !v.ended {
			chunk := tmp[:min(len(tmp), len(out)-pos)]
			n, ok := v.s.Stream(chunk)
			if n == 0 && v.opt.Loop && v.seek != nil && v.seek.Len() > 0 {
				if err := v.seek.Seek(0); err == nil {
					n, ok = v.s.Stream(chunk)
				}
			}
			if !v.started && n > 0 {
				v.started = true
				if v.opt.OnStart != nil {
					v.opt.OnStart(Rate.D(int(start) + pos))
				}
			}
			for i := 0; i < n; i++ {
				g := v.gain
				if v.fadeIn > 0 && v.played < v.fadeIn {
					g *= float64(v.played) / float64(v.fadeIn)
				}
				if v.fadeOut >= 0 {
					g *= float64(v.fadeOut) / float64(v.fadeLen)
					v.fadeOut--
				}
				out[pos+i][0] += chunk[i][0] * g
				out[pos+i][1] += chunk[i][1] * g
				v.played++
				if v.fadeOut == 0 {
					n = i + 1
					break
				}
			}
			pos += n
			if n == 0 || v.fadeOut == 0 || (!ok && !v.opt.Loop) {
				v.ended = true
			}
		}
		if v.ended {
			if v.opt.OnEnd != nil {
				v.opt.OnEnd(Rate.D(int(start) + pos))
			}
			continue
		}
		keep = append(keep, v)
	}
	clear(o.voices[len(keep):])
	o.voices = keep
}

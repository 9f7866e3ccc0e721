package video

import (
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/gen2brain/mpeg"
	"github.com/gopxl/beep/v2"

	"github.com/cueroom/cueroom/engine/audio"
)

// sound is the video's sound track at audio.Rate. It is decoded as the
// mixer pulls it: an MP2 frame (1152 samples) costs tens of microseconds,
// so there is nothing to gain from another goroutine and a queue.
type sound struct {
	v   *Video
	mu  sync.Mutex
	src *mp2Stream
	out beep.Streamer // src at audio.Rate
	pos int           // frames handed out, at audio.Rate
	end bool
}

func newSound(v *Video, r io.ReadSeeker) (*sound, error) {
	m := &mp2Stream{loop: &v.loop}
	err := protect(func() error {
		es, err := newES(r, mpeg.PacketAudio1)
		if err != nil {
			return err
		}
		m.es, m.dec = es, mpeg.NewAudio(es.buf)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rate := v.in.audioRate
	m.perPass = int64(math.Round(v.dur.Seconds() * float64(rate)))
	lead := int64(math.Round(v.in.audioLead.Seconds() * float64(rate)))
	if lead > 0 {
		m.lead = lead
	} else {
		m.skip = -lead
	}
	m.rewind()
	// Decode the first frame now: a sound that will not decode is an error
	// at load, not silence in the session.
	if err := m.decode(); err != nil {
		return nil, err
	}
	if m.done || m.err != nil {
		return nil, fmt.Errorf("its sound does not decode")
	}
	if got := m.dec.Samplerate(); got != rate {
		return nil, fmt.Errorf("the decoder reads the sound at %d Hz, the header says %d Hz", got, rate)
	}
	s := &sound{v: v, src: m, out: m}
	if beep.SampleRate(rate) != audio.Rate {
		s.out = beep.Resample(4, beep.SampleRate(rate), audio.Rate, m)
	}
	return s, nil
}

// Stream hands out sound for the mixer, silence while the video is paused,
// and tells the video's clock how far it got.
func (s *sound) Stream(buf [][2]float64) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.end {
		return 0, false
	}
	if s.v.paused.Load() {
		clear(buf)
		return len(buf), true
	}
	n, ok := s.out.Stream(buf)
	s.pos += n
	s.v.clock.handed(audio.Rate.D(s.pos))
	if !ok {
		s.end = true
	}
	return n, ok
}

// skip drops the first n frames (at audio.Rate), decoding them: the MP2
// frames are short and cheap, and the loop and lead are then kept exactly.
func (s *sound) skip(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var buf [512][2]float64
	for s.pos < n && !s.end {
		got, ok := s.out.Stream(buf[:min(len(buf), n-s.pos)])
		s.pos += got
		if !ok || got == 0 {
			s.end = !ok
			break
		}
	}
	s.v.clock.handed(audio.Rate.D(s.pos))
}

// Err is a decoding failure in the sound (played as silence), or nil.
func (s *sound) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.src.err != nil {
		return fmt.Errorf("%s: sound: %w", s.v.name, s.src.err)
	}
	return nil
}

func (s *sound) close() {
	s.mu.Lock()
	s.end = true
	s.mu.Unlock()
}

// mp2Stream is the decoded sound at the file's rate, shaped to the video:
// shifted by the streams' start offset, padded with silence or cut so each
// pass lasts exactly as long as the pictures, and repeated with the loop.
type mp2Stream struct {
	es   *esSource
	dec  *mpeg.Audio
	loop interface{ Load() bool }

	perPass    int64 // frames per pass
	lead, skip int64 // silence before the sound; sound frames dropped at its start
	emitted    int64 // frames handed out in this pass
	toSkip     int64
	frame      []float32 // the decoded frame, interleaved stereo
	at         int       // next frame of it
	done       bool      // the sound ran out in this pass: silence to its end
	err        error
}

func (m *mp2Stream) rewind() {
	if m.err == nil {
		m.err = protect(func() error {
			m.es.rewind()
			m.dec.Rewind()
			return nil
		})
	}
	m.emitted, m.toSkip, m.frame, m.at = 0, m.skip, nil, 0
	m.done = m.err != nil
}

// decode reads the next frame into m.frame, or sets m.done.
func (m *mp2Stream) decode() error {
	var got *mpeg.Samples
	err := protect(func() error {
		got = m.dec.Decode()
		return nil
	})
	if err != nil {
		m.err, m.done = err, true
		return nil
	}
	if got == nil {
		m.done = true
		return nil
	}
	m.frame, m.at = got.Interleaved, 0
	if m.toSkip > 0 {
		k := min(m.toSkip, int64(len(m.frame)/2))
		m.at, m.toSkip = int(k), m.toSkip-k
	}
	return nil
}

func (m *mp2Stream) Stream(buf [][2]float64) (int, bool) {
	n := 0
	for n < len(buf) {
		if m.emitted >= m.perPass {
			if !m.loop.Load() || m.perPass == 0 {
				return n, n > 0
			}
			m.rewind()
		}
		room := int(min(int64(len(buf)-n), m.perPass-m.emitted))
		var k int
		switch {
		case m.emitted < m.lead:
			k = int(min(int64(room), m.lead-m.emitted))
			clear(buf[n : n+k])
		case m.at < len(m.frame)/2:
			k = min(room, len(m.frame)/2-m.at)
			for i := range k {
				j := 2 * (m.at + i)
				buf[n+i] = [2]float64{float64(m.frame[j]), float64(m.frame[j+1])}
			}
			m.at += k
		case !m.done:
			m.decode()
			continue
		default:
			k = room
			clear(buf[n : n+k])
		}
		n += k
		m.emitted += int64(k)
	}
	return n, true
}

func (m *mp2Stream) Err() error { return m.err }

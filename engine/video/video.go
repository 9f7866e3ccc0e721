// Package video plays MPEG-1 video cues: pictures for the window, sound for
// the audio output, both on one media clock.
//
// Open checks the whole file before a session starts (see probe.go), so a
// file the player cannot play is an error at load, never a frozen picture
// in front of a patient. Start decodes on a goroutine of its own into a
// small queue of RGBA frames ahead of the play position; the window asks
// Frame for the picture due at a media time and uploads it only when it
// changed. Frame does not decode and does not allocate.
//
// Poster hands out the first picture before Start, so the window can have
// it on the GPU before the video's step begins; Frame's first call then
// says the picture has not changed.
//
// # Media time and sync
//
// Time is the video's media time. Without sound it is the wall clock since
// Start, stopped while paused. With sound, once Audio has been taken the
// clock follows the sound instead: it runs with the wall clock but never
// ahead of the sound already handed to the mixer, and never more than
// audioSlack behind it. So the picture waits for the sound to start, stops
// when the output stops pulling (a stall, or audio.Output.SetPaused), and
// a sound card whose clock runs a little fast or slow pulls the picture
// along instead of drifting from it. The mixer works ahead of the speaker
// by about one device buffer; the picture, trailing the mixer by about one
// pull, lands close to what is heard (sound late by up to ~40 ms is well
// inside what viewers accept as in sync).
//
// Typical use:
//
//	v, err := video.Open(fsys, "media/bar.mpg") // at load: report err there
//	if v.HasAudio() {
//		// hand v.Audio() to the audio output as a live voice
//	}
//	v.Start()
//	// each frame, on the window's goroutine:
//	if img, changed := v.Frame(v.Time()); changed {
//		screen.WritePixels(img.Pix)
//	}
//	// at the cue's end:
//	v.Close()
package video

import (
	"fmt"
	"image"
	"io"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/mpeg"

	"github.com/cueroom/cueroom/engine/audio"
	"github.com/gopxl/beep/v2"
)

// ahead is how many decoded frames may wait in the queue: enough to ride
// out a slow frame of the decoder, few enough to keep memory small.
const ahead = 4

// maxSkip is how many late frames in a row the decoder may drop without
// converting them, so a slow machine still shows some movement.
const maxSkip = 3

// Video is an opened MPEG-1 file. Frame is for one goroutine (the
// window's); the other methods are safe from any goroutine.
type Video struct {
	name     string
	in       *info
	frameDur time.Duration
	dur      time.Duration

	pics  *pictures
	files []io.Closer

	free, ready chan *slot
	cur, next   *slot // owned by Frame's caller
	shown       bool

	loop   atomic.Bool
	paused atomic.Bool
	lastT  atomic.Int64 // the latest time asked of Frame
	clock  clock
	snd    *sound // nil when the file has no sound

	// Where run starts: Skip moves them on from the first picture.
	startPass, startFrame int

	thread atomic.Int64 // the decoder's thread ID, once it runs (see background)

	mu      sync.Mutex
	started bool
	closed  bool
	posted  bool        // under mu: Poster handed out the picture Start begins at
	poster  atomic.Bool // set by Start from posted: Frame's first call is not a change
	err     error
	done    chan struct{}
	wg      sync.WaitGroup
}

// slot is one decoded frame and the media time it is due.
type slot struct {
	img *image.RGBA
	t   time.Duration
}

// Open reads and checks name in fsys and decodes its first picture (and
// first sound frame), so every problem with the file shows here. Errors
// name the file, what is wrong and how to fix it.
func Open(fsys fs.FS, name string) (*Video, error) {
	v, err := open(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return v, nil
}

func open(fsys fs.FS, name string) (_ *Video, err error) {
	src := &source{fsys: fsys, name: name}
	r, c, err := src.open()
	if err != nil {
		return nil, err
	}
	in, err := probe(r)
	c.Close()
	if err != nil {
		return nil, err
	}
	v := &Video{
		name:     name,
		in:       in,
		frameDur: time.Duration(float64(time.Second) / in.fps),
		dur:      time.Duration(float64(in.frames) * float64(time.Second) / in.fps),
		done:     make(chan struct{}),
	}
	v.clock.now = time.Now
	defer func() {
		if err != nil {
			v.closeFiles()
		}
	}()

	r, c, err = src.open()
	if err != nil {
		return nil, err
	}
	v.files = append(v.files, c)
	if v.pics, err = newPictures(r); err != nil {
		return nil, err
	}
	f, err := v.pics.next()
	if err == nil && f == nil {
		err = fmt.Errorf("its first picture does not decode")
	}
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, reencode)
	}
	if f.Width != in.width || f.Height != in.height {
		return nil, fmt.Errorf("the decoder sees %d×%d, the header says %d×%d: %s", f.Width, f.Height, in.width, in.height, reencode)
	}

	v.free = make(chan *slot, ahead+2)
	v.ready = make(chan *slot, ahead)
	for i := 0; i < ahead+2; i++ {
		s := &slot{img: image.NewRGBA(image.Rect(0, 0, in.width, in.height))}
		if i == 0 {
			convert(s.img, f)
			v.cur = s
			continue
		}
		v.free <- s
	}

	if in.audio {
		if r, c, err = src.open(); err != nil {
			return nil, err
		}
		v.files = append(v.files, c)
		if v.snd, err = newSound(v, r); err != nil {
			return nil, fmt.Errorf("%v: %s, or drop the sound with -an", err, reencode)
		}
	}
	return v, nil
}

// Size is the picture's size in pixels.
func (v *Video) Size() image.Point { return image.Pt(v.in.width, v.in.height) }

// FrameRate is in frames per second.
func (v *Video) FrameRate() float64 { return v.in.fps }

// Duration is one pass through the file: its pictures times the frame
// time. With the loop on, the sound repeats with the same period.
func (v *Video) Duration() time.Duration { return v.dur }

// HasAudio says whether the file has a sound track.
func (v *Video) HasAudio() bool { return v.snd != nil }

// SetLoop makes the video start over at its end, pictures and sound
// together. Set it before Start.
func (v *Video) SetLoop(loop bool) { v.loop.Store(loop) }

// Audio is the sound track as a stereo stream at audio.Rate, nil when the
// file has none. Taking it ties the video's clock to it (see the package
// comment), so once taken it must be played live, pulled by the mixer as
// it plays: reading it all at once (as audio.Decode does) would run the
// clock to the end. Without the loop it ends after Duration. Its samples
// are decoded when pulled, on the mixer's goroutine.
func (v *Video) Audio() beep.Streamer {
	if v.snd == nil {
		return nil
	}
	v.clock.follow()
	return v.snd
}

// Skip moves the start d into the video (within the loop when it loops;
// to the last picture when d is past the end of one that does not), for a
// replay that seeks into the middle of a step. It decodes up to there, so
// it takes a while for a long d; call it before Start.
func (v *Video) Skip(d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.started || v.closed {
		return fmt.Errorf("%s: Skip must come before Start", v.name)
	}
	if d <= 0 || v.in.frames == 0 {
		return nil
	}
	pass := 0
	if v.loop.Load() && v.dur > 0 {
		pass = int(d / v.dur)
	} else {
		d = min(d, v.dur)
	}
	within := d - time.Duration(pass)*v.dur
	k := min(int(within.Seconds()*v.in.fps), v.in.frames-1)
	if pass > v.startPass {
		if err := v.pics.rewind(); err != nil {
			return err
		}
		v.startFrame = -1
	}
	var last *mpeg.Frame
	for v.startFrame < k {
		f, err := v.pics.next()
		if err != nil {
			return fmt.Errorf("%s: frame %d: %w", v.name, v.startFrame+1, err)
		}
		if f == nil {
			break
		}
		last = f
		v.startFrame++
	}
	if last != nil {
		convert(v.cur.img, last)
		v.posted = false // a poster handed out before shows another picture
	}
	v.startPass = pass
	v.clock.mu.Lock()
	v.clock.base = d
	v.clock.mu.Unlock()
	if v.snd != nil {
		v.snd.skip(audio.Rate.N(d))
	}
	return nil
}

// Poster calls write with the picture the video will start at (the first,
// or where Skip moved it), before Start, and says whether it did: false once
// the video has started or closed. write must copy what it needs before it
// returns. After a Poster, Frame's first call reports no change for that
// picture; a Skip after it undoes that.
func (v *Video) Poster(write func(*image.RGBA)) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.started || v.closed {
		return false
	}
	write(v.cur.img)
	v.posted = true
	return true
}

// Start starts decoding and the media clock. Later calls do nothing.
func (v *Video) Start() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.started || v.closed {
		return
	}
	v.started = true
	v.poster.Store(v.posted)
	v.clock.setRunning(!v.paused.Load())
	v.wg.Add(1)
	go v.run()
}

// Pause freezes the media clock and the sound (which plays silence meanwhile)
// or, with false, lets them go on. The decoder stops once its queue is full.
func (v *Video) Pause(p bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.paused.Store(p)
	if v.started {
		v.clock.setRunning(!p)
	}
}

// Ended says whether a video that does not loop has played its last
// picture for its whole time: its media time reached Duration (within a
// few milliseconds, what resampling its sound may leave short). A video
// that loops never ends.
func (v *Video) Ended() bool {
	if v.loop.Load() || v.dur <= 0 {
		return false
	}
	return v.Time() >= v.dur-min(v.frameDur/2, endSlack)
}

// endSlack is how far short of Duration a video's clock may stop at its
// end: its sound, resampled, can come out a few samples short.
const endSlack = 10 * time.Millisecond

// Time is the media time to pass to Frame: 0 before Start.
func (v *Video) Time() time.Duration { return v.clock.time() }

// Frame returns the picture due at media time t and whether it differs from
// the one the previous call returned (for the first call, from the Poster
// handed out, if any). The image stays valid until the next call; t should
// not go back. Before Start it is the first picture; after the end (without
// the loop) the last one stays.
func (v *Video) Frame(t time.Duration) (img *image.RGBA, changed bool) {
	v.lastT.Store(int64(t))
	if !v.shown {
		v.shown, changed = true, !v.poster.Load()
	}
	for {
		if v.next == nil {
			select {
			case v.next = <-v.ready:
			default:
				return v.cur.img, changed
			}
		}
		if v.next.t > t {
			return v.cur.img, changed
		}
		v.free <- v.cur // never blocks: free holds every slot
		v.cur, v.next = v.next, nil
		changed = true
	}
}

// Err is a decoding failure after Open (the picture then stays on the last
// good frame), or nil. Open's checks make this rare: it means damage inside
// the picture data itself.
func (v *Video) Err() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err == nil && v.snd != nil {
		if err := v.snd.Err(); err != nil {
			return err
		}
	}
	return v.err
}

func (v *Video) fail(err error) {
	v.mu.Lock()
	if v.err == nil {
		v.err = fmt.Errorf("%s: %w", v.name, err)
	}
	v.mu.Unlock()
}

// Close stops the decoder, waits for its goroutine and releases the file.
// The sound stream ends at its next pull.
func (v *Video) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	close(v.done)
	v.mu.Unlock()
	v.wg.Wait()
	if v.snd != nil {
		v.snd.close()
	}
	v.closeFiles()
	return nil
}

func (v *Video) closeFiles() {
	for _, c := range v.files {
		c.Close()
	}
	v.files = nil
}

// run decodes frames into free slots and queues them in display order.
func (v *Video) run() {
	defer v.wg.Done()
	v.thread.Store(int64(background()))
	pass, i := v.startPass, v.startFrame+1 // that frame was decoded by Open or Skip
	skipped := 0
	for {
		var s *slot
		select {
		case s = <-v.free:
		case <-v.done:
			return
		}
		for {
			var f *mpeg.Frame
			if i < v.in.frames {
				var err error
				if f, err = v.pics.next(); err != nil {
					v.fail(fmt.Errorf("pass %d, frame %d: %w", pass+1, i, err))
					return
				}
			}
			if f == nil {
				if !v.loop.Load() || i == 0 {
					return // the last frame stays on screen
				}
				if err := v.pics.rewind(); err != nil {
					v.fail(err)
					return
				}
				pass, i = pass+1, 0
				continue
			}
			t := time.Duration(pass)*v.dur + time.Duration(float64(i)*float64(time.Second)/v.in.fps)
			i++
			// A frame whose successor is already due would never be
			// shown: skip the conversion, the costly half of the work.
			if skipped < maxSkip && t+v.frameDur <= time.Duration(v.lastT.Load()) {
				skipped++
				continue
			}
			skipped = 0
			convert(s.img, f)
			s.t = t
			break
		}
		select {
		case v.ready <- s:
		case <-v.done:
			return
		}
	}
}

// convert writes a decoded frame into dst as RGBA (opaque, so it needs no
// premultiplying for WritePixels).
func convert(dst *image.RGBA, f *mpeg.Frame) { toRGBA(dst, f.YCbCr()) }

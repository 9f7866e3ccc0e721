// Package audio is the one owner of the sound device.
//
// beep decodes and mixes; this package hands the mix to oto (one context per
// process, so nothing else may open one: not beep/speaker, not ebiten/audio).
// With no sound device, or an output that stops pulling samples, the mix goes
// to a null sink paced by the wall clock, so the session and its timing go on.
package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ebitengine/oto/v3"
	"github.com/gopxl/beep/v2"
)

// Rate is the output sample rate; every cue is resampled to it at load.
const Rate beep.SampleRate = 48000

// stallAfter is how long the device may go without pulling before it is
// declared stalled and the null sink takes over.
const stallAfter = time.Second

// Output mixes voices and plays them on the device or the null sink.
type Output struct {
	mu      sync.Mutex
	voices  []*Voice
	paused  bool
	frames  atomic.Int64 // frames pulled so far: the output's clock
	lastPul atomic.Int64 // unix nanos of the last pull
	buf     [][2]float64

	ctx    *oto.Context
	player *oto.Player
	isNull atomic.Bool // true once sound goes to the null sink
	warn   func(string)
	done   chan struct{}
	wg     sync.WaitGroup
	now    func() time.Time
}

// Options configure Open.
type Options struct {
	// NoDevice skips the sound device and plays to the null sink at once.
	NoDevice bool
	// Warn is told, in words for the operator, when audio degrades.
	Warn func(string)
}

// Open starts the output. It never fails for want of a sound device: it
// falls back to the null sink and says so through Warn.
func Open(opt Options) *Output {
	o := &Output{warn: opt.Warn, done: make(chan struct{}), now: time.Now}
	if o.warn == nil {
		o.warn = func(string) {}
	}
	o.lastPul.Store(o.now().UnixNano())
	if !opt.NoDevice {
		if !deviceLikely() {
			o.warn("no sound device or sound server found: playing to a silent null sink instead")
		} else if err := o.openDevice(); err != nil {
			o.warn(fmt.Sprintf("the sound device could not be opened (%s): playing to a silent null sink instead", clip(err.Error(), 160)))
		}
	}
	if o.player == nil {
		o.startNull()
	} else {
		o.wg.Add(1)
		go o.watchdog()
	}
	return o
}

func (o *Output) openDevice() (err error) {
	// oto may panic deep in a platform library on odd systems; a session must
	// not die for its sound.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ctx, ready, err := oto.NewContext(&oto.NewContextOptions{
		SampleRate:   int(Rate),
		ChannelCount: 2,
		Format:       oto.FormatFloat32LE,
		BufferSize:   deviceBuffer,
	})
	if err != nil {
		return err
	}
	select {
	case <-ready:
	case <-time.After(3 * time.Second):
		return errors.New("sound device did not initialise within 3 s")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o.ctx = ctx
	o.player = ctx.NewPlayer(deviceReader{o})
	o.player.SetBufferSize(Rate.N(playerBuffer) * 8) // float32 stereo frames
	o.player.Play()
	return nil
}

// Latency is how long after leaving the mixer a sample reaches the
// speaker: the player's and the device's buffers (their configured sizes;
// the sound server may add a little). The null sink has none.
func (o *Output) Latency() time.Duration {
	if o.isNull.Load() {
		return 0
	}
	return deviceBuffer + playerBuffer
}

// Buffer sizes asked of oto: small, so that onsets are accurate and the
// stop key silences the room quickly, yet safe from underruns.
const (
	deviceBuffer = 40 * time.Millisecond
	playerBuffer = 40 * time.Millisecond
)

// Sink says where sound goes: "device" or "null".
// It is safe to call from OnStart and OnEnd.
func (o *Output) Sink() string {
	if o.isNull.Load() {
		return "null"
	}
	return "device"
}

// watchdog moves playback to the null sink when the device stops pulling.
func (o *Output) watchdog() {
	defer o.wg.Done()
	t := time.NewTicker(stallAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
			last := time.Unix(0, o.lastPul.Load())
			if o.now().Sub(last) > stallAfter {
				o.warn(fmt.Sprintf("sound output stalled (no samples pulled for %v): switching to a silent null sink", o.now().Sub(last).Round(time.Millisecond)))
				o.player.Pause()
				o.startNull()
				return
			}
		}
	}
}

func (o *Output) startNull() {
	o.isNull.Store(true)
	o.wg.Add(1)
	go o.runNull()
}

// runNull pulls the mix at real-time pace, so sound cues start and end when
// they would on a speaker and their onsets are still logged.
func (o *Output) runNull() {
	defer o.wg.Done()
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	start := o.now()
	var pulled int64
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
			due := int64(o.now().Sub(start).Seconds() * float64(Rate))
			for pulled < due {
				n := due - pulled
				if n > 4800 {
					n = 4800
				}
				o.pull(int(n))
				pulled += n
			}
		}
	}
}

// deviceReader feeds oto float32 little-endian stereo frames.
type deviceReader struct{ o *Output }

func (r deviceReader) Read(p []byte) (int, error) {
	frames := len(p) / 8
	if frames == 0 {
		return 0, nil
	}
	mix := r.o.pull(frames)
	for i, s := range mix {
		binary.LittleEndian.PutUint32(p[i*8:], math.Float32bits(float32(s[0])))
		binary.LittleEndian.PutUint32(p[i*8+4:], math.Float32bits(float32(s[1])))
	}
	return frames * 8, nil
}

// pull mixes n frames and advances the output clock.
func (o *Output) pull(n int) [][2]float64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lastPul.Store(o.now().UnixNano())
	if cap(o.buf) < n {
		o.buf = make([][2]float64, n)
	}
	out := o.buf[:n]
	clear(out)
	start := o.frames.Load()
	if !o.paused {
		o.mixLocked(out, start)
	}
	o.frames.Add(int64(n))
	return out
}

// Position is how much audio has gone to the output since Open.
func (o *Output) Position() time.Duration {
	return Rate.D(int(o.frames.Load()))
}

// SetPaused freezes every voice where it is (silence goes out meanwhile).
func (o *Output) SetPaused(p bool) {
	o.mu.Lock()
	o.paused = p
	o.mu.Unlock()
}

// Close stops the output and releases the device.
func (o *Output) Close() error {
	select {
	case <-o.done:
		return nil
	default:
	}
	close(o.done)
	o.wg.Wait()
	// Sound still playing stops here: say so, so that every logged onset
	// has its offset (at the last frame that went out).
	o.mu.Lock()
	vs := o.voices
	o.voices = nil
	o.mu.Unlock()
	end := o.Position()
	for _, v := range vs {
		if v.started && !v.ended && v.opt.OnEnd != nil {
			v.ended = true
			v.opt.OnEnd(end)
		}
	}
	if o.player != nil {
		o.player.Pause()
		return o.player.Close()
	}
	return nil
}

// Drain waits until every voice has ended (their fades played out), or at
// most max, and reports whether all ended. A session's last sounds fade
// rather than being cut off when the program exits.
func (o *Output) Drain(max time.Duration) bool {
	deadline := o.now().Add(max)
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for o.Playing() > 0 {
		if !o.now().Before(deadline) {
			return false
		}
		select {
		case <-o.done:
			return o.Playing() == 0
		case <-t.C:
		}
	}
	return true
}

var _ io.Reader = deviceReader{}

// deviceLikely says whether a sound server or an ALSA card is there. Asking
// the audio libraries on a machine with neither fills the terminal with their
// complaints, so look first.
func deviceLikely() bool {
	if runtime.GOOS != "linux" || os.Getenv("PULSE_SERVER") != "" {
		return true
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		for _, sock := range []string{"pulse/native", "pipewire-0"} {
			if _, err := os.Stat(filepath.Join(dir, sock)); err == nil {
				return true
			}
		}
	}
	pcms, _ := filepath.Glob("/dev/snd/pcmC*p")
	return len(pcms) > 0
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Package simrun holds what the device simulators share: the lifetime of a
// simulator on a port (stop on request, hang-ups seen, blocked I/O
// interrupted by deadlines) and garbage-byte fault injection. The devices'
// framing, pacing and commands stay in their own packages.
package simrun

import (
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/cueroom/cueroom/sensors/synth"
)

type (
	readDeadlineSetter  interface{ SetReadDeadline(time.Time) error }
	writeDeadlineSetter interface{ SetWriteDeadline(time.Time) error }
)

// Serve is a simulator's loop: it returns when quit is closed (a requested
// stop), on an error from rerr (the port's read side failed) or when it
// cannot write. cmds carries the bytes the host sent; it is nil when Run
// was told to discard them.
type Serve func(quit <-chan struct{}, cmds <-chan byte, rerr <-chan error) error

// Run runs serve on rw until ctx is done, done is closed or serve returns.
// It returns nil on a requested stop, serve's error otherwise. A goroutine
// reads rw so that a hang-up is seen; it forwards what it reads to serve if
// forward is set and discards it otherwise (a device that ignores its
// input must not let the host's writes fill the port). To interrupt blocked
// I/O on stop, Run sets rw's deadlines (if rw has them: *os.File of a pty
// master, net.Conn) and clears them again before returning; without them,
// a read blocked in rw ends only when rw's owner closes it.
func Run(ctx context.Context, done <-chan struct{}, rw io.ReadWriter, forward bool, serve Serve) error {
	exit := make(chan struct{}) // closed when serve has returned
	quit := make(chan struct{}) // closed when a stop was requested
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-done:
		case <-exit:
			return
		}
		close(quit)
		setDeadlines(rw, time.Now())
	}()

	var cmds chan byte
	if forward {
		cmds = make(chan byte, 64)
	}
	rerr := make(chan error, 1) // one send at most: never blocks
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		var b [64]byte
		for {
			n, err := rw.Read(b[:])
			if cmds != nil {
				for _, c := range b[:n] {
					select {
					case cmds <- c:
					case <-exit:
						return
					}
				}
			}
			if err != nil {
				rerr <- err
				return
			}
		}
	}()

	var in <-chan byte
	if cmds != nil {
		in = cmds
	}
	err := serve(quit, in, rerr)
	close(exit)
	wg.Wait()
	select {
	case <-ctx.Done():
		err = nil // errors caused by the interruption of a stop are not failures
	case <-done:
		err = nil
	default:
	}
	if d, ok := rw.(readDeadlineSetter); ok && d.SetReadDeadline(time.Now()) == nil {
		rwg.Wait()
	}
	setDeadlines(rw, time.Time{})
	return err
}

func setDeadlines(rw any, t time.Time) {
	if d, ok := rw.(readDeadlineSetter); ok {
		_ = d.SetReadDeadline(t)
	}
	if d, ok := rw.(writeDeadlineSetter); ok {
		_ = d.SetWriteDeadline(t)
	}
}

// Garbage is the garbage-bytes fault: when count is a multiple of every
// (every > 0) it appends n random bytes to out. It returns out and how many
// bytes it appended, for the simulator's record of what it sent.
func Garbage(out []byte, rng *rand.Rand, count, every, n int) ([]byte, int) {
	if every <= 0 || count%every != 0 {
		return out, 0
	}
	for range n {
		out = append(out, byte(rng.UintN(256)))
	}
	return out, n
}

// Base is what every simulator carries: its physiology and its stop
// signal. Embedded, it gives a simulator Stimulus, SetArousal, Synth and
// Close.
type Base struct {
	gen  *synth.Generator
	done chan struct{}
	once sync.Once
}

// NewBase starts the physiology of cfg.
func NewBase(cfg synth.Config) Base {
	return Base{gen: synth.New(cfg), done: make(chan struct{})}
}

// Stimulus marks a cue onset: an SCR follows after 1–3 s (see synth); a
// device without skin conductance does not show it, the generator keeps it
// as ground truth.
func (b *Base) Stimulus() time.Duration { return b.gen.Stimulus() }

// SetArousal sets the simulated arousal (0..1).
func (b *Base) SetArousal(a float64) { b.gen.SetArousal(a) }

// Synth returns the generator, for its ground truth and its fault controls
// (SetFingerOut, Motion, SetArousal).
func (b *Base) Synth() *synth.Generator { return b.gen }

// Stopped is closed by Close.
func (b *Base) Stopped() <-chan struct{} { return b.done }

// Close stops the simulator's Run.
func (b *Base) Close() error {
	b.once.Do(func() { close(b.done) })
	return nil
}

// Overflow is a simulated device's buffer: frames are lost only while the
// port refuses them (nobody reads it: writes block) for longer than the
// device can hold. A writer that is merely late (its goroutine starved,
// its process stopped) loses nothing: a real device keeps its own time
// and sends every frame, and in the simulator's process the reader is as
// late as the writer.
type Overflow struct {
	blocked time.Duration // how long writes have blocked since the writer last caught up
}

// Wrote records a write that took d: longer than a burst means the port
// was full; otherwise the writer caught up.
func (o *Overflow) Wrote(d, burst time.Duration) {
	if d > burst {
		o.blocked += d
	} else {
		o.blocked = 0
	}
}

// Skip is how many of the due frames (one every period) the device's
// buffer, holding max, has lost to the port being full.
func (o *Overflow) Skip(due int64, period, max time.Duration) int64 {
	if period <= 0 {
		return 0
	}
	over := min(due, int64(o.blocked/period)) - int64(max/period)
	if over <= 0 {
		return 0
	}
	o.blocked -= time.Duration(over) * period
	return over
}

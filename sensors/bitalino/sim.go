package bitalino

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/simrun"
	"github.com/cueroom/cueroom/sensors/synth"
)

// SimConfig sets up a simulated BITalino. The zero value answers as
// firmware 5.2 with an EDA sensor on A1 and an ECG on A2.
type SimConfig struct {
	Version     string       // version line without "\n"; default "BITalino_v5.2"
	Inputs      []Input      // sensors plugged in; default A1 = EDA, A2 = ECG; others read mid-scale
	EDARevision EDARevision  // transfer function used to encode EDA; default current
	Synth       synth.Config // the physiology
	// Burst is how often the frames due are written, together, in one
	// write; default 4 ms (4 frames at 1000 Hz). A real BITalino's bytes
	// reach the host in Bluetooth SPP packets (or USB-serial transfers)
	// whose size depends on its Bluetooth module and the host's stack,
	// which docs/devices.md does not document: 4 ms is an assumption.
	// Each burst is one wake-up and read for the bridge, so a link that
	// delivered smaller bursts would cost it more (BenchmarkBridgeCPU
	// measures with this value).
	Burst time.Duration
	// MaxBacklog is how long the port may refuse the frames (no one
	// reading it: writes block) before frames are skipped, as the device's
	// buffer would overflow; default 1 s. A writer that is merely late (the
	// simulator's own goroutine starved, its process stopped) skips
	// nothing: a real device keeps its own time and sends every frame, and
	// in the simulator's process the reader is as late as the writer.
	MaxBacklog time.Duration
	Faults     Faults
	// Photodiode plugs a simulated light sensor into a free analog input
	// (zero: none), for the photodiode proof of onset timing.
	Photodiode Photodiode
	// OnFrame, if set, is called from Run for every frame just before it
	// is written, so tests can compare what was sent with what was decoded.
	OnFrame func(SimFrame)
}

// Photodiode is a light sensor on an analog input that watches a light
// (the window's sync patch) with a delay: the sample the device takes at
// wall time T — the simulator knows each frame's due time, start + k/rate —
// reads high (about 88 % of full scale, a little noise) if Light was on at
// T − Lag, and low (about 6 %) otherwise. A real photodiode on a BITalino
// (its LUX sensor, or any on an analog input) reads the same way: more
// light, more counts. The host sees the input as a raw channel (ADC
// counts).
type Photodiode struct {
	Analog int           // the input, 1..6 for A1..A6; 0: no photodiode
	Lag    time.Duration // the display's delay from presentation to light, 0..MaxLag
	Light  *synth.Light  // what it watches; nil: it reads dark
}

// MaxLag bounds Photodiode.Lag: a display later than that is broken.
const MaxLag = time.Second

// The photodiode's levels, as fractions of full scale, and its noise (s.d.).
const (
	photoHigh  = 0.88
	photoLow   = 0.06
	photoNoise = 0.002
)

// sensorPhotodiode marks the photodiode's input inside the simulator; the
// host sees a Raw input.
const sensorPhotodiode Sensor = "photodiode"

// Faults injects errors into the stream, every Nth frame (0 = never).
type Faults struct {
	GarbageEvery int // write random bytes before every Nth frame
	GarbageLen   int // how many (default 5)
	CorruptEvery int // send every Nth frame with a wrong CRC
}

// SimFrame is a frame the simulator sent.
type SimFrame struct {
	Frame   Frame
	Garbage int  // garbage bytes written just before it
	Corrupt bool // its CRC was deliberately wrong
}

// Sim speaks the BITalino protocol on an io.ReadWriter: it answers the
// version query, honours the rate, start and stop commands, and streams
// frames at the set rate, paced by the wall clock, with values from synth.
type Sim struct {
	cfg     SimConfig
	sensors [MaxAnalog]Sensor // by analog input
	simrun.Base
	rng *rand.Rand // garbage bytes; used by Run only
	// photoRNG is the photodiode's noise, apart so that adding one shifts
	// neither the physiology nor the garbage; used by Run only.
	photoRNG *rand.Rand
}

// NewSim checks cfg and returns a simulator.
func NewSim(cfg SimConfig) (*Sim, error) {
	if cfg.Version == "" {
		cfg.Version = "BITalino_v5.2"
	}
	if cfg.EDARevision == "" {
		cfg.EDARevision = EDACurrent
	}
	if !cfg.EDARevision.valid() {
		return nil, fmt.Errorf("bitalino sim: EDA sensor revision %q is unknown", cfg.EDARevision)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 4 * time.Millisecond // 4 frames per write at 1000 Hz
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = time.Second
	}
	if cfg.Faults.GarbageLen <= 0 {
		cfg.Faults.GarbageLen = 5
	}
	inputs, err := checkInputs(cfg.Inputs)
	if err != nil {
		return nil, err
	}
	if err := checkPhotodiode(cfg.Photodiode, inputs); err != nil {
		return nil, err
	}
	s := &Sim{cfg: cfg, Base: simrun.NewBase(cfg.Synth),
		rng:      rand.New(rand.NewPCG(cfg.Synth.Seed, 0xb17a1)), /* garbage must not shift the physiology */
		photoRNG: rand.New(rand.NewPCG(cfg.Synth.Seed, 0x11947))}
	for i := range s.sensors {
		s.sensors[i] = Raw
	}
	for _, in := range inputs {
		s.sensors[in.Analog-1] = in.Sensor
	}
	if a := cfg.Photodiode.Analog; a != 0 {
		s.sensors[a-1] = sensorPhotodiode
	}
	return s, nil
}

// checkPhotodiode says what is wrong with p, given the inputs in use.
func checkPhotodiode(p Photodiode, inputs []Input) error {
	switch {
	case p.Analog == 0:
		return nil
	case p.Analog < 1 || p.Analog > MaxAnalog:
		return fmt.Errorf("bitalino sim: photodiode on input A%d, which does not exist: use A1..A6", p.Analog)
	case p.Lag < 0 || p.Lag > MaxLag:
		return fmt.Errorf("bitalino sim: photodiode lag %v is out of range: use 0 to %v", p.Lag, MaxLag)
	}
	for _, in := range inputs {
		if in.Analog == p.Analog {
			return fmt.Errorf("bitalino sim: photodiode on A%d, where the %s sensor is: choose a free input", p.Analog, in.Sensor)
		}
	}
	return nil
}

// simState is what the device remembers between commands.
type simState struct {
	live     bool
	code     int // rate code
	pos      [MaxAnalog]column
	n        int
	seq      uint8
	t0       time.Time
	produced int64
	count    int // frames sent since Run started, for Faults
	overruns int64
	overflow simrun.Overflow // frames lost only while the port refuses them
}

// Run serves rw until ctx is done, Close is called or rw fails. It returns
// nil on a requested stop. To interrupt blocked I/O on stop it sets rw's
// deadlines (if rw has them: *os.File of a pty master, net.Conn) and clears
// them again before returning; without them, a read blocked in rw ends
// only when rw's owner closes it.
func (s *Sim) Run(ctx context.Context, rw io.ReadWriter) error {
	return simrun.Run(ctx, s.Stopped(), rw, true, func(quit <-chan struct{}, cmds <-chan byte, rerr <-chan error) error {
		return s.serve(quit, rw, cmds, rerr)
	})
}

func (s *Sim) serve(quit <-chan struct{}, w io.Writer, cmds <-chan byte, rerr <-chan error) error {
	st := simState{code: 3}
	ticker := time.NewTicker(s.cfg.Burst)
	defer ticker.Stop()
	var out []byte
	for {
		var tick <-chan time.Time
		if st.live {
			tick = ticker.C
		}
		select {
		case <-quit:
			return nil
		case err := <-rerr:
			// drain commands already read before reporting
			for len(cmds) > 0 {
				if err := s.command(&st, w, <-cmds); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("bitalino sim: the port was closed: %w", err)
			}
			return fmt.Errorf("bitalino sim: reading commands: %w", err)
		case c := <-cmds:
			if err := s.command(&st, w, c); err != nil {
				return err
			}
		case <-tick:
			// Now, not the tick's time: a tick kept while a write
			// blocked is stale.
			out = s.frames(&st, time.Now(), out[:0])
			if len(out) > 0 {
				began := time.Now()
				if _, err := w.Write(out); err != nil {
					return fmt.Errorf("bitalino sim: writing frames: %w", err)
				}
				st.overflow.Wrote(time.Since(began), s.cfg.Burst)
			}
		}
	}
}

// command applies one command byte. Idle mode: version, rate, start,
// battery threshold (ignored). Live mode: only stop/idle matter.
func (s *Sim) command(st *simState, w io.Writer, c byte) error {
	if st.live {
		if c == cmdStop || c == cmdIdle {
			st.live = false
		}
		return nil
	}
	switch {
	case c == cmdVersion:
		if _, err := io.WriteString(w, s.cfg.Version+"\n"); err != nil {
			return fmt.Errorf("bitalino sim: writing version: %w", err)
		}
	case c&0x3F == 0x03: // rate: <code> 0 0 0 0 1 1
		st.code = int(c >> 6)
	case c&0x03 == 0x01 || c&0x03 == 0x02: // live or simulated acquisition
		mask := c >> 2
		if mask == 0 {
			return nil
		}
		st.n = 0
		for a := range MaxAnalog {
			if mask&(1<<a) != 0 {
				st.pos[st.n] = column{sensor: s.sensors[a], bits: fieldBits(st.n)}
				st.n++
			}
		}
		st.live, st.t0, st.produced, st.seq = true, time.Now(), 0, 0
	}
	return nil
}

// frames appends the frames due by now: frame k (k ≥ 1) is due at k/rate
// after the start. A writer whose port has refused frames for more than
// MaxBacklog skips those beyond it, as the device's buffer would overflow:
// the sequence numbers show the gap. A writer late for any other reason
// sends every frame due.
func (s *Sim) frames(st *simState, now time.Time, out []byte) []byte {
	rate := int64(rates[st.code])
	due := int64(now.Sub(st.t0))*rate/int64(time.Second) - st.produced
	dt := time.Second / time.Duration(rate)
	if skip := st.overflow.Skip(due, dt, s.cfg.MaxBacklog); skip > 0 {
		st.seq += uint8(skip)
		st.seq &= 0x0F
		st.produced += skip
		st.overruns += skip
		s.Synth().Next(time.Duration(skip) * dt)
		due -= skip
	}
	fl := s.cfg.Faults
	for range due {
		p := s.Synth().Next(dt)
		f := Frame{Seq: st.seq, N: st.n}
		for k := 0; k < st.n; k++ {
			c := st.pos[k]
			switch c.sensor {
			case EDA:
				f.ADC[k] = edaADC(s.cfg.EDARevision, p.EDA, c.bits)
			case ECG:
				f.ADC[k] = ecgADC(p.ECG, c.bits)
			case sensorPhotodiode:
				// this frame is the (produced+1)-th: due (produced+1)/rate after the start
				taken := st.t0.Add(time.Duration(st.produced+1) * time.Second / time.Duration(rate))
				f.ADC[k] = s.photodiode(taken, c.bits)
			default:
				f.ADC[k] = 1 << (c.bits - 1)
			}
		}
		st.count++
		sf := SimFrame{Frame: f}
		out, sf.Garbage = simrun.Garbage(out, s.rng, st.count, fl.GarbageEvery, fl.GarbageLen)
		out, _ = AppendFrame(out, f) // st.n is 1..6 here
		if fl.CorruptEvery > 0 && st.count%fl.CorruptEvery == 0 {
			sf.Corrupt = true
			out[len(out)-1] ^= 0x05 // any non-zero flip of the CRC nibble
		}
		if s.cfg.OnFrame != nil {
			s.cfg.OnFrame(sf)
		}
		st.seq = (st.seq + 1) & 0x0F
		st.produced++
	}
	return out
}

// photodiode reads the light as it was Lag before taken.
func (s *Sim) photodiode(taken time.Time, bits uint) uint16 {
	level := photoLow
	if s.cfg.Photodiode.Light.At(taken.Add(-s.cfg.Photodiode.Lag)) {
		level = photoHigh
	}
	full := float64(uint(1) << bits)
	return clampADC((level+photoNoise*s.photoRNG.NormFloat64())*full, bits)
}

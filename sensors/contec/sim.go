package contec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/simrun"
	"github.com/cueroom/cueroom/sensors/synth"
)

// SimConfig sets up a simulated CMS50D+. The zero value is a firmware 4.6
// unit that streams until the port closes.
type SimConfig struct {
	Protocol Protocol     // default ProtocolNew
	Synth    synth.Config // the physiology
	// StopAfter (new protocol) ends the stream this long after the last
	// start command, as some units do after 30 s; 0 never.
	StopAfter time.Duration
	Burst     time.Duration // how often due packets are written, together; default 20 ms
	// MaxBacklog is how long the port may refuse the packets (nobody
	// reading it: writes block) before packets are skipped, as the unit's
	// buffer would overflow; default 1 s. A writer merely late skips
	// nothing (see simrun.Overflow).
	MaxBacklog time.Duration
	Faults     Faults
	// OnPacket, if set, is called from Run for every packet just before it
	// is written.
	OnPacket func(SimPacket)
}

// Faults injects errors into the stream, every Nth packet (0 = never).
// Physiological faults (finger out, motion, noise) are the generator's:
// see Sim.Synth and synth.Config.
type Faults struct {
	GarbageEvery  int // write random bytes before every Nth packet
	GarbageLen    int // how many (default 5)
	TruncateEvery int // send only the first half of every Nth packet
}

// SimPacket is a packet the simulator sent.
type SimPacket struct {
	Packet
	Garbage   int  // garbage bytes written just before it
	Truncated bool // only its first half was sent
}

// Sim sends a CMS50D+'s live data on an io.ReadWriter: the old protocol
// from the start, unprompted; the new one after each start command, until
// StopAfter has passed since the last one. Values come from synth: the
// pulse wave, a pulse rate averaged over beats, SpO₂, a beat marker on the
// two packets after each pulse, and the finger-out and searching flags.
type Sim struct {
	cfg SimConfig
	simrun.Base
	rng    *rand.Rand // garbage bytes; used by Run only
	starts atomic.Int64
}

// NewSim checks cfg and returns a simulator.
func NewSim(cfg SimConfig) (*Sim, error) {
	if cfg.Protocol == "" {
		cfg.Protocol = ProtocolNew
	}
	if cfg.Protocol != ProtocolNew && cfg.Protocol != ProtocolOld {
		return nil, fmt.Errorf("contec sim: protocol %q is unknown: use %q or %q", cfg.Protocol, ProtocolNew, ProtocolOld)
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 20 * time.Millisecond
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = time.Second
	}
	if cfg.Faults.GarbageLen <= 0 {
		cfg.Faults.GarbageLen = 5
	}
	if cfg.Faults.GarbageEvery < 0 || cfg.Faults.TruncateEvery < 0 || cfg.StopAfter < 0 {
		return nil, fmt.Errorf("contec sim: fault intervals and StopAfter must not be negative")
	}
	return &Sim{cfg: cfg, Base: simrun.NewBase(cfg.Synth),
		rng: rand.New(rand.NewPCG(cfg.Synth.Seed, 0xc0)) /* garbage must not shift the physiology */}, nil
}

// Starts returns how many start commands the simulator has received.
func (s *Sim) Starts() int { return int(s.starts.Load()) }

// simState is the unit's state: the stream and what its display shows.
type simState struct {
	window    [9]byte // the last bytes received, to spot the start command
	streaming bool
	t0        time.Time // pacing origin
	stopAt    time.Time // zero: never
	produced  int64
	count     int // packets since Run started, for Faults
	overruns  int64
	overflow  simrun.Overflow // packets lost only while the port refuses them

	pr        float64 // displayed pulse rate, averaged over beats
	beat      int     // packets still to carry the beat marker
	fingerOut bool
	search    time.Duration // generator time until which the unit searches
}

// Run serves rw until ctx is done, Close is called or rw fails. It returns
// nil on a requested stop. To interrupt blocked I/O on stop it sets rw's
// deadlines (if rw has them) and clears them again before returning.
func (s *Sim) Run(ctx context.Context, rw io.ReadWriter) error {
	return simrun.Run(ctx, s.Stopped(), rw, true, func(quit <-chan struct{}, cmds <-chan byte, rerr <-chan error) error {
		return s.serve(quit, rw, cmds, rerr)
	})
}

func (s *Sim) serve(quit <-chan struct{}, w io.Writer, cmds <-chan byte, rerr <-chan error) error {
	var st simState
	if s.cfg.Protocol == ProtocolOld {
		st.streaming, st.t0 = true, time.Now() // streams as soon as it is on
	}
	ticker := time.NewTicker(s.cfg.Burst)
	defer ticker.Stop()
	var out []byte
	for {
		select {
		case <-quit:
			return nil
		case err := <-rerr:
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("contec sim: the port was closed: %w", err)
			}
			return fmt.Errorf("contec sim: reading commands: %w", err)
		case c := <-cmds:
			s.command(&st, c, time.Now())
		case <-ticker.C:
			// Now, not the tick's time: a tick kept while a write
			// blocked is stale.
			out = s.packets(&st, time.Now(), out[:0])
			if len(out) > 0 {
				began := time.Now()
				if _, err := w.Write(out); err != nil {
					return fmt.Errorf("contec sim: writing packets: %w", err)
				}
				st.overflow.Wrote(time.Since(began), s.cfg.Burst)
			}
		}
	}
}

// command takes one byte from the host: the new protocol's start command
// (re)starts the stream; everything else is ignored.
func (s *Sim) command(st *simState, c byte, now time.Time) {
	copy(st.window[:], st.window[1:])
	st.window[8] = c
	if s.cfg.Protocol != ProtocolNew || st.window != startCommand {
		return
	}
	s.starts.Add(1)
	if !st.streaming {
		st.streaming, st.t0, st.produced = true, now, 0
	}
	if s.cfg.StopAfter > 0 {
		st.stopAt = now.Add(s.cfg.StopAfter)
	}
}

// packets appends the packets due by now: packet k (k ≥ 1) is due k/60 s
// after the start. A writer whose port refused packets for longer than
// MaxBacklog skips those beyond it.
func (s *Sim) packets(st *simState, now time.Time, out []byte) []byte {
	if !st.streaming {
		return out
	}
	end := now
	if !st.stopAt.IsZero() && end.After(st.stopAt) {
		end = st.stopAt
	}
	period := time.Second / Rate
	due := int64(end.Sub(st.t0))*Rate/int64(time.Second) - st.produced
	if skip := st.overflow.Skip(due, period, s.cfg.MaxBacklog); skip > 0 {
		st.produced += skip
		st.overruns += skip
		s.Synth().Next(time.Duration(skip) * period)
		due -= skip
	}
	fl := s.cfg.Faults
	for range due {
		p := s.packet(st, s.Synth().Next(period))
		st.count++
		sp := SimPacket{Packet: p}
		out, sp.Garbage = simrun.Garbage(out, s.rng, st.count, fl.GarbageEvery, fl.GarbageLen)
		start := len(out)
		if s.cfg.Protocol == ProtocolOld {
			out = appendOld(out, p)
		} else {
			out = appendNew(out, p)
		}
		if fl.TruncateEvery > 0 && st.count%fl.TruncateEvery == 0 {
			sp.Truncated = true
			out = out[:start+(len(out)-start)/2]
		}
		if s.cfg.OnPacket != nil {
			s.cfg.OnPacket(sp)
		}
		st.produced++
	}
	if !st.stopAt.IsZero() && !now.Before(st.stopAt) {
		st.streaming, st.stopAt = false, time.Time{}
	}
	return out
}

// packet is what the unit shows and sends for one point of physiology.
func (s *Sim) packet(st *simState, p synth.Point) Packet {
	if p.FingerOut {
		st.fingerOut, st.pr, st.beat = true, 0, 0
		return Packet{Status: FingerOut}
	}
	if st.fingerOut { // back in: the unit searches for a pulse for a while
		st.fingerOut = false
		st.search = p.T + 2*time.Second
	}
	pk := Packet{
		Pleth:    clamp7(20 + 80*p.PPG),
		Wave2:    clamp7(10 + 60*p.PPG),
		Bar:      uint8(min(max(math.Round(p.PPG*10), 0), 15)),
		Strength: 5, // 0..7: bits 3..5 of byte 2 stay clear, as one account of the new protocol requires
	}
	if p.Motion {
		pk.Strength = 2
	}
	if p.T < st.search {
		pk.Status |= Searching
		pk.Strength = 1
		return pk
	}
	if p.Pulse {
		if st.pr == 0 {
			st.pr = float64(p.HR)
		}
		st.pr += 0.3 * (float64(p.HR) - st.pr)
		st.beat = 2
	}
	if st.beat > 0 {
		pk.Status |= PulseBeat
		st.beat--
	}
	if st.pr > 0 {
		pk.PR = uint8(min(math.Round(st.pr), 127)) // the new protocol has 7 bits
		pk.SpO2 = uint8(math.Round(float64(p.SpO2)))
	}
	if p.SpO2 < 94 {
		pk.Status |= SpO2Dropping
	}
	return pk
}

func clamp7(x float64) uint8 { return uint8(min(max(math.Round(x), 0), 127)) }

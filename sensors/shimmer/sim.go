package shimmer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/simrun"
	"github.com/cueroom/cueroom/sensors/synth"
)

// SimConfig sets up a simulated Shimmer3 GSR+. The zero value is a unit
// idle until told to stream, its clock at 0 when Run starts.
type SimConfig struct {
	Synth synth.Config // the physiology
	// Clock0 is the device clock (24-bit, 32768 Hz ticks) when Run
	// starts. Set it near 2²⁴ to see the timestamps wrap.
	Clock0 uint32
	// PPGBase and PPGSwing shape the A13 signal in mV: the level at a
	// pulse's foot and the pulse height; defaults 1200 and 250.
	PPGBase, PPGSwing float64
	Burst             time.Duration // how often due packets are written, together; default 10 ms
	// MaxBacklog is how long the port may refuse the packets (nobody
	// reading it: writes block; a writer merely late skips nothing, see
	// simrun.Overflow)
	// before packets are skipped (a gap in the timestamps); default 1 s.
	MaxBacklog time.Duration
	Faults     Faults
	// OnPacket, if set, is called from Run for every data packet just
	// before it is written.
	OnPacket func(SimPacket)
}

// Faults injects errors into the stream, every Nth packet (0 = never).
// Physiological faults (motion, finger out, noise) are the generator's:
// see Sim.Synth and synth.Config.
type Faults struct {
	GarbageEvery  int // write random bytes before every Nth packet
	GarbageLen    int // how many (default 5)
	TruncateEvery int // send only the first half of every Nth packet
}

// SimPacket is a data packet the simulator sent.
type SimPacket struct {
	Packet
	Garbage   int  // garbage bytes written just before it
	Truncated bool // only its first half was sent
}

// Sim speaks the Shimmer3 LogAndStream Bluetooth protocol on an
// io.ReadWriter: it acknowledges every command with 0xFF before any reply,
// answers inquiry, rate, GSR range, version and status queries, honours
// set sensors (GSR, A13, battery), set rate, set GSR range (fixed or auto),
// start and stop streaming and the link CRC (0, 1 or 2 bytes), and streams
// packets paced by the wall clock with values from synth.
type Sim struct {
	cfg SimConfig
	simrun.Base
	rng *rand.Rand // garbage bytes; used by Run only

}

// NewSim checks cfg and returns a simulator.
func NewSim(cfg SimConfig) (*Sim, error) {
	if cfg.Burst <= 0 {
		cfg.Burst = 10 * time.Millisecond
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = time.Second
	}
	if cfg.Faults.GarbageLen <= 0 {
		cfg.Faults.GarbageLen = 5
	}
	if cfg.PPGBase == 0 {
		cfg.PPGBase = 1200
	}
	if cfg.PPGSwing == 0 {
		cfg.PPGSwing = 250
	}
	if cfg.Faults.GarbageEvery < 0 || cfg.Faults.TruncateEvery < 0 {
		return nil, fmt.Errorf("shimmer sim: fault intervals must not be negative")
	}
	return &Sim{cfg: cfg, Base: simrun.NewBase(cfg.Synth),
		rng: rand.New(rand.NewPCG(cfg.Synth.Seed, 0x5a1)) /* garbage must not shift the physiology */}, nil
}

// simState is what the device remembers between commands.
type simState struct {
	t0      time.Time // when Run started: the device clock's origin
	crc     int
	div     uint16
	sensors uint32
	rng     GSRRange
	lay     layout

	// a command being received: its code and the arguments still due
	cmd  byte
	args []byte
	want int

	streaming bool
	start     time.Time // wall time of the start command
	ts        uint32    // timestamp of the next packet
	produced  int64
	count     int // packets since Run started, for Faults
	overruns  int64
	overflow  simrun.Overflow // packets lost only while the port refuses them
}

// Run serves rw until ctx is done, Close is called or rw fails. It returns
// nil on a requested stop. To interrupt blocked I/O on stop it sets rw's
// deadlines (if rw has them) and clears them again before returning.
func (s *Sim) Run(ctx context.Context, rw io.ReadWriter) error {
	return simrun.Run(ctx, s.Stopped(), rw, true, func(quit <-chan struct{}, cmds <-chan byte, rerr <-chan error) error {
		return s.serve(quit, rw, cmds, rerr)
	})
}

func (s *Sim) newState(now time.Time) simState {
	// power-on defaults: 51.2 Hz, no sensors, auto range, CRC off
	st := simState{t0: now, div: 640, rng: GSRAuto}
	st.lay, _ = newLayout(nil)
	return st
}

func (s *Sim) serve(quit <-chan struct{}, w io.Writer, cmds <-chan byte, rerr <-chan error) error {
	st := s.newState(time.Now())
	ticker := time.NewTicker(s.cfg.Burst)
	defer ticker.Stop()
	var out []byte
	for {
		var tick <-chan time.Time
		if st.streaming {
			tick = ticker.C
		}
		select {
		case <-quit:
			return nil
		case err := <-rerr:
			for len(cmds) > 0 { // answer what was read before reporting
				if err := s.write(&st, w, s.command(&st, <-cmds, time.Now(), nil)); err != nil {
					return err
				}
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("shimmer sim: the port was closed: %w", err)
			}
			return fmt.Errorf("shimmer sim: reading commands: %w", err)
		case c := <-cmds:
			// a packet due now goes before the reply, as the device's
			// transmit buffer would send it
			now := time.Now()
			out = s.packets(&st, now, out[:0])
			out = s.command(&st, c, now, out)
			if err := s.write(&st, w, out); err != nil {
				return err
			}
		case <-tick:
			// Now, not the tick's time: a tick kept while a write
			// blocked is stale.
			if err := s.write(&st, w, s.packets(&st, time.Now(), out[:0])); err != nil {
				return err
			}
		}
	}
}

func (s *Sim) write(st *simState, w io.Writer, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	began := time.Now()
	defer func() { st.overflow.Wrote(time.Since(began), s.cfg.Burst) }()
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("shimmer sim: writing: %w", err)
	}
	return nil
}

// argLen is how many argument bytes follow a command.
func argLen(c byte) int {
	switch c {
	case cmdSetRate:
		return 2
	case cmdSensors:
		return 3
	case cmdSetRange, cmdCRC:
		return 1
	}
	return 0
}

// command takes one byte from the host and appends the device's answer
// (if a command is complete) to out.
func (s *Sim) command(st *simState, c byte, now time.Time, out []byte) []byte {
	if st.want > 0 {
		st.args = append(st.args, c)
		if st.want--; st.want > 0 {
			return out
		}
	} else {
		st.cmd, st.args, st.want = c, st.args[:0], argLen(c)
		if st.want > 0 {
			return out
		}
	}
	a := st.args
	start := len(out)
	out = append(out, ack)
	switch st.cmd {
	case cmdInquiry:
		out = append(out, rspInquiry)
		out = binary.LittleEndian.AppendUint16(out, st.div)
		// config bytes 0..3 (ranges and options of other sensors), as a
		// unit fresh from Consensys reports them; buffer size 1
		out = append(out, 0x02, 0xFF, 0x01, 0x08, byte(st.lay.n), 1)
		out = append(out, st.lay.ids[:st.lay.n]...)
	case cmdGetRate:
		out = binary.LittleEndian.AppendUint16(append(out, rspRate), st.div)
	case cmdSetRate:
		if div := binary.LittleEndian.Uint16(a); div > 0 {
			st.div = div
		}
	case cmdSensors:
		st.sensors = uint32(a[0]) | uint32(a[1])<<8 | uint32(a[2])<<16
		var ids []byte // the firmware's order: battery, A13, GSR
		if st.sensors&sensorVBatt != 0 {
			ids = append(ids, chanVBatt)
		}
		if st.sensors&sensorA13 != 0 {
			ids = append(ids, chanA13)
		}
		if st.sensors&sensorGSR != 0 {
			ids = append(ids, chanGSR)
		}
		st.lay, _ = newLayout(ids)
	case cmdSetRange:
		if r, ok := rangeFromWire(a[0]); ok {
			st.rng = r
		}
	case cmdGetRange:
		out = append(out, rspRange, st.rng.wire())
	case cmdFirmware: // LogAndStream (type 3) v0.16.0
		out = append(out, rspFirmware, 3, 0, 0, 0, 16, 0)
	case cmdHWVersion:
		out = append(out, rspHWVersion, 3) // 3 = Shimmer3
	case cmdStatus:
		var b byte
		if st.streaming {
			b = 1<<4 | 1<<1 // streaming, sensing
		}
		out = append(out, rspInstream, rspStatus, b)
	case cmdCRC:
		if a[0] <= 2 {
			st.crc = int(a[0]) // switched before the ACK is sent: it carries the new CRC
		}
	case cmdStart:
		if !st.streaming {
			st.streaming, st.start, st.produced = true, now, 0
			st.ts = s.clock(st, now)
		}
	case cmdStop:
		st.streaming = false
	default:
		return out[:start] // not a command this firmware knows: no reply
	}
	return appendCRC(out, start, st.crc)
}

// clock is the device's 24-bit clock at wall time now.
func (s *Sim) clock(st *simState, now time.Time) uint32 {
	ticks := int64(now.Sub(st.t0)) * TicksPerSecond / int64(time.Second)
	return (s.cfg.Clock0 + uint32(ticks)) & 0xFFFFFF
}

// packets appends the packets due by now: packet k (k ≥ 1) is due k sample
// periods after the start command. A writer whose port refused packets for
// longer than MaxBacklog skips those beyond it, as the device's buffer
// would overflow: the timestamps show the gap.
func (s *Sim) packets(st *simState, now time.Time, out []byte) []byte {
	if !st.streaming {
		return out
	}
	div := int64(st.div)
	period := time.Duration(div) * time.Second / TicksPerSecond
	due := int64(now.Sub(st.start))*TicksPerSecond/(div*int64(time.Second)) - st.produced
	if skip := st.overflow.Skip(due, period, s.cfg.MaxBacklog); skip > 0 {
		st.ts = (st.ts + uint32(skip*div)) & 0xFFFFFF
		st.produced += skip
		st.overruns += skip
		s.Synth().Next(time.Duration(skip) * period)
		due -= skip
	}
	fl := s.cfg.Faults
	for range due {
		p := s.Synth().Next(period)
		pk := Packet{Timestamp: st.ts,
			GSR: gsrRaw(p.EDA, st.rng),
			PPG: ppgRaw(s.cfg.PPGBase + s.cfg.PPGSwing*p.PPG)}
		st.count++
		sp := SimPacket{Packet: pk}
		out, sp.Garbage = simrun.Garbage(out, s.rng, st.count, fl.GarbageEvery, fl.GarbageLen)
		start := len(out)
		out = appendPacket(out, &st.lay, pk, st.crc)
		if fl.TruncateEvery > 0 && st.count%fl.TruncateEvery == 0 {
			sp.Truncated = true
			out = out[:start+(len(out)-start)/2]
		}
		if s.cfg.OnPacket != nil {
			s.cfg.OnPacket(sp)
		}
		st.ts = (st.ts + uint32(st.div)) & 0xFFFFFF
		st.produced++
	}
	return out
}

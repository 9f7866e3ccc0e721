package lineproto

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/internal/simrun"
	"github.com/cueroom/cueroom/sensors/synth"
)

// SimConfig sets up a simulated Arduino rig. The zero value prints Grove
// GSR readings 20 times a second.
type SimConfig struct {
	Mode Mode    // Grove (default; Auto means Grove), CSV or KV
	Rate float64 // lines per second; default 20 for Grove, else 50
	// HeaderEvery repeats the CSV header every N lines; 0 prints it only
	// first, as a sketch's setup() does.
	HeaderEvery int
	Synth       synth.Config // the physiology
	Faults      Faults
	// MaxBacklog is how far behind the wall clock the writer may fall
	// before lines are skipped (an Arduino's serial buffer overflows);
	// default 1 s.
	MaxBacklog time.Duration
	// OnLine, if set, is called from Run for every line just before it is
	// written, so tests can compare what was sent with what was decoded.
	OnLine func(SimLine)
}

// Faults injects errors, every Nth line (0 = never).
type Faults struct {
	GarbageEvery int // bytes of line noise (0x80..0xFE, no newline) before the line, which spoils it
	GarbageLen   int // how many; default 8
	LongEvery    int // a line longer than the default limit instead of the sample
	TextEvery    int // a debug message ("# ...") instead of the sample
	OpenEvery    int // Grove: the electrodes read open (a reading of 512..1023)
}

// SimLine is one line the simulator wrote (without its CRLF).
type SimLine struct {
	Line string
	// Values is what a decoder must read from the line, in the stream's
	// channel order; nil for a line that is not a sample (header, fault).
	Values []float64
	// Seq is the counter the line carries (CSV millis, KV seq); Grove lines
	// carry none.
	Seq     uint32
	Corrupt bool // garbage was written before it: a decoder must drop it
}

// Sim prints lines like an Arduino sketch, paced by the wall clock, with
// values from synth. It ignores what it is sent.
type Sim struct {
	cfg SimConfig
	simrun.Base
	rng *rand.Rand
}

// NewSim checks cfg and returns a simulator.
func NewSim(cfg SimConfig) (*Sim, error) {
	switch cfg.Mode {
	case "", Auto:
		cfg.Mode = Grove
	case Grove, CSV, KV:
	default:
		return nil, fmt.Errorf("lineproto sim: mode %q is unknown: use %s, %s or %s", cfg.Mode, Grove, CSV, KV)
	}
	if cfg.Rate == 0 {
		cfg.Rate = 50
		if cfg.Mode == Grove {
			cfg.Rate = 20
		}
	}
	if !(cfg.Rate > 0 && cfg.Rate <= 2000) {
		return nil, fmt.Errorf("lineproto sim: rate %v lines/s is out of range: use 0 < rate ≤ 2000", cfg.Rate)
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = time.Second
	}
	if cfg.Faults.GarbageLen <= 0 {
		cfg.Faults.GarbageLen = 8
	}
	return &Sim{cfg: cfg, Base: simrun.NewBase(cfg.Synth),
		rng: rand.New(rand.NewPCG(cfg.Synth.Seed, 0x11e5))}, nil
}

// Header is the CSV simulator's header line.
const Header = "millis,eda_uS,hr_bpm"

type deadliner interface{ SetWriteDeadline(time.Time) error }

// Run writes lines to w until ctx is done, Close is called or a write
// fails. It returns nil on a requested stop; a write blocked on a full port
// is interrupted through w's write deadline if it has one (a pty master).
func (s *Sim) Run(ctx context.Context, w io.ReadWriter) error {
	stopped := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-s.Stopped():
		case <-stopped:
			return
		}
		if d, ok := w.(deadliner); ok {
			_ = d.SetWriteDeadline(time.Now())
		}
	}()
	err := s.serve(ctx, w)
	close(stopped)
	wg.Wait()
	if d, ok := w.(deadliner); ok {
		_ = d.SetWriteDeadline(time.Time{})
	}
	select {
	case <-ctx.Done():
		return nil
	case <-s.Stopped():
		return nil
	default:
		return err
	}
}

func (s *Sim) serve(ctx context.Context, w io.Writer) error {
	period := time.Duration(float64(time.Second) / s.cfg.Rate)
	tick := time.NewTicker(min(max(period, time.Millisecond), 20*time.Millisecond))
	defer tick.Stop()
	t0 := time.Now()
	var produced, count int64
	var out []byte
	if s.cfg.Mode == CSV {
		out = s.emit(out, SimLine{Line: Header})
	}
	for {
		if len(out) > 0 {
			if _, err := w.Write(out); err != nil {
				return fmt.Errorf("lineproto sim: writing: %w", err)
			}
			out = out[:0]
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.Stopped():
			return nil
		case now := <-tick.C:
			due := int64(float64(now.Sub(t0)) * s.cfg.Rate / float64(time.Second))
			if maxDue := int64(s.cfg.MaxBacklog.Seconds()*s.cfg.Rate) + 1; due-produced > maxDue {
				skip := due - produced - maxDue
				s.Synth().Next(time.Duration(skip) * period)
				produced += skip
			}
			for ; produced < due; produced++ {
				count++
				p := s.Synth().Next(period)
				ms := uint32(time.Duration(produced+1) * period / time.Millisecond)
				out = s.line(out, count, ms, float64(p.EDA), float64(p.HR))
			}
		}
	}
}

// line appends line number n (1-based) with its faults.
func (s *Sim) line(out []byte, n int64, ms uint32, eda, hr float64) []byte {
	f := s.cfg.Faults
	every := func(k int) bool { return k > 0 && n%int64(k) == 0 }
	if s.cfg.Mode == CSV && every(s.cfg.HeaderEvery) {
		out = s.emit(out, SimLine{Line: Header})
	}
	switch {
	case every(f.LongEvery):
		b := make([]byte, DefaultMaxLine+44)
		for i := range b {
			b[i] = '7'
		}
		return s.emit(out, SimLine{Line: string(b)})
	case every(f.TextEvery):
		return s.emit(out, SimLine{Line: "# sensor ready"})
	}
	var l SimLine
	switch s.cfg.Mode {
	case Grove:
		r := GroveReading(sensors.Microsiemens(eda))
		if every(f.OpenEvery) {
			r = 512 + s.rng.IntN(512)
		}
		l.Line = strconv.Itoa(r)
		us, ok := GroveMicrosiemens(r)
		v := float64(us)
		if !ok {
			v = math.NaN()
		}
		l.Values = []float64{v, float64(r)}
	case CSV:
		e, h := strconv.FormatFloat(eda, 'f', 3, 64), strconv.FormatFloat(hr, 'f', 1, 64)
		l.Line = strconv.FormatUint(uint64(ms), 10) + "," + e + "," + h
		l.Values = []float64{atof(e), atof(h)}
		l.Seq = ms
	case KV:
		e, h := strconv.FormatFloat(eda, 'f', 3, 64), strconv.FormatFloat(hr, 'f', 1, 64)
		l.Line = "seq=" + strconv.FormatInt(n, 10) + " eda_uS=" + e + " hr=" + h
		l.Values = []float64{atof(e), atof(h)}
		l.Seq = uint32(n)
	}
	if every(f.GarbageEvery) {
		l.Corrupt = true
		for range f.GarbageLen {
			out = append(out, byte(0x80+s.rng.IntN(0x7f)))
		}
	}
	return s.emit(out, l)
}

func (s *Sim) emit(out []byte, l SimLine) []byte {
	if s.cfg.OnLine != nil {
		s.cfg.OnLine(l)
	}
	out = append(out, l.Line...)
	return append(out, '\r', '\n')
}

func atof(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

package pulsesensor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/cueroom/cueroom/sensors/internal/simrun"
	"github.com/cueroom/cueroom/sensors/synth"
)

// SimConfig sets up a simulated Arduino running a PulseSensor Playground
// sketch. The zero value prints one sensor in plotter mode.
type SimConfig struct {
	Mode    Mode         // default Plotter
	Sensors int          // sensors on the board, 1..12; default 1 (the one-sensor formats)
	Synth   synth.Config // the physiology
	Burst   time.Duration
	// MaxBacklog is how far behind the wall clock the writer may fall
	// before lines are skipped; default 1 s.
	MaxBacklog time.Duration
	Faults     Faults
	// OnLine, if set, is called from Run for every line just before it is
	// written.
	OnLine func(SimLine)
}

// Faults injects errors into the output, every Nth line (0 = never).
// Physiological faults (finger out, motion, noise) are the generator's:
// see Sim.Synth and synth.Config.
type Faults struct {
	GarbageEvery  int // write random bytes before every Nth line
	GarbageLen    int // how many (default 5)
	TruncateEvery int // send only the first half of every Nth line, without its line ending
}

// SimLine is a line the simulator printed.
type SimLine struct {
	Text string // without the line ending
	// Samples holds, for a sample line, the ADC value of each sensor it
	// carries (index 0 is the first it carries); nil for BPM and IBI lines.
	Samples []int
	Sensor  int // the sensor a visualizer line is about (1…), 0 for a plotter line
	// BPM and IBI are what a reader knows once this line has arrived: the
	// library's values (the same for every sensor, which all see one pulse).
	BPM, IBI  int
	Garbage   int  // garbage bytes written just before it
	Truncated bool // only its first half was sent
}

// Sim prints what a PulseSensor Playground sketch prints, every 20 ms,
// with CRLF line endings, from the moment Run starts: raw samples of a
// pulse wave from synth (idle near 512), and the library's beat detection
// (BPM averaged over the last ten inter-beat intervals; the first pulse
// only arms it; after 2.5 s without a pulse BPM resets to 0 and IBI to
// 600 ms). It ignores what it is sent.
type Sim struct {
	cfg SimConfig
	simrun.Base
	rng *rand.Rand // garbage bytes; used by Run only

}

// NewSim checks cfg and returns a simulator.
func NewSim(cfg SimConfig) (*Sim, error) {
	if cfg.Mode == "" {
		cfg.Mode = Plotter
	}
	if cfg.Mode != Plotter && cfg.Mode != Visualizer {
		return nil, fmt.Errorf("pulsesensor sim: output mode %q is unknown: use %q or %q", cfg.Mode, Plotter, Visualizer)
	}
	if cfg.Sensors == 0 {
		cfg.Sensors = 1
	}
	if cfg.Sensors < 1 || cfg.Sensors > maxSensors {
		return nil, fmt.Errorf("pulsesensor sim: %d sensors: use 1..%d", cfg.Sensors, maxSensors)
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
	if cfg.Faults.GarbageEvery < 0 || cfg.Faults.TruncateEvery < 0 {
		return nil, fmt.Errorf("pulsesensor sim: fault intervals must not be negative")
	}
	return &Sim{cfg: cfg, Base: simrun.NewBase(cfg.Synth),
		rng: rand.New(rand.NewPCG(cfg.Synth.Seed, 0x9a15e))}, nil
}

// simState is the sketch's state.
type simState struct {
	t0       time.Time
	produced int64
	count    int // lines since Run started, for Faults
	overruns int64

	// the library's beat detector
	armed    bool          // a first pulse was seen
	last     time.Duration // generator time of the last pulse
	rate     [10]int       // the last inter-beat intervals, ms
	seeded   bool
	bpm, ibi int
	shown    [2]int // BPM and IBI as last printed in visualizer lines
}

// period is the sketch's reporting interval.
const period = time.Second / Rate

// Run serves rw until ctx is done, Close is called or rw fails. It returns
// nil on a requested stop. To interrupt blocked I/O on stop it sets rw's
// deadlines (if rw has them) and clears them again before returning.
func (s *Sim) Run(ctx context.Context, rw io.ReadWriter) error {
	// the sketch reads nothing, but a hang-up must be seen
	return simrun.Run(ctx, s.Stopped(), rw, false, func(quit <-chan struct{}, _ <-chan byte, rerr <-chan error) error {
		return s.serve(quit, rw, rerr)
	})
}

func (s *Sim) serve(quit <-chan struct{}, w io.Writer, rerr <-chan error) error {
	st := simState{t0: time.Now(), ibi: 600}
	ticker := time.NewTicker(s.cfg.Burst)
	defer ticker.Stop()
	var out []byte
	for {
		select {
		case <-quit:
			return nil
		case err := <-rerr:
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("pulsesensor sim: the port was closed: %w", err)
			}
			return fmt.Errorf("pulsesensor sim: reading: %w", err)
		case now := <-ticker.C:
			out = s.lines(&st, now, out[:0])
			if len(out) > 0 {
				if _, err := w.Write(out); err != nil {
					return fmt.Errorf("pulsesensor sim: writing: %w", err)
				}
			}
		}
	}
}

// lines appends the lines due by now: report k (k ≥ 1) is due k·20 ms
// after Run started. A writer more than MaxBacklog behind skips reports.
func (s *Sim) lines(st *simState, now time.Time, out []byte) []byte {
	due := int64(now.Sub(st.t0))*Rate/int64(time.Second) - st.produced
	maxDue := max(1, int64(s.cfg.MaxBacklog/period))
	if due > maxDue {
		skip := due - maxDue
		st.produced += skip
		st.overruns += skip
		for range skip { // the detector keeps running while lines are lost
			s.detect(st, s.Synth().Next(period))
		}
		due = maxDue
	}
	for range due {
		p := s.Synth().Next(period)
		v := int(min(max(math.Round(512+180*p.PPG), 0), 1023))
		beat := s.detect(st, p)
		n := s.cfg.Sensors
		samples := make([]int, n)
		for i := range samples {
			samples[i] = min(v+8*i, 1023) // each sensor sits a little apart
		}
		switch {
		case s.cfg.Mode == Plotter && n == 1:
			out = s.emit(st, out, SimLine{Text: strconv.Itoa(st.bpm) + "," + strconv.Itoa(st.ibi) + "," + strconv.Itoa(v),
				Samples: samples, BPM: st.bpm, IBI: st.ibi})
		case s.cfg.Mode == Plotter:
			text := ""
			for i, x := range samples {
				if i > 0 {
					text += ","
				}
				text += strconv.Itoa(x)
			}
			out = s.emit(st, out, SimLine{Text: text, Samples: samples, BPM: st.bpm, IBI: st.ibi})
		default:
			// samples first, then (on a beat) BPM and IBI, as the examples
			// do; a reader knows only what was printed
			for i, x := range samples {
				out = s.emit(st, out, SimLine{Text: visual(n, 'S', 'a', i) + strconv.Itoa(x), Samples: []int{x},
					Sensor: i + 1, BPM: st.shown[0], IBI: st.shown[1]})
			}
			if beat {
				for i := range n {
					st.shown[0] = st.bpm
					out = s.emit(st, out, SimLine{Text: visual(n, 'B', 'A', i) + strconv.Itoa(st.bpm), Sensor: i + 1,
						BPM: st.shown[0], IBI: st.shown[1]})
					st.shown[1] = st.ibi
					out = s.emit(st, out, SimLine{Text: visual(n, 'Q', 'M', i) + strconv.Itoa(st.ibi), Sensor: i + 1,
						BPM: st.shown[0], IBI: st.shown[1]})
				}
			}
		}
		st.produced++
	}
	return out
}

// visual is a visualizer line's letter: single for a one-sensor sketch,
// else multi+i.
func visual(n int, single, multi byte, i int) string {
	if n == 1 {
		return string(single)
	}
	return string(multi + byte(i))
}

// detect runs the library's beat detector on one point and reports whether
// it saw a beat: IBI is the time since the previous pulse, BPM 60000 over
// the mean of the last ten IBIs (seeded with the first).
func (s *Sim) detect(st *simState, p synth.Point) bool {
	if !p.Pulse {
		if st.armed && p.T-st.last > 2500*time.Millisecond { // lost the pulse: start over
			st.armed, st.seeded, st.bpm, st.ibi = false, false, 0, 600
		}
		return false
	}
	if !st.armed {
		st.armed, st.last = true, p.T
		return false
	}
	ibi := int((p.T - st.last) / time.Millisecond)
	st.last = p.T
	if !st.seeded {
		for i := range st.rate {
			st.rate[i] = ibi
		}
		st.seeded = true
	}
	copy(st.rate[:], st.rate[1:])
	st.rate[9] = ibi
	sum := 0
	for _, r := range st.rate {
		sum += r
	}
	st.ibi, st.bpm = ibi, 60000/(sum/10)
	return true
}

// emit appends one line with its faults and reports it.
func (s *Sim) emit(st *simState, out []byte, l SimLine) []byte {
	st.count++
	fl := s.cfg.Faults
	out, l.Garbage = simrun.Garbage(out, s.rng, st.count, fl.GarbageEvery, fl.GarbageLen)
	text := l.Text + "\r\n"
	if fl.TruncateEvery > 0 && st.count%fl.TruncateEvery == 0 {
		l.Truncated = true
		text = l.Text[:len(l.Text)/2]
	}
	if s.cfg.OnLine != nil {
		s.cfg.OnLine(l)
	}
	return append(out, text...)
}

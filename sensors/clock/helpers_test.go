package clock

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cueroom/cueroom/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// stream describes a synthetic device stream: when each sample was taken
// on the session clock (the true straight line) and when it arrived.
type stream struct {
	Rate     float64
	Length   time.Duration // device time
	DriftPPM float64
	Offset   time.Duration // session time of device time 0
	Burst    time.Duration // the device sends what it took every Burst (0: each sample alone)
	Jitter   time.Duration // each burst's extra delay: uniform in [0, Jitter)
	Seed     uint64

	StallAt, Stall time.Duration // on the session clock: nothing arrives in [StallAt, StallAt+Stall)
	Drain          time.Duration // least arrival spacing per sample: a backlog drains at most this fast
	ExtraAt, Extra time.Duration // from ExtraAt on the session clock, for 10 s, every sample is Extra later
	Lose           map[int]int   // sample index → how many samples, from it, never arrive

	Counter Counter // how seq is made: BITalino-like, ticks, or none
	SeqBase uint64  // the counter's first raw value
}

// sample is one sample as the mapper sees it and as it really was.
type sample struct {
	i       int           // index since the stream started (lost ones included)
	seq     uint32        // as a decoder gives it
	arrival time.Duration // session clock
	truth   time.Duration // when it was taken, on the session clock
	lost    int           // samples lost just before it
}

// ticksAt returns sample i's device clock in ticks (tick counters only).
func (s *stream) ticksAt(i int) uint64 {
	return uint64(math.Round(float64(i) * s.Counter.TicksPerSecond / s.Rate))
}

// devTime returns sample i's device time, s.
func (s *stream) devTime(i int) float64 {
	if s.Counter.TicksPerSecond > 0 {
		return float64(s.ticksAt(i)) / s.Counter.TicksPerSecond
	}
	return float64(i) / s.Rate
}

func (s *stream) session(d float64) float64 {
	return s.Offset.Seconds() + d*(1+s.DriftPPM*1e-6)
}

// samples generates the stream, calling f for each sample that arrives,
// in arrival order.
func (s *stream) samples(f func(sample)) {
	rng := rand.New(rand.NewPCG(s.Seed, 7))
	n := int(s.Length.Seconds() * s.Rate)
	perBurst := max(1, int(math.Round(s.Burst.Seconds()*s.Rate)))
	var (
		seq, raw     uint64
		prev         time.Duration
		skip, missed int
		draining     bool // a backlog after a stall arrives at most one sample per Drain
		first        = true
	)
	for b := 0; b*perBurst < n; b++ {
		last := min(n, (b+1)*perBurst) - 1
		sent := s.session(s.devTime(last))
		arr := sent + rng.Float64()*s.Jitter.Seconds()
		at := time.Duration(arr * 1e9)
		if s.Extra > 0 && at >= s.ExtraAt && at < s.ExtraAt+10*time.Second {
			at += s.Extra
		}
		if s.Stall > 0 && at >= s.StallAt && at < s.StallAt+s.Stall {
			at, draining = s.StallAt+s.Stall, true
		}
		at = max(at, prev)
		if next := prev + s.Drain*time.Duration(last+1-b*perBurst); draining && at < next {
			at = next
		} else {
			draining = false
		}
		prev = at
		for i := b * perBurst; i <= last; i++ {
			if k, ok := s.Lose[i]; ok {
				skip = k
			}
			if skip > 0 {
				skip--
				missed++
				continue
			}
			var now uint64
			switch c := s.Counter; {
			case c.TicksPerSecond > 0:
				now = s.SeqBase + s.ticksAt(i)
				if c.Wrap > 0 {
					now %= c.Wrap
				}
			case c.Wrap > 0: // a decoder unwrapping a counter modulo Wrap by the smallest step
				r := (s.SeqBase + uint64(i)) % c.Wrap
				if first {
					seq = r
				} else {
					step := (r - raw + c.Wrap) % c.Wrap
					if step == 0 {
						step = c.Wrap
					}
					seq += step
				}
				raw = r
				now = seq
			}
			f(sample{i: i, seq: uint32(now), arrival: at,
				truth: time.Duration(s.session(s.devTime(i)) * 1e9), lost: missed})
			missed, first = 0, false
		}
	}
}

// result is what a run measured.
type result struct {
	pushed, emitted int
	maxDev          time.Duration // largest |t − truth|
	worst           int           // the sample where it was
	steadyDev       time.Duration // largest |t − truth| after the first 5 s of device time
	lostWrong       int           // samples whose lost count differs from the truth
	lost            uint64
	stats           Stats
}

// run feeds the stream to a mapper and checks the output is in order and
// strictly increasing.
func run(t testing.TB, s stream, cfg Config) result {
	t.Helper()
	var r result
	var tPrev time.Duration
	m := New(cfg, func(x sample, at time.Duration, lost uint64) {
		if r.emitted > 0 && at <= tPrev {
			t.Fatalf("sample %d: time %v not after %v", x.i, at, tPrev)
		}
		tPrev = at
		r.emitted++
		d := (at - x.truth).Abs()
		if d > r.maxDev {
			r.maxDev, r.worst = d, x.i
		}
		if float64(x.i) >= 5*s.Rate {
			r.steadyDev = max(r.steadyDev, d)
		}
		if int(lost) != x.lost {
			if r.lostWrong < 5 {
				t.Logf("sample %d: lost %d, want %d", x.i, lost, x.lost)
			}
			r.lostWrong++
		}
		r.lost += lost
	})
	s.samples(func(x sample) {
		r.pushed++
		m.Push(x, x.seq, x.arrival)
	})
	m.Flush()
	r.stats = m.Stats()
	if r.emitted != r.pushed {
		t.Fatalf("emitted %d of %d samples", r.emitted, r.pushed)
	}
	return r
}

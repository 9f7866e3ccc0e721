package clock

import (
	"testing"
	"time"
)

var (
	bitalino = Counter{Wrap: 16}
	shimmer  = Counter{TicksPerSecond: 32768}
	none     = Counter{}
)

// base is a 1 kHz BITalino-like stream: 4 ms bursts (the first sample of a
// burst is 3 ms older than the last), each burst delayed by 0..3 ms more.
func base(length time.Duration) stream {
	return stream{Rate: 1000, Length: length, Offset: 1234567 * time.Microsecond,
		Burst: 4 * time.Millisecond, Jitter: 3 * time.Millisecond, Seed: 1, Counter: bitalino, SeqBase: 5}
}

func TestStraightLine(t *testing.T) {
	type tc struct {
		name   string
		s      stream
		maxDev time.Duration
	}
	stall := func(c Counter) stream {
		s := base(10 * time.Minute)
		s.Counter, s.StallAt, s.Stall, s.DriftPPM = c, 300*time.Second, 2500*time.Millisecond, 40
		return s
	}
	hour := time.Hour
	if testing.Short() {
		hour = 10 * time.Minute
	}
	tests := []tc{
		{"clean", base(10 * time.Minute), time.Millisecond},
		{"drift +100 ppm, 1 h", func() stream { s := base(hour); s.DriftPPM = 100; return s }(), time.Millisecond},
		{"drift -300 ppm, 1 h", func() stream { s := base(hour); s.DriftPPM = -300; return s }(), time.Millisecond},
		{"drift +500 ppm", func() stream { s := base(2 * time.Minute); s.DriftPPM = 500; return s }(), time.Millisecond},
		{"stall 2.5 s, 16-wrap counter", stall(bitalino), time.Millisecond},
		{"stall 2.5 s, no counter", stall(none), time.Millisecond},
		{"stall 2.5 s, tick counter", func() stream {
			s := stall(shimmer)
			s.Rate, s.Burst = 512, 10*time.Millisecond
			return s
		}(), time.Millisecond},
		{"stall 2.5 s at 3 s", func() stream { s := stall(bitalino); s.StallAt = 3 * time.Second; return s }(), time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.s, Config{Rate: tt.s.Rate, Counter: tt.s.Counter})
			t.Logf("%d samples, max deviation %v (sample %d; after 5 s %v), drift %.1f ppm (true %.0f), spread %v, uncertainty %v",
				r.emitted, r.maxDev, r.worst, r.steadyDev, r.stats.DriftPPM, tt.s.DriftPPM, r.stats.Spread, r.stats.Uncertainty)
			if r.maxDev > tt.maxDev {
				t.Errorf("max deviation from the true line %v, want ≤ %v", r.maxDev, tt.maxDev)
			}
			if r.lost != 0 || r.lostWrong != 0 {
				t.Errorf("lost %d (%d samples wrong), want none", r.lost, r.lostWrong)
			}
			if d := r.stats.DriftPPM - tt.s.DriftPPM; d > 5 || d < -5 {
				t.Errorf("drift %.1f ppm, want %.0f ± 5", r.stats.DriftPPM, tt.s.DriftPPM)
			}
			if r.stats.Anchors != 1 {
				t.Errorf("%d anchors, want 1", r.stats.Anchors)
			}
		})
	}
}

func TestLoss(t *testing.T) {
	// losses every 10 s of device time, from 5 s on
	at := func(rate float64, ks ...int) map[int]int {
		m := map[int]int{}
		for j, k := range ks {
			m[int(rate*float64(5+10*j))] = k
		}
		return m
	}
	wrapped := func(ks ...int) stream {
		s := base(2 * time.Minute)
		s.Lose = at(s.Rate, ks...)
		return s
	}
	contec := func(ks ...int) stream {
		return stream{Rate: 60, Length: 2 * time.Minute, Offset: 3 * time.Second, Burst: 20 * time.Millisecond,
			Jitter: 3 * time.Millisecond, Seed: 2, Lose: at(60, ks...)}
	}
	ticks := func(rate float64, wrap, base uint64, ks ...int) stream {
		return stream{Rate: rate, Length: 2 * time.Minute, Offset: time.Second, Burst: 10 * time.Millisecond,
			Jitter: 3 * time.Millisecond, Seed: 3, DriftPPM: -20, Lose: at(rate, ks...),
			Counter: Counter{TicksPerSecond: 32768, Wrap: wrap}, SeqBase: base}
	}
	tests := []struct {
		name string
		s    stream
	}{
		{"16-wrap: 1, 5, 15, 17, 40 lost", wrapped(1, 5, 15, 17, 40)},
		{"16-wrap: whole wraps 16, 32, 48", wrapped(16, 32, 48)},
		{"16-wrap: 17 lost after a stall", func() stream {
			s := wrapped(0, 0, 17) // 17 lost at 25 s
			s.StallAt, s.Stall = 24*time.Second, 2500*time.Millisecond
			return s
		}()},
		{"no counter 60 Hz: 1, 3, 10, 100 lost", contec(1, 3, 10, 100)},
		{"no counter 1 kHz: 5, 17, 40 lost", func() stream {
			s := wrapped(5, 17, 40)
			s.Counter = none
			return s
		}()},
		{"ticks 512 Hz across 2^32: 1, 5, 100 lost", ticks(512, 0, 1<<32-3000000, 1, 5, 100)},
		{"ticks 1 kHz, raw 24-bit: 1, 7, 1000 lost", ticks(1000, 1<<24, 1<<24-2000000, 1, 7, 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := 0
			for _, k := range tt.s.Lose {
				want += k
			}
			r := run(t, tt.s, Config{Rate: tt.s.Rate, Counter: tt.s.Counter})
			t.Logf("%d samples, %d lost, max deviation %v (sample %d; after 5 s %v), drift %.1f ppm, uncertainty %v",
				r.emitted, r.lost, r.maxDev, r.worst, r.steadyDev, r.stats.DriftPPM, r.stats.Uncertainty)
			if r.lostWrong != 0 || r.lost != uint64(want) || r.stats.Lost != uint64(want) {
				t.Errorf("lost %d (stats %d; %d samples wrong), want %d", r.lost, r.stats.Lost, r.lostWrong, want)
			}
			if r.maxDev > time.Millisecond {
				t.Errorf("max deviation from the true line %v, want ≤ 1 ms", r.maxDev)
			}
			if r.stats.Anchors != 1 {
				t.Errorf("%d anchors, want 1", r.stats.Anchors)
			}
		})
	}
}

// collector gathers what a mapper emits, checking times strictly increase.
type collector struct {
	t     testing.TB
	out   []sample
	times []time.Duration
	lost  []uint64
}

func (c *collector) emit(x sample, at time.Duration, lost uint64) {
	if n := len(c.times); n > 0 && at <= c.times[n-1] {
		c.t.Fatalf("sample %d: time %v not after %v", x.i, at, c.times[n-1])
	}
	c.out, c.times, c.lost = append(c.out, x), append(c.times, at), append(c.lost, lost)
}

// maxDev returns the largest |t − truth| from the n-th emitted sample on.
func (c *collector) maxDev(from int) time.Duration {
	var d time.Duration
	for i := from; i < len(c.out); i++ {
		d = max(d, (c.times[i] - c.out[i].truth).Abs())
	}
	return d
}

func TestHoldAndFlush(t *testing.T) {
	c := &collector{t: t}
	m := New(Config{Rate: 1000, Counter: bitalino}, c.emit)
	var all []sample
	s := base(2 * time.Second)
	s.samples(func(x sample) { all = append(all, x) })
	for _, x := range all[:499] {
		m.Push(x, x.seq, x.arrival)
	}
	if len(c.out) != 0 {
		t.Fatalf("%d samples emitted within the first 0.5 s of device time, want none", len(c.out))
	}
	m.Push(all[499], all[499].seq, all[499].arrival)
	m.Push(all[500], all[500].seq, all[500].arrival)
	if len(c.out) != 501 {
		t.Fatalf("%d samples emitted once 0.5 s of device time has passed, want 501", len(c.out))
	}
	// The first sample came 3 ms late with its burst; it is stamped on the
	// line all the same.
	if d := c.maxDev(0); d > 200*time.Microsecond {
		t.Errorf("held-back samples off the line by up to %v", d)
	}

	c2 := &collector{t: t}
	m2 := New(Config{Rate: 1000, Counter: bitalino}, c2.emit)
	for _, x := range all[:100] {
		m2.Push(x, x.seq, x.arrival)
	}
	m2.Flush()
	if len(c2.out) != 100 {
		t.Fatalf("Flush emitted %d samples, want 100", len(c2.out))
	}
	for i, x := range c2.out {
		if x.i != i {
			t.Fatalf("emitted sample %d at position %d", x.i, i)
		}
	}
	for _, x := range all[100:] {
		m2.Push(x, x.seq, x.arrival)
	}
	m2.Flush()
	if len(c2.out) != len(all) {
		t.Fatalf("emitted %d of %d samples", len(c2.out), len(all))
	}
	m2.Flush() // nothing left: nothing happens
	if s := m2.Stats(); s.Samples != uint64(len(all)) || s.Method != "counter" || s.Anchors != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestReset(t *testing.T) {
	a := base(20 * time.Second)
	a.DriftPPM = 200
	// The device is lost for 3 s and comes back with a new counter and a
	// new device time origin; its crystal is the same.
	b := a
	b.Seed, b.SeqBase = 9, 11
	b.Offset = a.Offset + a.Length + 3*time.Second + 777*time.Microsecond
	c := &collector{t: t}
	m := New(Config{Rate: 1000, Counter: bitalino}, c.emit)
	a.samples(func(x sample) { m.Push(x, x.seq, x.arrival) })
	m.Reset()
	n := len(c.out)
	if n != 20000 {
		t.Fatalf("Reset emitted %d samples of the first connection, want all 20000", n)
	}
	pushed := 0
	b.samples(func(x sample) {
		m.Push(x, x.seq, x.arrival)
		if pushed++; pushed < 500 && len(c.out) != n {
			t.Fatalf("sample %d of the new connection emitted before its hold-back", pushed)
		}
	})
	m.Flush()
	if len(c.out) != 40000 {
		t.Fatalf("emitted %d samples, want 40000", len(c.out))
	}
	if c.lost[n] != 0 {
		t.Errorf("first sample after Reset: lost %d, want 0", c.lost[n])
	}
	if d := c.maxDev(0); d > time.Millisecond {
		t.Errorf("max deviation %v, want ≤ 1 ms", d)
	}
	s := m.Stats()
	if s.Anchors != 2 || s.Lost != 0 || s.DriftPPM < 190 || s.DriftPPM > 210 {
		t.Errorf("stats %+v, want 2 anchors, none lost, drift 200 ppm", s)
	}
}

func TestReanchor(t *testing.T) {
	ticks := stream{Rate: 512, Length: 30 * time.Second, Offset: time.Second, Burst: 10 * time.Millisecond,
		Jitter: 3 * time.Millisecond, Seed: 4, DriftPPM: 60, Counter: shimmer}
	tests := []struct {
		name   string
		s      stream
		stream func(func(sample))
		lost   uint64
	}{
		// The tick counter jumps 32 s ahead and goes on from there: the
		// samples after it would have arrived before they were taken.
		{"tick counter jumps ahead", ticks, func(push func(sample)) {
			ticks.samples(func(x sample) {
				if x.i >= 5000 {
					x.seq += 1 << 20
				}
				push(x)
			})
		}, 0},
		// A repeated frame: a step of 0 reads as 15 samples lost, which
		// the arrival contradicts.
		{"16-wrap counter repeats a sample", base(30 * time.Second), func(push func(sample)) {
			s := base(30 * time.Second)
			s.samples(func(x sample) {
				push(x)
				if x.i == 5000 {
					push(x)
				}
			})
		}, 15},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{t: t}
			m := New(Config{Rate: tt.s.Rate, Counter: tt.s.Counter}, c.emit)
			pushed := 0
			tt.stream(func(x sample) { pushed++; m.Push(x, x.seq, x.arrival) })
			m.Flush()
			s := m.Stats()
			if len(c.out) != pushed || s.Anchors != 2 || s.Lost != tt.lost {
				t.Errorf("emitted %d of %d; stats %+v, want 2 anchors, %d lost", len(c.out), pushed, s, tt.lost)
			}
			if d := c.maxDev(0); d > time.Millisecond {
				t.Errorf("max deviation %v, want ≤ 1 ms", d)
			}
		})
	}
}

func TestArrivalOnly(t *testing.T) {
	c := &collector{t: t}
	m := New(Config{}, c.emit) // no rate, no tick counter
	for i, at := range []time.Duration{5, 7, 7, 6, 20} {
		m.Push(sample{i: i}, 0, at)
	}
	want := []time.Duration{5, 7, 8, 9, 20}
	for i, at := range c.times {
		if at != want[i] {
			t.Errorf("times %v, want %v", c.times, want)
			break
		}
	}
	m.Reset()
	m.Push(sample{i: 5}, 0, 3)
	if s := m.Stats(); s.Method != "arrival" || s.Samples != 6 || c.times[5] != 21 {
		t.Errorf("stats %+v, last time %v", s, c.times[5])
	}
}

// TestAmbiguities pins what timing alone cannot tell, so that it changes
// only on purpose.
func TestAmbiguities(t *testing.T) {
	tests := []struct {
		name    string
		s       stream
		lost    uint64
		anchors int
		maxDev  time.Duration
	}{
		// 25 ms is not near a whole number of 16 ms wraps: a delay.
		{"16-wrap, latency +25 ms for 10 s", func() stream {
			s := base(time.Minute)
			s.ExtraAt, s.Extra = 20*time.Second, 25*time.Millisecond
			return s
		}(), 0, 1, time.Millisecond},
		// 16 ms is one wrap: read as 16 samples lost, until the latency
		// drops back and the samples would arrive before they were taken.
		{"16-wrap, latency +16 ms for 10 s", func() stream {
			s := base(time.Minute)
			s.ExtraAt, s.Extra = 20*time.Second, 16*time.Millisecond
			return s
		}(), 16, 2, 17 * time.Millisecond},
		// Without a counter any lasting latency step reads as a loss.
		{"no counter, latency +25 ms for 10 s", func() stream {
			s := base(time.Minute)
			s.Counter, s.ExtraAt, s.Extra = none, 20*time.Second, 25*time.Millisecond
			return s
		}(), 25, 2, 26 * time.Millisecond},
		// A whole wrap lost inside a backlog draining after a stall is
		// counted, but it shows no gap: it is put at the stall.
		{"16-wrap, 16 lost in a draining backlog", func() stream {
			s := base(time.Minute)
			s.StallAt, s.Stall, s.Drain = 10*time.Second, 2500*time.Millisecond, 900*time.Microsecond
			s.Lose = map[int]int{20000: 16}
			return s
		}(), 16, 1, 17 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &collector{t: t}
			m := New(Config{Rate: tt.s.Rate, Counter: tt.s.Counter}, c.emit)
			tt.s.samples(func(x sample) { m.Push(x, x.seq, x.arrival) })
			m.Flush()
			s := m.Stats()
			d := c.maxDev(0)
			t.Logf("lost %d, %d anchors, max deviation %v", s.Lost, s.Anchors, d)
			if s.Lost != tt.lost || s.Anchors != tt.anchors || d > tt.maxDev {
				t.Errorf("lost %d, %d anchors, max deviation %v; want %d, %d, ≤ %v", s.Lost, s.Anchors, d, tt.lost, tt.anchors, tt.maxDev)
			}
		})
	}
}

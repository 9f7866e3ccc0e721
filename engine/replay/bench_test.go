package replay

import (
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/record/recordtest"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/scenes"
	"github.com/cueroom/cueroom/sensors"
)

// TestMain removes the benchmarks' recorded fixtures when the run ends.
func TestMain(m *testing.M) {
	code := recordtest.Run(m)
	seek2h.remove()
	os.Exit(code)
}

// seek2h is the seek benchmarks' session, recorded once per test binary:
// two hours of a 100 Hz and a 1000 Hz device (one channel each, 7.9 M
// samples) and an event every second.
var seek2h fixture

type fixture struct {
	mu        sync.Mutex
	root, dir string
}

func (f *fixture) get(b *testing.B) string {
	b.Helper()
	if testing.Short() {
		b.Skip("a 2 h session is too long for -short")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dir != "" {
		return f.dir
	}
	root, err := os.MkdirTemp("", "cueroom-replay-bench-")
	require.NoError(b, err)
	f.root = root
	const dur = 2 * time.Hour
	devs := []struct {
		name string
		rate int
	}{{"slow", 100}, {"fast", 1000}}
	meta := record.Meta{Title: "seek 2h", Start: recordtest.Start}
	for _, d := range devs {
		meta.Streams = append(meta.Streams, sensors.Stream{Device: d.name, Rate: float64(d.rate),
			Channels: []sensors.Channel{{Label: "x", Type: "EDA"}}})
	}
	f.dir = recordTo(b, root, meta, func(emit func(bus.Msg)) {
		emit(bus.Msg{Event: &event.Event{T: 0, Step: 0, Data: event.StepStart{ID: "baseline"}}})
		for sec := range int(dur.Seconds()) {
			emit(bus.Msg{Event: &event.Event{T: time.Duration(sec) * s, Step: -1, Data: event.Marker{Text: "m"}}})
			for _, d := range devs {
				for i := sec * d.rate; i < (sec+1)*d.rate; i++ {
					emit(bus.Msg{Sample: &sensors.Sample{Device: d.name, T: time.Duration(i) * s / time.Duration(d.rate), Seq: uint32(i), N: 1}})
				}
			}
		}
	})
	return f.dir
}

func (f *fixture) remove() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.root != "" {
		os.RemoveAll(f.root)
		f.root, f.dir = "", ""
	}
}

func openIndex(tb testing.TB, dir string) *record.Index {
	tb.Helper()
	x, err := record.OpenIndex(dir)
	require.NoError(tb, err)
	tb.Cleanup(func() { x.Close() })
	return x
}

// BenchmarkSeek2h is a jump in a 2 h session with nothing listening: the
// position, the dashboard state to resend, the scene there.
func BenchmarkSeek2h(b *testing.B) {
	p := New(openIndex(b, seek2h.get(b)), steps, nil, Options{Paused: true})
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Seek(time.Duration(i*7919%7200) * s)
		_ = p.Snapshot()
	}
}

// BenchmarkSeekContext2h is a jump in a 2 h session and the step that
// follows it: the minute of context before the new position (66 000
// samples) read from data.rec and published to a bus someone reads.
func BenchmarkSeekContext2h(b *testing.B) {
	x := openIndex(b, seek2h.get(b))
	bb := bus.New()
	sub := bb.Subscribe(1024, true)
	drained := make(chan struct{})
	go func() {
		for range sub.C {
		}
		close(drained)
	}()
	defer func() { bb.Close(); <-drained }()
	p := New(x, steps, bb, Options{Paused: true})
	b.ResetTimer()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Seek(time.Duration(i*7919%7200) * s)
		p.step()
	}
	require.NoError(b, p.Err())
}

// BenchmarkReplayPeakMemory: replaying a 10-minute and a 4-hour session
// (1 kHz × 2 channels) needs the same memory (recordtest.PeakHeap: the
// live heap while it runs), however long the session. The replay reads
// the folder as cueroom replay does, plays it through to the end in steps
// of 10 s of session (an instant each, on a test clock) to a bus whose
// reader keeps up, then jumps half-way (a minute of context). The 4 h case
// reports its ratio to the 10-minute one (issue #11: at most 1.3); it is
// skipped in -short mode.
func BenchmarkReplayPeakMemory(b *testing.B) {
	short := recordtest.Fixture(b, 10*time.Minute)
	for _, dur := range []time.Duration{10 * time.Minute, 4 * time.Hour} {
		b.Run(recordtest.Name(dur), func(b *testing.B) {
			dir := recordtest.Fixture(b, dur) // skips 4 h in -short mode
			b.ResetTimer()
			var peak recordtest.Peak
			for range b.N {
				peak = peak.Max(recordtest.PeakHeap(func() { playThrough(b, dir) }))
			}
			b.ReportMetric(dur.Seconds()*recordtest.Rate*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			recordtest.ReportPeak(b, peak)
			if dur > 10*time.Minute {
				b.StopTimer()
				recordtest.ReportRatio(b, peak, recordtest.PeakHeap(func() { playThrough(b, short) }))
			}
		})
	}
}

// playThrough replays a recordtest fixture from its folder to its end and
// checks that every sample went out once.
func playThrough(tb testing.TB, dir string) {
	x, err := record.OpenIndex(dir)
	require.NoError(tb, err)
	defer x.Close()
	b := bus.New()
	sub := b.Subscribe(1024, true)
	// The reader answers each mark: the player is then never more than a
	// step ahead of it (the window's pace does that in a replay).
	mark := &event.Event{Step: -1, Data: event.Marker{Text: "bench"}}
	marks := make(chan struct{})
	var got int
	go func() {
		defer close(marks)
		for m := range sub.C {
			if m.Sample != nil {
				got++
			}
			if m.Event == mark {
				marks <- struct{}{}
			}
		}
	}()
	caughtUp := func() { b.Publish(bus.Msg{Event: mark}); <-marks }

	clk := &fakeClock{now: time.Unix(1000, 0)}
	p := New(x, fixtureSteps(x), b, Options{Now: clk.Now, Cues: nopCues{}})
	for p.Status().Playing {
		clk.Add(10 * time.Second)
		p.step()
		caughtUp()
	}
	require.Equal(tb, x.Stats(recordtest.Device).Count, got, "every sample, once")
	p.Seek(p.Duration() / 2)
	p.step()
	caughtUp()
	require.InDelta(tb, x.Stats(recordtest.Device).Count+int(DefaultContext.Seconds())*recordtest.Rate, got, 4, "and a minute of context")
	b.Close()
	<-marks
	require.NoError(tb, p.Err())
}

// fixtureSteps is a played order for a recordtest fixture: a one-minute
// step with an image for every step it started.
func fixtureSteps(x *record.Index) []scenes.Step {
	n := 0
	for _, e := range x.Events {
		n = max(n, e.Step+1)
	}
	out := make([]scenes.Step, n)
	for i := range out {
		out[i] = scenes.Step{ID: "s", Name: "Bottle", Intensity: i % 5, Duration: time.Minute,
			Cues: []scenes.Cue{{ID: "bottle.c1", Kind: scenes.KindImage}}}
	}
	return out
}

// nopCues takes the cue calls of a replay that plays none.
type nopCues struct{}

func (nopCues) StartStepAt(int, []scenes.Cue, time.Duration) {}
func (nopCues) StopAll(time.Duration)                        {}
func (nopCues) SetPaused(bool)                               {}

package lslsensor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/lsl/lsltest"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/lslsensor"
)

type recorder struct {
	mu       sync.Mutex
	samples  []sensors.Sample
	statuses []bridge.Status
	stream   chan sensors.Stream
	changed  chan struct{}
}

func newRecorder() *recorder {
	return &recorder{stream: make(chan sensors.Stream, 1), changed: make(chan struct{}, 1)}
}

func (r *recorder) poke() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// wait polls cond on every change until it holds.
func (r *recorder) wait(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

func (r *recorder) has(state bridge.State) bool {
	for _, s := range r.statuses {
		if s.State == state {
			return true
		}
	}
	return false
}

func eeg(src string) lsl.StreamInfo {
	return lsl.StreamInfo{Name: "probe-EEG", Type: "EEG", ChannelCount: 4, Format: lsl.Double64, Rate: 200, SourceID: src,
		Channels: []lsl.Channel{{Label: "C3", Unit: "microvolts", Type: "EEG"}, {Label: "C4", Unit: "microvolts", Type: "EEG"}, {Label: "Cz", Unit: "microvolts", Type: "EEG"}, {Label: "Pz", Unit: "microvolts", Type: "EEG"}}}
}

// An LSL stream records as a sensor on the session clock (within 1 ms of
// its LSL time plus correction); losing it and getting it back are the
// bridge's Lost and Reconnected, with the gap.
func TestRecordLSLStream(t *testing.T) {
	if !lsltest.Isolate(t) {
		return
	}
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	clock := lsl.SessionClockAt(start)
	now := func() time.Duration { return time.Since(start) }
	opt := lsl.WithConfig(lsltest.Config())
	out, err := lsl.NewOutlet(eeg("probe-src"), opt)
	if err != nil {
		t.Fatal(err)
	}
	r := newRecorder()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- lslsensor.Run(runCtx, lslsensor.Config{Selector: "type=EEG", Clock: clock, Now: now,
			Reconnect: true, Backoff: bridge.Backoff{First: 100 * time.Millisecond, Max: 200 * time.Millisecond},
			LSL:      []lsl.Option{opt},
			OnStream: func(s sensors.Stream) { r.stream <- s },
			Sink:     func(s sensors.Sample) { r.mu.Lock(); r.samples = append(r.samples, s); r.mu.Unlock(); r.poke() },
			OnStatus: func(s bridge.Status) { r.mu.Lock(); r.statuses = append(r.statuses, s); r.mu.Unlock(); r.poke() },
		})
	}()
	st := <-r.stream
	if st.Device != "lsl-probe-EEG" || st.Rate != 200 || len(st.Channels) != 4 || st.Channels[1] != (sensors.Channel{Label: "C4", Unit: "uV", Type: "EEG"}) {
		t.Fatalf("stream %+v", st)
	}
	// Samples pushed once the inlet has connected.
	if err := out.WaitForConsumers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	push := func(o *lsl.Outlet, from, n int) []time.Duration {
		var at []time.Duration
		base := now()
		for i := range n {
			st := base - time.Duration(n-1-i)*5*time.Millisecond         // taken up to now
			o.Push(clock.LSL(st), []float64{float64(from + i), 1, 2, 3}) //nolint:errcheck // checked by arrival
			at = append(at, st)
		}
		return at
	}
	at := push(out, 0, 50)
	r.wait(t, ctx, "50 samples", func() bool { return len(r.samples) >= 50 })
	r.mu.Lock()
	for i, s := range r.samples[:50] {
		if d := s.T - at[i]; d < -time.Millisecond || d > time.Millisecond || s.Values[0] != float64(i) || s.N != 4 {
			t.Errorf("sample %d at %v, pushed at %v (%v apart): %v", i, s.T, at[i], d, s.Vals())
		}
	}
	r.mu.Unlock()

	// Lost, then back (the same device: same source_id).
	out.Close()
	r.wait(t, ctx, "lost", func() bool { return r.has(bridge.Lost) })
	out2, err := lsl.NewOutlet(eeg("probe-src"), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer out2.Close()
	if err := out2.WaitForConsumers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	push(out2, 1000, 10)
	r.wait(t, ctx, "reconnected", func() bool { return r.has(bridge.Reconnected) && len(r.samples) >= 60 })
	r.mu.Lock()
	for _, s := range r.statuses {
		if s.State == bridge.Reconnected && (s.Gap == nil || s.Gap.End <= s.Gap.Start) {
			t.Errorf("reconnected with gap %+v", s.Gap)
		}
	}
	r.mu.Unlock()
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	if !r.has(bridge.Stopped) {
		t.Error("no Stopped status")
	}
}

// Nothing answering within the resolve time is an error saying so.
func TestNothingResolves(t *testing.T) {
	if !lsltest.Isolate(t) {
		return
	}
	leakcheck.Check(t)
	err := lslsensor.Run(context.Background(), lslsensor.Config{Selector: "nobody", Resolve: 600 * time.Millisecond,
		Now: func() time.Duration { return 0 }, Sink: func(sensors.Sample) {}, LSL: []lsl.Option{lsl.WithConfig(lsltest.Config())}})
	if !errors.Is(err, lslsensor.ErrNotFound) {
		t.Fatalf("Run: %v", err)
	}
	t.Log(err)
}

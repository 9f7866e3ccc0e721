package engine

import (
	"cmp"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/bridge"
)

// burstPort is a serial port whose bytes arrive when a test says: each
// chunk at its arrival time, which the bridge reads as its clock (Now).
// Nothing waits: a 3 s stall is a jump of the clock.
type burstPort struct {
	chunks []chunk
	now    atomic.Int64
}

type chunk struct {
	at   time.Duration
	data []byte
}

func (p *burstPort) Read(b []byte) (int, error) {
	if len(p.chunks) == 0 {
		return 0, io.EOF
	}
	c := &p.chunks[0]
	p.now.Store(int64(c.at))
	n := copy(b, c.data)
	if c.data = c.data[n:]; len(c.data) == 0 {
		p.chunks = p.chunks[1:]
	}
	return n, nil
}

func (p *burstPort) Write(b []byte) (int, error) { return len(b), nil }
func (p *burstPort) Close() error                { return nil }
func (p *burstPort) Now() time.Duration          { return time.Duration(p.now.Load()) }

// startedBITalino is a BITalino already streaming: no start sequence.
type startedBITalino struct{ *bitalino.Device }

func (startedBITalino) Start(io.ReadWriter) error { return nil }

// arrival is when frame i (taken at i/rate) reaches us.
type arrival func(i int, taken time.Duration) time.Duration

const gapRate = 100 // Hz

// frames are n frames of an EDA channel whose counter runs on, but for
// the frames in lost (not sent: the device's counter shows them missing),
// chunked by arrival time.
func frames(n int, lost func(i int) bool, arrive arrival) []chunk {
	var out []chunk
	for i := range n {
		if lost(i) {
			continue
		}
		taken := time.Duration(i) * time.Second / gapRate
		at := max(arrive(i, taken), taken)
		if k := len(out); k > 0 && out[k-1].at >= at {
			at = out[k-1].at // arrivals never go back
		}
		adc := uint16(600 + 40*math.Sin(float64(i)/300)) // a slowly changing skin conductance
		f := bitalino.Frame{Seq: uint8(i) & 0x0F, N: 1, ADC: [bitalino.MaxAnalog]uint16{adc}}
		if k := len(out); k > 0 && out[k-1].at == at {
			out[k-1].data, _ = bitalino.AppendFrame(out[k-1].data, f)
			continue
		}
		data, _ := bitalino.AppendFrame(nil, f)
		out = append(out, chunk{at, data})
	}
	return out
}

// isGapAlert says whether an alert reports samples missing: a gap
// incident, or (as before incidents) a raised "gap in the data" flag.
func isGapAlert(a event.Alert) bool {
	return strings.HasPrefix(a.Incident, incidentGap) || containsString(a.Raised, "gap in the data")
}

func containsString(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Issue #14: gap alerts come from the device's counter and the samples'
// times, never from when the bytes happened to arrive. A loaded machine
// delivers samples late and in bursts, even after a stall of seconds: no
// sample is lost, and no gap is reported. Samples the device's counter
// shows missing are one gap alert.
func TestGapAlertsOnlyFromLostSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	none := func(int) bool { return false }
	const n = 90 * gapRate // 90 s
	steady := func(_ int, taken time.Duration) time.Duration { return taken + 4*time.Millisecond }
	// Bursts: every b whatever was taken since, up to j late.
	bursts := func(b, j time.Duration) arrival {
		return func(_ int, taken time.Duration) time.Duration {
			return taken.Truncate(b) + b + time.Duration(rng.Int64N(int64(j)))
		}
	}
	bursty := bursts(250*time.Millisecond, 80*time.Millisecond) // a loaded machine
	link := bursts(50*time.Millisecond, 40*time.Millisecond)    // a Bluetooth link
	// Stalls of 1.5 s, 3 s and 2.2 s: what was taken meanwhile arrives at
	// once when the process runs again; in bursts otherwise.
	stalls := func(between arrival) arrival {
		return func(i int, taken time.Duration) time.Duration {
			for _, s := range []struct{ from, to time.Duration }{{20 * time.Second, 21500 * time.Millisecond},
				{40 * time.Second, 43 * time.Second}, {60 * time.Second, 62200 * time.Millisecond}} {
				if taken >= s.from && taken < s.to {
					return s.to
				}
			}
			return between(i, taken)
		}
	}
	lost2s := func(i int) bool { return i >= 45*gapRate && i < 47*gapRate }
	for _, c := range []struct {
		name   string
		lost   func(int) bool
		arrive arrival
		gaps   int
		n      int // frames; default n
	}{
		{name: "steady", lost: none, arrive: steady},
		{name: "bursts of 50 ms", lost: none, arrive: link},
		{name: "bursts of 250 ms", lost: none, arrive: bursty},
		{name: "stalls of seconds", lost: none, arrive: stalls(bursty)},
		// The processor's nominal-rate count is a second behind the
		// samples' times after 33 min: not a gap.
		{name: "a device clock 500 ppm slow, 35 min", lost: none, n: 35 * 60 * gapRate,
			arrive: func(_ int, taken time.Duration) time.Duration { return taken + taken/2000 + 4*time.Millisecond }},
		{name: "2 s lost", lost: lost2s, arrive: steady, gaps: 1},
		{name: "2 s lost, bursts of 50 ms", lost: lost2s, arrive: link, gaps: 1},
		{name: "2 s lost among stalls", lost: lost2s, arrive: stalls(link), gaps: 1},
		// Whole wraps lost while the link delivers in bursts longer than
		// lateAgain: the clock learns the link's ordinary lateness.
		{name: "2 s lost, bursts of 250 ms", lost: lost2s, arrive: bursty, gaps: 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := cmp.Or(c.n, n)
			port := &burstPort{chunks: frames(n, c.lost, c.arrive)}
			b := bus.New()
			sub := b.Subscribe(1024, true)
			ph := NewPhysiology(b, NewClock())
			dev, err := bitalino.New(bitalino.Config{Rate: gapRate, Inputs: []bitalino.Input{{Analog: 1, Sensor: bitalino.EDA}}})
			require.NoError(t, err)
			var samples int
			var dropped uint64
			var lostStatus bool
			err = bridge.Run(t.Context(), bridge.Config{
				Port: "burst", Device: startedBITalino{dev}, Now: port.Now,
				Open:     func(string, time.Duration) (io.ReadWriteCloser, error) { return port, nil },
				OnStream: ph.addStream,
				// Physiology as the bus would feed it, in this goroutine:
				// everything it says is published when Run returns.
				Sink: func(s sensors.Sample) { samples++; ph.push(&s) },
				OnStatus: func(st bridge.Status) {
					dropped = max(dropped, st.DroppedSamples)
					lostStatus = lostStatus || st.State == bridge.Lost
				},
			})
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the port ran out of bytes")
			b.Close()
			var gaps []event.Alert
			for m := range sub.C {
				if m.Event == nil {
					continue
				}
				if a, ok := m.Event.Data.(event.Alert); ok && isGapAlert(a) {
					gaps = append(gaps, a)
				}
			}
			assert.False(t, lostStatus, "the connection was never lost")
			assert.Len(t, gaps, c.gaps, "gap alerts: %+v", gaps)
			if c.gaps == 0 {
				assert.Equal(t, n, samples, "every sample came through")
				assert.Zero(t, dropped, "and none counted lost")
				return
			}
			assert.Equal(t, n-2*gapRate, samples)
			assert.Greater(t, dropped, uint64(0), "the counter showed the loss")
			for _, a := range gaps {
				assert.Equal(t, []any{event.LevelWarning, "gap:bitalino", "bitalino"}, []any{a.Level, a.Incident, a.Device})
				assert.NotEmpty(t, a.Message)
			}
		})
	}
}

// One unplug is one incident: the sensor's ("sensor:DEVICE", the rig's).
// The gap the reconnection leaves in the samples is that same incident's,
// so physiology raises no gap alert of its own for it, on any channel; a
// gap nobody reported is one alert for the device, not one per channel.
func TestReconnectionGapIsNotAlertedTwice(t *testing.T) {
	for _, c := range []struct {
		name     string
		reported bool
		gaps     int
	}{
		{"the sensor layer reported the gap", true, 0},
		{"a gap nobody reported", false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := bus.New()
			sub := b.Subscribe(1024, true)
			ph := NewPhysiology(b, NewClock())
			ph.addStream(sensors.Stream{Device: "bitalino", Rate: 100, Channels: []sensors.Channel{
				{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}})
			push := func(i int, t time.Duration) {
				s := sensors.Sample{Device: "bitalino", T: t, N: 2}
				s.Values[0], s.Values[1] = 5+0.1*math.Sin(float64(i)/50), 0.1*math.Sin(float64(i)/5)
				ph.push(&s)
			}
			for i := range 2000 { // 20 s
				push(i, time.Duration(i)*10*time.Millisecond)
			}
			// Lost from 20 s to 24 s; the rig publishes the gap before the
			// first sample after it.
			if c.reported {
				ph.follow(&event.Event{T: 24 * time.Second, Step: -1, Data: event.Gap{Source: "sensor", Device: "bitalino",
					Start: 19.99, End: 24, Reason: bridge.ReasonGone}})
			}
			for i := range 500 {
				push(2000+i, 24*time.Second+time.Duration(i)*10*time.Millisecond)
			}
			b.Close()
			gaps := 0
			for m := range sub.C {
				if m.Event == nil {
					continue
				}
				if a, ok := m.Event.Data.(event.Alert); ok && isGapAlert(a) {
					gaps++
				}
			}
			assert.Equal(t, c.gaps, gaps)
		})
	}
}

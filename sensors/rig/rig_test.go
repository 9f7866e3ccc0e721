package rig

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const sec = time.Second

func lost(t time.Duration, reason string, err error) bridge.Status {
	return bridge.Status{State: bridge.Lost, Device: "bitalino", Port: "/dev/pts/3", T: t, Err: err,
		Gap: &bridge.Gap{Start: t - 100*time.Millisecond, Reason: reason}}
}

func connecting(t time.Duration, n int) bridge.Status {
	return bridge.Status{State: bridge.Connecting, Device: "bitalino", Port: "/dev/pts/3", T: t, Attempt: n,
		Err: errors.New("open /dev/pts/3: no such file or directory")}
}

func back(t, from time.Duration) bridge.Status {
	return bridge.Status{State: bridge.Reconnected, Device: "bitalino", Port: "/dev/pts/3", T: t,
		Gap: &bridge.Gap{Start: from, End: t, Reason: bridge.ReasonGone}}
}

// One unplug is one incident: the loss in plain words with the raw error
// apart, a few "still not back" updates however many attempts there are,
// and its end. Statuses that are not news make no alert.
func TestOneIncidentPerLoss(t *testing.T) {
	ioErr := fmt.Errorf("bridge: bitalino on /dev/pts/3: read /dev/pts/3: input/output error (0 bytes dropped while resynchronising)")
	type want struct {
		message, detail string
		resolved        bool
	}
	for _, c := range []struct {
		name     string
		statuses []bridge.Status
		want     []want
	}{
		{"unplugged, back in 4 s", []bridge.Status{
			{State: bridge.Connecting, Device: "bitalino", T: 0},
			{State: bridge.Streaming, Device: "bitalino", T: sec, Samples: 1},
			lost(10*sec, bridge.ReasonGone, ioErr),
			connecting(10*sec+250*time.Millisecond, 1), connecting(11*sec, 2), connecting(12*sec, 3),
			back(14*sec, 10*sec-100*time.Millisecond),
			{State: bridge.Streaming, Device: "bitalino", T: 15 * sec},
		}, []want{
			{"Sensor bitalino disconnected — reconnecting; no data from it until it is back", ioErr.Error(), false},
			{"Sensor bitalino reconnected after a 4.1 s gap", "", true},
		}},
		{"fell silent, back after 75 s", append(append([]bridge.Status{lost(0, bridge.ReasonSilent, errors.New("no data for 3s"))},
			attempts(5*sec, 75*sec)...), back(75*sec, 0)),
			[]want{
				{"Sensor bitalino stopped sending data — reconnecting; no data from it until it is back", "no data for 3s", false},
				{"Sensor bitalino still not back after 10 s — check it is switched on, charged and in range; still trying", "open /dev/pts/3: no such file or directory", false},
				{"Sensor bitalino still not back after 30 s — check it is switched on, charged and in range; still trying", "open /dev/pts/3: no such file or directory", false},
				{"Sensor bitalino still not back after 60 s — check it is switched on, charged and in range; still trying", "open /dev/pts/3: no such file or directory", false},
				{"Sensor bitalino reconnected after a 75.0 s gap", "", true},
			}},
		{"noise", []bridge.Status{lost(0, bridge.ReasonUndecodable, errors.New("bytes arrive but stopped decoding"))}, []want{
			{"Sensor bitalino sends data that cannot be read (noise on the line) — reconnecting; no data from it until it is back", "bytes arrive but stopped decoding", false},
		}},
		{"the first connection is not an incident", []bridge.Status{connecting(0, 0), connecting(sec, 1), connecting(20*sec, 2)}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in incident
			var got []want
			for _, st := range c.statuses {
				a, ok := in.status(st)
				if !ok {
					continue
				}
				assert.Equal(t, []any{"sensor", "bitalino", event.LevelWarning, "sensor:bitalino"},
					[]any{a.Source, a.Device, a.Level, a.Incident})
				assert.NotContains(t, a.Message, "/dev/", "the port and the raw error go in Detail")
				got = append(got, want{a.Message, a.Detail, a.Resolved})
			}
			assert.Equal(t, c.want, got)
		})
	}
}

// attempts are reconnection attempts every 5 s from from until before to.
func attempts(from, to time.Duration) []bridge.Status {
	var out []bridge.Status
	for t, n := from, 1; t < to; t, n = t+5*sec, n+1 {
		out = append(out, connecting(t, n))
	}
	return out
}

func TestStillLostUpdatesThinOut(t *testing.T) {
	in := incident{open: true}
	var at []time.Duration
	for tt := time.Duration(0); tt <= 30*time.Minute; tt += 5 * sec {
		if _, ok := in.status(connecting(tt, 1)); ok {
			at = append(at, tt)
		}
	}
	assert.Equal(t, []time.Duration{10 * sec, 30 * sec, time.Minute, 2 * time.Minute, 5 * time.Minute,
		10 * time.Minute, 15 * time.Minute, 20 * time.Minute, 25 * time.Minute, 30 * time.Minute}, at)
}

func TestEnded(t *testing.T) {
	for _, c := range []struct {
		name     string
		statuses []bridge.Status
		message  string
	}{
		{"gave up reconnecting", []bridge.Status{{State: bridge.Streaming, Device: "bitalino"}, lost(sec, bridge.ReasonGone, nil)},
			"Sensor bitalino lost for good: no longer trying to reconnect — its data is missing from here on"},
		{"never started", []bridge.Status{connecting(0, 0)},
			"Sensor bitalino could not be started — check it is switched on, paired and on the right port"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in incident
			for _, st := range c.statuses {
				in.status(st)
			}
			a := in.ended("bitalino", errors.New("bridge: gave up reconnecting after 1m0s"))
			assert.Equal(t, []any{event.LevelWarning, "sensor:bitalino", false}, []any{a.Level, a.Incident, a.Resolved})
			assert.Equal(t, "bridge: gave up reconnecting after 1m0s", a.Detail)
			assert.Equal(t, c.message, a.Message)
		})
	}
}

// Samples lost within a connection, as the device's counter shows them
// (the samples' times step over them), are a gap for the recording and
// one alert; a step that ends a reconnection is that reconnection's gap,
// and short losses are only counted.
func TestLostSamplesAreAGap(t *testing.T) {
	type step struct {
		reconnected bool          // a Reconnected status came before the sample
		t           time.Duration // the sample's time
	}
	ms := time.Millisecond
	for _, c := range []struct {
		name  string
		steps []step
		gaps  []event.Gap
	}{
		{"no loss", []step{{t: 0}, {t: 10 * ms}, {t: 20 * ms}}, nil},
		{"a short loss is counted only", []step{{t: 0}, {t: 10 * ms}, {t: 900 * ms}}, nil},
		{"2 s lost", []step{{t: 0}, {t: 10 * ms}, {t: 2020 * ms}, {t: 2030 * ms}},
			[]event.Gap{{Source: "sensor", Device: "bitalino", Start: 0.01, End: 2.02, Reason: "samples lost",
				Message: "bitalino: 2.0 s of samples lost on the link (the device's counter shows them missing)"}}},
		{"the gap of a reconnection is reported with it", []step{{t: 0}, {reconnected: true, t: 5 * sec}, {t: 5*sec + 10*ms}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := incident{}
			var gaps []event.Gap
			for _, s := range c.steps {
				if s.reconnected {
					in.status(back(s.t, 0))
				}
				g, a, ok := in.sample(sensors.Sample{Device: "bitalino", T: s.t})
				if !ok {
					continue
				}
				gaps = append(gaps, g)
				assert.Equal(t, []any{"sensor", "bitalino", event.LevelWarning, "gap:bitalino", false},
					[]any{a.Source, a.Device, a.Level, a.Incident, a.Resolved})
				assert.Equal(t, "2.0 s of data from sensor bitalino is missing (samples lost on the link) — check its distance, interference and battery", a.Message)
			}
			assert.Equal(t, c.gaps, gaps)
		})
	}
}

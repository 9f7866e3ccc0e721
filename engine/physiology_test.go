package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
)

// TestPhysiologyForAnyDeviceName: a device whose name merely starts like
// the derived stream ("physiolab") gets heart rate and skin conductance like
// any other, and the derived stream's own samples are never fed back in.
func TestPhysiologyForAnyDeviceName(t *testing.T) {
	for _, name := range []string{"bitalino", "physiolab"} {
		t.Run(name, func(t *testing.T) {
			b := bus.New()
			sub := b.Subscribe(1024, true)
			out := b.Subscribe(1<<16, true)
			ph := NewPhysiology(b, NewClock())
			done := make(chan struct{})
			go func() { ph.Run(sub); close(done) }()

			st := sensors.Stream{Device: name, Kind: "test", Rate: 100,
				Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}}}
			b.Publish(bus.Msg{Stream: &st})
			for i := range 3000 { // 30 s of a steady 5 µS
				s := sensors.Sample{Device: name, T: time.Duration(i) * 10 * time.Millisecond, Seq: uint32(i), N: 1}
				s.Values[0] = 5
				b.Publish(bus.Msg{Sample: &s})
			}
			// Read what physiology publishes until enough levels came out.
			var derived, withSC int
			var stream *sensors.Stream
			deadline := time.After(20 * time.Second)
			for withSC <= 50 {
				var m bus.Msg
				select {
				case m = <-out.C:
				case <-deadline:
					t.Fatalf("after 20 s: %d derived samples, %d with skin conductance", derived, withSC)
				}
				switch {
				case m.Stream != nil && m.Stream.Kind == "derived":
					stream = m.Stream
				case m.Sample != nil && m.Sample.Device == PhysioDevice:
					derived++
					if v := m.Sample.Values[1]; v == v { // not NaN
						withSC++
					}
				}
			}
			b.Close()
			<-done
			require.NotNil(t, stream, "a derived stream is announced")
			assert.Equal(t, name, stream.Settings["source"])
		})
	}
}

// collect runs f on a physiology whose bus a test reads, and returns the
// alerts it published.
func collect(t *testing.T, f func(ph *Physiology)) []event.Alert {
	t.Helper()
	b := bus.New()
	sub := b.Subscribe(64, true)
	ph := NewPhysiology(b, NewClock())
	f(ph)
	b.Close()
	var out []event.Alert
	for m := range sub.C {
		if m.Event != nil {
			if a, ok := m.Event.Data.(event.Alert); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

// Crossing the arousal ceiling is one alarm incident, resolved once
// arousal is clearly back under it; crossing again is the same incident
// raised again.
func TestArousalCeilingIncident(t *testing.T) {
	got := collect(t, func(ph *Physiology) {
		for i, z := range []float64{1, 2.6, 3.4, 2.3, 2.6, 1.9, 1.5, 2.7} {
			ph.ceiling(time.Duration(i)*time.Second, physio.Levels{Arousal: z, HasArousal: true})
		}
	})
	type alert struct {
		value    float64
		resolved bool
		message  string
	}
	var seen []alert
	for _, a := range got {
		assert.Equal(t, []any{"arousal", event.LevelAlarm, IncidentArousal}, []any{a.Source, a.Level, a.Incident})
		require.NotNil(t, a.Limit)
		assert.Equal(t, ArousalCeiling, a.Limit.Value)
		seen = append(seen, alert{*a.Value, a.Resolved, a.Message})
	}
	assert.Equal(t, []alert{
		{2.6, false, "arousal 2.6 is above the ceiling of 2.5 (z against baseline)"},
		{1.9, true, "arousal is back under the ceiling: 1.9 (ceiling 2.5)"},
		{2.7, false, "arousal 2.7 is above the ceiling of 2.5 (z against baseline)"},
	}, seen)
}

// A channel's quality problems are one warning incident per device and
// channel: raised, updated as flags come and go, resolved when none is
// left. Changes that only clear what was never alerted say nothing.
func TestSignalIncidents(t *testing.T) {
	q := func(now, raised, cleared physio.Quality) physio.Derived {
		return physio.Derived{Kind: physio.KindAlert, Source: "eda", Quality: now, Raised: raised, Cleared: cleared}
	}
	type alert struct {
		resolved bool
		message  string
	}
	for _, c := range []struct {
		name    string
		changes []physio.Derived
		want    []alert
	}{
		{"raised, more, less, cleared", []physio.Derived{
			q(physio.Flat, physio.Flat, 0),
			q(physio.Flat|physio.ElectrodeOff, physio.ElectrodeOff, 0),
			q(physio.ElectrodeOff, 0, physio.Flat),
			q(0, 0, physio.ElectrodeOff),
		}, []alert{
			{false, "eda: flat line — check the sensor is connected"},
			{false, "eda: electrode off — re-attach the electrodes"},
			{false, "eda: flat line cleared; still electrode off — re-attach the electrodes"},
			{true, "eda: signal usable again (electrode off cleared)"},
		}},
		{"a gap only: not this incident", []physio.Derived{q(physio.Gap, physio.Gap, 0), q(0, 0, physio.Gap)}, nil},
		{"a gap with another flag", []physio.Derived{
			q(physio.Gap|physio.Missing, physio.Gap|physio.Missing, 0),
			q(physio.Missing, 0, physio.Gap),
			q(0, 0, physio.Missing),
		}, []alert{
			{false, "eda: missing values — check the device link"},
			{true, "eda: signal usable again (missing values cleared)"},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := collect(t, func(ph *Physiology) {
				for _, d := range c.changes {
					for _, a := range ph.qualityAlerts("bitalino", d, d.Raised&physio.Gap != 0) {
						ph.event(d.Known, a)
					}
				}
			})
			var seen []alert
			for _, a := range got {
				if strings.HasPrefix(a.Incident, incidentGap) {
					continue // TestGapAlerts...
				}
				assert.Equal(t, []any{"signal", "bitalino", "eda", event.LevelWarning, "signal:bitalino:eda"},
					[]any{a.Source, a.Device, a.Channel, a.Level, a.Incident})
				seen = append(seen, alert{a.Resolved, a.Message})
			}
			assert.Equal(t, c.want, seen)
		})
	}
}

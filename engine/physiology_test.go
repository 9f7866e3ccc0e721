package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
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

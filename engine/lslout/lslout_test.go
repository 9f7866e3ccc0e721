package lslout

import (
	"context"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/sensors"
)

// loopback outlets: no discovery, reached by address (discovery and the
// real library are lsl's own tests, in a private network namespace).
var loopback = lsl.WithConfig(lsl.Config{NoDiscovery: true, Listen: netip.MustParseAddr("127.0.0.1")})

func connect(t *testing.T, info lsl.StreamInfo) *lsl.Inlet {
	t.Helper()
	info.V4Address = "127.0.0.1"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	in, err := lsl.NewInlet(ctx, info, loopback)
	require.NoError(t, err)
	t.Cleanup(func() { in.Close() })
	return in
}

// TestOutlets: a device's samples and the session's events reach an inlet
// with their session times on LSL's clock, the channels described.
func TestOutlets(t *testing.T) {
	leakcheck.Check(t)
	clock := lsl.SessionClock{Origin: 1000}
	p, err := New(clock, "s1", nil, loopback)
	require.NoError(t, err)
	defer p.Close()

	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: 1000,
		Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}}
	p.Take(bus.Msg{Stream: &st})
	p.Take(bus.Msg{Stream: &st}) // a reconnection keeps the outlet
	streams := p.Streams()
	require.Len(t, streams, 2)
	assert.Equal(t, MarkerStream, streams[0].Name)
	dev := streams[1]
	assert.Equal(t, "cueroom-bitalino", dev.Name)
	assert.Equal(t, "Physio", dev.Type)
	assert.Equal(t, 1000.0, dev.Rate)

	din := connect(t, dev)
	mk := connect(t, streams[0])
	got := din.Info()
	require.Len(t, got.Channels, 2)
	assert.Equal(t, lsl.Channel{Label: "eda", Unit: "microsiemens", Type: "EDA"}, got.Channels[0])
	assert.Equal(t, lsl.Channel{Label: "ecg", Unit: "millivolts", Type: "ECG"}, got.Channels[1])

	for i := range 5 {
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Millisecond, N: 2}
		s.Values[0], s.Values[1] = 2+float64(i), -float64(i)
		p.Take(bus.Msg{Sample: &s})
	}
	onset := event.Event{T: 1234567 * time.Microsecond, Step: 2, Data: event.CueOnset{Cue: "bar.c1", Modality: "image", Channel: "visual"}}
	p.Take(bus.Msg{Event: &onset})

	var s lsl.Sample
	for i := range 5 {
		require.NoError(t, din.Next(&s))
		assert.InDelta(t, 1000+float64(i)/1000, s.T, 1e-9)
		assert.Equal(t, []float64{2 + float64(i), -float64(i)}, s.Values)
	}
	require.NoError(t, mk.Next(&s))
	assert.InDelta(t, 1001.234567, s.T, 1e-9, "the marker is the recorded onset on LSL's clock")
	var back event.Event
	require.NoError(t, json.Unmarshal([]byte(s.Strings[0]), &back))
	assert.Equal(t, onset.Data, back.Data)
	assert.Equal(t, onset.T, back.T)
}

// TestDerivedIsIrregular: the derived physiology is an irregular double
// stream; a device whose channels change gets a new outlet.
func TestDerivedIsIrregular(t *testing.T) {
	leakcheck.Check(t)
	p, err := New(lsl.SessionClock{}, "s2", nil, loopback)
	require.NoError(t, err)
	defer p.Close()
	phys := sensors.Stream{Device: "physio", Kind: "derived", Rate: 4, Channels: []sensors.Channel{{Label: "hr", Unit: "bpm", Type: "HR"}}}
	p.Take(bus.Msg{Stream: &phys})
	info := p.Streams()[1]
	assert.Equal(t, lsl.IrregularRate, info.Rate)
	assert.Equal(t, lsl.Double64, info.Format)
	assert.Equal(t, "HR", info.Type)

	phys.Channels = append(phys.Channels, sensors.Channel{Label: "rmssd", Unit: "ms", Type: "HRV"})
	p.Take(bus.Msg{Stream: &phys})
	again := p.Streams()[1]
	assert.Equal(t, 2, again.ChannelCount)
	assert.NotEqual(t, info.UID, again.UID)
}

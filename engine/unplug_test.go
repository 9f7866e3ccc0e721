package engine

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/rig"
	"github.com/cueroom/cueroom/sensors/simport"
)

// simBITalino serves a simulated BITalino on a new pty.
func simBITalino(t *testing.T) *simport.Pty {
	t.Helper()
	sim, err := bitalino.NewSim(bitalino.SimConfig{MaxBacklog: time.Hour})
	require.NoError(t, err)
	p, err := simport.Start(context.Background(), sim)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close(); sim.Close() })
	return p
}

func pointAt(t *testing.T, link, target string) {
	t.Helper()
	require.NoError(t, os.Symlink(target, link+".new"))
	require.NoError(t, os.Rename(link+".new", link))
}

// Issue #14: one unplug gives the therapist one incident, in plain words:
// the sensor lost, then back (resolved). The gap it leaves in the samples
// is not alerted again by physiology, on any channel, and the raw serial
// error is the alert's detail, not its message.
func TestOneUnplugOneIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("unplugs a simulated sensor for a few seconds")
	}
	link := filepath.Join(t.TempDir(), "usb-PLUX_BITalino-if00")
	p1 := simBITalino(t)
	pointAt(t, link, p1.Path)

	b := bus.New()
	watch := b.Subscribe(1<<16, true)
	physSub := b.Subscribe(1<<16, true)
	clock := NewClock()
	ph := NewPhysiology(b, clock)
	physDone := make(chan struct{})
	go func() { ph.Run(physSub); close(physDone) }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sens, err := rig.Start(ctx, []string{"bitalino:" + link + "?rate=100"}, clock, b, io.Discard)
	require.NoError(t, err)

	var alerts []event.Alert
	var lostAt, backAt, lastT time.Duration
	read := func(until func() bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for !until() {
			select {
			case m := <-watch.C:
				var a event.Alert
				ok := false
				if m.Event != nil {
					a, ok = m.Event.Data.(event.Alert)
				}
				if ok {
					alerts = append(alerts, a)
					if a.Incident == rig.IncidentSensor("bitalino") && lostAt == 0 {
						lostAt = m.Event.T
					}
					if a.Incident == rig.IncidentSensor("bitalino") && a.Resolved {
						backAt = m.Event.T
					}
				}
				if m.Sample != nil && m.Sample.Device == "bitalino" {
					lastT = m.Sample.T
				}
				if m.Sample != nil && backAt > 0 && m.Sample.Device == "bitalino" && m.Sample.T > backAt+3*time.Second {
					return // 3 s of samples after the reconnection: physiology has seen the gap
				}
			case <-deadline:
				t.Fatalf("back at %v, last sample %v; alerts so far: %+v", backAt, lastT, alerts)
			}
		}
	}
	time.Sleep(2 * time.Second) // the scenario: streaming for a while
	require.NoError(t, p1.Close())
	read(func() bool { return lostAt > 0 })
	time.Sleep(1500 * time.Millisecond) // unplugged: a gap longer than physiology's 1 s
	pointAt(t, link, simBITalino(t).Path)
	read(func() bool { return false })
	sens.Stop()
	b.Close()
	<-physDone
	for range watch.C {
	}

	var during []event.Alert // the alerts the unplug brought
	for _, a := range alerts {
		if a.Incident == rig.IncidentSensor("bitalino") || a.Incident == "gap:bitalino" || a.Source == "sensor" {
			during = append(during, a)
		}
	}
	incidents := map[string]bool{}
	for _, a := range during {
		incidents[a.Incident] = true
		assert.Equal(t, event.LevelWarning, a.Level)
		assert.NotContains(t, a.Message, "/dev/", "plain words: %q", a.Message)
		assert.NotContains(t, a.Message, "input/output error", "plain words: %q", a.Message)
	}
	assert.Equal(t, map[string]bool{"sensor:bitalino": true}, incidents, "one incident: %+v", during)
	require.GreaterOrEqual(t, len(during), 2)
	assert.Equal(t, "Sensor bitalino disconnected — reconnecting; no data from it until it is back", during[0].Message)
	assert.NotEmpty(t, during[0].Detail, "the raw error is kept")
	last := during[len(during)-1]
	assert.True(t, last.Resolved)
	assert.Contains(t, last.Message, "Sensor bitalino reconnected after a ")
	assert.Greater(t, backAt-lostAt, time.Second)
	assert.False(t, slices.ContainsFunc(alerts, func(a event.Alert) bool { return a.Incident == "" }),
		"every alert has its incident: %+v", alerts)
}

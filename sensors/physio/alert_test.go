package physio_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors/physio"
)

// TestAlertEventIncident: a channel's quality changes are one incident, a
// warning, resolved by the change that clears its last flag; the message
// says in words what is wrong, what still is, or that the signal is usable.
func TestAlertEventIncident(t *testing.T) {
	for _, c := range []struct {
		name                     string
		quality, raised, cleared physio.Quality
		resolved                 bool
		message                  string
	}{
		{"raised", physio.ElectrodeOff, physio.ElectrodeOff, 0, false, "eda: electrode off — re-attach the electrodes"},
		{"one of two cleared", physio.Flat, 0, physio.Saturated, false, "eda: saturated cleared; still flat line — check the sensor is connected"},
		{"all cleared", 0, 0, physio.Flat | physio.Saturated, true, "eda: signal usable again (flat line, saturated cleared)"},
		{"one cleared, another raised", physio.Noisy, physio.Noisy, physio.Flat, false, "eda: unreliable heart rate — check the electrode contact; ask the client to sit still"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := physio.Derived{Kind: physio.KindAlert, Source: "eda", Known: 3 * time.Second,
				Quality: c.quality, Raised: c.raised, Cleared: c.cleared}
			e, ok := d.AlertEvent()
			require.True(t, ok)
			assert.Equal(t, 3*time.Second, e.T)
			a := e.Data.(event.Alert)
			assert.Equal(t, event.LevelWarning, a.Level)
			assert.Equal(t, "signal:eda", a.Incident)
			assert.Equal(t, c.resolved, a.Resolved)
			assert.Equal(t, c.message, a.Message)
			assert.Equal(t, "eda", a.Channel)
		})
	}
}

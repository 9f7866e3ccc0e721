package physio_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
	"github.com/cueroom/cueroom/sensors/physio/hrv"
)

// TestValidationLiveRMSSD: the RMSSD the dashboard shows at the end of the
// clean 8-min recording, from the live detector's beats, against the RMSSD
// of the reference beats (testdata/ref, another detector) over the same
// last minute, computed offline by package hrv.
func TestValidationLiveRMSSD(t *testing.T) {
	const file, rate = "bio_resting_8min_100hz.csv", 100.0
	x := readCols(t, file, "ECG")[0]
	p, err := physio.New(sensors.Stream{Device: "d", Rate: rate,
		Channels: []sensors.Channel{{Label: "ecg", Unit: "mV", Type: "ECG"}}}, physio.Config{})
	require.NoError(t, err)
	var last physio.Levels
	var out []physio.Derived
	for i, v := range x {
		s := sensors.Sample{Device: "d", T: time.Duration(float64(i) / rate * float64(time.Second)), N: 1}
		s.Values[0] = v
		out = p.Push(s, out[:0])
		for _, d := range out {
			if d.Kind == physio.KindLevels {
				last = d.Levels
			}
		}
	}
	require.True(t, last.HasRMSSD, "RMSSD shown once half a minute of beats is in")

	ref := readRef(t, "bio_resting_8min_100hz.ecg.txt")
	for i := range ref {
		ref[i] /= rate
	}
	end := float64(len(x)) / rate
	r := hrv.Correct(ref, nil, hrv.Correction{}).Analyze(end-62, end, hrv.Options{})
	require.NotNil(t, r.Time, "offline: %s", r.TimeWhy)
	t.Logf("VALIDATION live RMSSD %.1f ms at the end; reference beats' last minute %.1f ms", last.RMSSD, r.Time.RMSSD)
	assert.InEpsilon(t, r.Time.RMSSD, last.RMSSD, 0.10)
}

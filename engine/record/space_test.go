package record

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

// recordedBytes records a minute of one stream four hours into a session
// (see the constants in space.go) and returns the bytes of samples records
// in data.rec.
func recordedBytes(t *testing.T, rate, channels int) int64 {
	t.Helper()
	w, err := Create(t.TempDir(), testMeta(), protoSrc, noTicks)
	require.NoError(t, err)
	n := rate * 60
	start := 3*time.Hour + 59*time.Minute
	for i := 0; i < n; i++ {
		at := start + time.Duration(i)*time.Second/time.Duration(rate)
		s := sensors.Sample{Device: "bitalino", T: at, Arrival: at + time.Duration(i%7)*time.Millisecond + 1_234_567, Seq: uint32(i & 15), N: channels}
		for c := 0; c < channels; c++ {
			adc := float64((i*7 + c*131) % 1024)
			s.Values[c] = adc / 1024 * 3.3 / 0.132 // BITalino EDA in µS
		}
		w.handle(bus.Msg{Sample: &s})
	}
	require.NoError(t, w.Close())
	st, err := os.Stat(filepath.Join(w.Dir(), DataFile))
	require.NoError(t, err)
	return st.Size() - int64(len(magic))
}

// TestBytesPerSample measures what the writer produces and holds the
// constants of space.go to it: never below what is measured (the warning
// must not come too late), never more than 10% above.
func TestBytesPerSample(t *testing.T) {
	// At 10 Hz each sample is a record of its own; at 1 kHz a record holds
	// 100: two equations for the per-sample and per-record bytes.
	fast, slow := float64(recordedBytes(t, 1000, 0))/60000, float64(recordedBytes(t, 10, 0))/600
	record := (slow - fast) / (1 - 1.0/100)
	sample := slow - record
	value := float64(recordedBytes(t, 1000, 8)-recordedBytes(t, 1000, 0)) / 60000 / 8
	t.Logf("measured: %.1f B per sample, %.1f B per value, %.1f B per record", sample, value, record)
	for _, tc := range []struct {
		name     string
		constant int
		measured float64
	}{{"SampleBytes", SampleBytes, sample}, {"ValueBytes", ValueBytes, value}, {"RecordBytes", RecordBytes, record}} {
		assert.GreaterOrEqual(t, float64(tc.constant), tc.measured, tc.name)
		assert.LessOrEqual(t, float64(tc.constant), tc.measured*1.1, tc.name)
	}

	// The estimate against a real recording, at three rates and widths.
	for _, tc := range []struct{ rate, channels int }{{1000, 2}, {100, 6}, {4, 1}} {
		t.Run(fmt.Sprintf("%dHz×%d", tc.rate, tc.channels), func(t *testing.T) {
			got := recordedBytes(t, tc.rate, tc.channels)
			st := sensors.Stream{Device: "bitalino", Rate: float64(tc.rate), Channels: make([]sensors.Channel, tc.channels)}
			est := int64(EstimateBytes([]sensors.Stream{st}, time.Minute)) - fixedBytes - EventBytesPerMinute
			assert.GreaterOrEqual(t, est, got)
			assert.LessOrEqual(t, float64(est), float64(got)*1.1)
		})
	}
}

func TestEstimateBytes(t *testing.T) {
	bit := sensors.Stream{Device: "bitalino", Rate: 1000, Channels: make([]sensors.Channel, 2)}
	hour := EstimateBytes([]sensors.Stream{bit}, time.Hour)
	// 3.6 M samples of two values in 36000 records: about 250 MB.
	assert.Equal(t, uint64(3.6e6*(SampleBytes+2*ValueBytes)+36000*RecordBytes+fixedBytes+60*EventBytesPerMinute), hour)
	assert.Equal(t, uint64(fixedBytes), EstimateBytes(nil, 0))
	assert.Equal(t, EstimateBytes(nil, time.Hour), EstimateBytes([]sensors.Stream{{Rate: 0}, {Rate: math.NaN()}, {Rate: math.Inf(1)}}, time.Hour), "unknown rates are not counted")
	unlisted := EstimateBytes([]sensors.Stream{{Rate: 100}}, time.Hour)
	assert.Equal(t, EstimateBytes([]sensors.Stream{{Rate: 100, Channels: make([]sensors.Channel, sensors.MaxChannels)}}, time.Hour), unlisted, "no channel list: every channel")
	assert.Equal(t, uint64(fixedBytes), EstimateBytes([]sensors.Stream{bit}, -time.Hour))
}

func TestFreeBytes(t *testing.T) {
	free, err := FreeBytes(t.TempDir())
	require.NoError(t, err)
	assert.Positive(t, free)
	_, err = FreeBytes(filepath.Join(t.TempDir(), "no such folder"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no such folder")
}

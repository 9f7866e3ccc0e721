package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/sensors"
)

// The free-space warning at the start: what a session of the protocol's
// length needs (a 1 kHz two-channel BITalino and its derived stream), set
// against what the disk has.
func TestLowSpaceWarning(t *testing.T) {
	streams := []sensors.Stream{
		{Device: "bitalino", Rate: 1000, Channels: make([]sensors.Channel, 2)},
		{Device: "physio", Rate: 4, Channels: make([]sensors.Channel, 3)},
	}
	need := record.EstimateBytes(streams, 45*time.Minute)
	assert.Greater(t, need, uint64(100<<20), "45 min at 1 kHz × 2 channels is over 100 MB")
	tests := []struct {
		free uint64
		warn bool
	}{
		{need, false},
		{need * 10, false},
		{need - 1, true},
		{10 << 20, true},
		{0, true},
	}
	for _, tc := range tests {
		msg := lowSpace(tc.free, need, "/data/sessions/x", 45*time.Minute)
		if !tc.warn {
			assert.Empty(t, msg, "%d bytes free", tc.free)
			continue
		}
		assert.Contains(t, msg, "free disk space", "%d bytes free", tc.free)
		assert.Contains(t, msg, "/data/sessions/x")
		assert.Contains(t, msg, "45m0s session needs about")
	}
}

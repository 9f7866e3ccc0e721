package replay

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/engine"
)

func TestNextSpeed(t *testing.T) {
	tests := []struct {
		cur  float64
		dir  int
		want float64
	}{
		{1, +1, 2}, {1, -1, 0.5}, {3, +1, 4}, {3, -1, 2}, {0.3, +1, 0.5}, {0.3, -1, 0.25},
		{16, +1, 16}, {0.25, -1, 0.25},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, NextSpeed(tt.cur, tt.dir), "from %g by %+d", tt.cur, tt.dir)
	}
}

func TestCaption(t *testing.T) {
	s := Status{Playback: Playback{Position: engine.Duration(83 * time.Second), Duration: engine.Duration(10 * time.Minute), Speed: 2}}
	assert.Equal(t, "replay 1:23 / 10:00 · 2× · paused", s.Caption())
}

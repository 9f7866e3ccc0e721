package window

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/cueroom/cueroom/scenes"
)

func TestCaptionFollowsTheNarration(t *testing.T) {
	timed := scenes.Cue{Kind: scenes.KindNarration, Captions: []scenes.Caption{{At: time.Second, Text: "one"}, {At: 3 * time.Second, Text: "two"}}}
	tests := []struct {
		c    scenes.Cue
		at   time.Duration
		want string
	}{
		{timed, 0, ""},
		{timed, time.Second, "one"},
		{timed, 2999 * time.Millisecond, "one"},
		{timed, 10 * time.Second, "two"},
		{scenes.Cue{Subtitles: "all along"}, 5 * time.Second, "all along"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, caption(tc.c, tc.at), "at %v", tc.at)
	}
}

package scenes

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpokenNarrationAndCaptions(t *testing.T) {
	const src = `cueroom: 1
title: Script
substance: heroin
baseline:
  duration: 10s
  cues:
    - say: "Sit back and listen."
steps:
  - name: Script
    intensity: 5
    duration: 30s
    cues:
      - say: "It is Friday evening."
        voice: en-gb
        subtitles:
          - at: 0s
            text: "It is Friday"
          - at: 1500ms
            text: "evening."
`
	p, err := Parse("n.yaml", []byte(src), fstest.MapFS{})
	require.NoError(t, err)
	b := p.Baseline.Cues[0]
	assert.Equal(t, KindNarration, b.Kind)
	assert.True(t, b.Spoken())
	assert.Equal(t, "en-us", b.Voice, "default voice")
	assert.Equal(t, "Sit back and listen.", b.Subtitles, "a spoken narration is its own subtitle")
	c := p.Steps[0].Cues[0]
	assert.Equal(t, "en-gb", c.Voice)
	assert.Equal(t, []Caption{{0, "It is Friday"}, {1500 * time.Millisecond, "evening."}}, c.Captions)
	require.NoError(t, p.Check(), "a spoken narration has no file to check")
}

func TestNarrationErrors(t *testing.T) {
	tests := []struct{ cue, want string }{
		{"- say: hi\n        voice: \"--help\"", "is not an espeak-ng voice name"},
		{"- say: hi\n        subtitles:\n          - at: 2s\n            text: a\n          - at: 1s\n            text: b", "is not after the caption before it"},
		{"- say: hi\n        subtitles:\n          - at: 40s\n            text: a", "after the end of the step"},
		{"- say: hi\n        subtitles:\n          - text: a", "needs a at"},
	}
	for _, tc := range tests {
		src := "cueroom: 1\ntitle: T\nsubstance: alcohol\nbaseline:\n  duration: 10s\n  cues:\n    - text: x\nsteps:\n  - name: S\n    intensity: 1\n    duration: 30s\n    cues:\n      " + tc.cue + "\n"
		_, err := Parse("n.yaml", []byte(src), fstest.MapFS{})
		require.Error(t, err, tc.cue)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestLimitsAndPeriodicRating(t *testing.T) {
	const src = `cueroom: 1
title: L
substance: nicotine
limits:
  step: 5m
  session: 40m
baseline:
  duration: 10s
  cues: [{text: x}]
steps:
  - name: S
    intensity: 1
    duration: 2m
    cues: [{text: y}]
    rating:
      scale: suds
      question: "How tense are you?"
      every: 30s
`
	p, err := Parse("l.yaml", []byte(src), fstest.MapFS{})
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, p.MaxStep)
	assert.Equal(t, 40*time.Minute, p.MaxExposure)
	assert.Equal(t, 30*time.Second, p.Steps[0].Rating.Every)

	bad := strings.Replace(src, "every: 30s", "every: 2s", 1)
	_, err = Parse("l.yaml", []byte(bad), fstest.MapFS{})
	assert.ErrorContains(t, err, "more often than every 10 seconds")
	bad = strings.Replace(src, "session: 40m", "sesion: 40m", 1)
	_, err = Parse("l.yaml", []byte(bad), fstest.MapFS{})
	assert.ErrorContains(t, err, "l.yaml:6")
}

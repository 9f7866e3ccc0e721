package scenes

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Settings the patient window reads: crossfades between steps and what a
// video does after its last picture; and check's one pass over everything.

// fadeProtocol has a top-level block (top), a baseline of 20 s, and one
// exposure step of 10 s with the step-level lines in step.
func fadeProtocol(top, step string) string {
	return "cueroom: 1\ntitle: Fades\nsubstance: other\n" + top +
		"baseline:\n  duration: 20s\n  cues:\n    - text: Relax.\n" +
		"steps:\n  - name: A\n    intensity: 1\n    duration: 10s\n" + step +
		"    cues:\n      - text: Look.\n"
}

func TestCrossfade(t *testing.T) {
	tests := []struct {
		name           string
		top, step      string
		protocol, into time.Duration // the protocol's, and the step's
		baseline       time.Duration
	}{
		{"default", "", "", DefaultCrossfade, DefaultCrossfade, DefaultCrossfade},
		{"protocol-wide", "crossfade: 1.5s\n", "", 1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{"hard cuts", "crossfade: 0\n", "", 0, 0, 0},
		{"a step of its own", "crossfade: 0\n", "    crossfade: 2s\n", 0, 2 * time.Second, 0},
		{"a step cuts", "", "    crossfade: 0s\n", DefaultCrossfade, 0, DefaultCrossfade},
		{"half the step at most", "crossfade: 8s\n", "", 8 * time.Second, 5 * time.Second, 8 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("f.yaml", []byte(fadeProtocol(tt.top, tt.step)), nil)
			require.NoError(t, err)
			assert.Equal(t, tt.protocol, p.Crossfade)
			assert.Equal(t, tt.into, p.Steps[0].Crossfade)
			assert.Equal(t, tt.baseline, p.Baseline.Crossfade)
		})
	}
}

func TestCrossfadeProblems(t *testing.T) {
	tests := []struct{ top, step, want string }{
		{"crossfade: 11s\n", "", "the protocol: crossfade 11s is longer than 10s"},
		{"crossfade: -1s\n", "", "the protocol: crossfade must be more than 0"},
		{"", "    crossfade: soon\n", `step 1 "A": crossfade "soon" is not understood`},
		{"", "    crossfade: 1m\n", `step 1 "A": crossfade 1m is longer than 10s`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(fadeProtocol(tt.top, tt.step)), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestVideoEnd(t *testing.T) {
	tests := []struct {
		lines []string
		end   string
		loop  bool
	}{
		{nil, VideoLoop, true}, // a video shorter than its step never freezes unasked
		{[]string{"end: loop"}, VideoLoop, true},
		{[]string{"end: HOLD"}, VideoHold, false},
		{[]string{"end: blank"}, VideoBlank, false},
		{[]string{"loop: true"}, VideoLoop, true},
		{[]string{"loop: false"}, VideoHold, false}, // as before end: existed
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.lines, ","), func(t *testing.T) {
			src := oneCueProtocol(append([]string{"video: media/bar.mpg"}, tt.lines...))
			p, err := Parse("v.yaml", []byte(src), nil)
			require.NoError(t, err)
			c := p.Steps[0].Cues[0]
			assert.Equal(t, tt.end, c.End)
			assert.Equal(t, tt.loop, c.Loop, "the player loops by Loop")
		})
	}
}

func TestVideoEndProblems(t *testing.T) {
	tests := []struct {
		lines []string
		want  string
	}{
		{[]string{"video: media/bar.mpg", "end: stop"}, `end "stop" is not one of loop, hold or blank`},
		{[]string{"video: media/bar.mpg", "end: hold", "loop: true"}, "give end: alone"},
		{[]string{"image: media/bottle.png", "end: hold"}, "end applies only to video cues"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := Parse("v.yaml", []byte(oneCueProtocol(tt.lines)), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestLoadCheckedReportsEveryProblem: a misspelt setting does not hide a
// missing picture (Parse stops before Check could look at the media).
func TestLoadCheckedReportsEveryProblem(t *testing.T) {
	src := oneCueProtocol([]string{"image: media/gone.png", "fitt: fill"}) +
		"  - name: B\n    intensity: 2\n    duration: 5s\n    cues:\n      - sound: media/gone.wav\n"
	fsys := fstest.MapFS{"dir/p.yaml": {Data: []byte(src)}, "dir/media/other.txt": {Data: []byte("x")}}
	_, err := LoadFS(fsys, "dir/p.yaml")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "gone.png", "LoadFS alone reports the structure only")

	for name, load := range map[string]func() (*Protocol, error){
		"fs":   func() (*Protocol, error) { return LoadFSChecked(fsys, "dir/p.yaml") },
		"file": func() (*Protocol, error) { return LoadChecked(writeFile(t, t.TempDir(), "p.yaml", []byte(src))) },
	} {
		t.Run(name, func(t *testing.T) {
			p, err := load()
			require.Nil(t, p)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			var msgs []string
			for _, e := range list {
				msgs = append(msgs, e.Msg)
			}
			require.Len(t, list, 3, "%v", err)
			assert.Contains(t, msgs[0], "media/gone.png was not found")
			assert.Contains(t, msgs[1], `unknown setting "fitt"; did you mean "fit"?`)
			assert.Contains(t, msgs[2], "media/gone.wav was not found")
			assert.Less(t, list[0].Line, list[2].Line, "in file order")
			assert.True(t, errors.Is(err, fs.ErrNotExist))
		})
	}

	good := fstest.MapFS{"p.yaml": {Data: []byte(oneCueProtocol([]string{`text: "Hi."`}))}}
	p, err := LoadFSChecked(good, "p.yaml")
	require.NoError(t, err)
	assert.Equal(t, "One cue", p.Title)
}

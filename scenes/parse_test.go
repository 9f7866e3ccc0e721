package scenes

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseFile(t *testing.T, path string) (*Protocol, error) {
	t.Helper()
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	return Parse(filepath.Base(path), src, nil)
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, p *Protocol)
	}{
		{"demo.yaml", func(t *testing.T, p *Protocol) {
			assert.Equal(t, 1, p.Version)
			assert.Equal(t, "Alcohol cue exposure — demo", p.Title)
			assert.Equal(t, "alcohol", p.Substance)
			assert.Equal(t, "Three graded steps between a neutral baseline and recovery.", p.Description)

			assert.Equal(t, DefaultCrossfade, p.Crossfade, "no crossfade: given: the default")
			assert.Equal(t, Step{ID: "baseline", Name: "Baseline", Duration: 20 * time.Second, Neutral: true, Line: 7, Crossfade: DefaultCrossfade,
				Cues: []Cue{
					{ID: "baseline.c1", Kind: KindImage, Path: "media/neutral.png", Fit: FitFit, Line: 10, col: 7},
					{ID: "baseline.c2", Kind: KindText, Text: "Sit comfortably and breathe normally.", Line: 12, col: 7},
				}}, p.Baseline)

			require.Len(t, p.Steps, 2)
			s1 := p.Steps[0]
			assert.Equal(t, "s1", s1.ID)
			assert.Equal(t, "Bottle on a table", s1.Name)
			assert.Equal(t, 1, s1.Intensity)
			assert.Equal(t, 30*time.Second, s1.Duration)
			assert.False(t, s1.Neutral)
			assert.Equal(t, 14, s1.Line)
			assert.Equal(t, &Rating{Scale: ScaleCraving, Question: "How strong is your craving right now?", At: AtEnd, Line: 28}, s1.Rating)
			require.Len(t, s1.Cues, 3)
			assert.Equal(t, Cue{ID: "s1.c1", Kind: KindImage, Path: "media/bottle.jpg", Fit: FitFit,
				Description: "Closed beer bottle on a wooden table", Line: 18, col: 9}, s1.Cues[0])
			assert.Equal(t, Cue{ID: "s1.c2", Kind: KindSound, Path: "media/pour.wav", Loop: true, GainDB: -6,
				FadeIn: time.Second, FadeOut: time.Second, Line: 21, col: 9}, s1.Cues[1])
			assert.Equal(t, Cue{ID: "s1.c3", Kind: KindNarration, Path: "media/script.mp3",
				Subtitles: "You see a cold bottle on the table.", Line: 26, col: 9}, s1.Cues[2])

			s2 := p.Steps[1]
			assert.Equal(t, 90*time.Second, s2.Duration)
			assert.Equal(t, 4, s2.Intensity)
			assert.Equal(t, FitFill, s2.Cues[0].Fit)
			assert.Equal(t, KindSound, s2.Cues[1].Kind)
			assert.InDelta(t, 2.5, s2.Cues[2].GainDB, 1e-9)
			assert.Equal(t, &Rating{Scale: ScaleSUDS, Question: "How tense do you feel?", At: AtEnd, Line: 41}, s2.Rating)

			require.NotNil(t, p.Recovery)
			assert.Equal(t, "recovery", p.Recovery.ID)
			assert.True(t, p.Recovery.Neutral)
			assert.Equal(t, []string{"recovery.c1", "recovery.c2"}, cueIDs(p.Recovery.Cues))

			var order []string
			for _, s := range p.All() {
				order = append(order, s.ID)
			}
			assert.Equal(t, []string{"baseline", "s1", "s2", "recovery"}, order)
		}},
		{"minimal.yaml", func(t *testing.T, p *Protocol) {
			assert.Equal(t, "nicotine", p.Substance)
			assert.Equal(t, "Baseline", p.Baseline.Name, "default name")
			assert.Equal(t, 10*time.Second, p.Baseline.Duration, "plain seconds")
			assert.Equal(t, 2500*time.Millisecond, p.Steps[0].Duration, "decimal seconds")
			assert.Equal(t, 10, p.Steps[0].Intensity)
			assert.Nil(t, p.Recovery)
			assert.Nil(t, p.Steps[0].Rating)
			assert.Len(t, p.All(), 2)
		}},
		{"coping.yaml", func(t *testing.T, p *Protocol) {
			c := p.Steps[0].Cues[0]
			assert.Equal(t, KindBreathing, c.Kind)
			assert.Equal(t, 6.0, c.BreathsPerMin)
			assert.Empty(t, c.Path, "a pacer needs no media")
		}},
		{"ids.yaml", func(t *testing.T, p *Protocol) {
			assert.Equal(t, "2024", p.Title, "a number is accepted as a title")
			assert.Equal(t, "gambling", p.Substance, "choices are stored in lower case")
			assert.Equal(t, "calm", p.Baseline.ID)
			assert.Equal(t, 0, p.Baseline.Intensity)
			assert.Equal(t, Cue{ID: "calm-pic", Kind: KindImage, Path: "media/neutral.png", Fit: FitFill, Line: 13, col: 7},
				p.Baseline.Cues[0], "./ is cleaned away, FILL lower-cased")
			assert.Equal(t, &Rating{Scale: ScaleCraving, Question: "Craving now?", At: AtStart, Line: 15}, p.Baseline.Rating)

			require.Len(t, p.Steps, 3)
			c := p.Steps[0].Cues[0]
			assert.Equal(t, "slot.c1", c.ID, "derived from the explicit step id")
			assert.Equal(t, "media/chime.ogg", c.Path, "inner .. is cleaned when it stays inside")
			assert.Equal(t, 500*time.Millisecond, c.FadeOut)
			assert.Zero(t, c.FadeIn)
			assert.True(t, c.Personalised)
			assert.Equal(t, "Recorded in the patient's usual venue", c.Description)

			rest := p.Steps[1]
			assert.Equal(t, "s2", rest.ID, "position-based id")
			assert.True(t, rest.Neutral)
			assert.Zero(t, rest.Intensity)

			win := p.Steps[2]
			assert.Equal(t, "s3", win.ID)
			assert.Equal(t, KindNarration, win.Cues[0].Kind)
			assert.InDelta(t, -60, win.Cues[0].GainDB, 1e-9)
			assert.Equal(t, `"You won!"`, win.Cues[1].Text)
		}},
	}
	files, err := filepath.Glob("testdata/valid/*.yaml")
	require.NoError(t, err)
	require.Len(t, files, len(tests), "every valid protocol in testdata has a case here")
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "valid", tt.file)
			p, err := parseFile(t, path)
			require.NoError(t, err)
			src, _ := os.ReadFile(path)
			assert.Equal(t, src, p.Source)
			assert.Equal(t, tt.file, p.File)
			tt.check(t, p)
		})
	}
}

func cueIDs(cues []Cue) []string {
	ids := make([]string, len(cues))
	for i, c := range cues {
		ids[i] = c.ID
	}
	return ids
}

// TestParseInvalid: each file in testdata/invalid has one problem; the
// first error must be on the given line and say the given thing.
func TestParseInvalid(t *testing.T) {
	tests := []struct {
		file string
		line int
		want string
	}{
		{"alias.yaml", 16, "aliases are not supported"},
		{"bad_id.yaml", 9, `id "my step" is not usable`},
		{"breathing_range.yaml", 13, "breathing 40 is the pace in breaths per minute and must be from 2 to 20"},
		{"baseline_intensity.yaml", 5, "the baseline is neutral, so its intensity must be 0"},
		{"cue_key_for_other_kind.yaml", 14, "loop applies only to sound and video cues, and this is an image cue; remove loop"},
		{"cue_key_on_step.yaml", 12, "image is a cue: put it in the step's cues: list"},
		{"cue_no_kind.yaml", 13, "has no image, sound, narration or text"},
		{"cue_two_kinds.yaml", 14, "has both image and sound"},
		{"cues_not_list.yaml", 13, "cues should be a list"},
		{"custom_tag.yaml", 11, "YAML tag !seconds"},
		{"dup_id.yaml", 15, `id "a" is already used by step 1 "A" (line 9)`},
		{"dup_key.yaml", 12, "duration is given twice (first on line 11)"},
		{"duration_long.yaml", 11, "duration 3h is longer than the limit of 2h"},
		{"duration_missing.yaml", 9, `step 1 "A" needs a duration`},
		{"duration_negative.yaml", 11, "duration must be more than 0"},
		{"duration_words.yaml", 11, `duration "30 seconds" is not understood; write it like 30s, 1m30s or 90 (seconds)`},
		{"duration_zero.yaml", 11, "duration must be more than 0"},
		{"empty.yaml", 0, "the file is empty"},
		{"ext_gif.yaml", 13, `"media/a.gif" is not a PNG or JPEG picture`},
		{"ext_image_as_sound.yaml", 13, "did you mean image: media/a.png?"},
		{"fade_too_long.yaml", 15, "fade_in (20s) and fade_out (20s) together are longer than the step (30s)"},
		{"fit_bad.yaml", 14, `fit "stretch" is not one of fit or fill`},
		{"gain_range.yaml", 14, "gain 20 dB is out of range"},
		{"gain_text.yaml", 14, `gain should be a number such as -6, but it is the text "-6dB"`},
		{"id_takes_automatic.yaml", 14, `id "s1" is already used by step 1 "A" (line 9) as its automatic id`},
		{"intensity_float.yaml", 10, "intensity should be a whole number such as 3, but it is the number 2.5"},
		{"intensity_missing.yaml", 9, "needs an intensity from 1 (mildest) to 10 (strongest)"},
		{"intensity_order.yaml", 14, `step 2 "Mild" has intensity 3, lower than step 1 "Strong" before it (intensity 5)`},
		{"intensity_range.yaml", 10, "intensity 12 is out of range"},
		{"invalid_utf8.yaml", 2, "byte 22 (0xE9) is not UTF-8 text"},
		{"loop_yes.yaml", 14, `loop should be true or false, but it is the text "yes"`},
		{"merge_key.yaml", 15, "YAML merge keys (<<) are not supported"},
		{"neutral_on_baseline.yaml", 5, "baseline and recovery are always neutral"},
		{"neutral_step_intensity.yaml", 11, `step 1 "Rest" is neutral, so its intensity must be 0`},
		{"no_baseline.yaml", 1, "the protocol needs a baseline"},
		{"no_cues.yaml", 9, "has no cues"},
		{"no_steps.yaml", 1, "the protocol needs steps"},
		{"not_mapping.yaml", 1, "should be a group of settings"},
		{"only_comments.yaml", 0, "the file has only comments"},
		{"path_absolute.yaml", 13, `"/etc/a.png" is an absolute path`},
		{"path_backslash.yaml", 13, "contains a backslash"},
		{"path_dotdot.yaml", 13, `"../secret/a.png" leaves the protocol's folder`},
		{"path_dotdot_hidden.yaml", 13, `"media/../../a.png" leaves the protocol's folder`},
		{"path_drive.yaml", 13, `"C:/Users/me/a.png" is an absolute path`},
		{"personalized.yaml", 14, `unknown setting "personalized"; did you mean "personalised"?`},
		{"rating_no_question.yaml", 15, `the rating of step 1 "A" needs a question`},
		{"rating_scale.yaml", 15, `scale "vas" is not one of craving or suds`},
		{"step_is_text.yaml", 9, `step 1 should be a group of settings (lines like name: value, indented under it), but it is the text "Bottle on a table"`},
		{"step_key_on_cue.yaml", 9, `step 1 "A" needs a duration`},
		{"step_no_name.yaml", 9, "step 1 needs a name"},
		{"steps_empty.yaml", 8, "steps is empty"},
		{"substance_bad.yaml", 3, `substance "wine" is not one of alcohol, cocaine`},
		{"syntax_colon.yaml", 16, "put the whole text in double quotes"},
		{"syntax_tab.yaml", 10, "replace the tab with spaces"},
		{"text_empty.yaml", 13, "text is empty"},
		{"title_list.yaml", 3, "title should be a single value, but it is a list"},
		{"two_docs.yaml", 14, "a second YAML document starts here"},
		{"two_images.yaml", 15, "a step presents one image at a time, and this step already has one (line 13)"},
		{"unclosed_quote.yaml", 9, "a text in quotes is not closed"},
		{"unknown_key.yaml", 11, `unknown setting "duraton"; did you mean "duration"?`},
		{"unknown_top.yaml", 4, "intensity belongs inside a step"},
		{"version_2.yaml", 1, "this protocol is written for cueroom format 2, but this cueroom reads format 1"},
		{"version_missing.yaml", 1, "add the line cueroom: 1 at the top"},
		{"version_string.yaml", 1, `must be the number 1, not the text "one"`},
	}
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	require.NoError(t, err)
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
	}
	for _, f := range files {
		assert.True(t, covered[filepath.Base(f)], "testdata/invalid/%s has no case in this table", filepath.Base(f))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := parseFile(t, filepath.Join("testdata", "invalid", tt.file))
			require.Error(t, err)
			assert.Nil(t, p)
			var list ErrorList
			require.True(t, errors.As(err, &list), "error is an ErrorList: %v", err)
			require.NotEmpty(t, list)
			first := list[0]
			assert.Equal(t, tt.file, first.File)
			assert.Equal(t, tt.line, first.Line, "line of: %v", first)
			assert.Contains(t, first.Msg, tt.want)
			prefix := fmt.Sprintf("%s:%d:", tt.file, tt.line)
			if tt.line == 0 {
				prefix = tt.file + ": "
			}
			assert.True(t, strings.HasPrefix(err.Error(), prefix), "%q starts with %q", err.Error(), prefix)
		})
	}
}

// TestParseCollectsAll: one pass reports every problem, in file order, not
// only the first.
func TestParseCollectsAll(t *testing.T) {
	src := `cueroom: 1
title: ""
substance: wine
baseline:
  duration: 0s
  cues:
    - image: ../x.png
steps:
  - name: A
    intensity: 11
    duration: 30s
    cues:
      - sound: media/a.wav
        gain: 99
        fit: fill
  - name: B
    intensity: 2
    duraton: 5s
    cues:
      - text: ok
`
	_, err := Parse("many.yaml", []byte(src), nil)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	want := []struct {
		line int
		msg  string
	}{
		{2, "title is empty"},
		{3, `substance "wine"`},
		{5, "duration must be more than 0"},
		{7, "leaves the protocol's folder"},
		{10, "intensity 11 is out of range"},
		{14, "gain 99 dB is out of range"},
		{15, "fit applies only to image and video cues"},
		{18, `did you mean "duration"?`},
	}
	require.Len(t, list, len(want), "%v", err)
	for i, w := range want {
		assert.Equal(t, w.line, list[i].Line, "error %d: %v", i, list[i])
		assert.Contains(t, list[i].Msg, w.msg, "error %d", i)
	}
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, len(want), "one line per problem")
	assert.Equal(t, "many.yaml:2:1: the protocol: title is empty; write it like title: \"Alcohol cue exposure\"", lines[0])
}

// TestParseTypoNotMissing: a misspelt required key is reported once, as a
// typo, not a second time as missing.
func TestParseTypoNotMissing(t *testing.T) {
	tests := []struct {
		name, src, want string
		line            int
	}{
		{"top", "cueroom: 1\ntitle: T\nsubstance: alcohol\nbaseline:\n  duration: 1s\n  cues: [{text: x}]\nstpes:\n  - name: A\n",
			`unknown setting "stpes"; did you mean "steps"?`, 7},
		{"step", "cueroom: 1\ntitle: T\nsubstance: alcohol\nbaseline:\n  duration: 1s\n  cues: [{text: x}]\nsteps:\n  - name: A\n    intensity: 1\n    duration: 1s\n    cue:\n      - text: x\n",
			`unknown setting "cue"; did you mean "cues"?`, 11},
		{"rating", "cueroom: 1\ntitle: T\nsubstance: alcohol\nbaseline:\n  duration: 1s\n  cues: [{text: x}]\n  rating:\n    scale: suds\n    questoin: Tense\nsteps:\n  - name: A\n    intensity: 1\n    duration: 1s\n    cues: [{text: x}]\n",
			`unknown setting "questoin"; did you mean "question"?`, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("typo.yaml", []byte(tt.src), nil)
			var list ErrorList
			require.ErrorAs(t, err, &list)
			require.Len(t, list, 1, "%v", err)
			assert.Equal(t, tt.line, list[0].Line)
			assert.Contains(t, list[0].Msg, tt.want)
		})
	}
}

// TestParseErrorCap: a file with a huge number of problems gives a bounded
// report that says more were left out.
func TestParseErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("cueroom: 1\ntitle: T\nsubstance: alcohol\nbaseline:\n  duration: 1s\n  cues:\n    - text: x\nsteps:\n")
	for i := range 60 {
		fmt.Fprintf(&b, "  - name: S%d\n    intensity: 99\n    duration: -1s\n    cues:\n      - text: x\n", i)
	}
	_, err := Parse("cap.yaml", []byte(b.String()), nil)
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, maxErrors+1)
	assert.Equal(t, "20 more problems not shown; fix these first and check again", list[maxErrors].Msg)
}

func TestParseLimits(t *testing.T) {
	head := "cueroom: 1\ntitle: T\nsubstance: alcohol\nbaseline:\n  duration: 1s\n  cues:\n    - text: x\n"
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"too big", strings.Repeat("#", maxSourceBytes+1), "the file is 1024 KB, but a protocol is a few KB of text"},
		{"too many steps", head + "steps:\n" + strings.Repeat("  - name: A\n    intensity: 1\n    duration: 1s\n    cues:\n      - text: x\n", maxSteps+1),
			"there are 101 steps; a protocol has at most 100"},
		{"too many cues", head + "steps:\n  - name: A\n    intensity: 1\n    duration: 1s\n    cues:\n" + strings.Repeat("      - sound: a.wav\n", maxCues+1),
			"has 51 cues; a step has at most 50"},
		{"long text", head + "steps:\n  - name: A\n    intensity: 1\n    duration: 1s\n    cues:\n      - text: " + strings.Repeat("é", maxTextRunes+1) + "\n",
			"text is 2001 characters long; keep it under 2000"},
		{"long id", head + "steps:\n  - id: " + strings.Repeat("a", maxIDLen+1) + "\n    name: A\n    intensity: 1\n    duration: 1s\n    cues:\n      - text: x\n",
			"is not usable"},
		{"huge seconds", head + "steps:\n  - name: A\n    intensity: 1\n    duration: 1e300\n    cues:\n      - text: x\n",
			"duration 1e300 seconds is longer than the limit of 2h"},
		{"inf seconds", head + "steps:\n  - name: A\n    intensity: 1\n    duration: .inf\n    cues:\n      - text: x\n",
			"longer than the limit of 2h"},
		{"nan seconds", head + "steps:\n  - name: A\n    intensity: 1\n    duration: .nan\n    cues:\n      - text: x\n",
			`duration ".nan" is not understood`},
		{"huge intensity", head + "steps:\n  - name: A\n    intensity: 99999999999999999999\n    duration: 1s\n    cues:\n      - text: x\n",
			"intensity should be a whole number"},
		{"gain nan", head + "steps:\n  - name: A\n    intensity: 1\n    duration: 1s\n    cues:\n      - sound: a.wav\n        gain: .nan\n",
			"gain should be a number such as -6"},
		{"utf16 is decoded", "\xff\xfec\x00", `but it is the text "c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.yaml", []byte(tt.src), nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestCheckMediaPath(t *testing.T) {
	tests := []struct {
		in   string
		kind Kind
		want string // cleaned path, or "" when refused
		msg  string
	}{
		{"media/a.png", KindImage, "media/a.png", ""},
		{"./a.JPG", KindImage, "a.JPG", ""},
		{"a/b/../c.jpeg", KindImage, "a/c.jpeg", ""},
		{"a.flac", KindSound, "a.flac", ""},
		{"voice.Mp3", KindNarration, "voice.Mp3", ""},
		{"..", KindImage, "", "leaves the protocol's folder"},
		{"../a.png", KindImage, "", "leaves the protocol's folder"},
		{"a/../../b.png", KindImage, "", "leaves the protocol's folder"},
		{"/a.png", KindImage, "", "absolute path"},
		{"~/a.png", KindImage, "", "absolute path"},
		{"c:/a.png", KindImage, "", "absolute path"},
		{`media\a.png`, KindImage, "", "backslash"},
		{"media/", KindImage, "", "is not a file name"},
		{".", KindImage, "", "is not a file name"},
		{"a\x00.png", KindImage, "", "control character"},
		{"a.bmp", KindImage, "", "is not a PNG or JPEG picture"},
		{"a.m4a", KindSound, "", "is not a sound file cueroom plays"},
		{"a.wav", KindImage, "", "did you mean sound: a.wav?"},
		{"a", KindSound, "", "is not a sound file"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, msg := checkMediaPath(tt.in, tt.kind)
			assert.Equal(t, tt.want, got)
			if tt.msg == "" {
				assert.Empty(t, msg)
			} else {
				assert.Contains(t, msg, tt.msg)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "p.yaml", Line: 3, Col: 7, Msg: "bad"}, "p.yaml:3:7: bad"},
		{&Error{File: "p.yaml", Line: 3, Msg: "bad"}, "p.yaml:3: bad"},
		{&Error{File: "p.yaml", Msg: "bad"}, "p.yaml: bad"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
	list := ErrorList{tests[0].err, tests[2].err}
	assert.Equal(t, "p.yaml:3:7: bad\np.yaml: bad", list.Error())
	wrapped := ErrorList{{File: "x", Msg: "gone", Err: os.ErrNotExist}}
	assert.ErrorIs(t, wrapped, os.ErrNotExist)
}

func TestSuggest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"duraton", "duration"},
		{"Duration", "duration"},
		{"fade-in", "fade_in"},
		{"intesity", "intensity"},
		{"colour", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, suggest(tt.in, append(append([]string{}, exposureKeys...), cueKeys...)), tt.in)
	}
}

func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("testdata/valid/demo.yaml")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("demo.yaml", src, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLinePositions(t *testing.T) {
	src := []byte("ab\r\ncd\ref\néx\n")
	tests := []struct {
		off, line, col int
	}{
		{0, 1, 1}, {1, 1, 2}, {4, 2, 1}, {5, 2, 2}, {7, 3, 1}, {10, 4, 1}, {12, 4, 2},
	}
	for _, tt := range tests {
		line, col := position(src, tt.off)
		assert.Equal(t, [2]int{tt.line, tt.col}, [2]int{line, col}, "offset %d", tt.off)
	}
	assert.Equal(t, "ab", string(srcLine(src, 1)))
	assert.Equal(t, "cd", string(srcLine(src, 2)))
	assert.Equal(t, "ef", string(srcLine(src, 3)))
	assert.Equal(t, "éx", string(srcLine(src, 4)))
	assert.Empty(t, srcLine(src, 6))
	assert.Nil(t, srcLine(src, 0))

	// A Latin-1 byte in a file with old Mac line ends is found on its line.
	_, err := Parse("cr.yaml", []byte("cueroom: 1\rtitle: caf\xe9\r"), nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "cr.yaml:2:11: byte 22 (0xE9) is not UTF-8"), err.Error())
}

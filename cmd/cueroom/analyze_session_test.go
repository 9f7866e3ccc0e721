package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/analysis"
	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
)

// TestAnalyzeRecordedSessions: `cueroom analyze SESSION...` prints what the
// analysis package finds (its own tests check the numbers), as JSON or as
// a table per session and each step's trend across sessions.
func TestAnalyzeRecordedSessions(t *testing.T) {
	root := t.TempDir()
	first := analysistest.RecordCueStep(t, root, 1, 0, 70)
	later := analysistest.RecordCueStep(t, root, 1, 6, 30)
	two := analysistest.RecordTwoDevices(t, root)

	for _, tc := range []struct {
		name   string
		dirs   []string
		across bool
		text   []string
	}{
		{"a participant's sessions", []string{first, later}, true, []string{
			regexp.QuoteMeta(first+" — Analysis test (") + `[-0-9: ]+, bitalino\)`,
			`bottle\s+1\s+20\.0\s+[-+]\d+\.\d\d\s+[-+]\d+\.\d\d\s+\d+\s+\d+\.\d{3}\s+(—|\d+\.\d)\s+70\n`,
			`bottle\s+1\s+20\.0\s+[-+]\d+\.\d\d\s+[-+]\d+\.\d\d\s+\d+\s+\d+\.\d{3}\s+(—|\d+\.\d)\s+30\n`,
			`step bottle over 2 sessions: SCR amplitude \d\.\d{3} → \d\.\d{3} µS \(slope -\d\.\d{3} per session\)`,
		}},
		{"two devices", []string{two}, false, []string{regexp.QuoteMeta(two+" — Two devices (") + `[-0-9: ]+, contec \+ grove\)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			require.NoError(t, analyze(append(tc.dirs, "--json"), &out))
			var got struct {
				Sessions []analysis.Result `json:"sessions"`
				Across   []report.Across   `json:"across_sessions"`
			}
			require.NoError(t, json.Unmarshal(out.Bytes(), &got), out.String())
			require.Len(t, got.Sessions, len(tc.dirs))
			var want []*analysis.Result
			for i, dir := range tc.dirs {
				s, err := record.Open(dir)
				require.NoError(t, err)
				a, err := analysis.Session(analysis.FromSession(s), analysis.Options{SCRThreshold: 0.01, Baseline: 3, Response: 4})
				require.NoError(t, err)
				want = append(want, a)
				assert.Equal(t, mustJSON(t, a), mustJSON(t, got.Sessions[i]), "the analysis of %s", dir)
			}
			assert.Equal(t, mustJSON(t, analysis.Across(want)), mustJSON(t, got.Across))
			assert.Equal(t, tc.across, len(got.Across) > 0)

			out.Reset()
			require.NoError(t, analyze(tc.dirs, &out))
			for _, w := range tc.text {
				assert.Regexp(t, w, out.String())
			}
			assert.Contains(t, out.String(), "(--json prints every cue's and step's measures, the ratings and habituation)")
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

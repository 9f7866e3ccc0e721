package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
)

// oldSession was recorded by cueroom 25e7b90, before events were types and
// sessions were streamed (testdata/README.md).
const oldSession = "testdata/session-v1"

// TestSessionRecordedBeforeStillWorks: a session recorded by the earlier
// version replays (every recorded event reaches the dashboard, in order),
// and analyzes, reports and exports with today's code.
func TestSessionRecordedBeforeStillWorks(t *testing.T) {
	dir := copySession(t, oldSession) // nothing may write into testdata
	rec, err := record.Open(dir)
	require.NoError(t, err)
	require.True(t, rec.Complete)
	require.Nil(t, rec.Recovered)
	var want []string
	for _, e := range rec.Events {
		require.True(t, event.Known(e.Kind()), "every recorded kind is known: %s", e.Kind())
		want = append(want, string(e.Kind()))
	}
	require.Contains(t, want, string(event.KindCueOnset))

	t.Run("replay", func(t *testing.T) {
		p := startReplay(t, "--no-window", "--paused", "--media", "../../assets/demo", dir)
		c := p.dial(t)
		readUntil(t, c, 10*time.Second, func(m feedMsg) bool { return m.Type == "state" })
		sendCmd(t, p, c, "s", "speed", map[string]any{"x": 16.0})
		sendCmd(t, p, c, "p", "resume", nil)
		msgs := readUntil(t, c, 30*time.Second, func(m feedMsg) bool {
			return m.Type == "event" && m.Kind == string(event.KindSessionEnd)
		})
		var got []string
		for _, m := range msgs {
			if m.Type == "event" {
				got = append(got, m.Kind)
			}
		}
		assert.Equal(t, trimAfterEnd(want), got, "the recorded events, in their recorded order")
		sendCmd(t, p, c, "e", "end", nil)
		p.wait(t, 10*time.Second)
	})

	// analyze --json and report --json give what the earlier version gave
	// (its output is kept beside the session), but for the folder's name
	// and the report's time of making.
	same := func(t *testing.T, golden string, got []byte) {
		want, err := os.ReadFile(golden)
		require.NoError(t, err)
		got = bytes.ReplaceAll(got, []byte(`"dir": "`+dir+`"`), []byte(`"dir": "`+oldSession+`"`))
		generated := regexp.MustCompile(`"generated": "[^"]*"`)
		assert.Equal(t, string(generated.ReplaceAll(want, nil)), string(generated.ReplaceAll(got, nil)))
	}
	t.Run("analyze", func(t *testing.T) {
		var out bytes.Buffer
		require.NoError(t, analyze([]string{"--json", dir}, &out))
		same(t, oldSession+".analyze.json", out.Bytes())
	})

	t.Run("report", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		require.NoError(t, reportCmd([]string{"--json", dir}, &stdout, &stderr), stderr.String())
		same(t, oldSession+".report.json", stdout.Bytes())
		html := filepath.Join(t.TempDir(), "r.html")
		require.NoError(t, reportCmd([]string{"--out", html, dir}, &stdout, &stderr), stderr.String())
		b, err := os.ReadFile(html)
		require.NoError(t, err)
		assert.Contains(t, string(b), rec.Meta.Title)
	})

	t.Run("export", func(t *testing.T) {
		out := t.TempDir()
		for _, f := range []string{"xdf", "csv", "bids"} {
			dst := filepath.Join(out, f)
			if f == "xdf" {
				dst += ".xdf"
			}
			require.NoError(t, cmdExport([]string{dir, "--format", f, "--out", dst}), f)
		}
		rows := csvRows(t, filepath.Join(out, "csv", "events.csv"))
		assert.Len(t, rows, len(rec.Events)+1, "every event and a header")
		validateBIDS(t, filepath.Join(out, "bids"))
	})
}

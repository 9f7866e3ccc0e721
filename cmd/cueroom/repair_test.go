package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/engine/analysis/analysistest"
	"github.com/cueroom/cueroom/engine/record"
)

// crash puts a closed session's session.json back as the recorder wrote it
// at the start (no end, no counts, not complete): what a crash, a power
// loss or a kill leaves.
func crash(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, record.MetaFile)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	delete(m, "end")
	delete(m, "counts")
	m["complete"] = false
	b, err = json.MarshalIndent(m, "", "  ")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// tear cuts data.rec n bytes short: the last record half written.
func tear(t *testing.T, dir string, n int64) {
	t.Helper()
	path := filepath.Join(dir, record.DataFile)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, st.Size()-n))
}

// folderBytes is every file of a session folder, by name.
func folderBytes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		out[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return out
}

// TestRepair: a torn tail is cut at the last whole record and noted, a
// corrupt region before the end is left for the readers, and a session
// without damage — closed or crashed — is left byte for byte.
func TestRepair(t *testing.T) {
	good := exportSession(t)
	data, err := os.ReadFile(filepath.Join(good, record.DataFile))
	require.NoError(t, err)
	whole, err := record.Open(good)
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, dir string)
		out     string // regexp of what it prints
		cut     bool   // data.rec changes
		records int    // whole records afterwards (all of them: nothing to repair)
	}{
		{"closed, undamaged", func(*testing.T, string) {}, `: nothing to repair: data.rec reads without damage\n$`, false, whole.Records},
		{"crashed, no torn tail", crash, `: nothing to repair`, false, whole.Records},
		{"torn tail", func(t *testing.T, d string) { tear(t, d, 37) },
			`: cut a torn tail of \d+ bytes off data.rec; \d+ whole records kept\n.*torn tail.*Repair cut data.rec at byte \d+\.\n$`, true, whole.Records - 1},
		{"crashed with a torn tail", func(t *testing.T, d string) { crash(t, d); tear(t, d, 5) },
			`: cut a torn tail of \d+ bytes off data.rec`, true, whole.Records - 1},
		{"corrupt region", func(t *testing.T, d string) {
			bad := bytes.Clone(data)
			for i := len(bad) / 2; i < len(bad)/2+40; i++ {
				bad[i] ^= 0x5a
			}
			require.NoError(t, os.WriteFile(filepath.Join(d, record.DataFile), bad, 0o644))
		}, `: left \d+ damaged bytes in place \(the readers skip them\); \d+ whole records kept\n.*left in place`, false, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copySession(t, good)
			tc.damage(t, dir)
			before := folderBytes(t, dir)
			var out bytes.Buffer
			require.NoError(t, repairCmd([]string{dir}, &out))
			assert.Regexp(t, "^"+regexp.QuoteMeta(dir)+tc.out, out.String())
			after := folderBytes(t, dir)
			if tc.records == whole.Records {
				assert.Equal(t, before, after, "a session without damage is not touched")
				return
			}
			if !tc.cut {
				assert.Equal(t, before[record.DataFile], after[record.DataFile], "damage before the end stays")
			} else {
				assert.Less(t, len(after[record.DataFile]), len(before[record.DataFile]))
			}
			s, err := record.Open(dir)
			require.NoError(t, err)
			if tc.cut {
				assert.Nil(t, s.Recovered, "the torn tail is gone: %v", s.Recovered)
				assert.Equal(t, tc.records, s.Records)
			}
			require.Len(t, s.Notes, 1)
			assert.Contains(t, s.Notes[0], " repair: ")
			assert.NotContains(t, s.Notes[0], "run 'cueroom repair'", "the note says what was done, not what to do")

			// Once is enough: what is left is not repaired again.
			before = folderBytes(t, dir)
			out.Reset()
			require.NoError(t, repairCmd([]string{dir}, &out))
			if tc.cut {
				assert.Contains(t, out.String(), "nothing to repair")
				assert.Equal(t, before, folderBytes(t, dir))
			}
		})
	}
}

// TestRepairBadInput: what is not a session folder is a usage error (exit
// 2) that says so and changes nothing; -h prints the usage (exit 0).
func TestRepairBadInput(t *testing.T) {
	foreign := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("hello"), 0o600))
	alien := t.TempDir() // a session.json that is cueroom's, beside a data.rec that is not
	session := exportSession(t)
	require.NoError(t, os.WriteFile(filepath.Join(alien, record.MetaFile), []byte(readFile(t, filepath.Join(session, record.MetaFile))), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(alien, record.DataFile), []byte("PK\x03\x04 a zip file"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no folder", nil, 2, "give one session folder"},
		{"two folders", []string{session, session}, 2, "give one session folder"},
		{"a flag", []string{"--force", session}, 2, "no flags"},
		{"missing folder", []string{filepath.Join(foreign, "nope")}, 2, "nope: no such session folder"},
		{"a file", []string{filepath.Join(foreign, "notes.txt")}, 2, "no such session folder"},
		{"foreign folder", []string{foreign}, 2, "is not a session folder"},
		{"foreign data.rec", []string{alien}, 2, "not a cueroom recording"},
		{"help", []string{"--help"}, 0, "Usage: cueroom repair SESSION"},
		{"-h", []string{"-h"}, 0, "Usage: cueroom repair SESSION"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := folderBytes(t, alien)
			var out bytes.Buffer
			err := repairCmd(tc.args, &out)
			assert.Equal(t, tc.code, exitCode(err), "%v", err)
			if err != nil {
				assert.Contains(t, err.Error(), tc.want)
				assert.NotContains(t, err.Error(), "record: ")
			} else {
				assert.Contains(t, out.String(), tc.want)
			}
			assert.Equal(t, before, folderBytes(t, alien))
		})
	}
}

// TestUnclosedWarnings: analyze, report and replay warn on stderr of a
// session that was not closed normally, beside the reader's note of a torn
// tail, and still use what was recorded; a closed session has no warning.
func TestUnclosedWarnings(t *testing.T) {
	good := analysistest.Record(t, t.TempDir(), analysistest.Spec{Steps: analysistest.DemoSteps()[:2]})
	crashed := copySession(t, good)
	crash(t, crashed)
	torn := copySession(t, crashed)
	tear(t, torn, 37)
	unclosed := `: was not closed normally \(the recording stopped at 0:\d\d; a crash or power loss\): what was recorded is `

	for _, tc := range []struct {
		name, dir string
		want      []string // regexps of the warning lines, in order
	}{
		{"closed", good, nil},
		{"crashed", crashed, []string{regexp.QuoteMeta(crashed) + unclosed + "analysed\n"}},
		{"crashed with a torn tail", torn, []string{
			regexp.QuoteMeta(torn) + `: data.rec byte \d+: torn tail.* Repair cuts them off: run 'cueroom repair' on this folder\.`,
			regexp.QuoteMeta(torn) + unclosed + "analysed\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			check := func(t *testing.T, stderr string) {
				t.Helper()
				if tc.want == nil {
					assert.NotContains(t, stderr, "warning")
				}
				for _, w := range tc.want {
					assert.Regexp(t, `(?m)^cueroom: warning: `+w, stderr)
				}
			}
			t.Run("report", func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				require.NoError(t, reportCmd([]string{tc.dir, "--json"}, &stdout, &stderr))
				check(t, stderr.String())
				assert.Contains(t, stdout.String(), `"steps"`, "what was recorded is reported")
			})
			t.Run("analyze", func(t *testing.T) {
				var stdout bytes.Buffer
				stderr := captureStderr(t, func() { require.NoError(t, analyze([]string{tc.dir}, &stdout)) })
				check(t, stderr)
				assert.Contains(t, stdout.String(), "baseline")
			})
		})
	}

	// Replay prints the same warnings before it plays; this one stops
	// right after them (its protocol has no media), which is enough.
	t.Run("replay", func(t *testing.T) {
		dir := exportSession(t)
		crash(t, dir)
		var stderr bytes.Buffer
		cmd := cueroom(t, "replay", "--listen", "127.0.0.1:0", "--no-sound", "--no-window", dir)
		cmd.Stderr = &stderr
		var ee *exec.ExitError
		require.ErrorAs(t, cmd.Run(), &ee, "stderr: %s", stderr.String())
		assert.Regexp(t, `(?m)^cueroom: warning: `+regexp.QuoteMeta(dir)+
			`: was not closed normally \(the recording stopped at 0:03; a crash or power loss\): what was recorded is replayed$`, stderr.String())
	})
}

// captureStderr returns what f writes to os.Stderr (analyze writes its
// warnings there). Not for parallel tests.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stderr
	os.Stderr = w
	got := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		got <- b.String()
	}()
	func() {
		defer func() { os.Stderr = old; w.Close() }()
		f()
	}()
	return <-got
}

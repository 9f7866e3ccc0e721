package report

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckPlace: a report goes to an .html file in a folder that exists,
// outside every session folder, and over a file only when asked.
func TestCheckPlace(t *testing.T) {
	dir := t.TempDir()
	session := filepath.Join(dir, "20250101-100000-x")
	require.NoError(t, os.Mkdir(session, 0o755))
	taken := filepath.Join(dir, "taken.html")
	require.NoError(t, os.WriteFile(taken, []byte("precious"), 0o644))
	folder := filepath.Join(dir, "x.html")
	require.NoError(t, os.Mkdir(folder, 0o755))

	for _, tc := range []struct {
		name      string
		path      string
		overwrite bool
		want      string // "" fine; "exists" ErrExists; else a PlaceError's text
	}{
		{"fine", filepath.Join(dir, "r.html"), false, ""},
		{"htm", filepath.Join(dir, "r.HTM"), false, ""},
		{"not html", filepath.Join(dir, "r.pdf"), false, "r.pdf: a report's name ends in .html"},
		{"in a session", filepath.Join(session, "r.html"), false, "is inside the session folder " + session},
		{"the session itself", session + ".html", false, ""},
		{"no folder", filepath.Join(dir, "no", "r.html"), false, "the folder " + filepath.Join(dir, "no") + " does not exist"},
		{"a folder", folder, true, "x.html is a folder"},
		{"exists", taken, false, "exists"},
		{"overwrite", taken, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckPlace(tc.path, []string{session}, tc.overwrite)
			var pe *PlaceError
			switch tc.want {
			case "":
				assert.NoError(t, err)
			case "exists":
				assert.ErrorIs(t, err, ErrExists)
			default:
				require.True(t, errors.As(err, &pe), "a PlaceError, got %v", err)
				assert.Contains(t, err.Error(), tc.want)
				assert.True(t, strings.HasPrefix(err.Error(), tc.path), "starts with the path: %v", err)
			}
		})
	}
}

// TestWriteFile: the file appears whole, never over another unless asked,
// and no temporary file stays behind.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.html")
	r := handMade(true)
	require.NoError(t, WriteFile(out, r, Options{}, false))
	page, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(page), "<!DOCTYPE html>"))
	st, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "health data: not world-readable")

	require.NoError(t, os.WriteFile(out, []byte("precious"), 0o644))
	assert.ErrorIs(t, WriteFile(out, r, Options{}, false), ErrExists)
	kept, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "precious", string(kept))
	require.NoError(t, WriteFile(out, r, Options{}, true))
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, len(page), len(again))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left")
}

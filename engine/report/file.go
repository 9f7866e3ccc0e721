package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrExists: the report file is already there and overwriting it was not
// asked for.
var ErrExists = errors.New("the report file already exists")

// A PlaceError says why a report may not be written where asked. Its text
// starts with the path.
type PlaceError struct{ msg string }

func (e *PlaceError) Error() string { return e.msg }

func placef(format string, args ...any) error { return &PlaceError{fmt.Sprintf(format, args...)} }

// CheckPlace says, before the work of making a report, whether it may be
// written to path: an HTML file name, in a folder that exists, outside
// every session folder (they hold the recording as made, and nothing
// else), and not over an existing file unless overwrite. The refusals are
// PlaceErrors or ErrExists; other errors are the file system's.
func CheckPlace(path string, sessions []string, overwrite bool) error {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".html" && ext != ".htm" {
		return placef("%s: a report's name ends in .html", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	for _, d := range sessions {
		ad, err := filepath.Abs(d)
		if err != nil {
			return err
		}
		if rel, err := filepath.Rel(ad, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return placef("%s is inside the session folder %s: sessions are kept as recorded; write the report elsewhere", path, d)
		}
	}
	if st, err := os.Stat(filepath.Dir(abs)); err != nil || !st.IsDir() {
		return placef("%s: the folder %s does not exist", path, filepath.Dir(path))
	}
	if st, err := os.Lstat(path); err == nil {
		if st.IsDir() {
			return placef("%s is a folder; name the .html file to write", path)
		}
		if !overwrite {
			return ErrExists
		}
	}
	return nil
}

// WriteFile writes the report's HTML to path whole or not at all: into a
// temporary file beside it, renamed over it at the end. Without overwrite
// the final step refuses (ErrExists) to replace a file that appeared since
// CheckPlace.
func WriteFile(path string, r *Report, o Options, overwrite bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.html.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := WriteHTML(tmp, r, o); err != nil {
		tmp.Close()
		return err
	}
	// Health data: the owner and their group (the clinic's researchers).
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if overwrite {
		return os.Rename(tmp.Name(), path)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrExists
		}
		// A file system without hard links: rename, having checked above.
		if _, serr := os.Lstat(path); serr == nil {
			return ErrExists
		}
		return os.Rename(tmp.Name(), path)
	}
	return nil
}

package scenes

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a protocol file or one of its media files. Msg says
// what is wrong and what to do about it, in words a clinician editing the file
// by hand can act on.
type Error struct {
	File string // the protocol file as given
	Line int    // 1-based; 0 when the problem is not tied to a line
	Col  int    // 1-based; 0 when unknown
	Msg  string
	Err  error // underlying cause (e.g. fs.ErrNotExist), for errors.Is; may be nil
}

func (e *Error) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorList is every problem found, in file order. It is returned as an error
// only when it is not empty, so a clinician fixes all problems in one pass.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.Is and errors.As look at every entry.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// ErrNoAsset is returned by AssetSHA256 for a cue without a media file (a text cue).
var ErrNoAsset = errors.New("cue has no media file")

// maxErrors bounds the report: past this many problems more lines do not help,
// and a garbage file must not produce megabytes of messages.
const maxErrors = 100

// collector gathers errors for one file.
type collector struct {
	file    string
	errs    ErrorList
	dropped int
}

func (c *collector) add(line, col int, cause error, format string, args ...any) {
	if len(c.errs) >= maxErrors {
		c.dropped++
		return
	}
	c.errs = append(c.errs, &Error{File: c.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Err: cause})
}

// result sorts the errors by position and returns them as an error, or nil.
func (c *collector) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	if c.dropped > 0 {
		c.errs = append(c.errs, &Error{File: c.file,
			Msg: fmt.Sprintf("%d more problems not shown; fix these first and check again", c.dropped)})
	}
	return c.errs
}

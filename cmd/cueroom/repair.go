package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/cueroom/cueroom/engine/record"
)

// repairCmd cuts a torn tail (a crash mid-write) off a session's data.rec,
// as the readers' warning says; a session without damage is left as it is.
func repairCmd(args []string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, "Usage: cueroom repair SESSION\n\nCuts a torn tail (the record being written when a session crashed) off its data.rec and notes it\nin session.json; damage before the end is left for the readers to skip. Not while it is recording.\n")
		return nil
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return usagef("repair: give one session folder and no flags (usage: cueroom repair SESSION)")
	}
	dir := args[0]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef("repair: %s: no such session folder", dir)
	}
	// Before anything is written, an error that is not the file system's
	// is the folder's: not a session, or not cueroom's.
	rec, err := record.Repair(dir)
	if pe := (*fs.PathError)(nil); err != nil && rec == nil && !errors.As(err, &pe) {
		return usagef("repair: %s", strings.TrimPrefix(err.Error(), "record: "))
	} else if err != nil {
		return fmt.Errorf("repair: %w", err)
	}
	if rec == nil {
		fmt.Fprintf(stdout, "%s: nothing to repair: %s reads without damage\n", dir, record.DataFile)
		return nil
	}
	fmt.Fprintf(stdout, "%s: %s\n%s\n", dir, rec.Summary(), rec.Note)
	return nil
}

// warnRead tells the user of a session read around damage or not closed
// normally, before what was recorded is used.
func warnRead(w io.Writer, dir string, x *record.Index, use string) {
	for _, s := range x.Warnings(use) {
		fmt.Fprintf(w, "cueroom: warning: %s: %s\n", dir, s)
	}
}

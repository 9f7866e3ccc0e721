package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cueroom/cueroom/assets"
	"github.com/cueroom/cueroom/engine/export"
	"github.com/cueroom/cueroom/engine/record"
)

const exportUsage = `Usage: cueroom export SESSION --format xdf|bids|csv --out PATH [flags]

Exports a recorded session folder for research tools:
  xdf   one .xdf file as LabRecorder writes it (pyxdf, EEGLAB, MNE read it)
  bids  a BIDS dataset folder (beh/ physio and events, with the cue manifest)
  csv   a folder of CSV files for spreadsheets (samples per device, events, cues)
PATH must not exist: exports never overwrite.

Flags:
`

func cmdExport(args []string) error {
	var (
		format, out, stimuli   string
		subject, session, task string
		personal               bool
	)
	flags := flag.NewFlagSet("export", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.StringVar(&format, "format", "", "xdf, bids or csv (required)")
	flags.StringVar(&out, "out", "", "the file (xdf) or folder (bids, csv) to create; must not exist (required)")
	flags.StringVar(&subject, "subject", "01", "BIDS subject label (letters and digits)")
	flags.StringVar(&session, "session", "01", "BIDS session label (letters and digits)")
	flags.StringVar(&task, "task", "cueexposure", "BIDS task label (letters and digits)")
	flags.StringVar(&stimuli, "stimuli", "", "BIDS: the folder of the protocol that was run, to copy its cue files into stimuli/ (default: the protocol's folder if it is still there, and the bundled demo)")
	flags.BoolVar(&personal, "personal-stimuli", false, "BIDS: also copy personalised cue files (they may identify the patient)")

	// Flags may come before or after the session folder, as in
	// 'cueroom export SESSION --format xdf --out x.xdf'.
	var pos []string
	for {
		if err := flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				flags.SetOutput(os.Stdout)
				fmt.Print(exportUsage)
				flags.PrintDefaults()
				return nil
			}
			return usagef("export: %v (see 'cueroom export -h')", err)
		}
		if flags.NArg() == 0 {
			break
		}
		pos = append(pos, flags.Arg(0))
		args = flags.Args()[1:]
	}
	switch {
	case len(pos) != 1:
		return usagef("export: give one session folder, got %d (usage: cueroom export SESSION --format xdf|bids|csv --out PATH)", len(pos))
	case format == "":
		return usagef("export: --format is missing: choose xdf, bids or csv")
	case out == "":
		return usagef("export: --out is missing: name the file or folder to create")
	}
	f := export.Format(strings.ToLower(format))
	if !slices.Contains(export.Formats, f) {
		return usagef("export: --format %q: choose %s", format, export.FormatList())
	}
	if f == export.XDF && !strings.EqualFold(filepath.Ext(out), ".xdf") {
		return usagef("export: --out %s: an XDF file's name ends in .xdf", out)
	}
	if _, err := os.Lstat(out); err == nil {
		return usagef("export: --out %s already exists; choose a new path (exports never overwrite)", out)
	}
	if stimuli != "" {
		if st, err := os.Stat(stimuli); err != nil || !st.IsDir() {
			return usagef("export: --stimuli %s: not a folder; give the folder of the protocol that was run", stimuli)
		}
	}
	dir := pos[0]
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("export: %s: no such session folder", dir)
	case err != nil:
		return fmt.Errorf("export: %w", err)
	case !st.IsDir():
		return usagef("export: %s is a file; give the session folder that holds %s and %s", dir, record.MetaFile, record.DataFile)
	}
	// The session is streamed, never read whole: a 4 h recording exports
	// in the memory of a 10-minute one.
	x, err := record.OpenIndex(dir)
	if err != nil {
		return usageError{strings.TrimPrefix(err.Error(), "record: ")}
	}
	defer x.Close()
	o := export.Options{
		Format: f, Subject: subject, Session: session, Task: task, PersonalStimuli: personal,
		Stimuli: stimuliFolders(stimuli, x.Meta),
	}
	res, err := export.WriteIndex(x, out, o)
	if errors.Is(err, export.ErrExists) || errors.Is(err, export.ErrOption) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	hint := false
	for _, w := range res.Warnings {
		logf("warning: %s", w)
		hint = hint || strings.Contains(w, "not found with the SHA-256")
	}
	if hint && stimuli == "" {
		logf("to copy those cue files, give the folder of the protocol that was run: --stimuli DIR")
	}
	fmt.Printf("exported %s as %s: %s (%d files)\n", dir, f, out, len(res.Files))
	return nil
}

// stimuliFolders lists where BIDS looks for cue files: the folder given,
// else the protocol's folder if the recorded path still resolves, and the
// bundled demo. Only files whose SHA-256 matches the manifest are copied,
// so a wrong folder costs nothing.
func stimuliFolders(given string, meta record.Meta) []fs.FS {
	if given != "" {
		return []fs.FS{os.DirFS(given)}
	}
	var out []fs.FS
	if p, ok := meta.Extra["protocol_file"].(string); ok && p != "" {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, os.DirFS(filepath.Dir(p)))
		}
	}
	return append(out, assets.DemoFS())
}

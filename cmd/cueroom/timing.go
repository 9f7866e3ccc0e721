package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/timing"
)

const timingUsage = "usage: cueroom timing SESSION [--channel A5] [--window 500ms] [--json]"

// cmdTiming measures onset → light latencies from a photodiode on the sync
// patch (cueroom run --sync-patch), recorded with the session.
func cmdTiming(args []string) error { return timingCmd(args, os.Stdout, os.Stderr) }

func timingCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("timing", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var opt timing.Options
	fs.StringVar(&opt.Channel, "channel", "", "the photodiode's channel: its input (A5), label (a5, lux) or DEVICE:LABEL; default: the one analog channel")
	fs.DurationVar(&opt.Window, "window", timing.DefaultWindow, "how long after an onset its light may come")
	asJSON := fs.Bool("json", false, "print every onset and the statistics as JSON")
	dirs, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stdout, "%s\n\nFinds the light edges a photodiode on the sync patch (cueroom run --sync-patch) recorded in an\n"+
			"analog channel, and reports each visual cue kind's onset → light latency: count, mean, SD, min, max\n"+
			"(ms), with the onsets and edges that did not match.\n", timingUsage)
		return nil
	}
	if err != nil {
		return usagef("timing: %v (%s)", err, timingUsage)
	}
	if len(dirs) != 1 {
		return usagef("timing: give one session folder (%s)", timingUsage)
	}
	if opt.Window <= 0 {
		return usagef("timing: --window must be positive, e.g. 500ms")
	}
	dir := dirs[0]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef("timing: %s: no such session folder", dir)
	}
	x, err := record.OpenIndex(dir)
	if err != nil {
		return usagef("timing: %v", err)
	}
	defer x.Close()
	warnRead(stderr, dir, x, "measured")
	r, err := timing.Analyze(x, opt)
	switch {
	case errors.Is(err, timing.ErrNoChannel), errors.Is(err, timing.ErrChannel), errors.Is(err, timing.ErrNoEdges):
		return usagef("timing: %s: %v", dir, err)
	case err != nil:
		return fmt.Errorf("timing: %s: %w", dir, err)
	case *asJSON:
		return printJSON(stdout, "  ", r)
	}
	return r.WriteText(stdout)
}

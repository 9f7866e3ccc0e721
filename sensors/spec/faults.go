package spec

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cueroom/cueroom/sensors/synth"
)

// Simulated faults: options of sim: specs, so that a session with a finger
// slipping out of the oximeter or a participant moving can be written on
// the command line (cueroom sim contec?fingerout=20s-30s) and replayed.
// Times are the simulated stream's own, from its first sample.

// faultOptions are accepted by every simulator: motion shows in skin
// conductance as well as in PPG.
var faultOptions = []Option{
	{Name: "motion", Help: "motion artefacts at these times of the stream, e.g. 30s-33s,2m-2m4s", Check: checkWindows(true), SimOnly: true},
	{Name: "motionrate", Help: "random motion artefacts per minute", Check: FloatIn(0, 60), SimOnly: true},
}

// fingerOutOption is for the optical sensors' simulators (PPG).
var fingerOutOption = Option{Name: "fingerout",
	Help:  "finger out of the probe at these times of the stream, e.g. 20s-30s,1m (from 1 min on)",
	Check: checkWindows(false), SimOnly: true}

// Limits on a schedule: it is typed by hand.
const (
	maxWindows    = 64
	maxWindowTime = 24 * time.Hour
)

const windowsHowTo = "write FROM-TO times of the simulated stream, separated by commas, e.g. 20s-30s,1m-1m5s"

func checkWindows(needEnd bool) func(string) error {
	return func(s string) error { _, err := parseWindows(s, needEnd); return err }
}

// parseWindows reads "20s-30s,1m-1m5s": windows in order, not
// overlapping. Without needEnd the last may be open ("1m": from 1 min on).
func parseWindows(s string, needEnd bool) ([]synth.Window, error) {
	items := strings.Split(s, ",")
	if len(items) > maxWindows {
		return nil, fmt.Errorf("%d windows: give at most %d", len(items), maxWindows)
	}
	var out []synth.Window
	for i, it := range items {
		from, to, ranged := strings.Cut(it, "-")
		var w synth.Window
		var err error
		if w.From, err = windowTime(from); err != nil {
			return nil, fmt.Errorf("%q: %v", it, err)
		}
		switch {
		case ranged:
			if w.To, err = windowTime(to); err != nil {
				return nil, fmt.Errorf("%q: %v", it, err)
			}
			if w.To <= w.From {
				return nil, fmt.Errorf("%q ends before it starts: %s", it, windowsHowTo)
			}
		case needEnd:
			return nil, fmt.Errorf("%q has no end: %s", it, windowsHowTo)
		case i < len(items)-1:
			return nil, fmt.Errorf("%q has no end but is not the last: %s", it, windowsHowTo)
		}
		if i > 0 && w.From < out[i-1].To {
			return nil, fmt.Errorf("%q starts before the window before it ends: give windows in order, not overlapping", it)
		}
		out = append(out, w)
	}
	return out, nil
}

func windowTime(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case s == "" || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+"):
		return 0, errors.New(windowsHowTo)
	case err != nil:
		return 0, fmt.Errorf("%q is not a time: %s", s, windowsHowTo)
	case d > maxWindowTime:
		return 0, fmt.Errorf("%v is past %v: %s", d, maxWindowTime, windowsHowTo)
	}
	return d, nil
}

// simSynth is the physiology of a simulator: its seed and scheduled faults.
func simSynth(o Opts) synth.Config {
	cfg := synth.Config{Seed: uint64(o.Int("seed")), MotionPerMin: o.Float("motionrate")}
	if s := o.Get("motion"); s != "" {
		cfg.MotionAt, _ = parseWindows(s, true) // checked by Parse
	}
	if s := o.Get("fingerout"); s != "" {
		cfg.FingerOutAt, _ = parseWindows(s, false)
	}
	return cfg
}

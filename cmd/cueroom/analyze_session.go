package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cueroom/cueroom/engine/analysis"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

// analyzeSessions analyses recorded session folders and prints a table per
// session and, given several, each step's habituation across them.
func analyzeSessions(dirs []string, opt analysis.Options, asJSON bool, stdout io.Writer) error {
	var all []*analysis.Result
	for _, dir := range dirs {
		x, err := record.OpenIndex(dir)
		if err != nil {
			return usagef("analyze: %v", err)
		}
		warnRead(os.Stderr, dir, x, "analysed")
		a, err := analysis.Session(analysis.FromIndex(x), opt)
		x.Close()
		if err != nil {
			return usagef("analyze: %s: %v", dir, err)
		}
		all = append(all, a)
	}
	across := analysis.Across(all)
	if asJSON {
		return printJSON(stdout, "  ", struct {
			Sessions []*analysis.Result `json:"sessions"`
			Across   []report.Across    `json:"across_sessions,omitempty"`
		}{all, across})
	}
	for _, a := range all {
		fmt.Fprintf(stdout, "%s — %s (%s, %s)\n", a.Dir, a.Title, a.Start, a.Device)
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "step\trepeat\tonset s\tΔHR bpm\tΔSC µS\tSCRs 1–4 s\tmax amp µS\tRMSSD ms\tcraving\t")
		for _, r := range a.Steps.Events {
			craving := "—"
			if v := a.LastRating(r.Label, r.Repeat, "craving"); v != nil {
				craving = fmt.Sprintf("%.0f", *v)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%s\t%s\t%d\t%.3f\t%s\t%s\t\n", r.Label, r.Repeat, r.T,
				delta(r.HR), delta(r.SC), r.SCR.Count, r.SCR.MaxAmplitude, analysis.RMSSDText(r.HRV), craving)
		}
		tw.Flush()
		analysis.WriteHeartNotes(stdout, a.Steps)
		for _, l := range a.Looks {
			fmt.Fprintf(stdout, "look: %s (repeat %d, at %.1f s): viewed %.1f s, %.0f %% ahead, mean yaw %+.0f° (focus %.2f)\n",
				l.Cue, l.Repeat, l.Onset, l.Seconds, 100*l.AheadS/l.Seconds, l.MeanYaw, l.Concentration)
		}
		fmt.Fprintln(stdout)
	}
	for _, x := range across {
		amps := make([]string, len(x.SCRAmp))
		for i, v := range x.SCRAmp {
			amps[i] = fmt.Sprintf("%.3f", v)
		}
		fmt.Fprintf(stdout, "step %s over %d sessions: SCR amplitude %s µS (slope %+.3f per session)\n",
			x.Step, len(x.Sessions), strings.Join(amps, " → "), x.SCRSlope)
	}
	fmt.Fprintln(stdout, "(--json prints every cue's and step's measures, the ratings and habituation)")
	return nil
}

func delta(c *offline.Change) string {
	if c == nil {
		return "—"
	}
	return fmt.Sprintf("%+.2f", c.Delta)
}

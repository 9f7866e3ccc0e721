package timing

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report for people: the channel and its levels, a
// table of latencies per cue kind, then what did not match.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	unit := r.Channel.Unit
	if unit != "" {
		unit = " " + unit
	}
	rate := ""
	if r.Channel.Rate > 0 {
		rate = fmt.Sprintf(", %g Hz", r.Channel.Rate)
	}
	fmt.Fprintf(&b, "%s\nphotodiode: %s%s, %d samples; dark %.4g, light %.4g%s, edges timed at %.4g\n",
		r.Session, r.Channel, rate, r.Samples, r.Levels.Dark, r.Levels.Light, unit, r.Levels.Threshold)
	fmt.Fprintf(&b, "onset → light latency, ms (the first rising edge within %g ms of each visual onset; %d rising edges)\n\n",
		r.WindowMS, r.Rises)
	tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tcount\tmean\tSD\tmin\tmax\tunmatched\tshared\t")
	for _, s := range append(r.Kinds, r.All) {
		if l := s.Latency; l != nil {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%d\t\n", s.Kind, s.Count, l.Mean, l.SD, l.Min, l.Max, s.Unmatched, s.Shared)
		} else {
			fmt.Fprintf(tw, "%s\t%d\t—\t—\t—\t—\t%d\t%d\t\n", s.Kind, s.Count, s.Unmatched, s.Shared)
		}
	}
	tw.Flush()
	if len(r.Onsets) == 0 {
		b.WriteString("\nno visual cue onsets in this session\n")
	}
	var unmatched []Onset
	for _, o := range r.Onsets {
		if o.Unmatched != "" {
			unmatched = append(unmatched, o)
		}
	}
	if len(unmatched) > 0 {
		fmt.Fprintf(&b, "\nunmatched onsets (%d):\n", len(unmatched))
		for _, o := range unmatched {
			fmt.Fprintf(&b, "  %10.3f s  %s %s: %s\n", o.T, o.Kind, o.Cue, o.Unmatched)
		}
	}
	if n := len(r.UnmatchedEdges); n > 0 {
		fmt.Fprintf(&b, "\nunmatched light edges (%d), s:", n)
		for i, t := range r.UnmatchedEdges {
			if i == 20 {
				fmt.Fprintf(&b, " … and %d more", n-i)
				break
			}
			fmt.Fprintf(&b, " %.3f", t)
		}
		b.WriteString("\n")
	}
	if r.Untimed > 0 {
		fmt.Fprintf(&b, "\n%d rising edges fell in gaps of the samples and were left out\n", r.Untimed)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

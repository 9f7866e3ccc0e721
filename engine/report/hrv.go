package report

import (
	"fmt"

	"github.com/cueroom/cueroom/sensors/physio/hrv"
)

// hrvTable lists heart rate variability for the whole session, each step
// presentation and each cue shown long enough to have any: a window too
// short (or too broken by artefacts) for a measure shows why instead.
func hrvTable(s *Session) *table {
	t := &table{Head: [][]head{
		{leaf("Window", 2, ""), leaf("From–to", 2, "session time, m:ss"),
			groupHead("NN intervals", 2, "normal-to-normal beat intervals after artefact correction (Lipponen & Tarvainen 2019)"),
			groupHead("Time domain (ms, %)", 4, "Task Force 1996"),
			groupHead("Frequency domain (ms²)", 3, "Task Force 1996 bands; Lomb–Scargle periodogram of the NN series")},
		{leaf("n", 1, ""), leaf("corrected", 1, "intervals replaced by the artefact correction"),
			leaf("mean NN", 1, "ms"), leaf("SDNN", 1, "ms, sample SD"), leaf("RMSSD", 1, "ms"), leaf("pNN50", 1, "% of successive differences over 50 ms"),
			leaf("LF", 1, "0.04–0.15 Hz"), leaf("HF", 1, "0.15–0.4 Hz"), leaf("LF/HF", 1, "")},
	}, Empty: "No heart rate variability: no heartbeats were analysed.",
		Note: "Time-domain measures need at least 60 s of NN intervals, frequency-domain ones 120 s (Task Force 1996 recommends 5 min for short-term HRV); a dash says it was withheld, its tooltip why."}
	if s.HRV == nil {
		return t
	}
	t.Rows = append(t.Rows, hrvRow(cell{Text: "whole session"}, s.HRV))
	for _, p := range s.Steps {
		if p.HRV != nil {
			t.Rows = append(t.Rows, hrvRow(cell{Text: fmt.Sprintf("step %s", p.ID), Sub: repeatText(p.Repeat)}, p.HRV))
		}
	}
	for _, p := range s.Cues {
		if p.HRV != nil && p.HRV.Time != nil {
			t.Rows = append(t.Rows, hrvRow(cell{Text: fmt.Sprintf("cue %s", p.ID), Sub: repeatText(p.Repeat)}, p.HRV))
		}
	}
	return t
}

func repeatText(n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf("repeat %d", n)
}

func hrvRow(label cell, h *hrv.Result) []cell {
	row := []cell{label, {Text: Clock(h.From) + "–" + Clock(h.To), Class: "num"}, num(float64(h.NN), 0), num(float64(h.Corrected), 0)}
	if tm := h.Time; tm != nil {
		row = append(row, num(tm.MeanNN, 0), num(tm.SDNN, 1), num(tm.RMSSD, 1), num(tm.PNN50, 1))
	} else {
		row = append(row, withheld(h.TimeWhy), withheld(h.TimeWhy), withheld(h.TimeWhy), withheld(h.TimeWhy))
	}
	if f := h.Freq; f != nil {
		row = append(row, num(f.LF, 0), num(f.HF, 0), num(f.LFHF, 2))
	} else {
		row = append(row, withheld(h.FreqWhy), withheld(h.FreqWhy), withheld(h.FreqWhy))
	}
	return row
}

func withheld(why string) cell {
	if why == "" {
		why = "withheld"
	}
	return cell{Text: "—", Class: "na", Title: why}
}

// qualityText says where the ECG was too noisy for a heart rate.
func qualityText(q *Quality) string {
	if q == nil {
		return ""
	}
	stretches := "1 stretch"
	if len(q.Unusable) != 1 {
		stretches = fmt.Sprintf("%d stretches", len(q.Unusable))
	}
	t := fmt.Sprintf("The ECG's signal quality index judged %s of the recording unusable (%s)", Clock(q.Seconds), stretches)
	if q.Withheld > 0 {
		t += fmt.Sprintf("; %d beat intervals there are left out of the heart rate, its changes and HRV", q.Withheld)
	}
	t += ". The stretches are hatched grey on the heart-rate plot."
	if q.Warning != "" {
		t += " " + q.Warning + "."
	}
	return t
}

// lookTable lists where the patient looked in each 360° scene shown
// (nil when none was: the section is left out).
func lookTable(s *Session) *table {
	t := &table{Head: [][]head{
		{leaf("Cue", 2, ""), leaf("Repeat", 2, ""), leaf("Onset", 2, "session time, m:ss"), leaf("Viewed", 2, "time with a known view, pauses excluded, m:ss"),
			leaf("Ahead", 2, "share of the time within ±30° yaw and ±20° pitch of the direction the scene opened at"),
			groupHead("Direction", 3, "yaw 0° is the picture's centre, positive to the right"),
			groupHead("Pitch (share of time)", 3, "looking up: more than 20° above level; down: more than 20° below")},
		{leaf("mean yaw", 1, "time-weighted circular mean"), leaf("focus", 1, "mean resultant length: 1 one direction throughout, 0 all round"),
			leaf("most", 1, "the 45° sector looked at longest, and its share"),
			leaf("up", 1, ""), leaf("level", 1, ""), leaf("down", 1, "")},
	}, Note: "From the recorded look events (the view's direction when a 360° scene comes on and at each move); each view holds until the next."}
	for _, p := range s.Cues {
		l := p.Look
		if l == nil || l.Seconds <= 0 {
			continue
		}
		pct := func(v float64) cell { return cell{Text: numText(100*v/l.Seconds, 0) + " %", Class: "num"} }
		best := Sector{}
		for _, sec := range l.Sectors {
			if sec.Seconds > best.Seconds {
				best = sec
			}
		}
		t.Rows = append(t.Rows, []cell{{Text: p.ID, Sub: p.Step}, num(float64(p.Repeat), 0), {Text: Clock(p.Onset), Class: "num"},
			{Text: Clock(l.Seconds), Class: "num"}, pct(l.AheadS),
			{Text: numText(l.MeanYaw, 0) + "°", Class: "num"}, num(l.Concentration, 2),
			{Text: numText(best.Yaw, 0) + "° (" + numText(100*best.Seconds/l.Seconds, 0) + " %)", Class: "num"},
			pct(l.UpS), pct(l.LevelS), pct(l.DownS)})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	return t
}

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

package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cueroom/cueroom/sensors/physio/offline"
)

//go:embed report.html.tmpl
var pageSource string

var page = template.Must(template.New("report").Funcs(template.FuncMap{"inc": func(i int) int { return i + 1 }}).Parse(pageSource))

// Options change how the report is drawn.
type Options struct {
	Plots Format
	// Progress, when set, is called before each figure is drawn: drawing is
	// the slow part of a long session's report.
	Progress func(what string)
}

// Figures is how many figures WriteHTML draws for r, for a progress bar.
func Figures(r *Report) int {
	n := 3 * len(r.Sessions) // overview, within, repeats (when they apply)
	if len(r.Across) > 0 {
		n++
	}
	return n
}

// WriteHTML writes r as one self-contained HTML page: styles inline, plots
// embedded, nothing fetched from anywhere.
func WriteHTML(w io.Writer, r *Report, o Options) error {
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	v := pageView{R: r, Title: reportTitle(r), Generated: r.Generated.Format("2006-01-02 15:04 MST"), Methods: methods(r.Settings)}
	for i := range r.Sessions {
		s := &r.Sessions[i]
		sv := sessionView{S: s, Anchor: fmt.Sprintf("session-%d", i+1), Heading: sessionHeading(s)}
		sv.Facts = facts(s)
		sv.Warnings = warnings(s)
		progress("plotting " + s.Title)
		sv.Figures = append(sv.Figures, overview(s, o.Plots))
		sv.Steps = stepTable(s)
		progress("plotting " + s.Title)
		if f, ok := withinStep(s, o.Plots, r.Settings.Baseline); ok {
			sv.WithinFig = &f
		}
		sv.Within = withinTable(s)
		progress("plotting " + s.Title)
		if f, ok := repeats(s, o.Plots); ok {
			sv.RepeatFig = &f
		}
		sv.Repeats = repeatTable(s)
		sv.Cues = cueTable(s)
		sv.HRV = hrvTable(s)
		sv.Looks = lookTable(s)
		sv.Manifest = manifestTable(s)
		sv.Log = logTable(s)
		v.Sessions = append(v.Sessions, sv)
	}
	if len(r.Across) > 0 {
		progress("plotting across sessions")
		f, _ := acrossSessions(r, o.Plots)
		v.AcrossFig = &f
		v.Across = acrossTable(r)
	}
	return page.Execute(w, v)
}

type pageView struct {
	R         *Report
	Title     string
	Generated string
	Sessions  []sessionView
	Across    *table
	AcrossFig *figure
	Methods   []string
}

type sessionView struct {
	S         *Session
	Anchor    string
	Heading   string
	Facts     [][2]string
	Warnings  []string
	Figures   []figure
	Steps     *table
	Within    *table
	WithinFig *figure
	Repeats   *table
	RepeatFig *figure
	Cues      *table
	HRV       *table
	Looks     *table
	Manifest  *table
	Log       *table
}

// table is laid out in Go so the template stays dumb: every cell says
// what it shows and how.
type table struct {
	Head  [][]head
	Rows  [][]cell
	Empty string // shown instead of an empty body
	Note  string
}

type head struct {
	Text             string
	Cols, Rows       int
	Title            string
	Group, Numerical bool
}

type cell struct {
	Text  string
	Sub   string // a second, smaller line
	Class string // num, na, nm, code, wrap
	Title string
}

func reportTitle(r *Report) string {
	if len(r.Sessions) == 1 {
		return "Cue reactivity report — " + r.Sessions[0].Title
	}
	return fmt.Sprintf("Cue reactivity report — %d sessions", len(r.Sessions))
}

func sessionHeading(s *Session) string {
	t := s.Title
	if t == "" {
		t = "Untitled session"
	}
	if !s.Start.IsZero() {
		t += " — " + s.Start.Format("2006-01-02 15:04")
	}
	return t
}

func facts(s *Session) [][2]string {
	f := [][2]string{
		{"Substance", orDash(s.Substance)},
		{"Started", timeOr(s.Start.IsZero(), s.Start.Format("2006-01-02 15:04:05 MST"))},
	}
	if s.End != nil {
		f = append(f, [2]string{"Ended", s.End.Format("2006-01-02 15:04:05 MST")})
	}
	f = append(f, [2]string{"Duration", Clock(s.Duration) + " (m:ss)"})
	reason := s.EndReason
	if reason == "" {
		reason = "not recorded: the session did not end normally (crash, power cut or killed)"
	}
	f = append(f, [2]string{"End reason", reason})
	f = append(f, [2]string{"Exposure time", Clock(s.Exposure) + " in cue steps (pauses and calm scenes excluded)"})
	f = append(f, [2]string{"Signals analysed", measuredText(s)})
	if b := s.Baseline; b != nil {
		f = append(f, [2]string{"Baseline", fmt.Sprintf("%s–%s: heart rate %s, skin conductance %s",
			Clock(b.From), Clock(b.To), optUnit(b.HR, 1, "bpm", s.Measured.HR != nil), optUnit(b.SCL, 2, "µS", s.Measured.SCL != nil))})
	} else {
		f = append(f, [2]string{"Baseline", "no baseline step was recorded: changes from baseline are not available"})
	}
	for _, d := range s.Devices {
		var ch []string
		for _, c := range d.Channels {
			ch = append(ch, strings.TrimSpace(c.Label+" "+unit(c.Unit)+" ("+c.Type+")"))
		}
		text := fmt.Sprintf("%s (%s), %s Hz: %s", d.Device, d.Kind, strconv.FormatFloat(d.Rate, 'f', -1, 64), strings.Join(ch, ", "))
		if len(d.Settings) > 0 {
			keys := make([]string, 0, len(d.Settings))
			for k := range d.Settings {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var kv []string
			for _, k := range keys {
				kv = append(kv, k+"="+d.Settings[k])
			}
			text += "; " + strings.Join(kv, ", ")
		}
		f = append(f, [2]string{"Device", text})
	}
	if len(s.Devices) == 0 {
		f = append(f, [2]string{"Device", "none recorded"})
	}
	f = append(f, [2]string{"Recorded by", orDash(s.Software)})
	if s.ProtocolFile != "" {
		f = append(f, [2]string{"Protocol file", s.ProtocolFile})
	}
	f = append(f, [2]string{"Session folder", s.Dir})
	return f
}

func measuredText(s *Session) string {
	m := s.Measured
	hr, scl := "not measured", "not measured"
	if m.HR != nil {
		hr = *m.HR
	}
	if m.SCL != nil {
		scl = *m.SCL
	}
	t := "heart rate: " + hr + "; skin conductance: " + scl
	if m.Arousal {
		t += "; live arousal index recorded"
	} else {
		t += "; arousal index not recorded"
	}
	if m.GapSamples > 0 {
		t += fmt.Sprintf("; %d samples missing (sensor gaps, left out)", m.GapSamples)
	}
	if m.Note != "" {
		t += " (" + m.Note + ")"
	}
	return t
}

func warnings(s *Session) []string {
	var w []string
	if s.Recovered != "" {
		w = append(w, "The recording was damaged and has been read around the damage: "+s.Recovered)
	}
	if s.RecordingError != "" {
		w = append(w, "Recording stopped early: "+s.RecordingError)
	}
	if q := qualityText(s.Quality); q != "" {
		w = append(w, q)
	}
	for _, n := range s.Notes {
		w = append(w, "Note: "+n)
	}
	if !s.Complete && s.Recovered == "" && s.RecordingError == "" && s.EndReason == "" {
		w = append(w, "The session was not closed normally; the report covers what was recorded.")
	}
	return w
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func timeOr(zero bool, s string) string {
	if zero {
		return "not recorded"
	}
	return s
}

func unit(u string) string {
	if u == "uS" {
		return "µS"
	}
	return u
}

func optUnit(v *float64, prec int, u string, measured bool) string {
	switch {
	case !measured:
		return "not measured"
	case v == nil:
		return "n/a (too little clean signal)"
	}
	return strconv.FormatFloat(*v, 'f', prec, 64) + " " + u
}

// Cells.

// numText formats v with a typographic minus; what rounds to zero has no
// sign.
func numText(v float64, prec int) string {
	t := strconv.FormatFloat(v, 'f', prec, 64)
	if z, _ := strconv.ParseFloat(t, 64); z == 0 {
		return strconv.FormatFloat(0, 'f', prec, 64)
	}
	return strings.Replace(t, "-", "−", 1)
}

func num(v float64, prec int) cell {
	if !finite(v) {
		return cell{Text: "n/a", Class: "na"}
	}
	return cell{Text: numText(v, prec), Class: "num"}
}

// signed shows the sign of a change; one that rounds to zero has none.
func signed(v float64, prec int) cell {
	c := num(v, prec)
	if c.Class == "num" && v > 0 && c.Text != numText(0, prec) {
		c.Text = "+" + c.Text
	}
	return c
}

// missing is an empty value: "not measured" when the signal was not
// recorded at all, "n/a" when it was but the window had too little of it.
func missing(measured bool) cell {
	if !measured {
		return cell{Text: "not measured", Class: "nm"}
	}
	return cell{Text: "n/a", Class: "na", Title: "too little clean signal in the window"}
}

func opt(v *float64, prec int, measured bool) cell {
	if v == nil {
		return missing(measured)
	}
	return num(*v, prec)
}

func change(c *offline.Change, prec int, measured bool) []cell {
	if c == nil {
		return []cell{missing(measured), missing(measured), missing(measured)}
	}
	return []cell{num(c.Baseline, prec), num(c.Response, prec), signed(c.Delta, prec)}
}

func level(l *Level, prec int, measured bool) []cell {
	if l == nil {
		return []cell{missing(measured), missing(measured), missing(measured)}
	}
	return []cell{num(l.Baseline, prec), num(l.During, prec), signed(l.Delta, prec)}
}

func scrCells(s *offline.SCRSum, measured bool, latency bool) []cell {
	n := 2
	if latency {
		n = 3
	}
	if s == nil {
		out := make([]cell, n)
		for i := range out {
			out[i] = missing(measured)
		}
		return out
	}
	out := []cell{num(float64(s.Count), 0), num(s.MaxAmplitude, 3)}
	if s.Count == 0 {
		out[1] = cell{Text: "–", Class: "num"}
	}
	if latency {
		if s.Count > 0 {
			out = append(out, num(s.Latency, 1))
		} else {
			out = append(out, cell{Text: "–", Class: "num"})
		}
	}
	return out
}

// ratingCell lists one scale's ratings of a presentation.
func ratingCell(rs []Rating, scale string) cell {
	var vals []string
	asked := false
	for _, r := range rs {
		if !strings.EqualFold(r.Scale, scale) {
			continue
		}
		asked = true
		if r.Value == nil {
			vals = append(vals, "no answer")
		} else {
			vals = append(vals, strconv.FormatFloat(*r.Value, 'f', -1, 64))
		}
	}
	if !asked {
		return cell{Text: "–", Class: "num", Title: "not asked"}
	}
	return cell{Text: strings.Join(vals, ", "), Class: "num"}
}

func groupHead(text string, cols int, title string) head {
	return head{Text: text, Cols: cols, Rows: 1, Title: title, Group: true}
}

func leaf(text string, rows int, title string) head {
	return head{Text: text, Cols: 1, Rows: rows, Title: title}
}

func stepTable(s *Session) *table {
	hrOK, sclOK := s.Measured.HR != nil, s.Measured.SCL != nil
	t := &table{Head: [][]head{
		{leaf("#", 2, ""), leaf("Step", 2, ""), leaf("Intensity", 2, "0–10, from the protocol"), leaf("Repeat", 2, "presentation of this step"),
			leaf("Onset", 2, "session time, m:ss"), leaf("Exposure", 2, "time on, pauses excluded, m:ss"), leaf("Ended by", 2, ""),
			groupHead("Heart rate (bpm)", 4, ""), groupHead("Skin conductance level (µS)", 4, ""),
			groupHead("SCRs 1–4 s", 2, "skin conductance responses starting 1–4 s after the step's onset"),
			groupHead("Ratings", 2, "0–100")},
		{leaf("baseline", 1, "mean over the session's baseline step"), leaf("step", 1, "mean over the whole step"), leaf("Δ", 1, "step − baseline"),
			leaf("Δ onset", 1, "mean 4 s after onset − mean 3 s before"),
			leaf("baseline", 1, "mean over the session's baseline step"), leaf("step", 1, "mean over the whole step"), leaf("Δ", 1, "step − baseline"),
			leaf("Δ onset", 1, "mean 4 s after onset − mean 3 s before"),
			leaf("n", 1, ""), leaf("max µS", 1, "largest amplitude"),
			leaf("craving", 1, ""), leaf("SUDS", 1, "")},
	}, Empty: "No step was recorded."}
	for _, p := range s.Steps {
		row := []cell{num(float64(p.N), 0), {Text: p.ID, Sub: p.Name}, intensity(p), num(float64(p.Repeat), 0),
			{Text: Clock(p.Onset), Class: "num"}, {Text: Clock(p.Exposure), Class: "num"}, {Text: orDash(p.EndReason)}}
		row = append(row, level(p.HRLevel, 1, hrOK)...)
		row = append(row, onsetDelta(p.HR, 1, hrOK))
		row = append(row, level(p.SCLLevel, 2, sclOK)...)
		row = append(row, onsetDelta(p.SCL, 3, sclOK))
		row = append(row, scrCells(p.SCR, sclOK, false)...)
		row = append(row, ratingCell(p.Ratings, "craving"), ratingCell(p.Ratings, "suds"))
		t.Rows = append(t.Rows, row)
	}
	return t
}

func intensity(p Presentation) cell {
	if p.Neutral {
		return cell{Text: "neutral", Class: "num"}
	}
	return num(float64(p.Intensity), 0)
}

func onsetDelta(c *offline.Change, prec int, measured bool) cell {
	if c == nil {
		return missing(measured)
	}
	return signed(c.Delta, prec)
}

func cueTable(s *Session) *table {
	hrOK, sclOK := s.Measured.HR != nil, s.Measured.SCL != nil
	t := &table{Head: [][]head{
		{leaf("#", 2, ""), leaf("Cue", 2, ""), leaf("Step", 2, ""), leaf("Modality", 2, ""), leaf("Repeat", 2, ""),
			leaf("Onset", 2, "first frame (picture, text) or first sample (sound), m:ss"), leaf("Shown", 2, "onset to offset, m:ss"),
			groupHead("Heart rate (bpm)", 3, ""), groupHead("Skin conductance level (µS)", 3, ""),
			groupHead("SCRs 1–4 s", 3, "skin conductance responses starting 1–4 s after the cue's onset")},
		{leaf("before", 1, "mean 3 s before onset"), leaf("after", 1, "mean 4 s after onset"), leaf("Δ", 1, ""),
			leaf("before", 1, "mean 3 s before onset"), leaf("after", 1, "mean 4 s after onset"), leaf("Δ", 1, ""),
			leaf("n", 1, ""), leaf("max µS", 1, ""), leaf("latency s", 1, "onset of the first SCR after the cue")},
	}, Empty: "No cue onset was recorded."}
	for _, p := range s.Cues {
		row := []cell{num(float64(p.N), 0), {Text: p.ID}, {Text: p.Step}, {Text: orDash(p.Modality)}, num(float64(p.Repeat), 0),
			{Text: Clock(p.Onset), Class: "num"}, {Text: Clock(p.Exposure), Class: "num"}}
		row = append(row, change(p.HR, 1, hrOK)...)
		row = append(row, change(p.SCL, 3, sclOK)...)
		row = append(row, scrCells(p.SCR, sclOK, true)...)
		t.Rows = append(t.Rows, row)
	}
	return t
}

func withinTable(s *Session) *table {
	sclOK := s.Measured.SCL != nil
	t := &table{Head: [][]head{
		{leaf("#", 2, ""), leaf("Step", 2, ""), leaf("Exposure", 2, ""),
			groupHead("Skin conductance level (µS)", 5, ""), groupHead("Arousal (z, live index)", 3, "")},
		{leaf("onset", 1, "mean 3 s before onset"), leaf("peak", 1, "highest 1-s mean during the step"), leaf("peak at", 1, "m:ss after onset"),
			leaf("end", 1, "mean over the step's last seconds"), leaf("recovered", 1, "(peak − end) / (peak − onset): 100 % is back at the onset level"),
			leaf("peak", 1, ""), leaf("peak at", 1, "m:ss after onset"), leaf("end", 1, "")},
	}, Empty: "No exposure step was recorded.",
		Note: "Recovered is left out when skin conductance rose less than 0.05 µS during the step."}
	for _, p := range s.Steps {
		if p.Neutral {
			continue
		}
		w := p.Within
		if w == nil {
			w = &Within{}
		}
		row := []cell{num(float64(p.N), 0), {Text: p.ID}, {Text: Clock(p.Exposure), Class: "num"},
			opt(w.SCLOnset, 2, sclOK), opt(w.SCLPeak, 2, sclOK), clockOpt(w.SCLPeakAt, sclOK), opt(w.SCLEnd, 2, sclOK)}
		switch {
		case w.SCLRecovered != nil && *w.SCLRecovered > 1:
			row = append(row, cell{Text: "> 100 %", Class: "num", Title: "ended below the level before onset"})
		case w.SCLRecovered != nil:
			row = append(row, cell{Text: fmt.Sprintf("%.0f %%", 100**w.SCLRecovered), Class: "num"})
		case sclOK && w.SCLPeak != nil:
			row = append(row, cell{Text: "no rise", Class: "na", Title: "skin conductance rose less than 0.05 µS"})
		default:
			row = append(row, missing(sclOK))
		}
		arOK := s.Measured.Arousal
		row = append(row, opt(w.ArousalPeak, 2, arOK), clockOpt(w.ArousalAt, arOK), opt(w.ArousalEnd, 2, arOK))
		t.Rows = append(t.Rows, row)
	}
	return t
}

func clockOpt(v *float64, measured bool) cell {
	if v == nil {
		return missing(measured)
	}
	return cell{Text: Clock(*v), Class: "num"}
}

func series(v []float64, prec int) string {
	var b strings.Builder
	for i, x := range v {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(numText(x, prec))
	}
	return b.String()
}

func repeatTable(s *Session) *table {
	t := &table{Head: [][]head{{leaf("Kind", 1, ""), leaf("Step or cue", 1, ""), leaf("Shown", 1, "times"),
		leaf("Largest SCR per presentation (µS)", 1, ""), leaf("slope per presentation", 1, "least-squares; negative = habituation"),
		leaf("last / first", 1, ""), leaf("Δ SCL per presentation (µS)", 1, ""), leaf("slope", 1, ""),
		leaf("Δ HR per presentation (bpm)", 1, ""), leaf("slope", 1, "")}},
		Empty: "No step or cue was presented more than once in this session."}
	for _, h := range s.Repeats {
		ratio := cell{Text: "–", Class: "num"}
		if h.FirstToLast > 0 {
			ratio = num(h.FirstToLast, 2)
		}
		t.Rows = append(t.Rows, []cell{{Text: h.Kind}, {Text: h.Label}, num(float64(h.Repeats), 0),
			{Text: series(h.SCRAmp, 3), Class: "num"}, signed(h.SCRSlope, 3), ratio,
			{Text: orDash(series(h.SCDelta, 3)), Class: "num"}, signed(h.SCSlope, 3),
			{Text: orDash(series(h.HRDelta, 1)), Class: "num"}, signed(h.HRSlope, 2)})
	}
	return t
}

func manifestTable(s *Session) *table {
	t := &table{Head: [][]head{{leaf("Step", 1, ""), leaf("Cue", 1, ""), leaf("Modality", 1, ""), leaf("Intensity", 1, ""),
		leaf("Step duration", 1, "as in the protocol"), leaf("Personalised", 1, ""), leaf("Description", 1, ""),
		leaf("Asset", 1, "file relative to the protocol"), leaf("SHA-256", 1, "of the asset file")}},
		Empty: "session.json holds no cue manifest."}
	for _, c := range s.Manifest {
		desc := c.Description
		if c.Text != "" {
			desc = strings.TrimSpace(desc + " — “" + c.Text + "”")
		}
		if c.Voice != "" {
			desc += " (voice " + c.Voice + ")"
		}
		in := num(float64(c.Intensity), 0)
		if c.Neutral {
			in = cell{Text: "neutral", Class: "num"}
		}
		pers := "no"
		if c.Personalised {
			pers = "yes"
		}
		t.Rows = append(t.Rows, []cell{{Text: c.Step, Title: c.StepName}, {Text: c.ID}, {Text: c.Modality}, in,
			{Text: Clock(c.Duration), Class: "num"}, {Text: pers}, {Text: orDash(desc), Class: "wrap"},
			{Text: orDash(c.File), Class: "code"}, {Text: orDash(c.SHA256), Class: "code hash"}})
	}
	return t
}

const maxLog = 300

func logTable(s *Session) *table {
	t := &table{Head: [][]head{{leaf("Time", 1, "session time, m:ss"), leaf("What", 1, ""), leaf("Details", 1, "")}},
		Empty: "No patient stop, command, marker, alert or sensor gap was recorded."}
	for i, e := range s.Log {
		if i == maxLog {
			t.Note = fmt.Sprintf("… and %d more entries (all of them are in the JSON output).", len(s.Log)-maxLog)
			break
		}
		t.Rows = append(t.Rows, []cell{{Text: Clock(e.T), Class: "num"}, {Text: e.Kind}, {Text: e.Text, Class: "wrap"}})
	}
	return t
}

func acrossTable(r *Report) *table {
	t := &table{Head: [][]head{{leaf("Step", 1, ""), leaf("Sessions", 1, "numbered as above"),
		leaf("Largest SCR (µS)", 1, "1–4 s after the step's first onset"), leaf("slope per session", 1, "negative = habituation"),
		leaf("Δ SCL 4 s (µS)", 1, ""), leaf("Δ HR 4 s (bpm)", 1, ""), leaf("Craving", 1, "last rating of the step")}}}
	index := map[string]int{}
	for i, s := range r.Sessions {
		if _, ok := index[s.Dir]; !ok {
			index[s.Dir] = i + 1
		}
	}
	for _, x := range r.Across {
		var ns []string
		for _, d := range x.Sessions {
			ns = append(ns, strconv.Itoa(index[d]))
		}
		t.Rows = append(t.Rows, []cell{{Text: x.Step}, {Text: strings.Join(ns, ", "), Class: "num"},
			{Text: series(x.SCRAmp, 3), Class: "num"}, signed(x.SCRSlope, 3),
			{Text: ptrSeries(x.SCDelta, 3), Class: "num"}, {Text: ptrSeries(x.HRDelta, 1), Class: "num"},
			{Text: ptrSeries(x.Craving, 0), Class: "num"}})
	}
	return t
}

func ptrSeries(v []*float64, prec int) string {
	var parts []string
	for _, x := range v {
		if x == nil || math.IsNaN(*x) {
			parts = append(parts, "n/a")
		} else {
			parts = append(parts, numText(*x, prec))
		}
	}
	return strings.Join(parts, " → ")
}

func methods(s Settings) []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	scr := ""
	if s.SCRRelative > 0 {
		scr = " and at least " + f(100*s.SCRRelative) + " % of the session's largest"
	}
	tonic := "the tonic level is the conductance low-passed at 0.05 Hz (zero phase), the phasic part the rest"
	if s.Decomposition == "cvxeda" {
		tonic = "tonic and phasic parts by cvxEDA (Greco et al. 2016, our own implementation from the paper)"
	}
	return []string{
		"Onsets are the session's own events: a step's start, and a cue's first frame on screen (pictures, text) or first sample played (sounds).",
		"Onset-locked change (Δ onset, before/after): the mean over " + f(s.Response) + " s after the onset minus the mean over the " + f(s.Baseline) + " s before it. Heart rate is time-weighted over accepted inter-beat intervals (artefacts corrected against neighbouring beats); skin conductance is low-passed.",
		"Step level: the mean over the whole step minus the mean over the session's baseline step.",
		"SCRs: skin conductance responses of at least " + f(s.SCRThreshold) + " µS (raised to the sensor's resolution where coarser)" + scr + " whose onset lies " + f(s.SCRFrom) + "–" + f(s.SCRTo) + " s after the onset, scored trough to peak; n is their number, max the largest amplitude; " + tonic + ".",
		"Heart rate variability: Task Force (1996) measures over the NN series after artefact correction (Lipponen & Tarvainen 2019); LF and HF from a Lomb–Scargle periodogram; withheld where the window holds too little (60 s for time-domain, 120 s for frequency-domain measures). Where the ECG's signal quality index (Orphanidou et al. 2015, with additions) judged a stretch unusable, its beats are left out of heart rate and HRV.",
		"Within a step: skin conductance from the mean before onset to its highest 1-s mean during the step and its mean over the last " + f(s.EndWindow) + " s; arousal is the live index (mean z-score of heart rate and skin conductance against the baseline step) as recorded.",
		"Over repeats and sessions: the least-squares slope of the largest SCR per presentation (or session); negative slopes mean the response fades.",
		"“not measured”: the signal was not recorded in this session. “n/a”: it was, but the window held too little clean signal (a sensor gap, artefacts, or before the first sample).",
	}
}

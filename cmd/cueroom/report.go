package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/engine/report"
	"github.com/cueroom/cueroom/sensors/physio/eda"
	"github.com/cueroom/cueroom/sensors/physio/offline"
)

const reportUsage = `Usage: cueroom report SESSION [SESSION…] [--out FILE.html] [--plots svg|png] [--json] [--force]

Writes the cue reactivity report of recorded sessions as one self-contained
HTML file (plots embedded, nothing loaded from the network): the session, the
cue manifest, reactivity per step and per cue, habituation within steps, over
repeats and — given several sessions of one participant, in order — across
sessions. --json prints the same numbers on stdout (and writes HTML only
with --out). The report is never written into a session folder, and an
existing file is kept unless --force.

Flags:
`

// progressBytes is how much recording makes a report slow enough (a few
// seconds) to be worth a progress bar.
var progressBytes int64 = 40 << 20

func cmdReport(args []string) error {
	return reportCmd(args, os.Stdout, os.Stderr)
}

func reportCmd(args []string, stdout, stderr io.Writer) error {
	var (
		out, plots    string
		asJSON, force bool
	)
	flags := flag.NewFlagSet("report", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.StringVar(&out, "out", "", "the HTML file to write (default report.html here; with --json, none unless given)")
	flags.StringVar(&plots, "plots", "svg", "how plots are embedded: svg (inline) or png (data: URIs)")
	flags.BoolVar(&asJSON, "json", false, "print the report's numbers as JSON on stdout")
	flags.BoolVar(&force, "force", false, "overwrite --out if it exists")
	thr := flags.Float64("scr-threshold", 0.01, "smallest SCR amplitude, µS")
	base := flags.Float64("baseline", 3, "seconds before each onset for the onset-locked baseline")
	resp := flags.Float64("response", 4, "seconds after each onset for the onset-locked response")

	var dirs []string
	for {
		if err := flags.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				flags.SetOutput(stdout)
				fmt.Fprint(stdout, reportUsage)
				flags.PrintDefaults()
				return nil
			}
			return usagef("report: %v (see 'cueroom report -h')", err)
		}
		if flags.NArg() == 0 {
			break
		}
		dirs = append(dirs, flags.Arg(0))
		args = flags.Args()[1:]
	}
	if len(dirs) == 0 {
		return usagef("report: give at least one session folder (usage: cueroom report SESSION [SESSION…] [--out FILE.html])")
	}
	format, err := report.ParseFormat(plots)
	if err != nil {
		return usagef("report: --%v", err)
	}
	if !(*thr > 0) || !(*base > 0) || !(*resp > 0) || math.IsInf(*thr+*base+*resp, 0) {
		return usagef("report: --scr-threshold, --baseline and --response must be positive numbers")
	}
	if out == "" && !asJSON {
		out = "report.html"
	}
	for _, d := range dirs {
		if err := checkSessionDir(d); err != nil {
			return err
		}
	}
	if out != "" {
		if err := checkReportOut(out, dirs, force); err != nil {
			return err
		}
	}

	cfg := offline.Config{SCR: eda.Config{Threshold: *thr}, Baseline: *base, Response: *resp, SCRFrom: 1, SCRTo: 4}
	var size int64
	for _, d := range dirs {
		if st, err := os.Stat(filepath.Join(d, record.DataFile)); err == nil {
			size += st.Size()
		}
	}
	// Stages: reading and analysing each session, then its plots (and one
	// across sessions).
	stages := 2 * len(dirs)
	if out != "" {
		stages += report.Figures(&report.Report{Sessions: make([]report.Session, len(dirs))})
		if len(dirs) > 1 {
			stages++
		}
	}
	prog := newProgress(stderr, size, stages)
	defer prog.finish()

	rep := &report.Report{Generated: time.Now(), Software: "cueroom " + version, Settings: report.Settings{
		Baseline: cfg.Baseline, Response: cfg.Response, SCRFrom: cfg.SCRFrom, SCRTo: cfg.SCRTo,
		SCRThreshold: cfg.SCR.Threshold, EndWindow: endWindow,
	}}
	var analysed []SessionAnalysis
	for _, dir := range dirs {
		prog.next("reading " + filepath.Base(dir))
		s, err := record.Open(dir)
		if err != nil {
			return usageError{strings.TrimPrefix(err.Error(), "record: ") + "; give a folder made by 'cueroom run'"}
		}
		if s.Recovered != nil {
			fmt.Fprintf(stderr, "cueroom: warning: %s: %s\n", dir, s.Recovered.Note)
		}
		prog.next("analysing " + filepath.Base(dir))
		rs, a, err := buildSession(s, cfg, rep.Settings)
		if err != nil {
			return fmt.Errorf("report: %s: %w", dir, err)
		}
		if rs.Measured.Note != "" {
			fmt.Fprintf(stderr, "cueroom: warning: %s: %s\n", dir, rs.Measured.Note)
		}
		rep.Sessions = append(rep.Sessions, rs)
		if a != nil {
			analysed = append(analysed, *a)
		}
	}
	rep.Across = acrossSessions(analysed)
	for i := 1; i < len(rep.Sessions); i++ {
		if rep.Sessions[i].Start.Before(rep.Sessions[i-1].Start) {
			fmt.Fprintf(stderr, "cueroom: warning: %s started before %s: sessions are compared in the order given\n",
				rep.Sessions[i].Dir, rep.Sessions[i-1].Dir)
			break
		}
	}

	if out != "" {
		if err := writeReport(out, force, func(w io.Writer) error {
			return report.WriteHTML(w, rep, report.Options{Plots: format, Progress: prog.next})
		}); err != nil {
			return err
		}
	}
	prog.finish()
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	if out != "" {
		w := stdout
		if asJSON {
			w = stderr
		}
		fmt.Fprintf(w, "report of %d session(s) written to %s\n", len(rep.Sessions), out)
	}
	return nil
}

// checkSessionDir tells a missing folder or a file from a session before
// anything is read.
func checkSessionDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usagef("report: %s: no such session folder", dir)
	case err != nil:
		return fmt.Errorf("report: %w", err)
	case !st.IsDir():
		return usagef("report: %s is a file; give the session folder that holds %s and %s", dir, record.MetaFile, record.DataFile)
	}
	return nil
}

// checkReportOut refuses an --out that would overwrite a file (without
// --force), land in a session folder (they hold the recording as made, and
// nothing else), or go to a folder that does not exist.
func checkReportOut(out string, dirs []string, force bool) error {
	ext := strings.ToLower(filepath.Ext(out))
	if ext != ".html" && ext != ".htm" {
		return usagef("report: --out %s: a report's name ends in .html", out)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, d := range dirs {
		ad, err := filepath.Abs(d)
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if rel, err := filepath.Rel(ad, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return usagef("report: --out %s is inside the session folder %s: sessions are kept as recorded; write the report elsewhere", out, d)
		}
	}
	if st, err := os.Stat(filepath.Dir(abs)); err != nil || !st.IsDir() {
		return usagef("report: --out %s: the folder %s does not exist", out, filepath.Dir(out))
	}
	if st, err := os.Lstat(out); err == nil {
		if st.IsDir() {
			return usagef("report: --out %s is a folder; name the .html file to write", out)
		}
		if !force {
			return usagef("report: --out %s already exists; choose another name, or --force to overwrite it", out)
		}
	}
	return nil
}

// writeReport writes the file whole or not at all: into a temporary file
// beside it, renamed over it at the end. Without --force the final step
// refuses to replace a file that appeared meanwhile.
func writeReport(out string, force bool, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".report-*.html.tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if force {
		if err := os.Rename(tmp.Name(), out); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		return nil
	}
	if err := os.Link(tmp.Name(), out); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return usagef("report: --out %s already exists; choose another name, or --force to overwrite it", out)
		}
		// A file system without hard links: rename, having checked above.
		if _, serr := os.Lstat(out); serr == nil {
			return usagef("report: --out %s already exists; choose another name, or --force to overwrite it", out)
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	return nil
}

// progress is a bar on stderr for reports slow enough to wait for; in a
// pipe, a test or for a short session there is none.
type progress struct {
	bar     *progressbar.ProgressBar
	started bool
}

func newProgress(stderr io.Writer, bytes int64, steps int) *progress {
	f, ok := stderr.(*os.File)
	if !ok || bytes < progressBytes || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions(steps, progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("report"), progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetPredictTime(false))}
}

// next marks the previous stage done and names the one starting.
func (p *progress) next(what string) {
	if p.bar == nil {
		return
	}
	if p.started {
		p.bar.Add(1)
	}
	p.started = true
	p.bar.Describe(what)
}

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

// endWindow is the end of a step, for habituation within it, seconds.
const endWindow = 3.0

// buildSession computes a session's report. The analysis (nil when the
// session measured nothing it can read) feeds the across-session table.
func buildSession(s *record.Session, cfg offline.Config, set report.Settings) (report.Session, *SessionAnalysis, error) {
	end := sessionEnd(s)
	rs := report.Session{
		Dir: s.Dir, Title: s.Meta.Title, Substance: s.Meta.Substance, Software: s.Meta.Software,
		Start: s.Meta.Start, Duration: end, Complete: s.Complete, Notes: s.Notes, RecordingError: s.Error,
		Devices: s.Streams, Steps: []report.Presentation{}, Cues: []report.Presentation{},
		Repeats: []report.Habituation{}, Log: []report.LogEntry{}, Manifest: []report.Cue{},
		Series: &report.Series{},
	}
	if !s.End.IsZero() {
		e := s.End
		rs.End = &e
	}
	if len(rs.Devices) == 0 {
		rs.Devices = s.Meta.Streams
	}
	if s.Recovered != nil {
		rs.Recovered = s.Recovered.Note
	}
	if p, ok := s.Meta.Extra["protocol_file"].(string); ok {
		rs.ProtocolFile = p
	}
	if s.Meta.Manifest != nil {
		if err := s.Meta.DecodeManifest(&rs.Manifest); err != nil {
			rs.Notes = append(rs.Notes, fmt.Sprintf("the cue manifest in %s could not be read (%v)", record.MetaFile, err))
			rs.Manifest = []report.Cue{}
		}
	}
	for _, e := range s.Events {
		if e.Kind == bus.SessionEnd {
			rs.EndReason = str(e.Data["reason"])
		}
	}
	steps, cues := presentations(s.Events, end)
	paused := pauses(s.Events, end)

	sig, err := layoutSignals(s)
	var a *SessionAnalysis
	if err != nil {
		rs.Measured.Note = err.Error() + ": heart rate and skin conductance are not measured"
	} else {
		a = &SessionAnalysis{Dir: s.Dir, Title: s.Meta.Title, Start: s.Meta.Start.Format("2006-01-02 15:04")}
		if err := analyzeSignals(a, s, sig, steps, cues, cfg); err != nil {
			return rs, nil, err
		}
	}
	m := newMeasures(s, sig, a, set)
	rs.Measured = m.measured(rs.Measured)
	rs.Series = m.series()
	for _, e := range s.Events {
		if e.Kind == bus.PatientStop {
			rs.Series.Stops = append(rs.Series.Stops, e.T.Seconds())
		}
	}

	// The baseline step: the resting level every step is compared with.
	for _, st := range steps {
		if st.id == "baseline" {
			rs.Baseline = &report.Baseline{From: st.on, To: st.off, HR: m.hrMean(st.on, st.off), SCL: m.sclMean(st.on, st.off)}
			break
		}
	}

	ratings := ratingsByStep(s.Events)
	repeat := map[string]int{}
	for i, st := range steps {
		repeat[st.id]++
		p := report.Presentation{
			N: i + 1, ID: st.id, Step: st.id, Name: str(st.start["name"]), Repeat: repeat[st.id],
			Onset: st.on, End: st.off, Exposure: st.off - st.on - overlap(paused, st.on, st.off), EndReason: st.endReason,
			Ratings: ratings[i],
		}
		if v, ok := st.start["intensity"].(float64); ok {
			p.Intensity = int(v)
		}
		p.Neutral, _ = st.start["neutral"].(bool)
		m.onsetLocked(&p, a.stepsOrNil(), sig)
		if b := rs.Baseline; b != nil {
			p.HRLevel = levelOf(b.HR, m.hrMean(st.on, st.off))
			p.SCLLevel = levelOf(b.SCL, m.sclMean(st.on, st.off))
		}
		if !p.Neutral {
			p.Within = m.within(st.on, st.off)
			rs.Exposure += p.Exposure
		}
		rs.Steps = append(rs.Steps, p)
	}
	repeat = map[string]int{}
	for i, c := range cues {
		repeat[c.id]++
		p := report.Presentation{N: i + 1, ID: c.id, Modality: c.modality, Repeat: repeat[c.id],
			Onset: c.on, End: c.off, Exposure: c.off - c.on - overlap(paused, c.on, c.off)}
		if k := c.step; k >= 0 {
			p.Step = steps[k].id
			p.Intensity, p.Neutral = rs.Steps[k].Intensity, rs.Steps[k].Neutral
		}
		m.onsetLocked(&p, a.cuesOrNil(), sig)
		rs.Cues = append(rs.Cues, p)
	}
	if a != nil {
		for _, h := range a.Steps.Repeats {
			rs.Repeats = append(rs.Repeats, report.Habituation{Kind: "step", Habituation: h})
		}
		for _, h := range a.Cues.Repeats {
			rs.Repeats = append(rs.Repeats, report.Habituation{Kind: "cue", Habituation: h})
		}
	}
	rs.Log = sessionLog(s.Events)
	return rs, a, nil
}

func (a *SessionAnalysis) stepsOrNil() *offline.Report {
	if a == nil {
		return nil
	}
	return a.Steps
}

func (a *SessionAnalysis) cuesOrNil() *offline.Report {
	if a == nil {
		return nil
	}
	return a.Cues
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func levelOf(base, during *float64) *report.Level {
	if base == nil || during == nil {
		return nil
	}
	return &report.Level{Baseline: *base, During: *during, Delta: *during - *base}
}

// pauses are the spans the cues were off while the step's clock stood
// still (a pause, or the calm scene after a patient stop or panic) until
// resumed, moved on from, or the end, on the session clock.
func pauses(events []bus.Event, end float64) [][2]float64 {
	var out [][2]float64
	from := math.NaN()
	stop := func(t float64) {
		if !math.IsNaN(from) {
			out = append(out, [2]float64{from, max(t, from)})
			from = math.NaN()
		}
	}
	for _, e := range events {
		t := e.T.Seconds()
		switch {
		case e.Kind == bus.PatientStop, e.Kind == bus.Command && (e.Data["cmd"] == "pause" || e.Data["cmd"] == "panic"):
			if math.IsNaN(from) {
				from = t
			}
		case e.Kind == bus.Command && e.Data["cmd"] == "resume", e.Kind == bus.StepStart, e.Kind == bus.SessionEnd:
			stop(t)
		}
	}
	stop(end)
	return out
}

func overlap(spans [][2]float64, from, to float64) float64 {
	total := 0.0
	for _, s := range spans {
		total += max(0, min(s[1], to)-max(s[0], from))
	}
	return total
}

// ratingsByStep lists every rating prompt's outcome by step presentation
// (indexed as presentations lists them).
func ratingsByStep(events []bus.Event) map[int][]report.Rating {
	out := map[int][]report.Rating{}
	cur := -1
	for _, e := range events {
		switch e.Kind {
		case bus.StepStart:
			cur++
		case bus.Rating:
			if cur < 0 {
				continue
			}
			r := report.Rating{Scale: str(e.Data["scale"]), T: e.T.Seconds(), By: str(e.Data["by"])}
			if v, ok := e.Data["value"].(float64); ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
				r.Value = &v
			}
			out[cur] = append(out[cur], r)
		}
	}
	return out
}

// sessionLog keeps what a clinician reviewing the session needs to see:
// stops, commands, markers, alerts and sensor gaps.
func sessionLog(events []bus.Event) []report.LogEntry {
	out := []report.LogEntry{}
	for _, e := range events {
		var text string
		switch e.Kind {
		case bus.PatientStop:
			text = "the patient stopped the exposure"
			if by := str(e.Data["by"]); by != "" {
				text += " (" + by + ")"
			}
		case bus.Command:
			cmd := str(e.Data["cmd"])
			if cmd == "rate" {
				cmd = "asked for a " + str(e.Data["scale"]) + " rating"
			}
			text = cmd
			if by := str(e.Data["by"]); by != "" {
				text += " — by " + by
			}
		case bus.Marker:
			text = str(e.Data["text"])
			if by := str(e.Data["by"]); by != "" {
				text += " — by " + by
			}
		case bus.Alert:
			text = str(e.Data["message"])
		case bus.Gap:
			text = str(e.Data["message"])
			from, ok1 := e.Data["gap_start"].(float64)
			to, ok2 := e.Data["gap_end"].(float64)
			if ok1 && ok2 {
				text = fmt.Sprintf("%s: no data from %s to %s (%.1f s)", str(e.Data["device"]), report.Clock(from), report.Clock(to), to-from)
			}
		default:
			continue
		}
		out = append(out, report.LogEntry{T: e.T.Seconds(), Kind: strings.ReplaceAll(e.Kind, "_", " "), Text: text})
	}
	return out
}

// measures reads a session's signals for the report: levels over spans,
// peaks within steps, and the series the plots draw.
type measures struct {
	sig     *signals
	a       *SessionAnalysis
	set     report.Settings
	hr      []offline.HRPoint // session clock
	hrFrom  string            // ECG or PPG
	eda     []float64         // nil when not measured
	arousal []report.Point
	hasAr   bool
}

func newMeasures(s *record.Session, sig *signals, a *SessionAnalysis, set report.Settings) *measures {
	m := &measures{sig: sig, a: a, set: set}
	if sig != nil && a != nil && a.Steps != nil {
		r := a.Steps
		var h *offline.Heart
		switch {
		case r.ECG != nil && r.Settings.HRSource == r.ECG.Column:
			h, m.hrFrom = r.ECG, "ECG"
		case r.PPG != nil && r.Settings.HRSource == r.PPG.Column:
			h, m.hrFrom = r.PPG, "PPG"
		}
		if h != nil {
			for _, p := range h.HR {
				p.T = sig.time(p.T)
				m.hr = append(m.hr, p)
			}
		}
		m.eda = sig.in.EDA
	}
	// The live arousal index, as the therapist saw it.
	for _, st := range s.Streams {
		if st.Kind != "derived" {
			continue
		}
		for i, c := range st.Channels {
			if c.Label != "arousal" {
				continue
			}
			for _, smp := range s.Samples[st.Device] {
				v := math.NaN()
				if i < smp.N {
					v = smp.Values[i]
				}
				m.arousal = append(m.arousal, report.Point{T: smp.T.Seconds(), V: v})
				m.hasAr = m.hasAr || finite(v)
			}
		}
	}
	return m
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (m *measures) measured(base report.Measured) report.Measured {
	out := base
	out.Arousal = m.hasAr
	if m.sig == nil {
		return out
	}
	out.Device = m.sig.devices()
	out.GapSamples = m.sig.gaps
	in := m.sig.in
	if m.hrFrom != "" {
		col := in.ECGName
		if m.hrFrom == "PPG" {
			col = in.PPGName
		}
		v := fmt.Sprintf("%s (%s %s)", m.hrFrom, m.sig.stream.Device, col)
		out.HR = &v
		if len(m.hr) == 0 {
			out.Note = strings.TrimPrefix(out.Note+"; no usable heartbeats were found", "; ")
		}
	}
	if m.eda != nil {
		v := fmt.Sprintf("EDA (%s %s)", m.sig.edaDevice(), in.EDAName)
		out.SCL = &v
		if m.a != nil && m.a.Steps != nil && m.a.Steps.EDA != nil {
			out.SCRThreshold = m.a.Steps.EDA.Threshold
		}
	}
	return out
}

// hrMean is the time-weighted mean heart rate over [from, to] (session
// seconds), each accepted interval counted for its part inside; nil when
// intervals cover less than half the span.
func (m *measures) hrMean(from, to float64) *float64 {
	if len(m.hr) == 0 || !(to > from) {
		return nil
	}
	cover, sum := 0.0, 0.0
	for _, p := range m.hr {
		a, b := p.T-60/p.BPM, p.T
		if b <= from {
			continue
		}
		if a >= to {
			break
		}
		d := min(b, to) - max(a, from)
		cover += d
		sum += d * p.BPM
	}
	if cover < 0.5*(to-from) || cover == 0 {
		return nil
	}
	v := sum / cover
	return &v
}

// span is the sample range of [from, to) on the session clock, clipped.
func (m *measures) span(from, to float64) (int, int) {
	n := len(m.eda)
	i0 := int(max(0, min(int64(n), m.sig.index(from))))
	i1 := int(max(0, min(int64(n), m.sig.index(to))))
	return i0, i1
}

// sclMean is the mean skin conductance over [from, to); nil with fewer
// than half the samples valid.
func (m *measures) sclMean(from, to float64) *float64 {
	if m.eda == nil {
		return nil
	}
	i0, i1 := m.span(from, to)
	sum, n := 0.0, 0
	for _, v := range m.eda[i0:i1] {
		if finite(v) {
			sum += v
			n++
		}
	}
	want := (to - from) * m.sig.in.Rate
	if n == 0 || float64(n) < 0.5*want {
		return nil
	}
	v := sum / float64(n)
	return &v
}

// onsetLocked copies the offline analysis of p's onset (3 s before vs 4 s
// after, SCRs 1–4 s) into p.
func (m *measures) onsetLocked(p *report.Presentation, r *offline.Report, sig *signals) {
	if r == nil || sig == nil {
		return
	}
	idx := sig.index(p.Onset)
	for i := range r.Events {
		e := &r.Events[i]
		if e.Index != idx || e.Label != p.ID {
			continue
		}
		p.HR, p.SCL = e.HR, e.SC
		if r.EDA != nil {
			scr := e.SCR
			p.SCR = &scr
		}
		return
	}
}

// within measures habituation inside one step: skin conductance from its
// level before onset to its peak (highest 1-s mean) and to the step's end,
// and the live arousal index's peak and end.
func (m *measures) within(from, to float64) *report.Within {
	w := &report.Within{}
	tail := min(m.set.EndWindow, (to-from)/2)
	if m.eda != nil && to > from {
		w.SCLOnset = m.sclMean(from-m.set.Baseline, from)
		w.SCLEnd = m.sclMean(to-tail, to)
		// Rolling 1-s mean over [i−win+1, i]; a step shorter than that is
		// one window.
		i0, i1 := m.span(from, to)
		win := min(max(1, int(m.sig.in.Rate)), i1-i0)
		best, at := math.Inf(-1), -1
		sum, n := 0.0, 0
		for i := i0; i < i1; i++ {
			if v := m.eda[i]; finite(v) {
				sum, n = sum+v, n+1
			}
			if j := i - win; j >= i0 && finite(m.eda[j]) {
				sum, n = sum-m.eda[j], n-1
			}
			if i-i0+1 >= win && 2*n >= win && sum/float64(n) > best {
				best, at = sum/float64(n), i-(win-1)/2
			}
		}
		if at >= 0 {
			peakAt := float64(at-i0) / m.sig.in.Rate
			w.SCLPeak, w.SCLPeakAt = &best, &peakAt
			if w.SCLOnset != nil && w.SCLEnd != nil && best-*w.SCLOnset >= 0.05 {
				f := (best - *w.SCLEnd) / (best - *w.SCLOnset)
				w.SCLRecovered = &f
			}
		}
	}
	if m.hasAr {
		best, at := math.Inf(-1), math.NaN()
		sum, n := 0.0, 0
		for _, p := range m.arousal {
			if p.T < from || p.T > to || !finite(p.V) {
				continue
			}
			if p.V > best {
				best, at = p.V, p.T-from
			}
			if p.T >= to-tail {
				sum, n = sum+p.V, n+1
			}
		}
		if !math.IsNaN(at) {
			w.ArousalPeak, w.ArousalAt = &best, &at
		}
		if n > 0 {
			v := sum / float64(n)
			w.ArousalEnd = &v
		}
	}
	return w
}

// maxPoints bounds a plotted series: more would not show at page width
// and would only make the file heavy.
const maxPoints = 3000

// series are the signals for the plots, averaged into bins of at least a
// quarter second (longer for long sessions).
func (m *measures) series() *report.Series {
	out := &report.Series{}
	if m.sig == nil {
		return out
	}
	dur := float64(len(m.eda)) / m.sig.in.Rate
	if m.eda == nil {
		dur = 0
	}
	width := max(0.25, dur/maxPoints)
	if m.eda != nil {
		n := max(1, int(math.Round(width*m.sig.in.Rate)))
		for i := 0; i < len(m.eda); i += n {
			sum, k := 0.0, 0
			for _, v := range m.eda[i:min(i+n, len(m.eda))] {
				if finite(v) {
					sum, k = sum+v, k+1
				}
			}
			v := math.NaN()
			if k > 0 && k*2 >= min(n, len(m.eda)-i) {
				v = sum / float64(k)
			}
			out.SCL = append(out.SCL, report.Point{T: m.sig.time((float64(i) + float64(n)/2) / m.sig.in.Rate), V: v})
		}
		if m.a != nil && m.a.Steps != nil && m.a.Steps.EDA != nil {
			for _, c := range m.a.Steps.EDA.SCRs {
				out.SCRs = append(out.SCRs, report.Point{T: m.sig.time(c.PeakS), V: c.Amplitude})
			}
		}
	}
	for _, p := range m.hr {
		out.HR = append(out.HR, report.Point{T: p.T, V: p.BPM})
	}
	out.HR = thin(out.HR, maxPoints)
	out.Arousal = thin(m.arousal, maxPoints)
	return out
}

// thin averages consecutive points so at most n remain; NaN points stay
// NaN so gaps still break the lines.
func thin(pts []report.Point, n int) []report.Point {
	if len(pts) <= n {
		return pts
	}
	k := (len(pts) + n - 1) / n
	out := make([]report.Point, 0, n)
	for i := 0; i < len(pts); i += k {
		g := pts[i:min(i+k, len(pts))]
		st, sv, c := 0.0, 0.0, 0
		for _, p := range g {
			if finite(p.V) {
				st, sv, c = st+p.T, sv+p.V, c+1
			}
		}
		if c == 0 {
			out = append(out, report.Point{T: g[0].T, V: math.NaN()})
			continue
		}
		out = append(out, report.Point{T: st / float64(c), V: sv / float64(c)})
	}
	return out
}

package export

import (
	"bufio"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cueroom/cueroom/event"
)

// eventCols are the _events.tsv columns before the extra manifest ones;
// eventTail come after them.
var (
	eventCols = []string{"onset", "duration", "trial_type", "stim_file", "cue_id", "cue_file", "channel",
		"modality", "substance", "intensity", "neutral", "personalised", "sha256", "description",
		"cue_text", "fit", "loop", "gain_db", "fade_in_s", "fade_out_s"}
	eventTail = []string{"step", "step_id", "step_name", "value", "response_time", "rating_scale",
		"text", "by", "reason", "data"}
	// manifestCol maps manifest keys to their column; the others that are
	// not shown elsewhere become manifest_<key>.
	manifestCol = map[string]string{
		"id": "cue_id", "file": "cue_file", "text": "cue_text", "modality": "modality",
		"substance": "substance", "intensity": "intensity", "neutral": "neutral",
		"personalised": "personalised", "sha256": "sha256", "description": "description",
		"fit": "fit", "loop": "loop", "gain_db": "gain_db", "fade_in_s": "fade_in_s",
		"fade_out_s": "fade_out_s", "step": "step_id", "step_name": "step_name",
		"duration_s": "manifest_duration_s",
	}
)

var eventDescriptions = map[string]obj{
	"onset":         {{"Description", "Seconds since the session started (the session clock)."}, {"Units", "s"}},
	"duration":      {{"Description", "Seconds from onset to the matching end (cue offset, step end, session end); 0 for instantaneous events; n/a when the end was not recorded."}, {"Units", "s"}},
	"trial_type":    {{"Description", "What happened."}, {"Levels", trialLevels()}},
	"stim_file":     {{"Description", "The cue file, relative to stimuli/; n/a when it was not copied (see README)."}},
	"cue_id":        {{"Description", "The cue's id in the protocol (step.cN)."}},
	"cue_file":      {{"Description", "The cue file's path relative to the protocol's folder, as run."}},
	"channel":       {{"Description", "Where the cue was presented."}, {"Levels", obj{{"visual", "the patient window (the frame that first showed it)"}, {"audio", "the sound output (its first sample)"}}}},
	"modality":      {{"Description", "The cue's kind: image, video, panorama, sound, narration, text..."}},
	"substance":     {{"Description", "The substance the protocol's cues relate to."}},
	"intensity":     {{"Description", "The step's planned intensity in the exposure hierarchy (0 = neutral)."}},
	"neutral":       {{"Description", "Whether the step is a neutral (baseline or recovery) step."}},
	"personalised":  {{"Description", "Whether the cue was made for this patient."}},
	"sha256":        {{"Description", "SHA-256 of the cue file as played."}},
	"description":   {{"Description", "The protocol's description of the cue."}},
	"cue_text":      {{"Description", "The cue's text (text cues) or subtitles (narration)."}},
	"fit":           {{"Description", "How an image or video was fitted to the window."}},
	"loop":          {{"Description", "Whether the sound or video looped."}},
	"gain_db":       {{"Description", "Sound gain."}, {"Units", "dB"}},
	"fade_in_s":     {{"Description", "Sound fade-in."}, {"Units", "s"}},
	"fade_out_s":    {{"Description", "Sound fade-out."}, {"Units", "s"}},
	"step":          {{"Description", "Index of the protocol step (0 = baseline); n/a outside steps."}},
	"step_id":       {{"Description", "The step's id in the protocol."}},
	"step_name":     {{"Description", "The step's name."}},
	"value":         {{"Description", "The rating given (0-100 on the step's scale; n/a if unanswered), or a skin conductance response's amplitude (uS)."}},
	"response_time": {{"Description", "Seconds from the rating prompt to the answer."}, {"Units", "s"}},
	"rating_scale":  {{"Description", "The rating scale asked (craving, anxiety...)."}},
	"text":          {{"Description", "A marker's text, a rating prompt's question, a command, an alert's or gap's message, or the channel of a skin conductance response."}},
	"by":            {{"Description", "Who acted: therapist, patient or the system."}},
	"reason":        {{"Description", "Why a step or the session ended, or why a rating has no value."}},
	"data":          {{"Description", "Every field the session recorded for the event, as JSON."}},
}

// bidsKinds says, for every event kind, the trial_type level its rows take
// in _events.tsv and what the level means, in the order the sidecar lists
// them. A kind without a level of its own closes the row another kind
// opened (a step_end closes its step; alone, it keeps its kind). about ""
// takes the event package's description. A kind missing here is still
// exported, listed under its own name with event.Describe, and
// TestEveryKindIsExported names it until it is added.
var bidsKinds = []struct {
	kind  event.Kind
	level string
	about string
}{
	{event.KindSessionStart, "session", "the whole session, start to end"},
	{event.KindSessionEnd, "", ""}, // closes the session
	{event.KindStepStart, "step", "a protocol step, start to end"},
	{event.KindStepEnd, "", ""}, // closes its step
	{event.KindCueOnset, "cue", "a cue presentation, onset to offset"},
	{event.KindCueOffset, "cue_offset", "a cue offset whose onset was not recorded"},
	{event.KindRatingPrompt, "rating_prompt", "the patient was asked for a rating"},
	{event.KindRating, "rating", "the patient's rating, or a prompt left unanswered"},
	{event.KindMarker, "marker", "a therapist's marker or note"},
	{event.KindCommand, "command", "a therapist's command (pause, resume, next, calm, end...)"},
	{event.KindPatientStop, "patient_stop", "the patient asked to stop"},
	{event.KindAlert, "alert", "an alert (sensor lost, disk full...)"},
	{event.KindGap, "gap", "a sensor's data was missing, from when it stopped to when it came back"},
	{event.KindSCR, "scr", "a skin conductance response from onset to peak; value is its amplitude in uS, text the channel"},
	{event.KindDevice, "device", "a device's status"},
	{event.KindBaseline, "baseline", ""},
	{event.KindQuality, "quality", ""},
	{event.KindLook, "look", "where the patient looked in a 360° scene from then on (data: cue, yaw_deg, pitch_deg)"},
	{event.KindReplaySeek, "", ""}, // published by a replay, never recorded
}

// trialLevels is the trial_type column's Levels: bidsKinds', then any kind
// it lacks.
func trialLevels() obj {
	var levels obj
	listed := map[event.Kind]bool{}
	for _, k := range bidsKinds {
		listed[k.kind] = true
		if k.level != "" {
			levels = append(levels, kv{k.level, firstNonEmpty(k.about, event.Describe(k.kind))})
		}
	}
	for _, k := range event.Kinds() {
		if !listed[k] {
			levels = append(levels, kv{string(k), event.Describe(k)})
		}
	}
	return levels
}

// evRow is one row of the events table, kept small (a long session has
// thousands): the event that opened it and what its end, if paired,
// changed. Its cells are filled from the event when the row is written.
type evRow struct {
	onset  time.Duration
	ev     int    // index of the event in the view
	dur    string // onset to the end that closed it; "" if none did
	reason string // the end's reason, if it gave one
}

// stepInfo is what step_start said about a step.
type stepInfo struct{ id, name, intensity, neutral string }

func (b *bidsWriter) events(stim map[string]bool) error {
	mcols, extra := b.v.manifestColumns()
	cols := append(append(append([]string(nil), eventCols...), extra...), eventTail...)
	rows := b.v.eventRows()
	steps := b.v.stepInfos()

	base := filepath.Join(b.beh, b.prefix+"_events")
	err := b.writeStream(base+".tsv", func(w *bufio.Writer) error {
		w.WriteString(strings.Join(cols, "\t"))
		w.WriteByte('\n')
		for _, r := range rows {
			vals := b.v.rowCells(r, steps, stim, mcols)
			for i, c := range cols {
				if i > 0 {
					w.WriteByte('\t')
				}
				val := vals[c]
				if val == "" {
					val = "n/a"
				}
				w.WriteString(val)
			}
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	keyOf := map[string]string{}
	for k, c := range mcols {
		keyOf[c] = k
	}
	var side obj
	for _, c := range cols {
		switch d, ok := eventDescriptions[c]; {
		case ok:
			side = append(side, kv{c, d})
		default:
			side = append(side, kv{c, obj{{"Description", "The cue manifest's field " + keyOf[c] + "."}}})
		}
	}
	return b.writeJSON(base+".json", side)
}

// manifestColumns maps every key of this manifest to its events column,
// and lists the manifest_<key> columns it needs (unique even if two keys
// differ only in characters a column name cannot hold).
func (v *view) manifestColumns() (map[string]string, []string) {
	cols := map[string]string{}
	var extra []string
	used := map[string]bool{}
	for _, c := range append(append([]string(nil), eventCols...), eventTail...) {
		used[c] = true
	}
	for _, k := range allManifestKeys(v.manifest) {
		if c, ok := manifestCol[k]; ok && k != "duration_s" {
			cols[k] = c
			continue
		}
		c := uniqueName("manifest_"+safeName(k, "field"), used)
		cols[k] = c
		extra = append(extra, c)
	}
	return cols, extra
}

// stepInfos is what each step's step_start said, by step index.
func (v *view) stepInfos() map[int]stepInfo {
	steps := map[int]stepInfo{}
	for _, e := range v.events {
		if d, ok := e.Data.(event.StepStart); ok {
			steps[e.Step] = stepInfo{d.ID, d.Name, strconv.Itoa(d.Intensity), strconv.FormatBool(d.Neutral)}
		}
	}
	return steps
}

// eventRows pairs onsets with offsets and starts with ends: every event is
// a row but an end that closes an open row. Rows are in onset order.
func (v *view) eventRows() []*evRow {
	var rows []*evRow
	openCue := map[string][]*evRow{}
	openStep := map[int]*evRow{}
	var openSession *evRow
	closeRow := func(r *evRow, e event.Event, reason string) {
		r.dur, r.reason = fmtMicros(e.T-r.onset), reason
	}
	cueKey := func(c event.Cue, e event.Event) string {
		return c.Cue + "\x00" + c.Channel + "\x00" + strconv.Itoa(e.Step)
	}
	for i, e := range v.events {
		switch d := e.Data.(type) {
		case event.CueOffset:
			key := cueKey(event.Cue(d), e)
			if q := openCue[key]; len(q) > 0 {
				closeRow(q[0], e, "")
				openCue[key] = q[1:]
				continue
			}
		case event.StepEnd:
			if s := openStep[e.Step]; s != nil {
				closeRow(s, e, d.Reason)
				delete(openStep, e.Step)
				continue
			}
		case event.SessionEnd:
			if openSession != nil {
				closeRow(openSession, e, d.Reason)
				openSession = nil
				continue
			}
		}
		r := &evRow{onset: e.T, ev: i}
		switch d := e.Data.(type) {
		case event.CueOnset:
			key := cueKey(event.Cue(d), e)
			openCue[key] = append(openCue[key], r)
		case event.StepStart:
			openStep[e.Step] = r
		case event.SessionStart:
			openSession = r
		case event.Gap:
			// Logged at reconnection; the row spans the missing data.
			r.onset = startOf(e.T, float64(d.Start))
		case event.SCR:
			// Logged at its peak; the row spans onset to peak.
			r.onset = startOf(e.T, float64(d.Onset))
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].onset < rows[j].onset })
	return rows
}

// startOf is a span's start in session seconds if usable, else at.
func startOf(at time.Duration, from float64) time.Duration {
	if t, ok := sessionTime(from); ok {
		return t
	}
	return at
}

// rowCells fills a row's cells from the event that opened it and the end
// that closed it.
func (v *view) rowCells(r *evRow, steps map[int]stepInfo, stim map[string]bool, mcols map[string]string) map[string]string {
	e := v.events[r.ev]
	vals := map[string]string{
		"onset": fmtMicros(e.T), "duration": "0", "trial_type": string(e.Kind()), "data": v.dataCell(r.ev),
	}
	if e.Step >= 0 {
		si := steps[e.Step]
		vals["step"] = strconv.Itoa(e.Step)
		vals["step_id"], vals["step_name"] = oneLine(si.id), oneLine(si.name)
	}
	v.fillRow(vals, e, steps, stim, mcols)
	if r.dur != "" {
		vals["duration"] = r.dur
		if r.reason != "" {
			vals["reason"] = oneLine(r.reason)
		}
	}
	return vals
}

// fillRow fills the cells an event of its kind has; known is false for a
// kind this version does not know.
func (v *view) fillRow(vals map[string]string, e event.Event, steps map[int]stepInfo, stim map[string]bool, mcols map[string]string) (known bool) {
	switch d := e.Data.(type) {
	case event.CueOnset:
		v.cueFields(vals, event.Cue(d), stim, mcols)
		vals["trial_type"], vals["duration"] = "cue", ""
	case event.CueOffset: // one whose onset was not recorded
		v.cueFields(vals, event.Cue(d), stim, mcols)
	case event.StepStart:
		si := steps[e.Step]
		vals["trial_type"], vals["duration"] = "step", ""
		vals["intensity"], vals["neutral"] = si.intensity, si.neutral
		vals["substance"] = oneLine(v.meta.Substance)
	case event.StepEnd: // one whose start was not recorded
		vals["reason"] = oneLine(d.Reason)
	case event.SessionStart:
		vals["trial_type"], vals["duration"] = "session", ""
		vals["substance"] = oneLine(v.meta.Substance)
	case event.SessionEnd:
		vals["reason"] = oneLine(d.Reason)
	case event.Rating:
		vals["rating_scale"], vals["by"] = oneLine(d.Scale), oneLine(d.By)
		if !d.Answered {
			vals["reason"] = "unanswered"
		} else {
			if d.Value != nil {
				vals["value"] = strconv.Itoa(*d.Value)
			}
			if pt, ok := sessionTime(float64(d.PromptT)); ok {
				vals["response_time"] = fmtMicros(e.T - pt)
			}
		}
	case event.RatingPrompt:
		vals["rating_scale"], vals["text"] = oneLine(d.Scale), oneLine(d.Question)
	case event.Marker:
		vals["text"], vals["by"] = oneLine(d.Text), oneLine(d.By)
	case event.Gap:
		span(vals, float64(d.Start), float64(d.End))
		vals["text"], vals["reason"] = oneLine(d.Message), oneLine(d.Reason)
	case event.SCR:
		span(vals, float64(d.Onset), float64(d.Peak))
		vals["value"], vals["text"] = cell(d.Amplitude), oneLine(d.Source)
	case event.Command:
		vals["text"], vals["by"] = oneLine(d.Cmd), oneLine(d.By)
	case event.PatientStop:
		vals["text"], vals["by"] = oneLine(d.Cmd), oneLine(d.By)
	case event.Alert:
		vals["text"] = oneLine(d.Message)
	case event.Look, event.Baseline, event.Quality, event.DeviceInfo, event.ReplaySeek:
		// Their fields are in the data column.
	default:
		// A kind from a newer version: its message or text, by name.
		vals["text"] = cell(firstOf(event.Fields(e.Data), "message", "text", "msg"))
		return false
	}
	return true
}

// span starts a row at from (session seconds) and makes it last to to,
// where the times are usable.
func span(vals map[string]string, from, to float64) {
	start, ok := sessionTime(from)
	if !ok {
		return
	}
	vals["onset"] = fmtMicros(start)
	if end, ok := sessionTime(to); ok && end >= start {
		vals["duration"] = fmtMicros(end - start)
	}
}

// sessionTime reads seconds on the session clock from event data.
func sessionTime(f float64) (time.Duration, bool) {
	if math.IsNaN(f) || math.Abs(f) > 1e9 { // beyond 30 years: damaged
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Second))), true
}

// cueFields fills a cue row from its event and the manifest.
func (v *view) cueFields(vals map[string]string, c event.Cue, stim map[string]bool, mcols map[string]string) {
	vals["cue_id"] = oneLine(c.Cue)
	vals["channel"] = oneLine(c.Channel)
	vals["modality"] = oneLine(c.Modality)
	vals["cue_file"] = oneLine(c.File)
	if m := v.cues[c.Cue]; m != nil {
		for k, val := range m {
			if col := mcols[k]; col != "step_id" && col != "step_name" {
				vals[col] = cell(val)
			}
		}
	}
	if f := vals["cue_file"]; stim[f] {
		vals["stim_file"] = f
	}
}

package export

import (
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cueroom/cueroom/engine/bus"
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
	"trial_type":    {{"Description", "What happened."}, {"Levels", trialLevels}},
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

var trialLevels = obj{
	{"session", "the whole session, start to end"},
	{"step", "a protocol step, start to end"},
	{"cue", "a cue presentation, onset to offset"},
	{"cue_offset", "a cue offset whose onset was not recorded"},
	{"rating_prompt", "the patient was asked for a rating"},
	{"rating", "the patient's rating, or a prompt left unanswered"},
	{"marker", "a therapist's marker or note"},
	{"command", "a therapist's command (pause, resume, next, calm, end...)"},
	{"patient_stop", "the patient asked to stop"},
	{"alert", "an alert (sensor lost, disk full...)"},
	{"gap", "a sensor's data was missing, from when it stopped to when it came back"},
	{"scr", "a skin conductance response from onset to peak; value is its amplitude in uS, text the channel"},
	{"device", "a device's status"},
	{"baseline", "the baseline period the live arousal index is measured against (data: from, to in seconds)"},
	{"quality", "a sensor signal's quality changed (data: device, channel, flags; no flags = good)"},
	{"look", "where the patient looked in a 360° scene from then on (data: cue, yaw_deg, pitch_deg)"},
}

// evRow is one row of the events table.
type evRow struct {
	onset time.Duration
	vals  map[string]string
}

// stepInfo is what step_start said about a step.
type stepInfo struct{ id, name, intensity, neutral string }

func (b *bidsWriter) events(stim map[string]bool) error {
	mcols, extra := b.v.manifestColumns()
	cols := append(append(append([]string(nil), eventCols...), extra...), eventTail...)
	rows := b.v.eventRows(stim, mcols)

	var t strings.Builder
	t.WriteString(strings.Join(cols, "\t"))
	t.WriteByte('\n')
	for _, r := range rows {
		for i, c := range cols {
			if i > 0 {
				t.WriteByte('\t')
			}
			val := r.vals[c]
			if val == "" {
				val = "n/a"
			}
			t.WriteString(val)
		}
		t.WriteByte('\n')
	}
	base := filepath.Join(b.beh, b.prefix+"_events")
	if err := b.writeNew(base+".tsv", []byte(t.String())); err != nil {
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

// eventRows pairs onsets with offsets and starts with ends, and gives
// every row its step and cue fields; rows are in onset order.
func (v *view) eventRows(stim map[string]bool, mcols map[string]string) []*evRow {
	steps := map[int]stepInfo{}
	for _, e := range v.events {
		if e.Kind == bus.StepStart {
			steps[e.Step] = stepInfo{str(e.Data, "id"), str(e.Data, "name"), cell(e.Data["intensity"]), cell(e.Data["neutral"])}
		}
	}
	var rows []*evRow
	openCue := map[string][]*evRow{}
	openStep := map[int]*evRow{}
	var openSession *evRow
	closeRow := func(r *evRow, e bus.Event) {
		r.vals["duration"] = fmtMicros(e.T - r.onset)
		if reason := str(e.Data, "reason"); reason != "" {
			r.vals["reason"] = oneLine(reason)
		}
	}
	for _, e := range v.events {
		r := &evRow{onset: e.T, vals: map[string]string{
			"onset": fmtMicros(e.T), "duration": "0", "trial_type": e.Kind, "data": cell(e.Data),
		}}
		if e.Step >= 0 {
			si := steps[e.Step]
			r.vals["step"] = strconv.Itoa(e.Step)
			r.vals["step_id"], r.vals["step_name"] = oneLine(si.id), oneLine(si.name)
		}
		switch e.Kind {
		case bus.CueOnset, bus.CueOffset:
			key := str(e.Data, "cue") + "\x00" + str(e.Data, "channel") + "\x00" + strconv.Itoa(e.Step)
			if e.Kind == bus.CueOffset {
				if q := openCue[key]; len(q) > 0 {
					closeRow(q[0], e)
					openCue[key] = q[1:]
					continue
				}
			}
			v.cueFields(r, e, stim, mcols)
			if e.Kind == bus.CueOnset {
				r.vals["trial_type"] = "cue"
				r.vals["duration"] = ""
				openCue[key] = append(openCue[key], r)
			}
		case bus.StepStart:
			si := steps[e.Step]
			r.vals["trial_type"], r.vals["duration"] = "step", ""
			r.vals["intensity"], r.vals["neutral"] = si.intensity, si.neutral
			r.vals["substance"] = oneLine(v.s.Meta.Substance)
			openStep[e.Step] = r
		case bus.StepEnd:
			if s := openStep[e.Step]; s != nil {
				closeRow(s, e)
				delete(openStep, e.Step)
				continue
			}
			r.vals["reason"] = cell(e.Data["reason"])
		case bus.SessionStart:
			r.vals["trial_type"], r.vals["duration"] = "session", ""
			r.vals["substance"] = oneLine(v.s.Meta.Substance)
			openSession = r
		case bus.SessionEnd:
			if openSession != nil {
				closeRow(openSession, e)
				openSession = nil
				continue
			}
			r.vals["reason"] = cell(e.Data["reason"])
		case bus.Rating:
			r.vals["rating_scale"] = cell(e.Data["scale"])
			r.vals["by"] = cell(e.Data["by"])
			if e.Data["answered"] == false {
				r.vals["reason"] = "unanswered"
			} else {
				r.vals["value"] = cell(e.Data["value"])
				if pt, ok := sessionTime(e.Data["prompt_t"]); ok {
					r.vals["response_time"] = fmtMicros(e.T - pt)
				}
			}
		case bus.RatingPrompt:
			r.vals["rating_scale"] = cell(e.Data["scale"])
			r.vals["text"] = cell(e.Data["question"])
		case bus.Marker:
			r.vals["text"], r.vals["by"] = cell(e.Data["text"]), cell(e.Data["by"])
		case bus.Gap:
			// Logged at reconnection; the row spans the missing data.
			if from, ok := sessionTime(e.Data["gap_start"]); ok {
				r.at(from)
				if to, ok := sessionTime(e.Data["gap_end"]); ok && to >= from {
					r.vals["duration"] = fmtMicros(to - from)
				}
			}
			r.vals["text"], r.vals["reason"] = cell(e.Data["message"]), cell(e.Data["reason"])
		case bus.SCR:
			// Logged at its peak; the row spans onset to peak.
			if from, ok := sessionTime(e.Data["onset"]); ok {
				r.at(from)
				if peak, ok := sessionTime(e.Data["peak"]); ok && peak >= from {
					r.vals["duration"] = fmtMicros(peak - from)
				}
			}
			r.vals["value"], r.vals["text"] = cell(e.Data["amplitude"]), cell(e.Data["source"])
		case bus.Command, bus.PatientStop:
			r.vals["text"], r.vals["by"] = cell(e.Data["cmd"]), cell(e.Data["by"])
		default:
			r.vals["text"] = cell(firstOf(e.Data, "message", "text", "msg"))
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].onset < rows[j].onset })
	return rows
}

// at moves a row's onset.
func (r *evRow) at(t time.Duration) {
	r.onset = t
	r.vals["onset"] = fmtMicros(t)
}

// sessionTime reads seconds on the session clock from event data.
func sessionTime(v any) (time.Duration, bool) {
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || math.Abs(f) > 1e9 { // beyond 30 years: damaged
		return 0, false
	}
	return time.Duration(math.Round(f * float64(time.Second))), true
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

// cueFields fills a cue row from its event and the manifest.
func (v *view) cueFields(r *evRow, e bus.Event, stim map[string]bool, mcols map[string]string) {
	id := str(e.Data, "cue")
	r.vals["cue_id"] = oneLine(id)
	r.vals["channel"] = cell(e.Data["channel"])
	r.vals["modality"] = cell(e.Data["modality"])
	r.vals["cue_file"] = cell(e.Data["file"])
	if c := v.cues[id]; c != nil {
		for k, val := range c {
			if col := mcols[k]; col != "step_id" && col != "step_name" {
				r.vals[col] = cell(val)
			}
		}
	}
	if f := r.vals["cue_file"]; stim[f] {
		r.vals["stim_file"] = f
	}
}

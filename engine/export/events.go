package export

import (
	"encoding/json"
	"strconv"

	"github.com/cueroom/cueroom/event"
)

// Events in the exports. Every format shows an event's data whole (the XDF
// marker, the CSV and BIDS "data" column) and picks some of its fields into
// columns of their own. The picking is a type switch over the event
// package's payloads (csvColumns here, bidsRow in bids_events.go); a kind
// they do not name falls to the by-name lookup kept for kinds from a newer
// version, and TestEveryKindIsExported walks event.Kinds() to name any kind
// a switch or the BIDS levels table (bidsKinds) has not learnt.

// dataRaw returns event i's data object as JSON, for the places that show
// it whole: as data.rec holds it when that is known — every field the
// session recorded, also those of a newer version that the typed payload
// does not carry — else as its payload encodes. nil means the event had
// no data; ok is false for a payload that does not encode.
func (v *view) dataRaw(i int) (raw json.RawMessage, ok bool) {
	if raw, known := v.src.RecordedData(i); known {
		return raw, true
	}
	d := v.events[i].Data
	if d == nil {
		return nil, true
	}
	b, err := event.MarshalData(d)
	return b, err == nil
}

// appendData appends event i's data as one line of JSON with its keys in
// order and no HTML escapes, as earlier versions wrote it: "null" when it
// had none; false when it does not encode.
func (v *view) appendData(dst []byte, i int) ([]byte, bool) {
	raw, ok := v.dataRaw(i)
	switch {
	case !ok:
		return dst, false
	case raw == nil:
		return append(dst, "null"...), true
	}
	if out, ok := fastCell(dst, raw); ok {
		return out, true
	}
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return dst, false
	}
	return append(dst, compactJSON(x)...), true
}

// dataCell is the "data" column: the event's data as one line of JSON,
// "null" when it had none, "" when it does not encode.
func (v *view) dataCell(i int) string {
	b, _ := v.appendData(nil, i)
	return string(b)
}

// marker is event i as an XDF marker: {"kind":…,"step":…,"data":{…}}, the
// data left out when it is empty, as a json.Encoder without HTML escaping
// writes that struct.
func (v *view) marker(i int) []byte {
	e := v.events[i]
	b := append([]byte(`{"kind":`), compactJSON(string(e.Kind()))...)
	b = append(b, `,"step":`...)
	b = strconv.AppendInt(b, int64(e.Step), 10)
	n := len(b)
	b = append(b, `,"data":`...)
	data, ok := v.appendData(b, i)
	if d := data[len(b):]; !ok || string(d) == "null" || string(d) == "{}" {
		return append(b[:n], '}')
	}
	return append(data, '}')
}

// csvCols are the fields the CSV events table shows in columns of their
// own, as table text.
type csvCols struct {
	cue, channel, modality, file string // a cue's (an alert's, a look's)
	value                        string // a rating's value, an alert's
	// text reads as the event's text: a marker's, a prompt's question, a
	// command, why something ended, a message.
	text string
	by   string
}

// csvColumns picks an event's fields for the CSV columns; known is false
// for a kind this version does not know, whose fields are found by name.
func csvColumns(d event.Data) (c csvCols, known bool) {
	switch d := d.(type) {
	case event.SessionStart:
		c.by = d.By
	case event.SessionEnd:
		c.text = d.Reason
	case event.StepStart:
	case event.StepEnd:
		c.text = d.Reason
	case event.CueOnset:
		c = cueCols(event.Cue(d))
	case event.CueOffset:
		c = cueCols(event.Cue(d))
	case event.Command:
		c.text, c.by = d.Cmd, d.By
	case event.PatientStop:
		c.text, c.by = d.Cmd, d.By
	case event.RatingPrompt:
		c.text = d.Question
	case event.Rating:
		c.by = d.By
		if d.Value != nil {
			c.value = strconv.Itoa(*d.Value)
		}
	case event.Marker:
		c.text, c.by = d.Text, d.By
	case event.Alert:
		c.cue, c.channel, c.text = d.Cue, d.Channel, d.Message
		if d.Value != nil {
			c.value = cell(*d.Value)
		}
	case event.Gap:
		// The reason names the gap better than the message that reports it.
		c.text = firstNonEmpty(d.Reason, d.Message)
	case event.SCR, event.Baseline, event.DeviceInfo, event.ReplaySeek:
	case event.Look:
		c.cue = d.Cue
	case event.Quality:
		c.channel = d.Channel
	default:
		// A kind from a newer version: its fields by their usual names.
		m := event.Fields(d)
		return csvCols{
			cue: cell(m["cue"]), channel: cell(m["channel"]), modality: cell(m["modality"]), file: cell(m["file"]),
			value: cell(m["value"]), text: cell(firstOf(m, "text", "question", "cmd", "reason", "message")), by: cell(m["by"]),
		}, false
	}
	for _, s := range []*string{&c.cue, &c.channel, &c.modality, &c.file, &c.text, &c.by} {
		*s = oneLine(*s)
	}
	return c, true
}

func cueCols(c event.Cue) csvCols {
	return csvCols{cue: c.Cue, channel: c.Channel, modality: c.Modality, file: c.File}
}

func firstOf(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return nil
}

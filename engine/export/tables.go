package export

import (
	"bytes"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
)

// manifestOrder is the order of engine.ManifestCue's fields; keys a newer
// version adds follow, sorted.
var manifestOrder = []string{
	"id", "step", "step_name", "intensity", "neutral", "modality", "substance", "duration_s",
	"personalised", "description", "file", "sha256", "text", "fit", "loop", "gain_db",
	"fade_in_s", "fade_out_s",
}

// manifestKeys lists a cue's keys: the known ones in order, then the rest.
func manifestKeys(c map[string]any) []string {
	known := map[string]bool{}
	var keys []string
	for _, k := range manifestOrder {
		known[k] = true
		if _, ok := c[k]; ok {
			keys = append(keys, k)
		}
	}
	var rest []string
	for k := range c {
		if !known[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(keys, rest...)
}

// allManifestKeys is the union of every cue's keys, in manifestKeys order.
func allManifestKeys(cues []map[string]any) []string {
	union := map[string]any{}
	for _, c := range cues {
		for k := range c {
			union[k] = true
		}
	}
	return manifestKeys(union)
}

// cell writes a JSON-decoded value as table text; "" means no value.
// Tabs and line breaks become spaces so a cell cannot split a TSV row.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return oneLine(x)
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ""
		}
		return fmtFloat(x)
	case int:
		return strconv.Itoa(x)
	case json.Number:
		return x.String()
	default:
		return compactJSON(x)
	}
}

// compactJSON writes v as one line of JSON without HTML escaping.
func compactJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimRight(b.String(), "\n")
}

var lineBreaks = strings.NewReplacer("\t", " ", "\r\n", " ", "\r", " ", "\n", " ")

func oneLine(s string) string {
	if strings.ContainsAny(s, "\t\r\n") {
		return lineBreaks.Replace(s)
	}
	return s
}

// str reads a string field of an event's data.
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

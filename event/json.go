package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// wire is an event as the recording writes it (t in nanoseconds of session
// time). The feed writes the same data object inside its own envelope.
type wire struct {
	T    time.Duration   `json:"t"`
	Wall time.Time       `json:"wall"`
	Kind Kind            `json:"kind"`
	Step int             `json:"step"`
	Data json.RawMessage `json:"data,omitempty"`
}

// MarshalJSON writes {"t":ns,"wall":…,"kind":…,"step":n,"data":{…}}.
func (e Event) MarshalJSON() ([]byte, error) {
	w := wire{T: e.T, Wall: e.Wall, Kind: e.Kind(), Step: e.Step}
	if e.Data != nil {
		d, err := MarshalData(e.Data)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", e.Kind(), err)
		}
		w.Data = d
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes. A kind this version does not
// know becomes Unknown; a known kind whose data does not fit its type is an
// error that names the kind and the field.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d, err := UnmarshalData(w.Kind, w.Data)
	if err != nil {
		return err
	}
	*e = Event{T: w.T, Wall: w.Wall, Step: w.Step, Data: d}
	return nil
}

// MarshalData encodes a payload: the "data" object of an event.
func MarshalData(d Data) ([]byte, error) {
	if u, ok := d.(Unknown); ok {
		if len(u.Raw) == 0 {
			return []byte("{}"), nil
		}
		return u.Raw, nil
	}
	return json.Marshal(d)
}

// UnmarshalData decodes the data object of an event of kind k.
func UnmarshalData(k Kind, raw []byte) (Data, error) {
	r, ok := registry[k]
	// The recorder stores an event whose data could not be stored (a NaN,
	// too large) with a note in place of its data: keep the note.
	if !ok || bytes.HasPrefix(raw, []byte(`{"record_error":`)) {
		var keep []byte
		if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
			keep = append([]byte(nil), raw...)
		}
		return Unknown{Name: k, Raw: keep}, nil
	}
	p := r.zero()
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, p); err != nil {
			return nil, fmt.Errorf("event %s: data: %w", k, err)
		}
	}
	return deref(p), nil
}

// Fields is the payload as a generic JSON object, for the edges that show
// data whole (a CSV cell). Nil for a payload that does not encode.
func Fields(d Data) map[string]any {
	b, err := MarshalData(d)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// deref turns the registry's *T into the T that events carry.
func deref(p Data) Data { return reflect.ValueOf(p).Elem().Interface().(Data) }

// Limit is what a safety alert's "limit" names: a limit's name
// ("max_step") or a ceiling's value (2.5). JSON: a string or a number.
type Limit struct {
	Name  string
	Value float64 // when Name is ""
}

// MarshalJSON writes a string or a number.
func (l Limit) MarshalJSON() ([]byte, error) {
	if l.Name != "" {
		return json.Marshal(l.Name)
	}
	return json.Marshal(l.Value)
}

// UnmarshalJSON reads a string or a number.
func (l *Limit) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		l.Value = 0
		return json.Unmarshal(b, &l.Name)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("limit: want a name or a number, got %.40s", b)
	}
	*l = Limit{Value: v}
	return nil
}

// String is the name, or the value as text.
func (l Limit) String() string {
	if l.Name != "" {
		return l.Name
	}
	return strconv.FormatFloat(l.Value, 'g', -1, 64)
}

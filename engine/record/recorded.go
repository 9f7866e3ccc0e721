package record

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/cueroom/cueroom/event"
)

// recorded keeps, beside the events a reader decodes, what RecordedData
// needs: each event's data object as data.rec holds it, where that differs
// from what its payload encodes (rarely: a recording by an older or newer
// version). It also shares what repeats between the events while reading —
// the same cue's onsets and offsets, the same rating prompt, the strings of
// cue ids, channels and file names — so a long session's events take less
// memory.
type recorded struct {
	n        int                       // events read
	data     []json.RawMessage         // beside the events; nil while all are asTyped
	in       map[string]string         // while reading: each string once
	payloads map[event.Data]event.Data // while reading: each plain payload once
}

// maxShared bounds the tables of what is shared, so a session of unique
// events does not hold a second table of them while it is read.
const maxShared = 1 << 12

// asTyped stands for data recorded exactly as its payload encodes.
var asTyped = json.RawMessage{}

func isAsTyped(d json.RawMessage) bool { return d != nil && len(d) == 0 }

// add appends e, read with raw as its data object, to events.
func (r *recorded) add(events []event.Event, e event.Event, raw json.RawMessage) []event.Event {
	e.Data = r.intern(e.Data)
	keep := asTyped
	if raw == nil {
		keep = nil
	} else if b, err := event.MarshalData(e.Data); err != nil || !bytes.Equal(b, raw) {
		keep = raw
	}
	if r.data == nil && !isAsTyped(keep) {
		r.data = make([]json.RawMessage, r.n, r.n+1)
		for i := range r.data {
			r.data[i] = asTyped
		}
	}
	if r.data != nil {
		r.data = append(r.data, keep)
	}
	r.n++
	return append(events, e)
}

// done ends reading: events are sorted by session time (see sortEvents)
// and the strings table is dropped.
func (r *recorded) done(events []event.Event) {
	sortEvents(events, r.data)
	r.in, r.payloads = nil, nil
}

// get returns the recorded data of events[i]; false if it is not known
// (events is not what was read).
func (r *recorded) get(events []event.Event, i int) (json.RawMessage, bool) {
	if len(events) != r.n || i < 0 || i >= r.n {
		return nil, false
	}
	if r.data != nil && !isAsTyped(r.data[i]) {
		return r.data[i], true
	}
	b, err := event.MarshalData(events[i].Data)
	return b, err == nil
}

// intern returns an equal payload read before (payloads are values: an
// event's is never changed in place, so events can share one), or d with
// each of its strings shared with equal ones read before.
func (r *recorded) intern(d event.Data) event.Data {
	v := reflect.ValueOf(d)
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return d
	}
	share := plainValue(v.Type())
	if share {
		if same, ok := r.payloads[d]; ok {
			return same
		}
	}
	if r.in == nil {
		r.in = map[string]string{}
		r.payloads = map[event.Data]event.Data{}
	}
	c := reflect.New(v.Type()).Elem()
	c.Set(v)
	one := func(f reflect.Value) {
		s := f.String()
		if s == "" {
			return
		}
		if t, ok := r.in[s]; ok {
			f.SetString(t)
		} else if len(r.in) < maxShared {
			r.in[s] = s
		}
	}
	for i := 0; i < c.NumField(); i++ {
		f := c.Field(i)
		switch {
		case !f.CanSet():
		case f.Kind() == reflect.String:
			one(f)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			for j := 0; j < f.Len(); j++ {
				one(f.Index(j))
			}
		}
	}
	out := c.Interface().(event.Data)
	if share && len(r.payloads) < maxShared {
		r.payloads[d] = out
	}
	return out
}

// plainValue says whether a payload type is compared by value alone: no
// slices (not comparable) and no pointers (compared by address, so never
// equal to another decoded payload).
func plainValue(t reflect.Type) bool {
	for i := 0; i < t.NumField(); i++ {
		switch t.Field(i).Type.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		default:
			return false
		}
	}
	return true
}

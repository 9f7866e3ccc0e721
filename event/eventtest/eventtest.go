// Package eventtest builds typed events from the loose form older tests
// and fixtures write them in (a kind and a data map, as JSON would carry
// them), so a test reads like the recording it stands for.
package eventtest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cueroom/cueroom/event"
)

// Data decodes data as the payload of kind k, exactly as a recording is
// read. Fields the kind does not have are dropped; a field of the wrong
// type panics, naming it (a fixture bug).
func Data(k event.Kind, data map[string]any) event.Data {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("eventtest: %s: %v", k, err))
	}
	d, err := event.UnmarshalData(k, raw)
	if err != nil {
		panic(fmt.Sprintf("eventtest: %v", err))
	}
	return d
}

// New makes an event at session time t in step from a kind and its data.
func New(t time.Duration, k event.Kind, step int, data map[string]any) event.Event {
	return event.Event{T: t, Step: step, Data: Data(k, data)}
}

// Field reads one field of an event's data as JSON shows it (numbers as
// float64; nil when absent).
func Field(e event.Event, key string) any { return event.Fields(e.Data)[key] }

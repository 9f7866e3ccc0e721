package export

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

// FuzzFastCell: whatever JSON fastCell copies, it copies to the bytes that
// decoding it and encoding it again (compactJSON) give.
func FuzzFastCell(f *testing.F) {
	for _, k := range event.Kinds() {
		b, err := event.MarshalData(event.Zero(k))
		require.NoError(f, err)
		f.Add(b)
	}
	for _, d := range []event.Data{
		event.Marker{Text: "a <b> & \"c\"\\ \n\t\u2028 ü \x7f", By: "therapist"},
		event.Alert{Source: "sensor", Message: "x", Value: event.Float(1e-7), Limit: &event.Limit{Value: 2.5}, Raised: []string{"b", "a"}},
		event.Rating{Scale: "craving", Value: event.Int(-0), Answered: true, PromptT: 12345.678901},
		event.SCR{Amplitude: 1e21, Onset: -0.000001},
	} {
		b, err := event.MarshalData(d)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, s := range []string{`null`, `{}`, `[]`, `{"b":1,"a":2}`, `{"a":1,"a":2}`, `{"a": 1}`, `{"a":"\/"}`,
		`{"a":"\u0041"}`, `{"a":1234567890123456789}`, `{"a":-0}`, `{"a":01}`, `[1,[2,{"x":{}}]]`, `"\ufffd"`, `{"\u003c":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fast, ok := fastCell(nil, raw)
		if !ok {
			return
		}
		var x any
		require.NoError(t, json.Unmarshal(raw, &x), "fastCell took what is not JSON: %q", raw)
		require.Equal(t, compactJSON(x), string(fast), "from %q", raw)
	})
}

// TestFastCellTakesEveryKind: every kind's payload encodes with its fields
// in name order, as the event package promises, so exports copy recorded
// data without decoding it.
func TestFastCellTakesEveryKind(t *testing.T) {
	for _, k := range event.Kinds() {
		b, err := event.MarshalData(event.Zero(k))
		require.NoError(t, err)
		_, ok := fastCell(nil, b)
		require.True(t, ok, "%s: %s", k, b)
	}
}

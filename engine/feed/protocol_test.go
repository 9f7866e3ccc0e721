package feed

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

func TestParseClientMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		code    string // "" means valid
		errID   string // id echoed in the error
		cmd     string
		contain string // part of the error text
	}{
		{name: "pause", in: `{"type":"command","v":1,"id":"1","cmd":"pause"}`, cmd: "pause"},
		{name: "v omitted", in: `{"type":"command","id":"a","cmd":"resume","args":{}}`, cmd: "resume"},
		{name: "next", in: `{"type":"command","v":1,"id":"x","cmd":"next"}`, cmd: "next"},
		{name: "end", in: `{"type":"command","v":1,"id":"x","cmd":"end"}`, cmd: "end"},
		{name: "panic", in: `{"type":"command","v":1,"id":"x","cmd":"panic"}`, cmd: "panic"},
		{name: "marker", in: `{"type":"command","v":1,"id":"m","cmd":"marker","args":{"text":"craving up"}}`, cmd: "marker"},
		{name: "bad json", in: `{"type":"command",`, code: codeBadJSON, contain: "byte"},
		{name: "not an object", in: `[1,2]`, code: codeBadJSON},
		{name: "empty", in: ``, code: codeBadJSON, contain: "empty"},
		{name: "trailing data", in: `{"type":"command","id":"1","cmd":"pause"} {}`, code: codeBadJSON, contain: "after top-level value"},
		{name: "id is a number", in: `{"type":"command","id":5,"cmd":"pause"}`, code: codeBadJSON, contain: `"id"`},
		{name: "unknown type", in: `{"type":"subscribe","id":"7"}`, code: codeUnknownType, errID: "7", contain: "subscribe"},
		{name: "missing type", in: `{"id":"7","cmd":"pause"}`, code: codeUnknownType, errID: "7"},
		{name: "missing id", in: `{"type":"command","cmd":"pause"}`, code: codeMissingID},
		{name: "id too long", in: `{"type":"command","id":"` + strings.Repeat("x", 65) + `","cmd":"pause"}`, code: codeMissingID},
		{name: "unknown cmd", in: `{"type":"command","id":"9","cmd":"reboot"}`, code: codeUnknownCmd, errID: "9", contain: "reboot"},
		{name: "bad version", in: `{"type":"command","v":2,"id":"9","cmd":"pause"}`, code: codeBadVersion, errID: "9"},
		{name: "marker without text", in: `{"type":"command","id":"m","cmd":"marker"}`, code: codeBadArgs, errID: "m"},
		{name: "marker text not string", in: `{"type":"command","id":"m","cmd":"marker","args":{"text":3}}`, code: codeBadArgs, errID: "m"},
		{name: "marker text too long", in: `{"type":"command","id":"m","cmd":"marker","args":{"text":"` + strings.Repeat("a", 1001) + `"}}`, code: codeBadArgs, errID: "m"},
		{name: "seek to a time", in: `{"type":"command","id":"s","cmd":"seek","args":{"t":12.5}}`, cmd: "seek"},
		{name: "seek to a step", in: `{"type":"command","id":"s","cmd":"seek","args":{"step":2}}`, cmd: "seek"},
		{name: "seek without args", in: `{"type":"command","id":"s","cmd":"seek"}`, code: codeBadArgs, errID: "s", contain: "args.t"},
		{name: "seek both", in: `{"type":"command","id":"s","cmd":"seek","args":{"t":1,"step":1}}`, code: codeBadArgs, errID: "s"},
		{name: "seek negative", in: `{"type":"command","id":"s","cmd":"seek","args":{"t":-1}}`, code: codeBadArgs, errID: "s"},
		{name: "seek fractional step", in: `{"type":"command","id":"s","cmd":"seek","args":{"step":1.5}}`, code: codeBadArgs, errID: "s"},
		{name: "seek t as string", in: `{"type":"command","id":"s","cmd":"seek","args":{"t":"10"}}`, code: codeBadArgs, errID: "s"},
		{name: "speed", in: `{"type":"command","id":"x","cmd":"speed","args":{"x":0.25}}`, cmd: "speed"},
		{name: "speed too fast", in: `{"type":"command","id":"x","cmd":"speed","args":{"x":32}}`, code: codeBadArgs, errID: "x", contain: "0.25 to 16"},
		{name: "speed missing", in: `{"type":"command","id":"x","cmd":"speed"}`, code: codeBadArgs, errID: "x"},
		{name: "too large", in: `{"type":"command","id":"1","cmd":"marker","args":{"text":"` + strings.Repeat("a", maxMessage) + `"}}`, code: codeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd, perr := parseClientMessage([]byte(tt.in))
			if tt.code == "" {
				require.Nil(t, perr)
				assert.Equal(t, tt.cmd, cmd.Cmd)
				assert.NotEmpty(t, cmd.ID)
				return
			}
			require.NotNil(t, perr)
			assert.Equal(t, tt.code, perr.Code)
			assert.Equal(t, tt.errID, perr.ID)
			assert.Contains(t, perr.Msg, tt.contain)
			var m map[string]any
			require.NoError(t, json.Unmarshal(encodeError(perr), &m))
			assert.Equal(t, "error", m["type"])
			assert.EqualValues(t, 1, m["v"])
			assert.Equal(t, tt.code, m["code"])
		})
	}
}

func TestMarkerArgsKept(t *testing.T) {
	cmd, perr := parseClientMessage([]byte(`{"type":"command","id":"m","cmd":"marker","args":{"text":"note"}}`))
	require.Nil(t, perr)
	assert.Equal(t, map[string]any{"text": "note"}, cmd.Args)
}

func mkSample(dev string, ms int, seq uint32, vals ...float64) sensors.Sample {
	s := sensors.Sample{Device: dev, T: time.Duration(ms) * time.Millisecond, Seq: seq, N: len(vals)}
	copy(s.Values[:], vals)
	return s
}

// wireSamples is a samples message as a client reads it.
type wireSamples struct {
	Type     string       `json:"type"`
	V        int          `json:"v"`
	Device   string       `json:"device"`
	Channels []string     `json:"channels"`
	T        []float64    `json:"t"`
	Seq      []uint32     `json:"seq"`
	Values   [][]*float64 `json:"values"`
}

func fp(f float64) *float64 { return &f }

func TestAppendSamples(t *testing.T) {
	tests := []struct {
		name   string
		device string
		labels []string
		in     []sensors.Sample
		want   wireSamples
	}{
		{
			name: "column-major with labels", device: "bitalino", labels: []string{"eda", "ecg"},
			in: []sensors.Sample{mkSample("bitalino", 1000, 3, 5.5, -0.25), mkSample("bitalino", 1010, 4, 5.6, 0.5)},
			want: wireSamples{Type: "samples", V: 1, Device: "bitalino", Channels: []string{"eda", "ecg"},
				T: []float64{1, 1.01}, Seq: []uint32{3, 4}, Values: [][]*float64{{fp(5.5), fp(5.6)}, {fp(-0.25), fp(0.5)}}},
		},
		{
			name: "NaN and Inf become null", device: "ox", labels: []string{"spo2"},
			in: []sensors.Sample{mkSample("ox", 0, 0, math.NaN()), mkSample("ox", 20, 1, math.Inf(1)), mkSample("ox", 40, 2, 98)},
			want: wireSamples{Type: "samples", V: 1, Device: "ox", Channels: []string{"spo2"},
				T: []float64{0, 0.02, 0.04}, Seq: []uint32{0, 1, 2}, Values: [][]*float64{{nil, nil, fp(98)}}},
		},
		{
			name: "missing labels are numbered", device: `we"ird\dev`, labels: []string{"a"},
			in: []sensors.Sample{mkSample(`we"ird\dev`, 5, 1, 1, 2, 3)},
			want: wireSamples{Type: "samples", V: 1, Device: `we"ird\dev`, Channels: []string{"a", "ch1", "ch2"},
				T: []float64{0.005}, Seq: []uint32{1}, Values: [][]*float64{{fp(1)}, {fp(2)}, {fp(3)}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendSamples(nil, tt.device, tt.labels, tt.in)
			require.True(t, json.Valid(b), "%s", b)
			var got wireSamples
			require.NoError(t, json.Unmarshal(b, &got))
			assert.Equal(t, tt.want, got)
		})
	}
}

// The exact bytes of a samples message are part of the protocol: pin them.
func TestAppendSamplesGolden(t *testing.T) {
	ss := []sensors.Sample{mkSample("bitalino", 12010, 3, 5.125, 0.12), mkSample("bitalino", 12020, 4, 5.25, math.NaN())}
	got := appendSamples(nil, "bitalino", []string{"eda", "ecg"}, ss)
	want, err := os.ReadFile(filepath.Join("testdata", "samples.golden.json"))
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(want)), string(got))
}

func TestEncodeEvent(t *testing.T) {
	wall := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		ev      event.Event
		kind    event.Kind
		data    map[string]any
		dataErr bool
	}{
		{name: "plain", ev: event.Event{T: 1500 * time.Millisecond, Wall: wall, Step: 2, Data: event.CueOnset{Channel: "visual", Cue: "beer", File: "beer.jpg", Modality: "image"}},
			kind: event.KindCueOnset, data: map[string]any{"channel": "visual", "cue": "beer", "file": "beer.jpg", "modality": "image"}},
		{name: "a newer recording's kind, verbatim", ev: event.Event{T: 2 * time.Second, Wall: wall, Step: -1, Data: event.Unknown{Name: "heartbeat", Raw: []byte(`{"bpm":61}`)}},
			kind: "heartbeat", data: map[string]any{"bpm": 61.0}},
		{name: "no data", ev: event.Event{T: 0, Wall: wall, Step: -1, Data: event.Unknown{Name: "tick"}}, kind: "tick"},
		{name: "empty data", ev: event.Event{T: 0, Wall: wall, Step: -1, Data: event.Unknown{Name: "tick", Raw: []byte(" { } ")}}, kind: "tick"},
		{name: "unencodable data", ev: event.Event{T: time.Second, Wall: wall, Step: 0, Data: event.Alert{Source: "arousal", Message: "high", Value: event.Float(math.NaN())}},
			kind: event.KindAlert, dataErr: true},
		{name: "data that is not JSON", ev: event.Event{T: time.Second, Wall: wall, Step: 0, Data: event.Unknown{Name: "odd", Raw: []byte(`{"a":`)}},
			kind: "odd", dataErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			require.NoError(t, json.Unmarshal(encodeEvent(&tt.ev), &m))
			assert.Equal(t, "event", m["type"])
			assert.EqualValues(t, 1, m["v"])
			assert.InDelta(t, tt.ev.T.Seconds(), m["t"], 1e-12)
			assert.EqualValues(t, tt.kind, m["kind"])
			assert.EqualValues(t, tt.ev.Step, m["step"])
			assert.Equal(t, "2025-03-01T10:00:00Z", m["wall"])
			if tt.data != nil {
				assert.Equal(t, tt.data, m["data"])
			} else {
				assert.NotContains(t, m, "data")
			}
			if tt.dataErr {
				assert.NotEmpty(t, m["data_error"])
			} else {
				assert.NotContains(t, m, "data_error")
			}
		})
	}
}

// The bytes of an event message are part of the protocol: pin one.
func TestEncodeEventGolden(t *testing.T) {
	e := event.Event{T: 65200 * time.Millisecond, Wall: time.Date(2025, 5, 1, 10, 3, 5, 200e6, time.UTC), Step: 1,
		Data: event.CueOnset{Channel: "visual", Cue: "beer.jpg", File: "cues/beer.jpg", Modality: "image"}}
	assert.Equal(t, `{"type":"event","v":1,"t":65.2,"wall":"2025-05-01T10:03:05.2Z","kind":"cue_onset","step":1,`+
		`"data":{"channel":"visual","cue":"beer.jpg","file":"cues/beer.jpg","modality":"image"}}`, string(encodeEvent(&e)))
	e.Data = event.SCR{Amplitude: math.NaN(), Device: "physio", Source: "physio"}
	assert.Equal(t, `{"type":"event","v":1,"t":65.2,"wall":"2025-05-01T10:03:05.2Z","kind":"scr","step":1,`+
		`"data_error":"json: unsupported value: NaN"}`, string(encodeEvent(&e)))
}

// TestEncodeEventAsMaps: for every kind, the typed event encodes to the
// bytes the map-based event of the same data did before event types.
func TestEncodeEventAsMaps(t *testing.T) {
	wall := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	// mapMsg is the event message as the feed wrote it from a map.
	type mapMsg struct {
		Type      string         `json:"type"`
		V         int            `json:"v"`
		T         float64        `json:"t"`
		Wall      time.Time      `json:"wall"`
		Kind      string         `json:"kind"`
		Step      int            `json:"step"`
		Data      map[string]any `json:"data,omitempty"`
		DataError string         `json:"data_error,omitempty"`
	}
	full := map[event.Kind]event.Data{
		event.KindRating: event.Rating{Answered: true, By: "patient", PromptT: 61.5, Scale: "suds", Value: event.Int(40)},
		event.KindAlert: event.Alert{Source: "arousal", Message: "above <ceiling> & rising", Limit: &event.Limit{Value: 2.5},
			Value: event.Float(2.75), Raised: []string{"flat"}},
		event.KindCueOnset: event.CueOnset{Channel: "audio", Cue: "pour", File: "pour.ogg", Modality: "sound", Sink: "null", Source: "headset"},
		event.KindGap:      event.Gap{Device: "bitalino", Start: 10.25, End: 12, Reason: "lost"},
	}
	for _, k := range event.Kinds() {
		for _, d := range []event.Data{event.Zero(k), full[k]} {
			if d == nil {
				continue
			}
			e := event.Event{T: 12345 * time.Millisecond, Wall: wall, Step: 3, Data: d}
			want, err := json.Marshal(mapMsg{Type: "event", V: 1, T: 12.345, Wall: wall, Kind: string(k), Step: 3, Data: event.Fields(d)})
			require.NoError(t, err)
			assert.Equal(t, string(want), string(encodeEvent(&e)), "%s", k)
		}
	}
}

func TestEncodeAckUnencodableData(t *testing.T) {
	var m map[string]any
	require.NoError(t, json.Unmarshal(encodeAck(Ack{ID: "1", OK: true, Data: make(chan int)}), &m))
	assert.Equal(t, "ack", m["type"])
	assert.Equal(t, true, m["ok"])
	assert.Equal(t, "1", m["id"])
	assert.Contains(t, m["error"], "could not be encoded")
}

func TestHistory(t *testing.T) {
	t0 := time.Unix(1000, 0)
	msg := func(s string) []byte { return []byte(s) }
	tests := []struct {
		name     string
		window   time.Duration
		maxBytes int
		adds     []time.Duration // offsets from t0
		at       time.Duration   // snapshot time
		want     []string
	}{
		{name: "all young", window: time.Minute, maxBytes: 1 << 20, adds: []time.Duration{0, time.Second, 2 * time.Second}, at: 3 * time.Second, want: []string{"m0", "m1", "m2"}},
		{name: "old ones age out", window: 10 * time.Second, maxBytes: 1 << 20, adds: []time.Duration{0, 5 * time.Second, 20 * time.Second}, at: 21 * time.Second, want: []string{"m2"}},
		{name: "byte cap keeps newest", window: time.Hour, maxBytes: 4, adds: []time.Duration{0, 1, 2}, at: 3, want: []string{"m1", "m2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h history
			for i, d := range tt.adds {
				m := msg("m" + string(rune('0'+i)))
				h.add(t0.Add(d), histItem{msg: m, thin: m}, tt.window, tt.window, tt.maxBytes)
			}
			var got []string
			for _, b := range h.appendTo(nil, t0.Add(tt.at), tt.window, 1<<30) {
				got = append(got, string(b))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestHistoryBoundedOverLongRun(t *testing.T) {
	var h history
	t0 := time.Unix(0, 0)
	payload := make([]byte, 100)
	for i := range 100000 {
		h.add(t0.Add(time.Duration(i)*time.Millisecond), histItem{msg: payload, thin: payload}, time.Second, time.Second, 1<<30)
	}
	// One second of 1 ms messages stays; the dead prefix has been compacted.
	assert.Equal(t, 1001, h.len())
	assert.Equal(t, 1001*100, h.bytes)
	assert.Less(t, len(h.items), 2*1001+65)
}

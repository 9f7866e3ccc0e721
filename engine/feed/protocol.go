package feed

// Wire protocol, version 1.
//
// One WebSocket per dashboard at /ws, authenticated with ?token=... (or an
// "Authorization: Bearer ..." header for tools). Every frame is a JSON text
// message with "type" and "v":1. Times "t" are seconds on the session clock
// (monotonic, float); "wall" is RFC 3339 wall-clock time for humans.
//
// Server → client, in this order on connect:
//
//	{"type":"hello","v":1,"client":"c7","role":"control","history_s":180,"session":<Config.Hello()>}
//	    role is "control" or "observe" (the token used); see docs/feed.md.
//	{"type":"stream","v":1,"device":"bitalino","kind":"bitalino","rate":100,
//	 "channels":[{"label":"eda","unit":"uS","type":"EDA"}],"settings":{...}}   one per known device
//	{"type":"state","v":1,"state":<latest SetState value>}                     if any
//	recent history: the "event" messages of the last history_s seconds and its
//	    "samples", at full rate for the last 5 s and thinned before (2 per second
//	    per device, "thin":true), at most 1 MiB in all
//	{"type":"summary","v":1,"summary":{...}}   once the session has ended (Summary)
//
// then live:
//
//	{"type":"samples","v":1,"device":"bitalino","channels":["eda","ecg"],
//	 "t":[12.01,12.02],"seq":[3,4],"values":[[5.1,5.2],[0.12,-0.3]]}
//	    a batch of consecutive samples of one device (about every 50 ms; never
//	    thinned). values is column-major: values[i][k] is channel i of sample k,
//	    null where the value is NaN or infinite; 7 significant digits, whole
//	    numbers exact, t to the microsecond. Units come from the stream.
//	{"type":"summary","v":1,"summary":{...}}   when session_end passes (Summary)
//	{"type":"event","v":1,"t":12.5,"wall":"...","kind":"cue_onset","step":2,"data":{...}}
//	    an event.Event, forwarded as soon as it arrives (pending samples first,
//	    so wire order is bus order). kind is one of event.Kinds() (or a newer
//	    one, from a recording); data is the payload's one JSON encoding
//	    (event.MarshalData), left out when empty; when it cannot be encoded
//	    (a NaN) it is left out and "data_error" says why.
//	{"type":"stream",...}   a device (re)announcing its channels
//	{"type":"state","v":1,"state":{...}}   sent when the state changes
//	{"type":"view","v":1,"t":12.5,"jpeg":"<base64>"}
//	    the patient's view: the frame on screen, downscaled, a few per second;
//	    dropped rather than queued for a client that is behind; not in history.
//	{"type":"ack","v":1,"id":"42","ok":true}                   or "ok":false,"error":"why"
//	    the answer to a command, optionally with "data".
//	{"type":"error","v":1,"code":"bad_json","error":"...","id":"42"}
//	    something this client sent was refused ("id" when known); codes:
//	    bad_json, bad_version, unknown_type, missing_id, unknown_cmd, bad_args,
//	    rate_limited, forbidden (an observer sent a command),
//	    too_large (the connection is then closed with 1009),
//	    overrun (the feed itself fell behind the bus and lost messages).
//
// Client → server:
//
//	{"type":"command","v":1,"id":"42","cmd":"pause","args":{}}
//	    cmd is one of pause, resume, next, repeat, back, rate, end, panic,
//	    marker, and in a replay seek and speed; rate takes args.scale (craving or
//	    suds, default craving); marker needs args.text (a non-empty string of at
//	    most 1000 bytes); seek takes args.t (seconds) or args.step (an index);
//	    speed takes args.x (0.25..16). id is chosen by
//	    the client (1..64 bytes) and echoed in the ack. "v" may be omitted;
//	    when present it must be 1. Messages are at most 64 KiB, and at most
//	    about 20 per second per client.
//
// A command with a key twice in one object is refused whole (bad_json).
// On Close every client gets what was queued for it (acks included), then
// close code 1001: reason "session ended" once the state said so (do not
// reconnect), else "server closing".
//
// A client that cannot keep up (its queue fills, or a write takes longer than
// the write deadline) is disconnected with close code 1008; it reconnects and
// gets the recent history again. Unanswered pings close the connection.
//
// The built-in page reads these optional fields of the state object: title,
// status ("running", "paused", "ended"), step_index, step_name, intensity,
// step_remaining (seconds left in the step when the state was sent; the page
// counts down locally while status is "running"). It falls back to
// session.title from the hello for the title.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Version is the wire protocol version carried in every message's "v".
const Version = 1

// Limits on what a client may send.
const (
	maxMessage    = 64 << 10 // bytes per client message
	maxIDLen      = 64
	maxMarkerText = 1000
)

// Commands a client may send.
const (
	CmdPause  = "pause"
	CmdResume = "resume"
	CmdNext   = "next"
	CmdEnd    = "end"
	CmdPanic  = "panic"
	CmdMarker = "marker"
	CmdStart  = "start"  // begin a session held for the therapist (cueroom run --hold)
	CmdRepeat = "repeat" // play the current step again
	CmdBack   = "back"   // back off to the previous step
	CmdRate   = "rate"   // ask the patient for a rating now (args.scale: craving | suds)
	CmdSeek   = "seek"   // replay only: jump to args.t (seconds) or args.step (index)
	CmdSpeed  = "speed"  // replay only: play at args.x times real time (0.25..16)
)

var validCmds = map[string]bool{
	CmdPause: true, CmdResume: true, CmdNext: true, CmdEnd: true, CmdPanic: true, CmdMarker: true,
	CmdRepeat: true, CmdBack: true, CmdRate: true, CmdStart: true, CmdSeek: true, CmdSpeed: true,
}

// Error codes sent in "error" messages.
const (
	codeBadJSON     = "bad_json"
	codeBadVersion  = "bad_version"
	codeUnknownType = "unknown_type"
	codeMissingID   = "missing_id"
	codeUnknownCmd  = "unknown_cmd"
	codeBadArgs     = "bad_args"
	codeRateLimited = "rate_limited"
	codeTooLarge    = "too_large"
	codeOverrun     = "overrun"
	codeForbidden   = "forbidden"
)

// Command is a therapist's request, validated before OnCommand sees it.
type Command struct {
	ID   string         // chosen by the client, echoed in the Ack
	Cmd  string         // one of the Cmd constants
	Args map[string]any // marker: {"text": string}
	From string         // remote address and client id, e.g. "127.0.0.1:50212/c3"
}

// Ack answers a command: applied (OK) or why not (Error).
type Ack struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Data  any    `json:"data,omitempty"`
}

// protoError is a refusal sent back to one client.
type protoError struct {
	Code string // one of the code constants
	ID   string // the offending message's id, when known
	Msg  string // for a human: what was wrong and what to do
}

func (e *protoError) Error() string { return e.Code + ": " + e.Msg }

// clientMsg is the shape every client message is read into.
type clientMsg struct {
	Type string         `json:"type"`
	V    *int           `json:"v"`
	ID   string         `json:"id"`
	Cmd  string         `json:"cmd"`
	Args map[string]any `json:"args"`
}

// parseClientMessage validates one client frame. It never panics; a refusal
// is a *protoError naming what was wrong.
func parseClientMessage(b []byte) (Command, *protoError) {
	if len(b) > maxMessage {
		return Command{}, &protoError{Code: codeTooLarge, Msg: fmt.Sprintf("message is %d bytes; the limit is %d", len(b), maxMessage)}
	}
	var m clientMsg
	if err := json.Unmarshal(b, &m); err != nil {
		return Command{}, &protoError{Code: codeBadJSON, Msg: "send one JSON object per frame: " + jsonErrAt(b, err)}
	}
	id := m.ID
	if key, dup, err := duplicateKey(b); dup || err != nil {
		// Refused whole: which of two values was meant is a guess.
		e := &protoError{Code: codeBadJSON, Msg: fmt.Sprintf("key %q appears twice in one object (keys are case-insensitive); send each key once", clip(key))}
		if err != nil {
			e.Msg = "send one JSON object per frame: " + err.Error()
		}
		if !strings.EqualFold(key, "id") && len(id) <= maxIDLen && utf8.ValidString(id) {
			e.ID = id
		}
		return Command{}, e
	}
	if len(id) > maxIDLen || !utf8.ValidString(id) {
		// Don't echo an id we refuse to carry.
		return Command{}, &protoError{Code: codeMissingID, Msg: fmt.Sprintf("id must be a UTF-8 string of 1..%d bytes", maxIDLen)}
	}
	if m.V != nil && *m.V != Version {
		return Command{}, &protoError{Code: codeBadVersion, ID: id, Msg: fmt.Sprintf("protocol version %d is not supported; send \"v\":%d", *m.V, Version)}
	}
	if m.Type != "command" {
		return Command{}, &protoError{Code: codeUnknownType, ID: id, Msg: fmt.Sprintf("unknown message type %q; clients may only send \"command\"", clip(m.Type))}
	}
	if id == "" {
		return Command{}, &protoError{Code: codeMissingID, Msg: "a command needs a non-empty string \"id\" to acknowledge"}
	}
	if !validCmds[m.Cmd] {
		return Command{}, &protoError{Code: codeUnknownCmd, ID: id, Msg: fmt.Sprintf("unknown command %q; valid: start, pause, resume, next, repeat, back, rate, end, panic, marker, seek, speed", clip(m.Cmd))}
	}
	if m.Cmd == CmdMarker {
		text, ok := m.Args["text"].(string)
		if !ok || text == "" || len(text) > maxMarkerText || !utf8.ValidString(text) {
			return Command{}, &protoError{Code: codeBadArgs, ID: id, Msg: fmt.Sprintf("marker needs args.text, a non-empty string of at most %d bytes", maxMarkerText)}
		}
	}
	if m.Cmd == CmdRate {
		if sc, present := m.Args["scale"]; present && sc != "craving" && sc != "suds" {
			return Command{}, &protoError{Code: codeBadArgs, ID: id, Msg: "rate takes args.scale \"craving\" or \"suds\""}
		}
	}
	if m.Cmd == CmdSeek {
		t, hasT := m.Args["t"].(float64)
		st, hasStep := m.Args["step"].(float64)
		okT := hasT && t >= 0 && t <= maxSeek
		okStep := hasStep && st >= 0 && st < 10000 && st == math.Trunc(st)
		if hasT == hasStep || (hasT && !okT) || (hasStep && !okStep) {
			return Command{}, &protoError{Code: codeBadArgs, ID: id, Msg: "seek takes either args.t, seconds from the session start (0 or more), or args.step, a step index (0, 1, ...)"}
		}
	}
	if m.Cmd == CmdSpeed {
		if x, ok := m.Args["x"].(float64); !ok || !(x >= 0.25 && x <= 16) {
			return Command{}, &protoError{Code: codeBadArgs, ID: id, Msg: "speed takes args.x, a number from 0.25 to 16 (times real time)"}
		}
	}
	return Command{ID: id, Cmd: m.Cmd, Args: m.Args}, nil
}

// maxSeek bounds a seek time (seconds): a week, far beyond any session.
const maxSeek = 7 * 24 * 3600

// jsonErrAt describes a decoding error with its byte offset when known.
func jsonErrAt(b []byte, err error) string {
	if len(b) == 0 {
		return "empty message"
	}
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
		return fmt.Sprintf("field %q must be a %s (byte %d)", e.Field, e.Type, off)
	}
	if off >= 0 {
		return fmt.Sprintf("%v (byte %d)", err, off)
	}
	return err.Error()
}

// clip bounds untrusted strings echoed back in error messages.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Server → client messages with a fixed shape.

type helloMsg struct {
	Type     string  `json:"type"`
	V        int     `json:"v"`
	Client   string  `json:"client"`
	Role     string  `json:"role"`
	HistoryS float64 `json:"history_s"`
	Session  any     `json:"session"`
}

type streamMsg struct {
	Type string `json:"type"`
	V    int    `json:"v"`
	sensors.Stream
}

type stateMsg struct {
	Type  string `json:"type"`
	V     int    `json:"v"`
	State any    `json:"state"`
}

type ackMsg struct {
	Type string `json:"type"`
	V    int    `json:"v"`
	Ack
}

type errorMsg struct {
	Type  string `json:"type"`
	V     int    `json:"v"`
	Code  string `json:"code"`
	Error string `json:"error"`
	ID    string `json:"id,omitempty"`
}

type eventMsg struct {
	Type      string          `json:"type"`
	V         int             `json:"v"`
	T         float64         `json:"t"`
	Wall      time.Time       `json:"wall"`
	Kind      event.Kind      `json:"kind"`
	Step      int             `json:"step"`
	Data      json.RawMessage `json:"data,omitempty"`
	DataError string          `json:"data_error,omitempty"`
}

func encodeHello(client, role string, history time.Duration, session any) ([]byte, error) {
	return json.Marshal(helloMsg{Type: "hello", V: Version, Client: client, Role: role, HistoryS: history.Seconds(), Session: session})
}

func encodeStream(s sensors.Stream) ([]byte, error) {
	return json.Marshal(streamMsg{Type: "stream", V: Version, Stream: s})
}

func encodeState(state any) ([]byte, error) {
	return json.Marshal(stateMsg{Type: "state", V: Version, State: state})
}

func encodeAck(a Ack) []byte {
	b, err := json.Marshal(ackMsg{Type: "ack", V: Version, Ack: a})
	if err != nil {
		// Data could not be encoded: still answer, without it.
		a.Data = nil
		if a.OK {
			a.Error = "applied, but the reply data could not be encoded: " + err.Error()
		}
		b, _ = json.Marshal(ackMsg{Type: "ack", V: Version, Ack: a})
	}
	return b
}

func encodeError(e *protoError) []byte {
	b, _ := json.Marshal(errorMsg{Type: "error", V: Version, Code: e.Code, Error: e.Msg, ID: e.ID})
	return b
}

// encodeEvent never fails: an event whose data cannot be encoded (a NaN) is
// still delivered, without data and with the reason.
func encodeEvent(e *event.Event) []byte {
	m := eventMsg{Type: "event", V: Version, T: e.T.Seconds(), Wall: e.Wall, Kind: e.Kind(), Step: e.Step}
	if e.Data != nil {
		d, err := event.MarshalData(e.Data)
		switch {
		case err != nil:
			m.DataError = err.Error()
		case !emptyJSON(d):
			m.Data = d
		}
	}
	b, err := json.Marshal(m)
	if err != nil && m.Data != nil {
		// Raw data kept from a newer recording may not be valid JSON.
		m.Data, m.DataError = nil, err.Error()
		b, err = json.Marshal(m)
	}
	if err != nil {
		// Only Wall can still fail (year outside 0..9999).
		m.Wall = time.Time{}
		b, _ = json.Marshal(m)
	}
	return b
}

// emptyJSON says whether an encoded payload is empty ({} or null): left out
// of the message, as the wire has always done for an event without data.
func emptyJSON(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' {
		b = bytes.TrimSpace(b[1 : len(b)-1])
	}
	return len(b) == 0 || string(b) == "null"
}

// appendSamples encodes consecutive samples of one device as a "samples"
// message. Written by hand because encoding/json refuses NaN, which a sensor
// may legitimately produce; those become null.
func appendSamples(dst []byte, device string, labels []string, ss []sensors.Sample) []byte {
	return appendSamplesThin(dst, device, labels, ss, false)
}

// appendSamplesThin is appendSamples, marking a history copy that left
// samples out ("thin":true: seq gaps there are not losses).
func appendSamplesThin(dst []byte, device string, labels []string, ss []sensors.Sample, thin bool) []byte {
	n := 0
	if len(ss) > 0 {
		n = min(max(ss[0].N, 0), sensors.MaxChannels)
	}
	dst = append(dst, `{"type":"samples","v":1,"device":`...)
	dst = appendJSONString(dst, device)
	dst = append(dst, `,"channels":[`...)
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		if i < len(labels) && labels[i] != "" {
			dst = appendJSONString(dst, labels[i])
		} else {
			dst = append(dst, `"ch`...)
			dst = strconv.AppendInt(dst, int64(i), 10)
			dst = append(dst, '"')
		}
	}
	dst = append(dst, `],"t":[`...)
	for k := range ss {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = appendTime(dst, ss[k].T.Seconds())
	}
	dst = append(dst, `],"seq":[`...)
	for k := range ss {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(ss[k].Seq), 10)
	}
	dst = append(dst, `],"values":[`...)
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		for k := range ss {
			if k > 0 {
				dst = append(dst, ',')
			}
			dst = appendFloat(dst, ss[k].Values[i])
		}
		dst = append(dst, ']')
	}
	dst = append(dst, ']')
	if thin {
		dst = append(dst, `,"thin":true`...)
	}
	return append(dst, '}')
}

// valueDigits is how many significant digits a sample value keeps on the
// wire: more than any sensor resolves (a 24-bit ADC has ~7), far fewer than
// the 17 a float64 can print. The recording keeps full precision.
const valueDigits = 7

// appendFloat writes a sample value compactly: whole numbers exactly (raw
// ADC counts), others to valueDigits significant digits; NaN and ±Inf as
// null.
func appendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(dst, "null"...)
	case f == math.Trunc(f) && math.Abs(f) < 1e15:
		return strconv.AppendInt(dst, int64(f), 10)
	}
	return strconv.AppendFloat(dst, f, 'g', valueDigits, 64)
}

// appendTime writes a session time in seconds to the microsecond, without
// float noise (12.001, not 12.000999999999999).
func appendTime(dst []byte, sec float64) []byte {
	if math.IsNaN(sec) || math.IsInf(sec, 0) {
		return append(dst, "null"...)
	}
	return strconv.AppendFloat(dst, math.Round(sec*1e6)/1e6, 'f', -1, 64)
}

// appendJSONString quotes s as JSON; invalid UTF-8 becomes U+FFFD, as
// encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return append(dst, b...)
}

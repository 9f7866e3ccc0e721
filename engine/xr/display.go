package xr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// What a display (the headset page, token role "display") may send, and
// nothing else: it stands for the patient, so it may stop the exposure,
// report where it looks, when it showed a cue and the patient's rating, and
// measure the clock. Every other message, a therapist's command included,
// is refused.
//
//	{"type":"display","v":1,"cmd":"ping","id":"p7","t_client":12.3456}
//	{"type":"display","v":1,"cmd":"frame","cue":"bar.c1","step":1,"instance":60.25,
//	 "t_session":61.0331,"uncertainty":0.0008,"t_client":75.2101,"xr":false}
//	{"type":"display","v":1,"cmd":"look","cue":"bar.c1","yaw_deg":12.5,"pitch_deg":-3,"roll_deg":0.4}
//	{"type":"display","v":1,"cmd":"patient_stop","id":"s1"}
//	{"type":"display","v":1,"cmd":"answer","id":"a3","scale":"craving","value":35}
//
// The server answers a ping at once with Pong.
const (
	CmdPing        = "ping"         // clock offset probe: answered with a pong
	CmdFrame       = "frame"        // a cue's first displayed frame on the headset
	CmdLook        = "look"         // head direction (≤ 10 Hz, on change)
	CmdPatientStop = "patient_stop" // the patient's stop (controller button or gaze)
	CmdAnswer      = "answer"       // the patient's rating, 0..100
)

// TypeDisplay is the "type" of every display message.
const TypeDisplay = "display"

// Limits of display messages.
const (
	MaxMessage = 4 << 10 // bytes: a display message is a handful of fields
	MaxID      = 64      // bytes of "id"
	MaxCue     = 128     // bytes of a cue id
	// MaxClient bounds t_client (seconds since the page loaded): 30 days.
	MaxClient = 30 * 24 * 3600.0
	// MaxSession bounds a session time a display may name: 7 days.
	MaxSession = 7 * 24 * time.Hour
	// MaxUncertainty bounds a frame report's stated clock uncertainty.
	MaxUncertainty = 10 * time.Second
)

// How far a frame report's time may lie from the session clock when it
// arrives (CheckTime): it is sent in the frame it describes, so it can only
// be a little in the past (the message's way here) and barely in the future
// (the clock estimate's error, the frame's predicted display time).
const (
	MaxFrameAge  = 5 * time.Second
	MaxFrameLead = 500 * time.Millisecond
)

// Error codes, the same words as the feed's "error" messages.
const (
	CodeTooLarge    = "too_large"
	CodeBadJSON     = "bad_json"
	CodeBadVersion  = "bad_version"
	CodeUnknownType = "unknown_type"
	CodeUnknownCmd  = "unknown_cmd"
	CodeMissingID   = "missing_id"
	CodeBadArgs     = "bad_args"
)

// Error is a refused display message: Code is one of the Code constants,
// Msg says what was wrong for a person, ID is the message's id when it was
// readable (to echo in the feed's "error").
type Error struct {
	Code string
	Msg  string
	ID   string
}

func (e *Error) Error() string { return "xr: " + e.Code + ": " + e.Msg }

// Msg is one validated display message. Only the fields of its Cmd are set.
type Msg struct {
	Cmd string // one of the Cmd constants
	ID  string // ping (required), patient_stop and answer (optional): echoed

	// ping and frame: the page's clock (seconds since it loaded), echoed in
	// the pong so the page can pair it with its send time.
	TClient float64

	// frame and look: the cue (its protocol id).
	Cue string
	// frame: the step index and the presentation it belongs to (the
	// session time of the step_start the page saw; -1 when it saw none).
	Step     int
	Instance float64
	// frame: the session time at which the frame was displayed, as the
	// page estimates it (its clock plus the offset from the pings), and
	// half the round trip of the ping the offset came from.
	TSession    time.Duration
	Uncertainty time.Duration
	XR          bool // frame: shown in an immersive session (false: inline page)
	// frame: instead of a displayed frame, the page refused the cue's
	// media (one of the Refused constants) and shows nothing of it; no
	// t_session then. The therapist should be told.
	Refused string

	// look: head direction, degrees. Yaw from the scene's opening
	// direction's reference (the picture's centre in a panorama), positive
	// to the right, −180..180; pitch positive looking down, −90..90 (as
	// the window records); roll positive tilting left, −180..180.
	YawDeg, PitchDeg, RollDeg float64

	// answer: the scale ("craving" or "suds") and the value, 0..100.
	Scale string
	Value int
}

// wire is the JSON shape every display message is read into. Pointers tell
// a missing field from a zero.
type wire struct {
	Type        string       `json:"type"`
	V           *int         `json:"v"`
	Cmd         string       `json:"cmd"`
	ID          *string      `json:"id"`
	TClient     *json.Number `json:"t_client"`
	Cue         *string      `json:"cue"`
	Step        *json.Number `json:"step"`
	Instance    *json.Number `json:"instance"`
	TSession    *json.Number `json:"t_session"`
	Uncertainty *json.Number `json:"uncertainty"`
	XR          *bool        `json:"xr"`
	Refused     *string      `json:"refused"`
	Yaw         *json.Number `json:"yaw_deg"`
	Pitch       *json.Number `json:"pitch_deg"`
	Roll        *json.Number `json:"roll_deg"`
	Scale       *string      `json:"scale"`
	Value       *json.Number `json:"value"`
}

// allowed lists the fields each command may carry (beside type, v, cmd).
var allowed = map[string]map[string]bool{
	CmdPing:        set("id", "t_client"),
	CmdFrame:       set("id", "cue", "step", "instance", "t_session", "uncertainty", "t_client", "xr", "refused"),
	CmdLook:        set("id", "cue", "yaw_deg", "pitch_deg", "roll_deg"),
	CmdPatientStop: set("id"),
	CmdAnswer:      set("id", "scale", "value"),
}

func set(keys ...string) map[string]bool {
	m := map[string]bool{"type": true, "v": true, "cmd": true}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// ParseDisplay validates one message from a display. It never panics; a
// refusal is an *Error. It refuses anything but the five display commands,
// unknown or duplicate keys (case-insensitively, as encoding/json matches
// them), values of the wrong type, NaN or infinite numbers, out-of-range
// angles, times and ratings, and over-long strings. CheckTime then checks a
// frame report's time against the session clock.
func ParseDisplay(raw []byte) (Msg, error) {
	if len(raw) > MaxMessage {
		return Msg{}, &Error{Code: CodeTooLarge, Msg: fmt.Sprintf("message is %d bytes; a display message is at most %d", len(raw), MaxMessage)}
	}
	keys, err := topKeys(raw)
	if err != nil {
		return Msg{}, &Error{Code: CodeBadJSON, Msg: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var w wire
	if err := dec.Decode(&w); err != nil {
		return Msg{}, &Error{Code: CodeBadJSON, Msg: "send one JSON object per frame: " + err.Error()}
	}
	var id string
	if w.ID != nil {
		id = *w.ID
		if len(id) > MaxID || !utf8.ValidString(id) {
			return Msg{}, &Error{Code: CodeMissingID, Msg: fmt.Sprintf("id must be a UTF-8 string of at most %d bytes", MaxID)}
		}
	}
	bad := func(format string, a ...any) (Msg, error) {
		return Msg{}, &Error{Code: CodeBadArgs, ID: id, Msg: fmt.Sprintf(format, a...)}
	}
	if w.V != nil && *w.V != 1 {
		return Msg{}, &Error{Code: CodeBadVersion, ID: id, Msg: fmt.Sprintf("protocol version %d is not supported; send \"v\":1", *w.V)}
	}
	if w.Type != TypeDisplay {
		return Msg{}, &Error{Code: CodeUnknownType, ID: id, Msg: fmt.Sprintf("a display may only send type %q, not %q", TypeDisplay, clip(w.Type))}
	}
	fields, ok := allowed[w.Cmd]
	if !ok {
		return Msg{}, &Error{Code: CodeUnknownCmd, ID: id, Msg: fmt.Sprintf("a display may send ping, frame, look, patient_stop or answer, not %q", clip(w.Cmd))}
	}
	for _, k := range keys {
		if !fields[k.name] {
			return bad("%s takes no field %q", w.Cmd, clip(k.name))
		}
		if numeric[k.name] && !k.number {
			return bad("%s must be a number", k.name)
		}
	}
	m := Msg{Cmd: w.Cmd, ID: id, Step: -1, Instance: -1}
	switch w.Cmd {
	case CmdPing:
		if id == "" {
			return Msg{}, &Error{Code: CodeMissingID, Msg: "a ping needs a non-empty \"id\" for its pong"}
		}
		if m.TClient, err = number(w.TClient, "t_client", 0, MaxClient, true); err != nil {
			return bad("%v", err)
		}
	case CmdFrame:
		if m.Cue, err = cueID(w.Cue); err != nil {
			return bad("%v", err)
		}
		step, err := number(w.Step, "step", -1, 1e6, true)
		if err != nil || step != math.Trunc(step) {
			return bad("step must be a step index (an integer from -1)")
		}
		m.Step = int(step)
		if w.Instance != nil {
			if m.Instance, err = number(w.Instance, "instance", -1, MaxSession.Seconds(), true); err != nil {
				return bad("%v", err)
			}
		}
		if w.Refused != nil {
			if !refusals[*w.Refused] {
				return bad("refused must be sha256, fetch or decode")
			}
			m.Refused = *w.Refused
		}
		ts, err := number(w.TSession, "t_session", 0, MaxSession.Seconds(), m.Refused == "")
		if err != nil {
			return bad("%v", err)
		}
		m.TSession = seconds(ts)
		if w.Uncertainty != nil {
			u, err := number(w.Uncertainty, "uncertainty", 0, MaxUncertainty.Seconds(), true)
			if err != nil {
				return bad("%v", err)
			}
			m.Uncertainty = seconds(u)
		}
		if w.TClient != nil {
			if m.TClient, err = number(w.TClient, "t_client", 0, MaxClient, true); err != nil {
				return bad("%v", err)
			}
		}
		if w.XR != nil {
			m.XR = *w.XR
		}
	case CmdLook:
		if m.Cue, err = cueID(w.Cue); err != nil {
			return bad("%v", err)
		}
		if m.YawDeg, err = number(w.Yaw, "yaw_deg", -180, 180, true); err != nil {
			return bad("%v", err)
		}
		if m.PitchDeg, err = number(w.Pitch, "pitch_deg", -90, 90, true); err != nil {
			return bad("%v", err)
		}
		if m.RollDeg, err = number(w.Roll, "roll_deg", -180, 180, false); err != nil {
			return bad("%v", err)
		}
	case CmdPatientStop:
	case CmdAnswer:
		if w.Scale == nil || (*w.Scale != "craving" && *w.Scale != "suds") {
			return bad("scale must be \"craving\" or \"suds\"")
		}
		m.Scale = *w.Scale
		v, err := number(w.Value, "value", 0, 100, true)
		if err != nil || v != math.Trunc(v) {
			return bad("value must be a whole number from 0 to 100")
		}
		m.Value = int(v)
	}
	return m, nil
}

// Why a page refused a cue's media (Msg.Refused).
const (
	RefusedSHA256 = "sha256" // the file's digest differs from the plan's (the manifest's)
	RefusedFetch  = "fetch"  // the file could not be fetched
	RefusedDecode = "decode" // the browser could not decode it
)

var refusals = map[string]bool{RefusedSHA256: true, RefusedFetch: true, RefusedDecode: true}

// CheckTime refuses a frame report whose time is far from the session
// clock now (when it arrived): more than MaxFrameAge before or MaxFrameLead
// after. Other messages carry no session time and pass.
func (m Msg) CheckTime(now time.Duration) error {
	if m.Cmd != CmdFrame || m.Refused != "" {
		return nil
	}
	if d := m.TSession - now; d > MaxFrameLead || d < -MaxFrameAge {
		return &Error{Code: CodeBadArgs, ID: m.ID, Msg: fmt.Sprintf("t_session %.3f s is %.3f s from the session clock (%.3f s); the page's clock estimate is off — it should re-sync with pings",
			m.TSession.Seconds(), d.Seconds(), now.Seconds())}
	}
	return nil
}

// Pong is the server's answer to a ping, sent at once: the ping's id and
// t_client echoed, and the session time when the ping was read.
//
//	{"type":"pong","v":1,"id":"p7","t_client":12.3456,"t_session":61.012345678}
func Pong(ping Msg, now time.Duration) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"type":"pong","v":1,"id":`...)
	id, _ := json.Marshal(ping.ID)
	b = append(b, id...)
	b = append(b, `,"t_client":`...)
	b = strconv.AppendFloat(b, ping.TClient, 'g', -1, 64)
	b = append(b, `,"t_session":`...)
	b = strconv.AppendFloat(b, now.Seconds(), 'f', 9, 64)
	return append(b, '}')
}

// number reads a finite JSON number in [lo, hi]; a missing one is an error
// when required, else 0.
func number(n *json.Number, name string, lo, hi float64, required bool) (float64, error) {
	if n == nil {
		if required {
			return 0, fmt.Errorf("%s is missing", name)
		}
		return 0, nil
	}
	v, err := strconv.ParseFloat(string(*n), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%s must be a finite number", name)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%s %g is outside %g..%g", name, v, lo, hi)
	}
	return v, nil
}

// cueID checks a cue id: 1..MaxCue bytes of printable UTF-8.
func cueID(s *string) (string, error) {
	if s == nil || *s == "" || len(*s) > MaxCue || !utf8.ValidString(*s) {
		return "", fmt.Errorf("cue must be a cue id of 1..%d bytes", MaxCue)
	}
	for _, r := range *s {
		if !unicode.IsPrint(r) {
			return "", errors.New("cue must be printable")
		}
	}
	return *s, nil
}

func seconds(s float64) time.Duration { return time.Duration(math.Round(s * float64(time.Second))) }

// numeric are the fields that must be JSON numbers (encoding/json would
// also read a string holding one into a json.Number).
var numeric = map[string]bool{"t_client": true, "step": true, "instance": true, "t_session": true,
	"uncertainty": true, "yaw_deg": true, "pitch_deg": true, "roll_deg": true, "value": true}

// msgKey is one key of a message and whether its value is a number.
type msgKey struct {
	name   string // lower-cased
	number bool
}

// topKeys lists the keys of the one JSON object in b, refusing anything
// else: not an object, trailing data, nested objects or arrays (a display
// message is flat), and a key given twice (compared case-insensitively,
// as encoding/json matches fields, so {"cmd":"look","CMD":"answer"} cannot
// mean one thing to us and another to a log reader).
func topKeys(b []byte) ([]msgKey, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("send one JSON object per frame: %v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("send one JSON object per frame")
	}
	var keys []msgKey
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("send one JSON object per frame: %v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("send one JSON object per frame")
		}
		low := strings.ToLower(key)
		if seen[low] {
			return nil, fmt.Errorf("key %q appears twice (keys are case-insensitive); send each key once", clip(key))
		}
		seen[low] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("send one JSON object per frame: %v", err)
		}
		_, isNum := tok.(json.Number)
		keys = append(keys, msgKey{low, isNum})
		if _, ok := tok.(json.Delim); ok {
			return nil, fmt.Errorf("%q: a display message holds no objects or arrays", clip(key))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("send one JSON object per frame: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("send one JSON object per frame, nothing after it")
	}
	return keys, nil
}

// clip shortens what a client sent before it goes into a message.
func clip(s string) string {
	const n = 40
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "?")
	if len(s) > n {
		i := n
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i] + "…"
	}
	return s
}

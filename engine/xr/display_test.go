package xr

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

func TestParseDisplayAccepts(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Msg
	}{
		{"ping", `{"type":"display","v":1,"cmd":"ping","id":"p7","t_client":12.3456}`,
			Msg{Cmd: CmdPing, ID: "p7", TClient: 12.3456, Step: -1, Instance: -1}},
		{"ping without v", `{"type":"display","cmd":"ping","id":"p1","t_client":0}`,
			Msg{Cmd: CmdPing, ID: "p1", Step: -1, Instance: -1}},
		{"frame", `{"type":"display","v":1,"cmd":"frame","cue":"bar.c1","step":1,"instance":60.25,"t_session":61.0331,"uncertainty":0.0008,"t_client":75.2101,"xr":true}`,
			Msg{Cmd: CmdFrame, Cue: "bar.c1", Step: 1, Instance: 60.25, TSession: 61033100 * time.Microsecond, Uncertainty: 800 * time.Microsecond, TClient: 75.2101, XR: true}},
		{"frame, instance unknown", `{"type":"display","cmd":"frame","cue":"c","step":0,"instance":-1,"t_session":3}`,
			Msg{Cmd: CmdFrame, Cue: "c", Step: 0, Instance: -1, TSession: 3 * time.Second}},
		{"frame refused", `{"type":"display","cmd":"frame","cue":"c","step":-1,"refused":"sha256"}`,
			Msg{Cmd: CmdFrame, Cue: "c", Step: -1, Instance: -1, Refused: RefusedSHA256}},
		{"look", `{"type":"display","v":1,"cmd":"look","cue":"bar.c1","yaw_deg":-180,"pitch_deg":90,"roll_deg":0.4}`,
			Msg{Cmd: CmdLook, Cue: "bar.c1", YawDeg: -180, PitchDeg: 90, RollDeg: 0.4, Step: -1, Instance: -1}},
		{"look without roll", `{"type":"display","cmd":"look","cue":"x","yaw_deg":12.5,"pitch_deg":-3}`,
			Msg{Cmd: CmdLook, Cue: "x", YawDeg: 12.5, PitchDeg: -3, Step: -1, Instance: -1}},
		{"stop", `{"type":"display","v":1,"cmd":"patient_stop","id":"s1"}`,
			Msg{Cmd: CmdPatientStop, ID: "s1", Step: -1, Instance: -1}},
		{"stop without id", `{"type":"display","cmd":"patient_stop"}`,
			Msg{Cmd: CmdPatientStop, Step: -1, Instance: -1}},
		{"answer", `{"type":"display","v":1,"cmd":"answer","id":"a3","scale":"craving","value":35}`,
			Msg{Cmd: CmdAnswer, ID: "a3", Scale: "craving", Value: 35, Step: -1, Instance: -1}},
		{"answer suds 100.0", `{"type":"display","cmd":"answer","scale":"suds","value":100.0}`,
			Msg{Cmd: CmdAnswer, Scale: "suds", Value: 100, Step: -1, Instance: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDisplay([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseDisplayRefuses(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name, in, code string
	}{
		{"not JSON", `{"type":`, CodeBadJSON},
		{"an array", `[1]`, CodeBadJSON},
		{"two objects", `{"type":"display","cmd":"patient_stop"}{}`, CodeBadJSON},
		{"trailing garbage", `{"type":"display","cmd":"patient_stop"} x`, CodeBadJSON},
		{"duplicate cmd", `{"type":"display","cmd":"look","cmd":"patient_stop"}`, CodeBadJSON},
		{"duplicate, other case", `{"type":"display","cmd":"patient_stop","CMD":"answer"}`, CodeBadJSON},
		{"nested object", `{"type":"display","cmd":"patient_stop","id":{"a":1}}`, CodeBadJSON},
		{"too large", `{"type":"display","cmd":"patient_stop","id":"` + strings.Repeat("a", MaxMessage) + `"}`, CodeTooLarge},
		{"a therapist command", `{"type":"command","v":1,"id":"1","cmd":"pause"}`, CodeUnknownType},
		{"display end", `{"type":"display","cmd":"end"}`, CodeUnknownCmd},
		{"display marker", `{"type":"display","cmd":"marker","text":"x"}`, CodeUnknownCmd},
		{"display panic", `{"type":"display","cmd":"panic"}`, CodeUnknownCmd},
		{"no type", `{"cmd":"ping","id":"1","t_client":1}`, CodeUnknownType},
		{"version 2", `{"type":"display","v":2,"cmd":"patient_stop"}`, CodeBadVersion},
		{"unknown field", `{"type":"display","cmd":"patient_stop","args":1}`, CodeBadArgs},
		{"field of another cmd", `{"type":"display","cmd":"patient_stop","value":3}`, CodeBadArgs},
		{"ping without id", `{"type":"display","cmd":"ping","t_client":1}`, CodeMissingID},
		{"long id", `{"type":"display","cmd":"patient_stop","id":"` + long + `"}`, CodeMissingID},
		{"ping without t_client", `{"type":"display","cmd":"ping","id":"1"}`, CodeBadArgs},
		{"ping t_client negative", `{"type":"display","cmd":"ping","id":"1","t_client":-1}`, CodeBadArgs},
		{"ping t_client huge", `{"type":"display","cmd":"ping","id":"1","t_client":1e300}`, CodeBadArgs},
		{"ping t_client string", `{"type":"display","cmd":"ping","id":"1","t_client":"1"}`, CodeBadArgs},
		{"look roll null", `{"type":"display","cmd":"look","cue":"c","yaw_deg":0,"pitch_deg":0,"roll_deg":null}`, CodeBadArgs},
		{"ping t_client NaN", `{"type":"display","cmd":"ping","id":"1","t_client":NaN}`, CodeBadJSON},
		{"frame without time", `{"type":"display","cmd":"frame","cue":"c","step":0}`, CodeBadArgs},
		{"frame without cue", `{"type":"display","cmd":"frame","step":0,"t_session":1}`, CodeBadArgs},
		{"frame long cue", `{"type":"display","cmd":"frame","cue":"` + long + `","step":0,"t_session":1}`, CodeBadArgs},
		{"frame cue with control", `{"type":"display","cmd":"frame","cue":"a\u0007","step":0,"t_session":1}`, CodeBadArgs},
		{"frame step fraction", `{"type":"display","cmd":"frame","cue":"c","step":0.5,"t_session":1}`, CodeBadArgs},
		{"frame step -2", `{"type":"display","cmd":"frame","cue":"c","step":-2,"t_session":1}`, CodeBadArgs},
		{"frame negative time", `{"type":"display","cmd":"frame","cue":"c","step":0,"t_session":-0.5}`, CodeBadArgs},
		{"frame far time", `{"type":"display","cmd":"frame","cue":"c","step":0,"t_session":1e12}`, CodeBadArgs},
		{"frame bad refusal", `{"type":"display","cmd":"frame","cue":"c","step":0,"refused":"meh"}`, CodeBadArgs},
		{"frame uncertainty huge", `{"type":"display","cmd":"frame","cue":"c","step":0,"t_session":1,"uncertainty":60}`, CodeBadArgs},
		{"look yaw out of range", `{"type":"display","cmd":"look","cue":"c","yaw_deg":181,"pitch_deg":0}`, CodeBadArgs},
		{"look pitch out of range", `{"type":"display","cmd":"look","cue":"c","yaw_deg":0,"pitch_deg":-90.5}`, CodeBadArgs},
		{"look roll out of range", `{"type":"display","cmd":"look","cue":"c","yaw_deg":0,"pitch_deg":0,"roll_deg":720}`, CodeBadArgs},
		{"look null yaw", `{"type":"display","cmd":"look","cue":"c","yaw_deg":null,"pitch_deg":0}`, CodeBadArgs},
		{"look huge exponent", `{"type":"display","cmd":"look","cue":"c","yaw_deg":1e999,"pitch_deg":0}`, CodeBadArgs},
		{"answer 101", `{"type":"display","cmd":"answer","scale":"craving","value":101}`, CodeBadArgs},
		{"answer fraction", `{"type":"display","cmd":"answer","scale":"craving","value":3.5}`, CodeBadArgs},
		{"answer no value", `{"type":"display","cmd":"answer","scale":"craving"}`, CodeBadArgs},
		{"answer other scale", `{"type":"display","cmd":"answer","scale":"mood","value":3}`, CodeBadArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseDisplay([]byte(tc.in))
			var e *Error
			require.True(t, errors.As(err, &e), "want a refusal, got %v", err)
			assert.Equal(t, tc.code, e.Code, e.Msg)
		})
	}
}

func TestCheckTime(t *testing.T) {
	now := 100 * time.Second
	for _, tc := range []struct {
		at time.Duration
		ok bool
	}{
		{now, true}, {now - MaxFrameAge, true}, {now + MaxFrameLead, true},
		{now - MaxFrameAge - time.Millisecond, false}, {now + MaxFrameLead + time.Millisecond, false},
	} {
		err := Msg{Cmd: CmdFrame, TSession: tc.at}.CheckTime(now)
		assert.Equal(t, tc.ok, err == nil, "t %v: %v", tc.at, err)
	}
	assert.NoError(t, Msg{Cmd: CmdLook}.CheckTime(now))
	assert.NoError(t, Msg{Cmd: CmdFrame, Refused: RefusedSHA256}.CheckTime(now))
}

func TestPong(t *testing.T) {
	b := Pong(Msg{Cmd: CmdPing, ID: `p"1`, TClient: 12.3456}, 61012345678*time.Nanosecond)
	assert.JSONEq(t, `{"type":"pong","v":1,"id":"p\"1","t_client":12.3456,"t_session":61.012345678}`, string(b))
}

func TestEvents(t *testing.T) {
	p := &Plan{V: 1, Steps: []PlanStep{{ID: "s", Cues: []PlanCue{
		{ID: "pic", Kind: "image", File: "a.jpg"}, {ID: "snd", Kind: "sound", File: "a.wav"}}}}}
	on, ok := p.Onset(Msg{Cmd: CmdFrame, Cue: "pic", TSession: time.Second})
	require.True(t, ok)
	assert.Equal(t, event.CueOnset{Channel: "visual", Cue: "pic", File: "a.jpg", Modality: "image", Source: SourceHeadset}, on)
	for _, m := range []Msg{{Cmd: CmdFrame, Cue: "snd"}, {Cmd: CmdFrame, Cue: "nope"}, {Cmd: CmdFrame, Cue: "pic", Refused: RefusedSHA256}, {Cmd: CmdLook, Cue: "pic"}} {
		_, ok := p.Onset(m)
		assert.False(t, ok, "%+v", m)
	}
	assert.Equal(t, event.Look{Cue: "pic", YawDeg: 12.3, PitchDeg: -4, RollDeg: 0.1},
		Msg{Cmd: CmdLook, Cue: "pic", YawDeg: 12.34, PitchDeg: -3.96, RollDeg: 0.06}.Look())
}

// FuzzParseDisplay: never a panic, and what is accepted is within range.
func FuzzParseDisplay(f *testing.F) {
	for _, s := range []string{
		`{"type":"display","v":1,"cmd":"ping","id":"p7","t_client":12.3456}`,
		`{"type":"display","cmd":"frame","cue":"bar.c1","step":1,"instance":60.25,"t_session":61.0331,"uncertainty":0.0008,"t_client":75.2,"xr":true}`,
		`{"type":"display","cmd":"frame","cue":"c","step":-1,"refused":"sha256"}`,
		`{"type":"display","cmd":"look","cue":"bar.c1","yaw_deg":12.5,"pitch_deg":-3,"roll_deg":0.4}`,
		`{"type":"display","cmd":"patient_stop","id":"s1"}`,
		`{"type":"display","cmd":"answer","scale":"craving","value":35}`,
		`{"type":"display","cmd":"look","cmd":"answer"}`,
		`{"type":"command","id":"1","cmd":"end"}`,
		`{"type":"display","cmd":"look","cue":"c","yaw_deg":1e999,"pitch_deg":0}`,
		`[{"a":[1,2,{"b":null}]}]`, ``, `{`, `"x"`, `{"type":"display","cmd":"ping","id":"\ud800","t_client":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseDisplay(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" {
				t.Fatalf("refusal is not an *Error with a code: %v", err)
			}
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		finite := func(xs ...float64) bool {
			for _, x := range xs {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return false
				}
			}
			return true
		}
		switch m.Cmd {
		case CmdPing:
			if m.ID == "" || m.TClient < 0 || m.TClient > MaxClient || !finite(m.TClient) {
				t.Fatalf("bad ping accepted: %+v", m)
			}
		case CmdFrame:
			if m.Cue == "" || len(m.Cue) > MaxCue || m.TSession < 0 || m.TSession > MaxSession || m.Step < -1 {
				t.Fatalf("bad frame accepted: %+v", m)
			}
		case CmdLook:
			if !finite(m.YawDeg, m.PitchDeg, m.RollDeg) || math.Abs(m.YawDeg) > 180 || math.Abs(m.PitchDeg) > 90 || math.Abs(m.RollDeg) > 180 {
				t.Fatalf("bad look accepted: %+v", m)
			}
		case CmdAnswer:
			if m.Value < 0 || m.Value > 100 || (m.Scale != "craving" && m.Scale != "suds") {
				t.Fatalf("bad answer accepted: %+v", m)
			}
		case CmdPatientStop:
		default:
			t.Fatalf("accepted command %q", m.Cmd)
		}
		if len(m.ID) > MaxID {
			t.Fatalf("long id accepted")
		}
	})
}

package feed

import (
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// FuzzParseClientMessage: whatever a client sends, the parser answers
// without panicking, accepts only valid commands and refuses with a
// well-formed error message.
func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"command","v":1,"id":"1","cmd":"pause"}`,
		`{"type":"command","id":"m","cmd":"marker","args":{"text":"note"}}`,
		`{"type":"command","id":"m","cmd":"marker","args":{"text":null}}`,
		`{"type":"command","v":null,"id":"1","cmd":"end"}`,
		`{"type":"command","v":1e400,"id":"1","cmd":"end"}`,
		`{"TYPE":"command","ID":"1","CMD":"next"}`,
		`{"type":"command","id":"\ud800","cmd":"panic"}`,
		`{"type":"x"}`, `[]`, `null`, `""`, `{`, ``, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cmd, perr := parseClientMessage(b)
		if perr == nil {
			require.True(t, validCmds[cmd.Cmd], "accepted command %q", cmd.Cmd)
			require.NotEmpty(t, cmd.ID)
			require.LessOrEqual(t, len(cmd.ID), maxIDLen)
			require.True(t, utf8.ValidString(cmd.ID))
			if cmd.Cmd == CmdMarker {
				text, _ := cmd.Args["text"].(string)
				require.NotEmpty(t, text)
			}
			require.True(t, json.Valid(encodeAck(Ack{ID: cmd.ID, OK: true})))
			return
		}
		require.NotEmpty(t, perr.Code)
		require.NotEmpty(t, perr.Msg)
		require.LessOrEqual(t, len(perr.ID), maxIDLen)
		out := encodeError(perr)
		require.True(t, json.Valid(out), "%q", out)
	})
}

// FuzzRequestChecks: Host, Origin and Authorization are attacker-chosen;
// the checks never panic and never accept a foreign port or origin.
func FuzzRequestChecks(f *testing.F) {
	f.Add("127.0.0.1:7878", "http://127.0.0.1:7878", "Bearer abc", "", "token=abc")
	f.Add("localhost:7878", "null", "bearer ", "websocket", "token=")
	f.Add("[::1]:7878", "https://dash.example:443/", "Basic xyz", "", "token="+testToken)
	f.Add("[::1", "http://[::1]:7878", "", "", "token=%zz")
	f.Add("evil.example:7878", "http://evil.example:7878", "Bearer "+testToken, "", "")
	f.Add("127.0.0.1", "http://u:p@127.0.0.1:7878", "", "cors", "token=a&token="+testToken)
	s, err := New(Config{Token: testToken, AllowedOrigins: []string{"https://dash.example"}, Logf: func(string, ...any) {}})
	require.NoError(f, err)
	s.port, s.hostIP = "7878", net.ParseIP("127.0.0.1")
	f.Fuzz(func(t *testing.T, host, origin, auth, fetchMode, query string) {
		if s.hostAllowed(host) {
			_, port, err := net.SplitHostPort(host)
			require.NoError(t, err, "accepted %q without the port", host)
			require.Equal(t, "7878", port)
		}
		r := &http.Request{Host: host, Header: http.Header{}, URL: &url.URL{Path: "/ws", RawQuery: query}}
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if fetchMode != "" {
			r.Header.Set("Sec-Fetch-Mode", fetchMode)
		}
		r.Header.Set("Authorization", auth)
		if s.originAllowed(r) && origin != "" {
			n, ok := normalizeOrigin(origin)
			require.True(t, ok)
			own, _ := normalizeOrigin("http://" + host)
			require.True(t, n == "https://dash.example" || n == own, "accepted origin %q for host %q", origin, host)
		}
		if s.authorized(r) {
			byQuery := r.URL.Query().Get("token") == testToken
			byHeader := len(auth) > 7 && strings.TrimSpace(auth[7:]) == testToken
			require.True(t, byQuery || byHeader, "authorized with %q / %q", query, auth)
		}
	})
}

// FuzzAppendSamples: the hand-written encoder always produces valid JSON
// that decodes back to what went in, whatever the names and numbers.
func FuzzAppendSamples(f *testing.F) {
	f.Add("bitalino", "eda", 5.5, math.NaN(), uint32(3), int64(1000), 2)
	f.Add("we\"ird\x00\xff", "\u2028", math.Inf(-1), -0.0, uint32(math.MaxUint32), int64(-5), 8)
	f.Add("", "", 1e308, 5e-324, uint32(0), int64(math.MaxInt64), 0)
	f.Fuzz(func(t *testing.T, device, label string, a, b float64, seq uint32, ns int64, n int) {
		n = ((n % (sensors.MaxChannels + 1)) + sensors.MaxChannels + 1) % (sensors.MaxChannels + 1)
		s := sensors.Sample{Device: device, T: time.Duration(ns), Seq: seq, N: n}
		for i := range n {
			s.Values[i] = a
			if i%2 == 1 {
				s.Values[i] = b
			}
		}
		out := appendSamples(nil, device, []string{label}, []sensors.Sample{s, s})
		require.True(t, json.Valid(out), "%q", out)
		var got wireSamples
		require.NoError(t, json.Unmarshal(out, &got))
		var wantDev string
		require.NoError(t, json.Unmarshal(appendJSONString(nil, device), &wantDev))
		assert.Equal(t, wantDev, got.Device)
		require.Len(t, got.Channels, n)
		require.Len(t, got.Values, n)
		assert.Equal(t, []uint32{seq, seq}, got.Seq)
		for i, col := range got.Values {
			require.Len(t, col, 2)
			want := s.Values[i]
			if math.IsNaN(want) || math.IsInf(want, 0) {
				assert.Nil(t, col[0])
			} else {
				require.NotNil(t, col[0])
				assert.Equal(t, onWire(want), *col[0], "values carry %d significant digits (whole numbers all)", valueDigits)
			}
		}
	})
}

// FuzzEncodeEvent: whatever a recording holds (any kind, any data, known
// or not), the event message is valid JSON with the kind and step it had.
func FuzzEncodeEvent(f *testing.F) {
	for _, k := range event.Kinds() {
		f.Add(string(k), `{}`, int64(1500), 2)
	}
	f.Add("cue_onset", `{"cue":"beer","channel":"visual"}`, int64(-1), -1)
	f.Add("alert", `{"limit":"max_step","message":"x","source":"session"}`, int64(0), 0)
	f.Add("future", `{"b":[1,2],"a":null}`, int64(math.MaxInt64), 7)
	f.Add("future", `not json`, int64(0), 0)
	f.Add("rating", `{"value":"high"}`, int64(0), 0)
	f.Fuzz(func(t *testing.T, kind, raw string, ns int64, step int) {
		d, err := event.UnmarshalData(event.Kind(kind), []byte(raw))
		if err != nil {
			return // a known kind with data that does not fit: the reader refuses it
		}
		e := event.Event{T: time.Duration(ns), Step: step, Data: d}
		out := encodeEvent(&e)
		require.True(t, json.Valid(out), "%q", out)
		var m struct {
			Type      string
			Kind      string
			Step      int
			Data      json.RawMessage
			DataError string `json:"data_error"`
		}
		require.NoError(t, json.Unmarshal(out, &m))
		assert.Equal(t, "event", m.Type)
		var wantKind string // invalid UTF-8 becomes U+FFFD, as encoding/json does
		require.NoError(t, json.Unmarshal(appendJSONString(nil, kind), &wantKind))
		assert.Equal(t, wantKind, m.Kind)
		assert.Equal(t, step, m.Step)
		assert.False(t, m.Data != nil && m.DataError != "", "data and data_error: %s", out)
	})
}

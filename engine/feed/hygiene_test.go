package feed

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// onWire is what a sample value reads as after the feed's compact encoding.
func onWire(f float64) float64 {
	v, err := strconv.ParseFloat(string(appendFloat(nil, f)), 64)
	if err != nil {
		panic(err)
	}
	return v
}

func TestDuplicateKey(t *testing.T) {
	tests := []struct {
		in, want string
		dup      bool
	}{
		{`{"type":"command","id":"1","cmd":"pause"}`, "", false},
		{`{"cmd":"marker","cmd":"end"}`, "cmd", true},
		{`{"cmd":"marker","CMD":"end"}`, "CMD", true}, // encoding/json matches keys case-insensitively
		{`{"args":{"text":"a","text":"b"}}`, "text", true},
		{`{"a":{"x":1},"b":{"x":1}}`, "", false}, // the same key in two objects is fine
		{`{"a":[{"k":1},{"k":2}],"k":3}`, "", false},
		{`{"a":[{"k":1,"k":2}]}`, "k", true},
		{`{"a":{},"b":[],"c":[[]],"d":{"e":{}}}`, "", false},
		{`[{"a":1},{"a":1}]`, "", false},
		{`{"a":"\u0063md","cmd":1}`, "", false},
		{`{"":0,"":1}`, "", true},                   // the empty key too (found by fuzzing)
		{`{"c\u006dd":"x","cmd":"y"}`, "cmd", true}, // escapes decode to the same key
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, dup, err := duplicateKey([]byte(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.dup, dup)
			assert.Equal(t, tt.want, got)
		})
	}
	_, _, err := duplicateKey([]byte(strings.Repeat("[", 100) + strings.Repeat("]", 100)))
	assert.Error(t, err, "nesting is bounded")
}

func TestParseRefusesDuplicateKeys(t *testing.T) {
	tests := []struct {
		name, in, id string
	}{
		{"two cmds", `{"type":"command","id":"d1","cmd":"marker","cmd":"end","args":{"text":"x"}}`, "d1"},
		{"case-folded", `{"type":"command","id":"d2","cmd":"pause","Cmd":"end"}`, "d2"},
		{"inside args", `{"type":"command","id":"d3","cmd":"marker","args":{"text":"a","TEXT":"b"}}`, "d3"},
		{"two ids: none echoed", `{"type":"command","id":"a","id":"b","cmd":"end"}`, ""},
		{"two types", `{"type":"x","type":"command","id":"d4","cmd":"end"}`, "d4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, perr := parseClientMessage([]byte(tt.in))
			require.NotNil(t, perr)
			assert.Equal(t, codeBadJSON, perr.Code)
			assert.Contains(t, perr.Msg, "appears twice")
			assert.Equal(t, tt.id, perr.ID)
		})
	}
}

// A command with a duplicate key over a real socket: an error reply, and
// the session sees nothing.
func TestDuplicateKeyCommandNotApplied(t *testing.T) {
	var calls atomic.Int32
	s, _ := startServer(t, Config{OnCommand: func(Command) Ack { calls.Add(1); return Ack{OK: true} }}, nil)
	c := dial(t, s)
	require.Equal(t, "hello", readMsg(t, c).typ())
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(`{"type":"command","v":1,"id":"x","cmd":"marker","cmd":"end","args":{"text":"hi"}}`)))
	m := readType(t, c, "error")
	assert.Equal(t, codeBadJSON, m["code"])
	assert.Equal(t, "x", m["id"])
	assert.Contains(t, m["error"], `"cmd" appears twice`)
	// A valid command afterwards is the first the session sees.
	sendJSON(t, c, map[string]any{"type": "command", "id": "y", "cmd": "pause"})
	ack := readType(t, c, "ack")
	assert.Equal(t, "y", ack["id"])
	assert.EqualValues(t, 1, calls.Load())
}

// FuzzDuplicateKey: never panics; JSON that encoding/json wrote (a map: no
// duplicates) is never refused; a key written twice always is.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,{"c":2}]}}`, `[]`, `"x"`, `{"a":1,"a":2}`, `{`, `{"a":}`, `[[[[`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, dup, err := duplicateKey(b) // any input: no panic
		if !json.Valid(b) || err != nil {
			return
		}
		var v any
		require.NoError(t, json.Unmarshal(b, &v))
		if dup {
			return
		}
		if m, ok := v.(map[string]any); ok {
			// No duplicate: every key seen once, so re-encoding loses none
			// unless two differ only in case (which counts as a duplicate).
			seen := map[string]bool{}
			for k := range m {
				require.False(t, seen[strings.ToLower(k)], "keys %q differ only in case and were not refused", k)
				seen[strings.ToLower(k)] = true
			}
			// Writing one of its keys twice is refused.
			for k := range m {
				dup := append([]byte(`{`+strconv.Quote(k)+`:0,`), b[1:]...)
				if json.Valid(dup) && strconv.Quote(k) == string(appendJSONString(nil, k)) {
					_, found, err := duplicateKey(dup)
					require.NoError(t, err)
					require.True(t, found, "%s", dup)
				}
				break
			}
		}
	})
}

// The sender of "end" gets its ack, then every dashboard gets the final
// state and a 1001 close that says the session ended — even when the
// session closes the feed the moment it applies "end" (1 in 3 runs lost the
// ack before).
func TestEndAckThenSessionEndedClose(t *testing.T) {
	for i := range 10 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			var s *Server
			var state atomic.Value
			state.Store(map[string]any{"status": "running"})
			var closed sync.WaitGroup
			s, _ = startServer(t, Config{
				ObserverToken: obsToken,
				State:         func() any { return state.Load() },
				OnCommand: func(c Command) Ack {
					if c.Cmd == CmdEnd {
						state.Store(map[string]any{"status": "ended"})
						closed.Add(1)
						go func() { defer closed.Done(); s.Close() }() // as cueroom run does once the session is over
						// The worst case: the feed is closing before this
						// handler has returned.
						for !isClosed(s) {
							runtime.Gosched()
						}
					}
					return Ack{OK: true}
				},
			}, nil)
			t.Cleanup(closed.Wait)
			ctl := dial(t, s)
			obs, _, err := dialRaw(t, s, dialOpts{token: obsToken})
			require.NoError(t, err)
			for _, c := range []*websocket.Conn{ctl, obs} {
				readType(t, c, "state")
			}
			sendJSON(t, ctl, map[string]any{"type": "command", "id": "e1", "cmd": "end"})

			var sawAck bool
			for _, c := range []*websocket.Conn{ctl, obs} {
				var lastStatus string
				for {
					require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
					_, b, err := c.ReadMessage()
					if err != nil {
						var ce *websocket.CloseError
						require.ErrorAs(t, err, &ce)
						assert.Equal(t, websocket.CloseGoingAway, ce.Code)
						assert.Equal(t, CloseSessionEnded, ce.Text)
						break
					}
					var m struct {
						Type  string
						ID    string
						OK    bool
						State struct{ Status string }
					}
					require.NoError(t, json.Unmarshal(b, &m))
					switch m.Type {
					case "ack":
						sawAck = sawAck || (c == ctl && m.ID == "e1" && m.OK)
					case "state":
						lastStatus = m.State.Status
					}
				}
				assert.Equal(t, "ended", lastStatus, "the last state every page saw")
			}
			assert.True(t, sawAck, "the sender of end got its ack before the close")
		})
	}
}

func isClosed(s *Server) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// A session's end sends every dashboard a summary, and one that connects
// afterwards gets it too.
func TestSummaryOnEnd(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	b, _ := runBus(t, s)
	b.Publish(bus.Msg{Stream: &physioStream})
	ev := func(sec float64, step int, d event.Data) {
		b.Publish(bus.Msg{Event: &event.Event{T: time.Duration(sec * float64(time.Second)), Step: step, Data: d}})
	}
	ev(1, -1, event.SessionStart{Title: "x"})
	ev(1, 0, event.StepStart{ID: "base", Name: "Baseline"})
	ev(61, 1, event.StepStart{ID: "bar", Name: "Bar", Intensity: 3})
	for i, hr := range []float64{70, 95.456, 80} {
		p := sensors.Sample{Device: "physio", T: time.Duration(62+i) * time.Second, N: 5}
		p.Values = [sensors.MaxChannels]float64{hr, 5 + float64(i), math.NaN(), -1, 1}
		b.Publish(bus.Msg{Sample: &p})
	}
	ev(70, 1, event.Rating{Answered: true, Scale: "craving", Value: event.Int(40)})
	ev(80, 1, event.Command{Cmd: "panic", By: "c1"})
	ev(81, 1, event.PatientStop{By: "patient"})
	ev(82, -1, event.Alert{Source: "sound", Message: "no sound device", Level: event.LevelInfo})
	ev(83, -1, event.Alert{Source: "arousal", Message: "high"})
	ev(91, -1, event.SessionEnd{Reason: "therapist"})

	check := func(c *websocket.Conn) {
		m := readType(t, c, "summary")
		b, err := json.Marshal(m["summary"])
		require.NoError(t, err)
		var sum Summary
		require.NoError(t, json.Unmarshal(b, &sum))
		assert.InDelta(t, 91, sum.Duration, 1e-9, "the session clock at the end, as the report counts it (the session started at 1 s: a --hold wait)")
		assert.Equal(t, "therapist", sum.Reason)
		require.Len(t, sum.Steps, 2)
		assert.Equal(t, "Bar", sum.Steps[1].Name)
		assert.Equal(t, Peak{Value: 95.46, T: 63}, sum.Peaks["hr"])
		assert.Equal(t, Peak{Value: 7, T: 64}, sum.Peaks["scl"])
		assert.NotContains(t, sum.Peaks, "arousal", "never measured")
		require.Len(t, sum.Ratings, 1)
		assert.Equal(t, 40, *sum.Ratings[0].Value)
		assert.Equal(t, []float64{80}, sum.Panics)
		assert.Equal(t, []float64{81}, sum.Stops)
		assert.Equal(t, 1, sum.Alerts, "setup notices (info) are not counted")
	}
	first := dial(t, s)
	check(first)
	check(dial(t, s)) // connected after the end
}

// The history a dashboard gets on connect stays under 1 MiB whatever the
// rate: full rate for the last seconds, thinned before; every event kept.
func TestHistoryOnConnectBounded(t *testing.T) {
	six := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: 1000, Channels: []sensors.Channel{
		{Label: "eda"}, {Label: "ecg"}, {Label: "ppg"}, {Label: "a4"}, {Label: "a5"}, {Label: "a6"}}}
	tests := []struct {
		name     string
		histFull time.Duration
		wantThin bool
	}{
		// Everything older than "now" is thinned: 2 samples per second per device.
		{"thinned", 0, true},
		// Everything is young (published in a burst): the byte budget
		// leaves out the oldest batches.
		{"budget", time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := startServer(t, Config{}, func(l *limits) { l.histFull = tt.histFull })
			b, _ := runBus(t, s)
			b.Publish(bus.Msg{Stream: &six})
			// A first client sees it all live: once it has, Run has handled everything.
			first := dial(t, s)
			seen := make(chan struct{})
			go func() { defer close(seen); collect(t, first, 0) }()
			const secs = 120
			events := 0
			for i := range secs * 1000 {
				sm := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Millisecond, Seq: uint32(i), N: 6}
				for c := range 6 {
					sm.Values[c] = 1000 * math.Sin(float64(i+c)/7) // 7 significant digits each
				}
				b.Publish(bus.Msg{Sample: &sm})
				if i%5000 == 0 {
					b.Publish(marker(fmt.Sprint("m", events)))
					events++
				}
			}
			b.Publish(marker("last"))
			events++
			<-seen

			c := dial(t, s)
			b.Publish(marker("sentinel"))
			bytes, samples, thin := 0, 0, 0
			var markers []string
			for {
				require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
				_, raw, err := c.ReadMessage()
				require.NoError(t, err)
				var m struct {
					Type string
					Seq  []uint32
					Thin bool
					Data struct{ Text string }
				}
				require.NoError(t, json.Unmarshal(raw, &m))
				if m.Type == "event" && m.Data.Text == "sentinel" {
					break
				}
				bytes += len(raw)
				switch m.Type {
				case "samples":
					samples += len(m.Seq)
					if m.Thin {
						thin += len(m.Seq)
					}
				case "event":
					markers = append(markers, m.Data.Text)
				}
			}
			t.Logf("backlog %d bytes, %d samples (%d thinned)", bytes, samples, thin)
			assert.LessOrEqual(t, bytes, 1<<20)
			assert.Len(t, markers, events, "every event is kept")
			assert.Positive(t, samples)
			if tt.wantThin {
				assert.InDelta(t, 2*secs, thin, 4, "2 samples a second")
			} else {
				assert.Zero(t, thin)
			}
		})
	}
}

func TestHistoryThinsAfterFullWindow(t *testing.T) {
	var h history
	t0 := time.Unix(0, 0)
	full := func(i int) []byte { return []byte(fmt.Sprintf("full%d", i)) }
	for i := range 10 {
		h.add(t0.Add(time.Duration(i)*time.Second), histItem{msg: full(i), thin: []byte(fmt.Sprint(i)), sample: true}, time.Minute, 3*time.Second, 1<<20)
	}
	h.add(t0.Add(10*time.Second), histItem{msg: []byte("ev"), thin: []byte("ev")}, time.Minute, 3*time.Second, 1<<20)
	var got []string
	for _, m := range h.appendTo(nil, t0.Add(10*time.Second), time.Minute, 1<<20) {
		got = append(got, string(m))
	}
	assert.Equal(t, []string{"0", "1", "2", "3", "4", "5", "6", "full7", "full8", "full9", "ev"}, got)
	// A budget leaves out the oldest samples, never the event.
	got = got[:0]
	for _, m := range h.appendTo(nil, t0.Add(10*time.Second), time.Minute, 17) {
		got = append(got, string(m))
	}
	assert.Equal(t, []string{"full7", "full8", "full9", "ev"}, got)
}

func TestCompactNumbers(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{5.125, "5.125"},
		{0.1 + 0.2, "0.3"},
		{72.123456789, "72.12346"},
		{-0.000123456789, "-0.0001234568"},
		{16777215, "16777215"}, // a 24-bit ADC count, exact
		{-3, "-3"},
		{1e20, "1e+20"},
		{math.NaN(), "null"},
		{math.Inf(1), "null"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendFloat(nil, tt.in)), "%v", tt.in)
	}
	times := []struct {
		in   float64
		want string
	}{
		{12.000999999999999, "12.001"},
		{3600.123456789, "3600.123457"},
		{0, "0"},
	}
	for _, tt := range times {
		assert.Equal(t, tt.want, string(appendTime(nil, tt.in)), "%v", tt.in)
	}
	// Over a realistic batch, no number carries float noise.
	var ss []sensors.Sample
	for i := range 100 {
		sm := sensors.Sample{Device: "d", T: time.Duration(i) * 1001 * time.Microsecond, N: 2}
		sm.Values[0], sm.Values[1] = 5+float64(i)*0.01, math.Sin(float64(i))
		ss = append(ss, sm)
	}
	out := string(appendSamples(nil, "d", []string{"a", "b"}, ss))
	for _, num := range strings.FieldsFunc(out, func(r rune) bool { return strings.ContainsRune(`[],:{}"`, r) }) {
		if _, err := strconv.ParseFloat(num, 64); err == nil {
			assert.LessOrEqual(t, len(strings.TrimLeft(strings.Split(strings.TrimPrefix(num, "-"), "e")[0], "0.")), 10, "%s in %s", num, out[:80])
		}
	}
}

func TestPickHost(t *testing.T) {
	a := func(iface, ip string) ifaceAddr { return ifaceAddr{iface: iface, ip: net.ParseIP(ip)} }
	tests := []struct {
		name   string
		addrs  []ifaceAddr
		v4only bool
		want   string
	}{
		{"LAN v4", []ifaceAddr{a("eth0", "fe80::1"), a("eth0", "192.168.1.20")}, false, "192.168.1.20"},
		{"physical before docker", []ifaceAddr{a("docker0", "172.17.0.1"), a("wlan0", "10.0.0.7")}, true, "10.0.0.7"},
		{"v4 before v6", []ifaceAddr{a("eth0", "2001:db8::5"), a("eth0", "192.168.1.20")}, false, "192.168.1.20"},
		{"only global v6", []ifaceAddr{a("eth0", "2001:db8::5")}, false, "2001:db8::5"},
		{"v6 not for 0.0.0.0", []ifaceAddr{a("eth0", "2001:db8::5")}, true, "host.example"},
		{"link-local only", []ifaceAddr{a("eth0", "fe80::1"), a("eth0", "169.254.3.4")}, false, "host.example"},
		{"nothing", nil, false, "host.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, pickHost(tt.addrs, "host.example", tt.v4only))
		})
	}
	assert.Equal(t, "127.0.0.1", pickHost(nil, "", false))
}

// Listening on every interface, the printed URL names an address another
// device can open (never loopback when the machine has a LAN address), and
// the server accepts requests for it.
func TestURLForEveryInterface(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", "[::]:0"} {
		t.Run(listen, func(t *testing.T) {
			cert, _, err := SelfSigned(nil)
			require.NoError(t, err)
			s, _ := startServer(t, Config{Listen: listen, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, nil)
			u, err := url.Parse(s.URL())
			require.NoError(t, err)
			host := u.Hostname()
			t.Logf("URL %s", s.URL())
			assert.NotEqual(t, "::1", host)
			assert.Equal(t, reachableHost(listen == "0.0.0.0:0"), host)
			if ip := net.ParseIP(host); ip != nil && lanIPs() != nil {
				assert.False(t, ip.IsLoopback(), "a LAN address exists, yet the URL names loopback")
			}
			assert.True(t, s.hostAllowed(u.Host), "the server refuses its own URL's host %q", u.Host)
		})
	}
}

// Thousands of wrong-token handshakes write a few audit lines, then one
// summary with the count; nothing is lost from the count.
func TestRefusedRateLimited(t *testing.T) {
	var mu sync.Mutex
	var entries []AuditEntry
	s, sink := startServer(t, Config{Audit: func(e AuditEntry) { mu.Lock(); entries = append(entries, e); mu.Unlock() }},
		func(l *limits) { l.refusedLog, l.refusedEvery = 5, time.Hour })
	const n = 300
	for range n {
		_, resp, err := dialRaw(t, s, dialOpts{token: "wrong"})
		require.Error(t, err)
		require.Equal(t, 401, resp.StatusCode)
	}
	mu.Lock()
	assert.Len(t, entries, 5, "only the first few are written one by one")
	mu.Unlock()
	require.NoError(t, s.Close()) // writes the summary
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, entries, 6)
	total := 0
	for _, e := range entries {
		assert.Equal(t, AuditRefused, e.Event)
		total += e.Count
	}
	assert.Equal(t, n, total)
	assert.Contains(t, entries[5].Result, "295 more requests refused")
	sink.mu.Lock()
	lines := len(sink.lines)
	sink.mu.Unlock()
	assert.Less(t, lines, 20, "log lines")
}

// The summary is written at the end of the interval, not only at Close.
func TestRefusedSummaryAfterInterval(t *testing.T) {
	got := make(chan AuditEntry, 16)
	s, _ := startServer(t, Config{Audit: func(e AuditEntry) { got <- e }},
		func(l *limits) { l.refusedLog, l.refusedEvery = 1, 300*time.Millisecond })
	for range 3 {
		_, _, err := dialRaw(t, s, dialOpts{token: "wrong"})
		require.Error(t, err)
	}
	// Without Close, the count is complete once the interval is over (one
	// line each on a machine slow enough to span intervals).
	total := 0
	for total < 3 {
		select {
		case e := <-got:
			total += e.Count
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of 3 refusals written after the interval", total)
		}
	}
}

// Run stopped at the session's end (its context cancelled after the bus
// closed, as the pipeline does) still sends everything the bus carried: the
// session's end and its summary. select picks among ready cases at random,
// and a lossless subscription holds more than its channel shows, so the old
// code lost them (CI saw pages showing their own summary, "the server sent
// no summary").
func TestRunStoppedAfterTheEndStillSendsTheSummary(t *testing.T) {
	for i := range 20 {
		s, _ := startServer(t, Config{}, nil)
		b := bus.New()
		sub := b.Subscribe(1024, true)
		for k := range 200 {
			p := sensors.Sample{Device: "physio", T: time.Duration(k) * time.Millisecond, N: 5}
			b.Publish(bus.Msg{Sample: &p})
		}
		b.Publish(bus.Msg{Event: &event.Event{T: time.Second, Step: -1, Data: event.SessionStart{Title: "x"}}})
		b.Publish(bus.Msg{Event: &event.Event{T: 2 * time.Second, Step: -1, Data: event.SessionEnd{Reason: "therapist"}}})
		b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // stopped before Run even looked
		s.Run(ctx, sub)
		s.mu.Lock()
		got := s.summary
		s.mu.Unlock()
		require.NotNil(t, got, "run %d: no summary after the session's end", i)
		assert.Contains(t, string(got), `"reason":"therapist"`)
	}
}

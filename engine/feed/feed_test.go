package feed

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
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
	"github.com/cueroom/cueroom/internal/leakcheck"
	"github.com/cueroom/cueroom/sensors"
)

var testStream = sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: 1000,
	Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}}

func pubSample(b *bus.Bus, dev string, seq uint32, vals ...float64) {
	s := mkSample(dev, int(seq), seq, vals...)
	b.Publish(bus.Msg{Sample: &s})
}

// collected is what one client saw of the live feed.
type collected struct {
	seqs      map[string][]uint32 // device → every seq, in arrival order
	batches   int
	events    []string
	eventPos  []int // number of samples seen (all devices) when each event arrived
	maxBatch  int
	labels    map[string][]string
	valuesBad bool
}

// collect reads a client until it has seen n samples and the event "last".
func collect(t *testing.T, c *websocket.Conn, n int) collected {
	t.Helper()
	got := collected{seqs: map[string][]uint32{}, labels: map[string][]string{}}
	total := 0
	for total < n || len(got.events) == 0 || got.events[len(got.events)-1] != "last" {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		_, b, err := c.ReadMessage()
		require.NoError(t, err, "after %d samples", total)
		var m struct {
			Type     string          `json:"type"`
			Device   string          `json:"device"`
			Channels json.RawMessage `json:"channels"`
			Seq      []uint32        `json:"seq"`
			Values   [][]float64     `json:"values"`
			Kind     string          `json:"kind"`
			Data     json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(b, &m))
		switch m.Type {
		case "samples":
			got.batches++
			got.maxBatch = max(got.maxBatch, len(m.Seq))
			got.seqs[m.Device] = append(got.seqs[m.Device], m.Seq...)
			var labels []string
			require.NoError(t, json.Unmarshal(m.Channels, &labels))
			got.labels[m.Device] = labels
			total += len(m.Seq)
			for i, col := range m.Values {
				for k, v := range col {
					// Values were published as seq*10+channel.
					if v != float64(m.Seq[k])*10+float64(i) {
						got.valuesBad = true
					}
				}
			}
		case "event":
			name := m.Kind
			if event.Kind(m.Kind) == event.KindMarker {
				var d struct{ Text string }
				require.NoError(t, json.Unmarshal(m.Data, &d))
				name = d.Text
			}
			got.events = append(got.events, name)
			got.eventPos = append(got.eventPos, total)
		}
	}
	return got
}

func seqRange(from, to int) []uint32 {
	out := make([]uint32, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, uint32(i))
	}
	return out
}

// marker is a marker event whose text names a point of the test.
func marker(name string) bus.Msg {
	return bus.Msg{Event: &event.Event{Step: -1, Data: event.Marker{By: "test", Text: name}}}
}

func TestFanOutBatchedLossless(t *testing.T) {
	s, _ := startServer(t, Config{}, func(l *limits) { l.maxBatch = 100 })
	b, _ := runBus(t, s)
	b.Publish(bus.Msg{Stream: &testStream})
	// The stream reaching a client proves Run is consuming before we dial.
	probe := dial(t, s)
	readType(t, probe, "stream")

	const clients, perDev = 4, 1500
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		conns[i] = dial(t, s)
		require.Equal(t, "hello", readMsg(t, conns[i]).typ())
		require.Equal(t, "stream", readMsg(t, conns[i]).typ())
	}
	go func() {
		for i := range perDev {
			pubSample(b, "bitalino", uint32(i), float64(i)*10, float64(i)*10+1)
			pubSample(b, "ox", uint32(i), float64(i)*10)
			if i == perDev/2 {
				b.Publish(marker("middle"))
			}
		}
		b.Publish(marker("last"))
	}()

	var wg sync.WaitGroup
	results := make([]collected, clients)
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = collect(t, c, 2*perDev)
		}()
	}
	wg.Wait()
	for i, got := range results {
		assert.Equal(t, seqRange(0, perDev), got.seqs["bitalino"], "client %d", i)
		assert.Equal(t, seqRange(0, perDev), got.seqs["ox"], "client %d", i)
		assert.False(t, got.valuesBad, "client %d got values out of place", i)
		assert.Equal(t, []string{"middle", "last"}, got.events, "client %d", i)
		// Everything published before the marker arrived before it.
		assert.Equal(t, 2*(perDev/2+1), got.eventPos[0], "client %d", i)
		assert.Less(t, got.batches, 2*perDev/10, "client %d: samples were not batched", i)
		assert.LessOrEqual(t, got.maxBatch, 100, "client %d", i)
		assert.Equal(t, []string{"eda", "ecg"}, got.labels["bitalino"])
		assert.Equal(t, []string{"ch0"}, got.labels["ox"])
	}
}

func TestSamplesFlushedByTicker(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	b, _ := runBus(t, s)
	c := dial(t, s)
	require.Equal(t, "hello", readMsg(t, c).typ())
	start := time.Now()
	pubSample(b, "bitalino", 7, 70, 71)
	m := readType(t, c, "samples")
	assert.Equal(t, []any{7.0}, m["seq"])
	assert.Equal(t, []any{[]any{70.0}, []any{71.0}}, m["values"])
	// Not held longer than a couple of batch periods.
	assert.Less(t, time.Since(start), time.Second)
}

func TestHelloStreamsStateHistory(t *testing.T) {
	type hello struct {
		Title string `json:"title"`
	}
	s, _ := startServer(t, Config{Hello: func() any { return hello{Title: "Alcohol, week 3"} }}, nil)
	b, _ := runBus(t, s)
	s.SetState(map[string]any{"status": "running", "step_name": "bar"})
	b.Publish(bus.Msg{Stream: &testStream})
	pubSample(b, "bitalino", 1, 10, 11)
	b.Publish(marker("last"))
	// Wait until Run has handled everything, seen through a first client.
	first := dial(t, s)
	collect(t, first, 1)

	c := dial(t, s)
	m := readMsg(t, c)
	require.Equal(t, "hello", m.typ())
	assert.Equal(t, map[string]any{"title": "Alcohol, week 3"}, m["session"])
	assert.Regexp(t, `^c\d+$`, m["client"])
	assert.InDelta(t, DefaultHistory.Seconds(), m["history_s"], 1e-9)
	m = readMsg(t, c)
	require.Equal(t, "stream", m.typ())
	assert.Equal(t, "bitalino", m["device"])
	assert.Len(t, m["channels"], 2)
	m = readMsg(t, c)
	require.Equal(t, "state", m.typ())
	assert.Equal(t, map[string]any{"status": "running", "step_name": "bar"}, m["state"])
	m = readMsg(t, c)
	require.Equal(t, "samples", m.typ())
	assert.Equal(t, []any{1.0}, m["seq"])
	m = readMsg(t, c)
	require.Equal(t, "event", m.typ())
	assert.Equal(t, "last", m["data"].(map[string]any)["text"])
}

func TestHistoryDisabled(t *testing.T) {
	s, _ := startServer(t, Config{History: -1}, nil)
	b, _ := runBus(t, s)
	first := dial(t, s)
	require.Equal(t, "hello", readMsg(t, first).typ())
	b.Publish(marker("last"))
	collect(t, first, 0)
	c := dial(t, s)
	require.Equal(t, "hello", readMsg(t, c).typ())
	s.SetState("after")
	// The state is the next message: no history came in between.
	m := readMsg(t, c)
	assert.Equal(t, "state", m.typ())
	assert.Equal(t, "after", m["state"])
}

func TestSetStateOnlyOnChange(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	c := dial(t, s)
	require.Equal(t, "hello", readMsg(t, c).typ())
	s.SetState(map[string]any{"step_index": 1})
	s.SetState(map[string]any{"step_index": 1})
	s.SetState(map[string]any{"step_index": 2})
	s.SetState(func() {}) // unencodable: logged, not sent
	assert.Equal(t, map[string]any{"step_index": 1.0}, readMsg(t, c)["state"])
	assert.Equal(t, map[string]any{"step_index": 2.0}, readMsg(t, c)["state"])
}

func TestSlowClientDropped(t *testing.T) {
	tests := []struct {
		name      string
		queue     int
		writeWait time.Duration
		log       string
	}{
		{"queue full", 8, defaultLimits.writeWait, "too slow: send queue full"},
		{"write deadline", 1 << 20, 500 * time.Millisecond, "too slow: a write took longer than 500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testSlowClientDropped(t, tt.queue, tt.writeWait, tt.log)
		})
	}
}

// testSlowClientDropped: a client that stops reading is dropped while a
// fast one still receives every sample.
func testSlowClientDropped(t *testing.T, queue int, writeWait time.Duration, wantLog string) {
	s, logs := startServer(t, Config{History: -1}, func(l *limits) {
		l.queue = queue
		l.writeWait = writeWait
		l.maxBatch = 200
	})
	b, _ := runBus(t, s)

	slow, _, err := dialRaw(t, s, dialOpts{rcvBuf: 256 << 10}) // never reads
	require.NoError(t, err)
	fast := dial(t, s)
	require.Equal(t, "hello", readMsg(t, fast).typ())
	require.Eventually(t, func() bool { return s.numClients() == 2 }, 5*time.Second, time.Millisecond)

	// The fast client reports how many samples it has; the publisher keeps
	// one chunk ahead of it, so only the slow client can fall behind.
	var received atomic.Int64
	progress := make(chan struct{}, 1)
	readErr := make(chan error, 1)
	var seqs []uint32
	go func() {
		for {
			_ = fast.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, data, err := fast.ReadMessage()
			if err != nil {
				readErr <- err
				return
			}
			var m struct {
				Type string   `json:"type"`
				Seq  []uint32 `json:"seq"`
				Kind string   `json:"kind"`
			}
			if err := json.Unmarshal(data, &m); err != nil {
				readErr <- err
				return
			}
			if m.Type == "event" {
				readErr <- nil
				return
			}
			seqs = append(seqs, m.Seq...)
			received.Store(int64(len(seqs)))
			select {
			case progress <- struct{}{}:
			default:
			}
		}
	}()

	const chunk = 200
	vals := []float64{0.123456789012345, 1.123456789012345, 2.123456789012345, 3.123456789012345,
		4.123456789012345, 5.123456789012345, 6.123456789012345, 7.123456789012345}
	sent := 0
	deadline := time.After(60 * time.Second)
	for s.numClients() > 1 {
		for range chunk {
			pubSample(b, "dev", uint32(sent), vals...)
			sent++
		}
		for received.Load() < int64(sent) {
			select {
			case <-progress:
			case err := <-readErr:
				require.FailNow(t, "fast client stopped", "%v", err)
			case <-deadline:
				require.FailNow(t, "slow client never dropped", "sent %d samples", sent)
			}
		}
	}
	b.Publish(marker("last"))
	require.NoError(t, <-readErr)
	assert.Equal(t, seqRange(0, sent), seqs, "the fast client lost samples")
	assert.True(t, logs.contains(wantLog), "drop not logged as %q", wantLog)
	assert.Greater(t, sent, 1000)

	// The dropped client sees its connection end (after whatever was buffered).
	_ = slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			var ne net.Error
			assert.False(t, errors.As(err, &ne) && ne.Timeout(), "slow client's connection still open: %v", err)
			break
		}
	}
}

func TestPingPongDeadline(t *testing.T) {
	s, logs := startServer(t, Config{}, func(l *limits) {
		l.pongWait = time.Second
		l.pingPeriod = 100 * time.Millisecond
	})
	// A client that reads answers pings (gorilla does it while reading); one
	// that never reads never answers and is dropped.
	mute := dial(t, s)
	_ = mute
	alive := dial(t, s)
	stop := make(chan struct{})
	pings := make(chan struct{}, 100)
	alive.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return alive.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readerDone := make(chan error, 1)
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				select {
				case <-stop:
					readerDone <- nil
				default:
					readerDone <- err
				}
				return
			}
		}
	}()
	// Both register before the mute one can be dropped, so wait for the drop.
	require.Eventually(t, func() bool { return logs.contains("no pong") && s.numClients() == 1 }, 5*time.Second, 5*time.Millisecond)
	// The live client saw many pings, i.e. outlived several pong deadlines.
	for range 25 { // 2.5 s: more than two pong deadlines
		select {
		case <-pings:
		case err := <-readerDone:
			require.FailNow(t, "live client dropped", "%v", err)
		case <-time.After(5 * time.Second):
			require.FailNow(t, "no ping")
		}
	}
	assert.Equal(t, 1, s.numClients())
	close(stop)
	alive.Close()
	require.NoError(t, <-readerDone)
}

func TestCommandAck(t *testing.T) {
	var mu sync.Mutex
	var got []Command
	onCmd := func(c Command) Ack {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, c)
		switch c.Cmd {
		case CmdNext:
			return Ack{OK: false, Error: "already at the last step"}
		case CmdMarker:
			return Ack{OK: true, Data: map[string]any{"t": 12.5}}
		}
		return Ack{ID: "ignored", OK: true}
	}
	s, _ := startServer(t, Config{OnCommand: onCmd}, nil)
	c := dial(t, s)
	hello := readMsg(t, c)

	tests := []struct {
		send    map[string]any
		ok      bool
		errText string
		data    any
	}{
		{send: map[string]any{"type": "command", "v": 1, "id": "1", "cmd": "pause"}, ok: true},
		{send: map[string]any{"type": "command", "v": 1, "id": "2", "cmd": "next"}, errText: "already at the last step"},
		{send: map[string]any{"type": "command", "v": 1, "id": "3", "cmd": "marker", "args": map[string]any{"text": "urge 7/10"}}, ok: true, data: map[string]any{"t": 12.5}},
		{send: map[string]any{"type": "command", "v": 1, "id": "4", "cmd": "panic"}, ok: true},
	}
	for _, tt := range tests {
		sendJSON(t, c, tt.send)
		m := readMsg(t, c)
		require.Equal(t, "ack", m.typ(), "%v", m)
		assert.Equal(t, tt.send["id"], m["id"])
		assert.Equal(t, tt.ok, m["ok"])
		if tt.errText != "" {
			assert.Equal(t, tt.errText, m["error"])
		} else {
			assert.NotContains(t, m, "error")
		}
		assert.Equal(t, tt.data, m["data"])
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, got, 4)
	assert.Equal(t, []string{"pause", "next", "marker", "panic"}, []string{got[0].Cmd, got[1].Cmd, got[2].Cmd, got[3].Cmd})
	assert.Equal(t, "urge 7/10", got[2].Args["text"])
	assert.True(t, strings.HasSuffix(got[0].From, "/"+hello["client"].(string)), got[0].From)
	assert.True(t, strings.HasPrefix(got[0].From, "127.0.0.1:"), got[0].From)
}

func TestReadOnlyRefusesCommands(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	c := dial(t, s)
	readMsg(t, c)
	sendJSON(t, c, map[string]any{"type": "command", "id": "1", "cmd": "end"})
	m := readMsg(t, c)
	assert.Equal(t, "ack", m.typ())
	assert.Equal(t, false, m["ok"])
	assert.Contains(t, m["error"], "read-only")
}

func TestBadMessagesGetErrors(t *testing.T) {
	var calls atomic.Int32
	s, _ := startServer(t, Config{OnCommand: func(Command) Ack { calls.Add(1); return Ack{OK: true} }}, nil)
	c := dial(t, s)
	readMsg(t, c)
	tests := []struct {
		name  string
		typ   int
		frame string
		code  string
		id    string
	}{
		{"malformed json", websocket.TextMessage, `{"type":`, codeBadJSON, ""},
		{"unknown type", websocket.TextMessage, `{"type":"hack","v":1,"id":"a"}`, codeUnknownType, "a"},
		{"unknown command", websocket.TextMessage, `{"type":"command","v":1,"id":"b","cmd":"shutdown"}`, codeUnknownCmd, "b"},
		{"missing id", websocket.TextMessage, `{"type":"command","v":1,"cmd":"pause"}`, codeMissingID, ""},
		{"bad version", websocket.TextMessage, `{"type":"command","v":9,"id":"c","cmd":"pause"}`, codeBadVersion, "c"},
		{"marker without text", websocket.TextMessage, `{"type":"command","id":"d","cmd":"marker","args":{}}`, codeBadArgs, "d"},
		{"binary frame", websocket.BinaryMessage, `{"type":"command","id":"e","cmd":"pause"}`, codeBadJSON, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, c.WriteMessage(tt.typ, []byte(tt.frame)))
			m := readMsg(t, c)
			require.Equal(t, "error", m.typ(), "%v", m)
			assert.Equal(t, tt.code, m["code"])
			assert.NotEmpty(t, m["error"])
			if tt.id != "" {
				assert.Equal(t, tt.id, m["id"])
			} else {
				assert.NotContains(t, m, "id")
			}
		})
	}
	assert.Zero(t, calls.Load(), "an invalid message reached OnCommand")
	// The connection survived all of that.
	sendJSON(t, c, map[string]any{"type": "command", "id": "ok", "cmd": "pause"})
	m := readMsg(t, c)
	assert.Equal(t, "ack", m.typ())
	assert.Equal(t, true, m["ok"])
}

func TestOversizedMessageCloses(t *testing.T) {
	s, _ := startServer(t, Config{OnCommand: func(Command) Ack { return Ack{OK: true} }}, nil)
	c := dial(t, s)
	readMsg(t, c)
	big := `{"type":"command","id":"1","cmd":"marker","args":{"text":"` + strings.Repeat("a", 70<<10) + `"}}`
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(big)))
	m := readMsg(t, c)
	assert.Equal(t, "error", m.typ())
	assert.Equal(t, codeTooLarge, m["code"])
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	assert.True(t, websocket.IsCloseError(err, websocket.CloseMessageTooBig), "got %v", err)
	require.Eventually(t, func() bool { return s.numClients() == 0 }, 5*time.Second, time.Millisecond)
}

func TestExactlyLimitIsAccepted(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	c := dial(t, s)
	readMsg(t, c)
	// Valid JSON padded with spaces to exactly 64 KiB.
	body := `{"type":"command","id":"1","cmd":"pause"}`
	body += strings.Repeat(" ", maxMessage-len(body))
	require.NoError(t, c.WriteMessage(websocket.TextMessage, []byte(body)))
	assert.Equal(t, "ack", readMsg(t, c).typ())
}

func TestCommandRateLimit(t *testing.T) {
	s, _ := startServer(t, Config{OnCommand: func(Command) Ack { return Ack{OK: true} }}, nil)
	c := dial(t, s)
	readMsg(t, c)
	const n = 60
	start := time.Now()
	for i := range n {
		sendJSON(t, c, map[string]any{"type": "command", "id": string(rune('A' + i)), "cmd": "pause"})
	}
	acks, limited := 0, 0
	for range n {
		m := readMsg(t, c)
		switch {
		case m.typ() == "ack":
			acks++
		case m.typ() == "error" && m["code"] == codeRateLimited:
			limited++
		default:
			t.Fatalf("unexpected %v", m)
		}
	}
	elapsed := time.Since(start).Seconds()
	// A burst of 20, then 20 per second.
	assert.GreaterOrEqual(t, acks, 20)
	assert.LessOrEqual(t, float64(acks), 20+20*elapsed+1)
	assert.Equal(t, n, acks+limited)
	assert.Positive(t, limited)
}

// 1000 connect/disconnect cycles, half polite and half hung up, with an
// audit callback: no client, goroutine or audit imbalance is left behind.
func TestConnectDisconnectNoLeak(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	s, _ := startServer(t, Config{Hello: func() any { return "hi" }, Audit: func(e AuditEntry) {
		mu.Lock()
		counts[e.Event]++
		mu.Unlock()
	}}, nil)
	cycle := func(i int) {
		c, _, err := dialRaw(t, s, dialOpts{})
		require.NoError(t, err)
		require.Equal(t, "hello", readMsg(t, c).typ())
		if i%2 == 0 {
			// Polite close.
			require.NoError(t, c.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)))
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, _, err = c.ReadMessage()
			assert.True(t, websocket.IsCloseError(err, websocket.CloseNormalClosure), "%v", err)
		}
		c.Close() // odd cycles just hang up
	}
	cycle(0)
	require.Eventually(t, func() bool { return s.numClients() == 0 }, 5*time.Second, time.Millisecond)
	// Every goroutine the cycles start must end (checked when the test ends).
	leakcheck.Check(t)
	const cycles = 1000
	for i := range cycles {
		cycle(i)
	}
	require.Eventually(t, func() bool { return s.numClients() == 0 }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return counts[AuditDisconnect] == cycles+1
	}, 10*time.Second, time.Millisecond)
	mu.Lock()
	assert.Equal(t, cycles+1, counts[AuditConnect])
	mu.Unlock()
}

func TestCloseWaitsForEverything(t *testing.T) {
	leakcheck.Check(t)
	sink := &logSink{t: t}
	s, err := New(Config{Listen: "127.0.0.1:0", Token: testToken, Logf: sink.logf})
	require.NoError(t, err)
	require.NoError(t, s.Start())
	b := bus.New()
	sub := b.Subscribe(16, true)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		s.Run(context.Background(), sub)
	}()
	var conns []*websocket.Conn
	for range 3 {
		c := dial(t, s)
		readMsg(t, c)
		conns = append(conns, c)
	}
	// Each client reads until its connection ends, in the background.
	ends := make(chan error, len(conns))
	for _, c := range conns {
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					ends <- err
					return
				}
			}
		}()
	}

	require.NoError(t, s.Close())
	// Close returned: Run has returned and no client is left.
	select {
	case <-runDone:
	default:
		t.Fatal("Close returned before Run")
	}
	assert.Zero(t, s.numClients())
	for range conns {
		err := <-ends
		assert.True(t, websocket.IsCloseError(err, websocket.CloseGoingAway), "%v", err)
	}
	// Closing twice is fine; starting again and dialing are not.
	require.NoError(t, s.Close())
	require.Error(t, s.Start())
	_, _, err = dialRaw(t, s, dialOpts{})
	require.Error(t, err)
	// Run after Close returns at once.
	s.Run(context.Background(), b.Subscribe(1, false))
	b.Close()
	for _, c := range conns {
		c.Close()
	}
}

func TestRunEndsWithContextAndBus(t *testing.T) {
	tests := []struct {
		name string
		stop func(cancel context.CancelFunc, b *bus.Bus)
	}{
		{"context cancelled", func(cancel context.CancelFunc, _ *bus.Bus) { cancel() }},
		{"bus closed", func(_ context.CancelFunc, b *bus.Bus) { b.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := startServer(t, Config{}, func(l *limits) { l.batchEvery = time.Hour })
			c := dial(t, s)
			readMsg(t, c)
			b := bus.New()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sub := b.Subscribe(16, true)
			done := make(chan struct{})
			go func() {
				defer close(done)
				s.Run(ctx, sub)
			}()
			pubSample(b, "dev", 42, 1)
			// Nothing flushes before the stop (hour-long ticker), so the
			// sample arriving proves the pending batch is flushed on exit,
			// at least when the bus closes; a cancelled context may exit
			// before reading it.
			tt.stop(cancel, b)
			<-done
			if tt.name == "bus closed" {
				m := readType(t, c, "samples")
				assert.Equal(t, []any{42.0}, m["seq"])
			}
			b.Close()
		})
	}
}

func TestOverrunReported(t *testing.T) {
	s, _ := startServer(t, Config{}, func(l *limits) { l.batchEvery = 10 * time.Millisecond })
	c := dial(t, s)
	readMsg(t, c)
	b := bus.New()
	sub := b.Subscribe(1, false) // lossy, tiny: the second message is dropped
	pubSample(b, "dev", 1, 1)
	pubSample(b, "dev", 2, 1)
	require.EqualValues(t, 1, sub.Dropped())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, sub)
	}()
	t.Cleanup(func() { cancel(); <-done })
	m := readType(t, c, "error")
	assert.Equal(t, codeOverrun, m["code"])
	assert.Contains(t, m["error"], "lost 1 bus messages")
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"defaults", Config{}, ""},
		{"bad listen", Config{Listen: "7878"}, "not host:port"},
		{"bad origin path", Config{AllowedOrigins: []string{"http://x:1/path"}}, "http://x:1/path"},
		{"bad origin scheme", Config{AllowedOrigins: []string{"ftp://x"}}, "ftp://x"},
		{"good origin", Config{AllowedOrigins: []string{"https://dash.example/"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, DefaultListen, s.cfg.Listen)
			assert.Regexp(t, `^[0-9a-f]{32}$`, s.cfg.Token)
			assert.Empty(t, s.URL(), "URL before Start")
			require.NoError(t, s.Close())
		})
	}
	a, err := New(Config{})
	require.NoError(t, err)
	b, err := New(Config{})
	require.NoError(t, err)
	assert.NotEqual(t, a.cfg.Token, b.cfg.Token, "tokens must be random")
}

func TestStartBusyAddressNamed(t *testing.T) {
	s, _ := startServer(t, Config{}, nil)
	other, err := New(Config{Listen: s.Addr(), Logf: func(string, ...any) {}})
	require.NoError(t, err)
	err = other.Start()
	require.ErrorContains(t, err, s.Addr())
	require.NoError(t, other.Close())
}

func TestURLOpensThePage(t *testing.T) {
	s, _ := startServer(t, Config{Token: "secret token/with?chars-long-enough"}, nil)
	u := s.URL()
	assert.True(t, strings.HasPrefix(u, "http://"+s.Addr()+"/?token="), u)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `<script src="app.js"`)
	// The kinds app.js names come first (defer scripts run in order).
	assert.Less(t, strings.Index(string(body), `<script src="kinds.js" defer>`), strings.Index(string(body), `<script src="app.js" defer>`))
	assert.Contains(t, string(body), `<script src="kinds.js" defer>`)
}

func TestHelloSnapshotUnencodable(t *testing.T) {
	s, logs := startServer(t, Config{Hello: func() any { return map[string]any{"bad": math.Inf(1)} }}, nil)
	c := dial(t, s)
	m := readMsg(t, c)
	require.Equal(t, "hello", m.typ())
	assert.Nil(t, m["session"])
	assert.Contains(t, m, "session")
	assert.True(t, logs.contains("hello snapshot cannot be encoded"))
}

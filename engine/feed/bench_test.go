package feed

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

var benchStream = sensors.Stream{Device: "bench", Kind: "synth", Rate: 1000, Channels: []sensors.Channel{
	{Label: "eda", Unit: "uS"}, {Label: "ecg", Unit: "mV"}, {Label: "ppg"}, {Label: "hr", Unit: "bpm"}, {Label: "resp"}, {Label: "temp"}}}

// latencies collects per-sample delays (ns) from reader goroutines.
type latencies struct {
	mu sync.Mutex
	ns []float64
}

func (l *latencies) add(v ...float64) { l.mu.Lock(); l.ns = append(l.ns, v...); l.mu.Unlock() }

func (l *latencies) pct(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ns) == 0 {
		return 0
	}
	s := slices.Clone(l.ns)
	slices.Sort(s)
	return time.Duration(s[min(len(s)-1, int(p*float64(len(s))))])
}

// echoBaseline measures a bare loopback WebSocket echo (gorilla on both
// ends), one small message per ms for n messages: the floor any feed pays.
func echoBaseline(b *testing.B, n int) (p50, p99 time.Duration) {
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, m, err := c.ReadMessage()
			if err != nil || c.WriteMessage(typ, m) != nil {
				return
			}
		}
	}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var lat latencies
	buf := make([]byte, 8)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for range n {
		<-tick.C
		binary.LittleEndian.PutUint64(buf, uint64(time.Now().UnixNano()))
		if err := c.WriteMessage(websocket.BinaryMessage, buf); err != nil {
			b.Fatal(err)
		}
		_, m, err := c.ReadMessage()
		if err != nil {
			b.Fatal(err)
		}
		// One way ≈ half the round trip.
		lat.add(float64(time.Now().UnixNano()-int64(binary.LittleEndian.Uint64(m))) / 2)
	}
	return lat.pct(.5), lat.pct(.99)
}

// BenchmarkFeedLatency: one 6-channel sample per ms (1000 Hz), through bus,
// batching and the hub to every client; latency is from publishing a sample
// to its client having decoded the message holding it. Batching (50 ms) is
// most of it by design. Reported as p50/p99 and as a ratio to a bare
// loopback WebSocket echo measured in the same run.
func BenchmarkFeedLatency(b *testing.B) {
	for _, clients := range []int{1, 50} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s, err := New(Config{Listen: "127.0.0.1:0", Token: testToken, Logf: func(string, ...any) {}, History: -1})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Start(); err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			bs := bus.New()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go s.Run(ctx, bs.Subscribe(1<<14, true))
			bs.Publish(bus.Msg{Stream: &benchStream})
			base := time.Now()
			var lat latencies
			var wg sync.WaitGroup
			for range clients {
				c, _, err := websocket.DefaultDialer.Dial(wsURL(s, testToken), http.Header{"Origin": {"http://" + s.Addr()}})
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				wg.Add(1)
				go func() {
					defer wg.Done()
					var m struct {
						Type string    `json:"type"`
						T    []float64 `json:"t"`
					}
					for {
						_, data, err := c.ReadMessage()
						if err != nil {
							return
						}
						m.T = m.T[:0]
						if json.Unmarshal(data, &m) != nil || m.Type != "samples" {
							continue
						}
						now := time.Since(base)
						ds := make([]float64, len(m.T))
						for i, t := range m.T {
							ds[i] = float64(now - time.Duration(t*float64(time.Second)))
						}
						lat.add(ds...)
					}
				}()
			}
			b.ReportAllocs()
			tick := time.NewTicker(time.Millisecond)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				<-tick.C
				sm := sensors.Sample{Device: "bench", T: time.Since(base), Seq: uint32(i), N: 6}
				for k := range 6 {
					sm.Values[k] = float64(i%1000) / 7.0 * float64(k+1)
				}
				bs.Publish(bus.Msg{Sample: &sm})
			}
			b.StopTimer()
			tick.Stop()
			n := b.N
			// Let the last batch arrive, then stop the readers.
			deadline := time.Now().Add(2 * time.Second)
			for time.Now().Before(deadline) {
				lat.mu.Lock()
				got := len(lat.ns)
				lat.mu.Unlock()
				if got >= n*clients {
					break
				}
				runtime.Gosched()
			}
			cancel()
			bs.Close()
			s.Close()
			wg.Wait()
			e50, e99 := echoBaseline(b, min(max(n, 100), 2000))
			p50, p99 := lat.pct(.5), lat.pct(.99)
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(e50.Microseconds())/1000, "echo-p50-ms")
			b.ReportMetric(float64(p50)/float64(max(e50, 1)), "p50/echo")
			b.ReportMetric(float64(p99)/float64(max(e99, 1)), "p99/echo")
		})
	}
}

// BenchmarkFeedPerClient: CPU (server and in-process readers, from
// getrusage) and heap per connected client while 50 clients receive
// 1000 Hz × 6 channels.
func BenchmarkFeedPerClient(b *testing.B) {
	const clients = 50
	s, err := New(Config{Listen: "127.0.0.1:0", Token: testToken, Logf: func(string, ...any) {}, History: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bs := bus.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx, bs.Subscribe(1<<14, true))
	bs.Publish(bus.Msg{Stream: &benchStream})

	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	var wg sync.WaitGroup
	for range clients {
		c, _, err := websocket.DefaultDialer.Dial(wsURL(s, testToken), http.Header{"Origin": {"http://" + s.Addr()}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)

	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	tick := time.NewTicker(time.Millisecond)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		<-tick.C
		sm := sensors.Sample{Device: "bench", T: time.Since(start), Seq: uint32(i), N: 6}
		bs.Publish(bus.Msg{Sample: &sm})
	}
	b.StopTimer()
	tick.Stop()
	wall := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	cancel()
	bs.Close()
	s.Close()
	wg.Wait()
	b.ReportMetric(cpu.Seconds()/wall.Seconds()/clients*100, "cpu%/client")
	b.ReportMetric(float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/clients/1024, "heap-KiB/client")
}

// BenchmarkHistoryBacklog: what a dashboard gets on connect after three
// minutes of a 6-channel 1000 Hz device (50 ms batches) and a 4 Hz derived
// stream, and how long the backlog takes to gather. backlog-KiB must stay
// under 1024 (limits.backlogBytes).
func BenchmarkHistoryBacklog(b *testing.B) {
	s := &Server{lim: defaultLimits}
	bt := batcher{s: s, slot: map[string]int64{}, labels: map[string][]string{
		"bitalino": {"eda", "ecg", "ppg", "a4", "a5", "a6"}, "physio": {"hr", "scl", "arousal", "rmssd"}}}
	var h history
	t0 := time.Unix(0, 0)
	const secs = 180
	for i := range secs * 20 { // 50 ms batches
		batch := make([]sensors.Sample, 50)
		for k := range batch {
			n := i*50 + k
			batch[k] = sensors.Sample{Device: "bitalino", T: time.Duration(n) * time.Millisecond, Seq: uint32(n), N: 6}
			for c := range 6 {
				batch[k].Values[c] = 1000 * math.Sin(float64(n+c)/7)
			}
		}
		at := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		full := appendSamples(nil, "bitalino", bt.labels["bitalino"], batch)
		h.add(at, histItem{msg: full, thin: bt.thin("bitalino", batch), sample: true}, DefaultHistory, s.lim.histFull, s.lim.historyBytes)
		if i%5 == 0 {
			p := []sensors.Sample{{Device: "physio", T: batch[0].T, N: 4, Values: [sensors.MaxChannels]float64{72.5, 5.1, 0.3, 41}}}
			h.add(at, histItem{msg: appendSamples(nil, "physio", bt.labels["physio"], p), thin: bt.thin("physio", p), sample: true},
				DefaultHistory, s.lim.histFull, s.lim.historyBytes)
		}
	}
	now := t0.Add(secs * time.Second)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		msgs := h.appendTo(nil, now, DefaultHistory, s.lim.backlogBytes)
		size = 0
		for _, m := range msgs {
			size += len(m)
		}
	}
	b.ReportMetric(float64(size)/1024, "backlog-KiB")
}

package hub_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/hub"
	"github.com/cueroom/cueroom/hub/station"
	"github.com/cueroom/cueroom/hub/wire"
	"github.com/cueroom/cueroom/sensors"
)

// benchEpoch: sample times are wall time since it, so the hub's process can
// tell each sample's age on arrival.
var benchEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const benchLoad = 8 * time.Second

// childResult is what the hub's process reports.
type childResult struct {
	Lat      []float64         `json:"-"`
	P50, P99 float64           // ms, batch sent → received by the monitor subscriber
	AgeP90   float64           // ms, sample taken → received (includes the station's batching,
	AgeP99   float64           // and the simulated device's own lateness on a loaded machine)
	CPU      float64           // cores used by the hub's process during the load
	Live     map[string]uint64 // samples received live, per station
	Stored   map[string]uint64 // samples in the hub's streams, per station
}

// BenchmarkHub: N stations, each a BITalino at 1 kHz × 2 channels (10
// samples every 10 ms, as it sends them) plus derived physiology at 4 Hz
// and an event a second, through one hub in its own process; a
// subscriber in the hub's process measures latency, the hub's CPU is its
// process's. The same message rate through a bare in-process NATS
// server (publish → subscribe) is the baseline the ratio is to.
func BenchmarkHub(b *testing.B) {
	for _, n := range []int{5, 20} {
		b.Run(fmt.Sprintf("stations=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchHub(b, n)
			}
		})
	}
}

func benchHub(b *testing.B, n int) {
	base := baseline(b, n, benchLoad/2)

	data := b.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHubChild$", "-test.v=false")
	cmd.Env = append(os.Environ(), "CUEROOM_HUB_CHILD="+data)
	stdin, err := cmd.StdinPipe()
	require.NoError(b, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(b, err)
	cmd.Stderr = os.Stderr
	require.NoError(b, cmd.Start())
	defer cmd.Wait()
	defer stdin.Close()
	out := bufio.NewScanner(stdout)
	out.Buffer(make([]byte, 1<<20), 1<<24)
	var url string
	for out.Scan() {
		if u, ok := strings.CutPrefix(out.Text(), "URL "); ok {
			url = u
			break
		}
	}
	require.NotEmpty(b, url, "the hub's process did not start")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var nodes []*station.Station
	var buses []*bus.Bus
	for i := 0; i < n; i++ {
		bs := bus.New()
		st, err := station.Start(ctx, station.Config{Site: "bench", Station: fmt.Sprintf("room%02d", i), Hub: url,
			StoreDir: filepath.Join(data, "st", fmt.Sprint(i))}, bs)
		require.NoError(b, err)
		nodes, buses = append(nodes, st), append(buses, bs)
	}
	defer func() {
		for i := range nodes {
			buses[i].Close()
			nodes[i].Close()
		}
	}()
	for _, st := range nodes {
		require.NoError(b, st.Wait(ctx, connected))
	}

	fmt.Fprintln(stdin, "start")
	cpu0, t0 := cpuSeconds(), time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sent := make([]uint64, n)
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent[i] = produce(buses[i], stop)
		}()
	}
	time.Sleep(benchLoad) // the load is the scenario
	close(stop)
	wg.Wait()
	stCPU := (cpuSeconds() - cpu0) / time.Since(t0).Seconds()
	want := map[string]uint64{}
	for i := range nodes {
		want[fmt.Sprintf("room%02d", i)] = sent[i]
	}
	wb, _ := json.Marshal(want)
	fmt.Fprintf(stdin, "stop %s\n", wb)
	var res childResult
	for out.Scan() {
		if r, ok := strings.CutPrefix(out.Text(), "RESULT "); ok {
			require.NoError(b, json.Unmarshal([]byte(r), &res))
			break
		}
	}
	var lostLive, lostStored, total uint64
	for name, w := range want {
		total += w
		lostLive += w - min(w, res.Live[name])
		lostStored += w - min(w, res.Stored[name])
	}
	b.ReportMetric(res.P50, "p50-ms")
	b.ReportMetric(res.P99, "p99-ms")
	b.ReportMetric(res.AgeP90, "p90-sample-age-ms")
	b.ReportMetric(res.AgeP99, "p99-sample-age-ms")
	b.ReportMetric(res.CPU, "hub-cores")
	b.ReportMetric(stCPU, "stations-cores")
	b.ReportMetric(float64(lostLive), "lost-live-samples")
	b.ReportMetric(float64(lostStored), "lost-stored-samples")
	b.ReportMetric(float64(total)/benchLoad.Seconds(), "samples/s")
	b.ReportMetric(base, "baseline-p99-ms")
	if base > 0 {
		b.ReportMetric(res.P99/base, "p99-ratio")
	}
}

// produce publishes BITalino-like samples in real time until stop, and
// returns how many.
func produce(bs *bus.Bus, stop chan struct{}) uint64 {
	bs.Publish(bus.Msg{Stream: &sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: 1000,
		Channels: []sensors.Channel{{Label: "eda"}, {Label: "ecg"}}}})
	bs.Publish(bus.Msg{Stream: &physio})
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	var seq uint32
	var last time.Duration
	tick := 0
	for {
		select {
		case <-stop:
			return uint64(seq)
		case <-t.C:
		}
		now := time.Since(benchEpoch)
		if last == 0 {
			last = now - 10*time.Millisecond
		}
		k := int((now - last) / time.Millisecond)
		for j := 0; j < k; j++ {
			s := sensors.Sample{Device: "bitalino", T: last + time.Duration(j+1)*time.Millisecond, Seq: seq, N: 2}
			s.Values[0], s.Values[1] = 5, 0.1
			bs.Publish(bus.Msg{Sample: &s})
			seq++
		}
		last += time.Duration(k) * time.Millisecond
		tick++
		if tick%25 == 0 {
			p := sensors.Sample{Device: "physio", T: now, N: 4}
			p.Values[0], p.Values[1], p.Values[2] = 70, 5, 0.5
			bs.Publish(bus.Msg{Sample: &p})
		}
		if tick%100 == 0 {
			e := event.New(now, 1, event.Marker{By: "bench", Text: "tick"})
			bs.Publish(bus.Msg{Event: &e})
		}
	}
}

// baseline is the p99 latency (ms) of the same message rate published
// straight to an in-process NATS server and received by one subscriber.
func baseline(b *testing.B, n int, d time.Duration) float64 {
	srv, err := server.NewServer(&server.Options{DontListen: true, NoSigs: true})
	require.NoError(b, err)
	srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	require.True(b, srv.ReadyForConnections(10*time.Second))
	pub, err := nats.Connect("", nats.InProcessServer(srv))
	require.NoError(b, err)
	defer pub.Close()
	sub, err := nats.Connect("", nats.InProcessServer(srv))
	require.NoError(b, err)
	defer sub.Close()
	var mu sync.Mutex
	var lat []float64
	s, err := sub.Subscribe("cueroom.*.*.samples.>", func(m *nats.Msg) {
		bt, err := wire.DecodeBatch(m.Data)
		if err != nil {
			return
		}
		mu.Lock()
		lat = append(lat, float64(time.Since(bt.Sent))/1e6)
		mu.Unlock()
	})
	require.NoError(b, err)
	_ = s.SetPendingLimits(-1, -1)
	require.NoError(b, sub.Flush())
	samples := make([]sensors.Sample, 50)
	for i := range samples {
		samples[i] = sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Millisecond, N: 2}
	}
	t := time.NewTicker(50 * time.Millisecond) // the stations' batching
	defer t.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		<-t.C
		for i := 0; i < n; i++ {
			subj := fmt.Sprintf("cueroom.bench.room%02d.samples.bitalino", i)
			_ = pub.Publish(subj, wire.AppendBatch(nil, "bitalino", time.Now(), samples))
		}
	}
	require.NoError(b, pub.Flush())
	require.NoError(b, sub.Flush())
	mu.Lock()
	defer mu.Unlock()
	return pct(lat, 0.99)
}

func pct(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[min(len(xs)-1, int(p*float64(len(xs))))]
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// TestHubChild is the hub's process of BenchmarkHub (it runs only there).
func TestHubChild(t *testing.T) {
	data := os.Getenv("CUEROOM_HUB_CHILD")
	if data == "" {
		t.Skip("the hub's process of BenchmarkHub")
	}
	h, err := hub.Start(hub.Config{NATSListen: "127.0.0.1:0", MonitorListen: "-", DataDir: filepath.Join(data, "hub")})
	require.NoError(t, err)
	defer h.Close()
	var mu sync.Mutex
	var lat, age []float64
	live := map[string]uint64{}
	measuring := false
	sub, err := h.Conn().Subscribe("cueroom.*.*.samples.bitalino", func(m *nats.Msg) {
		now := time.Now()
		bt, err := wire.DecodeBatch(m.Data)
		if err != nil {
			return
		}
		_, st, _, _ := wire.Parse(m.Subject)
		mu.Lock()
		defer mu.Unlock()
		live[st] += uint64(len(bt.Samples))
		if measuring {
			lat = append(lat, float64(now.Sub(bt.Sent))/1e6)
			for _, s := range bt.Samples {
				age = append(age, float64(now.Sub(benchEpoch.Add(s.T)))/1e6)
			}
		}
	})
	require.NoError(t, err)
	_ = sub.SetPendingLimits(-1, -1)
	fmt.Printf("URL %s\n", h.NATSURL())
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	var cpu0, cpu1 float64
	var t0, t1 time.Time
	want := map[string]uint64{}
	for in.Scan() {
		line := in.Text()
		if line == "start" {
			mu.Lock()
			measuring, cpu0, t0 = true, cpuSeconds(), time.Now()
			mu.Unlock()
		} else if w, ok := strings.CutPrefix(line, "stop "); ok {
			mu.Lock()
			measuring, cpu1, t1 = false, cpuSeconds(), time.Now()
			mu.Unlock()
			require.NoError(t, json.Unmarshal([]byte(w), &want))
			break
		}
	}
	// Everything sent must be in the hub's streams too.
	stored := map[string]uint64{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	js, _ := jetstream.New(h.Conn())
	for name, w := range want {
		for ctx.Err() == nil {
			stored[name] = countStored(ctx, js, name)
			if stored[name] >= w {
				break
			}
			time.Sleep(200 * time.Millisecond) // polling the hub's stream
		}
	}
	mu.Lock()
	res := childResult{P50: pct(lat, 0.5), P99: pct(lat, 0.99), AgeP90: pct(age, 0.9), AgeP99: pct(age, 0.99),
		CPU: (cpu1 - cpu0) / t1.Sub(t0).Seconds(), Live: live, Stored: stored}
	mu.Unlock()
	rb, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", rb)
	_, _ = io.Copy(io.Discard, os.Stdin)
}

func countStored(ctx context.Context, js jetstream.JetStream, name string) uint64 {
	s, err := js.Stream(ctx, wire.HubStream("bench", name))
	if err != nil {
		return 0
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"cueroom.bench." + name + ".samples.bitalino"}})
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter("cueroom.bench."+name+".samples.bitalino"))
	if err != nil {
		return 0
	}
	msgs := info.State.Subjects["cueroom.bench."+name+".samples.bitalino"]
	var n uint64
	for got := uint64(0); got < msgs; {
		batch, err := c.Fetch(int(min(1000, msgs-got)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return n
		}
		for m := range batch.Messages() {
			got++
			if bt, err := wire.DecodeBatch(m.Data()); err == nil {
				n += uint64(len(bt.Samples))
			}
		}
		if batch.Error() != nil {
			return n
		}
	}
	return n
}

package lsl_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cueroom/cueroom/lsl"
)

// benchConsumerEnv makes the test binary a consumer process for
// BenchmarkOutlet: "addr port serviceport uid inlets".
const benchConsumerEnv = "CUEROOM_LSL_BENCH_CONSUMER"

// BenchmarkOutlet1kHz6ch3Inlets measures an outlet's CPU: a 6-channel
// double stream at 1 kHz to three inlets, which run in another process so
// that only the outlet's side is counted (with the loop that paces the
// pushes, measured alone as the no-inlets cases). One op is one second of
// stream; cpu-%core is the process's CPU time (user+system) over wall
// time, in percent of one core (goal < 2). Samples come as a device
// bridge delivers them, 10 every 10 ms ("burst"), or one per millisecond
// ("each-ms", the worst case: the pacing alone then costs more than the
// outlet). No discovery: the inlets connect by address, so this runs on
// the host's loopback.
func BenchmarkOutlet1kHz6ch3Inlets(b *testing.B) {
	for _, tc := range []struct {
		name          string
		burst, inlets int
		flush         time.Duration
	}{
		{"burst", 10, 3, lsl.DefaultFlushInterval},
		{"burst/flush=0", 10, 3, 0},
		{"burst/no-inlets", 10, 0, 0},
		{"each-ms", 1, 3, lsl.DefaultFlushInterval},
		{"each-ms/flush=0", 1, 3, 0},
		{"each-ms/no-inlets", 1, 0, 0},
	} {
		b.Run(tc.name, func(b *testing.B) { benchOutlet(b, tc.burst, tc.inlets, tc.flush) })
	}
}

func benchOutlet(b *testing.B, burst, inlets int, flush time.Duration) {
	const rate = 1000
	info := lsl.StreamInfo{Name: "bench", Type: "EEG", ChannelCount: 6, Format: lsl.Double64, Rate: rate}
	o, err := lsl.NewOutlet(info, lsl.WithFlushInterval(flush),
		lsl.WithConfig(lsl.Config{NoDiscovery: true, Listen: netip.MustParseAddr("127.0.0.1")}))
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	si := o.Info()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=127.0.0.1 %d %d %s %d", benchConsumerEnv, si.V4DataPort, si.V4ServicePort, si.UID, inlets))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.WaitForConsumers(ctx, inlets); err != nil {
		cmd.Process.Kill() //nolint:errcheck // failing anyway
		cmd.Wait()         //nolint:errcheck // killed
		b.Fatalf("consumers did not connect: %v\n%s", err, out.String())
	}
	vals := []float64{1, 2, 3, 4, 5, 6}
	cpu0, wall0 := cpuTime(), time.Now()
	b.ResetTimer()
	pushed := 0
	next := time.Now()
	for range b.N {
		for range rate / burst {
			now := lsl.LocalClock()
			for k := range burst {
				vals[0] = float64(pushed)
				if err := o.Push(now-float64(burst-1-k)/rate, vals); err != nil {
					b.Fatal(err)
				}
				pushed++
			}
			next = next.Add(time.Duration(burst) * time.Second / rate)
			time.Sleep(time.Until(next))
		}
	}
	b.StopTimer()
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%core")
	b.ReportMetric(0, "ns/op")
	o.Close()
	if err := cmd.Wait(); err != nil {
		b.Fatalf("consumers: %v\n%s", err, out.String())
	}
	want := "received" + strings.Repeat(" "+strconv.Itoa(pushed), inlets)
	if !strings.Contains(out.String(), want) {
		b.Errorf("consumers: %q, want %q", out.String(), want)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru) //nolint:errcheck // cannot fail for RUSAGE_SELF
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchConsumer connects inlets and reads until the outlet closes,
// then prints how many samples each received.
func benchConsumer(arg string) int {
	f := strings.Fields(arg)
	if len(f) != 5 {
		fmt.Println("bad", benchConsumerEnv, arg)
		return 2
	}
	port, _ := strconv.Atoi(f[1])
	svc, _ := strconv.Atoi(f[2])
	n, _ := strconv.Atoi(f[4])
	info := lsl.StreamInfo{Name: "bench", ChannelCount: 6, Format: lsl.Double64, Rate: 1000, Version: 110,
		UID: f[3], V4Address: f[0], V4DataPort: port, V4ServicePort: svc}
	counts := make([]uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		in, err := lsl.NewInlet(context.Background(), info)
		if err != nil {
			fmt.Println(err)
			return 1
		}
		wg.Go(func() {
			defer in.Close()
			var s lsl.Sample
			for in.Next(&s) == nil {
				counts[i]++
			}
		})
	}
	wg.Wait()
	fmt.Print("received")
	for _, c := range counts {
		fmt.Print(" ", c)
	}
	fmt.Println()
	return 0
}

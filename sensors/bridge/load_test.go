package bridge_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/physio"
	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/spec"
)

// loadSpecs is the load of the budget: a BITalino at 1000 Hz with
// all six channels, plus two other devices.
var loadSpecs = []string{
	"sim:bitalino?rate=1000&inputs=A1:eda,A2:ecg,A3,A4,A5,A6",
	"sim:grove",
	"sim:kv?rate=50",
}

// TestSimHelperProcess is not a test: BenchmarkBridgeCPU runs the
// simulators in a child process through it, so that the benchmark's own
// CPU time is the bridges' alone.
func TestSimHelperProcess(t *testing.T) {
	if os.Getenv("CUEROOM_SIM_HELPER") != "1" {
		t.Skip("helper process for BenchmarkBridgeCPU")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, raw := range loadSpecs {
		sp, err := spec.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		sim, err := sp.NewSim()
		if err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		p, err := simport.Start(ctx, sim)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		fmt.Printf("PTY %s %s\n", raw, p.Path)
	}
	fmt.Println("READY")
	// Run until the parent closes our stdin.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBridgeCPU reports the bridges' share of one core while they
// decode the three devices above and run the live physiology on them,
// each op being one second of streaming. The budget is 2 % (issue 13).
func BenchmarkBridgeCPU(b *testing.B) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSimHelperProcess$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), "CUEROOM_SIM_HELPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	type port struct{ raw, path string }
	var ports []port
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "READY" {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "PTY" {
			ports = append(ports, port{f[1], f[2]})
		}
	}
	if len(ports) != len(loadSpecs) {
		b.Fatalf("helper gave %d ports", len(ports))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var samples atomic.Int64
	done := make(chan error, len(ports))
	started := make(chan struct{}, len(ports))
	for _, p := range ports {
		sp, _ := spec.Parse(p.raw)
		dev, err := sp.Device()
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			// Each stream's samples also go through the live physiology
			// (beats, HR, RMSSD, SCRs, quality), as in a session: the
			// budget is for the whole live path, not the decoding alone.
			var proc *physio.Processor
			var out []physio.Derived
			done <- bridge.Run(ctx, bridge.Config{Port: p.path, Device: dev,
				OnStream: func(st sensors.Stream) {
					proc, _ = physio.New(st, physio.Config{}) // nil: nothing physiological
					started <- struct{}{}
				},
				Sink: func(s sensors.Sample) {
					if proc != nil {
						out = proc.Push(s, out[:0])
					}
					samples.Add(1)
				}})
		}()
	}
	for range ports {
		select {
		case <-started:
		case err := <-done:
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	wall0, cpu0, n0 := time.Now(), cpuTime(), samples.Load()
	for i := 0; i < b.N; i++ {
		<-time.After(time.Second) // the load runs by itself; this is the measuring interval
	}
	wall, cpu, n := time.Since(wall0), cpuTime()-cpu0, samples.Load()-n0
	b.StopTimer()
	pct := 100 * cpu.Seconds() / wall.Seconds()
	b.ReportMetric(pct, "%cpu")
	b.ReportMetric(float64(n)/wall.Seconds(), "samples/s")
	cancel()
	for range ports {
		<-done
	}
}

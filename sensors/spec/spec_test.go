package spec

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/contec"
	"github.com/cueroom/cueroom/sensors/lineproto"
	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/synth"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in        string
		kind      string
		port      string
		sim, auto bool
		canon     string
		name      string
	}{
		{in: "bitalino:/dev/rfcomm0", kind: "bitalino", port: "/dev/rfcomm0", canon: "bitalino:/dev/rfcomm0", name: "bitalino"},
		{in: "bitalino:rfcomm0?rate=100&eda=older&name=left", kind: "bitalino", port: "/dev/rfcomm0",
			canon: "bitalino:/dev/rfcomm0?eda=older&name=left&rate=100", name: "left"},
		{in: "bitalino:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0", kind: "bitalino",
			port: "/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0", canon: "bitalino:/dev/serial/by-path/pci-0000:00:14.0-usb-0:1:1.0-port0", name: "bitalino"},
		{in: "sim:bitalino?seed=3", kind: "bitalino", sim: true, canon: "sim:bitalino?seed=3", name: "bitalino"},
		{in: "grove:/dev/ttyUSB0", kind: "grove", port: "/dev/ttyUSB0", canon: "grove:/dev/ttyUSB0", name: "grove"},
		{in: "csv:/dev/ttyACM0?columns=eda_uS,hr_bpm,-&units=hr:bpm&counter=-", kind: "csv", port: "/dev/ttyACM0",
			canon: "csv:/dev/ttyACM0?columns=eda_uS%2Chr_bpm%2C-&counter=-&units=hr%3Abpm", name: "csv"},
		{in: "kv:/dev/ttyACM0?baud=9600&silence=10s", kind: "kv", port: "/dev/ttyACM0", canon: "kv:/dev/ttyACM0?baud=9600&silence=10s", name: "kv"},
		{in: "sim:arduino", kind: "arduino", sim: true, canon: "sim:arduino", name: "arduino"},
		{in: "sim:contec?fingerout=20s-30s,1m&motion=5s-8s&motionrate=2", kind: "contec", sim: true,
			canon: "sim:contec?fingerout=20s-30s%2C1m&motion=5s-8s&motionrate=2", name: "contec"},
		{in: "sim:grove?motion=1m30s-1m32.5s,2m-2m1s", kind: "grove", sim: true,
			canon: "sim:grove?motion=1m30s-1m32.5s%2C2m-2m1s", name: "grove"},
		{in: " auto ", auto: true, canon: "auto"},
		{in: "auto?active=true&listen=1s", auto: true, canon: "auto?active=true&listen=1s"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			s, err := Parse(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, s.Kind)
			assert.Equal(t, tc.port, s.Port)
			assert.Equal(t, tc.sim, s.Sim)
			assert.Equal(t, tc.auto, s.Auto)
			assert.Equal(t, tc.canon, s.String())
			assert.Equal(t, tc.in, s.Raw)
			if !s.Auto {
				assert.Equal(t, tc.name, s.Name())
			}
			again, err := Parse(s.String())
			require.NoError(t, err, "the canonical form parses")
			assert.Equal(t, s.String(), again.String())
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `sensor "": empty: write KIND:PORT (e.g. bitalino:/dev/rfcomm0), sim:KIND (e.g. sim:grove) or auto`},
		{"bitalino", `sensor "bitalino": no port: write bitalino:PORT (e.g. bitalino:/dev/rfcomm0?rate=100), or sim:bitalino for a simulator`},
		{"bitalino:", "no port: write bitalino:PORT"},
		{"polar:/dev/ttyUSB0", `unknown kind "polar": write KIND:PORT`},
		{"polar:/dev/ttyUSB0", "kinds: arduino, bitalino, contec, csv, grove, kv, pulsesensor, shimmer"},
		{"/dev/ttyUSB0", `unknown kind "/dev/ttyUSB0"`},
		{"sim:", "no kind after sim: write sim:KIND; kinds with a simulator: arduino, bitalino, contec, csv, grove, kv, pulsesensor, shimmer"},
		{"bitalino:/dev/rfcomm0?rate=500", "rate=500: use 1, 10, 100 or 1000"},
		{"bitalino:/dev/rfcomm0?eda=new", "eda=new: use current, older or original"},
		{"bitalino:/dev/rfcomm0?inputs=B1", `inputs=B1: "B1" is not an input: write A1..A6`},
		{"bitalino:/dev/rfcomm0?inputs=A1:emg", `A1: sensor "emg" is unknown: use eda, ecg or raw`},
		{"bitalino:/dev/rfcomm0?baud=9600", `bitalino has no option "baud": its options are name, silence, rate, eda, inputs`},
		{"bitalino:/dev/rfcomm0?seed=1", "option seed applies to simulators only (sim:bitalino?seed=…)"},
		{"bitalino:/dev/rfcomm0?rate=10&rate=100", "option rate is given 2 times: give it once"},
		{"bitalino:/dev/rfcomm0?", "bad options after '?'"},
		{"bitalino:/dev/rfcomm0?rate=%zz", "bad options after '?'"},
		{"grove:/dev/ttyUSB0?columns=a", `grove has no option "columns"`},
		{"csv:/dev/ttyUSB0?columns=a%20b", `columns=a b: "a b" is not a name`},
		{"csv:/dev/ttyUSB0?units=hr", `units=hr: "hr": write name:unit pairs`},
		{"kv:/dev/ttyUSB0?baud=fast", "baud=fast: use a whole number from 50 to 4000000"},
		{"kv:/dev/ttyUSB0?silence=1", "silence=1: use a duration from 100ms to 10m0s, e.g. 2s or 500ms"},
		{"kv:/dev/ttyUSB0?name=a,b", "name=a,b: use one name"},
		{"kv:/dev/ttyUSB0?name=physio", `name=physio: "physio" is reserved for the derived physiology streams`},
		{"sim:bitalino?name=physio-bitalino", `"physio-bitalino" is reserved for the derived physiology streams`},
		{"auto?active=yes", "active=yes: use true or false"},
		{"sim:contec?fingerout=30s-20s", `fingerout=30s-20s: "30s-20s" ends before it starts: write FROM-TO times`},
		{"sim:contec?fingerout=1m,2m-3m", `"1m" has no end but is not the last`},
		{"sim:contec?fingerout=10s-20s,15s-30s", `"15s-30s" starts before the window before it ends: give windows in order`},
		{"sim:contec?fingerout=soon", `"soon" is not a time: write FROM-TO times of the simulated stream`},
		{"sim:contec?fingerout=-5s", "fingerout=-5s: \"-5s\": write FROM-TO times"},
		{"sim:contec?fingerout=", "fingerout=: \"\": write FROM-TO times"},
		{"sim:contec?fingerout=1s-48h", "48h0m0s is past 24h0m0s"},
		{"sim:contec?fingerout=" + strings.Repeat("1s-2s,", 64) + "3s-4s", "65 windows: give at most 64"},
		{"sim:shimmer?motion=5s", `motion=5s: "5s" has no end: write FROM-TO times`},
		{"sim:pulsesensor?motionrate=100", "motionrate=100: use a number from 0 to 60"},
		{"sim:bitalino?fingerout=1s", `bitalino has no option "fingerout"`},
		{"contec:/dev/ttyUSB0?fingerout=1s", "option fingerout applies to simulators only (sim:contec?fingerout=…)"},
		{"grove:/dev/ttyUSB0?motion=1s-2s", "option motion applies to simulators only"},
		{"auto?rate=1", `auto has no option "rate": its options are active, listen`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := Parse(tc.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestDevice(t *testing.T) {
	tests := []struct {
		in       string
		rate     float64
		device   string
		settings map[string]string
		channels int
	}{
		{"bitalino:/dev/rfcomm0", 1000, "bitalino", map[string]string{"eda_revision": "current", "inputs": "A1=eda,A2=ecg"}, 2},
		{"bitalino:/dev/rfcomm0?rate=10&eda=original&inputs=A3:ecg&name=chest", 10, "chest",
			map[string]string{"eda_revision": "original", "inputs": "A3=ecg"}, 1},
		{"bitalino:/dev/rfcomm0?inputs=A2=eda,A5", 1000, "bitalino", map[string]string{"inputs": "A2=eda,A5=raw"}, 2},
		{"grove:/dev/ttyUSB0", 20, "grove", map[string]string{"mode": "grove", "baud": "9600"}, 2},
		{"csv:/dev/ttyUSB0?columns=eda_uS,hr&rate=50", 50, "csv", map[string]string{"mode": "csv", "baud": "115200"}, 2},
		{"arduino:/dev/ttyUSB0?baud=57600", 0, "arduino", map[string]string{"mode": "auto", "baud": "57600"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			s, err := Parse(tc.in)
			require.NoError(t, err)
			d, err := s.Device()
			require.NoError(t, err)
			st := d.Stream()
			assert.Equal(t, tc.rate, st.Rate)
			assert.Equal(t, tc.device, st.Device)
			for k, v := range tc.settings {
				assert.Equal(t, v, st.Settings[k], k)
			}
			assert.Len(t, st.Channels, tc.channels)
		})
	}
	s, err := Parse("csv:/dev/ttyUSB0?columns=a,a")
	require.NoError(t, err, "valid syntax")
	_, err = s.Device()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `sensor "csv:/dev/ttyUSB0?columns=a,a": lineproto: two columns are named "a"`)
	_, err = s.NewSim()
	assert.ErrorContains(t, err, "is not a simulator: write sim:KIND")
}

// Every simulator in the registry works with its own device over a pty.
func TestSimRoundTrip(t *testing.T) {
	for _, k := range Kinds() {
		if k.NewSim == nil {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			s, err := Parse("sim:" + k.Name + "?seed=7")
			require.NoError(t, err)
			sim, err := s.NewSim()
			require.NoError(t, err)
			dev, err := s.Device()
			require.NoError(t, err)
			p, err := simport.Start(context.Background(), sim)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			got := make(chan sensors.Sample, 1000)
			errc := make(chan error, 1)
			go func() {
				errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Sink: func(x sensors.Sample) {
					select {
					case got <- x:
					default:
					}
				}})
			}()
			var n int
			timeout := time.After(15 * time.Second)
			for n < 10 {
				select {
				case x := <-got:
					assert.Equal(t, s.Name(), x.Device)
					assert.Positive(t, x.N)
					n++
				case err := <-errc:
					t.Fatalf("bridge stopped: %v", err)
				case <-timeout:
					t.Fatal("no samples within 15 s")
				}
			}
			cancel()
			require.ErrorIs(t, <-errc, context.Canceled)
		})
	}
}

func TestProbes(t *testing.T) {
	grove, err := lineproto.NewSim(lineproto.SimConfig{Rate: 100})
	require.NoError(t, err)
	bit, err := bitalino.NewSim(bitalino.SimConfig{})
	require.NoError(t, err)
	silent := simport.Func(func(ctx context.Context, _ io.ReadWriter) error { <-ctx.Done(); return nil })
	lines, _ := Lookup("arduino")
	bitk, _ := Lookup("bitalino")
	require.NotNil(t, lines.Probe)
	require.False(t, lines.Probe.Sends, "listening only")
	require.True(t, bitk.Probe.Sends)
	tests := []struct {
		name   string
		sim    simport.Simulator
		probe  *Probe
		ok     bool
		kind   string
		detail string
		strong bool
	}{
		{"lines finds grove", grove, lines.Probe, true, "grove", "grove: eda (uS), raw (adc) at 115200 baud", false},
		{"lines on a silent port", silent, lines.Probe, false, "", "", false},
		{"bitalino answers", bit, bitk.Probe, true, "", "BITalino_v5.2", true},
		{"bitalino probe on a grove rig", grove, bitk.Probe, false, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := simport.Start(context.Background(), tc.sim)
			require.NoError(t, err)
			t.Cleanup(func() { p.Close() })
			m, err := tc.probe.Run(context.Background(), p.Path, 500*time.Millisecond)
			require.NoError(t, err)
			assert.Equal(t, tc.ok, m.OK)
			assert.Equal(t, tc.kind, m.Kind)
			assert.Equal(t, tc.detail, m.Detail)
			assert.Equal(t, tc.strong, m.Strong)
			if tc.kind == "grove" {
				assert.Equal(t, "115200", m.Opts.Get("baud"), "not grove's default: kept")
			}
		})
	}
	_, err = lines.Probe.Run(context.Background(), "/dev/ttyNOPE9", time.Second)
	assert.ErrorContains(t, err, "no such port")
}

func TestRegister(t *testing.T) {
	newDev := func(Opts) (sensors.Device, error) { return nil, nil }
	for name, k := range map[string]Kind{
		"duplicate":      {Name: "bitalino", New: newDev},
		"no constructor": {Name: "x1"},
		"reserved":       {Name: "sim", New: newDev},
		"upper case":     {Name: "Shimmer", New: newDev},
		"option twice":   {Name: "x2", New: newDev, Options: []Option{{Name: "name"}}},
	} {
		assert.Panics(t, func() { Register(k) }, name)
	}
	u := Usage()
	for _, want := range []string{"bitalino  PLUX BITalino", "e.g. grove:/dev/ttyUSB0", "rate: sampling rate, Hz (default 1000)",
		"columns: names to keep", "[sim]", "simulators: seed=N", "motion=FROM-TO", "fingerout: finger out of the probe",
		"20s-30s,1m (from 1 min on) [sim only]"} {
		assert.Contains(t, u, want)
	}
}

// The fault options reach the simulators' physiology: finger out and motion
// in the windows given, on every kind that takes them.
func TestSimFaults(t *testing.T) {
	type synthSim interface{ Synth() *synth.Generator }
	s := time.Second
	tests := []struct {
		spec      string
		fingerOut []synth.Window
		motion    []synth.Window
	}{
		{"sim:contec?fingerout=1s-2s,3s", []synth.Window{{From: s, To: 2 * s}, {From: 3 * s, To: time.Hour}}, nil},
		{"sim:shimmer?fingerout=2s-3s&motion=1s-1500ms", []synth.Window{{From: 2 * s, To: 3 * s}}, []synth.Window{{From: s, To: 1500 * time.Millisecond}}},
		{"sim:pulsesensor?fingerout=0s-1s", []synth.Window{{From: 0, To: s}}, nil},
		{"sim:bitalino?motion=2s-3s", nil, []synth.Window{{From: 2 * s, To: 3 * s}}},
		{"sim:kv?motion=500ms-1s,3s-3500ms", nil, []synth.Window{{From: 500 * time.Millisecond, To: s}, {From: 3 * s, To: 3500 * time.Millisecond}}},
		{"sim:contec", nil, nil},
	}
	in := func(ws []synth.Window, d time.Duration) (yes, edge bool) {
		for _, w := range ws {
			if (d-w.From).Abs() <= 10*time.Millisecond || (d-w.To).Abs() <= 10*time.Millisecond {
				edge = true
			}
			yes = yes || d >= w.From && d < w.To
		}
		return yes, edge
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			sp, err := Parse(tc.spec)
			require.NoError(t, err)
			sim, err := sp.NewSim()
			require.NoError(t, err)
			t.Cleanup(func() { sim.Close() })
			g := sim.(synthSim).Synth()
			outs, moves := 0, 0
			for range 400 { // 4 s, not running: the generator alone
				p := g.Next(10 * time.Millisecond)
				if want, edge := in(tc.fingerOut, p.T); !edge {
					require.Equal(t, want, p.FingerOut, "finger out at %v", p.T)
				}
				if want, edge := in(tc.motion, p.T); !edge {
					require.Equal(t, want, p.Motion, "motion at %v", p.T)
				}
				if p.FingerOut {
					outs++
				}
				if p.Motion {
					moves++
				}
			}
			assert.Equal(t, len(tc.fingerOut) > 0, outs > 0)
			assert.Equal(t, len(tc.motion) > 0, moves > 0)
		})
	}
}

// End to end: cueroom sim contec?fingerout=... reaches the wire. The
// oximeter reports the finger out in the window (from the stream's start
// here) and readings after it.
func TestSimFingerOutOnTheWire(t *testing.T) {
	sp, err := Parse("sim:contec?fingerout=0s-300ms&seed=4")
	require.NoError(t, err)
	sim, err := sp.NewSim()
	require.NoError(t, err)
	dev, err := sp.Device()
	require.NoError(t, err)
	p, err := simport.Start(context.Background(), sim)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan sensors.Sample, 1000)
	errc := make(chan error, 1)
	go func() {
		errc <- bridge.Run(ctx, bridge.Config{Port: p.Path, Device: dev, Sink: func(x sensors.Sample) {
			select {
			case got <- x:
			default:
			}
		}})
	}()
	// About 60 packets a second: 0.3 s is some 18 packets, then 1 s more.
	var out, in int
	timeout := time.After(15 * time.Second)
	for out+in < 80 {
		select {
		case s := <-got:
			if int(s.Values[4])&contec.FingerOut != 0 {
				require.Zero(t, in, "finger out again after it was in, at seq %d", s.Seq)
				out++
			} else {
				in++
			}
		case err := <-errc:
			t.Fatalf("bridge ended: %v", err)
		case <-timeout:
			t.Fatalf("only %d samples", out+in)
		}
	}
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	assert.InDelta(t, 18, out, 3, "finger out for 0.3 s of the stream")
	assert.Positive(t, in)
}

package spec

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.bug.st/serial"

	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/lineproto"
	"github.com/cueroom/cueroom/sensors/serialport"
)

// The registry. Each device driver is one Register call; shimmer, contec
// and pulsesensor go here the same way.
func init() {
	Register(Kind{Name: "bitalino", Summary: "PLUX BITalino (r)evolution: EDA and ECG, Bluetooth SPP, 115200 8N1",
		Example: "bitalino:/dev/rfcomm0?rate=100", Options: bitalinoOptions, Check: checkBITalino,
		New: newBITalino, NewSim: simBITalino, Probe: &Probe{Sends: true, Run: probeBITalino}})
	Register(lineKind("grove", lineproto.Grove, "Seeed Grove GSR on an Arduino: one reading per line, 9600 baud, uncalibrated µS",
		"grove:/dev/ttyUSB0"))
	Register(lineKind("csv", lineproto.CSV, "Arduino rig printing CSV lines, header optional (eda_uS,hr_bpm)",
		"csv:/dev/ttyACM0?columns=eda_uS,hr_bpm"))
	Register(lineKind("kv", lineproto.KV, "Arduino rig printing key=value lines (gsr=512 hr=72)", "kv:/dev/ttyACM0"))
	Register(lineKind("arduino", lineproto.Auto, "Arduino rig printing lines: Grove, CSV or key=value, detected from the first lines",
		"arduino:/dev/ttyACM0"))
}

var bitalinoOptions = []Option{
	{Name: "rate", Help: "sampling rate, Hz", Default: "1000", Check: OneOf("1", "10", "100", "1000")},
	{Name: "eda", Help: "EDA sensor revision (its transfer function)", Default: "current", Check: OneOf("current", "older", "original")},
	{Name: "inputs", Help: "analog inputs and their sensors, e.g. A1:eda,A2:ecg,A3 (raw)", Default: "A1:eda,A2:ecg",
		Check: func(s string) error { _, err := parseInputs(s); return err }},
	{Name: "photodiode", Help: "a photodiode on this free input (A1..A6) watching the sync patch of run --sync-patch in the same process, e.g. photodiode=A5&lag=12ms; then: cueroom timing SESSION",
		Check: func(s string) error { _, err := parseAnalog(s); return err }, SimOnly: true},
	{Name: "lag", Help: "the photodiode's delay after each frame is presented, 0 to 1s", Default: "0s",
		Check: checkLag, SimOnly: true},
	{Name: "buffer", Help: "how far behind the device's writer may fall (no one reading, a starved process) before it skips frames, as a full buffer would: 100ms to 10m", Default: "1s",
		Check: checkBuffer, SimOnly: true},
}

func checkBuffer(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 100*time.Millisecond || d > 10*time.Minute {
		return errors.New("use a duration from 100ms to 10m, e.g. buffer=1m")
	}
	return nil
}

// parseAnalog reads an input's name, "A5" (or "a5").
func parseAnalog(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(s), "A"))
	if err != nil || !strings.HasPrefix(strings.ToUpper(s), "A") || n < 1 || n > bitalino.MaxAnalog {
		return 0, fmt.Errorf("%q is not an input: write A1..A6, e.g. photodiode=A5", s)
	}
	return n, nil
}

func checkLag(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > bitalino.MaxLag {
		return fmt.Errorf("use a delay from 0 to %v, e.g. lag=12ms", bitalino.MaxLag)
	}
	return nil
}

// checkBITalino checks what single options cannot: a photodiode must go on
// an input no sensor uses, and a lag needs a photodiode.
func checkBITalino(o Opts) error {
	if !o.Has("photodiode") {
		if o.Has("lag") {
			return errors.New("lag= is the photodiode's delay: give photodiode=A1..A6 too, e.g. photodiode=A5&lag=12ms")
		}
		return nil
	}
	a, _ := parseAnalog(o.Get("photodiode")) // checked
	in, _ := parseInputs(o.Get("inputs"))
	used := func(a int) bool { return slices.ContainsFunc(in, func(x bitalino.Input) bool { return x.Analog == a }) }
	if !used(a) {
		return nil
	}
	for free := bitalino.MaxAnalog; free >= 1; free-- {
		if !used(free) {
			return fmt.Errorf("photodiode=%s: A%d is already used (inputs=%s): choose a free input, e.g. photodiode=A%d",
				o.Get("photodiode"), a, o.Get("inputs"), free)
		}
	}
	return fmt.Errorf("photodiode=%s: all six inputs are used (inputs=%s): leave one out of inputs for the photodiode",
		o.Get("photodiode"), o.Get("inputs"))
}

// parseInputs reads "A1:eda,A2:ecg,A3".
func parseInputs(s string) ([]bitalino.Input, error) {
	var out []bitalino.Input
	for _, it := range strings.Split(s, ",") {
		a, sensor, found := strings.Cut(it, ":")
		if !found {
			a, sensor, _ = strings.Cut(it, "=") // as bitalino.Input prints it
		}
		n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(a), "A"))
		if err != nil || !strings.HasPrefix(strings.ToUpper(a), "A") || n < 1 || n > bitalino.MaxAnalog {
			return nil, fmt.Errorf("%q is not an input: write A1..A6, optionally with :eda, :ecg or :raw (e.g. A1:eda,A2:ecg)", it)
		}
		switch bitalino.Sensor(sensor) {
		case "", bitalino.Raw, bitalino.EDA, bitalino.ECG:
		default:
			return nil, fmt.Errorf("A%d: sensor %q is unknown: use eda, ecg or raw", n, sensor)
		}
		out = append(out, bitalino.Input{Analog: n, Sensor: bitalino.Sensor(sensor)})
	}
	return out, nil
}

func bitalinoConfig(o Opts) (bitalino.Config, error) {
	in, err := parseInputs(o.Get("inputs"))
	cfg := bitalino.Config{Name: o.Name(), Rate: o.Int("rate"), EDARevision: bitalino.EDARevision(o.Get("eda")), Inputs: in}
	if o.Sim() {
		cfg.CommandGap = -1 // a simulator needs no pause between commands
	}
	return cfg, err
}

// photodiode is the simulated photodiode the options ask for, watching the
// light the caller handed in (zero: none).
func photodiode(o Opts) bitalino.Photodiode {
	if !o.Has("photodiode") {
		return bitalino.Photodiode{}
	}
	a, _ := parseAnalog(o.Get("photodiode")) // checked by Parse
	return bitalino.Photodiode{Analog: a, Lag: o.Duration("lag"), Light: o.env.light}
}

// newBITalino builds the device; with a simulated photodiode, its input is
// selected too, as a raw channel ("a5").
func newBITalino(o Opts) (sensors.Device, error) {
	cfg, err := bitalinoConfig(o)
	if err != nil {
		return nil, err
	}
	if p := photodiode(o); p.Analog != 0 {
		cfg.Inputs = append(cfg.Inputs, bitalino.Input{Analog: p.Analog, Sensor: bitalino.Raw})
	}
	return bitalino.New(cfg)
}

func simBITalino(o Opts) (Sim, error) {
	cfg, err := bitalinoConfig(o)
	if err != nil {
		return nil, err
	}
	return bitalino.NewSim(bitalino.SimConfig{Inputs: cfg.Inputs, EDARevision: cfg.EDARevision,
		Synth: simSynth(o), Photodiode: photodiode(o), MaxBacklog: o.Duration("buffer")})
}

// probeBITalino asks for the version (0x07) after a stop (0x00) at
// 115200 8N1: only when the user allows commands, as the bytes mean other
// things to other devices.
func probeBITalino(ctx context.Context, path string, listen time.Duration) (Match, error) {
	d, err := bitalino.New(bitalino.Config{VersionTimeout: listen})
	if err != nil {
		return Match{}, err
	}
	port, err := serialport.Open(path, serialport.Options{Mode: d.SerialMode(), Silence: -1})
	if err != nil {
		return Match{}, err
	}
	defer port.Close()
	defer context.AfterFunc(ctx, func() { port.Close() })()
	if err := d.Start(port); err != nil {
		if errors.Is(err, bitalino.ErrNotBITalino) && ctx.Err() == nil {
			return Match{}, nil
		}
		return Match{}, err
	}
	_ = d.Stop(port)
	return Match{OK: true, Strong: true, Detail: d.Firmware()}, nil
}

// lineKind registers one lineproto format.
func lineKind(name string, mode lineproto.Mode, summary, example string) Kind {
	baud := strconv.Itoa(lineproto.DefaultBaud)
	if mode == lineproto.Grove {
		baud = strconv.Itoa(lineproto.GroveBaud)
	}
	opts := []Option{
		{Name: "baud", Help: "line speed: the sketch's Serial.begin value", Default: baud, Check: IntIn(50, 4_000_000)},
		{Name: "rate", Help: "lines per second, if known (for the watchdog and exports)", Check: FloatIn(0, 10_000)},
		{Name: "maxline", Help: "longest line accepted, bytes", Default: strconv.Itoa(lineproto.DefaultMaxLine), Check: IntIn(8, lineproto.MaxMaxLine)},
	}
	if mode != lineproto.Grove {
		opts = append(opts,
			Option{Name: "columns", Help: "names to keep (with a header or keys) or of every field (no header; - skips), e.g. eda_uS,hr_bpm",
				Check: Names(lineproto.MaxFields)},
			Option{Name: "units", Help: "units by name where the lines carry none, e.g. gsr:kohm,temp:degC", Check: checkUnits},
			Option{Name: "counter", Help: "field holding the device's own counter (default seq or millis), - for none",
				Check: func(s string) error {
					if s == "-" || validName(s) {
						return nil
					}
					return errors.New("use a field name, or - for none")
				}})
	}
	k := Kind{Name: name, Summary: summary, Example: example, Options: opts,
		New: func(o Opts) (sensors.Device, error) { return lineproto.New(lineConfig(o, mode)) },
		NewSim: func(o Opts) (Sim, error) {
			m := mode
			if m == lineproto.Auto {
				m = lineproto.Grove
			}
			return lineproto.NewSim(lineproto.SimConfig{Mode: m, Synth: simSynth(o)})
		}}
	if mode == lineproto.Auto {
		k.Probe = &Probe{Run: probeLines} // listens only: the other formats are found through it
	}
	return k
}

func checkUnits(s string) error {
	for _, it := range strings.Split(s, ",") {
		name, unit, ok := strings.Cut(it, ":")
		if !ok || !validName(name) || unit == "" {
			return fmt.Errorf("%q: write name:unit pairs separated by commas, e.g. gsr:kohm,hr:bpm", it)
		}
	}
	return nil
}

func lineConfig(o Opts, mode lineproto.Mode) lineproto.Config {
	cfg := lineproto.Config{Name: o.Name(), Mode: mode, Baud: o.Int("baud"), Rate: o.Float("rate"),
		Columns: o.List("columns"), MaxLine: o.Int("maxline")}
	if o.Has("counter") {
		cfg.Counter = o.Get("counter")
	}
	if u := o.List("units"); u != nil {
		cfg.Units = map[string]string{}
		for _, it := range u {
			name, unit, _ := strings.Cut(it, ":")
			cfg.Units[name] = unit
		}
	}
	return cfg
}

// probeLines listens at 115200 and then 9600 baud for lines of any format.
// Opening the port resets most Arduinos, hence a listen of 2 s or more.
func probeLines(ctx context.Context, path string, listen time.Duration) (Match, error) {
	for _, baud := range []int{lineproto.DefaultBaud, lineproto.GroveBaud} {
		if err := ctx.Err(); err != nil {
			return Match{}, err
		}
		d, err := lineproto.New(lineproto.Config{Baud: baud, DetectTimeout: listen})
		if err != nil {
			return Match{}, err
		}
		port, err := serialport.Open(path, serialport.Options{Mode: serial.Mode{BaudRate: baud}, Silence: -1})
		if err != nil {
			return Match{}, err
		}
		stop := context.AfterFunc(ctx, func() { port.Close() })
		err = d.Start(port)
		stop()
		port.Close()
		if err != nil {
			if errors.Is(err, lineproto.ErrNoLines) {
				continue
			}
			if ctx.Err() != nil {
				return Match{}, ctx.Err()
			}
			return Match{}, err
		}
		kind := string(d.Mode())
		m := Match{OK: true, Kind: kind, Opts: url.Values{}, Detail: fmt.Sprintf("%s at %d baud", d.Format(), baud)}
		def := lineproto.DefaultBaud
		if d.Mode() == lineproto.Grove {
			def = lineproto.GroveBaud
		}
		if baud != def {
			m.Opts.Set("baud", strconv.Itoa(baud))
		}
		return m, nil
	}
	return Match{}, nil
}

package main

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/bus"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bitalino"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/simport"
)

// sensorSpec is one --sensor value: KIND:PORT[?opts] or sim:KIND[?opts].
type sensorSpec struct {
	raw  string
	kind string // "bitalino"
	port string // device path; "" for a simulator
	sim  bool
	opts url.Values
}

func parseSensorSpec(s string) (sensorSpec, error) {
	spec := sensorSpec{raw: s}
	body, query, _ := strings.Cut(s, "?")
	opts, err := url.ParseQuery(query)
	if err != nil {
		return spec, usagef("--sensor %q: bad options after '?': %v (write opt=value&opt=value)", s, err)
	}
	spec.opts = opts
	kind, rest, ok := strings.Cut(body, ":")
	if !ok || rest == "" {
		return spec, usagef("--sensor %q: write KIND:PORT (e.g. bitalino:/dev/rfcomm0) or sim:KIND (e.g. sim:bitalino)", s)
	}
	if kind == "sim" {
		spec.sim, spec.kind = true, rest
	} else {
		spec.kind, spec.port = kind, rest
	}
	if spec.kind != "bitalino" {
		return spec, usagef("--sensor %q: unknown device kind %q: supported: bitalino", s, spec.kind)
	}
	return spec, nil
}

// bitalinoConfig reads rate= and eda= options.
func bitalinoConfig(spec sensorSpec) (bitalino.Config, error) {
	cfg := bitalino.Config{Name: "bitalino"}
	if v := spec.opts.Get("rate"); v != "" {
		r, err := strconv.Atoi(v)
		if err != nil {
			return cfg, usagef("--sensor %q: rate=%q is not a number: use 1, 10, 100 or 1000", spec.raw, v)
		}
		cfg.Rate = r
	}
	if v := spec.opts.Get("eda"); v != "" {
		cfg.EDARevision = bitalino.EDARevision(v)
	}
	if v := spec.opts.Get("name"); v != "" {
		cfg.Name = v
	}
	return cfg, nil
}

// rig is the running sensors: one bridge per --sensor, and the simulators.
type rig struct {
	mu      sync.Mutex
	streams []sensors.Stream
	descr   []string
	sims    []*bitalino.Sim
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// startSensors opens every sensor and waits until each has answered, so a
// wrong or busy port is reported before any session folder exists. Samples
// go onto the bus stamped with the session clock.
func startSensors(parent context.Context, specs []string, clock *engine.Clock, b *bus.Bus) (*rig, error) {
	ctx, cancel := context.WithCancel(parent)
	r := &rig{cancel: cancel}
	names := map[string]bool{}
	for i, raw := range specs {
		spec, err := parseSensorSpec(raw)
		if err != nil {
			r.Stop()
			return nil, err
		}
		cfg, err := bitalinoConfig(spec)
		if err != nil {
			r.Stop()
			return nil, err
		}
		if names[cfg.Name] {
			cfg.Name = fmt.Sprintf("%s%d", cfg.Name, i+1)
		}
		names[cfg.Name] = true
		if spec.sim {
			cfg.CommandGap = -1 // a simulator needs no pause between commands
			sim, err := bitalino.NewSim(bitalino.SimConfig{EDARevision: cfg.EDARevision})
			if err != nil {
				r.Stop()
				return nil, usagef("--sensor %q: %v", raw, err)
			}
			pty, err := simport.Start(ctx, sim)
			if err != nil {
				r.Stop()
				return nil, fmt.Errorf("--sensor %q: %w", raw, err)
			}
			r.wg.Add(1)
			go func() { defer r.wg.Done(); <-ctx.Done(); pty.Close(); sim.Close() }()
			r.sims = append(r.sims, sim)
			spec.port = pty.Path
		}
		dev, err := bitalino.New(cfg)
		if err != nil {
			r.Stop()
			return nil, usagef("--sensor %q: %v", raw, err)
		}
		if err := r.startBridge(ctx, spec, dev, clock, b); err != nil {
			r.Stop()
			return nil, err
		}
	}
	return r, nil
}

func (r *rig) startBridge(ctx context.Context, spec sensorSpec, dev *bitalino.Device, clock *engine.Clock, b *bus.Bus) error {
	ready := make(chan sensors.Stream, 1)
	failed := make(chan error, 1)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := bridge.Run(ctx, bridge.Config{
			Port: spec.port, Device: dev, Now: clock.Now,
			OnStream: func(s sensors.Stream) { ready <- s },
			Sink: func(s sensors.Sample) {
				b.Publish(bus.Msg{Sample: &s})
			},
		})
		if ctx.Err() != nil {
			return
		}
		failed <- err
		// Once running, a lost sensor is an alert for the therapist, not the
		// end of the session (reconnecting comes with the sensor bridge).
		t := clock.Now()
		b.Publish(bus.Msg{Event: &bus.Event{T: t, Wall: clock.Wall(t), Kind: bus.Alert, Step: -1,
			Data: map[string]any{"source": "sensor", "device": dev.Stream().Device, "message": fmt.Sprint(err)}}})
	}()
	select {
	case s := <-ready:
		r.mu.Lock()
		r.streams = append(r.streams, s)
		where := spec.port
		if spec.sim {
			where = "simulated on " + spec.port
		}
		r.descr = append(r.descr, fmt.Sprintf("%s (%s, %g Hz, %s)", s.Device, where, s.Rate, channelList(s)))
		r.mu.Unlock()
		b.Publish(bus.Msg{Stream: &s})
		return nil
	case err := <-failed:
		return usagef("--sensor %q: %v", spec.raw, err)
	case <-time.After(15 * time.Second):
		return usagef("--sensor %q: the device did not start within 15 s: check it is switched on and paired", spec.raw)
	}
}

func channelList(s sensors.Stream) string {
	var out []string
	for _, c := range s.Channels {
		out = append(out, c.Label+" "+c.Unit)
	}
	return strings.Join(out, ", ")
}

// Streams lists the devices' channel descriptions.
func (r *rig) Streams() []sensors.Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sensors.Stream(nil), r.streams...)
}

// Describe says which sensors run, for the operator.
func (r *rig) Describe() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.descr, "; ")
}

// FollowCues lets simulated skin conductance respond to cue onsets, as a
// real participant's would, until sub closes.
func (r *rig) FollowCues(sub *bus.Sub) {
	for m := range sub.C {
		if m.Event == nil || m.Event.Kind != bus.CueOnset {
			continue
		}
		for _, s := range r.sims {
			s.Stimulus()
		}
	}
}

// Stop stops every bridge and simulator and waits for them.
func (r *rig) Stop() {
	r.once.Do(func() {
		r.cancel()
		r.wg.Wait()
	})
}

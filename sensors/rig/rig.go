// Package rig runs a session's sensors: one bridge per --sensor spec (a real
// port, auto-detection, or a simulator on a pseudo-terminal), their samples
// and their losses published as bus messages on the session clock.
package rig

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/detect"
	"github.com/cueroom/cueroom/sensors/simport"
	"github.com/cueroom/cueroom/sensors/spec"
)

// Clock is the session clock the samples are stamped with.
type Clock interface {
	Now() time.Duration
	Wall(t time.Duration) time.Time
}

// SpecError is a --sensor spec that cannot be used as given: the user's to
// fix (cueroom exits 2 on it).
type SpecError struct{ Msg string }

func (e *SpecError) Error() string { return e.Msg }

func specErrorf(format string, args ...any) error { return &SpecError{fmt.Sprintf(format, args...)} }

// Rig is the running sensors: one bridge per spec, and the simulators.
type Rig struct {
	mu      sync.Mutex
	streams []sensors.Stream
	descr   []string
	sims    []spec.Sim
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once
}

// Start opens every sensor and waits until each has answered, so a
// wrong or busy port is reported before any session folder exists. Samples
// go onto the bus stamped with the session clock; once a sensor has
// streamed, losing it is an alert and a recorded gap, and the bridge
// reconnects with backoff on the same time base.
// Auto-detection says what it found on out. simOpts go to every
// simulator (the sync patch's light for a simulated photodiode).
func Start(parent context.Context, raws []string, clock Clock, b *bus.Bus, out io.Writer, simOpts ...spec.SimOption) (*Rig, error) {
	ctx, cancel := context.WithCancel(parent)
	r := &Rig{cancel: cancel}
	names := map[string]int{}
	for _, raw := range raws {
		sp, err := spec.Parse(raw)
		if err != nil {
			r.Stop()
			return nil, specErrorf("--sensor %q: %v", raw, err)
		}
		if sp.Auto {
			found, ports, err := detect.Auto(ctx, detect.FromSpec(sp))
			if err != nil {
				r.Stop()
				return nil, specErrorf("--sensor auto: %v", err)
			}
			_ = ports
			fmt.Fprintf(out, "  auto:      found %s\n", found.String())
			sp = found
		}
		name := sp.Name()
		if names[name]++; names[name] > 1 {
			// Two sensors of a kind: keep their samples apart.
			sp, err = spec.Parse(withOpt(sp.String(), "name", fmt.Sprintf("%s%d", name, names[name])))
			if err != nil {
				r.Stop()
				return nil, specErrorf("--sensor %q: %v", raw, err)
			}
		}
		port := sp.Port
		if sp.Sim {
			sim, err := sp.NewSim(simOpts...)
			if err != nil {
				r.Stop()
				return nil, specErrorf("--sensor %q: %v", raw, err)
			}
			pty, err := simport.Start(ctx, sim)
			if err != nil {
				sim.Close()
				r.Stop()
				return nil, fmt.Errorf("--sensor %q: %w", raw, err)
			}
			r.wg.Add(1)
			go func() { defer r.wg.Done(); <-ctx.Done(); pty.Close(); sim.Close() }()
			r.sims = append(r.sims, sim)
			port = pty.Path
		}
		dev, err := sp.Device()
		if err != nil {
			r.Stop()
			return nil, specErrorf("--sensor %q: %v", raw, err)
		}
		if err := r.startBridge(ctx, raw, sp, port, dev, clock, b); err != nil {
			r.Stop()
			return nil, err
		}
	}
	return r, nil
}

// withOpt adds opt=v to a spec string.
func withOpt(s, opt, v string) string {
	sep := "?"
	if strings.Contains(s, "?") {
		sep = "&"
	}
	return s + sep + opt + "=" + v
}

func (r *Rig) startBridge(ctx context.Context, raw string, sp spec.Spec, port string, dev sensors.Device, clock Clock, b *bus.Bus) error {
	ready := make(chan sensors.Stream, 1)
	failed := make(chan error, 1)
	publish := func(d event.Data) {
		t := clock.Now()
		b.Publish(bus.Msg{Event: &event.Event{T: t, Wall: clock.Wall(t), Step: -1, Data: d}})
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := bridge.Run(ctx, bridge.Config{
			Port: port, Device: dev, Now: clock.Now, Silence: sp.Silence(), Reconnect: true,
			OnStream: func(s sensors.Stream) { ready <- s },
			Sink:     func(s sensors.Sample) { b.Publish(bus.Msg{Sample: &s}) },
			OnStatus: func(st bridge.Status) {
				switch st.State {
				case bridge.Streaming, bridge.Reconnected, bridge.Stopped:
					// How the samples are timed, in the recording: at the
					// start of each connection and, with the final
					// figures, at the end.
					if st.State != bridge.Streaming || st.Samples <= 1 {
						publish(event.DeviceInfo{Device: st.Device, Info: st.Clock.String()})
					}
				}
				switch st.State {
				case bridge.Lost:
					publish(event.Alert{Source: "sensor", Device: st.Device, Message: st.Message()})
				case bridge.Reconnected:
					g := event.Gap{Source: "sensor", Device: st.Device, Message: st.Message()}
					if st.Gap != nil {
						g.Start, g.End, g.Reason = event.Secs(st.Gap.Start), event.Secs(st.Gap.End), st.Gap.Reason
					}
					publish(g)
				}
			},
		})
		if ctx.Err() != nil {
			return
		}
		failed <- err
		publish(event.Alert{Source: "sensor", Device: dev.Stream().Device, Message: fmt.Sprint(err)})
	}()
	select {
	case s := <-ready:
		r.mu.Lock()
		r.streams = append(r.streams, s)
		where := port
		if sp.Sim {
			where = "simulated on " + port
		}
		r.descr = append(r.descr, fmt.Sprintf("%s (%s, %g Hz, %s)", s.Device, where, s.Rate, channelList(s)))
		r.mu.Unlock()
		b.Publish(bus.Msg{Stream: &s})
		return nil
	case err := <-failed:
		return specErrorf("--sensor %q: %v", raw, err)
	case <-time.After(15 * time.Second):
		return specErrorf("--sensor %q: the device did not start within 15 s: check it is switched on and paired", raw)
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
func (r *Rig) Streams() []sensors.Stream {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sensors.Stream(nil), r.streams...)
}

// Describe says which sensors run, for the operator.
func (r *Rig) Describe() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.descr, "; ")
}

// FollowCues lets simulated skin conductance respond to cue onsets, as a
// real participant's would, until sub closes.
func (r *Rig) FollowCues(sub *bus.Sub) {
	for m := range sub.C {
		if m.Event == nil || m.Event.Kind() != event.KindCueOnset {
			continue
		}
		for _, s := range r.sims {
			s.Stimulus()
		}
	}
}

// Stop stops every bridge and simulator and waits for them.
func (r *Rig) Stop() {
	r.once.Do(func() {
		r.cancel()
		r.wg.Wait()
	})
}

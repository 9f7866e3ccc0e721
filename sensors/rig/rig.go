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
	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
	"github.com/cueroom/cueroom/sensors/detect"
	"github.com/cueroom/cueroom/sensors/lslsensor"
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
		if strings.HasPrefix(raw, lslsensor.Prefix) {
			if err := r.startLSL(ctx, raw, clock, b); err != nil {
				r.Stop()
				return nil, err
			}
			continue
		}
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
	var inc incident
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := bridge.Run(ctx, bridge.Config{
			Port: port, Device: dev, Now: clock.Now, Silence: sp.Silence(), Reconnect: true,
			OnStream: func(s sensors.Stream) { ready <- s },
			Sink: func(s sensors.Sample) {
				if g, a, ok := inc.sample(s); ok {
					publish(g)
					publish(a)
				}
				b.Publish(bus.Msg{Sample: &s})
			},
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
				inc.gapAndAlert(st, publish)
			},
		})
		if ctx.Err() != nil {
			return
		}
		failed <- err
		publish(inc.ended(dev.Stream().Device, err))
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

// startLSL records an LSL stream (--sensor lsl:NAME, lsl:type=EEG) as a
// sensor: like startBridge, with the stream resolved on the network.
func (r *Rig) startLSL(ctx context.Context, raw string, clock Clock, b *bus.Bus) error {
	ready := make(chan sensors.Stream, 1)
	failed := make(chan error, 1)
	publish := func(d event.Data) {
		t := clock.Now()
		b.Publish(bus.Msg{Event: &event.Event{T: t, Wall: clock.Wall(t), Step: -1, Data: d}})
	}
	sel := strings.TrimPrefix(raw, lslsensor.Prefix)
	var inc incident
	var device string
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := lslsensor.Run(ctx, lslsensor.Config{
			Selector: sel, Clock: lsl.SessionClockAt(clock.Wall(0)), Now: clock.Now, Reconnect: true,
			OnStream: func(s sensors.Stream) { device = s.Device; ready <- s },
			Sink:     func(s sensors.Sample) { b.Publish(bus.Msg{Sample: &s}) },
			OnStatus: func(st bridge.Status) { inc.gapAndAlert(st, publish) },
		})
		if ctx.Err() != nil {
			return
		}
		failed <- err
		if device != "" {
			publish(inc.ended(device, err))
		}
	}()
	select {
	case s := <-ready:
		r.mu.Lock()
		r.streams = append(r.streams, s)
		r.descr = append(r.descr, fmt.Sprintf("%s (LSL %s from %s, %g Hz, %s)", s.Device, s.Settings["lsl_name"], s.Settings["hostname"], s.Rate, channelList(s)))
		r.mu.Unlock()
		b.Publish(bus.Msg{Stream: &s})
		return nil
	case err := <-failed:
		return specErrorf("--sensor %q: %v", raw, err)
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

// incident turns one sensor's connection statuses into the therapist's
// alerts: a loss, then reconnection, is one incident ("sensor:DEVICE") in
// plain words, the raw error kept as its Detail: opened at the loss,
// updated now and then while it lasts, resolved when the sensor is back.
// Used from the bridge's goroutine only.
type incident struct {
	lostAt   time.Duration // session time of the loss
	next     int           // index in stillLost of the next update
	open     bool
	streamed bool

	// Samples lost while the connection held: the device's counter says
	// so, and the samples' times (from it) step over them.
	lastT      time.Duration // the last sample's time
	haveLast   bool
	reconnects bool // the next sample ends a reconnection's gap, reported with it
}

// LostAfter is the shortest loss of samples within a connection that is
// reported as a gap (a recorded gap event and an alert): shorter ones are
// counted in the device's figures only.
const LostAfter = time.Second

// IncidentGap is the incident key of a device's lost samples.
func IncidentGap(device string) string { return "gap:" + device }

// sample looks at each sample's time as it goes out: a step of LostAfter
// or more over samples the device's counter shows missing is a gap, which
// the recording, the charts and the therapist are told of. The step
// after a reconnection is the reconnection's own gap.
func (in *incident) sample(s sensors.Sample) (event.Gap, event.Alert, bool) {
	prev, had, skip := in.lastT, in.haveLast, in.reconnects
	in.lastT, in.haveLast, in.reconnects = s.T, true, false
	if !had || skip || s.T-prev < LostAfter {
		return event.Gap{}, event.Alert{}, false
	}
	d := (s.T - prev).Seconds()
	g := event.Gap{Source: "sensor", Device: s.Device, Start: event.Secs(prev), End: event.Secs(s.T), Reason: "samples lost",
		Message: fmt.Sprintf("%s: %.1f s of samples lost on the link (the device's counter shows them missing)", s.Device, d)}
	a := event.Alert{Source: "sensor", Device: s.Device, Level: event.LevelWarning, Incident: IncidentGap(s.Device),
		Message: fmt.Sprintf("%.1f s of data from sensor %s is missing (samples lost on the link) — check its distance, interference and battery", d, s.Device)}
	return g, a, true
}

// stillLost are how long after a loss a "still not back" update is sent,
// then every last step.
var stillLost = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute}

// due is how long after the loss the next update is due.
func (in *incident) due() time.Duration {
	if in.next < len(stillLost) {
		return stillLost[in.next]
	}
	last := stillLost[len(stillLost)-1]
	return last * time.Duration(in.next-len(stillLost)+2)
}

// IncidentSensor is the incident key of a sensor's connection alerts.
func IncidentSensor(device string) string { return "sensor:" + device }

// lostWords says in plain words how a sensor was lost.
func lostWords(device, reason string) string {
	switch reason {
	case bridge.ReasonGone:
		return "Sensor " + device + " disconnected"
	case bridge.ReasonSilent:
		return "Sensor " + device + " stopped sending data"
	case bridge.ReasonUndecodable:
		return "Sensor " + device + " sends data that cannot be read (noise on the line)"
	}
	return "Sensor " + device + " lost"
}

func (in *incident) status(st bridge.Status) (event.Alert, bool) {
	a := event.Alert{Source: "sensor", Device: st.Device, Level: event.LevelWarning, Incident: IncidentSensor(st.Device)}
	switch st.State {
	case bridge.Streaming:
		in.streamed = true
	case bridge.Lost:
		reason := bridge.ReasonError
		if st.Gap != nil {
			reason = st.Gap.Reason
		}
		in.lostAt, in.next, in.open = st.T, 0, true
		in.streamed = true // only a sensor that streamed is lost
		a.Message = lostWords(st.Device, reason) + " — reconnecting; no data from it until it is back"
		if st.Err != nil {
			a.Detail = st.Err.Error()
		}
		return a, true
	case bridge.Connecting:
		if !in.open || st.T-in.lostAt < in.due() {
			return a, false
		}
		in.next++
		a.Message = fmt.Sprintf("Sensor %s still not back after %s — check it is switched on, charged and in range; still trying",
			st.Device, roundLost(st.T-in.lostAt))
		if st.Err != nil {
			a.Detail = st.Err.Error()
		}
		return a, true
	case bridge.Reconnected:
		in.open, in.streamed, in.reconnects = false, true, true
		a.Resolved = true
		a.Message = "Sensor " + st.Device + " reconnected"
		if st.Gap != nil {
			a.Message += fmt.Sprintf(" after a %.1f s gap", (st.Gap.End - st.Gap.Start).Seconds())
		}
		return a, true
	}
	return a, false
}

// roundLost says how long a sensor has been lost: "12 s", "3 min".
func roundLost(d time.Duration) string {
	if d < 2*time.Minute {
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	}
	return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
}

// ended is the alert for a bridge that stopped for good: it gave up
// reconnecting, or the sensor never started.
func (in *incident) ended(device string, err error) event.Alert {
	a := event.Alert{Source: "sensor", Device: device, Level: event.LevelWarning, Incident: IncidentSensor(device),
		Message: "Sensor " + device + " lost for good: no longer trying to reconnect — its data is missing from here on",
		Detail:  fmt.Sprint(err)}
	if !in.streamed {
		a.Message = "Sensor " + device + " could not be started — check it is switched on, paired and on the right port"
	}
	return a
}

// gapAndAlert publishes what a status means for the recording and the
// therapist: after a reconnection the gap (before the incident's end, so
// physiology knows the gap its samples show), then the incident's alert.
func (in *incident) gapAndAlert(st bridge.Status, publish func(event.Data)) {
	if st.State == bridge.Reconnected {
		g := event.Gap{Source: "sensor", Device: st.Device, Message: st.Message()}
		if st.Gap != nil {
			g.Start, g.End, g.Reason = event.Secs(st.Gap.Start), event.Secs(st.Gap.End), st.Gap.Reason
		}
		publish(g)
	}
	if a, ok := in.status(st); ok {
		publish(a)
	}
}

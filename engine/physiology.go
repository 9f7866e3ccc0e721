package engine

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/physio"
)

// PhysioDevice names the derived stream: heart rate, skin conductance level
// and arousal, as the feed and the recording carry them.
const PhysioDevice = "physio"

// physioStream is the derived stream's description.
var physioStream = sensors.Stream{Device: PhysioDevice, Kind: "derived", Rate: 4, Channels: []sensors.Channel{
	{Label: "hr", Unit: "bpm", Type: "HR"},
	{Label: "scl", Unit: "uS", Type: "EDA"},
	{Label: "arousal", Unit: "z", Type: "MISC"},
	{Label: "rmssd", Unit: "ms", Type: "MISC"}, // HRV: RMSSD of the last minute's beats
}}

// Physiology turns the sensors' samples into live heart rate, skin
// conductance, SCRs, arousal and signal-quality alerts (sensors/physio),
// published back on the bus as the "physio" stream and "scr" and "alert"
// events. It follows the session's steps: the baseline step sets the
// arousal baseline, and each step start is the reference of its end_when
// habituation condition (it implements Arousal).
type Physiology struct {
	bus   *bus.Bus
	clock *Clock

	mu       sync.Mutex
	procs    map[string]*physio.Processor // by device
	names    map[string]string            // derived stream name by device
	out      []physio.Derived
	above    bool          // arousal is above the ceiling
	baseFrom time.Duration // baseline step start

	// Alert incidents (event.Alert.Incident) this keeps: a channel's
	// quality problem is one incident until the signal is usable again; a
	// gap in a device's samples is one alert for all its channels, and none
	// at all when the sensor layer reported it with a gap event (a
	// reconnection, in its "sensor:DEVICE" incident; samples lost, in
	// "gap:DEVICE"): this is for sources that do not.
	signal    map[signalKey]bool       // open signal incidents
	explained map[string]time.Duration // by device: the end of the last gap the sensor layer reported
	gapAt     map[string]time.Duration // by device: when its last gap alert was made
	lastT     map[string]time.Duration // by device: the last sample's time
}

type signalKey struct{ device, channel string }

// Incident keys of physiology's alerts.
const (
	IncidentArousal = "arousal"
	incidentSignal  = "signal:" // + device + ":" + channel
	incidentGap     = "gap:"    // + device
)

// gapExplained is how long after a gap the sensor layer reported a gap
// flag is taken to be that same gap; gapOnce, how long after a gap alert
// another channel's flag is the same gap.
const (
	gapExplained = 5 * time.Second
	gapOnce      = 2 * time.Second
)

// gapStep is the hole between two samples' times that is a gap: the
// processor's own threshold (physio.Config.GapAfter's default).
const gapStep = time.Second

// NewPhysiology publishes derived signals on b.
func NewPhysiology(b *bus.Bus, c *Clock) *Physiology {
	return &Physiology{bus: b, clock: c, procs: map[string]*physio.Processor{}, names: map[string]string{},
		signal: map[signalKey]bool{}, explained: map[string]time.Duration{}, gapAt: map[string]time.Duration{},
		lastT: map[string]time.Duration{}}
}

// Run consumes a lossless subscription until it closes.
func (ph *Physiology) Run(sub *bus.Sub) {
	for m := range sub.C {
		switch {
		case m.Stream != nil && m.Stream.Kind != "derived":
			ph.addStream(*m.Stream)
		case m.Sample != nil:
			ph.push(m.Sample) // its own derived samples have no processor
		case m.Event != nil:
			ph.follow(m.Event)
		}
	}
}

func (ph *Physiology) addStream(st sensors.Stream) {
	p, err := physio.New(st, physio.Config{})
	if err != nil {
		return // nothing physiological on this device
	}
	ph.mu.Lock()
	// One derived stream per sensor: "physio" for the first, then
	// "physio-DEVICE", so two sensors' heart rates never interleave.
	name := PhysioDevice
	if len(ph.procs) > 0 || st.Device == PhysioDevice {
		name = PhysioDevice + "-" + st.Device
	}
	if _, known := ph.procs[st.Device]; known {
		name = ph.names[st.Device] // a device announcing itself again
	}
	ph.procs[st.Device] = p
	ph.names[st.Device] = name
	ph.mu.Unlock()
	ds := physioStream
	ds.Device = name
	ds.Settings = map[string]string{"source": st.Device}
	ph.bus.Publish(bus.Msg{Stream: &ds})
}

func (ph *Physiology) push(s *sensors.Sample) {
	ph.mu.Lock()
	p := ph.procs[s.Device]
	name := ph.names[s.Device]
	if p == nil {
		ph.mu.Unlock()
		return
	}
	ph.out = p.Push(*s, ph.out[:0])
	out := ph.out
	last, seen := ph.lastT[s.Device]
	ph.lastT[s.Device] = s.T
	ph.mu.Unlock()
	// A hole between this sample and the one before: samples were lost.
	hole := seen && s.T-last >= gapStep
	for _, d := range out {
		switch d.Kind {
		case physio.KindLevels:
			l := d.Levels
			v := sensors.Sample{Device: name, T: d.T, N: 4}
			v.Values[0], v.Values[1], v.Values[2] = nan(float64(l.HR), l.HasHR), nan(float64(l.SC), l.HasSC), nan(l.Arousal, l.HasArousal)
			v.Values[3] = nan(l.RMSSD, l.HasRMSSD)
			ph.bus.Publish(bus.Msg{Sample: &v})
			ph.ceiling(d.T, l)
		case physio.KindSCR:
			// At its onset, where the dashboard marks it.
			ph.event(d.SCR.Onset, event.SCR{Device: s.Device, Source: d.Source,
				Onset: event.Secs(d.SCR.Onset), Peak: event.Secs(d.SCR.Peak), Amplitude: float64(d.SCR.Amplitude), Rise: event.Secs(d.SCR.Rise)})
		case physio.KindAlert:
			ph.event(d.Known, event.Quality{Device: s.Device, Channel: d.Source, Flags: d.Quality.Names()})
			for _, a := range ph.qualityAlerts(s.Device, d, hole) {
				ph.event(d.Known, a)
			}
		}
	}
}

// qualityAlerts turns a channel's quality change into the therapist's
// alerts: the channel's incident opened, updated or resolved, and a gap
// alert when the sample that raised the gap flag came after a hole in the
// samples' times (hole) and the gap is not one already reported. (The
// processor also raises the flag when its nominal-rate count drifts a
// second from the samples' times, as a device clock some hundred ppm off
// does within the hour: no sample is missing then.)
func (ph *Physiology) qualityAlerts(device string, d physio.Derived, hole bool) []event.Alert {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	var out []event.Alert
	if d.Raised&physio.Gap != 0 && hole {
		end, reported := ph.explained[device]
		last, alerted := ph.gapAt[device]
		switch {
		case reported && d.Known-end >= -time.Second && d.Known-end <= gapExplained:
			// The sensor's own incident said it: lost, then back.
		case alerted && d.Known-last <= gapOnce:
			// Another channel of the same gap.
		default:
			ph.gapAt[device] = d.Known
			out = append(out, event.Alert{Source: "signal", Device: device, Level: event.LevelWarning,
				Incident: incidentGap + device,
				Message:  fmt.Sprintf("Some data from %s was lost (samples missing) — check the device link: distance, cable, battery", device)})
		}
	}
	// The channel's own incident leaves gaps out.
	nd := d
	nd.Quality &^= physio.Gap
	nd.Raised &^= physio.Gap
	nd.Cleared &^= physio.Gap
	key := signalKey{device, d.Source}
	open := ph.signal[key]
	if nd.Raised == 0 && (nd.Cleared == 0 || !open) {
		return out
	}
	e, ok := nd.AlertEvent()
	if !ok {
		return out
	}
	a := e.Data.(event.Alert)
	a.Device = device
	a.Incident = incidentSignal + device + ":" + d.Source
	ph.signal[key] = !a.Resolved
	return append(out, a)
}

func nan(v float64, ok bool) float64 {
	if !ok {
		return math.NaN()
	}
	return v
}

func (ph *Physiology) event(t time.Duration, d event.Data) {
	ph.bus.Publish(bus.Msg{Event: &event.Event{T: t, Wall: ph.clock.Wall(t), Step: -1, Data: d}})
}

// ArousalCeiling is the arousal index (z) above which the therapist is
// alerted; the alert re-arms once arousal is half a unit below it.
const ArousalCeiling = 2.5

func (ph *Physiology) ceiling(t time.Duration, l physio.Levels) {
	if !l.HasArousal {
		return
	}
	ph.mu.Lock()
	fire := !ph.above && l.Arousal > ArousalCeiling
	rearm := ph.above && l.Arousal < ArousalCeiling-0.5
	if fire {
		ph.above = true
	} else if rearm {
		ph.above = false
	}
	ph.mu.Unlock()
	// One incident from crossing the ceiling until arousal is clearly back
	// under it; both alerts carry the ceiling (a replay's context keeps the
	// latest).
	switch {
	case fire:
		ph.event(t, event.Alert{Source: "arousal", Level: event.LevelAlarm, Incident: IncidentArousal,
			Limit: &event.Limit{Value: ArousalCeiling}, Value: event.Float(l.Arousal),
			Message: fmt.Sprintf("arousal %.1f is above the ceiling of %.1f (z against baseline)", l.Arousal, ArousalCeiling)})
	case rearm:
		ph.event(t, event.Alert{Source: "arousal", Level: event.LevelAlarm, Incident: IncidentArousal, Resolved: true,
			Limit: &event.Limit{Value: ArousalCeiling}, Value: event.Float(l.Arousal),
			Message: fmt.Sprintf("arousal is back under the ceiling: %.1f (ceiling %.1f)", l.Arousal, ArousalCeiling)})
	}
}

// follow sets the baseline and the habituation reference from the steps.
func (ph *Physiology) follow(e *event.Event) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	switch d := e.Data.(type) {
	case event.StepStart:
		for _, p := range ph.procs {
			if d.ID == "baseline" {
				p.StartBaseline(e.T)
			}
			p.MarkStep(e.T)
		}
		if d.ID == "baseline" {
			ph.baseFrom = e.T
		}
	case event.Gap:
		if d.Source == "sensor" {
			// The sensor layer reported this gap, and alerted.
			ph.explained[d.Device] = d.End.Duration()
		}
	case event.StepEnd:
		if d.ID != "baseline" {
			return
		}
		for _, p := range ph.procs {
			p.EndBaseline(e.T)
		}
		// The arousal index is a z-score against the baseline: its band is ±1.
		ph.event(e.T, event.Baseline{From: event.Secs(ph.baseFrom), To: event.Secs(e.T), Lo: -1, Hi: 1})
	}
}

// SCLRecovered implements Arousal with the first device that measures
// skin conductance.
func (ph *Physiology) SCLRecovered(from time.Duration, pct float64, hold time.Duration) (ok, known bool) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	for _, p := range ph.procs {
		if _, has := p.State().Quality["eda"]; !has {
			continue
		}
		return p.Habituated(physio.Habituation{Within: pct / 100, For: hold}), true
	}
	return false, false
}

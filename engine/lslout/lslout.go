// Package lslout offers a session on Lab Streaming Layer, so a lab's
// recorder (LabRecorder) and other LSL programs see it beside their own
// streams: one outlet per device (its nominal rate, channel labels, units
// and types in the stream's description), one for the derived physiology
// (irregular rate), and one string marker stream carrying every session
// event as its typed JSON (cue onsets at their displayed-frame times,
// steps, ratings, stops).
//
// Times are the session clock mapped onto LSL's clock (lsl.SessionClock):
// a sample's or event's LSL timestamp is its recorded time plus a fixed
// origin, so markers equal the recorded onsets.
package lslout

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/sensors"
)

// MarkerStream is the name of the events' outlet.
const MarkerStream = "cueroom-markers"

// Publisher turns the bus's streams, samples and events into outlets.
type Publisher struct {
	clock  lsl.SessionClock
	source string // a stable part of every outlet's source id (the session)
	opts   []lsl.Option
	logf   func(string, ...any)

	mu      sync.Mutex
	replay  bool               // follow the replay's seeks (FollowSeeks)
	floor   time.Duration      // replay: the last seek's target
	outlets map[string]*outlet // by device
	markers *lsl.Outlet
	failed  map[string]bool // devices whose outlet could not be made (said once)
	closed  bool
	vals    []float64
}

type outlet struct {
	st sensors.Stream
	o  *lsl.Outlet
}

// New makes a publisher; source names the session in the outlets' source
// ids, so a recorder can tell a restarted stream from a new one. The marker
// outlet is made at once: recorders see the session before any sensor.
func New(clock lsl.SessionClock, source string, logf func(string, ...any), opts ...lsl.Option) (*Publisher, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	p := &Publisher{clock: clock, source: source, opts: opts, logf: logf, outlets: map[string]*outlet{}, failed: map[string]bool{}}
	m, err := lsl.NewOutlet(lsl.StreamInfo{Name: MarkerStream, Type: "Markers", ChannelCount: 1, Rate: lsl.IrregularRate,
		Format: lsl.String, SourceID: "cueroom-markers-" + source,
		Fields:   []lsl.Field{{Name: "manufacturer", Value: "cueroom"}, {Name: "encoding", Value: "cueroom typed event JSON (docs/feed.md, event)"}},
		Channels: []lsl.Channel{{Label: "event", Type: "Markers"}}}, opts...)
	if err != nil {
		return nil, fmt.Errorf("lsl markers: %w", err)
	}
	p.markers = m
	return p, nil
}

// FollowSeeks makes a replay's outlets re-anchor the clock at each seek
// (the replay's session clock jumps; LSL's must not) and leave out the
// context a seek re-sends from before its target.
func (p *Publisher) FollowSeeks() {
	p.mu.Lock()
	p.replay = true
	p.mu.Unlock()
}

// Run consumes sub until it is closed. Give it a lossless subscription:
// a marker must not be dropped.
func (p *Publisher) Run(sub *bus.Sub) {
	for m := range sub.C {
		p.Take(m)
	}
}

// Take handles one bus message.
func (p *Publisher) Take(m bus.Msg) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	switch {
	case m.Stream != nil:
		p.stream(*m.Stream)
	case m.Sample != nil:
		s := m.Sample
		o := p.outlets[s.Device]
		if o == nil || s.N != len(o.st.Channels) || s.T < p.floor {
			return
		}
		p.vals = append(p.vals[:0], s.Vals()...)
		_ = o.o.Push(p.clock.LSL(s.T), p.vals) // closed: the session is ending
	case m.Event != nil:
		if d, ok := m.Event.Data.(event.ReplaySeek); ok {
			if p.replay {
				p.clock = lsl.SessionClock{Origin: lsl.LocalClock() - d.To.Duration().Seconds()}
				p.floor = d.To.Duration()
			}
			return
		}
		if m.Event.T < p.floor {
			return // a seek's context: sent before, or skipped over
		}
		b, err := json.Marshal(m.Event)
		if err != nil {
			return
		}
		_ = p.markers.PushStrings(p.clock.LSL(m.Event.T), string(b))
	}
}

// stream makes (or remakes, when its channels changed) a device's outlet.
func (p *Publisher) stream(st sensors.Stream) {
	if o := p.outlets[st.Device]; o != nil {
		if sameChannels(o.st, st) {
			return // a reconnection: the same stream goes on
		}
		o.o.Close()
		delete(p.outlets, st.Device)
	}
	info := Info(st, p.source)
	o, err := lsl.NewOutlet(info, p.opts...)
	if err != nil {
		if !p.failed[st.Device] {
			p.failed[st.Device] = true
			p.logf("lsl: no outlet for %s: %v", st.Device, err)
		}
		return
	}
	p.outlets[st.Device] = &outlet{st: st, o: o}
}

func sameChannels(a, b sensors.Stream) bool {
	return a.Rate == b.Rate && slices.Equal(a.Channels, b.Channels)
}

// Info is a device stream's LSL description: name "cueroom-<device>", the
// channels' common type (or "Physio" for a mix), float32 values for
// sensors (their resolution is far coarser), float64 for the derived
// physiology, whose rate is irregular (values come as they are known).
func Info(st sensors.Stream, source string) lsl.StreamInfo {
	info := lsl.StreamInfo{Name: "cueroom-" + st.Device, ChannelCount: len(st.Channels), Rate: st.Rate, Format: lsl.Float32,
		SourceID: "cueroom-" + st.Device + "-" + source,
		Fields:   []lsl.Field{{Name: "manufacturer", Value: "cueroom"}, {Name: "model", Value: st.Kind}}}
	if st.Kind == "derived" {
		info.Rate, info.Format = lsl.IrregularRate, lsl.Double64
	}
	var types []string
	for _, c := range st.Channels {
		info.Channels = append(info.Channels, lsl.Channel{Label: c.Label, Unit: lsl.XDFUnit(c.Unit), Type: c.Type})
		if !slices.Contains(types, c.Type) {
			types = append(types, c.Type)
		}
	}
	switch {
	case len(types) == 1 && types[0] != "":
		info.Type = types[0]
	default:
		info.Type = "Physio"
	}
	return info
}

// Clock is the map from session time to LSL time in use.
func (p *Publisher) Clock() lsl.SessionClock {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clock
}

// Streams are the outlets offered now, markers first.
func (p *Publisher) Streams() []lsl.StreamInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []lsl.StreamInfo{p.markers.Info()}
	for _, o := range p.outlets {
		out = append(out, o.o.Info())
	}
	slices.SortFunc(out[1:], func(a, b lsl.StreamInfo) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Close closes every outlet.
func (p *Publisher) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, o := range p.outlets {
		o.o.Close()
	}
	clear(p.outlets)
	p.markers.Close()
}

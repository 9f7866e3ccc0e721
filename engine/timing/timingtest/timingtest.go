// Package timingtest records sessions with a photodiode for the tests of
// the timing analysis and of `cueroom timing`: visual cue onsets, and an
// analog channel that reads a light level while the sync patch is lit (a
// lag after each onset, for a flash), written through the bus and the
// recorder as `cueroom run` writes them.
package timingtest

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Onset is a cue onset to record.
type Onset struct {
	T        time.Duration
	Cue      string
	Modality string // image, text, video…; sound for an audio cue
	Channel  string // default "visual" ("audio" for a sound)
	Source   string // "headset" for a cue the window did not show
	NoLight  bool   // the patch did not light for it
	Lag      time.Duration
	// Flash is how long the patch stays lit; default 100 ms.
	Flash time.Duration
}

// Spec describes a session: one device, "bitalino", whose channels are
// Channels (default EDA, ECG and a raw a5), and whose column Photo (default
// the last) reads Light while the patch is lit and Dark otherwise, with
// Gaussian noise of s.d. Noise.
type Spec struct {
	Rate     float64 // Hz; default 1000
	Dur      time.Duration
	Channels []sensors.Channel
	Settings map[string]string // the stream's; default inputs A1=eda,A2=ecg,A5=raw for the default channels
	Photo    int               // the photodiode's column: 0 means the last, -1 none

	Onsets []Onset
	// Extra are rising edges of the light with no onset (another
	// program's window, a hand over the sensor): lit for 50 ms.
	Extra             []time.Duration
	Dark, Light       float64 // default 60 and 900
	Noise             float64 // default 2; negative: none
	Gap               [2]time.Duration
	Seed              uint64
	NoStream          bool // record samples without announcing the stream (old or foreign recordings)
	AnnounceInSession bool // announce the stream in session.json only
}

// Photodiode is the default channel set: a BITalino with EDA on A1, ECG on
// A2 and a photodiode on A5 (a raw input).
var Photodiode = []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"},
	{Label: "a5", Unit: "adc", Type: "MISC"}}

// Record records the session spec describes into a new folder under root
// and returns the folder.
func Record(tb testing.TB, root string, spec Spec) string {
	tb.Helper()
	if spec.Rate == 0 {
		spec.Rate = 1000
	}
	if spec.Channels == nil {
		spec.Channels = Photodiode
		if spec.Settings == nil {
			spec.Settings = map[string]string{"inputs": "A1=eda,A2=ecg,A5=raw"}
		}
	}
	if spec.Photo == 0 {
		spec.Photo = len(spec.Channels) - 1
	}
	if spec.Dark == 0 && spec.Light == 0 {
		spec.Dark, spec.Light = 60, 900
	}
	switch {
	case spec.Noise == 0:
		spec.Noise = 2
	case spec.Noise < 0:
		spec.Noise = 0
	}
	st := sensors.Stream{Device: "bitalino", Kind: "bitalino", Rate: spec.Rate, Channels: spec.Channels, Settings: spec.Settings}
	meta := record.Meta{Title: "Timing test", Substance: "alcohol", Software: "cueroom test"}
	if spec.AnnounceInSession {
		meta.Streams = []sensors.Stream{st}
	}
	w, err := record.Create(root, meta, []byte("cueroom: 1\n"))
	if err != nil {
		tb.Fatal(err)
	}
	b := bus.New()
	sub := b.Subscribe(1024, true)
	done := make(chan error, 1)
	go func() { done <- w.Run(sub) }()
	if !spec.NoStream && !spec.AnnounceInSession {
		b.Publish(bus.Msg{Stream: &st})
	}

	// The light's intervals, in order.
	type span struct{ from, to time.Duration }
	var lit []span
	for _, o := range spec.Onsets {
		if o.NoLight || o.Source == "headset" || o.Channel == "audio" || o.Modality == "sound" {
			continue
		}
		flash := o.Flash
		if flash == 0 {
			flash = 100 * time.Millisecond
		}
		lit = append(lit, span{o.T + o.Lag, o.T + o.Lag + flash})
	}
	for _, t := range spec.Extra {
		lit = append(lit, span{t, t + 50*time.Millisecond})
	}
	slices.SortFunc(lit, func(a, b span) int { return int(a.from - b.from) })
	on := func(t time.Duration) bool {
		for _, s := range lit {
			if t >= s.from && t < s.to {
				return true
			}
		}
		return false
	}

	// Events and samples in time order, as they are published live.
	onsets := slices.Clone(spec.Onsets)
	slices.SortStableFunc(onsets, func(a, b Onset) int { return int(a.T - b.T) })
	pub := func(t time.Duration, d event.Data) {
		e := event.New(t, 0, d)
		b.Publish(bus.Msg{Event: &e})
	}
	pubOnset := func(o Onset) {
		ch := o.Channel
		if ch == "" {
			ch = "visual"
			if o.Modality == "sound" {
				ch = "audio"
			}
		}
		pub(o.T, event.CueOnset{Cue: o.Cue, Modality: o.Modality, Channel: ch, Source: o.Source})
	}
	pub(0, event.SessionStart{Title: "Timing test"})
	rng := rand.New(rand.NewPCG(spec.Seed, 7))
	n := int(math.Round(spec.Dur.Seconds() * spec.Rate))
	next := 0
	for i := range n {
		t := time.Duration(math.Round(float64(i) * float64(time.Second) / spec.Rate))
		for next < len(onsets) && onsets[next].T <= t {
			pubOnset(onsets[next])
			next++
		}
		if t >= spec.Gap[0] && t < spec.Gap[1] {
			continue
		}
		s := sensors.Sample{Device: "bitalino", T: t, Seq: uint32(i & 15), N: len(spec.Channels)}
		for k, c := range spec.Channels {
			switch {
			case k == spec.Photo:
				v := spec.Dark
				if on(t) {
					v = spec.Light
				}
				v += spec.Noise * rng.NormFloat64()
				if c.Unit == "adc" {
					v = math.Round(v) // ADC counts
				}
				s.Values[k] = v
			case c.Type == "EDA":
				s.Values[k] = 4 + 0.1*math.Sin(float64(t)/float64(time.Second))
			default:
				s.Values[k] = 512
			}
		}
		b.Publish(bus.Msg{Sample: &s})
	}
	for ; next < len(onsets); next++ {
		pubOnset(onsets[next])
	}
	pub(spec.Dur, event.SessionEnd{Reason: "completed"})
	b.Close()
	if err := <-done; err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return w.Dir()
}

// Package lslsensor records a Lab Streaming Layer stream as a sensor
// (--sensor lsl:NAME, --sensor lsl:type=EEG): it resolves the stream,
// receives it with its time correction and hands its samples on on the
// session clock, reporting losses and reconnections as the serial bridge
// does (bridge.Status), so the rig raises the same alerts and gap events.
package lslsensor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/cueroom/cueroom/lsl"
	"github.com/cueroom/cueroom/sensors"
	"github.com/cueroom/cueroom/sensors/bridge"
)

// Prefix marks an LSL sensor spec.
const Prefix = "lsl:"

// ErrNotFound: no stream matched within Config.Resolve.
var ErrNotFound = lsl.ErrNotFound

// Config says what to record.
type Config struct {
	Selector string // after "lsl:": NAME, prop=value or an XPath predicate
	// Clock maps the session clock onto LSL's:
	// lsl.SessionClockAt(clock.Wall(0)).
	Clock lsl.SessionClock
	Now   func() time.Duration // the session clock, for arrival times
	// Resolve bounds the first search (default 10 s); Silence is the data
	// watchdog of a regular stream (default 3 s or five periods).
	Resolve, Silence time.Duration
	Sink             func(sensors.Sample)
	OnStream         func(sensors.Stream)
	OnStatus         func(bridge.Status)
	Reconnect        bool
	Backoff          bridge.Backoff
	LSL              []lsl.Option
}

// Run resolves the stream and records it until ctx ends: it returns at
// once (wrapping ErrNotFound) when nothing matches within Resolve; once
// streaming, a lost stream is a Lost status, then re-resolved by its
// source_id (or the selector) with Backoff, a Reconnected status with the
// gap when it is back.
func Run(ctx context.Context, cfg Config) error {
	pred, err := lsl.ParseSelector(cfg.Selector)
	if err != nil {
		return err
	}
	if cfg.Resolve <= 0 {
		cfg.Resolve = 10 * time.Second
	}
	port := Prefix + cfg.Selector
	in, err := connect(ctx, pred, cfg.Resolve, cfg.LSL)
	if err != nil {
		if errors.Is(err, lsl.ErrNotFound) {
			return fmt.Errorf("%w: nothing matching %s answered within %v: is it running, and on this network?", ErrNotFound, pred, cfg.Resolve)
		}
		return err
	}
	info := in.Info()
	st, err := Stream(info)
	if err != nil {
		in.Close()
		return err
	}
	if cfg.OnStream != nil {
		cfg.OnStream(st)
	}
	status := func(s bridge.Status) {
		if cfg.OnStatus != nil {
			s.Device, s.Port, s.T = st.Device, port, cfg.Now()
			cfg.OnStatus(s)
		}
	}
	silence := cfg.Silence
	if silence <= 0 {
		silence = 3 * time.Second
		if info.Rate > 0 {
			silence = max(silence, time.Duration(5*float64(time.Second)/info.Rate))
		}
	}
	if info.SourceID != "" {
		pred, _ = lsl.Predicate("source_id", info.SourceID) // recover the same device
	}
	var total, lost uint64
	var gap *bridge.Gap
	for attempt := 0; ; {
		last, n, dropped, err := stream(ctx, in, cfg, st, silence, gap, status, total)
		in.Close()
		total += n
		lost += dropped
		if ctx.Err() != nil {
			status(bridge.Status{State: bridge.Stopped, Samples: total, DroppedSamples: lost})
			return ctx.Err()
		}
		if !cfg.Reconnect {
			return err
		}
		reason := bridge.ReasonGone
		if errors.Is(err, errSilent) {
			reason = bridge.ReasonSilent
		}
		gap = &bridge.Gap{Start: last, Reason: reason}
		status(bridge.Status{State: bridge.Lost, Err: err, Gap: gap, Samples: total, DroppedSamples: lost})
		lostAt := time.Now()
		for in = nil; in == nil; {
			attempt++
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(cfg.Backoff.Delay(attempt)):
			}
			if cfg.Backoff.GiveUp > 0 && time.Since(lostAt) > cfg.Backoff.GiveUp {
				return err
			}
			status(bridge.Status{State: bridge.Connecting, Attempt: attempt, Err: err})
			var cerr error
			if in, cerr = connect(ctx, pred, 2*time.Second, cfg.LSL); cerr != nil {
				in, err = nil, cerr
			}
		}
		attempt = 0
	}
}

var errSilent = errors.New("the stream fell silent")

func connect(ctx context.Context, pred string, within time.Duration, opts []lsl.Option) (*lsl.Inlet, error) {
	rctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	infos, err := lsl.Resolve(rctx, pred, 1, opts...)
	if err != nil {
		return nil, err
	}
	in, err := lsl.NewInlet(ctx, infos[0], opts...)
	if err != nil {
		return nil, err
	}
	// Samples go on the session clock through the time correction: wait
	// for its first estimate (about 0.7 s), as the bridge holds back its
	// first half second to learn a device's clock.
	if _, err := in.TimeCorrection(rctx); err != nil {
		in.Close()
		return nil, err
	}
	return in, nil
}

// stream hands on samples until the inlet fails; it returns the session
// time of the last sample and the counts.
func stream(ctx context.Context, in *lsl.Inlet, cfg Config, st sensors.Stream, silence time.Duration,
	gap *bridge.Gap, status func(bridge.Status), before uint64) (last time.Duration, n, lost uint64, err error) {
	stop := context.AfterFunc(ctx, func() { in.Close() })
	defer stop()
	info := in.Info()
	var s lsl.Sample
	prevT := math.NaN()
	for {
		if info.Rate > 0 {
			in.SetReadDeadline(time.Now().Add(silence)) //nolint:errcheck // a closed inlet fails Next
		}
		if err := in.Next(&s); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = fmt.Errorf("%w for %v", errSilent, silence)
			}
			return last, n, lost, err
		}
		c, _ := in.Correction()
		out := sensors.Sample{Device: st.Device, T: cfg.Clock.Session(s.T + c.Offset), Arrival: cfg.Now(),
			Seq: uint32(before + n), N: min(len(s.Values), sensors.MaxChannels)}
		copy(out.Values[:], s.Values)
		if info.Rate > 0 && !math.IsNaN(prevT) {
			// A regular stream's timestamps show what did not arrive.
			if k := math.Round((s.T-prevT)*info.Rate) - 1; k > 0 {
				lost += uint64(k)
			}
		}
		prevT = s.T
		cfg.Sink(out)
		n++
		last = out.T
		if n == 1 {
			if gap != nil {
				gap.End = out.T
				status(bridge.Status{State: bridge.Reconnected, Gap: gap, Samples: before + n})
			} else {
				status(bridge.Status{State: bridge.Streaming, Samples: before + n})
			}
		}
	}
}

// Stream describes an LSL stream as a cueroom sensor: the device is
// "lsl-" and the stream's name, its channels come from the stream's
// description (or are numbered).
func Stream(info lsl.StreamInfo) (sensors.Stream, error) {
	if info.Format == lsl.String {
		return sensors.Stream{}, fmt.Errorf("LSL stream %s carries strings (markers), not samples", info.Name)
	}
	if info.ChannelCount > sensors.MaxChannels {
		// sensors.Sample holds MaxChannels values: see the report.
		return sensors.Stream{}, fmt.Errorf("LSL stream %s has %d channels; cueroom records at most %d per sensor",
			info.Name, info.ChannelCount, sensors.MaxChannels)
	}
	st := sensors.Stream{Device: "lsl-" + sanitize(info.Name), Kind: "lsl", Rate: info.Rate,
		Settings: map[string]string{"lsl_name": info.Name, "lsl_type": info.Type, "source_id": info.SourceID,
			"hostname": info.Hostname, "uid": info.UID}}
	for k := range info.ChannelCount {
		c := sensors.Channel{Label: fmt.Sprintf("ch%d", k+1), Type: strings.ToUpper(info.Type)}
		if k < len(info.Channels) {
			lc := info.Channels[k]
			c.Label, c.Unit = cmpOr(lc.Label, c.Label), lsl.ShortUnit(lc.Unit)
			c.Type = cmpOr(strings.ToUpper(lc.Type), c.Type)
		}
		st.Channels = append(st.Channels, c)
	}
	return st, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

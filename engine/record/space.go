package record

import (
	"math"
	"time"

	"github.com/cueroom/cueroom/sensors"
)

// What a session takes on disk, measured by TestBytesPerSample on what the
// writer produces: a 1 kHz stream stamped with arrival times (as the
// bridge stamps every live stream), four hours into a session (14-digit
// nanosecond times), values as a BITalino's transfer functions give them
// (10-bit counts in µS or mV: most need all 17 significant digits).
// Measured here: 32.4 B per sample besides its values, 16.5 B per value,
// 82 B per record of its own; the constants are rounded up.
const (
	// SampleBytes is one sample's time, arrival time and counter in
	// data.rec, with their commas.
	SampleBytes = 34
	// ValueBytes is one channel's value: the shortest text that reads
	// back as the same float64.
	ValueBytes = 17
	// RecordBytes is a samples record's own framing: its header, keys and
	// device name. A record holds 100 ms of a stream (see batchSpan), so a
	// stream slower than 10 Hz pays it for every sample.
	RecordBytes = 84
	// EventBytesPerMinute allows for the events: a busy protocol's cue
	// onsets, offsets, ratings and markers, some 60 a minute of about
	// 250 bytes each.
	EventBytesPerMinute = 16 << 10
	// fixedBytes allows for session.json, protocol.yaml and the audit log.
	fixedBytes = 1 << 20
)

// EstimateBytes is about how much a session of length d recording streams
// needs in its folder: for each stream rate × d samples of its channels
// (every channel of sensors.MaxChannels if it lists none), plus events
// and metadata. A stream of unknown rate (0) is not counted. Compare it
// with FreeBytes before a session starts.
func EstimateBytes(streams []sensors.Stream, d time.Duration) uint64 {
	sec := max(d.Seconds(), 0)
	total := float64(fixedBytes) + sec/60*EventBytesPerMinute
	for _, s := range streams {
		if !(s.Rate > 0) || math.IsInf(s.Rate, 0) {
			continue
		}
		ch := len(s.Channels)
		if ch == 0 {
			ch = sensors.MaxChannels
		}
		ch = min(ch, sensors.MaxChannels)
		samples := s.Rate * sec
		records := min(s.Rate, float64(time.Second/batchSpan)) * sec
		total += samples*float64(SampleBytes+ValueBytes*ch) + records*RecordBytes
	}
	return uint64(math.Ceil(total))
}

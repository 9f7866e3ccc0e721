package record

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"time"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// The format of data.rec and of each later segment: the magic, then frames
// of
//
//	u32 LE payload length | u32 LE CRC-32C of the payload | payload
//
// where the payload is one JSON object whose first key is "k".
const (
	magic       = "CUEREC1\n"
	frameHeader = 8
	// maxPayload bounds what a reader will believe a length field, so a
	// corrupt length cannot make it allocate gigabytes.
	maxPayload = 16 << 20
	// maxEventPayload keeps one runaway event from bloating the file; its
	// data is replaced by a note instead.
	maxEventPayload = 1 << 20
	// recordPrefix starts every payload the writer produces; the reader
	// looks for it to resynchronise after a corrupt region.
	recordPrefix = `{"k":"`
)

// Record kinds, the value of "k".
const (
	kindEvent   = "event"
	kindStream  = "stream"
	kindSamples = "samples"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// beginFrame reserves a frame header; the payload is appended after it.
func beginFrame(buf []byte) ([]byte, int) {
	return append(buf, 0, 0, 0, 0, 0, 0, 0, 0), len(buf)
}

// endFrame fills in the header of the frame that starts at start.
func endFrame(buf []byte, start int) []byte {
	p := buf[start+frameHeader:]
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(p)))
	binary.LittleEndian.PutUint32(buf[start+4:], crc32.Checksum(p, castagnoli))
	return buf
}

// batch collects one device's samples column-major until they are written
// as one record. Its slices are reused, so steady-state recording does not
// allocate.
type batch struct {
	device string
	name   []byte // device as a JSON string, encoded once
	n      int    // channels per sample in this batch
	t      []int64
	seq    []uint32
	v      [sensors.MaxChannels][]float64
	// arrival is each sample's arrival time; written only when one of the
	// batch's is known (hasArrival), so a stream without them costs nothing.
	arrival    []int64
	hasArrival bool
	lo, hi     int64 // the earliest and latest t
}

func newBatch(device string) *batch {
	name, _ := json.Marshal(device) // a string always marshals
	return &batch{device: device, name: name}
}

func (b *batch) len() int { return len(b.t) }

func (b *batch) add(s *sensors.Sample, n int) {
	t := int64(s.T)
	if len(b.t) == 0 {
		b.n = n
		b.lo, b.hi = t, t
	}
	b.lo, b.hi = min(b.lo, t), max(b.hi, t)
	b.t = append(b.t, t)
	b.seq = append(b.seq, s.Seq)
	b.arrival = append(b.arrival, int64(s.Arrival))
	b.hasArrival = b.hasArrival || s.Arrival != 0
	for c := 0; c < n; c++ {
		b.v[c] = append(b.v[c], s.Values[c])
	}
}

func (b *batch) reset() {
	b.t = b.t[:0]
	b.seq = b.seq[:0]
	b.arrival = b.arrival[:0]
	b.hasArrival = false
	for c := range b.v {
		b.v[c] = b.v[c][:0]
	}
}

// appendPayload encodes the batch as
// {"k":"samples","device":"…","n":N,"t":[ns…],"seq":[…],"v":[[ch0…],…]},
// with ,"arrival":[ns…] before the closing brace when a sample of the
// batch has an arrival time. It is hand-written because this is the hot
// path and encoding/json would allocate per sample.
func (b *batch) appendPayload(dst []byte) []byte {
	dst = append(dst, `{"k":"samples","device":`...)
	dst = append(dst, b.name...)
	dst = append(dst, `,"n":`...)
	dst = strconv.AppendInt(dst, int64(b.n), 10)
	dst = append(dst, `,"t":[`...)
	for i, t := range b.t {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendInt(dst, t, 10)
	}
	dst = append(dst, `],"seq":[`...)
	for i, q := range b.seq {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = strconv.AppendUint(dst, uint64(q), 10)
	}
	dst = append(dst, `],"v":[`...)
	for c := 0; c < b.n; c++ {
		if c > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '[')
		for i, v := range b.v[c] {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendFloat(dst, v)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, ']')
	if b.hasArrival {
		dst = append(dst, `,"arrival":[`...)
		for i, t := range b.arrival {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = strconv.AppendInt(dst, t, 10)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendFloat writes the shortest text that parses back to the same bits.
// JSON has no NaN or infinities; a sensor can produce them (a lost lead), so
// they are written as strings rather than dropped.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(dst, `"Inf"`...)
	case math.IsInf(v, -1):
		return append(dst, `"-Inf"`...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// jfloat reads what appendFloat writes.
type jfloat float64

func (f *jfloat) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = jfloat(math.NaN())
		return nil
	case `"Inf"`:
		*f = jfloat(math.Inf(1))
		return nil
	case `"-Inf"`:
		*f = jfloat(math.Inf(-1))
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("value %.20q is not a number", b)
	}
	*f = jfloat(v)
	return nil
}

type samplesJSON struct {
	Device string     `json:"device"`
	N      int        `json:"n"`
	T      []int64    `json:"t"`
	Seq    []uint32   `json:"seq"`
	V      [][]jfloat `json:"v"`
	// Arrival is empty in a record without arrival times (all written
	// before they were kept, and batches where none is known).
	Arrival []int64 `json:"arrival"`
}

// decodeSamples parses a samples record and checks its shape.
func decodeSamples(p []byte) (*samplesJSON, error) {
	r, _, err := decodeSamplesInto(p, &samplesJSON{})
	return r, err
}

// decodeSamplesInto is decodeSamples into r, reusing its slices; canonical
// says the record is in the writer's own form (parseSamplesFast read it).
func decodeSamplesInto(p []byte, r *samplesJSON) (_ *samplesJSON, canonical bool, err error) {
	canonical = parseSamplesFastInto(p, r)
	if !canonical {
		*r = samplesJSON{}
		if err := json.Unmarshal(p, r); err != nil {
			return nil, false, err
		}
	}
	switch {
	case r.N < 0 || r.N > sensors.MaxChannels:
		return nil, false, fmt.Errorf("samples record has %d channels (at most %d allowed)", r.N, sensors.MaxChannels)
	case len(r.V) != r.N:
		return nil, false, fmt.Errorf("samples record says %d channels but has %d value columns", r.N, len(r.V))
	case len(r.Seq) != len(r.T):
		return nil, false, fmt.Errorf("samples record has %d times but %d sequence numbers", len(r.T), len(r.Seq))
	case len(r.Arrival) != 0 && len(r.Arrival) != len(r.T):
		return nil, false, fmt.Errorf("samples record has %d times but %d arrival times", len(r.T), len(r.Arrival))
	}
	for c, col := range r.V {
		if len(col) != len(r.T) {
			return nil, false, fmt.Errorf("samples record column %d has %d values for %d times", c, len(col), len(r.T))
		}
	}
	return r, canonical, nil
}

// appendTo turns the columns back into samples.
func (r *samplesJSON) appendTo(dst []sensors.Sample) []sensors.Sample {
	for i := range r.T {
		s := sensors.Sample{Device: r.Device, T: time.Duration(r.T[i]), Seq: r.Seq[i], N: r.N}
		if len(r.Arrival) > 0 {
			s.Arrival = time.Duration(r.Arrival[i])
		}
		for c := 0; c < r.N; c++ {
			s.Values[c] = float64(r.V[c][i])
		}
		dst = append(dst, s)
	}
	return dst
}

// streamRecord puts "k" first and the stream's own fields beside it; an
// event record is the event's own encoding with "k" spliced in front.
type streamRecord struct {
	K string `json:"k"`
	sensors.Stream
}

// encodeEvent never fails: an event whose data cannot be stored as JSON (a
// NaN) or is too large is still recorded, its data replaced by a note of
// why, because losing the event would be worse.
func encodeEvent(e event.Event) []byte {
	p, err := e.MarshalJSON()
	if err == nil && len(p) <= maxEventPayload {
		return withKind(p)
	}
	note := "event could not be stored as JSON"
	if err == nil {
		note = fmt.Sprintf("event data was %d bytes, more than the %d allowed; not stored", len(p), maxEventPayload)
	} else {
		note += ": " + err.Error()
	}
	raw, _ := json.Marshal(map[string]string{"record_error": note})
	e.Data = event.Unknown{Name: e.Kind(), Raw: raw}
	e.Wall = e.Wall.UTC()
	if e.Wall.Year() < 0 || e.Wall.Year() > 9999 {
		e.Wall = time.Time{}
	}
	if p, err = e.MarshalJSON(); err != nil || len(p) > maxEventPayload {
		// Last resort: a kind too long to store.
		e.Data = event.Unknown{Name: "record_error", Raw: raw}
		p, _ = e.MarshalJSON()
	}
	return withKind(p)
}

// withKind turns {"t":… into {"k":"event","t":….
func withKind(p []byte) []byte {
	out := make([]byte, 0, len(p)+12)
	out = append(out, `{"k":"event",`...)
	return append(out, p[1:]...)
}

// cleanStream copies a stream (the publisher keeps its own) and makes it
// storable: JSON has no NaN, so a non-finite rate becomes 0 ("unknown").
func cleanStream(s sensors.Stream) sensors.Stream {
	if math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) {
		s.Rate = 0
	}
	s.Channels = append([]sensors.Channel(nil), s.Channels...)
	if s.Settings != nil {
		m := make(map[string]string, len(s.Settings))
		for k, v := range s.Settings {
			m[k] = v
		}
		s.Settings = m
	}
	return s
}

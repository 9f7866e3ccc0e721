package record

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// Index is a session folder read once, its samples left in data.rec: the
// metadata, stream announcements and events are in memory (they are
// small), and for each device an index says where its samples records
// are, so that a Cursor reads them back a record at a time. Memory does not
// grow with the length of the session: a 4 h session at 1 kHz is read with
// about what a 10-minute one needs.
//
// OpenIndex reads data.rec (and its later segments) as Open does — the
// same damage tolerance, the same Recovered note, the same events in the
// same order, and a Cursor yields exactly the samples Open would put in
// Session.Samples, in the same order — so a consumer can move from one to
// the other without a change in what it sees.
//
// An Index holds the recording's files open until Close. Its methods and
// Cursors may be used from several goroutines (one Cursor per goroutine).
// The files must not change while it is open; if they do, cursors report
// an error rather than return other data.
type Index struct {
	Folder
	Events    []event.Event    // in session-time order, as Open sorts them
	Streams   []sensors.Stream // stream announcements, in recorded order
	Records   int              // whole records read from data.rec and its later segments
	Recovered *Recovery        // nil when the recording was read without damage

	j       *joined // the segments; offsets below are in them joined
	closer  io.Closer
	rec     recorded // each event's data object as recorded
	devices map[string]*deviceIndex
	// skips are the bytes that hold no frame, in file order: the damage
	// the scan stepped over and the headers of later segments. Cursors
	// step over them as the scan did.
	skips []damage
	buf   samplesJSON // each samples record while indexing
	// foreign is set when a samples record is not in the writer's own
	// form: its start may then not tell its device (JSON keeps the last of
	// two "device" keys), so cursors decode every samples record.
	foreign bool

	mu  sync.Mutex
	err error // the first error a Samples sequence met
}

// SampleStats summarises one device's samples, from the index alone.
type SampleStats struct {
	Count int // samples
	// Width is the most values a sample holds (a device's channel count
	// as recorded, which may differ from its description).
	Width       int
	First, Last time.Duration // T of the first and last sample in recorded order
	Min, Max    time.Duration // the earliest and latest T
}

// deviceIndex is one device's part of the index.
type deviceIndex struct {
	name  string
	want  []byte // the canonical start of its samples records' payloads
	stats SampleStats
	// marks point at every markRecords-th of its records (or sooner if the
	// file advanced markBytes since), so a seek reads at most that much.
	marks      []mark
	records    int   // samples records
	sinceMark  int   // records since the last mark
	lastMarkAt int64 // file offset of the last mark
	end        int64 // where its last record ends: cursors stop there
}

// mark is a place in a device's samples to start reading from.
type mark struct {
	off    int64         // frame offset of one of its samples records
	n      int           // samples before that record
	before time.Duration // the latest T of those samples (math.MinInt64 if none)
}

// The index's density: a mark every 1 MiB of file, or every 256 of the
// device's records (25 s at the writer's 100 ms batches) if sooner. A 4 h
// session at 1 kHz × 2 channels (570 MB) has some 550 marks, 13 kB; a seek
// reads about 1 MiB at most.
const (
	markRecords = 256
	markBytes   = 1 << 20
)

// OpenIndex reads a session folder's metadata and events and indexes its
// samples without keeping them. Damage in data.rec is reported in
// Index.Recovered, as Open does; errors are for folders that are not
// sessions and for I/O failures. Close releases the files.
func OpenIndex(dir string) (*Index, error) {
	h, j, err := openFolder(dir)
	if err != nil {
		return nil, err
	}
	x, err := indexData(j, eventsHint(h))
	if err != nil {
		j.Close()
		return nil, err
	}
	x.closer = j
	x.Folder = h.read(dir)
	return x, nil
}

// indexData scans a recording into a new Index, with room for the number
// of events expected.
func indexData(j *joined, events int) (*Index, error) {
	x := &Index{j: j, devices: map[string]*deviceIndex{}, Events: eventsRoom(events)}
	sc, err := scanData(j, x)
	if err != nil {
		return nil, err
	}
	x.Records = sc.records
	x.Recovered = sc.recovery()
	x.skips = skips(j, sc.damage)
	x.buf = samplesJSON{}
	x.rec.done(x.Events)
	return x, nil
}

// skips merges the damage a scan met (in file order) with the headers of
// the later segments.
func skips(j *joined, dmg []damage) []damage {
	out := make([]damage, 0, len(dmg)+len(j.segs)-1)
	i := 0
	for k := 1; k < len(j.segs); k++ {
		seg := j.segs[k]
		for i < len(dmg) && dmg[i].off < seg.base {
			out = append(out, dmg[i])
			i++
		}
		out = append(out, damage{off: seg.base, n: min(seg.size, int64(len(magic))), seg: k})
	}
	return append(out, dmg[i:]...)
}

// Close releases the recording's files; cursors fail after it.
func (x *Index) Close() error {
	if x.closer == nil {
		return nil
	}
	err := x.closer.Close()
	x.closer = nil
	return err
}

// event, stream and samples make the Index the visitor of scanData.
func (x *Index) event(e event.Event, data json.RawMessage) {
	x.Events = x.rec.add(x.Events, e, data)
}

func (x *Index) stream(s sensors.Stream) { x.Streams = append(x.Streams, s) }

func (x *Index) samplesBuffer() *samplesJSON { return &x.buf }

func (x *Index) samples(r *samplesJSON, off int64, n int, canonical bool) {
	x.foreign = x.foreign || !canonical
	d := x.devices[r.Device]
	if d == nil {
		name, _ := json.Marshal(r.Device) // a string always marshals
		d = &deviceIndex{name: r.Device, want: append([]byte(`{"k":"samples","device":`), name...)}
		d.want = append(d.want, ',')
		x.devices[r.Device] = d
	}
	st := &d.stats
	if d.records == 0 || d.sinceMark >= markRecords || off-d.lastMarkAt >= markBytes {
		before := time.Duration(math.MinInt64)
		if st.Count > 0 {
			before = st.Max
		}
		d.marks = append(d.marks, mark{off: off, n: st.Count, before: before})
		d.sinceMark, d.lastMarkAt = 0, off
	}
	d.records++
	d.sinceMark++
	d.end = off + frameHeader + int64(n)
	for _, t := range r.T {
		t := time.Duration(t)
		if st.Count == 0 {
			st.First, st.Min, st.Max = t, t, t
		}
		st.Last = t
		st.Min, st.Max = min(st.Min, t), max(st.Max, t)
		st.Count++
	}
	if len(r.T) > 0 {
		st.Width = max(st.Width, r.N)
	}
}

// RecordedData returns the data object of x.Events[i] exactly as data.rec
// holds it (nil if the record had none); false if i is out of range or
// Events was changed since. See Session.RecordedData.
func (x *Index) RecordedData(i int) (json.RawMessage, bool) { return x.rec.get(x.Events, i) }

// Devices lists the devices that have samples records, sorted by name
// (the keys Open's Session.Samples would have).
func (x *Index) Devices() []string {
	out := make([]string, 0, len(x.devices))
	for name := range x.devices {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Stats summarises a device's samples (zero for a device with none).
func (x *Index) Stats(device string) SampleStats {
	if d := x.devices[device]; d != nil {
		return d.stats
	}
	return SampleStats{}
}

// Samples yields a device's samples in recorded order (Session.Samples
// order), reading data.rec as it goes. A read error ends the sequence early
// and is kept for Err.
func (x *Index) Samples(device string) iter.Seq[sensors.Sample] {
	return func(yield func(sensors.Sample) bool) {
		c := x.Cursor(device)
		for c.Next() {
			if !yield(*c.Sample()) {
				return
			}
		}
		if err := c.Err(); err != nil {
			x.mu.Lock()
			if x.err == nil {
				x.err = err
			}
			x.mu.Unlock()
		}
	}
}

// Err returns the first read error a Samples sequence met, if any.
func (x *Index) Err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.err
}

// Cursor walks one device's samples in recorded order, a record at a time;
// Seek jumps to a session time. A Cursor is used by one goroutine; an Index
// serves any number of them.
//
//	c := x.Cursor("bitalino")
//	c.Seek(10 * time.Second)
//	for c.Next() {
//		s := c.Sample()
//		…
//	}
//	if err := c.Err(); err != nil { … }
type Cursor struct {
	x   *Index
	d   *deviceIndex
	rd  frameReader
	off int64         // the next frame to look at
	dmg int           // the first damage region at or after off
	rec *samplesJSON  // the record being read (buf), nil before the first
	buf samplesJSON   // records are decoded into it, one after the other
	i   int           // the next sample of rec
	pos int           // recorded-order number of the next sample
	min time.Duration // after a Seek: skip samples before this
	s   sensors.Sample
	err error
}

// Cursor returns a cursor before the first sample of device (one that
// yields nothing for a device without samples).
func (x *Index) Cursor(device string) *Cursor {
	c := &Cursor{x: x, d: x.devices[device], rd: frameReader{r: x.j}}
	c.to(0)
	return c
}

// to positions the cursor at mark k.
func (c *Cursor) to(k int) {
	c.rec, c.i, c.min = nil, 0, math.MinInt64
	if c.d == nil || len(c.d.marks) == 0 {
		c.off = 0
		return
	}
	m := c.d.marks[k]
	c.off, c.pos = m.off, m.n
	c.dmg = sort.Search(len(c.x.skips), func(i int) bool { return c.x.skips[i].off >= m.off })
}

// Seek positions the cursor so that Next returns the first sample, in
// recorded order, whose T is at or after t, and then every sample after it.
// (Samples arrive in time order, so for a recording that is the sample at
// t; an index search, then about 1 MiB of the recording at most is read.) It
// clears an error.
func (c *Cursor) Seek(t time.Duration) {
	c.err = nil
	if c.d == nil {
		return
	}
	// marks[k].before is non-decreasing: take the last mark before which
	// every sample is earlier than t.
	k := sort.Search(len(c.d.marks), func(i int) bool { return c.d.marks[i].before >= t }) - 1
	c.to(max(k, 0))
	c.min = t
}

// Next advances to the next sample; false at the end or on an error (Err).
func (c *Cursor) Next() bool {
	for c.err == nil {
		if c.rec != nil && c.i < len(c.rec.T) {
			r, i := c.rec, c.i
			c.i++
			c.pos++
			t := time.Duration(r.T[i])
			if t < c.min {
				continue
			}
			c.min = math.MinInt64
			c.s = sensors.Sample{Device: c.d.name, T: t, Seq: r.Seq[i], N: r.N}
			if len(r.Arrival) > 0 {
				c.s.Arrival = time.Duration(r.Arrival[i])
			}
			for ch := 0; ch < r.N; ch++ {
				c.s.Values[ch] = float64(r.V[ch][i])
			}
			return true
		}
		if !c.nextRecord() {
			return false
		}
	}
	return false
}

// Sample is the sample Next moved to; it is overwritten by the next call.
func (c *Cursor) Sample() *sensors.Sample { return &c.s }

// Pos is the recorded-order number of the sample Next moved to (its index
// in Session.Samples).
func (c *Cursor) Pos() int { return c.pos - 1 }

// Err returns the read error that stopped the cursor, if any.
func (c *Cursor) Err() error { return c.err }

// nextRecord loads the device's next samples record.
func (c *Cursor) nextRecord() bool {
	c.rec, c.i = nil, 0
	if c.d == nil {
		return false
	}
	for c.off < c.d.end {
		if c.dmg < len(c.x.skips) && c.x.skips[c.dmg].off <= c.off {
			// Step over a damaged region as the scan did.
			d := c.x.skips[c.dmg]
			c.dmg++
			c.off = max(c.off, d.off+d.n)
			continue
		}
		off := c.off
		h, err := c.rd.read(off, frameHeader)
		if err != nil {
			return c.fail(err)
		}
		n := int(binary.LittleEndian.Uint32(h))
		sum := binary.LittleEndian.Uint32(h[4:])
		c.off = off + frameHeader + int64(n)
		if n > maxPayload || c.off > c.d.end {
			return c.fail(fmt.Errorf("%s: the frame no longer matches the index", c.x.j.byteAt(off)))
		}
		mine, sure := c.d.owns(c.rd.peek(off+frameHeader, n, len(c.d.want)+64), c.x.foreign)
		if !mine && sure {
			continue
		}
		p, err := c.rd.read(off+frameHeader, n)
		if err != nil {
			return c.fail(err)
		}
		if crc32.Checksum(p, castagnoli) != sum {
			return c.fail(fmt.Errorf("%s: checksum mismatch: the file changed since it was indexed", c.x.j.byteAt(off)))
		}
		if !sure {
			if k, err := kindOf(p); err != nil || k != kindSamples {
				continue
			}
		}
		r, _, err := decodeSamplesInto(p, &c.buf)
		if err != nil {
			return c.fail(fmt.Errorf("%s: %w: the file changed since it was indexed", c.x.j.byteAt(off), err))
		}
		if r.Device != c.d.name {
			continue
		}
		c.rec = r
		return true
	}
	return false
}

func (c *Cursor) fail(err error) bool {
	c.err = fmt.Errorf("record: %s: %w", c.x.j.name(), err)
	return false
}

// owns says from the start of a payload whether the record is one of the
// device's samples records; sure is false when only a full decode can tell
// (a record not in the writer's own form, or any samples record of a file
// that has such records: foreign).
func (d *deviceIndex) owns(p []byte, foreign bool) (mine, sure bool) {
	switch {
	case len(p) >= len(d.want) && string(p[:len(d.want)]) == string(d.want):
		return true, true
	case hasPrefix(p, `{"k":"event",`), hasPrefix(p, `{"k":"stream",`):
		// What the scan's kindOf took for an event or a stream.
		return false, true
	case !foreign && hasPrefix(p, `{"k":"samples","device":"`):
		// Another device, if its name is plain and closed in what we see.
		name := p[len(`{"k":"samples","device":"`):]
		for i, b := range name {
			switch b {
			case '\\':
				return false, false
			case '"':
				return false, i+1 < len(name) && name[i+1] == ','
			}
		}
	}
	return false, false
}

func hasPrefix(p []byte, s string) bool { return len(p) >= len(s) && string(p[:len(s)]) == s }

// frameReader reads data.rec through a read-ahead buffer: cursors walk it
// forward, mostly past other devices' records.
type frameReader struct {
	r   io.ReaderAt
	buf []byte
	at  int64 // file offset of buf[0]
}

const readAhead = 256 << 10

// read returns n bytes at off, valid until the next call.
func (f *frameReader) read(off int64, n int) ([]byte, error) {
	if off >= f.at && off+int64(n) <= f.at+int64(len(f.buf)) {
		return f.buf[off-f.at : off-f.at+int64(n)], nil
	}
	size := max(n, readAhead)
	if cap(f.buf) < size {
		f.buf = make([]byte, size)
	}
	f.buf = f.buf[:size]
	got, err := f.r.ReadAt(f.buf, off)
	f.buf, f.at = f.buf[:got], off
	if got < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading byte %d: %w", off, err)
	}
	return f.buf[:n], nil
}

// peek returns up to want bytes of the n-byte payload at off, or nil: what
// is buffered, or a fresh read if nothing is.
func (f *frameReader) peek(off int64, n, want int) []byte {
	want = min(want, n)
	if p, err := f.read(off, want); err == nil {
		return p
	}
	return nil
}

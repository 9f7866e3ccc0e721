package export

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// XDF chunk tags (the XDF 1.0 specification).
const (
	tagFileHeader   = 1
	tagStreamHeader = 2
	tagSamples      = 3
	tagClockOffset  = 4
	tagBoundary     = 5
	tagStreamFooter = 6
)

// LabRecorder's cadence: samples are pulled every half second, clock
// offsets measured every 5 s and a boundary chunk written every 10 s.
const (
	xdfChunkSpan     = 500 * time.Millisecond
	xdfOffsetEvery   = 5 * time.Second
	xdfBoundaryEvery = 10 * time.Second
	xdfMaxMarks      = 100_000 // bounds the marks in a file (a day has 25 920) against absurd time stamps
	xdfMaxChunk      = 1 << 16 // samples per chunk, should a device's time stamps stand still
)

// boundaryUUID is the XDF boundary chunk's fixed content: a reader that
// lost its place scans for it.
var boundaryUUID = [16]byte{0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4}

// MarkerStream is the name of the XDF stream that carries the events.
const MarkerStream = "cueroom-events"

func writeXDFFile(v *view, path string, res *Result) (err error) {
	f, err := v.dst.create(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			v.dst.remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err = writeXDF(bw, v); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	res.Files = append(res.Files, path)
	return nil
}

// xdfStream is one stream being written: a device's or the markers.
type xdfStream struct {
	id      uint32
	src     xdfSource
	n       int // samples written
	first   float64
	last    float64
	offsets *clockOffsets
}

// clockOffsets are the collection times of the clock offsets written, the
// same for every stream: count of them every xdfOffsetEvery from first.
// (Kept as a count, not a list, as a long session has thousands.)
type clockOffsets struct {
	first time.Duration
	count int
}

// xdfSource gives a stream's samples in order, one at a time.
type xdfSource interface {
	// peek returns the next sample's time stamp, false at the end.
	peek() (time.Duration, bool)
	// put appends the next sample's values and moves past it.
	put(dst []byte) []byte
	err() error
}

// deviceSamples is a device's samples as an XDF stream: double64 values,
// NaN where a sample is narrower than the stream.
type deviceSamples struct {
	src    samples
	n      int // channels
	loaded bool
}

func (d *deviceSamples) peek() (time.Duration, bool) {
	if !d.loaded {
		if !d.src.Next() {
			return 0, false
		}
		d.loaded = true
	}
	return d.src.Sample().T, true
}

func (d *deviceSamples) put(dst []byte) []byte {
	smp := d.src.Sample()
	d.loaded = false
	k := width(smp)
	for c := 0; c < d.n; c++ {
		val := math.NaN() // a sample narrower than the stream
		if c < k {
			val = smp.Values[c]
		}
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(val))
	}
	return dst
}

func (d *deviceSamples) err() error { return d.src.Err() }

// markerSamples is the events as the marker stream: one string each.
type markerSamples struct {
	v    *view
	next int
}

func (m *markerSamples) peek() (time.Duration, bool) {
	if m.next >= len(m.v.events) {
		return 0, false
	}
	return m.v.events[m.next].T, true
}

func (m *markerSamples) put(dst []byte) []byte {
	p := m.v.marker(m.next)
	m.next++
	dst = putVarLen(dst, uint64(len(p)))
	return append(dst, p...)
}

func (m *markerSamples) err() error { return nil }

// xdfWriter writes chunks; the first error sticks.
type xdfWriter struct {
	w   io.Writer
	err error
	buf []byte
}

// putVarLen appends an XDF variable-length integer: a byte giving the
// width (1, 4 or 8), then the value in that many little-endian bytes.
func putVarLen(dst []byte, n uint64) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(dst, 1, byte(n))
	case n <= math.MaxUint32:
		return binary.LittleEndian.AppendUint32(append(dst, 4), uint32(n))
	default:
		return binary.LittleEndian.AppendUint64(append(dst, 8), n)
	}
}

// chunk writes [Length][Tag][StreamID?][content]; Length counts the tag,
// the stream id and the content.
func (x *xdfWriter) chunk(tag uint16, id *uint32, content []byte) {
	x.header(tag, id, len(content))
	x.write(content)
}

// header writes a chunk's [Length][Tag][StreamID?] for n bytes of content,
// which follow.
func (x *xdfWriter) header(tag uint16, id *uint32, n int) {
	if x.err != nil {
		return
	}
	size := uint64(n) + 2
	if id != nil {
		size += 4
	}
	h := putVarLen(x.buf[:0], size)
	h = binary.LittleEndian.AppendUint16(h, tag)
	if id != nil {
		h = binary.LittleEndian.AppendUint32(h, *id)
	}
	x.buf = h
	x.write(h)
}

func (x *xdfWriter) write(p []byte) {
	if x.err == nil {
		_, x.err = x.w.Write(p)
	}
}

func writeXDF(w io.Writer, v *view) error {
	x := &xdfWriter{w: w}
	if _, err := io.WriteString(w, "XDF:"); err != nil {
		return err
	}
	// LabRecorder's file header, byte for byte.
	x.chunk(tagFileHeader, nil, []byte(`<?xml version="1.0"?><info><version>1.0</version></info>`))

	var streams []*xdfStream
	for i, d := range v.devices {
		s := &xdfStream{id: uint32(i + 1), src: &deviceSamples{src: v.open(d), n: d.n}}
		x.chunk(tagStreamHeader, &s.id, []byte(v.deviceHeaderXML(d, s.id)))
		streams = append(streams, s)
	}
	m := &xdfStream{id: uint32(len(v.devices) + 1), src: &markerSamples{v: v}}
	x.chunk(tagStreamHeader, &m.id, []byte(v.markerHeaderXML(m.id)))
	streams = append(streams, m)

	offsets := &clockOffsets{}
	for _, s := range streams {
		s.offsets = offsets
	}
	writeTimeline(x, streams)
	for _, s := range streams {
		if err := s.src.err(); err != nil {
			return err
		}
	}

	for _, s := range streams {
		// The footer lists every clock offset: thousands in a long
		// session, so it is written as it is made, its length counted
		// first.
		n := 0
		footer(s, func(p []byte) { n += len(p) })
		x.header(tagStreamFooter, &s.id, n)
		footer(s, x.write)
	}
	return x.err
}

// writeTimeline writes the samples in half-second chunks per stream, in
// time order as a live recorder would, with clock offsets and boundaries
// on their cadence. Gaps with no data are skipped, so absurd time stamps
// cannot make it loop for ever. Each stream is read once, in order.
func writeTimeline(x *xdfWriter, streams []*xdfStream) {
	// Windows are computed on time stamps clamped well inside int64, so
	// damaged ones near its ends cannot overflow the arithmetic; the time
	// stamps written are the real ones.
	const far = time.Duration(1 << 62)
	at := func(s *xdfStream) (time.Duration, time.Duration, bool) {
		t, ok := s.src.peek()
		return min(max(t, -far), far), t, ok
	}
	head := func() (time.Duration, bool) {
		var t time.Duration
		ok := false
		for _, s := range streams {
			if st, _, more := at(s); more && (!ok || st < t) {
				t, ok = st, true
			}
		}
		return t, ok
	}
	t0, ok := head()
	if !ok {
		return
	}
	w := floorTo(t0, xdfChunkSpan)
	nextOffset := floorTo(w, xdfOffsetEvery) + xdfOffsetEvery
	nextBoundary := floorTo(w, xdfBoundaryEvery) + xdfBoundaryEvery
	var content []byte
	budget := xdfMaxMarks
	marks := func(upTo time.Duration) {
		for nextOffset <= upTo || nextBoundary <= upTo {
			if budget--; budget < 0 {
				return
			}
			if nextOffset <= nextBoundary {
				at := seconds(nextOffset)
				for _, s := range streams {
					// Every stream shares the session clock: the offset is 0.
					var c [16]byte
					binary.LittleEndian.PutUint64(c[:], math.Float64bits(at))
					binary.LittleEndian.PutUint64(c[8:], math.Float64bits(0))
					x.chunk(tagClockOffset, &s.id, c[:])
				}
				if o := streams[0].offsets; o.count == 0 {
					o.first = nextOffset
				}
				streams[0].offsets.count++
				nextOffset += xdfOffsetEvery
			} else {
				x.chunk(tagBoundary, nil, boundaryUUID[:])
				nextBoundary += xdfBoundaryEvery
			}
		}
	}
	for x.err == nil {
		end := w + xdfChunkSpan
		for k := 0; k < len(streams); k++ {
			s := streams[k]
			// LabRecorder writes the count with a fixed 4-byte width; it is
			// filled in below.
			content = append(content[:0], 4, 0, 0, 0, 0)
			count := 0
			for count < xdfMaxChunk {
				clamped, t, more := at(s)
				if !more || clamped >= end {
					break
				}
				ts := seconds(t)
				if s.n == 0 {
					s.first = ts
				}
				s.last = ts
				s.n++
				count++
				// Every sample carries its time stamp: a loss or a
				// re-anchored device clock leaves steps a reader could
				// not deduce.
				content = binary.LittleEndian.AppendUint64(append(content, 8), math.Float64bits(ts))
				content = s.src.put(content)
			}
			if count == 0 {
				continue
			}
			if count == xdfMaxChunk {
				k-- // more of this stream in this window: another chunk
			}
			binary.LittleEndian.PutUint32(content[1:], uint32(count))
			x.chunk(tagSamples, &s.id, content)
		}
		marks(end)
		t, ok := head()
		if !ok {
			return
		}
		w = max(end, floorTo(t, xdfChunkSpan))
		marks(w)
	}
}

// floorTo rounds t down to a multiple of d (towards minus infinity).
func floorTo(t, d time.Duration) time.Duration {
	r := t % d
	if r < 0 {
		r += d
	}
	return t - r
}

// xmlB builds XML text, escaping every value.
type xmlB struct{ strings.Builder }

func (b *xmlB) el(name, text string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(text)) // strings.Builder never fails
	b.WriteString("</" + name + ">")
}
func (b *xmlB) open(name string)  { b.WriteString("<" + name + ">") }
func (b *xmlB) close(name string) { b.WriteString("</" + name + ">") }

// fmtG is C++'s ostream output at precision 16, as LabRecorder writes numbers.
func fmtG(f float64) string { return strconv.FormatFloat(f, 'g', 16, 64) }

func appendG(dst []byte, f float64) []byte { return strconv.AppendFloat(dst, f, 'g', 16, 64) }

// streamUID is a stable id for a stream of this session, so exporting the
// same session twice gives the same file.
func (v *view) streamUID(name string, id uint32) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", v.start.UTC().Format(time.RFC3339Nano), name, id)))
	s := hex.EncodeToString(h[:16])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// headerStart writes the fields LSL puts in every stream's info.
func (v *view) headerStart(b *xmlB, name, typ string, channels int, format string, rate float64, id uint32) {
	b.WriteString(`<?xml version="1.0"?><info>`)
	b.el("name", name)
	b.el("type", typ)
	b.el("channel_count", strconv.Itoa(channels))
	b.el("channel_format", format)
	b.el("source_id", "cueroom:"+name)
	b.el("nominal_srate", fmtG(rate))
	b.el("version", "1.1000000000000001")
	b.el("created_at", "0")
	b.el("uid", v.streamUID(name, id))
	b.el("session_id", "default")
	b.el("hostname", "")
}

// sessionDesc tells a reader of the file how the time stamps relate to
// the wall clock and where the data came from.
func (v *view) sessionDesc(b *xmlB) {
	b.open("session")
	b.el("start", v.start.UTC().Format(time.RFC3339Nano))
	b.el("time_base", "seconds since start on the session's monotonic clock; all streams share it (clock offsets are 0)")
	b.el("title", v.meta.Title)
	b.el("substance", v.meta.Substance)
	b.el("software", v.meta.Software)
	b.close("session")
}

func (v *view) deviceHeaderXML(d *device, id uint32) string {
	var b xmlB
	rate := d.stream.Rate
	if !d.regular() {
		rate = 0 // irregular, in XDF's terms
	}
	v.headerStart(&b, d.stream.Device, streamType(d), d.n, "double64", rate, id)
	b.open("desc")
	b.open("channels")
	for _, c := range d.stream.Channels {
		b.open("channel")
		b.el("label", c.Label)
		b.el("unit", c.Unit)
		b.el("type", c.Type)
		b.close("channel")
	}
	b.close("channels")
	b.open("acquisition")
	b.el("model", d.stream.Kind)
	if len(d.stream.Settings) > 0 {
		b.open("settings")
		keys := make([]string, 0, len(d.stream.Settings))
		for k := range d.stream.Settings {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			b.open("setting")
			b.el("name", k)
			b.el("value", d.stream.Settings[k])
			b.close("setting")
		}
		b.close("settings")
	}
	b.close("acquisition")
	v.sessionDesc(&b)
	b.close("desc")
	b.close("info")
	return b.String()
}

// streamType is the channels' common type, or "Physio" for a mix.
func streamType(d *device) string {
	t := ""
	for i, c := range d.stream.Channels {
		if i > 0 && c.Type != t {
			return "Physio"
		}
		t = c.Type
	}
	if t == "" {
		return "Physio"
	}
	return t
}

func (v *view) markerHeaderXML(id uint32) string {
	var b xmlB
	v.headerStart(&b, MarkerStream, "Markers", 1, "string", 0, id)
	b.open("desc")
	b.open("channels")
	b.open("channel")
	b.el("label", "event")
	b.el("type", "Marker")
	b.el("format", `JSON: {"kind":…,"step":…,"data":{…}}; step -1 means none`)
	b.close("channel")
	b.close("channels")
	if len(v.manifest) > 0 {
		b.open("cues")
		for _, c := range v.manifest {
			b.open("cue")
			for _, k := range manifestKeys(c) {
				b.el(xmlName(k), cell(c[k]))
			}
			b.close("cue")
		}
		b.close("cues")
	}
	v.sessionDesc(&b)
	b.close("desc")
	b.close("info")
	return b.String()
}

// xmlName makes a manifest key (from the recording) a valid element name.
func xmlName(k string) string {
	var b strings.Builder
	for i, r := range k {
		ok := r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '.')
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// footer makes a stream's footer, a piece at a time, allocating nothing
// per piece (a long session's has thousands of clock offsets). It holds
// only numbers, which need no escaping.
func footer(s *xdfStream, emit func([]byte)) {
	var b []byte
	el := func(name string, num []byte) []byte {
		b = append(append(append(b, '<'), name...), '>')
		b = append(b, num...)
		return append(append(append(b, "</"...), name...), '>')
	}
	var num [32]byte
	b = append(b, `<?xml version="1.0"?><info>`...)
	b = el("first_timestamp", appendG(num[:0], s.first))
	b = el("last_timestamp", appendG(num[:0], s.last))
	b = el("sample_count", strconv.AppendInt(num[:0], int64(s.n), 10))
	b = append(b, "<clock_offsets>"...)
	emit(b)
	for k := range s.offsets.count {
		b = append(b[:0], "<offset>"...)
		b = el("time", appendG(num[:0], seconds(s.offsets.first+time.Duration(k)*xdfOffsetEvery)))
		b = el("value", append(num[:0], '0'))
		b = append(b, "</offset>"...)
		emit(b)
	}
	emit(append(b[:0], "</clock_offsets></info>"...))
}

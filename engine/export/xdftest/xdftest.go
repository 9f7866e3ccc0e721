// Package xdftest reads XDF files for tests, and says how pyxdf would
// segment their streams. The reader is written from the XDF 1.0
// specification (not from cueroom's writer), so tests check files against
// the format rather than against themselves: [MagicCode "XDF:"] then
// chunks of [NumLengthBytes 1|4|8][Length][Tag u16][Content],
// little-endian, where Length counts the tag and the content.
package xdftest

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"math"
)

// Info is a stream header's XML (the fields cueroom writes).
type Info struct {
	Name          string    `xml:"name"`
	Type          string    `xml:"type"`
	ChannelCount  int       `xml:"channel_count"`
	ChannelFormat string    `xml:"channel_format"`
	SourceID      string    `xml:"source_id"`
	NominalSrate  float64   `xml:"nominal_srate"`
	UID           string    `xml:"uid"`
	Channels      []Channel `xml:"desc>channels>channel"`
	Settings      []Setting `xml:"desc>acquisition>settings>setting"`
	Model         string    `xml:"desc>acquisition>model"`
	Cues          []Cue     `xml:"desc>cues>cue"`
	SessionStart  string    `xml:"desc>session>start"`
}

// Channel is one channel's description in a stream header.
type Channel struct {
	Label string `xml:"label"`
	Unit  string `xml:"unit"`
	Type  string `xml:"type"`
}

// Setting is one acquisition setting in a stream header.
type Setting struct {
	Name  string `xml:"name"`
	Value string `xml:"value"`
}

// Cue is one entry of the cue manifest, its fields in file order.
type Cue struct {
	Fields []CueField `xml:",any"`
}

// CueField is one element of a cue: its name is XMLName.Local.
type CueField struct {
	XMLName xml.Name
	Value   string `xml:",chardata"`
}

// Footer is a stream footer's XML.
type Footer struct {
	FirstTimestamp float64        `xml:"first_timestamp"`
	LastTimestamp  float64        `xml:"last_timestamp"`
	SampleCount    int            `xml:"sample_count"`
	Offsets        []FooterOffset `xml:"clock_offsets>offset"`
}

// FooterOffset is a clock offset as the footer lists it.
type FooterOffset struct {
	Time  float64 `xml:"time"`
	Value float64 `xml:"value"`
}

// Stream is one stream's chunks, put together.
type Stream struct {
	Info    Info
	Footer  *Footer      // nil until the footer chunk
	Times   []float64    // every sample's time stamp, deduced ones included
	Values  [][]float64  // numeric streams: a row per sample
	Strings [][]string   // string streams: a row per sample
	Offsets [][2]float64 // ClockOffset chunks: collection time, value
	Chunks  int          // Samples chunks

	lastTS float64 // for deduced time stamps
}

// File is an XDF file as read.
type File struct {
	FileHeader string
	Tags       []uint16 // every chunk's tag, in order
	Streams    map[uint32]*Stream
	Order      []uint32 // stream ids in header order
	Boundaries int      // Boundary chunks
}

// boundaryUUID is the Boundary chunk's content, as the specification gives it.
var boundaryUUID = []byte{0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4}

// Read parses a whole XDF file strictly: any byte out of place is an
// error (never a panic), as a test wants to know.
func Read(b []byte) (*File, error) {
	if !bytes.HasPrefix(b, []byte("XDF:")) {
		return nil, fmt.Errorf("no XDF: magic")
	}
	f := &File{Streams: map[uint32]*Stream{}}
	r := &reader{b: b, off: 4}
	for r.off < len(b) {
		start := r.off
		n, err := r.varLen("chunk length")
		if err != nil {
			return nil, err
		}
		if n < 2 || n > uint64(len(b)-r.off) {
			return nil, fmt.Errorf("byte %d: chunk length %d does not fit the %d bytes left", start, n, len(b)-r.off)
		}
		end := r.off + int(n)
		tag, _ := r.u16("tag")
		f.Tags = append(f.Tags, tag)
		c := &reader{b: b[:end], off: r.off}
		if err := f.chunk(tag, c); err != nil {
			return nil, fmt.Errorf("chunk at byte %d (tag %d): %w", start, tag, err)
		}
		if c.off != end {
			return nil, fmt.Errorf("chunk at byte %d (tag %d): %d bytes of content not used", start, tag, end-c.off)
		}
		r.off = end
	}
	if len(f.Tags) == 0 || f.Tags[0] != 1 {
		return nil, fmt.Errorf("the first chunk is not a FileHeader")
	}
	return f, nil
}

func (f *File) chunk(tag uint16, c *reader) error {
	switch tag {
	case 1:
		f.FileHeader = string(c.b[c.off:])
		c.off = len(c.b)
		return nil
	case 5:
		if err := c.need(16, "boundary"); err != nil {
			return err
		}
		if !bytes.Equal(c.b[c.off:c.off+16], boundaryUUID) {
			return fmt.Errorf("boundary chunk without the boundary UUID")
		}
		c.off += 16
		f.Boundaries++
		return nil
	case 2, 3, 4, 6:
	default:
		return fmt.Errorf("unknown tag")
	}
	id, err := c.u32("stream id")
	if err != nil {
		return err
	}
	s := f.Streams[id]
	if tag == 2 {
		if s != nil {
			return fmt.Errorf("stream %d has two headers", id)
		}
		s = &Stream{}
		if err := xml.Unmarshal(c.b[c.off:], &s.Info); err != nil {
			return fmt.Errorf("stream header XML: %w", err)
		}
		c.off = len(c.b)
		f.Streams[id] = s
		f.Order = append(f.Order, id)
		return nil
	}
	if s == nil {
		return fmt.Errorf("stream %d used before its header", id)
	}
	if s.Footer != nil {
		return fmt.Errorf("stream %d has a chunk after its footer", id)
	}
	switch tag {
	case 4:
		t, err := c.f64("collection time")
		if err != nil {
			return err
		}
		v, err := c.f64("offset value")
		if err != nil {
			return err
		}
		s.Offsets = append(s.Offsets, [2]float64{t, v})
	case 6:
		var ft Footer
		if err := xml.Unmarshal(c.b[c.off:], &ft); err != nil {
			return fmt.Errorf("stream footer XML: %w", err)
		}
		c.off = len(c.b)
		s.Footer = &ft
	case 3:
		return s.samples(c)
	}
	return nil
}

func (s *Stream) samples(c *reader) error {
	n, err := c.varLen("sample count")
	if err != nil {
		return err
	}
	s.Chunks++
	// A header's channel count is untrusted too: every channel takes at
	// least a byte, so more channels than bytes left is an error, not an
	// allocation.
	if s.Info.ChannelCount < 0 || (n > 0 && s.Info.ChannelCount > len(c.b)-c.off) {
		return fmt.Errorf("channel count %d does not fit the %d bytes left", s.Info.ChannelCount, len(c.b)-c.off)
	}
	for i := uint64(0); i < n; i++ {
		tb, err := c.u8("time stamp bytes")
		if err != nil {
			return err
		}
		switch tb {
		case 0:
			// Deduced: the previous time stamp plus one sampling interval.
			if s.Info.NominalSrate > 0 {
				s.lastTS += 1 / s.Info.NominalSrate
			}
		case 8:
			if s.lastTS, err = c.f64("time stamp"); err != nil {
				return err
			}
		default:
			return fmt.Errorf("TimeStampBytes %d is not 0 or 8", tb)
		}
		s.Times = append(s.Times, s.lastTS)
		switch s.Info.ChannelFormat {
		case "double64":
			row := make([]float64, s.Info.ChannelCount)
			for k := range row {
				if row[k], err = c.f64("value"); err != nil {
					return err
				}
			}
			s.Values = append(s.Values, row)
		case "string":
			row := make([]string, s.Info.ChannelCount)
			for k := range row {
				l, err := c.varLen("string length")
				if err != nil {
					return err
				}
				if l > uint64(len(c.b)-c.off) {
					return fmt.Errorf("byte %d: string of %d bytes, %d left", c.off, l, len(c.b)-c.off)
				}
				row[k] = string(c.b[c.off : c.off+int(l)])
				c.off += int(l)
			}
			s.Strings = append(s.Strings, row)
		default:
			return fmt.Errorf("channel format %q not handled by this reader", s.Info.ChannelFormat)
		}
	}
	return nil
}

// reader reads little-endian values, each read naming what it wanted so
// an error says where the file went wrong.
type reader struct {
	b   []byte
	off int
}

func (r *reader) need(n int, what string) error {
	if n < 0 || r.off+n > len(r.b) {
		return fmt.Errorf("byte %d: %s needs %d bytes, %d left", r.off, what, n, len(r.b)-r.off)
	}
	return nil
}

func (r *reader) u8(what string) (uint8, error) {
	if err := r.need(1, what); err != nil {
		return 0, err
	}
	r.off++
	return r.b[r.off-1], nil
}

func (r *reader) u16(what string) (uint16, error) {
	if err := r.need(2, what); err != nil {
		return 0, err
	}
	r.off += 2
	return binary.LittleEndian.Uint16(r.b[r.off-2:]), nil
}

func (r *reader) u32(what string) (uint32, error) {
	if err := r.need(4, what); err != nil {
		return 0, err
	}
	r.off += 4
	return binary.LittleEndian.Uint32(r.b[r.off-4:]), nil
}

func (r *reader) u64(what string) (uint64, error) {
	if err := r.need(8, what); err != nil {
		return 0, err
	}
	r.off += 8
	return binary.LittleEndian.Uint64(r.b[r.off-8:]), nil
}

func (r *reader) f64(what string) (float64, error) {
	u, err := r.u64(what)
	return math.Float64frombits(u), err
}

// varLen reads [NumLengthBytes][Length].
func (r *reader) varLen(what string) (uint64, error) {
	n, err := r.u8(what)
	if err != nil {
		return 0, err
	}
	switch n {
	case 1:
		v, err := r.u8(what)
		return uint64(v), err
	case 4:
		v, err := r.u32(what)
		return uint64(v), err
	case 8:
		return r.u64(what)
	}
	return 0, fmt.Errorf("byte %d: %s: NumLengthBytes %d is not 1, 4 or 8", r.off-1, what, n)
}

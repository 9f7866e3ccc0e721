package export

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"math"
)

// An XDF reader written from the specification (not from the writer), so
// the tests check the files against the format rather than against
// themselves: [MagicCode "XDF:"] then chunks of
// [NumLengthBytes 1|4|8][Length][Tag u16][Content], little-endian, where
// Length counts the tag and the content.

type xdfInfo struct {
	Name          string  `xml:"name"`
	Type          string  `xml:"type"`
	ChannelCount  int     `xml:"channel_count"`
	ChannelFormat string  `xml:"channel_format"`
	SourceID      string  `xml:"source_id"`
	NominalSrate  float64 `xml:"nominal_srate"`
	UID           string  `xml:"uid"`
	Channels      []struct {
		Label string `xml:"label"`
		Unit  string `xml:"unit"`
		Type  string `xml:"type"`
	} `xml:"desc>channels>channel"`
	Settings []struct {
		Name  string `xml:"name"`
		Value string `xml:"value"`
	} `xml:"desc>acquisition>settings>setting"`
	Model string `xml:"desc>acquisition>model"`
	Cues  []struct {
		Fields []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	} `xml:"desc>cues>cue"`
	SessionStart string `xml:"desc>session>start"`
}

type xdfFooter struct {
	FirstTimestamp float64 `xml:"first_timestamp"`
	LastTimestamp  float64 `xml:"last_timestamp"`
	SampleCount    int     `xml:"sample_count"`
	Offsets        []struct {
		Time  float64 `xml:"time"`
		Value float64 `xml:"value"`
	} `xml:"clock_offsets>offset"`
}

type xdfStreamData struct {
	info      xdfInfo
	footer    *xdfFooter
	times     []float64
	values    [][]float64 // numeric streams
	strings   [][]string  // string streams
	offsets   [][2]float64
	chunks    int // samples chunks
	lastTS    float64
	hasFooter bool
}

type xdfFile struct {
	fileHeader string
	tags       []uint16 // every chunk's tag, in order
	streams    map[uint32]*xdfStreamData
	order      []uint32 // stream ids in header order
	boundaries int
}

var specBoundary = []byte{0x43, 0xA5, 0x46, 0xDC, 0xCB, 0xF5, 0x41, 0x0F, 0xB3, 0x0E, 0xD5, 0x46, 0x73, 0x83, 0xCB, 0xE4}

type xdfReader struct {
	b   []byte
	off int
}

func (r *xdfReader) need(n int, what string) error {
	if n < 0 || r.off+n > len(r.b) {
		return fmt.Errorf("byte %d: %s needs %d bytes, %d left", r.off, what, n, len(r.b)-r.off)
	}
	return nil
}

func (r *xdfReader) u8(what string) (uint8, error) {
	if err := r.need(1, what); err != nil {
		return 0, err
	}
	r.off++
	return r.b[r.off-1], nil
}

func (r *xdfReader) u16(what string) (uint16, error) {
	if err := r.need(2, what); err != nil {
		return 0, err
	}
	r.off += 2
	return binary.LittleEndian.Uint16(r.b[r.off-2:]), nil
}

func (r *xdfReader) u32(what string) (uint32, error) {
	if err := r.need(4, what); err != nil {
		return 0, err
	}
	r.off += 4
	return binary.LittleEndian.Uint32(r.b[r.off-4:]), nil
}

func (r *xdfReader) u64(what string) (uint64, error) {
	if err := r.need(8, what); err != nil {
		return 0, err
	}
	r.off += 8
	return binary.LittleEndian.Uint64(r.b[r.off-8:]), nil
}

func (r *xdfReader) f64(what string) (float64, error) {
	u, err := r.u64(what)
	return math.Float64frombits(u), err
}

// varLen reads [NumLengthBytes][Length].
func (r *xdfReader) varLen(what string) (uint64, error) {
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

func readXDF(b []byte) (*xdfFile, error) {
	if !bytes.HasPrefix(b, []byte("XDF:")) {
		return nil, fmt.Errorf("no XDF: magic")
	}
	f := &xdfFile{streams: map[uint32]*xdfStreamData{}}
	r := &xdfReader{b: b, off: 4}
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
		f.tags = append(f.tags, tag)
		c := &xdfReader{b: b[:end], off: r.off}
		if err := f.chunk(tag, c); err != nil {
			return nil, fmt.Errorf("chunk at byte %d (tag %d): %w", start, tag, err)
		}
		if c.off != end {
			return nil, fmt.Errorf("chunk at byte %d (tag %d): %d bytes of content not used", start, tag, end-c.off)
		}
		r.off = end
	}
	if len(f.tags) == 0 || f.tags[0] != 1 {
		return nil, fmt.Errorf("the first chunk is not a FileHeader")
	}
	return f, nil
}

func (f *xdfFile) chunk(tag uint16, c *xdfReader) error {
	switch tag {
	case 1:
		f.fileHeader = string(c.b[c.off:])
		c.off = len(c.b)
		return nil
	case 5:
		if err := c.need(16, "boundary"); err != nil {
			return err
		}
		if !bytes.Equal(c.b[c.off:c.off+16], specBoundary) {
			return fmt.Errorf("boundary chunk without the boundary UUID")
		}
		c.off += 16
		f.boundaries++
		return nil
	case 2, 3, 4, 6:
	default:
		return fmt.Errorf("unknown tag")
	}
	id, err := c.u32("stream id")
	if err != nil {
		return err
	}
	s := f.streams[id]
	if tag == 2 {
		if s != nil {
			return fmt.Errorf("stream %d has two headers", id)
		}
		s = &xdfStreamData{}
		if err := xml.Unmarshal(c.b[c.off:], &s.info); err != nil {
			return fmt.Errorf("stream header XML: %w", err)
		}
		c.off = len(c.b)
		f.streams[id] = s
		f.order = append(f.order, id)
		return nil
	}
	if s == nil {
		return fmt.Errorf("stream %d used before its header", id)
	}
	if s.hasFooter {
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
		s.offsets = append(s.offsets, [2]float64{t, v})
	case 6:
		var ft xdfFooter
		if err := xml.Unmarshal(c.b[c.off:], &ft); err != nil {
			return fmt.Errorf("stream footer XML: %w", err)
		}
		c.off = len(c.b)
		s.footer, s.hasFooter = &ft, true
	case 3:
		return s.samples(c)
	}
	return nil
}

func (s *xdfStreamData) samples(c *xdfReader) error {
	n, err := c.varLen("sample count")
	if err != nil {
		return err
	}
	s.chunks++
	for i := uint64(0); i < n; i++ {
		tb, err := c.u8("time stamp bytes")
		if err != nil {
			return err
		}
		switch tb {
		case 0:
			// Deduced: the previous time stamp plus one sampling interval.
			if s.info.NominalSrate > 0 {
				s.lastTS += 1 / s.info.NominalSrate
			}
		case 8:
			if s.lastTS, err = c.f64("time stamp"); err != nil {
				return err
			}
		default:
			return fmt.Errorf("TimeStampBytes %d is not 0 or 8", tb)
		}
		s.times = append(s.times, s.lastTS)
		switch s.info.ChannelFormat {
		case "double64":
			row := make([]float64, s.info.ChannelCount)
			for k := range row {
				if row[k], err = c.f64("value"); err != nil {
					return err
				}
			}
			s.values = append(s.values, row)
		case "string":
			row := make([]string, s.info.ChannelCount)
			for k := range row {
				l, err := c.varLen("string length")
				if err != nil {
					return err
				}
				if err := c.need(int(l), "string"); err != nil {
					return err
				}
				row[k] = string(c.b[c.off : c.off+int(l)])
				c.off += int(l)
			}
			s.strings = append(s.strings, row)
		default:
			return fmt.Errorf("channel format %q not handled by this reader", s.info.ChannelFormat)
		}
	}
	return nil
}

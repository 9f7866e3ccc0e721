package lsl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ChannelFormat is the type of a stream's values on the wire.
type ChannelFormat int

// The formats, numbered as liblsl numbers them (lsl_channel_format_t).
const (
	FormatUndefined ChannelFormat = iota
	Float32
	Double64
	String
	Int32
	Int16
	Int8
	Int64
)

var formatNames = [...]string{"undefined", "float32", "double64", "string", "int32", "int16", "int8", "int64"}

// String is the format's name in the stream's XML ("float32", ...).
func (f ChannelFormat) String() string {
	if f < 0 || int(f) >= len(formatNames) {
		return "undefined"
	}
	return formatNames[f]
}

// Size is the bytes of one value on the wire; 0 for strings (whose length
// varies) and for an undefined format.
func (f ChannelFormat) Size() int {
	switch f {
	case Float32, Int32:
		return 4
	case Double64, Int64:
		return 8
	case Int16:
		return 2
	case Int8:
		return 1
	}
	return 0
}

func parseFormat(s string) (ChannelFormat, bool) {
	for i, n := range formatNames {
		if i > 0 && n == s {
			return ChannelFormat(i), true
		}
	}
	return FormatUndefined, false
}

// IrregularRate is the nominal rate of a stream without a fixed rate
// (markers, derived values).
const IrregularRate = 0.0

// Channel describes one channel in the stream's description, as the XDF
// meta-data convention (desc/channels/channel) that LabRecorder and
// analysis tools read.
type Channel struct {
	Label string // "eda", "C3"
	Unit  string // "microsiemens", "microvolts"
	Type  string // "EDA", "EEG"
}

// Field is one simple element of the description (desc/Name = Value), such
// as manufacturer.
type Field struct{ Name, Value string }

// MaxChannels bounds the channel count accepted from the network, so a
// hostile stream description cannot make an inlet allocate without limit.
const MaxChannels = 1 << 16

// StreamInfo describes a stream: what its producer declares (Name to
// Channels) and what its outlet fills in when it starts (UID on).
type StreamInfo struct {
	Name         string
	Type         string // content type: "EEG", "Markers", ...
	ChannelCount int
	Rate         float64 // nominal samples per second; IrregularRate (0) if none
	Format       ChannelFormat
	SourceID     string // unique and stable across restarts, for recovery
	Fields       []Field
	Channels     []Channel // empty, or one per channel

	// Set by the outlet, read from the network by a resolver.
	Version       int     // protocol version times 100 (110)
	CreatedAt     float64 // LSL time the outlet was made
	UID           string
	SessionID     string
	Hostname      string
	V4Address     string // filled in by the resolver from the answer's source
	V4DataPort    int
	V4ServicePort int
	V6Address     string
	V6DataPort    int
	V6ServicePort int
}

// Validate checks what an outlet needs of a declared stream.
func (si *StreamInfo) Validate() error {
	switch {
	case si.Name == "":
		return errors.New("lsl: a stream needs a name")
	case si.ChannelCount < 1 || si.ChannelCount > MaxChannels:
		return fmt.Errorf("lsl: stream %q: channel count %d out of range 1..%d", si.Name, si.ChannelCount, MaxChannels)
	case si.Rate < 0 || math.IsNaN(si.Rate) || math.IsInf(si.Rate, 0):
		return fmt.Errorf("lsl: stream %q: nominal rate %v", si.Name, si.Rate)
	case si.Format <= FormatUndefined || si.Format > Int64:
		return fmt.Errorf("lsl: stream %q: channel format %d", si.Name, si.Format)
	case len(si.Channels) != 0 && len(si.Channels) != si.ChannelCount:
		return fmt.Errorf("lsl: stream %q: %d channel descriptions for %d channels", si.Name, len(si.Channels), si.ChannelCount)
	}
	return nil
}

// xnode is an element of the stream's XML document: what the XML is written
// from and what discovery queries are evaluated against.
type xnode struct {
	name     string
	text     string
	children []*xnode
}

func (n *xnode) add(name, text string) *xnode {
	c := &xnode{name: name, text: text}
	n.children = append(n.children, c)
	return c
}

// value is the XPath string value: the text of the element and all below.
func (n *xnode) value() string {
	if len(n.children) == 0 {
		return n.text
	}
	var b strings.Builder
	b.WriteString(n.text)
	for _, c := range n.children {
		b.WriteString(c.value())
	}
	return b.String()
}

// fmtDouble writes a double as liblsl does (C++ setprecision(16) and
// showpoint: "500.0000000000000", "0.000000000000000").
func fmtDouble(v float64) string { return fmt.Sprintf("%#.16g", v) }

// tree is the document liblsl writes for the info: the fixed fields in
// their order, then desc. full=false leaves desc empty (the shortinfo).
func (si *StreamInfo) tree(full bool) *xnode {
	root := &xnode{name: "info"}
	root.add("name", si.Name)
	root.add("type", si.Type)
	root.add("channel_count", strconv.Itoa(si.ChannelCount))
	root.add("channel_format", si.Format.String())
	root.add("source_id", si.SourceID)
	root.add("nominal_srate", fmtDouble(si.Rate))
	root.add("version", fmtDouble(float64(si.Version)/100))
	root.add("created_at", fmtDouble(si.CreatedAt))
	root.add("uid", si.UID)
	root.add("session_id", si.SessionID)
	root.add("hostname", si.Hostname)
	root.add("v4address", si.V4Address)
	root.add("v4data_port", strconv.Itoa(si.V4DataPort))
	root.add("v4service_port", strconv.Itoa(si.V4ServicePort))
	root.add("v6address", si.V6Address)
	root.add("v6data_port", strconv.Itoa(si.V6DataPort))
	root.add("v6service_port", strconv.Itoa(si.V6ServicePort))
	desc := root.add("desc", "")
	if full {
		for _, f := range si.Fields {
			desc.add(f.Name, f.Value)
		}
		if len(si.Channels) > 0 {
			chs := desc.add("channels", "")
			for _, c := range si.Channels {
				ch := chs.add("channel", "")
				ch.add("label", c.Label)
				ch.add("unit", c.Unit)
				ch.add("type", c.Type)
			}
		}
	}
	return root
}

// XML is the stream's description as liblsl writes it (pugixml's default
// format: tab indents, empty elements as <x />). full=false gives the
// shortinfo, whose desc is empty; full=true the fullinfo.
func (si *StreamInfo) XML(full bool) []byte {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\"?>\n")
	writeNode(&b, si.tree(full), 0)
	return b.Bytes()
}

func writeNode(b *bytes.Buffer, n *xnode, depth int) {
	indent := strings.Repeat("\t", depth)
	b.WriteString(indent)
	b.WriteByte('<')
	b.WriteString(n.name)
	switch {
	case len(n.children) > 0:
		b.WriteString(">\n")
		for _, c := range n.children {
			writeNode(b, c, depth+1)
		}
		b.WriteString(indent)
	case n.name == "desc":
		// pugixml writes an element without children as <x />; every
		// other element here has a text child, even an empty one.
		b.WriteString(" />\n")
		return
	default:
		b.WriteByte('>')
		xml.EscapeText(b, []byte(n.text)) //nolint:errcheck // a bytes.Buffer does not fail
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteString(">\n")
}

// xmlInfo is the shape ParseInfo reads.
type xmlInfo struct {
	XMLName       xml.Name `xml:"info"`
	Name          string   `xml:"name"`
	Type          string   `xml:"type"`
	ChannelCount  string   `xml:"channel_count"`
	ChannelFormat string   `xml:"channel_format"`
	SourceID      string   `xml:"source_id"`
	NominalSrate  string   `xml:"nominal_srate"`
	Version       string   `xml:"version"`
	CreatedAt     string   `xml:"created_at"`
	UID           string   `xml:"uid"`
	SessionID     string   `xml:"session_id"`
	Hostname      string   `xml:"hostname"`
	V4Address     string   `xml:"v4address"`
	V4DataPort    string   `xml:"v4data_port"`
	V4ServicePort string   `xml:"v4service_port"`
	V6Address     string   `xml:"v6address"`
	V6DataPort    string   `xml:"v6data_port"`
	V6ServicePort string   `xml:"v6service_port"`
	Desc          struct {
		Any []struct {
			XMLName xml.Name
			Text    string `xml:",chardata"`
			Inner   []byte `xml:",innerxml"`
		} `xml:",any"`
		Channels struct {
			Channel []struct {
				Label string `xml:"label"`
				Unit  string `xml:"unit"`
				Type  string `xml:"type"`
			} `xml:"channel"`
		} `xml:"channels"`
	} `xml:"desc"`
}

// ParseInfo reads a stream description (a shortinfo or fullinfo message),
// checking what liblsl checks: a name, a known format, counts and ports in
// range, a positive version and a UID.
func ParseInfo(data []byte) (StreamInfo, error) {
	var x xmlInfo
	if err := xml.Unmarshal(data, &x); err != nil {
		return StreamInfo{}, fmt.Errorf("lsl: stream info: %w", err)
	}
	si := StreamInfo{
		Name: x.Name, Type: x.Type, SourceID: x.SourceID, UID: x.UID, SessionID: x.SessionID,
		Hostname: x.Hostname, V4Address: x.V4Address, V6Address: x.V6Address,
	}
	var err error
	num := func(field, s string, lo, hi int) int {
		v, e := strconv.Atoi(strings.TrimSpace(s))
		if e == nil && (v < lo || v > hi) {
			e = fmt.Errorf("out of range %d..%d", lo, hi)
		}
		if e != nil && err == nil {
			err = fmt.Errorf("lsl: stream info: %s %q: %v", field, s, e)
		}
		return v
	}
	real := func(field, s string) float64 {
		v, e := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if e == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			e = errors.New("not finite")
		}
		if e != nil && err == nil {
			err = fmt.Errorf("lsl: stream info: %s %q: %v", field, s, e)
		}
		return v
	}
	si.ChannelCount = num("channel_count", x.ChannelCount, 0, MaxChannels)
	si.Rate = real("nominal_srate", x.NominalSrate)
	si.Version = int(real("version", x.Version) * 100)
	si.CreatedAt = real("created_at", x.CreatedAt)
	si.V4DataPort = num("v4data_port", x.V4DataPort, 0, 65535)
	si.V4ServicePort = num("v4service_port", x.V4ServicePort, 0, 65535)
	si.V6DataPort = num("v6data_port", x.V6DataPort, 0, 65535)
	si.V6ServicePort = num("v6service_port", x.V6ServicePort, 0, 65535)
	if err != nil {
		return StreamInfo{}, err
	}
	var ok bool
	if si.Format, ok = parseFormat(x.ChannelFormat); !ok {
		return StreamInfo{}, fmt.Errorf("lsl: stream info: channel format %q", x.ChannelFormat)
	}
	switch {
	case si.Name == "":
		return StreamInfo{}, errors.New("lsl: stream info without a name")
	case si.Rate < 0:
		return StreamInfo{}, fmt.Errorf("lsl: stream info: nominal rate %v", si.Rate)
	case si.Version <= 0:
		return StreamInfo{}, fmt.Errorf("lsl: stream info: version %q", x.Version)
	case si.UID == "":
		return StreamInfo{}, errors.New("lsl: stream info without a uid")
	}
	for _, a := range x.Desc.Any {
		// Simple elements only: nested ones (acquisition, ...) are kept by
		// the outlet that wrote them, not by us.
		if a.XMLName.Local != "channels" && !bytes.ContainsRune(a.Inner, '<') {
			si.Fields = append(si.Fields, Field{Name: a.XMLName.Local, Value: a.Text})
		}
	}
	for _, c := range x.Desc.Channels.Channel {
		si.Channels = append(si.Channels, Channel(c))
	}
	return si, nil
}

package lsl

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The wire facts, as liblsl 1.16 speaks them (docs/lsl.md tells them in
// prose).

// ProtocolVersion is the data protocol spoken: 1.10, times 100.
const ProtocolVersion = 110

// Byte orders as the feed headers name them.
const (
	littleEndian = 1234
	bigEndian    = 4321
)

// byteOrder reads and appends: binary.LittleEndian or binary.BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// Sample tags: the timestamp follows (transmitted), or the receiver deduces
// it from the previous one and the nominal rate.
const (
	tagDeduced     = 1
	tagTransmitted = 2
)

// DeducedTimestamp pushed as a sample's time sends it without one: the
// receiver takes the previous sample's time plus 1/rate (liblsl's
// DEDUCED_TIMESTAMP, for samples of a chunk after its first).
const DeducedTimestamp = -1.0

// testPatternTime is the timestamp of the two test-pattern samples that
// open every feed.
const testPatternTime = 123456.789

const (
	maxLine       = 16 << 10 // longest request or header line accepted
	maxHeaders    = 64       // header lines in one request or response
	maxStringSize = 16 << 20 // longest string value an inlet accepts
)

// trimSpace trims what C++'s std::isspace trims, as liblsl's trim does.
func trimSpace(s string) string { return strings.Trim(s, " \t\r\n\v\f") }

// discovery is a UDP request to an outlet.
type discovery struct {
	method string // "LSL:shortinfo" or "LSL:timedata"

	// shortinfo: answer to ReturnPort at the sender's address, prefixed by ID.
	query      string
	returnPort int
	queryID    string

	// timedata: echo WaveID and T0 with our receive and send times.
	waveID int32
	t0     float64
}

var errUnknownMethod = errors.New("lsl: unknown method")

// parseDiscovery reads a UDP request. The layout is line based:
//
//	LSL:shortinfo\r\n<query>\r\n<return port> <query id>\r\n
//	LSL:timedata\r\n<wave id> <t0>\r\n
//
// The numbers after the first line are whitespace separated (liblsl reads
// them with operator>>), so line ends there are not significant.
func parseDiscovery(pkt []byte) (discovery, error) {
	first, rest, _ := bytes.Cut(pkt, []byte{'\n'})
	d := discovery{method: trimSpace(string(first))}
	switch d.method {
	case "LSL:shortinfo":
		q, tail, _ := bytes.Cut(rest, []byte{'\n'})
		d.query = trimSpace(string(q))
		f := strings.Fields(string(tail))
		if len(f) == 0 {
			return d, errors.New("lsl: shortinfo request without a return port")
		}
		port, err := strconv.ParseUint(f[0], 10, 16)
		if err != nil || port == 0 {
			return d, fmt.Errorf("lsl: shortinfo request: return port %q", f[0])
		}
		d.returnPort = int(port)
		if len(f) > 1 {
			d.queryID = f[1]
		}
		return d, nil
	case "LSL:timedata":
		f := strings.Fields(string(rest))
		if len(f) < 2 {
			return d, errors.New("lsl: timedata request without wave id and time")
		}
		w, err := strconv.ParseInt(f[0], 10, 32)
		if err != nil {
			return d, fmt.Errorf("lsl: timedata request: wave id %q", f[0])
		}
		t0, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return d, fmt.Errorf("lsl: timedata request: time %q", f[1])
		}
		d.waveID, d.t0 = int32(w), t0
		return d, nil
	}
	return d, errUnknownMethod
}

// fmtTime writes a time as liblsl's streams do (precision 16, no trailing
// zeros): %.16g.
func fmtTime(v float64) string { return strconv.FormatFloat(v, 'g', 16, 64) }

// timedataReply is the answer to a time probe: the probe's wave id and send
// time t0, then when we received it (t1) and when we answer (t2).
func timedataReply(waveID int32, t0, t1, t2 float64) []byte {
	return []byte(" " + strconv.Itoa(int(waveID)) + " " + fmtTime(t0) + " " + fmtTime(t1) + " " + fmtTime(t2))
}

func timedataRequest(waveID int32, t0 float64) []byte {
	return []byte("LSL:timedata\r\n" + strconv.Itoa(int(waveID)) + " " + fmtTime(t0) + "\r\n")
}

func parseTimedataReply(pkt []byte) (waveID int32, t0, t1, t2 float64, err error) {
	f := strings.Fields(string(pkt))
	if len(f) < 4 {
		return 0, 0, 0, 0, errors.New("lsl: short timedata reply")
	}
	w, err := strconv.ParseInt(f[0], 10, 32)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	var ts [3]float64
	for i := range ts {
		if ts[i], err = strconv.ParseFloat(f[i+1], 64); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	return int32(w), ts[0], ts[1], ts[2], nil
}

func shortinfoRequest(query string, port int, id string) []byte {
	return []byte("LSL:shortinfo\r\n" + query + "\r\n" + strconv.Itoa(port) + " " + id + "\r\n")
}

// parseShortinfoReply splits an answer into its query id and the XML.
func parseShortinfoReply(pkt []byte) (id string, xmlText []byte, ok bool) {
	first, rest, found := bytes.Cut(pkt, []byte{'\n'})
	if !found {
		return "", nil, false
	}
	return trimSpace(string(first)), rest, true
}

// feedRequest is what a client asks of an outlet's TCP port.
type feedRequest struct {
	method string // "LSL:streamfeed", "LSL:shortinfo", "LSL:fullinfo"

	query string // shortinfo

	version        int    // streamfeed: the protocol version asked for
	uid            string // streamfeed: the stream it expects ("" any)
	byteOrder      int
	endianPerf     float64
	ieee754        bool
	subnormals     bool
	valueSize      int // -1: not given (the stream's own)
	maxBuffered    int // samples; -1: not given
	chunkLen       int
	clientProtocol int // -1: not given (the request line's)
}

// readLine reads one line ending in \n, at most maxLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxLine {
			return "", errors.New("lsl: line too long")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		return string(b), nil
	}
}

// parseBool reads a bool as C++ operator>> does without boolalpha: an
// integer, nonzero is true.
func parseBool(s string) (bool, error) {
	n, err := strconv.Atoi(s)
	return n != 0, err
}

// readHeaders reads "Key: value" lines up to an empty line, lowercasing
// them and dropping ";" comments as liblsl does; lines without a colon are
// skipped.
func readHeaders(r *bufio.Reader, each func(key, val string) error) error {
	for range maxHeaders + 1 {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if trimSpace(line) == "" {
			return nil
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if i := strings.IndexByte(v, ';'); i >= 0 {
			v = v[:i]
		}
		if err := each(strings.ToLower(trimSpace(k)), strings.ToLower(trimSpace(v))); err != nil {
			return err
		}
	}
	return errors.New("lsl: too many header lines")
}

// parseFeedRequest reads a request from a client of the TCP port:
//
//	LSL:streamfeed/110 <uid>\r\n<Key: value\r\n>...\r\n
//	LSL:shortinfo\r\n<query>\r\n
//	LSL:fullinfo\r\n
func parseFeedRequest(r *bufio.Reader) (feedRequest, error) {
	line, err := readLine(r)
	if err != nil {
		return feedRequest{}, err
	}
	m := trimSpace(line)
	req := feedRequest{method: m, byteOrder: littleEndian, ieee754: true, subnormals: true,
		valueSize: -1, maxBuffered: -1, clientProtocol: -1}
	switch {
	case m == "LSL:fullinfo":
		return req, nil
	case m == "LSL:shortinfo":
		q, err := readLine(r)
		req.query = trimSpace(q)
		return req, err
	case m == "LSL:streamfeed":
		// Protocol 1.00 (a Boost portable archive) is not spoken.
		req.version = 100
		return req, nil
	case strings.HasPrefix(m, "LSL:streamfeed/"):
	default:
		return req, fmt.Errorf("%w %q", errUnknownMethod, m)
	}
	req.method = "LSL:streamfeed"
	parts := strings.Fields(m)
	if req.version, err = strconv.Atoi(parts[0][len("LSL:streamfeed/"):]); err != nil {
		return req, fmt.Errorf("lsl: streamfeed version %q", parts[0])
	}
	if len(parts) > 1 {
		req.uid = parts[1]
	}
	if req.version < ProtocolVersion {
		return req, nil // answered by a version error; no headers follow
	}
	err = readHeaders(r, func(k, v string) error {
		var err error
		switch k {
		case "native-byte-order":
			req.byteOrder, err = strconv.Atoi(v)
		case "endian-performance":
			req.endianPerf, err = strconv.ParseFloat(v, 64)
		case "has-ieee754-floats":
			req.ieee754, err = parseBool(v)
		case "supports-subnormals":
			req.subnormals, err = parseBool(v)
		case "value-size":
			req.valueSize, err = strconv.Atoi(v)
		case "max-buffer-length":
			req.maxBuffered, err = strconv.Atoi(v)
		case "max-chunk-length":
			req.chunkLen, err = strconv.Atoi(v)
		case "protocol-version":
			req.clientProtocol, err = strconv.Atoi(v)
		}
		if err != nil {
			return fmt.Errorf("lsl: header %s: %q", k, v)
		}
		return nil
	})
	return req, err
}

// feedParams are what the outlet settled for one feed.
type feedParams struct {
	order      byteOrder
	suppress   bool // the client is to flush subnormal floats to zero
	version    int
	statusLine string // non-empty: refuse with this status
}

// ourEndianPerf is the endian-conversion speed we claim (conversions per
// second, as liblsl measures it): the side that converts faster converts.
// Go converts at memory speed, so we offer to.
const ourEndianPerf = 1e8

// negotiate decides a feed's parameters as liblsl's tcp_server does.
func negotiate(req feedRequest, si *StreamInfo) feedParams {
	p := feedParams{order: binary.LittleEndian, version: ProtocolVersion}
	switch {
	case req.version/100 > ProtocolVersion/100:
		p.statusLine = "LSL/110 505 Version not supported"
		return p
	case req.uid != "" && req.uid != si.UID:
		p.statusLine = "LSL/110 404 Not found"
		return p
	}
	if req.clientProtocol >= 0 {
		p.version = min(p.version, req.clientProtocol)
	} else {
		p.version = min(p.version, req.version)
	}
	size := si.Format.Size()
	if si.Format != String && req.valueSize >= 0 && req.valueSize != size || !req.ieee754 {
		p.version = 100 // liblsl would fall back to the portable archive
	}
	if p.version < ProtocolVersion {
		p.statusLine = "LSL/110 505 Version not supported"
		return p
	}
	if req.byteOrder != littleEndian && req.byteOrder == bigEndian && size > 1 && ourEndianPerf > req.endianPerf {
		p.order = binary.BigEndian
	}
	p.suppress = (si.Format == Float32 || si.Format == Double64) && !req.subnormals
	return p
}

func (p feedParams) response(uid string) []byte {
	if p.statusLine != "" {
		return []byte(p.statusLine + "\r\n")
	}
	order := littleEndian
	if p.order == binary.BigEndian {
		order = bigEndian
	}
	sup := 0
	if p.suppress {
		sup = 1
	}
	return fmt.Appendf(nil, "LSL/%d 200 OK\r\nUID: %s\r\nByte-Order: %d\r\nSuppress-Subnormals: %d\r\nData-Protocol-Version: %d\r\n\r\n",
		ProtocolVersion, uid, order, sup, p.version)
}

// feedRequestFor is the request our inlet sends, the same headers liblsl's
// data_receiver sends.
func feedRequestFor(si *StreamInfo, maxBuffered int) []byte {
	sub := 0
	if si.Format == Float32 || si.Format == Double64 {
		sub = 1
	}
	return fmt.Appendf(nil, "LSL:streamfeed/%d %s\r\n"+
		"Native-Byte-Order: %d\r\nEndian-Performance: %d\r\nHas-IEEE754-Floats: 1\r\n"+
		"Supports-Subnormals: %d\r\nValue-Size: %d\r\nData-Protocol-Version: %d\r\n"+
		"Max-Buffer-Length: %d\r\nMax-Chunk-Length: 0\r\nHostname: %s\r\nSource-Id: %s\r\nSession-Id: %s\r\n\r\n",
		min(ProtocolVersion, si.Version), si.UID, littleEndian, int(ourEndianPerf), sub, si.Format.Size(),
		min(ProtocolVersion, si.Version), maxBuffered, si.Hostname, si.SourceID, si.SessionID)
}

// feedResponse is an outlet's answer as our inlet reads it.
type feedResponse struct {
	status   int
	line     string
	order    byteOrder
	suppress bool
	version  int
	uid      string
}

func parseFeedResponse(r *bufio.Reader) (feedResponse, error) {
	line, err := readLine(r)
	if err != nil {
		return feedResponse{}, fmt.Errorf("lsl: feed response: %w", err)
	}
	resp := feedResponse{line: trimSpace(line), order: binary.LittleEndian, version: 100}
	parts := strings.Fields(resp.line)
	if len(parts) < 3 || !strings.HasPrefix(parts[0], "LSL/") {
		return resp, fmt.Errorf("lsl: malformed feed response %q", resp.line)
	}
	v, err := strconv.Atoi(parts[0][4:])
	if err != nil || v/100 > ProtocolVersion/100 {
		return resp, fmt.Errorf("lsl: feed response version %q", parts[0])
	}
	if resp.status, err = strconv.Atoi(parts[1]); err != nil {
		return resp, fmt.Errorf("lsl: feed response status %q", parts[1])
	}
	if resp.status >= 300 {
		return resp, fmt.Errorf("lsl: outlet refused the feed: %s", resp.line)
	}
	err = readHeaders(r, func(k, v string) error {
		switch k {
		case "byte-order":
			o, err := strconv.Atoi(v)
			switch {
			case err != nil:
				return fmt.Errorf("lsl: byte order %q", v)
			case o == bigEndian:
				resp.order = binary.BigEndian
			case o == littleEndian || o == 0: // 0: liblsl ~1.13
			default:
				return fmt.Errorf("lsl: byte order %d", o)
			}
		case "suppress-subnormals":
			b, err := parseBool(v)
			if err != nil {
				return fmt.Errorf("lsl: suppress-subnormals %q", v)
			}
			resp.suppress = b
		case "uid":
			resp.uid = v
		case "data-protocol-version":
			n, err := strconv.Atoi(v)
			if err != nil || n > ProtocolVersion {
				return fmt.Errorf("lsl: data protocol version %q", v)
			}
			resp.version = n
		}
		return nil
	})
	if err == nil && resp.version < ProtocolVersion {
		err = fmt.Errorf("lsl: data protocol %d not supported (only %d)", resp.version, ProtocolVersion)
	}
	return resp, err
}

// encoder writes samples of one stream in one byte order.
type encoder struct {
	format ChannelFormat
	n      int
	order  byteOrder
}

func (e encoder) header(dst []byte, t float64) []byte {
	if t == DeducedTimestamp {
		return append(dst, tagDeduced)
	}
	dst = append(dst, tagTransmitted)
	return e.order.AppendUint64(dst, math.Float64bits(t))
}

// clampRound converts to an integer format: rounded, saturating.
func clampRound(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Max(lo, math.Min(hi, math.Round(v)))
}

// numeric appends a sample of numeric values (converted to the format).
func (e encoder) numeric(dst []byte, t float64, vals []float64) []byte {
	dst = e.header(dst, t)
	o := e.order
	for _, v := range vals {
		switch e.format {
		case Float32:
			dst = o.AppendUint32(dst, math.Float32bits(float32(v)))
		case Double64:
			dst = o.AppendUint64(dst, math.Float64bits(v))
		case Int32:
			dst = o.AppendUint32(dst, uint32(int32(clampRound(v, math.MinInt32, math.MaxInt32))))
		case Int16:
			dst = o.AppendUint16(dst, uint16(int16(clampRound(v, math.MinInt16, math.MaxInt16))))
		case Int8:
			dst = append(dst, byte(int8(clampRound(v, math.MinInt8, math.MaxInt8))))
		case Int64:
			// Beyond ±2^63 a float64 has no exact int64; saturate below it.
			dst = o.AppendUint64(dst, uint64(int64(clampRound(v, -(1<<63), (1<<63)-1024))))
		}
	}
	return dst
}

// strings appends a sample of a string stream: each value is a length
// (a byte saying how many bytes the length has: 1, 4 or 8) and its bytes.
func (e encoder) strings(dst []byte, t float64, vals []string) []byte {
	dst = e.header(dst, t)
	for _, s := range vals {
		switch n := len(s); {
		case n <= 0xff:
			dst = append(dst, 1, byte(n))
		case uint64(n) <= 0xffffffff:
			dst = append(dst, 4)
			dst = e.order.AppendUint32(dst, uint32(n))
		default:
			dst = append(dst, 8)
			dst = e.order.AppendUint64(dst, uint64(n))
		}
		dst = append(dst, s...)
	}
	return dst
}

// testPattern appends the test-pattern sample for offset (4, then 2):
// channel k holds ±(k + offset + a format's base), alternating sign; for
// strings "10", "-11", "12", ....
func (e encoder) testPattern(dst []byte, offset int) []byte {
	if e.format == String {
		vals := make([]string, e.n)
		for k := range vals {
			v := k + 10
			if k%2 == 1 {
				v = -v
			}
			vals[k] = strconv.Itoa(v)
		}
		return e.strings(dst, testPatternTime, vals)
	}
	return e.numeric(dst, testPatternTime, testPatternValues(e.format, e.n, offset))
}

func testPatternValues(f ChannelFormat, n, offset int) []float64 {
	base := map[ChannelFormat]int{Float32: 0, Double64: 16777217, Int32: 65537, Int16: 257, Int8: 1, Int64: 2147483649}[f]
	maxv := map[ChannelFormat]int{Int32: math.MaxInt32, Int16: math.MaxInt16, Int8: math.MaxInt8}[f]
	vals := make([]float64, n)
	for k := range vals {
		v := k + offset + base
		if maxv > 0 {
			v %= maxv
		}
		if k%2 == 1 {
			v = -v
		}
		vals[k] = float64(v)
	}
	return vals
}

// decoder reads samples of one stream.
type decoder struct {
	format   ChannelFormat
	n        int
	order    byteOrder
	suppress bool
	buf      [8]byte
}

var errCorrupt = errors.New("lsl: corrupt sample")

// next reads one sample into s (reusing its slices). A deduced timestamp
// is returned as DeducedTimestamp for the caller to fill in.
func (d *decoder) next(r *bufio.Reader, s *Sample) error {
	tag, err := r.ReadByte()
	if err != nil {
		return err
	}
	switch tag {
	case tagDeduced:
		s.T = DeducedTimestamp
	case tagTransmitted:
		if _, err := io.ReadFull(r, d.buf[:8]); err != nil {
			return unexpected(err)
		}
		s.T = math.Float64frombits(d.order.Uint64(d.buf[:8]))
	default:
		return fmt.Errorf("%w: tag %d", errCorrupt, tag)
	}
	if d.format == String {
		s.Values = s.Values[:0]
		s.Strings = s.Strings[:0]
		for range d.n {
			str, err := d.str(r)
			if err != nil {
				return err
			}
			s.Strings = append(s.Strings, str)
		}
		return nil
	}
	s.Strings = s.Strings[:0]
	s.Values = s.Values[:0]
	size := d.format.Size()
	for range d.n {
		b := d.buf[:size]
		if _, err := io.ReadFull(r, b); err != nil {
			return unexpected(err)
		}
		var v float64
		switch d.format {
		case Float32:
			u := d.order.Uint32(b)
			if d.suppress && u&0x7fffffff <= 0x007fffff {
				u &= 0x80000000
			}
			v = float64(math.Float32frombits(u))
		case Double64:
			u := d.order.Uint64(b)
			if d.suppress && u&0x7fffffffffffffff <= 0x000fffffffffffff {
				u &= 0x8000000000000000
			}
			v = math.Float64frombits(u)
		case Int32:
			v = float64(int32(d.order.Uint32(b)))
		case Int16:
			v = float64(int16(d.order.Uint16(b)))
		case Int8:
			v = float64(int8(b[0]))
		case Int64:
			v = float64(int64(d.order.Uint64(b)))
		}
		s.Values = append(s.Values, v)
	}
	return nil
}

func (d *decoder) str(r *bufio.Reader) (string, error) {
	lb, err := r.ReadByte()
	if err != nil {
		return "", unexpected(err)
	}
	var n uint64
	switch lb {
	case 1:
		b, err := r.ReadByte()
		if err != nil {
			return "", unexpected(err)
		}
		n = uint64(b)
	case 2, 4, 8:
		b := d.buf[:lb]
		if _, err := io.ReadFull(r, b); err != nil {
			return "", unexpected(err)
		}
		switch lb {
		case 2:
			n = uint64(d.order.Uint16(b))
		case 4:
			n = uint64(d.order.Uint32(b))
		default:
			n = d.order.Uint64(b)
		}
	default:
		return "", fmt.Errorf("%w: string length of %d bytes", errCorrupt, lb)
	}
	if n > maxStringSize {
		return "", fmt.Errorf("%w: string of %d bytes", errCorrupt, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", unexpected(err)
	}
	return string(b), nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

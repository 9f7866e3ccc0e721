package record

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cueroom/cueroom/event"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/sensors"
)

// FuzzReader feeds arbitrary bytes to the data.rec reader: it must never
// panic, must account for every byte (whole frames + damage = file), must
// only fail for a file that is not a recording at all, and OpenIndex's
// reader must agree with Open's on every byte.
func FuzzReader(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden/data.rec")
	require.NoError(f, err)
	f.Add(golden)
	f.Add(golden[:len(golden)-3])
	flipped := append([]byte(nil), golden...)
	flipped[40] ^= 1
	f.Add(flipped)
	f.Add([]byte(magic))
	f.Add([]byte("CUER"))
	f.Add([]byte{})
	f.Add([]byte("PK\x03\x04"))
	f.Add(append([]byte(magic), 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0))
	var valid []byte
	valid = append(valid, magic...)
	for _, p := range []string{`{"k":"samples","device":"d","n":1,"t":[1],"seq":[1],"v":[["NaN"]]}`, `{"k":"stream","device":"d","rate":1}`, `{"k":"event","t":5}`,
		`{"k":"samples","device":"d","n":1,"t":[2,3],"seq":[2,3],"v":[[1,2]],"arrival":[0,7]}`} {
		var start int
		valid, start = beginFrame(valid)
		valid = append(valid, p...)
		valid = endFrame(valid, start)
	}
	f.Add(valid)
	f.Add(append(valid[:20:20], valid[30:]...))

	f.Fuzz(func(t *testing.T, data []byte) {
		sess := &Session{Samples: map[string][]sensors.Sample{}}
		err := readData(single(bytes.NewReader(data), int64(len(data)), "data.rec"), sess)
		isMagicPrefix := strings.HasPrefix(magic, string(data[:min(len(data), len(magic))]))
		if err != nil {
			require.False(t, isMagicPrefix, "only a bad magic is an error: %v", err)
			require.Contains(t, err.Error(), "data.rec byte ")
			return
		}
		require.True(t, isMagicPrefix)

		// The index reads the same file to the same session.
		x, err := indexData(single(bytes.NewReader(data), int64(len(data)), "data.rec"), 0)
		require.NoError(t, err)
		sess.rec.done(sess.Events)
		requireSameAsOpen(t, sess, x)

		// Frame-level accounting, independent of payload decoding.
		sc, err := newScanner(single(bytes.NewReader(data), int64(len(data)), "data.rec"))
		require.NoError(t, err)
		var framed int64
		for {
			p, off, err := sc.next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			require.Equal(t, uint32(len(p)), binary.LittleEndian.Uint32(data[off:]))
			framed += frameHeader + int64(len(p))
		}
		header := int64(min(len(data), len(magic)))
		rec := sc.recovery()
		var lost int64
		if rec != nil {
			lost = rec.TornBytes + rec.Skipped
			if len(data) < len(magic) {
				lost -= int64(len(data)) // the torn header is counted as damage too
			}
			require.NotEmpty(t, rec.Note)
		}
		require.Equal(t, int64(len(data)), header+framed+lost)
		// Decoding can only reject frames, never invent them.
		require.LessOrEqual(t, sess.Records, sc.records)
	})
}

// FuzzSessionJSON: session.json is a file anyone can edit.
func FuzzSessionJSON(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden/session.json")
	require.NoError(f, err)
	f.Add(golden)
	f.Add([]byte(`{"format":"cueroom-session/1","streams":[{"device":"x","channels":null}],"notes":["a"]}`))
	f.Add([]byte(`{"format":"cueroom-session/1","start":"not a time"}`))
	f.Add([]byte(`{"format":3}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseMeta("session.json", data)
		if err != nil {
			require.Contains(t, err.Error(), "session.json")
			return
		}
		require.Equal(t, metaFormat, m.Format)
		_ = m.meta()
		// What was read can be written back (Repair and Close rely on it).
		out, err := marshalMeta(m)
		if err != nil {
			// Only a time outside what JSON times can hold may fail.
			require.Contains(t, err.Error(), "year outside of range")
			return
		}
		_, err = parseMeta("session.json", out)
		require.NoError(t, err)
	})
}

// FuzzSamplesRoundTrip checks that the hand-written encoder and the reader
// agree bit for bit (signed zeros, subnormals, infinities), whatever the
// values; arrival times (arrival + i, 0 for the sample where that is 0 or
// every one when arrival is 0) too.
func FuzzSamplesRoundTrip(f *testing.F) {
	f.Add("bitalino", 6, int64(0), uint32(0), 1.5, -0.0, uint8(3), int64(0))
	f.Add("", 0, int64(-1), uint32(math.MaxUint32), math.NaN(), math.Inf(-1), uint8(1), int64(5))
	f.Add("a\"\\\n\xff", 8, int64(math.MaxInt64), uint32(7), math.MaxFloat64, math.SmallestNonzeroFloat64, uint8(200), int64(math.MinInt64))
	f.Add("bitalino", 2, int64(1e12), uint32(0), 2.5, 1.0, uint8(4), int64(-2))
	f.Fuzz(func(t *testing.T, dev string, n int, t0 int64, seq uint32, a, b float64, count uint8, arrival int64) {
		n = ((n % (sensors.MaxChannels + 1)) + sensors.MaxChannels + 1) % (sensors.MaxChannels + 1)
		bt := newBatch(dev)
		var want []sensors.Sample
		for i := 0; i < int(count); i++ {
			s := sensors.Sample{Device: dev, T: time.Duration(t0 + int64(i)), Seq: seq + uint32(i), N: n}
			if arrival != 0 {
				s.Arrival = time.Duration(arrival + int64(i))
			}
			for c := 0; c < n; c++ {
				s.Values[c] = a*float64(i) + b*float64(c)
			}
			bt.add(&s, n)
			want = append(want, s)
		}
		p := bt.appendPayload(nil)
		r, err := decodeSamples(p)
		require.NoError(t, err, "%s", p)
		got := r.appendTo(nil)
		require.Len(t, got, len(want))
		for i := range want {
			if utf8.ValidString(dev) {
				assert.Equal(t, dev, got[i].Device)
			}
			assert.Equal(t, want[i].T, got[i].T)
			assert.Equal(t, want[i].Arrival, got[i].Arrival)
			assert.Equal(t, want[i].Seq, got[i].Seq)
			require.Equal(t, n, got[i].N)
			for c := 0; c < n; c++ {
				if w := want[i].Values[c]; math.IsNaN(w) {
					// NaN payload bits mean nothing to a sensor; NaN stays NaN.
					assert.True(t, math.IsNaN(got[i].Values[c]))
				} else {
					assert.Equal(t, math.Float64bits(w), math.Float64bits(got[i].Values[c]))
				}
			}
		}
	})
}

// FuzzEncodeEvent: whatever a producer puts in an event (any text, a NaN,
// a kind this version does not know), it is recorded and reads back with its
// identity intact.
func FuzzEncodeEvent(f *testing.F) {
	f.Add("alert", 3, int64(1500), "beer.jpg", 2.5)
	f.Add("", -1, int64(-5), "\xff", math.NaN())
	f.Add("future_kind", 0, int64(7), "x", 1.0)
	f.Fuzz(func(t *testing.T, kind string, step int, at int64, val string, num float64) {
		var d event.Data
		switch kind {
		case "alert":
			d = event.Alert{Source: "sensor", Message: val, Value: event.Float(num)}
		case "marker":
			d = event.Marker{Text: val, By: val}
		default:
			raw, _ := json.Marshal(map[string]any{"text": val})
			d = event.Unknown{Name: event.Kind(kind), Raw: raw}
		}
		e := event.Event{T: time.Duration(at), Step: step, Data: d}
		p := encodeEvent(e)
		sess := &Session{Samples: map[string][]sensors.Sample{}}
		require.NoError(t, decodeRecord(p, 0, sess), "%s", p)
		require.Len(t, sess.Events, 1)
		got := sess.Events[0]
		assert.Equal(t, e.T, got.T)
		assert.Equal(t, e.Step, got.Step)
		if kind != "" && utf8.ValidString(kind) {
			assert.Equal(t, event.Kind(kind), got.Kind())
		}
		if a, ok := got.Data.(event.Alert); ok && !math.IsNaN(num) && !math.IsInf(num, 0) {
			require.NotNil(t, a.Value)
			assert.Equal(t, num, *a.Value)
		}
	})
}

// recordBits is a samples record in comparable form (NaN bit for bit).
func recordBits(r *samplesJSON) []any {
	out := []any{r.Device, r.N, len(r.T), len(r.Seq), len(r.V)}
	for i := range r.T {
		out = append(out, r.T[i])
	}
	for _, q := range r.Seq {
		out = append(out, q)
	}
	out = append(out, len(r.Arrival))
	for _, a := range r.Arrival {
		out = append(out, a)
	}
	for _, col := range r.V {
		out = append(out, len(col))
		for _, v := range col {
			out = append(out, math.Float64bits(float64(v)))
		}
	}
	return out
}

// FuzzSamplesFastAgrees: whatever bytes the fast samples parser accepts,
// encoding/json reads to the same record, also when parsed into a reused
// one.
func FuzzSamplesFastAgrees(f *testing.F) {
	bt := newBatch("bitalino")
	for i := 0; i < 3; i++ {
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i * 1000), Seq: uint32(i), N: 2}
		s.Values[0], s.Values[1] = float64(i)/3, -1e-300
		bt.add(&s, 2)
	}
	f.Add(bt.appendPayload(nil))
	f.Add([]byte(`{"k":"samples","device":"d","n":1,"t":[1,-2],"seq":[0,4294967295],"v":[["NaN","-Inf"]]}`))
	f.Add([]byte(`{"k":"samples","device":"d","n":0,"t":[],"seq":[],"v":[]}`))
	f.Add([]byte(`{"k":"samples","device":"d","n":1,"t":[01],"seq":[1],"v":[[1.]]}`))
	f.Add([]byte(`{"k":"samples","device":"d","n":1,"t":[1],"seq":[1],"v":[[1e400]]}`))
	f.Add([]byte(`{"k":"samples","device":"d","n":1,"t":[1,2],"seq":[1,2],"v":[[1,2]],"arrival":[0,-9223372036854775808]}`))
	f.Add([]byte(`{"k":"samples","device":"d","n":1,"t":[1,2],"seq":[1,2],"v":[[1,2]],"arrival":[]}`))
	f.Add([]byte(`{"k":"samples","device":"d","n":1,"t":[1,2],"seq":[1,2],"v":[[1,2]],"arrival":[3,]}`))
	wide := []byte(`{"k":"samples","device":"other","n":3,"t":[1,2,3,4,5,6],"seq":[1,2,3,4,5,6],"v":[[1,2,3,4,5,6],[1,2,3,4,5,6],[1,2,3,4,5,6]],"arrival":[9,8,7,6,5,4]}`)
	f.Fuzz(func(t *testing.T, p []byte) {
		fast, ok := parseSamplesFast(p)
		// Into a buffer that held another record (as a cursor reuses one):
		// the same answer, the same record.
		reused, _ := parseSamplesFast(wide)
		require.Equal(t, ok, parseSamplesFastInto(p, reused))
		if !ok {
			return
		}
		require.Equal(t, recordBits(fast), recordBits(reused))
		var slow samplesJSON
		require.NoError(t, json.Unmarshal(p, &slow), "the fast parser accepted what encoding/json refuses: %q", p)
		assert.Equal(t, slow.Device, fast.Device)
		assert.Equal(t, slow.N, fast.N)
		assert.Equal(t, len(slow.T), len(fast.T))
		for i := range slow.T {
			assert.Equal(t, slow.T[i], fast.T[i])
		}
		require.Equal(t, len(slow.Seq), len(fast.Seq))
		for i := range slow.Seq {
			assert.Equal(t, slow.Seq[i], fast.Seq[i])
		}
		require.Equal(t, len(slow.Arrival), len(fast.Arrival))
		for i := range slow.Arrival {
			assert.Equal(t, slow.Arrival[i], fast.Arrival[i])
		}
		require.Equal(t, len(slow.V), len(fast.V))
		for c := range slow.V {
			require.Equal(t, len(slow.V[c]), len(fast.V[c]))
			for i := range slow.V[c] {
				a, b := float64(slow.V[c][i]), float64(fast.V[c][i])
				if math.IsNaN(a) {
					assert.True(t, math.IsNaN(b))
					continue
				}
				assert.Equal(t, math.Float64bits(a), math.Float64bits(b))
			}
		}
	})
}

// FuzzJoined reads arbitrary bytes as a recording of two segments (data.rec
// and data.2.rec, the second with or without its magic): never a panic,
// every byte of each accounted for (whole frames + damage + headers), an
// error only for a first segment that is not a recording, the Index
// agreeing with Open, and a record never read across the boundary.
func FuzzJoined(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden/data.rec")
	require.NoError(f, err)
	f.Add(golden, golden, true)
	f.Add(golden[:len(golden)-3], golden[len(magic):], true)
	f.Add(golden[:40], golden[40:], false)
	f.Add([]byte(magic), []byte{}, false)
	f.Add([]byte(magic), []byte("CUE"), false)
	f.Add([]byte{}, golden, false)
	f.Fuzz(func(t *testing.T, a, b []byte, withMagic bool) {
		if withMagic {
			b = append([]byte(magic), b...)
		}
		join := func() *joined {
			j := &joined{}
			j.add(bytes.NewReader(a), int64(len(a)), DataFile)
			j.add(bytes.NewReader(b), int64(len(b)), "data.2.rec")
			return j
		}
		sess := &Session{Samples: map[string][]sensors.Sample{}}
		err := readData(join(), sess)
		if err != nil {
			require.False(t, strings.HasPrefix(magic, string(a[:min(len(a), len(magic))])), "only a bad magic is an error: %v", err)
			require.Contains(t, err.Error(), "data.rec byte ")
			return
		}
		x, err := indexData(join(), 0)
		require.NoError(t, err)
		sess.rec.done(sess.Events)
		requireSameAsOpen(t, sess, x)

		j := join()
		sc, err := newScanner(j)
		require.NoError(t, err)
		framed := [2]int64{}
		for {
			p, off, err := sc.next()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			k := j.at(off)
			seg := j.segs[k]
			require.LessOrEqual(t, off+frameHeader+int64(len(p)), seg.base+seg.size, "a frame within its segment")
			framed[k] += frameHeader + int64(len(p))
		}
		lost := [2]int64{}
		for _, d := range sc.damage {
			lost[d.seg] += d.n
		}
		for k, data := range [][]byte{a, b} {
			header := int64(0)
			if bytes.HasPrefix(data, []byte(magic)) {
				header = int64(len(magic))
			} else if strings.HasPrefix(magic, string(data)) {
				header = int64(len(data))
				lost[k] -= int64(len(data)) // the torn header is counted as damage too
			}
			require.Equal(t, int64(len(data)), header+framed[k]+lost[k], "segment %d", k)
		}
		require.LessOrEqual(t, sess.Records, sc.records)
	})
}

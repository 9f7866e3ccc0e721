package record

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// requireSameAsOpen checks that the Index tells exactly what Open does:
// the header, the events with their recorded data, the damage, and every
// device's samples in order.
func requireSameAsOpen(t *testing.T, s *Session, x *Index) {
	t.Helper()
	assert.Equal(t, s.Meta, x.Meta)
	assert.Equal(t, s.Protocol, x.Protocol)
	assert.Equal(t, s.End, x.End)
	assert.Equal(t, s.Complete, x.Complete)
	assert.Equal(t, s.Error, x.Error)
	assert.Equal(t, s.Counts, x.Counts)
	assert.Equal(t, s.Notes, x.Notes)
	assert.Equal(t, s.Records, x.Records)
	assert.Equal(t, s.Recovered, x.Recovered)
	assert.Equal(t, s.Streams, x.Streams)
	require.Equal(t, s.Events, x.Events)
	for i := range s.Events {
		a, aok := s.RecordedData(i)
		b, bok := x.RecordedData(i)
		require.True(t, aok && bok)
		require.Equal(t, string(a), string(b), "event %d", i)
	}
	var devices []string
	for d := range s.Samples {
		devices = append(devices, d)
	}
	sort.Strings(devices)
	require.Equal(t, emptyIfNilStrings(devices), emptyIfNilStrings(x.Devices()))
	for _, d := range devices {
		want := s.Samples[d]
		st := x.Stats(d)
		require.Equal(t, len(want), st.Count, d)
		got := slices.Collect(x.Samples(d))
		require.NoError(t, x.Err())
		require.Equal(t, len(want), len(got), d)
		for i := range want {
			require.Equal(t, bitsOf(want[i]), bitsOf(got[i]), "%s sample %d", d, i)
		}
		if len(want) > 0 {
			assert.Equal(t, want[0].T, st.First)
			assert.Equal(t, want[len(want)-1].T, st.Last)
			width, lo, hi := 0, want[0].T, want[0].T
			for _, smp := range want {
				width, lo, hi = max(width, smp.N), min(lo, smp.T), max(hi, smp.T)
			}
			assert.Equal(t, SampleStats{Count: len(want), Width: width, First: want[0].T, Last: want[len(want)-1].T, Min: lo, Max: hi}, st)
		}
	}
	assert.Empty(t, slices.Collect(x.Samples("no such device")))
}

// bitsOf compares samples bit for bit (NaN too).
func bitsOf(s sensors.Sample) [5 + sensors.MaxChannels]any {
	var out [5 + sensors.MaxChannels]any
	out[0], out[1], out[2], out[3], out[4] = s.Device, s.T, s.Seq, s.N, s.Arrival
	for i, v := range s.Values {
		out[5+i] = math.Float64bits(v)
	}
	return out
}

func emptyIfNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// longFixture records n seconds of a 1 kHz two-channel device, a 1 Hz one
// announced late, and events, with the sync loop cutting batches short as
// in a live session.
func longFixture(t *testing.T, seconds int) string {
	t.Helper()
	w := newTestWriter(t, testMeta())
	var msgs []bus.Msg
	st := sensors.Stream{Device: "oxi", Kind: "cms50", Rate: 1, Channels: []sensors.Channel{{Label: "hr"}}}
	msgs = append(msgs, bus.Msg{Stream: &st})
	for i := 0; i < seconds*1000; i++ {
		at := time.Duration(i|3)*time.Millisecond + 3*time.Millisecond // bursts of four
		s := &sensors.Sample{Device: "bitalino", T: at, Seq: uint32(i & 15), N: 2}
		s.Values[0], s.Values[1] = float64(i)/7, -float64(i%100)
		msgs = append(msgs, bus.Msg{Sample: s})
		if i%1000 == 0 {
			o := &sensors.Sample{Device: "oxi", T: at, Seq: uint32(i / 1000), N: 1}
			o.Values[0] = 70
			e := ev("marker", -1, at, map[string]any{"text": "m", "by": "therapist"})
			msgs = append(msgs, bus.Msg{Sample: o}, bus.Msg{Event: &e})
		}
	}
	require.NoError(t, playThroughBus(t, w, msgs))
	require.NoError(t, w.Close())
	return w.Dir()
}

// TestIndexAgreesWithOpen: on a whole session, a torn one and one with a
// corrupt region, the Index and its cursors give what Open gives.
func TestIndexAgreesWithOpen(t *testing.T) {
	src := longFixture(t, 30)
	data, err := os.ReadFile(filepath.Join(src, DataFile))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		dir  string
		mod  func([]byte) []byte
	}{
		{"golden", "testdata/golden", nil},
		{"whole", src, nil},
		{"torn tail", src, func(b []byte) []byte { return b[:len(b)*2/3] }},
		{"corrupt regions", src, func(b []byte) []byte {
			c := append([]byte(nil), b...)
			for _, at := range []int{len(c) / 5, len(c) / 2, len(c)/2 + 9000} {
				for i := at; i < at+50; i++ {
					c[i] ^= 0x5a
				}
			}
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir
			if tc.mod != nil {
				dir = copySession(t, src)
				require.NoError(t, os.WriteFile(filepath.Join(dir, DataFile), tc.mod(data), 0o640))
			}
			s, err := Open(dir)
			require.NoError(t, err)
			x, err := OpenIndex(dir)
			require.NoError(t, err)
			defer x.Close()
			if tc.mod != nil {
				require.NotNil(t, x.Recovered)
			}
			requireSameAsOpen(t, s, x)
		})
	}
}

// TestCursorSeek: Seek lands on the first sample at or after t, in
// recorded order, for any t, also where time stamps step back.
func TestCursorSeek(t *testing.T) {
	w := newTestWriter(t, testMeta(), noTicks)
	var msgs []bus.Msg
	var want []sensors.Sample
	for i := 0; i < 80_000; i++ {
		at := time.Duration(i) * time.Millisecond
		if i >= 39000 && i < 39500 {
			at -= 3 * time.Second // a clock that stepped back
		}
		s := sensors.Sample{Device: "bitalino", T: at, Seq: uint32(i), N: 1}
		s.Values[0] = float64(i)
		want = append(want, s)
		msgs = append(msgs, bus.Msg{Sample: &want[len(want)-1]})
	}
	require.NoError(t, playThroughBus(t, w, msgs))
	require.NoError(t, w.Close())
	x, err := OpenIndex(w.Dir())
	require.NoError(t, err)
	defer x.Close()
	require.Greater(t, len(x.devices["bitalino"].marks), 2, "the test spans several marks")

	c := x.Cursor("bitalino")
	rng := rand.New(rand.NewPCG(1, 2))
	times := []time.Duration{-time.Hour, 0, 1, 38999 * time.Millisecond, 39 * time.Second, 36 * time.Second, 79999 * time.Millisecond, 80 * time.Second, time.Hour}
	for range 100 {
		times = append(times, time.Duration(rng.Int64N(int64(81*time.Second))))
	}
	for _, at := range times {
		first := len(want)
		for i, s := range want {
			if s.T >= at {
				first = i
				break
			}
		}
		c.Seek(at)
		for k := first; k < min(first+3, len(want)); k++ {
			require.True(t, c.Next(), "seek %v", at)
			require.Equal(t, want[k], *c.Sample(), "seek %v, sample %d", at, k)
			require.Equal(t, k, c.Pos())
		}
		if first == len(want) {
			require.False(t, c.Next(), "seek %v: past the end", at)
		}
		require.NoError(t, c.Err())
	}
	// Seeking back to the start reads everything again.
	c.Seek(-time.Hour)
	n := 0
	for c.Next() {
		n++
	}
	require.Equal(t, len(want), n)
}

// TestCursorNoticesAChangedFile: the index belongs to the file as it was;
// a record rewritten since is an error, not other data.
func TestCursorNoticesAChangedFile(t *testing.T) {
	dir := copySession(t, longFixture(t, 3))
	x, err := OpenIndex(dir)
	require.NoError(t, err)
	defer x.Close()
	data, err := os.ReadFile(filepath.Join(dir, DataFile))
	require.NoError(t, err)
	at := bytes.Index(data, []byte(`{"k":"samples","device":"bitalino"`)) + 60
	data[at] ^= 1
	require.NoError(t, os.WriteFile(filepath.Join(dir, DataFile), data, 0o640))
	c := x.Cursor("bitalino")
	for c.Next() {
	}
	require.Error(t, c.Err())
	assert.Contains(t, c.Err().Error(), "changed since it was indexed")
	for range x.Samples("bitalino") {
	}
	require.Error(t, x.Err())
}

// TestIndexOfAForeignWriter: records in valid JSON but not in the writer's
// own form (spacing, escapes, key order, a repeated key) are read the slow
// way, to the same samples.
func TestIndexOfAForeignWriter(t *testing.T) {
	var data []byte
	data = append(data, magic...)
	for _, p := range []string{
		`{"k":"samples","device":"a\u0062","n":1,"t":[1,2],"seq":[1,2],"v":[[1,2]]}`,
		`{ "k" : "samples", "device":"ab", "n":1, "t":[3], "seq":[3], "v":[[3]] }`,
		`{"k":"samples","device":"abc","n":1,"t":[4],"seq":[4],"v":[[4]]}`,
		`{"device":"ab","k":"samples","n":1,"t":[5],"seq":[5],"v":[[5]]}`,
		`{"k":"samples","device":"ab","n":1,"t":[6],"seq":[6],"v":[[6]]}`,
		// JSON keeps the last of two keys: this record is ab's.
		`{"k":"samples","device":"abc","device":"ab","n":1,"t":[7],"seq":[7],"v":[[7]]}`,
	} {
		var start int
		data, start = beginFrame(data)
		data = append(data, p...)
		data = endFrame(data, start)
	}
	s := &Session{Samples: map[string][]sensors.Sample{}}
	require.NoError(t, readData(single(bytes.NewReader(data), int64(len(data)), "data.rec"), s))
	x, err := indexData(single(bytes.NewReader(data), int64(len(data)), "data.rec"), 0)
	require.NoError(t, err)
	require.Len(t, s.Samples["ab"], 6)
	requireSameAsOpen(t, s, x)
}

// TestRecordedData: an event is kept typed, and its data object as
// data.rec holds it is still there for exports — a recording by an earlier
// version that lacks a field the payload type writes, or by a newer one
// with a field it does not know — while data recorded as the payload
// encodes is not kept twice.
func TestRecordedData(t *testing.T) {
	var data []byte
	data = append(data, magic...)
	payloads := []string{
		`{"k":"event","t":1,"wall":"2025-01-31T14:25:00Z","kind":"session_start","step":-1,"data":{"steps":2,"title":"x"}}`,
		`{"k":"event","t":2,"wall":"2025-01-31T14:25:00Z","kind":"marker","step":0,"data":{"by":"therapist","text":"a <b> & c"}}`,
		`{"k":"event","t":3,"wall":"2025-01-31T14:25:00Z","kind":"marker","step":0,"data":{"by":"therapist","text":"hi"}}`,
		`{"k":"event","t":4,"wall":"2025-01-31T14:25:00Z","kind":"step_end","step":0}`,
		`{"k":"event","t":5,"wall":"2025-01-31T14:25:00Z","kind":"cue_onset","step":0,"data":{"channel":"visual","cue":"a","file":"f","modality":"image","new_field":1}}`,
	}
	for _, p := range payloads {
		var start int
		data, start = beginFrame(data)
		data = append(data, p...)
		data = endFrame(data, start)
	}
	want := []string{
		`{"steps":2,"title":"x"}`,
		`{"by":"therapist","text":"a \u003cb\u003e \u0026 c"}`, // as the recorder escapes it
		`{"by":"therapist","text":"hi"}`,
		"",
		`{"channel":"visual","cue":"a","file":"f","modality":"image","new_field":1}`,
	}
	data = bytes.Replace(data, []byte("a <b> & c"), []byte(`a \u003cb\u003e \u0026 c`), 1)
	// The checksum covers the payload: rebuild the frame that was edited.
	data = reframe(t, data)

	s := &Session{Samples: map[string][]sensors.Sample{}}
	require.NoError(t, readData(single(bytes.NewReader(data), int64(len(data)), "data.rec"), s))
	s.rec.done(s.Events)
	x, err := indexData(single(bytes.NewReader(data), int64(len(data)), "data.rec"), 0)
	require.NoError(t, err)
	requireSameAsOpen(t, s, x)
	require.Len(t, x.Events, len(want))
	for i, w := range want {
		got, ok := x.RecordedData(i)
		require.True(t, ok)
		assert.Equal(t, w, string(got), "event %d", i)
		var plain event.Event
		require.NoError(t, json.Unmarshal([]byte("{"+payloads[i][len(`{"k":"event",`):]), &plain))
		assert.Equal(t, plain.Data, x.Events[i].Data, "event %d reads as it would alone", i)
	}
	require.NotNil(t, x.rec.data, "data that differs from its payload's encoding is kept")
	assert.True(t, isAsTyped(x.rec.data[2]), "data recorded as its payload encodes is not kept twice")

	// A Session whose events were changed no longer knows.
	s.Events = s.Events[1:]
	_, ok := s.RecordedData(0)
	assert.False(t, ok)
	_, ok = (&Session{}).RecordedData(0)
	assert.False(t, ok)
}

// reframe rewrites every frame's length and checksum after its payload was
// edited in place (payloads are found by their prefix).
func reframe(t *testing.T, data []byte) []byte {
	t.Helper()
	out := append([]byte(nil), magic...)
	rest := data[len(magic):]
	for len(rest) > 0 {
		next := bytes.Index(rest[frameHeader+1:], []byte(recordPrefix))
		end := len(rest)
		if next >= 0 {
			end = next + 1
		}
		var start int
		out, start = beginFrame(out)
		out = append(out, rest[frameHeader:end]...)
		out = endFrame(out, start)
		rest = rest[end:]
	}
	return out
}

// TestCursorsInParallel: one Index serves cursors on several goroutines.
func TestCursorsInParallel(t *testing.T) {
	dir := longFixture(t, 5)
	s, err := Open(dir)
	require.NoError(t, err)
	x, err := OpenIndex(dir)
	require.NoError(t, err)
	defer x.Close()
	errs := make(chan error, 4)
	for g := range 4 {
		go func() {
			dev := []string{"bitalino", "oxi"}[g%2]
			n := 0
			for smp := range x.Samples(dev) {
				if smp != s.Samples[dev][n] {
					errs <- fmt.Errorf("%s sample %d differs", dev, n)
					return
				}
				n++
			}
			if n != len(s.Samples[dev]) {
				errs <- fmt.Errorf("%s: %d samples, want %d", dev, n, len(s.Samples[dev]))
				return
			}
			errs <- nil
		}()
	}
	for range 4 {
		require.NoError(t, <-errs)
	}
	require.NoError(t, x.Err())
}

// TestSharedEventsReadAsAlone: the readers share equal payloads and
// strings between events; every event still reads as it does decoded on
// its own.
func TestSharedEventsReadAsAlone(t *testing.T) {
	w := newTestWriter(t, testMeta(), noTicks)
	var msgs []bus.Msg
	for i := range 40 {
		at := time.Duration(i) * time.Second
		for _, e := range []event.Event{
			event.New(at, i, event.CueOnset{Cue: "beer.c1", Channel: "visual", Modality: "image", File: "beer.jpg"}),
			event.New(at, i, event.Rating{Scale: "craving", Value: event.Int(i % 3), Answered: true, PromptT: 1}),
			event.New(at, i, event.Quality{Device: "bitalino", Channel: "eda", Flags: []string{"flat"}}),
			event.New(at, i, event.StepEnd{ID: "s", Reason: "duration"}),
		} {
			msgs = append(msgs, bus.Msg{Event: &e})
		}
	}
	require.NoError(t, playThroughBus(t, w, msgs))
	require.NoError(t, w.Close())
	data, err := os.ReadFile(filepath.Join(w.Dir(), DataFile))
	require.NoError(t, err)
	var alone []event.Event
	for _, off := range frames(t, data)[:len(msgs)] {
		n := binary.LittleEndian.Uint32(data[off:])
		p := data[off+frameHeader : off+frameHeader+int64(n)]
		var e event.Event
		require.NoError(t, json.Unmarshal(append([]byte("{"), p[len(`{"k":"event",`):]...), &e))
		alone = append(alone, e)
	}
	s, err := Open(w.Dir())
	require.NoError(t, err)
	x, err := OpenIndex(w.Dir())
	require.NoError(t, err)
	defer x.Close()
	assert.Equal(t, alone, s.Events)
	assert.Equal(t, alone, x.Events)
}

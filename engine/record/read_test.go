package record

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cueroom/cueroom/event"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

// recordedEvents writes a closed session holding only events, one record
// each, so record k is event k.
func recordedEvents(t *testing.T, n int) (string, []event.Event) {
	t.Helper()
	w := newTestWriter(t, testMeta(), noTicks)
	var events []event.Event
	var msgs []bus.Msg
	for i := 0; i < n; i++ {
		e := ev(event.KindRating, i, time.Duration(i)*time.Second, map[string]any{"craving": float64(i % 10)})
		events = append(events, e)
		msgs = append(msgs, bus.Msg{Event: &e})
	}
	require.NoError(t, playThroughBus(t, w, msgs))
	require.NoError(t, w.Close())
	return w.Dir(), events
}

// copySession copies a session folder so each case damages its own copy.
func copySession(t *testing.T, dir string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(dir))
	require.NoError(t, os.CopyFS(dst, os.DirFS(dir)))
	return dst
}

func TestTornTail(t *testing.T) {
	src, events := recordedEvents(t, 20)
	data, err := os.ReadFile(filepath.Join(src, DataFile))
	require.NoError(t, err)
	offs := frames(t, data) // offs[k] is where record k starts
	require.Len(t, offs, 21)

	for _, tc := range []struct {
		name  string
		size  int64
		whole int // whole records left
	}{
		{"one byte short", offs[20] - 1, 19},
		{"inside the last header", offs[19] + 3, 19},
		{"just after the last header", offs[19] + 8, 19},
		{"mid-file cut", offs[7] + 30, 7},
		{"only the magic", 8, 0},
		{"inside the magic", 5, 0},
		{"empty file", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copySession(t, src)
			path := filepath.Join(dir, DataFile)
			require.NoError(t, os.Truncate(path, tc.size))

			s, err := Open(dir)
			require.NoError(t, err, "a torn tail is not an error")
			assert.Equal(t, events[:tc.whole], emptyIfNil(s.Events))
			assert.Equal(t, tc.whole, s.Records)
			goodEnd := min(offs[tc.whole], tc.size)
			if tc.size < 8 {
				goodEnd = 0 // the header itself is torn
			}
			if tc.size == goodEnd && tc.size >= 8 {
				assert.Nil(t, s.Recovered, "a cut at a record boundary loses nothing")
				return
			}
			require.NotNil(t, s.Recovered)
			r := s.Recovered
			assert.Equal(t, tc.size-goodEnd, r.TornBytes)
			assert.Equal(t, goodEnd, r.Offset)
			assert.Zero(t, r.Skipped)
			assert.Equal(t, tc.whole, r.Records)
			assert.Contains(t, r.Note, fmt.Sprintf("data.rec byte %d: torn tail", goodEnd))
			assert.Contains(t, r.Note, "Repair")

			rep, err := Repair(dir)
			require.NoError(t, err)
			require.NotNil(t, rep)
			assert.Equal(t, r.TornBytes, rep.TornBytes)
			st, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, max(goodEnd, 8), st.Size(), "the tail is cut at the last whole record")

			again, err := Open(dir)
			require.NoError(t, err)
			assert.Nil(t, again.Recovered)
			assert.Equal(t, events[:tc.whole], emptyIfNil(again.Events))
			require.Len(t, again.Notes, 1)
			assert.Contains(t, again.Notes[0], "repair: ")
			assert.Contains(t, again.Notes[0], fmt.Sprintf("cut data.rec at byte %d", goodEnd))
			assert.Equal(t, testMeta().Title, again.Meta.Title, "session.json keeps its other fields")
			assert.True(t, again.Complete)

			rep, err = Repair(dir)
			require.NoError(t, err)
			assert.Nil(t, rep, "nothing left to repair")
		})
	}
}

func emptyIfNil(e []event.Event) []event.Event {
	if len(e) == 0 {
		return []event.Event{}
	}
	return e
}

func TestFlippedByte(t *testing.T) {
	src, events := recordedEvents(t, 20)
	data, err := os.ReadFile(filepath.Join(src, DataFile))
	require.NoError(t, err)
	offs := frames(t, data)

	for _, tc := range []struct {
		name   string
		rec    int   // the damaged record
		at     int64 // byte within it
		reason string
	}{
		{"payload of a middle record", 9, 40, "checksum mismatch"},
		{"length grows", 9, 1, "frame length"},
		{"length high byte", 9, 3, "impossible frame length"},
		{"checksum field", 9, 5, "checksum mismatch"},
		{"first record", 0, 20, "checksum mismatch"},
		{"last record", 19, 20, "checksum mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copySession(t, src)
			bad := append([]byte(nil), data...)
			bad[offs[tc.rec]+tc.at] ^= 0x40
			require.NoError(t, os.WriteFile(filepath.Join(dir, DataFile), bad, 0o640))

			s, err := Open(dir)
			require.NoError(t, err)
			want := append(append([]event.Event(nil), events[:tc.rec]...), events[tc.rec+1:]...)
			assert.Equal(t, want, s.Events, "every record but the damaged one is read")
			require.NotNil(t, s.Recovered)
			r := s.Recovered
			assert.Equal(t, offs[tc.rec], r.Offset)
			assert.Contains(t, r.Note, fmt.Sprintf("data.rec byte %d: ", offs[tc.rec]))
			assert.Contains(t, r.Note, tc.reason)
			assert.Equal(t, 19, r.Records)
			size := offs[tc.rec+1] - offs[tc.rec]
			if tc.rec == 19 {
				// Nothing good follows, so it is indistinguishable from a torn write.
				assert.Equal(t, size, r.TornBytes)
				return
			}
			assert.Equal(t, size, r.Skipped)
			assert.Zero(t, r.TornBytes)

			// Repair leaves mid-file damage alone but notes it.
			rep, err := Repair(dir)
			require.NoError(t, err)
			require.NotNil(t, rep)
			after, err := os.ReadFile(filepath.Join(dir, DataFile))
			require.NoError(t, err)
			assert.Equal(t, bad, after)
			again, err := Open(dir)
			require.NoError(t, err)
			require.Len(t, again.Notes, 1)
			assert.Contains(t, again.Notes[0], "left in place")
		})
	}
}

func TestValidFrameWithUnusablePayload(t *testing.T) {
	for _, tc := range []struct {
		name, payload, reason string
	}{
		{"not JSON", `{"k":"event",`, "unexpected end of JSON"},
		{"unknown kind", `{"k":"video","x":1}`, `unknown kind "video"`},
		{"ragged columns", `{"k":"samples","device":"d","n":1,"t":[1,2],"seq":[1,2],"v":[[0.5]]}`, "column 0 has 1 values for 2 times"},
		{"too many channels", `{"k":"samples","device":"d","n":9,"t":[],"seq":[],"v":[]}`, "9 channels"},
		{"seq count", `{"k":"samples","device":"d","n":0,"t":[1],"seq":[],"v":[]}`, "1 times but 0 sequence numbers"},
		{"value not a number", `{"k":"samples","device":"d","n":1,"t":[1],"seq":[1],"v":[["x"]]}`, "not a number"},
		{"event with wrong types", `{"k":"event","step":"two"}`, "cannot unmarshal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, events := recordedEvents(t, 2)
			good := encodeEvent(ev(event.KindMarker, 99, 5*time.Second, nil))
			f, err := os.OpenFile(filepath.Join(dir, DataFile), os.O_WRONLY|os.O_APPEND, 0)
			require.NoError(t, err)
			st, err := f.Stat()
			require.NoError(t, err)
			var buf []byte
			for _, p := range [][]byte{[]byte(tc.payload), good} {
				var start int
				buf, start = beginFrame(buf)
				buf = append(buf, p...)
				buf = endFrame(buf, start)
			}
			_, err = f.Write(buf)
			require.NoError(t, err)
			require.NoError(t, f.Close())

			s, err := Open(dir)
			require.NoError(t, err)
			require.Len(t, s.Events, 3, "the good record after the bad one is read")
			assert.Equal(t, events, s.Events[:2])
			assert.Equal(t, 99, s.Events[2].Step)
			require.NotNil(t, s.Recovered)
			assert.Equal(t, st.Size(), s.Recovered.Offset)
			assert.Equal(t, int64(8+len(tc.payload)), s.Recovered.Skipped)
			assert.Equal(t, 3, s.Records)
			assert.Contains(t, s.Recovered.Note, tc.reason)
		})
	}
}

func TestNotASession(t *testing.T) {
	valid, _ := recordedEvents(t, 1)
	for _, tc := range []struct {
		name  string
		setup func(dir string)
		want  []string
	}{
		{"empty folder", func(string) {}, []string{"not a session folder"}},
		{"foreign files", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/foreign")))
		}, []string{"not a session folder"}},
		{"foreign JSON", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS(valid)))
			require.NoError(t, os.WriteFile(filepath.Join(dir, MetaFile), []byte(`{"name":"x"}`), 0o640))
		}, []string{"session.json byte 0", "not a cueroom session"}},
		{"broken JSON", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS(valid)))
			require.NoError(t, os.WriteFile(filepath.Join(dir, MetaFile), []byte(`{"format": "cueroom-session/1",}`), 0o640))
		}, []string{"session.json byte 32", "not valid JSON", "fix it by hand"}},
		{"wrong type", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS(valid)))
			require.NoError(t, os.WriteFile(filepath.Join(dir, MetaFile), []byte(`{"format": 3}`), 0o640))
		}, []string{"session.json byte 12", `field "format"`}},
		{"zip as data", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS(valid)))
			require.NoError(t, os.WriteFile(filepath.Join(dir, DataFile), []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), 0o640))
		}, []string{"data.rec byte 0", "not a cueroom recording"}},
		{"other version", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS(valid)))
			require.NoError(t, os.WriteFile(filepath.Join(dir, DataFile), []byte("CUEREC2\n"), 0o640))
		}, []string{"data.rec byte 6", `"CUEREC2\n"`}},
		{"no data", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS(valid)))
			require.NoError(t, os.Remove(filepath.Join(dir, DataFile)))
		}, []string{"data.rec does not", "interrupted while being created"}},
		{"no metadata", func(dir string) {
			require.NoError(t, os.CopyFS(dir, os.DirFS(valid)))
			require.NoError(t, os.Remove(filepath.Join(dir, MetaFile)))
		}, []string{"session.json is missing", "restore it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "s")
			require.NoError(t, os.Mkdir(dir, 0o750))
			tc.setup(dir)
			before := snapshot(t, dir)
			for name, fn := range map[string]func(string) error{
				"Open":   func(d string) error { _, err := Open(d); return err },
				"Repair": func(d string) error { _, err := Repair(d); return err },
			} {
				err := fn(dir)
				require.Error(t, err, name)
				for _, w := range tc.want {
					assert.Contains(t, err.Error(), w, name)
				}
			}
			assert.Equal(t, before, snapshot(t, dir), "a foreign folder is never modified")
		})
	}
}

func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestGolden reads a session written by an earlier build, so a format
// change that would make old recordings unreadable fails here.
func TestGolden(t *testing.T) {
	const dir = "testdata/golden"
	if *update {
		require.NoError(t, os.RemoveAll(dir))
		w, err := Create(t.TempDir(), testMeta(), protoSrc, noTicks, fixedEnd)
		require.NoError(t, err)
		require.NoError(t, playThroughBus(t, w, goldenMsgs()))
		require.NoError(t, w.Close())
		require.NoError(t, os.CopyFS(dir, os.DirFS(w.Dir())))
	}
	s, err := Open(dir)
	require.NoError(t, err)
	assert.Nil(t, s.Recovered)
	assert.True(t, s.Complete)
	assert.Equal(t, 4, s.Records)
	require.Len(t, s.Events, 2)
	assert.Equal(t, event.KindCueOnset, s.Events[0].Kind())
	assert.Equal(t, 1500*time.Millisecond, s.Events[0].T)
	assert.Equal(t, event.CueOnset{Cue: "beer.jpg"}, s.Events[0].Data, "an event recorded before typed events reads as its type")
	assert.Equal(t, "bitalino", s.Streams[0].Device)
	require.Len(t, s.Samples["bitalino"], 3)
	assert.Equal(t, sensors.Sample{Device: "bitalino", T: 2 * time.Millisecond, Seq: 2, N: 2, Values: [sensors.MaxChannels]float64{0.25, -1.5}}, s.Samples["bitalino"][2])
	assert.Equal(t, "alcohol", s.Meta.Substance)

	raw, err := os.ReadFile(filepath.Join(dir, MetaFile))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m))
	assert.Equal(t, "cueroom-session/1", m["format"])
}

func goldenMsgs() []bus.Msg {
	st := testMeta().Streams[0]
	on := ev(event.KindCueOnset, 1, 1500*time.Millisecond, map[string]any{"cue": "beer.jpg"})
	off := ev(event.KindCueOffset, 1, 2500*time.Millisecond, nil)
	msgs := []bus.Msg{{Stream: &st}, {Event: &on}}
	for i := 0; i < 3; i++ {
		s := sensors.Sample{Device: "bitalino", T: time.Duration(i) * time.Millisecond, Seq: uint32(i), N: 2,
			Values: [sensors.MaxChannels]float64{float64(i) / 8, -1.5}}
		msgs = append(msgs, bus.Msg{Sample: &s})
	}
	return append(msgs, bus.Msg{Event: &off})
}

// TestResyncAcrossLargeDamage: a damaged region longer than the reader's
// search window, full of look-alike record starts, is skipped and the
// record after it is found wherever it falls relative to the window.
func TestResyncAcrossLargeDamage(t *testing.T) {
	const window = 64 << 10
	for _, junkLen := range []int{20, window - 4, window - 1, window, window + 1, window + 3, 3*window + 11} {
		t.Run(fmt.Sprint(junkLen), func(t *testing.T) {
			dir, events := recordedEvents(t, 2)
			path := filepath.Join(dir, DataFile)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			offs := frames(t, data)
			junk := make([]byte, junkLen)
			rng := rand.New(rand.NewPCG(1, uint64(junkLen)))
			for i := range junk {
				junk[i] = byte(rng.UintN(256))
			}
			for i := 9; i+len(recordPrefix) < junkLen; i += 997 {
				copy(junk[i:], recordPrefix) // look-alikes with nonsense headers
			}
			// event 0, junk, event 1
			damaged := append(append(append([]byte(nil), data[:offs[1]]...), junk...), data[offs[1]:]...)
			require.NoError(t, os.WriteFile(path, damaged, 0o640))

			s, err := Open(dir)
			require.NoError(t, err)
			assert.Equal(t, events, s.Events)
			require.NotNil(t, s.Recovered)
			assert.Equal(t, int64(junkLen), s.Recovered.Skipped)
			assert.Equal(t, offs[1], s.Recovered.Offset)
			assert.Zero(t, s.Recovered.TornBytes)
		})
	}
}

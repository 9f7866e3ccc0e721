package export

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/export/xdftest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// fuzzSeedSession is the golden session's shape in a few hundred bytes:
// small inputs keep the fuzzer's minimising quick.
func fuzzSeedSession(t testing.TB) *record.Session {
	streams := []sensors.Stream{
		{Device: "bitalino", Kind: "bitalino", Rate: 100, Channels: []sensors.Channel{{Label: "eda", Unit: "uS", Type: "EDA"}, {Label: "ecg", Unit: "mV", Type: "ECG"}}},
		{Device: "oxi", Kind: "cms50", Rate: 1, Channels: []sensors.Channel{{Label: "hr", Unit: "bpm"}}},
	}
	var msgs []bus.Msg
	for i := 0; i < 6; i++ {
		a := sensors.Sample{Device: "bitalino", T: time.Duration(i|1) * 10 * time.Millisecond, Seq: uint32(i), N: 2}
		a.Values[0], a.Values[1] = float64(i)/4, -float64(i)
		b := sensors.Sample{Device: "oxi", T: time.Duration(i) * time.Second, N: 1}
		b.Values[0] = 70
		msgs = append(msgs, bus.Msg{Sample: &a}, bus.Msg{Sample: &b})
	}
	cue := event.Cue{Cue: "s.c1", Channel: "visual", Modality: "image", File: "media/bottle.png"}
	msgs = append(msgs,
		ev(0, -1, event.SessionStart{}),
		ev(ms(10), 0, event.StepStart{ID: "s", Intensity: 2}),
		ev(ms(20), 0, event.CueOnset(cue)),
		ev(ms(30), 0, event.Rating{Value: event.Int(5), Answered: true, PromptT: 0.01}),
		ev(ms(40), 0, event.CueOffset(cue)),
		ev(ms(50), 0, event.StepEnd{}),
		ev(ms(60), 0, event.SessionEnd{}))
	manifest := []map[string]any{{"id": "s.c1", "modality": "image", "file": "media/bottle.png", "sha256": sha("bottle picture")}}
	return makeSession(t, record.Meta{Title: "f", Start: goldenStart, Streams: streams, Manifest: manifest}, msgs)
}

// FuzzExport feeds damaged and hostile session folders (session.json and
// data.rec are the untrusted input: device names, channel lists, rates,
// time stamps, event data and the cue manifest all come from them) through
// every format. Whatever record.OpenIndex accepts must export without a
// panic, and the XDF must read back with every sample and event that
// record.Open reads.
func FuzzExport(f *testing.F) {
	s := fuzzSeedSession(f)
	meta, err := os.ReadFile(filepath.Join(s.Dir, record.MetaFile))
	require.NoError(f, err)
	data, err := os.ReadFile(filepath.Join(s.Dir, record.DataFile))
	require.NoError(f, err)
	f.Add(meta, data)
	f.Add(meta, data[:len(data)/2])
	f.Add(meta, []byte("CUEREC1\n"))
	f.Add([]byte(`{"format":"cueroom-session/1","streams":[{"device":"../x","rate":1e300,"channels":[{},{},{},{},{},{},{},{},{},{}]}],"manifest":{"not":"a list"}}`), []byte("CUEREC1\n"))
	f.Add([]byte(`{"format":"cueroom-session/1","manifest":[null,{"id":7,"file":"../../etc/passwd","sha256":"00"}]}`), data)

	f.Fuzz(func(t *testing.T, meta, data []byte) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, record.MetaFile), meta, 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, record.DataFile), data, 0o600))
		s, err := record.Open(dir)
		if err != nil {
			return // not a session: record's own fuzzing covers the message
		}
		idx, err := record.OpenIndex(dir)
		require.NoError(t, err)
		defer idx.Close()
		for _, format := range Formats {
			o := Options{Format: format, Stimuli: goldenOptions(BIDS).Stimuli}
			require.NoError(t, o.check())
			// In memory: the same writers, thousands of times faster than
			// the disk, so the fuzzer explores instead of waiting.
			v := indexView(idx)
			mem := memDest{}
			v.dst = mem
			out := "out"
			if format == XDF {
				out += ".xdf"
			}
			require.NoError(t, v.write(out, o, &Result{}), "format %s", format)
			if format != XDF {
				require.NotEmpty(t, mem)
				continue
			}
			x, err := xdftest.Read(mem[out].Bytes())
			require.NoError(t, err)
			require.Len(t, x.Order, len(v.devices)+1)
			for i, d := range v.devices {
				require.Len(t, x.Streams[uint32(i+1)].Times, len(s.Samples[d.stream.Device]))
			}
			require.Len(t, x.Streams[uint32(len(v.devices)+1)].Strings, len(s.Events))
		}
	})
}

// memDest keeps an export's files in memory.
type memDest map[string]*bytes.Buffer

type memFile struct{ *bytes.Buffer }

func (memFile) Close() error { return nil }

func (m memDest) create(path string) (io.WriteCloser, error) {
	if m[path] != nil {
		return nil, fmt.Errorf("%s %w", path, ErrExists)
	}
	m[path] = &bytes.Buffer{}
	return memFile{m[path]}, nil
}
func (m memDest) mkdirAll(string) error { return nil }
func (m memDest) remove(path string)    { delete(m, path) }

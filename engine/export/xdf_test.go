package export

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/export/xdftest"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// TestXDFReadsBack reads each export with the spec-written reader and
// checks it holds the session exactly: every sample's time stamp and
// values, every event, the channels, and LabRecorder's chunk layout.
func TestXDFReadsBack(t *testing.T) {
	wide := sensors.Stream{Device: "wide", Kind: "test", Rate: 10,
		Channels: []sensors.Channel{{Label: "a", Unit: "mV", Type: "ECG"}}}
	irregular := sensors.Stream{Device: "beats", Kind: "test", Rate: 0,
		Channels: []sensors.Channel{{Label: "ibi", Unit: "ms", Type: "IBI"}}}
	for _, tc := range []struct {
		name string
		s    func(t *testing.T) *record.Session
	}{
		{"golden", func(t *testing.T) *record.Session { return goldenSession(t) }},
		{"no samples, no events", func(t *testing.T) *record.Session {
			return makeSession(t, record.Meta{Title: "empty", Start: goldenStart, Streams: []sensors.Stream{wide}}, nil)
		}},
		{"samples wider than the description, an irregular stream, an undescribed device", func(t *testing.T) *record.Session {
			var msgs []bus.Msg
			for i := 0; i < 30; i++ {
				s := sensors.Sample{Device: "wide", T: time.Duration(i) * 100 * time.Millisecond, N: 1 + i%3}
				for c := 0; c < s.N; c++ {
					s.Values[c] = float64(i*10 + c)
				}
				msgs = append(msgs, bus.Msg{Sample: &s})
				b := sensors.Sample{Device: "beats", T: time.Duration(i*i) * 7 * time.Millisecond, N: 1}
				b.Values[0] = 800 + float64(i)
				msgs = append(msgs, bus.Msg{Sample: &b})
				u := sensors.Sample{Device: "mystery", T: time.Duration(i) * time.Second, N: 2}
				u.Values[0], u.Values[1] = math.Inf(1), -0.0
				msgs = append(msgs, bus.Msg{Sample: &u})
			}
			msgs = append(msgs, ev(25*time.Second, -1, event.Marker{Text: "<&>\x00 not XML-safe"}))
			return makeSession(t, record.Meta{Title: "odd <streams> & more", Start: goldenStart,
				Streams: []sensors.Stream{wide, irregular}}, msgs)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s(t)
			out, _ := exportTo(t, s, Options{Format: XDF})
			x := readXDFFile(t, out)
			v := sessionView(s)

			assert.Equal(t, `<?xml version="1.0"?><info><version>1.0</version></info>`, x.FileHeader)
			require.Len(t, x.Order, len(v.devices)+1, "a stream per device and the markers")
			checkLayout(t, x)

			for i, d := range v.devices {
				st := x.Streams[uint32(i+1)]
				require.NotNil(t, st)
				assert.Equal(t, d.stream.Device, st.Info.Name)
				assert.Equal(t, "double64", st.Info.ChannelFormat)
				assert.Equal(t, d.n, st.Info.ChannelCount)
				require.Len(t, st.Info.Channels, d.n)
				for c, ch := range d.stream.Channels {
					assert.Equal(t, ch.Label, st.Info.Channels[c].Label)
					assert.Equal(t, ch.Unit, st.Info.Channels[c].Unit)
					assert.Equal(t, ch.Type, st.Info.Channels[c].Type)
				}
				if d.regular() {
					assert.Equal(t, d.stream.Rate, st.Info.NominalSrate)
				} else {
					assert.Zero(t, st.Info.NominalSrate, "irregular")
				}
				samples := s.Samples[d.stream.Device]
				require.Len(t, st.Times, len(samples))
				for j, smp := range samples {
					require.Equal(t, float64(smp.T)/1e9, st.Times[j], "sample %d time", j)
					for c := 0; c < d.n; c++ {
						want := math.NaN()
						if c < smp.N {
							want = smp.Values[c]
						}
						got := st.Values[j][c]
						if math.IsNaN(want) {
							require.True(t, math.IsNaN(got), "sample %d channel %d: want NaN, got %v", j, c, got)
						} else {
							require.Equal(t, math.Float64bits(want), math.Float64bits(got), "sample %d channel %d", j, c)
						}
					}
				}
				checkFooter(t, st)
			}

			m := x.Streams[uint32(len(v.devices)+1)]
			require.NotNil(t, m)
			assert.Equal(t, MarkerStream, m.Info.Name)
			assert.Equal(t, "Markers", m.Info.Type)
			assert.Equal(t, "string", m.Info.ChannelFormat)
			assert.Equal(t, 1, m.Info.ChannelCount)
			assert.Zero(t, m.Info.NominalSrate)
			require.Len(t, m.Strings, len(s.Events))
			for j, e := range s.Events {
				var got struct {
					Kind string         `json:"kind"`
					Step int            `json:"step"`
					Data map[string]any `json:"data"`
				}
				require.NoError(t, json.Unmarshal([]byte(m.Strings[j][0]), &got), "marker %d: %s", j, m.Strings[j][0])
				assert.Equal(t, string(e.Kind()), got.Kind)
				assert.Equal(t, e.Step, got.Step)
				assert.Equal(t, normalise(t, event.Fields(e.Data)), normalise(t, got.Data))
				assert.Equal(t, float64(e.T)/1e9, m.Times[j])
			}
			checkFooter(t, m)
			assert.Equal(t, goldenStart.Format(time.RFC3339Nano), m.Info.SessionStart)
		})
	}
}

// normalise round-trips through JSON so numbers compare alike.
func normalise(t *testing.T, m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// checkLayout: the file header, then every stream header, then data,
// clock offsets and boundaries, then every footer — the order LabRecorder
// writes when all streams are there from the start.
func checkLayout(t *testing.T, x *xdftest.File) {
	t.Helper()
	n := len(x.Order)
	require.GreaterOrEqual(t, len(x.Tags), 1+2*n)
	for i := 1; i <= n; i++ {
		assert.EqualValues(t, tagStreamHeader, x.Tags[i], "chunk %d is a stream header", i)
	}
	for i := len(x.Tags) - n; i < len(x.Tags); i++ {
		assert.EqualValues(t, tagStreamFooter, x.Tags[i], "chunk %d is a footer", i)
	}
	for i := n + 1; i < len(x.Tags)-n; i++ {
		assert.Contains(t, []uint16{tagSamples, tagClockOffset, tagBoundary}, x.Tags[i], "chunk %d", i)
	}
}

// checkFooter: the footer agrees with the samples, and clock offsets come
// every 5 s, each listed in the footer too.
func checkFooter(t *testing.T, st *xdftest.Stream) {
	t.Helper()
	require.NotNil(t, st.Footer, "stream %s has a footer", st.Info.Name)
	assert.Equal(t, len(st.Times), st.Footer.SampleCount)
	if len(st.Times) > 0 {
		assert.Equal(t, st.Times[0], st.Footer.FirstTimestamp)
		assert.Equal(t, st.Times[len(st.Times)-1], st.Footer.LastTimestamp)
	}
	require.Len(t, st.Footer.Offsets, len(st.Offsets))
	for i, o := range st.Offsets {
		assert.Zero(t, o[1], "one clock for all streams")
		assert.InDelta(t, o[0], st.Footer.Offsets[i].Time, 1e-9)
		if i > 0 {
			assert.InDelta(t, 5.0, o[0]-st.Offsets[i-1][0], 1e-9, "every 5 s")
		}
	}
}

// TestXDFGoldenCadence pins the golden session's chunk counts: 0.5 s
// samples chunks, offsets every 5 s, a boundary every 10 s.
func TestXDFGoldenCadence(t *testing.T) {
	s := goldenSession(t)
	out, _ := exportTo(t, s, Options{Format: XDF})
	x := readXDFFile(t, out)
	// Data from 0.1 s (session start) to 10.2 s (the last bitalino sample).
	assert.Equal(t, 1, x.Boundaries, "a boundary at 10 s")
	for _, id := range x.Order {
		st := x.Streams[id]
		assert.Len(t, st.Offsets, 2, "%s: offsets at 5 s and 10 s", st.Info.Name)
	}
	bit := x.Streams[1]
	halves := map[int64]bool{}
	for _, smp := range s.Samples["bitalino"] {
		halves[int64(smp.T/(500*time.Millisecond))] = true
	}
	assert.Len(t, halves, 21, "0.233 s to 10.193 s")
	assert.Equal(t, len(halves), bit.Chunks, "bitalino: a chunk per half second that has samples")
	assert.Equal(t, "bitalino", bit.Info.Model)
	assert.Equal(t, []string{"eda_revision", "rate"}, []string{bit.Info.Settings[0].Name, bit.Info.Settings[1].Name})
	m := x.Streams[4]
	require.Len(t, m.Info.Cues, len(goldenManifest()), "the cue manifest rides in the marker stream's header")
	first := map[string]string{}
	for _, f := range m.Info.Cues[0].Fields {
		first[f.XMLName.Local] = f.Value
	}
	assert.Equal(t, "baseline.c1", first["id"])
	assert.Equal(t, sha("neutral picture"), first["sha256"])
}

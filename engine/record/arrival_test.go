package record

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/sensors"
)

// TestArrivalTimes: a sample's arrival time is recorded beside its device
// time when known, and read back by both readers (the fast path, cursors
// and seeks included); a record where none is known has no "arrival" key,
// as every record before arrival times were kept.
func TestArrivalTimes(t *testing.T) {
	w := newTestWriter(t, testMeta(), noTicks)
	var msgs []bus.Msg
	want := map[string][]sensors.Sample{}
	for i := 0; i < 500; i++ {
		at := time.Duration(i) * time.Millisecond
		for _, dev := range []string{"stamped", "unstamped", "mixed"} {
			s := sensors.Sample{Device: dev, T: at, Seq: uint32(i & 15), N: 1, Values: [sensors.MaxChannels]float64{float64(i)}}
			switch {
			case dev == "stamped":
				s.Arrival = at + 40*time.Millisecond - time.Duration(i%4)*time.Millisecond
			case dev == "mixed" && i%3 == 0:
				s.Arrival = at + 7*time.Millisecond
			}
			want[dev] = append(want[dev], s)
			msgs = append(msgs, bus.Msg{Sample: &s})
		}
	}
	require.NoError(t, playThroughBus(t, w, msgs))
	require.NoError(t, w.Close())

	s, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Nil(t, s.Recovered)
	for dev, ss := range want {
		assert.Equal(t, ss, s.Samples[dev], dev)
	}
	x, err := OpenIndex(w.Dir())
	require.NoError(t, err)
	defer x.Close()
	requireSameAsOpen(t, s, x)
	c := x.Cursor("stamped")
	c.Seek(321 * time.Millisecond)
	require.True(t, c.Next())
	assert.Equal(t, want["stamped"][321], *c.Sample())

	data, err := os.ReadFile(filepath.Join(w.Dir(), DataFile))
	require.NoError(t, err)
	offs := frames(t, data)
	for k := 0; k+1 < len(offs); k++ {
		p := data[offs[k]+frameHeader : offs[k+1]]
		r, ok := parseSamplesFast(p)
		require.True(t, ok, "the writer's own form: %.80s", p)
		switch r.Device {
		case "unstamped":
			assert.False(t, bytes.Contains(p, []byte("arrival")), "%.80s", p)
		default:
			assert.Len(t, r.Arrival, len(r.T))
		}
	}
}

// TestArrivalOtherForms: "arrival" in a record not in the writer's own form
// is read the slow way to the same samples; one of the wrong length is an
// unusable record; "arrival": [] or null is a record without arrival times.
func TestArrivalOtherForms(t *testing.T) {
	for _, tc := range []struct {
		name, payload string
		want          []time.Duration // nil: unusable
	}{
		{"first", `{"k":"samples","arrival":[5,6],"device":"d","n":0,"t":[1,2],"seq":[0,0],"v":[]}`, []time.Duration{5, 6}},
		{"spaced", `{"k":"samples", "device":"d", "n":0, "t":[1,2], "seq":[0,0], "v":[], "arrival":[5, 0]}`, []time.Duration{5, 0}},
		{"empty", `{"k":"samples","device":"d","n":0,"t":[1,2],"seq":[0,0],"v":[],"arrival":[]}`, []time.Duration{0, 0}},
		{"null", `{"k":"samples","device":"d","n":0,"t":[1,2],"seq":[0,0],"v":[],"arrival":null}`, []time.Duration{0, 0}},
		{"short", `{"k":"samples","device":"d","n":0,"t":[1,2],"seq":[0,0],"v":[],"arrival":[5]}`, nil},
		{"not a number", `{"k":"samples","device":"d","n":0,"t":[1,2],"seq":[0,0],"v":[],"arrival":[5,"x"]}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess := &Session{Samples: map[string][]sensors.Sample{}}
			err := decodeRecord([]byte(tc.payload), 0, sess)
			if tc.want == nil {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			sess.flatten()
			var got []time.Duration
			for _, s := range sess.Samples["d"] {
				got = append(got, s.Arrival)
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestGoldenHasNoArrival: a recording made before arrival times were kept
// reads with Arrival 0 (TestGolden checks the rest).
func TestGoldenHasNoArrival(t *testing.T) {
	data, err := os.ReadFile("testdata/golden/data.rec")
	require.NoError(t, err)
	require.False(t, bytes.Contains(data, []byte("arrival")))
	s, err := Open("testdata/golden")
	require.NoError(t, err)
	for _, smp := range s.Samples["bitalino"] {
		assert.Zero(t, smp.Arrival)
	}
}

package export

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/event"
)

func readCSV(t *testing.T, p string) [][]string {
	t.Helper()
	f, err := os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

// TestCSVSamples reads every samples file back and checks each row
// against the session: wall time, session seconds, seq and every value
// exactly (the shortest text that reads back the same), NaN as empty.
func TestCSVSamples(t *testing.T) {
	s := goldenSession(t)
	out, _ := exportTo(t, s, Options{Format: CSV})
	for _, tc := range []struct {
		device string
		head   []string
	}{
		{"bitalino", []string{"wall_time_utc", "session_s", "seq", "eda (uS)", "ecg (mV)"}},
		{"pulse", []string{"wall_time_utc", "session_s", "seq", "ppg (mV)"}},
		{"oxi", []string{"wall_time_utc", "session_s", "seq", "hr (bpm)", "spo2 (%)"}},
	} {
		t.Run(tc.device, func(t *testing.T) {
			rows := readCSV(t, filepath.Join(out, tc.device+"_samples.csv"))
			require.Equal(t, tc.head, rows[0])
			smp := s.Samples[tc.device]
			require.Len(t, rows, len(smp)+1)
			for i, r := range rows[1:] {
				wall, err := time.Parse(time.RFC3339Nano, r[0])
				require.NoError(t, err)
				assert.Equal(t, goldenStart.Add(smp[i].T).Round(time.Microsecond), wall, "row %d", i)
				sec, err := strconv.ParseFloat(r[1], 64)
				require.NoError(t, err)
				assert.InDelta(t, float64(smp[i].T)/1e9, sec, 5e-7, "row %d", i)
				assert.Equal(t, strconv.FormatUint(uint64(smp[i].Seq), 10), r[2])
				for c := 0; c < len(tc.head)-3; c++ {
					want := smp[i].Values[c]
					if math.IsNaN(want) {
						assert.Empty(t, r[3+c], "row %d: NaN is an empty cell", i)
						continue
					}
					got, err := strconv.ParseFloat(r[3+c], 64)
					require.NoError(t, err, "row %d", i)
					require.Equal(t, want, got, "row %d channel %d", i, c)
				}
			}
		})
	}
}

// TestCSVEvents: one row per recorded event, in session order, with the
// event's fields as JSON in the last column.
func TestCSVEvents(t *testing.T) {
	s := goldenSession(t)
	out, _ := exportTo(t, s, Options{Format: CSV})
	rows := readCSV(t, filepath.Join(out, "events.csv"))
	require.Equal(t, []string{"wall_time_utc", "session_s", "kind", "step", "step_id", "cue", "channel",
		"modality", "file", "value", "text", "by", "data"}, rows[0])
	require.Len(t, rows, len(s.Events)+1)
	for i, e := range s.Events {
		r := rows[i+1]
		assert.Equal(t, string(e.Kind()), r[2])
		assert.Equal(t, fmtMicros(e.T), r[1])
		var data map[string]any
		require.NoError(t, json.Unmarshal([]byte(r[12]), &data), "row %d: %s", i, r[12])
		assert.Equal(t, normalise(t, event.Fields(e.Data)), normalise(t, data))
		switch e.Kind() {
		case event.KindMarker:
			assert.Equal(t, `looks "away", then back — ü`, r[10], "one line for spreadsheets")
			assert.Equal(t, "therapist", r[11])
			assert.Equal(t, "bottle", r[4])
		case event.KindRating:
			assert.Equal(t, "63", r[9])
		case event.KindSessionStart:
			assert.Empty(t, r[3], "no step")
		}
	}

	cues := readCSV(t, filepath.Join(out, "cues.csv"))
	require.Len(t, cues, len(goldenManifest())+1)
	assert.Equal(t, manifestOrder[:3], cues[0][:3])
	assert.Equal(t, "novel_field", cues[0][len(cues[0])-1], "fields a newer version adds are kept")
	assert.Equal(t, "bottle.c3", cues[5][0])
}

// TestFileNamesFromDeviceNames: device names come from the recording and
// must not steer where files go.
func TestFileNamesFromDeviceNames(t *testing.T) {
	assert.Equal(t, "etc_passwd", safeName("../../etc/passwd", "device"))
	assert.Equal(t, "device", safeName("///", "device"))
	assert.Equal(t, "bitalino_1", safeName("BITalino 1", "device"))
	used := map[string]bool{}
	assert.Equal(t, "a", uniqueName("a", used))
	assert.Equal(t, "a_2", uniqueName("a", used))
	assert.Equal(t, "a_3", uniqueName("a", used))
}

func TestFmtMicros(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0.000000"},
		{1500 * time.Millisecond, "1.500000"},
		{1234567891, "1.234568"},
		{1234567499, "1.234567"},
		{-1500, "-0.000002"},
		{7200 * time.Second, "7200.000000"},
	} {
		assert.Equal(t, tc.want, fmtMicros(tc.in), "%d ns", tc.in)
	}
}

package record

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/event"
	"github.com/cueroom/cueroom/sensors"
)

// TestUnclosed: a session whose writer never closed (a crash after the
// data was synced: session.json as written at the start) says when its
// recording stopped, by both readers alike; a closed one says nothing.
func TestUnclosed(t *testing.T) {
	w := newTestWriter(t, testMeta(), noTicks)
	metaPath := filepath.Join(w.Dir(), MetaFile)
	atStart, err := os.ReadFile(metaPath)
	require.NoError(t, err)
	var msgs []bus.Msg
	for i := range 5 {
		e := ev(event.KindRating, i, time.Duration(i)*10*time.Second, map[string]any{"craving": float64(i)})
		msgs = append(msgs, bus.Msg{Event: &e})
	}
	s := sensors.Sample{Device: "bitalino", T: 83*time.Second + 700*time.Millisecond, N: 1} // the latest time recorded
	msgs = append(msgs, bus.Msg{Sample: &s})
	require.NoError(t, playThroughBus(t, w, msgs))
	require.NoError(t, w.Close())

	sess, err := Open(w.Dir())
	require.NoError(t, err)
	assert.Empty(t, sess.Unclosed())
	x, err := OpenIndex(w.Dir())
	require.NoError(t, err)
	assert.Empty(t, x.Unclosed())
	assert.Empty(t, x.Warnings("analysed"))
	require.NoError(t, x.Close())

	require.NoError(t, os.WriteFile(metaPath, atStart, 0o644)) // the crash
	const want = "was not closed normally (the recording stopped at 1:23; a crash or power loss)"
	sess, err = Open(w.Dir())
	require.NoError(t, err)
	assert.Equal(t, want, sess.Unclosed())
	x, err = OpenIndex(w.Dir())
	require.NoError(t, err)
	assert.Equal(t, want, x.Unclosed())
	assert.Equal(t, []string{want + ": what was recorded is replayed"}, x.Warnings("replayed"))
	require.NoError(t, x.Close())

	// A torn tail comes first and says what to do about it; the stop time
	// is then the last whole record's.
	path := filepath.Join(w.Dir(), DataFile)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, st.Size()-3))
	torn, err := OpenIndex(w.Dir())
	require.NoError(t, err)
	defer torn.Close()
	got := torn.Warnings("analysed")
	require.Len(t, got, 2, "%q", got)
	assert.Contains(t, got[0], "torn tail")
	assert.Contains(t, got[0], "Repair cuts them off: run 'cueroom repair' on this folder.")
	assert.Equal(t, "was not closed normally (the recording stopped at 0:40; a crash or power loss): what was recorded is analysed", got[1])
}

func TestUnclosedWording(t *testing.T) {
	end := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		f    Folder
		last time.Duration
		want string
	}{
		{"closed", Folder{End: end, Complete: true}, time.Minute, ""},
		{"crash", Folder{}, 59*time.Second + 999*time.Millisecond, "was not closed normally (the recording stopped at 0:59; a crash or power loss)"},
		{"crash before anything", Folder{}, 0, "was not closed normally (the recording stopped at 0:00; a crash or power loss)"},
		{"long crash", Folder{}, 4*time.Hour + 5*time.Minute + 6*time.Second, "was not closed normally (the recording stopped at 4:05:06; a crash or power loss)"},
		{"complete without end", Folder{Complete: true}, 61 * time.Second, "was not closed normally (the recording stopped at 1:01; a crash or power loss)"},
		{"write error", Folder{End: end, Error: "write data.rec: no space left on device"}, 10 * time.Minute,
			"was closed early: a write error stopped the recording at 10:00 (write data.rec: no space left on device)"},
		{"incomplete, no error", Folder{End: end}, 90 * time.Second, "was closed early: a write error stopped the recording at 1:30 (no error was recorded)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.f.unclosed(tc.last))
		})
	}
}

func TestRecoverySummary(t *testing.T) {
	for _, tc := range []struct {
		r    Recovery
		want string
	}{
		{Recovery{TornBytes: 37, Records: 19}, "cut a torn tail of 37 bytes off data.rec; 19 whole records kept"},
		{Recovery{Skipped: 120, Records: 30}, "left 120 damaged bytes in place (the readers skip them); 30 whole records kept"},
		{Recovery{TornBytes: 5, Skipped: 8, Records: 2}, "cut a torn tail of 5 bytes off data.rec and left 8 damaged bytes in place (the readers skip them); 2 whole records kept"},
		{Recovery{}, "rewrote the torn header of data.rec; 0 whole records kept"},
	} {
		assert.Equal(t, tc.want, tc.r.Summary())
	}
}

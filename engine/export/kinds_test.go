package export

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cueroom/cueroom/bus"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/event"
)

// TestEveryKindIsExported walks every kind the event package knows and
// names each one an export has not learnt: the BIDS levels table
// (bidsKinds) and the BIDS row switch, the CSV columns switch, and the XDF
// marker, whose data must read back as the same payload. Adding a kind
// makes this fail until each is updated.
func TestEveryKindIsExported(t *testing.T) {
	inTable := map[event.Kind]bool{}
	for _, k := range bidsKinds {
		assert.False(t, inTable[k.kind], "%s is twice in bidsKinds", k.kind)
		inTable[k.kind] = true
		assert.True(t, event.Known(k.kind), "bidsKinds lists %s, which the event package does not know", k.kind)
	}
	levels := map[string]bool{}
	for _, l := range trialLevels() {
		levels[l.k] = true
		assert.NotEmpty(t, l.v, "level %s has no description", l.k)
	}
	for _, k := range event.Kinds() {
		e := event.New(time.Second, 0, event.Zero(k))
		require.Equal(t, k, e.Kind())

		assert.True(t, inTable[k], "BIDS: add %s to bidsKinds in bids_events.go (its trial_type level and description)", k)
		assert.NotEmpty(t, event.Describe(k), "the event package describes %s", k)

		v := newView(sessionSource{&record.Session{}}, record.Meta{}, nil, []event.Event{e}, nil, true, "")
		vals := map[string]string{"trial_type": string(k)}
		known := v.fillRow(vals, e, map[int]stepInfo{}, nil, nil)
		assert.True(t, known, "BIDS: the switch in view.fillRow (bids_events.go) does not name %s", k)
		tt := vals["trial_type"]
		assert.True(t, levels[tt] || tt == string(k), "BIDS: %s rows take trial_type %q, which is not a level", k, tt)

		_, known = csvColumns(e.Data)
		assert.True(t, known, "CSV: the switch in csvColumns (events.go) does not name %s", k)

		var m struct {
			Kind event.Kind      `json:"kind"`
			Step int             `json:"step"`
			Data json.RawMessage `json:"data"`
		}
		require.NoError(t, json.Unmarshal(v.marker(0), &m), "XDF marker of %s", k)
		assert.Equal(t, k, m.Kind, "XDF marker kind")
		back, err := event.UnmarshalData(k, m.Data)
		require.NoError(t, err, "XDF marker data of %s", k)
		assert.Equal(t, e.Data, back, "XDF: the marker of %s reads back as its payload", k)
	}
}

// TestEveryKindExportsEndToEnd records one event of every kind and checks
// each format carries every one.
func TestEveryKindExportsEndToEnd(t *testing.T) {
	var msgs []bus.Msg
	kinds := event.Kinds()
	for i, k := range kinds {
		msgs = append(msgs, ev(time.Duration(i+1)*time.Second, -1, event.Zero(k)))
	}
	s := makeSession(t, record.Meta{Title: "kinds", Start: goldenStart}, msgs)
	require.Len(t, s.Events, len(kinds))

	out, _ := exportTo(t, s, Options{Format: CSV})
	rows := readCSV(t, filepath.Join(out, "events.csv"))
	require.Len(t, rows, len(kinds)+1)
	for i, k := range kinds {
		assert.Equal(t, string(k), rows[i+1][2])
		back, err := event.UnmarshalData(k, []byte(rows[i+1][12]))
		require.NoError(t, err, "%s: %s", k, rows[i+1][12])
		assert.Equal(t, event.Zero(k), back, "CSV data of %s", k)
	}

	out, _ = exportTo(t, s, Options{Format: XDF})
	x := readXDFFile(t, out)
	require.Len(t, x.Streams[1].Strings, len(kinds))

	out, _ = exportTo(t, s, Options{Format: BIDS})
	tsv := readTSV(t, filepath.Join(out, "sub-01", "ses-01", "beh", "sub-01_ses-01_task-cueexposure_events.tsv"))
	levels := map[string]bool{}
	for _, l := range trialLevels() {
		levels[l.k] = true
	}
	// In name order session_end and step_end come before their starts, so
	// each kind is a row of its own.
	require.Len(t, tsv, len(kinds)+1)
	for _, r := range tsv[1:] {
		assert.True(t, levels[r[2]] || event.Known(event.Kind(r[2])), "trial_type %q", r[2])
	}
}

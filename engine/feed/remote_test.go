package feed

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRemote: a command relayed by the hub takes the dashboard's path: the
// same validation (duplicate keys refused), one at a time, acked, audited
// with who sent it.
func TestRemote(t *testing.T) {
	var got []Command
	var audit []AuditEntry
	s, _ := startServer(t, Config{
		OnCommand: func(c Command) Ack { got = append(got, c); return Ack{OK: true} },
		Audit:     func(e AuditEntry) { audit = append(audit, e) },
	}, nil)
	var ack map[string]any
	require.NoError(t, json.Unmarshal(s.Remote("hub", []byte(`{"type":"command","v":1,"id":"h1","cmd":"pause"}`)), &ack))
	assert.Equal(t, map[string]any{"type": "ack", "v": float64(1), "id": "h1", "ok": true}, pick(ack, "type", "v", "id", "ok"))
	require.Len(t, got, 1)
	assert.Equal(t, "hub", got[0].From)
	require.NotEmpty(t, audit)
	last := audit[len(audit)-1]
	assert.Equal(t, []any{AuditCommand, "hub", "pause", true}, []any{last.Event, last.Remote, last.Cmd, last.OK})

	var bad map[string]any
	require.NoError(t, json.Unmarshal(s.Remote("hub", []byte(`{"type":"command","cmd":"marker","cmd":"end"}`)), &bad))
	assert.Equal(t, "error", bad["type"])
	assert.Len(t, got, 1, "a duplicate-key command does nothing")
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

package pipeline

import (
	"encoding/json"
	"sync"

	"github.com/cueroom/cueroom/engine/feed"
	"github.com/cueroom/cueroom/engine/record"
)

// AuditLog holds the dashboard's audit entries until the session folder
// exists (the dashboard starts first, so a busy port fails before anything
// is written), then writes them to the folder's audit log. Its Log method
// is a feed.Config.Audit.
type AuditLog struct {
	mu      sync.Mutex
	pending []feed.AuditEntry
	a       *record.Audit
}

func (b *AuditLog) Log(e feed.AuditEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.a == nil {
		b.pending = append(b.pending, e)
		return
	}
	b.write(e)
}

func (b *AuditLog) write(e feed.AuditEntry) {
	raw, err := json.Marshal(e)
	var m map[string]any
	if err == nil {
		err = json.Unmarshal(raw, &m)
	}
	if err != nil {
		m = map[string]any{"error": err.Error()}
	}
	b.a.Log(m)
}

func (b *AuditLog) Attach(a *record.Audit) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.a = a
	for _, e := range b.pending {
		b.write(e)
	}
	b.pending = nil
}

package record

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuditFile is the session's audit log: one JSON object a line, who
// connected to the dashboard and what they asked for, with the result.
const AuditFile = "audit.jsonl"

// Audit appends entries to a session's audit log. Each line is written and
// synced before Log returns: the audit trail is small and must not be lost.
type Audit struct {
	mu  sync.Mutex
	f   *os.File
	err error
}

// OpenAudit opens (creating) the audit log of the session folder dir.
func OpenAudit(dir string) (*Audit, error) {
	f, err := os.OpenFile(filepath.Join(dir, AuditFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Audit{f: f}, nil
}

// Log writes one entry, stamped with the wall time when it has none. After
// a write error, later entries are dropped and Err reports the first error.
func (a *Audit) Log(entry map[string]any) {
	if _, ok := entry["wall"]; !ok {
		entry["wall"] = time.Now().UTC().Format(time.RFC3339Nano)
	}
	b, err := json.Marshal(entry)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"wall": entry["wall"], "error": "unencodable audit entry: " + err.Error()})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil || a.f == nil {
		return
	}
	if _, err := a.f.Write(append(b, '\n')); err != nil {
		a.err = err
		return
	}
	if err := a.f.Sync(); err != nil {
		a.err = err
	}
}

// Err is the first write error, if any.
func (a *Audit) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Close closes the log; later entries are dropped.
func (a *Audit) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return a.err
	}
	err := a.f.Close()
	a.f = nil
	if a.err == nil {
		a.err = err
	}
	return err
}

package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cueroom/cueroom/hub/archive"
)

// pendingFile lists (in the store folder) the session folders still to be
// archived: kept across runs, so a session that ended while the hub was
// down is archived by a later run once the hub is back.
const pendingFile = "archive-pending.json"

// archiver archives session folders now, or later when the hub is down.
type archiver struct {
	s    *Station
	kick chan struct{}
	mu   sync.Mutex // the pending file
}

func newArchiver(s *Station) *archiver {
	return &archiver{s: s, kick: make(chan struct{}, 1)}
}

// Archive puts the session folder dir into the hub's archive and returns
// what it archived. With the hub down (or failing) the folder is queued,
// the record says Pending, and the station retries when the hub is back,
// in this run or a later one (Config.OnArchived is told then). The error
// is for a folder that cannot be archived at all.
func (s *Station) Archive(ctx context.Context, dir string) (archive.Record, error) {
	if s.cfg.Hub == "" {
		return archive.Record{}, errors.New("station: no hub to archive to (--hub)")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return archive.Record{}, err
	}
	if _, err := archive.Scan(dir); err != nil {
		return archive.Record{}, err
	}
	rec := archive.Record{Hub: s.hubURL, Pending: true}
	if st := s.Status(); st.Hub != Connected {
		rec.Error = fmt.Sprintf("the hub is %s", st.Hub)
	} else if r, err := archive.Put(ctx, s.nc, s.cfg.Site, s.cfg.Station, dir); err != nil {
		rec.Error = err.Error()
	} else {
		r.Hub = s.hubURL
		return r, nil
	}
	if err := s.archiver.queue(dir); err != nil {
		return rec, err
	}
	s.logf("station: session %s not archived yet (%s): it will be when the hub is back", filepath.Base(dir), rec.Error)
	return rec, nil
}

func (a *archiver) path() string { return filepath.Join(a.s.dir, pendingFile) }

func (a *archiver) load() []string {
	b, err := os.ReadFile(a.path())
	if err != nil {
		return nil
	}
	var dirs []string
	if json.Unmarshal(b, &dirs) != nil {
		return nil
	}
	return dirs
}

func (a *archiver) save(dirs []string) error {
	if len(dirs) == 0 {
		err := os.Remove(a.path())
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	b, _ := json.Marshal(dirs)
	tmp := a.path() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.path())
}

func (a *archiver) queue(dir string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	dirs := a.load()
	for _, d := range dirs {
		if d == dir {
			return nil
		}
	}
	if err := a.save(append(dirs, dir)); err != nil {
		return fmt.Errorf("station: cannot queue %s for the archive: %w", dir, err)
	}
	select {
	case a.kick <- struct{}{}:
	default:
	}
	return nil
}

// run retries the queue whenever the hub (re)connects, and every minute.
func (a *archiver) run() {
	defer a.s.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		a.s.mu.Lock()
		ch := a.s.changed
		a.s.mu.Unlock()
		if a.s.Status().Hub == Connected {
			a.retry()
		}
		select {
		case <-a.s.ctx.Done():
			return
		case <-ch:
		case <-a.kick:
		case <-t.C:
		}
	}
}

func (a *archiver) retry() {
	a.mu.Lock()
	dirs := a.load()
	a.mu.Unlock()
	for _, dir := range dirs {
		if a.s.ctx.Err() != nil || a.s.Status().Hub != Connected {
			return
		}
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			a.s.logf("station: session folder %s is gone: not archived", dir)
			a.done(dir)
			continue
		}
		ctx, cancel := context.WithTimeout(a.s.ctx, 30*time.Minute)
		rec, err := archive.Put(ctx, a.s.nc, a.s.cfg.Site, a.s.cfg.Station, dir)
		cancel()
		if err != nil {
			continue // next time
		}
		rec.Hub = a.s.hubURL
		a.done(dir)
		a.s.logf("station: session %s archived on the hub (%d files, %d bytes)", filepath.Base(dir), rec.Files, rec.Size)
		if a.s.cfg.OnArchived != nil {
			a.s.cfg.OnArchived(dir, rec)
		}
	}
}

func (a *archiver) done(dir string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var keep []string
	for _, d := range a.load() {
		if d != dir {
			keep = append(keep, d)
		}
	}
	_ = a.save(keep)
}

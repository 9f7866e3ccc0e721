// Package archive puts session folders into the hub's JetStream Object
// Store and gets them back, byte for byte.
//
// Layout: one bucket per station, wire.StationBucket (on the hub's
// JetStream domain; the hub makes it when the station first greets it, and
// the station's credentials let it write there and nowhere else). Each
// file of a session folder is one object named
// "<site>/<station>/<session>/<path in the folder>", and the session's
// manifest, put last, is "<site>/<station>/<session>.manifest.json": a
// session is archived when its manifest is there. List and Get read every
// station's bucket (and the one shared bucket wire.Bucket of the first
// layout, when a hub has it). Every object carries
// the Object Store's SHA-256 digest; Put checks the hub's digest of each
// file against the one it computed reading it, Get checks each file read
// back against the manifest's. A Put that was cut short is resumed by the
// next one: files already there with the same digest are not sent again.
package archive

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cueroom/cueroom/hub/wire"
)

// ManifestSuffix ends a session manifest's object name.
const ManifestSuffix = ".manifest.json"

// Manifest lists an archived session's files.
type Manifest struct {
	Format  string    `json:"format"` // "cueroom-archive/1"
	Site    string    `json:"site"`
	Station string    `json:"station"`
	Session string    `json:"session"` // the folder's name
	Start   time.Time `json:"start"`   // session.json's start (the folder's time when it has none)
	Files   []File    `json:"files"`
	Size    int64     `json:"size"` // bytes, all files
	At      time.Time `json:"archived_at"`
}

// File is one file of an archived session.
type File struct {
	Path   string `json:"path"` // slash-separated, relative to the session folder
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// Record says what Put archived, for the session's own session.json.
type Record struct {
	Hub     string    `json:"hub,omitempty"`
	Bucket  string    `json:"bucket"`
	Object  string    `json:"manifest"` // the manifest's object name
	Files   int       `json:"files"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"manifest_sha256"` // of the manifest as stored
	At      time.Time `json:"archived_at"`
	Pending bool      `json:"pending,omitempty"` // not archived yet: retried when the hub is back
	Error   string    `json:"error,omitempty"`   // why it is pending
}

// Entry is one archived session, as List gives it.
type Entry struct {
	Site    string
	Station string
	Session string // the session folder's name
	Start   time.Time
	Size    int64
	Files   int
	Bucket  string // the bucket it is in
}

// WriteList prints entries as `cueroom archive ls` does: one line per
// session (station, session id for get, start, size).
func WriteList(w io.Writer, es []Entry) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "STATION\tSESSION\tSTART\tSIZE\tFILES")
	for _, e := range es {
		fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%d\n", e.Site, e.Station, e.ID(), e.Start.Local().Format("2006-01-02 15:04:05"), human(e.Size), e.Files)
	}
	return tw.Flush()
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ID names the session for Get: "<site>/<station>/<session>".
func (e Entry) ID() string { return e.Site + "/" + e.Station + "/" + e.Session }

const manifestFormat = "cueroom-archive/1"

// bucket opens an archive bucket on the hub's domain.
func bucket(ctx context.Context, nc *nats.Conn, name string) (jetstream.ObjectStore, error) {
	js, err := jetstream.NewWithDomain(nc, wire.HubDomain)
	if err != nil {
		return nil, err
	}
	obs, err := js.ObjectStore(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("archive: the hub's bucket %q: %w", name, err)
	}
	return obs, nil
}

// CreateBucket makes station site/name's archive bucket (the hub does,
// when the station first greets it) and returns its name.
func CreateBucket(ctx context.Context, js jetstream.JetStream, site, name string) (string, error) {
	b := wire.StationBucket(site, name)
	_, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: b, Description: "cueroom session folders of " + site + "/" + name, Storage: jetstream.FileStorage,
	})
	return b, err
}

// Buckets lists the hub's archive buckets.
func Buckets(ctx context.Context, js jetstream.JetStream) ([]string, error) {
	l := js.ObjectStoreNames(ctx)
	var out []string
	for n := range l.Name() {
		if wire.IsArchiveBucket(n) {
			out = append(out, n)
		}
	}
	if err := l.Error(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return nil, fmt.Errorf("archive: listing the hub's buckets: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// Put archives the session folder dir of site/station. It returns when
// every file and the manifest are on the hub with digests checked.
func Put(ctx context.Context, nc *nats.Conn, site, station, dir string) (Record, error) {
	rec := Record{Bucket: wire.StationBucket(site, station)}
	if err := wire.ValidName("site", site); err != nil {
		return rec, err
	}
	if err := wire.ValidName("station", station); err != nil {
		return rec, err
	}
	dir = filepath.Clean(dir)
	m, err := Scan(dir)
	if err != nil {
		return rec, err
	}
	m.Site, m.Station = site, station
	obs, err := bucket(ctx, nc, wire.StationBucket(site, station))
	if err != nil {
		return rec, err
	}
	prefix := site + "/" + station + "/" + m.Session + "/"
	for _, f := range m.Files {
		if err := putFile(ctx, obs, prefix+f.Path, filepath.Join(dir, filepath.FromSlash(f.Path)), f); err != nil {
			return rec, err
		}
	}
	name := site + "/" + station + "/" + m.Session + ManifestSuffix
	if old, err := manifest(ctx, obs, name); err == nil {
		// Archived before (its files all matched above): the same record.
		b, _ := obs.GetBytes(ctx, name)
		sum := sha256.Sum256(b)
		return Record{Bucket: rec.Bucket, Object: name, Files: len(old.Files), Size: old.Size, SHA256: hex.EncodeToString(sum[:]), At: old.At}, nil
	}
	m.At = time.Now().UTC()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return rec, err
	}
	info, err := obs.PutBytes(ctx, name, b)
	if err != nil {
		return rec, fmt.Errorf("archive: put %s: %w", name, err)
	}
	sum := sha256.Sum256(b)
	if info.Digest != digestOf(sum[:]) {
		return rec, fmt.Errorf("archive: %s: the hub stored digest %s, not the one sent", name, info.Digest)
	}
	rec.Object, rec.Files, rec.Size, rec.SHA256, rec.At = name, len(m.Files), m.Size, hex.EncodeToString(sum[:]), m.At
	return rec, nil
}

// digestOf is the Object Store's digest notation.
func digestOf(sum []byte) string { return "SHA-256=" + base64.URLEncoding.EncodeToString(sum) }

func putFile(ctx context.Context, obs jetstream.ObjectStore, name, file string, want File) error {
	sum, err := hex.DecodeString(want.SHA256)
	if err != nil {
		return err
	}
	if info, err := obs.GetInfo(ctx, name); err == nil {
		if info.Size == uint64(want.Size) && info.Digest == digestOf(sum) {
			return nil // already there (an earlier Put cut short, or the same session again)
		}
		// Never replaced: an archive keeps what it was given.
		return fmt.Errorf("archive: %s is archived already with other content: a session folder is archived once, after it has ended", name)
	} else if !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("archive: %s: %w", name, err)
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	info, err := obs.Put(ctx, jetstream.ObjectMeta{Name: name}, io.TeeReader(f, h))
	if err != nil {
		return fmt.Errorf("archive: put %s: %w", name, err)
	}
	got := h.Sum(nil)
	switch {
	case hex.EncodeToString(got) != want.SHA256:
		return fmt.Errorf("archive: %s changed while it was archived: archive the session once it has ended", file)
	case info.Digest != digestOf(got):
		return fmt.Errorf("archive: %s: the hub stored digest %s, not the %s sent", name, info.Digest, digestOf(got))
	case info.Size != uint64(want.Size):
		return fmt.Errorf("archive: %s: the hub stored %d bytes, not %d", name, info.Size, want.Size)
	}
	return nil
}

// Scan lists a session folder's regular files with their digests (symbolic
// links and other special files are left out) and reads its start time.
func Scan(dir string) (Manifest, error) {
	m := Manifest{Format: manifestFormat, Session: filepath.Base(dir)}
	if !safeSegment(m.Session) {
		return m, fmt.Errorf("archive: %q is not a session folder", dir)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return m, fmt.Errorf("archive: %w", err)
	}
	if !st.IsDir() {
		return m, fmt.Errorf("archive: %s is not a folder", dir)
	}
	m.Start = st.ModTime().UTC()
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return err
		}
		m.Files = append(m.Files, File{Path: filepath.ToSlash(rel), Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
		m.Size += n
		return nil
	})
	if err != nil {
		return m, fmt.Errorf("archive: %w", err)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if b, err := os.ReadFile(filepath.Join(dir, "session.json")); err == nil {
		var meta struct {
			Start time.Time `json:"start"`
		}
		if json.Unmarshal(b, &meta) == nil && !meta.Start.IsZero() {
			m.Start = meta.Start
		}
	}
	return m, nil
}

// List lists the archived sessions (those whose manifest is there), oldest
// first, from every station's bucket.
func List(ctx context.Context, nc *nats.Conn) ([]Entry, error) {
	js, err := jetstream.NewWithDomain(nc, wire.HubDomain)
	if err != nil {
		return nil, err
	}
	names, err := Buckets(ctx, js)
	if err != nil {
		return nil, err
	}
	// Station buckets first: a session of the first layout's shared
	// bucket that a station archived again is listed once, from its own.
	sort.SliceStable(names, func(i, j int) bool { return names[i] != wire.Bucket && names[j] == wire.Bucket })
	var out []Entry
	seen := map[string]bool{}
	for _, b := range names {
		es, err := listBucket(ctx, nc, b)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if !seen[e.ID()] {
				seen[e.ID()] = true
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Start.Equal(out[j].Start) {
			return out[i].Start.Before(out[j].Start)
		}
		return out[i].ID() < out[j].ID()
	})
	return out, nil
}

func listBucket(ctx context.Context, nc *nats.Conn, name string) ([]Entry, error) {
	obs, err := bucket(ctx, nc, name)
	if err != nil {
		return nil, err
	}
	infos, err := obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("archive: list %s: %w", name, err)
	}
	var out []Entry
	for _, in := range infos {
		if !strings.HasSuffix(in.Name, ManifestSuffix) || strings.Count(in.Name, "/") != 2 {
			continue
		}
		m, err := manifest(ctx, obs, in.Name)
		if err != nil {
			return nil, err
		}
		// A station's bucket holds its own sessions only: one that names
		// another station, or an object name its manifest does not match,
		// is not listed.
		if name != wire.Bucket && name != wire.StationBucket(m.Site, m.Station) ||
			in.Name != m.Site+"/"+m.Station+"/"+m.Session+ManifestSuffix {
			continue
		}
		out = append(out, Entry{Site: m.Site, Station: m.Station, Session: m.Session, Start: m.Start, Size: m.Size, Files: len(m.Files), Bucket: name})
	}
	return out, nil
}

func manifest(ctx context.Context, obs jetstream.ObjectStore, name string) (Manifest, error) {
	b, err := obs.GetBytes(ctx, name)
	if err != nil {
		return Manifest{}, fmt.Errorf("archive: %s: %w", name, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return m, fmt.Errorf("archive: %s: %w", name, err)
	}
	return m, nil
}

// ParseManifest reads a manifest and checks what Get relies on: names
// that are safe to write under a folder, sizes, digests. It never panics.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("not a manifest: %v", err)
	}
	if m.Format != manifestFormat {
		return m, fmt.Errorf("manifest format %q; this cueroom reads %q", m.Format, manifestFormat)
	}
	if err := wire.ValidName("site", m.Site); err != nil {
		return m, err
	}
	if err := wire.ValidName("station", m.Station); err != nil {
		return m, err
	}
	if !safeSegment(m.Session) {
		return m, fmt.Errorf("session name %q is not a folder name", m.Session)
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if !SafePath(f.Path) {
			return m, fmt.Errorf("file %q would land outside the session folder", f.Path)
		}
		if seen[f.Path] {
			return m, fmt.Errorf("file %q listed twice", f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 {
			return m, fmt.Errorf("file %q has a negative size", f.Path)
		}
		if s, err := hex.DecodeString(f.SHA256); err != nil || len(s) != sha256.Size {
			return m, fmt.Errorf("file %q has no SHA-256", f.Path)
		}
	}
	return m, nil
}

func safeSegment(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

// SafePath says whether a manifest path stays inside the folder it is
// written under: relative, slash-separated, no "..", no empty segment.
func SafePath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") || path.Clean(p) != p {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if !safeSegment(seg) {
			return false
		}
	}
	return true
}

// Resolve finds the one archived session id names: "<site>/<station>/<session>",
// "<station>/<session>" or "<session>" when that is unambiguous.
func Resolve(entries []Entry, id string) (Entry, error) {
	var hits []Entry
	for _, e := range entries {
		if id == e.ID() || id == e.Station+"/"+e.Session || id == e.Session {
			hits = append(hits, e)
		}
	}
	switch len(hits) {
	case 0:
		return Entry{}, fmt.Errorf("archive: no session %q on the hub (cueroom archive ls lists them)", id)
	case 1:
		return hits[0], nil
	}
	names := make([]string, len(hits))
	for i, h := range hits {
		names[i] = h.ID()
	}
	return Entry{}, fmt.Errorf("archive: %q names %d sessions (%s): say which as SITE/STATION/SESSION", id, len(hits), strings.Join(names, ", "))
}

// Get fetches the archived session id (see Resolve) into the folder dest,
// which must not exist yet or be empty. Each file is checked against the
// manifest's digest; on any error dest is left with what was fetched so
// far under a name ending ".partial".
func Get(ctx context.Context, nc *nats.Conn, id, dest string) error {
	entries, err := List(ctx, nc)
	if err != nil {
		return err
	}
	e, err := Resolve(entries, id)
	if err != nil {
		return err
	}
	obs, err := bucket(ctx, nc, e.Bucket)
	if err != nil {
		return err
	}
	m, err := manifest(ctx, obs, e.Site+"/"+e.Station+"/"+e.Session+ManifestSuffix)
	if err != nil {
		return err
	}
	if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
		return fmt.Errorf("archive: %s is not empty: fetch into a new folder", dest)
	}
	tmp := dest + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	prefix := m.Site + "/" + m.Station + "/" + m.Session + "/"
	for _, f := range m.Files {
		if err := getFile(ctx, obs, prefix+f.Path, filepath.Join(tmp, filepath.FromSlash(f.Path)), f); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	_ = os.Remove(dest) // an empty folder given as the destination
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	return nil
}

func getFile(ctx context.Context, obs jetstream.ObjectStore, name, file string, want File) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	r, err := obs.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("archive: get %s: %w", name, err)
	}
	defer r.Close()
	out, err := os.OpenFile(file, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	h := sha256.New()
	// The Object Store checks its own digest at the end of the read (an
	// error from Copy); the manifest's is checked below.
	n, err := io.Copy(io.MultiWriter(out, h), r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("archive: get %s: %w", name, err)
	}
	if n != want.Size || hex.EncodeToString(h.Sum(nil)) != want.SHA256 {
		return fmt.Errorf("archive: %s: %d bytes read back do not match the manifest (%d bytes, sha256 %s)", name, n, want.Size, want.SHA256)
	}
	return nil
}

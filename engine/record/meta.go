package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode"

	"github.com/cueroom/cueroom/sensors"
)

// File names inside a session folder.
const (
	ProtocolFile = "protocol.yaml"
	MetaFile     = "session.json"
	DataFile     = "data.rec"
)

// metaFormat marks session.json as ours, so Open can tell a foreign folder.
const metaFormat = "cueroom-session/1"

// Health data: readable by the owner and their group (the clinic's
// researchers), never by everyone.
const (
	dirPerm  = 0o750
	filePerm = 0o640
)

// Meta describes a session as it starts.
type Meta struct {
	Title     string
	Substance string
	Software  string    // version of the software that ran the session
	Start     time.Time // wall time; zero means now
	Streams   []sensors.Stream
	Manifest  any // the cue manifest, stored as JSON
	Extra     map[string]any
}

// DecodeManifest decodes the cue manifest (kept as any JSON) into v, such
// as a *[]engine.ManifestCue or a *[]map[string]any. A session without one
// leaves v as it is.
func (m Meta) DecodeManifest(v any) error {
	if m.Manifest == nil {
		return nil
	}
	b, err := json.Marshal(m.Manifest)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Counts says what the recording (data.rec and its later segments, if
// any) held when the session was closed.
type Counts struct {
	Records int64 `json:"records"`
	Events  int64 `json:"events"`
	Samples int64 `json:"samples"`
	Bytes   int64 `json:"bytes"` // size of data.rec, plus its later segments'
	Lost    int64 `json:"lost"`  // bus messages not recorded (while a write error stopped recording, or after Close)
}

// minus is what c holds beyond d: records, events, samples and bytes.
func (c Counts) minus(d Counts) Counts {
	return Counts{Records: c.Records - d.Records, Events: c.Events - d.Events, Samples: c.Samples - d.Samples, Bytes: c.Bytes - d.Bytes}
}

// metaJSON is session.json.
type metaJSON struct {
	Format    string           `json:"format"`
	Title     string           `json:"title"`
	Substance string           `json:"substance"`
	Software  string           `json:"software"`
	Start     time.Time        `json:"start"`
	End       time.Time        `json:"end,omitzero"`
	Complete  bool             `json:"complete"`
	Error     string           `json:"error,omitempty"`
	Counts    *Counts          `json:"counts,omitempty"`
	Streams   []sensors.Stream `json:"streams"`
	Manifest  any              `json:"manifest,omitempty"`
	Extra     map[string]any   `json:"extra,omitempty"`
	Outages   []Outage         `json:"outages,omitempty"`
	Notes     []string         `json:"notes,omitempty"`
}

func (m *metaJSON) meta() Meta {
	return Meta{
		Title: m.Title, Substance: m.Substance, Software: m.Software, Start: m.Start,
		Streams: m.Streams, Manifest: m.Manifest, Extra: m.Extra,
	}
}

func marshalMeta(m *metaJSON) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// parseMeta reads session.json; errors name the byte offset of the problem.
func parseMeta(path string, b []byte) (*metaJSON, error) {
	var m metaJSON
	if err := json.Unmarshal(b, &m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("record: %s byte %d: not valid JSON (%v); restore it from a backup or fix it by hand", path, se.Offset, err)
		case errors.As(err, &te):
			return nil, fmt.Errorf("record: %s byte %d: field %q has the wrong type (%v); restore it from a backup or fix it by hand", path, te.Offset, te.Field, err)
		default:
			return nil, fmt.Errorf("record: %s: %v; restore it from a backup or fix it by hand", path, err)
		}
	}
	if m.Format != metaFormat {
		return nil, fmt.Errorf("record: %s byte 0: not a cueroom session (format %q, want %q); is this a session folder?", path, m.Format, metaFormat)
	}
	return &m, nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old file or the new one, never a mix: write a temporary file, fsync it,
// rename it over, fsync the folder.
func writeFileAtomic(path string, data []byte) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeFileNew creates path (failing if it exists) and makes it durable.
func writeFileNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a folder's entries (new files, renames) durable. Windows
// cannot open a folder for syncing and does not need it.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// makeSessionDir creates root/YYYYMMDD-HHMMSS-slug, adding -2, -3… when the
// name is taken. Mkdir fails if the folder exists, so two writers can never
// share (or overwrite) a folder.
func makeSessionDir(root string, start time.Time, title string) (string, error) {
	if err := os.MkdirAll(root, dirPerm); err != nil {
		return "", fmt.Errorf("record: cannot create sessions folder: %w", err)
	}
	base := filepath.Join(root, start.Format("20060102-150405")+"-"+slug(title))
	for i := 1; i <= 1000; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, dirPerm)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("record: cannot create session folder: %w", err)
		}
	}
	return "", fmt.Errorf("record: %s and 999 numbered variants already exist; clear out the sessions folder", base)
}

// latinFold spells common accented letters in ASCII so "Sesión café"
// becomes "sesion-cafe" rather than "sesi-n-caf".
var latinFold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'æ': "ae",
	'ç': "c", 'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ì': "i", 'í': "i",
	'î': "i", 'ï': "i", 'ñ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o",
	'ö': "o", 'ø': "o", 'œ': "oe", 'ù': "u", 'ú': "u", 'û': "u", 'ü': "u",
	'ý': "y", 'ÿ': "y", 'ß': "ss",
}

const maxSlug = 48

// slug turns a title into a portable folder-name part: lower-case ASCII
// letters and digits separated by single dashes.
func slug(title string) string {
	var b strings.Builder
	dash := false
	put := func(s string) {
		if dash && b.Len() > 0 {
			b.WriteByte('-')
		}
		dash = false
		b.WriteString(s)
	}
	for _, r := range strings.ToLower(title) {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			put(string(r))
		case latinFold[r] != "":
			put(latinFold[r])
		default:
			dash = true
		}
		if b.Len() >= maxSlug {
			break
		}
	}
	s := strings.TrimRight(b.String(), "-")
	if len(s) > maxSlug {
		s = strings.TrimRight(s[:maxSlug], "-")
	}
	if s == "" {
		return "session"
	}
	return s
}

package replay

import (
	"bytes"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"

	"github.com/cueroom/cueroom/assets"
	"github.com/cueroom/cueroom/engine"
	"github.com/cueroom/cueroom/engine/record"
	"github.com/cueroom/cueroom/scenes"
)

// UsageError is input the user can fix (a folder, a flag): cueroom exits
// 2 on it.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// OpenProtocol finds the protocol the session x indexes ran and the media
// beside it (mediaDir, when given, is where the media are now). warnings
// lists media that differ from what the patient saw (by SHA-256).
func OpenProtocol(x *record.Index, mediaDir string) (p *scenes.Protocol, media *engine.Media, warnings []string, err error) {
	if len(x.Protocol) == 0 {
		return nil, nil, nil, usagef("replay: %s: the session folder has no protocol.yaml: it cannot be re-rendered (export and analyze still work)", x.Dir)
	}
	fsys, name, warn, err := protocolFS(x, mediaDir)
	if err != nil {
		return nil, nil, nil, err
	}
	warnings = append(warnings, warn...)
	p, err = scenes.Parse(name, x.Protocol, fsys)
	if err != nil {
		return nil, nil, nil, usagef("replay: %s/protocol.yaml: %v", x.Dir, err)
	}
	media, err = engine.LoadMedia(p)
	if err != nil {
		return nil, nil, nil, usagef("replay: %v: give the folder holding the protocol's media with --media DIR", err)
	}
	return p, media, append(warnings, mediaChanges(x, p)...), nil
}

// protocolFS is where the session's media are: --media, the bundled demo,
// or the folder of the protocol file the session was run from.
func protocolFS(x *record.Index, mediaDir string) (fs.FS, string, []string, error) {
	file, _ := x.Meta.Extra["protocol_file"].(string)
	if mediaDir != "" {
		if st, err := os.Stat(mediaDir); err != nil || !st.IsDir() {
			return nil, "", nil, usagef("replay: --media %s: no such folder", mediaDir)
		}
		return os.DirFS(mediaDir), filepath.Base(file), nil, nil
	}
	if name, _ := x.Meta.Extra["protocol_bundled"].(string); name != "" {
		return assets.DemoFS(), name, nil, nil
	}
	if file != "" {
		if src, err := os.ReadFile(file); err == nil && bytes.Equal(src, x.Protocol) {
			return os.DirFS(filepath.Dir(file)), filepath.Base(file), nil, nil
		}
		// Sessions of the bundled demo recorded before protocol_bundled.
		if src, err := fs.ReadFile(assets.DemoFS(), path.Base(filepath.ToSlash(file))); err == nil && bytes.Equal(src, x.Protocol) {
			return assets.DemoFS(), path.Base(filepath.ToSlash(file)), nil, nil
		}
		if _, err := os.Stat(file); err == nil {
			warn := fmt.Sprintf("%s has changed since the session: its media folder is used, the protocol the session recorded is replayed", file)
			return os.DirFS(filepath.Dir(file)), filepath.Base(file), []string{warn}, nil
		}
	}
	return nil, "", nil, usagef("replay: %s: the protocol's media folder (%q) is not found: give it with --media DIR", x.Dir, file)
}

// mediaChanges compares the media now with the SHA-256 recorded for each cue.
func mediaChanges(x *record.Index, p *scenes.Protocol) []string {
	recorded := map[string]string{}
	var cues []engine.ManifestCue
	_ = x.Meta.DecodeManifest(&cues) // an unreadable manifest: nothing to check against
	for _, c := range cues {
		recorded[c.ID] = c.SHA256
	}
	now, err := engine.Manifest(p)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, c := range now {
		if want, ok := recorded[c.ID]; ok && want != "" && c.SHA256 != "" && want != c.SHA256 {
			out = append(out, fmt.Sprintf("cue %s: %s differs from the file the session showed (SHA-256 %.12s…, now %.12s…): the replay shows today's file", c.ID, c.File, want, c.SHA256))
		}
	}
	return out
}

// ParseAt reads a start position: seconds (90), m:ss (1:30) or a step id of
// the protocol. It returns the seek to make (nil for "").
func ParseAt(at string, p *Player) (func() error, error) {
	if at == "" {
		return nil, nil
	}
	// Past the end is the end (and no overflow for a huge number).
	seek := func(sec float64) func() error {
		return func() error {
			p.Seek(time.Duration(min(sec, p.Duration().Seconds()+1) * float64(time.Second)))
			return nil
		}
	}
	if sec, err := strconv.ParseFloat(at, 64); err == nil && sec >= 0 && !math.IsNaN(sec) {
		return seek(sec), nil
	}
	var m int
	var sec float64
	if n, _ := fmt.Sscanf(at, "%d:%g", &m, &sec); n == 2 && m >= 0 && sec >= 0 && !math.IsNaN(sec) {
		return seek(float64(m)*60 + sec), nil
	}
	for i := 0; ; i++ {
		st, ok := p.Step(i)
		if !ok {
			break
		}
		if st.ID == at {
			return func() error { return p.SeekStep(i) }, nil
		}
	}
	return nil, usagef("replay: --at %q: give seconds (90), m:ss (1:30) or a step id of the protocol", at)
}

// Origin is what a session records of where its protocol (and so its
// media) came from, for OpenProtocol to find them again: the file's
// absolute path, or the bundled demo's name; and the sensor specs.
func Origin(file string, p *scenes.Protocol, sensors []string) map[string]any {
	extra := map[string]any{"protocol_file": p.File, "sensors": sensors}
	if file == "" {
		extra["protocol_bundled"] = p.File
	} else if abs, err := filepath.Abs(file); err == nil {
		extra["protocol_file"] = abs
	}
	return extra
}

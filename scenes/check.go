package scenes

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Check opens every media file of the protocol and reports, all together,
// each one that is missing, outside the protocol's folder, not a regular
// file, of another format than its name says, or not decodable: pictures
// are decoded completely (and must be at least 16×16), sounds up to their
// first samples. Each problem names the line of the cue that uses the file.
func (p *Protocol) Check() error {
	c := &collector{file: p.File}
	if p.FS == nil {
		c.add(0, 0, nil, "the protocol has no folder to find its media in; load it with Load or LoadFS")
		return c.result()
	}
	p.checkMedia(c)
	return c.result()
}

// checkMedia reports into c each media problem of p's cues (p may be a
// protocol with problems of its own: see LoadChecked).
func (p *Protocol) checkMedia(c *collector) {
	done := map[string]error{} // a file used by several cues is checked once
	for _, s := range p.All() {
		for _, cue := range s.Cues {
			if cue.Path == "" {
				continue
			}
			err, seen := done[cue.Path]
			if !seen {
				if cue.Kind == KindVideo {
					// Only the player can judge a video: the engine opens
					// it at load (cueroom check does too).
					err = checkVideoFile(p.FS, cue.Path)
				} else {
					err = checkAsset(p.FS, cue.Path)
				}
				done[cue.Path] = err
			}
			if err == nil && cue.Kind == KindPanorama {
				err = checkPanorama(p.FS, cue.Path)
			}
			if err != nil {
				c.add(cue.Line, cue.col, errors.Unwrap(err), "%s %s", cue.Path, err)
			}
		}
	}
}

// AssetSHA256 returns the hex SHA-256 of the cue's media file, for the cue
// manifest. A text cue has no file: the error is ErrNoAsset.
func (p *Protocol) AssetSHA256(c Cue) (string, error) {
	if c.Path == "" {
		return "", fmt.Errorf("cue %s: %w", c.ID, ErrNoAsset)
	}
	if p.FS == nil {
		return "", fmt.Errorf("cue %s: the protocol has no folder to find %s in", c.ID, c.Path)
	}
	f, err := p.FS.Open(c.Path)
	if err != nil {
		return "", fmt.Errorf("cue %s: %w", c.ID, err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("cue %s: reading %s: %w", c.ID, c.Path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkAsset checks one media file. The error text follows the file name
// in the message ("media/x.png was not found ...").
func checkAsset(fsys fs.FS, name string) error {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return openProblem(fsys, name, err)
	}
	switch {
	case info.IsDir():
		return errors.New("is a folder, not a file; write the path of the file inside it")
	case !info.Mode().IsRegular():
		return errors.New("is not a regular file (it is a device, pipe or socket); use an ordinary file")
	case info.Size() == 0:
		return errors.New("is empty (0 bytes); copy the file again from the original")
	}
	f, err := fsys.Open(name)
	if err != nil {
		return openProblem(fsys, name, err)
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		// Every fs.FS cueroom uses (os.Root, embed, fstest) gives seekable
		// files; anything else is read into memory, within a bound.
		const maxInMemory = 256 << 20
		if info.Size() > maxInMemory {
			return fmt.Errorf("is too large (%d MB) to check from this kind of folder", info.Size()>>20)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxInMemory))
		if err != nil {
			return fmt.Errorf("cannot be read: %w", err)
		}
		rs = strings.NewReader(string(b))
	}
	return probe(name, rs, info.Size())
}

// assetError is a clinician-facing message with the system error kept
// aside for errors.Is (fs.ErrNotExist...).
type assetError struct {
	msg   string
	cause error
}

func (e *assetError) Error() string { return e.msg }
func (e *assetError) Unwrap() error { return e.cause }

// openProblem explains why a media file cannot be opened.
func openProblem(fsys fs.FS, name string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes"):
		// os.Root refuses symbolic links that lead out of the folder.
		return &assetError{"is a link to a file outside the protocol's folder, which cueroom does not follow; copy the file itself into the folder", err}
	case errors.Is(err, fs.ErrNotExist):
		msg := "was not found in the protocol's folder; check the spelling (capitals matter) and that the file is in that folder"
		if alt := similarFile(fsys, name); alt != "" {
			msg += fmt.Sprintf("; did you mean %s?", alt)
		}
		return &assetError{msg, err}
	case errors.Is(err, fs.ErrPermission):
		return &assetError{"cannot be read (permission denied); ask whoever manages this computer for read access", err}
	}
	return &assetError{"cannot be opened: " + err.Error(), err}
}

// similarFile finds a file in name's folder whose name differs only in
// capitals or by a character or two, the usual typos.
func similarFile(fsys fs.FS, name string) string {
	dir, base := path.Split(name)
	entries, err := fs.ReadDir(fsys, path.Clean(dir))
	if err != nil || len(entries) > 10000 {
		return ""
	}
	best, bestD := "", 3
	lb := strings.ToLower(base)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		d := editDistance(lb, strings.ToLower(e.Name()))
		if strings.EqualFold(e.Name(), base) {
			d = 0
		}
		if d < bestD {
			best, bestD = dir+e.Name(), d
		}
	}
	return best
}

// checkPanorama insists on the 2:1 shape of an equirectangular picture:
// anything else would show the room stretched or squashed.
func checkPanorama(fsys fs.FS, name string) error {
	f, err := fsys.Open(name)
	if err != nil {
		return openProblem(fsys, name, err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return fmt.Errorf("cannot be read as a picture: %w", err)
	}
	if d := cfg.Width - 2*cfg.Height; d < -1 || d > 1 {
		return fmt.Errorf("is %d×%d, but a 360° panorama must be equirectangular, exactly twice as wide as high (for example 4096×2048); export it again in that shape", cfg.Width, cfg.Height)
	}
	return nil
}

// checkVideoFile checks a video is there and is a non-empty regular file.
func checkVideoFile(fsys fs.FS, name string) error {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return openProblem(fsys, name, err)
	}
	if !info.Mode().IsRegular() || info.Size() == 0 {
		return errors.New("is not a video file (a folder, a device, or empty); use an MPEG-1 .mpg file")
	}
	return nil
}

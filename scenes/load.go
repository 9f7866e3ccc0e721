package scenes

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Load reads and parses the protocol file at file. Its media resolve inside
// the file's folder through an os.Root, so neither ".." nor a symbolic link
// can reach files outside it. The root stays open for the Protocol's life
// (the runtime closes it once the Protocol is unreachable).
//
// Load does not open media; call Check for that.
func Load(file string) (*Protocol, error) {
	c, src, fsys := open(file)
	if fsys == nil {
		return nil, c.result()
	}
	return Parse(file, src, fsys)
}

// LoadFS reads and parses the protocol name in fsys (for example the bundled
// demo in an embed.FS). Media resolve in name's folder within fsys.
func LoadFS(fsys fs.FS, name string) (*Protocol, error) {
	c := &collector{file: name}
	src, err := readBounded(fsys.Open(name))
	if err != nil {
		c.add(0, 0, err, "%s", readProblem(err))
		return nil, c.result()
	}
	dir, err := fs.Sub(fsys, path.Dir(name))
	if err != nil {
		c.add(0, 0, err, "cannot use the protocol's folder to find its media: %v", err)
		return nil, c.result()
	}
	return Parse(name, src, dir)
}

// LoadChecked is Load then Check, reporting every problem at once: the
// media of the cues that parsed are checked even when the file has other
// problems, so a clinician fixes a misspelt setting and a missing picture
// in one pass (`cueroom check`). The Protocol is nil when anything is wrong.
func LoadChecked(file string) (*Protocol, error) {
	c, src, fsys := open(file)
	if fsys == nil {
		return nil, c.result()
	}
	return parseChecked(c, file, src, fsys)
}

// LoadFSChecked is LoadFS then Check, reporting every problem at once (see
// LoadChecked).
func LoadFSChecked(fsys fs.FS, name string) (*Protocol, error) {
	c := &collector{file: name}
	src, err := readBounded(fsys.Open(name))
	if err != nil {
		c.add(0, 0, err, "%s", readProblem(err))
		return nil, c.result()
	}
	dir, err := fs.Sub(fsys, path.Dir(name))
	if err != nil {
		c.add(0, 0, err, "cannot use the protocol's folder to find its media: %v", err)
		return nil, c.result()
	}
	return parseChecked(c, name, src, dir)
}

func parseChecked(c *collector, file string, src []byte, fsys fs.FS) (*Protocol, error) {
	p := parse(c, file, src, fsys)
	if p != nil {
		p.checkMedia(c)
	}
	if err := c.result(); err != nil {
		return nil, err
	}
	return p, nil
}

var (
	errTooBig = errors.New("file too large")
	errIsDir  = errors.New("is a directory")
)

// readBounded reads a whole protocol file, refusing folders and anything
// larger than a protocol can be.
func readBounded(f fs.File, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, errIsDir
	}
	src, err := io.ReadAll(io.LimitReader(f, maxSourceBytes+1))
	if err != nil {
		return nil, err
	}
	if len(src) > maxSourceBytes {
		return nil, errTooBig
	}
	return src, nil
}

func readProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the protocol file was not found; check the name and the folder"
	case errors.Is(err, fs.ErrPermission):
		return "the protocol file cannot be read (permission denied); ask whoever manages this computer for read access"
	case errors.Is(err, errIsDir):
		return "this is a folder, not a protocol file; give the .yaml file inside it"
	case errors.Is(err, errTooBig):
		return "the file is larger than 1 MB, but a protocol is a few KB of text; check that this is the protocol file"
	}
	return "the protocol file cannot be read: " + err.Error()
}

// open reads a protocol file and opens its folder (where its media are);
// a nil fs.FS when either failed, the problem then in the collector.
func open(file string) (*collector, []byte, fs.FS) {
	c := &collector{file: file}
	src, err := readBounded(os.Open(file))
	if err != nil {
		c.add(0, 0, err, "%s", readProblem(err))
		return c, nil, nil
	}
	root, err := os.OpenRoot(filepath.Dir(file))
	if err != nil {
		c.add(0, 0, err, "cannot open the protocol's folder to find its media: %v", err)
		return c, nil, nil
	}
	return c, src, root.FS()
}

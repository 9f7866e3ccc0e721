package record

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// segmentName is the file name of segment k of a recording: data.rec for
// the first, then data.2.rec, data.3.rec… (see the package comment).
func segmentName(k int) string {
	if k <= 1 {
		return DataFile
	}
	return fmt.Sprintf("data.%d.rec", k)
}

// segmentNumber reads k from a later segment's name (data.<k>.rec, k >= 2
// in plain decimal), or returns 0 for any other name.
func segmentNumber(name string) int {
	s, ok := strings.CutPrefix(name, "data.")
	if !ok {
		return 0
	}
	if s, ok = strings.CutSuffix(s, ".rec"); !ok || s == "" || s[0] == '0' || len(s) > 6 {
		return 0
	}
	k, err := strconv.Atoi(s)
	if err != nil || k < 2 || strconv.Itoa(k) != s {
		return 0
	}
	return k
}

// segment is one file of a recording, placed in the joined recording.
type segment struct {
	name string // file name in the session folder
	base int64  // where it starts in the joined recording
	size int64
}

// joined is a recording's segment files end to end, each whole (its magic
// included), read as one: the offsets the scanner, the Index and Recovery
// use are offsets in it. A recording of one segment (every recording made
// before segments, and any without a write failure) is data.rec itself,
// its offsets data.rec's.
type joined struct {
	segs  []segment
	rs    []io.ReaderAt
	files []*os.File // when opened from a folder (closed by Close)
	dir   string     // "" when not read from a folder (fuzz tests)
	size  int64
}

// single joins one reader: what the fuzz tests and benchmarks read.
func single(r io.ReaderAt, size int64, name string) *joined {
	return &joined{segs: []segment{{name: name, size: size}}, rs: []io.ReaderAt{r}, size: size}
}

// add appends a segment.
func (j *joined) add(r io.ReaderAt, size int64, name string) {
	j.segs = append(j.segs, segment{name: name, base: j.size, size: size})
	j.rs = append(j.rs, r)
	j.size += size
}

// segmentNames lists a session folder's segment files in order: data.rec,
// then data.2.rec, data.3.rec… by number. Other files are not the
// recording's.
func segmentNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var later []int
	for _, e := range entries {
		if k := segmentNumber(e.Name()); k > 0 && e.Type().IsRegular() {
			later = append(later, k)
		}
	}
	sort.Ints(later)
	names := []string{DataFile}
	for _, k := range later {
		names = append(names, segmentName(k))
	}
	return names, nil
}

// openSegments opens a session folder's segments with flag.
func openSegments(dir string, flag int) (*joined, error) {
	names, err := segmentNames(dir)
	if err != nil {
		return nil, err
	}
	j := &joined{dir: dir}
	for _, name := range names {
		var f *os.File
		if name == DataFile {
			f, err = openData(dir, flag)
		} else if f, err = os.OpenFile(filepath.Join(dir, name), flag, 0); errors.Is(err, os.ErrNotExist) {
			continue // a writer's failed try at a new segment, removed since it was listed
		} else if err != nil {
			err = fmt.Errorf("record: %w", err)
		}
		if err != nil {
			j.Close()
			return nil, err
		}
		j.files = append(j.files, f)
		st, err := f.Stat()
		if err != nil {
			j.Close()
			return nil, fmt.Errorf("record: %w", err)
		}
		j.add(f, st.Size(), name)
	}
	return j, nil
}

// Close closes the files openSegments opened.
func (j *joined) Close() error {
	var err error
	for _, f := range j.files {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	j.files = nil
	return err
}

// at is the index of the segment holding offset off (the last one for
// the end).
func (j *joined) at(off int64) int {
	return max(sort.Search(len(j.segs), func(i int) bool { return j.segs[i].base > off })-1, 0)
}

// ReadAt reads across segments as if they were one file.
func (j *joined) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("record: negative offset")
	}
	n := 0
	for k := j.at(off); n < len(p) && k < len(j.segs); k++ {
		s := j.segs[k]
		local := off + int64(n) - s.base
		if local >= s.size {
			continue
		}
		want := min(int64(len(p)-n), s.size-local)
		got, err := j.rs[k].ReadAt(p[n:n+int(want)], local)
		n += got
		if err != nil && !(errors.Is(err, io.EOF) && int64(got) == want) {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF // the file is shorter than it was
			}
			return n, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// where names a place in the joined recording: "data.rec byte 120", or
// "data.2.rec byte 8" in a later segment.
func (j *joined) where(off int64) string {
	s := j.segs[j.at(off)]
	return fmt.Sprintf("%s byte %d", s.name, off-s.base)
}

// path is the path of segment k, for messages.
func (j *joined) path(k int) string {
	if j.dir == "" {
		return j.segs[k].name
	}
	return filepath.Join(j.dir, j.segs[k].name)
}

// name names the recording in messages: data.rec's path, or the folder
// when there are several segments.
func (j *joined) name() string {
	if len(j.segs) > 1 && j.dir != "" {
		return j.dir
	}
	return j.path(0)
}

// byteAt names an offset in messages: "byte 120" in a recording of one
// segment (as always), where(off) in one of several.
func (j *joined) byteAt(off int64) string {
	if len(j.segs) == 1 {
		return fmt.Sprintf("byte %d", off)
	}
	return j.where(off)
}

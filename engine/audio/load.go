package audio

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/gopxl/beep/v2"
	"github.com/gopxl/beep/v2/flac"
	"github.com/gopxl/beep/v2/mp3"
	"github.com/gopxl/beep/v2/vorbis"
	"github.com/gopxl/beep/v2/wav"
)

// maxLen bounds a decoded cue (20 minutes) so a bad file cannot eat memory.
const maxLen = 20 * 60 * int(Rate)

// Load decodes a sound file (wav, mp3, ogg, flac) from fsys entirely into
// memory. Errors name the file and what to do.
func Load(fsys fs.FS, name string) (snd *Sound, err error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer f.Close()
	rc, ok := f.(io.ReadSeekCloser)
	if !ok {
		b, rerr := io.ReadAll(f)
		if rerr != nil {
			return nil, fmt.Errorf("%s: %w", name, rerr)
		}
		rc = nopCloser{strings.NewReader(string(b))}
	}
	// Decoders of untrusted files may panic on odd input.
	defer func() {
		if r := recover(); r != nil {
			snd, err = nil, fmt.Errorf("%s: not a readable audio file (%v): re-export it as 16-bit PCM WAV", name, r)
		}
	}()
	var s beep.StreamSeekCloser
	var format beep.Format
	switch strings.ToLower(path.Ext(name)) {
	case ".wav":
		s, format, err = wav.Decode(rc)
	case ".mp3":
		s, format, err = mp3.Decode(rc)
	case ".ogg", ".oga":
		s, format, err = vorbis.Decode(rc)
	case ".flac":
		s, format, err = flac.Decode(rc)
	default:
		return nil, fmt.Errorf("%s: unsupported sound format %q: use .wav, .mp3, .ogg or .flac", name, path.Ext(name))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: cannot decode: %v: re-export it as 16-bit PCM WAV", name, err)
	}
	defer s.Close()
	if format.SampleRate <= 0 || format.NumChannels <= 0 {
		return nil, fmt.Errorf("%s: invalid audio format (rate %d, %d channels)", name, format.SampleRate, format.NumChannels)
	}
	snd = Decode(beep.Take(maxLen, s), format)
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: decoding failed: %v", name, err)
	}
	if snd.buf.Len() == 0 {
		return nil, fmt.Errorf("%s: contains no audio", name)
	}
	return snd, nil
}

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

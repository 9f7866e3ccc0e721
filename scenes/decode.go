package scenes

import (
	"fmt"
	"io"

	"github.com/gopxl/beep/v2"
	"github.com/gopxl/beep/v2/flac"
	"github.com/gopxl/beep/v2/mp3"
	"github.com/gopxl/beep/v2/vorbis"
	"github.com/gopxl/beep/v2/wav"
)

// probeFrames is how many sample frames a check decodes: enough to get past
// the headers into real sound, little enough to stay fast on long files.
const probeFrames = 4096

// decodeWAV runs the player's own WAV decoder over the first samples.
// checkWAV has vetted the structure first: this decoder trusts sizes and
// frame layout from the header.
func decodeWAV(r io.Reader) error {
	return guard(func() error {
		s, _, err := wav.Decode(io.NopCloser(r)) // NopCloser: the caller owns r
		if err != nil {
			return fmt.Errorf("cannot be decoded as WAV (%v); export it again as 16-bit PCM WAV", err)
		}
		defer s.Close()
		return streamSome(s)
	})
}

// streamSome reads the first samples of s; a sound that yields none is an error.
func streamSome(s beep.Streamer) error {
	buf := make([][2]float64, 512)
	got := 0
	for got < probeFrames {
		n, ok := s.Stream(buf)
		got += n
		if !ok {
			break
		}
	}
	if err := s.Err(); err != nil {
		return damaged("cannot be decoded (%v)", err)
	}
	if got == 0 {
		return fmt.Errorf("holds no sound; export the sound again")
	}
	return nil
}

// decodeCompressed runs the player's MP3, Ogg Vorbis or FLAC decoder over the
// first samples, after the header checks of media.go passed.
func decodeCompressed(r io.ReadSeeker, format string) error {
	var (
		s   beep.StreamSeekCloser
		err error
	)
	// Wrapped so the decoders cannot close the caller's file.
	rs := struct{ io.ReadSeeker }{r}
	switch format {
	case fmtMP3:
		s, _, err = mp3.Decode(io.NopCloser(rs))
	case fmtOgg:
		s, _, err = vorbis.Decode(io.NopCloser(rs))
	case fmtFLAC:
		s, _, err = flac.Decode(rs)
	default:
		return nil
	}
	if err != nil {
		return damaged("cannot be decoded (%v)", err)
	}
	defer s.Close()
	return streamSome(s)
}

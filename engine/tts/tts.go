// Package tts speaks narration scripts with espeak-ng, once: each spoken
// text is cached as a WAV file named by the hash of everything that shapes
// it (text, voice, speed, espeak-ng's version), so a session never waits
// for speech synthesis and the same script sounds the same every session.
package tts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrNoEngine says espeak-ng is not installed.
var ErrNoEngine = errors.New("espeak-ng is not installed: install it (apt-get install espeak-ng), or record the script and use narration: FILE.wav")

// Speaker turns text into WAV files in a cache folder.
type Speaker struct {
	Dir   string // cache folder; default: the user cache dir + /cueroom/tts
	Speed int    // words per minute; default 140, a calm narration pace
	Bin   string // espeak-ng program; default found on PATH

	once    sync.Once
	version string
	voices  map[string]bool
	err     error
}

func (s *Speaker) init() {
	if s.Bin == "" {
		s.Bin, s.err = exec.LookPath("espeak-ng")
		if s.err != nil {
			s.err = ErrNoEngine
			return
		}
	}
	if s.Dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		s.Dir = filepath.Join(base, "cueroom", "tts")
	}
	if s.Speed == 0 {
		s.Speed = 140
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.Bin, "--version").Output()
	if err != nil {
		s.err = fmt.Errorf("espeak-ng does not run (%v): reinstall it (apt-get install --reinstall espeak-ng)", err)
		return
	}
	s.version = strings.TrimSpace(string(out))
	// espeak-ng falls back to its default voice, silently, for a name it
	// does not know: so know the names (language, voice name, file).
	list, err := exec.CommandContext(ctx, s.Bin, "--voices").Output()
	if err != nil {
		s.err = fmt.Errorf("espeak-ng --voices failed: %v", err)
		return
	}
	s.voices = map[string]bool{}
	for _, line := range strings.Split(string(list), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 5 {
			s.voices[strings.ToLower(f[1])] = true
			s.voices[strings.ToLower(f[3])] = true
			s.voices[strings.ToLower(f[4])] = true
			s.voices[strings.ToLower(f[4][strings.LastIndex(f[4], "/")+1:])] = true
		}
	}
}

// Version is espeak-ng's version line, recorded with the session.
func (s *Speaker) Version() (string, error) {
	s.once.Do(s.init)
	return s.version, s.err
}

// Speak returns the path of a WAV file saying text in voice, synthesising
// it only if the cache does not have it yet.
func (s *Speaker) Speak(text, voice string) (string, error) {
	s.once.Do(s.init)
	if s.err != nil {
		return "", s.err
	}
	if voice == "" {
		voice = "en-us"
	}
	if base, _, _ := strings.Cut(voice, "+"); !s.voices[strings.ToLower(base)] {
		return "", fmt.Errorf("espeak-ng has no voice %q: use a language code such as en-us, en-gb, de, fr, es or nl (espeak-ng --voices lists them)", voice)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%s", s.version, voice, s.Speed, text)
	name := filepath.Join(s.Dir, hex.EncodeToString(h.Sum(nil))[:32]+".wav")
	if _, err := os.Stat(name); err == nil {
		return name, nil
	}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", fmt.Errorf("speech cache %s: %w", s.Dir, err)
	}
	tmp, err := os.CreateTemp(s.Dir, "speak-*.wav")
	if err != nil {
		return "", fmt.Errorf("speech cache %s: %w", s.Dir, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The text goes on stdin, never the command line: a script can start
	// with "-" and must not become an option.
	cmd := exec.CommandContext(ctx, s.Bin, "-v", voice, "-s", fmt.Sprint(s.Speed), "-w", tmp.Name(), "--stdin")
	cmd.Stdin = strings.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("espeak-ng could not speak with voice %q: %s", voice, msg)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return "", err
	}
	return name, nil
}

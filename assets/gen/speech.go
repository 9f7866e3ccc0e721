package main

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
)

// The narration texts. protocol.yaml repeats them as subtitles word for
// word (a test checks), so what the patient reads is what they hear.
const (
	// scriptText follows the shape of personalised cue exposure scripts:
	// second person, present tense, the patient's own drinking situation,
	// its sights, sounds and body sensations, ending on the urge.
	scriptText = "It is Friday evening. You walk into your usual bar. " +
		"Glasses clink, and the bartender pours you a cold beer. " +
		"You watch the foam rise. The glass is in front of you, cold and wet. " +
		"You can almost taste it."

	// breatheText brings the patient back down during recovery.
	breatheText = "Let the picture go. Breathe in slowly through your nose, " +
		"and out through your mouth. Feel your feet on the floor. " +
		"You are here, and you are safe."
)

// Speech settings: the voice and rate named in LICENSE.md.
const (
	espeakVoice = "en-us"
	espeakRate  = "140"
)

// errNoSpeech says espeak-ng could not be run; the caller keeps an existing
// file rather than fail.
var errNoSpeech = errors.New("espeak-ng not found: install it (apt-get install espeak-ng) to remake the narration")

// speak runs espeak-ng and tidies its output: a short lead-in of silence so
// the first word is not clipped by a fade-in, the peak set to -3 dBFS, and
// soft ends.
func speak(text string) ([]byte, error) {
	bin, err := exec.LookPath("espeak-ng")
	if err != nil {
		return nil, errNoSpeech
	}
	dir, err := os.MkdirTemp("", "cueroom-gen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	raw := filepath.Join(dir, "speech.wav")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-v", espeakVoice, "-s", espeakRate, "-w", raw, text)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("espeak-ng: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	b, err := os.ReadFile(raw)
	if err != nil {
		return nil, err
	}
	s, rate, err := decodeWAV(b)
	if err != nil {
		return nil, fmt.Errorf("espeak-ng output %s: %w", raw, err)
	}
	s = trimSilence(s, rate)
	lead := make([]float64, rate*3/10, rate*3/10+len(s)+rate/2)
	s = append(append(lead, s...), make([]float64, rate/2)...)
	for i := 0; i < rate/100 && i < len(s); i++ {
		s[len(s)-1-i] *= float64(i) / float64(rate/100)
	}
	return encodeWAV(normalize(s, -3), rate), nil
}

// trimSilence drops near-silent samples at both ends.
func trimSilence(s []float64, rate int) []float64 {
	const floor = 0.003 // about -50 dBFS
	lo, hi := 0, len(s)
	for lo < hi && math.Abs(s[lo]) < floor {
		lo++
	}
	for hi > lo && math.Abs(s[hi-1]) < floor {
		hi--
	}
	if lo == hi {
		return s[:0]
	}
	// Keep a few milliseconds so a soft onset is not cut.
	pad := rate / 100
	return s[max(0, lo-pad):min(len(s), hi+pad)]
}

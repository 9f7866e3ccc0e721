package tts

import (
	"os"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpeakCachesByContent(t *testing.T) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng not installed (make test installs it)")
	}
	s := &Speaker{Dir: t.TempDir()}
	a, err := s.Speak("Breathe in slowly.", "en-us")
	require.NoError(t, err)
	st, err := os.Stat(a)
	require.NoError(t, err)
	assert.Greater(t, st.Size(), int64(1000), "a WAV with speech in it")
	again, err := s.Speak("Breathe in slowly.", "en-us")
	require.NoError(t, err)
	assert.Equal(t, a, again, "the same text is spoken once")
	st2, _ := os.Stat(again)
	assert.Equal(t, st.ModTime(), st2.ModTime(), "and not rewritten")
	other, err := s.Speak("Breathe in slowly.", "en-gb")
	require.NoError(t, err)
	assert.NotEqual(t, a, other, "another voice is another file")
	dash, err := s.Speak("-v is not an option here", "en-us")
	require.NoError(t, err, "text starting with a dash is spoken, not parsed")
	assert.FileExists(t, dash)
	_, err = s.Speak("hi", "no-such-voice-xx")
	assert.ErrorContains(t, err, "no-such-voice-xx")
}

func TestMissingEngineSaysWhatToDo(t *testing.T) {
	s := &Speaker{Dir: t.TempDir()}
	t.Setenv("PATH", t.TempDir())
	_, err := s.Speak("hello", "en-us")
	require.ErrorIs(t, err, ErrNoEngine)
	assert.Contains(t, err.Error(), "apt-get install espeak-ng")
}

package video

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nice is a thread's nice value (field 19 of /proc/self/task/TID/stat,
// counted after the command name's closing parenthesis); ok false once
// the thread has ended.
func nice(t *testing.T, tid int64) (n string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		return "", false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	require.Greater(t, len(fields), 16)
	return fields[16], true
}

// TestDecoderRunsBelowTheWindow: the decoder's thread runs at nice 10 while
// the video plays, and no goroutine runs on it after: it ends with the
// decoder (or, had the decoder run on the process's main thread, Go parks
// that thread for good).
func TestDecoderRunsBelowTheWindow(t *testing.T) {
	v := openClip(t, "clip.mpg")
	v.Start()
	require.Eventually(t, func() bool { return v.thread.Load() != 0 }, 5*time.Second, time.Millisecond)
	tid := v.thread.Load()
	n, ok := nice(t, tid)
	require.True(t, ok)
	assert.Equal(t, "10", n)
	require.NoError(t, v.Close())
	if tid == int64(os.Getpid()) {
		return
	}
	assert.Eventually(t, func() bool { _, ok := nice(t, tid); return !ok }, 5*time.Second, time.Millisecond, "the decoder's thread ended with it")
}

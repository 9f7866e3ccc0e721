package video

import (
	"bytes"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readClip(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	require.NoError(t, err)
	return b
}

// patched returns a copy of b with f applied.
func patched(b []byte, f func(b []byte)) []byte {
	c := bytes.Clone(b)
	f(c)
	return c
}

// at finds a start code in b, after from.
func at(t testing.TB, b []byte, code byte, from int) int {
	t.Helper()
	i := bytes.Index(b[from:], []byte{0, 0, 1, code})
	require.GreaterOrEqual(t, i, 0, "no start code %02x", code)
	return from + i
}

func TestOpenRejectsFilesItCannotPlay(t *testing.T) {
	clip := readClip(t, "clip.mpg")
	seq := at(t, clip, codeSequence, 0)
	pic := at(t, clip, codePicture, seq)
	// The third packet's length field, and the packet after it.
	third := at(t, clip, codeVideo0, at(t, clip, codeAudio0, 0)+4)
	tests := []struct {
		name string
		data []byte
		want []string // all in the error, after "<file>: "
	}{
		{"empty", nil, []string{"empty", "ffmpeg"}},
		{"zeros", make([]byte, 5000), []string{"starts with zero bytes"}},
		{"zeros after a pack", append(bytes.Clone(clip[:12]), make([]byte, 100)...), []string{"no system header"}},
		{"text", []byte("this is not a video file at all"), []string{"not an MPEG program stream", "74 68 69 73", "ffmpeg -i INPUT -c:v mpeg1video"}},
		{"mp4", []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"), []string{"MP4/MOV"}},
		{"matroska", []byte("\x1a\x45\xdf\xa3\x01\x00\x00\x00"), []string{"Matroska/WebM"}},
		{"avi", []byte("RIFF\x00\x10\x00\x00AVI LIST"), []string{"RIFF"}},
		{"ts", bytes.Repeat([]byte{0x47, 0x40, 0x00, 0x10}, 47), []string{"transport stream"}},
		{"bare video stream", clip[seq:], []string{"bare MPEG video stream", "-c copy -f mpeg"}},
		{"truncated", clip[:len(clip)/2+7], []string{"truncated", "ends at byte 14343", "inside a", "starts at byte"}},
		{"truncated in a start code", clip[:third+3], []string{"truncated", "ends at byte " + itoa(third+3), "inside a start code"}},
		{"wrong packet length", patched(clip, func(b []byte) { b[third+4] ^= 0x01 }), []string{"byte", "expected the start of a packet", "damaged"}},
		{"garbage", patched(clip, func(b []byte) { copy(b[third:], bytes.Repeat([]byte{0xAB}, 16)) }), []string{"byte " + itoa(third), "ab ab ab ab"}},
		{"too big", patched(clip, func(b []byte) { b[seq+4], b[seq+5], b[seq+6] = 0xFA, 0x0B, 0xB8 }), []string{"4000×3000", "scale it down"}},
		{"no size", patched(clip, func(b []byte) { b[seq+4], b[seq+5], b[seq+6] = 0, 0, 0 }), []string{"0×0"}},
		{"bad frame rate", patched(clip, func(b []byte) { b[seq+7] &^= 0x0F }), []string{"invalid frame rate code 0"}},
		{"starts on a P picture", patched(clip, func(b []byte) { b[pic+5] = b[pic+5]&^0x38 | 2<<3 }), []string{"does not start with a key frame", "type 2"}},
		{"no system header", patched(clip, func(b []byte) { b[at(t, b, codeSystem, 0)+3] = 0xBE }), []string{"no system header"}},
		{"sound is MP3", patched(clip, func(b []byte) {
			i := firstAudioFrame(t, b)
			b[i+1] = b[i+1]&^0x06 | 1<<1 // layer III
		}), []string{"MP3", "-c:a mp2", "-an"}},
		{"sound of free bit rate", patched(clip, func(b []byte) {
			b[firstAudioFrame(t, b)+2] &^= 0xF0
		}), []string{"free-format"}},
		{"mpeg-2 video", readClip(t, "mpeg2video.mpg"), []string{"the video is MPEG-2"}},
		{"mp3 sound", readClip(t, "mp3sound.mpg"), []string{"MP3 (MPEG audio layer III)"}},
		{"low sample rate", readClip(t, "lowrate.mpg"), []string{"low-sample-rate", "22.05"}},
		{"dvd", readClip(t, "dvd.vob"), []string{"MPEG-2 program stream"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Open(fstest.MapFS{"cue.mpg": {Data: tt.data}}, "cue.mpg")
			require.Error(t, err)
			assert.Nil(t, v)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, "cue.mpg: "), "the error names the file: %s", msg)
			for _, w := range tt.want {
				assert.Contains(t, msg, w)
			}
		})
	}
}

func itoa(i int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

func TestOpenNamesMissingFilesAndFolders(t *testing.T) {
	fsys := fstest.MapFS{"media/clip.mpg": {Data: readClip(t, "clip.mpg")}}
	_, err := Open(fsys, "media/nothere.mpg")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "media/nothere.mpg: ")
	assert.ErrorIs(t, err, os.ErrNotExist)

	_, err = Open(fsys, "media")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "media: is a folder")

	v, err := Open(fsys, "media/clip.mpg")
	require.NoError(t, err)
	assert.NoError(t, v.Close())
}

// A file system whose files cannot seek still works: the file is read into
// memory once.
func TestOpenFromAnUnseekableFileSystem(t *testing.T) {
	v, err := Open(noSeekFS{fstest.MapFS{"clip.mpg": {Data: readClip(t, "clip.mpg")}}}, "clip.mpg")
	require.NoError(t, err)
	defer v.Close()
	v.Start()
	waitFrame(t, v, 10*frameTime, 10)
	assert.Len(t, streamAll(t, v.Audio(), 1<<20), 96000)
}

type noSeekFS struct{ fstest.MapFS }

func (n noSeekFS) Open(name string) (fs.File, error) {
	f, err := n.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	return struct{ fs.File }{f}, nil // hides Seek
}

// firstAudioFrame is the offset of the first MP2 frame header in b.
func firstAudioFrame(t testing.TB, b []byte) int {
	t.Helper()
	pes := at(t, b, codeAudio0, 0)
	n := int(b[pes+4])<<8 | int(b[pes+5])
	es, _, err := pesPayload(b[pes+6 : pes+6+n])
	require.NoError(t, err)
	i := pes + 6 + n - len(es)
	require.Equal(t, byte(0xFF), b[i], "the packet starts with a frame")
	return i
}

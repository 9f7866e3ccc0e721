package scenes

import (
	"bytes"
	"encoding/binary"
	"flag"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Test media are made here, not downloaded: run
//
//	go test ./scenes -run TestGeneratedMedia -update
//
// to rewrite testdata/valid/media/{neutral.png,bottle.jpg,pour.wav,script.mp3}.
// The Ogg and FLAC files were made with sox (see testdata/README.md).
var update = flag.Bool("update", false, "rewrite the generated media in testdata")

// makePNG draws a w×h gradient.
func makePNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// makeJPEG draws a w×h gradient.
func makeJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{200, uint8(x * 255 / w), uint8(y * 255 / h), 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: 75}))
	return b.Bytes()
}

// makeWAV writes a 16-bit mono PCM WAV of a 440 Hz tone.
func makeWAV(rate, frames int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	data := frames * 2
	b.WriteString("RIFF")
	_ = binary.Write(&b, le, uint32(36+data))
	b.WriteString("WAVEfmt ")
	putLE(&b, uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate*2), uint16(2), uint16(16))
	b.WriteString("data")
	_ = binary.Write(&b, le, uint32(data))
	for i := range frames {
		_ = binary.Write(&b, le, int16(8000*math.Sin(2*math.Pi*440*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

// putLE writes fixed-size values little-endian.
func putLE(b *bytes.Buffer, vals ...any) {
	for _, v := range vals {
		if err := binary.Write(b, binary.LittleEndian, v); err != nil {
			panic(err)
		}
	}
}

// makeMP3 writes n MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono) of
// digital silence: all-zero side information means no coded sound.
func makeMP3(n int) []byte {
	const frameLen = 144 * 128000 / 44100 // 417 bytes, no padding
	out := make([]byte, 0, n*frameLen)
	for range n {
		f := make([]byte, frameLen)
		copy(f, []byte{0xFF, 0xFB, 0x90, 0xC0}) // sync, MPEG-1 L3 no CRC; 128k 44.1k; mono
		out = append(out, f...)
	}
	return out
}

// withID3 prefixes an ID3v2.4 tag of size tagLen (body) to b.
func withID3(b []byte, tagLen int) []byte {
	h := []byte{'I', 'D', '3', 4, 0, 0, byte(tagLen >> 21 & 0x7f), byte(tagLen >> 14 & 0x7f), byte(tagLen >> 7 & 0x7f), byte(tagLen & 0x7f)}
	return append(append(h, make([]byte, tagLen)...), b...)
}

// oggPageBytes builds one Ogg page holding a single packet.
func oggPageBytes(flags byte, seq uint32, packet []byte) []byte {
	var segs []byte
	n := len(packet)
	for n >= 255 {
		segs = append(segs, 255)
		n -= 255
	}
	segs = append(segs, byte(n))
	h := make([]byte, 27)
	copy(h, "OggS")
	h[5] = flags
	binary.LittleEndian.PutUint32(h[14:], 0x1234)
	binary.LittleEndian.PutUint32(h[18:], seq)
	h[26] = byte(len(segs))
	page := append(append(h, segs...), packet...)
	binary.LittleEndian.PutUint32(page[22:], oggChecksum(0, page))
	return page
}

// generated lists the media this file makes, by testdata path.
func generated(t testing.TB) map[string][]byte {
	return map[string][]byte{
		"neutral.png": makePNG(t, 32, 24),
		"bottle.jpg":  makeJPEG(t, 32, 32),
		"pour.wav":    makeWAV(8000, 800),
		"script.mp3":  makeMP3(8),
	}
}

// TestGeneratedMedia keeps the committed media identical to what the
// helpers make, so the README's claim that they are self-made stays true.
func TestGeneratedMedia(t *testing.T) {
	for name, want := range generated(t) {
		p := filepath.Join("testdata", "valid", "media", name)
		if *update {
			require.NoError(t, os.WriteFile(p, want, 0o644))
		}
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		require.Equal(t, want, got, "%s differs from its generator; run with -update", p)
	}
}

// copyDir copies the files of src (one level plus media/) into dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
}

// writeFile writes b to dir/name, making folders.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

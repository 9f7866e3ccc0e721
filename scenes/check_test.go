package scenes

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// validDir copies testdata/valid into a fresh temp folder.
func validDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "protocol")
	copyDir(t, filepath.Join("testdata", "valid"), dir)
	return dir
}

func TestCheckValid(t *testing.T) {
	dir := validDir(t)
	for _, name := range []string{"demo.yaml", "minimal.yaml", "ids.yaml"} {
		t.Run(name, func(t *testing.T) {
			p, err := Load(filepath.Join(dir, name))
			require.NoError(t, err)
			require.NoError(t, p.Check())
		})
	}
}

func TestLoadFS(t *testing.T) {
	p, err := LoadFS(os.DirFS("testdata"), "valid/demo.yaml")
	require.NoError(t, err)
	assert.Equal(t, "valid/demo.yaml", p.File)
	require.NoError(t, p.Check(), "media resolve in the protocol's own folder")

	// A file system whose files cannot seek is read into memory instead.
	p, err = LoadFS(noSeekFS{os.DirFS("testdata")}, "valid/demo.yaml")
	require.NoError(t, err)
	require.NoError(t, p.Check())

	_, err = LoadFS(os.DirFS("testdata"), "valid/nope.yaml")
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "valid/nope.yaml: the protocol file was not found")
}

// noSeekFS hides Seek on its files.
type noSeekFS struct{ fs.FS }

type noSeekFile struct{ f fs.File }

func (n noSeekFile) Stat() (fs.FileInfo, error) { return n.f.Stat() }
func (n noSeekFile) Read(b []byte) (int, error) { return n.f.Read(b) }
func (n noSeekFile) Close() error               { return n.f.Close() }

func (n noSeekFS) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return noSeekFile{f}, nil
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", filepath.Join(dir, "nope.yaml"), "the protocol file was not found"},
		{"folder", dir, "this is a folder, not a protocol file"},
		{"too big", writeFile(t, dir, "big.yaml", bytes.Repeat([]byte("#"), maxSourceBytes+1)), "larger than 1 MB"},
		{"parse error", writeFile(t, dir, "bad.yaml", []byte("cueroom: 1\ntitle: [\n")), "bad.yaml:2: the file is not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.path)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), tt.path), "names the file: %v", err)
		})
	}
}

// protoWith writes a protocol whose first step has the given cue (its
// first line lands on line cueLine) and returns its path.
func protoWith(t *testing.T, dir, cue string) string {
	t.Helper()
	src := "cueroom: 1\ntitle: T\nsubstance: alcohol\nbaseline:\n  duration: 10s\n  cues:\n    - text: Relax.\n" +
		"steps:\n  - name: A\n    intensity: 1\n    duration: 30s\n    cues:\n      - " + cue + "\n"
	return writeFile(t, dir, "p.yaml", []byte(src))
}

const cueLine = 13

// pngWithSize returns a 1×1 PNG whose header claims w×h (with a valid CRC).
func pngWithSize(t *testing.T, w, h uint32) []byte {
	b := makePNG(t, 1, 1)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// noisyPNG is large enough that cutting it in half loses picture data.
func noisyPNG(t *testing.T) []byte {
	img := image.NewGray(image.Rect(0, 0, 64, 64))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.UintN(256))
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	require.Greater(t, b.Len(), 2000)
	return b.Bytes()
}

// wavWith builds a WAV from a raw fmt body and data, for broken variants.
func wavWith(fmtBody []byte, extra []byte, dataLen uint32, data []byte) []byte {
	var b bytes.Buffer
	b.WriteString("RIFF\x00\x00\x00\x00WAVE")
	b.Write(extra)
	if fmtBody != nil {
		b.WriteString("fmt ")
		putLE(&b, uint32(len(fmtBody)))
		b.Write(fmtBody)
	}
	b.WriteString("data")
	putLE(&b, dataLen)
	b.Write(data)
	return b.Bytes()
}

func pcmFmt(tag, channels uint16, rate uint32, blockAlign, bits uint16) []byte {
	var b bytes.Buffer
	putLE(&b, tag, channels, rate, rate*uint32(blockAlign), blockAlign, bits)
	return b.Bytes()
}

func TestCheckMedia(t *testing.T) {
	media := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "valid", "media", name))
		require.NoError(t, err)
		return b
	}
	mp2 := bytes.Repeat(append([]byte{0xFF, 0xFD, 0x80, 0xC0}, make([]byte, 144*128000/44100-4)...), 4) // layer II frames
	ogg := media("chime.ogg")
	badCRC := bytes.Clone(ogg)
	badCRC[40] ^= 0xFF // inside the first page's packet
	flac := media("chime.flac")
	streamInfoEnd := 8 + 34
	tests := []struct {
		name  string
		cue   string            // the cue's YAML
		files map[string][]byte // written into the protocol's folder
		want  string            // "" = no problem
	}{
		{"png", "image: a.png", map[string][]byte{"a.png": makePNG(t, 16, 16)}, ""},
		{"jpeg", "image: a.jpeg", map[string][]byte{"a.jpeg": makeJPEG(t, 20, 16)}, ""},
		{"wav", "sound: a.wav", map[string][]byte{"a.wav": makeWAV(44100, 10)}, ""},
		{"mp3 after an ID3 tag", "sound: a.mp3", map[string][]byte{"a.mp3": withID3(makeMP3(3), 300)}, ""},
		{"single mp3 frame", "sound: a.mp3", map[string][]byte{"a.mp3": makeMP3(1)}, ""},
		{"ogg", "sound: a.ogg", map[string][]byte{"a.ogg": ogg}, ""},
		{"flac", "narration: a.flac", map[string][]byte{"a.flac": flac}, ""},

		{"missing", "image: media/nope.png", nil, "media/nope.png was not found in the protocol's folder; check the spelling (capitals matter)"},
		{"capitals differ", "image: media/bottle.png", map[string][]byte{"media/Bottle.png": makePNG(t, 16, 16)}, "did you mean media/Bottle.png?"},
		{"folder", "image: pics.png", map[string][]byte{"pics.png/x": {1}}, "pics.png is a folder, not a file"},
		{"empty", "image: a.png", map[string][]byte{"a.png": {}}, "a.png is empty (0 bytes)"},
		{"corrupt png", "image: a.png", map[string][]byte{"a.png": append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0x42}, 64)...)}, "is not a readable PNG picture"},
		{"truncated png", "image: a.png", map[string][]byte{"a.png": noisyPNG(t)[:len(noisyPNG(t))/2]}, "has a readable header but its picture data is broken"},
		{"garbage as png", "image: a.png", map[string][]byte{"a.png": bytes.Repeat([]byte("junk"), 20)}, "is not a readable PNG picture"},
		{"too small", "image: a.png", map[string][]byte{"a.png": makePNG(t, 8, 8)}, "is only 8×8 pixels; a cue picture must be at least 16×16"},
		{"too large", "image: a.png", map[string][]byte{"a.png": pngWithSize(t, 20000, 100)}, "is 20000×100 pixels, larger than cueroom can show"},
		{"size a small file cannot hold", "image: a.png", map[string][]byte{"a.png": pngWithSize(t, 4000, 4000)}, "says it is 4000×4000 pixels, far more than"},
		{"too many pixels", "image: a.png", map[string][]byte{"a.png": pngWithSize(t, 16384, 16384)}, "larger than cueroom can show"},
		{"png named jpg", "image: a.jpg", map[string][]byte{"a.jpg": makePNG(t, 16, 16)}, "a.jpg is really a PNG picture, but its name ends in .jpg; rename the file to a.png"},
		{"gif named png", "image: a.png", map[string][]byte{"a.png": []byte("GIF89a\x10\x00\x10\x00")}, "is a GIF picture, but cueroom shows PNG and JPEG pictures"},
		{"heic named jpg", "image: a.jpg", map[string][]byte{"a.jpg": []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00")}, "is a HEIC photo (the iPhone photo format)"},
		{"wav named png", "image: a.png", map[string][]byte{"a.png": makeWAV(8000, 10)}, "is a WAV sound, not a picture"},
		{"wav named mp3", "sound: a.mp3", map[string][]byte{"a.mp3": makeWAV(8000, 10)}, "a.mp3 is really a WAV sound, but its name ends in .mp3; rename the file to a.wav"},
		{"mp3 named wav", "sound: a.wav", map[string][]byte{"a.wav": makeMP3(3)}, "is really an MP3 sound"},
		{"png named wav", "sound: a.wav", map[string][]byte{"a.wav": makePNG(t, 16, 16)}, "is a PNG picture, not a sound; use image: for pictures"},
		{"m4a named mp3", "sound: a.mp3", map[string][]byte{"a.mp3": []byte("\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00")}, "is an M4A/AAC sound, but cueroom plays WAV, MP3, Ogg Vorbis and FLAC"},
		{"video named mp3", "sound: a.mp3", map[string][]byte{"a.mp3": []byte("\x00\x00\x00\x20ftypisom\x00\x00\x00\x00")}, "is a video (MP4/MOV), not a sound"},

		{"float wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(3, 1, 8000, 4, 32), nil, 8, make([]byte, 8))}, "is a 32-bit floating-point WAV"},
		{"adpcm wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(2, 1, 8000, 2, 16), nil, 8, make([]byte, 8))}, "compressed WAV encoding (format 2)"},
		{"32-bit wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 1, 8000, 4, 32), nil, 8, make([]byte, 8))}, "has 32 bits per sample"},
		{"inconsistent wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 2, 8000, 1, 16), nil, 8, make([]byte, 8))}, "inconsistent format section"},
		{"zero block wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 0, 8000, 0, 16), nil, 8, make([]byte, 8))}, "says it has 0 channels"},
		{"odd rate wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 1, 5, 2, 16), nil, 8, make([]byte, 8))}, "sample rate is 5 Hz"},
		{"empty wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 1, 8000, 2, 16), nil, 0, nil)}, "holds no sound (its data section is empty)"},
		{"cut wav", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 1, 8000, 2, 16), nil, 1000, make([]byte, 10))}, "says it holds 1000 bytes of sound but only 10 are there"},
		{"data before fmt", "sound: a.wav", map[string][]byte{"a.wav": wavWith(nil, nil, 4, make([]byte, 4))}, "has its sound data before its format section"},
		{"huge chunk", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 1, 8000, 2, 16), []byte("LIST\xff\xff\xff\x7f"), 2, make([]byte, 2))}, `has a "LIST" section of 2047 MB`},
		{"chunk past end", "sound: a.wav", map[string][]byte{"a.wav": wavWith(pcmFmt(1, 1, 8000, 2, 16), []byte("LIST\x00\x10\x00\x00"), 2, make([]byte, 2))}, `has a "LIST" section longer than the file`},
		{"riff not wave", "sound: a.wav", map[string][]byte{"a.wav": []byte("RIFF\x00\x00\x00\x00AVI LIST")}, "is not a WAV sound"},
		{"no data chunk", "sound: a.wav", map[string][]byte{"a.wav": []byte("RIFF\x00\x00\x00\x00WAVE")}, "ends before its sound data"},

		{"random mp3", "sound: a.mp3", map[string][]byte{"a.mp3": bytes.Repeat([]byte("not music "), 100)}, "is not an MP3 sound"},
		{"mp2", "sound: a.mp3", map[string][]byte{"a.mp3": mp2}, "is MPEG audio layer 2 (often named .mp2), not MP3"},
		{"id3 only", "sound: a.mp3", map[string][]byte{"a.mp3": withID3(nil, 100)}, "has an ID3 tag but no sound after it"},

		{"opus", "sound: a.ogg", map[string][]byte{"a.ogg": oggPageBytes(2, 0, []byte("OpusHead\x01\x02\x00\x00\x80\xbb\x00\x00\x00\x00\x00"))}, "is Ogg Opus, but cueroom plays Ogg Vorbis"},
		{"ogg bad checksum", "sound: a.ogg", map[string][]byte{"a.ogg": badCRC}, "checksum does not match"},
		{"ogg headers only", "sound: a.ogg", map[string][]byte{"a.ogg": ogg[:58]}, "holds no sound after its Vorbis headers"},
		{"ogg not vorbis", "sound: a.ogg", map[string][]byte{"a.ogg": oggPageBytes(2, 0, []byte("something else"))}, "does not hold Vorbis sound"},

		{"flac after an ID3 tag", "narration: a.flac", map[string][]byte{"a.flac": withID3(flac, 20)}, "starts with an ID3 tag, which cueroom's FLAC player cannot skip"},
		{"flac cut after header", "sound: a.flac", map[string][]byte{"a.flac": cutFLACAfterMeta(t, flac)}, "holds no sound after its FLAC header"},
		{"flac broken frame", "sound: a.flac", map[string][]byte{"a.flac": flipFirstFrameByte(t, flac)}, "has broken FLAC audio right after its header"},
		{"flac bad streaminfo", "sound: a.flac", map[string][]byte{"a.flac": append(append([]byte{}, flac[:streamInfoEnd-34]...), make([]byte, 34)...)}, "has impossible FLAC block sizes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tt.files {
				writeFile(t, dir, name, b)
			}
			p, err := Load(protoWith(t, dir, tt.cue))
			require.NoError(t, err)
			err = p.Check()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			var list ErrorList
			require.ErrorAs(t, err, &list)
			require.Len(t, list, 1, "%v", err)
			assert.Equal(t, cueLine, list[0].Line)
			assert.Contains(t, list[0].Msg, tt.want)
		})
	}
}

// cutFLACAfterMeta returns the FLAC file up to the end of its metadata.
func cutFLACAfterMeta(t *testing.T, b []byte) []byte {
	i := 4
	for {
		last := b[i]&0x80 != 0
		n := int(b[i+1])<<16 | int(b[i+2])<<8 | int(b[i+3])
		i += 4 + n
		if last {
			return b[:i]
		}
		require.Less(t, i, len(b))
	}
}

// flipFirstFrameByte corrupts the first audio frame's header.
func flipFirstFrameByte(t *testing.T, b []byte) []byte {
	end := len(cutFLACAfterMeta(t, b))
	out := bytes.Clone(b)
	require.Equal(t, byte(0xFF), out[end])
	out[end+4] ^= 0x01 // frame number: the header CRC no longer matches
	return out
}

// TestCheckEscapes: media that reach outside the protocol's folder are
// refused, whether written in the path or hidden behind a symbolic link.
func TestCheckEscapes(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "protocol")
	outside := filepath.Join(base, "outside")
	writeFile(t, outside, "secret.png", makePNG(t, 16, 16))
	writeFile(t, dir, "media/ok.png", makePNG(t, 16, 16))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.png"), filepath.Join(dir, "media", "abs-link.png")))
	require.NoError(t, os.Symlink("../../outside/secret.png", filepath.Join(dir, "media", "rel-link.png")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "linkdir")))
	require.NoError(t, os.Symlink("ok.png", filepath.Join(dir, "media", "inside-link.png")))

	tests := []struct {
		cue  string
		want string // Check's message; "" = fine
	}{
		{"image: media/inside-link.png", ""},
		{"image: media/abs-link.png", "is a link to a file outside the protocol's folder"},
		{"image: media/rel-link.png", "is a link to a file outside the protocol's folder"},
		{"image: linkdir/secret.png", "is a link to a file outside the protocol's folder"},
	}
	for _, tt := range tests {
		t.Run(tt.cue, func(t *testing.T) {
			p, err := Load(protoWith(t, dir, tt.cue))
			require.NoError(t, err)
			err = p.Check()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "p.yaml:13:9: ")
		})
	}

	// Written paths never get as far as the disk: Parse refuses them.
	for _, cue := range []string{"image: ../outside/secret.png", "image: " + filepath.Join(outside, "secret.png")} {
		_, err := Load(protoWith(t, dir, cue))
		require.Error(t, err, cue)
		assert.Contains(t, err.Error(), "media files must be inside", cue)
	}
}

// TestCheckCollectsAll: every bad file is reported at its cue's line, and a
// file used by two cues is reported for both.
func TestCheckCollectsAll(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "ok.png", makePNG(t, 16, 16))
	writeFile(t, dir, "tiny.png", makePNG(t, 4, 4))
	src := `cueroom: 1
title: T
substance: alcohol
baseline:
  duration: 10s
  cues:
    - image: tiny.png
steps:
  - name: A
    intensity: 1
    duration: 30s
    cues:
      - image: ok.png
      - sound: gone.wav
  - name: B
    intensity: 2
    duration: 30s
    cues:
      - image: tiny.png
recovery:
  duration: 10s
  cues:
    - text: done
`
	p, err := Load(writeFile(t, dir, "p.yaml", []byte(src)))
	require.NoError(t, err)
	err = p.Check()
	var list ErrorList
	require.ErrorAs(t, err, &list)
	require.Len(t, list, 3, "%v", err)
	assert.Equal(t, []int{7, 14, 19}, []int{list[0].Line, list[1].Line, list[2].Line})
	assert.Contains(t, list[0].Msg, "tiny.png is only 4×4 pixels")
	assert.Contains(t, list[1].Msg, "gone.wav was not found")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, list[2].Msg, "tiny.png is only 4×4 pixels")
}

func TestCheckWithoutFS(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/demo.yaml")
	require.NoError(t, err)
	p, err := Parse("demo.yaml", src, nil)
	require.NoError(t, err)
	err = p.Check()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "demo.yaml: the protocol has no folder to find its media in")
}

func TestAssetSHA256(t *testing.T) {
	wav := makeWAV(8000, 100)
	fsys := fstest.MapFS{"a.wav": {Data: wav}}
	p := &Protocol{FS: fsys}
	sum := sha256.Sum256(wav)

	got, err := p.AssetSHA256(Cue{ID: "s1.c1", Kind: KindSound, Path: "a.wav"})
	require.NoError(t, err)
	assert.Equal(t, hex.EncodeToString(sum[:]), got)
	assert.Len(t, got, 64)

	_, err = p.AssetSHA256(Cue{ID: "s1.c2", Kind: KindText, Text: "hello"})
	require.ErrorIs(t, err, ErrNoAsset)

	_, err = p.AssetSHA256(Cue{ID: "s1.c3", Kind: KindSound, Path: "gone.wav"})
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "s1.c3")

	// The whole demo: each media file hashes to the hash of its bytes.
	demo, err := LoadFS(os.DirFS("testdata"), "valid/demo.yaml")
	require.NoError(t, err)
	for _, s := range demo.All() {
		for _, c := range s.Cues {
			if c.Path == "" {
				continue
			}
			b, err := os.ReadFile(filepath.Join("testdata", "valid", c.Path))
			require.NoError(t, err)
			want := sha256.Sum256(b)
			got, err := demo.AssetSHA256(c)
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(want[:]), got, c.Path)
		}
	}
}

// TestSniff checks format recognition on the bytes each format starts with.
func TestSniff(t *testing.T) {
	tests := []struct {
		head []byte
		want string
	}{
		{makePNG(t, 16, 16), fmtPNG},
		{makeJPEG(t, 16, 16), fmtJPEG},
		{makeWAV(8000, 1), fmtWAV},
		{makeMP3(1), fmtMP3},
		{withID3(makeMP3(1), 4), fmtID3},
		{[]byte("OggS"), fmtOgg},
		{[]byte("fLaC"), fmtFLAC},
		{[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "webp"},
		{[]byte("FORM\x00\x00\x00\x00AIFF"), "aiff"},
		{[]byte("%PDF-1.7"), "pdf"},
		{[]byte("hello"), ""},
		{nil, ""},
		{[]byte{0xFF, 0xFB}, ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, sniff(tt.head), "%q", tt.head[:min(len(tt.head), 12)])
	}
}

// TestProbeNeverPanics feeds the probe cut and bit-flipped versions of
// every valid test file; the decoders behind it must answer, not panic.
func TestProbeCorruptions(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/media/*")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.NoError(t, probe(f, bytes.NewReader(b), int64(len(b))), "the original is fine")
		for cut := 0; cut < len(b); cut += 1 + len(b)/50 {
			_ = probe(f, bytes.NewReader(b[:cut]), int64(cut))
		}
		for i := 0; i < len(b); i += 1 + len(b)/200 {
			m := bytes.Clone(b)
			m[i] ^= 0xA5
			_ = probe(f, bytes.NewReader(m), int64(len(m)))
		}
	}
}

// TestGuard: a panic in a decoder becomes a message.
func TestGuard(t *testing.T) {
	err := guard(func() error { panic("index out of range") })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the decoder failed: index out of range")
	assert.NoError(t, guard(func() error { return nil }))
	assert.Equal(t, io.EOF, guard(func() error { return io.EOF }))
	assert.False(t, errors.Is(guard(func() error { return nil }), io.EOF))
}
